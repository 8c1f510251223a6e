//! The sync collections (one table each, with the common sync columns), the per-tenant version
//! counter, the record of applied device mutations, the audit change log and the conflict log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The collections of this migration. Later collections come with migrations of their own;
/// this list is frozen with the migration.
const COLLECTIONS: [&str; 13] = [
    "members",
    "info_forms",
    "roster_ledger_entries",
    "ledger_submissions",
    "archive_reviews",
    "contact_cases",
    "contact_attempts",
    "department_search_requests",
    "transfers",
    "performance_checks",
    "dispositions",
    "campaigns",
    "working_groups",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in COLLECTIONS {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .col(uuid("id").primary_key())
                        .col(uuid("tenant_id"))
                        // The owning unit, and its path for subtree scoping.
                        .col(uuid("org_unit_id"))
                        .col(string_len("owner_path", 1024))
                        // The unit a record is addressed down to (transfers), and its path.
                        .col(uuid_null("addressee_id"))
                        .col(string_len_null("addressee_path", 1024))
                        .col(big_integer("version"))
                        .col(boolean("deleted").default(false))
                        .col(json_binary("fields"))
                        // Per field, the version that last wrote it: the basis of the merge.
                        .col(json_binary("field_versions"))
                        .col(timestamp_with_time_zone("created_at"))
                        .col(uuid("created_by"))
                        .col(timestamp_with_time_zone("updated_at"))
                        .col(uuid("updated_by"))
                        .col(string_len_null("device_id", 200))
                        .foreign_key(
                            ForeignKey::create()
                                .name(format!("fk_{table}_org_unit"))
                                .from(table, "org_unit_id")
                                .to("org_units", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{table}_tenant_version"))
                        .table(table)
                        .col("tenant_id")
                        .col("version")
                        .unique()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{table}_org_unit"))
                        .table(table)
                        .col("org_unit_id")
                        .to_owned(),
                )
                .await?;
        }

        // One row per tenant: the last version handed out and the last audit hash. Writers
        // lock this row for the length of their transaction, so versions commit in order.
        manager
            .create_table(
                Table::create()
                    .table("sync_tenants")
                    .col(uuid("tenant_id").primary_key())
                    .col(big_integer("version"))
                    .col(string_len("last_hash", 64))
                    // Tombstones up to this version have been purged: a cursor below it can
                    // no longer be brought up to date and must resync.
                    .col(big_integer("purged_through").default(0))
                    .to_owned(),
            )
            .await?;

        // The result of every mutation a device pushed, so a retry returns it again.
        manager
            .create_table(
                Table::create()
                    .table("sync_mutations")
                    .col(uuid("user_id"))
                    .col(string_len("device_id", 200))
                    .col(big_integer("mutation_id"))
                    .col(uuid("tenant_id"))
                    .col(json_binary("result"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .col("user_id")
                            .col("device_id")
                            .col("mutation_id"),
                    )
                    .to_owned(),
            )
            .await?;

        // Each device's last pull position and activity, for the tombstone horizon.
        manager
            .create_table(
                Table::create()
                    .table("sync_devices")
                    .col(uuid("user_id"))
                    .col(string_len("device_id", 200))
                    .col(uuid("tenant_id"))
                    .col(big_integer("last_cursor"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .primary_key(Index::create().col("user_id").col("device_id"))
                    .to_owned(),
            )
            .await?;

        // The audit trail: one entry per applied mutation, hash-chained per tenant.
        manager
            .create_table(
                Table::create()
                    .table("change_log")
                    .col(uuid("tenant_id"))
                    .col(big_integer("version"))
                    .col(string_len("collection", 64))
                    .col(uuid("record_id"))
                    .col(uuid("org_unit_id"))
                    .col(string_len("owner_path", 1024))
                    .col(string_len("op", 16))
                    .col(uuid("user_id"))
                    .col(string_len("device_id", 200))
                    .col(big_integer("mutation_id"))
                    .col(timestamp_with_time_zone("server_time"))
                    .col(string_len_null("client_time", 64))
                    .col(json_binary("changes"))
                    .col(string_len("prev_hash", 64))
                    .col(string_len("hash", 64))
                    .primary_key(Index::create().col("tenant_id").col("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_change_log_record")
                    .table("change_log")
                    .col("tenant_id")
                    .col("collection")
                    .col("record_id")
                    .to_owned(),
            )
            .await?;

        // Values overwritten by a concurrent edit of the same field.
        manager
            .create_table(
                Table::create()
                    .table("sync_conflicts")
                    .col(uuid("id").primary_key())
                    .col(uuid("tenant_id"))
                    .col(string_len("collection", 64))
                    .col(uuid("record_id"))
                    .col(uuid("org_unit_id"))
                    .col(string_len("owner_path", 1024))
                    .col(string_len("field", 64))
                    .col(json_binary_null("overwritten_value"))
                    .col(big_integer("overwritten_version"))
                    .col(json_binary_null("winning_value"))
                    .col(big_integer("winning_version"))
                    .col(uuid("user_id"))
                    .col(string_len("device_id", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .col(uuid_null("resolved_by"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_conflicts_record")
                    .table("sync_conflicts")
                    .col("tenant_id")
                    .col("collection")
                    .col("record_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "sync_conflicts",
            "change_log",
            "sync_devices",
            "sync_mutations",
            "sync_tenants",
        ]
        .into_iter()
        .chain(COLLECTIONS.into_iter().rev())
        {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
