//! `GET /v1/departures`: what left the caller's unit and where it went (docs/domain.md §6.7) —
//! a transfer a corrected list re-addressed to another branch, a member moved to another
//! branch. The unit's devices have pulled the tombstones; this is what people read.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::{DepartureItem, DepartureList};
use paicha_domain::ids::UnitId;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeparturesQuery {
    /// How many, the latest first (default 100, at most 500).
    limit: Option<u64>,
}

/// The records that left the caller's unit, the latest first.
#[utoipa::path(
    get, path = "/v1/departures", tag = "sync",
    params(DeparturesQuery),
    responses(
        (status = 200, description = "What left the unit, where to and why", body = DepartureList),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn departures(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<DeparturesQuery>,
) -> ApiResult<Json<DepartureList>> {
    let unit = crate::access::data_unit(&state, &principal).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let left = state
        .store
        .departures(crate::access::scope(&unit), limit)
        .await?;
    let mut names: HashMap<UnitId, String> = HashMap::new();
    let mut items = Vec::with_capacity(left.len());
    for d in left {
        for id in std::iter::once(d.org_unit_id).chain(d.to_unit_id) {
            if !names.contains_key(&id)
                && let Some(u) = state.store.org_unit(id).await?
                && u.tenant_id == unit.tenant_id
            {
                names.insert(id, u.name);
            }
        }
        items.push(DepartureItem {
            collection: d.collection.as_str().to_owned(),
            record_id: d.record_id,
            label: d.label,
            from_unit_id: d.org_unit_id.uuid(),
            from_unit_name: names.get(&d.org_unit_id).cloned().unwrap_or_default(),
            to_unit_id: d.to_unit_id.map(UnitId::uuid),
            to_unit_name: d.to_unit_id.and_then(|u| names.get(&u).cloned()),
            reason_label: paicha_domain::moves::reason_label(&d.reason)
                .unwrap_or("已移出本单位")
                .to_owned(),
            reason: d.reason,
            version: d.version,
            left_at: d.left_at,
        });
    }
    Ok(Json(DepartureList { items }))
}
