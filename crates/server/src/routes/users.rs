//! Users: create one (never above the creator's own role, never outside its subtree) and list
//! those the caller manages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use paicha_auth::password::hash_password;
use paicha_domain::account::{check_new_password, normalize_username};
use paicha_domain::api::v1::{CreateUser, User, UserList};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::org::{MAX_NAME_CHARS, normalize_name};
use paicha_domain::role::Role;
use paicha_storage::{NewUser, StoreError};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser};
use crate::routes::user_dto;
use crate::state::{AppState, actor, unit_ref};

/// Create a user bound to an org unit with one role.
#[utoipa::path(
    post, path = "/v1/users", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 403, description = "Not allowed, or a role above the caller's own", body = ErrorBody),
        (status = 404, description = "Org unit not found", body = ErrorBody),
        (status = 409, description = "Username taken", body = ErrorBody),
        (status = 422, description = "Invalid user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let own = state.caller_unit(&principal).await?;
    let unit = match req.org_unit_id {
        Some(id) => Some(
            state
                .store
                .org_unit(id)
                .await?
                .ok_or_else(|| ApiError::not_found().with_field("org_unit_id"))?,
        ),
        None => None,
    };
    actor(&principal, own.as_ref())
        .may_create_user(req.role, unit.as_ref().map(unit_ref).as_ref())
        .map_err(|d| {
            let field = if unit.is_some() {
                "org_unit_id"
            } else {
                "role"
            };
            ApiError::from(d).with_field(field)
        })?;
    if !req.role.fits_unit(unit.as_ref().map(|u| u.kind)) {
        return Err(ApiError::unprocessable(ErrorCode::RoleDoesNotFitUnit).with_field("role"));
    }
    let username = normalize_username(&req.username).ok_or_else(|| {
        ApiError::unprocessable(ErrorCode::InvalidUsername)
            .with_message("用户名应为3至64个字母、数字或 _.-@")
            .with_field("username")
    })?;
    check_new_password(&req.password).map_err(|e| {
        let code = ErrorCode::parse(e.code()).unwrap_or(ErrorCode::InvalidBody);
        ApiError::unprocessable(code)
            .with_message(e.message_zh())
            .with_field("password")
    })?;
    let display_name = req
        .display_name
        .as_deref()
        .map(|raw| {
            normalize_name(raw, MAX_NAME_CHARS).ok_or_else(|| {
                ApiError::unprocessable(ErrorCode::InvalidName).with_field("display_name")
            })
        })
        .transpose()?;

    let password = req.password;
    let password_hash = state
        .run_password_work(move || hash_password(&password))
        .await?
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .insert_user(NewUser {
            id: Uuid::now_v7(),
            username,
            password_hash,
            role: req.role,
            unit,
            display_name,
            now: Utc::now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => {
                ApiError::conflict(ErrorCode::UsernameTaken).with_field("username")
            }
            // The unit was deleted between the look-up and the insert.
            StoreError::Reference(_) => ApiError::not_found().with_field("org_unit_id"),
            other => other.into(),
        })?;
    tracing::info!(user.id = %user.id, role = user.role.as_str(), by = %principal.user_id, "user created");
    Ok((StatusCode::CREATED, Json(user_dto(user))))
}

/// The users the caller manages: those of its subtree (for `system_admin`, the system admins
/// and the tenants' committee admins).
#[utoipa::path(
    get, path = "/v1/users", tag = "users",
    responses(
        (status = 200, description = "Users", body = UserList),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
) -> ApiResult<Json<UserList>> {
    let own = state.caller_unit(&principal).await?;
    if !actor(&principal, own.as_ref()).may_list_users() {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    }
    let users = match (&own, principal.role) {
        (Some(unit), _) => state.store.users_in_subtree(unit).await?,
        (None, Role::SystemAdmin) => state.store.platform_users().await?,
        (None, _) => vec![],
    };
    Ok(Json(UserList {
        users: users.into_iter().map(user_dto).collect(),
    }))
}
