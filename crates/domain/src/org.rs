//! The org tree: a party work committee (党工委) is a tenant's root; streets (街道), work areas
//! (工作区) and branches (党支部) hang below it (docs/domain.md §2).

use serde::{Deserialize, Serialize};

/// The kind of an org unit. `committee` is always a tenant root; a branch has no children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKind {
    Committee,
    Street,
    WorkArea,
    Branch,
}

impl OrgUnitKind {
    pub const ALL: [OrgUnitKind; 4] = [Self::Committee, Self::Street, Self::WorkArea, Self::Branch];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Committee => "committee",
            Self::Street => "street",
            Self::WorkArea => "work_area",
            Self::Branch => "branch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Committee => "党工委",
            Self::Street => "街道",
            Self::WorkArea => "工作区",
            Self::Branch => "党支部",
        }
    }

    /// Height in the tree: a unit may only hang below a unit of greater height.
    fn height(self) -> u8 {
        match self {
            Self::Committee => 3,
            Self::Street => 2,
            Self::WorkArea => 1,
            Self::Branch => 0,
        }
    }
}

/// Why a unit cannot be placed where it was asked to go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("a committee is a tenant root and has no parent")]
    CommitteeWithParent,
    #[error("only a committee may be a root")]
    RootMustBeCommittee,
    #[error("a {child:?} cannot be placed below a {parent:?}")]
    WrongParent {
        child: OrgUnitKind,
        parent: OrgUnitKind,
    },
}

impl PlacementError {
    pub fn code(&self) -> &'static str {
        "invalid_parent"
    }

    pub fn message_zh(&self) -> String {
        match self {
            Self::CommitteeWithParent => "党工委是顶层组织，不能有上级组织".to_owned(),
            Self::RootMustBeCommittee => {
                "只有党工委可以作为顶层组织，其他组织必须指定上级".to_owned()
            }
            Self::WrongParent { child, parent } => {
                format!("{}不能设在{}之下", child.label_zh(), parent.label_zh())
            }
        }
    }
}

/// Checks where a unit of `kind` may go. The order is committee > street > work area > branch:
/// a unit hangs below any unit of a higher kind (a work area directly below the committee, as in
/// committees without streets, is allowed), a committee only at the root, and a branch never has
/// children. The seed names the levels (docs/domain.md §2); allowing levels to be skipped is [INF].
pub fn check_placement(
    kind: OrgUnitKind,
    parent: Option<OrgUnitKind>,
) -> Result<(), PlacementError> {
    match (kind, parent) {
        (OrgUnitKind::Committee, None) => Ok(()),
        (OrgUnitKind::Committee, Some(_)) => Err(PlacementError::CommitteeWithParent),
        (_, None) => Err(PlacementError::RootMustBeCommittee),
        (child, Some(parent)) if child.height() < parent.height() => Ok(()),
        (child, Some(parent)) => Err(PlacementError::WrongParent { child, parent }),
    }
}

/// The kinds of unit that may be placed below a unit of `parent` ([`check_placement`]), the
/// next level first.
pub fn child_kinds(parent: OrgUnitKind) -> Vec<OrgUnitKind> {
    OrgUnitKind::ALL
        .into_iter()
        .filter(|child| check_placement(*child, Some(parent)).is_ok())
        .collect()
}

/// Longest accepted unit name, in characters.
/// Whether the unit at `path` is the unit at `ancestor` or lies below it. Units carry
/// materialized paths (`/root/…/self/`, each id closed by `/`), so a subtree is a prefix: this
/// is the one place the workspace compares them (`storage::Scope` and the policy ask here).
pub fn is_within(path: &str, ancestor: &str) -> bool {
    path.starts_with(ancestor)
}

pub const MAX_NAME_CHARS: usize = 100;
/// Longest accepted unit code, in characters.
pub const MAX_CODE_CHARS: usize = 50;

/// A unit's or person's display name: trimmed, not empty, at most `max` characters, no control
/// characters. Returns the trimmed name.
pub fn normalize_name(raw: &str, max: usize) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
        return None;
    }
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_unit_is_within_itself_and_its_ancestors_only() {
        use super::is_within;
        assert!(is_within("/a/b/", "/a/"));
        assert!(is_within("/a/", "/a/"));
        assert!(!is_within("/a/", "/a/b/"));
        // Ids end with `/`: a sibling whose id starts alike is not inside.
        assert!(!is_within("/a/bc/", "/a/b/"));
    }

    use super::*;

    #[test]
    fn the_kinds_below_a_unit_follow_the_placement_rule_next_level_first() {
        use OrgUnitKind::*;
        assert_eq!(child_kinds(Committee), vec![Street, WorkArea, Branch]);
        assert_eq!(child_kinds(Street), vec![WorkArea, Branch]);
        assert_eq!(child_kinds(WorkArea), vec![Branch]);
        assert!(child_kinds(Branch).is_empty());
    }
    use OrgUnitKind::*;

    #[test]
    fn placement_table() {
        let table: &[(OrgUnitKind, Option<OrgUnitKind>, bool)] = &[
            (Committee, None, true),
            (Committee, Some(Committee), false),
            (Street, None, false),
            (Street, Some(Committee), true),
            (Street, Some(Street), false),
            (WorkArea, Some(Committee), true),
            (WorkArea, Some(Street), true),
            (WorkArea, Some(Branch), false),
            (Branch, Some(WorkArea), true),
            (Branch, Some(Street), true),
            (Branch, Some(Branch), false),
            (Street, Some(Branch), false),
        ];
        for (kind, parent, ok) in table {
            assert_eq!(
                check_placement(*kind, *parent).is_ok(),
                *ok,
                "{kind:?} under {parent:?}"
            );
        }
    }

    #[test]
    fn kinds_round_trip_their_wire_names() {
        for kind in OrgUnitKind::ALL {
            assert_eq!(OrgUnitKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(OrgUnitKind::parse("department"), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            normalize_name("  第一党支部 ", 100).as_deref(),
            Some("第一党支部")
        );
        assert_eq!(normalize_name("   ", 100), None);
        assert_eq!(normalize_name("a\u{0007}b", 100), None);
        assert_eq!(normalize_name(&"长".repeat(101), 100), None);
        assert!(normalize_name(&"长".repeat(100), 100).is_some());
    }
}
