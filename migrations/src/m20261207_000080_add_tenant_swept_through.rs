//! How far a tenant's tombstones have been swept: every tombstone (and departure) at or below
//! this version is gone, since a deletion only ever writes a version above every one before.
//! The housekeeping's purge then reads only the versions above it (the changes since its last
//! round) instead of every record of the tenant below the horizon, which is near the head once
//! the devices are up to date (issue #23).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_tenants")
                    .add_column(big_integer("swept_through").default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_tenants")
                    .drop_column("swept_through")
                    .to_owned(),
            )
            .await
    }
}
