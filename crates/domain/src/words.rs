//! The words people read, and the API's own words that must never reach them.
//!
//! Every word a user reads comes from this crate: the collections' and fields' labels and the
//! enum words' labels (`collection`: `label_zh` of each declaration, `collection::enum_label`),
//! roles and kinds of unit (`role::Role::label_zh`, `org::OrgUnitKind::label_zh`), phases and
//! their states (`campaign`), the status's counts (`status::COUNT_LABELS`), the registers'
//! columns (`ledger`), the spreadsheet headers (`roster`), the error messages
//! (`api::ErrorCode::message_zh`, `collection::FieldError`) and, here, the words of the audit
//! trail and the account log. `GET /v1/schema` hands them all to the web faces
//! ([`crate::collection::describe`]), so the console and the field app keep no table of their
//! own.
//!
//! [`api_words_in`] finds the API's own words in a text meant for people: an enum word
//! (`male`, `removed_from_roster`), a field, collection or parameter name (`org_unit_id`), a
//! role, a kind of unit, an error code, a type name (`UUID`, `true`, `false`). The vocabulary
//! test walks every label and message with it (`tests/tests/api/vocabulary.rs` and the tests
//! below).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use crate::api::ErrorCode;
use crate::campaign::{Phase, PhaseState};
use crate::collection::{Collection, labels::words};
use crate::ledger::LedgerKind;
use crate::org::OrgUnitKind;
use crate::role::Role;
use crate::status::COUNT_LABELS;

/// What a change in the audit trail did to a record (`GET /v1/audit`'s `op`).
pub const AUDIT_OPS: &[(&str, &str)] = &[("put", "新建"), ("patch", "修改"), ("delete", "删除")];

/// What an entry of an account log records (`GET /v1/users/{id}/log`'s `action`).
pub const ACCOUNT_ACTIONS: &[(&str, &str)] = &[
    ("created", "创建账号"),
    ("updated", "修改账号"),
    ("password_reset", "重置密码"),
    ("password_changed", "修改密码"),
    ("device_revoked", "注销设备"),
    ("sessions_revoked", "结束全部登录"),
];

/// Why a record left a unit (`GET /v1/departures`'s `reason`, `crate::moves`).
pub const DEPARTURE_REASONS: &[(&str, &str)] = &[
    ("readdressed", "转出明细更正，改由其他党支部跟进"),
    ("member_moved", "党员组织关系转至其他党支部"),
    ("move_not_taken", "支部间转接未完成（已撤销或不予接收）"),
];

/// The keys of an account log entry's `detail`, as people read them.
pub const ACCOUNT_FIELDS: &[(&str, &str)] = &[
    ("role", "角色"),
    ("org_unit_id", "单位"),
    ("display_name", "姓名"),
    ("disabled", "停用"),
    ("device_id", "设备"),
];

/// The request parameters and body keys a refusal may name, as people read them: a request
/// refused for one of them says which in these words (the `field` of the error names the key).
const PARAMETER_LABELS: &[(&str, &str)] = &[
    ("org_unit_id", "组织"),
    ("parent_id", "上级组织"),
    ("kind", "组织类别"),
    ("name", "名称"),
    ("code", "组织编码"),
    ("username", "用户名"),
    ("password", "密码"),
    ("current_password", "原密码"),
    ("new_password", "新密码"),
    ("display_name", "姓名"),
    ("role", "角色"),
    ("disabled", "停用"),
    ("device_id", "设备标识"),
    ("refresh_token", "刷新凭证"),
    ("as_of", "统计日期"),
    ("format", "文件格式"),
    ("list_name", "转出明细名称"),
    ("only_proposed", "只看有建议的党员"),
    ("collections", "数据集合"),
    ("collection", "数据集合"),
    ("cursor", "同步游标"),
    ("wait", "等待时间"),
    ("limit", "条数"),
    ("offset", "起始位置"),
    ("ids", "记录标识"),
    ("id", "记录标识"),
    ("q", "搜索内容"),
    ("roster_status", "核查状态"),
    ("unresolved", "只看未复核的冲突"),
    ("mutations", "变更"),
    ("lost", "排查开始时失联"),
    ("lost_months", "失联月数"),
    ("mobile", "排查开始时流动"),
    ("reason", "理由"),
];

/// The Chinese name of a request parameter or body key (for a nested key, of its last part).
pub fn parameter_label(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path);
    PARAMETER_LABELS
        .iter()
        .find(|(key, _)| *key == last)
        .map(|(_, label)| *label)
}

/// Names of the API's types and JSON values, never a word for people.
const TYPE_WORDS: &[&str] = &[
    "uuid", "true", "false", "null", "json", "string", "integer", "int", "bool", "boolean",
    "array", "object", "id", "ids", "enum", "ref", "blob",
];

/// The query, path and body parameters of the HTTP API and of a mutation that are not field
/// names of a collection.
const PARAMETERS: &[&str] = &[
    "org_unit_id",
    "as_of",
    "format",
    "list_name",
    "only_proposed",
    "collections",
    "collection",
    "cursor",
    "wait",
    "limit",
    "offset",
    "unresolved",
    "device_id",
    "mutation_id",
    "client_time",
    "op",
    "fields",
    "base_version",
    "mutations",
    "username",
    "password",
    "current_password",
    "new_password",
    "display_name",
    "parent_id",
    "kind",
    "role",
    "code",
    "sha256",
    "refresh_token",
    "access_token",
    "put",
    "patch",
    "delete",
];

/// Words of the API that are also the names of what a user picks: the formats of an export.
const USER_WORDS: &[&str] = &["xlsx", "csv"];

static API_WORDS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let mut all: BTreeSet<String> = BTreeSet::new();
    let mut add = |w: &str| {
        all.insert(w.to_ascii_lowercase());
    };
    for collection in Collection::ALL {
        add(collection.as_str());
        for spec in collection.schema().fields {
            add(spec.name);
            for w in words(spec.ty) {
                add(w);
            }
        }
    }
    Role::ALL.into_iter().for_each(|r| add(r.as_str()));
    OrgUnitKind::ALL.into_iter().for_each(|k| add(k.as_str()));
    ErrorCode::ALL.into_iter().for_each(|c| add(c.as_str()));
    Phase::ALL.into_iter().for_each(|p| add(p.as_str()));
    PhaseState::ALL.into_iter().for_each(|s| add(s.as_str()));
    LedgerKind::ALL.into_iter().for_each(|l| add(l.as_str()));
    for table in [
        AUDIT_OPS,
        ACCOUNT_ACTIONS,
        ACCOUNT_FIELDS,
        COUNT_LABELS,
        DEPARTURE_REASONS,
    ] {
        table.iter().for_each(|(key, _)| add(key));
    }
    TYPE_WORDS.iter().for_each(|w| add(w));
    PARAMETERS.iter().for_each(|w| add(w));
    for w in USER_WORDS {
        all.remove(*w);
    }
    all
});

/// The API's own words (lower case): see the module's documentation.
pub fn api_words() -> &'static BTreeSet<String> {
    &API_WORDS
}

/// The API's own words in `text`, a text meant for people: every run of ASCII letters, digits
/// and `_` that is a word of the API (case ignored), or that is a `snake_case` identifier
/// (holds `_`) at all. Empty when the text speaks the users' language.
pub fn api_words_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|token| !token.is_empty())
        // The server's settings (`PAICHA_METRICS_TOKEN`), named in what only its operator
        // reads, so that they can be set.
        .filter(|token| !token.starts_with("PAICHA_"))
        .filter(|token| {
            let lower = token.to_ascii_lowercase();
            (token.contains('_') && token.chars().any(|c| c.is_ascii_alphabetic()))
                || API_WORDS.contains(&lower)
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_apis_words_and_leaves_the_users_alone() {
        assert_eq!(
            api_words_in("「性别」的取值应为以下之一：male、female"),
            ["male", "female"]
        );
        assert_eq!(
            api_words_in("状态不能从 unverified 变为 removed_from_roster"),
            ["unverified", "removed_from_roster"]
        );
        assert_eq!(api_words_in("应为 UUID"), ["UUID"]);
        assert_eq!(api_words_in("是或否（true 或 false）"), ["true", "false"]);
        assert_eq!(api_words_in("须指定 org_unit_id"), ["org_unit_id"]);
        assert_eq!(
            api_words_in("街道社区 street_community"),
            ["street_community"]
        );
        // Any snake_case identifier, even one the API does not have (yet).
        assert_eq!(api_words_in("见 some_new_key"), ["some_new_key"]);
        // What a user reads and picks.
        assert!(api_words_in("下载 xlsx 或 csv 文件").is_empty());
        assert!(api_words_in("公民身份号码第18位应为数字或X").is_empty());
        assert!(api_words_in("只接受 JPEG、PNG 图片或 PDF 文件").is_empty());
        assert!(api_words_in("12371党建热线").is_empty());
    }

    #[test]
    fn the_tables_here_label_every_key() {
        for (key, label) in AUDIT_OPS
            .iter()
            .chain(ACCOUNT_ACTIONS)
            .chain(ACCOUNT_FIELDS)
            .chain(PARAMETER_LABELS)
            .chain(DEPARTURE_REASONS)
        {
            assert!(api_words_in(label).is_empty(), "{key}: {label}");
        }
    }

    /// Every label and message of this crate, as a person would read it, with where it comes
    /// from.
    pub(crate) fn every_text() -> Vec<(String, String)> {
        use serde_json::{Map, Value, json};

        use crate::collection::{Mode, check_past_dates, check_record, validate_fields};
        use crate::workflow::{self, Start};

        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |from: String, text: String| out.push((from, text));

        // The schema document: every label and rule description in it.
        fn walk(v: &Value, path: &str, push: &mut dyn FnMut(String, String)) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        if let (Some(t), true) = (x.as_str(), k == "label" || k == "description") {
                            push(format!("{path}.{k}"), t.to_owned());
                        }
                        walk(x, &format!("{path}.{k}"), push);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, path, push)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(crate::collection::describe()).unwrap_or_default();
        walk(&doc, "schema", &mut push);

        for code in ErrorCode::ALL {
            push(
                format!("error {}", code.as_str()),
                code.message_zh().to_owned(),
            );
        }
        for (key, label) in COUNT_LABELS {
            push(format!("count {key}"), (*label).to_owned());
        }
        for p in Phase::ALL {
            push(format!("phase {}", p.as_str()), p.label_zh().to_owned());
        }
        for s in PhaseState::ALL {
            push(
                format!("phase state {}", s.as_str()),
                s.label_zh().to_owned(),
            );
        }
        for r in Role::ALL {
            push(format!("role {}", r.as_str()), r.label_zh().to_owned());
        }
        for k in OrgUnitKind::ALL {
            push(format!("kind {}", k.as_str()), k.label_zh().to_owned());
        }
        for l in LedgerKind::ALL {
            push(format!("register {}", l.as_str()), l.title_zh().to_owned());
            for (header, _) in l.columns() {
                push(
                    format!("register {} column", l.as_str()),
                    (*header).to_owned(),
                );
            }
            for (title, column) in l.breakdowns() {
                push(
                    format!("register {} breakdown", l.as_str()),
                    format!("{title}{column}"),
                );
            }
        }
        for sheet in [&crate::roster::ROSTER, &crate::roster::TRANSFER_LIST] {
            push("sheet".into(), sheet.label_zh.to_owned());
            for (header, _) in sheet.headers {
                push(
                    format!("sheet {} header", sheet.label_zh),
                    (*header).to_owned(),
                );
            }
        }

        // What a write of each field can be refused with: by a role that may not write it, with
        // a value of every wrong kind, cleared when required.
        let bad_values = [
            json!(12345),
            json!(1.5),
            json!(true),
            json!("这不是任何一个取值"),
            json!("长".repeat(1001)),
            json!("控制\u{1}字符"),
            json!("2016-13-45"),
            json!("2999-01-01"),
            json!("110105********002X"),
            json!("1101051949"),
            json!("11010519491231002A"),
            json!("110105194913310021"),
            json!("110105194912310021"),
            json!(["x", "x"]),
            json!([1]),
            json!(vec!["0".repeat(64); 21]),
            json!({"a": 1}),
            json!([{"name": "甲", "age": 1}]),
            json!([{"duty": "走访"}]),
            json!([{"name": "甲", "duty": 5}]),
            json!("zz"),
            Value::Null,
        ];
        for collection in Collection::ALL {
            let schema = collection.schema();
            let mut unknown = Map::new();
            unknown.insert("no_such_field".into(), json!(1));
            if let Err(e) = validate_fields(schema, &unknown, Mode::Update, Role::Viewer) {
                // The unknown key is the client's own; the message must not repeat it.
                push(format!("{}.no_such_field", schema.name), e.message);
            }
            if let Err(e) = validate_fields(schema, &Map::new(), Mode::Create, Role::Viewer) {
                push(format!("{} create", schema.name), e.message);
            }
            for spec in schema.fields {
                let writer = spec.writers.first().copied().unwrap_or(Role::Viewer);
                for value in &bad_values {
                    for role in [writer, Role::Viewer] {
                        let mut fields = Map::new();
                        fields.insert(spec.name.to_owned(), value.clone());
                        if let Err(e) = validate_fields(schema, &fields, Mode::Update, role) {
                            push(
                                format!("{}.{} = {value}", schema.name, spec.name),
                                e.message,
                            );
                        }
                        if let Err(e) = check_past_dates(collection, &fields, chrono_today()) {
                            push(format!("{}.{} past", schema.name, spec.name), e.message);
                        }
                    }
                }
            }
        }
        // The rules across fields.
        let records = [
            (
                Collection::Members,
                json!({"id_number": "11010519491231002X", "birth_date": "1950-01-01"}),
            ),
            (
                Collection::Members,
                json!({"id_number": "11010519491231002X", "gender": "male"}),
            ),
            (
                Collection::Members,
                json!({"id_number": "110105194912310011", "gender": "female"}),
            ),
            (
                Collection::WorkingGroups,
                json!({"people": [{"name": "甲"}]}),
            ),
            (
                Collection::PerformanceChecks,
                json!({"source": "department"}),
            ),
            (
                Collection::ContactAttempts,
                json!({"method": "direct", "channel": "relatives"}),
            ),
        ];
        for (collection, record) in records {
            let record = record.as_object().cloned().unwrap_or_default();
            if let Err(e) = check_record(collection, &record) {
                push(format!("{} rule", collection.as_str()), e.message);
            }
        }
        // Every move of every state machine, by every role, and what each step must record.
        for m in workflow::machines() {
            let spec = m.collection.schema().field(m.field);
            let states: Vec<&str> = spec.map_or(&[][..], |s| words(s.ty)).to_vec();
            for role in Role::ALL {
                for to in states.iter().map(|s| Some(*s)).chain([None]) {
                    let mut starts = vec![Start::New, Start::Existing(None)];
                    starts.extend(states.iter().map(|s| Start::Existing(Some(*s))));
                    for from in starts {
                        if let Err(e) =
                            workflow::check_transition(m.collection, m.field, from, to, role)
                        {
                            push(
                                format!("{}.{} move", m.collection.as_str(), m.field),
                                e.message,
                            );
                        }
                    }
                }
            }
            for (value, _) in workflow::requirements(m.collection, m.field) {
                let mut record = Map::new();
                record.insert(m.field.to_owned(), json!(value));
                if let Err(e) =
                    workflow::check_required_for_steps(m.collection, &record, &|_: &str| true)
                {
                    push(
                        format!("{}.{} requires", m.collection.as_str(), m.field),
                        e.message,
                    );
                }
            }
        }
        let mut transfer = Map::new();
        transfer.insert("registered_lost".into(), json!(true));
        if let Err(e) =
            workflow::check_required_for_steps(Collection::Transfers, &transfer, &|_: &str| true)
        {
            push("transfers.registered_lost".into(), e.message);
        }
        for status in ["confirmed_remote", "confirmed_on_site"] {
            let mut member = Map::new();
            member.insert("roster_status".into(), json!(status));
            if let Err(e) = workflow::check_confirmation(&member, &[]) {
                push("members confirmation".into(), e.message);
            }
        }
        let mut attempt = Map::new();
        attempt.insert("method".into(), json!("department"));
        if let Err(e) =
            workflow::check_role_rules(Collection::ContactAttempts, &attempt, Role::BranchSecretary)
        {
            push("contact_attempts role rule".into(), e.message);
        }
        for e in crate::moves::every_refusal() {
            push(format!("move {}.{}", e.field, e.code), e.message);
        }
        for (key, label) in DEPARTURE_REASONS {
            push(format!("departure {key}"), (*label).to_owned());
        }
        out
    }

    fn chrono_today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 7).unwrap_or_default()
    }

    /// The vocabulary test, for what this crate words: no label and no message speaks the
    /// API's language.
    #[test]
    fn no_label_or_message_of_the_domain_holds_an_api_word() {
        let texts = every_text();
        assert!(
            texts.len() > 1000,
            "the walk found only {} texts",
            texts.len()
        );
        let leaks: Vec<String> = texts
            .iter()
            .filter_map(|(from, text)| {
                let words = api_words_in(text);
                (!words.is_empty()).then(|| format!("{from}: {text} ({})", words.join(", ")))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(
            leaks.is_empty(),
            "{} texts speak the API's language:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
    }
}
