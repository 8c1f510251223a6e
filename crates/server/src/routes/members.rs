//! `GET /v1/members`: the members of a unit, searched by name or 公民身份号码 and filtered by
//! verification state, a page at a time, for the office console. 公民身份号码 are shown whole
//! only to the roles that need them (`Role::reads_full_id_numbers`).

use axum::Json;
use axum::extract::State;
use paicha_domain::api::v1::{MemberList, MemberSummary};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::id_number::IdNumber;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, AuthUser};
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

/// A page of the unit's members matching a search, ordered by name.
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
    let invalid = |field: &'static str, message: &str| {
        ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message(message.to_owned())
            .with_field(field)
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("limit", "limit 应在1至200之间"));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(invalid("offset", "offset 不能超过1000000"));
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 50 || q.chars().any(char::is_control)) {
        return Err(invalid("q", "搜索内容不能超过50个字符，且不能含控制字符"));
    }
    let status = query.roster_status.as_deref();
    if status.is_some_and(|s| !ROSTER_STATUSES.contains(&s)) {
        return Err(invalid("roster_status", "未知的核查状态"));
    }
    let mut ids = Vec::new();
    for raw in query
        .ids
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        ids.push(
            Uuid::parse_str(raw.trim())
                .map_err(|_| invalid("ids", "ids 应为以逗号分隔的记录标识"))?,
        );
    }
    if ids.len() > 100 {
        return Err(invalid("ids", "ids 最多100个"));
    }
    let (_, target) =
        crate::routes::sync::data_target(&state, &principal, query.org_unit_id).await?;
    // Who sees numbers masked finds a member by the whole number only: a prefix search would
    // let them read a number digit by digit.
    let full = principal.role.reads_full_id_numbers();
    let (total, rows) = state
        .store
        .search_members(
            crate::routes::sync::scope(&target),
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
                Some(n) if !full => (
                    Some(
                        IdNumber::parse(&n)
                            .map(|i| i.masked())
                            .unwrap_or_else(|_| "*".repeat(n.chars().count())),
                    ),
                    true,
                ),
                other => (other, false),
            };
            MemberSummary {
                id,
                org_unit_id,
                version,
                name: text(&fields, "name").unwrap_or_default(),
                gender: text(&fields, "gender"),
                id_number,
                id_number_masked: masked,
                member_type: text(&fields, "member_type"),
                roster_status: text(&fields, "roster_status"),
                contact_status: text(&fields, "contact_status"),
                checked_on: text(&fields, "checked_on").and_then(|d| d.parse().ok()),
            }
        })
        .collect();
    Ok(Json(MemberList {
        org_unit_id: target.id,
        total,
        offset,
        members,
    }))
}
