//! Operations: liveness, readiness, metrics, the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::Health;

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::metrics_handle;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ready".to_owned(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                paicha_domain::api::ErrorCode::ServiceUnavailable,
            ))
        }
    }
}

/// Marks a request that came in on `PAICHA_METRICS_LISTEN`, the address serving `/metrics`
/// alone.
#[derive(Debug, Clone, Copy)]
pub struct MetricsListener;

/// Whether a request may read `/metrics`:
///
/// - with `PAICHA_METRICS_LISTEN`, only there (elsewhere 404, as if there were no such route);
/// - with `PAICHA_METRICS_TOKEN`, only with `Authorization: Bearer <token>` (401 otherwise);
/// - with neither, only from this machine: a loopback peer, not forwarded by a proxy (a proxy on
///   the same machine sets `X-Forwarded-For` / `X-Real-IP`), 403 otherwise.
pub fn metrics_allowed(
    settings: &crate::config::Settings,
    via_metrics_listener: bool,
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    use paicha_domain::api::ErrorCode;
    if settings.metrics_listen.is_some() && !via_metrics_listener {
        return Err(ApiError::not_found());
    }
    if let Some(token) = &settings.metrics_token {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(ErrorCode::Unauthenticated)
                .with_message("读取指标需要 PAICHA_METRICS_TOKEN 令牌"));
        };
        let given = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, token.expose()) {
            return Err(
                ApiError::unauthorized(ErrorCode::InvalidToken).with_message("指标令牌不正确")
            );
        }
        return Ok(());
    }
    if via_metrics_listener {
        return Ok(());
    }
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("x-real-ip");
    if peer.is_some_and(|ip| ip.is_loopback()) && !forwarded {
        Ok(())
    } else {
        Err(ApiError::forbidden(ErrorCode::Forbidden).with_message(
            "指标仅对本机开放；要从其他地址读取，请设置 PAICHA_METRICS_TOKEN 或 PAICHA_METRICS_LISTEN",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Prometheus metrics in the text exposition format. Who may read them: `PAICHA_METRICS_TOKEN`
/// and `PAICHA_METRICS_LISTEN` (README.md, "Configuration"); with neither, this machine only.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`PAICHA_METRICS_TOKEN` is set and the request does not carry it", body = ErrorBody),
        (status = 403, description = "Neither `PAICHA_METRICS_TOKEN` nor `PAICHA_METRICS_LISTEN` is set, and the request is not from this machine", body = ErrorBody),
        (status = 404, description = "`/metrics` is served on `PAICHA_METRICS_LISTEN` only", body = ErrorBody),
    ))]
pub async fn metrics(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let via = request.extensions().get::<MetricsListener>().is_some();
    metrics_allowed(&state.settings, via, peer, request.headers())?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics_handle().render(),
    ))
}
