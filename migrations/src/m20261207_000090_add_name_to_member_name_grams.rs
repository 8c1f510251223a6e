//! Each gram of the name index carries the member's whole name, in the key before the member:
//! a search by one character (a surname: 王 is held by one member in fifteen) then pages
//! through the grams that begin with it in the member list's order (by name, then id) without
//! reading and sorting the members themselves (issue #23 item 5: 345–477 ms at a million
//! members, for 67,609 matches).
//!
//! `name` is compared as the member list compares `fields->>'name'` (the database's default
//! collation on PostgreSQL, `BINARY` on SQLite), so the order of the grams is the order of the
//! list. The table is built afresh from the live members, as migration `000050` built it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}

/// Drops the name index and builds it again from the live members, with their names or
/// without them (migration `000050`'s shape).
async fn rebuild(manager: &SchemaManager<'_>, named: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared("DROP TABLE member_name_grams")
        .await?;
    let (name_column, key, name_value) = if named {
        (
            "name text NOT NULL, ",
            "PRIMARY KEY (tenant_id, gram, name, member_id)",
            "m.name, ",
        )
    } else {
        ("", "PRIMARY KEY (tenant_id, gram, member_id)", "")
    };
    let columns = if named {
        "tenant_id, gram, name, member_id"
    } else {
        "tenant_id, gram, member_id"
    };
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE TABLE member_name_grams (\
                 tenant_id uuid NOT NULL, \
                 gram text COLLATE \"C\" NOT NULL, \
                 {name_column}\
                 member_id uuid NOT NULL, \
                 {key})"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "INSERT INTO member_name_grams ({columns}) \
                 SELECT DISTINCT m.tenant_id, \
                   translate(substr(m.name, i, 2), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
                             'abcdefghijklmnopqrstuvwxyz'), {name_value}m.id \
                 FROM (SELECT tenant_id, id, fields->>'name' AS name FROM members \
                       WHERE NOT deleted AND fields->>'name' <> '') m, \
                      generate_series(1, char_length(m.name)) AS i"
            ))
            .await?;
        }
        _ => {
            db.execute_unprepared(&format!(
                "CREATE TABLE member_name_grams (\
                 tenant_id uuid_text NOT NULL, \
                 gram text NOT NULL, \
                 {name_column}\
                 member_id uuid_text NOT NULL, \
                 {key}) WITHOUT ROWID"
            ))
            .await?;
            let name_value = if named { "name, " } else { "" };
            db.execute_unprepared(&format!(
                "WITH RECURSIVE g(tenant_id, id, name, i) AS (\
                   SELECT tenant_id, id, json_extract(fields, '$.name'), 1 FROM members \
                   WHERE NOT deleted AND json_extract(fields, '$.name') <> '' \
                   UNION ALL SELECT tenant_id, id, name, i + 1 FROM g WHERE i < length(name)) \
                 INSERT OR IGNORE INTO member_name_grams ({columns}) \
                 SELECT tenant_id, lower(substr(name, i, 2)), {name_value}id FROM g"
            ))
            .await?;
        }
    }
    Ok(())
}
