//! The campaign record and the working groups.

use super::*;

pub(super) static CAMPAIGNS: Schema = Schema {
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

pub(super) static WORKING_GROUPS: Schema = Schema {
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
