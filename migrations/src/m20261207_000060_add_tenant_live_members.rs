//! How many live members each tenant holds, kept by the push in the transaction that makes or
//! deletes them (`SyncTxn::index_members`): the total of the committee's unfiltered member list,
//! which counted a million index entries for every page (0.2–0.8 s on PostgreSQL at a million
//! members, issue #23 item 5). The tenants already there are counted here.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_tenants")
                    .add_column(big_integer("live_members").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE sync_tenants SET live_members = (SELECT COUNT(*) FROM members \
                 WHERE members.tenant_id = sync_tenants.tenant_id AND NOT members.deleted)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_tenants")
                    .drop_column("live_members")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
