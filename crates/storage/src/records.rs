//! Sync records: one table per collection (all with the same columns), the per-tenant version
//! counter, the results of device mutations, the audit change log and the conflict log.
//!
//! The collection tables share their shape, so they are queried with sea-query by table name
//! rather than through one entity each. The logic of a push (validation, merge, hashing) lives
//! in `paicha-sync`; this module only reads and writes, inside the transaction a
//! [`SyncTxn`] holds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use paicha_domain::collection::Collection;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, IsolationLevel,
    QueryFilter, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait, Value as SeaValue,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::entities::org_unit;
use crate::{OrgUnitRecord, Store, StoreError, StoreResult};

/// A record of a sync collection as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub collection: Collection,
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub org_unit_id: Uuid,
    pub owner_path: String,
    pub addressee_id: Option<Uuid>,
    pub addressee_path: Option<String>,
    pub version: u64,
    pub deleted: bool,
    pub fields: Map<String, Value>,
    /// Field name → the version that last wrote it.
    pub field_versions: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub device_id: Option<String>,
}

/// One change as a pull returns it.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub collection: Collection,
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub version: u64,
    pub deleted: bool,
    /// The record's fields as the database stores them: one JSON object's text, checked to be
    /// JSON, never decoded into values (a pull writes it out as it is).
    pub fields: Box<RawValue>,
}

/// A page of changes, read from one consistent snapshot.
#[derive(Debug, Clone)]
pub struct PullPage {
    /// Up to the limit, ordered by version.
    pub changes: Vec<ChangeRow>,
    pub has_more: bool,
    /// The tenant's last committed version in the snapshot: every change up to it is visible.
    pub snapshot_version: u64,
    /// Tombstones up to this version are gone: a cursor below it cannot be brought up to date.
    pub purged_through: u64,
}

/// An entry of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEntry {
    pub tenant_id: Uuid,
    pub version: u64,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: Uuid,
    pub owner_path: String,
    pub op: String,
    pub user_id: Uuid,
    pub device_id: String,
    pub mutation_id: i64,
    pub server_time: DateTime<Utc>,
    pub client_time: Option<String>,
    /// Field → `[old, new]`.
    pub changes: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A value overwritten by a concurrent edit of the same field.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: Uuid,
    pub owner_path: String,
    /// The record's addressee, for records addressed down (a transfer's branch): the conflict
    /// is seen where the record is seen.
    pub addressee_path: Option<String>,
    pub field: String,
    pub overwritten_value: Value,
    pub overwritten_version: u64,
    pub winning_value: Value,
    pub winning_version: u64,
    pub user_id: Uuid,
    pub device_id: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
}

/// A record as the status read model loads it (see [`Store::tenant_changes`]): where it counts
/// and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRow {
    pub collection: Collection,
    pub id: Uuid,
    /// The path of the unit the record counts for: its addressee's, or else its owner's.
    pub path: String,
    pub deleted: bool,
    pub fields: Map<String, Value>,
}

/// The records of a tenant changed after a version, read from one snapshot.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    pub rows: Vec<FactRow>,
    /// Every change up to this version is in `rows` (or in what the caller had before).
    pub snapshot_version: u64,
    /// Tombstones up to this version are gone: a caller behind it must load afresh.
    pub purged_through: u64,
}

/// The one rule of which records a caller may see and act on, for every read and write path
/// (pull, checksums, conflicts, audit, blobs, imports, push). A caller is its tenant and the
/// path of its unit. It **sees** a record of its tenant that is owned by a unit at or below its
/// own, or addressed down to one (a street's transfer is seen by the branch it names and that
/// branch's work area); campaigns, the committee's settings of the campaign, are seen by the
/// whole tenant. It **writes** what it owns at or below its unit, and what is addressed to its
/// own unit exactly (a unit above the addressee sees the record but does not write it unless it
/// owns it). [`Scope::sees`] is the rule in Rust; [`Scope::condition_for`] and
/// [`Scope::condition_any`] are the same rule in SQL, and tests hold the two to each other.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub tenant_id: Uuid,
    pub path: &'a str,
}

/// What [`Store::search_members`] looks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberSearch<'a> {
    /// A part of the name, or the beginning of the 公民身份号码.
    pub text: Option<&'a str>,
    /// Whether the beginning of a number matches (else only the whole number).
    pub id_prefix: bool,
    pub roster_status: Option<&'a str>,
    /// Only these members, when not empty.
    pub ids: &'a [Uuid],
    pub limit: u64,
    pub offset: u64,
}

/// Where a record stands, as the scope rule reads it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub collection: Collection,
    pub tenant_id: Uuid,
    pub owner_path: &'a str,
    pub addressee_path: Option<&'a str>,
}

impl ConflictRow {
    /// Where the conflict's record stands (a conflict is seen where its record is seen).
    pub fn place(&self) -> Option<Place<'_>> {
        Some(Place {
            collection: Collection::parse(&self.collection)?,
            tenant_id: self.tenant_id,
            owner_path: &self.owner_path,
            addressee_path: self.addressee_path.as_deref(),
        })
    }
}

impl RecordRow {
    pub fn place(&self) -> Place<'_> {
        Place {
            collection: self.collection,
            tenant_id: self.tenant_id,
            owner_path: &self.owner_path,
            addressee_path: self.addressee_path.as_deref(),
        }
    }
}

impl Scope<'_> {
    /// Whether the caller sees the record at `place`.
    pub fn sees(&self, place: Place<'_>) -> bool {
        place.tenant_id == self.tenant_id
            && (place.collection == Collection::Campaigns
                || place.owner_path.starts_with(self.path)
                || place
                    .addressee_path
                    .is_some_and(|p| p.starts_with(self.path)))
    }

    /// Whether the caller may change the record at `place` (what a role may change in it is
    /// the collection's business: `domain::collection`).
    pub fn writes(&self, place: Place<'_>) -> bool {
        place.tenant_id == self.tenant_id
            && (place.owner_path.starts_with(self.path) || place.addressee_path == Some(self.path))
    }

    /// [`Scope::sees`] in SQL, for a table of `collection`'s records.
    pub(crate) fn condition_for(&self, collection: Collection) -> Cond {
        if collection == Collection::Campaigns {
            Cond::all().add(Expr::col("tenant_id").eq(self.tenant_id))
        } else {
            self.paths_condition()
        }
    }

    /// [`Scope::sees`] in SQL, for a table with a `collection` column beside the record's
    /// `owner_path` and `addressee_path` (conflicts).
    pub(crate) fn condition_any(&self) -> Cond {
        Cond::all()
            .add(Expr::col("tenant_id").eq(self.tenant_id))
            .add(
                Cond::any()
                    .add(Expr::col("collection").eq(Collection::Campaigns.as_str()))
                    .add(self.paths_condition()),
            )
    }

    fn paths_condition(&self) -> Cond {
        let prefix = format!("{}%", self.path);
        Cond::all()
            .add(Expr::col("tenant_id").eq(self.tenant_id))
            .add(
                Cond::any()
                    .add(Expr::col("owner_path").like(prefix.clone()))
                    .add(Expr::col("addressee_path").like(prefix)),
            )
    }
}

const RECORD_COLUMNS: [&str; 15] = [
    "id",
    "tenant_id",
    "org_unit_id",
    "owner_path",
    "addressee_id",
    "addressee_path",
    "version",
    "deleted",
    "fields",
    "field_versions",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "device_id",
];

/// The statements that read a pull page: the changes of each collection in `scope` after
/// version `after`, in version order, `limit + 1` of them at most (the one past the limit says
/// there are more).
///
/// On PostgreSQL one statement unites the collections: its plan merges their version-ordered
/// index walks ("Merge Append") and stops at the limit. SQLite cannot merge them: it sorted
/// the united rows through a temporary b-tree, copying each record's fields into it, and that
/// was over a third of a large pull's time (docs/benchmarks.md, results of 2026-11-29, commit fe26c95). There each
/// collection is read by a statement of its own, in index order, and the rows are merged
/// after ([`merge_page`]); all are read in one transaction, so from one snapshot.
fn page_statements(
    engine: crate::Engine,
    scope: Scope<'_>,
    collections: &[Collection],
    after: u64,
    limit: u64,
) -> Vec<sea_orm::sea_query::SelectStatement> {
    let of_collection = |collection: Collection| {
        Query::select()
            // A name from `Collection`, never from the request: safe as a literal.
            .expr_as(
                Expr::cust(format!("'{}'", collection.as_str())),
                "collection",
            )
            .columns(["id", "org_unit_id", "version", "deleted"])
            // As text: a pull writes it out as stored (JSONB on PostgreSQL prints its own way).
            .expr_as(Expr::cust("CAST(fields AS TEXT)"), "fields")
            .from(collection.as_str())
            .cond_where(scope.condition_for(collection))
            .and_where(Expr::col("version").gt(to_i64(after)))
            .order_by("version", Order::Asc)
            .limit(limit.saturating_add(1))
            .to_owned()
    };
    if engine == crate::Engine::Sqlite {
        return collections.iter().map(|&c| of_collection(c)).collect();
    }
    let mut united: Option<sea_orm::sea_query::SelectStatement> = None;
    for (i, &collection) in collections.iter().enumerate() {
        let wrapped = Query::select()
            .column(sea_orm::sea_query::Asterisk)
            .from_subquery(of_collection(collection), format!("c{i}"))
            .to_owned();
        match &mut united {
            None => united = Some(wrapped),
            Some(u) => {
                u.union(sea_orm::sea_query::UnionType::All, wrapped);
            }
        }
    }
    united
        .map(|united| {
            Query::select()
                .column(sea_orm::sea_query::Asterisk)
                .from_subquery(united, "changes")
                .order_by("version", Order::Asc)
                .limit(limit.saturating_add(1))
                .to_owned()
        })
        .into_iter()
        .collect()
}

/// The rows of a page's statements in version order, `limit + 1` at most. A tenant's versions
/// are unique across its collections, and each statement's rows come in version order.
fn merge_page(mut changes: Vec<ChangeRow>, statements: usize, limit: u64) -> Vec<ChangeRow> {
    if statements > 1 {
        changes.sort_by_key(|c| c.version);
    }
    changes.truncate(usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX));
    changes
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A record's stored fields, the text of a JSON object: checked, kept as text.
fn raw_object(text: String) -> StoreResult<Box<RawValue>> {
    if !text.trim_start().starts_with('{') {
        return Err(StoreError::Corrupt(format!(
            "fields are not a JSON object: {}",
            text.chars().take(64).collect::<String>()
        )));
    }
    RawValue::from_string(text).map_err(|e| StoreError::Corrupt(format!("fields: {e}")))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The live records of `collection` in `scope`, oldest first, with `columns`.
fn live_select(
    scope: Scope<'_>,
    collection: Collection,
    columns: &[&'static str],
) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns(columns.iter().copied())
        .from(collection.as_str())
        .cond_where(scope.condition_for(collection))
        .and_where(Expr::col("deleted").eq(false))
        .order_by("created_at", Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned()
}

fn decode_record(collection: Collection, row: &QueryResult) -> StoreResult<RecordRow> {
    Ok(RecordRow {
        collection,
        id: row.try_get("", "id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        org_unit_id: row.try_get("", "org_unit_id")?,
        owner_path: row.try_get("", "owner_path")?,
        addressee_id: row.try_get("", "addressee_id")?,
        addressee_path: row.try_get("", "addressee_path")?,
        version: to_u64(row.try_get("", "version")?),
        deleted: row.try_get("", "deleted")?,
        fields: object(row.try_get("", "fields")?),
        field_versions: object(row.try_get("", "field_versions")?),
        created_at: row.try_get("", "created_at")?,
        created_by: row.try_get("", "created_by")?,
        updated_at: row.try_get("", "updated_at")?,
        updated_by: row.try_get("", "updated_by")?,
        device_id: row.try_get("", "device_id")?,
    })
}

pub(crate) fn decode_change(row: &QueryResult) -> StoreResult<ChangeEntry> {
    Ok(ChangeEntry {
        tenant_id: row.try_get("", "tenant_id")?,
        version: to_u64(row.try_get("", "version")?),
        collection: row.try_get("", "collection")?,
        record_id: row.try_get("", "record_id")?,
        org_unit_id: row.try_get("", "org_unit_id")?,
        owner_path: row.try_get("", "owner_path")?,
        op: row.try_get("", "op")?,
        user_id: row.try_get("", "user_id")?,
        device_id: row.try_get("", "device_id")?,
        mutation_id: row.try_get("", "mutation_id")?,
        server_time: row.try_get("", "server_time")?,
        client_time: row.try_get("", "client_time")?,
        changes: row.try_get("", "changes")?,
        prev_hash: row.try_get("", "prev_hash")?,
        hash: row.try_get("", "hash")?,
    })
}

pub(crate) const CHANGE_COLUMNS: [&str; 15] = [
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

const CONFLICT_COLUMNS: [&str; 17] = [
    "id",
    "tenant_id",
    "collection",
    "record_id",
    "org_unit_id",
    "owner_path",
    "addressee_path",
    "field",
    "overwritten_value",
    "overwritten_version",
    "winning_value",
    "winning_version",
    "user_id",
    "device_id",
    "created_at",
    "resolved_at",
    "resolved_by",
];

fn decode_conflict(row: &QueryResult) -> StoreResult<ConflictRow> {
    Ok(ConflictRow {
        id: row.try_get("", "id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        collection: row.try_get("", "collection")?,
        record_id: row.try_get("", "record_id")?,
        org_unit_id: row.try_get("", "org_unit_id")?,
        owner_path: row.try_get("", "owner_path")?,
        addressee_path: row.try_get("", "addressee_path")?,
        field: row.try_get("", "field")?,
        overwritten_value: row
            .try_get::<Option<Value>>("", "overwritten_value")?
            .unwrap_or(Value::Null),
        overwritten_version: to_u64(row.try_get("", "overwritten_version")?),
        winning_value: row
            .try_get::<Option<Value>>("", "winning_value")?
            .unwrap_or(Value::Null),
        winning_version: to_u64(row.try_get("", "winning_version")?),
        user_id: row.try_get("", "user_id")?,
        device_id: row.try_get("", "device_id")?,
        created_at: row.try_get("", "created_at")?,
        resolved_at: row.try_get("", "resolved_at")?,
        resolved_by: row.try_get("", "resolved_by")?,
    })
}

/// The write transaction of one push: the tenant's counter row is locked from `begin_sync` to
/// `commit`, so the versions of one tenant are handed out and committed in the same order.
pub struct SyncTxn {
    txn: DatabaseTransaction,
    engine: crate::Engine,
    pub tenant_id: Uuid,
    /// The tenant's last version when the transaction began.
    pub version: u64,
    /// The hash of the tenant's last audit entry.
    pub last_hash: String,
}

/// The hash before a tenant's first audit entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Store {
    /// Begins a push for `tenant_id`, taking the tenant's write lock.
    pub async fn begin_sync(&self, tenant_id: Uuid) -> StoreResult<SyncTxn> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await?;
        // A no-op write takes the row lock (on SQLite the database write lock) before reading.
        let lock = Query::update()
            .table("sync_tenants")
            .value("version", Expr::col("version"))
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        if txn.execute(&lock).await?.rows_affected() == 0 {
            // The tenant's first write: its row is made here (or by a write racing this one,
            // which this waits for), then locked. Only then: an insert that finds the row
            // waits for the lock of whoever holds it, so one made before every write waited
            // for the other instance's transaction twice (docs/benchmarks.md, results of 2026-11-29, commit 0010edb).
            let insert = Query::insert()
                .into_table("sync_tenants")
                .columns(["tenant_id", "version", "last_hash"])
                .values([tenant_id.into(), 0i64.into(), GENESIS_HASH.into()])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .on_conflict(OnConflict::column("tenant_id").do_nothing().to_owned())
                .to_owned();
            txn.execute(&insert).await?;
            txn.execute(&lock).await?;
        }
        if self.engine == crate::Engine::Postgres {
            // Every read of a push is by key: a table nobody has analysed yet (a tenant's
            // first large import) would otherwise be scanned whole for each batch's records.
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        let select = Query::select()
            .columns(["version", "last_hash"])
            .from("sync_tenants")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        let row = txn.query_one(&select).await?.ok_or(StoreError::NotFound)?;
        Ok(SyncTxn {
            tenant_id,
            version: to_u64(row.try_get("", "version")?),
            last_hash: row.try_get("", "last_hash")?,
            txn,
            engine: self.engine,
        })
    }

    /// A read-only transaction on one snapshot (REPEATABLE READ on PostgreSQL), with the
    /// tenant's last committed version and purge horizon as that snapshot sees them.
    async fn snapshot(&self, tenant_id: Uuid) -> StoreResult<(DatabaseTransaction, u64, u64)> {
        self.snapshot_noting_start(tenant_id, || {}).await
    }

    /// [`Store::snapshot`], calling `on_start` once the transaction has its connection and
    /// before its first read, which is what fixes the snapshot (on both databases).
    async fn snapshot_noting_start(
        &self,
        tenant_id: Uuid,
        on_start: impl FnOnce() + Send,
    ) -> StoreResult<(DatabaseTransaction, u64, u64)> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                // SQLite's read transactions are snapshots already (and it has no such
                // setting: asking for one only logs a warning).
                isolation_level: (self.engine == crate::Engine::Postgres)
                    .then_some(IsolationLevel::RepeatableRead),
                access_mode: (self.engine == crate::Engine::Postgres)
                    .then_some(AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            })
            .await?;
        on_start();
        let counter = Query::select()
            .columns(["version", "purged_through"])
            .from("sync_tenants")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        let (version, purged_through) = match txn.query_one(&counter).await? {
            Some(row) => (
                to_u64(row.try_get("", "version")?),
                to_u64(row.try_get("", "purged_through")?),
            ),
            None => (0, 0),
        };
        Ok((txn, version, purged_through))
    }

    /// One page of the changes in `scope` after version `after`, in version order, read from
    /// one snapshot. Because a tenant's versions commit in order (see [`SyncTxn`]), the
    /// changes visible in a snapshot are exactly those up to some version: a page never skips
    /// one that a later page could still bring.
    pub async fn pull_page(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
    ) -> StoreResult<PullPage> {
        self.pull_page_noting_start(scope, collections, after, limit, || {})
            .await
    }

    /// [`Store::pull_page`], calling `on_start` when the page's snapshot is about to be taken:
    /// after the wait for a connection, before the first read. A commit made before `on_start`
    /// is called is in the page's snapshot.
    pub async fn pull_page_noting_start(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
        on_start: impl FnOnce() + Send,
    ) -> StoreResult<PullPage> {
        let (txn, snapshot_version, purged_through) = self
            .snapshot_noting_start(scope.tenant_id, on_start)
            .await?;
        let mut changes = Vec::new();
        let statements = page_statements(self.engine, scope, collections, after, limit);
        if !statements.is_empty() {
            self.walk_version_index(&txn).await?;
        }
        for select in &statements {
            for row in txn.query_all(select).await? {
                let name: String = row.try_get("", "collection")?;
                changes.push(ChangeRow {
                    collection: Collection::parse(&name)
                        .ok_or_else(|| StoreError::Corrupt(format!("collection {name}")))?,
                    id: row.try_get("", "id")?,
                    org_unit_id: row.try_get("", "org_unit_id")?,
                    version: to_u64(row.try_get("", "version")?),
                    deleted: row.try_get("", "deleted")?,
                    fields: raw_object(row.try_get("", "fields")?)?,
                });
            }
        }
        txn.commit().await?;
        let mut changes = merge_page(changes, statements.len(), limit);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = changes.len() > limit;
        changes.truncate(limit);
        Ok(PullPage {
            changes,
            has_more,
            snapshot_version,
            purged_through,
        })
    }

    /// On PostgreSQL, for the rest of `txn`: no bitmap scans and no sorts (where another plan
    /// exists), so that a pull page is read by walking each collection's `(tenant_id, version)`
    /// index in order and stopping at the limit, whatever the table's statistics say.
    ///
    /// Without this, a table nobody has analysed yet (a roster imported a minute ago:
    /// `reltuples = -1`) is estimated at one row, and the planner reads every row after the
    /// cursor through a bitmap scan and sorts them for each page: a pull of 100,000 members
    /// became quadratic until autovacuum got to the table (docs/benchmarks.md, results of 2026-11-29, commit bdbb682).
    /// The index walk reads at most what the page returns plus the rows of the tenant that
    /// the scope filters out, so a whole pull reads each row about once.
    async fn walk_version_index(&self, txn: &DatabaseTransaction) -> StoreResult<()> {
        if self.engine == crate::Engine::Postgres {
            txn.execute_unprepared(
                "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
            )
            .await?;
        }
        Ok(())
    }

    /// The plan the database chooses for a pull page (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY
    /// PLAN` on SQLite), one line per row, made as [`Store::pull_page`] makes it: for tests
    /// that hold the plan to the index walk.
    #[doc(hidden)]
    pub async fn explain_pull_page(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<String>> {
        let (txn, _, _) = self.snapshot(scope.tenant_id).await?;
        let statements = page_statements(self.engine, scope, collections, after, limit);
        self.walk_version_index(&txn).await?;
        let backend = txn.get_database_backend();
        let mut lines = Vec::new();
        for select in &statements {
            let statement = backend.build(select);
            let explain = sea_orm::Statement {
                sql: match self.engine {
                    crate::Engine::Postgres => format!("EXPLAIN {}", statement.sql),
                    crate::Engine::Sqlite => format!("EXPLAIN QUERY PLAN {}", statement.sql),
                },
                ..statement
            };
            for row in txn.query_all_raw(explain).await? {
                lines.push(match self.engine {
                    crate::Engine::Postgres => row.try_get_by_index::<String>(0)?,
                    crate::Engine::Sqlite => row.try_get::<String>("", "detail")?,
                });
            }
        }
        txn.commit().await?;
        Ok(lines)
    }

    /// `(id, version)` of every live record of each collection in `scope`, read from one
    /// snapshot, with the tenant's version in that snapshot.
    pub async fn checksum_snapshot(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
    ) -> StoreResult<(u64, Vec<(Collection, Vec<(Uuid, u64)>)>)> {
        let (txn, snapshot_version, _) = self.snapshot(scope.tenant_id).await?;
        let mut out = Vec::with_capacity(collections.len());
        for &collection in collections {
            let select = Query::select()
                .columns(["id", "version"])
                .from(collection.as_str())
                .cond_where(scope.condition_for(collection))
                .and_where(Expr::col("deleted").eq(false))
                .to_owned();
            let versions = txn
                .query_all(&select)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("", "id")?, to_u64(row.try_get("", "version")?))))
                .collect::<StoreResult<Vec<_>>>()?;
            out.push((collection, versions));
        }
        txn.commit().await?;
        Ok((snapshot_version, out))
    }

    /// Notes that a device has every change up to `cursor` (the cursor it pulls from).
    pub async fn record_device_cursor(
        &self,
        user_id: Uuid,
        device_id: &str,
        tenant_id: Uuid,
        cursor: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let upsert = Query::insert()
            .into_table("sync_devices")
            .columns([
                "user_id",
                "device_id",
                "tenant_id",
                "last_cursor",
                "last_seen_at",
            ])
            .values([
                user_id.into(),
                device_id.into(),
                tenant_id.into(),
                to_i64(cursor).into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["user_id", "device_id"])
                    .update_columns(["tenant_id", "last_cursor", "last_seen_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// The devices of a tenant: last acknowledged cursor and when they were last seen.
    pub async fn device_cursors(&self, tenant_id: Uuid) -> StoreResult<Vec<(u64, DateTime<Utc>)>> {
        let select = Query::select()
            .columns(["last_cursor", "last_seen_at"])
            .from("sync_devices")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    to_u64(row.try_get("", "last_cursor")?),
                    row.try_get("", "last_seen_at")?,
                ))
            })
            .collect()
    }

    /// The furthest cursor acknowledged by any device of a user of each unit: what each unit
    /// has received.
    pub async fn unit_cursors(&self, tenant_id: Uuid) -> StoreResult<Vec<(Uuid, u64)>> {
        let select = Query::select()
            .column(("users", "org_unit_id"))
            .expr_as(Expr::col(("sync_devices", "last_cursor")).max(), "cursor")
            .from("sync_devices")
            .inner_join(
                "users",
                Expr::col(("users", "id")).equals(("sync_devices", "user_id")),
            )
            .and_where(Expr::col(("sync_devices", "tenant_id")).eq(tenant_id))
            .and_where(Expr::col(("users", "org_unit_id")).is_not_null())
            .group_by_col(("users", "org_unit_id"))
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "org_unit_id")?,
                    to_u64(row.try_get("", "cursor")?),
                ))
            })
            .collect()
    }

    /// The last version a tenant committed before `before`, from the audit trail's times.
    pub async fn version_before(&self, tenant_id: Uuid, before: DateTime<Utc>) -> StoreResult<u64> {
        let select = Query::select()
            .expr(Expr::col("version").max())
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("server_time").lt(before))
            .to_owned();
        let row = self.db.query_one(&select).await?;
        Ok(match row {
            Some(row) => row.try_get_by_index::<Option<i64>>(0)?.map_or(0, to_u64),
            None => 0,
        })
    }

    /// Deletes a tenant's tombstones up to `through` and records that cursors below it can no
    /// longer be served, in one transaction (a pull sees both or neither).
    pub async fn purge_tombstones(&self, tenant_id: Uuid, through: u64) -> StoreResult<u64> {
        let txn = self.db.begin().await?;
        let mut purged = 0;
        for collection in Collection::ALL {
            let delete = Query::delete()
                .from_table(collection.as_str())
                .and_where(Expr::col("tenant_id").eq(tenant_id))
                .and_where(Expr::col("deleted").eq(true))
                .and_where(Expr::col("version").lte(to_i64(through)))
                .to_owned();
            purged += txn.execute(&delete).await?.rows_affected();
        }
        let update = Query::update()
            .table("sync_tenants")
            .value("purged_through", to_i64(through))
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("purged_through").lt(to_i64(through)))
            .to_owned();
        txn.execute(&update).await?;
        txn.commit().await?;
        Ok(purged)
    }

    /// Every record of the tenant in `collections` changed after version `after` (all of them
    /// for 0), tombstones included, read from one snapshot: the status read model's load.
    pub async fn tenant_changes(
        &self,
        tenant_id: Uuid,
        collections: &[Collection],
        after: u64,
    ) -> StoreResult<TenantChanges> {
        let (txn, snapshot_version, purged_through) = self.snapshot(tenant_id).await?;
        let mut rows = Vec::new();
        for &collection in collections {
            let mut select = Query::select()
                .columns(["id", "deleted", "fields"])
                .expr_as(
                    Expr::cust("COALESCE(addressee_path, owner_path)"),
                    "count_path",
                )
                .from(collection.as_str())
                .and_where(Expr::col("tenant_id").eq(tenant_id))
                .and_where(Expr::col("version").gt(to_i64(after)))
                .to_owned();
            if after == 0 {
                // A first load has no use for tombstones.
                select.and_where(Expr::col("deleted").eq(false));
            }
            for row in txn.query_all(&select).await? {
                rows.push(FactRow {
                    collection,
                    id: row.try_get("", "id")?,
                    path: row.try_get("", "count_path")?,
                    deleted: row.try_get("", "deleted")?,
                    fields: object(row.try_get("", "fields")?),
                });
            }
        }
        txn.commit().await?;
        Ok(TenantChanges {
            rows,
            snapshot_version,
            purged_through,
        })
    }

    /// The live records of `collection` in `scope`, whole, oldest first.
    pub async fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> StoreResult<Vec<RecordRow>> {
        load_live_rows(&self.db, scope, collection).await
    }

    /// The live records of `collection` in `scope`, oldest first: (id, owning unit, fields).
    pub async fn live_records(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> StoreResult<Vec<(Uuid, Uuid, Map<String, Value>)>> {
        self.db
            .query_all(&live_select(
                scope,
                collection,
                &["id", "org_unit_id", "fields"],
            ))
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "id")?,
                    row.try_get("", "org_unit_id")?,
                    object(row.try_get("", "fields")?),
                ))
            })
            .collect()
    }

    /// Live members in `scope` whose name contains `text`, or whose 公民身份号码 starts with it
    /// (upper-cased; with `id_prefix` false, only the whole number matches), optionally with
    /// one `roster_status` (`"unverified"` also matches members that have none yet), ordered by
    /// name, only those of `ids` when it is not empty: one page of them after `offset`, and how
    /// many match in all. Each as (id, owning unit, version, fields).
    pub async fn search_members(
        &self,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<(u64, Vec<(Uuid, Uuid, u64, Map<String, Value>)>)> {
        let MemberSearch {
            text,
            id_prefix,
            roster_status,
            ids,
            limit,
            offset,
        } = search;
        let field = |name: &str| match self.engine {
            crate::Engine::Postgres => format!("(fields->>'{name}')"),
            crate::Engine::Sqlite => format!("json_extract(fields, '$.{name}')"),
        };
        let mut cond = scope
            .condition_for(Collection::Members)
            .add(Expr::col("deleted").eq(false));
        if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
            // LIKE's own characters are taken literally.
            let escaped: String = text
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            cond = cond.add(
                Cond::any()
                    .add(Expr::cust(field("name")).like(
                        sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'),
                    ))
                    .add(if id_prefix {
                        Expr::cust(field("id_number")).like(
                            sea_orm::sea_query::LikeExpr::new(format!(
                                "{}%",
                                escaped.to_uppercase()
                            ))
                            .escape('\\'),
                        )
                    } else {
                        Expr::cust(field("id_number")).eq(text.to_uppercase())
                    }),
            );
        }
        if !ids.is_empty() {
            cond = cond.add(Expr::col("id").is_in(ids.iter().copied()));
        }
        if let Some(status) = roster_status {
            let is = Expr::cust(field("roster_status")).eq(status);
            cond = cond.add(if status == "unverified" {
                Cond::any()
                    .add(is)
                    .add(Expr::cust(field("roster_status")).is_null())
            } else {
                Cond::all().add(is)
            });
        }
        let count = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .from(Collection::Members.as_str())
            .cond_where(cond.clone())
            .to_owned();
        let total: i64 = match self.db.query_one(&count).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        let page = Query::select()
            .columns(["id", "org_unit_id", "version", "fields"])
            .from(Collection::Members.as_str())
            .cond_where(cond)
            .order_by_expr(Expr::cust(field("name")), Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .offset(offset)
            .to_owned();
        let rows = self
            .db
            .query_all(&page)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "id")?,
                    row.try_get("", "org_unit_id")?,
                    to_u64(row.try_get("", "version")?),
                    object(row.try_get("", "fields")?),
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((u64::try_from(total).unwrap_or(0), rows))
    }

    /// A record by id, in any tenant: callers apply the scope.
    pub async fn record(&self, collection: Collection, id: Uuid) -> StoreResult<Option<RecordRow>> {
        load_record(&self.db, collection, id).await
    }

    /// The audit entries of one record, oldest first.
    pub async fn record_history(
        &self,
        tenant_id: Uuid,
        collection: Collection,
        id: Uuid,
    ) -> StoreResult<Vec<ChangeEntry>> {
        let select = Query::select()
            .columns(CHANGE_COLUMNS)
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("collection").eq(collection.as_str()))
            .and_where(Expr::col("record_id").eq(id))
            .order_by("version", Order::Asc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_change)
            .collect()
    }

    /// A tenant's audit entries after `after`, in chain order, for verification.
    pub async fn change_log_page(
        &self,
        tenant_id: Uuid,
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChangeEntry>> {
        let select = Query::select()
            .columns(CHANGE_COLUMNS)
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("version").gt(to_i64(after)))
            .order_by("version", Order::Asc)
            .limit(limit)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_change)
            .collect()
    }

    /// Every tenant that has synced, with its last version and last audit hash.
    pub async fn sync_tenants(&self) -> StoreResult<Vec<(Uuid, u64, String)>> {
        let select = Query::select()
            .columns(["tenant_id", "version", "last_hash"])
            .from("sync_tenants")
            .order_by("tenant_id", Order::Asc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "tenant_id")?,
                    to_u64(row.try_get("", "version")?),
                    row.try_get("", "last_hash")?,
                ))
            })
            .collect()
    }

    /// Conflicts in `scope`, optionally of one record, optionally only unresolved ones, newest
    /// first.
    pub async fn conflicts(
        &self,
        scope: Scope<'_>,
        record: Option<(Collection, Uuid)>,
        unresolved_only: bool,
        limit: u64,
    ) -> StoreResult<Vec<ConflictRow>> {
        let mut select = Query::select()
            .columns(CONFLICT_COLUMNS)
            .from("sync_conflicts")
            .cond_where(scope.condition_any())
            .order_by("created_at", Order::Desc)
            .limit(limit)
            .to_owned();
        if let Some((collection, id)) = record {
            select
                .and_where(Expr::col("collection").eq(collection.as_str()))
                .and_where(Expr::col("record_id").eq(id));
        }
        if unresolved_only {
            select.and_where(Expr::col("resolved_at").is_null());
        }
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_conflict)
            .collect()
    }

    pub async fn conflict(&self, id: Uuid) -> StoreResult<Option<ConflictRow>> {
        let select = Query::select()
            .columns(CONFLICT_COLUMNS)
            .from("sync_conflicts")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.db
            .query_one(&select)
            .await?
            .as_ref()
            .map(decode_conflict)
            .transpose()
    }

    pub async fn resolve_conflict(
        &self,
        id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let update = Query::update()
            .table("sync_conflicts")
            .value("resolved_at", now)
            .value("resolved_by", by)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("resolved_at").is_null())
            .to_owned();
        self.db.execute(&update).await?;
        Ok(())
    }
}

/// The live records of `collection` in `scope`, whole, oldest first, read on `db` (the pool
/// or a transaction).
async fn load_live_rows(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    collection: Collection,
) -> StoreResult<Vec<RecordRow>> {
    db.query_all(&live_select(scope, collection, &RECORD_COLUMNS))
        .await?
        .iter()
        .map(|row| decode_record(collection, row))
        .collect()
}

async fn load_record(
    db: &impl ConnectionTrait,
    collection: Collection,
    id: Uuid,
) -> StoreResult<Option<RecordRow>> {
    let select = Query::select()
        .columns(RECORD_COLUMNS)
        .from(collection.as_str())
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(|row| decode_record(collection, row))
        .transpose()
}

fn record_values(row: &RecordRow) -> [SeaValue; 15] {
    [
        row.id.into(),
        row.tenant_id.into(),
        row.org_unit_id.into(),
        row.owner_path.clone().into(),
        row.addressee_id.into(),
        row.addressee_path.clone().into(),
        to_i64(row.version).into(),
        row.deleted.into(),
        object_text(&row.fields),
        object_text(&row.field_versions),
        row.created_at.into(),
        row.created_by.into(),
        row.updated_at.into(),
        row.updated_by.into(),
        row.device_id.clone().into(),
    ]
}

/// The JSON columns of the tables written in bulk. Their values are bound as JSON text
/// ([`json_text`]); PostgreSQL casts it to `jsonb`, SQLite stores the text as it stores JSON.
const JSON_COLUMNS: [&str; 6] = [
    "fields",
    "field_versions",
    "changes",
    "result",
    "overwritten_value",
    "winning_value",
];

/// A JSON value for a bulk insert, as its text. Binding `serde_json` values made sea-orm copy
/// every one deeply before binding it (docs/benchmarks.md, results of 2026-11-29, commit ffafcdb); text is copied flat.
fn json_text(value: &Value) -> SeaValue {
    SeaValue::String(serde_json::to_string(value).ok())
}

/// A JSON object for a bulk insert, as its text ([`json_text`]).
fn object_text(value: &Map<String, Value>) -> SeaValue {
    SeaValue::String(serde_json::to_string(value).ok())
}

/// `INSERT INTO "table" ("a", "b") VALUES (…), (…)` for `rows` rows, with the backend's
/// placeholders (`?` on SQLite, `$1`… on PostgreSQL, cast to `jsonb` for [`JSON_COLUMNS`]).
/// Tables and columns are this crate's own names, never input.
fn insert_sql(backend: DatabaseBackend, table: &str, columns: &[&str], rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(64 + columns.len() * (16 + rows * 6));
    let _ = write!(sql, "INSERT INTO \"{table}\" (");
    for (i, column) in columns.iter().enumerate() {
        let _ = write!(sql, "{}\"{column}\"", if i > 0 { ", " } else { "" });
    }
    sql.push_str(") VALUES ");
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row > 0 { ", (" } else { "(" });
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DatabaseBackend::Postgres if JSON_COLUMNS.contains(column) => {
                    let _ = write!(sql, "CAST(${n} AS jsonb)");
                }
                DatabaseBackend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// The mutation ids asked of each device as ranges, `(user, device, first, last)`: sorted,
/// with ids at most [`RANGE_GAP`] apart joined. A device numbers its mutations upwards, so a
/// batch is usually one range. PostgreSQL 15 reads `mutation_id BETWEEN a AND b` as a range of
/// the primary key, but `mutation_id IN (…500 ids…)` as a filter on every result the device
/// ever had, which made each batch's lookup grow with the device's history
/// (docs/benchmarks.md, results of 2026-11-29, commit 55c4182).
fn id_ranges(devices: &[(Uuid, String, Vec<i64>)]) -> Vec<(Uuid, &str, i64, i64)> {
    let mut ranges = Vec::new();
    for (user, device, ids) in devices {
        let mut ids = ids.clone();
        ids.sort_unstable();
        let mut current: Option<(i64, i64)> = None;
        for id in ids {
            current = match current {
                Some((first, last)) if id <= last.saturating_add(RANGE_GAP) => Some((first, id)),
                Some((first, last)) => {
                    ranges.push((*user, device.as_str(), first, last));
                    Some((id, id))
                }
                None => Some((id, id)),
            };
        }
        if let Some((first, last)) = current {
            ranges.push((*user, device.as_str(), first, last));
        }
    }
    ranges
}

/// Most parameters a bulk insert binds: under SQLite's limit (32,766 since 3.32) and
/// PostgreSQL's (65,535).
const MAX_PARAMETERS: usize = 7_500;

/// Ids at most this far apart are read as one range by [`id_ranges`] (the results between
/// them, at most this many, are read and dropped).
const RANGE_GAP: i64 = 64;

impl SyncTxn {
    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The stored results of mutations these devices already pushed (user, device, mutation
    /// ids), each with the fingerprint of the mutation it answered (none for results stored
    /// before fingerprints), keyed by (user, device, mutation id): one query per 500 ids.
    pub async fn mutation_results_of(
        &self,
        devices: &[(Uuid, String, Vec<i64>)],
    ) -> StoreResult<HashMap<(Uuid, String, i64), (Value, Option<String>)>> {
        let ranges = id_ranges(devices);
        let mut out: HashMap<(Uuid, String, i64), (Value, Option<String>)> = HashMap::new();
        for chunk in ranges.chunks(100) {
            let mut any = Cond::any();
            for (user_id, device_id, first, last) in chunk {
                any = any.add(
                    Cond::all()
                        .add(Expr::col("user_id").eq(*user_id))
                        .add(Expr::col("device_id").eq(*device_id))
                        .add(Expr::col("mutation_id").between(*first, *last)),
                );
            }
            let select = Query::select()
                .columns([
                    "user_id",
                    "device_id",
                    "mutation_id",
                    "result",
                    "fingerprint",
                ])
                .from("sync_mutations")
                .cond_where(any)
                .to_owned();
            for row in self.txn.query_all(&select).await? {
                out.insert(
                    (
                        row.try_get("", "user_id")?,
                        row.try_get("", "device_id")?,
                        row.try_get("", "mutation_id")?,
                    ),
                    (row.try_get("", "result")?, row.try_get("", "fingerprint")?),
                );
            }
        }
        // The ranges may hold results of ids not asked for: keep the asked ones.
        let asked: std::collections::HashSet<(Uuid, &str, i64)> = devices
            .iter()
            .flat_map(|(user, device, ids)| ids.iter().map(move |id| (*user, device.as_str(), *id)))
            .collect();
        out.retain(|(user, device, id), _| asked.contains(&(*user, device.as_str(), *id)));
        Ok(out)
    }

    pub async fn record(&self, collection: Collection, id: Uuid) -> StoreResult<Option<RecordRow>> {
        load_record(&self.txn, collection, id).await
    }

    /// An org unit, read inside the transaction: a push never needs a second connection while
    /// it holds the write lock (on SQLite's small pool that could wait for itself).
    pub async fn org_unit(&self, id: Uuid) -> StoreResult<Option<OrgUnitRecord>> {
        org_unit::Entity::find_by_id(id)
            .one(&self.txn)
            .await?
            .map(crate::org_units::to_record)
            .transpose()
    }

    /// The units of these ids that exist (in any tenant), in one query per 500.
    pub async fn org_units(&self, ids: &[Uuid]) -> StoreResult<Vec<OrgUnitRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            for model in org_unit::Entity::find()
                .filter(sea_orm::ColumnTrait::is_in(
                    &org_unit::Column::Id,
                    chunk.iter().copied(),
                ))
                .all(&self.txn)
                .await?
            {
                out.push(crate::org_units::to_record(model)?);
            }
        }
        Ok(out)
    }

    /// Records of one collection by id (those that exist, in any tenant).
    pub async fn records(
        &self,
        collection: Collection,
        ids: &[Uuid],
    ) -> StoreResult<Vec<RecordRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let select = Query::select()
                .columns(RECORD_COLUMNS)
                .from(collection.as_str())
                .and_where(Expr::col("id").is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.txn.query_all(&select).await? {
                out.push(decode_record(collection, &row)?);
            }
        }
        Ok(out)
    }

    /// The tenant's live members holding any of these 公民身份号码 (as stored, normalised):
    /// (member id, number). Served by the expression index `idx_members_id_number`.
    pub async fn live_members_with_id_numbers(
        &self,
        numbers: &[String],
    ) -> StoreResult<Vec<(Uuid, String)>> {
        let extract = match self.engine {
            crate::Engine::Postgres => "(fields->>'id_number')",
            crate::Engine::Sqlite => "json_extract(fields, '$.id_number')",
        };
        let mut out = Vec::new();
        for chunk in numbers.chunks(500) {
            let select = Query::select()
                .column("id")
                .expr_as(Expr::cust(extract), "id_number")
                .from(Collection::Members.as_str())
                .and_where(Expr::col("tenant_id").eq(self.tenant_id))
                .and_where(Expr::cust(extract).is_in(chunk.iter().cloned()))
                .and_where(Expr::col("deleted").eq(false))
                .to_owned();
            for row in self.txn.query_all(&select).await? {
                out.push((row.try_get("", "id")?, row.try_get("", "id_number")?));
            }
        }
        Ok(out)
    }

    /// The live records of `collection` in `scope` (owned or addressed at or below its path),
    /// read inside the transaction: the ledger entries a submission takes, the members the
    /// baseline snapshots, the tenant's campaigns.
    pub async fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> StoreResult<Vec<RecordRow>> {
        load_live_rows(&self.txn, scope, collection).await
    }

    /// The tenant's live records of `collection` whose reference field `field` (a record id)
    /// is `id`: a member's information forms.
    pub async fn live_rows_referring(
        &self,
        collection: Collection,
        field: &'static str,
        id: Uuid,
    ) -> StoreResult<Vec<RecordRow>> {
        let extract = match self.engine {
            crate::Engine::Postgres => format!("(fields->>'{field}')"),
            crate::Engine::Sqlite => format!("json_extract(fields, '$.{field}')"),
        };
        let select = Query::select()
            .columns(RECORD_COLUMNS)
            .from(collection.as_str())
            .and_where(Expr::col("tenant_id").eq(self.tenant_id))
            .and_where(Expr::cust(extract).eq(id.to_string()))
            .and_where(Expr::col("deleted").eq(false))
            .to_owned();
        self.txn
            .query_all(&select)
            .await?
            .iter()
            .map(|row| decode_record(collection, row))
            .collect()
    }

    /// Inserts rows into `table` with multi-row `VALUES`, as many rows to a statement as
    /// [`MAX_PARAMETERS`] allows (a batch of 500 records or audit entries: one statement).
    ///
    /// The statement's text is written here, not by sea-query's builder, whose generic
    /// expression tree for each of those values was a fifth of the push's time under the
    /// tenant's lock. (On PostgreSQL, one array parameter a column with `UNNEST`, and one JSON
    /// parameter with `json_populate_recordset`, were both measured slower than this:
    /// docs/benchmarks.md, results of 2026-11-29, commit 7f9a4e5.)
    async fn insert_rows<const N: usize>(
        &self,
        table: &'static str,
        columns: [&'static str; N],
        rows: impl IntoIterator<Item = [SeaValue; N]>,
    ) -> StoreResult<()> {
        let backend = self.txn.get_database_backend();
        // Collected before the first await: the caller's iterator (a closure over borrowed
        // rows) is then not part of this future, which must stay `Send` for any lifetime.
        let rows: Vec<[SeaValue; N]> = rows.into_iter().collect();
        if rows.is_empty() {
            return Ok(());
        }
        let per_statement = MAX_PARAMETERS / N;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut values = Vec::with_capacity(per_statement * N);
            for row in rows.by_ref().take(per_statement) {
                values.extend(row);
            }
            let sql = insert_sql(backend, table, &columns, values.len() / N);
            self.txn
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
        Ok(())
    }

    /// Inserts new records, many rows per statement.
    pub async fn insert_records(&self, rows: &[&RecordRow]) -> StoreResult<()> {
        for collection in Collection::ALL {
            let of_collection = rows
                .iter()
                .filter(|r| r.collection == collection)
                .map(|r| record_values(r));
            self.insert_rows(collection.as_str(), RECORD_COLUMNS, of_collection)
                .await?;
        }
        Ok(())
    }

    /// Writes a record's mutable columns (its owner never changes).
    pub async fn update_record(&self, row: &RecordRow) -> StoreResult<()> {
        let update = Query::update()
            .table(row.collection.as_str())
            .value("version", to_i64(row.version))
            .value("deleted", row.deleted)
            .value("fields", Value::Object(row.fields.clone()))
            .value("field_versions", Value::Object(row.field_versions.clone()))
            .value("updated_at", row.updated_at)
            .value("updated_by", row.updated_by)
            .value("device_id", row.device_id.clone())
            .and_where(Expr::col("id").eq(row.id))
            .to_owned();
        self.txn.execute(&update).await?;
        Ok(())
    }

    /// Appends audit entries, many rows per statement.
    pub async fn append_changes(&self, entries: &[ChangeEntry]) -> StoreResult<()> {
        let rows = entries.iter().map(|e| {
            [
                e.tenant_id.into(),
                to_i64(e.version).into(),
                e.collection.clone().into(),
                e.record_id.into(),
                e.org_unit_id.into(),
                e.owner_path.clone().into(),
                e.op.clone().into(),
                e.user_id.into(),
                e.device_id.clone().into(),
                e.mutation_id.into(),
                e.server_time.into(),
                e.client_time.clone().into(),
                json_text(&e.changes),
                e.prev_hash.clone().into(),
                e.hash.clone().into(),
            ]
        });
        self.insert_rows("change_log", CHANGE_COLUMNS, rows).await
    }

    pub async fn insert_conflicts(&self, conflicts: &[ConflictRow]) -> StoreResult<()> {
        let rows = conflicts.iter().map(|c| {
            [
                c.id.into(),
                c.tenant_id.into(),
                c.collection.clone().into(),
                c.record_id.into(),
                c.org_unit_id.into(),
                c.owner_path.clone().into(),
                c.addressee_path.clone().into(),
                c.field.clone().into(),
                json_text(&c.overwritten_value),
                to_i64(c.overwritten_version).into(),
                json_text(&c.winning_value),
                to_i64(c.winning_version).into(),
                c.user_id.into(),
                c.device_id.clone().into(),
                c.created_at.into(),
                c.resolved_at.into(),
                c.resolved_by.into(),
            ]
        });
        self.insert_rows("sync_conflicts", CONFLICT_COLUMNS, rows)
            .await
    }

    /// Keeps mutation results with the fingerprints of their mutations, so a retry gets them
    /// again and a reused id with other content is recognised: per device (user, device id),
    /// its results by mutation id. All devices' in one statement (a group of single-mutation
    /// pushes made one statement per device before).
    pub async fn save_results(
        &self,
        devices: &[(Uuid, String, Vec<(i64, Value, String)>)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Built here, not as a lazy iterator: one over nested closures would make this future's
        // `Send` depend on a lifetime.
        let mut rows: Vec<[SeaValue; 7]> = Vec::new();
        for (user_id, device_id, results) in devices {
            for (mutation_id, result, fingerprint) in results {
                rows.push([
                    (*user_id).into(),
                    device_id.as_str().into(),
                    (*mutation_id).into(),
                    self.tenant_id.into(),
                    json_text(result),
                    now.into(),
                    fingerprint.clone().into(),
                ]);
            }
        }
        let columns = [
            "user_id",
            "device_id",
            "mutation_id",
            "tenant_id",
            "result",
            "created_at",
            "fingerprint",
        ];
        self.insert_rows("sync_mutations", columns, rows).await
    }

    /// Stores the tenant's new last version and audit hash, and commits everything.
    pub async fn commit(self, version: u64, last_hash: &str) -> StoreResult<()> {
        let update = Query::update()
            .table("sync_tenants")
            .value("version", to_i64(version))
            .value("last_hash", last_hash)
            .and_where(Expr::col("tenant_id").eq(self.tenant_id))
            .to_owned();
        self.txn.execute(&update).await?;
        if self.engine == crate::Engine::Postgres {
            // Delivered to every listening instance when, and only if, this commits.
            let notify = sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [
                    crate::CHANGES_CHANNEL.into(),
                    format!("{}:{version}", self.tenant_id).into(),
                ],
            );
            self.txn.execute_raw(notify).await?;
        }
        self.txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The rows of the collections' statements come out in version order, cut after the one
    /// past the limit.
    #[test]
    fn a_page_merges_its_collections_by_version() {
        let row = |collection, version| ChangeRow {
            collection,
            id: Uuid::from_u128(u128::from(version)),
            org_unit_id: Uuid::nil(),
            version,
            deleted: false,
            fields: RawValue::from_string("{}".to_owned()).unwrap(),
        };
        // As read: members, then information forms, then transfers, each in version order.
        let read = vec![
            row(Collection::Members, 2),
            row(Collection::Members, 5),
            row(Collection::Members, 9),
            row(Collection::InfoForms, 1),
            row(Collection::InfoForms, 6),
            row(Collection::Transfers, 3),
        ];
        let versions = |rows: Vec<ChangeRow>| rows.iter().map(|r| r.version).collect::<Vec<_>>();
        assert_eq!(
            versions(merge_page(read.clone(), 3, 10)),
            [1, 2, 3, 5, 6, 9]
        );
        assert_eq!(versions(merge_page(read, 3, 3)), [1, 2, 3, 5]);
    }

    #[test]
    fn asked_ids_become_ranges_of_each_device() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let devices = vec![
            (a, "phone".to_owned(), vec![7, 3, 5, 4, 3, 200, 1000]),
            (b, "pad".to_owned(), vec![]),
            (b, "office".to_owned(), vec![i64::MAX, 1]),
        ];
        assert_eq!(
            id_ranges(&devices),
            vec![
                (a, "phone", 3, 7),
                (a, "phone", 200, 200),
                (a, "phone", 1000, 1000),
                (b, "office", 1, 1),
                (b, "office", i64::MAX, i64::MAX),
            ]
        );
        // Ids up to RANGE_GAP apart share a range.
        let near = vec![(
            a,
            "phone".to_owned(),
            vec![1, 1 + RANGE_GAP, 2 + 2 * RANGE_GAP],
        )];
        assert_eq!(
            id_ranges(&near),
            vec![
                (a, "phone", 1, 1 + RANGE_GAP),
                (a, "phone", 2 + 2 * RANGE_GAP, 2 + 2 * RANGE_GAP)
            ]
        );
    }
}
