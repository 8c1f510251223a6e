//! The org tree: create a unit, list the caller's subtree, look one up, delete an empty one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use paicha_domain::api::v1::{CreateOrgUnit, OrgUnit, OrgUnitList, UpdateOrgUnit};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::ids::UnitId;
use paicha_domain::org::{MAX_CODE_CHARS, MAX_NAME_CHARS, check_placement, normalize_name};
use paicha_domain::role::Role;
use paicha_storage::{NewOrgUnit, StoreError};
use uuid::Uuid;

use crate::access::{actor, unit_ref};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::routes::org_unit_dto;
use crate::state::AppState;

/// Create an org unit.
///
/// A committee without a parent is a new tenant and only `system_admin` creates one; streets,
/// work areas and branches are created by the committee admin inside its tree.
#[utoipa::path(
    post, path = "/v1/org-units", tag = "org",
    request_body = CreateOrgUnit,
    responses(
        (status = 201, description = "Created", body = OrgUnit),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "Parent not found", body = ErrorBody),
        (status = 409, description = "Id taken", body = ErrorBody),
        (status = 422, description = "Invalid unit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_org_unit(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiJson(req): ApiJson<CreateOrgUnit>,
) -> ApiResult<(StatusCode, Json<OrgUnit>)> {
    let own = state.caller_unit(&principal).await?;
    let actor = actor(&principal, own.as_ref());
    let parent = match req.parent_id {
        Some(id) => Some(
            state
                .store
                .org_unit(UnitId::new(id))
                .await?
                .ok_or_else(|| ApiError::not_found().with_field("parent_id"))?,
        ),
        None => None,
    };
    actor
        .may_create_unit(req.kind, parent.as_ref().map(unit_ref).as_ref())
        .map_err(|d| ApiError::from(d).with_field("parent_id"))?;
    check_placement(req.kind, parent.as_ref().map(|p| p.kind)).map_err(|e| {
        ApiError::unprocessable(ErrorCode::InvalidParent)
            .with_message(e.message_zh())
            .with_field("parent_id")
    })?;
    let name = normalize_name(&req.name, MAX_NAME_CHARS).ok_or_else(|| {
        ApiError::unprocessable(ErrorCode::InvalidName)
            .with_message(format!(
                "组织名称不能为空，且不能超过{MAX_NAME_CHARS}个字符"
            ))
            .with_field("name")
    })?;
    let code = req.code.as_deref().map(normalize_code).transpose()?;

    let unit = state
        .store
        .insert_org_unit(NewOrgUnit {
            id: UnitId::new(req.id.unwrap_or_else(Uuid::now_v7)),
            parent: parent.as_ref(),
            kind: req.kind,
            name,
            code,
            now: Utc::now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => ApiError::conflict(ErrorCode::IdTaken).with_field("id"),
            // The parent was deleted between the look-up and the insert.
            StoreError::Reference(_) => ApiError::not_found().with_field("parent_id"),
            other => other.into(),
        })?;
    tracing::info!(org_unit.id = %unit.id, kind = unit.kind.as_str(), "org unit created");
    Ok((StatusCode::CREATED, Json(org_unit_dto(unit))))
}

/// A unit code: trimmed, up to 50 ASCII letters, digits, `-` or `_`.
fn normalize_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim();
    let ok = !code.is_empty()
        && code.chars().count() <= MAX_CODE_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(ApiError::unprocessable(ErrorCode::InvalidCode)
            .with_message(format!(
                "组织编码应为1至{MAX_CODE_CHARS}个字母、数字、- 或 _"
            ))
            .with_field("code"))
    }
}

/// The caller's subtree, parents before children. `system_admin` gets the tenant roots.
#[utoipa::path(
    get, path = "/v1/org-units", tag = "org",
    responses(
        (status = 200, description = "The caller's units", body = OrgUnitList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_org_units(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
) -> ApiResult<Json<OrgUnitList>> {
    let units = match state.caller_unit(&principal).await? {
        Some(own) => state.store.org_subtree(&own).await?,
        None if principal.role == Role::SystemAdmin => state.store.tenant_roots().await?,
        None => vec![],
    };
    Ok(Json(OrgUnitList {
        org_units: units.into_iter().map(org_unit_dto).collect(),
    }))
}

/// The branches of the caller's tenant a member may be moved to (docs/domain.md §6.7), for
/// those who propose moves (branch secretary, org office, committee admin): names only, no
/// member data.
#[utoipa::path(
    get, path = "/v1/org-units/branches", tag = "org",
    responses(
        (status = 200, description = "The tenant's branches", body = OrgUnitList),
        (status = 403, description = "The caller does not propose moves", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn tenant_branches(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
) -> ApiResult<Json<OrgUnitList>> {
    let proposes = paicha_domain::collection::Collection::Members
        .schema()
        .field("move_to_branch_id")
        .is_some_and(|f| f.writers.contains(&principal.role));
    let Some(own) = state.caller_unit(&principal).await?.filter(|_| proposes) else {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    };
    let root = state
        .store
        .org_unit(UnitId::new(own.tenant_id.uuid()))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let branches = state
        .store
        .org_subtree(&root)
        .await?
        .into_iter()
        .filter(|u| u.kind == paicha_domain::org::OrgUnitKind::Branch)
        .map(org_unit_dto)
        .collect();
    Ok(Json(OrgUnitList {
        org_units: branches,
    }))
}

/// One unit in the caller's view; anything else is 404.
#[utoipa::path(
    get, path = "/v1/org-units/{id}", tag = "org",
    params(("id" = Uuid, Path, description = "Org unit id")),
    responses(
        (status = 200, description = "The unit", body = OrgUnit),
        (status = 404, description = "Not found or not visible", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_org_unit(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<UnitId>,
) -> ApiResult<Json<OrgUnit>> {
    let own = state.caller_unit(&principal).await?;
    let unit = state
        .store
        .org_unit(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !actor(&principal, own.as_ref()).may_view_unit(&unit_ref(&unit)) {
        return Err(ApiError::not_found());
    }
    Ok(Json(org_unit_dto(unit)))
}

/// Rename a unit, or change its code. The committee admin, for any unit of its tenant (the
/// platform administrator for a tenant's root).
#[utoipa::path(
    patch, path = "/v1/org-units/{id}", tag = "org",
    params(("id" = Uuid, Path, description = "Org unit id")),
    request_body = UpdateOrgUnit,
    responses(
        (status = 200, description = "The unit as it now stands", body = OrgUnit),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "Not found or not visible", body = ErrorBody),
        (status = 422, description = "Invalid name or code", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_org_unit(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<UnitId>,
    ApiJson(req): ApiJson<UpdateOrgUnit>,
) -> ApiResult<Json<OrgUnit>> {
    let own = state.caller_unit(&principal).await?;
    let unit = state
        .store
        .org_unit(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    actor(&principal, own.as_ref()).may_rename_unit(&unit_ref(&unit))?;
    let name = req
        .name
        .as_deref()
        .map(|raw| {
            normalize_name(raw, MAX_NAME_CHARS).ok_or_else(|| {
                ApiError::unprocessable(ErrorCode::InvalidName)
                    .with_message(format!(
                        "组织名称不能为空，且不能超过{MAX_NAME_CHARS}个字符"
                    ))
                    .with_field("name")
            })
        })
        .transpose()?;
    let code = match req.code {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => Some(Some(normalize_code(&raw)?)),
    };
    let updated = state
        .store
        .update_org_unit(id, name, code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tracing::info!(org_unit.id = %id, by = %principal.user_id, "org unit renamed");
    Ok(Json(org_unit_dto(updated)))
}

/// Delete a unit. Refused while it has child units (`org_unit_has_children`) or users
/// (`org_unit_has_users`).
#[utoipa::path(
    delete, path = "/v1/org-units/{id}", tag = "org",
    params(("id" = Uuid, Path, description = "Org unit id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "Not found or not visible", body = ErrorBody),
        (status = 409, description = "The unit is not empty", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_org_unit(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<UnitId>,
) -> ApiResult<StatusCode> {
    let own = state.caller_unit(&principal).await?;
    let unit = state
        .store
        .org_unit(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    actor(&principal, own.as_ref()).may_delete_unit(&unit_ref(&unit))?;
    if state.store.count_child_units(id).await? > 0 {
        return Err(ApiError::conflict(ErrorCode::OrgUnitHasChildren));
    }
    if state.store.count_users_of_unit(id).await? > 0 {
        return Err(ApiError::conflict(ErrorCode::OrgUnitHasUsers));
    }
    match state.store.delete_org_unit(id).await {
        Ok(()) => {}
        // A child or a user appeared between the checks and the delete: say which.
        Err(StoreError::Reference(_)) if state.store.count_child_units(id).await? > 0 => {
            return Err(ApiError::conflict(ErrorCode::OrgUnitHasChildren));
        }
        Err(StoreError::Reference(_)) => {
            return Err(ApiError::conflict(ErrorCode::OrgUnitHasUsers));
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(org_unit.id = %id, "org unit deleted");
    Ok(StatusCode::NO_CONTENT)
}
