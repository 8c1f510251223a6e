//! Signed reports (报表, docs/domain.md §8.14): the status of a unit as the 组织办 signed it, kept
//! exactly as it was, with the head of the tenant's audit chain at that moment.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reports")
                    .col(uuid("id").primary_key())
                    .col(uuid("tenant_id"))
                    .col(uuid("org_unit_id"))
                    .col(text("unit_path"))
                    .col(text("unit_name"))
                    .col(date("as_of"))
                    .col(uuid("signed_by"))
                    .col(text("signed_by_name"))
                    .col(timestamp_with_time_zone("signed_at"))
                    .col(text("content"))
                    .col(string_len("content_sha256", 64))
                    .col(big_integer("chain_version"))
                    .col(string_len("chain_head", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_tenant_signed")
                    .table("reports")
                    .col("tenant_id")
                    .col("signed_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("reports").to_owned())
            .await
    }
}
