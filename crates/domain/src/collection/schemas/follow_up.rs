//! Following members up: archive reviews, lost contact (cases, attempts, department searches),
//! transfers, conduct checks and dispositions.

use super::*;

pub(super) static ARCHIVE_REVIEWS: Schema = Schema {
    collection: Collection::ArchiveReviews,
    name: "archive_reviews",
    label_zh: "档案审核",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("member_id", "党员", Ref(Collection::Members), BRANCH),
        f("requested_on", "申请日期", Date, BRANCH),
        f(
            "reason",
            "申请原因",
            Enum(&["transferred_in", "incomplete", "lost", "identity_in_doubt"]),
            BRANCH,
        ),
        f("request_note", "申请说明", Text(1000), BRANCH),
        f(
            "status",
            "审核状态",
            Enum(&[
                "requested",
                "under_review",
                "exempt_confirmed",
                "proof_requested",
                "county_review",
                "confirmed",
                "not_recognized",
            ]),
            COMMITTEE,
        ),
        f("reviewer", "审核人", Text(50), COMMITTEE),
        f(
            "finding",
            "审核发现",
            Enum(&[
                "complete",
                "incomplete",
                "lost",
                "identity_in_doubt",
                "irregular_admission",
                "false_member",
            ]),
            COMMITTEE,
        ),
        f(
            "exemption",
            "免于补办依据",
            Enum(&[
                "joined_before_founding",
                "retired",
                "aged_sixty_rural_or_community",
            ]),
            COMMITTEE,
        ),
        f("exemption_note", "免于补办说明", Text(1000), COMMITTEE),
        // The branch's decision to treat a retired member, or one of 60 or more in a rural or
        // community branch, like a pre-1949 member (docs/domain.md §8.3), with its note; the
        // committee confirms it or overrules it (workflow::check_role_rules).
        f(
            "branch_exemption",
            "支部决定参照处理的依据",
            Enum(&["retired", "aged_sixty_rural_or_community"]),
            BRANCH,
        ),
        f("branch_exemption_note", "支部决定说明", Text(1000), BRANCH),
        f(
            "exemption_overruled",
            "党工委不同意参照处理",
            Bool,
            COMMITTEE,
        ),
        f(
            "proof",
            "证明材料",
            BlobList,
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f("county_review_on", "县级组织部门审核日期", Date, COMMITTEE),
        f("result_note", "审核结论", Text(1000), COMMITTEE),
    ],
};

pub(super) static CONTACT_CASES: Schema = Schema {
    collection: Collection::ContactCases,
    name: "contact_cases",
    label_zh: "失联党员查找",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("member_id", "党员", Ref(Collection::Members), BRANCH),
        f("org_category", "党组织类别", Enum(ORG_CATEGORY), BRANCH),
        f("last_activity_on", "最后参加组织生活日期", Date, BRANCH),
        f("last_dues_paid_on", "最后交纳党费日期", Date, BRANCH),
        // From the rule, not typed by hand: the member's baseline, or the lost-contact rule
        // applied to the member's fields when the case is opened (crate::baseline).
        f(
            "lost_months_at_start",
            "排查开始时失联月数",
            Int { min: 0, max: 1200 },
            &[],
        ),
        f(
            "lost_months_at_end",
            "查找结束时失联月数",
            Int { min: 0, max: 1200 },
            BRANCH,
        ),
        f("outflow_on", "流出时间", Date, BRANCH),
        f("outflow_reason", "流出原因", Text(200), BRANCH),
        f("presumed_destination", "可能去向", Text(200), BRANCH),
        f(
            "loss_circumstance",
            "失去联系情形",
            Enum(LOSS_CIRCUMSTANCE),
            BRANCH,
        ),
        f("former_addresses", "曾经住址", Text(500), BRANCH),
        f("former_employer", "原工作单位", SHORT, BRANCH),
        f("relatives", "亲友及联系方式", Text(1000), BRANCH),
        f(
            "result",
            "查找结果",
            Enum(&["searching", "found", "managed_elsewhere", "still_lost"]),
            BRANCH,
        ),
        f("found_on", "取得联系日期", Date, BRANCH),
        f(
            "found_by",
            "取得联系方式",
            Enum(&["direct", "interpersonal", "department", "other"]),
            BRANCH,
        ),
        f("current_residence", "现居住地", Text(200), BRANCH),
        f("current_employer", "现工作单位", SHORT, BRANCH),
        f("current_phone", "现联系电话", Text(40), BRANCH),
        f(
            "cause_subjective",
            "主观或客观原因",
            Enum(&["subjective", "objective"]),
            BRANCH,
        ),
        f(
            "cause_personal",
            "个人或组织原因",
            Enum(&["personal", "organizational"]),
            BRANCH,
        ),
        f(
            "cause_consistent",
            "一时或一贯表现",
            Enum(&["momentary", "consistent"]),
            BRANCH,
        ),
        f("conduct_while_lost", "失联期间表现", Text(1000), BRANCH),
        f("violations_found", "是否有违纪违法", Bool, BRANCH),
        f("remarks", "备注", LONG, BRANCH),
    ],
};

pub(super) static CONTACT_ATTEMPTS: Schema = Schema {
    collection: Collection::ContactAttempts,
    name: "contact_attempts",
    label_zh: "查找记录",
    owner_kinds: &[Branch],
    creators: &[BranchSecretary, GroupMember, CommitteeAdmin],
    addressed_to: None,
    fields: &[
        req(
            "case_id",
            "查找记录",
            Ref(Collection::ContactCases),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        req(
            "attempted_on",
            "查找日期",
            Date,
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        // crate::entry, docs/domain.md §8.15.
        f("entered_on", "查找日期录入日期", Date, &[]),
        f("late_entry", "补录", Bool, &[]),
        f(
            "late_entry_accepted",
            "组织办认可补录日期",
            Bool,
            ORG_OFFICE,
        ),
        f(
            "operator",
            "查找人",
            Text(50),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        req(
            "method",
            "查找方式",
            Enum(&["direct", "interpersonal", "department", "other"]),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f(
            "channel",
            "查找渠道",
            Enum(SEARCH_CHANNELS),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f(
            "channel_detail",
            "渠道说明",
            Text(500),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        req(
            "result",
            "查找结果",
            Enum(SEARCH_RESULT),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f(
            "contact_obtained",
            "获得的联系方式",
            Text(500),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
    ],
};

pub(super) static DEPARTMENT_SEARCH_REQUESTS: Schema = Schema {
    collection: Collection::DepartmentSearchRequests,
    name: "department_search_requests",
    label_zh: "部门查找申请",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("case_id", "查找记录", Ref(Collection::ContactCases), BRANCH),
        f(
            "departments",
            "申请查找部门",
            EnumList(SEARCH_DEPARTMENTS),
            BRANCH,
        ),
        f("requested_on", "申请日期", Date, BRANCH),
        f("request_note", "申请说明", Text(1000), BRANCH),
        f(
            "status",
            "办理状态",
            Enum(&["requested", "in_progress", "done"]),
            COMMITTEE,
        ),
        f("executed_on", "查找日期", Date, COMMITTEE),
        f("result", "查找结果", Enum(SEARCH_RESULT), COMMITTEE),
        f("result_detail", "查找情况", Text(1000), COMMITTEE),
        f("contact_obtained", "获得的联系方式", Text(500), COMMITTEE),
    ],
};

pub(super) static TRANSFERS: Schema = Schema {
    collection: Collection::Transfers,
    name: "transfers",
    label_zh: "转出明细",
    owner_kinds: &[Street, Committee],
    creators: STREET_OR_COMMITTEE,
    addressed_to: Some("branch_id"),
    fields: &[
        req(
            "branch_id",
            "负责跟进的党支部",
            Unit(Branch),
            STREET_OR_COMMITTEE,
        ),
        req("member_name", "姓名", Text(50), STREET_OR_COMMITTEE),
        // The 转出明细 the record came in with (one upload, one list), and its row there (the
        // list's 序号): a corrected list sent again is matched row by row (docs/domain.md §6.4).
        f("list_name", "转出批次", SHORT, STREET_OR_COMMITTEE),
        f("list_row", "序号", Text(20), STREET_OR_COMMITTEE),
        // Set when a corrected list no longer holds the row (or the street takes it back): the
        // transfer stays, visibly 撤回, and counts no more.
        f("withdrawn_on", "撤回日期", Date, STREET_OR_COMMITTEE),
        f("id_number", "公民身份号码", IdNumber, STREET_OR_COMMITTEE),
        f("transferred_on", "转出日期", Date, STREET_OR_COMMITTEE),
        f("letter_no", "介绍信编号", Text(50), STREET_OR_COMMITTEE),
        f(
            "receiving_organization",
            "接收党组织",
            SHORT,
            STREET_OR_COMMITTEE,
        ),
        f(
            "receiving_committee",
            "接收方基层党(工)委",
            SHORT,
            STREET_OR_COMMITTEE,
        ),
        f("member_id", "对应党员", Ref(Collection::Members), BRANCH),
        f(
            "receipt_status",
            "回执状态",
            Enum(&[
                "issued",
                "receipt_pending",
                "receipt_received",
                "receiver_contacted",
                "receipt_reissued",
                "receiver_unreachable",
            ]),
            // §9 "Follow up transfers, re-issue receipts": the branch; the committee holds
            // receipts. The street uploads the list and follows its progress, no more.
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f(
            "receipt_on",
            "回执日期",
            Date,
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        // crate::entry, docs/domain.md §8.15.
        f("receipt_entered_on", "回执日期录入日期", Date, &[]),
        f("receipt_late_entry", "回执补录", Bool, &[]),
        f(
            "receipt_late_entry_accepted",
            "组织办认可回执补录日期",
            Bool,
            ORG_OFFICE,
        ),
        f("follow_up_note", "跟进情况", Text(1000), BRANCH),
        // Stamped the first time the receipt status moves on from `issued`: the day the
        // transfer was checked, an item of the verification window (docs/domain.md §3.2).
        f("checked_on", "核查日期", Date, &[]),
        f("registered_lost", "是否登记为失联", Bool, BRANCH),
    ],
};

pub(super) static PERFORMANCE_CHECKS: Schema = Schema {
    collection: Collection::PerformanceChecks,
    name: "performance_checks",
    label_zh: "现实表现核查",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("member_id", "党员", Ref(Collection::Members), BRANCH),
        req(
            "source",
            "核查途径",
            Enum(&["colleagues_neighbours", "department"]),
            BRANCH,
        ),
        f(
            "department",
            "核查部门",
            Enum(&[
                "discipline_inspection",
                "police",
                "court",
                "family_planning",
                "religious_affairs",
                "industry_commerce",
                "tax",
            ]),
            BRANCH,
        ),
        f("checked_on", "核查日期", Date, BRANCH),
        f("finding", "核查情况", Text(1000), BRANCH),
        f("violation", "是否有违纪违法", Bool, BRANCH),
        f("notes", "备注", LONG, BRANCH),
    ],
};

pub(super) static DISPOSITIONS: Schema = Schema {
    collection: Collection::Dispositions,
    name: "dispositions",
    label_zh: "处置",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("member_id", "党员", Ref(Collection::Members), BRANCH),
        req(
            "disposition_type",
            "处置方式",
            Enum(&[
                "restore_normal",
                "correction_deadline",
                "persuade_withdraw",
                "remove",
                "suspend",
                "cancel_probation",
                "probation_not_retained",
                "deceased",
                "transferred_out",
                "restore_membership",
            ]),
            BRANCH,
        ),
        f("basis", "处置依据", Text(2000), BRANCH),
        f(
            "status",
            "办理状态",
            Enum(&[
                "proposed",
                "branch_meeting_decided",
                "submitted",
                "approved",
                "filed",
                "effective",
                "returned",
                "rejected",
            ]),
            &[BranchSecretary, GroupMember, CommitteeAdmin],
        ),
        f("branch_meeting_on", "支部大会日期", Date, BRANCH),
        f("branch_meeting_vote", "支部大会表决情况", Text(200), BRANCH),
        f("correction_deadline", "限期改正截止日期", Date, BRANCH),
        f("approved_on", "党工委审批日期", Date, COMMITTEE),
        f("approval_opinion", "审批意见", Text(1000), COMMITTEE),
        f("filed_on", "备案日期", Date, COMMITTEE),
        f("filing_body", "备案机关", SHORT, COMMITTEE),
        f("effective_on", "生效日期", Date, COMMITTEE),
        f("review_on", "复核日期", Date, COMMITTEE),
        // Set by the server: a removal proposed while the member's suspension window still
        // runs (derived::removal_inside_window), for the committee to decide.
        f(
            "needs_committee_decision",
            "停止党籍未满期限即提出除名，须党工委决定",
            Bool,
            &[],
        ),
    ],
};
