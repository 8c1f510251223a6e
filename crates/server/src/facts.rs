//! The status read model in memory: per tenant, the facts of its records
//! ([`paicha_domain::facts::Facts`]), brought up to date from the database before each use.
//!
//! The first status request of a tenant loads every record (for 100,000 members, about as
//! long as the status took before this model); each later one reads only the records whose
//! version is above the one the model has seen, through the `(tenant_id, version)` index.
//! The database stays the truth: every instance catches up by itself, and a model that fell
//! behind the tombstone horizon (deleted rows may be gone) is loaded afresh. A tenant's model
//! not used for a while is dropped by the housekeeping.

use paicha_domain::ids::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paicha_domain::collection::Collection;
use paicha_domain::facts::Facts;
use paicha_storage::{FactRow, Store, StoreResult};
use uuid::Uuid;

/// What hands each changed record to the model, as the store reads it.
fn applier(facts: &mut Facts) -> impl FnMut(FactRow) + Send + '_ {
    move |row| facts.apply(row.collection, row.id, &row.path, row.deleted, &row.fields)
}

#[derive(Default)]
struct Model {
    facts: Facts,
    /// Every change up to this version is applied; `None`: never loaded.
    version: Option<u64>,
    last_used: Option<Instant>,
}

/// The read models of the tenants, shared by the requests of one instance.
#[derive(Clone, Default)]
pub struct FactsCache {
    tenants: Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Model>>>>>,
}

impl FactsCache {
    /// Brings the tenant's model up to date, then runs `read` on it.
    pub async fn read<R>(
        &self,
        store: &Store,
        tenant_id: TenantId,
        read: impl FnOnce(&Facts) -> R,
    ) -> StoreResult<R> {
        Ok(self.read_versioned(store, tenant_id, read).await?.0)
    }

    /// [`FactsCache::read`], with the tenant's version the model then holds every change up to
    /// (a signed report names the audit entry of that version).
    pub async fn read_versioned<R>(
        &self,
        store: &Store,
        tenant_id: TenantId,
        read: impl FnOnce(&Facts) -> R,
    ) -> StoreResult<(R, u64)> {
        let slot = {
            let mut tenants = self
                .tenants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tenants.entry(tenant_id.uuid()).or_default().clone()
        };
        let mut model = slot.lock().await;
        let after = model.version.unwrap_or(0);
        let mut changes = store
            .tenant_changes(
                tenant_id,
                &Collection::ALL,
                after,
                applier(&mut model.facts),
            )
            .await;
        if model.version.is_some() && changes.as_ref().is_ok_and(|c| c.purged_through > after) {
            // Tombstones this model has not seen may be gone: start again.
            model.facts = Facts::default();
            changes = store
                .tenant_changes(tenant_id, &Collection::ALL, 0, applier(&mut model.facts))
                .await;
        }
        let changes = match changes {
            Ok(changes) => changes,
            Err(e) => {
                // A load cut short leaves a model that is not whole: the next use loads it afresh.
                *model = Model::default();
                return Err(e);
            }
        };
        let version = changes.snapshot_version.max(after);
        model.version = Some(version);
        model.last_used = Some(Instant::now());
        Ok((read(&model.facts), version))
    }

    /// Drops the models not used for `idle`.
    pub fn evict_idle(&self, idle: Duration) {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants.retain(|_, slot| match slot.try_lock() {
            Ok(model) => model.last_used.is_some_and(|t| t.elapsed() < idle),
            // In use right now.
            Err(_) => true,
        });
    }
}
