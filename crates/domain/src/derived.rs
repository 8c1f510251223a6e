//! What the server writes because of a device's write, beside the state machines of
//! [`crate::workflow`]: the dates it stamps, the fields it computes, the ledger entries a
//! submission freezes, and the records a write makes it write (follow-up writes). Pure rules:
//! the push reads what they need and writes what they return (`paicha_sync::push`).

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::baseline;
use crate::campaign::Plan;
use crate::collection::{Collection, FieldError};
use crate::workflow::{restamped, stamps};

type Fields = Map<String, Value>;

/// Adds the fields the server stamps when a status takes a value ([`stamps`]): today's date in
/// China; the first time only, except the stamps taken again at every move ([`restamped`]: a
/// ledger submitted again is received again).
///
/// `existing` is the record before the write (none: it is created); `fields` are what the
/// write sets.
pub fn stamp(
    collection: Collection,
    existing: Option<&Fields>,
    fields: &mut Fields,
    today: NaiveDate,
) {
    let names: Vec<&'static str> = fields
        .iter()
        .flat_map(|(name, value)| stamps(collection, name, value.as_str()))
        .filter(|stamp| {
            restamped(collection, stamp)
                || existing
                    .and_then(|e| e.get(*stamp))
                    .is_none_or(Value::is_null)
        })
        .collect();
    let today = today.to_string();
    for name in names {
        fields.insert(name.to_owned(), Value::String(today.clone()));
    }
}

/// A typed date a deadline judges gets the day it reached the server, and 补录 when it lies
/// more than `late_entry_days` before it (`crate::entry`, docs/domain.md §8.15). Only what
/// differs from the record before the write is added.
pub fn entry_dates(
    collection: Collection,
    existing: Option<&Fields>,
    fields: &mut Fields,
    today: NaiveDate,
    late_entry_days: u32,
) {
    let Some(typed) = crate::entry::typed(collection) else {
        return;
    };
    let stamped = crate::entry::stamp(typed, existing, fields, today, late_entry_days);
    for (k, v) in stamped {
        let was = existing.and_then(|e| e.get(&k)).unwrap_or(&Value::Null);
        if *was != v {
            fields.insert(k, v);
        }
    }
}

/// A member's start facts follow what the branch records ([`baseline::track`]), and once the
/// baseline is fixed its snapshot follows them ([`baseline::upkeep`]; a member first recorded
/// afterwards is `added`), docs/domain.md §8.9.
pub fn member_start(existing: Option<&Fields>, fields: &mut Fields, plan: &Plan, today: NaiveDate) {
    let start = baseline::track(existing, fields, plan.start_date);
    fields.extend(start);
    let mut merged = existing.cloned().unwrap_or_default();
    merged.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged.retain(|_, v| !v.is_null());
    let snapshot = baseline::upkeep(existing, &merged, plan, today);
    fields.extend(snapshot);
    if existing.is_none() {
        fields.retain(|_, v| !v.is_null());
    }
}

/// Whether a write of a contact case sets its `lost_months_at_start`: when it is created or
/// names its member.
pub fn case_needs_months(existing: Option<&Fields>, fields: &Fields) -> bool {
    existing.is_none() || fields.contains_key("member_id")
}

/// The member a record names in `member_id`, if it names one.
pub fn member_of(fields: &Fields) -> Option<Uuid> {
    fields
        .get("member_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Months a member had been without contact at the campaign's start: its corrected snapshot's,
/// or the judgement of its start facts (docs/domain.md §8.9); none without a campaign.
pub fn lost_months(member: &Fields, plan: Option<&Plan>) -> Option<u32> {
    plan.and_then(|plan| baseline::lost_months(member, plan))
}

/// A contact case's `lost_months_at_start` from its member's `months` (§8.1): set, or cleared
/// when the member has none and the case had some.
pub fn case_months(existing: Option<&Fields>, fields: &mut Fields, months: Option<u32>) {
    let had = existing.and_then(|e| e.get("lost_months_at_start"));
    match months {
        Some(n) => {
            fields.insert("lost_months_at_start".into(), Value::from(n));
        }
        None if had.is_some() => {
            fields.insert("lost_months_at_start".into(), Value::Null);
        }
        None => {}
    }
}

/// The ledger a write moves to `submitted`, if it does (docs/domain.md §5.7): the submission
/// then takes the work area's entries of that ledger not held by another submission.
pub fn submitting(
    collection: Collection,
    existing: Option<&Fields>,
    fields: &Fields,
) -> Option<String> {
    if collection != Collection::LedgerSubmissions
        || fields.get("status").and_then(Value::as_str) != Some("submitted")
    {
        return None;
    }
    Some(
        fields
            .get("ledger")
            .or_else(|| existing.and_then(|e| e.get("ledger")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Whether a ledger entry belongs to `ledger`.
pub fn entry_of_ledger(entry: &Fields, ledger: &str) -> bool {
    entry.get("ledger").and_then(Value::as_str) == Some(ledger)
}

/// The submission holding a ledger entry (`submission_id`), if any.
pub fn holder_of(entry: &Fields) -> Option<Uuid> {
    entry
        .get("submission_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Whether a live submission holds (freezes) its entries: while it is `submitted` or
/// `approved`; a returned submission frees them.
pub fn holds(submission: &Fields) -> bool {
    matches!(
        submission.get("status").and_then(Value::as_str),
        Some("submitted" | "approved")
    )
}

/// Whether a live submission claims the entries marked with it, so that no other submission
/// takes them: while it holds them, and while it is `returned` or `reopened` (its entries are
/// being corrected, and go back with it when it is submitted again; docs/domain.md §8.16). A
/// draft claims nothing.
pub fn claims(submission: &Fields) -> bool {
    holds(submission)
        || matches!(
            submission.get("status").and_then(Value::as_str),
            Some("returned" | "reopened")
        )
}

/// Whether a submission moving to `submitted` (`existing`: as it stood) goes in for the first
/// time: it was never received. Whether it is a 补报 is decided then, once.
pub fn first_submission(existing: Option<&Fields>) -> bool {
    existing
        .and_then(|e| e.get("received_on"))
        .is_none_or(Value::is_null)
}

/// Whether a submission of `ledger` going in for the first time is a 补报 (docs/domain.md
/// §8.16): the work area has handed in that ledger already, that is, another of its live
/// submissions of the ledger (`others`) is submitted, approved, returned or reopened.
pub fn supplementary<'a>(others: impl IntoIterator<Item = &'a Fields>, ledger: &str) -> bool {
    others
        .into_iter()
        .any(|o| entry_of_ledger(o, ledger) && claims(o))
}

/// A 补报 takes the entries no other submission holds; one that would take none is refused: it
/// would hand in nothing. (A first submission may be empty: a work area with nothing to enter
/// reports just that.) To correct what was approved, the 组织办 reopens that submission.
pub fn check_supplement(supplementary: bool, taken: usize) -> Result<(), FieldError> {
    if supplementary && taken == 0 {
        return Err(FieldError {
            field: "status".to_owned(),
            code: "supplement_empty",
            message: "没有尚未报送的条目，无需补报；更正已审核通过的台帐，请组织办重新打开原报送"
                .to_owned(),
        });
    }
    Ok(())
}

/// Marks a submission going in for the first time as a 补报 when it is one, after
/// [`check_supplement`].
pub fn supplement(
    fields: &mut Fields,
    supplementary: bool,
    taken: usize,
) -> Result<(), FieldError> {
    check_supplement(supplementary, taken)?;
    if supplementary {
        fields.insert("supplementary".into(), Value::Bool(true));
    }
    Ok(())
}

/// What a submission moving to `submitted` records: how many entries it took and the SHA-256 of
/// their content (`digest`).
pub fn submitted(fields: &mut Fields, entries: usize, digest: String) {
    fields.insert("submitted_entries".into(), Value::from(entries));
    fields.insert("entries_sha256".into(), Value::String(digest));
}

/// The follow-up write marking a ledger entry taken by `submission`.
pub fn mark_taken(submission: Uuid) -> Fields {
    let mut set = Map::new();
    set.insert(
        "submission_id".into(),
        Value::String(submission.to_string()),
    );
    set
}

/// A ledger entry held by a live submission in `holder_status` (`submitted` or `approved`) may
/// not change: the 组织办 audits what was submitted (docs/domain.md §5.7); a returned submission
/// frees its entries. `None`: no live holder.
pub fn check_entry_not_frozen(holder_status: Option<&str>) -> Result<(), FieldError> {
    match holder_status {
        Some("submitted" | "approved") => Err(FieldError {
            field: "id".to_owned(),
            code: "ledger_entry_frozen",
            message: "该条目已随台帐报送组织办，报送期间和审核通过后不能修改或删除；如需更正，请组织办退回或重新打开该报送后再改"
                .to_owned(),
        }),
        _ => Ok(()),
    }
}

/// The member a transfer registered as lost opens a contact case for (docs/domain.md §6.4).
pub fn opens_case(collection: Collection, transfer: &Fields) -> Option<Uuid> {
    if collection != Collection::Transfers
        || transfer.get("registered_lost").and_then(Value::as_bool) != Some(true)
    {
        return None;
    }
    member_of(transfer)
}

/// Whether a receipt status says the receipt is in (received, or reissued after contact).
pub fn receipt_status_in(status: Option<&str>) -> bool {
    matches!(status, Some("receipt_received" | "receipt_reissued"))
}

/// Whether a transfer was withdrawn (撤回) from its list (docs/domain.md §6.4): it stays, shown
/// as withdrawn, and counts nowhere.
pub fn transfer_withdrawn(transfer: &Fields) -> bool {
    transfer.get("withdrawn_on").is_some_and(|v| !v.is_null())
}

/// Whether a transfer's receipt is in ([`receipt_status_in`]).
pub fn receipt_in(transfer: &Fields) -> bool {
    receipt_status_in(transfer.get("receipt_status").and_then(Value::as_str))
}

/// Whether this transfer's late receipt ends the search its loss opened (补办回执,
/// docs/domain.md §6.4): a transfer registered as lost whose receipt came in after all. The
/// search ends as found ([`case_found_by_receipt`]).
pub fn receipt_closes_case(collection: Collection, transfer: &Fields) -> bool {
    collection == Collection::Transfers
        && transfer.get("registered_lost").and_then(Value::as_bool) == Some(true)
        && receipt_in(transfer)
}

/// The fields that end, as found, the search a transfer's loss opened once its receipt came
/// in: found on the receipt's day (`receipt_on`, else `today`); what the case said stays, the
/// remark says why it ended.
pub fn case_found_by_receipt(case: &Fields, transfer: &Fields, today: NaiveDate) -> Fields {
    let mut fields = Map::new();
    fields.insert("result".into(), Value::String("found".into()));
    let on = transfer
        .get("receipt_on")
        .and_then(Value::as_str)
        .map_or_else(|| today.to_string(), str::to_owned);
    fields.insert("found_on".into(), Value::String(on));
    fields.insert("found_by".into(), Value::String("other".into()));
    let note = "接收方党组织补办回执，已取得联系，查找结束（由系统据转出明细记录）";
    let remarks = match case.get("remarks").and_then(Value::as_str) {
        Some(before) if !before.is_empty() => format!("{before}；{note}"),
        _ => note.to_owned(),
    };
    fields.insert("remarks".into(), Value::String(remarks));
    fields
}

/// What is proposed for a person whose identity the committee did not recognize (an archive
/// review ended `not_recognized`, docs/domain.md §6.5) while he is still on the roster: never
/// kept silently, he is put to the committee to be taken off (as surplus, register B, removed
/// by the 组织办). `None` once he is off the roster, or if the review did not end so.
pub fn identity_proposal(review: &Fields, member: &Fields) -> Option<&'static str> {
    if review.get("status").and_then(Value::as_str) != Some("not_recognized") {
        return None;
    }
    match member.get("roster_status").and_then(Value::as_str) {
        Some("removed_from_roster") => None,
        Some("flagged_surplus") => {
            Some("党工委审核不予认定其党员身份；已列为多余人员，待组织办审核移出花名册")
        }
        _ => Some(
            "党工委审核不予认定其党员身份，仍在花名册上：建议列为多余人员（台帐B），由组织办审核移出花名册",
        ),
    }
}

/// The day a member's suspension window ends, if a suspension stands for him on `today`: his
/// latest disposition in force (`effective`, `effective_on` on or before `today`) is a
/// suspension (docs/domain.md §6.3, §8.4). `dispositions`: the member's live dispositions.
pub fn suspension_window_ends<'a>(
    dispositions: impl IntoIterator<Item = (Uuid, &'a Fields)>,
    plan: Option<&Plan>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let mut standing: Option<(NaiveDate, Uuid, bool)> = None;
    for (id, d) in dispositions {
        if d.get("status").and_then(Value::as_str) != Some("effective") {
            continue;
        }
        let Some(on) = d
            .get("effective_on")
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .filter(|on| *on <= today)
        else {
            continue;
        };
        let suspends = d.get("disposition_type").and_then(Value::as_str) == Some("suspend");
        if standing.is_none_or(|(o, i, _)| (on, id) > (o, i)) {
            standing = Some((on, id, suspends));
        }
    }
    let (on, _, suspends) = standing?;
    suspends.then(|| Plan::suspension_ends_on(plan, on))
}

/// Whether a disposition's member or kind is written, so that its mark for the committee
/// ([`mark_for_committee`]) is to be worked out again.
pub fn disposition_retargeted(collection: Collection, fields: &Fields) -> bool {
    collection == Collection::Dispositions
        && (fields.contains_key("disposition_type") || fields.contains_key("member_id"))
}

/// Sets or clears, in the write `fields` of a disposition (over `existing`), the server's mark
/// `needs_committee_decision`: set for a removal inside the member's suspension window
/// (`window_ends`, [`suspension_window_ends`]), cleared once it no longer is one.
pub fn mark_for_committee(
    existing: Option<&Fields>,
    fields: &mut Fields,
    window_ends: Option<NaiveDate>,
    today: NaiveDate,
) {
    let kind = fields
        .get("disposition_type")
        .or_else(|| existing.and_then(|e| e.get("disposition_type")))
        .and_then(Value::as_str);
    let mark = "needs_committee_decision";
    if removal_inside_window(kind, window_ends, today) {
        fields.insert(mark.into(), Value::Bool(true));
    } else if existing.is_some_and(|e| e.contains_key(mark)) {
        fields.insert(mark.into(), Value::Null);
    }
}

/// Whether a removal (除名) is proposed while the member's suspension window still runs on
/// `today` (docs/domain.md §6.3: struck off only when still unreachable after the window). It is
/// allowed, and marked for the committee to decide (`needs_committee_decision`).
pub fn removal_inside_window(
    kind: Option<&str>,
    window_ends: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    kind == Some("remove") && window_ends.is_some_and(|end| today < end)
}

/// Whether a contact case is still open (searching, or without a result yet): the branch's
/// open case for a member serves, no second one is opened.
pub fn case_is_open(case: &Fields) -> bool {
    matches!(
        case.get("result").and_then(Value::as_str),
        None | Some("searching")
    )
}

/// The fields of the contact case a transfer registered as lost opens for `member`.
pub fn opened_case(member: Uuid, transfer: &Fields, months: Option<u32>) -> Fields {
    let mut fields = Map::new();
    fields.insert("member_id".into(), Value::String(member.to_string()));
    fields.insert("result".into(), Value::String("searching".into()));
    let name = transfer
        .get("member_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let list = transfer
        .get("list_name")
        .and_then(Value::as_str)
        .unwrap_or("转出明细");
    fields.insert(
        "remarks".into(),
        Value::String(format!(
            "转出后接收方党组织联系不上，登记为失联党员（{list}：{name}），由系统据转出明细开立"
        )),
    );
    if let Some(months) = months {
        fields.insert("lost_months_at_start".into(), Value::from(months));
    }
    fields
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Fields {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_stamp_is_taken_once_unless_restamped() {
        let today = day("2026-05-04");
        let mut fields = map(json!({"status": "submitted"}));
        stamp(Collection::LedgerSubmissions, None, &mut fields, today);
        assert_eq!(fields["received_on"], json!("2026-05-04"));
        // Submitted again after a return: received again, on that day.
        let existing = map(json!({"received_on": "2026-04-01"}));
        let mut again = map(json!({"status": "submitted"}));
        stamp(
            Collection::LedgerSubmissions,
            Some(&existing),
            &mut again,
            today,
        );
        assert_eq!(again["received_on"], json!("2026-05-04"));
        // A move to a value without stamps stamps nothing.
        let mut none = map(json!({"status": "draft"}));
        stamp(Collection::LedgerSubmissions, None, &mut none, today);
        assert_eq!(none.len(), 1);
    }

    #[test]
    fn case_months_set_or_cleared() {
        let mut fields = Map::new();
        case_months(None, &mut fields, Some(7));
        assert_eq!(fields["lost_months_at_start"], json!(7));
        let had = map(json!({"lost_months_at_start": 7}));
        let mut cleared = Map::new();
        case_months(Some(&had), &mut cleared, None);
        assert_eq!(cleared["lost_months_at_start"], Value::Null);
        let mut untouched = Map::new();
        case_months(None, &mut untouched, None);
        assert!(untouched.is_empty());
    }

    #[test]
    fn submitting_takes_the_ledger_of_the_write_or_the_record() {
        let existing = map(json!({"ledger": "ledger_b"}));
        let write = map(json!({"status": "submitted"}));
        assert_eq!(
            submitting(Collection::LedgerSubmissions, Some(&existing), &write),
            Some("ledger_b".to_owned())
        );
        let draft = map(json!({"status": "draft", "ledger": "ledger_a"}));
        assert_eq!(
            submitting(Collection::LedgerSubmissions, None, &draft),
            None
        );
        assert_eq!(submitting(Collection::Members, None, &write), None);
    }

    #[test]
    fn frozen_while_submitted_or_approved() {
        for (status, frozen) in [
            (Some("submitted"), true),
            (Some("approved"), true),
            (Some("returned"), false),
            (Some("draft"), false),
            (None, false),
        ] {
            let result = check_entry_not_frozen(status);
            assert_eq!(result.is_err(), frozen, "{status:?}");
            if let Err(e) = result {
                assert_eq!((e.code, e.field.as_str()), ("ledger_entry_frozen", "id"));
            }
        }
        let held = map(json!({"status": "approved"}));
        assert!(holds(&held));
        assert!(!holds(&map(json!({"status": "returned"}))));
        assert!(!holds(&map(json!({"status": "reopened"}))));
    }

    /// §8.16: a returned or reopened submission frees its entries for correction but keeps
    /// them from other submissions; a later submission of a ledger already handed in is a 补报,
    /// decided when it first goes in, and one with nothing to take is refused.
    #[test]
    fn claims_and_supplements() {
        for (status, claimed) in [
            ("submitted", true),
            ("approved", true),
            ("returned", true),
            ("reopened", true),
            ("draft", false),
        ] {
            assert_eq!(claims(&map(json!({"status": status}))), claimed, "{status}");
        }
        assert!(!claims(&map(json!({}))));
        let approved_a = map(json!({"ledger": "ledger_a", "status": "approved"}));
        let draft_a = map(json!({"ledger": "ledger_a", "status": "draft"}));
        assert!(supplementary([&approved_a], "ledger_a"));
        assert!(!supplementary([&approved_a], "ledger_b"));
        assert!(!supplementary([&draft_a], "ledger_a"));
        assert!(!supplementary([], "ledger_a"));
        assert!(first_submission(None));
        assert!(first_submission(Some(&draft_a)));
        let received = map(json!({"status": "reopened", "received_on": "2016-03-10"}));
        assert!(!first_submission(Some(&received)));
        let empty = check_supplement(true, 0).unwrap_err();
        assert_eq!(
            (empty.code, empty.field.as_str()),
            ("supplement_empty", "status")
        );
        assert!(check_supplement(true, 1).is_ok());
        assert!(check_supplement(false, 0).is_ok());
    }

    #[test]
    fn a_transfer_registered_lost_opens_a_case() {
        let member = Uuid::now_v7();
        let transfer = map(json!({
            "registered_lost": true,
            "member_id": member.to_string(),
            "member_name": "张三",
            "list_name": "二〇二六年转出",
        }));
        assert_eq!(opens_case(Collection::Transfers, &transfer), Some(member));
        assert_eq!(opens_case(Collection::Members, &transfer), None);
        let not_lost = map(json!({"registered_lost": false, "member_id": member.to_string()}));
        assert_eq!(opens_case(Collection::Transfers, &not_lost), None);
        let case = opened_case(member, &transfer, Some(9));
        assert_eq!(case["result"], json!("searching"));
        assert_eq!(case["lost_months_at_start"], json!(9));
        assert_eq!(
            case["remarks"],
            json!(
                "转出后接收方党组织联系不上，登记为失联党员（二〇二六年转出：张三），由系统据转出明细开立"
            )
        );
        assert!(case_is_open(&case));
        assert!(!case_is_open(&map(json!({"result": "found"}))));
    }

    #[test]
    fn a_removal_inside_the_suspension_window_is_marked_for_the_committee() {
        let suspended = map(
            json!({"disposition_type": "suspend", "status": "effective", "effective_on": "2024-03-01"}),
        );
        let restored = map(
            json!({"disposition_type": "restore_membership", "status": "effective", "effective_on": "2025-01-10"}),
        );
        let not_yet = map(json!({"disposition_type": "restore_membership", "status": "approved"}));
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let ends =
            |ds: Vec<(Uuid, &Fields)>, today: &str| suspension_window_ends(ds, None, day(today));
        // Two years (no campaign) from 2024-03-01.
        assert_eq!(
            ends(vec![(a, &suspended)], "2025-06-01"),
            Some(day("2026-03-01"))
        );
        assert_eq!(
            ends(vec![(a, &suspended), (c, &not_yet)], "2025-06-01"),
            Some(day("2026-03-01"))
        );
        // A later restoration in force ends it; before its day it does not yet.
        assert_eq!(
            ends(vec![(a, &suspended), (b, &restored)], "2025-06-01"),
            None
        );
        assert_eq!(
            ends(vec![(a, &suspended), (b, &restored)], "2024-12-01"),
            Some(day("2026-03-01"))
        );
        // Nothing stands before the suspension takes effect.
        assert_eq!(ends(vec![(a, &suspended)], "2024-02-01"), None);

        let window = Some(day("2026-03-01"));
        assert!(removal_inside_window(
            Some("remove"),
            window,
            day("2025-06-01")
        ));
        assert!(!removal_inside_window(
            Some("remove"),
            window,
            day("2026-03-01")
        ));
        assert!(!removal_inside_window(
            Some("persuade_withdraw"),
            window,
            day("2025-06-01")
        ));
        assert!(!removal_inside_window(
            Some("remove"),
            None,
            day("2025-06-01")
        ));

        // The mark is set on a removal inside the window, and cleared when the kind changes.
        let today = day("2025-06-01");
        let mut removal = map(json!({"disposition_type": "remove"}));
        mark_for_committee(None, &mut removal, window, today);
        assert_eq!(removal["needs_committee_decision"], json!(true));
        let mut changed = map(json!({"disposition_type": "persuade_withdraw"}));
        mark_for_committee(Some(&removal), &mut changed, window, today);
        assert_eq!(changed["needs_committee_decision"], Value::Null);
        let mut plain = map(json!({"disposition_type": "persuade_withdraw"}));
        mark_for_committee(None, &mut plain, window, today);
        assert!(!plain.contains_key("needs_committee_decision"));
    }

    #[test]
    fn a_late_receipt_ends_the_search_the_loss_opened() {
        let member = Uuid::now_v7();
        let with = |status: &str| {
            map(json!({
                "registered_lost": true,
                "member_id": member.to_string(),
                "receipt_status": status,
            }))
        };
        let t = Collection::Transfers;
        assert!(receipt_closes_case(t, &with("receipt_reissued")));
        assert!(receipt_closes_case(t, &with("receipt_received")));
        assert!(!receipt_closes_case(t, &with("receiver_unreachable")));
        let never_lost =
            map(json!({"member_id": member.to_string(), "receipt_status": "receipt_received"}));
        assert!(!receipt_closes_case(t, &never_lost));
        assert!(!receipt_closes_case(
            Collection::Members,
            &with("receipt_received")
        ));

        let case = map(json!({"result": "searching", "remarks": "由系统据转出明细开立"}));
        let closed = case_found_by_receipt(&case, &with("receipt_reissued"), day("2026-12-07"));
        assert_eq!(closed["result"], json!("found"));
        assert_eq!(closed["found_on"], json!("2026-12-07"));
        let mut dated = with("receipt_reissued");
        dated.insert("receipt_on".into(), json!("2026-12-01"));
        let closed_on = case_found_by_receipt(&case, &dated, day("2026-12-07"));
        assert_eq!(closed_on["found_on"], json!("2026-12-01"));
        assert_eq!(
            closed["remarks"],
            json!(
                "由系统据转出明细开立；接收方党组织补办回执，已取得联系，查找结束（由系统据转出明细记录）"
            )
        );
        assert!(!case_is_open(&closed));
    }
}
