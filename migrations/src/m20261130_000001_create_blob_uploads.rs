//! Blob uploads shared by every instance: a lease per content hash (one upload of a given
//! content at a time, and none while the collection deletes it, across instances), and, when
//! blobs are kept in object storage, where each unfinished upload stands (its bytes are staged
//! as objects; this row says how many have been received), so an upload begun through one
//! instance resumes through another.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("blob_leases")
                    .col(string_len("sha256", 64).primary_key())
                    .col(string_len("holder", 64))
                    .col(timestamp_with_time_zone("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("blob_uploads")
                    .col(uuid("tenant_id"))
                    .col(string_len("sha256", 64))
                    .col(big_integer("received"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("tenant_id").col("sha256"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("blob_uploads").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("blob_leases").to_owned())
            .await
    }
}
