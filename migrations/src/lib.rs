//! Versioned migrations of paicha. The same migrations run on SQLite and PostgreSQL, from
//! `paicha migrate`, from `paicha serve` at start-up, and from the tests.
//!
//! Never edit a migration that has landed on main: add a new one. A NOT NULL column is added in
//! three steps (add nullable, backfill, constrain).

pub use sea_orm_migration::prelude::*;
pub use sea_orm_migration::seaql_migrations;

mod m20261126_000001_create_org_units_and_users;
mod m20261126_000002_create_auth_tables;
mod m20261126_000003_create_sync_tables;
mod m20261126_000004_create_blob_tables;
mod m20261129_000001_create_import_tables;
mod m20261129_000002_create_account_log;
mod m20261129_000004_add_blob_unreferenced_since;
mod m20261129_000005_add_mutation_fingerprint;
mod m20261129_000006_index_member_id_numbers;
mod m20261129_000007_add_conflict_addressee;
mod m20261130_000001_create_blob_uploads;
mod m20261202_000001_index_info_form_members;
mod m20261207_000001_create_reports;
mod m20261207_000002_add_user_must_change_password;
mod m20261207_000003_create_blob_upload_owners;
mod m20261207_000010_create_sync_departures;
mod m20261207_000020_index_members_by_unit_in_order;
mod m20261207_000030_index_records_by_unit_and_version;
mod m20261207_000040_index_members_by_name;
mod m20261207_000050_create_member_name_grams;
mod m20261207_000060_add_tenant_live_members;
mod m20261207_000070_create_status_checkpoints;
mod m20261207_000080_add_tenant_swept_through;
mod m20261207_000090_add_name_to_member_name_grams;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_org_units_and_users::Migration),
            Box::new(m20261126_000002_create_auth_tables::Migration),
            Box::new(m20261126_000003_create_sync_tables::Migration),
            Box::new(m20261126_000004_create_blob_tables::Migration),
            Box::new(m20261129_000001_create_import_tables::Migration),
            Box::new(m20261129_000002_create_account_log::Migration),
            Box::new(m20261129_000004_add_blob_unreferenced_since::Migration),
            Box::new(m20261129_000005_add_mutation_fingerprint::Migration),
            Box::new(m20261129_000006_index_member_id_numbers::Migration),
            Box::new(m20261129_000007_add_conflict_addressee::Migration),
            Box::new(m20261130_000001_create_blob_uploads::Migration),
            Box::new(m20261202_000001_index_info_form_members::Migration),
            Box::new(m20261207_000001_create_reports::Migration),
            Box::new(m20261207_000002_add_user_must_change_password::Migration),
            Box::new(m20261207_000003_create_blob_upload_owners::Migration),
            Box::new(m20261207_000010_create_sync_departures::Migration),
            Box::new(m20261207_000020_index_members_by_unit_in_order::Migration),
            Box::new(m20261207_000030_index_records_by_unit_and_version::Migration),
            Box::new(m20261207_000040_index_members_by_name::Migration),
            Box::new(m20261207_000050_create_member_name_grams::Migration),
            Box::new(m20261207_000060_add_tenant_live_members::Migration),
            Box::new(m20261207_000070_create_status_checkpoints::Migration),
            Box::new(m20261207_000080_add_tenant_swept_through::Migration),
            Box::new(m20261207_000090_add_name_to_member_name_grams::Migration),
        ]
    }
}
