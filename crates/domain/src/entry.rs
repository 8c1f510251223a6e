//! Dates the branch types, and the day they reached the server (docs/domain.md §8.15).
//!
//! A step's on-time judgement must not rest on a date anyone can type: a form entered today and
//! dated two days ago, before a deadline already passed, would otherwise turn the branch "on
//! time". So for each typed date that a deadline judges, the server stamps the day (China time)
//! the date reached it, and every on-time judgement uses that day. The typed date is kept and
//! shown. A typed date earlier than the day it reached the server counts instead only when the
//! 组织办 accepts it (one act, in the change log); one more than the campaign's
//! `late_entry_days` (default 3) before it is marked 补录 wherever it is shown.

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value};

use crate::campaign::Phase;
use crate::collection::Collection;

/// The campaign's default for how many days a typed date may lie before the day it reached the
/// server before it is marked 补录.
pub const LATE_ENTRY_DAYS: u32 = 3;

/// A typed date a deadline judges, and the fields the server keeps beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed {
    pub collection: Collection,
    /// The date the branch types.
    pub field: &'static str,
    /// The day it reached the server (stamped).
    pub entered: &'static str,
    /// More than `late_entry_days` before `entered`: 补录 (computed).
    pub late: &'static str,
    /// The 组织办 accepted the typed date (written by the 组织办 only).
    pub accepted: &'static str,
    /// The phase whose deadline judges it.
    pub phase: Phase,
}

pub const TYPED: [Typed; 3] = [
    Typed {
        collection: Collection::InfoForms,
        field: "confirmed_on",
        entered: "entered_on",
        late: "late_entry",
        accepted: "late_entry_accepted",
        phase: Phase::Verification,
    },
    Typed {
        collection: Collection::ContactAttempts,
        field: "attempted_on",
        entered: "entered_on",
        late: "late_entry",
        accepted: "late_entry_accepted",
        phase: Phase::Search,
    },
    Typed {
        collection: Collection::Transfers,
        field: "receipt_on",
        entered: "receipt_entered_on",
        late: "receipt_late_entry",
        accepted: "receipt_late_entry_accepted",
        phase: Phase::Verification,
    },
];

/// The typed date of a collection, if it has one.
pub fn typed(collection: Collection) -> Option<&'static Typed> {
    TYPED.iter().find(|t| t.collection == collection)
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<NaiveDate> {
    fields
        .get(name)?
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// The fields the server writes with a write that sets the typed date (`changed`): the day it
/// reached the server, whether it is 补录, and a former acceptance withdrawn (it was of another
/// date). Nothing when the write does not set the typed date.
pub fn stamp(
    t: &Typed,
    existing: Option<&Map<String, Value>>,
    changed: &Map<String, Value>,
    today: NaiveDate,
    late_entry_days: u32,
) -> Map<String, Value> {
    let mut out = Map::new();
    if !changed.contains_key(t.field) {
        return out;
    }
    let typed = date(changed, t.field);
    out.insert(
        t.entered.to_owned(),
        typed.map_or(Value::Null, |_| Value::String(today.to_string())),
    );
    let late = typed.is_some_and(|d| {
        d.checked_add_days(Days::new(u64::from(late_entry_days)))
            .is_some_and(|limit| limit < today)
    });
    out.insert(
        t.late.to_owned(),
        if late { Value::Bool(true) } else { Value::Null },
    );
    if existing.is_some_and(|e| e.contains_key(t.accepted)) {
        out.insert(t.accepted.to_owned(), Value::Null);
    }
    out
}

/// One record's typed date as the server keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    #[serde(with = "crate::facts::checkpoint::day")]
    pub typed: Option<NaiveDate>,
    /// The day it reached the server (`None`: recorded before paicha kept it).
    #[serde(with = "crate::facts::checkpoint::day")]
    pub entered: Option<NaiveDate>,
    /// 补录: more than the campaign's days before `entered`.
    pub late: bool,
    pub accepted: bool,
}

impl Entry {
    pub fn of(t: &Typed, fields: &Map<String, Value>) -> Entry {
        Entry {
            typed: date(fields, t.field),
            entered: date(fields, t.entered),
            late: fields.get(t.late).and_then(Value::as_bool) == Some(true),
            accepted: fields.get(t.accepted).and_then(Value::as_bool) == Some(true),
        }
    }

    /// The day the on-time judgement uses: the day the date reached the server, or the typed
    /// date once the 组织办 accepted it (or when the server has no day of its own for it).
    pub fn judged(&self) -> Option<NaiveDate> {
        if self.accepted {
            return self.typed;
        }
        match (self.typed, self.entered) {
            (Some(_), Some(entered)) => Some(entered),
            (typed, _) => typed,
        }
    }

    /// Typed earlier than it reached the server, and not accepted: the typed date would count
    /// only if the 组织办 accepts it.
    pub fn backdated(&self) -> bool {
        !self.accepted && matches!((self.typed, self.entered), (Some(t), Some(e)) if t < e)
    }

    /// Waiting for the 组织办: 补录, or typed on or before `deadline` but reaching the server
    /// after it (the typed date would turn a late step on time).
    pub fn awaits_acceptance(&self, deadline: NaiveDate) -> bool {
        self.backdated()
            && (self.late
                || matches!((self.typed, self.entered), (Some(t), Some(e)) if t <= deadline && e > deadline))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_server_day_judges_until_the_office_accepts_the_typed_one() {
        let form = &TYPED[0];
        let today = d("2016-03-17");
        let changed = json!({"confirmed_on": "2016-03-15"})
            .as_object()
            .unwrap()
            .clone();
        let out = stamp(form, None, &changed, today, LATE_ENTRY_DAYS);
        assert_eq!(out["entered_on"], "2016-03-17");
        assert_eq!(out["late_entry"], Value::Null);
        let mut fields = changed.clone();
        fields.extend(out);
        fields.retain(|_, v| !v.is_null());
        let e = Entry::of(form, &fields);
        // Judged by the day it reached the server: after the 15 March deadline.
        assert_eq!(e.judged(), Some(d("2016-03-17")));
        assert!(e.awaits_acceptance(d("2016-03-15")));
        // Not waiting when the typed date changes nothing (both after the deadline).
        assert!(!e.awaits_acceptance(d("2016-03-10")));
        // Accepted: the typed date counts.
        fields.insert("late_entry_accepted".into(), Value::Bool(true));
        let e = Entry::of(form, &fields);
        assert_eq!(e.judged(), Some(d("2016-03-15")));
        assert!(!e.awaits_acceptance(d("2016-03-15")));
        // Typed again: the acceptance was of the other date and is withdrawn.
        let again = json!({"confirmed_on": "2016-03-01"})
            .as_object()
            .unwrap()
            .clone();
        let out = stamp(form, Some(&fields), &again, today, LATE_ENTRY_DAYS);
        assert_eq!(out["late_entry_accepted"], Value::Null);
        assert_eq!(out["late_entry"], true);
    }

    #[test]
    fn more_than_the_campaigns_days_is_late_entry_and_old_records_keep_their_typed_date() {
        let attempt = &TYPED[1];
        let within = json!({"attempted_on": "2016-03-14"})
            .as_object()
            .unwrap()
            .clone();
        let out = stamp(attempt, None, &within, d("2016-03-17"), 3);
        assert_eq!(out["late_entry"], Value::Null);
        let beyond = json!({"attempted_on": "2016-03-13"})
            .as_object()
            .unwrap()
            .clone();
        let out = stamp(attempt, None, &beyond, d("2016-03-17"), 3);
        assert_eq!(out["late_entry"], true);
        // A write that does not set the date stamps nothing.
        let other = json!({"method": "direct"}).as_object().unwrap().clone();
        assert!(stamp(attempt, None, &other, d("2016-03-17"), 3).is_empty());
        // Recorded before the server kept its day: the typed date.
        let old = Entry::of(attempt, &within);
        assert_eq!(old.judged(), Some(d("2016-03-14")));
        assert!(!old.backdated());
    }
}
