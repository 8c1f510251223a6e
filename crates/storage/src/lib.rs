//! Storage of paicha: one [`Store`] over sea-orm's connection, on SQLite (the embedded default)
//! or PostgreSQL. This is the only crate that imports sea-orm; its entities are private, and its
//! public API speaks in the plain records below and in domain types.

mod accounts;
mod auth_tables;
mod blob;
mod checkpoints;
mod entities;
mod error;
mod imports;
mod org_units;
mod records;
mod reports;
mod users;

use std::time::Duration;

use paicha_migrations::{Migrator, MigratorTrait, seaql_migrations};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait};

pub use accounts::{
    AccountAct, AccountEvent, AccountLogEntry, SessionStatus, SyncDeviceRecord, UserChange,
};
pub use auth_tables::{NewRefreshToken, RefreshTokenRecord, ThrottleRecord};
pub use blob::{
    BlobError, BlobFiles, BlobReader, BlobRow, BlobStore, BlobWriter, ObjectBlobs,
    ObjectStoreSettings, UserBlobUse,
};
pub use checkpoints::StatusCheckpoint;
pub use error::StoreError;
/// The names of the object store's options (`aws_endpoint`, `aws_region`, …).
pub use object_store::aws::AmazonS3ConfigKey as ObjectStoreConfigKey;
pub use org_units::{NewOrgUnit, OrgUnitRecord};
pub use records::{
    ById, ChangeEntry, ChangeRow, ConflictRow, Departure, FactRow, GENESIS_HASH, MemberChange,
    MemberSearch, PageCursor, Place, PullPage, RECORD_COLUMNS, RecordRow, Scope, SyncTxn,
    TenantChanges, name_grams, pack_changes, pack_field_versions,
};
pub use reports::ReportRecord;
pub use users::{NewUser, UserRecord};

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL asks for, or `None` for a scheme paicha does not support.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The database of one paicha process. Cheap to clone: it shares one connection pool.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    engine: Engine,
    /// Session reads running at once: as many as the pool has connections (see
    /// `Store::session_and_unit`).
    session_reads: std::sync::Arc<tokio::sync::Semaphore>,
    /// Kept for the PostgreSQL change listener's own connection. Never printed.
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// The channel on which PostgreSQL instances announce commits to each other.
const CHANGES_CHANNEL: &str = "paicha_changes";

/// Announcements of commits made by any paicha instance on the same PostgreSQL database.
pub struct ChangeListener(sqlx::postgres::PgListener);

impl ChangeListener {
    /// The next announcement: (tenant, version). Reconnects by itself after a dropped
    /// connection (announcements made meanwhile are lost; long-polls then end at their wait).
    pub async fn next(&mut self) -> StoreResult<(paicha_domain::ids::TenantId, u64)> {
        loop {
            let notification = self
                .0
                .recv()
                .await
                .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
            let parsed = notification.payload().split_once(':').and_then(|(t, v)| {
                let tenant = uuid::Uuid::parse_str(t).ok()?;
                Some((
                    paicha_domain::ids::TenantId::new(tenant),
                    v.parse::<u64>().ok()?,
                ))
            });
            if let Some(announcement) = parsed {
                return Ok(announcement);
            }
        }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). SQLite runs in WAL mode
    /// with `synchronous=FULL`, foreign keys on and a busy timeout, so an acknowledged write is
    /// on disk and concurrent writers queue instead of failing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let engine = Engine::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl)?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let connections = match engine {
            Engine::Sqlite => 8,
            Engine::Postgres => 20,
        };
        options.max_connections(connections);
        if engine == Engine::Sqlite {
            options.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
        }
        let db = Database::connect(options).await?;
        Ok(Self {
            db,
            engine,
            session_reads: std::sync::Arc::new(tokio::sync::Semaphore::new(connections as usize)),
            url: url.into(),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Writes a consistent copy of a SQLite database to `path` (`VACUUM INTO`: one read
    /// transaction, so pushes go on meanwhile and the copy holds exactly the commits before
    /// it began). `path` must not exist. On PostgreSQL: `pg_dump` (README.md, "Backups").
    pub async fn backup_into(&self, path: &std::path::Path) -> StoreResult<()> {
        if self.engine != Engine::Sqlite {
            return Err(StoreError::Corrupt(
                "VACUUM INTO is SQLite's; back PostgreSQL up with pg_dump".to_owned(),
            ));
        }
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".to_owned()))?;
        let statement = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "VACUUM INTO ?",
            [path.into()],
        );
        self.db.execute_raw(statement).await?;
        Ok(())
    }

    /// On PostgreSQL, a listener for the commits of every instance on this database (a push
    /// announces its commit with `NOTIFY`, delivered only if the transaction commits). `None` on
    /// SQLite, which one process owns.
    pub async fn change_listener(&self) -> StoreResult<Option<ChangeListener>> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url)
            .await
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        listener
            .listen(CHANGES_CHANNEL)
            .await
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        Ok(Some(ChangeListener(listener)))
    }

    /// Applies every pending migration. Refuses a database migrated by a newer paicha.
    pub async fn migrate(&self) -> StoreResult<()> {
        let known: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        Migrator::install(&self.db).await?;
        let applied = seaql_migrations::Entity::find().all(&self.db).await?;
        if let Some(unknown) = applied
            .into_iter()
            .map(|m| m.version)
            .find(|name| !known.contains(name))
        {
            return Err(StoreError::SchemaTooNew(unknown));
        }
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Rolls back the last `steps` migrations, or all of them with `None`. For operators undoing
    /// a release, and for the migration round-trip test.
    pub async fn rollback_migrations(&self, steps: Option<u32>) -> StoreResult<()> {
        Migrator::down(&self.db, steps).await?;
        Ok(())
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        Ok(Migrator::get_pending_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect())
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }
}
