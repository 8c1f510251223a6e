//! The sync engine of paicha.
//!
//! - [`push`]: applies a device's batch of mutations exactly once, each whole or not at all,
//!   with field-level merge and the audit trail, in one transaction per batch.
//! - [`pull`]: pages of changes in version order that never skip one, and checksums.
//! - [`audit`]: the tamper-evident hash chain of the change log, and its verification.
//! - [`notify`]: wakes long-polling pulls when a tenant's data changes.
//! - [`horizon`]: how long tombstones are kept, and their purge.
//! - [`cursor`] and [`checksum`]: the opaque pull cursor and the replica checksum.

pub mod audit;
pub mod checksum;
pub mod cursor;
pub mod horizon;
pub mod notify;
pub mod pull;
pub mod push;

use paicha_storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cursor is older than the tombstone horizon (or from a future this database does
    /// not have): the device must drop its replica and pull from the start.
    #[error("resync required")]
    ResyncRequired,
    /// The group commit this push was part of failed (the detail was logged once).
    #[error("group commit failed: {0}")]
    Group(String),
}
