//! The state machines of docs/domain.md §6: which value a status field may move to from which, and
//! who may move it. A write that skips a step, goes backwards where the procedure does not, or
//! is made by a role the step does not belong to, is refused.
//!
//! The steps' names and order are the procedure's (§6.1–§6.6, tagged [SEED], [S4] or [INF]
//! there); the software enforces them and never moves a status by itself.

use crate::collection::{Collection, FieldError};
use crate::role::Role::{self, *};

mod checks;

use checks::REQUIRED_AT;
pub use checks::*;

/// A step: from one value to another, by these roles (empty: any role that may write the
/// field).
type Step = (&'static str, &'static str, &'static [Role]);

/// The state machine of one status field.
pub struct Machine {
    pub collection: Collection,
    pub field: &'static str,
    /// Values a record may be created with.
    pub initial: &'static [&'static str],
    /// The state of an existing record whose field was never set.
    pub implicit: &'static str,
    pub steps: &'static [Step],
    /// Where the matter is settled. Every state must be able to reach one of these (no dead
    /// ends: a test walks them), though some ends may still be left when facts change (a
    /// confirmed member found dead later is flagged and removed).
    pub ends: &'static [&'static str],
}

const BRANCH: &[Role] = &[BranchSecretary, GroupMember];
const COMMITTEE: &[Role] = &[CommitteeAdmin];
const ANY: &[Role] = &[];

/// §6.6: proposal → branch meeting → submitted → committee approval → county filing →
/// effective; the committee may return or reject a submission, and a returned one goes back
/// through the branch.
static DISPOSITION: Machine = Machine {
    collection: Collection::Dispositions,
    field: "status",
    initial: &["proposed"],
    implicit: "proposed",
    steps: &[
        ("proposed", "branch_meeting_decided", BRANCH),
        ("branch_meeting_decided", "submitted", BRANCH),
        ("submitted", "approved", COMMITTEE),
        ("submitted", "returned", COMMITTEE),
        ("submitted", "rejected", COMMITTEE),
        ("returned", "branch_meeting_decided", BRANCH),
        ("returned", "submitted", BRANCH),
        ("approved", "filed", COMMITTEE),
        ("filed", "effective", COMMITTEE),
    ],
    ends: &["effective", "rejected"],
};

/// §5.7 LedgerSubmission: the work area submits, the 组织办 returns or approves; §8.16: the
/// 组织办 reopens an approved submission, with its reason, and the work area submits it again.
static LEDGER_SUBMISSION: Machine = Machine {
    collection: Collection::LedgerSubmissions,
    field: "status",
    initial: &["draft", "submitted"],
    implicit: "draft",
    steps: &[
        ("draft", "submitted", &[WorkAreaStaff]),
        ("submitted", "returned", &[OrgOffice]),
        ("submitted", "approved", &[OrgOffice]),
        ("returned", "submitted", &[WorkAreaStaff]),
        ("returned", "draft", &[WorkAreaStaff]),
        ("approved", "reopened", &[OrgOffice]),
        ("reopened", "submitted", &[WorkAreaStaff]),
    ],
    ends: &["approved"],
};

/// §6.4: a transfer's receipt.
static TRANSFER_RECEIPT: Machine = Machine {
    collection: Collection::Transfers,
    field: "receipt_status",
    initial: &["issued", "receipt_pending"],
    implicit: "issued",
    steps: &[
        ("issued", "receipt_pending", ANY),
        ("issued", "receipt_received", ANY),
        ("receipt_pending", "receipt_received", ANY),
        ("receipt_pending", "receiver_contacted", BRANCH),
        ("receipt_pending", "receiver_unreachable", BRANCH),
        ("issued", "receiver_contacted", BRANCH),
        ("issued", "receiver_unreachable", BRANCH),
        ("receiver_contacted", "receipt_reissued", BRANCH),
        ("receiver_contacted", "receiver_unreachable", BRANCH),
        // A receipt that comes after the transfer was given up as unreachable (补办回执):
        // recorded, and the search the loss opened ends as found (derived::receipt_closes_case).
        ("receiver_unreachable", "receipt_received", BRANCH),
        ("receiver_unreachable", "receipt_reissued", BRANCH),
    ],
    ends: &[
        "receipt_received",
        "receipt_reissued",
        "receiver_unreachable",
    ],
};

/// §6.5: identity and archive review, executed by the committee.
static ARCHIVE_REVIEW: Machine = Machine {
    collection: Collection::ArchiveReviews,
    field: "status",
    initial: &["requested"],
    implicit: "requested",
    steps: &[
        ("requested", "under_review", COMMITTEE),
        ("under_review", "exempt_confirmed", COMMITTEE),
        ("under_review", "proof_requested", COMMITTEE),
        ("under_review", "confirmed", COMMITTEE),
        ("under_review", "not_recognized", COMMITTEE),
        ("proof_requested", "county_review", COMMITTEE),
        ("county_review", "confirmed", COMMITTEE),
        ("county_review", "not_recognized", COMMITTEE),
    ],
    ends: &["exempt_confirmed", "confirmed", "not_recognized"],
};

/// §8.8: a department search is requested by the branch and executed by the committee.
static DEPARTMENT_SEARCH: Machine = Machine {
    collection: Collection::DepartmentSearchRequests,
    field: "status",
    initial: &["requested"],
    implicit: "requested",
    steps: &[
        ("requested", "in_progress", COMMITTEE),
        ("requested", "done", COMMITTEE),
        ("in_progress", "done", COMMITTEE),
    ],
    ends: &["done"],
};

/// §6.1: roster verification of a person. Removal from the roster is the 组织办's, after a
/// ledger B entry.
static ROSTER: Machine = Machine {
    collection: Collection::Members,
    field: "roster_status",
    initial: &[
        "unverified",
        "confirmed_on_site",
        "confirmed_remote",
        "confirmed_assisted",
        "pending_lost",
        "flagged_surplus",
    ],
    implicit: "unverified",
    steps: &[
        ("unverified", "confirmed_on_site", BRANCH),
        ("unverified", "confirmed_remote", BRANCH),
        ("unverified", "confirmed_assisted", BRANCH),
        ("unverified", "pending_lost", BRANCH),
        ("unverified", "flagged_surplus", BRANCH),
        ("pending_lost", "confirmed_on_site", BRANCH),
        ("pending_lost", "confirmed_remote", BRANCH),
        ("pending_lost", "confirmed_assisted", BRANCH),
        ("flagged_surplus", "unverified", BRANCH),
        ("flagged_surplus", "removed_from_roster", &[OrgOffice]),
        // A person removed by mistake is put back by the 组织办, with the reason
        // (check_reason_with_step), and verified again by the branch.
        ("removed_from_roster", "unverified", &[OrgOffice]),
        // No dead ends: a confirmed member, or one pending because lost, found later to have
        // died or to be listed in error is flagged as surplus, and the 组织办 removes it.
        ("confirmed_on_site", "flagged_surplus", BRANCH),
        ("confirmed_remote", "flagged_surplus", BRANCH),
        ("confirmed_assisted", "flagged_surplus", BRANCH),
        ("pending_lost", "flagged_surplus", BRANCH),
    ],
    ends: &[
        "confirmed_on_site",
        "confirmed_remote",
        "confirmed_assisted",
        "removed_from_roster",
    ],
};

/// §6.2: contact status.
static CONTACT: Machine = Machine {
    collection: Collection::Members,
    field: "contact_status",
    initial: &["normal", "mobile", "lost"],
    implicit: "normal",
    steps: &[
        ("normal", "mobile", ANY),
        ("normal", "lost", ANY),
        ("mobile", "lost", ANY),
        ("mobile", "normal", ANY),
        ("lost", "searching", ANY),
        // A lost member may turn up before any search is opened.
        ("lost", "found", ANY),
        ("searching", "found", ANY),
        ("searching", "managed_elsewhere", ANY),
        ("searching", "still_lost", ANY),
        ("still_lost", "searching", ANY),
        ("still_lost", "found", ANY),
        ("found", "normal", ANY),
        ("found", "mobile", ANY),
        ("managed_elsewhere", "normal", ANY),
        ("managed_elsewhere", "mobile", ANY),
    ],
    ends: &["normal", "mobile", "managed_elsewhere", "still_lost"],
};

/// §6.2: the result of a contact search case.
static CASE_RESULT: Machine = Machine {
    collection: Collection::ContactCases,
    field: "result",
    initial: &["searching"],
    implicit: "searching",
    steps: &[
        ("searching", "found", ANY),
        ("searching", "managed_elsewhere", ANY),
        ("searching", "still_lost", ANY),
        ("still_lost", "found", ANY),
        ("still_lost", "managed_elsewhere", ANY),
    ],
    ends: &["found", "managed_elsewhere", "still_lost"],
};

static MACHINES: [&Machine; 8] = [
    &DISPOSITION,
    &LEDGER_SUBMISSION,
    &TRANSFER_RECEIPT,
    &ARCHIVE_REVIEW,
    &DEPARTMENT_SEARCH,
    &ROSTER,
    &CONTACT,
    &CASE_RESULT,
];

/// Every state machine, for describing them (`GET /v1/schema`).
pub fn machines() -> impl Iterator<Item = &'static Machine> {
    MACHINES.iter().copied()
}

/// The states of `field` of `collection` that need other fields on the record, and those
/// fields (see [`check_required_for_steps`]).
pub fn requirements(
    collection: Collection,
    field: &str,
) -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    REQUIRED_AT
        .iter()
        .filter(move |(c, f, _, _)| *c == collection && *f == field)
        .map(|(_, _, value, needed)| (*value, *needed))
}

/// The state machine of a field, if it has one.
pub fn machine(collection: Collection, field: &str) -> Option<&'static Machine> {
    MACHINES
        .iter()
        .copied()
        .find(|m| m.collection == collection && m.field == field)
}

/// Fields the server stamps with the day (China time, [`crate::calendar::china_date`]) a
/// status field moves to a value: facts only the server witnesses, such as when the 组织办
/// received a ledger (§8.5: "Mark late items"). No role may write them.
static STAMPS: &[(Collection, &str, &str, &str)] = &[
    (
        Collection::LedgerSubmissions,
        "status",
        "submitted",
        "received_on",
    ),
    // The day the 组织办 reopened an approved submission (docs/domain.md §8.16).
    (
        Collection::LedgerSubmissions,
        "status",
        "reopened",
        "reopened_on",
    ),
    // The day the server learnt a member's verification outcome: the date of a verification
    // that has no info form dated by the branch (§8.5 "Mark late items").
    (
        Collection::Members,
        "roster_status",
        "confirmed_on_site",
        "checked_on",
    ),
    (
        Collection::Members,
        "roster_status",
        "confirmed_remote",
        "checked_on",
    ),
    (
        Collection::Members,
        "roster_status",
        "confirmed_assisted",
        "checked_on",
    ),
    (
        Collection::Members,
        "roster_status",
        "pending_lost",
        "checked_on",
    ),
    (
        Collection::Members,
        "roster_status",
        "flagged_surplus",
        "checked_on",
    ),
    // The day a lost member was first found (docs/domain.md §8.9): "found since the start"
    // counts a find, never a member who was simply recorded normal.
    (Collection::Members, "contact_status", "found", "found_on"),
    (
        Collection::Members,
        "contact_status",
        "managed_elsewhere",
        "found_on",
    ),
    // The day a transfer was first followed up: checking transfers belongs to the
    // verification window (docs/domain.md §3.2), whatever the receipt then says.
    (
        Collection::Transfers,
        "receipt_status",
        "receipt_pending",
        "checked_on",
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receipt_received",
        "checked_on",
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receiver_contacted",
        "checked_on",
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receipt_reissued",
        "checked_on",
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receiver_unreachable",
        "checked_on",
    ),
];

/// Fields the server computes by a rule of its own rather than a status move (no role may
/// write them either): the frozen baseline (crate::baseline), the months a case's member had
/// been lost at the start (from the baseline or the rule), and what a ledger submission took.
static COMPUTED: &[(Collection, &str)] = &[
    (Collection::Members, "baseline_on"),
    (Collection::Members, "baseline_kind"),
    (Collection::Members, "baseline_lost"),
    (Collection::Members, "baseline_lost_months"),
    (Collection::Members, "baseline_mobile"),
    (Collection::Members, "baseline_corrected_on"),
    (Collection::Members, "baseline_correction"),
    (Collection::Members, "start_last_activity_on"),
    (Collection::Members, "start_last_dues_paid_on"),
    (Collection::Members, "start_whereabouts_known"),
    (Collection::Members, "start_flow_out_on"),
    // A member's move to another branch once accepted (crate::moves::settle_move).
    (Collection::Members, "moved_from_branch_id"),
    (Collection::Members, "moved_on"),
    (Collection::Members, "start_branch_id"),
    (Collection::Campaigns, "baseline_on"),
    (Collection::Campaigns, "baseline_members"),
    (Collection::Campaigns, "reported_on"),
    (Collection::InfoForms, "entered_on"),
    (Collection::InfoForms, "late_entry"),
    (Collection::Dispositions, "needs_committee_decision"),
    (Collection::ContactAttempts, "entered_on"),
    (Collection::ContactAttempts, "late_entry"),
    (Collection::Transfers, "receipt_entered_on"),
    (Collection::Transfers, "receipt_late_entry"),
    (Collection::ContactCases, "lost_months_at_start"),
    (Collection::RosterLedgerEntries, "submission_id"),
    (Collection::LedgerSubmissions, "submitted_entries"),
    (Collection::LedgerSubmissions, "entries_sha256"),
    (Collection::LedgerSubmissions, "supplementary"),
];

/// Stamps taken again each time their status moves to the value, not only the first time: a
/// ledger returned by the 组织办 and submitted again is received again, on that day, so a
/// resubmission after the deadline is late (issue #13: audit-ready ledgers); a submission
/// reopened again is reopened on that day (docs/domain.md §8.16). The others keep
/// their first day (a verification outcome is learnt once).
static RESTAMPED: &[(Collection, &str)] = &[
    (Collection::LedgerSubmissions, "received_on"),
    (Collection::LedgerSubmissions, "reopened_on"),
];

/// Whether `stamp` of `collection` is taken again at every move (see [`RESTAMPED`]).
pub fn restamped(collection: Collection, stamp: &str) -> bool {
    RESTAMPED.contains(&(collection, stamp))
}

/// The fields to stamp when `field` of `collection` becomes `to`.
pub fn stamps(collection: Collection, field: &str, to: Option<&str>) -> Vec<&'static str> {
    STAMPS
        .iter()
        .filter(|(c, f, v, _)| *c == collection && *f == field && Some(*v) == to)
        .map(|(_, _, _, stamp)| *stamp)
        .collect()
}

/// Rules of §9 that depend on a record's values, not only on which fields a role writes:
/// §8.8 "Department search can only be created by a branch as a *request*; only 党工委 users
/// can record its execution and result", so a search attempt by the department method is the
/// committee's to record (a branch asks with a `department_search_requests` record).
pub fn check_role_rules(
    collection: Collection,
    fields: &serde_json::Map<String, serde_json::Value>,
    role: Role,
) -> Result<(), FieldError> {
    check_exemption_decided(collection, fields)?;
    let department = fields.get("method").and_then(serde_json::Value::as_str) == Some("department");
    if collection == Collection::ContactAttempts && department && role != CommitteeAdmin {
        return Err(FieldError {
            field: "method".to_owned(),
            code: "department_search_by_committee",
            message: "部门查找由党支部提出申请（部门查找申请），由党工委查找并登记结果".to_owned(),
        });
    }
    Ok(())
}

/// §8.3: treating a member by reference (retired, or 60 or more in a rural or community
/// branch) is the branch's decision. The committee confirms an exemption on such a ground only
/// as the branch decided it, and not once it has overruled the branch.
fn check_exemption_decided(
    collection: Collection,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), FieldError> {
    let text = |name: &str| fields.get(name).and_then(serde_json::Value::as_str);
    if collection != Collection::ArchiveReviews || text("status") != Some("exempt_confirmed") {
        return Ok(());
    }
    let Some(ground @ ("retired" | "aged_sixty_rural_or_community")) = text("exemption") else {
        return Ok(());
    };
    let overruled = fields.get("exemption_overruled") == Some(&serde_json::Value::Bool(true));
    if text("branch_exemption") != Some(ground) || overruled {
        return Err(FieldError {
            field: "exemption".to_owned(),
            code: "exemption_needs_branch_decision",
            message: "参照建国前党员处理（离退休党员、60岁以上农村社区党员）须由党支部决定并说明，党工委据支部的决定确认".to_owned(),
        });
    }
    Ok(())
}

/// Where a move starts: a record being created, or an existing record's current value (none:
/// never set, which is the machine's implicit first state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start<'a> {
    New,
    Existing(Option<&'a str>),
}

/// Checks a move of `field` from `from` to `to` (none: clearing it) by `role`. Fields without
/// a state machine always pass.
pub fn check_transition(
    collection: Collection,
    field: &str,
    from: Start<'_>,
    to: Option<&str>,
    role: Role,
) -> Result<(), FieldError> {
    let Some(m) = machine(collection, field) else {
        return Ok(());
    };
    let refuse = |code: &'static str, message: String| FieldError {
        field: field.to_owned(),
        code,
        message,
    };
    // States as people read them (「待核查」), never the wire words.
    let zh = |word: &str| {
        let label = crate::collection::enum_label(collection, field, word).unwrap_or(word);
        format!("「{label}」")
    };
    let Some(to) = to else {
        return Err(refuse("invalid_transition", "办理状态不能清空".to_owned()));
    };
    let from = match from {
        Start::New if m.initial.contains(&to) => return Ok(()),
        Start::New => {
            return Err(refuse(
                "invalid_transition",
                format!(
                    "新记录的状态应为以下之一：{}",
                    m.initial
                        .iter()
                        .map(|w| zh(w))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            ));
        }
        Start::Existing(value) => value.unwrap_or(m.implicit),
    };
    if from == to {
        // Not a move: writing down the state a record is already in (for a field never set,
        // its implicit state).
        return Ok(());
    }
    match m.steps.iter().find(|(f, t, _)| *f == from && *t == to) {
        None => Err(refuse(
            "invalid_transition",
            format!("状态不能从{}变为{}", zh(from), zh(to)),
        )),
        Some((_, _, roles)) if roles.is_empty() || roles.contains(&role) => Ok(()),
        Some(_) => Err(refuse(
            "transition_not_allowed",
            format!("{}不能把状态从{}变为{}", role.label_zh(), zh(from), zh(to)),
        )),
    }
}

#[cfg(test)]
mod tests;
