//! Roles (docs/domain.md §2.1). Each user holds one role bound to one org unit; the policy of who
//! may do what lives in `paicha-auth`, the facts about roles live here.

use serde::{Deserialize, Serialize};

use crate::org::OrgUnitKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform: creates tenants and their first admin; sees no member data.
    SystemAdmin,
    /// 党工委
    CommitteeAdmin,
    /// 组织办
    OrgOffice,
    /// 街道
    StreetStaff,
    /// 工作区
    WorkAreaStaff,
    /// 党支部书记
    BranchSecretary,
    /// 工作组成员
    GroupMember,
    /// Read-only access to its unit's subtree.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Self::SystemAdmin,
        Self::CommitteeAdmin,
        Self::OrgOffice,
        Self::StreetStaff,
        Self::WorkAreaStaff,
        Self::BranchSecretary,
        Self::GroupMember,
        Self::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::CommitteeAdmin => "committee_admin",
            Self::OrgOffice => "org_office",
            Self::StreetStaff => "street_staff",
            Self::WorkAreaStaff => "work_area_staff",
            Self::BranchSecretary => "branch_secretary",
            Self::GroupMember => "group_member",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::SystemAdmin => "系统管理员",
            Self::CommitteeAdmin => "党工委管理员",
            Self::OrgOffice => "组织办",
            Self::StreetStaff => "街道工作人员",
            Self::WorkAreaStaff => "工作区工作人员",
            Self::BranchSecretary => "党支部书记",
            Self::GroupMember => "工作组成员",
            Self::Viewer => "只读用户",
        }
    }

    /// Power, for "no one creates a user with more power than its own". Higher is more.
    pub fn rank(self) -> u8 {
        match self {
            Self::SystemAdmin => 7,
            Self::CommitteeAdmin => 6,
            Self::OrgOffice => 5,
            Self::StreetStaff => 4,
            Self::WorkAreaStaff => 3,
            Self::BranchSecretary => 2,
            Self::GroupMember => 1,
            Self::Viewer => 0,
        }
    }

    /// Whether a user of this role may give `role` to an account (create one with it, or change
    /// one to it), wherever the unit allows (`fits_unit`): nobody gives more power than its own;
    /// the platform administrator makes system admins and the committee admins of tenants, a
    /// committee admin any tenant role up to its own, a branch secretary its working group's
    /// roles. `auth::policy::may_create_user` applies it (a test there checks they agree).
    pub fn may_assign(self, role: Role) -> bool {
        match self {
            Self::SystemAdmin => matches!(role, Self::SystemAdmin | Self::CommitteeAdmin),
            Self::CommitteeAdmin | Self::BranchSecretary => {
                role != Self::SystemAdmin && role.rank() <= self.rank()
            }
            _ => false,
        }
    }

    /// Whether a user of this role manages (changes, disables, resets) an account of `role`:
    /// one it may give, and of a lower rank, so two accounts of one rank never take over each
    /// other (`auth::policy::may_manage_user`; the platform administrator manages whom it sees).
    pub fn manages(self, role: Role) -> bool {
        self.may_assign(role) && (self == Self::SystemAdmin || role.rank() < self.rank())
    }

    /// The kinds of unit a user of this role may sit at (none for `system_admin`).
    pub fn unit_kinds(self) -> Vec<OrgUnitKind> {
        OrgUnitKind::ALL
            .into_iter()
            .filter(|k| self.fits_unit(Some(*k)))
            .collect()
    }

    /// Which kind of unit a user of this role is bound to: the committee's roles sit at the
    /// committee, the street's at a street, and so on. `system_admin` is bound to no unit;
    /// a viewer may sit anywhere.
    pub fn fits_unit(self, unit: Option<OrgUnitKind>) -> bool {
        use OrgUnitKind::*;
        match (self, unit) {
            (Self::SystemAdmin, None) => true,
            (Self::SystemAdmin, Some(_)) | (_, None) => false,
            (Self::CommitteeAdmin | Self::OrgOffice, Some(kind)) => kind == Committee,
            (Self::StreetStaff, Some(kind)) => kind == Street,
            (Self::WorkAreaStaff, Some(kind)) => kind == WorkArea,
            (Self::BranchSecretary | Self::GroupMember, Some(kind)) => kind == Branch,
            (Self::Viewer, Some(_)) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_their_wire_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn ranks_are_distinct_and_system_admin_is_highest() {
        let mut ranks: Vec<u8> = Role::ALL.iter().map(|r| r.rank()).collect();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), Role::ALL.len());
        assert!(
            Role::ALL
                .iter()
                .all(|r| r.rank() <= Role::SystemAdmin.rank())
        );
    }

    #[test]
    fn roles_fit_their_units() {
        use OrgUnitKind::*;
        let table: &[(Role, Option<OrgUnitKind>, bool)] = &[
            (Role::SystemAdmin, None, true),
            (Role::SystemAdmin, Some(Committee), false),
            (Role::CommitteeAdmin, Some(Committee), true),
            (Role::CommitteeAdmin, Some(Branch), false),
            (Role::CommitteeAdmin, None, false),
            (Role::OrgOffice, Some(Committee), true),
            (Role::StreetStaff, Some(Street), true),
            (Role::StreetStaff, Some(Committee), false),
            (Role::WorkAreaStaff, Some(WorkArea), true),
            (Role::BranchSecretary, Some(Branch), true),
            (Role::BranchSecretary, Some(WorkArea), false),
            (Role::GroupMember, Some(Branch), true),
            (Role::Viewer, Some(Street), true),
            (Role::Viewer, None, false),
        ];
        for (role, unit, ok) in table {
            assert_eq!(role.fits_unit(*unit), *ok, "{role:?} at {unit:?}");
        }
    }
}
