//! The state machines of docs/domain.md §6: which value a status field may move to from which, and
//! who may move it. A write that skips a step, goes backwards where the procedure does not, or
//! is made by a role the step does not belong to, is refused.
//!
//! The steps' names and order are the procedure's (§6.1–§6.6, tagged [SEED], [S4] or [INF]
//! there); the software enforces them and never moves a status by itself.

use crate::collection::{Collection, FieldError};
use crate::role::Role::{self, *};

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

/// §5.7 LedgerSubmission: the work area submits, the 组织办 returns or approves.
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
    (Collection::Campaigns, "baseline_on"),
    (Collection::Campaigns, "baseline_members"),
    (Collection::Campaigns, "reported_on"),
    (Collection::InfoForms, "entered_on"),
    (Collection::InfoForms, "late_entry"),
    (Collection::ContactAttempts, "entered_on"),
    (Collection::ContactAttempts, "late_entry"),
    (Collection::Transfers, "receipt_entered_on"),
    (Collection::Transfers, "receipt_late_entry"),
    (Collection::ContactCases, "lost_months_at_start"),
    (Collection::RosterLedgerEntries, "submission_id"),
    (Collection::LedgerSubmissions, "submitted_entries"),
    (Collection::LedgerSubmissions, "entries_sha256"),
];

/// Stamps taken again each time their status moves to the value, not only the first time: a
/// ledger returned by the 组织办 and submitted again is received again, on that day, so a
/// resubmission after the deadline is late (issue #13: audit-ready ledgers). The others keep
/// their first day (a verification outcome is learnt once).
static RESTAMPED: &[(Collection, &str)] = &[(Collection::LedgerSubmissions, "received_on")];

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

/// What a step must record (docs/domain.md §6 and §10): the date of the branch meeting, of the
/// committee's approval, of the county filing and of the effect of a disposition (the
/// suspension clock runs from it); why the committee returned or rejected one; why the 组织办
/// returned a ledger; when and with what result the committee carried out a department search;
/// when a receipt came back or was re-issued; the ground of a confirmed exemption; how a lost
/// member was found. A status moving to one of these values without the field is refused with
/// `required_for_step`.
static REQUIRED_AT: &[(Collection, &str, &str, &[&str])] = &[
    (
        Collection::Dispositions,
        "status",
        "branch_meeting_decided",
        &["branch_meeting_on"],
    ),
    (
        Collection::Dispositions,
        "status",
        "approved",
        &["approved_on"],
    ),
    (
        Collection::Dispositions,
        "status",
        "returned",
        &["approval_opinion"],
    ),
    (
        Collection::Dispositions,
        "status",
        "rejected",
        &["approval_opinion"],
    ),
    (Collection::Dispositions, "status", "filed", &["filed_on"]),
    (
        Collection::Dispositions,
        "status",
        "effective",
        &["effective_on"],
    ),
    (
        Collection::LedgerSubmissions,
        "status",
        "returned",
        &["audit_opinion"],
    ),
    (
        Collection::DepartmentSearchRequests,
        "status",
        "done",
        &["executed_on", "result"],
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receipt_received",
        &["receipt_on"],
    ),
    (
        Collection::Transfers,
        "receipt_status",
        "receipt_reissued",
        &["receipt_on"],
    ),
    (
        Collection::ArchiveReviews,
        "status",
        "exempt_confirmed",
        &["exemption"],
    ),
    (Collection::ContactCases, "result", "found", &["found_by"]),
    // A transfer registered as lost opens a contact case for its member (docs/domain.md §6.4),
    // so the member must be named.
    (
        Collection::Transfers,
        "registered_lost",
        "true",
        &["member_id"],
    ),
];

/// A field's value as the word [`REQUIRED_AT`] compares: a string as it is, a boolean as
/// `true` or `false`.
fn step_word(value: Option<&serde_json::Value>) -> Option<&str> {
    match value? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Bool(true) => Some("true"),
        serde_json::Value::Bool(false) => Some("false"),
        _ => None,
    }
}

/// Checks that `record` (as it will stand after a write) holds what the steps it is in must
/// record. Only steps the write touches are checked, through their status field or one of the
/// fields they need (`touched`), so a record that reached a state before a rule existed is not
/// refused for an unrelated edit, while clearing a needed field later is.
pub fn check_required_for_steps(
    collection: Collection,
    record: &serde_json::Map<String, serde_json::Value>,
    touched: &dyn Fn(&str) -> bool,
) -> Result<(), FieldError> {
    for (c, field, value, needed) in REQUIRED_AT {
        let in_step = step_word(record.get(*field)) == Some(*value);
        if *c != collection || !in_step || !(touched(field) || needed.iter().any(|n| touched(n))) {
            continue;
        }
        for name in *needed {
            if record.get(*name).is_none_or(serde_json::Value::is_null) {
                let label = |f: &str| {
                    collection
                        .schema()
                        .field(f)
                        .map_or_else(|| f.to_owned(), |spec| spec.label_zh.to_owned())
                };
                return Err(FieldError {
                    field: (*name).to_owned(),
                    code: "required_for_step",
                    message: format!(
                        "「{}」为「{}」时须填写「{}」",
                        label(field),
                        crate::collection::enum_label(collection, field, value).unwrap_or(
                            match *value {
                                "true" => "是",
                                "false" => "否",
                                other => other,
                            }
                        ),
                        label(name)
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Dispositions that end a person's membership once in force (docs/domain.md §6.3, §6.6):
/// struck off, persuaded to withdraw, probationary status cancelled or not kept, deceased,
/// transferred out. From the day such a disposition takes effect the member is no longer on
/// the roster's total. A suspension (停止党籍) or a correction deadline does not end it.
pub fn ends_membership(disposition_type: &str) -> bool {
    matches!(
        disposition_type,
        "remove"
            | "persuade_withdraw"
            | "cancel_probation"
            | "probation_not_retained"
            | "deceased"
            | "transferred_out"
    )
}

/// The information form modes that confirm a member in each `confirmed_*` state (§4.1, §8.7).
fn confirming_modes(roster_status: &str) -> Option<&'static [&'static str]> {
    match roster_status {
        "confirmed_on_site" => Some(&["on_site"]),
        "confirmed_remote" => Some(&["post", "fax", "email"]),
        "confirmed_assisted" => Some(&["assisted_home_visit"]),
        _ => None,
    }
}

fn filled(fields: &serde_json::Map<String, serde_json::Value>, name: &str) -> bool {
    fields
        .get(name)
        .is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
}

/// Whether an information form's fields make it complete and signed for its mode (§8.7).
pub fn form_confirms(form: &serde_json::Map<String, serde_json::Value>) -> bool {
    let facts = crate::status::FormFacts {
        confirmation_mode: form.get("confirmation_mode").and_then(|v| v.as_str()),
        copies: form.get("copies").and_then(serde_json::Value::as_i64),
        photos: form
            .get("photos")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len),
        signature: filled(form, "signature"),
        fingerprint: filled(form, "fingerprint"),
        flag_photo: filled(form, "flag_photo"),
    };
    crate::status::form_is_complete(&facts)
}

/// §4.1 and §8.7 (issue #13, item 6): a member is confirmed (`confirmed_*`) only on a complete,
/// signed information form of the matching mode (on site; by post, fax or e-mail; helped at
/// home), or on an exception the branch records with its reason (`confirmation_exception`). A
/// remote confirmation also records why the member could not come: the procedure allows
/// remote forms only where there is real difficulty (`remote_reason`). `forms` are the member's
/// live information forms.
pub fn check_confirmation(
    member: &serde_json::Map<String, serde_json::Value>,
    forms: &[&serde_json::Map<String, serde_json::Value>],
) -> Result<(), FieldError> {
    let Some(status) = member.get("roster_status").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let Some(modes) = confirming_modes(status) else {
        return Ok(());
    };
    if status == "confirmed_remote" && !filled(member, "remote_reason") {
        return Err(FieldError {
            field: "remote_reason".to_owned(),
            code: "required_for_step",
            message:
                "远程确认须填写「远程确认原因」：确有困难无法到场的，方可邮寄、传真或电子邮件确认"
                    .to_owned(),
        });
    }
    let confirmed_by_form = forms.iter().any(|f| {
        f.get("confirmation_mode")
            .and_then(|v| v.as_str())
            .is_some_and(|m| modes.contains(&m))
            && form_confirms(f)
    });
    if confirmed_by_form || filled(member, "confirmation_exception") {
        return Ok(());
    }
    Err(FieldError {
        field: "roster_status".to_owned(),
        code: "confirmation_needs_form",
        message: "确认党员信息须有相应方式、材料齐全并经本人签字的党员信息采集表；确有特殊情况的，须填写「无完整采集表确认的理由」"
            .to_owned(),
    })
}

/// Whether the server stamps `field` of `collection`.
pub fn is_stamped(collection: Collection, field: &str) -> bool {
    STAMPS
        .iter()
        .any(|(c, _, _, stamp)| *c == collection && *stamp == field)
        || COMPUTED.contains(&(collection, field))
}

/// What no longer changes silently once reported (docs/domain.md §8.12): a deletion of a
/// record that the numbers reported upward rest on. `fields` are the record's as they stand.
/// Refused with its own code; the procedure's own step (a disposition to leave the roster, a
/// returned submission) keeps the history instead.
pub fn check_delete(
    collection: Collection,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), FieldError> {
    let text = |name: &str| fields.get(name).and_then(serde_json::Value::as_str);
    let refuse = |code: &'static str, message: &str| {
        Err(FieldError {
            field: "id".to_owned(),
            code,
            message: message.to_owned(),
        })
    };
    match collection {
        Collection::Members if fields.contains_key("baseline_kind") => refuse(
            "member_in_baseline",
            "该党员已计入排查底数，不能删除；离开花名册请按处置程序或多余人员（台帐B）程序办理，底数有误请组织办更正",
        ),
        Collection::Dispositions
            if matches!(text("status"), Some("approved" | "filed" | "effective")) =>
        {
            refuse("disposition_decided", "党工委已审批的处置不能删除")
        }
        Collection::LedgerSubmissions if text("status") == Some("approved") => {
            refuse("submission_approved", "组织办已审核通过的台帐报送不能删除")
        }
        Collection::Campaigns if fields.contains_key("baseline_on") => {
            refuse("campaign_fixed", "排查底数已确定，排查工作不能删除")
        }
        _ => Ok(()),
    }
}

/// The campaign settings the numbers at the start rest on (docs/domain.md §8.12): once the baseline is
/// fixed, changing them would move every figure already reported, so they are refused.
pub fn check_fixed_change(
    collection: Collection,
    existing: &serde_json::Map<String, serde_json::Value>,
    changed: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), FieldError> {
    if collection != Collection::Campaigns || !existing.contains_key("baseline_on") {
        return Ok(());
    }
    for (name, label) in [
        ("start_date", "开始日期"),
        ("lost_threshold_months", "失联认定月数"),
    ] {
        if changed.contains_key(name) {
            return Err(FieldError {
                field: name.to_owned(),
                code: "campaign_fixed",
                message: format!("排查底数已确定，排查工作的{label}不能再更改"),
            });
        }
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
    let Some(to) = to else {
        return Err(refuse("invalid_transition", "办理状态不能清空".to_owned()));
    };
    let from = match from {
        Start::New if m.initial.contains(&to) => return Ok(()),
        Start::New => {
            return Err(refuse(
                "invalid_transition",
                format!("新记录的状态应为以下之一：{}", m.initial.join("、")),
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
            format!("状态不能从 {from} 变为 {to}"),
        )),
        Some((_, _, roles)) if roles.is_empty() || roles.contains(&role) => Ok(()),
        Some(_) => Err(refuse(
            "transition_not_allowed",
            format!("{}不能把状态从 {from} 变为 {to}", role.label_zh()),
        )),
    }
}

#[cfg(test)]
mod tests {

    /// Every value of every status field can reach an end of its machine (no dead ends).
    #[test]
    fn every_state_reaches_an_end() {
        for machine in MACHINES {
            let spec = machine
                .collection
                .schema()
                .field(machine.field)
                .unwrap_or_else(|| panic!("{}.{}", machine.collection.as_str(), machine.field));
            let crate::collection::FieldType::Enum(values) = spec.ty else {
                panic!("{} is not an enum", machine.field);
            };
            for end in machine.ends {
                assert!(values.contains(end), "end {end} of {}", machine.field);
            }
            for start in values.iter() {
                let mut seen = vec![*start];
                let mut queue = vec![*start];
                while let Some(at) = queue.pop() {
                    for (from, to, _) in machine.steps {
                        if *from == at && !seen.contains(to) {
                            seen.push(to);
                            queue.push(to);
                        }
                    }
                }
                assert!(
                    seen.iter().any(|s| machine.ends.contains(s)),
                    "{}.{}: from {start} no end can be reached",
                    machine.collection.as_str(),
                    machine.field
                );
            }
        }
    }

    /// A member confirmed (or pending because lost) and later found dead leaves the roster.
    #[test]
    fn a_confirmed_member_can_still_leave_the_roster() {
        let reach = |from: &str, to: &str| {
            let mut seen = vec![from.to_owned()];
            let mut queue = vec![from.to_owned()];
            while let Some(at) = queue.pop() {
                for (f, t, _) in ROSTER.steps {
                    if *f == at && !seen.iter().any(|s| s == t) {
                        seen.push((*t).to_owned());
                        queue.push((*t).to_owned());
                    }
                }
            }
            seen.iter().any(|s| s == to)
        };
        for from in [
            "confirmed_on_site",
            "confirmed_remote",
            "confirmed_assisted",
            "pending_lost",
        ] {
            assert!(reach(from, "removed_from_roster"), "{from}");
        }
        assert!(
            check_transition(
                Collection::Members,
                "contact_status",
                Start::Existing(Some("lost")),
                Some("found"),
                BranchSecretary
            )
            .is_ok()
        );
    }

    use super::*;
    use crate::collection::FieldType;

    #[test]
    fn every_machine_names_words_of_its_field() {
        for m in MACHINES {
            let spec = m.collection.schema().field(m.field);
            let Some(FieldType::Enum(words)) = spec.map(|s| s.ty) else {
                panic!("{}.{} is not an enum field", m.collection.as_str(), m.field);
            };
            for w in m
                .initial
                .iter()
                .chain(m.steps.iter().flat_map(|(f, t, _)| [f, t]))
            {
                assert!(
                    words.contains(w),
                    "{}.{}: {w}",
                    m.collection.as_str(),
                    m.field
                );
            }
            // Whoever a step belongs to may write the field at all.
            let writers = spec.map(|s| s.writers).unwrap_or_default();
            for (_, _, roles) in m.steps {
                assert!(
                    roles.iter().all(|r| writers.contains(r)),
                    "{}.{}",
                    m.collection.as_str(),
                    m.field
                );
            }
        }
    }

    /// Every move the machines of §6 do not list is refused with `invalid_transition`, for
    /// every role; every listed move by a role it does not belong to with
    /// `transition_not_allowed`; a new record in a state it cannot start in likewise.
    #[test]
    fn every_move_outside_the_machines_is_refused_with_a_code() {
        let mut refused = 0;
        for m in MACHINES {
            let Some(FieldType::Enum(words)) = m.collection.schema().field(m.field).map(|s| s.ty)
            else {
                panic!("{} is not an enum", m.field);
            };
            let code = |from: Start<'_>, to: &str, role: Role| {
                check_transition(m.collection, m.field, from, Some(to), role)
                    .err()
                    .map(|e| e.code)
            };
            for to in words.iter().copied() {
                for role in Role::ALL {
                    let expected = (!m.initial.contains(&to)).then_some("invalid_transition");
                    assert_eq!(code(Start::New, to, role), expected, "new {to}");
                }
                for from in words.iter().copied() {
                    if from == to {
                        continue; // not a move: an unchanged value is never checked
                    }
                    for role in Role::ALL {
                        let step = m.steps.iter().find(|(f, t, _)| *f == from && *t == to);
                        let expected = match step {
                            None => Some("invalid_transition"),
                            Some((_, _, roles)) if roles.is_empty() || roles.contains(&role) => {
                                None
                            }
                            Some(_) => Some("transition_not_allowed"),
                        };
                        refused += usize::from(expected.is_some());
                        assert_eq!(
                            code(Start::Existing(Some(from)), to, role),
                            expected,
                            "{}.{}: {from} → {to} by {role:?}",
                            m.collection.as_str(),
                            m.field
                        );
                    }
                }
                // A field never set is in the implicit state: writing that state is no move.
                assert_eq!(
                    code(Start::Existing(None), to, CommitteeAdmin),
                    code(Start::Existing(Some(m.implicit)), to, CommitteeAdmin),
                    "{to}"
                );
            }
            // Clearing a status is never a move.
            assert_eq!(
                check_transition(
                    m.collection,
                    m.field,
                    Start::Existing(Some(m.implicit)),
                    None,
                    CommitteeAdmin
                )
                .err()
                .map(|e| e.code),
                Some("invalid_transition")
            );
        }
        assert!(refused > 1000, "{refused}");
    }

    #[test]
    fn a_step_must_record_what_it_needs() {
        let all = |_: &str| true;
        for (collection, field, value, needed) in REQUIRED_AT {
            // The step is a state of the machine (or a yes/no field's "true"), and every
            // needed field is declared.
            let is_bool = matches!(
                collection.schema().field(field).map(|f| f.ty),
                Some(crate::collection::FieldType::Bool)
            );
            let stored = if is_bool {
                assert_eq!(*value, "true", "{field}");
                serde_json::json!(true)
            } else {
                let m = machine(*collection, field).unwrap_or_else(|| panic!("{field}"));
                assert!(
                    m.steps.iter().any(|(_, t, _)| t == value),
                    "{}.{field} {value}",
                    collection.as_str()
                );
                serde_json::json!(value)
            };
            let mut full = serde_json::Map::new();
            full.insert((*field).to_owned(), stored);
            for name in *needed {
                assert!(collection.schema().field(name).is_some(), "{name}");
                full.insert((*name).to_owned(), serde_json::json!("x"));
            }
            assert!(check_required_for_steps(*collection, &full, &all).is_ok());
            for missing in *needed {
                let mut partial = full.clone();
                partial.remove(*missing);
                // Moving into the step without it, or clearing it later, is refused …
                for touched in [*field, *missing] {
                    let err =
                        check_required_for_steps(*collection, &partial, &|f: &str| f == touched);
                    assert_eq!(
                        err.map_err(|e| (e.code, e.field)),
                        Err(("required_for_step", (*missing).to_owned())),
                        "{field}={value}, touching {touched}"
                    );
                }
                // … an unrelated edit of a record already there is not.
                assert!(
                    check_required_for_steps(*collection, &partial, &|f: &str| f == "remarks")
                        .is_ok()
                );
            }
        }
        // Other states need nothing.
        let submitted = serde_json::json!({"status": "submitted"});
        assert!(
            check_required_for_steps(
                Collection::Dispositions,
                submitted.as_object().unwrap_or(&serde_json::Map::new()),
                &all
            )
            .is_ok()
        );
    }

    #[test]
    fn only_the_committee_records_a_department_search() {
        let attempt = |method: &str| {
            serde_json::json!({"method": method, "channel": "phone"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        for role in Role::ALL {
            let result =
                check_role_rules(Collection::ContactAttempts, &attempt("department"), role);
            assert_eq!(
                result.err().map(|e| e.code),
                (role != CommitteeAdmin).then_some("department_search_by_committee"),
                "{role:?}"
            );
            assert!(
                check_role_rules(Collection::ContactAttempts, &attempt("direct"), role).is_ok()
            );
        }
    }

    #[test]
    fn stamped_fields_are_declared_and_written_by_no_role() {
        for (collection, field, value, stamp) in STAMPS {
            assert!(machine(*collection, field).is_some());
            let spec = collection.schema().field(stamp);
            assert!(
                spec.is_some_and(|s| s.writers.is_empty() && matches!(s.ty, FieldType::Date)),
                "{stamp}"
            );
            assert_eq!(stamps(*collection, field, Some(value)), vec![*stamp]);
        }
        assert!(stamps(Collection::LedgerSubmissions, "status", Some("draft")).is_empty());
    }

    #[test]
    fn disposition_steps() {
        use Collection::Dispositions as D;
        let table: &[(Option<&str>, Option<&str>, Role, Result<(), &str>)] = &[
            (
                Some("proposed"),
                Some("branch_meeting_decided"),
                BranchSecretary,
                Ok(()),
            ),
            (
                Some("proposed"),
                Some("submitted"),
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (
                Some("proposed"),
                Some("approved"),
                CommitteeAdmin,
                Err("invalid_transition"),
            ),
            (
                Some("branch_meeting_decided"),
                Some("submitted"),
                GroupMember,
                Ok(()),
            ),
            (
                Some("submitted"),
                Some("approved"),
                BranchSecretary,
                Err("transition_not_allowed"),
            ),
            (Some("submitted"), Some("approved"), CommitteeAdmin, Ok(())),
            (Some("submitted"), Some("returned"), CommitteeAdmin, Ok(())),
            (Some("returned"), Some("submitted"), BranchSecretary, Ok(())),
            (Some("approved"), Some("filed"), CommitteeAdmin, Ok(())),
            (Some("filed"), Some("effective"), CommitteeAdmin, Ok(())),
            (
                Some("effective"),
                Some("proposed"),
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (
                Some("approved"),
                None,
                CommitteeAdmin,
                Err("invalid_transition"),
            ),
        ];
        for (from, to, role, expected) in table {
            let got = check_transition(D, "status", Start::Existing(*from), *to, *role)
                .map_err(|e| e.code);
            assert_eq!(got, *expected, "{from:?} → {to:?} by {role:?}");
        }
        let new = |to| {
            check_transition(D, "status", Start::New, Some(to), BranchSecretary).map_err(|e| e.code)
        };
        assert_eq!(new("proposed"), Ok(()));
        assert_eq!(new("approved"), Err("invalid_transition"));
        // Never set: the implicit first state, proposed.
        let unset = check_transition(
            D,
            "status",
            Start::Existing(None),
            Some("branch_meeting_decided"),
            BranchSecretary,
        );
        assert!(unset.is_ok());
    }

    #[test]
    fn ledger_roster_and_receipts() {
        use Collection::*;
        let table: &[(Collection, &str, Option<&str>, &str, Role, Result<(), &str>)] = &[
            (
                LedgerSubmissions,
                "status",
                None,
                "submitted",
                WorkAreaStaff,
                Ok(()),
            ),
            (
                LedgerSubmissions,
                "status",
                Some("draft"),
                "submitted",
                WorkAreaStaff,
                Ok(()),
            ),
            (
                LedgerSubmissions,
                "status",
                Some("submitted"),
                "approved",
                WorkAreaStaff,
                Err("transition_not_allowed"),
            ),
            (
                LedgerSubmissions,
                "status",
                Some("submitted"),
                "approved",
                OrgOffice,
                Ok(()),
            ),
            (
                LedgerSubmissions,
                "status",
                Some("approved"),
                "draft",
                WorkAreaStaff,
                Err("invalid_transition"),
            ),
            (
                Members,
                "roster_status",
                Some("flagged_surplus"),
                "removed_from_roster",
                BranchSecretary,
                Err("transition_not_allowed"),
            ),
            (
                Members,
                "roster_status",
                Some("flagged_surplus"),
                "removed_from_roster",
                OrgOffice,
                Ok(()),
            ),
            (
                Members,
                "roster_status",
                None,
                "removed_from_roster",
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (
                Members,
                "roster_status",
                Some("confirmed_on_site"),
                "unverified",
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (
                Transfers,
                "receipt_status",
                Some("receipt_pending"),
                "receiver_contacted",
                BranchSecretary,
                Ok(()),
            ),
            (
                Transfers,
                "receipt_status",
                Some("receiver_contacted"),
                "receipt_reissued",
                BranchSecretary,
                Ok(()),
            ),
            (
                Transfers,
                "receipt_status",
                Some("receipt_received"),
                "receiver_unreachable",
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (
                ContactCases,
                "result",
                Some("still_lost"),
                "found",
                BranchSecretary,
                Ok(()),
            ),
            (
                ContactCases,
                "result",
                Some("found"),
                "searching",
                BranchSecretary,
                Err("invalid_transition"),
            ),
            (Members, "name", Some("a"), "b", BranchSecretary, Ok(())),
        ];
        for (c, field, from, to, role, expected) in table {
            let got = check_transition(*c, field, Start::Existing(*from), Some(to), *role)
                .map_err(|e| e.code);
            assert_eq!(got, *expected, "{c:?}.{field}: {from:?} → {to} by {role:?}");
        }
    }
}
