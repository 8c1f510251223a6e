//! A user who must set a new password before anything else (the platform administrator made
//! at bootstrap, whose password was on a command line or in a sample): until it changes it,
//! the API serves it only the password change, refresh and logout.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing users chose their passwords long ago (or were given them by an admin, as
        // before): none of them is asked now.
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(boolean("must_change_password").default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("must_change_password")
                    .to_owned(),
            )
            .await
    }
}
