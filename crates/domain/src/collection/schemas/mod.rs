//! The declarations of the collections: fields from docs/protocol.md §9 and docs/domain.md §5, writers from
//! docs/domain.md §9. Enum words are the snake_case English of the seed's categories; their Chinese
//! labels belong to the exports.

use super::FieldType::{self, *};
use super::{Collection, FieldSpec, Schema};
use crate::org::OrgUnitKind::{Branch, Committee, Street, WorkArea};
use crate::role::Role::{self, *};

mod campaign;
mod follow_up;
mod roster;

use campaign::*;
use follow_up::*;
use roster::*;

/// The branch's working group (党支部书记 and 工作组成员).
const BRANCH: &[Role] = &[BranchSecretary, GroupMember];
/// The committee (党工委).
const COMMITTEE: &[Role] = &[CommitteeAdmin];
/// The organization office (组织办), which audits ledgers.
const ORG_OFFICE: &[Role] = &[OrgOffice];
const WORK_AREA: &[Role] = &[WorkAreaStaff];
/// Who uploads transfer-out details: the street, or the committee itself (docs/domain.md §9).
const STREET_OR_COMMITTEE: &[Role] = &[StreetStaff, CommitteeAdmin];

const fn f(
    name: &'static str,
    label_zh: &'static str,
    ty: FieldType,
    writers: &'static [Role],
) -> FieldSpec {
    FieldSpec {
        name,
        label_zh,
        ty,
        required: false,
        writers,
    }
}

const fn req(
    name: &'static str,
    label_zh: &'static str,
    ty: FieldType,
    writers: &'static [Role],
) -> FieldSpec {
    FieldSpec {
        name,
        label_zh,
        ty,
        required: true,
        writers,
    }
}

/// Who proposes (or cancels) a member's move to another branch, and answers it.
const MOVERS: &[Role] = &[BranchSecretary, OrgOffice, CommitteeAdmin];
const MOVE_STATUS: &[&str] = crate::moves::STATUS;
const SHORT: FieldType = Text(100);
const LONG: FieldType = Text(2000);

const GENDER: &[&str] = &["male", "female"];
const MEMBER_TYPE: &[&str] = &["full", "probationary"];
/// 联系状态 (docs/domain.md §6.2).
const CONTACT_STATUS: &[&str] = &[
    "normal",
    "mobile",
    "lost",
    "searching",
    "found",
    "managed_elsewhere",
    "still_lost",
];
/// Roster verification states (docs/domain.md §6.1).
const ROSTER_STATUS: &[&str] = &[
    "unverified",
    "confirmed_on_site",
    "confirmed_remote",
    "confirmed_assisted",
    "pending_lost",
    "flagged_surplus",
    "removed_from_roster",
];
/// 党组织类别 ①–⑨ (docs/domain.md §5.1, S3).
const ORG_CATEGORY: &[&str] = &[
    "state_enterprise",
    "non_public_enterprise",
    "rural",
    "government",
    "school",
    "other_institution",
    "street_community",
    "social_organization",
    "other",
];
/// 失去联系情形 ①–⑦ (docs/domain.md §5.5, S3).
const LOSS_CIRCUMSTANCE: &[&str] = &[
    "working_away",
    "employer_restructured",
    "unknown_after_graduation",
    "employer_changed",
    "went_abroad",
    "residence_changed",
    "other",
];
/// The departments of a 部门查找 (docs/domain.md §2, §5.6).
const SEARCH_DEPARTMENTS: &[&str] = &[
    "police_household",
    "student_records",
    "social_security",
    "medical_insurance",
    "minimum_allowance",
    "property",
    "business_registration",
    "tax",
];
/// The channels of a search attempt, by method group (docs/domain.md §5.6).
const SEARCH_CHANNELS: &[&str] = &[
    // direct
    "phone",
    "sms",
    "home_visit",
    // interpersonal
    "relatives",
    "neighbours",
    "colleagues",
    "classmates",
    "friends",
    // department
    "police_household",
    "student_records",
    "social_security",
    "medical_insurance",
    "minimum_allowance",
    "property",
    "business_registration",
    "tax",
    // other
    "social_network",
    "telecom_operator",
    "airline_railway",
    "hotline_12371",
    "caretaker_office",
    "reunion",
];
const SEARCH_RESULT: &[&str] = &["no_lead", "lead", "contact_made"];
const LEDGER: &[&str] = &["ledger_a", "ledger_b"];

pub(super) fn schema(c: Collection) -> &'static Schema {
    match c {
        Collection::Members => &MEMBERS,
        Collection::InfoForms => &INFO_FORMS,
        Collection::RosterLedgerEntries => &ROSTER_LEDGER_ENTRIES,
        Collection::LedgerSubmissions => &LEDGER_SUBMISSIONS,
        Collection::ArchiveReviews => &ARCHIVE_REVIEWS,
        Collection::ContactCases => &CONTACT_CASES,
        Collection::ContactAttempts => &CONTACT_ATTEMPTS,
        Collection::DepartmentSearchRequests => &DEPARTMENT_SEARCH_REQUESTS,
        Collection::Transfers => &TRANSFERS,
        Collection::PerformanceChecks => &PERFORMANCE_CHECKS,
        Collection::Dispositions => &DISPOSITIONS,
        Collection::Campaigns => &CAMPAIGNS,
        Collection::WorkingGroups => &WORKING_GROUPS,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::super::validate::{Mode, validate_fields};
    use super::*;

    const ALL_ROLES: [Role; 8] = Role::ALL;

    fn only(roles: &[Role]) -> Vec<Role> {
        let mut v = roles.to_vec();
        v.sort_by_key(|r| r.as_str());
        v
    }

    /// docs/domain.md §9, written out again as data: who creates each kind of record and who writes
    /// the fields that carry a decision. The declarations must say the same.
    #[test]
    fn the_declarations_are_the_permission_matrix_of_section_9() {
        let branch = [BranchSecretary, GroupMember];
        let creators: &[(Collection, &[Role])] = &[
            // "Create or edit member records, info forms: branch ✔".
            (Collection::Members, &branch),
            (Collection::InfoForms, &branch),
            // "Fill Ledgers A/B: branch ✔".
            (Collection::RosterLedgerEntries, &branch),
            // "compile + submit (≤ 11 Mar)": the work area.
            (Collection::LedgerSubmissions, &[WorkAreaStaff]),
            // "Upload transfer-out details: 党工委 ✔ (or 街道), 街道 ✔".
            (Collection::Transfers, &[StreetStaff, CommitteeAdmin]),
            // "Request archive verification: branch ✔".
            (Collection::ArchiveReviews, &branch),
            // "Direct / interpersonal / other search: branch ✔, 党工委 ✔".
            (
                Collection::ContactAttempts,
                &[BranchSecretary, GroupMember, CommitteeAdmin],
            ),
            (Collection::ContactCases, &branch),
            // "Department search: branch request".
            (Collection::DepartmentSearchRequests, &branch),
            // "Performance check via departments: branch ✔ (record)".
            (Collection::PerformanceChecks, &branch),
            // "Propose disposition, hold branch meeting: branch ✔".
            (Collection::Dispositions, &branch),
            (Collection::Campaigns, &[CommitteeAdmin]),
            (Collection::WorkingGroups, &branch),
        ];
        for (c, roles) in creators {
            assert_eq!(only(c.schema().creators), only(roles), "{}", c.as_str());
        }
        let writers: &[(Collection, &str, &[Role])] = &[
            // "audit / return": the 组织办.
            (
                Collection::RosterLedgerEntries,
                "audit_opinion",
                &[OrgOffice],
            ),
            (Collection::RosterLedgerEntries, "outcome", &[OrgOffice]),
            (
                Collection::LedgerSubmissions,
                "status",
                &[WorkAreaStaff, OrgOffice],
            ),
            (Collection::LedgerSubmissions, "audit_opinion", &[OrgOffice]),
            // "Follow up transfers, re-issue receipts: branch ✔".
            (Collection::Transfers, "follow_up_note", &branch),
            (Collection::Transfers, "registered_lost", &branch),
            (Collection::Transfers, "member_id", &branch),
            (
                Collection::Transfers,
                "receipt_status",
                &[BranchSecretary, GroupMember, CommitteeAdmin],
            ),
            // "Request archive verification: 党工委 execute".
            (Collection::ArchiveReviews, "status", &[CommitteeAdmin]),
            (Collection::ArchiveReviews, "finding", &[CommitteeAdmin]),
            (Collection::ArchiveReviews, "exemption", &[CommitteeAdmin]),
            // "Department search: 党工委 execute" (§8.8: only committee users record it).
            (
                Collection::DepartmentSearchRequests,
                "status",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "executed_on",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "result",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "result_detail",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "contact_obtained",
                &[CommitteeAdmin],
            ),
            // "Propose disposition, hold branch meeting: branch"; "Approve: 党工委".
            (Collection::Dispositions, "branch_meeting_on", &branch),
            (Collection::Dispositions, "approved_on", &[CommitteeAdmin]),
            (
                Collection::Dispositions,
                "approval_opinion",
                &[CommitteeAdmin],
            ),
            (Collection::Dispositions, "filed_on", &[CommitteeAdmin]),
            (Collection::Dispositions, "effective_on", &[CommitteeAdmin]),
        ];
        for (c, field, roles) in writers {
            let spec = c.schema().field(field).unwrap();
            assert_eq!(only(spec.writers), only(roles), "{}.{field}", c.as_str());
        }
        // Nobody outside the branch edits a member's record, but the 组织办 for removal and
        // for putting back a person removed by mistake, with the reason.
        for spec in Collection::Members.schema().fields {
            let allowed: &[Role] = match spec.name {
                "roster_status" => &[BranchSecretary, GroupMember, OrgOffice],
                "restore_reason" => &[OrgOffice],
                // A move to another branch (§9 "组织关系转接" [D], docs/domain.md §6.7): his
                // branch or the committee proposes it, the receiving branch's secretary
                // answers it.
                "move_to_branch_id" | "move_reason" | "move_status" => {
                    &[BranchSecretary, OrgOffice, CommitteeAdmin]
                }
                "move_note" => &[BranchSecretary],
                // Stamped by the server.
                "checked_on"
                | "found_on"
                | "moved_from_branch_id"
                | "moved_on"
                | "start_branch_id" => &[],
                f if crate::baseline::MEMBER_FIELDS.contains(&f) => &[],
                f if crate::baseline::START_FIELDS.contains(&f) => &[],
                _ => &branch,
            };
            assert_eq!(only(spec.writers), only(allowed), "members.{}", spec.name);
        }
    }

    /// A value of the right type for a field, for the writer check below.
    fn sample(ty: FieldType) -> Value {
        match ty {
            Text(_) => json!("x"),
            Date => json!("2016-03-07"),
            Bool => json!(true),
            Int { min, .. } => json!(min),
            Enum(words) => json!(words[0]),
            EnumList(words) => json!([words[0]]),
            IdNumber => json!("11010519491231002X"),
            Ref(_) => json!("0190a000-0000-7000-8000-000000000000"),
            Unit(_) => json!("0190a000-0000-7000-8000-000000000000"),
            Blob => json!("ab".repeat(32)),
            BlobList => json!(["ab".repeat(32)]),
            People => {
                json!([{"name": "甲"}, {"name": "乙"}, {"name": "丙"}, {"name": "丁"}, {"name": "戊"}])
            }
        }
    }

    /// Every field refuses every role that is not among its writers, with
    /// `field_not_writable`, and takes a value from every role that is.
    #[test]
    fn every_field_refuses_a_role_outside_its_writers() {
        let mut refused = 0;
        for c in Collection::ALL {
            let schema = c.schema();
            for spec in schema.fields {
                let mut fields = Map::new();
                fields.insert(spec.name.to_owned(), sample(spec.ty));
                for role in ALL_ROLES {
                    let result = validate_fields(schema, &fields, Mode::Update, role);
                    if spec.writers.contains(&role) {
                        assert!(
                            result.is_ok(),
                            "{}.{} by {role:?}: {result:?}",
                            c.as_str(),
                            spec.name
                        );
                    } else {
                        refused += 1;
                        assert_eq!(
                            result.err().map(|e| e.code),
                            Some("field_not_writable"),
                            "{}.{} by {role:?}",
                            c.as_str(),
                            spec.name
                        );
                    }
                }
            }
        }
        assert!(refused > 500, "{refused}");
    }
}
