//! Validation of a write's fields against its collection's declaration, and the rules that
//! span several fields of one record.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Collection, FieldSpec, FieldType, Schema};
use crate::id_number::{IdNumber, birth_date_matches};
use crate::member::Gender;
use crate::role::Role;
use crate::working_group::check_working_group_size;

/// Whether a write creates a record or changes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Why a write is refused: the field, a stable code, a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {code}")]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub(super) fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message: message.into(),
        }
    }
}

/// Largest number of blobs in one list field.
const MAX_BLOBS: usize = 20;

/// Checks the given fields of a write by `role` and returns them normalized (text trimmed, an
/// empty text as `null`, ID numbers with an upper-case X, hashes in lower case).
///
/// Refused: a field the collection does not have (`unknown_field`), a field the role may not
/// write (`field_not_writable`), a value of the wrong type or out of range
/// (`invalid_field_value`), an unknown enum word (`invalid_enum_value`), an invalid ID number
/// (its own codes; a masked one, holding `*`, `id_number_masked`), and on create a missing required field (`required_field`); a required field
/// can never be cleared.
pub fn validate_fields(
    schema: &Schema,
    fields: &Map<String, Value>,
    mode: Mode,
    role: Role,
) -> Result<Map<String, Value>, FieldError> {
    let mut out = Map::with_capacity(fields.len());
    // A first-generation 15-digit 公民身份号码, converted: kept as entered, and the member marked
    // for confirmation (where the collection has those fields).
    let mut legacy: Option<String> = None;
    for (name, value) in fields {
        let Some(spec) = schema.field(name) else {
            return Err(FieldError::new(
                name,
                "unknown_field",
                format!("{}没有这一项", schema.label_zh),
            ));
        };
        if !spec.writers.contains(&role) {
            return Err(FieldError::new(
                name,
                "field_not_writable",
                format!("{}不能填写「{}」", role.label_zh(), spec.label_zh),
            ));
        }
        // A number some role read masked, sent back as it was shown (a device resending a
        // whole record): never written over the number kept (crate::privacy).
        if let Some(text) = value.as_str()
            && crate::privacy::is_masked(text)
            && crate::privacy::is_id_number_field(schema.collection, spec.name)
        {
            return Err(FieldError::new(
                spec.name,
                "id_number_masked",
                format!(
                    "「{}」是打码显示的号码（含*），不能写回；请填写完整号码，或不提交该字段",
                    spec.label_zh
                ),
            ));
        }
        let value = match value.as_str() {
            Some(text) if matches!(spec.ty, FieldType::IdNumber) && IdNumber::is_legacy(text) => {
                let id = IdNumber::from_legacy(text)
                    .map_err(|e| FieldError::new(spec.name, e.code(), e.message_zh()))?;
                legacy = Some(text.trim().to_owned());
                Value::String(id.as_str().to_owned())
            }
            _ => normalize(schema.collection, spec, value)?,
        };
        if value.is_null() && spec.required {
            return Err(required(spec));
        }
        out.insert(name.clone(), value);
    }
    if let Some(entered) = legacy
        && schema.field(LEGACY_ENTERED).is_some()
        && schema.field(TO_CONFIRM).is_some()
    {
        out.insert(LEGACY_ENTERED.to_owned(), Value::String(entered));
        out.insert(TO_CONFIRM.to_owned(), Value::Bool(true));
    }
    let missing = schema
        .fields
        .iter()
        .find(|f| f.required && !out.contains_key(f.name));
    if let (Mode::Create, Some(missing)) = (mode, missing) {
        return Err(required(missing));
    }
    Ok(out)
}

/// Where a member keeps a 15-digit number as it was entered, and the flag that asks the branch
/// to confirm the converted number (it clears the flag once it has).
pub const LEGACY_ENTERED: &str = "id_number_entered";
pub const TO_CONFIRM: &str = "id_number_to_confirm";

fn required(spec: &FieldSpec) -> FieldError {
    FieldError::new(
        spec.name,
        "required_field",
        format!("「{}」为必填项", spec.label_zh),
    )
}

fn invalid(spec: &FieldSpec, what: &str) -> FieldError {
    FieldError::new(
        spec.name,
        "invalid_field_value",
        format!("「{}」应为{what}", spec.label_zh),
    )
}

fn normalize(collection: Collection, spec: &FieldSpec, value: &Value) -> Result<Value, FieldError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match spec.ty {
        FieldType::Text(max) => {
            let text = value.as_str().ok_or_else(|| invalid(spec, "文本"))?.trim();
            if text.chars().count() > max {
                return Err(invalid(spec, &format!("不超过{max}个字符的文本")));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(invalid(spec, "不含控制字符的文本"));
            }
            Ok(if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.to_owned())
            })
        }
        FieldType::Date => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(spec, "YYYY-MM-DD 格式的日期"))?;
            parse_date(text)
                .map(|_| value.clone())
                .ok_or_else(|| invalid(spec, "YYYY-MM-DD 格式的有效日期"))
        }
        FieldType::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| invalid(spec, "是或否")),
        FieldType::Int { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Value::from(n)),
            _ => Err(invalid(spec, &format!("{min}到{max}之间的整数"))),
        },
        FieldType::Enum(words) => {
            let word = value.as_str().ok_or_else(|| invalid(spec, "文本"))?;
            if words.contains(&word) {
                Ok(value.clone())
            } else {
                Err(unknown_word(collection, spec, words))
            }
        }
        FieldType::EnumList(words) => {
            let items = value.as_array().ok_or_else(|| invalid(spec, "列表"))?;
            let mut seen: Vec<&str> = Vec::with_capacity(items.len());
            for item in items {
                let word = item.as_str().ok_or_else(|| invalid(spec, "文本列表"))?;
                if !words.contains(&word) {
                    return Err(unknown_word(collection, spec, words));
                }
                if seen.contains(&word) {
                    return Err(invalid(spec, "不重复的列表"));
                }
                seen.push(word);
            }
            Ok(value.clone())
        }
        FieldType::IdNumber => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(spec, "18位公民身份号码"))?;
            IdNumber::parse(text)
                .map(|id| Value::String(id.as_str().to_owned()))
                .map_err(|e| FieldError::new(spec.name, e.code(), e.message_zh()))
        }
        FieldType::Ref(_) | FieldType::Unit(_) => value
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(|id| Value::String(id.to_string()))
            .ok_or_else(|| invalid(spec, "有效的记录标识")),
        FieldType::Blob => blob_hash(spec, value),
        FieldType::BlobList => {
            let items = value
                .as_array()
                .ok_or_else(|| invalid(spec, "文件哈希列表"))?;
            if items.len() > MAX_BLOBS {
                return Err(invalid(spec, &format!("不超过{MAX_BLOBS}个文件")));
            }
            items
                .iter()
                .map(|item| blob_hash(spec, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        FieldType::People => people(spec, value),
    }
}

/// The refusal of a word the field does not take, naming the ones it does as people read
/// them (男、女), never the wire words.
fn unknown_word(collection: Collection, spec: &FieldSpec, words: &[&str]) -> FieldError {
    let labels: Vec<&str> = words
        .iter()
        .map(|w| super::enum_label(collection, spec.name, w).unwrap_or(w))
        .collect();
    FieldError::new(
        spec.name,
        "invalid_enum_value",
        format!(
            "「{}」的取值应为以下之一：{}",
            spec.label_zh,
            labels.join("、")
        ),
    )
}

fn blob_hash(spec: &FieldSpec, value: &Value) -> Result<Value, FieldError> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid(spec, "文件的 SHA-256 哈希"))?;
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(Value::String(text.to_ascii_lowercase()))
    } else {
        Err(invalid(spec, "64位十六进制的 SHA-256 哈希"))
    }
}

fn people(spec: &FieldSpec, value: &Value) -> Result<Value, FieldError> {
    let items = value.as_array().ok_or_else(|| invalid(spec, "人员列表"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let person = item.as_object().ok_or_else(|| invalid(spec, "人员列表"))?;
        if person.keys().any(|k| k != "name" && k != "duty") {
            return Err(invalid(spec, "只含姓名和分工的人员列表"));
        }
        let name = person
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| {
                !n.is_empty() && n.chars().count() <= 50 && !n.chars().any(char::is_control)
            })
            .ok_or_else(|| invalid(spec, "每人都有姓名（不超过50字）的人员列表"))?;
        let duty = match person.get("duty") {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(d))
                if d.chars().count() <= 100 && !d.chars().any(char::is_control) =>
            {
                Value::String(d.trim().to_owned())
            }
            Some(_) => return Err(invalid(spec, "分工不超过100字的人员列表")),
        };
        out.push(serde_json::json!({"name": name, "duty": duty}));
    }
    Ok(Value::Array(out))
}

/// `YYYY-MM-DD`, and a real date.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Dates of things that have already happened when they are recorded (docs/domain.md §8.13): a
/// birth, a joining, a last activity or dues payment, a confirmation, an attempt, a receipt, a
/// decision taken. Such a date after today (China time) is refused; a date that may be planned
/// (a disposition's effective date, a correction deadline, the campaign's dates) is not listed.
pub const PAST_DATES: &[(Collection, &[&str])] = &[
    (
        Collection::Members,
        &[
            "birth_date",
            "join_date",
            "full_member_date",
            "transferred_in_on",
            "work_started_on",
            "last_activity_on",
            "last_dues_paid_on",
            "flow_out_on",
            "archive_checked_on",
            "dues_checked_on",
            "transfer_checked_on",
            "performance_checked_on",
        ],
    ),
    (Collection::InfoForms, &["confirmed_on"]),
    (
        Collection::RosterLedgerEntries,
        &[
            "birth_date",
            "join_date",
            "full_member_date",
            "transfer_letter_date",
            "event_date",
            "audited_on",
        ],
    ),
    (
        Collection::LedgerSubmissions,
        &["submitted_on", "audited_on"],
    ),
    (
        Collection::ArchiveReviews,
        &["requested_on", "county_review_on"],
    ),
    (
        Collection::ContactCases,
        &[
            "last_activity_on",
            "last_dues_paid_on",
            "outflow_on",
            "found_on",
        ],
    ),
    (Collection::ContactAttempts, &["attempted_on"]),
    (
        Collection::DepartmentSearchRequests,
        &["requested_on", "executed_on"],
    ),
    (Collection::Transfers, &["transferred_on", "receipt_on"]),
    (Collection::PerformanceChecks, &["checked_on"]),
    (
        Collection::Dispositions,
        &["branch_meeting_on", "approved_on", "filed_on"],
    ),
    (
        Collection::WorkingGroups,
        &["deployment_meeting_on", "actual_count_on"],
    ),
];

/// Refuses a date of [`PAST_DATES`] after `today` among the fields a write sets.
pub fn check_past_dates(
    collection: Collection,
    written: &Map<String, Value>,
    today: chrono::NaiveDate,
) -> Result<(), FieldError> {
    let Some((_, names)) = PAST_DATES.iter().find(|(c, _)| *c == collection) else {
        return Ok(());
    };
    for name in *names {
        let Some(day) = written
            .get(*name)
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if day > today {
            let label = collection
                .schema()
                .field(name)
                .map_or(*name, |f| f.label_zh);
            return Err(FieldError::new(
                name,
                "date_in_future",
                format!(
                    "「{label}」记录的是已经发生的事，不能晚于今天（{}）",
                    crate::calendar::format_date_zh(today)
                ),
            ));
        }
    }
    Ok(())
}

/// The rules that span several fields of one record, checked on the record as it will be
/// stored (its current fields with the write applied).
pub fn check_record(collection: Collection, record: &Map<String, Value>) -> Result<(), FieldError> {
    let text = |name: &str| record.get(name).and_then(Value::as_str);
    match collection {
        Collection::Members | Collection::RosterLedgerEntries => {
            let Some(id) = text("id_number").and_then(|s| IdNumber::parse(s).ok()) else {
                return Ok(());
            };
            if let Some(birth) = text("birth_date").and_then(parse_date) {
                birth_date_matches(&id, birth)
                    .map_err(|e| FieldError::new("birth_date", e.code(), e.message_zh()))?;
            }
            let gender = match text("gender") {
                Some("male") => Some(Gender::Male),
                Some("female") => Some(Gender::Female),
                _ => None,
            };
            if gender.is_some_and(|g| g != id.gender()) {
                return Err(FieldError::new(
                    "gender",
                    "gender_mismatch",
                    "性别与公民身份号码不一致",
                ));
            }
            Ok(())
        }
        Collection::WorkingGroups => {
            let size = record
                .get("people")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            check_working_group_size(size)
                .map_err(|e| FieldError::new("people", e.code(), e.message_zh()))
        }
        Collection::PerformanceChecks => {
            if text("source") == Some("department") && text("department").is_none() {
                return Err(FieldError::new(
                    "department",
                    "required_field",
                    "经部门核查的，须填写「核查部门」",
                ));
            }
            Ok(())
        }
        Collection::ContactAttempts => {
            let (Some(method), Some(channel)) = (text("method"), text("channel")) else {
                return Ok(());
            };
            if channel_method(channel) != Some(method) {
                return Err(FieldError::new(
                    "channel",
                    "channel_method_mismatch",
                    "查找渠道与查找方式不一致",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The method group a search channel belongs to (docs/domain.md §5.6).
pub(crate) fn channel_method(channel: &str) -> Option<&'static str> {
    match channel {
        "phone" | "sms" | "home_visit" => Some("direct"),
        "relatives" | "neighbours" | "colleagues" | "classmates" | "friends" => {
            Some("interpersonal")
        }
        "police_household"
        | "student_records"
        | "social_security"
        | "medical_insurance"
        | "minimum_allowance"
        | "property"
        | "business_registration"
        | "tax" => Some("department"),
        "social_network" | "telecom_operator" | "airline_railway" | "hotline_12371"
        | "caretaker_office" | "reunion" => Some("other"),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// What a refusal says is Chinese: the words a field takes and the states of a step are
    /// named as people read them, never by the API's own words.
    #[test]
    fn refusals_name_values_and_states_in_chinese() {
        use crate::collection::{Collection, Mode};
        use crate::role::Role;
        use crate::workflow::{Start, check_transition};
        let schema = Collection::Members.schema();
        let fields = serde_json::json!({"gender": "unknown"});
        let err = super::validate_fields(
            schema,
            fields.as_object().unwrap(),
            Mode::Update,
            Role::BranchSecretary,
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid_enum_value");
        assert!(err.message.contains("男、女"), "{}", err.message);
        assert!(!err.message.contains("male"), "{}", err.message);
        let err = check_transition(
            Collection::Members,
            "roster_status",
            Start::Existing(Some("unverified")),
            Some("removed_from_roster"),
            Role::BranchSecretary,
        )
        .unwrap_err();
        assert!(
            !err.message.contains("unverified") && !err.message.contains("removed_from_roster"),
            "{}",
            err.message
        );
        assert!(err.message.contains("「"), "{}", err.message);
    }

    #[test]
    fn a_fifteen_digit_number_is_converted_kept_and_marked() {
        let members = Collection::Members.schema();
        let out = validate_fields(
            members,
            json!({"name": "老党员", "id_number": " 110105491231002 "})
                .as_object()
                .unwrap(),
            Mode::Create,
            Role::BranchSecretary,
        )
        .unwrap();
        assert_eq!(out["id_number"], "11010519491231002X");
        assert_eq!(out[LEGACY_ENTERED], "110105491231002");
        assert_eq!(out[TO_CONFIRM], true);
        // An 18-character number marks nothing.
        let out = validate_fields(
            members,
            json!({"id_number": "11010519491231002X"})
                .as_object()
                .unwrap(),
            Mode::Update,
            Role::BranchSecretary,
        )
        .unwrap();
        assert!(out.get(TO_CONFIRM).is_none());
        // Collections without the fields convert only (a transfer, a ledger entry).
        let out = validate_fields(
            Collection::RosterLedgerEntries.schema(),
            json!({"id_number": "110105491231002"}).as_object().unwrap(),
            Mode::Update,
            Role::BranchSecretary,
        )
        .unwrap();
        assert_eq!(out["id_number"], "11010519491231002X");
        assert!(out.get(TO_CONFIRM).is_none());
    }

    /// A number read masked and sent back (a device resending a whole record) is refused in
    /// every ID-number field, for every writer, with its own code.
    #[test]
    fn a_masked_number_is_never_written() {
        let table = [
            (
                Collection::Members,
                "id_number",
                "1101************2X",
                Role::BranchSecretary,
            ),
            (
                Collection::Members,
                LEGACY_ENTERED,
                "1101*********02",
                Role::GroupMember,
            ),
            (
                Collection::RosterLedgerEntries,
                "id_number",
                "1101************2X",
                Role::BranchSecretary,
            ),
            (
                Collection::Transfers,
                "id_number",
                "1101************2X",
                Role::StreetStaff,
            ),
        ];
        for (collection, field, value, role) in table {
            for mode in [Mode::Create, Mode::Update] {
                let err = validate_fields(
                    collection.schema(),
                    &map(json!({ field: value })),
                    mode,
                    role,
                )
                .unwrap_err();
                assert_eq!((err.field.as_str(), err.code), (field, "id_number_masked"));
                assert!(err.message.contains('*'), "{}", err.message);
            }
        }
    }

    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn check(
        collection: Collection,
        mode: Mode,
        role: Role,
        fields: Value,
    ) -> Result<Map<String, Value>, (String, &'static str)> {
        let fields = map(fields);
        validate_fields(collection.schema(), &fields, mode, role)
            .and_then(|m| check_record(collection, &m).map(|()| m))
            .map_err(|e| {
                assert!(!e.message.is_empty());
                (e.field, e.code)
            })
    }

    const SEC: Role = Role::BranchSecretary;

    #[test]
    fn member_writes_table() {
        use Collection::Members as M;
        let table: Vec<(Mode, Role, Value, Result<(), (&str, &str)>)> = vec![
            (Mode::Create, SEC, json!({"name": "张三"}), Ok(())),
            (
                Mode::Create,
                SEC,
                json!({"gender": "male"}),
                Err(("name", "required_field")),
            ),
            (Mode::Update, SEC, json!({"gender": "male"}), Ok(())),
            (
                Mode::Update,
                SEC,
                json!({"name": null}),
                Err(("name", "required_field")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"name": "  "}),
                Err(("name", "required_field")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"nickname": "x"}),
                Err(("nickname", "unknown_field")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"gender": "unknown"}),
                Err(("gender", "invalid_enum_value")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"birth_date": "1990-02-30"}),
                Err(("birth_date", "invalid_field_value")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"birth_date": "1990-2-3"}),
                Err(("birth_date", "invalid_field_value")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"whereabouts_known": "yes"}),
                Err(("whereabouts_known", "invalid_field_value")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"id_number": "11010519491231002X"}),
                Ok(()),
            ),
            (
                Mode::Update,
                SEC,
                json!({"id_number": "110105194912310021"}),
                Err(("id_number", "id_number_check_digit")),
            ),
            // A 15-digit first-generation number is converted, not refused (see below)…
            (
                Mode::Update,
                SEC,
                json!({"id_number": "110105491231002"}),
                Ok(()),
            ),
            // …unless its birth date is not a real date.
            (
                Mode::Update,
                SEC,
                json!({"id_number": "110105491331002"}),
                Err(("id_number", "id_number_birth_date")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"id_number": "11010519491231002X", "birth_date": "1949-12-30"}),
                Err(("birth_date", "birth_date_mismatch")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"id_number": "11010519491231002X", "gender": "male"}),
                Err(("gender", "gender_mismatch")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"id_number": "11010519491231002X", "gender": "female", "birth_date": "1949-12-31"}),
                Ok(()),
            ),
            (
                Mode::Update,
                Role::CommitteeAdmin,
                json!({"phone": "1"}),
                Err(("phone", "field_not_writable")),
            ),
            (
                Mode::Update,
                Role::Viewer,
                json!({"phone": "1"}),
                Err(("phone", "field_not_writable")),
            ),
            (
                Mode::Update,
                SEC,
                json!({"name": "长".repeat(51)}),
                Err(("name", "invalid_field_value")),
            ),
        ];
        for (mode, role, fields, expected) in table {
            let got = check(M, mode, role, fields.clone()).map(drop);
            let got = got.as_ref().map_err(|(f, c)| (f.as_str(), *c)).copied();
            assert_eq!(got, expected, "{fields}");
        }
    }

    #[test]
    fn values_are_normalized() {
        let out = check(
            Collection::Members,
            Mode::Update,
            SEC,
            json!({"name": "  李四 ", "id_number": " 11010519491231002x", "remarks": ""}),
        )
        .unwrap();
        assert_eq!(out["name"], "李四");
        assert_eq!(out["id_number"], "11010519491231002X");
        assert_eq!(out["remarks"], Value::Null);
    }

    #[test]
    fn department_results_are_the_committees_to_write() {
        let c = Collection::DepartmentSearchRequests;
        let case = Uuid::now_v7().to_string();
        assert!(
            check(
                c,
                Mode::Create,
                SEC,
                json!({"case_id": case, "departments": ["police_household", "tax"]})
            )
            .is_ok()
        );
        assert_eq!(
            check(
                c,
                Mode::Create,
                SEC,
                json!({"case_id": case, "result": "contact_made"})
            )
            .unwrap_err(),
            ("result".to_owned(), "field_not_writable")
        );
        assert!(
            check(
                c,
                Mode::Update,
                Role::CommitteeAdmin,
                json!({"result": "contact_made", "status": "done"})
            )
            .is_ok()
        );
        assert_eq!(
            check(
                c,
                Mode::Update,
                SEC,
                json!({"departments": ["police", "tax"]})
            )
            .unwrap_err()
            .1,
            "invalid_enum_value"
        );
        assert_eq!(
            check(c, Mode::Update, SEC, json!({"departments": ["tax", "tax"]}))
                .unwrap_err()
                .1,
            "invalid_field_value"
        );
    }

    #[test]
    fn cross_field_rules() {
        let people = |n: usize| -> Value {
            Value::Array(
                (0..n)
                    .map(|i| json!({"name": format!("组员{i}"), "duty": "走访"}))
                    .collect(),
            )
        };
        let wg = Collection::WorkingGroups;
        assert!(check(wg, Mode::Create, SEC, json!({"people": people(5)})).is_ok());
        assert_eq!(
            check(wg, Mode::Create, SEC, json!({"people": people(4)}))
                .unwrap_err()
                .1,
            "working_group_size"
        );
        assert_eq!(
            check(wg, Mode::Create, SEC, json!({"people": people(10)}))
                .unwrap_err()
                .1,
            "working_group_size"
        );
        assert_eq!(
            check(
                wg,
                Mode::Create,
                SEC,
                json!({"people": [{"name": "x", "age": 3}]})
            )
            .unwrap_err()
            .1,
            "invalid_field_value"
        );

        let case = Uuid::now_v7().to_string();
        let attempt = |method: &str, channel: &str| {
            check(
                Collection::ContactAttempts,
                Mode::Create,
                SEC,
                json!({"case_id": case, "attempted_on": "2016-03-20", "method": method, "channel": channel, "result": "no_lead"}),
            )
            .map(drop)
            .map_err(|e| e.1)
        };
        assert_eq!(attempt("direct", "phone"), Ok(()));
        assert_eq!(attempt("interpersonal", "classmates"), Ok(()));
        assert_eq!(attempt("direct", "tax"), Err("channel_method_mismatch"));

        let pc = Collection::PerformanceChecks;
        let member = Uuid::now_v7().to_string();
        assert_eq!(
            check(
                pc,
                Mode::Create,
                SEC,
                json!({"member_id": member, "source": "department"})
            )
            .unwrap_err()
            .1,
            "required_field"
        );
        assert!(
            check(
                pc,
                Mode::Create,
                SEC,
                json!({"member_id": member, "source": "department", "department": "police"})
            )
            .is_ok()
        );
    }

    #[test]
    fn blobs_and_refs() {
        let hash = "AB".repeat(32);
        let out = check(
            Collection::InfoForms,
            Mode::Create,
            SEC,
            json!({"member_id": Uuid::now_v7().to_string(), "confirmation_mode": "on_site", "photos": [hash], "signature": "ab".repeat(32)}),
        )
        .unwrap();
        assert_eq!(out["photos"][0], "ab".repeat(32));
        assert_eq!(
            check(
                Collection::InfoForms,
                Mode::Update,
                SEC,
                json!({"signature": "abc"})
            )
            .unwrap_err()
            .1,
            "invalid_field_value"
        );
        assert_eq!(
            check(
                Collection::InfoForms,
                Mode::Update,
                SEC,
                json!({"member_id": "42"})
            )
            .unwrap_err()
            .1,
            "invalid_field_value"
        );
    }

    #[test]
    fn a_date_of_something_past_cannot_be_after_today() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let fields = |v: serde_json::Value| v.as_object().unwrap().clone();
        let err = check_past_dates(
            Collection::Members,
            &fields(serde_json::json!({"birth_date": "2026-12-08"})),
            today,
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.field.as_str()),
            ("date_in_future", "birth_date")
        );
        assert!(
            err.message.contains("出生日期") && err.message.contains("2026年12月7日"),
            "{}",
            err.message
        );
        // Today is fine; a planned date (a disposition's effective date) may lie ahead.
        assert!(
            check_past_dates(
                Collection::Members,
                &fields(serde_json::json!({"birth_date": "2026-12-07"})),
                today
            )
            .is_ok()
        );
        assert!(
            check_past_dates(
                Collection::Dispositions,
                &fields(serde_json::json!({"effective_on": "2027-01-01"})),
                today
            )
            .is_ok()
        );
        assert_eq!(
            check_past_dates(
                Collection::InfoForms,
                &fields(serde_json::json!({"confirmed_on": "2027-01-01"})),
                today
            )
            .unwrap_err()
            .code,
            "date_in_future"
        );
        // Every listed field is a date field of its collection.
        for (c, names) in PAST_DATES {
            for name in *names {
                let spec = c.schema().field(name).unwrap_or_else(|| panic!("{name}"));
                assert!(matches!(spec.ty, FieldType::Date), "{name}");
            }
        }
    }
}
