//! Sign-in, tokens, org units, users and their devices and account log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::OrgUnitKind;
use crate::role::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 64, pattern = r"^[A-Za-z0-9_.@-]+$")
    )]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub password: String,
    /// The device signing in; stored with its refresh tokens.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token to revoke (with its whole family). Without it, every refresh token of
    /// the calling user is revoked.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The answer to login and refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub token_type: String,
    pub user: UserSummary,
    /// The account must set a new password (`POST /v1/auth/password`) before anything else;
    /// until then every other request but refresh and logout is `403
    /// password_change_required`. Absent from older servers (read as `false`).
    #[serde(default)]
    pub password_change_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: Uuid,
    /// `null` only for `system_admin`.
    pub org_unit_id: Option<Uuid>,
    pub role: Role,
    pub username: String,
    pub display_name: Option<String>,
}

/// `PATCH /v1/org-units/{id}`: rename a unit, or change its code. Fields left out keep their
/// value; `code: null` clears the code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgUnit {
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(max_length = 50, nullable))]
    pub code: Option<Option<String>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrgUnit {
    /// Client-generated id (UUID); the server makes one when absent.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// `null` only for a committee, which is a new tenant (system_admin only).
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    pub kind: OrgUnitKind,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUnit {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    /// The id of the committee at the root of this unit's tree.
    pub tenant_id: Uuid,
    pub kind: OrgUnitKind,
    pub name: String,
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUnitList {
    pub org_units: Vec<OrgUnit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 64, pattern = r"^[A-Za-z0-9_.@-]+$")
    )]
    pub username: String,
    /// At least 10 characters, at most 256 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 256))]
    pub password: String,
    /// `null` only for another `system_admin`.
    #[serde(default)]
    pub org_unit_id: Option<Uuid>,
    pub role: Role,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub org_unit_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub role: Role,
    pub display_name: Option<String>,
    /// A disabled user cannot sign in, and its tokens stop working.
    #[serde(default)]
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    pub users: Vec<User>,
}

/// `PATCH /v1/users/{id}`: the fields to change; absent fields stay as they are. Changing the
/// role or the unit ends the user's access tokens (it refreshes to get the new ones); disabling
/// ends its sign-ins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub role: Option<Role>,
    /// The unit to move the user to (a `system_admin` has none and cannot be moved).
    #[serde(default)]
    pub org_unit_id: Option<Uuid>,
    /// The new display name; an empty string clears it.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `POST /v1/users/{id}/password`: an administrator sets a new password; every sign-in of the
/// user ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

/// `POST /v1/auth/password`: one's own password, the current one required.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// One device of a user: its sign-ins and its last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// The `device_id` given at login (or to sync); `null` for sign-ins that named none.
    pub device_id: Option<String>,
    /// Sign-ins of this device whose refresh token still works.
    pub active_sessions: u32,
    /// The latest sign-in.
    pub signed_in_at: Option<DateTime<Utc>>,
    /// The latest refresh (or sign-in).
    pub last_refresh_at: Option<DateTime<Utc>>,
    /// The latest pull of this device.
    pub last_sync_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceList {
    pub devices: Vec<Device>,
}

/// One entry of a user's account log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEvent {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user's username at the time.
    pub username: String,
    pub actor_id: Uuid,
    pub actor_username: String,
    /// `created`, `updated`, `password_reset`, `password_changed`, `sessions_revoked`,
    /// `device_revoked`.
    pub action: String,
    /// What changed: before and after values (never a password).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEventList {
    pub events: Vec<AccountEvent>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}
