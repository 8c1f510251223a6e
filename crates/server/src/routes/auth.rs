//! Sign-in: login, refresh with rotation and reuse detection, logout.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use paicha_auth::Principal;
use paicha_auth::password::{burn_verification_time, verify_password};
use paicha_auth::refresh::{hash_refresh_token, new_refresh_token};
use paicha_auth::throttle::{Gate, ThrottleState};
use paicha_domain::account::{MAX_PASSWORD_BYTES, normalize_username};
use paicha_domain::api::v1::{
    LoginRequest, LogoutRequest, RefreshRequest, TokenResponse, UserSummary,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_storage::{NewRefreshToken, ThrottleRecord, UserRecord};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, is_json, parse_json, read_body};
use crate::state::AppState;

/// Longest accepted device id, in bytes.
const MAX_DEVICE_ID_BYTES: usize = 200;

/// Sign in with a username and password.
///
/// Repeated failures for one username are slowed down, then refused for a while with 429
/// `login_throttled` and `retry_after`.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
        (status = 429, description = "Too many failed logins", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let device_id = req.device_id.as_deref().map(check_device_id).transpose()?;
    // A username or password no account can have is refused without touching the database
    // (but after the same work as a real check, so the answer time tells nothing).
    let username = match normalize_username(&req.username) {
        Some(name) if req.password.len() <= MAX_PASSWORD_BYTES => name,
        _ => {
            let password = req.password.chars().take(64).collect::<String>();
            state
                .run_password_work(move || burn_verification_time(&password))
                .await?;
            return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials));
        }
    };
    let policy = state.settings.login_throttle;
    let now = Utc::now();
    let gate = state
        .store
        .throttle_attempt(&username, now, |record| {
            let (next, gate) = policy.on_attempt(throttle_state(&record), now);
            let next = ThrottleRecord {
                username: record.username,
                attempts: next.attempts,
                window_started_at: next.window_started_at,
                locked_until: next.locked_until,
            };
            (next, gate)
        })
        .await?;
    match gate {
        Gate::Locked { retry_after_secs } => {
            tracing::warn!("login refused: too many attempts");
            return Err(ApiError::throttled(retry_after_secs));
        }
        Gate::Open { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Gate::Open { .. } => {}
    }

    let user = state.store.user_by_username(&username).await?;
    let password = req.password;
    let verified = state
        .run_password_work(move || match user {
            Some(user) if !user.disabled && verify_password(&password, &user.password_hash) => {
                Some(user)
            }
            Some(_) => None,
            None => {
                burn_verification_time(&password);
                None
            }
        })
        .await?;
    let Some(user) = verified else {
        tracing::info!("failed login");
        return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials));
    };
    state.store.clear_throttle(&username).await?;
    tracing::info!(user.id = %user.id, role = user.role.as_str(), "login");
    let response = issue_tokens(&state, &user, None, device_id, Utc::now()).await?;
    Ok(Json(response))
}

/// A device id: 1–200 characters, no control characters.
pub fn check_device_id(raw: &str) -> ApiResult<String> {
    let id = raw.trim();
    if id.is_empty() || id.len() > MAX_DEVICE_ID_BYTES || id.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(ErrorCode::InvalidBody)
            .with_message(format!(
                "设备标识应为1至{MAX_DEVICE_ID_BYTES}个字节，且不含控制字符"
            ))
            .with_field("device_id"));
    }
    Ok(id.to_owned())
}

/// Trade a refresh token for a new access token and a new refresh token.
///
/// Refresh tokens rotate: each works once. Presenting one that was already used revokes every
/// token descended from the same sign-in (`refresh_token_reused`). No `Authorization` header is
/// needed: the refresh token is the credential.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused refresh token", body = ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let now = Utc::now();
    let hash = hash_refresh_token(&req.refresh_token);
    let Some(token) = state.store.refresh_token_by_hash(&hash).await? else {
        return Err(ApiError::unauthorized(ErrorCode::InvalidRefreshToken));
    };
    if token.revoked_at.is_some() {
        return Err(ApiError::unauthorized(ErrorCode::InvalidRefreshToken));
    }
    let family_age = chrono::Duration::from_std(state.settings.refresh_family_max_age)
        .map_err(ApiError::internal)?;
    if token.expires_at <= now || token.family_created_at + family_age <= now {
        return Err(ApiError::unauthorized(ErrorCode::RefreshTokenExpired));
    }
    if token.used_at.is_some() || !state.store.consume_refresh_token(token.id, now).await? {
        state
            .store
            .revoke_refresh_family(token.family_id, now)
            .await?;
        tracing::warn!(user.id = %token.user_id, family = %token.family_id, "refresh token reused; family revoked");
        return Err(ApiError::unauthorized(ErrorCode::RefreshTokenReused));
    }
    let user = match state.store.user(token.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => {
            state
                .store
                .revoke_refresh_family(token.family_id, now)
                .await?;
            return Err(ApiError::unauthorized(ErrorCode::InvalidRefreshToken));
        }
    };
    let family = Family {
        id: token.family_id,
        created_at: token.family_created_at,
    };
    let response = issue_tokens(&state, &user, Some(family), token.device_id, now).await?;
    Ok(Json(response))
}

/// Sign out: revoke the given refresh token's family, or all of the caller's refresh tokens
/// when none is given. Access tokens already issued stay valid until they expire (minutes).
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional; an empty body signs out every device of the caller"),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    req: Request,
) -> ApiResult<StatusCode> {
    let has_json = is_json(req.headers());
    let bytes = read_body(req, &state).await?;
    let body: LogoutRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else if has_json {
        parse_json(&bytes)?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        ));
    };
    let now = Utc::now();
    match body.refresh_token {
        Some(raw) => {
            let token = state
                .store
                .refresh_token_by_hash(&hash_refresh_token(&raw))
                .await?;
            // Someone else's token is ignored rather than refused, so logout says nothing
            // about which tokens exist.
            if let Some(token) = token.filter(|t| t.user_id == principal.user_id) {
                state
                    .store
                    .revoke_refresh_family(token.family_id, now)
                    .await?;
            }
        }
        None => {
            state
                .store
                .revoke_user_refresh_tokens(principal.user_id, now)
                .await?
        }
    }
    tracing::info!(user.id = %principal.user_id, "logout");
    Ok(StatusCode::NO_CONTENT)
}

fn throttle_state(r: &ThrottleRecord) -> ThrottleState {
    ThrottleState {
        attempts: r.attempts,
        window_started_at: r.window_started_at,
        locked_until: r.locked_until,
    }
}

/// A family of refresh tokens: one sign-in and its rotations.
struct Family {
    id: Uuid,
    created_at: DateTime<Utc>,
}

/// A new access token and a new refresh token in `family` (a new family for a sign-in).
async fn issue_tokens(
    state: &AppState,
    user: &UserRecord,
    family: Option<Family>,
    device_id: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<TokenResponse> {
    let family = family.unwrap_or(Family {
        id: Uuid::now_v7(),
        created_at: now,
    });
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        org_unit_id: user.org_unit_id,
        tenant_id: user.tenant_id,
    };
    let access_token = state
        .keys
        .issue(&principal, now)
        .map_err(ApiError::internal)?;
    let refresh = new_refresh_token().map_err(ApiError::internal)?;
    let refresh_ttl =
        chrono::Duration::from_std(state.settings.refresh_token_ttl).map_err(ApiError::internal)?;
    state
        .store
        .insert_refresh_token(NewRefreshToken {
            id: Uuid::now_v7(),
            family_id: family.id,
            user_id: user.id,
            family_created_at: family.created_at,
            token_hash: refresh.hash,
            device_id,
            now,
            expires_at: now + refresh_ttl,
        })
        .await?;
    Ok(TokenResponse {
        access_token,
        refresh_token: refresh.token,
        expires_in: state.keys.ttl().as_secs(),
        token_type: "Bearer".to_owned(),
        user: UserSummary {
            id: user.id,
            org_unit_id: user.org_unit_id,
            role: user.role,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
        },
    })
}
