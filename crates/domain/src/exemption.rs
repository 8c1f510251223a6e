//! Members without an application form (入党志愿书): when no re-filling is needed
//! (docs/domain.md §7 row 13 and §8.3).
//!
//! Seed: "对建国前党员，因为受当时条件的限制，党员档案中没有入党志愿书等入党材料的，只要组织
//! 关系一直没有中断，就不需要再补填入党志愿书或补办入党手续；离退休党员和60岁以上的农村、
//! 社区党员，也能够根据实际情况，参照建国前党员来处理。" (能够 reads 可以: "may".)
//!
//! The rule applies to members whose archive lacks the application form; whether the form is
//! missing is for the caller to establish. The software only proposes; a person decides.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::age_on;

/// 中华人民共和国成立 — 1949-10-01. "建国前党员" joined strictly before this date.
pub const PRC_FOUNDING: NaiveDate = match NaiveDate::from_ymd_opt(1949, 10, 1) {
    Some(date) => date,
    // Evaluated at compile time: an invalid date would fail the build, never a run.
    None => panic!("1949-10-01 is a valid date"),
};

/// "60岁以上" (inclusive: "以上" includes the number).
pub const EXEMPTION_AGE: u32 = 60;

/// The setting of the member's branch, as far as the exemption is concerned
/// ("农村、社区党员").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BranchSetting {
    /// 农村 (village) branch.
    Rural,
    /// 社区 (urban community / 街道社区) branch.
    Community,
    /// Any other branch (enterprise, institution, …).
    Other,
}

/// The facts the exemption rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionFacts {
    /// 入党日期; `None` if unknown.
    pub joined_on: Option<NaiveDate>,
    /// "组织关系一直没有中断": the organizational relationship was never interrupted.
    pub relationship_uninterrupted: bool,
    /// 离退休: retired.
    pub retired: bool,
    /// 出生日期; `None` if unknown.
    pub birth_date: Option<NaiveDate>,
    /// The setting of the member's branch.
    pub branch_setting: BranchSetting,
}

/// The ground on which a member need not re-fill the application form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ExemptionGround {
    /// 建国前党员, relationship never interrupted.
    JoinedBeforeFounding,
    /// 离退休党员, treated by reference.
    Retired,
    /// 60岁以上的农村、社区党员, treated by reference.
    AgedSixtyRuralOrCommunity,
}

/// The proposal of [`propose_form_exemption`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionProposal {
    /// No re-filling or re-doing of procedures ("不需要再补填入党志愿书或补办入党手续").
    Exempt {
        /// Always [`ExemptionGround::JoinedBeforeFounding`].
        ground: ExemptionGround,
    },
    /// "参照建国前党员来处理": may be treated like a pre-1949 member. This is not automatic: it
    /// needs an explicit decision of the branch, recorded with a note.
    EligibleByReference {
        /// [`ExemptionGround::Retired`] or [`ExemptionGround::AgedSixtyRuralOrCommunity`].
        ground: ExemptionGround,
    },
    /// None of the grounds applies.
    NotExempt,
}

/// Proposes whether a member without an application form needs to re-fill it.
///
/// Seed: "对建国前党员……只要组织关系一直没有中断，就不需要再补填入党志愿书或补办入党手续；
/// 离退休党员和60岁以上的农村、社区党员，也能够根据实际情况，参照建国前党员来处理。"
///
/// In this order:
/// 1. joined strictly before 1949-10-01 ([`PRC_FOUNDING`]) and relationship uninterrupted:
///    [`ExemptionProposal::Exempt`] with [`ExemptionGround::JoinedBeforeFounding`];
/// 2. relationship uninterrupted and retired:
///    [`ExemptionProposal::EligibleByReference`] with [`ExemptionGround::Retired`];
/// 3. relationship uninterrupted, aged 60 or more on `reference_date` ([`age_on`]) and the
///    branch is rural or community: [`ExemptionProposal::EligibleByReference`] with
///    [`ExemptionGround::AgedSixtyRuralOrCommunity`];
/// 4. otherwise [`ExemptionProposal::NotExempt`] (also when the needed date is unknown).
///
/// Requiring an uninterrupted relationship for the by-reference grounds is an inference
/// [INF] from docs/domain.md §8.3: "参照建国前党员" is read as "under the same condition". The
/// function only proposes: `EligibleByReference` needs an explicit branch decision.
/// `reference_date` is normally the campaign start date.
pub fn propose_form_exemption(
    facts: &ExemptionFacts,
    reference_date: NaiveDate,
) -> ExemptionProposal {
    if !facts.relationship_uninterrupted {
        return ExemptionProposal::NotExempt;
    }
    if facts.joined_on.is_some_and(|joined| joined < PRC_FOUNDING) {
        return ExemptionProposal::Exempt {
            ground: ExemptionGround::JoinedBeforeFounding,
        };
    }
    if facts.retired {
        return ExemptionProposal::EligibleByReference {
            ground: ExemptionGround::Retired,
        };
    }
    let rural_or_community = matches!(
        facts.branch_setting,
        BranchSetting::Rural | BranchSetting::Community
    );
    let aged_sixty = facts
        .birth_date
        .is_some_and(|birth| age_on(birth, reference_date) >= EXEMPTION_AGE);
    if rural_or_community && aged_sixty {
        return ExemptionProposal::EligibleByReference {
            ground: ExemptionGround::AgedSixtyRuralOrCommunity,
        };
    }
    ExemptionProposal::NotExempt
}

impl ExemptionGround {
    /// The ground in words (Chinese).
    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::JoinedBeforeFounding => "建国前入党且组织关系一直没有中断",
            Self::Retired => "离退休党员",
            Self::AgedSixtyRuralOrCommunity => "60岁以上的农村、社区党员",
        }
    }
}

impl ExemptionProposal {
    /// The proposal in words, for the branch (Chinese).
    pub fn reason_zh(&self) -> String {
        match self {
            Self::Exempt { ground } => format!(
                "{}，不需要再补填入党志愿书或补办入党手续",
                ground.label_zh()
            ),
            Self::EligibleByReference { ground } => format!(
                "{}，组织关系一直没有中断，可参照建国前党员处理，不再补填入党志愿书，需党支部研究决定",
                ground.label_zh()
            ),
            Self::NotExempt => "不符合免于补填入党志愿书的条件，按有关规定处理".to_owned(),
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

    fn facts(joined: Option<NaiveDate>, birth: Option<NaiveDate>) -> ExemptionFacts {
        ExemptionFacts {
            joined_on: joined,
            relationship_uninterrupted: true,
            retired: false,
            birth_date: birth,
            branch_setting: BranchSetting::Other,
        }
    }

    const EXEMPT: ExemptionProposal = ExemptionProposal::Exempt {
        ground: ExemptionGround::JoinedBeforeFounding,
    };
    const RETIRED: ExemptionProposal = ExemptionProposal::EligibleByReference {
        ground: ExemptionGround::Retired,
    };
    const AGED: ExemptionProposal = ExemptionProposal::EligibleByReference {
        ground: ExemptionGround::AgedSixtyRuralOrCommunity,
    };
    const NOT: ExemptionProposal = ExemptionProposal::NotExempt;

    #[test]
    fn founding_date() {
        assert_eq!(PRC_FOUNDING, d(1949, 10, 1));
    }

    #[test]
    fn proposals() {
        let reference = d(2016, 3, 7);
        let rural = |f: ExemptionFacts| ExemptionFacts {
            branch_setting: BranchSetting::Rural,
            ..f
        };
        let community = |f: ExemptionFacts| ExemptionFacts {
            branch_setting: BranchSetting::Community,
            ..f
        };
        let retired = |f: ExemptionFacts| ExemptionFacts { retired: true, ..f };
        let interrupted = |f: ExemptionFacts| ExemptionFacts {
            relationship_uninterrupted: false,
            ..f
        };
        // Born 1956-03-07: 60 on the reference date; born 1956-03-08: 59.
        let sixty = Some(d(1956, 3, 7));
        let fifty_nine = Some(d(1956, 3, 8));
        let table: &[(ExemptionFacts, ExemptionProposal)] = &[
            // Joined before the founding, strictly.
            (facts(Some(d(1949, 9, 30)), None), EXEMPT),
            (facts(Some(d(1949, 10, 1)), None), NOT),
            (facts(Some(d(1938, 5, 1)), Some(d(1920, 1, 1))), EXEMPT),
            (interrupted(facts(Some(d(1949, 9, 30)), None)), NOT),
            (facts(None, None), NOT),
            // Pre-founding takes precedence over the by-reference grounds.
            (retired(rural(facts(Some(d(1949, 9, 30)), sixty))), EXEMPT),
            // Retired.
            (retired(facts(Some(d(1980, 1, 1)), None)), RETIRED),
            (retired(facts(None, None)), RETIRED),
            (interrupted(retired(facts(Some(d(1980, 1, 1)), None))), NOT),
            (retired(rural(facts(Some(d(1980, 1, 1)), sixty))), RETIRED),
            // 60+ in a rural or community branch, age on the reference date.
            (rural(facts(Some(d(1980, 1, 1)), sixty)), AGED),
            (community(facts(Some(d(1980, 1, 1)), sixty)), AGED),
            (rural(facts(Some(d(1980, 1, 1)), fifty_nine)), NOT),
            (community(facts(Some(d(1980, 1, 1)), fifty_nine)), NOT),
            (facts(Some(d(1980, 1, 1)), sixty), NOT),
            (facts(Some(d(1980, 1, 1)), Some(d(1930, 1, 1))), NOT),
            (interrupted(rural(facts(Some(d(1980, 1, 1)), sixty))), NOT),
            (rural(facts(Some(d(1980, 1, 1)), None)), NOT),
        ];
        for (input, expected) in table {
            assert_eq!(
                propose_form_exemption(input, reference),
                *expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn reasons_in_chinese() {
        let table: &[(ExemptionProposal, &str)] = &[
            (
                EXEMPT,
                "建国前入党且组织关系一直没有中断，不需要再补填入党志愿书或补办入党手续",
            ),
            (
                RETIRED,
                "离退休党员，组织关系一直没有中断，可参照建国前党员处理，不再补填入党志愿书，需党支部研究决定",
            ),
            (
                AGED,
                "60岁以上的农村、社区党员，组织关系一直没有中断，可参照建国前党员处理，不再补填入党志愿书，需党支部研究决定",
            ),
            (NOT, "不符合免于补填入党志愿书的条件，按有关规定处理"),
        ];
        for (proposal, expected) in table {
            assert_eq!(proposal.reason_zh(), *expected);
        }
    }

    #[test]
    fn wire_names() {
        let table: &[(BranchSetting, &str)] = &[
            (BranchSetting::Rural, "\"rural\""),
            (BranchSetting::Community, "\"community\""),
            (BranchSetting::Other, "\"other\""),
        ];
        for (value, json) in table {
            assert_eq!(serde_json::to_string(value).unwrap(), *json);
            assert_eq!(serde_json::from_str::<BranchSetting>(json).unwrap(), *value);
        }
    }
}
