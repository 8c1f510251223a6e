//! The two ids every read and write is bound by: the tenant's and the org unit's.
//!
//! Both are UUIDs on the wire and in the database, and a bare `Uuid` would let one be passed
//! where the other is meant (or a member's id where either is). The storage and sync APIs take
//! these types instead; the conversion from a bare `Uuid` happens where an id enters from
//! outside (a token's claims, a path, a record's field, a database row) and is spelled out
//! there. A tenant is its committee: the id of the tenant is the id of its root unit
//! ([`TenantId::root`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a tenant: a committee and everything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(Uuid);

/// The id of an org unit (committee, street, work area, branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(Uuid);

impl TenantId {
    pub const fn new(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn uuid(self) -> Uuid {
        self.0
    }

    /// The tenant's root unit, its committee (a tenant's id is its root unit's).
    pub const fn root(self) -> UnitId {
        UnitId(self.0)
    }
}

impl UnitId {
    pub const fn new(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn uuid(self) -> Uuid {
        self.0
    }

    /// The tenant whose root this unit is (for a committee being created; any other unit's
    /// tenant is the one it was found in).
    pub const fn as_root_of_tenant(self) -> TenantId {
        TenantId(self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_its_root_unit_and_both_read_as_their_uuid() {
        let id = Uuid::now_v7();
        let tenant = TenantId::new(id);
        assert_eq!(tenant.root(), UnitId::new(id));
        assert_eq!(tenant.root().as_root_of_tenant(), tenant);
        assert_eq!(tenant.to_string(), id.to_string());
        assert_eq!(serde_json::to_string(&tenant).unwrap(), format!("\"{id}\""));
        let back: UnitId = serde_json::from_str(&format!("\"{id}\"")).unwrap();
        assert_eq!(back.uuid(), id);
    }
}
