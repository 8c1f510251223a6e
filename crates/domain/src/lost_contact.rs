//! The lost-contact rule (失联党员认定), docs/domain.md §4.3 and §8.1.
//!
//! Seed: "'失联党员'是指流出后不知去向，连续六个月以上与党组织失去联系的党员。" and
//! "确定失联党员，关键看是不是流出后不知去向，是不是达到连续6个月以上不与组织关系所在党组织
//! 联系，时间计算截止到排查工作开始的时间，也就是以排查开始时间为准往前倒推6个月，看看有哪些
//! 党员没有与党组织联系。"
//!
//! The software only proposes: the assessment is shown to the branch, people decide
//! (docs/domain.md §7: "paicha never decides a disposition").

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{format_date_zh, full_months_between, months_before};

/// "连续六个月以上与党组织失去联系": the number of months without contact that makes a member
/// with unknown whereabouts lost. "以上" includes the number (docs/domain.md §8.1).
pub const LOST_CONTACT_MONTHS: u32 = 6;

/// The latest last-contact date that still counts as lost for a campaign starting on
/// `campaign_start`: "以排查开始时间为准往前倒推6个月".
///
/// It is `campaign_start` minus 6 calendar months, clamped to the end of the month:
/// 2016-03-07 → 2015-09-07, 2016-08-31 → 2016-02-29, 2017-08-31 → 2017-02-28.
/// A last contact **on or before** the cutoff satisfies the time condition.
pub fn lost_contact_cutoff(campaign_start: NaiveDate) -> NaiveDate {
    months_before(campaign_start, LOST_CONTACT_MONTHS)
}

/// What the branch knows about a member's contact with the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactFacts {
    /// Whether the member's whereabouts are known ("流出后不知去向" means `Some(false)`).
    /// `None`: not yet established by the branch.
    pub whereabouts_known: Option<bool>,
    /// Last participation in organizational life (参加党支部活动).
    pub last_activity_on: Option<NaiveDate>,
    /// Last dues payment (交纳党费).
    pub last_dues_paid_on: Option<NaiveDate>,
}

/// The last contact with the organization: the later of the last organizational-life date
/// and the last dues payment (docs/domain.md §5.2, after [S3]); `None` if neither is known.
pub fn last_contact_on(facts: &ContactFacts) -> Option<NaiveDate> {
    facts.last_activity_on.max(facts.last_dues_paid_on)
}

/// The outcome of [`assess_lost_contact`]: a proposal, not a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostContactAssessment {
    /// Whereabouts unknown and no contact for 6 months or more (or no contact date at all).
    Lost {
        /// The last contact date, if any is recorded.
        last_contact_on: Option<NaiveDate>,
        /// Whole months from the last contact to the campaign start (at least 6), if known.
        months_without_contact: Option<u32>,
        /// True when no contact date is known: lost by default, a person must review it.
        needs_manual_review: bool,
    },
    /// Not lost, with the reason.
    NotLost(NotLostReason),
}

/// Why a member is not assessed as lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotLostReason {
    /// The whereabouts are known: never lost, however old the last contact.
    WhereaboutsKnown,
    /// The branch has not yet established whether the whereabouts are known.
    WhereaboutsNotRecorded,
    /// Whereabouts unknown, but the last contact is after the cutoff (less than 6 months).
    RecentContact {
        /// The last contact date.
        last_contact_on: NaiveDate,
    },
}

/// Assesses whether a member is lost (失联) at the start of the campaign.
///
/// Seed: "确定失联党员，关键看是不是流出后不知去向，是不是达到连续6个月以上不与组织关系所在党组织
/// 联系，……以排查开始时间为准往前倒推6个月". Both conditions are required:
/// - whereabouts unknown (`whereabouts_known == Some(false)`), and
/// - last contact ([`last_contact_on`]) on or before [`lost_contact_cutoff`] (inclusive:
///   "六个月以上" includes six). If neither date is known, the member is lost with
///   `needs_manual_review = true` (docs/domain.md §8.1).
///
/// Whereabouts known (`Some(true)`) is never lost. Whereabouts not recorded (`None`) gives
/// [`NotLostReason::WhereaboutsNotRecorded`]: the rule requires "不知去向" to be established
/// by the branch, and the software does not presume it; it proposes, people decide.
pub fn assess_lost_contact(
    facts: &ContactFacts,
    campaign_start: NaiveDate,
) -> LostContactAssessment {
    assess_lost_contact_months(facts, campaign_start, LOST_CONTACT_MONTHS)
}

/// [`assess_lost_contact`] with the campaign's configured number of months instead of the
/// procedure's 6.
pub fn assess_lost_contact_months(
    facts: &ContactFacts,
    campaign_start: NaiveDate,
    months: u32,
) -> LostContactAssessment {
    match facts.whereabouts_known {
        Some(true) => return LostContactAssessment::NotLost(NotLostReason::WhereaboutsKnown),
        None => return LostContactAssessment::NotLost(NotLostReason::WhereaboutsNotRecorded),
        Some(false) => {}
    }
    match last_contact_on(facts) {
        None => LostContactAssessment::Lost {
            last_contact_on: None,
            months_without_contact: None,
            needs_manual_review: true,
        },
        Some(last) if last <= months_before(campaign_start, months) => {
            LostContactAssessment::Lost {
                last_contact_on: Some(last),
                months_without_contact: Some(full_months_between(last, campaign_start)),
                needs_manual_review: false,
            }
        }
        Some(last) => LostContactAssessment::NotLost(NotLostReason::RecentContact {
            last_contact_on: last,
        }),
    }
}

impl LostContactAssessment {
    /// Whether the assessment proposes the member as lost.
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Lost { .. })
    }

    /// The reason in words, for the branch (Chinese). `campaign_start` is the reference date
    /// the assessment was made for.
    pub fn reason_zh(&self, campaign_start: NaiveDate) -> String {
        self.reason_zh_months(campaign_start, LOST_CONTACT_MONTHS)
    }

    /// [`Self::reason_zh`] for a campaign whose threshold is `threshold` months.
    pub fn reason_zh_months(&self, campaign_start: NaiveDate, threshold: u32) -> String {
        let start = format_date_zh(campaign_start);
        match self {
            Self::Lost {
                last_contact_on: Some(last),
                months_without_contact,
                ..
            } => {
                let months = months_without_contact
                    .unwrap_or_else(|| full_months_between(*last, campaign_start));
                format!(
                    "去向不明，最后一次参加组织生活或交纳党费为{}，截至排查开始日{start}已连续{months}个月未与党组织联系（满{threshold}个月即为失联），建议认定为失联党员",
                    format_date_zh(*last)
                )
            }
            Self::Lost {
                last_contact_on: None,
                ..
            } => "去向不明，且没有参加组织生活或交纳党费的记录，无法计算失联时间，建议按失联党员登记，需人工核实".to_owned(),
            Self::NotLost(NotLostReason::WhereaboutsKnown) => "去向明确，不属于失联党员".to_owned(),
            Self::NotLost(NotLostReason::WhereaboutsNotRecorded) => {
                "尚未核实是否去向不明，暂不能认定为失联党员，请先核实去向".to_owned()
            }
            Self::NotLost(NotLostReason::RecentContact { last_contact_on }) => format!(
                "最后一次参加组织生活或交纳党费为{}，截至排查开始日{start}未满{threshold}个月，不属于失联党员",
                format_date_zh(*last_contact_on)
            ),
        }
    }
}

/// "长期不能正常参加组织生活": the months away that make a member mobile (docs/domain.md §8.2 uses
/// 6 consecutive months as the quantitative test). A rule of its own, not the lost-contact
/// threshold.
pub const MOBILE_MONTHS: u32 = 6;

/// Whether a member looks mobile (流动党员, docs/domain.md §8.2): away because of a change of job
/// or residence and unable to attend normally for a long time, with 6 consecutive months as
/// the measure. The member flowed out (`flow_out_on`) on or before `on − months`, and the
/// branch knows where they are: a member whose whereabouts are unknown falls under the
/// lost-contact rule instead. A proposal, shown beside the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "proposal")]
pub enum MobileAssessment {
    Mobile {
        flow_out_on: NaiveDate,
        months_away: u32,
    },
    NotMobile,
}

pub fn assess_mobile(
    flow_out_on: Option<NaiveDate>,
    whereabouts_known: Option<bool>,
    on: NaiveDate,
    months: u32,
) -> MobileAssessment {
    match (flow_out_on, whereabouts_known) {
        (Some(out), Some(true)) if out <= months_before(on, months) => MobileAssessment::Mobile {
            flow_out_on: out,
            months_away: full_months_between(out, on),
        },
        _ => MobileAssessment::NotMobile,
    }
}

impl MobileAssessment {
    pub fn is_mobile(&self) -> bool {
        matches!(self, Self::Mobile { .. })
    }

    pub fn reason_zh(&self) -> Option<String> {
        match self {
            Self::Mobile {
                flow_out_on,
                months_away,
            } => Some(format!(
                "{}流出，去向明确，已连续{months_away}个月不能正常参加组织生活，建议按流动党员管理",
                format_date_zh(*flow_out_on)
            )),
            Self::NotMobile => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn unknown(activity: Option<NaiveDate>, dues: Option<NaiveDate>) -> ContactFacts {
        ContactFacts {
            whereabouts_known: Some(false),
            last_activity_on: activity,
            last_dues_paid_on: dues,
        }
    }

    fn lost(last: NaiveDate, months: u32) -> LostContactAssessment {
        LostContactAssessment::Lost {
            last_contact_on: Some(last),
            months_without_contact: Some(months),
            needs_manual_review: false,
        }
    }

    fn recent(last: NaiveDate) -> LostContactAssessment {
        LostContactAssessment::NotLost(NotLostReason::RecentContact {
            last_contact_on: last,
        })
    }

    #[test]
    fn cutoffs() {
        let table: &[(NaiveDate, NaiveDate)] = &[
            (d(2016, 3, 7), d(2015, 9, 7)),
            (d(2016, 8, 31), d(2016, 2, 29)),
            (d(2017, 8, 31), d(2017, 2, 28)),
            (d(2016, 12, 31), d(2016, 6, 30)),
            (NaiveDate::MIN, NaiveDate::MIN),
        ];
        for (start, cutoff) in table {
            assert_eq!(lost_contact_cutoff(*start), *cutoff, "start {start}");
        }
    }

    #[test]
    fn last_contact_is_the_later_date() {
        // (last activity, last dues payment) → last contact.
        type Dates = (Option<NaiveDate>, Option<NaiveDate>);
        let table: &[(Dates, Option<NaiveDate>)] = &[
            ((None, None), None),
            ((Some(d(2015, 1, 1)), None), Some(d(2015, 1, 1))),
            ((None, Some(d(2015, 2, 1))), Some(d(2015, 2, 1))),
            (
                (Some(d(2015, 1, 1)), Some(d(2015, 10, 1))),
                Some(d(2015, 10, 1)),
            ),
            (
                (Some(d(2015, 10, 1)), Some(d(2015, 1, 1))),
                Some(d(2015, 10, 1)),
            ),
        ];
        for ((activity, dues), expected) in table {
            assert_eq!(last_contact_on(&unknown(*activity, *dues)), *expected);
        }
    }

    #[test]
    fn assessments() {
        let s2016 = d(2016, 3, 7);
        let table: &[((ContactFacts, NaiveDate), LostContactAssessment)] = &[
            // Cutoff 2015-09-07, inclusive.
            (
                (unknown(Some(d(2015, 9, 7)), None), s2016),
                lost(d(2015, 9, 7), 6),
            ),
            (
                (unknown(None, Some(d(2015, 9, 7))), s2016),
                lost(d(2015, 9, 7), 6),
            ),
            (
                (unknown(Some(d(2015, 9, 8)), None), s2016),
                recent(d(2015, 9, 8)),
            ),
            (
                (unknown(Some(d(2015, 9, 6)), None), s2016),
                lost(d(2015, 9, 6), 6),
            ),
            (
                (unknown(Some(d(2014, 3, 7)), None), s2016),
                lost(d(2014, 3, 7), 24),
            ),
            // Contact after the start (data entered later) is recent.
            (
                (unknown(Some(d(2016, 3, 10)), None), s2016),
                recent(d(2016, 3, 10)),
            ),
            // End-of-month clamping: 2016-08-31 → 2016-02-29.
            (
                (unknown(Some(d(2016, 2, 29)), None), d(2016, 8, 31)),
                lost(d(2016, 2, 29), 6),
            ),
            (
                (unknown(Some(d(2016, 3, 1)), None), d(2016, 8, 31)),
                recent(d(2016, 3, 1)),
            ),
            // 2017-08-31 → 2017-02-28.
            (
                (unknown(Some(d(2017, 2, 28)), None), d(2017, 8, 31)),
                lost(d(2017, 2, 28), 6),
            ),
            (
                (unknown(Some(d(2017, 3, 1)), None), d(2017, 8, 31)),
                recent(d(2017, 3, 1)),
            ),
            // The later of the two dates is used: old activity, recent dues → not lost.
            (
                (unknown(Some(d(2014, 1, 1)), Some(d(2015, 12, 1))), s2016),
                recent(d(2015, 12, 1)),
            ),
            (
                (unknown(Some(d(2015, 12, 1)), Some(d(2014, 1, 1))), s2016),
                recent(d(2015, 12, 1)),
            ),
            (
                (unknown(Some(d(2015, 9, 7)), Some(d(2015, 9, 8))), s2016),
                recent(d(2015, 9, 8)),
            ),
            (
                (unknown(Some(d(2014, 1, 1)), Some(d(2015, 9, 7))), s2016),
                lost(d(2015, 9, 7), 6),
            ),
            // No dates, whereabouts unknown → lost, manual review.
            (
                (unknown(None, None), s2016),
                LostContactAssessment::Lost {
                    last_contact_on: None,
                    months_without_contact: None,
                    needs_manual_review: true,
                },
            ),
            // Whereabouts known → never lost, even with very old or no contact.
            (
                (
                    ContactFacts {
                        whereabouts_known: Some(true),
                        last_activity_on: Some(d(1990, 1, 1)),
                        last_dues_paid_on: Some(d(1990, 1, 1)),
                    },
                    s2016,
                ),
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsKnown),
            ),
            (
                (
                    ContactFacts {
                        whereabouts_known: Some(true),
                        ..ContactFacts::default()
                    },
                    s2016,
                ),
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsKnown),
            ),
            // Whereabouts not recorded → not lost until the branch establishes it.
            (
                (
                    ContactFacts {
                        whereabouts_known: None,
                        last_activity_on: Some(d(1990, 1, 1)),
                        last_dues_paid_on: None,
                    },
                    s2016,
                ),
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsNotRecorded),
            ),
            (
                (ContactFacts::default(), s2016),
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsNotRecorded),
            ),
        ];
        for ((facts, start), expected) in table {
            let assessment = assess_lost_contact(facts, *start);
            assert_eq!(assessment, *expected, "{facts:?} at {start}");
            assert_eq!(
                assessment.is_lost(),
                matches!(expected, LostContactAssessment::Lost { .. })
            );
        }
    }

    #[test]
    fn lost_months_are_at_least_the_threshold() {
        let start = d(2016, 3, 7);
        let mut last = d(2013, 1, 1);
        while last <= start {
            if let LostContactAssessment::Lost {
                months_without_contact: Some(months),
                ..
            } = assess_lost_contact(&unknown(Some(last), None), start)
            {
                assert!(months >= LOST_CONTACT_MONTHS, "{last}: {months}");
            }
            last = last.succ_opt().unwrap();
        }
    }

    #[test]
    fn reasons_in_chinese() {
        let start = d(2016, 3, 7);
        let table: &[(LostContactAssessment, &str)] = &[
            (
                lost(d(2015, 9, 7), 6),
                "去向不明，最后一次参加组织生活或交纳党费为2015年9月7日，截至排查开始日2016年3月7日已连续6个月未与党组织联系（满6个月即为失联），建议认定为失联党员",
            ),
            (
                LostContactAssessment::Lost {
                    last_contact_on: None,
                    months_without_contact: None,
                    needs_manual_review: true,
                },
                "去向不明，且没有参加组织生活或交纳党费的记录，无法计算失联时间，建议按失联党员登记，需人工核实",
            ),
            (
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsKnown),
                "去向明确，不属于失联党员",
            ),
            (
                LostContactAssessment::NotLost(NotLostReason::WhereaboutsNotRecorded),
                "尚未核实是否去向不明，暂不能认定为失联党员，请先核实去向",
            ),
            (
                recent(d(2015, 9, 8)),
                "最后一次参加组织生活或交纳党费为2015年9月8日，截至排查开始日2016年3月7日未满6个月，不属于失联党员",
            ),
        ];
        for (assessment, expected) in table {
            assert_eq!(assessment.reason_zh(start), *expected);
        }
    }

    #[test]
    fn wire_form() {
        let assessment = lost(d(2015, 9, 7), 6);
        let json = serde_json::to_string(&assessment).unwrap();
        assert_eq!(
            json,
            r#"{"lost":{"last_contact_on":"2015-09-07","months_without_contact":6,"needs_manual_review":false}}"#
        );
        assert_eq!(
            serde_json::from_str::<LostContactAssessment>(&json).unwrap(),
            assessment
        );
    }

    #[test]
    fn mobile_proposals() {
        let on = d(2016, 3, 7);
        let table = [
            (Some(d(2015, 9, 7)), Some(true), true),
            (Some(d(2015, 9, 8)), Some(true), false),
            (Some(d(2015, 9, 7)), Some(false), false),
            (Some(d(2015, 9, 7)), None, false),
            (None, Some(true), false),
        ];
        for (out, known, mobile) in table {
            assert_eq!(
                assess_mobile(out, known, on, 6).is_mobile(),
                mobile,
                "{out:?} {known:?}"
            );
        }
        assert_eq!(
            assess_mobile(Some(d(2014, 3, 7)), Some(true), on, 6),
            MobileAssessment::Mobile {
                flow_out_on: d(2014, 3, 7),
                months_away: 24
            }
        );
    }

    #[test]
    fn a_configured_threshold_moves_the_cutoff() {
        let facts = unknown(Some(d(2015, 12, 7)), None);
        assert!(!assess_lost_contact(&facts, d(2016, 3, 7)).is_lost());
        let three = assess_lost_contact_months(&facts, d(2016, 3, 7), 3);
        assert!(three.is_lost());
        assert!(three.reason_zh_months(d(2016, 3, 7), 3).contains("满3个月"));
    }
}
