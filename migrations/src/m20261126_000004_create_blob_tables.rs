//! Blobs (content stored by SHA-256 outside the database) and which records reference them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("blobs")
                    // Per tenant: a tenant learns nothing of what another uploaded. The content
                    // itself is stored once on disk, whoever uploads it.
                    .col(uuid("tenant_id"))
                    .col(string_len("sha256", 64))
                    .col(big_integer("size"))
                    .col(string_len("content_type", 64))
                    .col(uuid("uploaded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("tenant_id").col("sha256"))
                    .to_owned(),
            )
            .await?;
        // One row per (record, blob): a blob may be read by whoever sees a record that
        // references it.
        manager
            .create_table(
                Table::create()
                    .table("blob_refs")
                    .col(string_len("collection", 64))
                    .col(uuid("record_id"))
                    .col(string_len("sha256", 64))
                    .col(uuid("tenant_id"))
                    .col(string_len("owner_path", 1024))
                    .col(string_len_null("addressee_path", 1024))
                    .primary_key(
                        Index::create()
                            .col("collection")
                            .col("record_id")
                            .col("sha256"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_blob_refs_sha256")
                    .table("blob_refs")
                    .col("sha256")
                    .col("tenant_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("blob_refs").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("blobs").to_owned())
            .await
    }
}
