use std::sync::Arc;

use paicha_auth::{Actor, TokenKeys, UnitRef};
use paicha_storage::{OrgUnitRecord, Store};

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use paicha_auth::Principal;
use paicha_domain::api::ErrorCode;

/// What every handler shares: one reference to [`Shared`], so a clone (every extractor and
/// middleware that takes the state makes one per request) costs a reference count. It held
/// the fields by value before, and ten thousand woken long-polls spent a tenth of their time
/// copying and freeing the token keys and validation rules (docs/benchmarks.md, session 6).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state itself, behind [`AppState`].
pub struct Shared {
    pub store: Store,
    pub keys: TokenKeys,
    pub settings: Arc<Settings>,
    /// Bounds the argon2 work running at once (each takes ~19 MiB and a core for tens of
    /// milliseconds), so a flood of logins queues instead of exhausting memory.
    pub password_slots: Arc<tokio::sync::Semaphore>,
    /// Bounds the spreadsheet imports parsing at once (`PAICHA_IMPORT_CONCURRENCY`).
    pub import_slots: Arc<tokio::sync::Semaphore>,
    /// Wakes long-polling pulls when a tenant's data changes.
    pub notifier: paicha_sync::notify::Notifier,
    /// Where blob content is kept: the data dir or object storage.
    pub blobs: paicha_storage::BlobStore,
    /// Identical pulls in flight, shared.
    pub pull_flights: crate::routes::sync::PullFlights,
    /// Identical first reads of pulls still waiting for a connection, joined.
    pub queued_pulls: crate::routes::sync::QueuedPulls,
    /// Groups concurrent pushes of a tenant into one commit.
    pub committer: paicha_sync::push::Committer,
    /// The status read model of each tenant.
    pub facts: crate::facts::FactsCache,
    /// One upload of a given blob at a time (and none while the collection deletes it),
    /// across instances.
    pub blob_locks: BlobLocks,
    /// Blob uploads and downloads in progress at once.
    pub blob_transfers: Arc<tokio::sync::Semaphore>,
    /// Becomes `true` when the server begins to stop: waiting long-polls answer at once, so
    /// their devices reconnect (to another instance) instead of waiting out their `wait`.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// How long a blob transfer waits for a free slot before it is refused with 503.
pub const TRANSFER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// The `Retry-After` of a refused transfer, in seconds.
pub const TRANSFER_RETRY_AFTER: u64 = 5;

/// How long a blob's lease lasts: longer than any request may take (`request_timeout`, 90 s),
/// so a lease runs out only when its holder died.
pub const BLOB_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// A lock per blob hash, held while an upload of it is received (or its content deleted). It is
/// a lease in the database (`blob_leases`), so it holds across instances: an upload begun
/// through one instance and resumed through another never runs beside itself, and the
/// collection of any instance never deletes content an upload is about to record.
#[derive(Clone)]
pub struct BlobLocks {
    store: Store,
}

/// Holds a blob's lease; [`BlobLockGuard::release`] gives it back (dropping the guard does
/// too, a moment later).
pub struct BlobLockGuard {
    store: Store,
    sha256: String,
    holder: Option<String>,
}

impl BlobLocks {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Waits until this caller holds the lease of `sha256`.
    pub async fn lock(&self, sha256: &str) -> Result<BlobLockGuard, paicha_storage::StoreError> {
        let holder = uuid::Uuid::new_v4().simple().to_string();
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            let now = chrono::Utc::now();
            let until = now + chrono::Duration::from_std(BLOB_LEASE).unwrap_or_default();
            if self
                .store
                .take_blob_lease(sha256, &holder, now, until)
                .await?
            {
                return Ok(BlobLockGuard {
                    store: self.store.clone(),
                    sha256: sha256.to_owned(),
                    holder: Some(holder),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(250));
        }
    }
}

impl BlobLockGuard {
    /// Gives the lease back now.
    pub async fn release(mut self) {
        if let Some(holder) = self.holder.take()
            && let Err(err) = self.store.release_blob_lease(&self.sha256, &holder).await
        {
            tracing::warn!(error = %err, "blob lease not given back; it runs out by itself");
        }
    }
}

impl Drop for BlobLockGuard {
    fn drop(&mut self) {
        let Some(holder) = self.holder.take() else {
            return;
        };
        let (store, sha256) = (self.store.clone(), std::mem::take(&mut self.sha256));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = store.release_blob_lease(&sha256, &holder).await {
                    tracing::warn!(error = %err, "blob lease not given back; it runs out by itself");
                }
            });
        }
    }
}

impl AppState {
    /// A slot for one blob transfer, held until the transfer ends. Waits up to
    /// [`TRANSFER_WAIT`] for one, then answers 503 `too_many_transfers` with `Retry-After`.
    pub async fn transfer_slot(&self) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
        let acquire = self.blob_transfers.clone().acquire_owned();
        match tokio::time::timeout(TRANSFER_WAIT, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(err)) => Err(ApiError::internal(err)),
            Err(_) => {
                let mut err = ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TooManyTransfers,
                );
                err.retry_after = Some(TRANSFER_RETRY_AFTER);
                Err(err)
            }
        }
    }

    /// Runs password hashing or verification on the blocking pool, a bounded number at once.
    pub async fn run_password_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let _permit = self
            .password_slots
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(ApiError::internal)
    }

    /// The caller's own unit, loaded fresh: a token whose unit has since been deleted is no
    /// longer valid.
    pub async fn caller_unit(&self, principal: &Principal) -> ApiResult<Option<OrgUnitRecord>> {
        let Some(id) = principal.org_unit_id else {
            return Ok(None);
        };
        match self.store.org_unit(id).await? {
            Some(unit) if Some(unit.tenant_id) == principal.tenant_id => Ok(Some(unit)),
            _ => Err(ApiError::unauthorized(ErrorCode::InvalidToken)),
        }
    }
}

/// The policy's view of a stored unit.
pub fn unit_ref(unit: &OrgUnitRecord) -> UnitRef<'_> {
    UnitRef {
        id: unit.id,
        tenant_id: unit.tenant_id,
        kind: unit.kind,
        path: &unit.path,
    }
}

/// The policy's view of a caller and its unit.
pub fn actor<'a>(principal: &'a Principal, unit: Option<&'a OrgUnitRecord>) -> Actor<'a> {
    Actor {
        principal,
        unit: unit.map(unit_ref),
    }
}
