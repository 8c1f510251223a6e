//! `POST /v1/import/roster`: a branch's 花名册 from an `.xlsx` or `.csv` file with Chinese
//! headers. Every bad row is reported with its row number, column and reason, and then nothing
//! is written; a good file is applied whole, in one transaction. Re-importing is idempotent:
//! members are matched by 公民身份号码.

use std::collections::HashMap;
use std::io::Cursor;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paicha_domain::api::v1::{ImportProblem, ImportRefused, ImportResult, MutationStatus};
use paicha_domain::api::{ErrorBody, ErrorCode, ErrorDetail};
use paicha_domain::collection::{Collection, Mode, check_record, validate_fields};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::roster::{HEADERS, convert, field_for_header};
use paicha_sync::push::{Writer, push_all_or_nothing};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The branch whose roster this is.
    org_unit_id: Uuid,
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

fn refused(problems: Vec<ImportProblem>) -> Response {
    let body = ImportRefused {
        error: ErrorDetail {
            code: "invalid_roster".to_owned(),
            message: format!("花名册有{}处问题，未导入任何数据", problems.len()),
            field: None,
            retry_after: None,
        },
        problems,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn problem(
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

/// Import a branch's roster (.xlsx or .csv, Chinese headers). Refused whole, with every
/// problem, if any row is bad; idempotent by 公民身份号码.
#[utoipa::path(
    post, path = "/v1/import/roster", tag = "status",
    params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An .xlsx workbook (first sheet) or a UTF-8 .csv file"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 403, description = "The caller may not write members", body = ErrorBody),
        (status = 404, description = "No such branch in the caller's scope", body = ErrorBody),
        (status = 422, description = "Refused; nothing written", body = ImportRefused),
    ),
    security(("bearer" = []))
)]
pub async fn import_roster(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let (own, branch) =
        crate::routes::sync::data_target(&state, &principal, Some(query.org_unit_id)).await?;
    if !Collection::Members
        .schema()
        .creators
        .contains(&principal.role)
    {
        return Err(ApiError::forbidden(ErrorCode::Forbidden)
            .with_message("只有党支部书记和工作组成员可以导入花名册"));
    }
    if branch.kind != OrgUnitKind::Branch {
        return Err(ApiError::unprocessable(ErrorCode::InvalidParent)
            .with_message("花名册只能导入到党支部")
            .with_field("org_unit_id"));
    }
    let sheet = if body.starts_with(b"PK\x03\x04") {
        read_xlsx(&body)
    } else {
        read_csv(&body)
    };
    let rows = match sheet {
        Ok(rows) => rows,
        Err(message) => return Ok(refused(vec![problem(0, None, "unreadable_file", message)])),
    };

    // The header row: the first with at least two known headers (titles may stand above it).
    let Some((header_index, header)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.iter().filter(|h| field_for_header(h).is_some()).count() >= 2)
    else {
        let known: Vec<&str> = HEADERS.iter().map(|(h, _)| *h).collect();
        return Ok(refused(vec![problem(
            0,
            None,
            "no_header_row",
            format!("找不到表头行；可识别的列名：{}", known.join("、")),
        )]));
    };
    let columns: Vec<(usize, &'static str, &str)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| field_for_header(h).map(|f| (i, f, h.trim())))
        .collect();
    let schema = Collection::Members.schema();
    let column_of = |field: &str| {
        columns
            .iter()
            .find(|(_, f, _)| *f == field)
            .map(|(_, _, h)| (*h).to_owned())
    };

    let mut problems = Vec::new();
    let mut parsed: Vec<(u64, Map<String, Value>)> = Vec::new();
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    for (i, row) in rows.iter().enumerate().skip(header_index + 1) {
        let number = i as u64 + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut fields = Map::new();
        for (col, field, header) in &columns {
            let text = row.get(*col).map(String::as_str).unwrap_or_default();
            if let Some(date) = text.strip_prefix("#date:") {
                fields.insert((*field).to_owned(), Value::String(date.to_owned()));
            } else if text.starts_with("#number:") || (*field == "id_number" && text.contains('E'))
            {
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
        fields.retain(|_, v| !v.is_null());
        let checked = validate_fields(schema, &fields, Mode::Create, principal.role)
            .and_then(|f| check_record(Collection::Members, &f).map(|()| f));
        match checked {
            Err(e) => problems.push(problem(
                number,
                column_of(&e.field).as_deref(),
                e.code,
                e.message,
            )),
            Ok(f) => match f.get("id_number").and_then(Value::as_str) {
                None => problems.push(problem(
                    number,
                    Some("公民身份号码"),
                    "required_field",
                    "导入花名册时「公民身份号码」为必填项",
                )),
                Some(id) => {
                    if let Some(first) = seen_ids.insert(id.to_owned(), number) {
                        problems.push(problem(
                            number,
                            column_of("id_number").as_deref(),
                            "duplicate_id_number",
                            format!("与第{first}行的公民身份号码重复"),
                        ));
                    } else {
                        parsed.push((number, f));
                    }
                }
            },
        }
    }
    if !problems.is_empty() {
        problems.truncate(1000);
        return Ok(refused(problems));
    }

    // Members already in the branch, by ID number: updated in place.
    let scope = crate::routes::sync::scope(&branch);
    let existing: HashMap<String, (Uuid, Map<String, Value>)> = state
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
    let mut mutations = Vec::new();
    let mut rows_of = Vec::new();
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    for (number, fields) in parsed {
        let id_number = fields
            .get("id_number")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mutation_id = mutations.len() as i64 + 1;
        match existing.get(&id_number) {
            Some((id, current)) => {
                let changed: Map<String, Value> = fields
                    .into_iter()
                    .filter(|(k, v)| current.get(k) != Some(v))
                    .collect();
                if changed.is_empty() {
                    unchanged += 1;
                    continue;
                }
                updated += 1;
                mutations.push(json!({"mutation_id": mutation_id, "collection": "members", "id": id, "op": "patch", "fields": changed}));
            }
            None => {
                created += 1;
                mutations.push(json!({"mutation_id": mutation_id, "collection": "members", "id": Uuid::now_v7(), "org_unit_id": branch.id, "op": "put", "fields": fields}));
            }
        }
        rows_of.push(number);
    }
    let device = format!("import-{}", Uuid::now_v7().simple());
    let writer = Writer {
        user_id: principal.user_id,
        role: principal.role,
        tenant_id: branch.tenant_id,
        unit_path: &own.path,
        device_id: &device,
    };
    match push_all_or_nothing(&state.store, writer, &mutations).await? {
        Ok(outcome) => {
            state.notifier.notify(branch.tenant_id, outcome.version);
            tracing::info!(created, updated, unchanged, "roster imported");
            Ok(Json(ImportResult {
                created,
                updated,
                unchanged,
            })
            .into_response())
        }
        Err(results) => {
            let problems = results
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
                        e.field.as_deref().and_then(&column_of).as_deref(),
                        &e.code,
                        e.message,
                    )
                })
                .collect();
            Ok(refused(problems))
        }
    }
}
