//! The HTTP routes, one module per resource. Each handler carries a `#[utoipa::path]`, so the
//! OpenAPI document is generated from the same code that routes.

pub mod auth;
pub mod baseline;
pub mod blobs;
pub mod departures;
pub mod import;
pub mod late_entries;
pub mod ledgers;
pub mod members;
pub mod ops;
pub mod org_units;
pub mod proposals;
pub mod reports;
pub mod schema;
pub mod status;
pub mod sync;
pub mod transfers;
pub mod users;

use paicha_domain::api::v1;
use paicha_domain::ids::{TenantId, UnitId};
use paicha_storage::{OrgUnitRecord, UserRecord};

pub fn org_unit_dto(unit: OrgUnitRecord) -> v1::OrgUnit {
    v1::OrgUnit {
        id: unit.id.uuid(),
        parent_id: unit.parent_id.map(UnitId::uuid),
        tenant_id: unit.tenant_id.uuid(),
        kind: unit.kind,
        name: unit.name,
        code: unit.code,
        created_at: unit.created_at,
    }
}

pub fn user_dto(user: UserRecord) -> v1::User {
    v1::User {
        id: user.id,
        username: user.username,
        org_unit_id: user.org_unit_id.map(UnitId::uuid),
        tenant_id: user.tenant_id.map(TenantId::uuid),
        role: user.role,
        display_name: user.display_name,
        disabled: user.disabled,
        created_at: user.created_at,
    }
}

/// A download's `Content-Disposition`: `fallback` (ASCII) for old clients, `name` (Chinese,
/// percent-encoded UTF-8) for the others.
pub(crate) fn attachment(fallback: &str, name: &str) -> Option<axum::http::HeaderValue> {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    axum::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .ok()
}
