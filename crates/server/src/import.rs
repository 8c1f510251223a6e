//! Spreadsheets in, for the HTTP routes (`routes::import`) and the `paicha import` command:
//! a branch's 花名册 and a street's 转出明细, from `.xlsx` or `.csv` files with Chinese headers.
//! Every bad row is reported with its row number, column and reason, and then nothing is
//! written; a good file is applied whole, in one transaction, through the sync engine (so it
//! is audited and reaches devices). Re-importing is idempotent: members are matched by
//! 公民身份号码, transfers by list and 公民身份号码 (or name and letter number).

use std::collections::HashMap;
use std::io::Cursor;

use paicha_domain::api::v1::{ImportProblem, ImportResult, MutationStatus};
use paicha_domain::api::{ErrorCode, ErrorDetail};
use paicha_domain::collection::{Collection, Mode, check_record, validate_fields};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_domain::roster::{ROSTER, Sheet, TRANSFER_LIST, convert};
use paicha_storage::{OrgUnitRecord, Store};
use paicha_sync::SyncError;
use paicha_sync::push::{Writer, push_all_or_nothing};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Who imports: the user the writes are made as, and where they stand.
pub struct Importer<'a> {
    pub store: &'a Store,
    pub user_id: Uuid,
    pub role: Role,
    /// The path of the importer's own unit.
    pub own_path: &'a str,
    /// Named in the audit trail as the device.
    pub device_id: String,
}

/// How far an import has got, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// The file is read: this many rows (the header row's and those above it included).
    Read { rows: u64 },
    /// This row has been checked.
    Checked { row: u64 },
    /// Writing this many changes in one transaction.
    Writing { mutations: u64 },
}

/// What an import did, or why it wrote nothing.
#[derive(Debug)]
pub enum Outcome {
    Imported {
        result: ImportResult,
        /// The tenant's version after the import (unchanged when nothing changed).
        version: Option<u64>,
    },
    Refused(Vec<ImportProblem>),
}

/// One import into a unit at a time in this process: an import reads what the unit holds, then
/// writes, so two at once (a double click) would both create the same members. Held from the
/// read to the commit. (Imports through two instances, or the CLI and a server at once, are not
/// serialised by this.)
async fn unit_lock(unit: Uuid) -> tokio::sync::OwnedMutexGuard<()> {
    static LOCKS: std::sync::LazyLock<
        std::sync::Mutex<HashMap<Uuid, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::LazyLock::new(Default::default);
    let lock = {
        let mut locks = LOCKS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget the locks nobody holds, so the map stays small.
        locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
        locks.entry(unit).or_default().clone()
    };
    lock.lock_owned().await
}

/// Why a unit cannot take a sheet from a role: the error code and the message.
pub type NotAllowed = (ErrorCode, &'static str);

/// Whether `role` may import a roster into `unit`.
pub fn roster_allowed(role: Role, unit: &OrgUnitRecord) -> Result<(), NotAllowed> {
    if !Collection::Members.schema().creators.contains(&role) {
        return Err((
            ErrorCode::Forbidden,
            "只有党支部书记和工作组成员可以导入花名册",
        ));
    }
    if unit.kind != OrgUnitKind::Branch {
        return Err((ErrorCode::InvalidParent, "花名册只能导入到党支部"));
    }
    Ok(())
}

/// Whether `role` may upload a transfer list from `unit`.
pub fn transfers_allowed(role: Role, unit: &OrgUnitRecord) -> Result<(), NotAllowed> {
    let schema = Collection::Transfers.schema();
    if !schema.creators.contains(&role) {
        return Err((ErrorCode::Forbidden, "只有街道或党工委可以上传转出明细"));
    }
    if !schema.owner_kinds.contains(&unit.kind) {
        return Err((ErrorCode::InvalidParent, "转出明细只能上传到街道或党工委"));
    }
    Ok(())
}

/// A transfer list's name (转出批次), trimmed: 1 to 100 characters.
pub fn list_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        Err("请填写转出批次名称（不超过100字）")
    } else {
        Ok(name.to_owned())
    }
}

/// The error code of a refused sheet.
pub fn refusal_code(sheet: &Sheet) -> &'static str {
    if sheet.collection == Collection::Members {
        "invalid_roster"
    } else {
        "invalid_transfer_list"
    }
}

/// A cell as text. Dates typed as Excel dates become `YYYY-MM-DD`; whole numbers lose the
/// `.0`; an ID number typed as a number cannot be trusted (Excel keeps 15 digits) and is
/// flagged.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    let serial_date = |days: f64| {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|base| base.checked_add_days(chrono::Days::new(days.max(0.0).floor() as u64)))
            .map(|d| format!("#date:{}", d.format("%Y-%m-%d")))
            .unwrap_or_default()
    };
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => format!("#number:{f}"),
        Data::DateTime(d) => serial_date(d.as_f64()),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::Empty | Data::Error(_) => String::new(),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    use calamine::Reader;
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| format!("无法读取 Excel 文件：{e}"))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| "Excel 文件中没有工作表".to_owned())?
        .map_err(|e| format!("无法读取工作表：{e}"))?;
    Ok(range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect())
}

/// CSV (UTF-8, with or without a BOM; quoted cells with `""` escapes).
fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "CSV 文件应为 UTF-8 编码".to_owned())?;
    let text = text.trim_start_matches('\u{FEFF}');
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("CSV 文件中有未闭合的引号".to_owned());
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

pub fn problem(
    row: u64,
    column: Option<&str>,
    code: &str,
    message: impl Into<String>,
) -> ImportProblem {
    ImportProblem {
        row,
        column: column.map(str::to_owned),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// A sheet read and checked: each good row's fields by row number, and the header naming each
/// field.
struct Parsed {
    rows: Vec<(u64, Map<String, Value>)>,
    columns: Vec<(&'static str, String)>,
}

impl Parsed {
    fn column_of(&self, field: &str) -> Option<String> {
        self.columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, h)| h.clone())
    }
}

/// Reads `body` as `sheet`, checks each row with the collection's rules for `role` (after
/// `prepare` has had its say on the raw fields), and returns the rows or every problem.
fn parse(
    sheet: &Sheet,
    body: &[u8],
    role: Role,
    progress: &(dyn Fn(Progress) + Sync),
    mut prepare: impl FnMut(u64, &mut Map<String, Value>) -> Result<(), (&'static str, String, String)>,
) -> Result<Parsed, Vec<ImportProblem>> {
    let read = if body.starts_with(b"PK\x03\x04") {
        read_xlsx(body)
    } else {
        read_csv(body)
    };
    let rows = read.map_err(|message| vec![problem(0, None, "unreadable_file", message)])?;
    progress(Progress::Read {
        rows: rows.len() as u64,
    });

    // The header row: the first with at least two known headers (titles may stand above it).
    let Some((header_index, header)) = rows.iter().enumerate().find(|(_, r)| {
        r.iter()
            .filter(|h| sheet.field_for_header(h).is_some())
            .count()
            >= 2
    }) else {
        let known: Vec<&str> = sheet.headers.iter().map(|(h, _)| *h).collect();
        return Err(vec![problem(
            0,
            None,
            "no_header_row",
            format!("找不到表头行；可识别的列名：{}", known.join("、")),
        )]);
    };
    let columns: Vec<(usize, &'static str, &str)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| sheet.field_for_header(h).map(|f| (i, f, h.trim())))
        .collect();
    let parsed_columns: Vec<(&'static str, String)> = columns
        .iter()
        .map(|(_, f, h)| (*f, (*h).to_owned()))
        .collect();
    let column_of = |field: &str| {
        columns
            .iter()
            .find(|(_, f, _)| *f == field)
            .map(|(_, _, h)| (*h).to_owned())
    };
    let schema = sheet.collection.schema();

    let mut problems = Vec::new();
    let mut good = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(header_index + 1) {
        let number = i as u64 + 1;
        progress(Progress::Checked { row: number });
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut fields = Map::new();
        let mut row_ok = true;
        for (col, field, header) in &columns {
            let text = row.get(*col).map(String::as_str).unwrap_or_default();
            if let Some(date) = text.strip_prefix("#date:") {
                fields.insert((*field).to_owned(), Value::String(date.to_owned()));
            } else if text.starts_with("#number:") || (*field == "id_number" && text.contains('E'))
            {
                row_ok = false;
                problems.push(problem(
                    number,
                    Some(header),
                    "invalid_field_value",
                    format!("「{header}」的值无法识别，请以文本格式填写"),
                ));
            } else {
                fields.insert((*field).to_owned(), convert(field, text));
            }
        }
        if !row_ok {
            continue;
        }
        fields.retain(|_, v| !v.is_null());
        if let Err((field, code, message)) = prepare(number, &mut fields) {
            problems.push(problem(number, column_of(field).as_deref(), &code, message));
            continue;
        }
        let checked = validate_fields(schema, &fields, Mode::Create, role)
            .and_then(|f| check_record(sheet.collection, &f).map(|()| f));
        match checked {
            Err(e) => problems.push(problem(
                number,
                column_of(&e.field).as_deref(),
                e.code,
                e.message,
            )),
            Ok(f) => good.push((number, f)),
        }
    }
    if problems.is_empty() {
        Ok(Parsed {
            rows: good,
            columns: parsed_columns,
        })
    } else {
        problems.truncate(1000);
        Err(problems)
    }
}

/// Applies the mutations of an import whole, or tells why not (row by row).
async fn commit(
    importer: &Importer<'_>,
    tenant_id: Uuid,
    parsed: &Parsed,
    planned: Vec<(u64, Value)>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Result<Option<u64>, Vec<ImportProblem>>, SyncError> {
    if planned.is_empty() {
        return Ok(Ok(None));
    }
    let (rows_of, mutations): (Vec<u64>, Vec<Value>) = planned.into_iter().unzip();
    progress(Progress::Writing {
        mutations: mutations.len() as u64,
    });
    let writer = Writer {
        user_id: importer.user_id,
        role: importer.role,
        tenant_id,
        unit_path: importer.own_path,
        device_id: &importer.device_id,
    };
    match push_all_or_nothing(importer.store, writer, &mutations).await? {
        Ok(outcome) => Ok(Ok(Some(outcome.version))),
        Err(results) => Ok(Err(results
            .iter()
            .zip(&rows_of)
            .filter(|(r, _)| r.status == MutationStatus::Rejected)
            .map(|(r, row)| {
                let e = r.error.clone().unwrap_or(ErrorDetail {
                    code: "rejected".into(),
                    message: "被拒绝".into(),
                    field: None,
                    retry_after: None,
                });
                problem(
                    *row,
                    e.field
                        .as_deref()
                        .and_then(|f| parsed.column_of(f))
                        .as_deref(),
                    &e.code,
                    e.message,
                )
            })
            .collect())),
    }
}

/// Imports a branch's roster.
pub async fn roster(
    importer: &Importer<'_>,
    branch: &OrgUnitRecord,
    body: &[u8],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, SyncError> {
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    let parsed = parse(
        &ROSTER,
        body,
        importer.role,
        progress,
        |row, fields| match fields.get("id_number").and_then(Value::as_str) {
            None => Err((
                "id_number",
                "required_field".to_owned(),
                "导入花名册时「公民身份号码」为必填项".to_owned(),
            )),
            Some(id) => match seen_ids.insert(id.to_uppercase(), row) {
                Some(first) => Err((
                    "id_number",
                    "duplicate_id_number".to_owned(),
                    format!("与第{first}行的公民身份号码重复"),
                )),
                None => Ok(()),
            },
        },
    );
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Outcome::Refused(problems)),
    };

    // Members already in the branch, by ID number: updated in place.
    let _one_at_a_time = unit_lock(branch.id).await;
    let scope = paicha_storage::Scope {
        tenant_id: branch.tenant_id,
        path: &branch.path,
    };
    let existing: HashMap<String, (Uuid, Map<String, Value>)> = importer
        .store
        .live_records(scope, Collection::Members)
        .await?
        .into_iter()
        .filter(|(_, unit, _)| *unit == branch.id)
        .filter_map(|(id, _, f)| {
            let number = f.get("id_number")?.as_str()?.to_owned();
            Some((number, (id, f)))
        })
        .collect();
    let keyed = parsed
        .rows
        .iter()
        .map(|(number, fields)| {
            let key = fields
                .get("id_number")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (*number, key, fields)
        })
        .collect();
    apply(
        importer,
        branch,
        &parsed,
        Collection::Members,
        keyed,
        &existing,
        progress,
    )
    .await
}

/// Imports a street's (or the committee's) list of transferred-out members under
/// `list_name`, each row addressed to the branch it names (by name or code).
pub async fn transfers(
    importer: &Importer<'_>,
    unit: &OrgUnitRecord,
    list_name: &str,
    body: &[u8],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, SyncError> {
    let list_name = list_name.to_owned();
    // The branches the list may address, by name and by code.
    let branches: Vec<_> = importer
        .store
        .org_subtree(unit)
        .await?
        .into_iter()
        .filter(|u| u.kind == OrgUnitKind::Branch)
        .collect();
    let parsed = parse(
        &TRANSFER_LIST,
        body,
        importer.role,
        progress,
        |_, fields| {
            fields.insert("list_name".into(), Value::String(list_name.clone()));
            let Some(named) = fields.get("branch_id").and_then(Value::as_str) else {
                return Ok(());
            };
            let named = named.trim();
            let found: Vec<_> = branches
                .iter()
                .filter(|b| b.name == named || b.code.as_deref() == Some(named))
                .collect();
            match found.as_slice() {
                [one] => {
                    fields.insert("branch_id".into(), Value::String(one.id.to_string()));
                    Ok(())
                }
                [] => Err((
                    "branch_id",
                    "unknown_branch".to_owned(),
                    format!("本单位下没有名为「{named}」的党支部"),
                )),
                _ => Err((
                    "branch_id",
                    "ambiguous_branch".to_owned(),
                    format!("有多个党支部名为「{named}」，请填写党支部编码"),
                )),
            }
        },
    );
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Outcome::Refused(problems)),
    };

    // This list's transfers already uploaded by the unit, matched by ID number, or else by
    // name and letter number.
    let key = |f: &Map<String, Value>| {
        let text = |k: &str| {
            f.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match f.get("id_number").and_then(Value::as_str) {
            Some(id) => format!("id:{}", id.to_uppercase()),
            None => format!("name:{}|{}", text("member_name"), text("letter_no")),
        }
    };
    let _one_at_a_time = unit_lock(unit.id).await;
    let scope = paicha_storage::Scope {
        tenant_id: unit.tenant_id,
        path: &unit.path,
    };
    let existing: HashMap<String, (Uuid, Map<String, Value>)> = importer
        .store
        .live_records(scope, Collection::Transfers)
        .await?
        .into_iter()
        .filter(|(_, owner, f)| {
            *owner == unit.id
                && f.get("list_name").and_then(Value::as_str) == Some(list_name.as_str())
        })
        .map(|(id, _, f)| (key(&f), (id, f)))
        .collect();
    // The same person twice in one list is a mistake in the file.
    let mut seen = HashMap::new();
    let mut problems = Vec::new();
    let mut keyed = Vec::new();
    for (number, fields) in &parsed.rows {
        let k = key(fields);
        if let Some(first) = seen.insert(k.clone(), *number) {
            problems.push(problem(
                *number,
                parsed.column_of("id_number").as_deref(),
                "duplicate_row",
                format!("与第{first}行是同一人"),
            ));
            continue;
        }
        keyed.push((*number, k, fields));
    }
    if !problems.is_empty() {
        return Ok(Outcome::Refused(problems));
    }
    apply(
        importer,
        unit,
        &parsed,
        Collection::Transfers,
        keyed,
        &existing,
        progress,
    )
    .await
}

/// Turns checked rows into changes: a row whose key matches an existing record patches the
/// fields that differ (or changes nothing), any other creates a record in `unit`; then writes
/// them all in one transaction.
async fn apply(
    importer: &Importer<'_>,
    unit: &OrgUnitRecord,
    parsed: &Parsed,
    collection: Collection,
    rows: Vec<(u64, String, &Map<String, Value>)>,
    existing: &HashMap<String, (Uuid, Map<String, Value>)>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, SyncError> {
    let mut planned = Vec::new();
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    for (number, key, fields) in rows {
        let mutation_id = planned.len() as i64 + 1;
        let mutation = match existing.get(&key) {
            Some((id, current)) => {
                let changed: Map<String, Value> = fields
                    .iter()
                    .filter(|(k, v)| current.get(*k) != Some(*v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if changed.is_empty() {
                    unchanged += 1;
                    continue;
                }
                updated += 1;
                json!({"mutation_id": mutation_id, "collection": collection.as_str(), "id": id, "op": "patch", "fields": changed})
            }
            None => {
                created += 1;
                json!({"mutation_id": mutation_id, "collection": collection.as_str(), "id": Uuid::now_v7(), "org_unit_id": unit.id, "op": "put", "fields": fields})
            }
        };
        planned.push((number, mutation));
    }
    Ok(
        match commit(importer, unit.tenant_id, parsed, planned, progress).await? {
            Ok(version) => Outcome::Imported {
                result: ImportResult {
                    created,
                    updated,
                    unchanged,
                },
                version,
            },
            Err(problems) => Outcome::Refused(problems),
        },
    )
}
