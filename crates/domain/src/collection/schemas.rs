//! The declarations of the collections: fields from docs/protocol.md §9 and docs/domain.md §5, writers from
//! docs/domain.md §9. Enum words are the snake_case English of the seed's categories; their Chinese
//! labels belong to the exports.

use super::FieldType::{self, *};
use super::{Collection, FieldSpec, Schema};
use crate::org::OrgUnitKind::{Branch, Committee, Street, WorkArea};
use crate::role::Role::{self, *};

/// The branch's working group (党支部书记 and 工作组成员).
const BRANCH: &[Role] = &[BranchSecretary, GroupMember];
/// The committee (党工委).
const COMMITTEE: &[Role] = &[CommitteeAdmin];
/// The organization office (组织办), which audits ledgers.
const ORG_OFFICE: &[Role] = &[OrgOffice];
const WORK_AREA: &[Role] = &[WorkAreaStaff];
/// Who uploads transfer-out details: the street, or the committee itself (docs/domain.md §9).
const STREET_OR_COMMITTEE: &[Role] = &[StreetStaff, CommitteeAdmin];

const fn f(
    name: &'static str,
    label_zh: &'static str,
    ty: FieldType,
    writers: &'static [Role],
) -> FieldSpec {
    FieldSpec {
        name,
        label_zh,
        ty,
        required: false,
        writers,
    }
}

const fn req(
    name: &'static str,
    label_zh: &'static str,
    ty: FieldType,
    writers: &'static [Role],
) -> FieldSpec {
    FieldSpec {
        name,
        label_zh,
        ty,
        required: true,
        writers,
    }
}

const SHORT: FieldType = Text(100);
const LONG: FieldType = Text(2000);

const GENDER: &[&str] = &["male", "female"];
const MEMBER_TYPE: &[&str] = &["full", "probationary"];
/// 联系状态 (docs/domain.md §6.2).
const CONTACT_STATUS: &[&str] = &[
    "normal",
    "mobile",
    "lost",
    "searching",
    "found",
    "managed_elsewhere",
    "still_lost",
];
/// Roster verification states (docs/domain.md §6.1).
const ROSTER_STATUS: &[&str] = &[
    "unverified",
    "confirmed_on_site",
    "confirmed_remote",
    "confirmed_assisted",
    "pending_lost",
    "flagged_surplus",
    "removed_from_roster",
];
/// 党组织类别 ①–⑨ (docs/domain.md §5.1, S3).
const ORG_CATEGORY: &[&str] = &[
    "state_enterprise",
    "non_public_enterprise",
    "rural",
    "government",
    "school",
    "other_institution",
    "street_community",
    "social_organization",
    "other",
];
/// 失去联系情形 ①–⑦ (docs/domain.md §5.5, S3).
const LOSS_CIRCUMSTANCE: &[&str] = &[
    "working_away",
    "employer_restructured",
    "unknown_after_graduation",
    "employer_changed",
    "went_abroad",
    "residence_changed",
    "other",
];
/// The departments of a 部门查找 (docs/domain.md §2, §5.6).
const SEARCH_DEPARTMENTS: &[&str] = &[
    "police_household",
    "student_records",
    "social_security",
    "medical_insurance",
    "minimum_allowance",
    "property",
    "business_registration",
    "tax",
];
/// The channels of a search attempt, by method group (docs/domain.md §5.6).
const SEARCH_CHANNELS: &[&str] = &[
    // direct
    "phone",
    "sms",
    "home_visit",
    // interpersonal
    "relatives",
    "neighbours",
    "colleagues",
    "classmates",
    "friends",
    // department
    "police_household",
    "student_records",
    "social_security",
    "medical_insurance",
    "minimum_allowance",
    "property",
    "business_registration",
    "tax",
    // other
    "social_network",
    "telecom_operator",
    "airline_railway",
    "hotline_12371",
    "caretaker_office",
    "reunion",
];
const SEARCH_RESULT: &[&str] = &["no_lead", "lead", "contact_made"];
const LEDGER: &[&str] = &["ledger_a", "ledger_b"];

static MEMBERS: Schema = Schema {
    collection: Collection::Members,
    name: "members",
    label_zh: "党员",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("name", "姓名", Text(50), BRANCH),
        f("gender", "性别", Enum(GENDER), BRANCH),
        f("id_number", "公民身份号码", IdNumber, BRANCH),
        // A 15-digit first-generation number is converted to 18 characters on write; what was
        // entered is kept, and the branch confirms the result (collection::validate).
        f(
            "id_number_entered",
            "原填写的15位身份号码",
            Text(15),
            BRANCH,
        ),
        f("id_number_to_confirm", "身份号码待核实", Bool, BRANCH),
        // 干部人事档案: such a member's file is not re-audited (collection::validate).
        f("cadre_file", "档案为干部人事档案", Bool, BRANCH),
        f("birth_date", "出生日期", Date, BRANCH),
        f("ethnicity", "民族", Text(20), BRANCH),
        f("native_place", "籍贯", SHORT, BRANCH),
        f("phone", "联系电话", Text(40), BRANCH),
        f("education", "学历", Text(30), BRANCH),
        f("member_type", "人员类别", Enum(MEMBER_TYPE), BRANCH),
        f("join_date", "入党日期", Date, BRANCH),
        f("full_member_date", "转为正式党员日期", Date, BRANCH),
        f("sponsors", "入党介绍人", SHORT, BRANCH),
        f("transferred_in_on", "组织关系转入日期", Date, BRANCH),
        f("work_unit", "工作单位", SHORT, BRANCH),
        f("job", "工作岗位", SHORT, BRANCH),
        f("work_started_on", "参加工作日期", Date, BRANCH),
        f("residence", "现居住地", Text(200), BRANCH),
        f("household_registration", "户籍所在地", Text(200), BRANCH),
        f("police_station", "户籍所在派出所", SHORT, BRANCH),
        f("last_activity_on", "最后参加组织生活日期", Date, BRANCH),
        f("last_dues_paid_on", "最后交纳党费日期", Date, BRANCH),
        f("whereabouts_known", "去向是否明确", Bool, BRANCH),
        f("flow_out_on", "流出时间", Date, BRANCH),
        f("flow_out_reason", "流出原因", Text(200), BRANCH),
        f("flow_destination", "流出去向", Text(200), BRANCH),
        // The branch's own decision that the member was already lost when the campaign began
        // (是否失联), with what it rests on (crate::baseline, docs/domain.md §8.9).
        f("lost_at_start", "排查开始时是否失联", Bool, BRANCH),
        f("lost_at_start_reason", "认定失联的依据", Text(500), BRANCH),
        f("inflow_organization", "流入地党组织", SHORT, BRANCH),
        f("contact_while_away", "外出期间联系方式", SHORT, BRANCH),
        f("holds_mobile_card", "是否持流动党员活动证", Bool, BRANCH),
        // What the form exemption of §8.3 asks about the member.
        f("retired", "是否离退休", Bool, BRANCH),
        f(
            "relationship_uninterrupted",
            "组织关系是否一直未中断",
            Bool,
            BRANCH,
        ),
        f("org_category", "党组织类别", Enum(ORG_CATEGORY), BRANCH),
        f("contact_status", "联系状态", Enum(CONTACT_STATUS), BRANCH),
        // The 组织办 writes it only to remove a person from the roster (workflow.rs).
        f(
            "roster_status",
            "核查状态",
            Enum(ROSTER_STATUS),
            &[BranchSecretary, GroupMember, OrgOffice],
        ),
        f("on_roster", "是否在花名册", Bool, BRANCH),
        // Stamped by the server when the verification outcome is first recorded
        // (workflow::stamps).
        f("checked_on", "核查结果登记日期", Date, &[]),
        // The other four of the five checks (docs/domain.md §4), each dated when the branch
        // records it done; who did it is in the change log (`GET /v1/members/{id}/checks`).
        f("archive_checked_on", "档案核查日期", Date, BRANCH),
        f("dues_checked_on", "党费及组织生活核查日期", Date, BRANCH),
        f("transfer_checked_on", "组织关系接转核查日期", Date, BRANCH),
        f("performance_checked_on", "现实表现核查日期", Date, BRANCH),
        // Confirming a member needs a complete, signed information form of the matching mode;
        // a remote confirmation also records why the member could not come (确有困难); without
        // such a form, only an exception with its reason (workflow::check_confirmation).
        f("remote_reason", "远程确认原因", Text(500), BRANCH),
        f(
            "confirmation_exception",
            "无完整采集表确认的理由",
            Text(500),
            BRANCH,
        ),
        // The campaign's frozen baseline (crate::baseline, docs/domain.md §8.9), written by the
        // server only: taken when the 组织办 freezes it, or when the member is first recorded
        // after that; corrected only by the 组织办, with a reason.
        f("baseline_on", "底数登记日期", Date, &[]),
        f(
            "baseline_kind",
            "底数类别",
            Enum(&["at_start", "added"]),
            &[],
        ),
        f("baseline_lost", "排查开始时失联", Bool, &[]),
        f(
            "baseline_lost_months",
            "排查开始时失联月数",
            Int { min: 0, max: 1200 },
            &[],
        ),
        f("baseline_mobile", "排查开始时流动", Bool, &[]),
        f("baseline_corrected_on", "底数更正日期", Date, &[]),
        f("baseline_correction", "底数更正理由", Text(500), &[]),
        // The member's facts as they stood before the start, kept by the server from what the
        // branch records (crate::baseline::track): later facts never change them.
        f(
            "start_last_activity_on",
            "排查开始前最后参加组织生活日期",
            Date,
            &[],
        ),
        f(
            "start_last_dues_paid_on",
            "排查开始前最后交纳党费日期",
            Date,
            &[],
        ),
        f(
            "start_whereabouts_known",
            "排查开始时去向是否明确",
            Bool,
            &[],
        ),
        f("start_flow_out_on", "排查开始前流出时间", Date, &[]),
        // Stamped when a lost member is first found (workflow::stamps).
        f("found_on", "找到日期", Date, &[]),
        f("remarks", "备注", LONG, BRANCH),
    ],
};

static INFO_FORMS: Schema = Schema {
    collection: Collection::InfoForms,
    name: "info_forms",
    label_zh: "党员信息采集表",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("member_id", "党员", Ref(Collection::Members), BRANCH),
        req(
            "confirmation_mode",
            "确认方式",
            Enum(&[
                "on_site",
                "post",
                "fax",
                "email",
                "assisted_home_visit",
                "pending_lost",
            ]),
            BRANCH,
        ),
        f("confirmed_on", "确认日期", Date, BRANCH),
        // The day the typed date reached the server, 补录, and the 组织办's acceptance of the
        // typed date (crate::entry, docs/domain.md §8.15).
        f("entered_on", "确认日期录入日期", Date, &[]),
        f("late_entry", "补录", Bool, &[]),
        f(
            "late_entry_accepted",
            "组织办认可补录日期",
            Bool,
            ORG_OFFICE,
        ),
        f("photos", "二寸照片", BlobList, BRANCH),
        f("signature", "本人签字", Blob, BRANCH),
        f("fingerprint", "手印", Blob, BRANCH),
        f("flag_photo", "党旗下照片", Blob, BRANCH),
        f("copies", "份数", Int { min: 0, max: 10 }, BRANCH),
        f("pledge_signed", "是否签订承诺书", Bool, BRANCH),
        f("secretary_signed", "支部书记是否签字", Bool, BRANCH),
        f("helper_name", "上门服务人员", Text(50), BRANCH),
        f("remarks", "备注", LONG, BRANCH),
    ],
};

static ROSTER_LEDGER_ENTRIES: Schema = Schema {
    collection: Collection::RosterLedgerEntries,
    name: "roster_ledger_entries",
    label_zh: "花名册核查台帐条目",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("ledger", "台帐", Enum(LEDGER), BRANCH),
        f("member_id", "党员", Ref(Collection::Members), BRANCH),
        req("name", "姓名", Text(50), BRANCH),
        f("gender", "性别", Enum(GENDER), BRANCH),
        f("birth_date", "出生日期", Date, BRANCH),
        f("id_number", "公民身份号码", IdNumber, BRANCH),
        f("residence", "现居住地", Text(200), BRANCH),
        f("phone", "联系电话", Text(40), BRANCH),
        f("join_date", "入党日期", Date, BRANCH),
        f("joining_organization", "入党时所在党组织", SHORT, BRANCH),
        f("full_member_date", "转为正式党员日期", Date, BRANCH),
        f("has_transfer_letter", "有无组织关系介绍信", Bool, BRANCH),
        f("transfer_letter_issuer", "介绍信开具单位", SHORT, BRANCH),
        f("transfer_letter_date", "介绍信日期", Date, BRANCH),
        f("transfer_letter_no", "介绍信编号", Text(50), BRANCH),
        f("has_application_form", "有无入党志愿书", Bool, BRANCH),
        f(
            "application_form_location",
            "入党志愿书存放处",
            SHORT,
            BRANCH,
        ),
        f("archive_status", "档案情况", SHORT, BRANCH),
        f("reason_not_on_roster", "不在花名册原因", Text(500), BRANCH),
        f(
            "surplus_reason",
            "多余原因",
            Enum(&[
                "deceased",
                "transferred_out",
                "duplicate",
                "removed_or_expelled",
                "suspended",
                "listed_in_error",
                "no_such_person",
                "other",
            ]),
            BRANCH,
        ),
        f("event_date", "事由发生日期", Date, BRANCH),
        f("evidence", "证明材料", BlobList, BRANCH),
        f("proposed_action", "拟处理意见", Text(500), BRANCH),
        f("branch_opinion", "支部初审意见", Text(500), BRANCH),
        f("audit_opinion", "组织办审核意见", Text(500), ORG_OFFICE),
        f("audited_on", "审核日期", Date, ORG_OFFICE),
        f(
            "outcome",
            "处理结果",
            Enum(&[
                "added_to_roster",
                "under_identity_review",
                "not_recognized",
                "removed_from_roster",
            ]),
            ORG_OFFICE,
        ),
        f("remarks", "备注", LONG, BRANCH),
        // The submission that last took this entry (stamped when a submission is submitted):
        // while that submission is submitted or approved, the entry is frozen.
        f(
            "submission_id",
            "所属报送",
            Ref(Collection::LedgerSubmissions),
            &[],
        ),
    ],
};

static LEDGER_SUBMISSIONS: Schema = Schema {
    collection: Collection::LedgerSubmissions,
    name: "ledger_submissions",
    label_zh: "台帐报送",
    owner_kinds: &[WorkArea],
    creators: WORK_AREA,
    addressed_to: None,
    fields: &[
        req("ledger", "台帐", Enum(LEDGER), WORK_AREA),
        f(
            "status",
            "报送状态",
            Enum(&["draft", "submitted", "returned", "approved"]),
            &[WorkAreaStaff, OrgOffice],
        ),
        f(
            "entry_count",
            "条目数",
            Int {
                min: 0,
                max: 1_000_000,
            },
            WORK_AREA,
        ),
        f("submitted_on", "报送日期", Date, WORK_AREA),
        // Stamped by the server when the status becomes `submitted` (workflow::stamps).
        f("received_on", "组织办收到日期", Date, &[]),
        // Stamped at each submission: how many entries it took, and the SHA-256 of their
        // content then, so the 组织办 audits exactly what was submitted.
        f(
            "submitted_entries",
            "报送条目数",
            Int {
                min: 0,
                max: 1_000_000,
            },
            &[],
        ),
        f("entries_sha256", "报送内容摘要", Text(64), &[]),
        f("audited_on", "审核日期", Date, ORG_OFFICE),
        f("audit_opinion", "审核意见", Text(1000), ORG_OFFICE),
        f("remarks", "备注", LONG, WORK_AREA),
    ],
};

static ARCHIVE_REVIEWS: Schema = Schema {
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

static CONTACT_CASES: Schema = Schema {
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

static CONTACT_ATTEMPTS: Schema = Schema {
    collection: Collection::ContactAttempts,
    name: "contact_attempts",
    label_zh: "查找记录",
    owner_kinds: &[Branch],
    creators: &[BranchSecretary, GroupMember, CommitteeAdmin],
    addressed_to: None,
    fields: &[
        req(
            "case_id",
            "查找案例",
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

static DEPARTMENT_SEARCH_REQUESTS: Schema = Schema {
    collection: Collection::DepartmentSearchRequests,
    name: "department_search_requests",
    label_zh: "部门查找申请",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("case_id", "查找案例", Ref(Collection::ContactCases), BRANCH),
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

static TRANSFERS: Schema = Schema {
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
        // The 转出明细 the record came in with (one upload, one list).
        f("list_name", "转出批次", SHORT, STREET_OR_COMMITTEE),
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

static PERFORMANCE_CHECKS: Schema = Schema {
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

static DISPOSITIONS: Schema = Schema {
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
    ],
};

static CAMPAIGNS: Schema = Schema {
    collection: Collection::Campaigns,
    name: "campaigns",
    label_zh: "排查工作",
    owner_kinds: &[Committee],
    creators: COMMITTEE,
    addressed_to: None,
    fields: &[
        req("name", "名称", SHORT, COMMITTEE),
        req("start_date", "排查开始日期", Date, COMMITTEE),
        f("ledger_deadline", "台帐报送截止日期", Date, COMMITTEE),
        f(
            "verification_ends_on",
            "核查党员信息截止日期",
            Date,
            COMMITTEE,
        ),
        f("search_starts_on", "联系查找开始日期", Date, COMMITTEE),
        f("search_ends_on", "联系查找截止日期", Date, COMMITTEE),
        f(
            "relationships_starts_on",
            "理顺组织关系开始日期",
            Date,
            COMMITTEE,
        ),
        f(
            "relationships_ends_on",
            "理顺组织关系截止日期",
            Date,
            COMMITTEE,
        ),
        f(
            "dispositions_starts_on",
            "稳妥处置开始日期",
            Date,
            COMMITTEE,
        ),
        f("dispositions_ends_on", "稳妥处置截止日期", Date, COMMITTEE),
        f("finalization_ends_on", "完善信息截止日期", Date, COMMITTEE),
        f(
            "lost_threshold_months",
            "失联认定月数",
            Int { min: 1, max: 60 },
            COMMITTEE,
        ),
        f(
            "suspension_window_years",
            "停止党籍期限（年）",
            Int { min: 1, max: 10 },
            COMMITTEE,
        ),
        // How many days a typed date may lie before the day it reached the server before it
        // is marked 补录 (crate::entry; default 3).
        f(
            "late_entry_days",
            "补录认定天数",
            Int { min: 0, max: 60 },
            COMMITTEE,
        ),
        // Stamped when the 组织办 signs the campaign's first report (docs/domain.md §8.14).
        f("reported_on", "首次签发报表日期", Date, &[]),
        // Stamped when the 组织办 freezes the baseline (crate::baseline).
        f("baseline_on", "底数确定日期", Date, &[]),
        f(
            "baseline_members",
            "确定时党员人数",
            Int {
                min: 0,
                max: 10_000_000,
            },
            &[],
        ),
    ],
};

static WORKING_GROUPS: Schema = Schema {
    collection: Collection::WorkingGroups,
    name: "working_groups",
    label_zh: "工作组",
    owner_kinds: &[Branch],
    creators: BRANCH,
    addressed_to: None,
    fields: &[
        req("people", "工作组成员", People, BRANCH),
        f("deployment_meeting_on", "部署会议日期", Date, BRANCH),
        f("division_of_work", "分工", Text(2000), BRANCH),
        // 村居实际底数: the village's or community's actual count of members, which the roster is
        // checked against (docs/domain.md §4.1); the status reconciles them.
        f(
            "actual_count",
            "村（社区）实际党员数",
            Int {
                min: 0,
                max: 1_000_000,
            },
            BRANCH,
        ),
        f("actual_count_on", "实际底数核对日期", Date, BRANCH),
        f("actual_count_basis", "实际底数核对依据", Text(500), BRANCH),
        f("reconciliation_note", "底数差异说明", Text(1000), BRANCH),
    ],
};

pub(super) fn schema(c: Collection) -> &'static Schema {
    match c {
        Collection::Members => &MEMBERS,
        Collection::InfoForms => &INFO_FORMS,
        Collection::RosterLedgerEntries => &ROSTER_LEDGER_ENTRIES,
        Collection::LedgerSubmissions => &LEDGER_SUBMISSIONS,
        Collection::ArchiveReviews => &ARCHIVE_REVIEWS,
        Collection::ContactCases => &CONTACT_CASES,
        Collection::ContactAttempts => &CONTACT_ATTEMPTS,
        Collection::DepartmentSearchRequests => &DEPARTMENT_SEARCH_REQUESTS,
        Collection::Transfers => &TRANSFERS,
        Collection::PerformanceChecks => &PERFORMANCE_CHECKS,
        Collection::Dispositions => &DISPOSITIONS,
        Collection::Campaigns => &CAMPAIGNS,
        Collection::WorkingGroups => &WORKING_GROUPS,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::super::validate::{Mode, validate_fields};
    use super::*;

    const ALL_ROLES: [Role; 8] = Role::ALL;

    fn only(roles: &[Role]) -> Vec<Role> {
        let mut v = roles.to_vec();
        v.sort_by_key(|r| r.as_str());
        v
    }

    /// docs/domain.md §9, written out again as data: who creates each kind of record and who writes
    /// the fields that carry a decision. The declarations must say the same.
    #[test]
    fn the_declarations_are_the_permission_matrix_of_section_9() {
        let branch = [BranchSecretary, GroupMember];
        let creators: &[(Collection, &[Role])] = &[
            // "Create or edit member records, info forms: branch ✔".
            (Collection::Members, &branch),
            (Collection::InfoForms, &branch),
            // "Fill Ledgers A/B: branch ✔".
            (Collection::RosterLedgerEntries, &branch),
            // "compile + submit (≤ 11 Mar)": the work area.
            (Collection::LedgerSubmissions, &[WorkAreaStaff]),
            // "Upload transfer-out details: 党工委 ✔ (or 街道), 街道 ✔".
            (Collection::Transfers, &[StreetStaff, CommitteeAdmin]),
            // "Request archive verification: branch ✔".
            (Collection::ArchiveReviews, &branch),
            // "Direct / interpersonal / other search: branch ✔, 党工委 ✔".
            (
                Collection::ContactAttempts,
                &[BranchSecretary, GroupMember, CommitteeAdmin],
            ),
            (Collection::ContactCases, &branch),
            // "Department search: branch request".
            (Collection::DepartmentSearchRequests, &branch),
            // "Performance check via departments: branch ✔ (record)".
            (Collection::PerformanceChecks, &branch),
            // "Propose disposition, hold branch meeting: branch ✔".
            (Collection::Dispositions, &branch),
            (Collection::Campaigns, &[CommitteeAdmin]),
            (Collection::WorkingGroups, &branch),
        ];
        for (c, roles) in creators {
            assert_eq!(only(c.schema().creators), only(roles), "{}", c.as_str());
        }
        let writers: &[(Collection, &str, &[Role])] = &[
            // "audit / return": the 组织办.
            (
                Collection::RosterLedgerEntries,
                "audit_opinion",
                &[OrgOffice],
            ),
            (Collection::RosterLedgerEntries, "outcome", &[OrgOffice]),
            (
                Collection::LedgerSubmissions,
                "status",
                &[WorkAreaStaff, OrgOffice],
            ),
            (Collection::LedgerSubmissions, "audit_opinion", &[OrgOffice]),
            // "Follow up transfers, re-issue receipts: branch ✔".
            (Collection::Transfers, "follow_up_note", &branch),
            (Collection::Transfers, "registered_lost", &branch),
            (Collection::Transfers, "member_id", &branch),
            (
                Collection::Transfers,
                "receipt_status",
                &[BranchSecretary, GroupMember, CommitteeAdmin],
            ),
            // "Request archive verification: 党工委 execute".
            (Collection::ArchiveReviews, "status", &[CommitteeAdmin]),
            (Collection::ArchiveReviews, "finding", &[CommitteeAdmin]),
            (Collection::ArchiveReviews, "exemption", &[CommitteeAdmin]),
            // "Department search: 党工委 execute" (§8.8: only committee users record it).
            (
                Collection::DepartmentSearchRequests,
                "status",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "executed_on",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "result",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "result_detail",
                &[CommitteeAdmin],
            ),
            (
                Collection::DepartmentSearchRequests,
                "contact_obtained",
                &[CommitteeAdmin],
            ),
            // "Propose disposition, hold branch meeting: branch"; "Approve: 党工委".
            (Collection::Dispositions, "branch_meeting_on", &branch),
            (Collection::Dispositions, "approved_on", &[CommitteeAdmin]),
            (
                Collection::Dispositions,
                "approval_opinion",
                &[CommitteeAdmin],
            ),
            (Collection::Dispositions, "filed_on", &[CommitteeAdmin]),
            (Collection::Dispositions, "effective_on", &[CommitteeAdmin]),
        ];
        for (c, field, roles) in writers {
            let spec = c.schema().field(field).unwrap();
            assert_eq!(only(spec.writers), only(roles), "{}.{field}", c.as_str());
        }
        // Nobody outside the branch edits a member's record, but the 组织办 for removal.
        for spec in Collection::Members.schema().fields {
            let allowed: &[Role] = match spec.name {
                "roster_status" => &[BranchSecretary, GroupMember, OrgOffice],
                // Stamped by the server.
                "checked_on" | "found_on" => &[],
                f if crate::baseline::MEMBER_FIELDS.contains(&f) => &[],
                f if crate::baseline::START_FIELDS.contains(&f) => &[],
                _ => &branch,
            };
            assert_eq!(only(spec.writers), only(allowed), "members.{}", spec.name);
        }
    }

    /// A value of the right type for a field, for the writer check below.
    fn sample(ty: FieldType) -> Value {
        match ty {
            Text(_) => json!("x"),
            Date => json!("2016-03-07"),
            Bool => json!(true),
            Int { min, .. } => json!(min),
            Enum(words) => json!(words[0]),
            EnumList(words) => json!([words[0]]),
            IdNumber => json!("11010519491231002X"),
            Ref(_) => json!("0190a000-0000-7000-8000-000000000000"),
            Unit(_) => json!("0190a000-0000-7000-8000-000000000000"),
            Blob => json!("ab".repeat(32)),
            BlobList => json!(["ab".repeat(32)]),
            People => {
                json!([{"name": "甲"}, {"name": "乙"}, {"name": "丙"}, {"name": "丁"}, {"name": "戊"}])
            }
        }
    }

    /// Every field refuses every role that is not among its writers, with
    /// `field_not_writable`, and takes a value from every role that is.
    #[test]
    fn every_field_refuses_a_role_outside_its_writers() {
        let mut refused = 0;
        for c in Collection::ALL {
            let schema = c.schema();
            for spec in schema.fields {
                let mut fields = Map::new();
                fields.insert(spec.name.to_owned(), sample(spec.ty));
                for role in ALL_ROLES {
                    let result = validate_fields(schema, &fields, Mode::Update, role);
                    if spec.writers.contains(&role) {
                        assert!(
                            result.is_ok(),
                            "{}.{} by {role:?}: {result:?}",
                            c.as_str(),
                            spec.name
                        );
                    } else {
                        refused += 1;
                        assert_eq!(
                            result.err().map(|e| e.code),
                            Some("field_not_writable"),
                            "{}.{} by {role:?}",
                            c.as_str(),
                            spec.name
                        );
                    }
                }
            }
        }
        assert!(refused > 500, "{refused}");
    }
}
