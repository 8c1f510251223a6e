//! The tombstone horizon: how long deletions are kept for devices to catch up.
//!
//! A tombstone may go once every active device has pulled past it. The horizon therefore
//! follows the slowest active device's acknowledged cursor (the cursor it last pulled from),
//! not a fixed number of days; but a device silent for longer than `max_age`, or holding a
//! cursor older than that, no longer holds it back: tombstones older than `max_age` go
//! regardless, and such a device gets `resync_required` on its next pull.

use paicha_domain::ids::TenantId;
use std::time::Duration;

use chrono::{DateTime, Utc};
use paicha_storage::Store;

use crate::SyncError;

/// The default upper bound on how long a tombstone is kept.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// The version through which a tenant's tombstones may be purged at `now`.
pub async fn horizon(
    store: &Store,
    tenant_id: TenantId,
    tenant_version: u64,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<u64, SyncError> {
    let oldest_allowed = now - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    // With no device known to be active, nothing says a deletion has been seen: only the
    // upper bound applies.
    let slowest_active = store
        .device_cursors(tenant_id)
        .await?
        .into_iter()
        .filter(|(_, seen)| *seen >= oldest_allowed)
        .map(|(cursor, _)| cursor)
        .min()
        .unwrap_or(0);
    // Only a version above the slowest active device's cursor moves the horizon further.
    let too_old = store
        .version_before(tenant_id, oldest_allowed, slowest_active)
        .await?;
    Ok(slowest_active.max(too_old).min(tenant_version))
}

/// Purges every tenant's tombstones up to its horizon. Returns how many records went.
pub async fn purge(store: &Store, now: DateTime<Utc>, max_age: Duration) -> Result<u64, SyncError> {
    let mut purged = 0;
    for (tenant_id, version, _) in store.sync_tenants().await? {
        let through = horizon(store, tenant_id, version, now, max_age).await?;
        purged += store.purge_tombstones(tenant_id, through).await?;
    }
    Ok(purged)
}
