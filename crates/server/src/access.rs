//! Who the caller is to the data: the policy's view of the caller and its unit (`actor`,
//! `unit_ref`), the caller's unit and the unit a request asks about for member data
//! (`data_unit`, `data_target`), the scope of its reads (`scope`), and the caller as the
//! writer of the server's own acts (`writer`). Every route asks here; none asks another route.

use paicha_auth::{Actor, Principal, UnitRef};
use paicha_domain::api::ErrorCode;
use paicha_domain::ids::UnitId;
use paicha_storage::{OrgUnitRecord, Scope};
use paicha_sync::push::Writer;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The device under which the office console's server acts are recorded.
pub const CONSOLE_DEVICE: &str = "office-console";

/// The policy's view of a stored unit.
pub fn unit_ref(unit: &OrgUnitRecord) -> UnitRef<'_> {
    UnitRef {
        id: unit.id,
        tenant_id: unit.tenant_id,
        kind: unit.kind,
        path: &unit.path,
    }
}

/// The policy's view of a caller and its unit.
pub fn actor<'a>(principal: &'a Principal, unit: Option<&'a OrgUnitRecord>) -> Actor<'a> {
    Actor {
        principal,
        unit: unit.map(unit_ref),
    }
}

/// The caller's unit, for a caller that may read member data (not `system_admin`).
pub async fn data_unit(state: &AppState, principal: &Principal) -> ApiResult<OrgUnitRecord> {
    data_unit_of(principal, state.caller_unit(principal).await?)
}

/// [`data_unit`] of a caller whose unit is read already (`None`: it has none).
pub fn data_unit_of(principal: &Principal, own: Option<OrgUnitRecord>) -> ApiResult<OrgUnitRecord> {
    let Some(unit) = own else {
        return Err(ApiError::forbidden(ErrorCode::Forbidden)
            .with_message("平台管理员不能读取或修改党员数据"));
    };
    actor(principal, Some(&unit)).may_read_member_data(&unit_ref(&unit))?;
    Ok(unit)
}

/// The caller's unit and the unit a request asks about (`org_unit_id`, default the caller's
/// own), for a caller that may read member data. A unit outside the caller's subtree is 404,
/// like one that does not exist.
pub async fn data_target(
    state: &AppState,
    principal: &Principal,
    org_unit_id: Option<Uuid>,
) -> ApiResult<(OrgUnitRecord, OrgUnitRecord)> {
    let own = data_unit(state, principal).await?;
    let target = match org_unit_id {
        Some(id) if UnitId::new(id) != own.id => state
            .store
            .org_unit(UnitId::new(id))
            .await?
            .ok_or_else(ApiError::not_found)?,
        _ => own.clone(),
    };
    actor(principal, Some(&own))
        .may_read_member_data(&unit_ref(&target))
        .map_err(|d| match d {
            paicha_auth::Denied::OutsideScope => ApiError::not_found(),
            other => other.into(),
        })?;
    Ok((own, target))
}

pub fn scope(unit: &OrgUnitRecord) -> Scope<'_> {
    unit.scope()
}

/// The caller as the writer of the server's acts, recorded under the console's device.
pub fn writer<'a>(principal: &Principal, unit: &'a OrgUnitRecord) -> Writer<'a> {
    Writer {
        user_id: principal.user_id,
        role: principal.role,
        tenant_id: unit.tenant_id,
        unit_path: &unit.path,
        device_id: CONSOLE_DEVICE,
    }
}
