//! The committee's counts of a unit and of each child, as of a day, from the status read model
//! ([`crate::facts`]): what `GET /v1/status` answers and a signed report keeps.

use chrono::NaiveDate;
use paicha_domain::api::v1::{LedgerSubmissionStatus, PhaseStatus, UnitStatus};
use paicha_domain::campaign::{Phase, Plan};
use paicha_domain::facts::{Rollup, UnitRef, roll_up};
use paicha_domain::ids::UnitId;
use paicha_domain::org::OrgUnitKind;
use paicha_storage::OrgUnitRecord;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::state::AppState;

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
            id: u.id.uuid(),
            path: &u.path,
        }
    }
    let child_refs: Vec<UnitRef> = children.iter().map(unit).collect();
    let area_refs: Vec<UnitRef> = work_areas.iter().map(unit).collect();
    let subtree_refs: Vec<UnitRef> = subtree.iter().map(|u| unit(&u)).collect();
    let target_ref = UnitRef {
        id: target.id.uuid(),
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
                &subtree_refs,
                plan.as_ref(),
                as_of,
            );
            (plan, campaign_id, total, per_child)
        })
        .await?;

    let area_name = |id: Uuid| {
        work_areas
            .iter()
            .find(|u| u.id == UnitId::new(id))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let report = |unit: &OrgUnitRecord, rollup: Rollup| UnitStatus {
        org_unit_id: unit.id.uuid(),
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
