//! Spreadsheets in, for the HTTP routes (`routes::import`) and the `paicha import` command:
//! a branch's 花名册 and a street's 转出明细, from `.xlsx` or `.csv` files with Chinese headers.
//! Every bad row is reported with its row number, column and reason, and then nothing is
//! written; a good file is applied whole, in one transaction, through the sync engine (so it
//! is audited and reaches devices). Re-importing is idempotent: members are matched by
//! 公民身份号码, transfers by list and 公民身份号码 (or name and letter number).

use paicha_domain::ids::TenantId;
use std::collections::HashMap;

use axum::body::Bytes;

use paicha_domain::api::v1::{ImportProblem, ImportResult, MutationResult, MutationStatus};
use paicha_domain::api::{ErrorCode, ErrorDetail};
use paicha_domain::collection::{Collection, Mode, check_record, validate_fields};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_domain::roster::{ROSTER, Sheet, TRANSFER_LIST, convert};
use paicha_storage::{OrgUnitRecord, Store};
use paicha_sync::SyncError;
use paicha_sync::push::{AllOrNothing, Writer, push_all_or_nothing};

mod read;

pub use read::{MAX_CELLS, MAX_COLUMNS, MAX_CSV_RECORD_BYTES, MAX_INFLATED_BYTES, MAX_ROWS};
use read::{read_csv, read_xlsx};
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
    /// The name the import's lease is held under (with `device_id`): `crate::leases`.
    pub instance: &'a crate::leases::Instance,
    /// How many imports may parse a file at once (`PAICHA_IMPORT_CONCURRENCY`).
    pub parsing_slots: std::sync::Arc<tokio::sync::Semaphore>,
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
    /// Another import into the unit did not finish in time; nothing was written.
    Busy,
}

/// How long an import waits for another into the same unit to finish.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `work` holding the unit's import lease, a row in the database: an import reads what
/// the unit holds, then writes, so two at once (a double click, two instances, the command
/// line and a server) would both create the same members. Held from the read to the commit;
/// another import into the unit waits (`LEASE_WAIT`, then `Outcome::Busy`). The lease follows
/// its holder (`crate::leases`): renewed while the import works, given back when it ends or
/// is dropped, and when the instance that died holding it starts again; else it runs out
/// 30 s after its holder died.
async fn one_at_a_time(
    importer: &Importer<'_>,
    unit: Uuid,
    work: impl std::future::Future<Output = Result<Outcome, SyncError>>,
) -> Result<Outcome, SyncError> {
    let holder = importer.instance.holder(&importer.device_id);
    let started = std::time::Instant::now();
    loop {
        let now = chrono::Utc::now();
        if importer
            .store
            .take_import_lease(unit, &holder, now, crate::leases::expiry())
            .await?
        {
            break;
        }
        if started.elapsed() > LEASE_WAIT {
            return Ok(Outcome::Busy);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut lease = Lease {
        store: importer.store.clone(),
        unit,
        holder: holder.clone(),
        held: true,
    };
    let renewal = {
        let (store, renewing) = (importer.store.clone(), holder.clone());
        crate::leases::Renewal::start("import", move |until| {
            let (store, holder) = (store.clone(), renewing.clone());
            async move { store.renew_import_lease(unit, &holder, until).await }
        })
    };
    let outcome = work.await;
    drop(renewal);
    lease.held = false;
    importer.store.release_import_lease(unit, &holder).await?;
    outcome
}

/// Gives the lease back should the import be dropped before it finishes (its client went
/// away, the request timed out), so the next import need not wait for it to run out.
struct Lease {
    store: Store,
    unit: Uuid,
    holder: String,
    held: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, unit, holder) = (self.store.clone(), self.unit, self.holder.clone());
            runtime.spawn(async move {
                if let Err(e) = store.release_import_lease(unit, &holder).await {
                    tracing::warn!(error = %e, "could not give back an import lease");
                }
            });
        }
    }
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

/// A callback told how far an import has got.
pub type ProgressFn = std::sync::Arc<dyn Fn(Progress) + Send + Sync>;

/// Reads and checks `body` as `sheet` (see `parse`) on the blocking pool, holding one of the
/// importer's parsing slots: parsing a large file takes a core for a while and its rows take
/// memory, so only so many imports parse at once and the async workers stay free.
async fn parse_off_workers(
    importer: &Importer<'_>,
    sheet: &'static Sheet,
    body: Bytes,
    progress: ProgressFn,
    prepare: impl FnMut(u64, &mut Map<String, Value>) -> Result<(), (&'static str, String, String)>
    + Send
    + 'static,
) -> Result<Parsed, Vec<ImportProblem>> {
    // The semaphore is never closed, so this always gets a slot.
    let _slot = importer.parsing_slots.acquire().await.ok();
    let role = importer.role;
    match tokio::task::spawn_blocking(move || parse(sheet, &body, role, &*progress, prepare)).await
    {
        Ok(parsed) => parsed,
        // A panic while parsing is a panic of the caller (an HTTP handler's becomes a 500).
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Reads `body` as `sheet`, checks each row with the collection's rules for `role` (after
/// `prepare` has had its say on the raw fields), and returns the rows or every problem.
fn parse(
    sheet: &Sheet,
    body: &[u8],
    role: Role,
    progress: &(dyn Fn(Progress) + Send + Sync),
    mut prepare: impl FnMut(u64, &mut Map<String, Value>) -> Result<(), (&'static str, String, String)>,
) -> Result<Parsed, Vec<ImportProblem>> {
    let read = if body.starts_with(b"PK\x03\x04") {
        read_xlsx(body)
    } else {
        read_csv(body)
    };
    let rows = read.map_err(|message| vec![problem(0, None, "unreadable_file", message)])?;
    progress(Progress::Read {
        rows: rows.last().map_or(0, |(number, _)| *number),
    });

    // The header row: the first with at least two known headers (titles may stand above it).
    let Some((header_index, (_, header))) = rows.iter().enumerate().find(|(_, (_, r))| {
        r.texts()
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
    let columns: Vec<(u32, &'static str, &str)> = header
        .cells()
        .iter()
        .filter_map(|(i, h)| sheet.field_for_header(h).map(|f| (*i, f, h.trim())))
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
    for (number, row) in rows.iter().skip(header_index + 1) {
        let number = *number;
        progress(Progress::Checked { row: number });
        if row.texts().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut fields = Map::new();
        let mut row_ok = true;
        for (col, field, header) in &columns {
            let text = row.get(*col);
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
                fields.insert((*field).to_owned(), convert(sheet.collection, field, text));
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

/// What became of an import's mutations.
enum Committed {
    /// There were none.
    Nothing,
    /// Applied: the tenant's version after them, and each mutation's result.
    Written(u64, Vec<MutationResult>),
    /// Refused whole: why, row by row.
    Refused(Vec<ImportProblem>),
}

/// Applies the mutations of an import whole, or tells why not (row by row).
async fn commit(
    importer: &Importer<'_>,
    tenant_id: TenantId,
    parsed: &Parsed,
    planned: Vec<(u64, Value)>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Committed, SyncError> {
    if planned.is_empty() {
        return Ok(Committed::Nothing);
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
        AllOrNothing::Committed(outcome) => {
            Ok(Committed::Written(outcome.version, outcome.results))
        }
        AllOrNothing::Refused(results) => Ok(Committed::Refused(
            results
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
                .collect(),
        )),
    }
}

/// Imports a branch's roster.
pub async fn roster(
    importer: &Importer<'_>,
    branch: &OrgUnitRecord,
    body: Bytes,
    progress: ProgressFn,
) -> Result<Outcome, SyncError> {
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    let parsed = parse_off_workers(
        importer,
        &ROSTER,
        body,
        progress.clone(),
        move |row, fields| match fields.get("id_number").and_then(Value::as_str) {
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
    )
    .await;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Outcome::Refused(problems)),
    };

    one_at_a_time(importer, branch.id.uuid(), async {
        // Members already in the branch, by ID number: updated in place.
        let scope = branch.scope();
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
            Matched {
                rows: keyed,
                existing: &existing,
                withdraw: &[],
            },
            &*progress,
        )
        .await
    })
    .await
}

/// Imports a street's (or the committee's) list of transferred-out members under
/// `list_name`, each row addressed to the branch it names (by name or code).
pub async fn transfers(
    importer: &Importer<'_>,
    unit: &OrgUnitRecord,
    list_name: &str,
    body: Bytes,
    progress: ProgressFn,
) -> Result<Outcome, SyncError> {
    let list_name = list_name.to_owned();
    let list_name_for_rows = list_name.clone();
    // The branches the list may address, by name and by code.
    let branches: Vec<_> = importer
        .store
        .org_subtree(unit)
        .await?
        .into_iter()
        .filter(|u| u.kind == OrgUnitKind::Branch)
        .collect();
    let parsed = parse_off_workers(
        importer,
        &TRANSFER_LIST,
        body,
        progress.clone(),
        move |_, fields| {
            fields.insert(
                "list_name".into(),
                Value::String(list_name_for_rows.clone()),
            );
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
    )
    .await;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Outcome::Refused(problems)),
    };

    // A transfer of the list sent before is the same row again when the file's 序号 names it
    // and the name or the ID number still agrees (a correction changes one of them, never
    // both: a renumbered list must not hand one person's follow-up to another); else when the
    // same person is on it (ID number, or else name and letter number).
    let person = |f: &Map<String, Value>| {
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
    let text = |f: &Map<String, Value>, k: &str| {
        f.get(k)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_uppercase())
    };
    let same_person_in_part = |a: &Map<String, Value>, b: &Map<String, Value>| {
        ["member_name", "id_number"]
            .iter()
            .any(|k| text(a, k).is_some() && text(a, k) == text(b, k))
    };
    one_at_a_time(importer, unit.id.uuid(), async {
        let scope = unit.scope();
        let listed: Vec<(Uuid, Map<String, Value>)> = importer
            .store
            .live_records(scope, Collection::Transfers)
            .await?
            .into_iter()
            .filter(|(_, owner, f)| {
                *owner == unit.id
                    && f.get("list_name").and_then(Value::as_str) == Some(list_name.as_str())
            })
            .map(|(id, _, f)| (id, f))
            .collect();
        let mut by_row: HashMap<String, usize> = HashMap::new();
        let mut by_person: HashMap<String, usize> = HashMap::new();
        for (i, (_, f)) in listed.iter().enumerate() {
            if let Some(row) = text(f, "list_row") {
                by_row.insert(row, i);
            }
            by_person.insert(person(f), i);
        }
        // The same row or the same person twice in one list is a mistake in the file.
        let mut seen_rows = HashMap::new();
        let mut seen = HashMap::new();
        let mut problems = Vec::new();
        let mut taken = std::collections::HashSet::new();
        let mut prepared = Vec::new();
        for (number, fields) in &parsed.rows {
            let row = text(fields, "list_row");
            let twice = match &row {
                Some(r) => seen_rows
                    .insert(r.clone(), *number)
                    .map(|first| (first, "list_row")),
                None => None,
            }
            .or_else(|| {
                seen.insert(person(fields), *number)
                    .map(|first| (first, "id_number"))
            });
            if let Some((first, column)) = twice {
                problems.push(problem(
                    *number,
                    parsed.column_of(column).as_deref(),
                    "duplicate_row",
                    format!("与第{first}行重复"),
                ));
                continue;
            }
            let by_number = row
                .and_then(|r| by_row.get(&r).copied())
                .filter(|&i| !taken.contains(&i) && same_person_in_part(&listed[i].1, fields));
            let matched = by_number.or_else(|| {
                by_person
                    .get(&person(fields))
                    .copied()
                    .filter(|i| !taken.contains(i))
            });
            let mut fields = fields.clone();
            let key = match matched {
                Some(i) => {
                    taken.insert(i);
                    // Back in the list: withdrawn no more.
                    if paicha_domain::derived::transfer_withdrawn(&listed[i].1) {
                        fields.insert("withdrawn_on".into(), Value::Null);
                    }
                    format!("rec:{}", listed[i].0)
                }
                None => format!("new:{number}"),
            };
            prepared.push((*number, key, fields));
        }
        if !problems.is_empty() {
            return Ok(Outcome::Refused(problems));
        }
        // What the list held and the file no longer does is withdrawn, never dropped.
        let withdraw: Vec<Uuid> = listed
            .iter()
            .enumerate()
            .filter(|(i, (_, f))| {
                !taken.contains(i) && !paicha_domain::derived::transfer_withdrawn(f)
            })
            .map(|(_, (id, _))| *id)
            .collect();
        let existing: HashMap<String, (Uuid, Map<String, Value>)> = listed
            .into_iter()
            .map(|(id, f)| (format!("rec:{id}"), (id, f)))
            .collect();
        let keyed = prepared
            .iter()
            .map(|(number, key, fields)| (*number, key.clone(), fields))
            .collect();
        apply(
            importer,
            unit,
            &parsed,
            Collection::Transfers,
            Matched {
                rows: keyed,
                existing: &existing,
                withdraw: &withdraw,
            },
            &*progress,
        )
        .await
    })
    .await
}

/// A file's rows matched to what the unit holds: each row with its key (an `existing` key
/// when it is a record already there), and the records the file withdraws.
struct Matched<'a> {
    rows: Vec<(u64, String, &'a Map<String, Value>)>,
    existing: &'a HashMap<String, (Uuid, Map<String, Value>)>,
    withdraw: &'a [Uuid],
}

/// Turns checked rows into changes: a row whose key matches an existing record patches the
/// fields that differ (or changes nothing), any other creates a record in `unit`; then writes
/// them all in one transaction.
///
/// A patch is based (`base_version`) on the version at which an import last wrote the record
/// (0 if none has), so a field the file changes that was edited since (on a device) is a
/// conflict of the sync engine (protocol §4.5): the file's value is written and the edited one
/// kept in the conflict log for review. Afterwards each record written is marked with its new
/// version.
async fn apply(
    importer: &Importer<'_>,
    unit: &OrgUnitRecord,
    parsed: &Parsed,
    collection: Collection,
    matched: Matched<'_>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, SyncError> {
    let Matched {
        rows,
        existing,
        withdraw,
    } = matched;
    let matched: Vec<Uuid> = rows
        .iter()
        .filter_map(|(_, key, _)| existing.get(key).map(|(id, _)| *id))
        .chain(withdraw.iter().copied())
        .collect();
    let marks = importer
        .store
        .import_marks(collection.as_str(), &matched)
        .await?;
    let mut planned = Vec::new();
    let mut written = Vec::new();
    let (mut created, mut updated, mut unchanged, mut readdressed) = (0, 0, 0, 0);
    for (number, key, fields) in rows {
        let mutation_id = planned.len() as i64 + 1;
        let (id, mutation) = match existing.get(&key) {
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
                readdressed += u64::from(changed.contains_key("branch_id"));
                let base = marks.get(id).copied().unwrap_or(0);
                (
                    *id,
                    json!({"mutation_id": mutation_id, "collection": collection.as_str(), "id": id, "op": "patch", "base_version": base, "fields": changed}),
                )
            }
            None => {
                created += 1;
                let id = Uuid::now_v7();
                (
                    id,
                    json!({"mutation_id": mutation_id, "collection": collection.as_str(), "id": id, "org_unit_id": unit.id, "op": "put", "fields": fields}),
                )
            }
        };
        written.push(id);
        planned.push((number, mutation));
    }
    // Withdrawals belong to no row of the file (row 0 where one is refused).
    let today = paicha_domain::calendar::china_date(chrono::Utc::now()).to_string();
    for id in withdraw {
        let mutation_id = planned.len() as i64 + 1;
        let base = marks.get(id).copied().unwrap_or(0);
        written.push(*id);
        planned.push((
            0,
            json!({"mutation_id": mutation_id, "collection": collection.as_str(), "id": id, "op": "patch", "base_version": base, "fields": {"withdrawn_on": today}}),
        ));
    }
    let (version, results) =
        match commit(importer, unit.tenant_id, parsed, planned, progress).await? {
            Committed::Written(version, results) => (Some(version), results),
            Committed::Nothing => (None, Vec::new()),
            Committed::Refused(problems) => return Ok(Outcome::Refused(problems)),
        };
    let conflicts = results
        .iter()
        .map(|r| r.conflicts.as_ref().map_or(0, Vec::len) as u64)
        .sum();
    // After the commit: should this fail or never run, the older marks only make the next
    // import report more conflicts, never fewer.
    let marks: Vec<(Uuid, u64)> = written
        .iter()
        .zip(&results)
        .filter_map(|(id, r)| Some((*id, r.version?)))
        .collect();
    importer
        .store
        .set_import_marks(unit.tenant_id, collection.as_str(), &marks)
        .await?;
    Ok(Outcome::Imported {
        result: ImportResult {
            created,
            updated,
            unchanged,
            conflicts,
            readdressed,
            withdrawn: withdraw.len() as u64,
        },
        version,
    })
}
