//! The status read model kept on disk: one checkpoint per tenant, the facts of its records as
//! they stood at a version (paicha_domain::facts::checkpoint), so a server started again
//! answers the committee's status from it and the changes since, instead of reading every
//! record (issue #23 item 5: a million members took 12–20 s).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("status_checkpoints")
                    .col(uuid("tenant_id").primary_key())
                    // Every change of the tenant up to this version is in the facts. The
                    // encoding's format is in the body's own header.
                    .col(big_integer("version"))
                    .col(timestamp_with_time_zone("written_at"))
                    .col(blob("body"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("status_checkpoints").to_owned())
            .await
    }
}
