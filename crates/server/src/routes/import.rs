//! `POST /v1/import/roster` (a branch's 花名册) and `POST /v1/import/transfers` (a street's
//! 转出明细, each row addressed to a branch): the HTTP side of `crate::import`.

use paicha_domain::ids::TenantId;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paicha_domain::api::v1::{ImportProblem, ImportRefused, ImportResult};
use paicha_domain::api::{ErrorBody, ErrorCode, ErrorDetail};
use paicha_domain::roster::{ROSTER, Sheet, TRANSFER_LIST};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, AuthUser};
use crate::import::{Importer, NotAllowed, Outcome};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The branch whose roster this is.
    org_unit_id: Uuid,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferImportQuery {
    /// The street (or the committee) the list is from.
    org_unit_id: Uuid,
    /// The list's name (转出批次), e.g. "2016年3月转出明细"; re-importing under the same name
    /// updates the list. 1 to 100 characters.
    #[param(min_length = 1, max_length = 100, pattern = r"\S")]
    list_name: String,
}

fn refused(sheet: &Sheet, problems: Vec<ImportProblem>) -> Response {
    let code = crate::import::refusal_code(sheet);
    let body = ImportRefused {
        error: ErrorDetail {
            code: code.to_owned(),
            message: format!(
                "{}有{}处问题，未导入任何数据",
                sheet.label_zh,
                problems.len()
            ),
            field: None,
            retry_after: None,
        },
        problems,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// An import the caller may not make: 403, or a unit of the wrong kind, which is a 422 like
/// every other refusal of an import, in the same shape: the error (`field` `org_unit_id`) and
/// its one problem, at row 0 (the whole file).
fn not_allowed((code, message): NotAllowed) -> Response {
    if code == ErrorCode::Forbidden {
        return ApiError::forbidden(code)
            .with_message(message)
            .into_response();
    }
    let body = ImportRefused {
        error: ErrorDetail {
            code: code.as_str().to_owned(),
            message: message.to_owned(),
            field: Some("org_unit_id".to_owned()),
            retry_after: None,
        },
        problems: vec![ImportProblem {
            row: 0,
            column: None,
            code: code.as_str().to_owned(),
            message: message.to_owned(),
        }],
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn importer<'a>(
    state: &'a AppState,
    principal: &paicha_auth::Principal,
    own_path: &'a str,
) -> Importer<'a> {
    Importer {
        store: &state.store,
        user_id: principal.user_id,
        role: principal.role,
        own_path,
        device_id: format!("import-{}", Uuid::now_v7().simple()),
        instance: &state.instance,
        parsing_slots: state.import_slots.clone(),
    }
}

fn respond(state: &AppState, tenant_id: TenantId, sheet: &Sheet, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Imported { result, version } => {
            if let Some(version) = version {
                state.notifier.notify(tenant_id, version);
            }
            tracing::info!(
                created = result.created,
                updated = result.updated,
                unchanged = result.unchanged,
                conflicts = result.conflicts,
                sheet = sheet.label_zh,
                "imported"
            );
            Json::<ImportResult>(result).into_response()
        }
        Outcome::Refused(problems) => refused(sheet, problems),
        Outcome::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
        )
        .with_message("另一个导入正在写入该单位，请稍后再试")
        .into_response(),
    }
}

/// Import a branch's roster (.xlsx or .csv, Chinese headers). Refused whole, with every
/// problem, if any row is bad; idempotent by 公民身份号码.
#[utoipa::path(
    post, path = "/v1/import/roster", tag = "status",
    params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An .xlsx workbook (first sheet) or a UTF-8 .csv file"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 403, description = "The caller may not write members", body = ErrorBody),
        (status = 404, description = "No such branch in the caller's scope", body = ErrorBody),
        (status = 422, description = "Refused; nothing written", body = ImportRefused),
        (status = 503, description = "Another import into the unit did not finish within 60 s; nothing written", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_roster(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let (own, branch) =
        crate::access::data_target(&state, &principal, Some(query.org_unit_id)).await?;
    if let Err(refused) = crate::import::roster_allowed(principal.role, &branch) {
        return Ok(not_allowed(refused));
    }
    let importer = importer(&state, &principal, &own.path);
    let outcome = crate::import::roster(&importer, &branch, body, Arc::new(|_| {})).await?;
    Ok(respond(&state, branch.tenant_id, &ROSTER, outcome))
}

/// Import a street's list of transferred-out members (.xlsx or .csv, Chinese headers), each row
/// addressed to the branch named in it (by name or code) that must follow it up. Refused whole
/// if any row is bad; re-importing the same list updates it.
#[utoipa::path(
    post, path = "/v1/import/transfers", tag = "status",
    params(TransferImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An .xlsx workbook (first sheet) or a UTF-8 .csv file"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 403, description = "The caller may not upload transfers", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
        (status = 422, description = "Refused; nothing written", body = ImportRefused),
        (status = 503, description = "Another import into the unit did not finish within 60 s; nothing written", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_transfers(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<TransferImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    // The query first: a bad parameter is 400 whatever the unit.
    let list_name = crate::import::list_name(&query.list_name).map_err(|message| {
        ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message(message)
            .with_field("list_name")
    })?;
    let (own, unit) =
        crate::access::data_target(&state, &principal, Some(query.org_unit_id)).await?;
    if let Err(refused) = crate::import::transfers_allowed(principal.role, &unit) {
        return Ok(not_allowed(refused));
    }
    let importer = importer(&state, &principal, &own.path);
    let outcome =
        crate::import::transfers(&importer, &unit, &list_name, body, Arc::new(|_| {})).await?;
    Ok(respond(&state, unit.tenant_id, &TRANSFER_LIST, outcome))
}
