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
//!
//! The parts: [`parse`] reads each mutation when its [`Job`] is made; the planner
//! ([`plan`], over the batch's state in [`batch`], reading through [`read::Reader`]) decides
//! what a group's mutations write and why one is refused ([`Rejection`]); this module is the
//! executor: it opens the transaction, prefetches what the mutations name, runs the planner,
//! sets blob references, flushes the writes and commits. [`group`] is the group commit;
//! [`baseline`] the 组织办's baseline acts.

use chrono::{DateTime, SubsecRound, Utc};
use paicha_domain::api::v1::{Mutation, MutationResult, MutationStatus};
use paicha_domain::collection::Collection;
use paicha_domain::id_number::IdNumber;
use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::role::Role;
use paicha_storage::{RecordRow, Scope, Store, SyncTxn};
use serde_json::Value;
use uuid::Uuid;

use crate::SyncError;

mod baseline;
mod batch;
mod group;
mod parse;
mod plan;
mod read;
mod reject;
mod relocate;
#[cfg(test)]
mod tests;

pub use baseline::{
    BaselineError, BaselineRefusal, Correction, Frozen, correct_baseline, freeze_baseline,
    note_signed_report,
};
pub use group::Committer;
pub use reject::Rejection;

use batch::Batch;
use plan::{Outcome, Planned};

/// Most mutations accepted in one push.
pub const MAX_MUTATIONS: usize = 1000;

/// Who is pushing.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub user_id: Uuid,
    pub role: Role,
    pub tenant_id: TenantId,
    /// The path of the caller's unit: it writes at or below it.
    pub unit_path: &'a str,
    pub device_id: &'a str,
}

impl Writer<'_> {
    pub(crate) fn scope(&self) -> Scope<'_> {
        Scope::new(self.tenant_id, self.unit_path)
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

/// What became of a push that is taken whole or not at all ([`push_all_or_nothing`]).
pub enum AllOrNothing {
    /// Every mutation applied, and the push committed.
    Committed(PushOutcome),
    /// A mutation was refused: nothing is written; the results say which and why.
    Refused(Vec<MutationResult>),
}

/// One device's batch, owned, for the group commit. Its mutations are parsed and fingerprinted
/// when it is made ([`Job::new`]), in the request's own task: the tenant's writer, which takes
/// one group at a time, then only applies them.
#[derive(Debug, Clone)]
pub struct Job {
    pub user_id: Uuid,
    pub role: Role,
    pub tenant_id: TenantId,
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
        let parsed = parse::parse(value);
        let print = parsed.as_ref().ok().map(parse::fingerprint);
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
/// nothing is written and the results say why. For imports, where a file is taken whole or
/// not at all.
pub async fn push_all_or_nothing(
    store: &Store,
    writer: Writer<'_>,
    mutations: &[Value],
) -> Result<AllOrNothing, SyncError> {
    let job = Job::new(writer, mutations);
    let (mut results, version, committed) =
        apply_jobs(store, writer.tenant_id, std::slice::from_ref(&job), true).await?;
    let results = results.pop().unwrap_or_default();
    Ok(if committed {
        AllOrNothing::Committed(PushOutcome { results, version })
    } else {
        AllOrNothing::Refused(results)
    })
}

/// Applies the jobs of one tenant, in order, in one transaction: one commit (and on SQLite one
/// `fsync`) for all of them. Returns each job's results and the tenant's version after them.
async fn apply_group(
    store: &Store,
    tenant_id: TenantId,
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
    units: Vec<UnitId>,
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
        if let Some(unit) = m.org_unit_id.map(UnitId::new)
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

/// Per job: who, which device, and the results to keep with their mutations' fingerprints.
type Kept = Vec<(Uuid, String, Vec<(i64, Value, String)>)>;

/// The work of [`apply_group`]; with `all_or_nothing`, a single rejection rolls everything
/// back (the third value says whether it committed).
async fn apply_jobs(
    store: &Store,
    tenant_id: TenantId,
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
    let mut batch = Batch::new(
        &txn,
        first_job.writer(),
        now,
        txn.version,
        txn.last_hash.clone(),
    );
    let named = named_in(jobs);
    batch.prefetch(named.records).await?;
    batch.load_id_numbers(&named.numbers).await?;
    batch.load_units(&named.units).await?;
    // Every job's stored results, read at once (the tenant's lock is held: none can be added
    // meanwhile but by this group, which the planner covers).
    let asked = asked_of(jobs);
    let seen = txn.mutation_results_of(&asked).await?;
    drop(asked);
    let planned = plan::plan_group(&mut batch, jobs, &seen).await?;
    // The blob references the writes name, in the order they were written; which of their
    // blobs are not uploaded yet.
    let mut missing = Vec::with_capacity(batch.blob_refs.len());
    for ((collection, id), hashes) in &batch.blob_refs {
        missing.push(match batch.held(*collection, *id) {
            Some(row) => txn.set_blob_refs(row, hashes).await?,
            None => vec![],
        });
    }
    let (all_results, kept) = answers(jobs, planned, &missing)?;
    let rejected = all_results
        .iter()
        .flatten()
        .any(|r| r.status == MutationStatus::Rejected);
    if all_or_nothing && rejected {
        // Dropping the transaction rolls it back: nothing of it is written.
        return Ok((all_results, batch.version(), false));
    }
    flush(&txn, &batch, &kept, now).await?;
    let (version, hash) = batch.end();
    txn.commit(version, &hash).await?;
    Ok((all_results, version, true))
}

/// The results of a group's planned mutations, and those to keep (the checked ones, with their
/// fingerprints). `missing` are the blobs not uploaded yet of each blob reference the batch set.
fn answers(
    jobs: &[Job],
    planned: Vec<Vec<Planned>>,
    missing: &[Vec<String>],
) -> Result<(Vec<Vec<MutationResult>>, Kept), SyncError> {
    let mut all: Vec<Vec<MutationResult>> = Vec::with_capacity(jobs.len());
    let mut kept = Vec::with_capacity(jobs.len());
    for (job, planned) in jobs.iter().zip(planned) {
        let mut results: Vec<MutationResult> = Vec::with_capacity(planned.len());
        let mut keep = Vec::new();
        for p in planned {
            let result = match p.outcome {
                Outcome::Applied(applied) => {
                    let missing = applied
                        .blobs
                        .and_then(|i| missing.get(i))
                        .filter(|m| !m.is_empty())
                        .cloned();
                    MutationResult {
                        mutation_id: p.mutation_id,
                        status: if applied.conflicts.is_empty() {
                            MutationStatus::Applied
                        } else {
                            MutationStatus::Merged
                        },
                        version: Some(applied.version),
                        conflicts: (!applied.conflicts.is_empty()).then_some(applied.conflicts),
                        error: None,
                        first_status: None,
                        missing_blobs: missing,
                    }
                }
                Outcome::Rejected(rejection) => rejection.result(p.mutation_id),
                Outcome::Duplicate(first) => duplicate(first),
                Outcome::Again { job, index } => {
                    let first = if job == all.len() {
                        results.get(index)
                    } else {
                        all.get(job).and_then(|r| r.get(index))
                    };
                    let first = first.cloned().ok_or_else(|| {
                        SyncError::Group("a duplicate of a mutation not planned".to_owned())
                    })?;
                    duplicate(first)
                }
            };
            if let Some((id, print)) = p.keep {
                keep.push((
                    id,
                    serde_json::to_value(&result).unwrap_or(Value::Null),
                    print,
                ));
            }
            results.push(result);
        }
        kept.push((job.user_id, job.device_id.clone(), keep));
        all.push(results);
    }
    Ok((all, kept))
}

fn duplicate(first: MutationResult) -> MutationResult {
    let first_status = first.first_status.unwrap_or(first.status);
    MutationResult {
        status: MutationStatus::Duplicate,
        first_status: Some(first_status),
        ..first
    }
}

/// Writes everything the batch did: records, audit entries, conflicts, results.
async fn flush(
    txn: &SyncTxn,
    batch: &Batch<'_, SyncTxn>,
    kept: &[(Uuid, String, Vec<(i64, Value, String)>)],
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    txn.insert_records(&batch.created_rows()).await?;
    for row in batch.changed_rows() {
        txn.update_record(row).await?;
    }
    txn.index_members(&batch.member_changes()).await?;
    txn.record_departures(&batch.departures).await?;
    for row in batch.departed_rows() {
        txn.move_conflicts(row).await?;
    }
    txn.append_changes(&batch.entries).await?;
    txn.insert_conflicts(&batch.conflicts).await?;
    txn.save_results(kept, now).await?;
    Ok(())
}

/// The time a batch's writes carry: cut to microseconds, what PostgreSQL keeps, so the audit
/// hash computed now is the one recomputed from the database later.
fn batch_time() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
