//! The status read model in memory: per tenant, the facts of its records
//! ([`paicha_domain::facts::Facts`]), brought up to date from the database before each use.
//!
//! The first status request of a tenant loads every record (for 100,000 members, about as
//! long as the status took before this model); each later one reads only the records whose
//! version is above the one the model has seen, through the `(tenant_id, version)` index.
//! The database stays the truth: every instance catches up by itself, and a model that fell
//! behind the tombstone horizon (deleted rows may be gone) is loaded afresh. A tenant's model
//! not used for a while is dropped by the housekeeping.
//!
//! [`unit_status`] turns it into the committee's counts of a unit and its children (the
//! status route and the signed reports both read it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use paicha_domain::api::v1::{LedgerSubmissionStatus, PhaseStatus, UnitStatus};
use paicha_domain::campaign::{Phase, Plan};
use paicha_domain::collection::Collection;
use paicha_domain::facts::{Facts, Rollup, UnitRef, roll_up};
use paicha_domain::org::OrgUnitKind;
use paicha_storage::{OrgUnitRecord, Store, StoreResult};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Default)]
struct Model {
    facts: Facts,
    /// Every change up to this version is applied; `None`: never loaded.
    version: Option<u64>,
    last_used: Option<Instant>,
}

/// The read models of the tenants, shared by the requests of one instance.
#[derive(Clone, Default)]
pub struct FactsCache {
    tenants: Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Model>>>>>,
}

impl FactsCache {
    /// Brings the tenant's model up to date, then runs `read` on it.
    pub async fn read<R>(
        &self,
        store: &Store,
        tenant_id: Uuid,
        read: impl FnOnce(&Facts) -> R,
    ) -> StoreResult<R> {
        Ok(self.read_versioned(store, tenant_id, read).await?.0)
    }

    /// [`FactsCache::read`], with the tenant's version the model then holds every change up to
    /// (a signed report names the audit entry of that version).
    pub async fn read_versioned<R>(
        &self,
        store: &Store,
        tenant_id: Uuid,
        read: impl FnOnce(&Facts) -> R,
    ) -> StoreResult<(R, u64)> {
        let slot = {
            let mut tenants = self
                .tenants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tenants.entry(tenant_id).or_default().clone()
        };
        let mut model = slot.lock().await;
        let after = model.version.unwrap_or(0);
        let mut changes = store
            .tenant_changes(tenant_id, &Collection::ALL, after)
            .await?;
        if model.version.is_some() && changes.purged_through > after {
            // Tombstones this model has not seen may be gone: start again.
            model.facts = Facts::default();
            changes = store.tenant_changes(tenant_id, &Collection::ALL, 0).await?;
        }
        for row in &changes.rows {
            model
                .facts
                .apply(row.collection, row.id, &row.path, row.deleted, &row.fields);
        }
        let version = changes.snapshot_version.max(after);
        model.version = Some(version);
        model.last_used = Some(Instant::now());
        Ok((read(&model.facts), version))
    }

    /// Drops the models not used for `idle`.
    pub fn evict_idle(&self, idle: Duration) {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants.retain(|_, slot| match slot.try_lock() {
            Ok(model) => model.last_used.is_some_and(|t| t.elapsed() < idle),
            // In use right now.
            Err(_) => true,
        });
    }
}

/// The status of `target` and of each child as of `as_of`, with the tenant's version it counts
/// every change up to. The caller has checked that the caller may read it.
pub async fn unit_status(
    state: &AppState,
    target: &OrgUnitRecord,
    as_of: NaiveDate,
) -> ApiResult<(UnitStatus, u64)> {
    let subtree = state.store.org_subtree(target).await?;
    let children: Vec<&OrgUnitRecord> = subtree
        .iter()
        .filter(|u| u.parent_id == Some(target.id))
        .collect();
    let work_areas: Vec<&OrgUnitRecord> = subtree
        .iter()
        .filter(|u| u.kind == OrgUnitKind::WorkArea)
        .collect();
    fn unit<'a>(u: &&'a OrgUnitRecord) -> UnitRef<'a> {
        UnitRef {
            id: u.id,
            path: &u.path,
        }
    }
    let child_refs: Vec<UnitRef> = children.iter().map(unit).collect();
    let area_refs: Vec<UnitRef> = work_areas.iter().map(unit).collect();
    let target_ref = UnitRef {
        id: target.id,
        path: &target.path,
    };
    let ((plan, campaign_id, total, per_child), version) = state
        .facts
        .read_versioned(&state.store, target.tenant_id, |facts| {
            let (campaign_id, plan) = facts.campaign().unzip();
            let (total, per_child) = roll_up(
                facts,
                target_ref,
                &child_refs,
                &area_refs,
                plan.as_ref(),
                as_of,
            );
            (plan, campaign_id, total, per_child)
        })
        .await?;

    let area_name = |id: Uuid| {
        work_areas
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let report = |unit: &OrgUnitRecord, rollup: Rollup| UnitStatus {
        org_unit_id: unit.id,
        name: unit.name.clone(),
        kind: unit.kind,
        campaign_start_date: None,
        as_of: None,
        plan: None,
        campaign_id: None,
        phases: plan
            .as_ref()
            .map(|plan| phases(plan, &rollup, as_of))
            .unwrap_or_default(),
        ledger_submissions: rollup
            .submissions
            .iter()
            .map(|s| LedgerSubmissionStatus {
                work_area_id: s.work_area,
                work_area_name: area_name(s.work_area),
                ledger: s.ledger.to_owned(),
                status: s.status.map(str::to_owned),
                received_on: s.received_on,
                state: s.state,
                state_zh: s.state.label_zh().to_owned(),
            })
            .collect(),
        reconciliation: (rollup.reconciliation.branches > 0).then(|| rollup.reconciliation.clone()),
        counts: rollup.counts,
        count_labels: None,
        children: vec![],
    };
    let mut top = report(target, total);
    top.children = children
        .iter()
        .zip(per_child)
        .map(|(unit, rollup)| report(unit, rollup))
        .collect();
    top.campaign_start_date = plan.as_ref().map(|p| p.start_date);
    top.as_of = Some(as_of);
    top.plan = plan;
    top.campaign_id = campaign_id;
    top.count_labels = Some(
        paicha_domain::status::COUNT_LABELS
            .iter()
            .map(|(k, zh)| ((*k).to_owned(), (*zh).to_owned()))
            .collect(),
    );
    Ok((top, version))
}

fn phases(plan: &Plan, rollup: &Rollup, as_of: NaiveDate) -> Vec<PhaseStatus> {
    Phase::ALL
        .iter()
        .map(|&phase| {
            let (starts_on, deadline) = plan.window(phase);
            let tally = rollup.tallies.get(&phase).copied().unwrap_or_default();
            let state = tally.state(deadline, as_of);
            PhaseStatus {
                phase,
                label_zh: phase.label_zh().to_owned(),
                starts_on,
                deadline,
                state,
                state_zh: state.label_zh().to_owned(),
                items: tally.items,
                on_time: tally.on_time,
                late: tally.late,
                not_done: tally.not_done(),
            }
        })
        .collect()
}
