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
use paicha_domain::role::Role;
use paicha_storage::{BlobError, BlobRow};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, AuthUser};
use crate::routes::sync::data_unit;
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
        (status = 403, description = "The caller may not read or write member data (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The chunk does not start where the received bytes end; see Upload-Offset", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or PDF", body = ErrorBody),
        (status = 422, description = "The content's hash is not the one named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_blob(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<BlobStatus>)> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            blob_error(BlobError::TooLarge)
        } else {
            ApiError::bad_request(ErrorCode::InvalidBody).with_message("无法读取上传的内容")
        }
    })?;
    let unit = data_unit(&state, &principal).await?;
    if principal.role == Role::Viewer {
        return Err(ApiError::forbidden(ErrorCode::Forbidden));
    }
    check_hash(&sha256)?;
    let range = content_range(&headers)?;
    if let Some(blob) = state.store.blob(unit.tenant_id, &sha256).await? {
        return Ok((StatusCode::CREATED, Json(complete(&blob))));
    }
    let limit = state.settings.max_blob_bytes;
    let files = &state.blobs;
    // One upload of a given blob at a time (striped locks: no map to grow).
    let _guard = state.blob_lock(&sha256).lock().await;
    let blob = match range {
        None => files
            .put_whole(unit.tenant_id, &sha256, &body, limit)
            .await
            .map_err(blob_error)?,
        Some((first, last, total)) => {
            if last - first + 1 != body.len() as u64 {
                return Err(ApiError::bad_request(ErrorCode::InvalidContentRange)
                    .with_message("Content-Range 与请求内容的长度不符"));
            }
            if total > limit {
                return Err(blob_error(BlobError::TooLarge));
            }
            let received = files
                .append(unit.tenant_id, &sha256, first, &body, limit)
                .await
                .map_err(blob_error)?;
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
                .finish(unit.tenant_id, &sha256, total)
                .await
                .map_err(blob_error)?
        }
    };
    state
        .store
        .insert_blob(unit.tenant_id, &blob, principal.user_id, Utc::now())
        .await?;
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
    let received = state.blobs.received(unit.tenant_id, &sha256).await;
    Ok(Json(BlobStatus {
        sha256,
        received,
        complete: false,
        content_type: None,
    }))
}

/// Download a blob: only for callers whose scope holds a record that references it.
#[utoipa::path(
    get, path = "/v1/blobs/{sha256}", tag = "blobs",
    params(("sha256" = String, Path, description = "SHA-256 of the content, 64 lower-case hex digits", pattern = r"^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "The content", content_type = "application/octet-stream"),
        (status = 403, description = "The caller may not read or write member data (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No record in scope references it, or it has not been uploaded", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_blob(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiPath(sha256): ApiPath<String>,
) -> ApiResult<Response> {
    let unit = data_unit(&state, &principal).await?;
    check_hash(&sha256)?;
    let scope = crate::routes::sync::scope(&unit);
    if !state.store.blob_in_scope(scope, &sha256).await? {
        return Err(ApiError::not_found());
    }
    let Some(blob) = state.store.blob(unit.tenant_id, &sha256).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BlobMissing));
    };
    let bytes = tokio::fs::read(state.blobs.path(&sha256))
        .await
        .map_err(ApiError::internal)?;
    let mut response = Body::from(bytes).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&blob.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}

/// Blobs referenced by records in the caller's scope that have not been uploaded yet: the
/// records that reference them are incomplete.
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
    let scope = crate::routes::sync::scope(&unit);
    let missing = state.store.missing_blobs(scope, 10_000).await?;
    Ok(Json(MissingBlobs { missing }))
}
