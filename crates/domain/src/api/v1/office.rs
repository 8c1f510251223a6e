//! What the office reads: status, the baseline, signed reports, late entries, transfer
//! lists, proposals, registers, members and imports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::OrgUnitKind;

// ---- Status -----------------------------------------------------------------------------

/// `GET /v1/status`: the counts of a unit's subtree, and of each child's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitStatus {
    pub org_unit_id: Uuid,
    pub name: String,
    pub kind: OrgUnitKind,
    /// The campaign's start date the lost-contact counts are computed against (the latest
    /// campaign of the tenant); on the top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_start_date: Option<chrono::NaiveDate>,
    pub counts: crate::status::Counts,
    /// The Chinese label of every key of `counts` (`members_total` → 在册党员 …), for what
    /// people read; on the top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_labels: Option<std::collections::BTreeMap<String, String>>,
    /// The day the phases and suspension clocks are judged on; on the top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<chrono::NaiveDate>,
    /// The campaign's dates, each configured or the §3.2 default; on the top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::campaign::Plan>,
    /// The campaign record the plan is read from (to freeze its baseline); top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Uuid>,
    /// Each phase of the campaign for this unit (none without a campaign).
    #[serde(default)]
    pub phases: Vec<PhaseStatus>,
    /// Ledgers A and B of each work area at or below this unit.
    #[serde(default)]
    pub ledger_submissions: Vec<LedgerSubmissionStatus>,
    /// The roster against the actual count of the branches below (村居实际底数); none when the
    /// unit holds no branch with members, ledger entries or a recorded count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<crate::status::Reconciliation>,
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<UnitStatus>,
}

// ---- The campaign's baseline ----------------------------------------------------------

/// `POST /v1/reports`: the 组织办 signs the status of a unit as of a day (报表, docs/domain.md
/// §8.14).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignReport {
    /// The unit reported on; default the signer's own (the committee).
    #[serde(default)]
    pub org_unit_id: Option<Uuid>,
    /// The day the phases are judged on; default today in China. Not after today.
    #[serde(default)]
    pub as_of: Option<chrono::NaiveDate>,
}

/// A signed report, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSummary {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub unit_name: String,
    pub as_of: chrono::NaiveDate,
    pub signed_by: Uuid,
    pub signed_by_name: String,
    pub signed_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 (hex) of `status` exactly as answered by `GET /v1/reports/{id}`.
    pub content_sha256: String,
    /// The tenant's audit chain when signed: every change up to this version is counted.
    pub chain_version: u64,
    /// The hash of the audit entry at `chain_version`: record it outside paicha (the printout
    /// carries it); `paicha audit verify` checks it is still in the chain.
    pub chain_head: String,
}

/// `GET /v1/reports`: the reports on the caller's unit and below, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportList {
    pub reports: Vec<ReportSummary>,
}

/// `GET /v1/reports/{id}`: a signed report, its content (`status`) as signed, byte for byte.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// The status of the unit as it was signed (the shape of `GET /v1/status`).
    #[cfg_attr(feature = "openapi", schema(value_type = UnitStatus))]
    pub status: Box<serde_json::value::RawValue>,
}

/// A count that moved since a report was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountChange {
    /// The unit whose count moved (the report's unit or one of its children).
    pub org_unit_id: Uuid,
    pub unit_name: String,
    /// The count's key in `counts`, with the key inside it for counts by kind
    /// (`roster.unverified`).
    pub key: String,
    pub label_zh: String,
    pub signed: u64,
    pub now: u64,
}

/// An audit entry made since a report was signed, on a record of its unit's subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeSince {
    pub version: u64,
    pub collection: String,
    pub collection_zh: String,
    pub record_id: Uuid,
    pub op: String,
    pub user_id: Uuid,
    pub server_time: chrono::DateTime<chrono::Utc>,
    /// The fields the entry changed.
    pub fields: Vec<String>,
}

/// `GET /v1/reports/{id}/changes`: what moved since the report was signed: each count of the
/// report recomputed as of the report's day, and the audit entries made since on the unit's
/// records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportChanges {
    pub report_id: Uuid,
    pub counts: Vec<CountChange>,
    pub records: Vec<ChangeSince>,
    /// More entries were made than listed (the first 1,000 are).
    pub more_records: bool,
}

/// A typed date waiting for the 组织办's acceptance (docs/domain.md §8.15): typed earlier than
/// the day it reached the server, so the server's day judges it unless the 组织办 accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LateEntry {
    pub collection: String,
    pub collection_zh: String,
    pub record_id: Uuid,
    pub org_unit_id: Uuid,
    pub unit_name: String,
    /// The record's version (the acceptance's `base_version`).
    pub version: u64,
    /// The member the record is about, if one is named.
    pub member_id: Option<Uuid>,
    pub member_name: Option<String>,
    /// The typed field, and its label.
    pub field: String,
    pub field_zh: String,
    /// The field that records the acceptance (`late_entry_accepted`, …).
    pub accept_field: String,
    pub typed_on: chrono::NaiveDate,
    pub entered_on: chrono::NaiveDate,
    /// More than the campaign's `late_entry_days` before `entered_on`: 补录.
    pub late_entry: bool,
    /// The deadline of the phase that judges it.
    pub deadline: chrono::NaiveDate,
}

/// `GET /v1/late-entries`: the typed dates under a unit waiting for the 组织办's acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LateEntryList {
    pub entries: Vec<LateEntry>,
}

/// `POST /v1/campaigns/{id}/baseline`: the baseline as frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaselineFrozen {
    pub campaign_id: Uuid,
    /// The day it was frozen (China time).
    pub baseline_on: chrono::NaiveDate,
    /// Members who got a snapshot (every live member of the tenant).
    pub members: u64,
    /// The tenant's version after the freeze: a pull from before it brings every snapshot.
    pub version: u64,
}

/// `POST /v1/members/{id}/baseline`: the 组织办's correction of one member's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BaselineCorrection {
    /// Lost at the start.
    pub lost: bool,
    /// Whole months without contact at the start, for a lost member (none: unknown).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1200))]
    pub lost_months: Option<u32>,
    /// Mobile at the start.
    pub mobile: bool,
    /// Why the snapshot was wrong (required, at most 500 characters).
    pub reason: String,
}

/// The member's snapshot after a correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaselineCorrected {
    pub member_id: Uuid,
    pub version: u64,
}

/// A phase of the campaign for one unit: its window, its items and how they were done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseStatus {
    pub phase: crate::campaign::Phase,
    pub label_zh: String,
    pub starts_on: chrono::NaiveDate,
    pub deadline: chrono::NaiveDate,
    pub state: crate::campaign::PhaseState,
    pub state_zh: String,
    pub items: u64,
    pub on_time: u64,
    pub late: u64,
    pub not_done: u64,
}

/// One ledger of one work area: its submission to the 组织办 against the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerSubmissionStatus {
    pub work_area_id: Uuid,
    pub work_area_name: String,
    /// `ledger_a` or `ledger_b`.
    pub ledger: String,
    /// The submission's status (`draft`, `submitted`, `returned`, `approved`); none when the
    /// work area has not started one.
    pub status: Option<String>,
    /// The day the 组织办 received it (stamped by the server).
    pub received_on: Option<chrono::NaiveDate>,
    pub state: crate::campaign::PhaseState,
    pub state_zh: String,
}

// ---- Departures ----------------------------------------------------------------------------

/// `GET /v1/departures`: the records that left the caller's unit (a transfer re-addressed by a
/// corrected list, a member moved to another branch), the latest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartureList {
    pub items: Vec<DepartureItem>,
}

/// One record that left: what it was, where it went and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartureItem {
    pub collection: String,
    pub record_id: Uuid,
    /// What the unit knew it by (the person's name), if anything.
    pub label: Option<String>,
    /// The unit that held it (its owner then).
    pub from_unit_id: Uuid,
    pub from_unit_name: String,
    /// Where it went, if it went to a unit (none when it only left its addressee).
    pub to_unit_id: Option<Uuid>,
    pub to_unit_name: Option<String>,
    /// `readdressed`, `member_moved` or `move_not_taken`.
    pub reason: String,
    pub reason_label: String,
    /// The version of the write that moved it: its tombstone's in a pull.
    pub version: u64,
    pub left_at: DateTime<Utc>,
}

// ---- Transfer lists -----------------------------------------------------------------------

/// `GET /v1/transfers/lists`: per 转出明细 list, which branches have received and acted on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferLists {
    pub org_unit_id: Uuid,
    pub lists: Vec<TransferListStatus>,
}

/// The progress of one list; the branch numbers add up to the list's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferListStatus {
    /// The list's name (转出批次); transfers entered without one are listed under "未分批".
    pub list_name: String,
    #[serde(flatten)]
    pub progress: TransferProgress,
    /// Transfers withdrawn (撤回) from the list: a corrected list no longer holds them. They
    /// count nowhere else.
    #[serde(default)]
    pub withdrawn: u64,
    pub branches: Vec<TransferBranchStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferBranchStatus {
    pub branch_id: Uuid,
    pub branch_name: String,
    #[serde(flatten)]
    pub progress: TransferProgress,
}

/// Transfers, and how many of them the branch has received (a device of the branch has
/// pulled the record as it now stands, or the branch has acted on it), acted on (followed
/// up: receiver contacted, receipt received or re-issued, receiver unreachable, member linked
/// or a note written), closed (receipt back or re-issued, or the member registered lost), and
/// whose member was registered lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferProgress {
    pub transfers: u64,
    pub received: u64,
    pub acted_on: u64,
    pub closed: u64,
    pub registered_lost: u64,
}

impl TransferProgress {
    /// Counts one transfer.
    pub fn add(&mut self, received: bool, acted_on: bool, closed: bool, lost: bool) {
        self.transfers += 1;
        self.received += u64::from(received);
        self.acted_on += u64::from(acted_on);
        self.closed += u64::from(closed);
        self.registered_lost += u64::from(lost);
    }
}

// ---- Proposals ----------------------------------------------------------------------------

/// `GET /v1/proposals`: what the rules propose for each member of a unit. The software
/// proposes, people decide (docs/domain.md §7): nothing here changes a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalList {
    pub org_unit_id: Uuid,
    pub as_of: chrono::NaiveDate,
    /// The campaign start the lost-contact and mobile rules are computed against; without a
    /// campaign those rules propose nothing.
    pub campaign_start_date: Option<chrono::NaiveDate>,
    pub members: Vec<MemberProposals>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberProposals {
    pub member_id: Uuid,
    pub org_unit_id: Uuid,
    pub name: String,
    pub lost_contact: Option<LostContactProposal>,
    pub mobile: Option<MobileProposal>,
    pub form_exemption: ExemptionProposalView,
    /// The clock of a suspension (停止党籍) in effect, if any.
    pub suspension: Option<SuspensionView>,
    /// A person whose identity the committee did not recognize, still on the roster: put to
    /// the committee to be taken off (docs/domain.md §6.5). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_not_recognized: Option<IdentityProposal>,
}

/// An identity not recognized (档案审核 不予认定) while the person is still on the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProposal {
    /// The archive review that ended `not_recognized`.
    pub archive_review_id: Uuid,
    pub reason_zh: String,
}

/// §8.1 at the campaign's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LostContactProposal {
    pub proposed: bool,
    pub reason_zh: String,
    pub last_contact_on: Option<chrono::NaiveDate>,
    pub months_without_contact: Option<u32>,
    /// No contact date is known: lost by default, a person must check.
    pub needs_manual_review: bool,
}

/// §8.2 at the campaign's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MobileProposal {
    pub proposed: bool,
    pub reason_zh: Option<String>,
    pub months_away: Option<u32>,
}

/// §8.3: whether the member need not re-fill the application form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExemptionProposalView {
    /// `exempt`, `eligible_by_reference` (a branch decision is needed) or `not_exempt`.
    pub proposal: String,
    pub ground: Option<crate::exemption::ExemptionGround>,
    pub reason_zh: String,
}

/// §8.4: a suspension in effect and its two-year window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuspensionView {
    pub disposition_id: Uuid,
    pub effective_on: chrono::NaiveDate,
    pub clock: crate::campaign::SuspensionClock,
    pub reminder_zh: String,
}

// ---- Ledgers ----------------------------------------------------------------------------

/// A register as a table (`GET /v1/ledgers/{kind}?format=json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerTable {
    pub kind: crate::ledger::LedgerKind,
    pub title: String,
    pub org_unit_id: Uuid,
    pub org_unit_name: String,
    pub generated_on: chrono::NaiveDate,
    /// Who exported it (填报人): the user's display name, or else the username.
    #[serde(default)]
    pub prepared_by: String,
    pub columns: Vec<String>,
    /// Grouped by 工作区, then 党支部 (each in name order), numbered in that order.
    pub rows: Vec<Vec<String>>,
    /// Counts beside the rows, by a column's value (the lost by how long and how contact was
    /// lost; the mobile by destination); empty for the other registers. In a workbook, a second
    /// sheet 分类统计.
    #[serde(default)]
    pub summaries: Vec<LedgerSummary>,
    /// Registers A and B: every submission of the ledger by the work areas at or below the
    /// unit that has been handed in (submitted, approved, returned or reopened), in work area
    /// order, each printable on its own with `submission=<id>` (docs/protocol.md §12.2). Empty
    /// for the other registers and below a work area.
    #[serde(default)]
    pub sections: Vec<LedgerSection>,
    /// Registers A and B: how many of the unit's entries are in no submission that is
    /// submitted or approved (未报送: new, in a draft, or in a returned or reopened submission
    /// being corrected); printable with `submission=unsubmitted`. `null` for the other registers.
    #[serde(default)]
    pub unsubmitted: Option<u64>,
    /// Which part of the register the rows are, as printed under the unit and date: the
    /// submission's line (报送情况) with `submission=<id>`, 未报送条目 with
    /// `submission=unsubmitted`; empty for the whole register.
    #[serde(default)]
    pub part_zh: String,
}

/// One submission of ledger A or B as the registers print it (docs/domain.md §8.16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerSection {
    pub submission_id: Uuid,
    pub work_area_id: Uuid,
    pub work_area_name: String,
    /// `submitted`, `approved`, `returned` or `reopened` (`ledger_submissions.status`).
    pub status: String,
    pub status_zh: String,
    /// A 补报: a later submission of a ledger the work area had handed in already.
    pub supplementary: bool,
    pub received_on: Option<chrono::NaiveDate>,
    pub audited_on: Option<chrono::NaiveDate>,
    pub reopened_on: Option<chrono::NaiveDate>,
    /// The entries marked with it: what it submitted (frozen while it is submitted or
    /// approved; being corrected while it is returned or reopened).
    pub entries: u64,
    /// Its line as the register prints it (报送情况).
    pub note_zh: String,
}

/// One breakdown of a register's rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerSummary {
    /// 按失联时长统计 …
    pub title: String,
    /// The column counted.
    pub column: String,
    /// (value, rows), most first; an empty value reads 未填写.
    pub counts: Vec<(String, u64)>,
}

// ---- Roster import ----------------------------------------------------------------------

/// `POST /v1/members/search`: the parameters of `GET /v1/members` in a request body, so a
/// search by 公民身份号码 never travels in a URL (proxies and browsers log URLs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberSearchRequest {
    /// The unit; default the caller's own.
    #[serde(default)]
    pub org_unit_id: Option<Uuid>,
    /// Part of a name, or the beginning of a 公民身份号码 (at most 50 characters; masked roles
    /// match a number only when it is whole).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub q: Option<String>,
    /// Only members in this verification state (`unverified` includes members with none).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^(unverified|confirmed_on_site|confirmed_remote|confirmed_assisted|pending_lost|flagged_surplus|removed_from_roster)$"
        )
    )]
    pub roster_status: Option<String>,
    /// Only these members (at most 100).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub ids: Option<Vec<Uuid>>,
    /// Members per page: default 50, 1 to 200.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// How many matching members to skip (ordered by name), at most 1,000,000.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000000))]
    pub offset: Option<u64>,
}

/// `GET /v1/members` and `POST /v1/members/search`: one page of the members of a unit that
/// match a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberList {
    pub org_unit_id: Uuid,
    /// How many members match in all (the page holds at most `limit` of them).
    pub total: u64,
    pub offset: u64,
    pub members: Vec<MemberSummary>,
}

/// A member as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberSummary {
    pub id: Uuid,
    /// The member's branch.
    pub org_unit_id: Uuid,
    pub version: u64,
    pub name: String,
    pub gender: Option<String>,
    /// In full, or masked for roles that do not need it (`id_number_masked`).
    pub id_number: Option<String>,
    pub id_number_masked: bool,
    pub member_type: Option<String>,
    pub roster_status: Option<String>,
    pub contact_status: Option<String>,
    /// The day the server recorded the verification outcome.
    pub checked_on: Option<chrono::NaiveDate>,
    /// The member's snapshot in the frozen baseline (docs/protocol.md §9.3), if taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<MemberBaseline>,
    /// His move to another branch, proposed or done (docs/domain.md §6.7), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#move: Option<MemberMove>,
}

/// A member's move to another branch as lists show it (docs/protocol.md §9.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberMove {
    /// `proposed`, `accepted`, `declined` or `cancelled`.
    pub status: String,
    /// While proposed: the branch asked to take him.
    pub to_branch_id: Option<Uuid>,
    pub reason: Option<String>,
    /// The receiving branch's note (a refusal's reason).
    pub note: Option<String>,
    /// Once moved: the branch he came from, and when.
    pub moved_from_branch_id: Option<Uuid>,
    pub moved_on: Option<chrono::NaiveDate>,
}

/// A member's baseline snapshot as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberBaseline {
    /// `at_start` or `added`.
    pub kind: String,
    pub on: Option<chrono::NaiveDate>,
    pub lost: bool,
    pub lost_months: Option<u32>,
    pub mobile: bool,
    pub corrected_on: Option<chrono::NaiveDate>,
    pub correction: Option<String>,
}

/// `GET /v1/members/{id}/checks`: the five checks of one member (docs/domain.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberChecks {
    pub member_id: Uuid,
    pub name: String,
    /// `roster`, `archive`, `dues`, `transfer`, `performance`, in this order.
    pub checks: Vec<MemberCheck>,
}

/// One of the five checks: whether it is done, when, by whom, and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberCheck {
    pub check: String,
    pub label_zh: String,
    pub done: bool,
    /// The day it was done, as recorded.
    pub on: Option<chrono::NaiveDate>,
    /// Who recorded it (from the change log).
    pub by: Option<Uuid>,
    pub by_name: Option<String>,
    /// What was found, in Chinese.
    pub detail_zh: String,
}

/// `POST /v1/import/roster`: what the import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportResult {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Fields the file changed that had been edited (on a device) since an import last wrote
    /// the record: the file's value was written, the edited one kept in the conflict log
    /// (`GET /v1/conflicts`).
    #[serde(default)]
    pub conflicts: u64,
    /// Of `updated`, transfers a corrected 转出明细 re-addressed to another branch (the branch it
    /// left is told: `GET /v1/departures`).
    #[serde(default)]
    pub readdressed: u64,
    /// Transfers of the list that the file sent again no longer holds: withdrawn (撤回), kept
    /// and shown as such, counted nowhere. Always 0 for a roster.
    #[serde(default)]
    pub withdrawn: u64,
}

/// One problem of a refused roster file: its row (as the spreadsheet numbers it) and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportProblem {
    pub row: u64,
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// The body of a refused roster file: the usual error, and every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRefused {
    pub error: crate::api::ErrorDetail,
    pub problems: Vec<ImportProblem>,
}
