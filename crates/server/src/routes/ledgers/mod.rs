//! `GET /v1/ledgers/{kind}`: the registers of a unit's subtree as an Excel workbook (Chinese
//! headers, the unit's name and the date on top), as CSV in UTF-8 with a BOM (so Excel shows
//! the Chinese), or as JSON. Every format is sent as it is written (`write`), its rows read a
//! page at a time where the register is over members (`rows`): memory does not grow with the
//! register (docs/benchmarks.md).

mod rows;
mod write;

use paicha_domain::ids::UnitId;
use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use paicha_domain::api::v1::{LedgerSection, LedgerTable};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_domain::ledger::{LedgerKind, Part};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;
use rows::{MemberPages, Places, RowSource};

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
    let subtree = state.store.org_subtree(&target).await?;
    let mut places = Places {
        units: subtree.iter().map(|u| (u.id, u.name.clone())).collect(),
        parents: subtree.iter().map(|u| (u.id, u.parent_id)).collect(),
        kinds: subtree
            .iter()
            .map(|u| (u.id, (u.kind, u.name.clone())))
            .collect(),
    };
    let mut above = target.parent_id;
    while let Some(id) = above {
        match state.store.org_unit(id).await? {
            Some(u) => {
                places.parents.insert(u.id, u.parent_id);
                places.kinds.insert(u.id, (u.kind, u.name.clone()));
                above = u.parent_id;
            }
            None => break,
        }
    }
    let prepared_by = state
        .store
        .user(principal.user_id)
        .await?
        .map(|u| u.display_name.unwrap_or(u.username))
        .unwrap_or_default();
    // Every record read as the caller reads personal data (docs/protocol.md §3.7): the
    // 公民身份号码 column is masked for a masked role, in every format.
    let view = paicha_domain::privacy::View::of(principal.role);
    let mut table = LedgerTable {
        kind,
        title: kind.title_zh().to_owned(),
        org_unit_id: target.id.uuid(),
        org_unit_name: target.name.clone(),
        // The day in China: an export made before 08:00 there is not dated the day before.
        generated_on: paicha_domain::calendar::china_date(Utc::now()),
        prepared_by,
        columns: kind
            .columns()
            .iter()
            .map(|(h, _)| (*h).to_owned())
            .collect(),
        rows: Vec::new(),
        summaries: Vec::new(),
        sections: Vec::new(),
        unsubmitted: None,
        part_zh: String::new(),
    };
    // A register over members (花名册, 流动党员登记册) is read a page at a time as it is
    // written; the others, over a campaign's cases and ledger entries, are assembled first.
    if kind.collection() == Collection::Members {
        let pages = MemberPages::new(state.clone(), target, kind, view, &places);
        let pages = RowSource::Members(Box::new(pages));
        return write::respond(format, table, pages, "", state.settings.request_timeout).await;
    }
    let units = &places.units;
    let work_area_of = |unit: UnitId| places.work_area_of(unit);
    let scope = crate::access::scope(&target);

    let collection = kind.collection();
    let keep = |f: &Fields| rows::selected(kind, f);
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
                units,
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
        .any(|(_, s)| matches!(s, paicha_domain::ledger::Source::Member(_)));
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

    // Grouped by work area, then branch; within a branch in the order the records came.
    let mut selected: Vec<(String, String, &Fields)> = records
        .iter()
        .filter(|(_, _, f)| keep(f))
        .map(|(_, unit, f)| (work_area_of(*unit), places.unit_name(*unit), f))
        .collect();
    selected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(selected.len());
    for (work_area, branch, fields) in selected {
        let member = fields
            .get("member_id")
            .and_then(|v| v.as_str())
            .and_then(|id| members.get(id));
        let serial = lines.len() + 1;
        lines.push(rows::row(kind, serial, &work_area, &branch, fields, member));
    }
    if let Some(parts) = parts {
        table.sections = parts.sections;
        table.unsubmitted = Some(parts.unsubmitted);
        table.part_zh = parts.part_zh;
    }
    let lines = RowSource::Ready(lines.into_iter());
    let wait = state.settings.request_timeout;
    write::respond(format, table, lines, &file_part, wait).await
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
