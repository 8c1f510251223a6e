//! Who started each unfinished (chunked) blob upload, from which device, and the size it
//! announced: a user's unfinished uploads count against its own allowance and its cap on
//! unfinished uploads (per user and per device), so one account cannot fill its tenant's quota.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("blob_upload_owners")
                    .col(uuid("tenant_id"))
                    .col(string_len("sha256", 64))
                    .col(uuid("user_id"))
                    .col(string_len_null("device_id", 200))
                    .col(big_integer("total"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("tenant_id").col("sha256"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_blob_upload_owners_user")
                    .table("blob_upload_owners")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        // A user's stored blobs that no record names yet count against its allowance.
        manager
            .create_index(
                Index::create()
                    .name("idx_blobs_uploaded_by")
                    .table("blobs")
                    .col("uploaded_by")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_blobs_uploaded_by")
                    .table("blobs")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("blob_upload_owners").to_owned())
            .await
    }
}
