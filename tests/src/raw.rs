//! What the database alone allows: the benchmark's roster rows ([`crate::roster::member`])
//! written straight through the driver (sqlx), with no paicha logic. The schema is paicha's own
//! (its migrations, so the same tables, indexes and foreign keys), the connection is set up as
//! paicha's store sets up its own (SQLite: WAL, `synchronous=FULL`, foreign keys on), and each
//! batch is one transaction of three multi-row inserts, as a push writes them: the members (the
//! same columns and JSON: fields and per-field versions), a change-log row each (its changes
//! a full copy of the fields, as `[null, value]` pairs, and two 64-character hashes) and the
//! grams of their names (`paicha_storage::name_grams`). What a
//! push does besides (parsing, validation, the ID-number and result lookups, the results it
//! keeps, hashing, the tenant's counter) is left out: this is the limit a push is measured
//! against, not a model of it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use paicha_domain::org::OrgUnitKind;
use paicha_storage::{NewOrgUnit, Store};
use serde_json::{Map, Value};
use sqlx::Connection as _;
use uuid::Uuid;

/// The columns written: paicha's own (`storage::records`).
const MEMBER_COLUMNS: [&str; 15] = paicha_storage::RECORD_COLUMNS;
const CHANGE_COLUMNS: [&str; 15] = [
    "tenant_id",
    "version",
    "collection",
    "record_id",
    "org_unit_id",
    "owner_path",
    "op",
    "user_id",
    "device_id",
    "mutation_id",
    "server_time",
    "client_time",
    "changes",
    "prev_hash",
    "hash",
];
const GRAM_COLUMNS: [&str; 4] = ["tenant_id", "gram", "name", "member_id"];
const JSON_COLUMNS: [&str; 3] = ["fields", "field_versions", "changes"];

/// One bound value.
enum V {
    Id(Uuid),
    NoId,
    Text(String),
    NoText,
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
}

/// What a raw run measured.
pub struct RawRun {
    pub rows: usize,
    /// The batches' time together (from each transaction's start to its commit).
    pub elapsed: Duration,
    /// Each batch's time, sorted.
    pub batches: Vec<Duration>,
}

/// `INSERT INTO table (…) VALUES (…), …` for `rows` rows with the backend's placeholders
/// (PostgreSQL: JSON columns cast from text, as paicha binds them).
fn insert_sql(postgres: bool, table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({}) VALUES ",
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row > 0 { ", (" } else { "(" });
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match (postgres, JSON_COLUMNS.contains(column)) {
                (true, true) => sql.push_str(&format!("CAST(${n} AS jsonb)")),
                (true, false) => sql.push_str(&format!("${n}")),
                (false, _) => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// The rows of one batch: members `first..first + n` with versions from `version + 1`, their
/// change-log rows and the grams of their names (`paicha_storage::name_grams`).
fn batch_values(
    tenant: Uuid,
    branch: Uuid,
    path: &str,
    user: Uuid,
    first: usize,
    n: usize,
    version: i64,
) -> Batch {
    let now = Utc::now();
    let mut members = Vec::with_capacity(n * 15);
    let mut changes = Vec::with_capacity(n * 15);
    let mut grams = Vec::with_capacity(n * 12);
    for i in 0..n {
        let v = version + 1 + i as i64;
        let Value::Object(fields) = crate::roster::member(first + i) else {
            continue;
        };
        let versions: Map<String, Value> = fields.keys().map(|k| (k.clone(), v.into())).collect();
        // Stored as the store stores them (`paicha_storage::pack_field_versions`).
        let versions = paicha_storage::pack_field_versions(&fields, &versions);
        let diff: Map<String, Value> = fields
            .iter()
            .map(|(k, value)| (k.clone(), Value::Array(vec![Value::Null, value.clone()])))
            .collect();
        let id = Uuid::now_v7();
        let name = fields
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for gram in paicha_storage::name_grams(name) {
            grams.extend([
                V::Id(tenant),
                V::Text(gram),
                V::Text(name.to_owned()),
                V::Id(id),
            ]);
        }
        members.extend([
            V::Id(id),
            V::Id(tenant),
            V::Id(branch),
            V::Text(path.to_owned()),
            V::NoId,
            V::NoText,
            V::Int(v),
            V::Bool(false),
            V::Text(Value::Object(fields).to_string()),
            V::Text(Value::Object(versions).to_string()),
            V::Time(now),
            V::Id(user),
            V::Time(now),
            V::Id(user),
            V::Text("raw".into()),
        ]);
        changes.extend([
            V::Id(tenant),
            V::Int(v),
            V::Text("members".into()),
            V::Id(id),
            V::Id(branch),
            V::Text(path.to_owned()),
            V::Text("put".into()),
            V::Id(user),
            V::Text("raw".into()),
            V::Int(v),
            V::Time(now),
            V::NoText,
            // Stored as the store stores a creation's (`paicha_storage::pack_changes`).
            V::Text(paicha_storage::pack_changes(&Value::Object(diff)).to_string()),
            V::Text(format!("{:064x}", v - 1)),
            V::Text(format!("{v:064x}")),
        ]);
    }
    Batch {
        members,
        changes,
        grams,
    }
}

/// One batch's values: `members` and `changes` a row each per member, `grams` a row
/// ([`GRAM_COLUMNS`]) per gram.
struct Batch {
    members: Vec<V>,
    changes: Vec<V>,
    grams: Vec<V>,
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for value in $values {
            q = match value {
                V::Id(id) => q.bind(id),
                V::NoId => q.bind(None::<Uuid>),
                V::Text(t) => q.bind(t),
                V::NoText => q.bind(None::<String>),
                V::Int(i) => q.bind(i),
                V::Bool(b) => q.bind(b),
                V::Time(t) => q.bind(t),
            };
        }
        q
    }};
}

/// Inserts a batch's members, change-log rows (`n` of each) and name grams in the transaction
/// `$txn`.
macro_rules! insert_batch {
    ($txn:ident, $postgres:expr, $n:expr, $batch:expr) => {{
        let Batch {
            members,
            changes,
            grams,
        } = $batch;
        let sql = insert_sql($postgres, "members", &MEMBER_COLUMNS, $n);
        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), members)
            .execute(&mut *$txn)
            .await?;
        let sql = insert_sql($postgres, "change_log", &CHANGE_COLUMNS, $n);
        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), changes)
            .execute(&mut *$txn)
            .await?;
        if !grams.is_empty() {
            let sql = insert_sql(
                $postgres,
                "member_name_grams",
                &GRAM_COLUMNS,
                grams.len() / GRAM_COLUMNS.len(),
            );
            bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), grams)
                .execute(&mut *$txn)
                .await?;
        }
    }};
}

/// Runs `$body` with `$conn` a connection to `$url`, PostgreSQL or SQLite (set up as paicha's
/// store sets up its own, but for `$sync`), where `begin!()` starts a transaction as a push
/// does (SQLite: taking the write lock at its start).
macro_rules! on_connection {
    ($url:expr, $sync:expr, |$conn:ident| $body:block) => {{
        if $url.starts_with("postgres") {
            let mut $conn = sqlx::PgConnection::connect($url).await?;
            #[allow(unused_macros)]
            macro_rules! begin {
                () => {
                    $conn.begin()
                };
            }
            $body
        } else {
            use std::str::FromStr as _;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str($url)?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous($sync)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let mut $conn = sqlx::SqliteConnection::connect_with(&options).await?;
            #[allow(unused_macros)]
            macro_rules! begin {
                () => {
                    $conn.begin_with("BEGIN IMMEDIATE")
                };
            }
            $body
        }
    }};
}

/// Writes `members` roster rows in batches of `batch` into a fresh tenant of the database at
/// `url` (migrated here), one transaction after another on one connection, and times it.
pub async fn write_rows(url: &str, members: usize, batch: usize) -> anyhow::Result<RawRun> {
    // The schema and the tenant's two units through paicha's store (not timed).
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let now = Utc::now();
    let committee = store
        .insert_org_unit(NewOrgUnit {
            id: paicha_domain::ids::UnitId::new(Uuid::now_v7()),
            parent: None,
            kind: OrgUnitKind::Committee,
            name: "原始写入党工委".into(),
            code: None,
            now,
        })
        .await?;
    let branch = store
        .insert_org_unit(NewOrgUnit {
            id: paicha_domain::ids::UnitId::new(Uuid::now_v7()),
            parent: Some(&committee),
            kind: OrgUnitKind::Branch,
            name: "原始写入党支部".into(),
            code: None,
            now,
        })
        .await?;
    drop(store);
    let (tenant, user) = (committee.tenant_id.uuid(), Uuid::now_v7());
    let postgres = url.starts_with("postgres");
    let mut batches = Vec::new();
    on_connection!(url, sqlx::sqlite::SqliteSynchronous::Full, |conn| {
        for (b, first) in (0..members).step_by(batch).enumerate() {
            let n = batch.min(members - first);
            let values = batch_values(
                tenant,
                branch.id.uuid(),
                &branch.path,
                user,
                first,
                n,
                (b * batch) as i64,
            );
            let t = Instant::now();
            let mut txn = begin!().await?;
            insert_batch!(txn, postgres, n, values);
            txn.commit().await?;
            batches.push(t.elapsed());
        }
    });
    // The batches' own time: building the rows' JSON is not the database's.
    let elapsed = batches.iter().sum();
    batches.sort();
    Ok(RawRun {
        rows: members,
        elapsed,
        batches,
    })
}

/// Loads `per_branch` roster rows into each of `branches` ((id, path)) of the live tenant
/// `tenant` in the paicha database at `url`, straight through the driver: members and their
/// change-log rows as [`write_rows`] writes them (so the tenant's audit chain is not a valid
/// chain afterwards: for benchmarks only) and the grams of their names, versions after the
/// tenant's current one, then the tenant's counter moved past them and its count of live members
/// up by them. Roster indices start at `first_member`. Returns how many
/// rows were written.
pub async fn load_tenant(
    url: &str,
    tenant: Uuid,
    branches: &[(Uuid, String)],
    per_branch: usize,
    first_member: usize,
) -> anyhow::Result<usize> {
    let user = Uuid::now_v7();
    let postgres = url.starts_with("postgres");
    let version_sql = if postgres {
        "SELECT version FROM sync_tenants WHERE tenant_id = $1"
    } else {
        "SELECT version FROM sync_tenants WHERE tenant_id = ?"
    };
    let bump_sql = if postgres {
        "UPDATE sync_tenants SET version = $1, live_members = live_members + $2 \
         WHERE tenant_id = $3"
    } else {
        "UPDATE sync_tenants SET version = ?, live_members = live_members + ? \
         WHERE tenant_id = ?"
    };
    on_connection!(url, sqlx::sqlite::SqliteSynchronous::Normal, |conn| {
        let mut version: i64 = sqlx::query_scalar(version_sql)
            .bind(tenant)
            .fetch_one(&mut conn)
            .await?;
        for (b, (branch, path)) in branches.iter().enumerate() {
            let first = first_member + b * per_branch;
            let values = batch_values(tenant, *branch, path, user, first, per_branch, version);
            let mut txn = begin!().await?;
            insert_batch!(txn, postgres, per_branch, values);
            version += per_branch as i64;
            sqlx::query(bump_sql)
                .bind(version)
                .bind(per_branch as i64)
                .bind(tenant)
                .execute(&mut *txn)
                .await?;
            txn.commit().await?;
        }
    });
    Ok(branches.len() * per_branch)
}

/// On PostgreSQL, what autovacuum does soon after a bulk load, done at once: `VACUUM (ANALYZE)`
/// of the database at `url` (the visibility map lets a count read an index alone; the planner
/// learns the tables' sizes). Nothing on SQLite, which has no such daemon. Returns whether it
/// ran.
pub async fn settle(url: &str) -> anyhow::Result<bool> {
    if !url.starts_with("postgres") {
        return Ok(false);
    }
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
    Ok(true)
}

/// The version and size in bytes of the tenant's status checkpoint in the database at `url`,
/// once a server has written one.
pub async fn status_checkpoint(url: &str, tenant: Uuid) -> anyhow::Result<Option<(u64, u64)>> {
    let row: Option<(i64, i64)> = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_as("SELECT version, CAST(length(body) AS BIGINT) FROM status_checkpoints WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut conn)
            .await?
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_as("SELECT version, CAST(length(body) AS BIGINT) FROM status_checkpoints WHERE tenant_id = ?")
            .bind(tenant)
            .fetch_optional(&mut conn)
            .await?
    };
    Ok(row.map(|(v, n)| (u64::try_from(v).unwrap_or(0), u64::try_from(n).unwrap_or(0))))
}

/// The bytes the database at `url` takes: on PostgreSQL the database's size
/// (`pg_database_size`), on SQLite its file and write-ahead log after a checkpoint.
pub async fn database_bytes(url: &str) -> anyhow::Result<u64> {
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
            .fetch_one(&mut conn)
            .await?;
        return Ok(u64::try_from(bytes).unwrap_or(0));
    }
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    let (pages, size): (i64, i64) =
        sqlx::query_as("SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()")
            .fetch_one(&mut conn)
            .await?;
    Ok(u64::try_from(pages * size).unwrap_or(0))
}

/// On PostgreSQL, `n` copies of one member of the database at `url` (new ids, versions from
/// 1,001 on), written straight into the table and not analysed: the size of a roster just
/// imported, for the tests that hold a query's plan to its index (the push path would take
/// minutes in a debug build). Returns the open connection, to analyse the table later.
pub async fn copy_a_member(url: &str, n: u32) -> anyhow::Result<sqlx::PgConnection> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query(
        "INSERT INTO members (id, tenant_id, org_unit_id, owner_path, version, deleted, \
         fields, field_versions, created_at, created_by, updated_at, updated_by) \
         SELECT gen_random_uuid(), m.tenant_id, m.org_unit_id, m.owner_path, 1000 + n, false, \
         m.fields, m.field_versions, m.created_at, m.created_by, m.updated_at, m.updated_by \
         FROM (SELECT * FROM members LIMIT 1) m, generate_series(1, $1) n",
    )
    .bind(i32::try_from(n)?)
    .execute(&mut conn)
    .await?;
    // Counted among the tenant's live members, and their names in the name index, as a push
    // writes them (`paicha_storage::name_grams`).
    sqlx::query(
        "UPDATE sync_tenants SET live_members = live_members + $1 \
         WHERE tenant_id = (SELECT tenant_id FROM members LIMIT 1)",
    )
    .bind(i64::from(n))
    .execute(&mut conn)
    .await?;
    sqlx::query(
        "INSERT INTO member_name_grams (tenant_id, gram, name, member_id) \
         SELECT DISTINCT m.tenant_id, lower(substr(m.name, i, 2)), m.name, m.id \
         FROM (SELECT tenant_id, id, fields->>'name' AS name FROM members \
               WHERE version > 1000 AND fields->>'name' <> '') m, \
              generate_series(1, char_length(m.name)) AS i",
    )
    .execute(&mut conn)
    .await?;
    Ok(conn)
}
