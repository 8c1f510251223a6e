//! Leases that follow their holder. An import holds its unit's lease, an upload its blob's (rows
//! in the database, so they hold across instances), for as long as it works, and no longer:
//!
//! - a lease runs for [`LEASE`] and its holder renews it every [`RENEW_EVERY`] while it works
//!   ([`Renewal`]), so a lease whose holder died runs out within [`LEASE`];
//! - every holder is named after its instance (`<instance>/<what>`), and an instance keeps its
//!   id in its data dir (`instance-id`) under an exclusive file lock held for its whole life:
//!   when it starts again after dying (a crash, `kill -9`, the machine going down), it takes
//!   the same id, and gives back at once every lease still held under it. Another live process
//!   on the same data dir (a second instance started on it by mistake, a test's) cannot take
//!   the lock: it runs under a fresh id and gives nothing back, so it never releases a lease of
//!   a live instance. Instances that share one database each have their own data dir
//!   (deploy/README.md), hence their own id.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::Duration;

use paicha_storage::{Store, StoreResult};

/// How long a lease lasts unless renewed.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a holder renews its lease while it works.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The file in the data dir holding the instance's id.
const ID_FILE: &str = "instance-id";

/// This process's name for the leases it holds.
#[derive(Debug)]
pub struct Instance {
    id: String,
    /// Locked for the process's life (the kernel unlocks it when the process dies).
    _lock: Option<std::fs::File>,
}

impl Instance {
    /// A fresh id, locked nowhere, giving nothing back (the command line's imports).
    pub fn transient() -> Self {
        Self {
            id: fresh_id(),
            _lock: None,
        }
    }

    /// The instance of the data dir `dir`: its kept id if no live process holds it (then the
    /// leases still held under it, left by its previous life, are given back), else a fresh
    /// one.
    pub async fn claim(store: &Store, dir: &Path) -> Self {
        let Some((id, file)) = lock_id(dir) else {
            let fresh = Self::transient();
            tracing::info!(
                instance = %fresh.id,
                "another process holds this data dir's instance id; running under a fresh one"
            );
            return fresh;
        };
        let prefix = format!("{id}/");
        match (
            store.release_import_leases_of(&prefix).await,
            store.release_blob_leases_of(&prefix).await,
        ) {
            (Ok(0), Ok(0)) => {}
            (Ok(imports), Ok(blobs)) => tracing::info!(
                imports,
                blobs,
                "gave back the leases this instance held when it stopped last"
            ),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "could not give back this instance's old leases; they run out by themselves");
            }
        }
        Self {
            id,
            _lock: Some(file),
        }
    }

    /// The holder name of `what` (an import's or an upload's own id, at most 47 characters: a
    /// holder is kept in 64).
    pub fn holder(&self, what: &str) -> String {
        format!("{}/{what}", self.id)
    }
}

/// A new instance id: 16 random hex digits (64 bits).
fn fresh_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(ID_LEN);
    id
}

/// The length of an instance id.
const ID_LEN: usize = 16;

/// Opens `dir/instance-id`, takes its exclusive lock without waiting, and returns the id it
/// holds (writing a new one into an empty file). `None` when another process holds the lock
/// or the file cannot be used.
fn lock_id(dir: &Path) -> Option<(String, std::fs::File)> {
    let _ = std::fs::create_dir_all(dir);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(ID_FILE))
        .map_err(|e| tracing::warn!(error = %e, "the data dir's instance id cannot be opened"))
        .ok()?;
    file.try_lock().ok()?;
    let mut kept = String::new();
    file.read_to_string(&mut kept).ok()?;
    let kept = kept.trim();
    if kept.len() == ID_LEN && kept.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some((kept.to_owned(), file));
    }
    let id = fresh_id();
    file.set_len(0).ok()?;
    file.rewind().ok()?;
    file.write_all(id.as_bytes()).ok()?;
    file.sync_all().ok()?;
    Some((id, file))
}

/// When a lease taken now runs out.
pub fn expiry() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default()
}

/// Renews a lease every [`RENEW_EVERY`] until dropped.
pub struct Renewal(tokio::task::JoinHandle<()>);

impl Renewal {
    /// Starts renewing: `renew(until)` moves the lease on to `until` and says whether it is
    /// still held (a lease lost is logged, and renewal stops).
    pub fn start<F, Fut>(what: &'static str, renew: F) -> Self
    where
        F: Fn(chrono::DateTime<chrono::Utc>) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<bool>> + Send,
    {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RENEW_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is at once: the lease was just taken.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match renew(expiry()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = what, "a lease ran out while its holder worked");
                        return;
                    }
                    Err(e) => tracing::warn!(lease = what, error = %e, "a lease was not renewed"),
                }
            }
        }))
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The id is kept across lives of the process holding the data dir, and another process
    /// (here: another open of the file) gets none while it is held.
    #[test]
    fn the_data_dirs_id_is_kept_and_held_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let (first, lock) = lock_id(dir.path()).unwrap();
        assert_eq!(first.len(), ID_LEN);
        assert!(lock_id(dir.path()).is_none(), "taken while held");
        drop(lock);
        let (again, _lock) = lock_id(dir.path()).unwrap();
        assert_eq!(again, first);
        // The longest holder made (the command line's import) fits the 64 characters kept.
        let cli = format!("cli-import-{}", uuid::Uuid::now_v7().simple());
        assert!(Instance::transient().holder(&cli).len() <= 64);
    }
}
