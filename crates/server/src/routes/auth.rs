//! Sign-in: login, refresh with rotation and reuse detection, logout.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use paicha_auth::Principal;
use paicha_auth::password::{burn_verification_time, hash_password, verify_password};
use paicha_auth::refresh::{hash_refresh_token, new_refresh_token, successor_of};
use paicha_auth::throttle::{Gate, Keys, ThrottlePolicy, ThrottleState, combine};
use paicha_domain::account::{MAX_PASSWORD_BYTES, normalize_username};
use paicha_domain::api::v1::{
    ChangePassword, LoginRequest, LogoutRequest, RefreshRequest, TokenResponse, UserSummary,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::ids::UnitId;
use paicha_storage::{AccountAct, NewRefreshToken, ThrottleRecord, UserRecord};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, ClientIp, is_json, parse_json, read_body};
use crate::state::AppState;

/// Sign in with a username and password.
///
/// Failed logins are counted per source address, per username from that source, and per
/// username from anywhere. The first two slow, then refuse the source for a while with 429
/// `login_throttled` and `retry_after`; the last only adds a small bounded delay, so a stranger
/// cannot lock the real user out.
///
/// A username no account can have is refused before any password work, and counts against its
/// source; so does a password longer than any account's. Password checks wait in a bounded
/// queue: when it is full the sign-in is refused with 503 `too_many_sign_ins` and
/// `Retry-After`, and not counted.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
        (status = 429, description = "Too many failed logins from this address", body = ErrorBody),
        (status = 503, description = "Too many sign-ins waiting for their password check (`too_many_sign_ins`); see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let device_id = req
        .device_id
        .as_deref()
        .map(crate::accounts::check_device_id)
        .transpose()?;
    let now = Utc::now();
    // A username no account can have is refused before anything else, with no password work
    // (the rule is public, so answering at once tells nothing), but it counts against its
    // source like any failed login: a flood of junk gets 429 like a flood of guesses.
    let Some(username) = normalize_username(&req.username) else {
        let key = Keys::source_only(source);
        let gate = count_attempt(&state, &key, state.settings.source_throttle, now).await?;
        if let Gate::Locked { retry_after_secs } = gate {
            tracing::warn!(source = %source, "login refused: too many failed attempts from this source");
            return Err(ApiError::throttled(retry_after_secs));
        }
        tracing::warn!(source = %source, "failed login: malformed username");
        return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials));
    };
    let keys = Keys::new(&username, source);
    // The source first: a refused source touches nothing else, so a guesser's made-up
    // usernames add no rows once its address is refused.
    let source_gate =
        count_attempt(&state, &keys.source, state.settings.source_throttle, now).await?;
    let mut gates = vec![source_gate];
    if matches!(source_gate, Gate::Open { .. }) {
        let pair = count_attempt(
            &state,
            &keys.user_at_source,
            state.settings.login_throttle,
            now,
        )
        .await?;
        gates.push(pair);
        if matches!(pair, Gate::Open { .. }) {
            gates.push(count_attempt(&state, &keys.user, state.settings.user_throttle, now).await?);
        }
    }
    match combine(&gates) {
        Gate::Locked { retry_after_secs } => {
            tracing::warn!(username = %username, source = %source, "login refused: too many failed attempts from this source");
            return Err(ApiError::throttled(retry_after_secs));
        }
        Gate::Open { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Gate::Open { .. } => {}
    }
    // A password no account can have (longer than any new password may be) is a failed login,
    // counted above, and never hashed.
    if req.password.len() > MAX_PASSWORD_BYTES {
        tracing::warn!(username = %username, source = %source, "failed login: over-long password");
        return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials));
    }

    let user = state.store.user_by_username(&username).await?;
    let password = req.password;
    let verified = state
        .run_sign_in_work(move || match user {
            Some(user) if !user.disabled && verify_password(&password, &user.password_hash) => {
                Ok(user)
            }
            Some(user) if user.disabled => Err("account disabled"),
            Some(_) => Err("wrong password"),
            None => {
                burn_verification_time(&password);
                Err("no such user")
            }
        })
        .await;
    let verified = match verified {
        Ok(verified) => verified,
        Err(err) => {
            // Refused for a full queue: no password was checked, so the attempt is not held
            // against anyone.
            if err.code == ErrorCode::TooManySignIns {
                for key in [&keys.source, &keys.user_at_source, &keys.user] {
                    state.store.throttle_refund(key).await?;
                }
                tracing::warn!(source = %source, "login refused: too many sign-ins waiting");
            }
            return Err(err);
        }
    };
    let user = match verified {
        Ok(user) => user,
        Err(reason) => {
            // The username (never the password), so an operator sees who is targeted.
            tracing::warn!(username = %username, source = %source, reason, "failed login");
            return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials));
        }
    };
    // A success wipes the failures of this username from this source, and is not held against
    // the source or the username.
    state.store.clear_throttle(&keys.user_at_source).await?;
    state.store.throttle_refund(&keys.source).await?;
    state.store.clear_throttle(&keys.user).await?;
    tracing::info!(user.id = %user.id, role = user.role.as_str(), source = %source, "login");
    let response = issue_tokens(&state, &user, None, device_id, Utc::now()).await?;
    Ok(Json(response))
}

/// Counts one login attempt under `key` and says what to do with it.
async fn count_attempt(
    state: &AppState,
    key: &str,
    policy: ThrottlePolicy,
    now: DateTime<Utc>,
) -> ApiResult<Gate> {
    Ok(state
        .store
        .throttle_attempt(key, now, |record| {
            let (next, gate) = policy.on_attempt(throttle_state(&record), now);
            let next = ThrottleRecord {
                username: record.username,
                attempts: next.attempts,
                window_started_at: next.window_started_at,
                locked_until: next.locked_until,
            };
            (next, gate)
        })
        .await?)
}

/// Trade a refresh token for a new access token and a new refresh token.
///
/// Refresh tokens rotate: each works once. Presenting one again within the grace window after
/// its rotation (`PAICHA_REFRESH_GRACE_SECS`, default 30 s: the answer was lost on the way)
/// returns the same successor again, as long as that successor has not been used itself;
/// presenting it later, or after its successor was used, revokes every token descended from the
/// same sign-in (`refresh_token_reused`). No `Authorization` header is needed: the refresh token
/// is the credential.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused refresh token", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
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
    let successor = successor_of(state.settings.jwt_secret.expose(), &req.refresh_token);
    if token.used_at.is_none() {
        let new = new_token_row(
            &state,
            &user,
            &family,
            successor.hash.clone(),
            token.device_id.clone(),
            now,
        )?;
        if state.store.rotate_refresh_token(token.id, now, new).await? {
            let response = token_response(&state, &user, &family, successor.token, now)?;
            return Ok(Json(response));
        }
    }
    // Used already (or just now, by a concurrent request): within the grace window, and while
    // its successor is unused, answer with that same successor; else it is a replay.
    let used_at = match token.used_at {
        Some(at) => Some(at),
        None => state
            .store
            .refresh_token_by_hash(&hash)
            .await?
            .and_then(|t| t.used_at),
    };
    let grace =
        chrono::Duration::from_std(state.settings.refresh_grace).map_err(ApiError::internal)?;
    let in_grace = used_at.is_some_and(|at| now - at <= grace) && !grace.is_zero();
    if in_grace {
        let next = state.store.refresh_token_by_hash(&successor.hash).await?;
        let unused = next.is_some_and(|n| {
            n.family_id == token.family_id && n.used_at.is_none() && n.revoked_at.is_none()
        });
        if unused {
            tracing::info!(user.id = %user.id, family = %token.family_id, "refresh retried within the grace window; same successor");
            let response = token_response(&state, &user, &family, successor.token, now)?;
            return Ok(Json(response));
        }
    }
    state
        .store
        .revoke_refresh_family(token.family_id, now)
        .await?;
    tracing::warn!(user.id = %token.user_id, family = %token.family_id, "refresh token reused; family revoked");
    Err(ApiError::unauthorized(ErrorCode::RefreshTokenReused))
}

/// Change one's own password. The current password is required; every other sign-in of the
/// caller ends (the calling one stays signed in).
#[utoipa::path(
    post, path = "/v1/auth/password", tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Wrong current password (`wrong_password`) or unacceptable new one", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let user = state
        .store
        .user(principal.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized(ErrorCode::SessionRevoked))?;
    crate::accounts::check_password_field(&req.new_password, "new_password")?;
    let current = req.current_password;
    let stored = user.password_hash.clone();
    let ok = current.len() <= MAX_PASSWORD_BYTES
        && state
            .run_password_work(move || verify_password(&current, &stored))
            .await?;
    if !ok {
        tracing::warn!(username = %user.username, "own password change: wrong current password");
        return Err(
            ApiError::unprocessable(ErrorCode::WrongPassword).with_field("current_password")
        );
    }
    let new_password = req.new_password;
    let hash = state
        .run_password_work(move || hash_password(&new_password))
        .await?
        .map_err(ApiError::internal)?;
    crate::accounts::change(
        &state,
        &principal,
        AccountAct::SetPassword {
            id: user.id,
            password_hash: hash,
            keep: principal.session_id,
        },
        "password_changed",
        serde_json::json!({}),
        false,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out: revoke the given refresh token's family, or all of the caller's refresh tokens
/// when none is given. The access tokens of the revoked sign-ins stop working at once.
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

/// A new sign-in: a new family with a random first refresh token, and an access token.
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
    let refresh = new_refresh_token().map_err(ApiError::internal)?;
    let row = new_token_row(state, user, &family, refresh.hash, device_id, now)?;
    state.store.insert_refresh_token(row).await?;
    token_response(state, user, &family, refresh.token, now)
}

/// The stored row of a new refresh token of `family`.
fn new_token_row(
    state: &AppState,
    user: &UserRecord,
    family: &Family,
    token_hash: String,
    device_id: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<NewRefreshToken> {
    let refresh_ttl =
        chrono::Duration::from_std(state.settings.refresh_token_ttl).map_err(ApiError::internal)?;
    Ok(NewRefreshToken {
        id: Uuid::now_v7(),
        family_id: family.id,
        user_id: user.id,
        family_created_at: family.created_at,
        token_hash,
        device_id,
        now,
        expires_at: now + refresh_ttl,
    })
}

/// A fresh access token for the sign-in `family`, with `refresh_token`.
fn token_response(
    state: &AppState,
    user: &UserRecord,
    family: &Family,
    refresh_token: String,
    now: DateTime<Utc>,
) -> ApiResult<TokenResponse> {
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        org_unit_id: user.org_unit_id,
        tenant_id: user.tenant_id,
        session_id: Some(family.id),
    };
    let access_token = state
        .keys
        .issue(&principal, now)
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        expires_in: state.keys.ttl().as_secs(),
        token_type: "Bearer".to_owned(),
        user: UserSummary {
            id: user.id,
            org_unit_id: user.org_unit_id.map(UnitId::uuid),
            role: user.role,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
        },
        password_change_required: user.must_change_password,
    })
}
