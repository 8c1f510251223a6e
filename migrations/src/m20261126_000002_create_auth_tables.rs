//! Refresh tokens (stored only as hashes, grouped in families for reuse detection) and the
//! per-username login throttle, kept in the database so that every instance behind a load
//! balancer sees the same counts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(uuid("id").primary_key())
                    .col(uuid("family_id"))
                    .col(uuid("user_id"))
                    // When the sign-in that started the family happened: rotation never extends
                    // a family past its maximum age.
                    .col(timestamp_with_time_zone("family_created_at"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(string_len_null("device_id", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_user")
                            .from("refresh_tokens", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_refresh_tokens_family", "family_id"),
            ("idx_refresh_tokens_user", "user_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("refresh_tokens")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .col(string_len("username", 64).primary_key())
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("window_started_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("login_throttle").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("refresh_tokens").to_owned())
            .await
    }
}
