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
    /// Striped locks: one upload of a given blob at a time.
    pub blob_locks: Arc<[tokio::sync::Mutex<()>; 64]>,
}

impl AppState {
    pub fn blob_lock(&self, sha256: &str) -> &tokio::sync::Mutex<()> {
        // The first two hex digits: 256 values over 64 stripes.
        let stripe = sha256
            .get(..2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0, |b| usize::from(b) % 64);
        &self.blob_locks[stripe]
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
