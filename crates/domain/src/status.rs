//! What the committee wants to see (docs/domain.md §10): counts of a unit's subtree, computed from
//! the facts of its records. Pure: the server reads the facts, this module counts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The facts of a member that the counts use.
#[derive(Debug, Clone, Default)]
pub struct MemberFacts<'a> {
    pub roster_status: Option<&'a str>,
    pub contact_status: Option<&'a str>,
    pub member_type: Option<&'a str>,
    pub whereabouts_known: Option<bool>,
    pub last_activity_on: Option<NaiveDate>,
    pub last_dues_paid_on: Option<NaiveDate>,
}

/// The facts of an info form (党员信息采集表).
#[derive(Debug, Clone, Default)]
pub struct FormFacts<'a> {
    pub confirmation_mode: Option<&'a str>,
    pub copies: Option<i64>,
    pub photos: usize,
    pub signature: bool,
    pub fingerprint: bool,
    pub flag_photo: bool,
}

/// §8.7: an on-site confirmation is complete with 3 copies, 3 photos, signature **and**
/// fingerprint, and the photo under the Party flag; a remote one (post, fax, e-mail) without the
/// flag photo; an assisted home visit with signature **or** fingerprint. A form pending because
/// the member is lost is never complete.
pub fn form_is_complete(f: &FormFacts<'_>) -> bool {
    let base = f.copies.unwrap_or(0) >= 3 && f.photos >= 3;
    match f.confirmation_mode {
        Some("on_site") => base && f.signature && f.fingerprint && f.flag_photo,
        Some("post" | "fax" | "email") => base && f.signature && f.fingerprint,
        Some("assisted_home_visit") => base && (f.signature || f.fingerprint),
        _ => false,
    }
}

/// The counts of one unit's subtree. Every field is a number of records; maps count by word.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    /// Members on the roster (not removed from it).
    pub members_total: u64,
    pub full_members: u64,
    pub probationary_members: u64,
    /// Roster verification (§6.1) by state.
    pub roster: BTreeMap<String, u64>,
    /// Members verified in any `confirmed_*` state.
    pub verified: u64,
    /// Members lost at the campaign's start by the lost-contact rule (§8.1): their frozen
    /// snapshots of kind `at_start` once the baseline is taken (§8.9), before it the rule on
    /// today's fields of the members on the roster.
    pub lost_contact_at_start: u64,
    /// Members whose contact status is `mobile`.
    pub mobile: u64,
    /// Contact status (§6.2) by state.
    pub contact: BTreeMap<String, u64>,
    pub info_forms: u64,
    pub info_forms_complete: u64,
    /// Info forms by confirmation mode.
    pub confirmation_modes: BTreeMap<String, u64>,
    pub ledger_a_entries: u64,
    pub ledger_b_entries: u64,
    pub contact_cases: u64,
    pub cases_with_attempt: u64,
    /// Cases whose member was found, by the method that found them.
    pub found_by_method: BTreeMap<String, u64>,
    pub still_lost: u64,
    pub contact_attempts: u64,
    pub department_requests: u64,
    /// Department searches not yet done by the committee.
    pub department_requests_pending: u64,
    pub transfers: u64,
    /// Transfers whose receipt has neither come back nor been re-issued.
    pub transfers_without_receipt: u64,
    pub archive_reviews: u64,
    /// Archive reviews not yet concluded.
    pub archive_reviews_open: u64,
    /// Dispositions by type, counting those not rejected.
    pub dispositions: BTreeMap<String, u64>,
    /// Members on the roster verified by the verification deadline (§10.1).
    #[serde(default)]
    pub verified_by_deadline: u64,
    /// Members the mobile rule (§8.2) proposes as mobile at the campaign's start.
    #[serde(default)]
    pub proposed_mobile: u64,
    /// Info forms with the pledge letter signed (§10.3).
    #[serde(default)]
    pub pledges_signed: u64,
    /// Search attempts by method group (§10.5).
    #[serde(default)]
    pub attempts_by_method: BTreeMap<String, u64>,
    /// Transfers whose receipt was re-issued, and whose member was registered lost (§10.6).
    #[serde(default)]
    pub receipts_reissued: u64,
    #[serde(default)]
    pub transfers_registered_lost: u64,
    /// Archive reviews closed by an exemption of §8.3, and waiting for the county (§10.7).
    #[serde(default)]
    pub archive_exemptions: u64,
    #[serde(default)]
    pub archive_county_review: u64,
    /// Performance checks that recorded a violation (§10.8).
    #[serde(default)]
    pub violations: u64,
    /// Members whose suspension (停止党籍) is in effect, those whose 2-year window ends within
    /// 90 days, and those whose window has ended (removal may be proposed) (§10.9).
    #[serde(default)]
    pub suspended: u64,
    #[serde(default)]
    pub suspensions_ending_soon: u64,
    #[serde(default)]
    pub suspensions_ended: u64,
    /// Items of every working phase (not finalization, which restates them) whose deadline has
    /// passed and that are not done (§10.1).
    #[serde(default)]
    pub overdue: u64,
    /// Members on the roster whose verification was done, by the day it was done
    /// (`YYYY-MM-DD`: the branch's first info form's date, or else the day the server recorded
    /// the outcome). Undated verifications are not in it. For the progress chart of the
    /// verification phase.
    #[serde(default)]
    pub verified_by_day: BTreeMap<String, u64>,
    /// The members of `lost_contact_at_start`, by how long they had been without contact then: `6_to_12_months`, `1_to_2_years`, `over_2_years`, or `unknown` (no
    /// contact date recorded).
    #[serde(default)]
    pub lost_by_duration: BTreeMap<String, u64>,
    /// Mobile members on the roster (`contact_status: mobile`) by where they went
    /// (`flow_destination` as written; 未填写 when it is not).
    #[serde(default)]
    pub mobile_by_destination: BTreeMap<String, u64>,
    /// Contact cases (lost members searched for) by how contact was lost
    /// (`contact_cases.loss_circumstance`; `unknown` when not recorded).
    #[serde(default)]
    pub cases_by_circumstance: BTreeMap<String, u64>,
    /// Members on the roster when the baseline was frozen (crate::baseline, kind `at_start`);
    /// before it is frozen, the members on the roster now (provisional).
    #[serde(default)]
    pub roster_at_start: u64,
    /// Members mobile at the start by the frozen baseline (0 until it is frozen; see
    /// `proposed_mobile` for the rule applied to today's fields).
    #[serde(default)]
    pub mobile_at_start: u64,
    /// Members first recorded after the baseline was frozen.
    #[serde(default)]
    pub added_after_start: u64,
    /// Members lost at the start who have since been found: their case found them, their
    /// contact status says so, or the lost-contact rule no longer holds on their fields.
    #[serde(default)]
    pub lost_at_start_found: u64,
    /// Members lost at the start (and still on the roster) searched at least once, and not
    /// yet: every one is an item of the search phase, whether or not a case was opened.
    #[serde(default)]
    pub lost_searched: u64,
    #[serde(default)]
    pub lost_not_searched: u64,
    /// Members who left the roster by an effective disposition (removal, death, transfer out,
    /// …) on or before the day counted; they are not in `members_total`.
    #[serde(default)]
    pub members_left: u64,
    /// Members moved here from another branch of the tenant during the campaign (after the
    /// baseline was fixed), and members moved from here to another: the numbers at the start
    /// stay where they were, what has happened since counts where they are (docs/domain.md
    /// §6.7).
    #[serde(default)]
    pub moved_in: u64,
    #[serde(default)]
    pub moved_out: u64,
    /// Baseline snapshots the 组织办 corrected.
    #[serde(default)]
    pub baseline_corrections: u64,
    /// Members confirmed on an exception recorded with its reason, not on a complete form.
    #[serde(default)]
    pub confirmed_by_exception: u64,
    /// Transfers followed up at least once (the verification window's check of transfers).
    #[serde(default)]
    pub transfers_checked: u64,
}

/// The roster against the villages' and communities' actual count (村居实际底数, docs/domain.md
/// §4.1), over the branches of a unit: the roster at the start, plus the people found not on it
/// (ledger A), minus the surplus on it (ledger B), against the count each branch recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reconciliation {
    /// Branches counted.
    pub branches: u64,
    /// Members on the roster at the start (`roster_at_start`).
    pub roster_at_start: u64,
    /// Ledger A entries not refused by the 组织办 (`outcome` other than `not_recognized`).
    pub ledger_a_additions: u64,
    /// Ledger B entries not refused by the 组织办.
    pub ledger_b_removals: u64,
    /// `roster_at_start + ledger_a_additions − ledger_b_removals`.
    pub expected: i64,
    /// The sum of the actual counts recorded (none: no branch recorded one).
    pub actual: Option<u64>,
    /// Over the branches that recorded an actual count: actual − expected.
    pub difference: Option<i64>,
    /// Branches whose actual count is recorded.
    pub branches_recorded: u64,
    /// Branches with no actual count recorded yet.
    pub branches_missing: u64,
    /// Branches whose count differs from the expected one with no explanation recorded.
    pub branches_unexplained: u64,
    /// Branches whose count differs, explained (`reconciliation_note`).
    pub branches_explained: u64,
    /// `balanced` (every branch recorded and agrees), `explained` (every difference is
    /// explained), `flagged` (a difference without explanation), `missing` (no difference
    /// unexplained, but some branch has not recorded its count).
    pub state: String,
    pub state_zh: String,
}

impl Reconciliation {
    /// Adds one branch.
    pub fn add_branch(
        &mut self,
        roster_at_start: u64,
        additions: u64,
        removals: u64,
        actual: Option<u64>,
        explained: bool,
    ) {
        let expected = i64::try_from(roster_at_start + additions).unwrap_or(i64::MAX)
            - i64::try_from(removals).unwrap_or(i64::MAX);
        self.branches += 1;
        self.roster_at_start += roster_at_start;
        self.ledger_a_additions += additions;
        self.ledger_b_removals += removals;
        self.expected += expected;
        match actual {
            Some(n) => {
                self.branches_recorded += 1;
                self.actual = Some(self.actual.unwrap_or(0) + n);
                let diff = i64::try_from(n).unwrap_or(i64::MAX) - expected;
                self.difference = Some(self.difference.unwrap_or(0) + diff);
                if diff != 0 {
                    if explained {
                        self.branches_explained += 1;
                    } else {
                        self.branches_unexplained += 1;
                    }
                }
            }
            None => self.branches_missing += 1,
        }
        self.judge();
    }

    /// Adds another unit's reconciliation (its branches).
    pub fn merge(&mut self, other: &Reconciliation) {
        self.branches += other.branches;
        self.roster_at_start += other.roster_at_start;
        self.ledger_a_additions += other.ledger_a_additions;
        self.ledger_b_removals += other.ledger_b_removals;
        self.expected += other.expected;
        self.actual = match (self.actual, other.actual) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.difference = match (self.difference, other.difference) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.branches_recorded += other.branches_recorded;
        self.branches_missing += other.branches_missing;
        self.branches_unexplained += other.branches_unexplained;
        self.branches_explained += other.branches_explained;
        self.judge();
    }

    fn judge(&mut self) {
        let (state, zh) = if self.branches_unexplained > 0 {
            ("flagged", "有未说明的差异")
        } else if self.branches_missing > 0 {
            ("missing", "实际底数未填报")
        } else if self.branches_explained > 0 {
            ("explained", "差异已说明")
        } else {
            ("balanced", "相符")
        };
        self.state = state.to_owned();
        self.state_zh = zh.to_owned();
    }
}

/// The Chinese label of every count of [`Counts`], by its key, for what people read (the
/// console, exports): no English key reaches a screen.
pub const COUNT_LABELS: &[(&str, &str)] = &[
    ("members_total", "在册党员"),
    ("full_members", "正式党员"),
    ("probationary_members", "预备党员"),
    ("roster", "按核查状态"),
    ("verified", "已核查确认"),
    ("lost_contact_at_start", "排查开始时失联党员"),
    ("mobile", "流动党员"),
    ("contact", "按联系状态"),
    ("info_forms", "党员信息采集表"),
    ("info_forms_complete", "采集表完整"),
    ("confirmation_modes", "按确认方式"),
    ("ledger_a_entries", "台帐A条目（不在花名册党员）"),
    ("ledger_b_entries", "台帐B条目（花名册多余人员）"),
    ("contact_cases", "失联党员查找记录"),
    ("cases_with_attempt", "已登记查找经过的查找记录"),
    ("found_by_method", "经查找取得联系（按方式）"),
    ("still_lost", "经查找仍无法取得联系"),
    ("contact_attempts", "查找记录"),
    ("department_requests", "部门查找申请"),
    ("department_requests_pending", "待办理的部门查找"),
    ("transfers", "转出党员"),
    ("transfers_without_receipt", "转出未回执"),
    ("archive_reviews", "档案审核"),
    ("archive_reviews_open", "未办结的档案审核"),
    ("dispositions", "处置（按方式）"),
    ("verified_by_deadline", "按期核查确认"),
    // Judged on the fields as they stand today, not on the start facts (`mobile_at_start` is
    // the baseline's): the label says so.
    ("proposed_mobile", "按现有信息建议认定的流动党员"),
    ("pledges_signed", "已签订承诺书"),
    ("attempts_by_method", "查找记录（按方式）"),
    ("receipts_reissued", "已补开回执"),
    ("transfers_registered_lost", "转出后登记为失联"),
    ("archive_exemptions", "免于补办入党手续"),
    ("archive_county_review", "报县级组织部门审核"),
    ("violations", "发现违纪违法"),
    ("suspended", "停止党籍"),
    ("suspensions_ending_soon", "停止党籍90天内满两年"),
    ("suspensions_ended", "停止党籍已满两年"),
    ("overdue", "逾期事项"),
    ("verified_by_day", "核查进度（按日）"),
    ("lost_by_duration", "排查开始时失联党员（按失联时长）"),
    ("mobile_by_destination", "流动党员（按流出去向）"),
    (
        "cases_by_circumstance",
        "失联党员查找记录（按失去联系情形）",
    ),
    ("roster_at_start", "排查开始时在册党员（底数）"),
    ("mobile_at_start", "排查开始时流动党员（底数）"),
    ("added_after_start", "底数确定后新增登记"),
    ("moved_in", "排查期间从其他党支部转入"),
    ("moved_out", "排查期间转至其他党支部"),
    ("lost_at_start_found", "排查开始时失联、现已取得联系"),
    ("lost_searched", "失联党员已开展查找"),
    ("lost_not_searched", "失联党员尚未查找"),
    ("members_left", "已减少（除名、去世、转出等生效）"),
    ("baseline_corrections", "底数更正"),
    ("confirmed_by_exception", "无完整采集表经说明确认"),
    ("transfers_checked", "已核查的转出党员"),
];

/// Adds one to the count of `key` (or `default`), making the key's string only the first time
/// (a rollup bumps a few keys a million times).
pub(crate) fn bump(map: &mut BTreeMap<String, u64>, key: Option<&str>, default: &str) {
    let key = key.unwrap_or(default);
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Counts {
    /// A member; `lost_at_start` is the lost-contact rule's proposal for the campaign's start.
    /// A member on the roster; `lost_at_start` is the lost-contact rule's proposal for the
    /// campaign's start (or, once the baseline is frozen, the member's snapshot).
    pub fn add_member(&mut self, m: &MemberFacts<'_>, lost_at_start: bool) {
        if m.roster_status == Some("removed_from_roster") {
            return;
        }
        self.members_total += 1;
        match m.member_type {
            Some("full") => self.full_members += 1,
            Some("probationary") => self.probationary_members += 1,
            _ => {}
        }
        bump(&mut self.roster, m.roster_status, "unverified");
        if m.roster_status.is_some_and(|s| s.starts_with("confirmed_")) {
            self.verified += 1;
        }
        bump(&mut self.contact, m.contact_status, "normal");
        if m.contact_status == Some("mobile") {
            self.mobile += 1;
        }
        if lost_at_start {
            self.lost_contact_at_start += 1;
        }
    }

    pub fn add_form(&mut self, f: &FormFacts<'_>) {
        self.info_forms += 1;
        bump(&mut self.confirmation_modes, f.confirmation_mode, "unknown");
        if form_is_complete(f) {
            self.info_forms_complete += 1;
        }
    }

    pub fn add_ledger_entry(&mut self, ledger: Option<&str>) {
        match ledger {
            Some("ledger_a") => self.ledger_a_entries += 1,
            Some("ledger_b") => self.ledger_b_entries += 1,
            _ => {}
        }
    }

    /// A contact case, with whether any attempt was recorded for it.
    pub fn add_case(&mut self, result: Option<&str>, found_by: Option<&str>, has_attempt: bool) {
        self.contact_cases += 1;
        if has_attempt {
            self.cases_with_attempt += 1;
        }
        match result {
            Some("found") => bump(&mut self.found_by_method, found_by, "unknown"),
            Some("still_lost") => self.still_lost += 1,
            _ => {}
        }
    }

    pub fn add_attempt(&mut self, method: Option<&str>) {
        self.contact_attempts += 1;
        bump(&mut self.attempts_by_method, method, "unknown");
    }

    pub fn add_department_request(&mut self, status: Option<&str>) {
        self.department_requests += 1;
        if status != Some("done") {
            self.department_requests_pending += 1;
        }
    }

    pub fn add_transfer(&mut self, receipt_status: Option<&str>, registered_lost: bool) {
        self.transfers += 1;
        if receipt_status == Some("receipt_reissued") {
            self.receipts_reissued += 1;
        }
        // A receipt that came after the loss was registered (补办回执) ends the loss.
        let receipt_in = crate::derived::receipt_status_in(receipt_status);
        if registered_lost && !receipt_in {
            self.transfers_registered_lost += 1;
        }
        if !receipt_in {
            self.transfers_without_receipt += 1;
        }
    }

    pub fn add_archive_review(&mut self, status: Option<&str>, exemption: Option<&str>) {
        self.archive_reviews += 1;
        if status == Some("exempt_confirmed") && exemption.is_some() {
            self.archive_exemptions += 1;
        }
        if status == Some("county_review") {
            self.archive_county_review += 1;
        }
        if !matches!(
            status,
            Some("exempt_confirmed" | "confirmed" | "not_recognized")
        ) {
            self.archive_reviews_open += 1;
        }
    }

    pub fn add_disposition(&mut self, kind: Option<&str>, status: Option<&str>) {
        if status != Some("rejected") {
            bump(&mut self.dispositions, kind, "unknown");
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_count_has_one_chinese_label() {
        let keys: Vec<String> = match serde_json::to_value(Counts::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("counts serialize to an object: {other:?}"),
        };
        let labelled: Vec<&str> = COUNT_LABELS.iter().map(|(k, _)| *k).collect();
        let mut sorted = labelled.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), labelled.len(), "a key labelled twice");
        for key in &keys {
            assert!(labelled.contains(&key.as_str()), "{key} has no label");
        }
        for key in labelled {
            assert!(keys.iter().any(|k| k == key), "{key} is not a count");
        }
        assert!(
            COUNT_LABELS
                .iter()
                .all(|(_, zh)| zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        );
    }

    use super::*;
    use crate::lost_contact::{ContactFacts, assess_lost_contact};

    fn date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }

    #[test]
    fn form_completeness_table() {
        let full = FormFacts {
            confirmation_mode: Some("on_site"),
            copies: Some(3),
            photos: 3,
            signature: true,
            fingerprint: true,
            flag_photo: true,
        };
        let table: Vec<(FormFacts, bool)> = vec![
            (full.clone(), true),
            (
                FormFacts {
                    flag_photo: false,
                    ..full.clone()
                },
                false,
            ),
            (
                FormFacts {
                    copies: Some(2),
                    ..full.clone()
                },
                false,
            ),
            (
                FormFacts {
                    photos: 2,
                    ..full.clone()
                },
                false,
            ),
            (
                FormFacts {
                    fingerprint: false,
                    ..full.clone()
                },
                false,
            ),
            (
                FormFacts {
                    confirmation_mode: Some("post"),
                    flag_photo: false,
                    ..full.clone()
                },
                true,
            ),
            (
                FormFacts {
                    confirmation_mode: Some("assisted_home_visit"),
                    signature: false,
                    flag_photo: false,
                    ..full.clone()
                },
                true,
            ),
            (
                FormFacts {
                    confirmation_mode: Some("pending_lost"),
                    ..full.clone()
                },
                false,
            ),
            (
                FormFacts {
                    confirmation_mode: None,
                    ..full
                },
                false,
            ),
        ];
        for (form, complete) in table {
            assert_eq!(form_is_complete(&form), complete, "{form:?}");
        }
    }

    #[test]
    fn members_are_counted_with_the_lost_contact_rule_at_the_campaign_start() {
        let start = date("2016-03-07");
        let mut c = Counts::default();
        let lost_edge = MemberFacts {
            whereabouts_known: Some(false),
            last_activity_on: date("2015-09-07"),
            ..Default::default()
        };
        let not_lost = MemberFacts {
            whereabouts_known: Some(false),
            last_dues_paid_on: date("2015-09-08"),
            contact_status: Some("mobile"),
            ..Default::default()
        };
        let removed = MemberFacts {
            roster_status: Some("removed_from_roster"),
            ..Default::default()
        };
        let verified = MemberFacts {
            roster_status: Some("confirmed_on_site"),
            member_type: Some("full"),
            whereabouts_known: Some(true),
            ..Default::default()
        };
        for m in [&lost_edge, &not_lost, &removed, &verified] {
            let facts = ContactFacts {
                whereabouts_known: m.whereabouts_known,
                last_activity_on: m.last_activity_on,
                last_dues_paid_on: m.last_dues_paid_on,
            };
            let lost = start.is_some_and(|s| assess_lost_contact(&facts, s).is_lost());
            c.add_member(m, lost);
        }
        assert_eq!(c.members_total, 3);
        assert_eq!(c.lost_contact_at_start, 1);
        assert_eq!(c.mobile, 1);
        assert_eq!(c.verified, 1);
        assert_eq!(c.full_members, 1);
        assert_eq!(c.roster.get("unverified"), Some(&2));
        // Without a campaign, nothing is proposed lost.
        let mut none = Counts::default();
        none.add_member(&lost_edge, false);
        assert_eq!(none.lost_contact_at_start, 0);
    }
}
