//! The index of the members' names for a search by a part of a name (issue #23 item 5: 2.2 s at
//! a million members, where every live member's JSON was read to test `LIKE '%…%'`).
//!
//! One row per gram of a live member's name: each pair of neighbouring characters, and the last
//! character alone, so that every character of the name begins one gram. ASCII letters are
//! lower-cased. A search of two characters or more looks its pairs up; a search of one character
//! reads the grams beginning with it (a range of the key). What the grams find is tested again
//! against the name itself, so they may find too much but never too little.
//!
//! Written by the store with each write of a member (`SyncTxn::index_members`): a deleted
//! member has no grams. `gram` compares by code point on both databases (`COLLATE "C"` on
//! PostgreSQL, whose default collation is the server's; SQLite's own `BINARY`), which the
//! one-character range relies on. The members already there are indexed here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE member_name_grams (\
                     tenant_id uuid NOT NULL, \
                     gram text COLLATE \"C\" NOT NULL, \
                     member_id uuid NOT NULL, \
                     PRIMARY KEY (tenant_id, gram, member_id))",
                )
                .await?;
                db.execute_unprepared(
                    "INSERT INTO member_name_grams (tenant_id, gram, member_id) \
                     SELECT DISTINCT m.tenant_id, \
                       translate(substr(m.name, i, 2), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
                                 'abcdefghijklmnopqrstuvwxyz'), m.id \
                     FROM (SELECT tenant_id, id, fields->>'name' AS name FROM members \
                           WHERE NOT deleted AND fields->>'name' <> '') m, \
                          generate_series(1, char_length(m.name)) AS i",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE member_name_grams (\
                     tenant_id uuid_text NOT NULL, \
                     gram text NOT NULL, \
                     member_id uuid_text NOT NULL, \
                     PRIMARY KEY (tenant_id, gram, member_id)) WITHOUT ROWID",
                )
                .await?;
                db.execute_unprepared(
                    "WITH RECURSIVE g(tenant_id, id, name, i) AS (\
                       SELECT tenant_id, id, json_extract(fields, '$.name'), 1 FROM members \
                       WHERE NOT deleted AND json_extract(fields, '$.name') <> '' \
                       UNION ALL SELECT tenant_id, id, name, i + 1 FROM g WHERE i < length(name)) \
                     INSERT OR IGNORE INTO member_name_grams (tenant_id, gram, member_id) \
                     SELECT tenant_id, lower(substr(name, i, 2)), id FROM g",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE member_name_grams")
            .await?;
        Ok(())
    }
}
