//! Accounts: the checks of what a request says about an account or a device, and every change
//! of an account, which commits together with its entry of the account log
//! (`Store::change_account`) and is said in the server log (ids and usernames, never secrets).

use paicha_auth::Principal;
use paicha_domain::account::check_new_password;
use paicha_domain::api::ErrorCode;
use paicha_storage::{AccountAct, AccountEvent, StoreError, UserRecord};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The longest device id accepted.
const MAX_DEVICE_ID_BYTES: usize = 200;

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

/// A password field of a request: the rules of a new password.
pub fn check_password_field(password: &str, field: &str) -> ApiResult<()> {
    check_new_password(password).map_err(|e| {
        let code = ErrorCode::parse(e.code()).unwrap_or(ErrorCode::InvalidBody);
        ApiError::unprocessable(code)
            .with_message(e.message_zh())
            .with_field(field)
    })
}

/// Does `act` on an account, made by `principal`, with its entry of the account log (`action`,
/// `detail`; `counts_tokens` adds how many tokens it ended), in one transaction. Returns the
/// user as it is now and the tokens ended; a store error as it is, for the caller to name
/// (a taken username, a unit deleted meanwhile).
pub async fn change(
    state: &AppState,
    principal: &Principal,
    act: AccountAct,
    action: &'static str,
    detail: serde_json::Value,
    counts_tokens: bool,
) -> Result<(UserRecord, u64), StoreError> {
    let at = chrono::Utc::now();
    let (user, ended) = state
        .store
        .change_account(
            act,
            AccountEvent {
                actor_id: principal.user_id,
                action,
                detail,
                counts_tokens,
                at,
            },
        )
        .await?;
    tracing::info!(user.id = %user.id, username = %user.username, by = %principal.user_id, action, "account changed");
    Ok((user, ended))
}
