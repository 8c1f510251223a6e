//! The campaign's baseline (排查底数, docs/domain.md §8.9): what each member looked like when
//! the campaign began, so that the numbers the committee reports upward (lost at the start,
//! mobile at the start, the roster at the start) are right whenever they are fixed and do not
//! change as members are found.
//!
//! "At the start" is a fact about the time before the start date, whenever it is recorded. The
//! server keeps each member's **start facts** ([`StartFacts`]) as the branch records them
//! ([`track`]): the last organisational activity, the last dues payment and the outflow dated
//! before the start, whether the whereabouts were known before the member was recorded lost or
//! found, and the branch's own decision that the member was already lost (`lost_at_start`).
//! A fact dated on or after the start (a new activity date, a find) never changes them; a
//! correction of a pre-start fact (a mistyped year) does. The member's judgement at the start
//! ([`judge`]) is the lost-contact rule (§8.1) and the outflow rule applied to those facts
//! against the campaign's start date, however late in the campaign they are entered.
//!
//! The 组织办 fixes the baseline once (`POST /v1/campaigns/{id}/baseline`): every live member
//! then gets a snapshot of kind `at_start` (on the roster at the start); a member first recorded
//! afterwards gets one of kind `added`. The snapshot's lost and mobile values follow the start
//! facts as the branch records them, so fixing before or after the facts are entered gives the
//! same numbers. A snapshot the 组织办 corrected, with a reason (`POST /v1/members/{id}/baseline`),
//! is kept as corrected. The server writes the `baseline_*` and `start_*` fields, which no
//! role may write; every write is in the change log.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::campaign::Plan;
use crate::lost_contact::{ContactFacts, LostContactAssessment, assess_lost_contact_months};

/// The member fields the server writes for the baseline. No role writes them.
pub const MEMBER_FIELDS: [&str; 7] = [
    "baseline_on",
    "baseline_kind",
    "baseline_lost",
    "baseline_lost_months",
    "baseline_mobile",
    "baseline_corrected_on",
    "baseline_correction",
];

/// The campaign fields the server writes when the baseline is frozen.
pub const CAMPAIGN_FIELDS: [&str; 2] = ["baseline_on", "baseline_members"];

/// How a member came into the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// On the roster when the 组织办 froze the baseline: counts in the roster at the start.
    AtStart,
    /// First recorded after the freeze (a person found not on the roster, a late entry).
    Added,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AtStart => "at_start",
            Kind::Added => "added",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "at_start" => Some(Kind::AtStart),
            "added" => Some(Kind::Added),
            _ => None,
        }
    }
}

/// One member's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub kind: Kind,
    /// Lost at the start by §8.1.
    pub lost: bool,
    /// Whole months without contact at the start, for a lost member whose last contact is
    /// known.
    pub lost_months: Option<u32>,
    /// Mobile at the start: flowed out before the start with known whereabouts ([`judge`]).
    pub mobile: bool,
}

/// The member fields that hold the start facts, written by the server only ([`track`]).
pub const START_FIELDS: [&str; 4] = [
    "start_last_activity_on",
    "start_last_dues_paid_on",
    "start_whereabouts_known",
    "start_flow_out_on",
];

/// The dated facts the server keeps as they stood before the start: (the member's field, the
/// start field that keeps its last value dated before the start).
const DATED: [(&str, &str); 3] = [
    ("last_activity_on", "start_last_activity_on"),
    ("last_dues_paid_on", "start_last_dues_paid_on"),
    ("flow_out_on", "start_flow_out_on"),
];

/// Contact statuses that say the member has been recorded lost during the campaign, or found
/// after being lost: from then on, whereabouts written as known are a find, not a fact about
/// the start (docs/domain.md §6.2: a lost member leaves the lost states only by being found).
const LOST_OR_FOUND: [&str; 5] = [
    "lost",
    "searching",
    "still_lost",
    "found",
    "managed_elsewhere",
];

/// A member's facts as they stood before the campaign's start (docs/domain.md §8.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StartFacts {
    pub last_activity_on: Option<NaiveDate>,
    pub last_dues_paid_on: Option<NaiveDate>,
    pub flow_out_on: Option<NaiveDate>,
    /// Whether the whereabouts were known at the start (`None`: not recorded).
    pub whereabouts_known: Option<bool>,
    /// The branch recorded that the member was already lost at the start (是否失联).
    pub declared_lost: bool,
}

/// What the judgement at the start says of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Judgement {
    /// Lost at the start by §8.1, or as the branch recorded.
    pub lost: bool,
    /// Whole months without contact at the start, for a lost member whose last contact before
    /// the start is known.
    pub lost_months: Option<u32>,
    /// Mobile at the start: flowed out before the start, whereabouts known, not lost.
    pub mobile: bool,
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<NaiveDate> {
    fields
        .get(name)?
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn contact_status(fields: &Map<String, Value>) -> Option<&str> {
    fields.get("contact_status").and_then(Value::as_str)
}

/// Whether the member has been recorded lost or found during the campaign.
fn recorded_lost(fields: &Map<String, Value>) -> bool {
    contact_status(fields).is_some_and(|s| LOST_OR_FOUND.contains(&s))
        || fields.contains_key("found_on")
}

/// Whether the member was found after being lost: the server's `found_on` stamp, or a contact
/// status only a find reaches.
pub fn is_found(fields: &Map<String, Value>) -> bool {
    fields.contains_key("found_on")
        || matches!(contact_status(fields), Some("found" | "managed_elsewhere"))
}

/// What a member's fields hold of its start facts, read without the start date: the kept
/// `start_*` values (`None`: never kept) and what a member written before they were kept has
/// instead. [`Kept::at`] gives the start facts against a start date. Small enough to keep per
/// member in the status read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Kept {
    /// Per dated fact of `DATED`: the kept value (`None`: no `start_*` field), and the current one.
    #[serde(with = "crate::facts::checkpoint::kept_days")]
    dated: [(Option<Option<NaiveDate>>, Option<NaiveDate>); 3],
    whereabouts: Option<Option<bool>>,
    current_whereabouts: Option<bool>,
    recorded_lost: bool,
    declared_lost: bool,
}

impl Kept {
    pub fn of_fields(fields: &Map<String, Value>) -> Kept {
        let dated = DATED.map(|(field, kept)| {
            (
                fields.contains_key(kept).then(|| date(fields, kept)),
                date(fields, field),
            )
        });
        Kept {
            dated,
            whereabouts: fields.get("start_whereabouts_known").map(Value::as_bool),
            current_whereabouts: fields.get("whereabouts_known").and_then(Value::as_bool),
            recorded_lost: recorded_lost(fields),
            declared_lost: fields.get("lost_at_start").and_then(Value::as_bool) == Some(true),
        }
    }

    /// The start facts against `start`. A member written before paicha kept them is read from
    /// its current fields: a date before `start` is taken, and a member recorded lost had
    /// unknown whereabouts.
    pub fn at(&self, start: NaiveDate) -> StartFacts {
        let [activity, dues, flow] = self
            .dated
            .map(|(kept, current)| kept.unwrap_or(current.filter(|d| *d < start)));
        StartFacts {
            last_activity_on: activity,
            last_dues_paid_on: dues,
            flow_out_on: flow,
            whereabouts_known: match self.whereabouts {
                Some(w) => w,
                None if self.recorded_lost => Some(false),
                None => self.current_whereabouts,
            },
            declared_lost: self.declared_lost,
        }
    }
}

impl StartFacts {
    /// The start facts a member's fields hold ([`Kept::at`]).
    pub fn of_fields(fields: &Map<String, Value>, start: NaiveDate) -> StartFacts {
        Kept::of_fields(fields).at(start)
    }
}

/// The start fields a write changes (docs/domain.md §8.9), from the record before the write
/// (`None`: it is created) and the fields the write sets (`null` clears): to be written with
/// the write. Only fields whose value changes are returned.
///
/// - A last activity, last dues payment or outflow dated before `start` is kept as the start's;
///   one dated on or after `start` is a later fact and leaves the start's as it was. Clearing a
///   date that was before the start clears the start's (a correction).
/// - Whereabouts recorded unknown are the start's; recorded known (or cleared) are the start's
///   only while the member has not been recorded lost or found: afterwards they are a find.
///   A member recorded lost with no whereabouts recorded had unknown whereabouts.
pub fn track(
    existing: Option<&Map<String, Value>>,
    written: &Map<String, Value>,
    start: NaiveDate,
) -> Map<String, Value> {
    let empty = Map::new();
    let before = existing.unwrap_or(&empty);
    let kept = StartFacts::of_fields(before, start);
    let mut out = Map::new();
    let mut set = |name: &str, value: Value| {
        let was = before.get(name);
        if was != Some(&value) && !(value.is_null() && was.is_none()) {
            out.insert(name.to_owned(), value);
        }
    };
    let kept_dates = [
        kept.last_activity_on,
        kept.last_dues_paid_on,
        kept.flow_out_on,
    ];
    for ((field, start_field), was) in DATED.into_iter().zip(kept_dates) {
        let value = match written.get(field) {
            Some(Value::Null) => {
                let cleared_was_before = date(before, field).is_some_and(|d| d < start);
                if cleared_was_before { None } else { was }
            }
            Some(_) => match date(written, field) {
                Some(d) if d < start => Some(d),
                _ => was,
            },
            None => was,
        };
        set(
            start_field,
            value.map_or(Value::Null, |d| Value::String(d.to_string())),
        );
    }
    let lost_before = recorded_lost(before);
    let becomes_lost = !lost_before
        && matches!(
            contact_status(written),
            Some("lost" | "searching" | "still_lost")
        );
    let whereabouts = match written.get("whereabouts_known") {
        Some(Value::Bool(false)) => Some(Some(false)),
        Some(v) if !lost_before && !is_found(written) => Some(v.as_bool()),
        _ => None,
    };
    let whereabouts = match (whereabouts, becomes_lost) {
        (Some(Some(true)) | None, true) => Some(Some(false)),
        (w, _) => w,
    };
    match whereabouts {
        Some(w) => set(
            "start_whereabouts_known",
            w.map_or(Value::Null, Value::Bool),
        ),
        None => set(
            "start_whereabouts_known",
            kept.whereabouts_known.map_or(Value::Null, Value::Bool),
        ),
    }
    out
}

/// The judgement at the start of a member's start facts against the campaign (§8.1, §8.9): lost
/// when the branch recorded so, or when the whereabouts were unknown and the last contact before
/// the start lies `plan.lost_threshold_months` or more before it (or is not known); mobile when
/// the member had flowed out before the start, with known whereabouts, and was not lost.
pub fn judge(facts: &StartFacts, plan: &Plan) -> Judgement {
    let contact = ContactFacts {
        whereabouts_known: facts.whereabouts_known,
        last_activity_on: facts.last_activity_on,
        last_dues_paid_on: facts.last_dues_paid_on,
    };
    let (ruled_lost, months) =
        match assess_lost_contact_months(&contact, plan.start_date, plan.lost_threshold_months) {
            LostContactAssessment::Lost {
                months_without_contact,
                ..
            } => (true, months_without_contact),
            LostContactAssessment::NotLost(_) => (false, None),
        };
    let lost = ruled_lost || facts.declared_lost;
    let lost_months = if ruled_lost {
        months
    } else if lost {
        crate::lost_contact::last_contact_on(&contact)
            .map(|last| crate::calendar::full_months_between(last, plan.start_date))
    } else {
        None
    };
    let mobile = !lost
        && facts.whereabouts_known != Some(false)
        && facts.flow_out_on.is_some_and(|d| d < plan.start_date);
    Judgement {
        lost,
        lost_months,
        mobile,
    }
}

/// The judgement at the start of a member's fields as they stand: the snapshot the 组织办
/// corrected if it did, otherwise [`judge`] of the member's start facts.
pub fn judge_fields(fields: &Map<String, Value>, plan: &Plan) -> Judgement {
    if fields.contains_key("baseline_corrected_on")
        && let Some(s) = of_fields(fields)
    {
        return Judgement {
            lost: s.lost,
            lost_months: s.lost_months,
            mobile: s.mobile,
        };
    }
    judge(&StartFacts::of_fields(fields, plan.start_date), plan)
}

/// Months without contact at the start, as the judgement counts them (`None`: not lost, or no
/// contact date known). What `contact_cases.lost_months_at_start` is stamped with.
pub fn lost_months(fields: &Map<String, Value>, plan: &Plan) -> Option<u32> {
    judge_fields(fields, plan).lost_months
}

/// The snapshot of a member's fields as they stand, judged against the campaign's start.
pub fn assess(fields: &Map<String, Value>, plan: &Plan, kind: Kind) -> Snapshot {
    let j = judge_fields(fields, plan);
    Snapshot {
        kind,
        lost: j.lost,
        lost_months: j.lost_months,
        mobile: j.mobile,
    }
}

/// The snapshot fields to write with a member's write, once the baseline is fixed: the
/// snapshot follows the start facts (its kind and day stay as they were; a member first
/// recorded now is `added`), unless the 组织办 corrected it or a report has been signed (then
/// only a member without a snapshot gets one; the 组织办 corrects the others). `merged` is the record after the
/// write, `existing` the one before (`None`: created). Only fields whose value changes.
pub fn upkeep(
    existing: Option<&Map<String, Value>>,
    merged: &Map<String, Value>,
    plan: &Plan,
    today: NaiveDate,
) -> Map<String, Value> {
    let mut out = Map::new();
    let signed = plan.reported_on.is_some() && existing.and_then(of_fields).is_some();
    if plan.baseline_on.is_none() || signed || merged.contains_key("baseline_corrected_on") {
        return out;
    }
    let (kind, on) = match existing.and_then(of_fields) {
        Some(s) => (
            s.kind,
            existing
                .and_then(|e| date(e, "baseline_on"))
                .unwrap_or(today),
        ),
        None => (Kind::Added, today),
    };
    let snapshot = assess(merged, plan, kind);
    for (k, v) in to_fields(&snapshot, on) {
        if merged.get(&k).unwrap_or(&Value::Null) != &v {
            out.insert(k, v);
        }
    }
    out
}

/// The member fields that record `snapshot`, taken on `on`.
pub fn to_fields(snapshot: &Snapshot, on: NaiveDate) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("baseline_on".into(), Value::String(on.to_string()));
    m.insert(
        "baseline_kind".into(),
        Value::String(snapshot.kind.as_str().into()),
    );
    m.insert("baseline_lost".into(), Value::Bool(snapshot.lost));
    m.insert(
        "baseline_lost_months".into(),
        snapshot.lost_months.map_or(Value::Null, Value::from),
    );
    m.insert("baseline_mobile".into(), Value::Bool(snapshot.mobile));
    m
}

/// The snapshot a member's fields hold, if the baseline was taken for it.
pub fn of_fields(fields: &Map<String, Value>) -> Option<Snapshot> {
    let kind = Kind::parse(fields.get("baseline_kind")?.as_str()?)?;
    Some(Snapshot {
        kind,
        lost: fields.get("baseline_lost").and_then(Value::as_bool) == Some(true),
        lost_months: fields
            .get("baseline_lost_months")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        mobile: fields.get("baseline_mobile").and_then(Value::as_bool) == Some(true),
    })
}

/// The day the campaign's baseline was frozen, if it was.
pub fn frozen_on(campaign: &Map<String, Value>) -> Option<NaiveDate> {
    date(campaign, "baseline_on")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        Plan::from_fields(
            json!({"name": "x", "start_date": "2016-03-07"})
                .as_object()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_snapshot_is_the_rules_against_the_start_and_reads_back() {
        let lost = json!({"whereabouts_known": false, "last_activity_on": "2014-09-01"});
        let s = assess(lost.as_object().unwrap(), &plan(), Kind::AtStart);
        assert_eq!(
            s,
            Snapshot {
                kind: Kind::AtStart,
                lost: true,
                lost_months: Some(18),
                mobile: false
            }
        );
        let fields = to_fields(&s, NaiveDate::from_ymd_opt(2016, 3, 7).unwrap());
        assert_eq!(of_fields(&fields), Some(s));
        // Found later (a new activity date): the snapshot of the same member taken now would
        // say not lost, but the stored one does not change.
        let found = json!({"whereabouts_known": true, "last_activity_on": "2016-03-20"});
        assert!(!assess(found.as_object().unwrap(), &plan(), Kind::AtStart).lost);
        assert_eq!(of_fields(&fields).map(|s| s.lost), Some(true));
        // No contact date at all: lost, months unknown.
        let unknown = json!({"whereabouts_known": false});
        let s = assess(unknown.as_object().unwrap(), &plan(), Kind::Added);
        assert!(s.lost && s.lost_months.is_none() && s.kind == Kind::Added);
        // Mobile: flowed out before the start, whereabouts known. Recorded mobile with no
        // outflow date is not dated before the start; flowed out after the start is not.
        let away = json!({"flow_out_on": "2015-01-01", "whereabouts_known": true});
        assert!(assess(away.as_object().unwrap(), &plan(), Kind::AtStart).mobile);
        let undated = json!({"contact_status": "mobile"});
        assert!(!assess(undated.as_object().unwrap(), &plan(), Kind::AtStart).mobile);
        let later = json!({"flow_out_on": "2016-04-01", "whereabouts_known": true, "contact_status": "mobile"});
        assert!(!assess(later.as_object().unwrap(), &plan(), Kind::AtStart).mobile);
        assert_eq!(of_fields(&Map::new()), None);
    }

    #[test]
    fn lost_months_come_from_the_rule() {
        let f = json!({"whereabouts_known": false, "last_dues_paid_on": "2012-01-01"});
        assert_eq!(lost_months(f.as_object().unwrap(), &plan()), Some(50));
        let known = json!({"whereabouts_known": true, "last_dues_paid_on": "2012-01-01"});
        assert_eq!(lost_months(known.as_object().unwrap(), &plan()), None);
    }

    /// Applies writes one after the other as the server does: the start fields `track` adds,
    /// then the snapshot `upkeep` keeps once fixed; returns the record.
    fn write(record: &mut Map<String, Value>, plan: &Plan, written: Value) {
        let written = written.as_object().unwrap().clone();
        let existing = (!record.is_empty()).then(|| record.clone());
        let mut changed = written.clone();
        changed.extend(track(existing.as_ref(), &written, plan.start_date));
        let mut merged = record.clone();
        merged.extend(changed.clone());
        merged.retain(|_, v| !v.is_null());
        let day = NaiveDate::from_ymd_opt(2016, 3, 20).unwrap();
        changed.extend(upkeep(existing.as_ref(), &merged, plan, day));
        record.extend(changed);
        record.retain(|_, v| !v.is_null());
    }

    fn fixed(plan: &Plan) -> Plan {
        Plan {
            baseline_on: NaiveDate::from_ymd_opt(2016, 3, 10),
            ..*plan
        }
    }

    /// Measurement 1 of the issue, in both orders: the numbers are the same whether the
    /// baseline is fixed before or after the branch records the facts, and stay after a find.
    #[test]
    fn the_judgement_is_the_same_whether_fixed_before_or_after_the_facts() {
        let plan = plan();
        let roster = json!({"name": "王三", "member_type": "full"});
        let facts = json!({"whereabouts_known": false, "last_activity_on": "2014-01-01", "contact_status": "lost", "roster_status": "pending_lost"});
        let found = json!({"contact_status": "found", "whereabouts_known": true, "last_activity_on": "2016-03-25", "phone": "13800000000"});

        // Fixed first (the snapshot exists), facts recorded afterwards.
        let mut a = Map::new();
        write(&mut a, &plan, roster.clone());
        a.extend(to_fields(
            &assess(&a, &plan, Kind::AtStart),
            plan.start_date,
        ));
        assert!(!of_fields(&a).unwrap().lost);
        write(&mut a, &fixed(&plan), facts.clone());
        assert_eq!(
            of_fields(&a).map(|s| (s.lost, s.lost_months)),
            Some((true, Some(26)))
        );
        // Facts first, fixed afterwards.
        let mut b = Map::new();
        write(&mut b, &plan, roster);
        write(&mut b, &plan, facts);
        b.extend(to_fields(
            &assess(&b, &plan, Kind::AtStart),
            plan.start_date,
        ));
        assert_eq!(of_fields(&a), of_fields(&b));
        // Found after the start: the start does not change.
        for r in [&mut a, &mut b] {
            write(r, &fixed(&plan), found.clone());
            assert_eq!(
                of_fields(r).map(|s| (s.lost, s.lost_months)),
                Some((true, Some(26)))
            );
            assert_eq!(r["start_last_activity_on"], "2014-01-01");
            assert_eq!(r["start_whereabouts_known"], false);
            assert!(is_found(r));
        }
    }

    #[test]
    fn corrections_of_pre_start_facts_count_and_later_facts_do_not() {
        let plan = fixed(&plan());
        let mut m = Map::new();
        write(
            &mut m,
            &plan,
            json!({"name": "赵四", "whereabouts_known": false, "last_dues_paid_on": "2014-05-01"}),
        );
        // First recorded after the fix: added, judged by the same rule.
        assert_eq!(
            of_fields(&m).map(|s| (s.kind, s.lost)),
            Some((Kind::Added, true))
        );
        // A mistyped year corrected: 2015-12-01 is within six months of the start.
        write(&mut m, &plan, json!({"last_dues_paid_on": "2015-12-01"}));
        assert!(!of_fields(&m).unwrap().lost);
        // A payment after the start is a later fact: the start keeps 2015-12-01.
        write(&mut m, &plan, json!({"last_dues_paid_on": "2016-04-01"}));
        assert_eq!(m["start_last_dues_paid_on"], "2015-12-01");
        // The date cleared (it was after the start): the start's stays.
        write(&mut m, &plan, json!({"last_dues_paid_on": null}));
        assert_eq!(m["start_last_dues_paid_on"], "2015-12-01");
        // Whereabouts recorded known before the member was recorded lost: a correction.
        write(
            &mut m,
            &plan,
            json!({"whereabouts_known": true, "last_dues_paid_on": "2014-05-01"}),
        );
        assert_eq!(m["start_whereabouts_known"], true);
        assert!(!of_fields(&m).unwrap().lost);
        // Recorded lost, with whereabouts not written: unknown at the start.
        write(&mut m, &plan, json!({"contact_status": "lost"}));
        assert_eq!(m["start_whereabouts_known"], false);
        assert!(of_fields(&m).unwrap().lost);
        // Known again while lost is a find, not a correction.
        write(&mut m, &plan, json!({"whereabouts_known": true}));
        assert!(of_fields(&m).unwrap().lost);
        // Once a report is signed, a corrected pre-start date no longer moves the snapshot
        // (the 组织办 corrects it, with a reason), though the start fact is kept.
        let signed = Plan {
            reported_on: NaiveDate::from_ymd_opt(2016, 3, 25),
            ..plan
        };
        write(&mut m, &signed, json!({"last_dues_paid_on": "2016-01-01"}));
        assert_eq!(m["start_last_dues_paid_on"], "2016-01-01");
        assert!(of_fields(&m).unwrap().lost);
    }

    #[test]
    fn the_branch_may_record_a_member_lost_at_the_start_and_the_office_correction_stays() {
        let plan = fixed(&plan());
        let mut m = Map::new();
        write(
            &mut m,
            &plan,
            json!({"name": "钱五", "lost_at_start": true, "last_activity_on": "2015-11-01"}),
        );
        assert_eq!(
            of_fields(&m).map(|s| (s.lost, s.lost_months)),
            Some((true, Some(4)))
        );
        // The 组织办's correction is kept through later writes.
        m.insert("baseline_lost".into(), Value::Bool(false));
        m.insert("baseline_corrected_on".into(), json!("2016-03-21"));
        write(
            &mut m,
            &plan,
            json!({"last_activity_on": "2014-01-01", "whereabouts_known": false}),
        );
        assert!(!of_fields(&m).unwrap().lost);
        assert!(!judge_fields(&m, &plan).lost);
    }

    #[test]
    fn a_member_written_before_start_facts_were_kept_reads_from_its_fields() {
        let plan = plan();
        let legacy = json!({"whereabouts_known": false, "last_activity_on": "2014-01-01", "contact_status": "found", "found_on": "2016-03-09"});
        let f = StartFacts::of_fields(legacy.as_object().unwrap(), plan.start_date);
        assert_eq!(f.whereabouts_known, Some(false));
        let legacy = json!({"whereabouts_known": true, "last_activity_on": "2016-04-01", "contact_status": "found"});
        let f = StartFacts::of_fields(legacy.as_object().unwrap(), plan.start_date);
        assert_eq!(
            (f.whereabouts_known, f.last_activity_on),
            (Some(false), None)
        );
        // Its first write keeps what it read.
        let out = track(
            Some(legacy.as_object().unwrap()),
            &Map::new(),
            plan.start_date,
        );
        assert_eq!(out.get("start_whereabouts_known"), Some(&json!(false)));
    }
}
