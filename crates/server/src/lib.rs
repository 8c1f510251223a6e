//! The paicha server: the axum application, its configuration and start-up.
//!
//! [`Application::build`] connects to the database, migrates it, creates the bootstrap admin,
//! binds the listener (port 0 allowed) and returns, so a caller (the binary, or a test) knows
//! the address before serving; [`Application::run_until_stopped`] serves.

mod access;
mod accounts;
pub mod backup;
pub mod config;
mod counts;
mod error;
mod extract;
pub mod facts;
mod finish;
pub mod import;
pub mod import_cli;
mod leases;
mod routes;
mod serve;
mod shared_pulls;
mod state;
pub use state::BlobLocks;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use paicha_auth::TokenKeys;
use paicha_auth::password::hash_password;
use paicha_domain::role::Role;
use paicha_storage::{NewUser, Store, StoreError};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use crate::config::Settings;
use crate::error::ApiError;
pub use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "paicha", description = "党员组织关系集中排查 sync server"),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in"),
        (name = "org", description = "The org tree"),
        (name = "users", description = "Users and roles"),
        (name = "sync", description = "Push, pull, checksums, conflicts, audit"),
        (name = "blobs", description = "Photos, signatures and scans"),
        (name = "status", description = "Progress for the committee"),
        (name = "ops", description = "Operations"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of every endpoint.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json")))]
async fn openapi_json(Extension(doc): Extension<Arc<String>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.as_str().to_owned(),
    )
        .into_response()
}

/// The routes and their OpenAPI document. Blob uploads get a body limit of their own (the
/// upload handler also enforces it itself, as the streamed bytes arrive).
fn api_router(max_blob_bytes: u64) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (schemas, paths, blob_routes) = routes!(routes::blobs::put_blob, routes::blobs::get_blob);
    let blob_limit = usize::try_from(max_blob_bytes).unwrap_or(usize::MAX);
    let blob_routes = blob_routes.layer(DefaultBodyLimit::max(blob_limit));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::refresh))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::change_password))
        .routes(routes!(
            routes::org_units::create_org_unit,
            routes::org_units::list_org_units
        ))
        .routes(routes!(routes::org_units::tenant_branches))
        .routes(routes!(
            routes::org_units::get_org_unit,
            routes::org_units::update_org_unit,
            routes::org_units::delete_org_unit
        ))
        .routes(routes!(
            routes::users::create_user,
            routes::users::list_users
        ))
        .routes(routes!(routes::users::get_user, routes::users::update_user))
        .routes(routes!(routes::users::reset_password))
        .routes(routes!(routes::users::list_devices))
        .routes(routes!(routes::users::revoke_device))
        .routes(routes!(routes::users::revoke_sessions))
        .routes(routes!(routes::users::account_log))
        .routes(routes!(routes::sync::push))
        .routes(routes!(routes::sync::pull))
        .routes(routes!(routes::sync::checksum))
        .routes(routes!(routes::sync::list_conflicts))
        .routes(routes!(routes::sync::resolve_conflict))
        .routes(routes!(routes::sync::audit))
        .routes(routes!(routes::blobs::missing_blobs))
        .routes((schemas, paths, blob_routes))
        .routes(routes!(routes::blobs::upload_status))
        .routes(routes!(routes::status::status))
        .routes(routes!(routes::baseline::freeze))
        .routes(routes!(routes::baseline::correct))
        .routes(routes!(routes::reports::sign, routes::reports::list))
        .routes(routes!(routes::reports::get))
        .routes(routes!(routes::reports::changes))
        .routes(routes!(routes::late_entries::late_entries))
        .routes(routes!(routes::proposals::proposals))
        .routes(routes!(routes::members::members))
        .routes(routes!(routes::members::search))
        .routes(routes!(routes::members::member_checks))
        .routes(routes!(routes::schema::schema))
        .routes(routes!(routes::transfers::transfer_lists))
        .routes(routes!(routes::departures::departures))
        .routes(routes!(routes::ledgers::ledger))
        .routes(routes!(routes::import::import_roster))
        .routes(routes!(routes::import::import_transfers))
        .routes(routes!(routes::ops::healthz))
        .routes(routes!(routes::ops::readyz))
        .routes(routes!(routes::ops::metrics))
        .routes(routes!(openapi_json))
        .split_for_parts();
    let mut doc = doc;
    complete_responses(&mut doc);
    (router, doc)
}

/// Adds to every operation the responses that the extractors and layers, not the handler,
/// produce, so `/openapi.json` lists every status a route can return:
///
/// - every route: 408 (the request timeout) and 500 (an internal failure);
/// - a route with a bearer token: 401 (`unauthenticated`, `invalid_token`, `token_expired`);
/// - a route with query parameters: 400 (`invalid_query`);
/// - a route with path parameters: 400 (`invalid_path`);
/// - a route with a request body: 413 (`payload_too_large`, the body limit);
/// - a JSON request body: 400 (`malformed_json`), 415 (`unsupported_media_type`) and 422
///   (`invalid_body`).
///
/// A response the handler already documents keeps its own description.
fn complete_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{RefOr, Response};

    fn error_response(description: &str) -> RefOr<Response> {
        let schema = utoipa::openapi::Ref::from_schema_name("ErrorBody");
        RefOr::T(
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(schema))
                        .build(),
                )
                .build(),
        )
    }

    fn complete(op: &mut Operation) {
        let mut add: Vec<(&str, &str)> = vec![
            ("408", "The request took too long (`request_timeout`)"),
            ("500", "Internal error (`internal_error`)"),
        ];
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        if secured {
            add.push((
                "401",
                "Missing, invalid or expired access token (`unauthenticated`, `invalid_token`, `token_expired`)",
            ));
        }
        let params: Vec<ParameterIn> = op
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p.parameter_in.clone()),
                RefOr::Ref(_) => None,
            })
            .collect();
        let has_query = params.iter().any(|p| matches!(p, ParameterIn::Query));
        let has_path = params.iter().any(|p| matches!(p, ParameterIn::Path));
        match (has_query, has_path) {
            (true, true) => add.push((
                "400",
                "Invalid query (`invalid_query`) or path (`invalid_path`) parameter",
            )),
            (true, false) => add.push(("400", "Invalid query parameter (`invalid_query`)")),
            (false, true) => add.push(("400", "Invalid path parameter (`invalid_path`)")),
            (false, false) => {}
        }
        let body_types: Vec<String> = match &op.request_body {
            Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
            _ => Vec::new(),
        };
        if !body_types.is_empty() {
            add.push(("413", "The body is over the limit (`payload_too_large`)"));
        }
        if body_types.iter().any(|t| t.contains("json")) {
            add.push(("400", "Malformed JSON (`malformed_json`)"));
            add.push((
                "415",
                "The body is not `application/json` (`unsupported_media_type`)",
            ));
            add.push((
                "422",
                "A missing field, a wrong type or an invalid value (`invalid_body`, with `field`)",
            ));
        }
        let mut merged: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (status, description) in add {
            merged.entry(status).or_default().push(description);
        }
        for (status, descriptions) in merged {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_response(&descriptions.join("; ")));
        }
    }

    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
        ]
        .into_iter()
        .flatten()
        {
            complete(op);
        }
    }
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router(0).1
}

/// The whole application: routes, error shape for every response, limits and telemetry.
pub fn app(state: AppState) -> Router {
    // Install the metrics recorder before the first request is counted.
    let _ = telemetry::metrics_handle();
    let (router, doc) = api_router(state.settings.max_blob_bytes);
    let doc = Arc::new(doc.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let max_body = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    router
        .merge(paicha_web::router())
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, paicha_domain::api::ErrorCode::MethodNotAllowed)
        })
        .with_state(state)
        .layer(Extension(doc))
        .layer(DefaultBodyLimit::max(max_body))
        // From here outwards, layers see every response, including those the layers below
        // make up (a caught panic, a timeout): they get the error shape, then are counted.
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, paicha_domain::api::ErrorCode::InternalError)
                .into_response()
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        // The error shape for bare error statuses, `no-store` on `/v1`, and the request
        // counted (`finish`).
        .layer(finish::FinishLayer)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", request_id, method = %req.method(), path = req.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A server ready to serve: database migrated, listener bound.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `PAICHA_METRICS_LISTEN`: a listener serving `/metrics` alone, and its router.
    metrics: Option<(TcpListener, Router)>,
    store: Store,
    settings: Arc<Settings>,
    notifier: paicha_sync::notify::Notifier,
    facts: crate::facts::FactsCache,
    blob_locks: crate::state::BlobLocks,
    blobs: paicha_storage::BlobStore,
    /// Tells the handlers that the server is stopping (see `AppState::stopping`).
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        bootstrap_admin(&store, &settings).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("无法监听 {}：{e}", settings.listen))?;
        let metrics_listener = match settings.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("无法监听 PAICHA_METRICS_LISTEN {addr}：{e}"))?,
            ),
            None => None,
        };
        let keys = TokenKeys::new(settings.jwt_secret.expose(), settings.access_token_ttl);

        let slots = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let settings = Arc::new(settings);
        let notifier = paicha_sync::notify::Notifier::default();
        let facts = crate::facts::FactsCache::new(settings.status_checkpoint_records);
        // Before serving: the leases this instance died holding are given back.
        let instance = Arc::new(crate::leases::Instance::claim(&store, &settings.data_dir).await);
        let blob_locks = crate::state::BlobLocks::of(store.clone(), instance.clone());
        let blobs = match &settings.blob_store {
            None => {
                paicha_storage::BlobStore::files(paicha_storage::BlobFiles::new(&settings.data_dir))
            }
            Some(objects) => paicha_storage::BlobStore::objects(
                paicha_storage::ObjectBlobs::connect(objects, store.clone())
                    .map_err(|e| anyhow::anyhow!("PAICHA_BLOB_STORE：{e}"))?,
            ),
        };
        let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
        let state = AppState::new(crate::state::Shared {
            store: store.clone(),
            keys,
            settings: settings.clone(),
            // A core each at once, and a few per core in line: beyond that a sign-in is
            // answered 503 at once rather than left waiting behind seconds of hashing.
            passwords: crate::state::PasswordQueue::new(slots, 4 * slots),
            import_slots: Arc::new(tokio::sync::Semaphore::new(settings.import_concurrency)),
            instance,
            notifier: notifier.clone(),
            blobs: blobs.clone(),
            committer: paicha_sync::push::Committer::default(),
            pull_flights: Default::default(),
            queued_pulls: Default::default(),
            facts: facts.clone(),
            blob_locks: blob_locks.clone(),
            blob_transfers: Arc::new(tokio::sync::Semaphore::new(settings.max_blob_transfers)),
            stopping: stopping_rx,
        });
        let metrics = metrics_listener.map(|listener| {
            let router = Router::new()
                .route("/metrics", axum::routing::get(routes::ops::metrics))
                .fallback(|| async { error::ApiError::not_found() })
                .layer(axum::Extension(routes::ops::MetricsListener))
                .with_state(state.clone());
            (listener, router)
        });
        Ok(Self {
            listener,
            metrics,
            router: app(state),
            store,
            settings,
            notifier,
            facts,
            blob_locks,
            blobs,
            stopping,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address serving `/metrics` alone (`PAICHA_METRICS_LISTEN`), if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(
            self.store.clone(),
            self.settings.clone(),
            self.blobs.clone(),
            self.blob_locks.clone(),
            self.facts.clone(),
        ));
        let listener = tokio::spawn(relay_changes(self.store.clone(), self.notifier.clone()));
        let metrics = self.metrics.map(|(listener, router)| {
            let mut stopped = self.stopping.subscribe();
            tokio::spawn(serve::serve(listener, router, async move {
                let _ = stopped.wait_for(|stopping| *stopping).await;
            }))
        });
        let result = serve::serve(self.listener, self.router, {
            let stopping = self.stopping;
            async move {
                shutdown.await;
                // New connections stop being accepted now; requests in flight finish, and
                // waiting long-polls answer at once.
                let _ = stopping.send(true);
            }
        })
        .await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        housekeeping.abort();
        listener.abort();
        result
    }
}

/// On PostgreSQL, relays the commits of every instance to this one's long-polls.
async fn relay_changes(store: Store, notifier: paicha_sync::notify::Notifier) {
    loop {
        match store.change_listener().await {
            Ok(None) => return,
            Ok(Some(mut listener)) => loop {
                match listener.next().await {
                    Ok((tenant, version)) => notifier.notify(tenant, version),
                    Err(err) => {
                        tracing::warn!(error = %err, "change listener failed; reconnecting");
                        break;
                    }
                }
            },
            Err(err) => tracing::warn!(error = %err, "change listener could not connect"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// How long an unfinished blob upload may sit unwritten before it is deleted.
const UNFINISHED_UPLOAD_AGE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Deletes the blobs that no live record of their tenant has referenced for `grace` (as of
/// `now`): each tenant's blob row first, then the content on disk once no tenant holds it.
/// Returns (rows deleted, files deleted). Run by the housekeeping; public for tests.
pub async fn collect_blobs(
    store: &Store,
    files: &paicha_storage::BlobStore,
    locks: &crate::state::BlobLocks,
    now: chrono::DateTime<Utc>,
    grace: std::time::Duration,
) -> anyhow::Result<(usize, usize)> {
    let gone = store.collect_unreferenced_blobs(now, grace).await?;
    let mut hashes: Vec<&str> = gone.iter().map(|(_, sha256)| sha256.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut removed = 0;
    for sha256 in hashes {
        // An upload of the same content holds this lock until its row is recorded.
        let guard = locks.lock(sha256).await?;
        let gone = !store.blob_held_anywhere(sha256).await? && files.remove(sha256).await?;
        guard.release().await;
        if gone {
            removed += 1;
        }
    }
    Ok((gone.len(), removed))
}

/// How long a tenant's status read model is kept without being used.
const STATUS_MODEL_IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Periodic clean-up: status read models not used for half an hour, tombstones behind the
/// horizon, unfinished blob uploads abandoned for a week, blob leases of holders that died, blobs unreferenced for the grace
/// period (`PAICHA_BLOB_GC_DAYS`), and throttle rows whose window and
/// lock have lapsed.
async fn housekeeping(
    store: Store,
    settings: Arc<Settings>,
    blobs: paicha_storage::BlobStore,
    blob_locks: crate::state::BlobLocks,
    facts: crate::facts::FactsCache,
) {
    let throttle = settings.login_throttle;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        // Kept on disk first (when it moved far enough), so a model dropped for idling starts
        // again from its checkpoint with few changes to read.
        facts.save_moved(&store).await;
        facts.evict_idle(STATUS_MODEL_IDLE);
        let now = Utc::now();
        match paicha_sync::horizon::purge(&store, now, settings.tombstone_max_age).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "tombstones purged"),
            Err(err) => tracing::warn!(error = %err, "tombstone purge failed"),
        }
        match blobs.purge_unfinished(UNFINISHED_UPLOAD_AGE).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "abandoned blob uploads removed"),
            Err(err) => tracing::warn!(error = %err, "blob upload clean-up failed"),
        }
        let stale =
            chrono::Duration::from_std(UNFINISHED_UPLOAD_AGE).unwrap_or(chrono::Duration::MAX);
        if let Err(err) = store
            .forget_stale_upload_owners(now.checked_sub_signed(stale).unwrap_or(now))
            .await
        {
            tracing::warn!(error = %err, "blob upload owner clean-up failed");
        }
        match store.prune_blob_leases(now).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "run-out blob leases removed"),
            Err(err) => tracing::warn!(error = %err, "blob lease clean-up failed"),
        }
        match collect_blobs(&store, &blobs, &blob_locks, now, settings.blob_gc_grace).await {
            Ok((0, _)) => {}
            Ok((records, files)) => {
                tracing::info!(records, files, "unreferenced blobs deleted");
            }
            Err(err) => tracing::warn!(error = %err, "blob collection failed"),
        }
        // The longest window of the three throttles: a row older than that counts for none.
        let window = [
            throttle.window,
            settings.source_throttle.window,
            settings.user_throttle.window,
        ]
        .into_iter()
        .max()
        .unwrap_or(throttle.window);
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        match store
            .prune_throttle(now.checked_sub_signed(window).unwrap_or(now), now)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "lapsed login throttle rows removed"),
            Err(err) => tracing::warn!(error = %err, "throttle clean-up failed"),
        }
    }
}

/// On a database without users, creates the `system_admin` of `PAICHA_BOOTSTRAP_ADMIN`.
async fn bootstrap_admin(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let Some(admin) = &settings.bootstrap_admin else {
        return Ok(());
    };
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let password = String::from_utf8_lossy(admin.password.expose()).into_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    let inserted = store
        .insert_user(NewUser {
            id: Uuid::now_v7(),
            username: admin.username.clone(),
            password_hash,
            role: Role::SystemAdmin,
            unit: None,
            display_name: None,
            now: Utc::now(),
            // Its password was on a command line or in a sample: the first sign-in sets a new one.
            must_change_password: true,
        })
        .await;
    match inserted {
        Ok(_) => tracing::info!(username = %admin.username, "bootstrap system_admin created"),
        // Another instance starting at the same moment created it first.
        Err(StoreError::Duplicate(_)) => {}
        Err(other) => return Err(other.into()),
    }
    Ok(())
}
