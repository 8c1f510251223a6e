//! The org tree (tenants are committee roots) and the users bound to its units.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("org_units")
                    .col(uuid("id").primary_key())
                    .col(uuid("tenant_id"))
                    .col(uuid_null("parent_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("name", 400))
                    .col(string_len_null("code", 200))
                    // Materialized path "/<root id>/…/<own id>/": a subtree is one prefix match.
                    .col(string_len("path", 1024))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_units_parent")
                            .from("org_units", "parent_id")
                            .to("org_units", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_org_units_tenant", "tenant_id"),
            ("idx_org_units_parent", "parent_id"),
            ("idx_org_units_path", "path"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("org_units")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(uuid("id").primary_key())
                    .col(string_len_uniq("username", 64))
                    .col(string_len("password_hash", 255))
                    .col(string_len("role", 32))
                    .col(uuid_null("tenant_id"))
                    .col(uuid_null("org_unit_id"))
                    .col(string_len_null("display_name", 400))
                    .col(boolean("disabled").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_org_unit")
                            .from("users", "org_unit_id")
                            .to("org_units", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_org_unit")
                    .table("users")
                    .col("org_unit_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("users").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("org_units").to_owned())
            .await
    }
}
