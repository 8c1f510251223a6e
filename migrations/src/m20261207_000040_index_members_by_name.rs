//! The tenant's live members in the member list's order (by name, then id): a page of the
//! committee's list is the first entries of this index, and its total a count of them, where
//! both sorted and counted every member of the tenant (6.3 s a page at a million members,
//! docs/benchmarks.md, issue #23 item 5). A partial index of the live members: the list's
//! query says `NOT deleted` in these words (a bound parameter would not let SQLite use it),
//! and no other query can take it for its own (a query naming the tenant and a bound
//! `deleted` chose an index leading with both over the ID-number index, and a 5,000-row import
//! took 17 s instead of 1). The name is an expression over the JSON `fields`, written as the
//! list's query writes it (`Store::search_members`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_members_list_order ON members \
                 (tenant_id, (fields->>'name'), id) WHERE NOT deleted"
            }
            _ => {
                "CREATE INDEX idx_members_list_order ON members \
                 (tenant_id, json_extract(fields, '$.name'), id) WHERE NOT deleted"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_members_list_order")
            .await?;
        Ok(())
    }
}
