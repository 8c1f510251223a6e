//! A push's state as it advances through its mutations: the records as the batch stands (what
//! was read, with the batch's own writes over it), the versions and audit chain it hands out,
//! and the writes it has planned. Nothing here writes to the database: the executor
//! (`push::apply_jobs`) flushes the writes at the end.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use paicha_domain::api::v1::Mutation;
use paicha_domain::campaign::Plan;
use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use paicha_storage::{
    ById, ChangeEntry, ConflictRow, Departure, MemberChange, OrgUnitRecord, RecordRow, Scope,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Writer;
use super::read::Reader;
use crate::SyncError;
use crate::audit::entry_hash;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Put,
    Patch,
    Delete,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }
}

/// The mutation the change log records for a write the server makes: the id and client time
/// of the mutation that caused it (0 and none for an act of its own), the written record and
/// operation.
pub(crate) fn server_mutation(
    cause: (i64, Option<String>),
    collection: Collection,
    id: Uuid,
    op: Op,
    unit: Option<Uuid>,
) -> Mutation {
    Mutation {
        mutation_id: cause.0,
        collection: collection.as_str().to_owned(),
        id,
        org_unit_id: unit,
        op: op.as_str().to_owned(),
        base_version: None,
        fields: None,
        client_time: cause.1,
    }
}

/// The blob references a write sets on a record (its collection and id), in the order the
/// writes were made.
pub(crate) type BlobRefs = Vec<((Collection, Uuid), Vec<String>)>;

/// The state of the transaction as it advances.
pub(crate) struct Batch<'a, R> {
    reader: &'a R,
    pub(crate) writer: Writer<'a>,
    pub(crate) now: DateTime<Utc>,
    version: u64,
    last_hash: String,
    units: HashMap<UnitId, Option<OrgUnitRecord>>,
    /// Records read or written in this batch, as they stand now. Writes are kept here and
    /// flushed together at the end, many rows per statement.
    records: HashMap<(Collection, Uuid), Option<RecordRow>>,
    /// Ids another tenant holds (read as absent in `records`): all the batch knows of them.
    elsewhere: HashSet<(Collection, Uuid)>,
    /// Records this batch creates, in the order it creates them.
    created: Vec<(Collection, Uuid)>,
    /// Existing records this batch changes.
    changed: Vec<(Collection, Uuid)>,
    /// The keys of `created` and `changed`, for a quick check (the baseline writes every member).
    written: HashSet<(Collection, Uuid)>,
    pub(crate) entries: Vec<ChangeEntry>,
    pub(crate) conflicts: Vec<ConflictRow>,
    /// 公民身份号码 → the live members holding it, as read before the batch or written by it
    /// (checked against `records` before use, since the batch may have changed them).
    id_numbers: HashMap<String, Vec<Uuid>>,
    /// The tenant's campaign plan as this batch stands (read when first needed).
    plan: Option<Option<Plan>>,
    /// Writes the server makes because of the mutation being applied, made right after it:
    /// (collection, record, fields to set).
    pub(crate) pending: Vec<(Collection, Uuid, Map<String, Value>)>,
    /// The records the server wrote because of the mutation being applied (follow-up writes).
    pub(crate) follow_ups: Vec<(Collection, Uuid)>,
    /// The blob references to set, in order.
    pub(crate) blob_refs: BlobRefs,
    /// The paths records left (moved or re-addressed), in order.
    pub(crate) departures: Vec<Departure>,
    /// Each member the batch writes, as it stood before the batch ([`member_state`]): what the
    /// name index and the tenant's count of live members follow ([`Batch::member_changes`]).
    members_before: HashMap<Uuid, Option<Option<String>>>,
}

/// A member as the name index and the count of live members see it: `None` when deleted, else
/// its name (not empty) if it has one.
fn member_state(row: &RecordRow) -> Option<Option<String>> {
    (!row.deleted).then(|| {
        row.fields
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    })
}

impl<'a, R: Reader> Batch<'a, R> {
    /// A batch reading through `reader`, whose tenant stands at `version` with the audit chain's
    /// head `last_hash`.
    pub(crate) fn new(
        reader: &'a R,
        writer: Writer<'a>,
        now: DateTime<Utc>,
        version: u64,
        last_hash: String,
    ) -> Self {
        Batch {
            reader,
            writer,
            now,
            version,
            last_hash,
            units: HashMap::new(),
            records: HashMap::new(),
            elsewhere: HashSet::new(),
            created: Vec::new(),
            changed: Vec::new(),
            written: HashSet::new(),
            entries: Vec::new(),
            conflicts: Vec::new(),
            id_numbers: HashMap::new(),
            plan: None,
            pending: Vec::new(),
            follow_ups: Vec::new(),
            blob_refs: Vec::new(),
            departures: Vec::new(),
            members_before: HashMap::new(),
        }
    }

    /// The tenant's version and the audit chain's head after the batch.
    pub(crate) fn end(self) -> (u64, String) {
        (self.version, self.last_hash)
    }

    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The records the batch creates, in order.
    pub(crate) fn created_rows(&self) -> Vec<&RecordRow> {
        self.created
            .iter()
            .filter_map(|key| self.records.get(key).and_then(Option::as_ref))
            .collect()
    }

    /// Notes `row`, an existing member as read, as its state before the batch, unless the
    /// batch already has one for it.
    fn note_member_before(&mut self, row: &RecordRow) {
        if row.collection == Collection::Members {
            self.members_before
                .entry(row.id)
                .or_insert_with(|| member_state(row));
        }
    }

    /// The members the batch made, deleted or renamed, by id.
    pub(crate) fn member_changes(&self) -> Vec<MemberChange> {
        let mut changes: Vec<MemberChange> = self
            .members_before
            .iter()
            .filter_map(|(id, before)| {
                let after = self
                    .records
                    .get(&(Collection::Members, *id))
                    .and_then(Option::as_ref)
                    .and_then(member_state);
                (*before != after).then(|| MemberChange {
                    member_id: *id,
                    before: before.clone(),
                    after,
                })
            })
            .collect();
        changes.sort_by_key(|c| c.member_id);
        changes
    }

    /// The existing records the batch changes, as they stand after it, in order.
    pub(crate) fn changed_rows(&self) -> Vec<&RecordRow> {
        self.changed
            .iter()
            .filter_map(|key| self.records.get(key).and_then(Option::as_ref))
            .collect()
    }

    /// A record as the batch holds it, without reading (a record it wrote).
    pub(crate) fn held(&self, collection: Collection, id: Uuid) -> Option<&RecordRow> {
        self.records.get(&(collection, id)).and_then(Option::as_ref)
    }

    pub(crate) fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// The tenant's campaign plan as the batch stands: the campaign starting last, with the day
    /// its baseline was frozen, if it was.
    pub(crate) async fn plan(&mut self) -> Result<Option<Plan>, SyncError> {
        if let Some(plan) = self.plan {
            return Ok(plan);
        }
        let campaigns = self.live_under(Collection::Campaigns, "").await?;
        let plan = Plan::latest(campaigns.iter().map(|r| (r.id, &r.fields))).map(|(_, p)| p);
        self.plan = Some(plan);
        Ok(plan)
    }

    /// `read` (live records of `collection` from the database) as the batch stands: the
    /// batch's own writes of that collection replace what was read, joined when `keep` holds
    /// for them, dropped otherwise. Oldest first.
    fn as_batch_stands(
        &self,
        collection: Collection,
        read: Vec<RecordRow>,
        keep: impl Fn(&RecordRow) -> bool,
    ) -> Vec<RecordRow> {
        let mut rows: HashMap<Uuid, RecordRow> = read.into_iter().map(|r| (r.id, r)).collect();
        for ((c, id), row) in &self.records {
            if *c != collection {
                continue;
            }
            match row {
                Some(r) if !r.deleted && keep(r) => {
                    rows.insert(*id, r.clone());
                }
                _ => {
                    rows.remove(id);
                }
            }
        }
        let mut rows: Vec<RecordRow> = rows.into_values().collect();
        rows.sort_by_key(|r| (r.created_at, r.id));
        rows
    }

    /// The live records of `collection` at or below `path` as the batch stands.
    pub(crate) async fn live_under(
        &mut self,
        collection: Collection,
        path: &str,
    ) -> Result<Vec<RecordRow>, SyncError> {
        let scope = Scope::new(self.writer.tenant_id, path);
        let read = self.reader.live_rows(scope, collection).await?;
        Ok(self.as_batch_stands(collection, read, |r| scope.sees(r.place())))
    }

    /// A member's live records of `collection` (information forms, contact cases) as the batch
    /// stands.
    pub(crate) async fn of_member(
        &mut self,
        collection: Collection,
        member: Uuid,
    ) -> Result<Vec<RecordRow>, SyncError> {
        self.referring(collection, "member_id", member).await
    }

    /// The live records of `collection` whose `field` names the record `id`, as the batch
    /// stands.
    pub(crate) async fn referring(
        &mut self,
        collection: Collection,
        field: &'static str,
        id: Uuid,
    ) -> Result<Vec<RecordRow>, SyncError> {
        let read = self
            .reader
            .live_rows_referring(collection, field, id)
            .await?;
        let (tenant, wanted) = (self.writer.tenant_id, id.to_string());
        Ok(self.as_batch_stands(collection, read, |r| {
            r.tenant_id == tenant
                && r.fields.get(field).and_then(Value::as_str) == Some(wanted.as_str())
        }))
    }

    /// Reads, in one query per collection, the records the batch's mutations name.
    pub(crate) async fn prefetch(
        &mut self,
        named: Vec<(Collection, Uuid)>,
    ) -> Result<(), SyncError> {
        let mut wanted: HashMap<Collection, Vec<Uuid>> = HashMap::new();
        for (collection, id) in named {
            wanted.entry(collection).or_default().push(id);
        }
        for (collection, ids) in wanted {
            for id in &ids {
                self.records.insert((collection, *id), None);
            }
            for found in self.reader.records(collection, &ids).await? {
                self.note(collection, found);
            }
        }
        Ok(())
    }

    /// Reads these units (those not read yet) in one query. A group of single pushes from
    /// many branches read each branch by a statement of its own, one after the other, while
    /// it held the tenant's lock (docs/benchmarks.md, results of 2026-11-29, commit e974225).
    pub(crate) async fn load_units(&mut self, ids: &[UnitId]) -> Result<(), SyncError> {
        let unread: Vec<UnitId> = ids
            .iter()
            .filter(|id| !self.units.contains_key(*id))
            .copied()
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        for id in &unread {
            self.units.insert(*id, None);
        }
        for unit in self.reader.org_units(&unread).await? {
            self.units.insert(unit.id, Some(unit));
        }
        Ok(())
    }

    /// Reads which live members hold these 公民身份号码 (those not read yet), in one query.
    pub(crate) async fn load_id_numbers(&mut self, numbers: &[String]) -> Result<(), SyncError> {
        let unread: Vec<String> = numbers
            .iter()
            .filter(|n| !self.id_numbers.contains_key(*n))
            .cloned()
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        for n in &unread {
            self.id_numbers.entry(n.clone()).or_default();
        }
        for (id, number) in self.reader.live_members_with_id_numbers(&unread).await? {
            self.id_numbers.entry(number).or_default().push(id);
        }
        Ok(())
    }

    /// Whether a live member other than `id` holds `number` as the batch stands; if none,
    /// notes it as held by `id`.
    pub(crate) async fn claim_id_number(
        &mut self,
        id: Uuid,
        number: &str,
    ) -> Result<bool, SyncError> {
        self.load_id_numbers(&[number.to_owned()]).await?;
        let holders = self.id_numbers.get(number).cloned().unwrap_or_default();
        for holder in holders.into_iter().filter(|h| *h != id) {
            // Read by the batch's own state: it may have deleted the holder or changed its number.
            let still = match self.records.get(&(Collection::Members, holder)) {
                Some(Some(row)) => {
                    !row.deleted
                        && row.fields.get("id_number").and_then(Value::as_str) == Some(number)
                }
                Some(None) => false,
                None => true,
            };
            if still {
                return Ok(false);
            }
        }
        let held = self.id_numbers.entry(number.to_owned()).or_default();
        if !held.contains(&id) {
            held.push(id);
        }
        Ok(true)
    }

    /// A record as it stands in this batch.
    pub(crate) async fn record(
        &mut self,
        collection: Collection,
        id: Uuid,
    ) -> Result<Option<RecordRow>, SyncError> {
        if let Some(row) = self.records.get(&(collection, id)) {
            return Ok(row.clone());
        }
        self.records.insert((collection, id), None);
        if let Some(found) = self.reader.record(collection, id).await? {
            self.note(collection, found);
        }
        Ok(self.held(collection, id).cloned())
    }

    /// Keeps what a read by id found: the tenant's record, or that another tenant holds the id.
    fn note(&mut self, collection: Collection, found: ById) {
        match found {
            ById::Own(row) => {
                self.records.insert((collection, row.id), Some(row));
            }
            ById::HeldElsewhere(id) => {
                self.records.insert((collection, id), None);
                self.elsewhere.insert((collection, id));
            }
        }
    }

    /// Whether another tenant holds this id (known once [`Batch::record`] or the prefetch read
    /// it).
    pub(crate) fn held_elsewhere(&self, collection: Collection, id: Uuid) -> bool {
        self.elsewhere.contains(&(collection, id))
    }

    pub(crate) async fn unit(&mut self, id: UnitId) -> Result<Option<OrgUnitRecord>, SyncError> {
        if let Some(unit) = self.units.get(&id) {
            return Ok(unit.clone());
        }
        let unit = self.reader.org_unit(id).await?;
        self.units.insert(id, unit.clone());
        Ok(unit)
    }

    /// Keeps a written record for the flush.
    pub(crate) fn store_row(&mut self, row: RecordRow, created: bool) {
        let key = (row.collection, row.id);
        if row.collection == Collection::Campaigns {
            // The plan is read again when next needed.
            self.plan = None;
        }
        if row.collection == Collection::Members && !self.members_before.contains_key(&row.id) {
            let before = if created {
                None
            } else {
                // Every caller writing an existing member read it through the batch (`record`)
                // or noted it first (`server_patch`); a member the batch never saw is taken as
                // it is written, changing no count.
                match self.records.get(&key) {
                    Some(read) => read.as_ref().and_then(member_state),
                    None => member_state(&row),
                }
            };
            self.members_before.insert(row.id, before);
        }
        if created {
            self.created.push(key);
            self.written.insert(key);
        } else if self.written.insert(key) {
            self.changed.push(key);
        }
        self.records.insert(key, Some(row));
    }

    /// Notes the paths `after` left since `before` (its owner's, its addressee's), so the units
    /// that saw it there are told (`paicha_domain::moves`).
    pub(crate) fn leave(&mut self, before: &RecordRow, after: &RecordRow, reason: &str) {
        let label = paicha_domain::moves::label_of(after.collection, &after.fields)
            .or_else(|| paicha_domain::moves::label_of(before.collection, &before.fields))
            .map(str::to_owned);
        self.leave_as(before, after, reason, label.as_deref());
    }

    /// [`Batch::leave`], with what the units it left knew the record by.
    pub(crate) fn leave_as(
        &mut self,
        before: &RecordRow,
        after: &RecordRow,
        reason: &str,
        label: Option<&str>,
    ) {
        self.departures
            .extend(Departure::between(before, after, reason, label));
    }

    /// The records that left a path, as the batch leaves them.
    pub(crate) fn departed_rows(&self) -> Vec<&RecordRow> {
        let mut keys: Vec<(Collection, Uuid)> = self
            .departures
            .iter()
            .map(|d| (d.collection, d.record_id))
            .collect();
        keys.dedup();
        keys.iter()
            .filter_map(|k| self.records.get(k).and_then(Option::as_ref))
            .collect()
    }

    /// Appends the change of `row` to the audit chain.
    pub(crate) fn append(&mut self, row: &RecordRow, op: Op, m: &Mutation, changes: Value) {
        let mut entry = ChangeEntry {
            tenant_id: row.tenant_id,
            version: row.version,
            collection: row.collection.as_str().to_owned(),
            record_id: row.id,
            org_unit_id: row.org_unit_id,
            owner_path: row.owner_path.clone(),
            op: op.as_str().to_owned(),
            user_id: self.writer.user_id,
            device_id: self.writer.device_id.to_owned(),
            mutation_id: m.mutation_id,
            server_time: self.now,
            client_time: m.client_time.clone(),
            changes,
            prev_hash: self.last_hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        self.last_hash = entry.hash.clone();
        self.entries.push(entry);
    }

    /// Sets `fields` on an existing record as the server: no role checks (the fields are the
    /// server's or follow from a write already checked), recorded in the change log under the
    /// writer and mutation that caused it.
    pub(crate) fn server_patch(
        &mut self,
        mut row: RecordRow,
        fields: Map<String, Value>,
        m: &Mutation,
    ) {
        let changed: Map<String, Value> = fields
            .into_iter()
            .filter(|(k, v)| row.fields.get(k).unwrap_or(&Value::Null) != v)
            .collect();
        if changed.is_empty() {
            return;
        }
        // The row as read: what it was before the batch when the batch has not written it
        // (a row read through `live_under` is not kept in `records`).
        self.note_member_before(&row);
        let version = self.next_version();
        let mut changes = Map::new();
        for (field, new) in changed {
            let old = row.fields.get(&field).cloned().unwrap_or(Value::Null);
            changes.insert(field.clone(), json!([old, new]));
            row.field_versions
                .insert(field.clone(), Value::from(version));
            if new.is_null() {
                row.fields.remove(&field);
            } else {
                row.fields.insert(field, new);
            }
        }
        row.version = version;
        row.updated_at = self.now;
        row.updated_by = self.writer.user_id;
        row.device_id = Some(self.writer.device_id.to_owned());
        self.store_row(row.clone(), false);
        self.follow_ups.push((row.collection, row.id));
        let cause = (m.mutation_id, m.client_time.clone());
        let server_m = server_mutation(cause, row.collection, row.id, Op::Patch, None);
        self.append(&row, Op::Patch, &server_m, Value::Object(changes));
    }

    /// Creates a record as the server (see [`Batch::server_patch`]), owned by `unit`.
    pub(crate) fn server_create(
        &mut self,
        collection: Collection,
        id: Uuid,
        unit: &OrgUnitRecord,
        fields: Map<String, Value>,
        m: &Mutation,
    ) {
        let version = self.next_version();
        let row = RecordRow {
            collection,
            id,
            tenant_id: self.writer.tenant_id,
            org_unit_id: unit.id,
            owner_path: unit.path.clone(),
            addressee_id: None,
            addressee_path: None,
            version,
            deleted: false,
            field_versions: fields
                .keys()
                .map(|k| (k.clone(), Value::from(version)))
                .collect(),
            fields: fields.clone(),
            created_at: self.now,
            created_by: self.writer.user_id,
            updated_at: self.now,
            updated_by: self.writer.user_id,
            device_id: Some(self.writer.device_id.to_owned()),
        };
        self.store_row(row.clone(), true);
        self.follow_ups.push((collection, id));
        let changes: Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, json!([Value::Null, v])))
            .collect();
        let cause = (m.mutation_id, m.client_time.clone());
        let server_m = server_mutation(cause, collection, id, Op::Put, Some(unit.id.uuid()));
        self.append(&row, Op::Put, &server_m, Value::Object(changes));
    }
}
