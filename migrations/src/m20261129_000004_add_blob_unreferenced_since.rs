//! When a tenant's blob stopped being referenced by any live record of that tenant: the blob
//! collection deletes it after a grace period.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("blobs")
                    .add_column(timestamp_with_time_zone_null("unreferenced_since"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("blobs")
                    .drop_column("unreferenced_since")
                    .to_owned(),
            )
            .await
    }
}
