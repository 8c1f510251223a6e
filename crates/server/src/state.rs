use std::sync::Arc;

use paicha_auth::TokenKeys;
use paicha_storage::{OrgUnitRecord, Store};

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use paicha_auth::Principal;
use paicha_domain::api::ErrorCode;

/// What every handler shares: one reference to [`Shared`], so a clone (every extractor and
/// middleware that takes the state makes one per request) costs a reference count. It held
/// the fields by value before, and ten thousand woken long-polls spent a tenth of their time
/// copying and freeing the token keys and validation rules (docs/benchmarks.md, results of 2026-11-29, commit 11f5821).
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
    /// milliseconds), so a flood of logins queues instead of exhausting memory, and bounds how
    /// many sign-ins may wait in that queue.
    pub passwords: PasswordQueue,
    /// Bounds the spreadsheet imports parsing at once (`PAICHA_IMPORT_CONCURRENCY`).
    pub import_slots: Arc<tokio::sync::Semaphore>,
    /// The name this instance holds its import and blob leases under (`crate::leases`).
    pub instance: Arc<crate::leases::Instance>,
    /// Wakes long-polling pulls when a tenant's data changes.
    pub notifier: paicha_sync::notify::Notifier,
    /// Where blob content is kept: the data dir or object storage.
    pub blobs: paicha_storage::BlobStore,
    /// Identical pulls in flight, shared.
    pub pull_flights: crate::shared_pulls::PullFlights,
    /// Identical first reads of pulls still waiting for a connection, joined.
    pub queued_pulls: crate::shared_pulls::QueuedPulls,
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

/// The `Retry-After` of a sign-in refused because the password queue is full, in seconds.
pub const SIGN_IN_RETRY_AFTER: u64 = 2;

/// The instance's password work (argon2): `slots` run at once on the blocking pool, and at most
/// `capacity` (running and waiting together) are let into the line by
/// [`PasswordQueue::try_join`]; [`PasswordQueue::join`] always gets in.
pub struct PasswordQueue {
    slots: tokio::sync::Semaphore,
    /// Holders of a place: running or waiting for a slot.
    queued: std::sync::atomic::AtomicUsize,
    capacity: usize,
}

/// A place in the [`PasswordQueue`], given back when dropped.
pub struct QueuePlace<'a> {
    queued: &'a std::sync::atomic::AtomicUsize,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.queued
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl PasswordQueue {
    /// `slots` at once (at least one), with room for `waiting` more in line.
    pub fn new(slots: usize, waiting: usize) -> Self {
        let slots = slots.max(1);
        Self {
            slots: tokio::sync::Semaphore::new(slots),
            queued: std::sync::atomic::AtomicUsize::new(0),
            capacity: slots + waiting,
        }
    }

    /// A place in line, whatever its length.
    pub fn join(&self) -> QueuePlace<'_> {
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        QueuePlace {
            queued: &self.queued,
        }
    }

    /// A place in line, or `None` when the line is full.
    pub fn try_join(&self) -> Option<QueuePlace<'_>> {
        let place = self.join();
        let holders = self.queued.load(std::sync::atomic::Ordering::Acquire);
        (holders <= self.capacity).then_some(place)
    }

    /// Waits for a slot while holding `place`, then runs `work` on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        place: QueuePlace<'_>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let _permit = self.slots.acquire().await.map_err(ApiError::internal)?;
        let result = tokio::task::spawn_blocking(work)
            .await
            .map_err(ApiError::internal);
        drop(place);
        result
    }
}

/// A lock per blob hash, held while an upload of it is received (or its content deleted). It is
/// a lease in the database (`blob_leases`), so it holds across instances: an upload begun
/// through one instance and resumed through another never runs beside itself, and the
/// collection of any instance never deletes content an upload is about to record. The lease
/// follows its holder (`crate::leases`): renewed while held, given back when the instance that
/// died holding it starts again, and otherwise run out 30 s after its holder died.
#[derive(Clone)]
pub struct BlobLocks {
    store: Store,
    instance: Arc<crate::leases::Instance>,
}

/// Holds a blob's lease; [`BlobLockGuard::release`] gives it back (dropping the guard does
/// too, a moment later).
pub struct BlobLockGuard {
    store: Store,
    sha256: String,
    holder: Option<String>,
    _renewal: crate::leases::Renewal,
}

impl BlobLocks {
    /// Locks of an instance of its own, which gives back nothing when it starts.
    pub fn new(store: Store) -> Self {
        Self::of(store, Arc::new(crate::leases::Instance::transient()))
    }

    /// Locks held under `instance`'s name.
    pub(crate) fn of(store: Store, instance: Arc<crate::leases::Instance>) -> Self {
        Self { store, instance }
    }

    /// Waits until this caller holds the lease of `sha256`.
    pub async fn lock(&self, sha256: &str) -> Result<BlobLockGuard, paicha_storage::StoreError> {
        let holder = self
            .instance
            .holder(&uuid::Uuid::new_v4().simple().to_string());
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            let now = chrono::Utc::now();
            if self
                .store
                .take_blob_lease(sha256, &holder, now, crate::leases::expiry())
                .await?
            {
                let (store, sha, renewing) =
                    (self.store.clone(), sha256.to_owned(), holder.clone());
                let renewal = crate::leases::Renewal::start("blob", move |until| {
                    let (store, sha, holder) = (store.clone(), sha.clone(), renewing.clone());
                    async move { store.renew_blob_lease(&sha, &holder, until).await }
                });
                return Ok(BlobLockGuard {
                    store: self.store.clone(),
                    sha256: sha256.to_owned(),
                    holder: Some(holder),
                    _renewal: renewal,
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

    /// Runs password hashing or verification on the blocking pool, a bounded number at once,
    /// waiting for its turn however long the queue is (an administrator's or a signed-in
    /// user's own password work: rare, and behind a token).
    pub async fn run_password_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let place = self.passwords.join();
        self.passwords.run(place, work).await
    }

    /// Runs a sign-in's password check like [`Self::run_password_work`], but refuses it with
    /// 503 `too_many_sign_ins` and `Retry-After` when the queue is full, instead of letting a
    /// flood of sign-ins wait without bound.
    pub async fn run_sign_in_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let Some(place) = self.passwords.try_join() else {
            let mut err = ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooManySignIns,
            );
            err.retry_after = Some(SIGN_IN_RETRY_AFTER);
            return Err(err);
        };
        self.passwords.run(place, work).await
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_password_queue_refuses_sign_ins_but_not_account_work() {
        let queue = PasswordQueue::new(1, 2);
        let held: Vec<_> = (0..3).map(|_| queue.try_join().unwrap()).collect();
        assert!(
            queue.try_join().is_none(),
            "a fourth place in a line of three"
        );
        // Account work still gets in, and counts.
        let admin = queue.join();
        assert!(queue.try_join().is_none());
        drop(admin);
        drop(held);
        // Given back: the line is empty again, and work runs.
        let place = queue.try_join().unwrap();
        assert_eq!(queue.run(place, || 6 * 7).await.unwrap(), 42);
        assert_eq!(queue.queued.load(std::sync::atomic::Ordering::Acquire), 0);
    }
}
