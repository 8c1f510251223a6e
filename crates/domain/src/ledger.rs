//! The registers a campaign hands in (docs/domain.md §5.3–§5.5, §10.10): which records each holds
//! and its columns, with the Chinese headers and values people read in the exported tables.

use serde::{Deserialize, Serialize};

use crate::collection::Collection;

/// The exportable registers (`GET /v1/ledgers/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// 不在花名册党员初审信息台帐
    LedgerA,
    /// 党员花名册多余人员信息台帐
    LedgerB,
    /// 失联党员登记册
    LostContactRegister,
    /// 经查找取得联系党员登记表
    FoundRegister,
    /// 经查找仍然无法取得联系党员登记表
    StillLostRegister,
    /// 排查后的党员花名册
    Roster,
    /// 流动党员登记册: members whose contact status is mobile, with where and why they went.
    MobileRegister,
}

/// Which records of which collection a register holds.
pub enum Selection {
    /// Records whose field has this value.
    Where(Collection, &'static str, &'static str),
    /// Every record of the collection, but those whose field has this value.
    Except(Collection, &'static str, &'static str),
    All(Collection),
}

/// Where a column's value comes from.
pub enum Source {
    /// 序号
    Serial,
    /// The name of the unit that holds the record (the 党支部).
    Unit,
    /// The name of the 工作区 above that unit (empty where there is none).
    WorkArea,
    /// A field of the record.
    Field(&'static str),
    /// A field of the member the record's `member_id` names.
    Member(&'static str),
    /// A blob list field, as how many documents are attached (已附2份; empty for none): a
    /// register on paper cannot hold the scans, only say that they are on file.
    Attachments(&'static str),
    /// A field of months without contact, as its band (docs/domain.md §10.4: 6个月至1年, 1至2年,
    /// 2年以上; 不详 without a month count).
    LostBand(&'static str),
}

/// What a column's cells are in a workbook: text, a number Excel can sum, or a date Excel can
/// sort and count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Number,
    Date,
}

/// How long a member lost at the start had been without contact, as the registers and the
/// status group it (`lost_by_duration`).
pub fn lost_band_zh(months: Option<&serde_json::Value>) -> String {
    match months.and_then(serde_json::Value::as_u64) {
        Some(m) if m < 12 => "6个月至1年",
        Some(m) if m < 24 => "1至2年",
        Some(_) => "2年以上",
        None => "不详",
    }
    .to_owned()
}

/// How a register shows attached documents: 已附N份, or nothing.
pub fn attachments_zh(value: Option<&serde_json::Value>) -> String {
    match value.and_then(serde_json::Value::as_array).map(Vec::len) {
        Some(n) if n > 0 => format!("已附{n}份"),
        _ => String::new(),
    }
}

impl LedgerKind {
    /// The counts a register adds beside its rows (docs/domain.md §10.4): its members by a
    /// column's value, as (title, column).
    pub fn breakdowns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::LostContactRegister | Self::StillLostRegister => &[
                ("按失联时长统计", "失联时长（排查开始时）"),
                ("按失去联系情形统计", "失去联系情形"),
            ],
            Self::MobileRegister => &[("按流出去向统计", "流出去向")],
            _ => &[],
        }
    }

    pub const ALL: [LedgerKind; 7] = [
        Self::LedgerA,
        Self::LedgerB,
        Self::LostContactRegister,
        Self::FoundRegister,
        Self::StillLostRegister,
        Self::Roster,
        Self::MobileRegister,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LedgerA => "ledger_a",
            Self::LedgerB => "ledger_b",
            Self::LostContactRegister => "lost_contact_register",
            Self::FoundRegister => "found_register",
            Self::StillLostRegister => "still_lost_register",
            Self::Roster => "roster",
            Self::MobileRegister => "mobile_register",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            Self::LedgerA => "不在花名册党员初审信息台帐",
            Self::LedgerB => "党员花名册多余人员信息台帐",
            Self::LostContactRegister => "失联党员登记册",
            Self::FoundRegister => "经查找取得联系党员登记表",
            Self::StillLostRegister => "经查找仍然无法取得联系党员登记表",
            Self::Roster => "党员花名册",
            Self::MobileRegister => "流动党员登记册",
        }
    }

    /// The collection a register's rows are records of.
    pub fn collection(self) -> Collection {
        match self.selection() {
            Selection::Where(c, _, _) | Selection::Except(c, _, _) | Selection::All(c) => c,
        }
    }

    /// What each column's cells are (see [`CellKind`]): 序号 and integer fields are numbers,
    /// date fields dates, the rest text.
    pub fn cell_kinds(self) -> Vec<CellKind> {
        let of = |collection: Collection, field: &str| match collection
            .schema()
            .field(field)
            .map(|f| f.ty)
        {
            Some(crate::collection::FieldType::Int { .. }) => CellKind::Number,
            Some(crate::collection::FieldType::Date) => CellKind::Date,
            _ => CellKind::Text,
        };
        self.columns()
            .iter()
            .map(|(_, source)| match source {
                Source::Serial => CellKind::Number,
                Source::Field(f) => of(self.collection(), f),
                Source::Member(f) => of(Collection::Members, f),
                Source::Unit | Source::WorkArea | Source::Attachments(_) | Source::LostBand(_) => {
                    CellKind::Text
                }
            })
            .collect()
    }

    /// Whether the register is too wide for a portrait page (it prints in landscape).
    pub fn is_wide(self) -> bool {
        self.columns().len() > 8
    }

    pub fn selection(self) -> Selection {
        use Collection::*;
        match self {
            Self::LedgerA => Selection::Where(RosterLedgerEntries, "ledger", "ledger_a"),
            Self::LedgerB => Selection::Where(RosterLedgerEntries, "ledger", "ledger_b"),
            Self::LostContactRegister => Selection::All(ContactCases),
            Self::FoundRegister => Selection::Where(ContactCases, "result", "found"),
            Self::StillLostRegister => Selection::Where(ContactCases, "result", "still_lost"),
            Self::Roster => Selection::Except(Members, "roster_status", "removed_from_roster"),
            Self::MobileRegister => Selection::Where(Members, "contact_status", "mobile"),
        }
    }

    /// The columns: header and source.
    pub fn columns(self) -> &'static [(&'static str, Source)] {
        use Source::*;
        match self {
            Self::LedgerA => &[
                ("序号", Serial),
                ("工作区", WorkArea),
                ("党支部", Unit),
                ("姓名", Field("name")),
                ("性别", Field("gender")),
                ("出生日期", Field("birth_date")),
                ("公民身份号码", Field("id_number")),
                ("现居住地", Field("residence")),
                ("联系电话", Field("phone")),
                ("入党日期", Field("join_date")),
                ("入党时所在党组织", Field("joining_organization")),
                ("转为正式党员日期", Field("full_member_date")),
                ("有无组织关系介绍信", Field("has_transfer_letter")),
                ("介绍信开具单位", Field("transfer_letter_issuer")),
                ("介绍信编号", Field("transfer_letter_no")),
                ("介绍信日期", Field("transfer_letter_date")),
                ("有无入党志愿书", Field("has_application_form")),
                ("入党志愿书存放处", Field("application_form_location")),
                ("档案情况", Field("archive_status")),
                ("不在花名册原因", Field("reason_not_on_roster")),
                ("支部初审意见", Field("branch_opinion")),
                ("组织办审核意见", Field("audit_opinion")),
                ("审核日期", Field("audited_on")),
                ("处理结果", Field("outcome")),
                ("备注", Field("remarks")),
            ],
            Self::LedgerB => &[
                ("序号", Serial),
                ("工作区", WorkArea),
                ("党支部", Unit),
                ("姓名", Field("name")),
                ("性别", Field("gender")),
                ("出生日期", Field("birth_date")),
                ("公民身份号码", Field("id_number")),
                ("入党日期", Field("join_date")),
                ("多余原因", Field("surplus_reason")),
                ("事由发生日期", Field("event_date")),
                ("证明材料", Attachments("evidence")),
                ("拟处理意见", Field("proposed_action")),
                ("支部初审意见", Field("branch_opinion")),
                ("组织办审核意见", Field("audit_opinion")),
                ("审核日期", Field("audited_on")),
                ("处理结果", Field("outcome")),
                ("备注", Field("remarks")),
            ],
            Self::LostContactRegister | Self::FoundRegister | Self::StillLostRegister => &[
                ("序号", Serial),
                ("工作区", WorkArea),
                ("党支部", Unit),
                ("姓名", Member("name")),
                ("性别", Member("gender")),
                ("公民身份号码", Member("id_number")),
                ("党组织类别", Field("org_category")),
                ("最后参加组织生活日期", Field("last_activity_on")),
                ("最后交纳党费日期", Field("last_dues_paid_on")),
                ("失联月数（排查开始时）", Field("lost_months_at_start")),
                ("失联时长（排查开始时）", LostBand("lost_months_at_start")),
                ("失联月数（查找结束时）", Field("lost_months_at_end")),
                ("流出时间", Field("outflow_on")),
                ("流出原因", Field("outflow_reason")),
                ("可能去向", Field("presumed_destination")),
                ("失去联系情形", Field("loss_circumstance")),
                ("查找结果", Field("result")),
                ("取得联系日期", Field("found_on")),
                ("取得联系方式", Field("found_by")),
                ("现居住地", Field("current_residence")),
                ("现联系电话", Field("current_phone")),
                ("备注", Field("remarks")),
            ],
            Self::Roster => &[
                ("序号", Serial),
                ("工作区", WorkArea),
                ("党支部", Unit),
                ("姓名", Field("name")),
                ("性别", Field("gender")),
                ("民族", Field("ethnicity")),
                ("出生日期", Field("birth_date")),
                ("公民身份号码", Field("id_number")),
                ("学历", Field("education")),
                ("人员类别", Field("member_type")),
                ("入党日期", Field("join_date")),
                ("转为正式党员日期", Field("full_member_date")),
                ("工作单位", Field("work_unit")),
                ("现居住地", Field("residence")),
                ("联系电话", Field("phone")),
                ("核查状态", Field("roster_status")),
                ("联系状态", Field("contact_status")),
            ],
            Self::MobileRegister => &[
                ("序号", Serial),
                ("工作区", WorkArea),
                ("党支部", Unit),
                ("姓名", Field("name")),
                ("性别", Field("gender")),
                ("公民身份号码", Field("id_number")),
                ("联系电话", Field("phone")),
                ("流出时间", Field("flow_out_on")),
                ("流出原因", Field("flow_out_reason")),
                ("流出去向", Field("flow_destination")),
                ("流入地党组织", Field("inflow_organization")),
                ("外出期间联系方式", Field("contact_while_away")),
                ("是否持流动党员活动证", Field("holds_mobile_card")),
                ("备注", Field("remarks")),
            ],
        }
    }
}

/// Which part of register A or B to print (`GET /v1/ledgers/{kind}?submission=…`,
/// docs/domain.md §8.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Every live entry (no `submission`).
    All,
    /// The entries one submission took: what it submitted, and what was approved when it is.
    Submission(uuid::Uuid),
    /// The entries no submitted or approved submission holds (未报送).
    Unsubmitted,
}

/// What register A's and B's `submission=unsubmitted` prints under the unit and date.
pub const UNSUBMITTED_ZH: &str = "未报送条目（尚未报送，或所在报送已退回、重新打开，待重新报送）";

impl Part {
    /// The part a `submission` query names: a submission's id or `unsubmitted`; none for
    /// anything else.
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text {
            None => Some(Self::All),
            Some("unsubmitted") => Some(Self::Unsubmitted),
            Some(id) => uuid::Uuid::parse_str(id).ok().map(Self::Submission),
        }
    }

    /// Whether a ledger entry is in this part. `holder_status` is the status of the live
    /// submission its `submission_id` names (none: it names none, or one deleted).
    pub fn holds_entry(
        self,
        entry: &serde_json::Map<String, serde_json::Value>,
        holder_status: Option<&str>,
    ) -> bool {
        match self {
            Self::All => true,
            Self::Submission(id) => crate::derived::holder_of(entry) == Some(id),
            Self::Unsubmitted => !matches!(holder_status, Some("submitted" | "approved")),
        }
    }
}

/// The line a submission's part of a register prints (报送情况): the work area, first
/// submission or 补报, its status, when the 组织办 received and audited it, its opinion, and
/// when and why it was reopened.
pub fn submission_note_zh(
    work_area: &str,
    submission: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let text = |name: &str| {
        submission
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let status = text("status").unwrap_or("draft");
    let mut parts = vec![
        format!("报送情况：{work_area}"),
        if submission.get("supplementary") == Some(&serde_json::Value::Bool(true)) {
            "补报".to_owned()
        } else {
            "首次报送".to_owned()
        },
        crate::collection::enum_label(Collection::LedgerSubmissions, "status", status)
            .unwrap_or(status)
            .to_owned(),
    ];
    let date = |name: &str| text(name).and_then(date_zh);
    if let Some(on) = date("received_on") {
        parts.push(format!("组织办收到：{on}"));
    }
    if let Some(n) = submission
        .get("submitted_entries")
        .and_then(serde_json::Value::as_u64)
    {
        parts.push(format!("报送条目：{n}条"));
    }
    if let Some(on) = date("audited_on") {
        parts.push(format!("审核日期：{on}"));
    }
    if let Some(opinion) = text("audit_opinion") {
        parts.push(format!("审核意见：{opinion}"));
    }
    if let Some(on) = date("reopened_on") {
        let why = text("reopen_reason")
            .map(|r| format!("（{r}）"))
            .unwrap_or_default();
        parts.push(format!("重新打开：{on}{why}"));
    }
    parts.join("　")
}

/// A stored value as people read it in an exported table: enum words in Chinese, booleans as
/// 是/否, lists joined; anything unknown as it is.
pub fn display_zh(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Bool(true) => "是".to_owned(),
        serde_json::Value::Bool(false) => "否".to_owned(),
        serde_json::Value::String(s) => date_zh(s)
            .or_else(|| word_zh(s).map(str::to_owned))
            .unwrap_or_else(|| s.clone()),
        serde_json::Value::Array(items) => {
            items.iter().map(display_zh).collect::<Vec<_>>().join("、")
        }
        other => other.to_string(),
    }
}

/// A `YYYY-MM-DD` date the way the offices write it: 2016年3月11日.
pub fn date_zh(text: &str) -> Option<String> {
    // Only the stored form, `YYYY-MM-DD` exactly (chrono alone would also take `2016-3-7`).
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    Some(format!(
        "{}年{}月{}日",
        date.year(),
        date.month(),
        date.day()
    ))
}

/// The Chinese for the enum words of the exported columns (one table for every face:
/// `collection::word_label`).
fn word_zh(word: &str) -> Option<&'static str> {
    crate::collection::word_label(word)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serials_months_and_dates_are_typed_cells() {
        let lost = LedgerKind::LostContactRegister;
        let kinds = lost.cell_kinds();
        let kind_of = |header: &str| {
            let i = lost
                .columns()
                .iter()
                .position(|(h, _)| *h == header)
                .unwrap();
            kinds[i]
        };
        assert_eq!(kinds.len(), lost.columns().len());
        assert_eq!(kind_of("序号"), CellKind::Number);
        assert_eq!(kind_of("失联月数（排查开始时）"), CellKind::Number);
        assert_eq!(kind_of("失联月数（查找结束时）"), CellKind::Number);
        assert_eq!(kind_of("最后参加组织生活日期"), CellKind::Date);
        assert_eq!(kind_of("取得联系日期"), CellKind::Date);
        assert_eq!(kind_of("姓名"), CellKind::Text);
        assert_eq!(kind_of("失联时长（排查开始时）"), CellKind::Text);
        let roster = LedgerKind::Roster.cell_kinds();
        assert_eq!(roster[6], CellKind::Date, "出生日期 of a member");
        assert_eq!(roster[7], CellKind::Text, "公民身份号码 stays text");
        // Every kind names a column of its own.
        for kind in LedgerKind::ALL {
            assert_eq!(kind.cell_kinds().len(), kind.columns().len());
        }
    }

    #[test]
    fn kinds_round_trip_and_have_titles() {
        for kind in LedgerKind::ALL {
            assert_eq!(LedgerKind::parse(kind.as_str()), Some(kind));
            assert!(!kind.title_zh().is_empty());
            assert!(matches!(
                kind.columns().first(),
                Some(("序号", Source::Serial))
            ));
        }
        assert_eq!(LedgerKind::parse("ledger_c"), None);
    }

    #[test]
    fn every_column_names_a_field_of_its_collection() {
        for kind in LedgerKind::ALL {
            let collection = match kind.selection() {
                Selection::Where(c, _, _) | Selection::Except(c, _, _) | Selection::All(c) => c,
            };
            for (_, source) in kind.columns() {
                match source {
                    Source::Field(f) | Source::Attachments(f) | Source::LostBand(f) => {
                        assert!(collection.schema().field(f).is_some(), "{kind:?}: {f}")
                    }
                    Source::Member(f) => {
                        assert!(Collection::Members.schema().field(f).is_some(), "{f}")
                    }
                    Source::Serial | Source::Unit | Source::WorkArea => {}
                }
            }
        }
    }

    #[test]
    fn lost_months_read_as_their_band_and_every_breakdown_names_a_column() {
        let band = |v: serde_json::Value| lost_band_zh(Some(&v));
        assert_eq!(band(json!(6)), "6个月至1年");
        assert_eq!(band(json!(11)), "6个月至1年");
        assert_eq!(band(json!(12)), "1至2年");
        assert_eq!(band(json!(24)), "2年以上");
        assert_eq!(lost_band_zh(None), "不详");
        for kind in LedgerKind::ALL {
            for (_, column) in kind.breakdowns() {
                assert!(
                    kind.columns().iter().any(|(h, _)| h == column),
                    "{kind:?}: {column}"
                );
            }
        }
    }

    #[test]
    fn parts_of_a_register_and_a_submissions_line() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(Part::parse(None), Some(Part::All));
        assert_eq!(Part::parse(Some("unsubmitted")), Some(Part::Unsubmitted));
        assert_eq!(
            Part::parse(Some(&id.to_string())),
            Some(Part::Submission(id))
        );
        assert_eq!(Part::parse(Some("x")), None);
        let entry = json!({"ledger": "ledger_a", "submission_id": id.to_string()});
        let entry = entry.as_object().unwrap();
        let free = json!({"ledger": "ledger_a"});
        let free = free.as_object().unwrap();
        assert!(Part::Submission(id).holds_entry(entry, Some("approved")));
        assert!(!Part::Submission(id).holds_entry(free, None));
        assert!(!Part::Unsubmitted.holds_entry(entry, Some("approved")));
        assert!(!Part::Unsubmitted.holds_entry(entry, Some("submitted")));
        assert!(Part::Unsubmitted.holds_entry(entry, Some("reopened")));
        assert!(Part::Unsubmitted.holds_entry(free, None));
        let submission = json!({
            "status": "approved", "supplementary": true, "received_on": "2016-03-12",
            "submitted_entries": 2, "audited_on": "2016-03-13", "audit_opinion": "同意",
            "reopened_on": "2016-03-12", "reopen_reason": "条目有误",
        });
        let line = submission_note_zh("第一工作区", submission.as_object().unwrap());
        assert_eq!(
            line,
            "报送情况：第一工作区　补报　已通过　组织办收到：2016年3月12日　报送条目：2条　审核日期：2016年3月13日　审核意见：同意　重新打开：2016年3月12日（条目有误）"
        );
        let first = json!({"status": "submitted"});
        assert_eq!(
            submission_note_zh("第二工作区", first.as_object().unwrap()),
            "报送情况：第二工作区　首次报送　已报送"
        );
    }

    #[test]
    fn values_read_in_chinese() {
        assert_eq!(display_zh(&json!("female")), "女");
        assert_eq!(display_zh(&json!(true)), "是");
        assert_eq!(display_zh(&json!(null)), "");
        assert_eq!(display_zh(&json!(3)), "3");
        assert_eq!(display_zh(&json!(["direct", "x"])), "直接查找、x");
        assert_eq!(display_zh(&json!("2016-03-07")), "2016年3月7日");
        assert_eq!(display_zh(&json!("2016-3-7")), "2016-3-7");
        assert_eq!(date_zh("2016-12-31").as_deref(), Some("2016年12月31日"));
        assert_eq!(attachments_zh(Some(&json!(["a", "b"]))), "已附2份");
        assert_eq!(attachments_zh(Some(&json!([]))), "");
        assert_eq!(attachments_zh(None), "");
    }
}
