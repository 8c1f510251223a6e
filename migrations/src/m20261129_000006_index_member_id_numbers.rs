//! An index on each member's 公民身份号码 within its tenant, so a push can check at once that
//! no other live member of the tenant already holds a number (`id_number_taken`). It is an
//! expression index over the JSON `fields` (the number is not a column of its own), written
//! per database; the push checks uniqueness itself (under the tenant's write lock), so the
//! index is not unique and a database holding duplicates from before still migrates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_members_id_number ON members (tenant_id, (fields->>'id_number'))"
            }
            _ => {
                "CREATE INDEX idx_members_id_number ON members (tenant_id, json_extract(fields, '$.id_number'))"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_members_id_number")
            .await?;
        Ok(())
    }
}
