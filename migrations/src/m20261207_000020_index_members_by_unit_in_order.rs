//! The members' index on their unit also orders each unit's members as the registers list them
//! (`created_at`, then `id`): an export of the 花名册 reads a unit's members a page at a time
//! in that order (`Store::live_records_page`), each page a walk of the index from where the
//! last ended instead of a sort of all the unit's members (docs/benchmarks.md, issue #23
//! item 5). It replaces the index on the unit alone, whose every use it serves (its first
//! column), so a write keeps as many indexes as before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A new name: on SQLite the pool may run the second statement on a connection whose
        // schema is older than the first's (it then finds the old name still taken).
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_members_unit_order ON members (org_unit_id, created_at, id)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX idx_members_org_unit")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_members_org_unit ON members (org_unit_id)")
            .await?;
        db.execute_unprepared("DROP INDEX idx_members_unit_order")
            .await?;
        Ok(())
    }
}
