//! The campaign's frozen baseline (排查底数, docs/domain.md §8.9): what each member looked like
//! when the campaign began, kept so that the numbers the committee reports upward (lost at the
//! start, mobile at the start, the roster at the start) do not change as members are found.
//!
//! The 组织办 freezes the baseline once (`POST /v1/campaigns/{id}/baseline`): every live member
//! then gets a snapshot of kind `at_start`; a member first recorded afterwards gets one of kind
//! `added`, dated the day it was recorded. A snapshot is the lost-contact rule (§8.1) and the
//! mobile rule (§8.2) applied to the member's fields **against the campaign's start date**, so
//! a member recorded late is judged as of the start too. The server writes the snapshot into the
//! member's `baseline_*` fields, which no role may write; a correction is an explicit act of the
//! 组织办 with a reason (`POST /v1/members/{id}/baseline`), recorded in the change log like every
//! write.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::campaign::Plan;
use crate::lost_contact::{
    ContactFacts, LostContactAssessment, MOBILE_MONTHS, assess_lost_contact_months, assess_mobile,
};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub kind: Kind,
    /// Lost at the start by §8.1.
    pub lost: bool,
    /// Whole months without contact at the start, for a lost member whose last contact is
    /// known.
    pub lost_months: Option<u32>,
    /// Mobile at the start: recorded as mobile (`contact_status: mobile`) or proposed mobile
    /// by §8.2.
    pub mobile: bool,
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<NaiveDate> {
    fields
        .get(name)?
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// The lost-contact rule applied to a member's fields against the campaign's start.
pub fn lost_assessment(fields: &Map<String, Value>, plan: &Plan) -> LostContactAssessment {
    let facts = ContactFacts {
        whereabouts_known: fields.get("whereabouts_known").and_then(Value::as_bool),
        last_activity_on: date(fields, "last_activity_on"),
        last_dues_paid_on: date(fields, "last_dues_paid_on"),
    };
    assess_lost_contact_months(&facts, plan.start_date, plan.lost_threshold_months)
}

/// Months without contact at the start, as the rule counts them (`None`: not lost, or no
/// contact date known). What `contact_cases.lost_months_at_start` is stamped with when the
/// member has no baseline yet.
pub fn lost_months(fields: &Map<String, Value>, plan: &Plan) -> Option<u32> {
    match lost_assessment(fields, plan) {
        LostContactAssessment::Lost {
            months_without_contact,
            ..
        } => months_without_contact,
        LostContactAssessment::NotLost(_) => None,
    }
}

/// The snapshot of a member's fields as they stand, judged against the campaign's start.
pub fn assess(fields: &Map<String, Value>, plan: &Plan, kind: Kind) -> Snapshot {
    let lost = lost_assessment(fields, plan);
    let recorded_mobile = fields.get("contact_status").and_then(Value::as_str) == Some("mobile");
    let proposed_mobile = assess_mobile(
        date(fields, "flow_out_on"),
        fields.get("whereabouts_known").and_then(Value::as_bool),
        plan.start_date,
        MOBILE_MONTHS,
    )
    .is_mobile();
    Snapshot {
        kind,
        lost: lost.is_lost(),
        lost_months: match lost {
            LostContactAssessment::Lost {
                months_without_contact,
                ..
            } => months_without_contact,
            LostContactAssessment::NotLost(_) => None,
        },
        mobile: recorded_mobile || proposed_mobile,
    }
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
        // Mobile: recorded, or proposed by the rule (away six months or more).
        let recorded = json!({"contact_status": "mobile"});
        assert!(assess(recorded.as_object().unwrap(), &plan(), Kind::AtStart).mobile);
        let away = json!({"flow_out_on": "2015-01-01", "whereabouts_known": true});
        assert!(assess(away.as_object().unwrap(), &plan(), Kind::AtStart).mobile);
        assert_eq!(of_fields(&Map::new()), None);
    }

    #[test]
    fn lost_months_come_from_the_rule() {
        let f = json!({"whereabouts_known": false, "last_dues_paid_on": "2012-01-01"});
        assert_eq!(lost_months(f.as_object().unwrap(), &plan()), Some(50));
        let known = json!({"whereabouts_known": true, "last_dues_paid_on": "2012-01-01"});
        assert_eq!(lost_months(known.as_object().unwrap(), &plan()), None);
    }
}
