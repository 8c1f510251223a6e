//! Pull and checksums over the caller's scope.

use paicha_domain::api::v1::{ChecksumResponse, CollectionChecksum};
use paicha_domain::collection::Collection;
use paicha_domain::privacy::{self, View};
use paicha_storage::{ChangeRow, Scope, Store, StoreError};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::SyncError;
use crate::checksum::ReplicaChecksum;
use crate::cursor::Cursor;

/// Changes per page when the request names no limit.
pub const DEFAULT_LIMIT: u64 = 500;
/// Most changes per page.
pub const MAX_LIMIT: u64 = 5000;

/// One page of changes after `cursor`, its records' fields as `view` reads them
/// ([`paicha_domain::privacy`]). When the page is the last one, the cursor moves to the
/// snapshot's version even past changes outside the scope, so the next pull starts there.
pub async fn pull(
    store: &Store,
    scope: Scope<'_>,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
    view: View,
) -> Result<PulledPage, SyncError> {
    pull_noting_start(store, scope, collections, cursor, limit, view, || {}).await
}

/// A page of a pull, ready to be sent: the JSON text of a
/// [`PullResponse`](paicha_domain::api::v1::PullResponse), written once
/// (the long-polls of one unit woken by one commit share it), with the records' fields as
/// the database stores them, never decoded into values — except, for a masked
/// [`View`], the fields of records that hold ID numbers, which are decoded, masked and
/// written again.
#[derive(Debug, Clone)]
pub struct PulledPage {
    /// The page holds no change.
    pub is_empty: bool,
    /// The response as JSON.
    pub body: Vec<u8>,
}

/// A [`PullResponse`](paicha_domain::api::v1::PullResponse) whose changes' fields are JSON
/// text: it serializes to the same JSON.
#[derive(Serialize)]
struct RawPullResponse<'a> {
    changes: Vec<RawChange<'a>>,
    cursor: String,
    has_more: bool,
}

/// A [`Change`](paicha_domain::api::v1::Change) whose fields are the stored JSON text.
#[derive(Serialize)]
struct RawChange<'a> {
    collection: Collection,
    id: Uuid,
    org_unit_id: Uuid,
    version: u64,
    deleted: bool,
    fields: Fields<'a>,
}

/// A change's fields: the stored text, or none (a tombstone's), written as `{}`.
struct Fields<'a>(Option<&'a RawValue>);

impl Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(text) => text.serialize(serializer),
            None => serializer.serialize_map(Some(0))?.end(),
        }
    }
}

impl PulledPage {
    fn write(
        changes: &[ChangeRow],
        cursor: Cursor,
        has_more: bool,
        view: View,
    ) -> Result<Self, SyncError> {
        // A masked view's records that hold ID numbers, projected (the stored text of all
        // others is sent as it is, and a full view's always).
        let projected: Vec<Option<Box<RawValue>>> = if view.is_masked() {
            changes
                .iter()
                .map(|c| project(c, view))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let response = RawPullResponse {
            changes: changes
                .iter()
                .enumerate()
                .map(|(i, c)| RawChange {
                    collection: c.collection,
                    id: c.id,
                    org_unit_id: c.org_unit_id.uuid(),
                    version: c.version,
                    deleted: c.deleted,
                    // A tombstone carries no fields.
                    fields: Fields((!c.deleted).then(|| {
                        projected
                            .get(i)
                            .and_then(Option::as_deref)
                            .unwrap_or(&*c.fields)
                    })),
                })
                .collect(),
            cursor: cursor.encode(),
            has_more,
        };
        // Room for the stored text and each change's own keys.
        let size: usize = changes.iter().map(|c| c.fields.get().len() + 160).sum();
        let mut body = Vec::with_capacity(size + 64);
        serde_json::to_writer(&mut body, &response)
            .map_err(|e| StoreError::Corrupt(format!("a pull page: {e}")))?;
        Ok(Self {
            is_empty: changes.is_empty(),
            body,
        })
    }
}

/// A change's fields as a masked `view` reads them, when they differ from the stored text.
fn project(change: &ChangeRow, view: View) -> Result<Option<Box<RawValue>>, SyncError> {
    if change.deleted || !privacy::has_personal_fields(change.collection) {
        return Ok(None);
    }
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("a record's fields: {e}"));
    let mut fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(change.fields.get()).map_err(corrupt)?;
    if !privacy::project_fields(change.collection, &mut fields, view) {
        return Ok(None);
    }
    Ok(Some(
        serde_json::value::to_raw_value(&fields).map_err(corrupt)?,
    ))
}

/// [`pull`], calling `on_start` when the page's snapshot is about to be taken (after the wait
/// for a database connection): every commit made before that is in the page.
pub async fn pull_noting_start(
    store: &Store,
    scope: Scope<'_>,
    collections: &[Collection],
    cursor: Cursor,
    limit: u64,
    view: View,
    on_start: impl FnOnce() + Send,
) -> Result<PulledPage, SyncError> {
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
    // after what the device knows must all still be there (within a first sync, what it knows
    // reaches its first snapshot: `Cursor::complete_as_of`), and the cursor must be from this
    // database's past.
    let gone = cursor.version > 0 && cursor.known_through() < page.purged_through;
    if gone || cursor.known_through() > page.snapshot_version {
        return Err(SyncError::ResyncRequired);
    }
    let last = page.changes.last().map_or(cursor.version, |c| c.version);
    let next = if page.has_more {
        Cursor {
            version: last,
            complete_as_of: if cursor.version == 0 {
                page.snapshot_version
            } else {
                cursor.complete_as_of
            },
        }
    } else {
        Cursor::at(last.max(page.snapshot_version).max(cursor.version))
    };
    PulledPage::write(&page.changes, next, page.has_more, view)
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
        cursor: Cursor::at(snapshot_version).encode(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use paicha_domain::api::v1::{Change, PullResponse};
    use serde_json::json;

    fn row(version: u64, deleted: bool, fields: &str) -> ChangeRow {
        ChangeRow {
            collection: Collection::Members,
            id: Uuid::from_u128(u128::from(version)),
            org_unit_id: paicha_domain::ids::UnitId::new(Uuid::from_u128(7)),
            version,
            deleted,
            fields: RawValue::from_string(fields.to_owned()).unwrap(),
        }
    }

    /// The page written from the stored text is the JSON of the API's `PullResponse` (the
    /// shape every client reads), a tombstone's stored fields left out.
    #[test]
    fn a_page_is_the_pull_response_of_its_rows() {
        let rows = [
            row(3, false, r#"{"name": "张三", "tags": [1, {"a": null}]}"#),
            row(5, true, r#"{"name":"gone"}"#),
        ];
        let page = PulledPage::write(&rows, Cursor::at(9), true, View::Full).unwrap();
        let expected = PullResponse {
            changes: vec![
                Change {
                    collection: Collection::Members,
                    id: Uuid::from_u128(3),
                    org_unit_id: Uuid::from_u128(7),
                    version: 3,
                    deleted: false,
                    fields: json!({"name": "张三", "tags": [1, {"a": null}]})
                        .as_object()
                        .unwrap()
                        .clone(),
                },
                Change {
                    collection: Collection::Members,
                    id: Uuid::from_u128(5),
                    org_unit_id: Uuid::from_u128(7),
                    version: 5,
                    deleted: true,
                    fields: Default::default(),
                },
            ],
            cursor: Cursor::at(9).encode(),
            has_more: true,
        };
        let written: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(written, serde_json::to_value(&expected).unwrap());
        // And a client reads it back as that response.
        let read: PullResponse = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(read, expected);
        assert!(!page.is_empty);
        assert!(
            PulledPage::write(&[], Cursor::at(9), false, View::Masked)
                .unwrap()
                .is_empty
        );
    }

    /// A masked view's page masks every personal field and leaves the rest as stored; a full
    /// view's is the stored text.
    #[test]
    fn a_masked_page_holds_no_full_number() {
        let stored = r#"{"name":"张三","id_number":"11010519491231002X","phone":"13800000000"}"#;
        let rows = [row(3, false, stored), row(4, true, stored)];
        let full = PulledPage::write(&rows, Cursor::at(9), false, View::Full).unwrap();
        assert!(String::from_utf8(full.body).unwrap().contains(stored));
        let masked = PulledPage::write(&rows, Cursor::at(9), false, View::Masked).unwrap();
        let read: PullResponse = serde_json::from_slice(&masked.body).unwrap();
        assert_eq!(
            serde_json::Value::Object(read.changes[0].fields.clone()),
            json!({"name": "张三", "id_number": "1101************2X", "phone": "138****0000"})
        );
        assert!(read.changes[1].fields.is_empty());
        assert!(
            !String::from_utf8(masked.body)
                .unwrap()
                .contains("11010519491231002X")
        );
    }
}
