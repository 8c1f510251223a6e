//! What every response gets on its way out, in one layer: the API's error shape for an error
//! made without a body (by a layer or by axum itself), `Cache-Control: no-store` on `/v1`
//! answers that set none, and the request counted and timed for `/metrics`.
//!
//! One hand-written layer, not three of axum's `from_fn`/`map_response`: each of those boxes
//! the rest of the stack's future, for the whole life of the request. A waiting long-poll held
//! those boxes (the two of `from_fn`, 1.03 and 0.68 KB; heap profile, docs/benchmarks.md,
//! results of 2026-12-08); this layer's future holds the inner one inline, with the few fields
//! it needs.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::{ApiError, code_for_status};

/// The layer of [`Finish`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FinishLayer;

impl<S> Layer<S> for FinishLayer {
    type Service = Finish<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Finish { inner }
    }
}

/// See the module's documentation.
#[derive(Debug, Clone)]
pub struct Finish<S> {
    inner: S,
}

impl<S> Service<Request> for Finish<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = FinishFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let path = request.uri().path();
        let api = path == "/v1" || path.starts_with("/v1/");
        // The matched pattern (`/v1/org-units/{id}`), never the concrete path.
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        FinishFuture {
            inner: self.inner.call(request),
            route,
            method,
            api,
            start: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Finish`]: the inner service's, then the response finished.
    pub struct FinishFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
        method: Method,
        api: bool,
        start: Instant,
    }
}

impl<F, E> Future for FinishFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = error_shape(ready!(this.inner.poll(cx))?);
        if *this.api && !response.headers().contains_key(header::CACHE_CONTROL) {
            // The answers hold personal data and tokens: no browser cache, service worker
            // cache or shared proxy may keep them (blobs and the schema set their own).
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        crate::telemetry::count_request(
            this.method,
            this.route.as_ref().map_or("unmatched", MatchedPath::as_str),
            response.status(),
            this.start.elapsed(),
        );
        Poll::Ready(Ok(response))
    }
}

/// An error response made without a body gets the API's error shape, so every failure has it.
fn error_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::new(status, code_for_status(status)).into_response();
    }
    response
}
