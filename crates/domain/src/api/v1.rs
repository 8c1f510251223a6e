//! Version 1 of the HTTP API: request and response bodies.
//!
//! Requests refuse unknown fields, so a misspelt optional field is an error instead of being
//! silently ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::OrgUnitKind;
use crate::role::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The device signing in; stored with its refresh tokens.
    #[serde(default)]
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
    pub name: String,
    #[serde(default)]
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
    pub username: String,
    pub password: String,
    /// `null` only for another `system_admin`.
    #[serde(default)]
    pub org_unit_id: Option<Uuid>,
    pub role: Role,
    #[serde(default)]
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
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    pub users: Vec<User>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}
