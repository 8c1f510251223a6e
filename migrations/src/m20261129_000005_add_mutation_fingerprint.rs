//! A fingerprint of each pushed mutation beside its stored result, so that a `mutation_id`
//! used again for different content is told apart from a retry (`mutation_id_reused`).
//! Results stored before this migration have none, and are taken as retries as before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_mutations")
                    .add_column(string_len_null("fingerprint", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_mutations")
                    .drop_column("fingerprint")
                    .to_owned(),
            )
            .await
    }
}
