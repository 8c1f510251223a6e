//! `GET /v1/transfers/lists`: for the street (or the committee) that sent 转出明细 down, which
//! branches have received each list and acted on it (docs/domain.md §4.4, §6.4).

use paicha_domain::ids::UnitId;
use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::{
    TransferBranchStatus, TransferListStatus, TransferLists, TransferProgress,
};
use paicha_domain::collection::Collection;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
}

/// What the list name of a transfer entered without one reads as.
const NO_LIST: &str = "未分批";

/// Each transfer list in the unit's scope, with each branch it reached.
#[utoipa::path(
    get, path = "/v1/transfers/lists", tag = "status",
    params(ListsQuery),
    responses(
        (status = 200, description = "The lists and their branches", body = TransferLists),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn transfer_lists(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ListsQuery>,
) -> ApiResult<Json<TransferLists>> {
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    let scope = crate::access::scope(&target);
    let rows = state.store.live_rows(scope, Collection::Transfers).await?;
    let cursors: HashMap<UnitId, u64> = state
        .store
        .unit_cursors(target.tenant_id)
        .await?
        .into_iter()
        .collect();
    let mut names: HashMap<UnitId, String> = HashMap::new();
    let mut lists: BTreeMap<String, (TransferProgress, BTreeMap<Uuid, TransferProgress>)> =
        BTreeMap::new();
    let mut withdrawn: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let Some(branch) = row.addressee_id else {
            continue;
        };
        let list = row
            .fields
            .get("list_name")
            .and_then(Value::as_str)
            .unwrap_or(NO_LIST)
            .to_owned();
        if paicha_domain::derived::transfer_withdrawn(&row.fields) {
            *withdrawn.entry(list.clone()).or_default() += 1;
            lists.entry(list).or_default();
            continue;
        }
        if !names.contains_key(&branch)
            && let Some(unit) = state.store.org_unit(branch).await?
        {
            names.insert(branch, unit.name);
        }
        let f = &row.fields;
        let text = |k: &str| f.get(k).and_then(Value::as_str);
        let set = |k: &str| f.get(k).is_some_and(|v| !v.is_null());
        let status = text("receipt_status");
        let lost = f.get("registered_lost").and_then(Value::as_bool) == Some(true);
        let acted_on = set("member_id")
            || set("follow_up_note")
            || lost
            || matches!(
                status,
                Some(
                    "receiver_contacted"
                        | "receipt_received"
                        | "receipt_reissued"
                        | "receiver_unreachable"
                )
            );
        let closed = paicha_domain::derived::receipt_status_in(status)
            || (status == Some("receiver_unreachable") && lost);
        let received = acted_on || cursors.get(&branch).is_some_and(|c| *c >= row.version);
        let (total, branches) = lists.entry(list).or_default();
        total.add(received, acted_on, closed, lost);
        branches
            .entry(branch.uuid())
            .or_default()
            .add(received, acted_on, closed, lost);
    }
    let lists = lists
        .into_iter()
        .map(|(list_name, (progress, branches))| {
            let mut branches: Vec<TransferBranchStatus> = branches
                .into_iter()
                .map(|(branch_id, progress)| TransferBranchStatus {
                    branch_id,
                    branch_name: names
                        .get(&UnitId::new(branch_id))
                        .cloned()
                        .unwrap_or_default(),
                    progress,
                })
                .collect();
            branches.sort_by(|a, b| a.branch_name.cmp(&b.branch_name));
            TransferListStatus {
                withdrawn: withdrawn.get(&list_name).copied().unwrap_or(0),
                list_name,
                progress,
                branches,
            }
        })
        .collect();
    Ok(Json(TransferLists {
        org_unit_id: target.id.uuid(),
        lists,
    }))
}
