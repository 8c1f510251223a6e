//! `GET /v1/schema`: the collections as the server declares them (fields, types, bounds, enum
//! words with their Chinese labels, writers, state machines, rules across fields), so that a
//! client renders and validates its forms from the server's own rules
//! (`paicha_domain::collection::describe`).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paicha_domain::api::v1::SchemaDoc;

use crate::extract::AuthUser;

/// The schema document; `ETag` is its `version`, so a client asks with `If-None-Match` and gets
/// `304` while it is unchanged.
#[utoipa::path(
    get, path = "/v1/schema", tag = "sync",
    responses(
        (status = 200, description = "The collections, their fields, state machines and rules", body = SchemaDoc),
        (status = 304, description = "Unchanged since the version named in If-None-Match"),
    ),
    security(("bearer" = []))
)]
pub async fn schema(AuthUser(_principal): AuthUser, headers: HeaderMap) -> Response {
    let doc = paicha_domain::collection::describe();
    let etag = format!("\"{}\"", doc.version);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(doc).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}
