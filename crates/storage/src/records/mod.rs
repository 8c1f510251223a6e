//! Sync records: one table per collection (all with the same columns), the per-tenant version
//! counter, the results of device mutations, the audit change log and the conflict log.
//!
//! The collection tables share their shape, so they are queried with sea-query by table name
//! rather than through one entity each. The logic of a push (validation, merge, hashing) lives
//! in `paicha-sync`; this module only reads and writes, inside the transaction a
//! [`SyncTxn`] holds.

use chrono::{DateTime, Utc};
use paicha_domain::collection::Collection;
use paicha_domain::ids::{TenantId, UnitId};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{StoreError, StoreResult};

/// A record of a sync collection as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub collection: Collection,
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub org_unit_id: UnitId,
    pub owner_path: String,
    pub addressee_id: Option<UnitId>,
    pub addressee_path: Option<String>,
    pub version: u64,
    pub deleted: bool,
    pub fields: Map<String, Value>,
    /// Field name → the version that last wrote it (in full here; stored packed, see
    /// [`pack_field_versions`]).
    pub field_versions: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub device_id: Option<String>,
}

/// A record a tenant's transaction found by its id.
// Nearly every read finds `Own`: boxing it would cost an allocation per record read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ById {
    /// The tenant's own record.
    Own(RecordRow),
    /// Another tenant holds this id: all the transaction learns of it.
    HeldElsewhere(Uuid),
}

/// One change as a pull returns it.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub collection: Collection,
    pub id: Uuid,
    pub org_unit_id: UnitId,
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
    pub tenant_id: TenantId,
    pub version: u64,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: UnitId,
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
    pub tenant_id: TenantId,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: UnitId,
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

/// Rows the status read model's load reads at a time ([`Store::tenant_changes`]).
pub const FACT_PAGE: u64 = 5_000;

/// What a read of a tenant's changed records ([`Store::tenant_changes`]) read them from.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantChanges {
    /// Every change up to this version was handed over (or is in what the caller had before).
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
    tenant_id: TenantId,
    path: &'a str,
}

impl<'a> Scope<'a> {
    /// The scope of a caller of `tenant_id` bound to the unit at `path` (the one constructor;
    /// `OrgUnitRecord::scope` calls it for a unit in hand).
    pub fn new(tenant_id: TenantId, path: &'a str) -> Self {
        Self { tenant_id, path }
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// The path of the caller's unit.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Whether the unit at `path` is the caller's or lies below it.
    pub fn covers(&self, path: &str) -> bool {
        paicha_domain::org::is_within(path, self.path)
    }
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
    pub tenant_id: TenantId,
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
                || self.covers(place.owner_path)
                || place.addressee_path.is_some_and(|p| self.covers(p)))
    }

    /// Whether the caller may change the record at `place` (what a role may change in it is
    /// the collection's business: `domain::collection`).
    pub fn writes(&self, place: Place<'_>) -> bool {
        place.tenant_id == self.tenant_id
            && (self.covers(place.owner_path) || place.addressee_path == Some(self.path))
    }

    /// [`Scope::holds_condition`] for one record: whether a unit of the scope holds it (for
    /// members), or the scope sees it (the other collections).
    pub fn holds(&self, place: Place<'_>) -> bool {
        if place.collection == Collection::Members {
            place.tenant_id == self.tenant_id && self.covers(place.owner_path)
        } else {
            self.sees(place)
        }
    }

    /// [`Scope::sees`] in SQL, for a table of `collection`'s records.
    ///
    /// The committee sees its whole tenant. Below it, a record is seen through the units of the
    /// scope ([`Scope::units_select`]): its owner, or its addressee, is one of them. The
    /// records' indexes on `org_unit_id` and `addressee_id` then read the scope's records only,
    /// where their paths (a `LIKE` no index serves) read every record of the tenant: a work
    /// area's registers read a tenant of a million members three times over
    /// (docs/benchmarks.md, issue #23 item 4). A record's `owner_path` and `addressee_path` are
    /// its units' paths, so the two say the same.
    pub(crate) fn condition_for(&self, collection: Collection) -> Cond {
        if collection == Collection::Campaigns || self.is_tenant_root() {
            Cond::all().add(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
        } else {
            Cond::any()
                .add(Expr::col("org_unit_id").in_subquery(self.units_select()))
                .add(Expr::col("addressee_id").in_subquery(self.units_select()))
        }
    }

    /// The records of `collection` the caller's units hold, in SQL: those it sees, but for
    /// members only those a unit of the scope holds. A member belongs to the branch holding him:
    /// the branch he is proposed to move to sees him in its sync, to answer, but lists,
    /// registers, imports and counts are of the members a unit holds (paicha_domain::moves).
    pub(crate) fn holds_condition(&self, collection: Collection) -> Cond {
        if collection == Collection::Members && self.is_tenant_root() {
            Cond::all().add(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
        } else if collection == Collection::Members {
            Cond::all().add(Expr::col("org_unit_id").in_subquery(self.units_select()))
        } else {
            self.condition_for(collection)
        }
    }

    /// [`Scope::sees`] in SQL, for a table with a `collection` column beside the record's
    /// `owner_path` and `addressee_path` (conflicts).
    pub(crate) fn condition_any(&self) -> Cond {
        Cond::all()
            .add(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
            .add(
                Cond::any()
                    .add(Expr::col("collection").eq(Collection::Campaigns.as_str()))
                    .add(self.paths_condition()),
            )
    }

    fn paths_condition(&self) -> Cond {
        Cond::all()
            .add(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
            .add(
                Cond::any()
                    .add(self.covers_column("owner_path"))
                    .add(self.covers_column("addressee_path")),
            )
    }

    /// [`Scope::covers`] in SQL, for a column holding a unit's path (the caller's tenant is
    /// the query's to say).
    pub(crate) fn covers_column(&self, column: &'static str) -> Expr {
        Expr::col(column).like(self.path_pattern())
    }

    /// Whether the scope is its tenant's root unit (the committee: `/root/`), which covers every
    /// unit of the tenant.
    pub(crate) fn is_tenant_root(&self) -> bool {
        self.path.matches('/').count() == 2
    }

    /// The ids of the units the scope covers (its unit and those below it), in SQL.
    pub(crate) fn units_select(&self) -> sea_orm::sea_query::SelectStatement {
        Query::select()
            .column("id")
            .from("org_units")
            .and_where(Expr::col("tenant_id").eq(self.tenant_id.uuid()))
            .and_where(self.covers_column("path"))
            .to_owned()
    }

    /// The `LIKE` pattern of the paths the scope covers.
    fn path_pattern(&self) -> String {
        // Paths hold UUIDs and slashes only, but a `%` or `_` must never widen the match.
        format!("{}%", self.path.replace(['%', '_'], ""))
    }

    /// The departures ([`Departure`]) of `collection` the scope sees, as tombstones in a pull
    /// page's shape.
    fn departures_of(
        &self,
        collection: Collection,
        after: u64,
        limit: u64,
    ) -> sea_orm::sea_query::SelectStatement {
        self.departures_seen(collection)
            .expr_as(Expr::col(("d", "collection")), "collection")
            .expr_as(Expr::col(("d", "record_id")), "id")
            .expr_as(Expr::col(("d", "org_unit_id")), "org_unit_id")
            .expr_as(Expr::col(("d", "version")), "version")
            .expr_as(Expr::cust("TRUE"), "deleted")
            .expr_as(Expr::cust("'{}'"), "fields")
            .and_where(Expr::col(("d", "version")).gt(to_i64(after)))
            .order_by(("d", "version"), Order::Asc)
            .limit(limit.saturating_add(1))
            .to_owned()
    }

    /// The departures of `collection` the scope sees (no columns chosen yet, the table as
    /// `d`): those that left a path it covers, of records it does not see now (a move within
    /// the scope is no departure from it).
    pub(crate) fn departures_seen(
        &self,
        collection: Collection,
    ) -> sea_orm::sea_query::SelectStatement {
        let table = collection.as_str();
        let pattern = self.path_pattern();
        let seen_now = Query::select()
            .expr(Expr::val(1))
            .from(table)
            .and_where(Expr::col((table, "id")).equals(("d", "record_id")))
            .cond_where(
                Cond::any()
                    .add(Expr::col((table, "owner_path")).like(pattern.clone()))
                    .add(Expr::col((table, "addressee_path")).like(pattern.clone())),
            )
            .to_owned();
        Query::select()
            .from_as("sync_departures", "d")
            .and_where(Expr::col(("d", "tenant_id")).eq(self.tenant_id.uuid()))
            .and_where(Expr::col(("d", "collection")).eq(table))
            .and_where(Expr::col(("d", "path")).like(pattern))
            .and_where(Expr::exists(seen_now).not())
            .to_owned()
    }
}

/// A record that left a path: its owner's (moved to another unit) or its addressee's
/// (re-addressed, or its addressee taken back). Devices of the units that saw it there, and do
/// not see it now, pull a tombstone at `version` (protocol §2.4); the unit is told where it went
/// and why (`GET /v1/departures`).
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    pub tenant_id: TenantId,
    pub collection: Collection,
    pub record_id: Uuid,
    pub path: String,
    /// The record's owner before it moved.
    pub org_unit_id: UnitId,
    pub version: u64,
    /// The unit it went to (the new owner or addressee; none when it only left its addressee).
    pub to_unit_id: Option<UnitId>,
    /// Why: a word of `paicha_domain::moves::Reason`.
    pub reason: String,
    /// What the unit it left knew it by (a member's name), if anything.
    pub label: Option<String>,
    pub left_at: DateTime<Utc>,
}

impl Departure {
    /// The departures of a record rewritten from `before` to `after`: from the old owner's
    /// path if the owner changed, from the old addressee's if the addressee changed.
    pub fn between(
        before: &RecordRow,
        after: &RecordRow,
        reason: &str,
        label: Option<&str>,
    ) -> Vec<Departure> {
        let leave = |path: &str, to: Option<UnitId>| Departure {
            tenant_id: after.tenant_id,
            collection: after.collection,
            record_id: after.id,
            path: path.to_owned(),
            org_unit_id: before.org_unit_id,
            version: after.version,
            to_unit_id: to,
            reason: reason.to_owned(),
            label: label.map(|l| l.chars().take(100).collect()),
            left_at: after.updated_at,
        };
        let mut left = Vec::new();
        if before.owner_path != after.owner_path {
            left.push(leave(&before.owner_path, Some(after.org_unit_id)));
        }
        if let Some(old) = before.addressee_path.as_deref()
            && before.addressee_path != after.addressee_path
        {
            left.push(leave(old, after.addressee_id));
        }
        left
    }
}

/// The columns of every collection's table, in the order the store writes them.
pub const RECORD_COLUMNS: [&str; 15] = [
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

/// The largest number of units one statement of a pull page names (a scope of more units is
/// read by several statements, their rows merged).
const UNITS_A_STATEMENT: usize = 500;

/// How a pull page finds its scope's records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reach<'a> {
    /// By walking each collection's `(tenant_id, version)` index: the committee's scope, which
    /// is the whole tenant, so nothing is read that the page does not return.
    Tenant,
    /// By the units of the scope (its unit and those below it: [`Scope::units_select`]), each
    /// collection's `(org_unit_id, version)` index for what they own and `(addressee_id,
    /// version)` for what is addressed to them: a branch's pull reads its own records, not the
    /// tenant's (docs/benchmarks.md, issue #23 item 4).
    Units(&'a [Uuid]),
}

impl Reach<'_> {
    /// [`Scope::condition_for`] as disjoint conditions the reach's indexes serve: a record of
    /// `collection` the scope sees meets exactly one of them.
    pub(crate) fn conditions(self, scope: Scope<'_>, collection: Collection) -> Vec<Cond> {
        match self {
            Reach::Units(units) if collection != Collection::Campaigns => units
                .chunks(UNITS_A_STATEMENT)
                .flat_map(|chunk| {
                    let ids = || chunk.iter().copied();
                    [
                        Cond::all().add(Expr::col("org_unit_id").is_in(ids())),
                        // Addressed to a unit of the scope and owned outside it (what a unit
                        // of the scope owns, the condition above holds).
                        Cond::all()
                            .add(Expr::col("addressee_id").is_in(ids()))
                            .add(scope.covers_column("owner_path").not()),
                    ]
                })
                .collect(),
            _ => vec![scope.condition_for(collection)],
        }
    }
}

/// The statements that read a pull page: the changes of each collection in `scope` after
/// version `after`, in version order, `limit + 1` of them at most (the one past the limit says
/// there are more). The statements' rows are disjoint (a record is read by one of them).
///
/// On PostgreSQL one statement unites the collections: its plan merges their version-ordered
/// index walks ("Merge Append") and stops at the limit. SQLite cannot merge them: it sorted
/// the united rows through a temporary b-tree, copying each record's fields into it, and that
/// was over a third of a large pull's time (docs/benchmarks.md, results of 2026-11-29, commit fe26c95). There each
/// collection is read by a statement of its own, in index order, and the rows are merged
/// after ([`merge_page`]); all are read in one transaction, so from one snapshot.
///
/// Reached by units ([`Reach::Units`]), a statement names no tenant: the units are the
/// tenant's, and without the tenant the `(tenant_id, version)` index offers no order a planner
/// could prefer to the units' indexes. A scope of one unit (a branch) reads each collection
/// in its index's order; a larger one sorts what its units hold after the cursor.
fn page_statements(
    engine: crate::Engine,
    scope: Scope<'_>,
    reach: Reach<'_>,
    collections: &[Collection],
    after: u64,
    limit: u64,
    departures: bool,
) -> Vec<sea_orm::sea_query::SelectStatement> {
    let changes_of = |collection: Collection, condition: Cond| {
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
            .cond_where(condition)
            .and_where(Expr::col("version").gt(to_i64(after)))
            .order_by("version", Order::Asc)
            .limit(limit.saturating_add(1))
            .to_owned()
    };
    let mut statements = Vec::new();
    for &collection in collections {
        for condition in reach.conditions(scope, collection) {
            statements.push(changes_of(collection, condition));
        }
    }
    // A campaign is the tenant's, never moved.
    statements.extend(
        collections
            .iter()
            .filter(|&&c| departures && c != Collection::Campaigns)
            .map(|&c| scope.departures_of(c, after, limit)),
    );
    if engine == crate::Engine::Sqlite {
        return statements;
    }
    let mut united: Option<sea_orm::sea_query::SelectStatement> = None;
    for (i, statement) in statements.into_iter().enumerate() {
        let wrapped = Query::select()
            .column(sea_orm::sea_query::Asterisk)
            .from_subquery(statement, format!("c{i}"))
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
        .cond_where(scope.holds_condition(collection))
        .and_where(Expr::col("deleted").eq(false))
        .order_by("created_at", Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned()
}

fn decode_record(collection: Collection, row: &QueryResult) -> StoreResult<RecordRow> {
    let fields = object(row.try_get("", "fields")?);
    Ok(RecordRow {
        collection,
        id: row.try_get("", "id")?,
        tenant_id: TenantId::new(row.try_get("", "tenant_id")?),
        org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
        owner_path: row.try_get("", "owner_path")?,
        addressee_id: row
            .try_get::<Option<Uuid>>("", "addressee_id")?
            .map(UnitId::new),
        addressee_path: row.try_get("", "addressee_path")?,
        version: to_u64(row.try_get("", "version")?),
        deleted: row.try_get("", "deleted")?,
        field_versions: versions::unpack(&fields, object(row.try_get("", "field_versions")?)),
        fields,
        created_at: row.try_get("", "created_at")?,
        created_by: row.try_get("", "created_by")?,
        updated_at: row.try_get("", "updated_at")?,
        updated_by: row.try_get("", "updated_by")?,
        device_id: row.try_get("", "device_id")?,
    })
}

pub(crate) fn decode_change(row: &QueryResult) -> StoreResult<ChangeEntry> {
    Ok(ChangeEntry {
        tenant_id: TenantId::new(row.try_get("", "tenant_id")?),
        version: to_u64(row.try_get("", "version")?),
        collection: row.try_get("", "collection")?,
        record_id: row.try_get("", "record_id")?,
        org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
        owner_path: row.try_get("", "owner_path")?,
        op: row.try_get("", "op")?,
        user_id: row.try_get("", "user_id")?,
        device_id: row.try_get("", "device_id")?,
        mutation_id: row.try_get("", "mutation_id")?,
        server_time: row.try_get("", "server_time")?,
        client_time: row.try_get("", "client_time")?,
        changes: created::unpack(row.try_get("", "changes")?),
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
        tenant_id: TenantId::new(row.try_get("", "tenant_id")?),
        collection: row.try_get("", "collection")?,
        record_id: row.try_get("", "record_id")?,
        org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
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
    pub tenant_id: TenantId,
    /// The tenant's last version when the transaction began.
    pub version: u64,
    /// The hash of the tenant's last audit entry.
    pub last_hash: String,
}

/// The hash before a tenant's first audit entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

mod created;
mod member_list;
mod names;
mod pages;
mod store;
mod txn;
mod versions;

pub use created::pack as pack_changes;
pub use names::{MemberChange, grams as name_grams};
pub use versions::pack as pack_field_versions;

pub use pages::PageCursor;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::txn::{RANGE_GAP, id_ranges};
    use super::*;

    /// The rows of the collections' statements come out in version order, cut after the one
    /// past the limit.
    #[test]
    fn a_page_merges_its_collections_by_version() {
        let row = |collection, version| ChangeRow {
            collection,
            id: Uuid::from_u128(u128::from(version)),
            org_unit_id: UnitId::new(Uuid::nil()),
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
    fn a_text_array_quotes_each_item() {
        let items = ["11010519491231002X".to_owned(), r#"a"b\c"#.to_owned()];
        assert_eq!(
            super::txn::text_array(&items),
            sea_orm::Value::String(Some(r#"{"11010519491231002X","a\"b\\c"}"#.to_owned()))
        );
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
