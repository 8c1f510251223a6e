//! The status read model in memory: per tenant, the facts of its records
//! ([`paicha_domain::facts::Facts`]), brought up to date from the database before each use.
//!
//! The first status request of a tenant starts from the tenant's checkpoint, the facts kept on
//! disk at a version (`status_checkpoints`), and reads the records changed since; without a
//! checkpoint it loads every record (a million members: 6–20 s, against 0.5–2 s from a
//! checkpoint, by machine; docs/benchmarks.md). Each later request reads only the records whose version is above the
//! one the model has seen, through the `(tenant_id, version)` index. The database stays the
//! truth: every instance catches up by itself; a model that fell behind the tombstone horizon
//! (deleted rows may be gone) keeps only the records still live, and one ahead of the database
//! (restored from an older backup) is loaded afresh from the records.
//!
//! A model of at least [`CHECKPOINT_RECORDS`] records is checkpointed after a load from the
//! records, and by the housekeeping once it has moved [`CHECKPOINT_CHANGES`] versions past its
//! checkpoint; one not used for a while is dropped.

use paicha_domain::ids::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paicha_domain::collection::Collection;
use paicha_domain::facts::Facts;
use paicha_storage::{FactRow, Store, StoreResult};
use uuid::Uuid;

/// The fewest records a model holds for it to be checkpointed (`Settings`
/// `status_checkpoint_records`). Ten thousand records load from the database in about 0.1 s.
pub const CHECKPOINT_RECORDS: usize = 10_000;

/// How many versions a model moves past its checkpoint before the housekeeping writes it again
/// (at most; fewer when `status_checkpoint_records` is lower), at its next ten-minutely round.
/// A start after the model was in use then reads about this many changes after the checkpoint
/// (a tenth of a second; more when the model had been dropped for idling meanwhile), and a busy
/// tenant of a million members writes its 60 MB a few times a day, not every ten minutes.
const CHECKPOINT_CHANGES: u64 = 10_000;

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
    /// The version of the tenant's checkpoint on disk, as far as this instance knows.
    saved: Option<u64>,
    /// A checkpoint of this model is being written: another waits for the next occasion, so an
    /// older one never lands after a newer.
    saving: bool,
}

type Slot = Arc<tokio::sync::Mutex<Model>>;

/// The read models of the tenants, shared by the requests of one instance.
#[derive(Clone)]
pub struct FactsCache {
    tenants: Arc<Mutex<HashMap<Uuid, Slot>>>,
    /// [`CHECKPOINT_RECORDS`], or what the settings say.
    checkpoint_records: usize,
}

impl FactsCache {
    /// Models of at least `checkpoint_records` records are checkpointed.
    pub fn new(checkpoint_records: usize) -> Self {
        Self {
            tenants: Arc::default(),
            checkpoint_records,
        }
    }

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
        let loading = Instant::now();
        if model.version.is_none() {
            restore(store, tenant_id, &mut model).await;
        }
        let mut after = model.version.unwrap_or(0);
        let mut whole = model.version.is_none();
        // Whether the model changed in a way its checkpoint does not follow.
        let mut rewritten = false;
        let mut changes = store
            .tenant_changes(
                tenant_id,
                &Collection::ALL,
                after,
                applier(&mut model.facts),
            )
            .await;
        let ahead = changes.as_ref().is_ok_and(|c| c.snapshot_version < after);
        let purged = changes.as_ref().is_ok_and(|c| c.purged_through > after);
        if model.version.is_some() && ahead {
            // The database is older than the model (restored from an older backup): start
            // again.
            model.facts = Facts::default();
            model.saved = None;
            after = 0;
            whole = true;
            changes = store
                .tenant_changes(tenant_id, &Collection::ALL, 0, applier(&mut model.facts))
                .await;
        } else if model.version.is_some() && purged {
            rewritten = true;
            // Tombstones this model has not seen may be gone: every other change since its
            // version is applied, and what is no longer live goes. (A record deleted after the
            // changes were read may go early; its tombstone, read next time, changes nothing.)
            match store.live_record_keys(tenant_id).await {
                Ok(live) => {
                    let gone = model.facts.retain_live(&live);
                    model.saved = None;
                    tracing::info!(
                        %tenant_id,
                        gone,
                        "status model kept only the live records: deletions it had not seen were purged"
                    );
                }
                Err(e) => changes = Err(e),
            }
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
        if whole {
            metrics::counter!("paicha_status_model_loads_total", "from" => "records").increment(1);
            tracing::info!(
                %tenant_id,
                version,
                records = model.facts.len(),
                ms = loading.elapsed().as_millis(),
                "status model loaded from the records"
            );
        }
        let answer = read(&model.facts);
        let checkpoint = (whole || rewritten) && model.facts.len() >= self.checkpoint_records;
        drop(model);
        if checkpoint {
            // Kept on disk for the next start, without keeping this request waiting (the
            // tenant's next requests wait while it is encoded: about 0.4 s a million members).
            tokio::spawn(save(store.clone(), tenant_id, slot));
        }
        Ok((answer, version))
    }

    /// Checkpoints the models that moved [`CHECKPOINT_CHANGES`] versions (or
    /// `status_checkpoint_records`, when fewer) past their checkpoint (the housekeeping's).
    pub async fn save_moved(&self, store: &Store) {
        let slots: Vec<(Uuid, Slot)> = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(tenant, slot)| (*tenant, slot.clone()))
            .collect();
        let enough = CHECKPOINT_CHANGES
            .min(self.checkpoint_records as u64)
            .max(1);
        for (tenant, slot) in slots {
            let moved = slot.try_lock().is_ok_and(|model| {
                model.facts.len() >= self.checkpoint_records
                    && model.version.unwrap_or(0) >= model.saved.unwrap_or(0) + enough
            });
            if moved {
                save(store.clone(), TenantId::new(tenant), slot).await;
            }
        }
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

/// Starts the model from the tenant's checkpoint, if it has one this build reads; otherwise
/// leaves it empty, to be loaded from the records.
async fn restore(store: &Store, tenant_id: TenantId, model: &mut Model) {
    let started = Instant::now();
    let checkpoint = match store.status_checkpoint(tenant_id).await {
        Ok(Some(checkpoint)) => checkpoint,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(%tenant_id, error = %err, "status checkpoint not read");
            return;
        }
    };
    let version = checkpoint.version;
    let body = checkpoint.body;
    let bytes = body.len();
    let read = started.elapsed();
    match tokio::task::spawn_blocking(move || Facts::from_checkpoint(&body)).await {
        Ok(Ok(facts)) => {
            tracing::info!(
                %tenant_id,
                version,
                bytes,
                records = facts.len(),
                read_ms = read.as_millis(),
                decoded_ms = (started.elapsed() - read).as_millis(),
                "status model read from its checkpoint"
            );
            model.facts = facts;
            model.version = Some(version);
            model.saved = Some(version);
            metrics::counter!("paicha_status_model_loads_total", "from" => "checkpoint")
                .increment(1);
        }
        Ok(Err(err)) => {
            tracing::warn!(
                %tenant_id,
                version,
                error = %err,
                "status checkpoint refused: loading from the records"
            );
        }
        Err(err) => tracing::warn!(%tenant_id, error = %err, "status checkpoint decoding panicked"),
    }
}

/// Writes the model's checkpoint, unless the one on disk is as recent or one is being written.
async fn save(store: Store, tenant_id: TenantId, slot: Slot) {
    let mut model = slot.clone().lock_owned().await;
    let Some(version) = model.version else {
        return;
    };
    if model.saved >= Some(version) || model.saving {
        return;
    }
    model.saving = true;
    // Encoded while the model is held, so the facts are the version's.
    let encoded = tokio::task::spawn_blocking(move || {
        let bytes = model.facts.checkpoint();
        drop(model);
        bytes
    })
    .await;
    let written = match encoded {
        Ok(Ok(body)) => {
            let bytes = body.len();
            store
                .save_status_checkpoint(tenant_id, version, body)
                .await
                .map(|()| bytes)
                .map_err(|e| e.to_string())
        }
        Ok(Err(err)) => Err(format!("not encoded: {err}")),
        Err(err) => Err(format!("the encoding panicked: {err}")),
    };
    let mut model = slot.lock().await;
    model.saving = false;
    match written {
        Ok(bytes) => {
            model.saved = model.saved.max(Some(version));
            metrics::counter!("paicha_status_checkpoints_written_total").increment(1);
            tracing::info!(%tenant_id, version, bytes, "status checkpoint written");
        }
        Err(error) => {
            tracing::warn!(%tenant_id, version, %error, "status checkpoint not written");
        }
    }
}
