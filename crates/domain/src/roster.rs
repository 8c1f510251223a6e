//! Spreadsheets people bring: the 花名册 (a branch's roster) and the 转出明细 (a street's list of
//! transferred-out members). Which Chinese column headers map to which fields, and how the
//! values people type become the stored ones.

use serde_json::Value;

/// The recognised headers (with common variants) and the member field each fills.
pub const HEADERS: &[(&str, &str)] = &[
    ("姓名", "name"),
    ("性别", "gender"),
    ("民族", "ethnicity"),
    ("籍贯", "native_place"),
    ("出生日期", "birth_date"),
    ("公民身份号码", "id_number"),
    ("身份证号码", "id_number"),
    ("身份证号", "id_number"),
    ("学历", "education"),
    ("人员类别", "member_type"),
    ("入党日期", "join_date"),
    ("转为正式党员日期", "full_member_date"),
    ("转正日期", "full_member_date"),
    ("工作单位", "work_unit"),
    ("现居住地", "residence"),
    ("家庭住址", "residence"),
    ("户籍所在地", "household_registration"),
    ("联系电话", "phone"),
    // The facts the judgement at the start rests on (docs/domain.md §8.9): dated before the
    // start, they are the start's whenever they are imported.
    ("最后参加组织生活日期", "last_activity_on"),
    ("最后交纳党费日期", "last_dues_paid_on"),
    ("最后缴纳党费日期", "last_dues_paid_on"),
    ("去向是否明确", "whereabouts_known"),
    ("流出时间", "flow_out_on"),
    ("外出时间", "flow_out_on"),
    ("流出原因", "flow_out_reason"),
    ("外出原因", "flow_out_reason"),
    ("外出地点/去向", "flow_destination"),
    ("外出地点", "flow_destination"),
    ("流出去向", "flow_destination"),
    ("去向", "flow_destination"),
    ("是否失联", "lost_at_start"),
    ("认定失联的依据", "lost_at_start_reason"),
    ("失联原因", "lost_at_start_reason"),
    ("备注", "remarks"),
];

/// The headers of a 转出明细 and the transfer field each fills. The branch column holds the
/// branch's name or code; the importer resolves it to the branch's id.
pub const TRANSFER_HEADERS: &[(&str, &str)] = &[
    ("序号", "list_row"),
    ("姓名", "member_name"),
    ("公民身份号码", "id_number"),
    ("身份证号码", "id_number"),
    ("身份证号", "id_number"),
    ("转出日期", "transferred_on"),
    ("介绍信编号", "letter_no"),
    ("接收党组织", "receiving_organization"),
    ("接收党组织名称", "receiving_organization"),
    ("接收方基层党(工)委", "receiving_committee"),
    ("接收方基层党（工）委", "receiving_committee"),
    ("接收方党委", "receiving_committee"),
    ("负责跟进的党支部", "branch_id"),
    ("跟进党支部", "branch_id"),
    ("党支部", "branch_id"),
];

/// A kind of spreadsheet: the collection its rows become and its headers.
#[derive(Debug)]
pub struct Sheet {
    pub collection: crate::collection::Collection,
    pub label_zh: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
}

pub static ROSTER: Sheet = Sheet {
    collection: crate::collection::Collection::Members,
    label_zh: "花名册",
    headers: HEADERS,
};

pub static TRANSFER_LIST: Sheet = Sheet {
    collection: crate::collection::Collection::Transfers,
    label_zh: "转出明细",
    headers: TRANSFER_HEADERS,
};

impl Sheet {
    /// The field a header names (surrounding spaces and a trailing `*` ignored).
    pub fn field_for_header(&self, header: &str) -> Option<&'static str> {
        let h = header.trim().trim_end_matches('*').trim();
        self.headers
            .iter()
            .find(|(name, _)| *name == h)
            .map(|(_, f)| *f)
    }
}

/// The member field a roster header names.
pub fn field_for_header(header: &str) -> Option<&'static str> {
    ROSTER.field_for_header(header)
}

/// A typed cell of a sheet of `collection` as the stored value: an enum field's label as people
/// read it (男, 预备党员: the labels of `collection::enum_label`, and 正式/预备 for short) becomes
/// its word, and dates written with `/` or `.` or as `YYYY年M月D日` become `YYYY-MM-DD` (in
/// fields named `…_date` or `…_on`). An empty cell is `null`.
pub fn convert(collection: crate::collection::Collection, field: &str, text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Null;
    }
    let word = match (field, t) {
        ("member_type", "正式") => Some("full"),
        ("member_type", "预备") => Some("probationary"),
        _ => crate::collection::word_for_label(collection, field, t),
    };
    if let Some(word) = word {
        return Value::String(word.to_owned());
    }
    // Yes-or-no columns: 是/否 (and the usual variants) become true and false.
    if BOOLEAN_FIELDS.contains(&field) {
        match t {
            "是" | "Y" | "y" | "√" | "有" | "明确" => return Value::Bool(true),
            "否" | "N" | "n" | "×" | "无" | "不明确" => return Value::Bool(false),
            _ => {}
        }
    }
    if let Some(date) = (field.ends_with("_date") || field.ends_with("_on"))
        .then(|| normalize_date(t))
        .flatten()
    {
        return Value::String(date);
    }
    Value::String(t.to_owned())
}

/// The yes-or-no member fields a roster column may fill.
const BOOLEAN_FIELDS: [&str; 2] = ["whereabouts_known", "lost_at_start"];

/// `2016/3/7`, `2016.03.07`, `2016年3月7日` or `2016-3-7` → `2016-03-07`.
fn normalize_date(t: &str) -> Option<String> {
    let cleaned: String = t.replace(['年', '月', '/', '.'], "-").replace('日', "");
    let mut parts = cleaned.split('-').filter(|p| !p.is_empty());
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(y, m, d).map(|date| date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn headers_and_values() {
        assert_eq!(field_for_header(" 公民身份号码* "), Some("id_number"));
        assert_eq!(field_for_header("身份证号"), Some("id_number"));
        assert_eq!(field_for_header("爱好"), None);
        assert_eq!(field_for_header("是否失联"), Some("lost_at_start"));
        assert_eq!(field_for_header("外出地点/去向"), Some("flow_destination"));
        assert_eq!(
            TRANSFER_LIST.field_for_header("接收方基层党（工）委"),
            Some("receiving_committee")
        );
        // Every header names a field of its collection.
        for sheet in [&ROSTER, &TRANSFER_LIST] {
            for (header, field) in sheet.headers {
                assert!(sheet.collection.schema().field(field).is_some(), "{header}");
            }
        }
        let table: &[(&str, &str, Value)] = &[
            ("gender", "男", json!("male")),
            ("gender", "女", json!("female")),
            ("gender", "未知", json!("未知")),
            ("member_type", "预备党员", json!("probationary")),
            ("member_type", "正式", json!("full")),
            ("org_category", "街道社区", json!("street_community")),
            ("birth_date", "1980/1/2", json!("1980-01-02")),
            ("join_date", "2001年7月1日", json!("2001-07-01")),
            ("join_date", "2001.07.01", json!("2001-07-01")),
            ("join_date", "2001-02-30", json!("2001-02-30")),
            ("name", "  张三 ", json!("张三")),
            ("phone", "", Value::Null),
            ("transferred_on", "2016/3/1", json!("2016-03-01")),
            ("last_activity_on", "2014年1月1日", json!("2014-01-01")),
            ("lost_at_start", "是", json!(true)),
            ("lost_at_start", "否", json!(false)),
            ("whereabouts_known", "不明确", json!(false)),
            // Not a yes or no: left as typed, for validation to refuse with the column.
            ("lost_at_start", "不详", json!("不详")),
        ];
        for (field, text, expected) in table {
            assert_eq!(
                &convert(crate::collection::Collection::Members, field, text),
                expected,
                "{field} {text}"
            );
        }
    }
}
