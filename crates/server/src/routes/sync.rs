//! Sync: push, pull (with long-polling), checksums, the conflict log and the audit trail.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paicha_domain::api::v1::{
    AuditEntry, AuditList, ChecksumResponse, Conflict, ConflictList, PullResponse, PushRequest,
    PushResponse,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_domain::privacy::{self, View};
use paicha_domain::role::Role;
use paicha_sync::cursor::Cursor;
use paicha_sync::push::{Job, MAX_MUTATIONS, Writer};
use paicha_sync::{SyncError, pull};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::{data_unit, data_unit_of, scope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, Caller};
use crate::shared_pulls::{Ask, coalesced_pull, queued_pull};
use crate::state::AppState;

/// Longest long-poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

impl From<SyncError> for ApiError {
    fn from(err: SyncError) -> Self {
        match err {
            SyncError::Store(e) => e.into(),
            SyncError::Group(message) => ApiError::internal(message),
            SyncError::ResyncRequired => {
                ApiError::new(StatusCode::GONE, ErrorCode::ResyncRequired).with_field("cursor")
            }
        }
    }
}

/// `collections=a,b` → the collections; absent → all of them. An empty value, or an empty
/// name between commas, is refused: a client that means "all" leaves the parameter out.
fn parse_collections(raw: Option<&str>) -> ApiResult<Vec<Collection>> {
    let Some(raw) = raw else {
        return Ok(Collection::ALL.to_vec());
    };
    if raw.split(',').any(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message("要同步的数据集合不能为空，也不能含空的名称；要同步全部数据请不指定")
            .with_field("collections"));
    }
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let collection = Collection::parse(name).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidQuery)
                .with_message(format!(
                    "未知的数据集合：{}",
                    name.chars().take(64).collect::<String>()
                ))
                .with_field("collections")
        })?;
        if !out.contains(&collection) {
            out.push(collection);
        }
    }
    Ok(out)
}

/// Apply a batch of mutations from one device.
///
/// Each mutation gets a result: `applied`, `merged` (applied; concurrent values of the listed
/// fields were overwritten and kept in the conflict log), `duplicate` (seen before; the first
/// result again) or `rejected` (with an error). The response's `cursor` is a write checkpoint:
/// a pull that has reached it includes every change of this push.
#[utoipa::path(
    post, path = "/v1/sync/push", tag = "sync",
    request_body = PushRequest,
    responses(
        (status = 200, description = "One result per mutation, in order", body = PushResponse),
        (status = 403, description = "The caller may not write data", body = ErrorBody),
        (status = 413, description = "Too many mutations or too large a body", body = ErrorBody),
        (status = 422, description = "Invalid device id", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn push(
    State(state): State<AppState>,
    Caller { principal, unit }: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    let unit = data_unit_of(&principal, unit)?;
    let device_id = crate::accounts::check_device_id(&req.device_id)?;
    if req.mutations.len() > MAX_MUTATIONS {
        return Err(
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooManyMutations)
                .with_message(format!("一次最多提交{MAX_MUTATIONS}条变更"))
                .with_field("mutations"),
        );
    }
    let job = Job::new(
        Writer {
            user_id: principal.user_id,
            role: principal.role,
            tenant_id: unit.tenant_id,
            unit_path: &unit.path,
            device_id: &device_id,
        },
        &req.mutations,
    );
    let mut outcome = state.committer.push(&state.store, job).await?;
    state.notifier.notify(unit.tenant_id, outcome.version);
    // The values a push overwrote, as the caller reads personal data (one result per
    // mutation, in order).
    let view = View::of(principal.role);
    for (mutation, result) in req.mutations.iter().zip(outcome.results.iter_mut()) {
        for conflict in result.conflicts.iter_mut().flatten() {
            let collection = mutation
                .get("collection")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let kind = privacy::personal_named(collection, &conflict.field);
            privacy::project_value(view, kind, &mut conflict.overwritten_value);
        }
    }
    Ok(Json(PushResponse {
        results: outcome.results,
        cursor: Cursor::at(outcome.version).encode(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// The cursor of the previous pull; none to start from the beginning.
    cursor: Option<String>,
    /// Changes per page: default 500, 1 to 5000.
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u64>,
    /// Comma-separated collection names; default all.
    #[param(pattern = r"^[a-z_]+(,[a-z_]+)*$")]
    collections: Option<String>,
    /// Seconds to wait for a change when there is none yet (long-poll), at most 60.
    #[param(maximum = 60)]
    wait: Option<u64>,
    /// The pulling device. With it, the server keeps the device's position, and tombstones
    /// are kept until every active device has pulled past them.
    #[param(min_length = 1, max_length = 200)]
    device_id: Option<String>,
}

/// Changes in the caller's scope after a cursor, in version order.
///
/// The scope is the caller's unit and everything below it, plus records addressed down to it.
/// Pages never skip a change: keep pulling with the returned cursor while `has_more`.
#[utoipa::path(
    get, path = "/v1/sync/pull", tag = "sync",
    params(PullQuery),
    responses(
        (status = 200, description = "A page of changes", body = PullResponse),
        (status = 400, description = "Invalid cursor or query", body = ErrorBody),
        (status = 403, description = "The caller may not read data", body = ErrorBody),
        (status = 410, description = "The cursor is too old: drop the replica and pull from the start", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[allow(clippy::manual_async_fn)] // on purpose: see the body's first comment
pub fn pull(
    State(state): State<AppState>,
    Caller { principal, unit }: Caller,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> impl Future<Output = ApiResult<Response>> + Send {
    // Not an `async fn`: its future kept room for the arguments as received beside the body's
    // own, for the whole wait of a long-poll (1,272 bytes; this block that moves them in,
    // 1,088; release build of 2026-12-08).
    async move {
        // Every database call below is boxed: a long-poll's future then holds, while it waits,
        // only its few locals, not room for the largest query state it might await (that state is
        // allocated while the query runs, and freed after).
        let unit = data_unit_of(&principal, unit)?;
        let collections = parse_collections(query.collections.as_deref())?;
        let limit = query.limit.unwrap_or(pull::DEFAULT_LIMIT);
        if !(1..=pull::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
                .with_message(format!("每次取回的条数应在1至{}之间", pull::MAX_LIMIT))
                .with_field("limit"));
        }
        let wait = query.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECS {
            return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
                .with_message(format!("等待时间不能超过{MAX_WAIT_SECS}秒"))
                .with_field("wait"));
        }
        let wait = Duration::from_secs(wait);
        // A masked role's page masks ID numbers (docs/protocol.md §3.7), so its devices never
        // hold a full number; its reads are shared only with callers of the same view.
        let view = View::of(principal.role);
        // A bad device id is a bad query parameter (400 `invalid_query`), whatever the cursor.
        let device_id = match query.device_id.as_deref() {
            Some(device) => Some(crate::accounts::check_device_id(device).map_err(|_| {
                ApiError::bad_request(ErrorCode::InvalidQuery)
                    .with_message("设备标识应为1至200个字节，且不含控制字符")
                    .with_field("device_id")
            })?),
            None => None,
        };
        let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(text) => Cursor::decode(text).map_err(|e| {
                ApiError::bad_request(ErrorCode::InvalidCursor)
                    .with_message(e.message_zh())
                    .with_field("cursor")
            })?,
            None => Cursor::START,
        };
        if let Some(device) = device_id {
            Box::pin(state.store.record_device_cursor(
                principal.user_id,
                &device,
                unit.tenant_id,
                cursor.version,
                Utc::now(),
            ))
            .await?;
        }
        // Subscribe before the first read, so a commit between the read and the wait still wakes.
        let mut changes = state.notifier.subscribe(unit.tenant_id);
        let mut stopping = state.stopping.clone();
        let deadline = tokio::time::Instant::now() + wait;
        let mut woken = false;
        let ask = Ask {
            unit: &unit,
            collections: &collections,
            cursor,
            limit,
            view,
        };
        loop {
            // The last commit announced: a shared read joined now starts after it.
            let announced = *changes.borrow_and_update();
            // The first read is the caller's own: a pull that follows a push answered by another
            // instance must see it, whatever this instance has been told so far. Reads after a
            // wake-up, which many long-polls make at once, are shared.
            let page = if woken {
                Box::pin(coalesced_pull(
                    &state.store,
                    &state.pull_flights,
                    ask,
                    announced,
                ))
                .await?
            } else {
                Box::pin(queued_pull(&state.store, &state.queued_pulls, ask)).await?
            };
            if !page.is_empty() || wait.is_zero() || *stopping.borrow() {
                return Ok(page.into_response());
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, changes.changed()) => match changed {
                    Ok(Ok(())) => woken = true,
                    _ => return Ok(page.into_response()),
                },
                // The server is stopping: answer what there is, so the device reconnects.
                _ = stopping.wait_for(|s| *s) => return Ok(page.into_response()),
            }
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChecksumQuery {
    /// Comma-separated collection names; default all.
    #[param(pattern = r"^[a-z_]+(,[a-z_]+)*$")]
    collections: Option<String>,
}

/// Per collection, the count and an order-independent hash over `(id, version)` of the live
/// records in the caller's scope, so a device can prove its replica matches.
#[utoipa::path(
    get, path = "/v1/sync/checksum", tag = "sync",
    params(ChecksumQuery),
    responses(
        (status = 200, description = "Checksums", body = ChecksumResponse),
        (status = 403, description = "The caller may not read data", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn checksum(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ChecksumQuery>,
) -> ApiResult<Json<ChecksumResponse>> {
    let unit = data_unit(&state, &principal).await?;
    let collections = parse_collections(query.collections.as_deref())?;
    Ok(Json(
        pull::checksum(&state.store, scope(&unit), &collections).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// With `id`: only this record's entries.
    #[param(value_type = Option<Collection>)]
    collection: Option<String>,
    id: Option<Uuid>,
    /// Conflicts: only those not yet marked resolved.
    unresolved: Option<bool>,
}

fn record_filter(query: &RecordQuery) -> ApiResult<Option<(Collection, Uuid)>> {
    // The value first (an empty or unknown `collection=` is named as such), then the pair.
    let collection = query
        .collection
        .as_deref()
        .map(|name| {
            Collection::parse(name).ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidQuery)
                    .with_message("未知的数据集合")
                    .with_field("collection")
            })
        })
        .transpose()?;
    match (collection, query.id) {
        (None, None) => Ok(None),
        (Some(collection), Some(id)) => Ok(Some((collection, id))),
        _ => Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message("查看修改记录须同时指定数据集合和记录")
            .with_field("id")),
    }
}

/// Roles that review conflicts and the audit trail: all but group members and viewers.
fn is_reviewer(role: Role) -> bool {
    role.rank() >= Role::BranchSecretary.rank()
}

/// Values overwritten by concurrent edits, in the caller's scope, newest first.
#[utoipa::path(
    get, path = "/v1/conflicts", tag = "sync",
    params(RecordQuery),
    responses(
        (status = 200, description = "Conflicts", body = ConflictList),
        (status = 403, description = "Not a reviewer", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_conflicts(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<RecordQuery>,
) -> ApiResult<Json<ConflictList>> {
    let unit = data_unit(&state, &principal).await?;
    if !is_reviewer(principal.role) {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    }
    let record = record_filter(&query)?;
    let rows = state
        .store
        .conflicts(
            scope(&unit),
            record,
            query.unresolved.unwrap_or(false),
            1000,
        )
        .await?;
    // Both values as the caller reads personal data.
    let view = View::of(principal.role);
    let conflicts = rows
        .into_iter()
        .map(|mut c| {
            let kind = privacy::personal_named(&c.collection, &c.field);
            privacy::project_value(view, kind, &mut c.overwritten_value);
            privacy::project_value(view, kind, &mut c.winning_value);
            c
        })
        .map(|c| Conflict {
            id: c.id,
            collection: c.collection,
            record_id: c.record_id,
            org_unit_id: c.org_unit_id.uuid(),
            field: c.field,
            overwritten_value: c.overwritten_value,
            overwritten_version: c.overwritten_version,
            winning_value: c.winning_value,
            winning_version: c.winning_version,
            user_id: c.user_id,
            device_id: c.device_id,
            created_at: c.created_at,
            resolved_at: c.resolved_at,
            resolved_by: c.resolved_by,
        })
        .collect();
    Ok(Json(ConflictList { conflicts }))
}

/// Mark a conflict as reviewed.
#[utoipa::path(
    post, path = "/v1/conflicts/{id}/resolve", tag = "sync",
    params(("id" = Uuid, Path, description = "Conflict id")),
    responses(
        (status = 204, description = "Marked resolved"),
        (status = 403, description = "Not a reviewer", body = ErrorBody),
        (status = 404, description = "Not found or not in scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let unit = data_unit(&state, &principal).await?;
    if !is_reviewer(principal.role) {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    }
    let conflict = state
        .store
        .conflict(id)
        .await?
        .filter(|c| c.place().is_some_and(|p| scope(&unit).sees(p)))
        .ok_or_else(ApiError::not_found)?;
    state
        .store
        .resolve_conflict(conflict.id, principal.user_id, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(value_type = Collection)]
    collection: String,
    id: Uuid,
}

/// The audit trail of one record: every applied change, who made it, from which device, when,
/// with old and new values, and the hash chain.
#[utoipa::path(
    get, path = "/v1/audit", tag = "sync",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, oldest first", body = AuditList),
        (status = 403, description = "Not a reviewer", body = ErrorBody),
        (status = 404, description = "No such record in scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditList>> {
    let unit = data_unit(&state, &principal).await?;
    if !is_reviewer(principal.role) {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    }
    let collection = Collection::parse(&query.collection).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message("未知的数据集合")
            .with_field("collection")
    })?;
    let record = state.store.record(collection, query.id).await?;
    let visible = record.is_some_and(|r| scope(&unit).sees(r.place()));
    if !visible {
        return Err(ApiError::not_found());
    }
    // Old and new values as the caller reads personal data. The hashes stay those of the
    // stored values: a masked entry is not for recomputing the chain (`paicha audit verify`
    // does that on the server).
    let view = View::of(principal.role);
    let history = state
        .store
        .record_history(unit.tenant_id, collection, query.id)
        .await?;
    // Who made each change, by name: one read per user.
    let mut names: std::collections::HashMap<uuid::Uuid, Option<String>> =
        std::collections::HashMap::new();
    for e in &history {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(e.user_id) {
            let name = state
                .store
                .user(e.user_id)
                .await?
                .map(|u| u.display_name.unwrap_or(u.username));
            slot.insert(name);
        }
    }
    let entries = history
        .into_iter()
        .map(|mut e| {
            privacy::project_changes(&e.collection, &mut e.changes, view);
            e
        })
        .map(|e| AuditEntry {
            user_name: names.get(&e.user_id).cloned().flatten(),
            version: e.version,
            collection: e.collection,
            record_id: e.record_id,
            org_unit_id: e.org_unit_id.uuid(),
            op: e.op,
            user_id: e.user_id,
            device_id: e.device_id,
            mutation_id: e.mutation_id,
            server_time: e.server_time,
            client_time: e.client_time,
            changes: e.changes,
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect();
    Ok(Json(AuditList { entries }))
}
