//! `GET /v1/members` and `POST /v1/members/search`: the members of a unit, searched by name or
//! 公民身份号码 and filtered by verification state, a page at a time, for the office console.
//! A search by number goes in the POST's body, never in a URL. 公民身份号码 are shown whole
//! only to the roles that need them (`paicha_domain::privacy`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use paicha_domain::api::v1::{
    MemberBaseline, MemberCheck, MemberChecks, MemberList, MemberMove, MemberSearchRequest,
    MemberSummary,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_storage::{RecordRow, Scope};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;

/// Most members on one page.
const MAX_LIMIT: u64 = 200;
/// The verification states a list may be filtered by (`members.roster_status`).
const ROSTER_STATUSES: [&str; 7] = [
    "unverified",
    "confirmed_on_site",
    "confirmed_remote",
    "confirmed_assisted",
    "pending_lost",
    "flagged_surplus",
    "removed_from_roster",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
    /// Part of a name, or the beginning of a 公民身份号码 (at most 50 characters).
    #[param(max_length = 50)]
    q: Option<String>,
    /// Only members in this verification state (`unverified` includes members with none).
    #[param(
        pattern = "^(unverified|confirmed_on_site|confirmed_remote|confirmed_assisted|pending_lost|flagged_surplus|removed_from_roster)$"
    )]
    roster_status: Option<String>,
    /// Members per page: default 50, 1 to 200.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
    /// Only these members: comma-separated ids, at most 100 (for lists that name members).
    #[param(pattern = "^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36}){0,99}$")]
    ids: Option<String>,
    /// How many matching members to skip (ordered by name).
    #[param(minimum = 0, maximum = 1000000)]
    offset: Option<u64>,
}

fn text(fields: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    fields.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The search of `GET /v1/members` and `POST /v1/members/search`, as either carries it.
struct Search {
    org_unit_id: Option<Uuid>,
    q: Option<String>,
    roster_status: Option<String>,
    ids: Vec<Uuid>,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// How a bad parameter is refused: `400 invalid_query` in a URL, `422 invalid_body` in a body.
#[derive(Clone, Copy)]
enum Carrier {
    Query,
    Body,
}

impl Carrier {
    fn invalid(self, field: &'static str, message: &str) -> ApiError {
        match self {
            Carrier::Query => ApiError::bad_request(ErrorCode::InvalidQuery),
            Carrier::Body => ApiError::unprocessable(ErrorCode::InvalidBody),
        }
        .with_message(message.to_owned())
        .with_field(field)
    }
}

/// A page of the unit's members matching a search, ordered by name.
///
/// The search text travels in the URL here, where proxies and browsers log it: clients search
/// by 公民身份号码 with `POST /v1/members/search` (the same parameters in the body) instead.
#[utoipa::path(
    get, path = "/v1/members", tag = "status",
    params(MemberQuery),
    responses(
        (status = 200, description = "A page of matching members, and how many match", body = MemberList),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<MemberQuery>,
) -> ApiResult<Json<MemberList>> {
    let mut ids = Vec::new();
    if let Some(raw) = query.ids.as_deref() {
        // An empty value (`ids=`) is refused rather than read as "no filter".
        for part in raw.split(',') {
            ids.push(
                Uuid::parse_str(part.trim())
                    .map_err(|_| Carrier::Query.invalid("ids", "记录标识应以逗号分隔，不能为空"))?,
            );
        }
    }
    let search = Search {
        org_unit_id: query.org_unit_id,
        q: query.q,
        roster_status: query.roster_status,
        ids,
        limit: query.limit,
        offset: query.offset,
    };
    search_members(&state, &principal, search, Carrier::Query).await
}

/// The same search as `GET /v1/members`, its parameters in the body: what a client uses to
/// search by 公民身份号码, which must not appear in a URL (access logs keep URLs).
#[utoipa::path(
    post, path = "/v1/members/search", tag = "status",
    request_body = MemberSearchRequest,
    responses(
        (status = 200, description = "A page of matching members, and how many match", body = MemberList),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiJson(body): ApiJson<MemberSearchRequest>,
) -> ApiResult<Json<MemberList>> {
    // An empty list is refused, as `ids=` is: to search without it, leave it out.
    if body.ids.as_ref().is_some_and(Vec::is_empty) {
        return Err(Carrier::Body.invalid("ids", "记录标识的列表不能为空；不按记录筛选请不指定"));
    }
    let ids = body.ids.unwrap_or_default();
    let search = Search {
        org_unit_id: body.org_unit_id,
        q: body.q,
        roster_status: body.roster_status,
        ids,
        limit: body.limit,
        offset: body.offset,
    };
    search_members(&state, &principal, search, Carrier::Body).await
}

async fn search_members(
    state: &AppState,
    principal: &paicha_auth::Principal,
    query: Search,
    carrier: Carrier,
) -> ApiResult<Json<MemberList>> {
    let invalid = |field: &'static str, message: &str| carrier.invalid(field, message);
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("limit", "每页条数应在1至200之间"));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(invalid("offset", "起始位置不能超过1000000"));
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 50 || q.chars().any(char::is_control)) {
        return Err(invalid("q", "搜索内容不能超过50个字符，且不能含控制字符"));
    }
    let status = query.roster_status.as_deref();
    if status.is_some_and(|s| !ROSTER_STATUSES.contains(&s)) {
        return Err(invalid("roster_status", "未知的核查状态"));
    }
    let ids = query.ids;
    if ids.len() > 100 {
        return Err(invalid("ids", "一次最多指定100个记录"));
    }
    let (_, target) = crate::access::data_target(state, principal, query.org_unit_id).await?;
    // Who sees numbers masked finds a member by the whole number only: a prefix search would
    // let them read a number digit by digit.
    let view = paicha_domain::privacy::View::of(principal.role);
    let full = !view.is_masked();
    let (total, rows) = state
        .store
        .search_members(
            crate::access::scope(&target),
            paicha_storage::MemberSearch {
                text: q,
                id_prefix: full,
                roster_status: status,
                ids: &ids,
                limit,
                offset,
            },
        )
        .await?;
    let members = rows
        .into_iter()
        .map(|(id, org_unit_id, version, fields)| {
            let number = text(&fields, "id_number");
            let (id_number, masked) = match number {
                Some(n) if !full => (Some(paicha_domain::privacy::mask_id_number(&n)), true),
                other => (other, false),
            };
            MemberSummary {
                id,
                org_unit_id: org_unit_id.uuid(),
                version,
                name: text(&fields, "name").unwrap_or_default(),
                gender: text(&fields, "gender"),
                id_number,
                id_number_masked: masked,
                member_type: text(&fields, "member_type"),
                roster_status: text(&fields, "roster_status"),
                contact_status: text(&fields, "contact_status"),
                checked_on: text(&fields, "checked_on").and_then(|d| d.parse().ok()),
                baseline: paicha_domain::baseline::of_fields(&fields).map(|b| MemberBaseline {
                    kind: b.kind.as_str().to_owned(),
                    on: text(&fields, "baseline_on").and_then(|d| d.parse().ok()),
                    lost: b.lost,
                    lost_months: b.lost_months,
                    mobile: b.mobile,
                    corrected_on: text(&fields, "baseline_corrected_on")
                        .and_then(|d| d.parse().ok()),
                    correction: text(&fields, "baseline_correction"),
                }),
                r#move: text(&fields, "move_status").map(|status| MemberMove {
                    status,
                    to_branch_id: text(&fields, "move_to_branch_id").and_then(|u| u.parse().ok()),
                    reason: text(&fields, "move_reason"),
                    note: text(&fields, "move_note"),
                    moved_from_branch_id: text(&fields, "moved_from_branch_id")
                        .and_then(|u| u.parse().ok()),
                    moved_on: text(&fields, "moved_on").and_then(|d| d.parse().ok()),
                }),
            }
        })
        .collect();
    Ok(Json(MemberList {
        org_unit_id: target.id.uuid(),
        total,
        offset,
        members,
    }))
}

/// The five checks of one member (docs/domain.md §4): whether each is done, on which day, by
/// whom (the user whose write recorded it, from the change log), and what it found. The
/// roster check is the verification outcome (`roster_status`, dated `checked_on`); the other
/// four are the days the branch recorded on the member (`archive_checked_on`, …), or records
/// that show the check: a concluded archive review, a followed-up transfer naming the member,
/// a performance check.
#[utoipa::path(
    get, path = "/v1/members/{id}/checks", tag = "status",
    params(("id" = Uuid, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The five checks", body = MemberChecks),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such member in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn member_checks(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MemberChecks>> {
    let unit = crate::access::data_unit(&state, &principal).await?;
    let member = state
        .store
        .record(Collection::Members, id)
        .await?
        .filter(|r| !r.deleted && crate::access::scope(&unit).sees(r.place()))
        .ok_or_else(ApiError::not_found)?;
    let f = &member.fields;
    let day = |fields: &Map<String, Value>, name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    // Who last wrote each field of the member.
    let mut writer: HashMap<String, Uuid> = HashMap::new();
    for entry in state
        .store
        .record_history(member.tenant_id, Collection::Members, id)
        .await?
    {
        if let Some(changes) = entry.changes.as_object() {
            for field in changes.keys() {
                writer.insert(field.clone(), entry.user_id);
            }
        }
    }
    // The member's related records, at its branch.
    let branch = Scope::new(member.tenant_id, &member.owner_path);
    let of_member = |rows: Vec<RecordRow>| -> Vec<RecordRow> {
        rows.into_iter()
            .filter(|r| r.fields.get("member_id").and_then(Value::as_str) == Some(&*id.to_string()))
            .collect()
    };
    let reviews = of_member(
        state
            .store
            .live_rows(branch, Collection::ArchiveReviews)
            .await?,
    );
    let transfers = of_member(state.store.live_rows(branch, Collection::Transfers).await?);
    let performance = of_member(
        state
            .store
            .live_rows(branch, Collection::PerformanceChecks)
            .await?,
    );
    let forms = of_member(state.store.live_rows(branch, Collection::InfoForms).await?);

    let label = |c: Collection, field: &str, word: &str| {
        paicha_domain::collection::enum_label(c, field, word)
            .unwrap_or(word)
            .to_owned()
    };
    let mut checks = Vec::with_capacity(5);
    // 1. The roster.
    let status = f
        .get("roster_status")
        .and_then(Value::as_str)
        .unwrap_or("unverified");
    let complete = forms
        .iter()
        .filter(|r| paicha_domain::workflow::form_confirms(&r.fields))
        .count();
    let mut detail = label(Collection::Members, "roster_status", status);
    if !forms.is_empty() {
        detail.push_str(&format!("；采集表{}份（齐全{}份）", forms.len(), complete));
    }
    // A confirmation date typed earlier than the day it reached the server (docs/domain.md
    // §8.15): the day it was entered, 补录, and whether the 组织办 accepted it.
    if let Some(typed) = paicha_domain::entry::typed(Collection::InfoForms) {
        for form in &forms {
            let e = paicha_domain::entry::Entry::of(typed, &form.fields);
            if let (Some(on), Some(entered)) = (e.typed, e.entered)
                && on < entered
            {
                detail.push_str(&format!(
                    "；采集表确认日期{}，{}录入系统{}{}",
                    paicha_domain::calendar::format_date_zh(on),
                    paicha_domain::calendar::format_date_zh(entered),
                    if e.late { "（补录）" } else { "" },
                    if e.accepted {
                        "，组织办已认可该日期"
                    } else {
                        "，未经组织办认可，按录入日期计算是否按期"
                    },
                ));
            }
        }
    }
    if let Some(reason) = f.get("confirmation_exception").and_then(Value::as_str) {
        detail.push_str(&format!("；无完整采集表确认的理由：{reason}"));
    }
    if let Some(reason) = f.get("remote_reason").and_then(Value::as_str) {
        detail.push_str(&format!("；远程确认原因：{reason}"));
    }
    checks.push((
        "roster",
        "核查党员名册",
        status != "unverified",
        day(f, "checked_on"),
        writer.get("roster_status").copied(),
        detail,
    ));
    // 2. The archive.
    let concluded = reviews.iter().find(|r| {
        matches!(
            r.fields.get("status").and_then(Value::as_str),
            Some("exempt_confirmed" | "confirmed" | "not_recognized")
        )
    });
    let cadre = f.get("cadre_file").and_then(Value::as_bool) == Some(true);
    let (on, by) = match (day(f, "archive_checked_on"), concluded) {
        (Some(d), _) => (Some(d), writer.get("archive_checked_on").copied()),
        (None, Some(r)) => (
            Some(paicha_domain::calendar::china_date(r.updated_at)),
            Some(r.updated_by),
        ),
        (None, None) => (None, None),
    };
    let detail = match reviews.first() {
        Some(r) => format!(
            "档案审核：{}",
            label(
                Collection::ArchiveReviews,
                "status",
                r.fields
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("requested")
            )
        ),
        None if cadre => "干部人事档案，不再审核".to_owned(),
        None => "未申请档案审核".to_owned(),
    };
    checks.push((
        "archive",
        "核查党员档案",
        on.is_some() || cadre,
        on,
        by,
        detail,
    ));
    // 3. Dues and branch activity.
    let show = |name: &str| {
        day(f, name).map_or_else(
            || "未填".to_owned(),
            paicha_domain::calendar::format_date_zh,
        )
    };
    checks.push((
        "dues",
        "核查党费交纳和组织生活",
        day(f, "dues_checked_on").is_some(),
        day(f, "dues_checked_on"),
        writer.get("dues_checked_on").copied(),
        format!(
            "最后交纳党费：{}；最后参加组织生活：{}",
            show("last_dues_paid_on"),
            show("last_activity_on")
        ),
    ));
    // 4. Transfers.
    let followed = transfers
        .iter()
        .filter_map(|r| day(&r.fields, "checked_on").map(|d| (d, r.updated_by)))
        .min();
    let (on, by) = match (day(f, "transfer_checked_on"), followed) {
        (Some(d), _) => (Some(d), writer.get("transfer_checked_on").copied()),
        (None, Some((d, who))) => (Some(d), Some(who)),
        (None, None) => (None, None),
    };
    checks.push((
        "transfer",
        "核查组织关系接转",
        on.is_some(),
        on,
        by,
        if transfers.is_empty() {
            "无转出明细".to_owned()
        } else {
            format!("转出明细{}条", transfers.len())
        },
    ));
    // 5. Conduct.
    let checked = performance
        .iter()
        .map(|r| {
            (
                day(&r.fields, "checked_on")
                    .unwrap_or_else(|| paicha_domain::calendar::china_date(r.created_at)),
                r.created_by,
            )
        })
        .min();
    let (on, by) = match (day(f, "performance_checked_on"), checked) {
        (Some(d), _) => (Some(d), writer.get("performance_checked_on").copied()),
        (None, Some((d, who))) => (Some(d), Some(who)),
        (None, None) => (None, None),
    };
    let violations = performance
        .iter()
        .filter(|r| r.fields.get("violation").and_then(Value::as_bool) == Some(true))
        .count();
    checks.push((
        "performance",
        "核查现实表现",
        on.is_some(),
        on,
        by,
        if performance.is_empty() {
            "无现实表现核查记录".to_owned()
        } else {
            format!("核查{}次，发现违纪违法{}次", performance.len(), violations)
        },
    ));

    let mut names: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(checks.len());
    for (check, label_zh, done, on, by, detail_zh) in checks {
        let by_name = match by {
            Some(user) => match names.get(&user) {
                Some(n) => n.clone(),
                None => {
                    let n = state
                        .store
                        .user(user)
                        .await?
                        .map(|u| u.display_name.unwrap_or(u.username));
                    names.insert(user, n.clone());
                    n
                }
            },
            None => None,
        };
        out.push(MemberCheck {
            check: check.to_owned(),
            label_zh: label_zh.to_owned(),
            done,
            on,
            by,
            by_name,
            detail_zh,
        });
    }
    Ok(Json(MemberChecks {
        member_id: id,
        name: text(f, "name").unwrap_or_default(),
        checks: out,
    }))
}
