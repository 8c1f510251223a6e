//! Sync: push, pull (with long-polling), checksums, the conflict log and the audit trail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paicha_auth::Principal;
use paicha_domain::api::v1::{
    AuditEntry, AuditList, ChecksumResponse, Conflict, ConflictList, PullResponse, PushRequest,
    PushResponse,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::collection::Collection;
use paicha_domain::privacy::{self, View};
use paicha_domain::role::Role;
use paicha_storage::{OrgUnitRecord, Scope};
use paicha_sync::cursor::Cursor;
use paicha_sync::pull::PulledPage;
use paicha_sync::push::{Job, MAX_MUTATIONS, Writer};
use paicha_sync::{SyncError, pull};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, Caller};
use crate::state::{AppState, actor};

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

/// The caller's unit, for a caller that may read member data (not `system_admin`).
pub async fn data_unit(state: &AppState, principal: &Principal) -> ApiResult<OrgUnitRecord> {
    data_unit_of(principal, state.caller_unit(principal).await?)
}

/// [`data_unit`] of a caller whose unit is read already (`None`: it has none).
fn data_unit_of(principal: &Principal, own: Option<OrgUnitRecord>) -> ApiResult<OrgUnitRecord> {
    let Some(unit) = own else {
        return Err(ApiError::forbidden(ErrorCode::Forbidden)
            .with_message("平台管理员不能读取或修改党员数据"));
    };
    actor(principal, Some(&unit)).may_read_member_data(&crate::state::unit_ref(&unit))?;
    Ok(unit)
}

/// The caller's unit and the unit a request asks about (`org_unit_id`, default the caller's
/// own), for a caller that may read member data. A unit outside the caller's subtree is 404,
/// like one that does not exist.
pub async fn data_target(
    state: &AppState,
    principal: &Principal,
    org_unit_id: Option<Uuid>,
) -> ApiResult<(OrgUnitRecord, OrgUnitRecord)> {
    let own = data_unit(state, principal).await?;
    let target = match org_unit_id {
        Some(id) if id != own.id => state
            .store
            .org_unit(id)
            .await?
            .ok_or_else(ApiError::not_found)?,
        _ => own.clone(),
    };
    actor(principal, Some(&own))
        .may_read_member_data(&crate::state::unit_ref(&target))
        .map_err(|d| match d {
            paicha_auth::Denied::OutsideScope => ApiError::not_found(),
            other => other.into(),
        })?;
    Ok((own, target))
}

pub fn scope(unit: &OrgUnitRecord) -> Scope<'_> {
    Scope {
        tenant_id: unit.tenant_id,
        path: &unit.path,
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
            .with_message("collections 不能为空，也不能含空的集合名；要全部集合请省略该参数")
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
    let device_id = crate::routes::auth::check_device_id(&req.device_id)?;
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
        cursor: Cursor {
            version: outcome.version,
        }
        .encode(),
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
pub async fn pull(
    State(state): State<AppState>,
    Caller { principal, unit }: Caller,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> ApiResult<Response> {
    // Every database call below is boxed: a long-poll's future then holds, while it waits,
    // only its few locals, not room for the largest query state it might await (that state is
    // allocated while the query runs, and freed after).
    let unit = data_unit_of(&principal, unit)?;
    let collections = parse_collections(query.collections.as_deref())?;
    let limit = query.limit.unwrap_or(pull::DEFAULT_LIMIT);
    if !(1..=pull::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message(format!("limit 应在1至{}之间", pull::MAX_LIMIT))
            .with_field("limit"));
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery)
            .with_message(format!("wait 不能超过{MAX_WAIT_SECS}秒"))
            .with_field("wait"));
    }
    let wait = Duration::from_secs(wait);
    // A masked role's page masks ID numbers (docs/protocol.md §3.7), so its devices never
    // hold a full number; its reads are shared only with callers of the same view.
    let view = View::of(principal.role);
    // A bad device id is a bad query parameter (400 `invalid_query`), whatever the cursor.
    let device_id = match query.device_id.as_deref() {
        Some(device) => Some(crate::routes::auth::check_device_id(device).map_err(|_| {
            ApiError::bad_request(ErrorCode::InvalidQuery)
                .with_message("device_id 应为1至200个字节，且不含控制字符")
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
    loop {
        // The last commit announced: a shared read joined now starts after it.
        let announced = *changes.borrow_and_update();
        // The first read is the caller's own: a pull that follows a push answered by another
        // instance must see it, whatever this instance has been told so far. Reads after a
        // wake-up, which many long-polls make at once, are shared.
        let page = if woken {
            Box::pin(coalesced_pull(
                &state,
                &unit,
                &collections,
                cursor,
                limit,
                view,
                announced,
            ))
            .await?
        } else {
            Box::pin(queued_pull(
                &state,
                &unit,
                &collections,
                cursor,
                limit,
                view,
            ))
            .await?
        };
        if !page.is_empty || wait.is_zero() || *stopping.borrow() {
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

/// A page of a pull as it is sent: its JSON written once, shared by every caller of a shared
/// read (copying it is counting a reference).
#[derive(Debug, Clone)]
pub struct Page {
    is_empty: bool,
    body: Bytes,
}

impl From<PulledPage> for Page {
    fn from(page: PulledPage) -> Self {
        Self {
            is_empty: page.is_empty,
            body: Bytes::from(page.body),
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response()
    }
}

/// A read shared by identical pulls: its page, or `None` when it failed.
type SharedRead = Arc<OnceCell<Option<Page>>>;

/// Identical pulls at the same moment (the long-polls of many devices of one unit, woken by
/// one commit) share one read of the database, and its answer's JSON.
pub type PullFlights = Arc<Mutex<HashMap<PullKey, SharedRead>>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullKey {
    tenant_id: Uuid,
    path: String,
    collections: Vec<Collection>,
    cursor: u64,
    limit: u64,
    /// How the callers read personal data: a page is shared only by callers of one view.
    view: View,
    /// The tenant's last announced commit when the callers joined: callers woken by a later
    /// commit never share a read that may have started before it.
    announced: u64,
}

async fn coalesced_pull(
    state: &AppState,
    unit: &OrgUnitRecord,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
    view: View,
    announced: u64,
) -> ApiResult<Page> {
    let key = PullKey {
        announced,
        tenant_id: unit.tenant_id,
        path: unit.path.clone(),
        collections: collections.to_vec(),
        cursor: cursor.version,
        limit,
        view,
    };
    let cell = {
        let mut flights = state.pull_flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.entry(key.clone()).or_default().clone()
    };
    // The entry stays while any caller holds it, so the callers a wake-up sets going over the
    // next moments join the same read even after the first have answered (the key's
    // `announced` keeps a later commit out of it). It went with the first caller to finish
    // before, and 20,000 woken long-polls made about a thousand reads instead of one
    // (docs/benchmarks.md, results of 2026-11-29, commit c36a522). The last caller to leave (even cancelled) removes it.
    struct Leave<'a> {
        flights: &'a PullFlights,
        key: &'a PullKey,
        cell: &'a SharedRead,
    }
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            leave_flight(self.flights, self.key, self.cell);
        }
    }
    let _leave = Leave {
        flights: &state.pull_flights,
        key: &key,
        cell: &cell,
    };
    let shared = cell
        .get_or_init(|| async {
            pull::pull(&state.store, scope(unit), collections, cursor, limit, view)
                .await
                .ok()
                .map(Page::from)
        })
        .await;
    match shared {
        Some(page) => Ok(page.clone()),
        // The shared read failed: read again alone, for this caller's own error.
        None => Ok(
            pull::pull(&state.store, scope(unit), collections, cursor, limit, view)
                .await?
                .into(),
        ),
    }
}

/// A caller of a shared read leaves it: the read's entry goes when this is its last caller
/// (joining happens under the map's lock, so the count cannot grow meanwhile; the map's
/// reference and this caller's are then the last two).
fn leave_flight(flights: &PullFlights, key: &PullKey, cell: &SharedRead) {
    let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
    if flights
        .get(key)
        .is_some_and(|c| Arc::ptr_eq(c, cell) && Arc::strong_count(c) <= 2)
    {
        flights.remove(key);
    }
}

/// Identical first reads of pulls (the same unit, collections, cursor and limit) that are
/// still waiting for a database connection: a caller that arrives meanwhile joins the waiting
/// read instead of queueing one more. When a read takes its connection (before its snapshot
/// is fixed) it leaves this map, so a caller only ever joins a read whose snapshot is taken
/// after it arrived, and sees every commit that was acknowledged before it asked.
///
/// Many devices reconnecting at once (ten thousand long-polls) otherwise queued one read each
/// behind the pool's few connections, and those that waited longer than its acquire timeout
/// failed with a 500 (docs/benchmarks.md, results of 2026-11-29, commit 3bf7354).
pub type QueuedPulls = Arc<Mutex<HashMap<PullKey, SharedRead>>>;

async fn queued_pull(
    state: &AppState,
    unit: &OrgUnitRecord,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
    view: View,
) -> ApiResult<Page> {
    let key = PullKey {
        announced: 0,
        tenant_id: unit.tenant_id,
        path: unit.path.clone(),
        collections: collections.to_vec(),
        cursor: cursor.version,
        limit,
        view,
    };
    let cell = {
        let mut queued = state.queued_pulls.lock().unwrap_or_else(|p| p.into_inner());
        queued.entry(key.clone()).or_default().clone()
    };
    // The read's entry goes when the read starts, or when this caller is done (even
    // cancelled) if it is still there: a later caller then starts a read of its own.
    let leave = |queued: &QueuedPulls| {
        let mut queued = queued.lock().unwrap_or_else(|p| p.into_inner());
        if queued.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            queued.remove(&key);
        }
    };
    struct Leave<F: Fn(&QueuedPulls)> {
        queued: QueuedPulls,
        leave: F,
    }
    impl<F: Fn(&QueuedPulls)> Drop for Leave<F> {
        fn drop(&mut self) {
            (self.leave)(&self.queued);
        }
    }
    let _leave = Leave {
        queued: state.queued_pulls.clone(),
        leave: &leave,
    };
    let shared = cell
        .get_or_init(|| async {
            pull::pull_noting_start(
                &state.store,
                scope(unit),
                collections,
                cursor,
                limit,
                view,
                || leave(&state.queued_pulls),
            )
            .await
            .ok()
            .map(Page::from)
        })
        .await;
    match shared {
        Some(page) => Ok(page.clone()),
        // The shared read failed: read again alone, for this caller's own error.
        None => Ok(
            pull::pull(&state.store, scope(unit), collections, cursor, limit, view)
                .await?
                .into(),
        ),
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
            .with_message("collection 与 id 须同时给出")
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
            org_unit_id: c.org_unit_id,
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
    let entries = state
        .store
        .record_history(unit.tenant_id, collection, query.id)
        .await?
        .into_iter()
        .map(|mut e| {
            privacy::project_changes(&e.collection, &mut e.changes, view);
            e
        })
        .map(|e| AuditEntry {
            version: e.version,
            collection: e.collection,
            record_id: e.record_id,
            org_unit_id: e.org_unit_id,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The woken long-polls of one commit keep joining one read until its last caller leaves:
    /// a caller that answers first does not take the read away from those still coming.
    #[test]
    fn a_shared_read_stays_joinable_until_its_last_caller_leaves() {
        let flights = PullFlights::default();
        let key = PullKey {
            tenant_id: Uuid::nil(),
            path: "/a/".into(),
            collections: vec![Collection::Members],
            cursor: 7,
            limit: 100,
            view: View::Full,
            announced: 8,
        };
        let join = || {
            let mut map = flights.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let first = join();
        let second = join();
        assert!(Arc::ptr_eq(&first, &second));
        // The first answers and leaves; the second still waits.
        leave_flight(&flights, &key, &first);
        drop(first);
        let third = join();
        assert!(
            Arc::ptr_eq(&second, &third),
            "a caller arriving now must join the read still held"
        );
        leave_flight(&flights, &key, &second);
        drop(second);
        assert!(
            flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&key)
        );
        // The last leaves: the entry goes, and a later caller starts a read of its own.
        leave_flight(&flights, &key, &third);
        drop(third);
        assert!(
            !flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&key)
        );
        let fourth = join();
        assert_eq!(Arc::strong_count(&fourth), 2);
    }
}
