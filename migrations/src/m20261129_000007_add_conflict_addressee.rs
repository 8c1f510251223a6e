//! Conflicts carry their record's addressee (a transfer's branch), so a conflict is seen
//! wherever its record is seen: by the branch a transfer is addressed to, not only by the unit
//! that owns it. Existing conflicts take the addressee from their record.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The collections whose records are addressed down (`domain::collection`, `addressed_to`).
const ADDRESSED: [&str; 1] = ["transfers"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_conflicts")
                    .add_column(string_len_null("addressee_path", 1024))
                    .to_owned(),
            )
            .await?;
        for table in ADDRESSED {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "UPDATE sync_conflicts SET addressee_path = \
                     (SELECT r.addressee_path FROM {table} r WHERE r.id = sync_conflicts.record_id) \
                     WHERE collection = '{table}'"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_conflicts")
                    .drop_column("addressee_path")
                    .to_owned(),
            )
            .await
    }
}
