//! Users: create one (never above the creator's own role, never outside its subtree), list
//! those the caller manages, and manage one through its life: change its role, unit or name,
//! disable or enable it, reset its password, list its devices, end its sign-ins, read its
//! account log. Every change is written to the account log.

use paicha_domain::ids::UnitId;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use paicha_auth::Principal;
use paicha_auth::password::hash_password;
use paicha_auth::policy::Denied;
use paicha_domain::account::normalize_username;
use paicha_domain::api::v1::{
    AccountEvent, AccountEventList, CreateUser, Device, DeviceList, ResetPassword, UpdateUser,
    User, UserList,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::org::{MAX_NAME_CHARS, normalize_name};
use paicha_domain::role::Role;
use paicha_storage::{AccountAct, NewUser, OrgUnitRecord, StoreError, UserChange, UserRecord};
use uuid::Uuid;

use crate::access::{actor, unit_ref};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, AuthUser};
use crate::routes::user_dto;
use crate::state::AppState;

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
                .org_unit(UnitId::new(id))
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
    crate::accounts::check_password_field(&req.password, "password")?;
    let display_name = req
        .display_name
        .as_deref()
        .map(check_display_name)
        .transpose()?;

    let password = req.password;
    let password_hash = state
        .run_password_work(move || hash_password(&password))
        .await?
        .map_err(ApiError::internal)?;
    let detail =
        serde_json::json!({"role": req.role.as_str(), "org_unit_id": unit.as_ref().map(|u| u.id)});
    let (user, _) = crate::accounts::change(
        &state,
        &principal,
        AccountAct::Create(NewUser {
            id: Uuid::now_v7(),
            username,
            password_hash,
            role: req.role,
            unit,
            display_name,
            now: Utc::now(),
            must_change_password: false,
        }),
        "created",
        detail,
        false,
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate(_) => {
            ApiError::conflict(ErrorCode::UsernameTaken).with_field("username")
        }
        // The unit was deleted between the look-up and the insert.
        StoreError::Reference(_) => ApiError::not_found().with_field("org_unit_id"),
        other => other.into(),
    })?;
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

fn check_display_name(raw: &str) -> ApiResult<String> {
    normalize_name(raw, MAX_NAME_CHARS)
        .ok_or_else(|| ApiError::unprocessable(ErrorCode::InvalidName).with_field("display_name"))
}

/// A user the caller manages, with its unit. A user the caller may not see at all is 404; for
/// an action (`read == false`), one it sees but may not manage is 403.
async fn managed_user(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    read: bool,
) -> ApiResult<(UserRecord, Option<OrgUnitRecord>)> {
    let own = state.caller_unit(principal).await?;
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let unit = match user.org_unit_id {
        Some(unit_id) => Some(
            state
                .store
                .org_unit(unit_id)
                .await?
                .ok_or_else(ApiError::not_found)?,
        ),
        None => None,
    };
    let allowed = if principal.user_id == user.id {
        // Everyone reads its own account, devices and log; acting on oneself follows the rules
        // of each action.
        Ok(())
    } else {
        let a = actor(principal, own.as_ref());
        let target = unit.as_ref().map(unit_ref);
        if read {
            a.may_view_user(user.role, target.as_ref())
        } else {
            a.may_manage_user(user.role, target.as_ref())
        }
    };
    match allowed {
        Ok(()) => Ok((user, unit)),
        Err(Denied::OutsideScope) if read => Err(ApiError::not_found()),
        Err(d) => Err(refusal(d, &user, principal)),
    }
}

/// Whether the caller may act on `user` (not merely read it): managing it (a rank strictly
/// above the user's), or, for itself, the reach of seeing it.
fn may_act(
    state_own: Option<&OrgUnitRecord>,
    principal: &Principal,
    user: &UserRecord,
    unit: Option<&OrgUnitRecord>,
) -> ApiResult<()> {
    let a = actor(principal, state_own);
    let target = unit.map(unit_ref);
    if user.id == principal.user_id {
        a.may_view_user(user.role, target.as_ref())
    } else {
        a.may_manage_user(user.role, target.as_ref())
    }
    .map_err(|d| refusal(d, user, principal))
}

/// Ends sign-ins of a user the caller manages (or its own), with the log entry: `act` names
/// which, and the entry counts the tokens ended.
async fn end_sessions(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    act: AccountAct,
    action: &'static str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    let own = state.caller_unit(principal).await?;
    let (user, unit) = managed_user(state, principal, id, false).await?;
    if user.id != principal.user_id {
        may_act(own.as_ref(), principal, &user, unit.as_ref())?;
    }
    crate::accounts::change(state, principal, act, action, detail, true).await?;
    Ok(())
}

/// The answer to a refused action on `user`: one of its own rank is `403 forbidden` with a
/// message that says why.
fn refusal(denied: Denied, user: &UserRecord, principal: &Principal) -> ApiError {
    let err = ApiError::from(denied);
    if denied == Denied::Forbidden
        && user.id != principal.user_id
        && user.role.rank() == principal.role.rank()
    {
        err.with_message("同级账号不能互相管理，只有级别更高的角色才能管理该账号")
    } else {
        err
    }
}

/// One user the caller manages (or the caller itself).
#[utoipa::path(
    get, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user the caller may see", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_user(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<User>> {
    let (user, _) = managed_user(&state, &principal, id, true).await?;
    Ok(Json(user_dto(user)))
}

/// Change a user's role, unit or display name, or disable or enable it.
///
/// The caller must manage the user as it is (docs/domain.md §9: its own subtree, never a role above
/// its own) and be allowed to create it as it will be. Nobody disables, demotes or moves
/// itself. Disabling ends every sign-in of the user at once; a changed role or unit ends its
/// access tokens (the next refresh carries the new ones).
#[utoipa::path(
    patch, path = "/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user as changed", body = User),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed, outside the caller's scope, or a role above its own", body = ErrorBody),
        (status = 404, description = "No such user or unit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid change", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    let own = state.caller_unit(&principal).await?;
    let (user, unit) = managed_user(&state, &principal, id, false).await?;
    let new_unit = match req.org_unit_id {
        Some(unit_id) if Some(unit_id) != user.org_unit_id.map(UnitId::uuid) => Some(
            state
                .store
                .org_unit(UnitId::new(unit_id))
                .await?
                .ok_or_else(|| ApiError::not_found().with_field("org_unit_id"))?,
        ),
        _ => unit.clone(),
    };
    let new_role = req.role.unwrap_or(user.role);
    let disables = req.disabled == Some(true) && !user.disabled;
    let a = actor(&principal, own.as_ref());
    a.may_change_user(
        user.id,
        (user.role, unit.as_ref().map(unit_ref).as_ref()),
        (new_role, new_unit.as_ref().map(unit_ref).as_ref()),
        disables,
    )
    .map_err(|d| {
        let field = match d {
            Denied::Forbidden if user.id == principal.user_id => None,
            Denied::RoleAboveOwn | Denied::RoleDoesNotFitUnit => Some("role"),
            _ if req.org_unit_id.is_some() => Some("org_unit_id"),
            _ => None,
        };
        let mut e = ApiError::from(d);
        if d == Denied::Forbidden && user.id == principal.user_id {
            e = e.with_message("不能停用自己，也不能更改自己的角色或所属组织");
        }
        match field {
            Some(f) => e.with_field(f),
            None => e,
        }
    })?;
    if !new_role.fits_unit(new_unit.as_ref().map(|u| u.kind)) {
        return Err(ApiError::unprocessable(ErrorCode::RoleDoesNotFitUnit).with_field("role"));
    }
    let display_name = match req.display_name.as_deref() {
        None => None,
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => Some(Some(check_display_name(raw)?)),
    };
    let moves_unit = new_unit.as_ref().map(|u| u.id) != user.org_unit_id;
    let change = UserChange {
        role: (new_role != user.role).then_some(new_role),
        unit: moves_unit.then(|| new_unit.clone()),
        display_name: display_name.filter(|d| *d != user.display_name),
        disabled: req.disabled.filter(|d| *d != user.disabled),
    };
    let mut detail = serde_json::Map::new();
    if let Some(role) = change.role {
        detail.insert(
            "role".into(),
            serde_json::json!({"from": user.role.as_str(), "to": role.as_str()}),
        );
    }
    if moves_unit {
        detail.insert(
            "org_unit_id".into(),
            serde_json::json!({"from": user.org_unit_id, "to": new_unit.as_ref().map(|u| u.id)}),
        );
    }
    if let Some(name) = &change.display_name {
        detail.insert(
            "display_name".into(),
            serde_json::json!({"from": user.display_name, "to": name}),
        );
    }
    if let Some(disabled) = change.disabled {
        detail.insert(
            "disabled".into(),
            serde_json::json!({"from": user.disabled, "to": disabled}),
        );
    }
    if detail.is_empty() {
        return Ok(Json(user_dto(user)));
    }
    let (updated, _) = crate::accounts::change(
        &state,
        &principal,
        AccountAct::Update {
            id: user.id,
            change,
            end_sessions: disables,
        },
        "updated",
        serde_json::Value::Object(detail),
        false,
    )
    .await
    .map_err(|e| match e {
        StoreError::Reference(_) => ApiError::not_found().with_field("org_unit_id"),
        other => other.into(),
    })?;
    Ok(Json(user_dto(updated)))
}

/// Set a new password for a user the caller manages; every sign-in of that user ends.
#[utoipa::path(
    post, path = "/v1/users/{id}/password", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = ResetPassword,
    responses(
        (status = 204, description = "Password set; the user's sign-ins ended"),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Unacceptable password", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reset_password(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    let own = state.caller_unit(&principal).await?;
    let (user, unit) = managed_user(&state, &principal, id, false).await?;
    may_act(own.as_ref(), &principal, &user, unit.as_ref())?;
    crate::accounts::check_password_field(&req.password, "password")?;
    let password = req.password;
    let hash = state
        .run_password_work(move || hash_password(&password))
        .await?
        .map_err(ApiError::internal)?;
    crate::accounts::change(
        &state,
        &principal,
        AccountAct::SetPassword {
            id: user.id,
            password_hash: hash,
            keep: None,
        },
        "password_reset",
        serde_json::json!({}),
        false,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The devices of a user: its sign-ins by device and each device's last sync.
#[utoipa::path(
    get, path = "/v1/users/{id}/devices", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Devices, the most recently active first", body = DeviceList),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user the caller may see", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_devices(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DeviceList>> {
    let (user, _) = managed_user(&state, &principal, id, true).await?;
    let now = Utc::now();
    let mut devices: BTreeMap<Option<String>, Device> = BTreeMap::new();
    let mut live_families: BTreeMap<Option<String>, std::collections::BTreeSet<Uuid>> =
        BTreeMap::new();
    let empty = |device_id: Option<String>| Device {
        device_id,
        active_sessions: 0,
        signed_in_at: None,
        last_refresh_at: None,
        last_sync_at: None,
    };
    for token in state.store.user_refresh_tokens(user.id).await? {
        let d = devices
            .entry(token.device_id.clone())
            .or_insert_with(|| empty(token.device_id.clone()));
        d.signed_in_at = d.signed_in_at.max(Some(token.family_created_at));
        d.last_refresh_at = d.last_refresh_at.max(Some(token.created_at));
        if token.revoked_at.is_none() && token.used_at.is_none() && token.expires_at > now {
            live_families
                .entry(token.device_id.clone())
                .or_default()
                .insert(token.family_id);
        }
    }
    for (device_id, families) in live_families {
        if let Some(d) = devices.get_mut(&device_id) {
            d.active_sessions = u32::try_from(families.len()).unwrap_or(u32::MAX);
        }
    }
    for synced in state.store.user_sync_devices(user.id).await? {
        let key = Some(synced.device_id.clone());
        let d = devices
            .entry(key)
            .or_insert_with(|| empty(Some(synced.device_id.clone())));
        d.last_sync_at = Some(synced.last_seen_at);
    }
    let mut devices: Vec<Device> = devices.into_values().collect();
    devices.sort_by_key(|d| std::cmp::Reverse(d.last_refresh_at.max(d.last_sync_at)));
    Ok(Json(DeviceList { devices }))
}

/// End every sign-in a user made from one device; that device's access tokens stop working at
/// once, on every instance.
#[utoipa::path(
    delete, path = "/v1/users/{id}/devices/{device_id}", tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("device_id" = String, Path, description = "The device's id, URL-encoded"),
    ),
    responses(
        (status = 204, description = "The device's sign-ins ended"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_device(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath((id, device_id)): ApiPath<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    end_sessions(
        &state,
        &principal,
        id,
        AccountAct::EndDeviceSessions {
            id,
            device_id: device_id.clone(),
        },
        "device_revoked",
        serde_json::json!({"device_id": device_id}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every sign-in of a user, on every device; its access tokens stop working at once.
#[utoipa::path(
    delete, path = "/v1/users/{id}/sessions", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Every sign-in ended"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    end_sessions(
        &state,
        &principal,
        id,
        AccountAct::EndSessions { id },
        "sessions_revoked",
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account log of a user: who changed what, and when (newest first, at most 500).
#[utoipa::path(
    get, path = "/v1/users/{id}/log", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Account events", body = AccountEventList),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user the caller may see", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn account_log(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AccountEventList>> {
    let (user, _) = managed_user(&state, &principal, id, true).await?;
    let events = state
        .store
        .account_log(user.id, 500)
        .await?
        .into_iter()
        .map(|e| AccountEvent {
            id: e.id,
            user_id: e.user_id,
            username: e.username,
            actor_id: e.actor_id,
            actor_username: e.actor_username,
            action: e.action,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            at: e.at,
        })
        .collect();
    Ok(Json(AccountEventList { events }))
}
