//! Logs and metrics. Logs are structured `tracing` events with a request id; no password, token
//! or full ID number is ever a field of one (requests are logged by method, route and status,
//! never by body or headers).

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Sets up the process's log output on stderr (stdout carries only the start-up line):
/// `RUST_LOG` filters (default `info`), `json` or text.
pub fn init_logging(format: crate::config::LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let result = if format == crate::config::LogFormat::Json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// The process-wide Prometheus recorder. Installed on first use; one process may run several
/// apps (the tests do), and they share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts a request by method, route and status, and times it by method and route. The route
/// is the matched pattern (`/v1/org-units/{id}`), never the concrete path.
pub fn count_request(method: &Method, route: &str, status: StatusCode, took: Duration) {
    let method = method.as_str().to_owned();
    let route = route.to_owned();
    let status = status.as_u16().to_string();
    metrics::counter!("paicha_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("paicha_http_request_duration_seconds", "method" => method, "route" => route)
        .record(took.as_secs_f64());
}
