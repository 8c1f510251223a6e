//! The checks of a write against the workflows: what a step must record, a confirmation's
//! form, what may be deleted, and what a fixed campaign keeps.

use crate::collection::{Collection, FieldError};

use super::*;

/// What a step must record (docs/domain.md §6 and §10): the date of the branch meeting, of the
/// committee's approval, of the county filing and of the effect of a disposition (the
/// suspension clock runs from it); why the committee returned or rejected one; why the 组织办
/// returned a ledger; when and with what result the committee carried out a department search;
/// when a receipt came back or was re-issued; the ground of a confirmed exemption; how a lost
/// member was found. A status moving to one of these values without the field is refused with
/// `required_for_step`.
pub(super) static REQUIRED_AT: &[(Collection, &str, &str, &[&str])] = &[
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
    // Reopening an approved submission says why (docs/domain.md §8.16), in the same write
    // (check_reason_with_step).
    (
        Collection::LedgerSubmissions,
        "status",
        "reopened",
        &["reopen_reason"],
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
    // The branch's decision to treat a member by reference (docs/domain.md §8.3) is made with
    // its note; the committee overrules it with its conclusion.
    (
        Collection::ArchiveReviews,
        "branch_exemption",
        "retired",
        &["branch_exemption_note"],
    ),
    (
        Collection::ArchiveReviews,
        "branch_exemption",
        "aged_sixty_rural_or_community",
        &["branch_exemption_note"],
    ),
    (
        Collection::ArchiveReviews,
        "exemption_overruled",
        "true",
        &["result_note"],
    ),
    // A transfer registered as lost opens a contact case for its member (docs/domain.md §6.4),
    // so the member must be named.
    (
        Collection::Transfers,
        "registered_lost",
        "true",
        &["member_id"],
    ),
];

/// Steps that need a reason of their own, sent in the same write (a reason kept from an
/// earlier time does not serve): (collection, status field, from, to, reason field, message).
/// §6.1: a person taken off the roster by mistake is put back by the 组织办, which says why;
/// §8.16: the 组织办 reopens an approved ledger submission, and says why.
static REASON_WITH_STEP: &[(Collection, &str, &str, &str, &str, &str)] = &[
    (
        Collection::Members,
        "roster_status",
        "removed_from_roster",
        "unverified",
        "restore_reason",
        "恢复移出花名册的人员，须填写「恢复原因」",
    ),
    (
        Collection::LedgerSubmissions,
        "status",
        "approved",
        "reopened",
        "reopen_reason",
        "重新打开已审核通过的台帐报送，须填写「重新打开原因」",
    ),
];

/// Checks the steps of [`REASON_WITH_STEP`]: a write that moves `field` from `from` to `to`
/// carries its reason in `changed`, not blank.
pub fn check_reason_with_step(
    collection: Collection,
    before: &serde_json::Map<String, serde_json::Value>,
    changed: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), FieldError> {
    let text = |fields: &serde_json::Map<String, serde_json::Value>, name: &str| {
        fields.get(name).and_then(|v| v.as_str()).map(str::to_owned)
    };
    for (c, field, from, to, reason, message) in REASON_WITH_STEP {
        let moving = *c == collection
            && text(before, field).as_deref() == Some(*from)
            && text(changed, field).as_deref() == Some(*to);
        let given = text(changed, reason).is_some_and(|r| !r.trim().is_empty());
        if moving && !given {
            return Err(FieldError {
                field: (*reason).to_owned(),
                code: "required_for_step",
                message: (*message).to_owned(),
            });
        }
    }
    Ok(())
}

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
        // A reopened submission was approved: its history keeps that approval.
        Collection::LedgerSubmissions
            if matches!(text("status"), Some("approved" | "reopened")) =>
        {
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
