//! The campaign's plan (docs/domain.md §3): its start date, the windows and deadlines of its phases,
//! and whether each phase is on time, late or missing.
//!
//! The procedure fixes only the first two tasks' dates (7–15 March with both ledgers due by
//! 11 March, then 16–31 March); tasks 3–5 are reconstructed and "the software should make
//! phases and deadlines configurable data, not constants" (§3.1). So every date of a
//! [`Plan`] can be set on the campaign record, and one that is not set defaults to the §3.2
//! timeline, counted in days from the start date. For a campaign starting on 7 March that is
//! exactly §3.2: ledgers by 11 March, verification to 15 March, search 16–31 March,
//! relationships 1–30 April, dispositions 1 April–31 May, finalization by 30 June.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::lost_contact::LOST_CONTACT_MONTHS;

/// Years a suspended member may apply to be restored before removal is proposed (§8.4).
pub const SUSPENSION_WINDOW_YEARS: u32 = 2;

/// The five tasks of §3.1 and the ledger submission of §3.2, in the order of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// 核查党员信息: every member on the roster verified (§4.1), by branch.
    Verification,
    /// Ledgers A and B submitted to the 组织办, per work area (§3.2, "≤ 11 Mar").
    LedgerSubmission,
    /// 联系查找党员: every lost member's case has at least one attempt (§10.1).
    Search,
    /// 理顺组织关系: every transfer's receipt back, re-issued, or the member registered lost.
    Relationships,
    /// 稳妥处置: every disposition effective or rejected.
    Dispositions,
    /// 完善信息: the records finalized; only its deadline is known (see [`Plan`]).
    Finalization,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Verification,
        Phase::LedgerSubmission,
        Phase::Search,
        Phase::Relationships,
        Phase::Dispositions,
        Phase::Finalization,
    ];

    /// The wire word (`verification`, `ledger_submission`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Verification => "verification",
            Phase::LedgerSubmission => "ledger_submission",
            Phase::Search => "search",
            Phase::Relationships => "relationships",
            Phase::Dispositions => "dispositions",
            Phase::Finalization => "finalization",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Phase::Verification => "核查党员信息",
            Phase::LedgerSubmission => "台帐报送",
            Phase::Search => "联系查找党员",
            Phase::Relationships => "理顺组织关系",
            Phase::Dispositions => "稳妥处置失联党员",
            Phase::Finalization => "完善信息",
        }
    }
}

/// Where a phase stands for a unit on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    /// Nothing of this phase falls to the unit (no members, no cases, …).
    NotApplicable,
    /// Not finished, and the deadline has not passed.
    Open,
    /// Finished, every item by the deadline.
    OnTime,
    /// Finished, but some item after the deadline.
    Late,
    /// The deadline has passed and some item is not done.
    Missing,
}

impl PhaseState {
    pub const ALL: [PhaseState; 5] = [
        PhaseState::NotApplicable,
        PhaseState::Open,
        PhaseState::OnTime,
        PhaseState::Late,
        PhaseState::Missing,
    ];

    /// The wire word (`not_applicable`, `open`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseState::NotApplicable => "not_applicable",
            PhaseState::Open => "open",
            PhaseState::OnTime => "on_time",
            PhaseState::Late => "late",
            PhaseState::Missing => "missing",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PhaseState::NotApplicable => "不涉及",
            PhaseState::Open => "进行中",
            PhaseState::OnTime => "按期完成",
            PhaseState::Late => "逾期完成",
            PhaseState::Missing => "逾期未完成",
        }
    }
}

/// The items of a phase in a unit's subtree: how many there are and how they were done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    pub items: u64,
    /// Done by the deadline (or done, with no date to compare).
    pub on_time: u64,
    /// Done after the deadline.
    pub late: u64,
}

impl Tally {
    /// Adds one item: done on `done_on` (`Some(None)`: done, date unknown), or not done.
    pub fn add(&mut self, done: Option<Option<NaiveDate>>, deadline: NaiveDate) {
        self.items += 1;
        match done {
            Some(Some(day)) if day > deadline => self.late += 1,
            Some(_) => self.on_time += 1,
            None => {}
        }
    }

    pub fn not_done(&self) -> u64 {
        self.items.saturating_sub(self.on_time + self.late)
    }

    pub fn merge(&mut self, other: &Tally) {
        self.items += other.items;
        self.on_time += other.on_time;
        self.late += other.late;
    }

    /// The state on `as_of` against `deadline`. A phase with nothing left to do is on time
    /// or late as soon as it is done, before its deadline too.
    pub fn state(&self, deadline: NaiveDate, as_of: NaiveDate) -> PhaseState {
        if self.items == 0 {
            PhaseState::NotApplicable
        } else if self.not_done() > 0 {
            if as_of > deadline {
                PhaseState::Missing
            } else {
                PhaseState::Open
            }
        } else if self.late > 0 {
            PhaseState::Late
        } else {
            PhaseState::OnTime
        }
    }
}

/// A campaign's dates, each from the campaign record or the §3.2 default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// The reference date of the lost-contact rule (§8.1).
    pub start_date: NaiveDate,
    pub ledger_deadline: NaiveDate,
    pub verification_ends_on: NaiveDate,
    pub search_starts_on: NaiveDate,
    pub search_ends_on: NaiveDate,
    pub relationships_starts_on: NaiveDate,
    pub relationships_ends_on: NaiveDate,
    pub dispositions_starts_on: NaiveDate,
    pub dispositions_ends_on: NaiveDate,
    pub finalization_ends_on: NaiveDate,
    /// Months without contact that make a member of unknown whereabouts lost (§8.1: 6).
    pub lost_threshold_months: u32,
    /// Years of the suspension window (§8.4: 2).
    pub suspension_window_years: u32,
    /// The day the 组织办 froze the campaign's baseline (crate::baseline), if it has: from
    /// then on the counts "at the start" come from the members' snapshots.
    #[serde(default)]
    pub baseline_on: Option<NaiveDate>,
    /// The day the 组织办 signed the campaign's first report (报表, docs/domain.md §8.14): from
    /// then on a member's snapshot changes only by the 组织办's correction.
    #[serde(default)]
    pub reported_on: Option<NaiveDate>,
    /// Days a typed date may lie before the day it reached the server before it is marked 补录
    /// (crate::entry: 3).
    #[serde(default = "default_late_entry_days")]
    pub late_entry_days: u32,
}

fn default_late_entry_days() -> u32 {
    crate::entry::LATE_ENTRY_DAYS
}

/// Days from the start date to each default date of §3.2 (for a 7 March start).
const DEFAULT_OFFSETS: [(&str, u64); 9] = [
    ("ledger_deadline", 4),          // 11 March
    ("verification_ends_on", 8),     // 15 March
    ("search_starts_on", 9),         // 16 March
    ("search_ends_on", 24),          // 31 March
    ("relationships_starts_on", 25), // 1 April
    ("relationships_ends_on", 54),   // 30 April
    ("dispositions_starts_on", 25),  // 1 April
    ("dispositions_ends_on", 85),    // 31 May
    ("finalization_ends_on", 115),   // 30 June
];

impl Plan {
    /// The plan of a campaign record's fields. `None` without a valid start date.
    pub fn from_fields(fields: &Map<String, Value>) -> Option<Plan> {
        let date = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        let start = date("start_date")?;
        let pick = |name: &str| {
            date(name).unwrap_or_else(|| {
                let days = DEFAULT_OFFSETS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(0, |(_, d)| *d);
                start.checked_add_days(Days::new(days)).unwrap_or(start)
            })
        };
        let number = |name: &str, default: u32| {
            fields
                .get(name)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Some(Plan {
            start_date: start,
            ledger_deadline: pick("ledger_deadline"),
            verification_ends_on: pick("verification_ends_on"),
            search_starts_on: pick("search_starts_on"),
            search_ends_on: pick("search_ends_on"),
            relationships_starts_on: pick("relationships_starts_on"),
            relationships_ends_on: pick("relationships_ends_on"),
            dispositions_starts_on: pick("dispositions_starts_on"),
            dispositions_ends_on: pick("dispositions_ends_on"),
            finalization_ends_on: pick("finalization_ends_on"),
            lost_threshold_months: number("lost_threshold_months", LOST_CONTACT_MONTHS),
            suspension_window_years: number("suspension_window_years", SUSPENSION_WINDOW_YEARS),
            baseline_on: date("baseline_on"),
            reported_on: date("reported_on"),
            late_entry_days: fields
                .get("late_entry_days")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(crate::entry::LATE_ENTRY_DAYS),
        })
    }

    /// The first day and the deadline of a phase.
    pub fn window(&self, phase: Phase) -> (NaiveDate, NaiveDate) {
        match phase {
            Phase::Verification => (self.start_date, self.verification_ends_on),
            Phase::LedgerSubmission => (self.start_date, self.ledger_deadline),
            Phase::Search => (self.search_starts_on, self.search_ends_on),
            Phase::Relationships => (self.relationships_starts_on, self.relationships_ends_on),
            Phase::Dispositions => (self.dispositions_starts_on, self.dispositions_ends_on),
            Phase::Finalization => (self.start_date, self.finalization_ends_on),
        }
    }

    /// The tenant's campaign among its campaign records, `(id, fields)`: the one that starts
    /// last, and among equals the greatest id, so every reader picks the same one.
    pub fn latest<'a>(
        campaigns: impl Iterator<Item = (uuid::Uuid, &'a Map<String, Value>)>,
    ) -> Option<(uuid::Uuid, Plan)> {
        campaigns
            .filter_map(|(id, fields)| Plan::from_fields(fields).map(|p| (id, p)))
            .max_by_key(|(id, p)| (p.start_date, *id))
    }

    /// The day a suspension that took effect on `effective_on` ends under `plan` (§8.4; the
    /// procedure's 2 years without a campaign): before it, a written application can restore
    /// the member; after it, removal may be proposed.
    pub fn suspension_ends_on(plan: Option<&Plan>, effective_on: NaiveDate) -> NaiveDate {
        let years = plan.map_or(SUSPENSION_WINDOW_YEARS, |p| p.suspension_window_years);
        suspension_ends_on(effective_on, years)
    }
}

/// `effective_on` plus `years` calendar years, clamped to the end of the month (a suspension
/// from 29 February 2024 ends on 28 February 2026).
pub fn suspension_ends_on(effective_on: NaiveDate, years: u32) -> NaiveDate {
    effective_on
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

/// Where a suspended member stands on `as_of` (§6.3, §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SuspensionClock {
    /// Within the window: the member may still apply to be restored.
    Running { ends_on: NaiveDate, days_left: i64 },
    /// Within `REMINDER_DAYS` of the end: the branch should prepare the next step.
    EndingSoon { ends_on: NaiveDate, days_left: i64 },
    /// The window has ended: if the member is still unreachable, removal as self-departed
    /// (按自行脱党除名) may be proposed. A person decides.
    Ended { ends_on: NaiveDate },
}

/// How long before the end of a suspension window the reminder starts.
pub const REMINDER_DAYS: i64 = 90;

pub fn suspension_clock(ends_on: NaiveDate, as_of: NaiveDate) -> SuspensionClock {
    let days_left = (ends_on - as_of).num_days();
    if days_left < 0 {
        SuspensionClock::Ended { ends_on }
    } else if days_left <= REMINDER_DAYS {
        SuspensionClock::EndingSoon { ends_on, days_left }
    } else {
        SuspensionClock::Running { ends_on, days_left }
    }
}

impl SuspensionClock {
    pub fn reminder_zh(&self) -> String {
        use crate::calendar::format_date_zh;
        match self {
            SuspensionClock::Running { ends_on, days_left } => format!(
                "停止党籍期间，{}前本人可书面申请恢复党籍（剩余{days_left}天）",
                format_date_zh(*ends_on)
            ),
            SuspensionClock::EndingSoon { ends_on, days_left } => format!(
                "停止党籍期限将于{}届满（剩余{days_left}天），请核实本人是否已与党组织联系",
                format_date_zh(*ends_on)
            ),
            SuspensionClock::Ended { ends_on } => format!(
                "停止党籍期限已于{}届满，仍无法取得联系的，可按自行脱党提出除名意见，由支部大会讨论、党工委审批",
                format_date_zh(*ends_on)
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_plan_is_the_timeline_of_the_procedure() {
        let plan = Plan::from_fields(&fields(json!({"start_date": "2016-03-07"}))).unwrap();
        assert_eq!(plan.ledger_deadline, d("2016-03-11"));
        assert_eq!(plan.verification_ends_on, d("2016-03-15"));
        assert_eq!(
            plan.window(Phase::Search),
            (d("2016-03-16"), d("2016-03-31"))
        );
        assert_eq!(
            plan.window(Phase::Relationships),
            (d("2016-04-01"), d("2016-04-30"))
        );
        assert_eq!(
            plan.window(Phase::Dispositions),
            (d("2016-04-01"), d("2016-05-31"))
        );
        assert_eq!(plan.finalization_ends_on, d("2016-06-30"));
        assert_eq!(plan.lost_threshold_months, 6);
        assert_eq!(plan.suspension_window_years, 2);
    }

    #[test]
    fn configured_dates_win_and_a_campaign_needs_a_start() {
        let plan = Plan::from_fields(&fields(json!({
            "start_date": "2026-03-07",
            "ledger_deadline": "2026-03-13",
            "suspension_window_years": 3,
            "search_ends_on": "not a date",
        })))
        .unwrap();
        assert_eq!(plan.ledger_deadline, d("2026-03-13"));
        assert_eq!(plan.search_ends_on, d("2026-03-31"));
        assert_eq!(plan.suspension_window_years, 3);
        assert!(Plan::from_fields(&Map::new()).is_none());
    }

    #[test]
    fn phase_states() {
        let deadline = d("2016-03-11");
        let before = d("2016-03-10");
        let after = d("2016-03-12");
        let tally = |done: &[Option<Option<&str>>]| {
            let mut t = Tally::default();
            for item in done {
                t.add(item.map(|day| day.map(d)), deadline);
            }
            t
        };
        let table: &[(&[Option<Option<&str>>], NaiveDate, PhaseState)] = &[
            (&[], after, PhaseState::NotApplicable),
            (&[None], before, PhaseState::Open),
            (&[None], deadline, PhaseState::Open),
            (&[None], after, PhaseState::Missing),
            (&[Some(Some("2016-03-11"))], after, PhaseState::OnTime),
            (&[Some(Some("2016-03-11"))], before, PhaseState::OnTime),
            (&[Some(None)], after, PhaseState::OnTime),
            (
                &[Some(Some("2016-03-11")), Some(Some("2016-03-12"))],
                after,
                PhaseState::Late,
            ),
            (
                &[Some(Some("2016-03-12")), None],
                after,
                PhaseState::Missing,
            ),
        ];
        for (items, as_of, state) in table {
            assert_eq!(tally(items).state(deadline, *as_of), *state, "{items:?}");
        }
    }

    #[test]
    fn the_suspension_clock() {
        assert_eq!(suspension_ends_on(d("2024-02-29"), 2), d("2026-02-28"));
        assert_eq!(suspension_ends_on(d("2016-05-20"), 2), d("2018-05-20"));
        let ends = d("2018-05-20");
        assert_eq!(
            suspension_clock(ends, d("2018-01-01")),
            SuspensionClock::Running {
                ends_on: ends,
                days_left: 139
            }
        );
        assert_eq!(
            suspension_clock(ends, d("2018-05-20")),
            SuspensionClock::EndingSoon {
                ends_on: ends,
                days_left: 0
            }
        );
        assert_eq!(
            suspension_clock(ends, d("2018-05-21")),
            SuspensionClock::Ended { ends_on: ends }
        );
        assert!(
            suspension_clock(ends, d("2018-05-21"))
                .reminder_zh()
                .contains("自行脱党")
        );
    }
}
