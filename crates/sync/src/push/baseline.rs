//! The baseline acts of the 组织办 (docs/domain.md §8.9, §8.14): server writes of the same
//! kind as a push's follow-up writes, one transaction each, under the tenant's write lock and
//! recorded in the change log under the writer.

use paicha_domain::baseline;
use paicha_domain::campaign::Plan;
use paicha_domain::collection::Collection;
use paicha_storage::{Store, StoreError, SyncTxn};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::batch::{Batch, Op, server_mutation};
use super::{Writer, batch_time, flush};
use crate::SyncError;

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

/// Why a baseline act did not happen: refused, or it failed.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("baseline act refused: {0:?}")]
    Refused(BaselineRefusal),
    #[error(transparent)]
    Failed(#[from] SyncError),
}

impl From<BaselineRefusal> for BaselineError {
    fn from(r: BaselineRefusal) -> Self {
        Self::Refused(r)
    }
}

impl From<StoreError> for BaselineError {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
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

/// The change log's mutation for a write the server makes on a request of its own (not a
/// device's push): id 0, no client time.
fn act(collection: Collection, id: Uuid) -> paicha_domain::api::v1::Mutation {
    server_mutation((0, None), collection, id, Op::Patch, None)
}

/// A batch of the server's own writes, in a transaction of their own.
fn begin<'a>(txn: &'a SyncTxn, writer: Writer<'a>) -> Batch<'a, SyncTxn> {
    Batch::new(
        txn,
        writer,
        batch_time(),
        txn.version,
        txn.last_hash.clone(),
    )
}

/// Writes what `batch` did; returns the tenant's version and the audit chain's head after it,
/// for the commit.
async fn write(txn: &SyncTxn, batch: Batch<'_, SyncTxn>) -> Result<(u64, String), SyncError> {
    flush(txn, &batch, &[], batch.now).await?;
    Ok(batch.end())
}

/// Freezes the campaign's baseline (docs/domain.md §8.9): every live member of the tenant gets
/// its snapshot of kind `at_start`, judged against the campaign's start; the campaign records
/// the day and how many members it held. Done once: a second freeze is refused. One
/// transaction, under the tenant's write lock, recorded in the change log under `writer`.
pub async fn freeze_baseline(
    store: &Store,
    writer: Writer<'_>,
    campaign_id: Uuid,
) -> Result<Frozen, BaselineError> {
    let txn = store.begin_sync(writer.tenant_id).await?;
    let mut batch = begin(&txn, writer);
    let Some(campaign) = batch
        .record(Collection::Campaigns, campaign_id)
        .await?
        .filter(|r| !r.deleted)
    else {
        return Err(BaselineRefusal::NotFound.into());
    };
    if let Some(on) = baseline::frozen_on(&campaign.fields) {
        return Err(BaselineRefusal::Taken(on).into());
    }
    let Some(plan) = Plan::from_fields(&campaign.fields) else {
        return Err(BaselineRefusal::NoCampaign.into());
    };
    let today = paicha_domain::calendar::china_date(batch.now);
    let members = batch.live_under(Collection::Members, "").await?;
    let count = members.len() as u64;
    for member in members {
        let snapshot = baseline::assess(&member.fields, &plan, baseline::Kind::AtStart);
        let m = act(Collection::Members, member.id);
        batch.server_patch(member, baseline::to_fields(&snapshot, today), &m);
    }
    let mut fields = Map::new();
    fields.insert("baseline_on".into(), Value::String(today.to_string()));
    fields.insert("baseline_members".into(), Value::from(count));
    batch.server_patch(campaign, fields, &act(Collection::Campaigns, campaign_id));
    let (version, hash) = write(&txn, batch).await?;
    txn.commit(version, &hash).await?;
    Ok(Frozen {
        version,
        members: count,
        on: today,
    })
}

/// Notes that the 组织办 signs a report of the tenant's campaign (docs/domain.md §8.14): the
/// campaign's baseline must be fixed; the first signature stamps the campaign's `reported_on`,
/// from when a member's snapshot changes only by the 组织办's correction. Returns the version
/// of that stamp, if this signature made it.
pub async fn note_signed_report(
    store: &Store,
    writer: Writer<'_>,
) -> Result<Option<u64>, BaselineError> {
    let txn = store.begin_sync(writer.tenant_id).await?;
    let mut batch = begin(&txn, writer);
    let campaigns = batch.live_under(Collection::Campaigns, "").await?;
    let Some((campaign_id, plan)) = Plan::latest(campaigns.iter().map(|r| (r.id, &r.fields)))
    else {
        return Err(BaselineRefusal::NoCampaign.into());
    };
    if plan.baseline_on.is_none() {
        return Err(BaselineRefusal::NotTaken.into());
    }
    if plan.reported_on.is_some() {
        return Ok(None);
    }
    let Some(campaign) = campaigns.into_iter().find(|r| r.id == campaign_id) else {
        return Err(BaselineRefusal::NotFound.into());
    };
    let today = paicha_domain::calendar::china_date(batch.now);
    let mut fields = Map::new();
    fields.insert("reported_on".into(), Value::String(today.to_string()));
    batch.server_patch(campaign, fields, &act(Collection::Campaigns, campaign_id));
    let (version, hash) = write(&txn, batch).await?;
    txn.commit(version, &hash).await?;
    Ok(Some(version))
}

/// Corrects one member's snapshot (docs/domain.md §8.9): the 组织办's explicit act, with its
/// reason and the day, recorded in the change log under `writer` like every write.
pub async fn correct_baseline(
    store: &Store,
    writer: Writer<'_>,
    member_id: Uuid,
    correction: &Correction,
) -> Result<u64, BaselineError> {
    let txn = store.begin_sync(writer.tenant_id).await?;
    let mut batch = begin(&txn, writer);
    let Some(member) = batch
        .record(Collection::Members, member_id)
        .await?
        .filter(|r| !r.deleted && writer.sees(r))
    else {
        return Err(BaselineRefusal::NotFound.into());
    };
    if baseline::of_fields(&member.fields).is_none() {
        return Err(BaselineRefusal::NotTaken.into());
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
    batch.server_patch(member, fields, &act(Collection::Members, member_id));
    let (version, hash) = write(&txn, batch).await?;
    txn.commit(version, &hash).await?;
    Ok(version)
}
