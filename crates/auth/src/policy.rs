//! Who may see and do what, as plain functions over data (docs/domain.md §2.1 and §9).
//!
//! A principal sees its own unit's subtree and nothing of another tenant. `system_admin` runs
//! the platform: it creates tenants (committee roots) and their admins, and reads no member
//! data. Refusals distinguish "not yours to know about" ([`Denied::NotFound`], for anything in
//! another tenant, so ids of other tenants are never confirmed) from "you see it but may not do
//! this" ([`Denied::Forbidden`] and friends).

use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use uuid::Uuid;

use crate::Principal;

/// What the policy needs to know about an org unit.
#[derive(Debug, Clone, Copy)]
pub struct UnitRef<'a> {
    pub id: UnitId,
    pub tenant_id: TenantId,
    pub kind: OrgUnitKind,
    /// Materialized path "/<root>/…/<id>/".
    pub path: &'a str,
}

impl UnitRef<'_> {
    fn is_root(&self) -> bool {
        self.id == self.tenant_id.root()
    }
}

/// A principal together with its own unit (none for `system_admin`).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub principal: &'a Principal,
    pub unit: Option<UnitRef<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The target is in another tenant (or the caller has no tenant): answer as if it did not
    /// exist.
    #[error("not found")]
    NotFound,
    /// Same tenant, but outside the caller's subtree.
    #[error("outside the caller's scope")]
    OutsideScope,
    /// The caller's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The new user would have more power than the caller.
    #[error("role above the caller's own")]
    RoleAboveOwn,
    /// The role does not belong at that kind of unit.
    #[error("role does not fit the unit")]
    RoleDoesNotFitUnit,
}

impl<'a> Actor<'a> {
    pub fn role(&self) -> Role {
        self.principal.role
    }

    fn is_system_admin(&self) -> bool {
        self.principal.role == Role::SystemAdmin
    }

    /// Whether `target` is the caller's unit or below it; other tenants are `NotFound`.
    pub fn reach(&self, target: &UnitRef<'_>) -> Result<(), Denied> {
        let Some(own) = self.unit else {
            return Err(Denied::NotFound);
        };
        if own.tenant_id != target.tenant_id {
            return Err(Denied::NotFound);
        }
        if paicha_domain::org::is_within(target.path, own.path) {
            Ok(())
        } else {
            Err(Denied::OutsideScope)
        }
    }

    /// Whether the caller may see the unit itself (its name, kind and place in the tree). The
    /// platform administrator sees tenant roots only.
    pub fn may_view_unit(&self, target: &UnitRef<'_>) -> bool {
        if self.is_system_admin() {
            return target.is_root();
        }
        self.reach(target).is_ok()
    }

    /// Whether the caller may read the data of members, forms, ledgers and cases. Every tenant
    /// role reads its subtree; the platform administrator reads none.
    pub fn may_read_member_data(&self, target: &UnitRef<'_>) -> Result<(), Denied> {
        if self.is_system_admin() {
            return Err(Denied::Forbidden);
        }
        self.reach(target)
    }

    /// Creating a unit: a committee (a new tenant, no parent) only by the platform
    /// administrator; anything inside a tenant only by that tenant's committee admin, inside
    /// its subtree.
    pub fn may_create_unit(
        &self,
        kind: OrgUnitKind,
        parent: Option<&UnitRef<'_>>,
    ) -> Result<(), Denied> {
        match parent {
            None => {
                if self.is_system_admin() && kind == OrgUnitKind::Committee {
                    Ok(())
                } else {
                    Err(Denied::Forbidden)
                }
            }
            Some(parent) => {
                if self.is_system_admin() {
                    return Err(Denied::Forbidden);
                }
                self.reach(parent)?;
                if self.role() == Role::CommitteeAdmin {
                    Ok(())
                } else {
                    Err(Denied::Forbidden)
                }
            }
        }
    }

    /// Renaming a unit (or changing its code): a tenant root by the platform administrator or
    /// the tenant's committee admin, any other unit by the committee admin of its tenant.
    pub fn may_rename_unit(&self, target: &UnitRef<'_>) -> Result<(), Denied> {
        if self.is_system_admin() {
            return if target.is_root() {
                Ok(())
            } else {
                Err(Denied::NotFound)
            };
        }
        self.reach(target)?;
        if self.role() == Role::CommitteeAdmin {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }

    /// Deleting a unit (emptiness is checked by the caller): a tenant root only by the platform
    /// administrator, any other unit by the committee admin of its tenant.
    pub fn may_delete_unit(&self, target: &UnitRef<'_>) -> Result<(), Denied> {
        if self.is_system_admin() {
            return if target.is_root() {
                Ok(())
            } else {
                Err(Denied::NotFound)
            };
        }
        self.reach(target)?;
        if self.role() == Role::CommitteeAdmin && !target.is_root() {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }

    /// Creating a user with `role` at `unit`. Nobody creates a user with more power than its
    /// own, or outside its subtree. The platform administrator creates other system admins and
    /// the committee admins of tenants; a committee admin creates any tenant role up to its
    /// own; a branch secretary creates the working group's accounts in its branch.
    pub fn may_create_user(&self, role: Role, unit: Option<&UnitRef<'_>>) -> Result<(), Denied> {
        if self.is_system_admin() {
            return match (role, unit) {
                (Role::SystemAdmin, None) => Ok(()),
                (Role::CommitteeAdmin, Some(u)) if u.is_root() => Ok(()),
                (_, Some(u)) if !u.is_root() => Err(Denied::NotFound),
                _ => Err(Denied::Forbidden),
            };
        }
        let Some(unit) = unit else {
            return Err(if role == Role::SystemAdmin {
                Denied::RoleAboveOwn
            } else {
                Denied::RoleDoesNotFitUnit
            });
        };
        self.reach(unit)?;
        if !matches!(self.role(), Role::CommitteeAdmin | Role::BranchSecretary) {
            return Err(Denied::Forbidden);
        }
        if role.rank() > self.role().rank() {
            return Err(Denied::RoleAboveOwn);
        }
        if !role.fits_unit(Some(unit.kind)) {
            return Err(Denied::RoleDoesNotFitUnit);
        }
        Ok(())
    }

    /// Seeing an existing user with `role` at `unit` (reading it, its devices and its account
    /// log): the reach of creating one (docs/domain.md §9). Only those who create users see
    /// them, only users of their own subtree, never one whose role is above their own. The
    /// platform administrator sees the system admins and the committee admins at tenant roots;
    /// a tenant user never sees a system admin (`NotFound`).
    pub fn may_view_user(&self, role: Role, unit: Option<&UnitRef<'_>>) -> Result<(), Denied> {
        if self.is_system_admin() {
            return match (role, unit) {
                (Role::SystemAdmin, None) => Ok(()),
                (Role::CommitteeAdmin, Some(u)) if u.is_root() => Ok(()),
                _ => Err(Denied::NotFound),
            };
        }
        let Some(unit) = unit else {
            return Err(Denied::NotFound);
        };
        self.reach(unit)?;
        if !matches!(self.role(), Role::CommitteeAdmin | Role::BranchSecretary) {
            return Err(Denied::Forbidden);
        }
        if role.rank() > self.role().rank() {
            return Err(Denied::RoleAboveOwn);
        }
        Ok(())
    }

    /// Managing another user with `role` at `unit` (changing or disabling it, resetting its
    /// password, ending its sessions or a device's): seeing it, and a role strictly above the
    /// user's, so two accounts of one rank (two branch secretaries, two committee admins) never
    /// take over each other (`Forbidden`). The platform administrator manages whom it sees.
    pub fn may_manage_user(&self, role: Role, unit: Option<&UnitRef<'_>>) -> Result<(), Denied> {
        self.may_view_user(role, unit)?;
        if !self.is_system_admin() && role.rank() >= self.role().rank() {
            return Err(Denied::Forbidden);
        }
        Ok(())
    }

    /// Changing user `target` (now `role` at `unit`) to `new_role` at `new_unit`, or disabling
    /// it: the caller must manage the user as it is and be allowed to create it as it will be.
    /// Nobody disables, demotes or moves itself (so an administrator cannot lock itself out).
    pub fn may_change_user(
        &self,
        target: Uuid,
        (role, unit): (Role, Option<&UnitRef<'_>>),
        (new_role, new_unit): (Role, Option<&UnitRef<'_>>),
        disables: bool,
    ) -> Result<(), Denied> {
        if target == self.principal.user_id {
            // Oneself: seen, and changed only where it neither disables, demotes nor moves.
            self.may_view_user(role, unit)?;
        } else {
            self.may_manage_user(role, unit)?;
        }
        let moves = role != new_role || unit.map(|u| u.id) != new_unit.map(|u| u.id);
        if target == self.principal.user_id && (moves || disables) {
            return Err(Denied::Forbidden);
        }
        if moves {
            self.may_create_user(new_role, new_unit)?;
        }
        Ok(())
    }

    /// Listing users: those who create users see the users of their subtree (the platform
    /// administrator: system admins and tenant admins).
    pub fn may_list_users(&self) -> bool {
        matches!(
            self.role(),
            Role::SystemAdmin | Role::CommitteeAdmin | Role::BranchSecretary
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrgUnitKind::*;

    /// Two tenants: A (committee a, street s, work area w, branches b1 and b2 under w) and B
    /// (committee c, branch x).
    struct World {
        ids: Vec<Uuid>,
        paths: Vec<String>,
    }

    const A: usize = 0;
    const S: usize = 1;
    const W: usize = 2;
    const B1: usize = 3;
    const B2: usize = 4;
    const C: usize = 5;
    const X: usize = 6;

    impl World {
        fn new() -> Self {
            let ids: Vec<Uuid> = (0..7).map(|_| Uuid::now_v7()).collect();
            let p = |chain: &[usize]| -> String {
                let mut s = String::from("/");
                for i in chain {
                    s.push_str(&format!("{}/", ids[*i]));
                }
                s
            };
            let paths = vec![
                p(&[A]),
                p(&[A, S]),
                p(&[A, S, W]),
                p(&[A, S, W, B1]),
                p(&[A, S, W, B2]),
                p(&[C]),
                p(&[C, X]),
            ];
            Self { ids, paths }
        }

        fn unit(&self, i: usize) -> UnitRef<'_> {
            let (tenant, kind) = match i {
                A => (A, Committee),
                S => (A, Street),
                W => (A, WorkArea),
                B1 | B2 => (A, Branch),
                C => (C, Committee),
                _ => (C, Branch),
            };
            UnitRef {
                id: UnitId::new(self.ids[i]),
                tenant_id: TenantId::new(self.ids[tenant]),
                kind,
                path: &self.paths[i],
            }
        }

        fn principal(&self, role: Role, at: Option<usize>) -> Principal {
            Principal {
                user_id: Uuid::now_v7(),
                role,
                org_unit_id: at.map(|i| UnitId::new(self.ids[i])),
                tenant_id: at.map(|i| self.unit(i).tenant_id),
                session_id: None,
            }
        }
    }

    fn actor<'a>(w: &'a World, p: &'a Principal, at: Option<usize>) -> Actor<'a> {
        Actor {
            principal: p,
            unit: at.map(|i| w.unit(i)),
        }
    }

    #[test]
    fn visibility_matrix() {
        let w = World::new();
        // (role, at, [A, S, W, B1, B2, C, X] visible?)
        let table: &[(Role, Option<usize>, [bool; 7])] = &[
            (
                Role::SystemAdmin,
                None,
                [true, false, false, false, false, true, false],
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                [true, true, true, true, true, false, false],
            ),
            (
                Role::StreetStaff,
                Some(S),
                [false, true, true, true, true, false, false],
            ),
            (
                Role::WorkAreaStaff,
                Some(W),
                [false, false, true, true, true, false, false],
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                [false, false, false, true, false, false, false],
            ),
            (
                Role::GroupMember,
                Some(B2),
                [false, false, false, false, true, false, false],
            ),
            (
                Role::CommitteeAdmin,
                Some(C),
                [false, false, false, false, false, true, true],
            ),
        ];
        for (role, at, visible) in table {
            let p = w.principal(*role, *at);
            let a = actor(&w, &p, *at);
            for (i, expect) in visible.iter().enumerate() {
                assert_eq!(
                    a.may_view_unit(&w.unit(i)),
                    *expect,
                    "{role:?} at {at:?} sees {i}"
                );
            }
        }
    }

    #[test]
    fn other_tenants_are_not_found_and_siblings_are_outside_scope() {
        let w = World::new();
        let p = w.principal(Role::BranchSecretary, Some(B1));
        let a = actor(&w, &p, Some(B1));
        assert_eq!(a.may_read_member_data(&w.unit(X)), Err(Denied::NotFound));
        assert_eq!(
            a.may_read_member_data(&w.unit(B2)),
            Err(Denied::OutsideScope)
        );
        assert_eq!(a.may_read_member_data(&w.unit(B1)), Ok(()));
    }

    #[test]
    fn system_admin_reads_no_member_data() {
        let w = World::new();
        let p = w.principal(Role::SystemAdmin, None);
        let a = actor(&w, &p, None);
        for i in [A, S, W, B1, B2, C, X] {
            assert!(a.may_read_member_data(&w.unit(i)).is_err());
        }
    }

    #[test]
    fn unit_creation_matrix() {
        let w = World::new();
        let admin = w.principal(Role::SystemAdmin, None);
        let sys = actor(&w, &admin, None);
        assert_eq!(sys.may_create_unit(Committee, None), Ok(()));
        assert_eq!(
            sys.may_create_unit(Branch, Some(&w.unit(A))),
            Err(Denied::Forbidden)
        );

        let ca = w.principal(Role::CommitteeAdmin, Some(A));
        let ca = actor(&w, &ca, Some(A));
        assert_eq!(ca.may_create_unit(Street, Some(&w.unit(A))), Ok(()));
        assert_eq!(ca.may_create_unit(Branch, Some(&w.unit(W))), Ok(()));
        assert_eq!(ca.may_create_unit(Committee, None), Err(Denied::Forbidden));
        assert_eq!(
            ca.may_create_unit(Branch, Some(&w.unit(C))),
            Err(Denied::NotFound)
        );

        let bs = w.principal(Role::BranchSecretary, Some(B1));
        let bs = actor(&w, &bs, Some(B1));
        assert_eq!(
            bs.may_create_unit(Branch, Some(&w.unit(B1))),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            bs.may_create_unit(Branch, Some(&w.unit(W))),
            Err(Denied::OutsideScope)
        );
    }

    #[test]
    fn user_creation_matrix() {
        let w = World::new();
        type Row = (Role, Option<usize>, Role, Option<usize>, Result<(), Denied>);
        let table: &[Row] = &[
            (Role::SystemAdmin, None, Role::SystemAdmin, None, Ok(())),
            (
                Role::SystemAdmin,
                None,
                Role::CommitteeAdmin,
                Some(A),
                Ok(()),
            ),
            (
                Role::SystemAdmin,
                None,
                Role::CommitteeAdmin,
                Some(C),
                Ok(()),
            ),
            (
                Role::SystemAdmin,
                None,
                Role::OrgOffice,
                Some(A),
                Err(Denied::Forbidden),
            ),
            (
                Role::SystemAdmin,
                None,
                Role::BranchSecretary,
                Some(B1),
                Err(Denied::NotFound),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::CommitteeAdmin,
                Some(A),
                Ok(()),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::OrgOffice,
                Some(A),
                Ok(()),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::StreetStaff,
                Some(S),
                Ok(()),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::BranchSecretary,
                Some(B1),
                Ok(()),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::SystemAdmin,
                None,
                Err(Denied::RoleAboveOwn),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::BranchSecretary,
                Some(X),
                Err(Denied::NotFound),
            ),
            (
                Role::CommitteeAdmin,
                Some(A),
                Role::BranchSecretary,
                Some(W),
                Err(Denied::RoleDoesNotFitUnit),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::GroupMember,
                Some(B1),
                Ok(()),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::Viewer,
                Some(B1),
                Ok(()),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::CommitteeAdmin,
                Some(B1),
                Err(Denied::RoleAboveOwn),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::WorkAreaStaff,
                Some(B1),
                Err(Denied::RoleAboveOwn),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::GroupMember,
                Some(B2),
                Err(Denied::OutsideScope),
            ),
            (
                Role::BranchSecretary,
                Some(B1),
                Role::GroupMember,
                Some(W),
                Err(Denied::OutsideScope),
            ),
            (
                Role::WorkAreaStaff,
                Some(W),
                Role::GroupMember,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (
                Role::GroupMember,
                Some(B1),
                Role::Viewer,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (
                Role::Viewer,
                Some(A),
                Role::Viewer,
                Some(A),
                Err(Denied::Forbidden),
            ),
        ];
        for (role, at, new_role, new_at, expected) in table {
            let p = w.principal(*role, *at);
            let a = actor(&w, &p, *at);
            let target = new_at.map(|i| w.unit(i));
            assert_eq!(
                a.may_create_user(*new_role, target.as_ref()),
                *expected,
                "{role:?} at {at:?} creates {new_role:?} at {new_at:?}"
            );
        }
    }

    #[test]
    fn user_management_matrix() {
        let w = World::new();
        use Role::*;
        // (caller, at, target role, target at, expected)
        type Row = (Role, Option<usize>, Role, Option<usize>, Result<(), Denied>);
        let table: &[Row] = &[
            (SystemAdmin, None, SystemAdmin, None, Ok(())),
            (SystemAdmin, None, CommitteeAdmin, Some(A), Ok(())),
            (SystemAdmin, None, CommitteeAdmin, Some(C), Ok(())),
            (
                SystemAdmin,
                None,
                BranchSecretary,
                Some(B1),
                Err(Denied::NotFound),
            ),
            (
                SystemAdmin,
                None,
                StreetStaff,
                Some(S),
                Err(Denied::NotFound),
            ),
            (
                CommitteeAdmin,
                Some(A),
                SystemAdmin,
                None,
                Err(Denied::NotFound),
            ),
            // One rank does not manage its own rank.
            (
                CommitteeAdmin,
                Some(A),
                CommitteeAdmin,
                Some(A),
                Err(Denied::Forbidden),
            ),
            (CommitteeAdmin, Some(A), OrgOffice, Some(A), Ok(())),
            (CommitteeAdmin, Some(A), StreetStaff, Some(S), Ok(())),
            (CommitteeAdmin, Some(A), GroupMember, Some(B2), Ok(())),
            (
                CommitteeAdmin,
                Some(A),
                BranchSecretary,
                Some(X),
                Err(Denied::NotFound),
            ),
            (
                CommitteeAdmin,
                Some(C),
                BranchSecretary,
                Some(B1),
                Err(Denied::NotFound),
            ),
            (BranchSecretary, Some(B1), GroupMember, Some(B1), Ok(())),
            (
                BranchSecretary,
                Some(B1),
                BranchSecretary,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (BranchSecretary, Some(B1), Viewer, Some(B1), Ok(())),
            (
                BranchSecretary,
                Some(B1),
                GroupMember,
                Some(B2),
                Err(Denied::OutsideScope),
            ),
            (
                BranchSecretary,
                Some(B1),
                StreetStaff,
                Some(S),
                Err(Denied::OutsideScope),
            ),
            (
                BranchSecretary,
                Some(B1),
                CommitteeAdmin,
                Some(A),
                Err(Denied::OutsideScope),
            ),
            (
                StreetStaff,
                Some(S),
                GroupMember,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (
                WorkAreaStaff,
                Some(W),
                BranchSecretary,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (
                GroupMember,
                Some(B1),
                GroupMember,
                Some(B1),
                Err(Denied::Forbidden),
            ),
            (Viewer, Some(A), Viewer, Some(A), Err(Denied::Forbidden)),
            (
                OrgOffice,
                Some(A),
                GroupMember,
                Some(B1),
                Err(Denied::Forbidden),
            ),
        ];
        for (role, at, target_role, target_at, expected) in table {
            let p = w.principal(*role, *at);
            let a = actor(&w, &p, *at);
            let target = target_at.map(|i| w.unit(i));
            assert_eq!(
                a.may_manage_user(*target_role, target.as_ref()),
                *expected,
                "{role:?} at {at:?} manages {target_role:?} at {target_at:?}"
            );
            // Seeing differs from managing only for one's own rank.
            let same_rank =
                *role == *target_role && matches!(role, CommitteeAdmin | BranchSecretary);
            let view = if same_rank && *expected == Err(Denied::Forbidden) {
                Ok(())
            } else {
                *expected
            };
            assert_eq!(
                a.may_view_user(*target_role, target.as_ref()),
                view,
                "{role:?} at {at:?} sees {target_role:?} at {target_at:?}"
            );
        }
    }

    #[test]
    fn user_change_matrix() {
        let w = World::new();
        use Role::*;
        let admin = w.principal(CommitteeAdmin, Some(A));
        let a = actor(&w, &admin, Some(A));
        let other = Uuid::now_v7();
        let (b1, b2, s) = (w.unit(B1), w.unit(B2), w.unit(S));
        // Moving a group member between branches of the subtree, promoting to secretary.
        assert_eq!(
            a.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (GroupMember, Some(&b2)),
                false
            ),
            Ok(())
        );
        assert_eq!(
            a.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (BranchSecretary, Some(&b1)),
                false
            ),
            Ok(())
        );
        // A role that does not fit the new unit.
        assert_eq!(
            a.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (BranchSecretary, Some(&s)),
                false
            ),
            Err(Denied::RoleDoesNotFitUnit)
        );
        // Never a role above the caller's own, never outside its tenant.
        assert_eq!(
            a.may_change_user(other, (GroupMember, Some(&b1)), (SystemAdmin, None), false),
            Err(Denied::RoleAboveOwn)
        );
        assert_eq!(
            a.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (GroupMember, Some(&w.unit(X))),
                false
            ),
            Err(Denied::NotFound)
        );
        // Nobody disables, demotes or moves itself; renaming itself is fine.
        let me = admin.user_id;
        assert_eq!(
            a.may_change_user(
                me,
                (CommitteeAdmin, Some(&w.unit(A))),
                (CommitteeAdmin, Some(&w.unit(A))),
                true
            ),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            a.may_change_user(
                me,
                (CommitteeAdmin, Some(&w.unit(A))),
                (OrgOffice, Some(&w.unit(A))),
                false
            ),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            a.may_change_user(
                me,
                (CommitteeAdmin, Some(&w.unit(A))),
                (CommitteeAdmin, Some(&w.unit(A))),
                false
            ),
            Ok(())
        );
        // A branch secretary cannot promote its group member above itself.
        let bs = w.principal(BranchSecretary, Some(B1));
        let b = actor(&w, &bs, Some(B1));
        assert_eq!(
            b.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (WorkAreaStaff, Some(&w.unit(W))),
                false
            ),
            Err(Denied::OutsideScope)
        );
        assert_eq!(
            b.may_change_user(
                other,
                (GroupMember, Some(&b1)),
                (CommitteeAdmin, Some(&b1)),
                false
            ),
            Err(Denied::RoleAboveOwn)
        );
        assert_eq!(
            b.may_change_user(other, (GroupMember, Some(&b1)), (Viewer, Some(&b1)), true),
            Ok(())
        );
        // Nor changes or disables another secretary; a committee admin another committee
        // admin likewise. Itself it still renames.
        assert_eq!(
            b.may_change_user(
                other,
                (BranchSecretary, Some(&b1)),
                (BranchSecretary, Some(&b1)),
                true
            ),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            a.may_change_user(
                other,
                (CommitteeAdmin, Some(&w.unit(A))),
                (CommitteeAdmin, Some(&w.unit(A))),
                false
            ),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            b.may_change_user(
                bs.user_id,
                (BranchSecretary, Some(&b1)),
                (BranchSecretary, Some(&b1)),
                false
            ),
            Ok(())
        );
    }

    #[test]
    fn unit_deletion_matrix() {
        let w = World::new();
        let sys = w.principal(Role::SystemAdmin, None);
        let sys = actor(&w, &sys, None);
        assert_eq!(sys.may_delete_unit(&w.unit(C)), Ok(()));
        assert_eq!(sys.may_delete_unit(&w.unit(B1)), Err(Denied::NotFound));
        let ca = w.principal(Role::CommitteeAdmin, Some(A));
        let ca = actor(&w, &ca, Some(A));
        assert_eq!(ca.may_delete_unit(&w.unit(B1)), Ok(()));
        assert_eq!(ca.may_delete_unit(&w.unit(A)), Err(Denied::Forbidden));
        assert_eq!(ca.may_delete_unit(&w.unit(X)), Err(Denied::NotFound));
        let ws = w.principal(Role::WorkAreaStaff, Some(W));
        let ws = actor(&w, &ws, Some(W));
        assert_eq!(ws.may_delete_unit(&w.unit(B1)), Err(Denied::Forbidden));
    }

    /// The rule the console reads from `GET /v1/schema` (`Role::may_assign`, `Role::manages`)
    /// is this policy's: for every role at its unit, every role it might give and every unit
    /// it reaches, they agree.
    #[test]
    fn the_roles_rule_in_the_schema_is_the_policys() {
        let w = World::new();
        let home = |role: Role| match role {
            Role::SystemAdmin => None,
            Role::CommitteeAdmin | Role::OrgOffice | Role::Viewer => Some(A),
            Role::StreetStaff => Some(S),
            Role::WorkAreaStaff => Some(W),
            Role::BranchSecretary | Role::GroupMember => Some(B1),
        };
        for role in Role::ALL {
            let at = home(role);
            let p = w.principal(role, at);
            let a = actor(&w, &p, at);
            for target in Role::ALL {
                for unit in [None, Some(A), Some(S), Some(W), Some(B1)] {
                    let unit = unit.map(|i| w.unit(i));
                    if at.is_some() && unit.as_ref().is_some_and(|u| a.reach(u).is_err()) {
                        continue;
                    }
                    let kind = unit.as_ref().map(|u| u.kind);
                    let fits = target.fits_unit(kind);
                    assert_eq!(
                        a.may_create_user(target, unit.as_ref()).is_ok(),
                        role.may_assign(target) && fits,
                        "{role:?} gives {target:?} at {kind:?}"
                    );
                    if fits {
                        assert_eq!(
                            a.may_manage_user(target, unit.as_ref()).is_ok(),
                            role.manages(target),
                            "{role:?} manages {target:?} at {kind:?}"
                        );
                    }
                }
            }
        }
    }
}
