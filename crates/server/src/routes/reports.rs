//! Signed reports (报表, docs/domain.md §8.14, docs/protocol.md §12.11): the 组织办 signs the
//! status of a unit as of a day; the server keeps it exactly as it was, with the SHA-256 of its
//! content and the head of the tenant's audit chain, and answers what has moved since.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SubsecRound;
use paicha_domain::api::v1::{
    ChangeSince, CountChange, Report, ReportChanges, ReportList, ReportSummary, SignReport,
    UnitStatus,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_domain::role::Role;
use paicha_storage::ReportRecord;
use paicha_sync::push::{BaselineError, BaselineRefusal, note_signed_report};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::counts::unit_status;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;

/// Entries listed by "changes since" at most.
const MAX_CHANGES: u64 = 1000;

fn summary(r: &ReportRecord) -> ReportSummary {
    ReportSummary {
        id: r.id,
        org_unit_id: r.org_unit_id.uuid(),
        unit_name: r.unit_name.clone(),
        as_of: r.as_of,
        signed_by: r.signed_by,
        signed_by_name: r.signed_by_name.clone(),
        signed_at: r.signed_at,
        content_sha256: r.content_sha256.clone(),
        chain_version: r.chain_version,
        chain_head: r.chain_head.clone(),
    }
}

fn report(r: ReportRecord) -> ApiResult<Report> {
    let status = serde_json::value::RawValue::from_string(r.content.clone())
        .map_err(|e| ApiError::internal(format!("report {}: {e}", r.id)))?;
    Ok(Report {
        summary: summary(&r),
        status,
    })
}

/// Sign the status of a unit.
///
/// The 组织办 signs the status of its tenant, or of a unit, as of a day (default today). The
/// campaign's baseline must be fixed. The server keeps the status exactly as it answers it now,
/// with who signed and when, the SHA-256 of its content and the head of the tenant's audit
/// chain; a report never changes (a later one is a new report). From the first report on, a
/// member's snapshot changes only by the 组织办's correction.
#[utoipa::path(
    post, path = "/v1/reports", tag = "status",
    request_body = SignReport,
    responses(
        (status = 201, description = "Signed", body = Report),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the 组织办 signs reports", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
        (status = 409, description = "No campaign (`no_campaign`), or its baseline is not fixed (`baseline_not_taken`)", body = ErrorBody),
        (status = 422, description = "A day after today", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn sign(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiJson(body): ApiJson<SignReport>,
) -> ApiResult<(StatusCode, Json<Report>)> {
    let (own, target) = crate::access::data_target(&state, &principal, body.org_unit_id).await?;
    if principal.role != Role::OrgOffice {
        return Err(ApiError::forbidden(ErrorCode::Forbidden).with_message("报表由组织办签发"));
    }
    let now = chrono::Utc::now().trunc_subsecs(6);
    let today = paicha_domain::calendar::china_date(now);
    let as_of = body.as_of.unwrap_or(today);
    if as_of > today {
        return Err(ApiError::unprocessable(ErrorCode::InvalidBody)
            .with_message("报表日期不能晚于今天")
            .with_field("as_of"));
    }
    let writer = crate::access::writer(&principal, &own);
    match note_signed_report(&state.store, writer).await {
        Ok(Some(version)) => state.notifier.notify(own.tenant_id, version),
        Ok(None) => {}
        Err(BaselineError::Failed(e)) => return Err(e.into()),
        Err(BaselineError::Refused(BaselineRefusal::NotTaken)) => {
            return Err(ApiError::conflict(ErrorCode::BaselineNotTaken)
                .with_message("排查底数尚未确定，不能签发报表；请先确定排查底数"));
        }
        Err(_) => return Err(ApiError::conflict(ErrorCode::NoCampaign)),
    }
    let (status, version) = unit_status(&state, &target, as_of).await?;
    let content = serde_json::to_string(&status)
        .map_err(|e| ApiError::internal(format!("report content: {e}")))?;
    let head = state
        .store
        .change_entry(target.tenant_id, version)
        .await?
        .ok_or_else(|| ApiError::internal(format!("no audit entry at version {version}")))?;
    let signer = state.store.user(principal.user_id).await?;
    let record = ReportRecord {
        id: Uuid::now_v7(),
        tenant_id: target.tenant_id,
        org_unit_id: target.id,
        unit_path: target.path.clone(),
        unit_name: target.name.clone(),
        as_of,
        signed_by: principal.user_id,
        signed_by_name: signer
            .map(|u| u.display_name.unwrap_or(u.username))
            .unwrap_or_default(),
        signed_at: now,
        content_sha256: paicha_sync::audit::sha256_hex(content.as_bytes()),
        content,
        chain_version: version,
        chain_head: head.hash,
    };
    state.store.insert_report(&record).await?;
    Ok((StatusCode::CREATED, Json(report(record)?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// The unit; default the caller's own. Reports on it and on the units below it.
    org_unit_id: Option<Uuid>,
}

/// The signed reports on a unit and the units below it, newest first.
#[utoipa::path(
    get, path = "/v1/reports", tag = "status",
    params(ReportsQuery),
    responses(
        (status = 200, description = "The reports", body = ReportList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ReportsQuery>,
) -> ApiResult<Json<ReportList>> {
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    let reports = state.store.reports_under(target.scope()).await?;
    Ok(Json(ReportList {
        reports: reports.iter().map(summary).collect(),
    }))
}

/// A report the caller may read: of its tenant, on a unit it may read.
async fn readable(
    state: &AppState,
    principal: &paicha_auth::Principal,
    id: Uuid,
) -> ApiResult<ReportRecord> {
    let own = crate::access::data_unit(state, principal).await?;
    let record = state
        .store
        .report(own.tenant_id, id)
        .await?
        .filter(|r| own.scope().covers(&r.unit_path))
        .ok_or_else(ApiError::not_found)?;
    crate::access::data_target(state, principal, Some(record.org_unit_id.uuid())).await?;
    Ok(record)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `xlsx` (the report as a workbook ready to print and file).
    format: Option<String>,
}

/// One signed report, as it was signed: its content (`status`) byte for byte, or as a
/// workbook.
#[utoipa::path(
    get, path = "/v1/reports/{id}", tag = "status",
    params(("id" = Uuid, Path, description = "The report's id"), ReportQuery),
    responses(
        (status = 200, description = "The report as json, or as an xlsx workbook", body = Report),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such report in the caller's scope", body = ErrorBody),
        (status = 400, description = "An unknown format (`invalid_query`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let record = readable(&state, &principal, id).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(report(record)?).into_response()),
        Some("xlsx") => {
            let status: UnitStatus = serde_json::from_str(&record.content)
                .map_err(|e| ApiError::internal(format!("report {}: {e}", record.id)))?;
            let bytes = workbook(&record, &status).map_err(ApiError::internal)?;
            let mut response = axum::body::Body::from(bytes).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            );
            if let Some(v) = crate::routes::attachment(
                &format!("report-{}.xlsx", record.as_of),
                &format!("报表-{}-{}.xlsx", record.unit_name, record.as_of),
            ) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(response)
        }
        Some(_) => Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message("文件格式应为 xlsx")
            .with_field("format")),
    }
}

/// The report as a workbook: title, who signed and when, the content's SHA-256 and the audit
/// chain's head (to file with the printout), the counts of the unit and of each child, and the
/// phases. A4 landscape, fitted to the page width, header rows repeated on every page.
fn workbook(r: &ReportRecord, status: &UnitStatus) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("报表")?;
    let title = Format::new().set_bold().set_font_size(16);
    let bold = Format::new().set_bold().set_border(FormatBorder::Thin);
    let cell = Format::new().set_border(FormatBorder::Thin);
    let units: Vec<&UnitStatus> = std::iter::once(status)
        .chain(status.children.iter())
        .collect();
    let last_col = u16::try_from(units.len()).unwrap_or(u16::MAX);
    sheet.merge_range(
        0,
        0,
        0,
        last_col,
        &format!("{}党员组织关系集中排查情况报表", r.unit_name),
        &title,
    )?;
    let signed_at = (r.signed_at + chrono::Duration::hours(8)).format("%Y年%m月%d日 %H:%M");
    sheet.write_string(
        1,
        0,
        format!(
            "截至{}　签发：{}　签发时间：{signed_at}（北京时间）",
            paicha_domain::calendar::format_date_zh(r.as_of),
            r.signed_by_name
        ),
    )?;
    sheet.write_string(2, 0, format!("内容SHA-256：{}", r.content_sha256))?;
    sheet.write_string(
        3,
        0,
        format!("审计链头：版本 {}，{}", r.chain_version, r.chain_head),
    )?;
    let header_row = 5;
    sheet.write_string_with_format(header_row, 0, "项目", &bold)?;
    sheet.set_column_width(0, 28)?;
    for (i, u) in units.iter().enumerate() {
        let col = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let name = if i == 0 {
            format!("{}（合计）", u.name)
        } else {
            u.name.clone()
        };
        sheet.write_string_with_format(header_row, col, &name, &bold)?;
        sheet.set_column_width(col, 14)?;
    }
    let counts: Vec<Option<serde_json::Map<String, Value>>> = units
        .iter()
        .map(|u| match serde_json::to_value(&u.counts) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect();
    let mut row = header_row + 1;
    for (key, label) in paicha_domain::status::COUNT_LABELS {
        let values: Vec<Option<u64>> = counts
            .iter()
            .map(|c| c.as_ref().and_then(|m| m.get(*key)).and_then(Value::as_u64))
            .collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        sheet.write_string_with_format(row, 0, *label, &cell)?;
        for (i, v) in values.iter().enumerate() {
            let col = u16::try_from(i + 1).unwrap_or(u16::MAX);
            #[allow(clippy::cast_precision_loss)]
            sheet.write_number_with_format(row, col, v.unwrap_or(0) as f64, &cell)?;
        }
        row += 1;
    }
    row += 1;
    for (c, h) in [
        "阶段",
        "开始",
        "截止",
        "状态",
        "事项",
        "按期",
        "逾期",
        "未完成",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string_with_format(row, u16::try_from(c).unwrap_or(0), *h, &bold)?;
    }
    for p in &status.phases {
        row += 1;
        let texts = [
            p.label_zh.clone(),
            p.starts_on.to_string(),
            p.deadline.to_string(),
            p.state_zh.clone(),
        ];
        for (c, t) in texts.iter().enumerate() {
            sheet.write_string_with_format(row, u16::try_from(c).unwrap_or(0), t, &cell)?;
        }
        #[allow(clippy::cast_precision_loss)]
        for (c, n) in [p.items, p.on_time, p.late, p.not_done].iter().enumerate() {
            sheet.write_number_with_format(
                row,
                u16::try_from(c + 4).unwrap_or(0),
                *n as f64,
                &cell,
            )?;
        }
    }
    sheet.write_string(row + 2, 0, "组织办负责人（签字）：　　　　　　　　日期：")?;
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(header_row, header_row)?;
    sheet.set_freeze_panes(header_row + 1, 1)?;
    book.save_to_buffer()
}

/// Every count of a status, by unit: (unit id, unit name) → key → value; counts by kind are
/// keyed `count.kind`.
fn flat_counts(status: &UnitStatus) -> Vec<((Uuid, String), BTreeMap<String, u64>)> {
    let one = |s: &UnitStatus| {
        let mut out = BTreeMap::new();
        if let Ok(Value::Object(counts)) = serde_json::to_value(&s.counts) {
            for (key, value) in counts {
                match value {
                    Value::Object(by) => {
                        for (kind, n) in by {
                            out.insert(format!("{key}.{kind}"), n.as_u64().unwrap_or(0));
                        }
                    }
                    other => {
                        if let Some(n) = other.as_u64() {
                            out.insert(key, n);
                        }
                    }
                }
            }
        }
        ((s.org_unit_id, s.name.clone()), out)
    };
    std::iter::once(status)
        .chain(status.children.iter())
        .map(one)
        .collect()
}

/// The Chinese label of a flat count key.
fn count_label(key: &str) -> String {
    let label = |k: &str| {
        paicha_domain::status::COUNT_LABELS
            .iter()
            .find(|(name, _)| *name == k)
            .map_or_else(|| k.to_owned(), |(_, zh)| (*zh).to_owned())
    };
    match key.split_once('.') {
        Some((count, kind)) => format!(
            "{}：{}",
            label(count),
            paicha_domain::collection::word_label(kind).unwrap_or(kind)
        ),
        None => label(key),
    }
}

/// What has moved since a report was signed.
///
/// Every count of the report (the unit's and each child's) recomputed now as of the report's
/// day, those that differ; and the audit entries made since the report on records of the
/// unit's subtree (the first 1,000).
#[utoipa::path(
    get, path = "/v1/reports/{id}/changes", tag = "status",
    params(("id" = Uuid, Path, description = "The report's id")),
    responses(
        (status = 200, description = "What moved", body = ReportChanges),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such report in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn changes(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReportChanges>> {
    let record = readable(&state, &principal, id).await?;
    let signed: UnitStatus = serde_json::from_str(&record.content)
        .map_err(|e| ApiError::internal(format!("report {}: {e}", record.id)))?;
    let (_, target) =
        crate::access::data_target(&state, &principal, Some(record.org_unit_id.uuid())).await?;
    let (now, _) = unit_status(&state, &target, record.as_of).await?;
    let now: HashMap<Uuid, BTreeMap<String, u64>> = flat_counts(&now)
        .into_iter()
        .map(|((id, _), counts)| (id, counts))
        .collect();
    let mut counts = Vec::new();
    for ((unit, name), before) in flat_counts(&signed) {
        let empty = BTreeMap::new();
        let after = now.get(&unit).unwrap_or(&empty);
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (a, b) = (
                before.get(key).copied().unwrap_or(0),
                after.get(key).copied().unwrap_or(0),
            );
            if a != b {
                counts.push(CountChange {
                    org_unit_id: unit,
                    unit_name: name.clone(),
                    key: key.clone(),
                    label_zh: count_label(key),
                    signed: a,
                    now: b,
                });
            }
        }
    }
    let mut entries = state
        .store
        .changes_under(
            paicha_storage::Scope::new(record.tenant_id, &record.unit_path),
            record.chain_version,
            MAX_CHANGES + 1,
        )
        .await?;
    let more_records = entries.len() as u64 > MAX_CHANGES;
    entries.truncate(usize::try_from(MAX_CHANGES).unwrap_or(usize::MAX));
    let records = entries
        .into_iter()
        .map(|e| ChangeSince {
            version: e.version,
            collection_zh: Collection::parse(&e.collection)
                .map_or_else(|| e.collection.clone(), |c| c.schema().label_zh.to_owned()),
            collection: e.collection,
            record_id: e.record_id,
            op: e.op,
            user_id: e.user_id,
            server_time: e.server_time,
            fields: e
                .changes
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(ReportChanges {
        report_id: record.id,
        counts,
        records,
        more_records,
    }))
}
