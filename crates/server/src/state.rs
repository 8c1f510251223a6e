use std::collections::HashMap;
use std::sync::Arc;

use paicha_auth::{Actor, TokenKeys, UnitRef};
use paicha_storage::{OrgUnitRecord, Store};

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use paicha_auth::Principal;
use paicha_domain::api::ErrorCode;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
    pub blobs: paicha_storage::BlobFiles,
    /// Identical pulls in flight, shared.
    pub pull_flights: crate::routes::sync::PullFlights,
    /// Groups concurrent pushes of a tenant into one commit.
    pub committer: paicha_sync::push::Committer,
    /// The status read model of each tenant.
    pub facts: crate::facts::FactsCache,
    /// One upload of a given blob at a time (and none while the collection deletes it).
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

/// A lock per blob hash, held while an upload of it is received (or its content deleted).
/// Entries exist only while someone holds or waits for one.
#[derive(Clone, Default)]
pub struct BlobLocks(Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

/// Holds a blob's lock; releases it (and forgets the entry if nobody waits) when dropped.
pub struct BlobLockGuard {
    locks: BlobLocks,
    sha256: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl BlobLocks {
    pub async fn lock(&self, sha256: &str) -> BlobLockGuard {
        let mutex = {
            let mut map = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(sha256.to_owned()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        BlobLockGuard {
            locks: self.clone(),
            sha256: sha256.to_owned(),
            guard: Some(guard),
        }
    }

    /// Hashes with an entry (held or awaited).
    pub fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for BlobLockGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map
            .get(&self.sha256)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.sha256);
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
