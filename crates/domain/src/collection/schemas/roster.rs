//! The roster and the registers: members, their information forms, the entries of ledgers A
//! and B and their submissions.

use super::*;

pub(super) static MEMBERS: Schema = Schema {
    collection: Collection::Members,
    name: "members",
    label_zh: "党员",
    owner_kinds: &[Branch],
    creators: BRANCH,
    // A member is addressed to the branch he is proposed to move to, which sees him until it
    // accepts or declines (crate::moves).
    addressed_to: Some("move_to_branch_id"),
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
        // Why the 组织办 put back a person it had removed (workflow::check_reason_with_step).
        f("restore_reason", "恢复原因", Text(500), ORG_OFFICE),
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
        // A move to another branch of the tenant (组织关系转接, crate::moves, docs/domain.md
        // §6.7): proposed by the member's branch or the committee, accepted or declined by the
        // receiving branch; the server then moves him with his records.
        f("move_to_branch_id", "拟转入党支部", Unit(Branch), MOVERS),
        f("move_reason", "转接原因", Text(500), MOVERS),
        f("move_status", "支部间转接", Enum(MOVE_STATUS), MOVERS),
        f("move_note", "接收支部意见", Text(500), &[BranchSecretary]),
        f("moved_from_branch_id", "原所在党支部", Unit(Branch), &[]),
        f("moved_on", "转接日期", Date, &[]),
        // Where he was at the start, once he has moved: the numbers at the start stay there.
        f("start_branch_id", "排查开始时所在党支部", Unit(Branch), &[]),
    ],
};

pub(super) static INFO_FORMS: Schema = Schema {
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

pub(super) static ROSTER_LEDGER_ENTRIES: Schema = Schema {
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

pub(super) static LEDGER_SUBMISSIONS: Schema = Schema {
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
            Enum(&["draft", "submitted", "returned", "approved", "reopened"]),
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
        // A later submission of a ledger the work area has already handed in (补报): it takes
        // only the entries no other submission holds, and is audited on its own. Computed
        // when it is first submitted (derived::supplementary, docs/domain.md §8.16).
        f("supplementary", "补报", Bool, &[]),
        // The 组织办 reopens an approved submission to correct it, saying why in the same
        // write (workflow::check_reason_with_step); the server stamps the day, each time.
        f("reopen_reason", "重新打开原因", Text(500), ORG_OFFICE),
        f("reopened_on", "重新打开日期", Date, &[]),
        f("remarks", "备注", LONG, WORK_AREA),
    ],
};
