//! An index on each information form's member within its tenant: confirming a member
//! (`confirmed_*`) needs the member's complete, signed form (docs/domain.md §4.1, §8.7), which
//! the push looks up by `member_id` (an expression over the JSON `fields`, per database).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_info_forms_member ON info_forms (tenant_id, (fields->>'member_id'))"
            }
            _ => {
                "CREATE INDEX idx_info_forms_member ON info_forms (tenant_id, json_extract(fields, '$.member_id'))"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_info_forms_member")
            .await?;
        Ok(())
    }
}
