//! Records that left a scope: when a record changes its owner (a member moved to another
//! branch) or its addressee (a transfer re-addressed), the units that saw it through the old
//! path must learn that it is gone. A pull of a scope covering a departure's old path, and not
//! the record's place now, returns it as a tombstone at the version of the move.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sync_departures")
                    .col(uuid("tenant_id"))
                    .col(string_len("collection", 64))
                    .col(uuid("record_id"))
                    // The path the record left (its owner's or its addressee's then).
                    .col(string_len("path", 1024))
                    // The record's owner before the move: a tombstone names it.
                    .col(uuid("org_unit_id"))
                    // The version of the write that moved it; a later move from the same
                    // path replaces the row.
                    .col(big_integer("version"))
                    // Where it went (the new owner or addressee; none when only withdrawn
                    // from an addressee), why (a word of paicha_domain::moves::Reason), what
                    // the unit it left knew it by (a member's name), and when: the unit is
                    // told (GET /v1/departures).
                    .col(uuid_null("to_unit_id"))
                    .col(string_len("reason", 32))
                    .col(string_len_null("label", 100))
                    .col(timestamp_with_time_zone("left_at"))
                    .primary_key(
                        Index::create()
                            .col("tenant_id")
                            .col("record_id")
                            .col("path"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_departures_tenant_version")
                    .table("sync_departures")
                    .col("tenant_id")
                    .col("version")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sync_departures").to_owned())
            .await
    }
}
