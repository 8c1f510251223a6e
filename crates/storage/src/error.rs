use sea_orm::{DbErr, SqlErr};

/// What can go wrong in storage. Callers decide on `NotFound`, `Duplicate` and `Reference`;
/// everything else is
/// an internal error whose detail goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key refused the write: the id or name is taken.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// A foreign key refused the write: a referenced row is missing, or a referencing row still
    /// exists.
    #[error("reference: {0}")]
    Reference(String),
    #[error("unsupported database URL: use sqlite://… or postgres://…")]
    UnsupportedUrl,
    #[error("the database was migrated by a newer paicha (unknown migration {0})")]
    SchemaTooNew(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Self::Duplicate(detail),
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => Self::Reference(detail),
            _ => match err {
                DbErr::RecordNotFound(_) => Self::NotFound,
                other => Self::Db(other),
            },
        }
    }
}
