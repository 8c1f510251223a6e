//! Each collection's records by unit in version order, for the pulls of a unit below the
//! committee: `(org_unit_id, version)` for the records a unit owns, and `(addressee_id,
//! version)` (only over addressed records) for those addressed down to it.
//!
//! A pull walked the tenant's `(tenant_id, version)` index and filtered by the caller's path,
//! so a branch's first pull of its 200 members read every record of a tenant of a million
//! (docs/benchmarks.md, issue #23 item 4). A pull of a unit below the committee now reads its
//! units' entries of these indexes only (`storage::records::page_statements`).
//!
//! The unit-and-version index replaces the index on the unit alone (its first column serves
//! every use of it) except on `members`, whose unit index is `(org_unit_id, created_at, id)`
//! (the registers' order, m20261207_000020).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The collections' tables when this migration was written; frozen with it.
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
        let db = manager.get_connection();
        for table in COLLECTIONS {
            db.execute_unprepared(&format!(
                "CREATE INDEX idx_{table}_unit_version ON {table} (org_unit_id, version)"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX idx_{table}_addressee_version ON {table} (addressee_id, version) \
                 WHERE addressee_id IS NOT NULL"
            ))
            .await?;
            if table != "members" {
                db.execute_unprepared(&format!("DROP INDEX idx_{table}_org_unit"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in COLLECTIONS {
            if table != "members" {
                db.execute_unprepared(&format!(
                    "CREATE INDEX idx_{table}_org_unit ON {table} (org_unit_id)"
                ))
                .await?;
            }
            db.execute_unprepared(&format!("DROP INDEX idx_{table}_addressee_version"))
                .await?;
            db.execute_unprepared(&format!("DROP INDEX idx_{table}_unit_version"))
                .await?;
        }
        Ok(())
    }
}
