//! The planner: what a group's mutations write, in order, each checked whole before anything of
//! it is written. It reads through [`Reader`] (the push's transaction, or memory in tests) and
//! writes nothing: its answer is, per mutation, an [`Outcome`] (applied with its version,
//! conflicts and follow-up writes; refused with a [`Rejection`]; a duplicate), and the batch's
//! writes (records, audit entries, conflicts, blob references) for the executor to flush.

use std::collections::HashMap;

use paicha_domain::api::v1::{FieldConflict, Mutation, MutationResult};
use paicha_domain::collection::{
    Collection, FieldError, FieldType, Mode, Schema, check_archive_review_member,
    check_disposition_fits, check_past_dates, check_record, validate_fields,
};
use paicha_domain::derived;
use paicha_domain::ids::UnitId;
use paicha_domain::moves::{self, MoveStep};
use paicha_domain::role::Role;
use paicha_domain::workflow::{
    Start, check_confirmation, check_delete, check_fixed_change, check_reason_with_step,
    check_required_for_steps, check_role_rules, check_transition,
};
use paicha_storage::{ConflictRow, OrgUnitRecord, RecordRow};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Job;
use super::batch::{Batch, Op};
use super::read::Reader;
use super::reject::Rejection;
use super::relocate;
use crate::SyncError;

/// What became of one mutation.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Written (or, unchanged, taken as written).
    Applied(Applied),
    /// Refused: nothing of it is written.
    Rejected(Rejection),
    /// A retry of a mutation whose result is stored: that first result.
    Duplicate(MutationResult),
    /// A retry of a mutation applied earlier in this group: the job and place of its outcome.
    Again { job: usize, index: usize },
}

/// A mutation written.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub version: u64,
    pub conflicts: Vec<FieldConflict>,
    /// Its place in the batch's blob references, when it set them (the executor answers which
    /// of them are not uploaded yet).
    pub blobs: Option<usize>,
    /// The records the server wrote because of it (follow-up writes), in order. The executor
    /// needs no more than the writes themselves; the planner's tests read these.
    #[cfg_attr(not(test), allow(dead_code))]
    pub follow_ups: Vec<(Collection, Uuid)>,
}

impl Applied {
    fn unchanged(version: u64) -> Self {
        Self {
            version,
            conflicts: vec![],
            blobs: None,
            follow_ups: vec![],
        }
    }
}

/// One mutation's place in the answer.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The `mutation_id` to echo.
    pub mutation_id: Value,
    pub outcome: Outcome,
    /// The id and fingerprint to keep the result under, when it is kept (a mutation that was
    /// checked; not a malformed one, a duplicate or a reused id).
    pub keep: Option<(i64, String)>,
}

/// Why planning a mutation stopped: it is refused, or reading failed (which ends the push).
pub(super) enum Stop {
    Refused(Rejection),
    Failed(SyncError),
}

impl From<SyncError> for Stop {
    fn from(e: SyncError) -> Self {
        Self::Failed(e)
    }
}

impl From<Rejection> for Stop {
    fn from(r: Rejection) -> Self {
        Self::Refused(r)
    }
}

impl From<FieldError> for Stop {
    fn from(e: FieldError) -> Self {
        Self::Refused(Rejection::Rule(e))
    }
}

pub(super) type Planning<T> = Result<T, Stop>;

/// Stored results of mutations, by (user, device, mutation id): the result and its fingerprint.
pub(crate) type Seen = HashMap<(Uuid, String, i64), (Value, Option<String>)>;

/// Plans the jobs of one group, in order: each job's outcomes, one per mutation. `seen` are the
/// stored results of their mutation ids.
pub(crate) async fn plan_group<'a, R: Reader>(
    batch: &mut Batch<'a, R>,
    jobs: &'a [Job],
    seen: &Seen,
) -> Result<Vec<Vec<Planned>>, SyncError> {
    // Mutations planned in this group, by (user, device, mutation id): a retry racing its
    // original in the same group is a duplicate too.
    let mut in_group: HashMap<(Uuid, String, i64), ((usize, usize), String)> = HashMap::new();
    let mut all = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.iter().enumerate() {
        batch.writer = job.writer();
        let mut planned = Vec::with_capacity(job.mutations.len());
        for prepared in &job.mutations {
            let mutation = match &prepared.parsed {
                Ok(m) => m,
                Err((id, rejection)) => {
                    planned.push(Planned {
                        mutation_id: id.clone(),
                        outcome: Outcome::Rejected(rejection.clone()),
                        keep: None,
                    });
                    continue;
                }
            };
            let id = mutation.mutation_id;
            let print = prepared.print.clone().unwrap_or_default();
            let key = (job.user_id, job.device_id.clone(), id);
            let first = in_group
                .get(&key)
                .map(|((job, index), print)| {
                    (
                        Outcome::Again {
                            job: *job,
                            index: *index,
                        },
                        Some(print.clone()),
                    )
                })
                .or_else(|| {
                    seen.get(&key).and_then(|(v, print)| {
                        serde_json::from_value(v.clone())
                            .ok()
                            .map(|r| (Outcome::Duplicate(r), print.clone()))
                    })
                });
            if let Some((first, first_print)) = first {
                // The same id with other content is a new edit under a used id, not a retry:
                // the device must not drop it from its outbox as delivered.
                let outcome = if first_print.is_some_and(|p| p != print) {
                    Outcome::Rejected(Rejection::MutationIdReused)
                } else {
                    first
                };
                planned.push(Planned {
                    mutation_id: Value::from(id),
                    outcome,
                    keep: None,
                });
                continue;
            }
            let outcome = match apply(batch, mutation).await {
                Ok(applied) => Outcome::Applied(applied),
                Err(Stop::Refused(r)) => Outcome::Rejected(r),
                Err(Stop::Failed(e)) => return Err(e),
            };
            in_group.insert(key, ((j, planned.len()), print.clone()));
            planned.push(Planned {
                mutation_id: Value::from(id),
                outcome,
                keep: Some((id, print)),
            });
        }
        all.push(planned);
    }
    Ok(all)
}

async fn apply<R: Reader>(batch: &mut Batch<'_, R>, m: &Mutation) -> Planning<Applied> {
    let Some(collection) = Collection::parse(&m.collection) else {
        return Err(Rejection::UnknownCollection(m.collection.clone()).into());
    };
    let op = match m.op.as_str() {
        "put" => Op::Put,
        "patch" => Op::Patch,
        "delete" => Op::Delete,
        _ => return Err(Rejection::InvalidOp.into()),
    };
    let existing = batch.record(collection, m.id).await?;
    if batch.held_elsewhere(collection, m.id) {
        // Another tenant's record: say nothing about it.
        return Err(if op == Op::Put {
            Rejection::IdTaken
        } else {
            Rejection::RecordNotFound
        }
        .into());
    }
    if let Some(row) = &existing
        && !batch.writer.writes(row)
    {
        return Err(Rejection::RecordOutsideScope.into());
    }
    let schema = collection.schema();
    batch.follow_ups.clear();
    let mut applied = match (op, existing) {
        (Op::Put, None) => create(batch, schema, m).await?,
        (Op::Patch | Op::Delete, None) => return Err(Rejection::RecordNotFound.into()),
        (Op::Delete, Some(row)) if row.deleted => Applied::unchanged(row.version),
        (_, Some(row)) if row.deleted => return Err(Rejection::RecordDeleted.into()),
        (Op::Delete, Some(row)) => delete(batch, schema, m, row).await?,
        (Op::Put | Op::Patch, Some(row)) => update(batch, schema, m, op, row).await?,
    };
    applied.follow_ups = std::mem::take(&mut batch.follow_ups);
    Ok(applied)
}

/// A unit the writer may put a record at or address one to: in its tenant and subtree.
async fn unit_in_scope<R: Reader>(
    batch: &mut Batch<'_, R>,
    id: UnitId,
    field: &'static str,
) -> Planning<OrgUnitRecord> {
    let Some(unit) = batch
        .unit(id)
        .await?
        .filter(|u| u.tenant_id == batch.writer.tenant_id)
    else {
        return Err(Rejection::UnitNotFound { field }.into());
    };
    if !batch.writer.scope().covers(&unit.path) {
        return Err(Rejection::UnitOutsideScope { field }.into());
    }
    Ok(unit)
}

/// Checks the references among `changed`: records that exist, are live and are visible to
/// the writer; units of the right kind in its subtree.
async fn check_references<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    changed: &Map<String, Value>,
) -> Planning<()> {
    for (name, value) in changed {
        let (Some(spec), Some(id)) = (
            schema.field(name),
            value.as_str().and_then(|s| Uuid::parse_str(s).ok()),
        ) else {
            continue;
        };
        let ok = match spec.ty {
            FieldType::Ref(target) => batch
                .record(target, id)
                .await?
                .is_some_and(|r| !r.deleted && batch.writer.sees(&r)),
            // A member may be proposed to any branch of the tenant (domain::moves).
            FieldType::Unit(kind) if moves::names_any_branch(schema.collection, spec.name) => batch
                .unit(UnitId::new(id))
                .await?
                .is_some_and(|u| u.tenant_id == batch.writer.tenant_id && u.kind == kind),
            FieldType::Unit(kind) => match unit_in_scope(batch, UnitId::new(id), spec.name).await {
                Ok(unit) => unit.kind == kind,
                Err(Stop::Refused(_)) => false,
                Err(failed) => return Err(failed),
            },
            _ => continue,
        };
        if !ok {
            return Err(Rejection::InvalidReference {
                field: spec.name,
                label: spec.label_zh,
            }
            .into());
        }
    }
    Ok(())
}

/// 公民身份号码 are unique among a tenant's live members: refuses the number a write gives
/// member `id` when another live member holds it (as the batch stands).
async fn claim_id_number<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    id: Uuid,
    fields: &Map<String, Value>,
) -> Planning<()> {
    if let Some(number) = id_number_of(schema, fields)
        && !batch.claim_id_number(id, &number).await?
    {
        return Err(Rejection::IdNumberTaken.into());
    }
    Ok(())
}

/// The rules that look at another record: an archive review is not opened for a member
/// whose file is a cadre file.
async fn check_across_records<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    fields: &Map<String, Value>,
) -> Planning<()> {
    if !matches!(
        schema.collection,
        Collection::ArchiveReviews | Collection::Dispositions
    ) {
        return Ok(());
    }
    let Some(member) = derived::member_of(fields) else {
        return Ok(());
    };
    let Some(row) = batch.record(Collection::Members, member).await? else {
        return Ok(());
    };
    if schema.collection == Collection::ArchiveReviews {
        check_archive_review_member(&row.fields)?;
    } else if let Some(kind) = fields.get("disposition_type").and_then(Value::as_str) {
        check_disposition_fits(kind, &row.fields)?;
    }
    Ok(())
}

/// §4.1, §8.7: a member moved to `confirmed_*` needs a complete, signed information form
/// of the matching mode, or a recorded exception (`workflow::check_confirmation`).
async fn check_confirmed<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    member: Uuid,
    record: &Map<String, Value>,
    moving: bool,
) -> Planning<()> {
    let confirming = record
        .get("roster_status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("confirmed_"));
    if schema.collection != Collection::Members || !moving || !confirming {
        return Ok(());
    }
    let forms = batch.of_member(Collection::InfoForms, member).await?;
    let forms: Vec<&Map<String, Value>> = forms.iter().map(|r| &r.fields).collect();
    check_confirmation(record, &forms)?;
    Ok(())
}

/// A ledger entry held by a submission that is submitted or approved may not change
/// (`derived::check_entry_not_frozen`).
async fn check_not_frozen<R: Reader>(batch: &mut Batch<'_, R>, row: &RecordRow) -> Planning<()> {
    let Some(holder) = derived::holder_of(&row.fields) else {
        return Ok(());
    };
    let status = batch
        .record(Collection::LedgerSubmissions, holder)
        .await?
        .filter(|r| !r.deleted)
        .and_then(|r| {
            r.fields
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    derived::check_entry_not_frozen(status.as_deref())?;
    Ok(())
}

async fn create<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    m: &Mutation,
) -> Planning<Applied> {
    let Some(unit_id) = m.org_unit_id.map(UnitId::new) else {
        return Err(Rejection::OrgUnitRequired.into());
    };
    let unit = unit_in_scope(batch, unit_id, "org_unit_id").await?;
    if !schema.owner_kinds.contains(&unit.kind) {
        return Err(Rejection::InvalidOwnerUnit {
            collection: schema.collection,
            kind: unit.kind,
        }
        .into());
    }
    let role = batch.writer.role;
    if !schema.creators.contains(&role) {
        return Err(Rejection::MayNotCreate {
            role,
            collection: schema.collection,
        }
        .into());
    }
    // One campaign per tenant: the status reports it, and its baseline is the only one.
    if schema.collection == Collection::Campaigns
        && !batch
            .live_under(Collection::Campaigns, "")
            .await?
            .is_empty()
    {
        return Err(Rejection::CampaignExists.into());
    }
    let given = m.fields.clone().unwrap_or_default();
    let mut fields = validate_fields(schema, &given, Mode::Create, role)?;
    fields.retain(|_, v| !v.is_null());
    let today = paicha_domain::calendar::china_date(batch.now);
    check_past_dates(schema.collection, &fields, today)?;
    for (name, value) in &fields {
        check_transition(schema.collection, name, Start::New, value.as_str(), role)?;
    }
    derived::stamp(schema.collection, None, &mut fields, today);
    batch.pending.clear();
    compute(batch, schema, m.id, &unit.path, None, &mut fields).await?;
    check_record(schema.collection, &fields)?;
    check_role_rules(schema.collection, &fields, role)?;
    check_required_for_steps(schema.collection, &fields, &|_| true)?;
    check_confirmed(batch, schema, m.id, &fields, true).await?;
    check_references(batch, schema, &fields).await?;
    claim_id_number(batch, schema, m.id, &fields).await?;
    check_across_records(batch, schema, &fields).await?;
    let addressee = match schema.addressed_to.and_then(|f| fields.get(f)) {
        Some(value) => match value.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
            Some(id) => batch.unit(UnitId::new(id)).await?,
            None => None,
        },
        None => None,
    };

    let version = batch.next_version();
    let field_versions: Map<String, Value> = fields
        .keys()
        .map(|k| (k.clone(), Value::from(version)))
        .collect();
    let changes: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), json!([Value::Null, v])))
        .collect();
    let row = RecordRow {
        collection: schema.collection,
        id: m.id,
        tenant_id: batch.writer.tenant_id,
        org_unit_id: unit.id,
        owner_path: unit.path.clone(),
        addressee_id: addressee.as_ref().map(|u| u.id),
        addressee_path: addressee.map(|u| u.path),
        version,
        deleted: false,
        fields,
        field_versions,
        created_at: batch.now,
        created_by: batch.writer.user_id,
        updated_at: batch.now,
        updated_by: batch.writer.user_id,
        device_id: Some(batch.writer.device_id.to_owned()),
    };
    batch.store_row(row.clone(), true);
    let blobs = blob_refs(batch, schema, &row, None);
    batch.append(&row, Op::Put, m, Value::Object(changes));
    follow_up(batch, &row, m).await?;
    Ok(Applied {
        version,
        conflicts: vec![],
        blobs,
        follow_ups: vec![],
    })
}

async fn update<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    m: &Mutation,
    op: Op,
    mut row: RecordRow,
) -> Planning<Applied> {
    if m.org_unit_id
        .is_some_and(|u| UnitId::new(u) != row.org_unit_id)
    {
        return Err(Rejection::OrgUnitImmutable.into());
    }
    let role = batch.writer.role;
    let given = m.fields.clone().unwrap_or_default();
    // A put on an existing record replaces the fields it sends and must send the required
    // ones, but keeps every field it does not name: an app built before a field existed
    // cannot know it, and must not erase what newer apps wrote. Clearing is explicit
    // (`null`), as in a patch.
    let mode = if op == Op::Put {
        Mode::Create
    } else {
        Mode::Update
    };
    let normalized = validate_fields(schema, &given, mode, role)?;
    let mut changed: Map<String, Value> = normalized
        .into_iter()
        .filter(|(k, v)| row.fields.get(k).unwrap_or(&Value::Null) != v)
        .collect();
    // A member's move to another branch: its step, checked against who writes.
    let move_step = relocate::step(batch, &row, &mut changed)?;
    // A new addressee (a corrected list re-addresses a transfer, a member is proposed to a
    // branch): only the owner's side writes the field (§9), and the unit the record leaves is
    // told (domain::moves).
    let readdressed = schema.addressed_to.filter(|f| changed.contains_key(*f));
    if changed.is_empty() {
        return Ok(Applied::unchanged(row.version));
    }
    for (name, value) in &changed {
        let from = row.fields.get(name).and_then(Value::as_str);
        check_transition(
            schema.collection,
            name,
            Start::Existing(from),
            value.as_str(),
            role,
        )?;
    }
    if schema.collection == Collection::RosterLedgerEntries && role != Role::OrgOffice {
        check_not_frozen(batch, &row).await?;
    }
    check_fixed_change(schema.collection, &row.fields, &changed)?;
    check_reason_with_step(schema.collection, &row.fields, &changed)?;
    let today = paicha_domain::calendar::china_date(batch.now);
    check_past_dates(schema.collection, &changed, today)?;
    derived::stamp(schema.collection, Some(&row.fields), &mut changed, today);
    batch.pending.clear();
    let owner_path = row.owner_path.clone();
    compute(
        batch,
        schema,
        row.id,
        &owner_path,
        Some(&row.fields),
        &mut changed,
    )
    .await?;
    let mut merged = row.fields.clone();
    for (k, v) in &changed {
        merged.insert(k.clone(), v.clone());
    }
    merged.retain(|_, v| !v.is_null());
    check_record(schema.collection, &merged)?;
    check_role_rules(schema.collection, &merged, role)?;
    let touched = |name: &str| changed.contains_key(name);
    check_required_for_steps(schema.collection, &merged, &touched)?;
    let confirming = changed.contains_key("roster_status");
    check_confirmed(batch, schema, row.id, &merged, confirming).await?;
    check_references(batch, schema, &changed).await?;
    claim_id_number(batch, schema, row.id, &changed).await?;
    if changed.contains_key("member_id") || changed.contains_key("disposition_type") {
        check_across_records(batch, schema, &merged).await?;
    }

    let version = batch.next_version();
    let mut conflicts = Vec::new();
    let mut changes = Map::new();
    for (field, new) in &changed {
        let old = row.fields.get(field).cloned().unwrap_or(Value::Null);
        let written_at = row
            .field_versions
            .get(field)
            .and_then(Value::as_u64)
            .unwrap_or(0);
        // What the server stamps is never a device's write to lose.
        let server_written = schema.field(field).is_some_and(|f| f.writers.is_empty());
        if !server_written && m.base_version.is_some_and(|base| written_at > base) {
            conflicts.push(FieldConflict {
                field: field.clone(),
                overwritten_value: old.clone(),
                overwritten_version: written_at,
            });
            let conflict = ConflictRow {
                id: Uuid::now_v7(),
                tenant_id: row.tenant_id,
                collection: schema.name.to_owned(),
                record_id: row.id,
                org_unit_id: row.org_unit_id,
                owner_path: row.owner_path.clone(),
                addressee_path: row.addressee_path.clone(),
                field: field.clone(),
                overwritten_value: old.clone(),
                overwritten_version: written_at,
                winning_value: new.clone(),
                winning_version: version,
                user_id: batch.writer.user_id,
                device_id: batch.writer.device_id.to_owned(),
                created_at: batch.now,
                resolved_at: None,
                resolved_by: None,
            };
            batch.conflicts.push(conflict);
        }
        row.field_versions
            .insert(field.clone(), Value::from(version));
        changes.insert(field.clone(), json!([old, new]));
    }
    let before = readdressed.map(|_| row.clone());
    row.fields = merged;
    row.version = version;
    row.updated_at = batch.now;
    row.updated_by = batch.writer.user_id;
    row.device_id = Some(batch.writer.device_id.to_owned());
    let mut moved = None;
    if let (Some(field), Some(before)) = (readdressed, before) {
        let to = match relocate::unit_of(&row.fields, field) {
            Some(id) => batch.unit(UnitId::new(id)).await?,
            None => None,
        };
        let mut reason = moves::addressee_reason(schema.collection);
        if move_step == Some(MoveStep::Accept)
            && let Some(receiver) = before.addressee_id
            && let Some(unit) = batch.unit(receiver).await?
        {
            // Accepted: he belongs to the branch that took him from now on.
            row.org_unit_id = unit.id;
            row.owner_path = unit.path.clone();
            reason = "member_moved";
            moved = Some((before.owner_path.clone(), unit));
        }
        row.addressee_id = to.as_ref().map(|u| u.id);
        row.addressee_path = to.map(|u| u.path);
        batch.leave(&before, &row, reason);
    }
    batch.store_row(row.clone(), false);
    let blobs = blob_refs(
        batch,
        schema,
        &row,
        Some(&changed).filter(|_| readdressed.is_none()),
    );
    batch.append(&row, op, m, Value::Object(changes));
    if let Some((from, to)) = moved {
        relocate::move_records_of(batch, &row, &from, &to, m).await?;
    }
    follow_up(batch, &row, m).await?;
    Ok(Applied {
        version,
        conflicts,
        blobs,
        follow_ups: vec![],
    })
}

async fn delete<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    m: &Mutation,
    mut row: RecordRow,
) -> Planning<Applied> {
    if !batch.writer.scope().covers(&row.owner_path) {
        return Err(Rejection::NotOwner.into());
    }
    let role = batch.writer.role;
    if !schema.creators.contains(&role) {
        return Err(Rejection::MayNotDelete {
            role,
            collection: schema.collection,
        }
        .into());
    }
    if schema.collection == Collection::RosterLedgerEntries {
        check_not_frozen(batch, &row).await?;
    }
    check_delete(schema.collection, &row.fields)?;
    let version = batch.next_version();
    row.deleted = true;
    row.version = version;
    row.updated_at = batch.now;
    row.updated_by = batch.writer.user_id;
    row.device_id = Some(batch.writer.device_id.to_owned());
    // A deleted record no longer opens its blobs to anyone.
    batch.blob_refs.push(((row.collection, row.id), vec![]));
    batch.store_row(row.clone(), false);
    batch.append(&row, Op::Delete, m, json!({"deleted": [false, true]}));
    Ok(Applied::unchanged(version))
}

/// The record's blob references, when a blob field changed or it is created: noted for the
/// executor, which sets them and answers which are not uploaded yet. Returns their place.
pub(super) fn blob_refs<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    row: &RecordRow,
    changed: Option<&Map<String, Value>>,
) -> Option<usize> {
    let mut blob_fields = schema
        .fields
        .iter()
        .filter(|f| matches!(f.ty, FieldType::Blob | FieldType::BlobList))
        .map(|f| f.name)
        .peekable();
    blob_fields.peek()?;
    let blob_fields: Vec<&str> = blob_fields.collect();
    let touched = changed.is_none_or(|c| blob_fields.iter().any(|f| c.contains_key(*f)));
    if !touched {
        return None;
    }
    let mut hashes = Vec::new();
    for field in blob_fields {
        match row.fields.get(field) {
            Some(Value::String(h)) => hashes.push(h.clone()),
            Some(Value::Array(items)) => {
                hashes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            _ => {}
        }
    }
    batch.blob_refs.push(((row.collection, row.id), hashes));
    Some(batch.blob_refs.len() - 1)
}

/// Adds what the server computes for a write (no role writes these fields), by the rules of
/// `domain::derived`: a typed date's day of entry and 补录; a member's start facts and
/// snapshot; a contact case's months lost at the start; a ledger submission moving to
/// `submitted` takes the work area's entries of its ledger no other submission claims,
/// records how many and their digest, and marks each (left in `pending` for [`follow_up`]);
/// going in for the first time, it is a 补报 when the work area handed in the ledger already,
/// and then must take something (docs/domain.md §8.16).
///
/// `existing` is the record before the write (none: it is created); `fields` are all of a
/// new record's fields, or the changed ones of an update.
async fn compute<R: Reader>(
    batch: &mut Batch<'_, R>,
    schema: &Schema,
    id: Uuid,
    owner_path: &str,
    existing: Option<&Map<String, Value>>,
    fields: &mut Map<String, Value>,
) -> Planning<()> {
    let today = paicha_domain::calendar::china_date(batch.now);
    if paicha_domain::entry::typed(schema.collection).is_some() {
        let days = batch
            .plan()
            .await?
            .map_or(paicha_domain::entry::LATE_ENTRY_DAYS, |p| p.late_entry_days);
        derived::entry_dates(schema.collection, existing, fields, today, days);
    }
    match schema.collection {
        Collection::Members => {
            if let Some(plan) = batch.plan().await? {
                derived::member_start(existing, fields, &plan, today);
            }
        }
        Collection::Dispositions if derived::disposition_retargeted(schema.collection, fields) => {
            let member = fields
                .get("member_id")
                .or_else(|| existing.and_then(|e| e.get("member_id")))
                .and_then(Value::as_str)
                .and_then(|m| Uuid::parse_str(m).ok());
            let window_ends = match member {
                Some(member) => {
                    let plan = batch.plan().await?;
                    let held = batch.of_member(Collection::Dispositions, member).await?;
                    let others = held.iter().filter(|d| d.id != id);
                    derived::suspension_window_ends(
                        others.map(|d| (d.id, &d.fields)),
                        plan.as_ref(),
                        today,
                    )
                }
                None => None,
            };
            derived::mark_for_committee(existing, fields, window_ends, today);
        }
        Collection::ContactCases if derived::case_needs_months(existing, fields) => {
            let months = match derived::member_of(fields) {
                Some(member) => lost_months_of(batch, member).await?,
                None => None,
            };
            derived::case_months(existing, fields, months);
        }
        Collection::LedgerSubmissions => {
            let Some(ledger) = derived::submitting(schema.collection, existing, fields) else {
                return Ok(());
            };
            let mut taken = Vec::new();
            for entry in batch
                .live_under(Collection::RosterLedgerEntries, owner_path)
                .await?
            {
                if !derived::entry_of_ledger(&entry.fields, &ledger) {
                    continue;
                }
                let held = match derived::holder_of(&entry.fields).filter(|h| *h != id) {
                    Some(h) => batch
                        .record(Collection::LedgerSubmissions, h)
                        .await?
                        .is_some_and(|r| !r.deleted && derived::claims(&r.fields)),
                    None => false,
                };
                if !held {
                    taken.push(entry);
                }
            }
            if derived::first_submission(existing) {
                let others = batch
                    .live_under(Collection::LedgerSubmissions, owner_path)
                    .await?;
                let others = others
                    .iter()
                    .filter(|o| o.id != id && o.owner_path == owner_path);
                let supplementary = derived::supplementary(others.map(|o| &o.fields), &ledger);
                derived::supplement(fields, supplementary, taken.len())?;
            }
            derived::submitted(fields, taken.len(), entries_digest(&taken));
            for entry in taken {
                batch.pending.push((
                    Collection::RosterLedgerEntries,
                    entry.id,
                    derived::mark_taken(id),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Months a member had been without contact at the campaign's start (`derived::lost_months`).
async fn lost_months_of<R: Reader>(
    batch: &mut Batch<'_, R>,
    member: Uuid,
) -> Result<Option<u32>, SyncError> {
    let Some(row) = batch.record(Collection::Members, member).await? else {
        return Ok(None);
    };
    let plan = batch.plan().await?;
    Ok(derived::lost_months(&row.fields, plan.as_ref()))
}

/// What the server does after a write: the writes `compute` left pending, and a transfer
/// registered as lost opens a contact case for its member (docs/domain.md §6.4), one per
/// transfer, unless the member has an open case already; once its receipt comes in after all
/// (补办回执), the case it opened ends as found.
async fn follow_up<R: Reader>(
    batch: &mut Batch<'_, R>,
    row: &RecordRow,
    m: &Mutation,
) -> Result<(), SyncError> {
    for (collection, id, fields) in std::mem::take(&mut batch.pending) {
        if let Some(target) = batch.record(collection, id).await?.filter(|r| !r.deleted) {
            batch.server_patch(target, fields, m);
        }
    }
    let case_id = derived_id(row.id, "contact_case");
    if derived::receipt_closes_case(row.collection, &row.fields) {
        let case = batch
            .record(Collection::ContactCases, case_id)
            .await?
            .filter(|c| !c.deleted && derived::case_is_open(&c.fields));
        if let Some(case) = case {
            let today = paicha_domain::calendar::china_date(batch.now);
            let fields = derived::case_found_by_receipt(&case.fields, &row.fields, today);
            batch.server_patch(case, fields, m);
        }
        return Ok(());
    }
    let (Some(member), Some(branch)) = (
        derived::opens_case(row.collection, &row.fields),
        row.addressee_id,
    ) else {
        return Ok(());
    };
    if batch
        .record(Collection::ContactCases, case_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    // A case the branch already keeps open for the member serves: no second one.
    let open = batch
        .of_member(Collection::ContactCases, member)
        .await?
        .iter()
        .any(|c| derived::case_is_open(&c.fields));
    if open {
        return Ok(());
    }
    let Some(unit) = batch.unit(branch).await? else {
        return Ok(());
    };
    let months = lost_months_of(batch, member).await?;
    let fields = derived::opened_case(member, &row.fields, months);
    batch.server_create(Collection::ContactCases, case_id, &unit, fields, m);
    Ok(())
}

/// A record id derived from another's, the same every time: the contact case a transfer
/// registered as lost opens (so a retry or a second edit never opens a second one).
pub(crate) fn derived_id(from: Uuid, what: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{from}/{what}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A version-8 (custom) UUID of the RFC 9562 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The SHA-256 of ledger entries' content as submitted: each entry's id and fields (without
/// the server's mark of its submission), in id order, as canonical JSON.
fn entries_digest(entries: &[RecordRow]) -> String {
    let mut items: Vec<(Uuid, Value)> = entries
        .iter()
        .map(|e| {
            let mut fields = e.fields.clone();
            fields.remove("submission_id");
            (e.id, Value::Object(fields))
        })
        .collect();
    items.sort_by_key(|(id, _)| *id);
    let content = Value::Array(
        items
            .into_iter()
            .map(|(id, fields)| json!({"id": id, "fields": fields}))
            .collect(),
    );
    crate::audit::canonical_sha256(&content)
}

/// The 公民身份号码 a write gives a member, if it gives one.
fn id_number_of(schema: &Schema, fields: &Map<String, Value>) -> Option<String> {
    (schema.collection == Collection::Members)
        .then(|| fields.get("id_number")?.as_str().map(str::to_owned))
        .flatten()
}
