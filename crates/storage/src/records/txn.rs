//! A push's transaction ([`SyncTxn`]): reading what a group names, and writing its records,
//! change-log entries, conflicts and results as multi-row statements.

use crate::entities::org_unit;
use crate::{OrgUnitRecord, StoreResult};
use chrono::{DateTime, Utc};
use paicha_domain::collection::Collection;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter, Statement,
    Value as SeaValue,
};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

use super::*;

fn record_values(row: &RecordRow) -> [SeaValue; 15] {
    [
        row.id.into(),
        row.tenant_id.uuid().into(),
        row.org_unit_id.uuid().into(),
        row.owner_path.clone().into(),
        row.addressee_id.map(UnitId::uuid).into(),
        row.addressee_path.clone().into(),
        to_i64(row.version).into(),
        row.deleted.into(),
        object_text(&row.fields),
        object_text(&versions::pack(&row.fields, &row.field_versions)),
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

/// A PostgreSQL `text[]` literal of `items` (`{"a","b"}`), bound as text and cast: one
/// parameter, whatever the number of items.
pub(super) fn text_array(items: &[String]) -> SeaValue {
    let mut literal = String::with_capacity(2 + items.iter().map(|i| i.len() + 3).sum::<usize>());
    literal.push('{');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            literal.push(',');
        }
        literal.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    SeaValue::String(Some(literal))
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
pub(super) fn id_ranges(devices: &[(Uuid, String, Vec<i64>)]) -> Vec<(Uuid, &str, i64, i64)> {
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
pub(super) const RANGE_GAP: i64 = 64;

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

    /// The record of `id`, if any: the tenant's own, or only the fact that another tenant
    /// holds that id (an id names one record across tenants; nothing else of it leaves here).
    pub async fn record(&self, collection: Collection, id: Uuid) -> StoreResult<Option<ById>> {
        let select = Query::select()
            .columns(RECORD_COLUMNS)
            .from(collection.as_str())
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.txn
            .query_one(&select)
            .await?
            .as_ref()
            .map(|row| self.by_id(collection, row))
            .transpose()
    }

    /// A row read by id, as this tenant may see it.
    fn by_id(&self, collection: Collection, row: &QueryResult) -> StoreResult<ById> {
        let tenant: Uuid = row.try_get("", "tenant_id")?;
        if tenant == self.tenant_id.uuid() {
            Ok(ById::Own(decode_record(collection, row)?))
        } else {
            Ok(ById::HeldElsewhere(row.try_get("", "id")?))
        }
    }

    /// An org unit, read inside the transaction: a push never needs a second connection while
    /// it holds the write lock (on SQLite's small pool that could wait for itself).
    /// The tenant's unit of `id` (a unit of another tenant is not found).
    pub async fn org_unit(&self, id: UnitId) -> StoreResult<Option<OrgUnitRecord>> {
        let found = org_unit::Entity::find_by_id(id.uuid())
            .one(&self.txn)
            .await?
            .filter(|m| m.tenant_id == self.tenant_id.uuid());
        found.map(crate::org_units::to_record).transpose()
    }

    /// The tenant's units of these ids (those that exist), in one query per 500.
    pub async fn org_units(&self, ids: &[UnitId]) -> StoreResult<Vec<OrgUnitRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            for model in org_unit::Entity::find()
                .filter(sea_orm::ColumnTrait::is_in(
                    &org_unit::Column::Id,
                    chunk.iter().map(|id| id.uuid()),
                ))
                .all(&self.txn)
                .await?
            {
                if model.tenant_id == self.tenant_id.uuid() {
                    out.push(crate::org_units::to_record(model)?);
                }
            }
        }
        Ok(out)
    }

    /// Records of one collection by id, those that exist (see [`SyncTxn::record`]). The ids
    /// are looked up alone, without the tenant, so that the primary key serves the query
    /// (filtering on the tenant in SQL halved the push's rate: docs/benchmarks.md,
    /// 2026-12-07); rows of other tenants are dropped here, before they are decoded.
    pub async fn records(&self, collection: Collection, ids: &[Uuid]) -> StoreResult<Vec<ById>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let select = Query::select()
                .columns(RECORD_COLUMNS)
                .from(collection.as_str())
                .and_where(Expr::col("id").is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.txn.query_all(&select).await? {
                out.push(self.by_id(collection, &row)?);
            }
        }
        Ok(out)
    }

    /// The tenant's live members holding any of these 公民身份号码 (as stored, normalised):
    /// (member id, number). Served by the expression index `idx_members_id_number`.
    ///
    /// On PostgreSQL each number is looked up on its own, on both columns of the index (a
    /// lateral subquery per number, fenced with `OFFSET 0` so the planner cannot turn it into
    /// one scan of the tenant), and the numbers are one array parameter, so the statement is
    /// the same whatever their count. Asked as one `IN` list (or `= ANY` of an array), the
    /// planner of a table not analysed yet, in custom plans and in the generic plan a pooled
    /// connection keeps alike, took the tenant's every member through the index and filtered
    /// them: each batch of a tenant's first large import took longer than the one before
    /// (docs/benchmarks.md, results of 2026-12-07).
    pub async fn live_members_with_id_numbers(
        &self,
        numbers: &[String],
    ) -> StoreResult<Vec<(Uuid, String)>> {
        let mut out = Vec::new();
        if numbers.is_empty() {
            return Ok(out);
        }
        if self.engine == crate::Engine::Postgres {
            let lookup = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT m.id, m.id_number FROM unnest(CAST($1 AS text[])) AS n(number) \
                 CROSS JOIN LATERAL (SELECT id, (fields->>'id_number') AS id_number \
                 FROM members WHERE tenant_id = $2 AND (fields->>'id_number') = n.number \
                 AND NOT deleted OFFSET 0) AS m",
                [text_array(numbers), self.tenant_id.uuid().into()],
            );
            for row in self.txn.query_all_raw(lookup).await? {
                out.push((row.try_get("", "id")?, row.try_get("", "id_number")?));
            }
            return Ok(out);
        }
        let extract = "json_extract(fields, '$.id_number')";
        for chunk in numbers.chunks(500) {
            let select = Query::select()
                .column("id")
                .expr_as(Expr::cust(extract), "id_number")
                .from(Collection::Members.as_str())
                .and_where(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
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
            .and_where(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
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
        self.insert_rows_then(table, columns, rows, "").await
    }

    /// [`SyncTxn::insert_rows`], each statement ending with `tail` (this crate's own words).
    async fn insert_rows_then<const N: usize>(
        &self,
        table: &'static str,
        columns: [&'static str; N],
        rows: impl IntoIterator<Item = [SeaValue; N]>,
        tail: &'static str,
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
            let mut sql = insert_sql(backend, table, &columns, values.len() / N);
            sql.push_str(tail);
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

    /// Keeps what follows the tenant's members in step with the members this transaction wrote:
    /// the name index (`member_name_grams`: a renamed, deleted or new member's grams under its
    /// old name are deleted and those under its new name inserted, a gram already there left as
    /// it is) and the tenant's count of live members (`sync_tenants.live_members`).
    pub async fn index_members(&self, changes: &[MemberChange]) -> StoreResult<()> {
        let tenant = self.tenant_id.uuid();
        let mut added = Vec::new();
        for change in changes {
            let (removed, new) = change.diff();
            if let Some((name, grams)) = removed {
                // Every column of the key: each gram is found by the index, however many
                // members hold it.
                let statement = Query::delete()
                    .from_table("member_name_grams")
                    .and_where(Expr::col("tenant_id").eq(tenant))
                    .and_where(Expr::col("gram").is_in(grams))
                    .and_where(Expr::col("name").eq(name))
                    .and_where(Expr::col("member_id").eq(change.member_id))
                    .to_owned();
                self.txn.execute(&statement).await?;
            }
            if let Some((name, grams)) = new {
                added.extend(grams.into_iter().map(|gram| {
                    [
                        tenant.into(),
                        gram.into(),
                        name.into(),
                        change.member_id.into(),
                    ]
                }));
            }
        }
        self.insert_rows_then(
            "member_name_grams",
            ["tenant_id", "gram", "name", "member_id"],
            added,
            " ON CONFLICT DO NOTHING",
        )
        .await?;
        let delta: i64 = changes.iter().map(MemberChange::live_delta).sum();
        if delta != 0 {
            let update = Query::update()
                .table("sync_tenants")
                .value("live_members", Expr::col("live_members").add(delta))
                .and_where(Expr::col("tenant_id").eq(tenant))
                .to_owned();
            self.txn.execute(&update).await?;
        }
        Ok(())
    }

    /// Writes a record's mutable columns, its owner and addressee with them (a member moved,
    /// a transfer re-addressed: see [`SyncTxn::record_departures`]).
    pub async fn update_record(&self, row: &RecordRow) -> StoreResult<()> {
        let update = Query::update()
            .table(row.collection.as_str())
            .value("org_unit_id", row.org_unit_id.uuid())
            .value("owner_path", row.owner_path.clone())
            .value("addressee_id", row.addressee_id.map(|u| u.uuid()))
            .value("addressee_path", row.addressee_path.clone())
            .value("version", to_i64(row.version))
            .value("deleted", row.deleted)
            .value("fields", Value::Object(row.fields.clone()))
            .value(
                "field_versions",
                Value::Object(versions::pack(&row.fields, &row.field_versions)),
            )
            .value("updated_at", row.updated_at)
            .value("updated_by", row.updated_by)
            .value("device_id", row.device_id.clone())
            .and_where(Expr::col("id").eq(row.id))
            .to_owned();
        self.txn.execute(&update).await?;
        Ok(())
    }

    /// Records that records left paths: each replaces an earlier departure of the same record
    /// from the same path.
    pub async fn record_departures(&self, departures: &[Departure]) -> StoreResult<()> {
        for d in departures {
            let delete = Query::delete()
                .from_table("sync_departures")
                .and_where(Expr::col("tenant_id").eq(d.tenant_id.uuid()))
                .and_where(Expr::col("record_id").eq(d.record_id))
                .and_where(Expr::col("path").eq(d.path.clone()))
                .to_owned();
            self.txn.execute(&delete).await?;
            let insert = Query::insert()
                .into_table("sync_departures")
                .columns([
                    "tenant_id",
                    "collection",
                    "record_id",
                    "path",
                    "org_unit_id",
                    "version",
                    "to_unit_id",
                    "reason",
                    "label",
                    "left_at",
                ])
                .values_panic([
                    d.tenant_id.uuid().into(),
                    d.collection.as_str().into(),
                    d.record_id.into(),
                    d.path.clone().into(),
                    d.org_unit_id.uuid().into(),
                    to_i64(d.version).into(),
                    d.to_unit_id.map(|u| u.uuid()).into(),
                    d.reason.clone().into(),
                    d.label.clone().into(),
                    d.left_at.into(),
                ])
                .to_owned();
            self.txn.execute(&insert).await?;
        }
        Ok(())
    }

    /// The conflicts of a record that moved follow it to its new place (a conflict is seen
    /// where its record is seen).
    pub async fn move_conflicts(&self, row: &RecordRow) -> StoreResult<()> {
        let conflicts = Query::update()
            .table("sync_conflicts")
            .value("org_unit_id", row.org_unit_id.uuid())
            .value("owner_path", row.owner_path.clone())
            .value("addressee_path", row.addressee_path.clone())
            .and_where(Expr::col("tenant_id").eq(row.tenant_id.uuid()))
            .and_where(Expr::col("record_id").eq(row.id))
            .to_owned();
        self.txn.execute(&conflicts).await?;
        Ok(())
    }

    /// Appends audit entries, many rows per statement.
    pub async fn append_changes(&self, entries: &[ChangeEntry]) -> StoreResult<()> {
        let rows = entries.iter().map(|e| {
            [
                e.tenant_id.uuid().into(),
                to_i64(e.version).into(),
                e.collection.clone().into(),
                e.record_id.into(),
                e.org_unit_id.uuid().into(),
                e.owner_path.clone().into(),
                e.op.clone().into(),
                e.user_id.into(),
                e.device_id.clone().into(),
                e.mutation_id.into(),
                e.server_time.into(),
                e.client_time.clone().into(),
                json_text(&created::pack(&e.changes)),
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
                c.tenant_id.uuid().into(),
                c.collection.clone().into(),
                c.record_id.into(),
                c.org_unit_id.uuid().into(),
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
                    self.tenant_id.uuid().into(),
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
            .and_where(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
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
