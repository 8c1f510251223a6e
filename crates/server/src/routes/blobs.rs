//! Blobs: photos, signatures, fingerprints and scanned letters, by SHA-256.
//!
//! Upload in one request, or resumably in chunks: each chunk is a `PUT` with
//! `Content-Range: bytes {first}-{last}/{total}` that must start where the received bytes end
//! (`GET /v1/blobs/{sha256}/upload` says where that is; a mismatch is 409 with an
//! `Upload-Offset` header). The last chunk completes the blob: its size, hash and kind are
//! checked, and it is stored once, whoever uploads it again.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paicha_domain::api::v1::{BlobStatus, MissingBlobs};
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_domain::blob::is_blob_hash;
use paicha_domain::ids::TenantId;
use paicha_storage::{BlobError, BlobRow};
use tokio_stream::StreamExt;

use crate::access::data_unit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, AuthUser};
use crate::state::AppState;

fn check_hash(sha256: &str) -> ApiResult<()> {
    if is_blob_hash(sha256) {
        Ok(())
    } else {
        Err(ApiError::bad_request(ErrorCode::InvalidPath)
            .with_message("文件标识应为64位小写十六进制的 SHA-256")
            .with_field("sha256"))
    }
}

/// `bytes first-last/total` → (first, last, total).
fn content_range(headers: &HeaderMap) -> ApiResult<Option<(u64, u64, u64)>> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let invalid = || ApiError::bad_request(ErrorCode::InvalidContentRange);
    let text = value.to_str().map_err(|_| invalid())?;
    let spec = text.trim().strip_prefix("bytes ").ok_or_else(invalid)?;
    let (range, total) = spec.split_once('/').ok_or_else(invalid)?;
    let (first, last) = range.split_once('-').ok_or_else(invalid)?;
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid());
    let (first, last, total) = (parse(first)?, parse(last)?, parse(total)?);
    if first > last || last >= total {
        return Err(invalid());
    }
    Ok(Some((first, last, total)))
}

fn blob_error(err: BlobError) -> ApiError {
    match err {
        BlobError::OffsetMismatch { offset, received } => {
            let mut e = ApiError::new(StatusCode::CONFLICT, ErrorCode::UploadOffsetMismatch)
                .with_message(format!("续传位置应为{received}，收到的是{offset}"));
            e.upload_offset = Some(received);
            e
        }
        BlobError::TooLarge => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BlobTooLarge)
        }
        BlobError::SizeMismatch { .. } => ApiError::bad_request(ErrorCode::InvalidContentRange),
        BlobError::HashMismatch => ApiError::unprocessable(ErrorCode::BlobHashMismatch),
        BlobError::UnsupportedType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedBlobType,
        ),
        BlobError::Io(e) => ApiError::internal(e),
    }
}

fn complete(blob: &BlobRow) -> BlobStatus {
    BlobStatus {
        sha256: blob.sha256.clone(),
        received: blob.size,
        complete: true,
        content_type: Some(blob.content_type.clone()),
    }
}

fn quota_exceeded(quota: u64) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::BlobQuotaExceeded,
    )
    .with_message(format!(
        "本单位的文件存储空间已满（上限{} MiB），请联系管理员",
        quota / (1024 * 1024)
    ))
}

fn user_quota_exceeded(quota: u64) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::UserBlobQuotaExceeded,
    )
    .with_message(format!(
        "您上传但尚未被任何记录使用的文件已达上限（{} MiB），请先同步使用这些文件的记录，或完成、放弃未完成的上传",
        quota / (1024 * 1024)
    ))
}

fn too_many_unfinished(cap: u64, on_device: bool) -> ApiError {
    let whose = if on_device { "本设备" } else { "您" };
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyUnfinishedUploads,
    )
    .with_message(format!(
        "{whose}已有{cap}个未完成的分块上传，请先把它们传完再上传新文件"
    ))
}

/// Unfinished uploads one device may have: half the user's cap, at least one.
fn device_cap(user_cap: u64) -> u64 {
    user_cap.div_ceil(2).max(1)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// What one upload request carries.
#[derive(Debug, Clone, Copy)]
enum Upload {
    /// The whole blob; `room` bounds it by the tenant's quota, `user_room` by the caller's.
    Whole { room: u64, user_room: u64 },
    /// Bytes `first..=last` of a blob of `total` bytes.
    Chunk { first: u64, last: u64, total: u64 },
}

/// Upload a blob, whole or one chunk of it.
#[utoipa::path(
    put, path = "/v1/blobs/{sha256}", tag = "blobs",
    params(
        ("sha256" = String, Path, description = "SHA-256 of the whole content, 64 lower-case hex digits", pattern = r"^[0-9a-f]{64}$"),
        ("Content-Range" = Option<String>, Header, description = "bytes first-last/total, for a chunk of a resumable upload"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored (now or before)", body = BlobStatus),
        (status = 202, description = "Chunk received; more to come", body = BlobStatus),
        (status = 403, description = "The caller may not write member data, or is a street or a viewer, who upload no images (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The chunk does not start where the received bytes end; see Upload-Offset", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or PDF", body = ErrorBody),
        (status = 422, description = "The content's hash is not the one named", body = ErrorBody),
        (status = 429, description = "A chunk that would start one more unfinished upload than the caller (or its device) may have (too_many_unfinished_uploads)", body = ErrorBody),
        (status = 503, description = "Too many transfers in progress (too_many_transfers); see Retry-After", body = ErrorBody),
        (status = 507, description = "The tenant's blob storage quota (blob_quota_exceeded), or the caller's own allowance of blob bytes no record names yet (user_blob_quota_exceeded), would be exceeded", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_blob(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<BlobStatus>)> {
    let unit = data_unit(&state, &principal).await?;
    // Streets and viewers write no field that names a blob and read none (docs/protocol.md
    // §3.7): an upload of theirs could only fill the quota.
    if !paicha_domain::privacy::sees_images(principal.role) {
        return Err(ApiError::forbidden(ErrorCode::Forbidden)
            .with_message("街道和只读用户不能上传照片、签字和证明材料"));
    }
    check_hash(&sha256)?;
    let range = content_range(&headers)?;
    let tenant_id = unit.tenant_id;
    if let Some(blob) = state.store.blob(tenant_id, &sha256).await? {
        return Ok((StatusCode::CREATED, Json(complete(&blob))));
    }
    // Refuse what is too large before reading a byte.
    let limit = state.settings.max_blob_bytes;
    let declared = content_length(&headers);
    match range {
        None if declared.is_some_and(|n| n > limit) => return Err(blob_error(BlobError::TooLarge)),
        Some((_, _, total)) if total > limit => return Err(blob_error(BlobError::TooLarge)),
        Some((first, last, _)) if declared.is_some_and(|n| n != last - first + 1) => {
            return Err(ApiError::bad_request(ErrorCode::InvalidContentRange)
                .with_message("Content-Range 与请求内容的长度不符"));
        }
        _ => {}
    }
    let slot = state.transfer_slot().await?;
    // One upload of a given blob at a time.
    let guard = state.blob_locks.lock(&sha256).await?;
    // Someone may have completed it while this request waited.
    if let Some(blob) = state.store.blob(tenant_id, &sha256).await? {
        guard.release().await;
        return Ok((StatusCode::CREATED, Json(complete(&blob))));
    }
    // The quota: the tenant's recorded blobs and its other unfinished uploads.
    let files = &state.blobs;
    let quota = state.settings.blob_quota_bytes;
    let this_upload = files
        .received(tenant_id, &sha256)
        .await
        .map_err(ApiError::internal)?;
    let unfinished = files
        .unfinished_bytes(tenant_id)
        .await
        .map_err(ApiError::internal)?;
    let used = state
        .store
        .blob_usage(tenant_id)
        .await?
        .saturating_add(unfinished)
        .saturating_sub(this_upload);
    let room = quota.saturating_sub(used);
    // The caller's own allowance: what it uploaded that no record names yet, and its other
    // unfinished uploads (docs/protocol.md §11.8).
    let device = match principal.session_id {
        Some(session) => {
            state
                .store
                .session_device(principal.user_id, session)
                .await?
        }
        None => None,
    };
    let held = state
        .store
        .user_blob_use(tenant_id, principal.user_id, device.as_deref(), &sha256)
        .await?;
    let user_quota = state.settings.user_blob_quota_bytes;
    let user_room = user_quota.saturating_sub(held.bytes);
    let upload = match range {
        None => {
            if declared.is_some_and(|n| n > room) {
                return Err(quota_exceeded(quota));
            }
            if declared.is_some_and(|n| n > user_room) {
                return Err(user_quota_exceeded(user_quota));
            }
            Upload::Whole { room, user_room }
        }
        Some((first, last, total)) => {
            if total > room {
                return Err(quota_exceeded(quota));
            }
            if total > user_room {
                return Err(user_quota_exceeded(user_quota));
            }
            // A chunk that starts an upload it does not finish makes one more unfinished.
            if this_upload == 0 && last + 1 < total {
                let cap = state.settings.max_unfinished_uploads;
                if held.unfinished >= cap {
                    return Err(too_many_unfinished(cap, false));
                }
                if device.is_some() && held.unfinished_on_device >= device_cap(cap) {
                    return Err(too_many_unfinished(device_cap(cap), true));
                }
            }
            Upload::Chunk { first, last, total }
        }
    };
    // Received in a task of its own: a request cut short (timeout, dropped connection) still
    // has its bytes removed before the blob's lock is released.
    let deadline = tokio::time::Instant::now() + state.settings.request_timeout;
    let task = tokio::spawn({
        let state = state.clone();
        async move {
            let result = receive(
                state.clone(),
                tenant_id,
                principal.user_id,
                sha256.clone(),
                upload,
                body,
                deadline,
            )
            .await;
            let owner = note_owner(
                &state,
                tenant_id,
                &sha256,
                principal.user_id,
                device,
                upload,
                &result,
            )
            .await;
            guard.release().await;
            owner?;
            drop(slot);
            result
        }
    });
    task.await.map_err(ApiError::internal)?
}

/// Keeps who holds an unfinished upload: noted while chunks come, forgotten once the upload
/// completed, was discarded, or was replaced by a whole one.
async fn note_owner(
    state: &AppState,
    tenant_id: TenantId,
    sha256: &str,
    user_id: uuid::Uuid,
    device: Option<String>,
    upload: Upload,
    result: &ApiResult<(StatusCode, Json<BlobStatus>)>,
) -> ApiResult<()> {
    let unfinished = match (upload, result) {
        (Upload::Chunk { total, .. }, Ok((StatusCode::ACCEPTED, _))) => Some(total),
        (Upload::Chunk { total, .. }, Err(_)) => {
            let received = state
                .blobs
                .received(tenant_id, sha256)
                .await
                .map_err(ApiError::internal)?;
            (received > 0).then_some(total)
        }
        _ => None,
    };
    match unfinished {
        Some(total) => {
            state
                .store
                .note_unfinished_upload(
                    tenant_id,
                    sha256,
                    user_id,
                    device.as_deref(),
                    total,
                    Utc::now(),
                )
                .await?
        }
        None => {
            state
                .store
                .forget_unfinished_upload(tenant_id, sha256)
                .await?
        }
    }
    Ok(())
}

/// Receives one upload request into the blob's unfinished file, chunk by chunk, and completes
/// the blob when it is whole.
#[allow(clippy::too_many_arguments)]
async fn receive(
    state: AppState,
    tenant_id: TenantId,
    user_id: uuid::Uuid,
    sha256: String,
    upload: Upload,
    body: Body,
    deadline: tokio::time::Instant,
) -> ApiResult<(StatusCode, Json<BlobStatus>)> {
    let files = &state.blobs;
    let limit = state.settings.max_blob_bytes;
    let quota = state.settings.blob_quota_bytes;
    let mut writer = match upload {
        Upload::Whole { .. } => files.begin_whole(tenant_id, &sha256).await,
        Upload::Chunk { first, .. } => files.begin_chunk(tenant_id, &sha256, first).await,
    }
    .map_err(blob_error)?;
    let (cap, over): (u64, Box<dyn Fn() -> ApiError + Send + Sync>) = match upload {
        Upload::Whole { room, user_room } if room < limit && room <= user_room => {
            (room, Box::new(move || quota_exceeded(quota)))
        }
        Upload::Whole { user_room, .. } if user_room < limit => {
            let user_quota = state.settings.user_blob_quota_bytes;
            (user_room, Box::new(move || user_quota_exceeded(user_quota)))
        }
        Upload::Whole { .. } => (limit, Box::new(|| blob_error(BlobError::TooLarge))),
        Upload::Chunk { first, last, .. } => (
            last - first + 1,
            Box::new(|| {
                ApiError::bad_request(ErrorCode::InvalidContentRange)
                    .with_message("Content-Range 与请求内容的长度不符")
            }),
        ),
    };
    let mut stream = body.into_data_stream();
    let received: ApiResult<()> = async {
        loop {
            let next = tokio::time::timeout_at(deadline, stream.next())
                .await
                .map_err(|_| {
                    ApiError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout)
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|_| {
                ApiError::bad_request(ErrorCode::InvalidBody).with_message("无法读取上传的内容")
            })?;
            if writer.written().saturating_add(chunk.len() as u64) > cap {
                return Err(over());
            }
            writer.write(&chunk).await.map_err(blob_error)?;
        }
        if let Upload::Chunk { first, last, .. } = upload
            && writer.written() != last - first + 1
        {
            return Err(over());
        }
        Ok(())
    }
    .await;
    if let Err(err) = received {
        writer.abort().await;
        return Err(err);
    }
    let blob = match upload {
        Upload::Whole { .. } => files
            .finish_whole(writer, &sha256)
            .await
            .map_err(blob_error)?,
        Upload::Chunk { total, .. } => {
            let received = writer.commit().await.map_err(blob_error)?;
            if received < total {
                let status = BlobStatus {
                    sha256,
                    received,
                    complete: false,
                    content_type: None,
                };
                return Ok((StatusCode::ACCEPTED, Json(status)));
            }
            files
                .finish(tenant_id, &sha256, total)
                .await
                .map_err(blob_error)?
        }
    };
    state
        .store
        .insert_blob(tenant_id, &blob, user_id, Utc::now())
        .await?;
    // Another instance's collection may have deleted the content between the rename and the
    // row (it checks rows, then deletes): then forget the row and let the client upload again.
    if !files.exists(&sha256).await {
        state.store.delete_blob(tenant_id, &sha256).await?;
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
        );
        err.retry_after = Some(crate::state::TRANSFER_RETRY_AFTER);
        return Err(err);
    }
    tracing::info!(sha256 = %blob.sha256, size = blob.size, "blob stored");
    Ok((StatusCode::CREATED, Json(complete(&blob))))
}

/// Where an upload stands: bytes received, and whether the blob is complete.
#[utoipa::path(
    get, path = "/v1/blobs/{sha256}/upload", tag = "blobs",
    params(("sha256" = String, Path, description = "SHA-256 of the content, 64 lower-case hex digits", pattern = r"^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "Upload state", body = BlobStatus),
        (status = 403, description = "The caller may not read or write member data (`forbidden`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload_status(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(sha256): ApiPath<String>,
) -> ApiResult<Json<BlobStatus>> {
    let unit = data_unit(&state, &principal).await?;
    check_hash(&sha256)?;
    if let Some(blob) = state.store.blob(unit.tenant_id, &sha256).await? {
        return Ok(Json(complete(&blob)));
    }
    let received = state
        .blobs
        .received(unit.tenant_id, &sha256)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(BlobStatus {
        sha256,
        received,
        complete: false,
        content_type: None,
    }))
}

/// Download a blob: only for callers whose scope holds a record that references it, and who
/// read personal data as stored (streets and viewers read no photo, signature or scan:
/// docs/protocol.md §3.7). Answered `private, no-cache` with its `ETag`; `If-None-Match` with
/// that ETag gets 304.
#[utoipa::path(
    get, path = "/v1/blobs/{sha256}", tag = "blobs",
    params(("sha256" = String, Path, description = "SHA-256 of the content, 64 lower-case hex digits", pattern = r"^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "The content", content_type = "application/octet-stream"),
        (status = 304, description = "Unchanged: If-None-Match names the blob's ETag"),
        (status = 403, description = "The caller may not read member data, or reads images withheld (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No record in scope references it, or it has not been uploaded", body = ErrorBody),
        (status = 503, description = "Too many transfers in progress (too_many_transfers); see Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_blob(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let unit = data_unit(&state, &principal).await?;
    check_hash(&sha256)?;
    if !paicha_domain::privacy::sees_images(principal.role) {
        return Err(ApiError::forbidden(ErrorCode::Forbidden)
            .with_message("街道和只读用户不能查看照片、签字和证明材料"));
    }
    let scope = crate::access::scope(&unit);
    if !state.store.blob_in_scope(scope, &sha256).await? {
        return Err(ApiError::not_found());
    }
    let Some(blob) = state.store.blob(unit.tenant_id, &sha256).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BlobMissing));
    };
    let etag = format!("\"{sha256}\"");
    let cache_headers = |h: &mut HeaderMap| {
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        // Kept by the browser, but asked again each time: the answer depends on the caller's
        // scope, which may have changed since.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').map(str::trim).any(|t| t == "*" || t == etag));
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        cache_headers(response.headers_mut());
        return Ok(response);
    }
    let slot = state.transfer_slot().await?;
    let mut reader = state
        .blobs
        .open(&sha256)
        .await
        .map_err(ApiError::internal)?;
    // Streamed from the file (64 KiB pieces) or the object store (its pieces), a few in
    // flight: never the whole blob in memory. The slot is held until the last piece is sent
    // (or the client goes away, or the request time is up).
    let deadline = tokio::time::Instant::now() + state.settings.request_timeout;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let _slot = slot;
        loop {
            let piece = match reader.next_piece().await {
                Ok(None) => break,
                Ok(Some(piece)) => Ok(piece),
                Err(err) => Err(err),
            };
            let failed = piece.is_err();
            match tokio::time::timeout_at(deadline, tx.send(piece)).await {
                Ok(Ok(())) if !failed => {}
                _ => break,
            }
        }
    });
    let mut response =
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&blob.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    cache_headers(h);
    Ok(response)
}

/// Blobs referenced by records in the caller's scope that have not been uploaded yet: the
/// records that reference them are incomplete. None for a caller who reads images withheld
/// (it holds no reference to any).
#[utoipa::path(
    get, path = "/v1/blobs/missing", tag = "blobs",
    responses(
        (status = 200, description = "Missing blobs", body = MissingBlobs),
        (status = 403, description = "The caller may not read or write member data (`forbidden`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn missing_blobs(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
) -> ApiResult<Json<MissingBlobs>> {
    let unit = data_unit(&state, &principal).await?;
    if !paicha_domain::privacy::sees_images(principal.role) {
        return Ok(Json(MissingBlobs {
            missing: Vec::new(),
        }));
    }
    let scope = crate::access::scope(&unit);
    let missing = state.store.missing_blobs(scope, 10_000).await?;
    Ok(Json(MissingBlobs { missing }))
}
