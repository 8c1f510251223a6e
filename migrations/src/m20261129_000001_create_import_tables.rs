//! Spreadsheet imports: which unit an import is writing into (a lease, so imports into one unit
//! take turns across instances and the command line), and, per record, the version at which an
//! import last wrote it (the base of the next import's changes, so that a field edited on a
//! device since then is reported as a conflict).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_locks")
                    .col(uuid("org_unit_id").primary_key())
                    .col(string_len("holder", 64))
                    .col(timestamp_with_time_zone("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_marks")
                    .col(string_len("collection", 64))
                    .col(uuid("record_id"))
                    .col(uuid("tenant_id"))
                    .col(big_integer("version"))
                    .primary_key(Index::create().col("collection").col("record_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("import_marks").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("import_locks").to_owned())
            .await
    }
}
