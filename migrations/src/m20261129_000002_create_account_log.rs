//! The account log: every change to an account (created, disabled or enabled, role, unit or
//! name changed, password reset or changed, sessions or a device revoked), with who made it
//! and when, and the username, role and unit as they were, so the log stays readable after the
//! account changes again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("account_log")
                    .col(uuid("id").primary_key())
                    // The target's tenant (null for a system admin).
                    .col(uuid_null("tenant_id"))
                    .col(uuid("user_id"))
                    .col(string_len("username", 64))
                    .col(uuid("actor_id"))
                    .col(string_len("actor_username", 64))
                    .col(string_len("action", 32))
                    // JSON: the values before and after, never a password.
                    .col(text("detail"))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_log_user")
                    .table("account_log")
                    .col("user_id")
                    .col("at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("account_log").to_owned())
            .await
    }
}
