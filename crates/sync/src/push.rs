//! Push: a device's batch of mutations, applied in one transaction.
//!
//! - **Exactly once.** Every mutation's result is stored under (user, device, mutation id);
//!   a retry gets `duplicate` with the first result, and changes nothing. The check happens
//!   after the tenant's write lock is taken, so a retry racing its original cannot apply twice.
//! - **Whole or not at all, one by one.** A mutation is checked completely before anything of
//!   it is written; a rejected mutation writes nothing and never stops the others.
//! - **Field-level merge.** A record keeps, per field, the version that last wrote it. A patch
//!   based on version B changes only its fields; where another write changed the same field
//!   after B, the later arrival wins and the overwritten value goes to the conflict log.
//! - **Audit.** Every applied change appends a hash-chained entry to the change log.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use paicha_domain::api::ErrorDetail;
use paicha_domain::api::v1::{FieldConflict, Mutation, MutationResult, MutationStatus};
use paicha_domain::baseline;
use paicha_domain::campaign::Plan;
use paicha_domain::collection::{
    Collection, FieldError, FieldType, Mode, Schema, check_archive_review_member, check_past_dates,
    check_record, validate_fields,
};
use paicha_domain::id_number::IdNumber;
use paicha_domain::role::Role;
use paicha_domain::workflow::{
    Start, check_confirmation, check_delete, check_fixed_change, check_required_for_steps,
    check_role_rules, check_transition, restamped, stamps,
};
use paicha_storage::{ChangeEntry, ConflictRow, OrgUnitRecord, RecordRow, Scope, Store, SyncTxn};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::SyncError;
use crate::audit::entry_hash;

/// Most mutations accepted in one push.
pub const MAX_MUTATIONS: usize = 1000;

/// Who is pushing.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub user_id: Uuid,
    pub role: Role,
    pub tenant_id: Uuid,
    /// The path of the caller's unit: it writes at or below it.
    pub unit_path: &'a str,
    pub device_id: &'a str,
}

impl Writer<'_> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            tenant_id: self.tenant_id,
            path: self.unit_path,
        }
    }

    /// Whether the writer may change `row` (the one scope rule, `Scope::writes`).
    fn writes(&self, row: &RecordRow) -> bool {
        self.scope().writes(row.place())
    }

    /// Whether the writer sees `row` (the one scope rule, `Scope::sees`).
    fn sees(&self, row: &RecordRow) -> bool {
        self.scope().sees(row.place())
    }
}

pub struct PushOutcome {
    pub results: Vec<MutationResult>,
    /// The tenant's version after the push: every change of it is visible from here on.
    pub version: u64,
}

/// Why a mutation is refused.
#[derive(Debug, Clone)]
struct Rejection {
    code: &'static str,
    message: String,
    field: Option<String>,
}

fn reject(code: &'static str, message: impl Into<String>, field: Option<&str>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
        field: field.map(str::to_owned),
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Self {
            code: e.code,
            message: e.message,
            field: Some(e.field),
        }
    }
}

struct Applied {
    version: u64,
    conflicts: Vec<FieldConflict>,
    missing_blobs: Vec<String>,
}

/// The state of the transaction as it advances.
struct Batch<'a> {
    txn: SyncTxn,
    writer: Writer<'a>,
    now: DateTime<Utc>,
    version: u64,
    last_hash: String,
    units: HashMap<Uuid, Option<OrgUnitRecord>>,
    /// Records read or written in this batch, as they stand now. Writes are kept here and
    /// flushed together at the end, many rows per statement.
    records: HashMap<(Collection, Uuid), Option<RecordRow>>,
    /// Records this batch creates, in the order it creates them.
    created: Vec<(Collection, Uuid)>,
    /// Existing records this batch changes.
    changed: Vec<(Collection, Uuid)>,
    /// The keys of `created` and `changed`, for a quick check (the baseline writes every member).
    written: std::collections::HashSet<(Collection, Uuid)>,
    entries: Vec<ChangeEntry>,
    conflicts: Vec<ConflictRow>,
    /// 公民身份号码 → the live members holding it, as read before the batch or written by it
    /// (checked against `records` before use, since the batch may have changed them).
    id_numbers: HashMap<String, Vec<Uuid>>,
    /// Per job: who, which device, and the results to keep with their mutations' fingerprints.
    results: Vec<(Uuid, String, Vec<(i64, Value, String)>)>,
    /// The tenant's campaign plan as this batch stands (read when first needed).
    plan: Option<Option<Plan>>,
    /// Writes the server makes because of the mutation being applied, made right after it:
    /// (collection, record, fields to set).
    pending: Vec<(Collection, Uuid, Map<String, Value>)>,
}

/// One device's batch, owned, for the group commit. Its mutations are parsed and fingerprinted
/// when it is made ([`Job::new`]), in the request's own task: the tenant's writer, which takes
/// one group at a time, then only applies them.
#[derive(Debug, Clone)]
pub struct Job {
    pub user_id: Uuid,
    pub role: Role,
    pub tenant_id: Uuid,
    pub unit_path: String,
    pub device_id: String,
    mutations: Vec<Prepared>,
}

/// A mutation as read before the tenant's turn: parsed, or refused with the id to echo; and
/// the fingerprint of what it asks (none when refused).
#[derive(Debug, Clone)]
struct Prepared {
    parsed: Result<Mutation, (Value, Rejection)>,
    print: Option<String>,
}

impl Prepared {
    fn of(value: &Value) -> Self {
        let parsed = parse(value);
        let print = parsed.as_ref().ok().map(fingerprint);
        Self { parsed, print }
    }
}

impl Job {
    /// A job of `mutations` as the device sent them (each is parsed here, refused one by one
    /// when malformed).
    pub fn new(writer: Writer<'_>, mutations: &[Value]) -> Self {
        Self {
            user_id: writer.user_id,
            role: writer.role,
            tenant_id: writer.tenant_id,
            unit_path: writer.unit_path.to_owned(),
            device_id: writer.device_id.to_owned(),
            mutations: mutations.iter().map(Prepared::of).collect(),
        }
    }

    /// The mutations that parsed.
    fn parsed(&self) -> impl Iterator<Item = &Mutation> {
        self.mutations.iter().filter_map(|p| p.parsed.as_ref().ok())
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            user_id: self.user_id,
            role: self.role,
            tenant_id: self.tenant_id,
            unit_path: &self.unit_path,
            device_id: &self.device_id,
        }
    }
}

/// Applies `mutations` for `writer` in a transaction of their own. Returns one result per
/// mutation, in order.
pub async fn push(
    store: &Store,
    writer: Writer<'_>,
    mutations: &[Value],
) -> Result<PushOutcome, SyncError> {
    let job = Job::new(writer, mutations);
    let (mut results, version) =
        apply_group(store, writer.tenant_id, std::slice::from_ref(&job)).await?;
    Ok(PushOutcome {
        results: results.pop().unwrap_or_default(),
        version,
    })
}

/// Applies `mutations` for `writer` only if every one of them applies: when any is rejected,
/// nothing is written and the results say why (`Err`). For imports, where a file is taken whole
/// or not at all.
pub async fn push_all_or_nothing(
    store: &Store,
    writer: Writer<'_>,
    mutations: &[Value],
) -> Result<Result<PushOutcome, Vec<MutationResult>>, SyncError> {
    let job = Job::new(writer, mutations);
    let (mut results, version, committed) =
        apply_jobs(store, writer.tenant_id, std::slice::from_ref(&job), true).await?;
    let results = results.pop().unwrap_or_default();
    Ok(if committed {
        Ok(PushOutcome { results, version })
    } else {
        Err(results)
    })
}

/// Applies the jobs of one tenant, in order, in one transaction: one commit (and on SQLite one
/// `fsync`) for all of them. Returns each job's results and the tenant's version after them.
async fn apply_group(
    store: &Store,
    tenant_id: Uuid,
    jobs: &[Job],
) -> Result<(Vec<Vec<MutationResult>>, u64), SyncError> {
    let (results, version, _) = apply_jobs(store, tenant_id, jobs, false).await?;
    Ok((results, version))
}

/// What a group's mutations name, read before the batch applies them, in one query each.
struct Named {
    /// The records.
    records: Vec<(Collection, Uuid)>,
    /// The 公民身份号码 their new members' fields carry.
    numbers: Vec<String>,
    /// The units they put records at (`org_unit_id`), each once.
    units: Vec<Uuid>,
}

fn named_in(jobs: &[Job]) -> Named {
    let mut named = Vec::new();
    let mut numbers = Vec::new();
    let mut units = Vec::new();
    for m in jobs.iter().flat_map(Job::parsed) {
        let Some(collection) = Collection::parse(&m.collection) else {
            continue;
        };
        named.push((collection, m.id));
        if let Some(unit) = m.org_unit_id
            && !units.contains(&unit)
        {
            units.push(unit);
        }
        if collection == Collection::Members
            && let Some(number) = m
                .fields
                .as_ref()
                .and_then(|f| f.get("id_number")?.as_str())
                .and_then(|raw| IdNumber::parse(raw).ok())
        {
            numbers.push(number.as_str().to_owned());
        }
    }
    Named {
        records: named,
        numbers,
        units,
    }
}

/// Per job: who, which device, and the ids of its mutations (to read their stored results).
fn asked_of(jobs: &[Job]) -> Vec<(Uuid, String, Vec<i64>)> {
    jobs.iter()
        .map(|job| {
            let ids = job.parsed().map(|m| m.mutation_id).collect();
            (job.user_id, job.device_id.clone(), ids)
        })
        .collect()
}

/// The work of [`apply_group`]; with `all_or_nothing`, a single rejection rolls everything
/// back (the third value says whether it committed).
async fn apply_jobs(
    store: &Store,
    tenant_id: Uuid,
    jobs: &[Job],
    all_or_nothing: bool,
) -> Result<(Vec<Vec<MutationResult>>, u64, bool), SyncError> {
    let now = batch_time();
    let txn = store.begin_sync(tenant_id).await?;
    let Some(first_job) = jobs.first() else {
        let version = txn.version;
        let hash = txn.last_hash.clone();
        txn.commit(version, &hash).await?;
        return Ok((vec![], version, true));
    };
    let mut batch = Batch::new(txn, first_job.writer(), now);
    let named = named_in(jobs);
    batch.prefetch(named.records).await?;
    batch.load_id_numbers(&named.numbers).await?;
    batch.load_units(&named.units).await?;
    // Results already given in this group, by (user, device, mutation id): a retry racing its
    // original in the same group is a duplicate too.
    let mut in_group: HashMap<(Uuid, String, i64), (MutationResult, String)> = HashMap::new();
    // Every job's stored results, read at once (the tenant's lock is held: none can be added
    // meanwhile but by this group, which `in_group` covers).
    let asked = asked_of(jobs);
    let seen = batch.txn.mutation_results_of(&asked).await?;
    drop(asked);
    let mut all_results = Vec::with_capacity(jobs.len());
    for job in jobs {
        batch.writer = job.writer();
        let mut saved = Vec::new();
        let mut results = Vec::with_capacity(job.mutations.len());
        for prepared in &job.mutations {
            let mutation = match &prepared.parsed {
                Ok(m) => m,
                Err((id, rejection)) => {
                    results.push(rejected(id.clone(), rejection.clone()));
                    continue;
                }
            };
            let id = mutation.mutation_id;
            let print = prepared.print.clone().unwrap_or_default();
            let key = (job.user_id, job.device_id.clone(), id);
            let first = in_group
                .get(&key)
                .map(|(result, print)| (result.clone(), Some(print.clone())))
                .or_else(|| {
                    seen.get(&key).and_then(|(v, print)| {
                        serde_json::from_value(v.clone())
                            .ok()
                            .map(|r| (r, print.clone()))
                    })
                });
            if let Some((first, first_print)) = first {
                // The same id with other content is a new edit under a used id, not a retry:
                // the device must not drop it from its outbox as delivered.
                if first_print.is_some_and(|p| p != print) {
                    results.push(rejected(
                        Value::from(id),
                        reject(
                            "mutation_id_reused",
                            "该设备已用此 mutation_id 提交过内容不同的变更；请为新的变更使用更大的 mutation_id",
                            Some("mutation_id"),
                        ),
                    ));
                } else {
                    results.push(duplicate(first));
                }
                continue;
            }
            let result = match batch.apply(mutation).await? {
                Ok(applied) => MutationResult {
                    mutation_id: Value::from(id),
                    status: if applied.conflicts.is_empty() {
                        MutationStatus::Applied
                    } else {
                        MutationStatus::Merged
                    },
                    version: Some(applied.version),
                    conflicts: (!applied.conflicts.is_empty()).then_some(applied.conflicts),
                    error: None,
                    first_status: None,
                    missing_blobs: (!applied.missing_blobs.is_empty())
                        .then_some(applied.missing_blobs),
                },
                Err(rejection) => rejected(Value::from(id), rejection),
            };
            saved.push((
                id,
                serde_json::to_value(&result).unwrap_or(Value::Null),
                print.clone(),
            ));
            in_group.insert(key, (result.clone(), print));
            results.push(result);
        }
        batch
            .results
            .push((job.user_id, job.device_id.clone(), saved));
        all_results.push(results);
    }
    let rejected = all_results
        .iter()
        .flatten()
        .any(|r| r.status == MutationStatus::Rejected);
    if all_or_nothing && rejected {
        // Dropping the transaction rolls it back: nothing of it is written.
        return Ok((all_results, batch.version, false));
    }
    let version = batch.commit().await?;
    Ok((all_results, version, true))
}

/// The time a batch's writes carry: cut to microseconds, what PostgreSQL keeps, so the audit
/// hash computed now is the one recomputed from the database later.
fn batch_time() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Why a baseline act is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineRefusal {
    /// No such record (campaign or member) in the writer's tenant and scope.
    NotFound,
    /// The campaign has no valid start date.
    NoCampaign,
    /// Frozen already, on that day.
    Taken(chrono::NaiveDate),
    /// The member has no snapshot: the baseline is not frozen.
    NotTaken,
}

/// A frozen baseline.
#[derive(Debug, Clone)]
pub struct Frozen {
    pub version: u64,
    pub members: u64,
    pub on: chrono::NaiveDate,
}

/// A correction of one member's snapshot, by the 组织办, with its reason.
#[derive(Debug, Clone)]
pub struct Correction {
    pub lost: bool,
    pub lost_months: Option<u32>,
    pub mobile: bool,
    pub reason: String,
}

/// The mutation the change log records for a write the server makes: the id and client time
/// of the mutation that caused it (0 and none for an act of its own), the written record and
/// operation.
fn server_mutation(
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

/// The change log's mutation for a write the server makes on a request of its own (not a
/// device's push): id 0, no client time.
fn act(collection: Collection, id: Uuid) -> Mutation {
    server_mutation((0, None), collection, id, Op::Patch, None)
}

/// Freezes the campaign's baseline (docs/domain.md §8.9): every live member of the tenant gets
/// its snapshot of kind `at_start`, judged against the campaign's start; the campaign records
/// the day and how many members it held. Done once: a second freeze is refused. One
/// transaction, under the tenant's write lock, recorded in the change log under `writer`.
pub async fn freeze_baseline(
    store: &Store,
    writer: Writer<'_>,
    campaign_id: Uuid,
) -> Result<Result<Frozen, BaselineRefusal>, SyncError> {
    let mut batch = Batch::begin(store, writer).await?;
    let Some(campaign) = batch
        .record(Collection::Campaigns, campaign_id)
        .await?
        .filter(|r| !r.deleted && r.tenant_id == writer.tenant_id)
    else {
        return Ok(Err(BaselineRefusal::NotFound));
    };
    if let Some(on) = baseline::frozen_on(&campaign.fields) {
        return Ok(Err(BaselineRefusal::Taken(on)));
    }
    let Some(plan) = Plan::from_fields(&campaign.fields) else {
        return Ok(Err(BaselineRefusal::NoCampaign));
    };
    let today = paicha_domain::calendar::china_date(batch.now);
    let members = batch.live_under(Collection::Members, "").await?;
    let count = members.len() as u64;
    for member in members {
        let snapshot = baseline::assess(&member.fields, &plan, baseline::Kind::AtStart);
        let m = act(Collection::Members, member.id);
        batch
            .server_patch(member, baseline::to_fields(&snapshot, today), &m)
            .await?;
    }
    let mut fields = Map::new();
    fields.insert("baseline_on".into(), Value::String(today.to_string()));
    fields.insert("baseline_members".into(), Value::from(count));
    batch
        .server_patch(campaign, fields, &act(Collection::Campaigns, campaign_id))
        .await?;
    let version = batch.commit().await?;
    Ok(Ok(Frozen {
        version,
        members: count,
        on: today,
    }))
}

/// Notes that the 组织办 signs a report of the tenant's campaign (docs/domain.md §8.14): the
/// campaign's baseline must be fixed; the first signature stamps the campaign's `reported_on`,
/// from when a member's snapshot changes only by the 组织办's correction. Returns the version
/// of that stamp, if this signature made it.
pub async fn note_signed_report(
    store: &Store,
    writer: Writer<'_>,
) -> Result<Result<Option<u64>, BaselineRefusal>, SyncError> {
    let mut batch = Batch::begin(store, writer).await?;
    let campaigns = batch.live_under(Collection::Campaigns, "").await?;
    let Some((campaign_id, plan)) = Plan::latest(campaigns.iter().map(|r| (r.id, &r.fields)))
    else {
        return Ok(Err(BaselineRefusal::NoCampaign));
    };
    if plan.baseline_on.is_none() {
        return Ok(Err(BaselineRefusal::NotTaken));
    }
    if plan.reported_on.is_none() {
        let Some(campaign) = campaigns.into_iter().find(|r| r.id == campaign_id) else {
            return Ok(Err(BaselineRefusal::NotFound));
        };
        let today = paicha_domain::calendar::china_date(batch.now);
        let mut fields = Map::new();
        fields.insert("reported_on".into(), Value::String(today.to_string()));
        batch
            .server_patch(campaign, fields, &act(Collection::Campaigns, campaign_id))
            .await?;
        return Ok(Ok(Some(batch.commit().await?)));
    }
    Ok(Ok(None))
}

/// Corrects one member's snapshot (docs/domain.md §8.9): the 组织办's explicit act, with its
/// reason and the day, recorded in the change log under `writer` like every write.
pub async fn correct_baseline(
    store: &Store,
    writer: Writer<'_>,
    member_id: Uuid,
    correction: &Correction,
) -> Result<Result<u64, BaselineRefusal>, SyncError> {
    let mut batch = Batch::begin(store, writer).await?;
    let Some(member) = batch
        .record(Collection::Members, member_id)
        .await?
        .filter(|r| !r.deleted && writer.sees(r))
    else {
        return Ok(Err(BaselineRefusal::NotFound));
    };
    if baseline::of_fields(&member.fields).is_none() {
        return Ok(Err(BaselineRefusal::NotTaken));
    }
    let today = paicha_domain::calendar::china_date(batch.now);
    let mut fields = Map::new();
    fields.insert("baseline_lost".into(), Value::Bool(correction.lost));
    fields.insert(
        "baseline_lost_months".into(),
        correction
            .lost_months
            .filter(|_| correction.lost)
            .map_or(Value::Null, Value::from),
    );
    fields.insert("baseline_mobile".into(), Value::Bool(correction.mobile));
    fields.insert(
        "baseline_corrected_on".into(),
        Value::String(today.to_string()),
    );
    fields.insert(
        "baseline_correction".into(),
        Value::String(correction.reason.clone()),
    );
    batch
        .server_patch(member, fields, &act(Collection::Members, member_id))
        .await?;
    let version = batch.commit().await?;
    Ok(Ok(version))
}

type Reply = tokio::sync::oneshot::Sender<Result<PushOutcome, String>>;

/// One tenant's line of pushes waiting for the next group commit.
#[derive(Default)]
struct TenantLine {
    waiting: std::sync::Mutex<Vec<(Job, Reply)>>,
    leader: tokio::sync::Mutex<()>,
}

/// Group commit: concurrent pushes of one tenant are applied together, in arrival order, in
/// one transaction, so many small pushes cost one commit instead of one each. Each push still
/// gets its own results, exactly as if it had been applied alone at its place in the order.
#[derive(Default, Clone)]
pub struct Committer {
    lines: std::sync::Arc<std::sync::Mutex<HashMap<Uuid, std::sync::Arc<TenantLine>>>>,
}

/// Most jobs one group commit takes.
const MAX_GROUP: usize = 64;

impl Committer {
    fn line(&self, tenant_id: Uuid) -> std::sync::Arc<TenantLine> {
        let mut lines = match self.lines.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        lines.entry(tenant_id).or_default().clone()
    }

    /// Applies a job, grouped with whatever else of its tenant is waiting.
    pub async fn push(&self, store: &Store, job: Job) -> Result<PushOutcome, SyncError> {
        let line = self.line(job.tenant_id);
        let tenant_id = job.tenant_id;
        let (tx, rx) = tokio::sync::oneshot::channel();
        lock(&line.waiting).push((job, tx));
        // Whoever holds the lead applies everything waiting; our job is either taken by the
        // current leader, or by us once we lead. The leading runs in a task of its own: if this
        // request is dropped (the client hung up), the others' pushes still finish and answer.
        {
            let line = line.clone();
            let store = store.clone();
            tokio::spawn(async move {
                let _lead = line.leader.lock().await;
                loop {
                    let group: Vec<(Job, Reply)> = {
                        let mut waiting = lock(&line.waiting);
                        let n = waiting.len().min(MAX_GROUP);
                        waiting.drain(..n).collect()
                    };
                    if group.is_empty() {
                        break;
                    }
                    let (jobs, replies): (Vec<Job>, Vec<Reply>) = group.into_iter().unzip();
                    match apply_group(&store, tenant_id, &jobs).await {
                        Ok((results, version)) => {
                            for (reply, results) in replies.into_iter().zip(results) {
                                let _ = reply.send(Ok(PushOutcome { results, version }));
                            }
                        }
                        Err(err) if jobs.len() > 1 => {
                            // One job must not take the others down: apply each on its own.
                            tracing::warn!(error = %err, jobs = jobs.len(), "group commit failed; applying its pushes one by one");
                            for (job, reply) in jobs.iter().zip(replies) {
                                let alone =
                                    apply_group(&store, tenant_id, std::slice::from_ref(job)).await;
                                let answer = match alone {
                                    Ok((mut results, version)) => Ok(PushOutcome {
                                        results: results.pop().unwrap_or_default(),
                                        version,
                                    }),
                                    Err(err) => {
                                        tracing::error!(error = %err, "push failed");
                                        Err(err.to_string())
                                    }
                                };
                                let _ = reply.send(answer);
                            }
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "push failed");
                            for reply in replies {
                                let _ = reply.send(Err(err.to_string()));
                            }
                        }
                    }
                }
            });
        }
        // The leading task runs on its own: this request waits for its own answer only, and if
        // the request is dropped the task still finishes and answers the others. (A panic in it
        // drops the replies it held: their callers get an error, and nothing was committed.)
        match rx.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(message)) => Err(SyncError::Group(message)),
            Err(_) => Err(SyncError::Group(
                "the group commit ended without an answer".to_owned(),
            )),
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Whether a JSON value holds a NUL character in any string or key: PostgreSQL cannot store one
/// in text or jsonb, so such a mutation is refused before anything is written.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn parse(value: &Value) -> Result<Mutation, (Value, Rejection)> {
    if has_nul(value) {
        let echo = value
            .get("mutation_id")
            .filter(|v| v.is_number())
            .cloned()
            .unwrap_or(Value::Null);
        return Err((
            echo,
            reject("invalid_mutation", "变更中含有空字符（\\u0000）", None),
        ));
    }
    let echo = value.get("mutation_id").cloned().unwrap_or(Value::Null);
    let mutation = Mutation::deserialize(value).map_err(|e| {
        (
            echo.clone(),
            reject("invalid_mutation", format!("变更的格式不正确（{e}）"), None),
        )
    })?;
    if mutation.mutation_id <= 0 {
        return Err((
            echo,
            reject(
                "invalid_mutation_id",
                "mutation_id 应为正整数",
                Some("mutation_id"),
            ),
        ));
    }
    if mutation
        .client_time
        .as_ref()
        .is_some_and(|t| t.chars().count() > 64 || t.chars().any(char::is_control))
    {
        return Err((
            echo,
            reject(
                "invalid_mutation",
                "client_time 不能超过64个字符",
                Some("client_time"),
            ),
        ));
    }
    Ok(mutation)
}

/// What a mutation asks for, as a SHA-256 hex digest: its collection, record, unit, operation,
/// base version and fields (keys in canonical order), but not its id or `client_time`. A retry
/// of the same mutation has the same fingerprint; a different edit under the same id does not.
fn fingerprint(m: &Mutation) -> String {
    let content = json!({
        "collection": m.collection,
        "id": m.id,
        "org_unit_id": m.org_unit_id,
        "op": m.op,
        "base_version": m.base_version,
        "fields": m.fields,
    });
    crate::audit::canonical_sha256(&content)
}

/// A record id derived from another's, the same every time: the contact case a transfer
/// registered as lost opens (so a retry or a second edit never opens a second one).
fn derived_id(from: Uuid, what: &str) -> Uuid {
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

fn rejected(mutation_id: Value, r: Rejection) -> MutationResult {
    MutationResult {
        mutation_id,
        status: MutationStatus::Rejected,
        version: None,
        conflicts: None,
        error: Some(ErrorDetail {
            code: r.code.to_owned(),
            message: r.message,
            field: r.field,
            retry_after: None,
        }),
        first_status: None,
        missing_blobs: None,
    }
}

fn duplicate(first: MutationResult) -> MutationResult {
    let first_status = first.first_status.unwrap_or(first.status);
    MutationResult {
        status: MutationStatus::Duplicate,
        first_status: Some(first_status),
        ..first
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    Patch,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }
}

impl<'a> Batch<'a> {
    /// A batch in a transaction of its own, under the tenant's write lock.
    async fn begin(store: &Store, writer: Writer<'a>) -> Result<Self, SyncError> {
        let txn = store.begin_sync(writer.tenant_id).await?;
        Ok(Self::new(txn, writer, batch_time()))
    }

    /// Writes everything the batch did and commits it; returns the tenant's version after it.
    async fn commit(mut self) -> Result<u64, SyncError> {
        self.flush().await?;
        let version = self.version;
        self.txn.commit(version, &self.last_hash).await?;
        Ok(version)
    }

    fn new(txn: SyncTxn, writer: Writer<'a>, now: DateTime<Utc>) -> Self {
        Batch {
            version: txn.version,
            last_hash: txn.last_hash.clone(),
            txn,
            writer,
            now,
            units: HashMap::new(),
            records: HashMap::new(),
            created: Vec::new(),
            changed: Vec::new(),
            written: std::collections::HashSet::new(),
            entries: Vec::new(),
            conflicts: Vec::new(),
            id_numbers: HashMap::new(),
            results: Vec::new(),
            plan: None,
            pending: Vec::new(),
        }
    }

    /// The tenant's campaign plan as the batch stands: the campaign starting last, with the day
    /// its baseline was frozen, if it was.
    async fn plan(&mut self) -> Result<Option<Plan>, SyncError> {
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
    async fn live_under(
        &mut self,
        collection: Collection,
        path: &str,
    ) -> Result<Vec<RecordRow>, SyncError> {
        let scope = Scope {
            tenant_id: self.writer.tenant_id,
            path,
        };
        let read = self.txn.live_rows(scope, collection).await?;
        Ok(self.as_batch_stands(collection, read, |r| scope.sees(r.place())))
    }

    /// A member's live records of `collection` (information forms, contact cases) as the batch
    /// stands.
    async fn of_member(
        &mut self,
        collection: Collection,
        member: Uuid,
    ) -> Result<Vec<RecordRow>, SyncError> {
        let read = self
            .txn
            .live_rows_referring(collection, "member_id", member)
            .await?;
        let (tenant, wanted) = (self.writer.tenant_id, member.to_string());
        Ok(self.as_batch_stands(collection, read, |r| {
            r.tenant_id == tenant
                && r.fields.get("member_id").and_then(Value::as_str) == Some(wanted.as_str())
        }))
    }

    /// Reads, in one query per collection, the records the batch's mutations name.
    async fn prefetch(&mut self, named: Vec<(Collection, Uuid)>) -> Result<(), SyncError> {
        let mut wanted: HashMap<Collection, Vec<Uuid>> = HashMap::new();
        for (collection, id) in named {
            wanted.entry(collection).or_default().push(id);
        }
        for (collection, ids) in wanted {
            for id in &ids {
                self.records.insert((collection, *id), None);
            }
            for row in self.txn.records(collection, &ids).await? {
                self.records.insert((collection, row.id), Some(row));
            }
        }
        Ok(())
    }

    /// Reads these units (those not read yet) in one query. A group of single pushes from
    /// many branches read each branch by a statement of its own, one after the other, while
    /// it held the tenant's lock (docs/benchmarks.md, results of 2026-11-29, commit e974225).
    async fn load_units(&mut self, ids: &[Uuid]) -> Result<(), SyncError> {
        let unread: Vec<Uuid> = ids
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
        for unit in self.txn.org_units(&unread).await? {
            self.units.insert(unit.id, Some(unit));
        }
        Ok(())
    }

    /// Reads which live members hold these 公民身份号码 (those not read yet), in one query.
    async fn load_id_numbers(&mut self, numbers: &[String]) -> Result<(), SyncError> {
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
        for (id, number) in self.txn.live_members_with_id_numbers(&unread).await? {
            self.id_numbers.entry(number).or_default().push(id);
        }
        Ok(())
    }

    /// The rules that look at another record: an archive review is not opened for a member
    /// whose file is a cadre file.
    async fn check_across_records(
        &mut self,
        schema: &Schema,
        fields: &Map<String, Value>,
    ) -> Result<Result<(), Rejection>, SyncError> {
        if schema.collection != Collection::ArchiveReviews {
            return Ok(Ok(()));
        }
        let Some(member) = fields
            .get("member_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(Ok(()));
        };
        Ok(match self.record(Collection::Members, member).await? {
            Some(row) => check_archive_review_member(&row.fields).map_err(Rejection::from),
            None => Ok(()),
        })
    }

    /// 公民身份号码 are unique among a tenant's live members: refuses `number` for member `id`
    /// when another live member holds it (as the batch stands), and otherwise notes it as held.
    async fn claim_id_number(
        &mut self,
        id: Uuid,
        number: &str,
    ) -> Result<Result<(), Rejection>, SyncError> {
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
                return Ok(Err(reject(
                    "id_number_taken",
                    "本党工委已有在册党员使用此公民身份号码，请核对；同一人不能重复登记",
                    Some("id_number"),
                )));
            }
        }
        let held = self.id_numbers.entry(number.to_owned()).or_default();
        if !held.contains(&id) {
            held.push(id);
        }
        Ok(Ok(()))
    }

    /// A record as it stands in this batch.
    async fn record(
        &mut self,
        collection: Collection,
        id: Uuid,
    ) -> Result<Option<RecordRow>, SyncError> {
        if let Some(row) = self.records.get(&(collection, id)) {
            return Ok(row.clone());
        }
        let row = self.txn.record(collection, id).await?;
        self.records.insert((collection, id), row.clone());
        Ok(row)
    }

    /// Keeps a written record for the flush.
    fn store_row(&mut self, row: RecordRow, created: bool) {
        let key = (row.collection, row.id);
        if row.collection == Collection::Campaigns {
            // The plan is read again when next needed.
            self.plan = None;
        }
        if created {
            self.created.push(key);
            self.written.insert(key);
        } else if self.written.insert(key) {
            self.changed.push(key);
        }
        self.records.insert(key, Some(row));
    }

    /// Writes everything the batch did: records, audit entries, conflicts, results.
    async fn flush(&mut self) -> Result<(), SyncError> {
        let created: Vec<&RecordRow> = self
            .created
            .iter()
            .filter_map(|key| self.records.get(key).and_then(Option::as_ref))
            .collect();
        self.txn.insert_records(&created).await?;
        for key in &self.changed {
            if let Some(Some(row)) = self.records.get(key) {
                self.txn.update_record(row).await?;
            }
        }
        self.txn.append_changes(&self.entries).await?;
        self.txn.insert_conflicts(&self.conflicts).await?;
        self.txn.save_results(&self.results, self.now).await?;
        Ok(())
    }

    async fn apply(&mut self, m: &Mutation) -> Result<Result<Applied, Rejection>, SyncError> {
        let Some(collection) = Collection::parse(&m.collection) else {
            return Ok(Err(reject(
                "unknown_collection",
                format!(
                    "未知的数据集合：{}",
                    m.collection.chars().take(64).collect::<String>()
                ),
                Some("collection"),
            )));
        };
        let op = match m.op.as_str() {
            "put" => Op::Put,
            "patch" => Op::Patch,
            "delete" => Op::Delete,
            _ => {
                return Ok(Err(reject(
                    "invalid_op",
                    "op 应为 put、patch 或 delete",
                    Some("op"),
                )));
            }
        };
        let existing = self.record(collection, m.id).await?;
        if let Some(row) = &existing {
            if row.tenant_id != self.writer.tenant_id {
                // Another tenant's record: say nothing about it.
                return Ok(Err(if op == Op::Put {
                    reject("id_taken", "该记录标识已被使用，请换一个", Some("id"))
                } else {
                    reject("not_found", "记录不存在", Some("id"))
                }));
            }
            if !self.writer.writes(row) {
                return Ok(Err(reject(
                    "outside_scope",
                    "该记录不在您的管辖范围内",
                    Some("id"),
                )));
            }
        }
        let schema = collection.schema();
        match (op, existing) {
            (Op::Put, None) => self.create(schema, m).await,
            (Op::Patch | Op::Delete, None) => {
                Ok(Err(reject("not_found", "记录不存在", Some("id"))))
            }
            (Op::Delete, Some(row)) if row.deleted => Ok(Ok(Applied {
                version: row.version,
                conflicts: vec![],
                missing_blobs: vec![],
            })),
            (_, Some(row)) if row.deleted => {
                Ok(Err(reject("record_deleted", "该记录已删除", Some("id"))))
            }
            (Op::Delete, Some(row)) => self.delete(schema, m, row).await,
            (Op::Put | Op::Patch, Some(row)) => self.update(schema, m, op, row).await,
        }
    }

    fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    async fn unit(&mut self, id: Uuid) -> Result<Option<OrgUnitRecord>, SyncError> {
        if let Some(unit) = self.units.get(&id) {
            return Ok(unit.clone());
        }
        let unit = self.txn.org_unit(id).await?;
        self.units.insert(id, unit.clone());
        Ok(unit)
    }

    /// A unit the writer may put a record at or address one to: in its tenant and subtree.
    async fn unit_in_scope(
        &mut self,
        id: Uuid,
        field: &str,
    ) -> Result<Result<OrgUnitRecord, Rejection>, SyncError> {
        let Some(unit) = self
            .unit(id)
            .await?
            .filter(|u| u.tenant_id == self.writer.tenant_id)
        else {
            return Ok(Err(reject("not_found", "组织不存在", Some(field))));
        };
        if !unit.path.starts_with(self.writer.unit_path) {
            return Ok(Err(reject(
                "outside_scope",
                "该组织不在您的管辖范围内",
                Some(field),
            )));
        }
        Ok(Ok(unit))
    }

    /// Checks the references among `changed`: records that exist, are live and are visible to
    /// the writer; units of the right kind in its subtree.
    async fn check_references(
        &mut self,
        schema: &Schema,
        changed: &Map<String, Value>,
    ) -> Result<Result<(), Rejection>, SyncError> {
        for (name, value) in changed {
            let (Some(spec), Some(id)) = (
                schema.field(name),
                value.as_str().and_then(|s| Uuid::parse_str(s).ok()),
            ) else {
                continue;
            };
            let ok = match spec.ty {
                FieldType::Ref(target) => self
                    .record(target, id)
                    .await?
                    .is_some_and(|r| !r.deleted && self.writer.sees(&r)),
                FieldType::Unit(kind) => match self.unit_in_scope(id, name).await? {
                    Ok(unit) => unit.kind == kind,
                    Err(_) => false,
                },
                _ => continue,
            };
            if !ok {
                return Ok(Err(reject(
                    "invalid_reference",
                    format!("「{}」引用的记录不存在或不在您的管辖范围内", spec.label_zh),
                    Some(name),
                )));
            }
        }
        Ok(Ok(()))
    }

    async fn create(
        &mut self,
        schema: &Schema,
        m: &Mutation,
    ) -> Result<Result<Applied, Rejection>, SyncError> {
        let Some(unit_id) = m.org_unit_id else {
            return Ok(Err(reject(
                "org_unit_required",
                "新建记录时须指定所属组织 org_unit_id",
                Some("org_unit_id"),
            )));
        };
        let unit = match self.unit_in_scope(unit_id, "org_unit_id").await? {
            Ok(unit) => unit,
            Err(r) => return Ok(Err(r)),
        };
        if !schema.owner_kinds.contains(&unit.kind) {
            return Ok(Err(reject(
                "invalid_owner_unit",
                format!("{}不能属于{}", schema.label_zh, unit.kind.label_zh()),
                Some("org_unit_id"),
            )));
        }
        if !schema.creators.contains(&self.writer.role) {
            return Ok(Err(reject(
                "forbidden",
                format!("{}不能新建{}", self.writer.role.label_zh(), schema.label_zh),
                None,
            )));
        }
        // One campaign per tenant: the status reports it, and its baseline is the only one.
        if schema.collection == Collection::Campaigns
            && !self.live_under(Collection::Campaigns, "").await?.is_empty()
        {
            return Ok(Err(reject(
                "campaign_exists",
                "本党工委已有一项排查工作，不能再新建；请修改现有的排查工作",
                None,
            )));
        }
        let given = m.fields.clone().unwrap_or_default();
        let mut fields = match validate_fields(schema, &given, Mode::Create, self.writer.role) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e.into())),
        };
        fields.retain(|_, v| !v.is_null());
        let today = paicha_domain::calendar::china_date(self.now);
        if let Err(e) = check_past_dates(schema.collection, &fields, today) {
            return Ok(Err(e.into()));
        }
        for (name, value) in &fields {
            if let Err(e) = check_transition(
                schema.collection,
                name,
                Start::New,
                value.as_str(),
                self.writer.role,
            ) {
                return Ok(Err(e.into()));
            }
        }
        self.stamp(schema, None, &mut fields);
        self.pending.clear();
        self.compute(schema, m.id, &unit.path, None, &mut fields)
            .await?;
        if let Err(e) = check_record(schema.collection, &fields) {
            return Ok(Err(e.into()));
        }
        if let Err(e) = check_role_rules(schema.collection, &fields, self.writer.role) {
            return Ok(Err(e.into()));
        }
        if let Err(e) = check_required_for_steps(schema.collection, &fields, &|_| true) {
            return Ok(Err(e.into()));
        }
        if let Err(r) = self.check_confirmed(schema, m.id, &fields, true).await? {
            return Ok(Err(r));
        }
        if let Err(r) = self.check_references(schema, &fields).await? {
            return Ok(Err(r));
        }
        if let Some(number) = id_number_of(schema, &fields)
            && let Err(r) = self.claim_id_number(m.id, &number).await?
        {
            return Ok(Err(r));
        }
        if let Err(r) = self.check_across_records(schema, &fields).await? {
            return Ok(Err(r));
        }
        let addressee = match schema.addressed_to.and_then(|f| fields.get(f)) {
            Some(value) => {
                let id = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
                match id {
                    Some(id) => self.unit(id).await?,
                    None => None,
                }
            }
            None => None,
        };

        let version = self.next_version();
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
            tenant_id: self.writer.tenant_id,
            org_unit_id: unit.id,
            owner_path: unit.path.clone(),
            addressee_id: addressee.as_ref().map(|u| u.id),
            addressee_path: addressee.map(|u| u.path),
            version,
            deleted: false,
            fields,
            field_versions,
            created_at: self.now,
            created_by: self.writer.user_id,
            updated_at: self.now,
            updated_by: self.writer.user_id,
            device_id: Some(self.writer.device_id.to_owned()),
        };
        self.store_row(row.clone(), true);
        let missing_blobs = self.blob_refs(schema, &row, None).await?;
        self.append(&row, Op::Put, m, Value::Object(changes))
            .await?;
        self.follow_up(&row, m).await?;
        Ok(Ok(Applied {
            version,
            conflicts: vec![],
            missing_blobs,
        }))
    }

    /// Adds the fields the server stamps when a status takes a value (`workflow::stamps`):
    /// today's date in China; the first time only, except the stamps taken again at every move
    /// (`workflow::restamped`: a ledger submitted again is received again).
    fn stamp(
        &self,
        schema: &Schema,
        existing: Option<&Map<String, Value>>,
        fields: &mut Map<String, Value>,
    ) {
        let today = paicha_domain::calendar::china_date(self.now).to_string();
        let names: Vec<&'static str> = fields
            .iter()
            .flat_map(|(name, value)| stamps(schema.collection, name, value.as_str()))
            .filter(|stamp| {
                restamped(schema.collection, stamp)
                    || existing
                        .and_then(|e| e.get(*stamp))
                        .is_none_or(Value::is_null)
            })
            .collect();
        for name in names {
            fields.insert(name.to_owned(), Value::String(today.clone()));
        }
    }

    /// Adds what the server computes for a write (no role writes these fields):
    /// - a typed date a deadline judges gets the day it reached the server, and 补录 when it
    ///   lies more than the campaign's days before it (`paicha_domain::entry`, docs/domain.md
    ///   §8.15);
    /// - a member's start facts follow what the branch records (`baseline::track`), and once
    ///   the baseline is fixed its snapshot follows them (`baseline::upkeep`; a member first
    ///   recorded afterwards is `added`), docs/domain.md §8.9;
    /// - a contact case's `lost_months_at_start` comes from its member's snapshot, or else the
    ///   lost-contact rule on the member's fields (§8.1);
    /// - a ledger submission moving to `submitted` takes the work area's entries of its ledger
    ///   not held by another submission: it records how many and the SHA-256 of their content,
    ///   and each entry is marked with the submission right after (which freezes it, §5.7).
    ///
    /// `existing` is the record before the write (none: it is created); `fields` are all of a
    /// new record's fields, or the changed ones of an update.
    async fn compute(
        &mut self,
        schema: &Schema,
        id: Uuid,
        owner_path: &str,
        existing: Option<&Map<String, Value>>,
        fields: &mut Map<String, Value>,
    ) -> Result<(), SyncError> {
        if let Some(typed) = paicha_domain::entry::typed(schema.collection) {
            let days = self
                .plan()
                .await?
                .map_or(paicha_domain::entry::LATE_ENTRY_DAYS, |p| p.late_entry_days);
            let today = paicha_domain::calendar::china_date(self.now);
            let stamped = paicha_domain::entry::stamp(typed, existing, fields, today, days);
            for (k, v) in stamped {
                let was = existing.and_then(|e| e.get(&k)).unwrap_or(&Value::Null);
                if *was != v {
                    fields.insert(k, v);
                }
            }
        }
        match schema.collection {
            Collection::Members => {
                if let Some(plan) = self.plan().await? {
                    let start = baseline::track(existing, fields, plan.start_date);
                    fields.extend(start);
                    let mut merged = existing.cloned().unwrap_or_default();
                    merged.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                    merged.retain(|_, v| !v.is_null());
                    let today = paicha_domain::calendar::china_date(self.now);
                    let snapshot = baseline::upkeep(existing, &merged, &plan, today);
                    fields.extend(snapshot);
                    if existing.is_none() {
                        fields.retain(|_, v| !v.is_null());
                    }
                }
            }
            Collection::ContactCases if existing.is_none() || fields.contains_key("member_id") => {
                let months = match fields
                    .get("member_id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                {
                    Some(member) => self.lost_months_of(member).await?,
                    None => None,
                };
                let had = existing.and_then(|e| e.get("lost_months_at_start"));
                match months {
                    Some(n) => {
                        fields.insert("lost_months_at_start".into(), Value::from(n));
                    }
                    None if had.is_some() => {
                        fields.insert("lost_months_at_start".into(), Value::Null);
                    }
                    None => {}
                }
            }
            Collection::LedgerSubmissions
                if fields.get("status").and_then(Value::as_str) == Some("submitted") =>
            {
                let ledger = fields
                    .get("ledger")
                    .or_else(|| existing.and_then(|e| e.get("ledger")))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let mut taken = Vec::new();
                for entry in self
                    .live_under(Collection::RosterLedgerEntries, owner_path)
                    .await?
                {
                    if entry.fields.get("ledger").and_then(Value::as_str) != Some(ledger.as_str()) {
                        continue;
                    }
                    let holder = entry
                        .fields
                        .get("submission_id")
                        .and_then(Value::as_str)
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .filter(|h| *h != id);
                    let held = match holder {
                        Some(h) => self
                            .record(Collection::LedgerSubmissions, h)
                            .await?
                            .is_some_and(|r| {
                                !r.deleted
                                    && matches!(
                                        r.fields.get("status").and_then(Value::as_str),
                                        Some("submitted" | "approved")
                                    )
                            }),
                        None => false,
                    };
                    if !held {
                        taken.push(entry);
                    }
                }
                fields.insert("submitted_entries".into(), Value::from(taken.len()));
                fields.insert(
                    "entries_sha256".into(),
                    Value::String(entries_digest(&taken)),
                );
                for entry in taken {
                    let mut set = Map::new();
                    set.insert("submission_id".into(), Value::String(id.to_string()));
                    self.pending
                        .push((Collection::RosterLedgerEntries, entry.id, set));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Months a member had been without contact at the campaign's start: its corrected
    /// snapshot's, or the judgement of its start facts (docs/domain.md §8.9).
    async fn lost_months_of(&mut self, member: Uuid) -> Result<Option<u32>, SyncError> {
        let Some(row) = self.record(Collection::Members, member).await? else {
            return Ok(None);
        };
        Ok(match self.plan().await? {
            Some(plan) => baseline::lost_months(&row.fields, &plan),
            None => None,
        })
    }

    /// §4.1, §8.7: a member moved to `confirmed_*` needs a complete, signed information form
    /// of the matching mode, or a recorded exception (`workflow::check_confirmation`).
    async fn check_confirmed(
        &mut self,
        schema: &Schema,
        member: Uuid,
        record: &Map<String, Value>,
        moving: bool,
    ) -> Result<Result<(), Rejection>, SyncError> {
        let confirming = record
            .get("roster_status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("confirmed_"));
        if schema.collection != Collection::Members || !moving || !confirming {
            return Ok(Ok(()));
        }
        let forms = self.of_member(Collection::InfoForms, member).await?;
        let forms: Vec<&Map<String, Value>> = forms.iter().map(|r| &r.fields).collect();
        Ok(check_confirmation(record, &forms).map_err(Rejection::from))
    }

    /// Why a ledger entry may not change: the submission holding it is submitted or approved
    /// (the 组织办 audits what was submitted; a returned submission frees its entries).
    async fn frozen_entry(&mut self, row: &RecordRow) -> Result<Option<Rejection>, SyncError> {
        let Some(holder) = row
            .fields
            .get("submission_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(None);
        };
        let status = self
            .record(Collection::LedgerSubmissions, holder)
            .await?
            .filter(|r| !r.deleted)
            .and_then(|r| {
                r.fields
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        Ok(match status.as_deref() {
            Some("submitted" | "approved") => Some(reject(
                "ledger_entry_frozen",
                "该条目已随台帐报送组织办，报送期间不能修改或删除；如需更正，请组织办退回后再改",
                Some("id"),
            )),
            _ => None,
        })
    }

    /// What the server does after a write: the writes `compute` left pending, and a transfer
    /// registered as lost opens a contact case for its member (docs/domain.md §6.4), one per
    /// transfer, unless the member has an open case already.
    async fn follow_up(&mut self, row: &RecordRow, m: &Mutation) -> Result<(), SyncError> {
        for (collection, id, fields) in std::mem::take(&mut self.pending) {
            if let Some(target) = self.record(collection, id).await?.filter(|r| !r.deleted) {
                self.server_patch(target, fields, m).await?;
            }
        }
        if row.collection != Collection::Transfers
            || row.fields.get("registered_lost").and_then(Value::as_bool) != Some(true)
        {
            return Ok(());
        }
        let (Some(member), Some(branch)) = (
            row.fields
                .get("member_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok()),
            row.addressee_id,
        ) else {
            return Ok(());
        };
        let case_id = derived_id(row.id, "contact_case");
        if self
            .record(Collection::ContactCases, case_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        // A case the branch already keeps open for the member serves: no second one.
        let open = self
            .of_member(Collection::ContactCases, member)
            .await?
            .into_iter()
            .any(|c| {
                matches!(
                    c.fields.get("result").and_then(Value::as_str),
                    None | Some("searching")
                )
            });
        if open {
            return Ok(());
        }
        let Some(unit) = self.unit(branch).await? else {
            return Ok(());
        };
        let mut fields = Map::new();
        fields.insert("member_id".into(), Value::String(member.to_string()));
        fields.insert("result".into(), Value::String("searching".into()));
        let name = row
            .fields
            .get("member_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let list = row
            .fields
            .get("list_name")
            .and_then(Value::as_str)
            .unwrap_or("转出明细");
        fields.insert(
            "remarks".into(),
            Value::String(format!(
                "转出后接收方党组织联系不上，登记为失联党员（{list}：{name}），由系统据转出明细开立"
            )),
        );
        if let Some(months) = self.lost_months_of(member).await? {
            fields.insert("lost_months_at_start".into(), Value::from(months));
        }
        self.server_create(Collection::ContactCases, case_id, &unit, fields, m)
            .await
    }

    /// Sets `fields` on an existing record as the server: no role checks (the fields are the
    /// server's or follow from a write already checked), recorded in the change log under the
    /// writer and mutation that caused it.
    async fn server_patch(
        &mut self,
        mut row: RecordRow,
        fields: Map<String, Value>,
        m: &Mutation,
    ) -> Result<(), SyncError> {
        let changed: Map<String, Value> = fields
            .into_iter()
            .filter(|(k, v)| row.fields.get(k).unwrap_or(&Value::Null) != v)
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
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
        let cause = (m.mutation_id, m.client_time.clone());
        let server_m = server_mutation(cause, row.collection, row.id, Op::Patch, None);
        self.append(&row, Op::Patch, &server_m, Value::Object(changes))
            .await
    }

    /// Creates a record as the server (see [`Batch::server_patch`]), owned by `unit`.
    async fn server_create(
        &mut self,
        collection: Collection,
        id: Uuid,
        unit: &OrgUnitRecord,
        fields: Map<String, Value>,
        m: &Mutation,
    ) -> Result<(), SyncError> {
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
        let changes: Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, json!([Value::Null, v])))
            .collect();
        let cause = (m.mutation_id, m.client_time.clone());
        let server_m = server_mutation(cause, collection, id, Op::Put, Some(unit.id));
        self.append(&row, Op::Put, &server_m, Value::Object(changes))
            .await
    }

    async fn update(
        &mut self,
        schema: &Schema,
        m: &Mutation,
        op: Op,
        mut row: RecordRow,
    ) -> Result<Result<Applied, Rejection>, SyncError> {
        if m.org_unit_id.is_some_and(|u| u != row.org_unit_id) {
            return Ok(Err(reject(
                "org_unit_immutable",
                "记录的所属组织不能更改",
                Some("org_unit_id"),
            )));
        }
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
        let normalized = match validate_fields(schema, &given, mode, self.writer.role) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e.into())),
        };
        let changed: Map<String, Value> = normalized
            .into_iter()
            .filter(|(k, v)| row.fields.get(k).unwrap_or(&Value::Null) != v)
            .collect();
        if let Some(addressed) = schema.addressed_to.filter(|f| changed.contains_key(*f)) {
            return Ok(Err(reject(
                "field_immutable",
                "记录的下发对象不能更改，请删除后重新下发",
                Some(addressed),
            )));
        }
        if changed.is_empty() {
            return Ok(Ok(Applied {
                version: row.version,
                conflicts: vec![],
                missing_blobs: vec![],
            }));
        }
        for (name, value) in &changed {
            let from = row.fields.get(name).and_then(Value::as_str);
            if let Err(e) = check_transition(
                schema.collection,
                name,
                Start::Existing(from),
                value.as_str(),
                self.writer.role,
            ) {
                return Ok(Err(e.into()));
            }
        }
        if schema.collection == Collection::RosterLedgerEntries
            && self.writer.role != Role::OrgOffice
            && let Some(r) = self.frozen_entry(&row).await?
        {
            return Ok(Err(r));
        }
        if let Err(e) = check_fixed_change(schema.collection, &row.fields, &changed) {
            return Ok(Err(e.into()));
        }
        let today = paicha_domain::calendar::china_date(self.now);
        if let Err(e) = check_past_dates(schema.collection, &changed, today) {
            return Ok(Err(e.into()));
        }
        let mut changed = changed;
        self.stamp(schema, Some(&row.fields), &mut changed);
        self.pending.clear();
        let owner_path = row.owner_path.clone();
        self.compute(schema, row.id, &owner_path, Some(&row.fields), &mut changed)
            .await?;
        let mut merged = row.fields.clone();
        for (k, v) in &changed {
            merged.insert(k.clone(), v.clone());
        }
        merged.retain(|_, v| !v.is_null());
        if let Err(e) = check_record(schema.collection, &merged) {
            return Ok(Err(e.into()));
        }
        if let Err(e) = check_role_rules(schema.collection, &merged, self.writer.role) {
            return Ok(Err(e.into()));
        }
        let touched = |name: &str| changed.contains_key(name);
        if let Err(e) = check_required_for_steps(schema.collection, &merged, &touched) {
            return Ok(Err(e.into()));
        }
        let confirming = changed.contains_key("roster_status");
        if let Err(r) = self
            .check_confirmed(schema, row.id, &merged, confirming)
            .await?
        {
            return Ok(Err(r));
        }
        if let Err(r) = self.check_references(schema, &changed).await? {
            return Ok(Err(r));
        }
        if let Some(number) = id_number_of(schema, &changed)
            && let Err(r) = self.claim_id_number(row.id, &number).await?
        {
            return Ok(Err(r));
        }

        let version = self.next_version();
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
                    user_id: self.writer.user_id,
                    device_id: self.writer.device_id.to_owned(),
                    created_at: self.now,
                    resolved_at: None,
                    resolved_by: None,
                };
                self.conflicts.push(conflict);
            }
            row.field_versions
                .insert(field.clone(), Value::from(version));
            changes.insert(field.clone(), json!([old, new]));
        }
        row.fields = merged;
        row.version = version;
        row.updated_at = self.now;
        row.updated_by = self.writer.user_id;
        row.device_id = Some(self.writer.device_id.to_owned());
        self.store_row(row.clone(), false);
        let missing_blobs = self.blob_refs(schema, &row, Some(&changed)).await?;
        self.append(&row, op, m, Value::Object(changes)).await?;
        self.follow_up(&row, m).await?;
        Ok(Ok(Applied {
            version,
            conflicts,
            missing_blobs,
        }))
    }

    async fn delete(
        &mut self,
        schema: &Schema,
        m: &Mutation,
        mut row: RecordRow,
    ) -> Result<Result<Applied, Rejection>, SyncError> {
        if !row.owner_path.starts_with(self.writer.unit_path) {
            return Ok(Err(reject(
                "outside_scope",
                "只有记录的所属组织可以删除它",
                Some("id"),
            )));
        }
        if !schema.creators.contains(&self.writer.role) {
            return Ok(Err(reject(
                "forbidden",
                format!("{}不能删除{}", self.writer.role.label_zh(), schema.label_zh),
                None,
            )));
        }
        if schema.collection == Collection::RosterLedgerEntries
            && let Some(r) = self.frozen_entry(&row).await?
        {
            return Ok(Err(r));
        }
        if let Err(e) = check_delete(schema.collection, &row.fields) {
            return Ok(Err(e.into()));
        }
        let version = self.next_version();
        row.deleted = true;
        row.version = version;
        row.updated_at = self.now;
        row.updated_by = self.writer.user_id;
        row.device_id = Some(self.writer.device_id.to_owned());
        // A deleted record no longer opens its blobs to anyone.
        self.txn.set_blob_refs(&row, &[]).await?;
        self.store_row(row.clone(), false);
        self.append(&row, Op::Delete, m, json!({"deleted": [false, true]}))
            .await?;
        Ok(Ok(Applied {
            version,
            conflicts: vec![],
            missing_blobs: vec![],
        }))
    }

    /// Keeps the record's blob references current (when a blob field changed, or on create),
    /// and returns the referenced blobs not uploaded yet.
    async fn blob_refs(
        &self,
        schema: &Schema,
        row: &RecordRow,
        changed: Option<&Map<String, Value>>,
    ) -> Result<Vec<String>, SyncError> {
        let blob_fields: Vec<&str> = schema
            .fields
            .iter()
            .filter(|f| matches!(f.ty, FieldType::Blob | FieldType::BlobList))
            .map(|f| f.name)
            .collect();
        let touched = changed.is_none_or(|c| blob_fields.iter().any(|f| c.contains_key(*f)));
        if blob_fields.is_empty() || !touched {
            return Ok(vec![]);
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
        Ok(self.txn.set_blob_refs(row, &hashes).await?)
    }

    async fn append(
        &mut self,
        row: &RecordRow,
        op: Op,
        m: &Mutation,
        changes: Value,
    ) -> Result<(), SyncError> {
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
        Ok(())
    }
}
