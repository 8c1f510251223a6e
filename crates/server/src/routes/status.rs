//! `GET /v1/status`: what the committee wants to see (docs/domain.md §10), for a unit and each of
//! its children, counted from the tenant's status read model (`crate::facts`).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::{LedgerSubmissionStatus, PhaseStatus, UnitStatus};
use paicha_domain::campaign::{Phase, Plan};
use paicha_domain::facts::{Rollup, UnitRef, roll_up};
use paicha_domain::org::OrgUnitKind;
use paicha_storage::OrgUnitRecord;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
    /// The day to judge phases and suspension clocks on (YYYY-MM-DD); default today in China.
    as_of: Option<NaiveDate>,
}

/// Progress of a unit and of each child unit: members, verification, lost contact at the
/// campaign's start, mobile members, forms, ledgers and their submission, searches,
/// transfers, archives, dispositions and suspension clocks, and each phase of the campaign
/// on time, late or missing.
#[utoipa::path(
    get, path = "/v1/status", tag = "status",
    params(StatusQuery),
    responses(
        (status = 200, description = "Counts of the unit and each child", body = UnitStatus),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> ApiResult<Json<UnitStatus>> {
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    let as_of = query
        .as_of
        .unwrap_or_else(|| paicha_domain::calendar::china_date(chrono::Utc::now()));
    Ok(Json(unit_status(&state, &target, as_of).await?.0))
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
