//! Pull and checksums over the caller's scope.

use paicha_domain::api::v1::{Change, ChecksumResponse, CollectionChecksum, PullResponse};
use paicha_domain::collection::Collection;
use paicha_storage::{Scope, Store};

use crate::SyncError;
use crate::checksum::ReplicaChecksum;
use crate::cursor::Cursor;

/// Changes per page when the request names no limit.
pub const DEFAULT_LIMIT: u64 = 500;
/// Most changes per page.
pub const MAX_LIMIT: u64 = 5000;

/// One page of changes after `cursor`. When the page is the last one, the cursor moves to the
/// snapshot's version even past changes outside the scope, so the next pull starts there.
pub async fn pull(
    store: &Store,
    scope: Scope<'_>,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
) -> Result<PullResponse, SyncError> {
    pull_noting_start(store, scope, collections, cursor, limit, || {}).await
}

/// [`pull`], calling `on_start` when the page's snapshot is about to be taken (after the wait
/// for a database connection): every commit made before that is in the page.
pub async fn pull_noting_start(
    store: &Store,
    scope: Scope<'_>,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
    on_start: impl FnOnce() + Send,
) -> Result<PullResponse, SyncError> {
    let page = store
        .pull_page_noting_start(
            scope,
            collections,
            cursor.version,
            limit.clamp(1, MAX_LIMIT),
            on_start,
        )
        .await?;
    // From the start, the current state is always complete. From a cursor, the tombstones
    // after it must all still be there, and the cursor must be from this database's past.
    let gone = cursor.version > 0 && cursor.version < page.purged_through;
    if gone || cursor.version > page.snapshot_version {
        return Err(SyncError::ResyncRequired);
    }
    let last = page.changes.last().map_or(cursor.version, |c| c.version);
    let next = if page.has_more {
        last
    } else {
        last.max(page.snapshot_version).max(cursor.version)
    };
    let changes = page
        .changes
        .into_iter()
        .map(|c| Change {
            collection: c.collection,
            id: c.id,
            org_unit_id: c.org_unit_id,
            version: c.version,
            deleted: c.deleted,
            // A tombstone carries no fields.
            fields: if c.deleted {
                Default::default()
            } else {
                c.fields
            },
        })
        .collect();
    Ok(PullResponse {
        changes,
        cursor: Cursor { version: next }.encode(),
        has_more: page.has_more,
    })
}

/// Count and hash of each collection's live records in scope.
pub async fn checksum(
    store: &Store,
    scope: Scope<'_>,
    collections: &[Collection],
) -> Result<ChecksumResponse, SyncError> {
    let (snapshot_version, per_collection) = store.checksum_snapshot(scope, collections).await?;
    let collections = per_collection
        .into_iter()
        .map(|(collection, versions)| {
            let sum: ReplicaChecksum = versions.into_iter().collect();
            (
                collection.as_str().to_owned(),
                CollectionChecksum {
                    count: sum.count,
                    hash: sum.hash_hex(),
                },
            )
        })
        .collect();
    Ok(ChecksumResponse {
        collections,
        cursor: Cursor {
            version: snapshot_version,
        }
        .encode(),
    })
}
