//! The campaign's frozen baseline (docs/domain.md §8.9, docs/protocol.md §12.9): the 组织办
//! freezes it once, and corrects one member's snapshot with a reason. Both are writes the
//! server makes under the caller's name, in the change log like every write.

use axum::Json;
use axum::extract::State;
use paicha_domain::api::v1::{BaselineCorrected, BaselineCorrection, BaselineFrozen};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::role::Role;
use paicha_sync::push::{
    BaselineError, BaselineRefusal, Correction, correct_baseline, freeze_baseline,
};
use uuid::Uuid;

use crate::access::writer;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::state::AppState;

fn refusal(r: BaselineRefusal) -> ApiError {
    match r {
        BaselineRefusal::NotFound => ApiError::not_found(),
        BaselineRefusal::NoCampaign => ApiError::conflict(ErrorCode::NoCampaign),
        BaselineRefusal::Taken(on) => {
            ApiError::conflict(ErrorCode::BaselineTaken).with_message(format!(
                "排查底数已于{}确定，不能重复确定；个别党员的底数有误请组织办逐人更正",
                paicha_domain::calendar::format_date_zh(on)
            ))
        }
        BaselineRefusal::NotTaken => ApiError::conflict(ErrorCode::BaselineNotTaken),
    }
}

/// A baseline act that did not happen: its refusal, or the failure.
fn refused(e: BaselineError) -> ApiError {
    match e {
        BaselineError::Refused(r) => refusal(r),
        BaselineError::Failed(e) => e.into(),
    }
}

/// Freeze the campaign's baseline.
///
/// Every live member of the tenant gets a snapshot: lost at the start (§8.1, with the months),
/// mobile at the start (§8.2), judged against the campaign's start date, of kind `at_start`. A
/// member first recorded later gets one of kind `added` when it is recorded. From then on the
/// counts "at the start" of `GET /v1/status` come from the snapshots and do not change as
/// members are found or leave. Done once; by the 组织办 or the committee.
#[utoipa::path(
    post, path = "/v1/campaigns/{id}/baseline", tag = "status",
    params(("id" = Uuid, Path, description = "The campaign record's id")),
    responses(
        (status = 200, description = "The baseline as frozen", body = BaselineFrozen),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the 组织办 or the committee freezes it", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Frozen already (`baseline_taken`), or the campaign has no start date (`no_campaign`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn freeze(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<BaselineFrozen>> {
    let unit = crate::access::data_unit(&state, &principal).await?;
    if !matches!(principal.role, Role::OrgOffice | Role::CommitteeAdmin) {
        return Err(
            ApiError::forbidden(ErrorCode::Forbidden).with_message("排查底数由组织办或党工委确定")
        );
    }
    let writer = writer(&principal, &unit);
    let frozen = freeze_baseline(&state.store, writer, id)
        .await
        .map_err(refused)?;
    state.notifier.notify(unit.tenant_id, frozen.version);
    Ok(Json(BaselineFrozen {
        campaign_id: id,
        baseline_on: frozen.on,
        members: frozen.members,
        version: frozen.version,
    }))
}

/// Correct one member's snapshot.
///
/// The 组织办's explicit act, with the reason (why the snapshot was wrong: a contact date
/// entered wrongly, say). The member keeps the day and the reason (`baseline_corrected_on`,
/// `baseline_correction`); the change log keeps who and what it was before.
#[utoipa::path(
    post, path = "/v1/members/{id}/baseline", tag = "status",
    params(("id" = Uuid, Path, description = "The member's id")),
    request_body = BaselineCorrection,
    responses(
        (status = 200, description = "Corrected", body = BaselineCorrected),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the 组织办 corrects the baseline", body = ErrorBody),
        (status = 404, description = "No such member in the caller's scope", body = ErrorBody),
        (status = 409, description = "The baseline is not frozen (`baseline_not_taken`)", body = ErrorBody),
        (status = 422, description = "No reason, or months out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn correct(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<BaselineCorrection>,
) -> ApiResult<Json<BaselineCorrected>> {
    let unit = crate::access::data_unit(&state, &principal).await?;
    if principal.role != Role::OrgOffice {
        return Err(
            ApiError::forbidden(ErrorCode::Forbidden).with_message("排查底数的更正由组织办办理")
        );
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::unprocessable(ErrorCode::InvalidBody)
            .with_message("请填写更正理由（不超过500字）")
            .with_field("reason"));
    }
    if body.lost_months.is_some_and(|m| m > 1200) {
        return Err(ApiError::unprocessable(ErrorCode::InvalidBody)
            .with_message("失联月数应在0至1200之间")
            .with_field("lost_months"));
    }
    let writer = writer(&principal, &unit);
    let correction = Correction {
        lost: body.lost,
        lost_months: body.lost_months,
        mobile: body.mobile,
        reason: reason.to_owned(),
    };
    let version = correct_baseline(&state.store, writer, id, &correction)
        .await
        .map_err(refused)?;
    state.notifier.notify(unit.tenant_id, version);
    Ok(Json(BaselineCorrected {
        member_id: id,
        version,
    }))
}
