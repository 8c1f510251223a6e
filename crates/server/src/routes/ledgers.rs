//! `GET /v1/ledgers/{kind}`: the registers of a unit's subtree as an Excel workbook (Chinese
//! headers, the unit's name and the date on top), as CSV in UTF-8 with a BOM (so Excel shows
//! the Chinese), or as JSON.

use paicha_domain::ids::UnitId;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paicha_domain::api::v1::{LedgerSection, LedgerTable};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_domain::ledger::{LedgerKind, Part, Selection, Source, display_zh};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;

/// A record's fields.
type Fields = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
    /// `xlsx` (default), `csv` or `json` (docs/protocol.md §12.2).
    #[param(schema_with = ledger_format)]
    format: Option<String>,
    /// Registers A and B only: the id of a submission, for the entries it submitted (and that
    /// were approved, when it is), or `unsubmitted`, for the entries no submitted or approved
    /// submission holds; without it, every entry.
    submission: Option<String>,
}

/// The schema of the `format` parameter: one of the three formats, `xlsx` by default.
fn ledger_format() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["xlsx", "csv", "json"]))
        .default(Some(serde_json::json!("xlsx")))
        .build()
}

/// A register of the unit's subtree.
///
/// Kinds: `ledger_a` (不在花名册党员初审信息台帐), `ledger_b` (党员花名册多余人员信息台帐),
/// `lost_contact_register` (失联党员登记册), `found_register` (经查找取得联系党员登记表),
/// `still_lost_register` (经查找仍然无法取得联系党员登记表), `roster` (党员花名册).
#[utoipa::path(
    get, path = "/v1/ledgers/{kind}", tag = "status",
    params(("kind" = paicha_domain::ledger::LedgerKind, Path, description = "The register"), LedgerQuery),
    responses(
        (status = 200, description = "The register, as `format` asks: an xlsx workbook (the default), CSV (UTF-8 with a BOM) or JSON",
            content(
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"),
                (LedgerTable = "application/json"),
            )),
        (status = 400, description = "Unknown kind, format or submission", body = ErrorBody),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope, or no such submission of the register handed in at or below the unit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn ledger(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> ApiResult<Response> {
    let kind = LedgerKind::parse(&kind).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidPath)
            .with_message("未知的台帐类型")
            .with_field("kind")
    })?;
    let format = query.format.as_deref().unwrap_or("xlsx");
    if !matches!(format, "xlsx" | "csv" | "json") {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message("文件格式应为 xlsx 或 csv")
            .with_field("format"));
    }
    let by_submission = matches!(kind, LedgerKind::LedgerA | LedgerKind::LedgerB);
    let part = Part::parse(query.submission.as_deref())
        .filter(|p| by_submission || *p == Part::All)
        .ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidQuery)
                .with_message("报送应为台帐A或台帐B的一次报送，或“未报送”")
                .with_field("submission")
        })?;
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    let scope = crate::access::scope(&target);
    let subtree = state.store.org_subtree(&target).await?;
    let units: HashMap<UnitId, String> = subtree.iter().map(|u| (u.id, u.name.clone())).collect();
    // The 工作区 of each unit: itself or its nearest ancestor of that kind (the work area's
    // name also when it lies above the unit exported, as for a branch's own register).
    let mut parents: HashMap<UnitId, Option<UnitId>> =
        subtree.iter().map(|u| (u.id, u.parent_id)).collect();
    let mut kinds: HashMap<UnitId, (paicha_domain::org::OrgUnitKind, String)> = subtree
        .iter()
        .map(|u| (u.id, (u.kind, u.name.clone())))
        .collect();
    let mut above = target.parent_id;
    while let Some(id) = above {
        match state.store.org_unit(id).await? {
            Some(u) => {
                parents.insert(u.id, u.parent_id);
                kinds.insert(u.id, (u.kind, u.name.clone()));
                above = u.parent_id;
            }
            None => break,
        }
    }
    let work_area_of = |unit: UnitId| -> String {
        let mut at = Some(unit);
        while let Some(id) = at {
            if let Some((paicha_domain::org::OrgUnitKind::WorkArea, name)) = kinds.get(&id) {
                return name.clone();
            }
            at = parents.get(&id).copied().flatten();
        }
        String::new()
    };
    let prepared_by = state
        .store
        .user(principal.user_id)
        .await?
        .map(|u| u.display_name.unwrap_or(u.username))
        .unwrap_or_default();

    let (collection, keep): (
        Collection,
        Box<dyn Fn(&serde_json::Map<String, serde_json::Value>) -> bool + Send>,
    ) = match kind.selection() {
        Selection::Where(c, field, value) => (
            c,
            Box::new(move |f| f.get(field).and_then(|v| v.as_str()) == Some(value)),
        ),
        Selection::Except(c, field, value) => (
            c,
            Box::new(move |f| f.get(field).and_then(|v| v.as_str()) != Some(value)),
        ),
        Selection::All(c) => (c, Box::new(|_| true)),
    };
    // Every record read as the caller reads personal data (docs/protocol.md §3.7): the
    // 公民身份号码 column is masked for a masked role, in every format.
    let view = paicha_domain::privacy::View::of(principal.role);
    let project = |collection: Collection, mut rows: Vec<(Uuid, UnitId, Fields)>| {
        for (_, _, fields) in &mut rows {
            paicha_domain::privacy::project_fields(collection, fields, view);
        }
        rows
    };
    let mut records = project(
        collection,
        state.store.live_records(scope, collection).await?,
    );
    let parts = if by_submission {
        let submissions = project(
            Collection::LedgerSubmissions,
            state
                .store
                .live_records(scope, Collection::LedgerSubmissions)
                .await?,
        );
        Some(
            by_parts(
                &state,
                &target,
                kind,
                part,
                submissions,
                &mut records,
                &units,
            )
            .await?,
        )
    } else {
        None
    };
    // The part in the file's name: 第一工作区补报, 未报送条目.
    let file_part = match part {
        Part::All => String::new(),
        Part::Unsubmitted => "-未报送条目".to_owned(),
        Part::Submission(id) => parts
            .iter()
            .flat_map(|p| &p.sections)
            .find(|s| s.submission_id == id)
            .map(|s| {
                let kind = if s.supplementary { "补报" } else { "报送" };
                format!("-{}{kind}", s.work_area_name)
            })
            .unwrap_or_default(),
    };
    let mut members_with_rows: Vec<(Uuid, serde_json::Map<String, serde_json::Value>)> = Vec::new();
    let needs_members = kind
        .columns()
        .iter()
        .any(|(_, s)| matches!(s, Source::Member(_)));
    let mut member_unit: HashMap<String, UnitId> = HashMap::new();
    let members: HashMap<String, serde_json::Map<String, serde_json::Value>> = if needs_members {
        project(
            Collection::Members,
            state.store.live_records(scope, Collection::Members).await?,
        )
        .into_iter()
        .map(|(id, unit, fields)| {
            member_unit.insert(id.to_string(), unit);
            (id.to_string(), fields)
        })
        .collect()
    } else {
        HashMap::new()
    };
    let mut members = members;
    if kind == LedgerKind::LostContactRegister {
        // Every member who is lost, not only those a case was opened for: members pending
        // because lost, or whose contact status is lost, searching or still lost, without a
        // case (their own fields fill the columns the case would), and transferred members
        // registered as lost (their receiver could not be reached).
        let with_case: std::collections::HashSet<String> = records
            .iter()
            .filter_map(|(_, _, f)| {
                f.get("member_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
            .collect();
        for (id, fields) in &members {
            let status = |k: &str| fields.get(k).and_then(|v| v.as_str());
            let lost = status("roster_status") == Some("pending_lost")
                || matches!(
                    status("contact_status"),
                    Some("lost" | "searching" | "still_lost")
                );
            if lost
                && !with_case.contains(id)
                && status("roster_status") != Some("removed_from_roster")
            {
                let mut row = fields.clone();
                row.insert("member_id".into(), serde_json::Value::String(id.clone()));
                row.insert("remarks".into(), "尚未开展查找".into());
                // No case yet: the months lost at the start are the member's baseline's.
                if let Some(months) = fields.get("baseline_lost_months") {
                    row.insert("lost_months_at_start".into(), months.clone());
                }
                if let Ok(id) = Uuid::parse_str(id) {
                    members_with_rows.push((id, row));
                }
            }
        }
        for (id, owner, fields) in project(
            Collection::Transfers,
            state
                .store
                .live_records(scope, Collection::Transfers)
                .await?,
        ) {
            // A receipt that came in after the loss was registered ended it (补办回执).
            if fields.get("registered_lost").and_then(|v| v.as_bool()) != Some(true)
                || paicha_domain::derived::receipt_in(&fields)
            {
                continue;
            }
            // Registering the member as lost opened a case for it (docs/domain.md §6.4): the
            // case's row stands for it.
            let member = fields.get("member_id").and_then(|v| v.as_str());
            if member.is_some_and(|m| with_case.contains(m)) {
                continue;
            }
            let branch = fields
                .get("branch_id")
                .and_then(|v| v.as_str())
                .and_then(|b| Uuid::parse_str(b).ok())
                .map_or(owner, UnitId::new);
            let key = format!("transfer:{id}");
            let mut person = serde_json::Map::new();
            for (from, to) in [("member_name", "name"), ("id_number", "id_number")] {
                if let Some(v) = fields.get(from) {
                    person.insert(to.into(), v.clone());
                }
            }
            members.insert(key.clone(), person);
            let mut row = serde_json::Map::new();
            row.insert("member_id".into(), serde_json::Value::String(key));
            row.insert("remarks".into(), "转出后接收方无法联系，登记为失联".into());
            records.push((id, branch, row));
        }
        for (member_id, row) in members_with_rows.drain(..) {
            let unit = member_unit
                .get(&member_id.to_string())
                .copied()
                .unwrap_or(target.id);
            records.push((member_id, unit, row));
        }
    }

    let columns: Vec<String> = kind
        .columns()
        .iter()
        .map(|(h, _)| (*h).to_owned())
        .collect();
    // Grouped by work area, then branch; within a branch in the order the records came.
    let mut selected: Vec<(
        String,
        String,
        &UnitId,
        &serde_json::Map<String, serde_json::Value>,
    )> = records
        .iter()
        .filter(|(_, _, f)| keep(f))
        .map(|(_, unit, f)| {
            (
                work_area_of(*unit),
                units.get(unit).cloned().unwrap_or_default(),
                unit,
                f,
            )
        })
        .collect();
    selected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (work_area, branch, _, fields) in selected {
        let serial = rows.len() + 1;
        let member = fields
            .get("member_id")
            .and_then(|v| v.as_str())
            .and_then(|id| members.get(id));
        let row: Vec<String> = kind
            .columns()
            .iter()
            .map(|(_, source)| match source {
                Source::Serial => serial.to_string(),
                Source::Unit => branch.clone(),
                Source::WorkArea => work_area.clone(),
                Source::Field(f) => fields.get(*f).map(display_zh).unwrap_or_default(),
                Source::Attachments(f) => paicha_domain::ledger::attachments_zh(fields.get(*f)),
                Source::LostBand(f) => paicha_domain::ledger::lost_band_zh(fields.get(*f)),
                Source::Member(f) => member
                    .and_then(|m| m.get(*f))
                    .map(display_zh)
                    .unwrap_or_default(),
            })
            .collect();
        rows.push(row);
    }
    let summaries = kind
        .breakdowns()
        .iter()
        .filter_map(|(title, column)| {
            let at = columns.iter().position(|c| c == column)?;
            let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
            for row in &rows {
                let value = row.get(at).map(String::as_str).unwrap_or_default();
                let key = if value.is_empty() { "未填写" } else { value };
                *counts.entry(key.to_owned()).or_default() += 1;
            }
            let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Some(paicha_domain::api::v1::LedgerSummary {
                title: (*title).to_owned(),
                column: (*column).to_owned(),
                counts,
            })
        })
        .collect();
    let table = LedgerTable {
        kind,
        title: kind.title_zh().to_owned(),
        org_unit_id: target.id.uuid(),
        org_unit_name: target.name.clone(),
        // The day in China: an export made before 08:00 there is not dated the day before.
        generated_on: paicha_domain::calendar::china_date(Utc::now()),
        prepared_by,
        columns,
        rows,
        summaries,
        sections: parts
            .as_ref()
            .map(|p| p.sections.clone())
            .unwrap_or_default(),
        unsubmitted: parts.as_ref().map(|p| p.unsubmitted),
        part_zh: parts.map(|p| p.part_zh).unwrap_or_default(),
    };
    match format {
        "json" => Ok(axum::Json(table).into_response()),
        "csv" => Ok(download(
            csv(&table).into_bytes(),
            "text/csv; charset=utf-8",
            &table,
            &file_part,
            "csv",
        )),
        _ => {
            let bytes = xlsx(&table).map_err(ApiError::internal)?;
            Ok(download(
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &table,
                &file_part,
                "xlsx",
            ))
        }
    }
}

/// Registers A and B by submission (docs/domain.md §8.16): the submissions handed in at or
/// below the unit, how many entries are in none that is submitted or approved, and which part
/// the rows are.
struct Parts {
    sections: Vec<LedgerSection>,
    unsubmitted: u64,
    part_zh: String,
}

/// Keeps in `records` (the unit's ledger entries) the entries of `part`, and describes the
/// submissions of `kind`'s ledger among `submissions` (the unit's, read as the caller reads
/// them). An entry's holder above the unit (a branch's register) is read by id, in the tenant,
/// only for its status.
async fn by_parts(
    state: &AppState,
    target: &paicha_storage::OrgUnitRecord,
    kind: LedgerKind,
    part: Part,
    submissions: Vec<(Uuid, UnitId, Fields)>,
    records: &mut Vec<(Uuid, UnitId, Fields)>,
    units: &HashMap<UnitId, String>,
) -> ApiResult<Parts> {
    let ledger = kind.as_str();
    let mut status: HashMap<Uuid, Option<String>> = submissions
        .iter()
        .map(|(id, _, f)| {
            (
                *id,
                f.get("status").and_then(|v| v.as_str()).map(str::to_owned),
            )
        })
        .collect();
    for (_, _, entry) in records
        .iter()
        .filter(|(_, _, f)| f.get("ledger").and_then(|v| v.as_str()) == Some(ledger))
    {
        let Some(holder) = paicha_domain::derived::holder_of(entry) else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = status.entry(holder) {
            let row = state
                .store
                .record(Collection::LedgerSubmissions, holder)
                .await?
                .filter(|r| r.tenant_id == target.tenant_id && !r.deleted);
            let word = row.and_then(|r| r.fields.get("status")?.as_str().map(str::to_owned));
            slot.insert(word);
        }
    }
    let holder_status = |entry: &Fields| {
        paicha_domain::derived::holder_of(entry).and_then(|h| status.get(&h).cloned().flatten())
    };
    let of_ledger = |f: &Fields| f.get("ledger").and_then(|v| v.as_str()) == Some(ledger);
    let unsubmitted = records
        .iter()
        .filter(|(_, _, f)| of_ledger(f))
        .filter(|(_, _, f)| Part::Unsubmitted.holds_entry(f, holder_status(f).as_deref()))
        .count() as u64;
    let date = |f: &Fields, name: &str| {
        f.get(name)
            .and_then(|v| v.as_str())
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let mut sections: Vec<LedgerSection> = submissions
        .iter()
        .filter(|(_, _, f)| of_ledger(f) && paicha_domain::derived::claims(f))
        .map(|(id, unit, f)| {
            let work_area_name = units.get(unit).cloned().unwrap_or_default();
            let word = f.get("status").and_then(|v| v.as_str()).unwrap_or("draft");
            LedgerSection {
                submission_id: *id,
                work_area_id: unit.uuid(),
                note_zh: paicha_domain::ledger::submission_note_zh(&work_area_name, f),
                work_area_name,
                status: word.to_owned(),
                status_zh: paicha_domain::collection::enum_label(
                    Collection::LedgerSubmissions,
                    "status",
                    word,
                )
                .unwrap_or(word)
                .to_owned(),
                supplementary: f.get("supplementary").and_then(|v| v.as_bool()) == Some(true),
                received_on: date(f, "received_on"),
                audited_on: date(f, "audited_on"),
                reopened_on: date(f, "reopened_on"),
                entries: records
                    .iter()
                    .filter(|(_, _, e)| Part::Submission(*id).holds_entry(e, None))
                    .count() as u64,
            }
        })
        .collect();
    // By work area; within one, in the order they were made.
    sections.sort_by(|a, b| a.work_area_name.cmp(&b.work_area_name));
    let part_zh = match part {
        Part::All => String::new(),
        Part::Unsubmitted => paicha_domain::ledger::UNSUBMITTED_ZH.to_owned(),
        Part::Submission(id) => sections
            .iter()
            .find(|s| s.submission_id == id)
            .map(|s| s.note_zh.clone())
            .ok_or_else(|| {
                ApiError::not_found()
                    .with_message("本单位没有这次台帐报送")
                    .with_field("submission")
            })?,
    };
    records.retain(|(_, _, f)| part.holds_entry(f, holder_status(f).as_deref()));
    Ok(Parts {
        sections,
        unsubmitted,
        part_zh,
    })
}

fn download(
    bytes: Vec<u8>,
    content_type: &'static str,
    table: &LedgerTable,
    part: &str,
    ext: &str,
) -> Response {
    let mut response = Body::from(bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(v) = crate::routes::attachment(
        &format!("{}.{ext}", table.kind.as_str()),
        &format!("{}{part}-{}.{ext}", table.title, table.generated_on),
    ) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// CSV in UTF-8 with a byte-order mark, which Excel needs to read Chinese correctly. Every
/// cell goes through [`neutralise`], so no value becomes a formula when the file is opened.
fn csv(table: &LedgerTable) -> String {
    fn cell(s: &str) -> String {
        let s = neutralise(s);
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.into_owned()
        }
    }
    let mut out = String::from("\u{FEFF}");
    for line in std::iter::once(&table.columns).chain(table.rows.iter()) {
        out.push_str(&line.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A CSV cell that a spreadsheet would read as a formula (CSV injection) — text beginning with
/// `=`, `+`, `-`, `@`, a tab or a carriage return — gets a leading apostrophe, so Excel and
/// WPS show it as text. The register's cells are all text to the writer; a plain decimal number
/// (`-3`, `+86`, `1.5`: digits with at most a sign and one decimal point) cannot be a formula and
/// is left as it is, so numbers stay numbers. The workbook needs none of this: its cells are
/// written as typed text, never as formulas.
fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// Digits with an optional leading sign and at most one decimal point between digits.
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

/// `2016年3月11日` (how [`paicha_domain::ledger::date_zh`] writes a date) back to its parts.
fn parse_date_zh(text: &str) -> Option<(u16, u8, u8)> {
    let (year, rest) = text.split_once('年')?;
    let (month, rest) = rest.split_once('月')?;
    let day = rest.strip_suffix('日')?;
    Some((year.parse().ok()?, month.parse().ok()?, day.parse().ok()?))
}

/// How wide a text shows, in Excel's character units: a CJK character takes two.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The workbook, ready to print and file: the title across the table, the unit and date, the
/// headers (frozen, and repeated with the title on every printed page), the rows with numbers
/// and dates as Excel numbers and dates, the sign-off line below; A4, landscape when the
/// register is wide, fitted to the page width, page numbers in the footer.
fn xlsx(table: &LedgerTable) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use paicha_domain::ledger::CellKind;
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(table.title.chars().take(31).collect::<String>())?;
    let columns = u16::try_from(table.columns.len().max(1)).unwrap_or(u16::MAX);
    let last = columns - 1;
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let subtitle = Format::new().set_align(FormatAlign::Left);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("#EFEFEF");
    let text = Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin);
    let number = text.clone().set_align(FormatAlign::Center);
    let date = number.clone().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let generated =
        paicha_domain::ledger::date_zh(&table.generated_on.to_string()).unwrap_or_default();
    // Which part of the register it is (a submission's line, or 未报送条目), after the date.
    let part = if table.part_zh.is_empty() {
        String::new()
    } else {
        format!("　{}", table.part_zh)
    };
    if last > 0 {
        sheet.merge_range(0, 0, 0, last, &table.title, &title)?;
        sheet.merge_range(
            1,
            0,
            1,
            last,
            &format!("单位：{}　日期：{generated}{part}", table.org_unit_name),
            &subtitle,
        )?;
    } else {
        sheet.write_string_with_format(0, 0, &table.title, &title)?;
        sheet.write_string(
            1,
            0,
            format!("单位：{}　日期：{generated}{part}", table.org_unit_name),
        )?;
    }
    sheet.set_row_height(0, 28)?;
    sheet.set_row_height(2, 48)?;
    let kinds = table.kind.cell_kinds();
    // A long heading wraps onto two lines: it asks for half its width (6 to 12).
    let mut widths: Vec<usize> = table
        .columns
        .iter()
        .map(|h| {
            display_width(h)
                .div_ceil(2)
                .clamp(6, 12)
                .min(display_width(h))
        })
        .collect();
    for (c, heading) in table.columns.iter().enumerate() {
        let col = u16::try_from(c).unwrap_or(u16::MAX);
        sheet.write_string_with_format(2, col, heading, &header)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let line = u32::try_from(r + 3).unwrap_or(u32::MAX);
        for (c, value) in row.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(display_width(value));
            }
            let kind = kinds.get(c).copied().unwrap_or(CellKind::Text);
            let as_number = (kind == CellKind::Number)
                .then(|| value.parse::<f64>().ok())
                .flatten();
            let as_date = (kind == CellKind::Date)
                .then(|| parse_date_zh(value))
                .flatten()
                .and_then(|(y, m, d)| ExcelDateTime::from_ymd(y, m, d).ok());
            if let Some(n) = as_number {
                sheet.write_number_with_format(line, col, n, &number)?;
            } else if let Some(day) = as_date {
                sheet.write_datetime_with_format(line, col, &day, &date)?;
            } else {
                sheet.write_string_with_format(line, col, value, &text)?;
            }
        }
    }
    // Wide enough for what the column holds, within reason: long texts wrap.
    for (c, width) in widths.iter().enumerate() {
        let col = u16::try_from(c).unwrap_or(u16::MAX);
        let fit = (*width).clamp(4, 24) + 1;
        sheet.set_column_width(col, u32::try_from(fit).unwrap_or(32))?;
    }
    // The sign-off lines of a register handed upward: who filled it in, who audited it, when it
    // was sent (the last two are written by hand on the printed sheet).
    let after = u32::try_from(table.rows.len() + 4).unwrap_or(u32::MAX);
    let sign_off = format!(
        "填报单位：{}　　填报人：{}　　审核人：＿＿＿＿＿＿　　报送日期：＿＿＿＿年＿＿月＿＿日",
        table.org_unit_name, table.prepared_by
    );
    if last > 0 {
        sheet.merge_range(after, 0, after, last, &sign_off, &subtitle)?;
    } else {
        sheet.write_string(after, 0, sign_off)?;
    }
    // Printing: A4, landscape when wide, one page wide, title and headers on every page.
    sheet.set_paper_size(9);
    if table.kind.is_wide() {
        sheet.set_landscape();
    }
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_center_horizontally(true);
    sheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    sheet.set_repeat_rows(0, 2)?;
    sheet.set_freeze_panes(3, 0)?;
    sheet.set_footer("&C第 &P 页，共 &N 页");
    // The breakdowns on a sheet of their own, so the register's sheet stays one table.
    if !table.summaries.is_empty() {
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet();
        sheet.set_name("分类统计")?;
        sheet.write_string_with_format(0, 0, format!("{}分类统计", table.title), &bold)?;
        sheet.set_column_width(0, 24)?;
        sheet.set_paper_size(9);
        let mut line: u32 = 2;
        for summary in &table.summaries {
            sheet.write_string_with_format(line, 0, &summary.title, &bold)?;
            sheet.write_string_with_format(line, 1, "人数", &bold)?;
            line += 1;
            for (value, n) in &summary.counts {
                sheet.write_string(line, 0, value)?;
                sheet.write_number(line, 1, *n as f64)?;
                line += 1;
            }
            line += 1;
        }
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised_and_numbers_kept() {
        let table: &[(&str, &str)] = &[
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd", "'+cmd"),
            ("-1+1", "'-1+1"),
            ("-2-3", "'-2-3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-", "'-"),
            ("+", "'+"),
            ("-.5", "'-.5"),
            ("1.", "1."),
            ("-12", "-12"),
            ("+8613800000000", "+8613800000000"),
            ("-3.25", "-3.25"),
            ("张三", "张三"),
            ("2016年3月11日", "2016年3月11日"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (raw, expected) in table {
            assert_eq!(neutralise(raw), *expected, "{raw:?}");
        }
    }
}
