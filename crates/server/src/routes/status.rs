//! `GET /v1/status`: what the committee wants to see (docs/domain.md §10), for a unit and each of
//! its children, counted from the tenant's status read model (`crate::facts`).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::UnitStatus;
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
    Ok(Json(
        crate::counts::unit_status(&state, &target, as_of).await?.0,
    ))
}
