//! Pulls that share one read of the database: identical long-polls woken by one commit
//! (`coalesced_pull`, `PullFlights`), and identical first reads still waiting for a connection
//! (`queued_pull`, `QueuedPulls`). A shared read's page is written as JSON once (`Page`).

use paicha_domain::ids::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use paicha_domain::collection::Collection;
use paicha_domain::privacy::View;
use paicha_storage::{OrgUnitRecord, Store};
use paicha_sync::cursor::Cursor;
use paicha_sync::pull::{self, PulledPage};
use tokio::sync::OnceCell;

use crate::error::ApiResult;

/// What a pull asks for: the caller's unit, the collections, from where, how many, and how the
/// caller reads personal data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub unit: &'a OrgUnitRecord,
    pub collections: &'a [Collection],
    pub cursor: Cursor,
    pub limit: u64,
    pub view: View,
}

impl Ask<'_> {
    /// The key of a read shared by identical asks; `announced` as in [`PullKey`].
    fn key(&self, announced: u64) -> PullKey {
        PullKey {
            announced,
            tenant_id: self.unit.tenant_id,
            path: self.unit.path.clone(),
            collections: self.collections.to_vec(),
            cursor: self.cursor,
            limit: self.limit,
            view: self.view,
        }
    }

    /// A read of this caller's own.
    async fn read_alone(&self, store: &Store) -> ApiResult<Page> {
        let scope = self.unit.scope();
        let page = pull::pull(
            store,
            scope,
            self.collections,
            self.cursor,
            self.limit,
            self.view,
        );
        Ok(page.await?.into())
    }
}

/// A page of a pull as it is sent: its JSON written once, shared by every caller of a shared
/// read (copying it is counting a reference).
#[derive(Debug, Clone)]
pub struct Page {
    is_empty: bool,
    body: Bytes,
}

impl Page {
    /// Whether the page holds no change (a long-poll waits on).
    pub fn is_empty(&self) -> bool {
        self.is_empty
    }
}

impl From<PulledPage> for Page {
    fn from(page: PulledPage) -> Self {
        Self {
            is_empty: page.is_empty,
            body: Bytes::from(page.body),
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response()
    }
}

/// A read shared by identical pulls: its page, or `None` when it failed.
type SharedRead = Arc<OnceCell<Option<Page>>>;

/// Identical pulls at the same moment (the long-polls of many devices of one unit, woken by
/// one commit) share one read of the database, and its answer's JSON.
pub type PullFlights = Arc<Mutex<HashMap<PullKey, SharedRead>>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullKey {
    tenant_id: TenantId,
    path: String,
    collections: Vec<Collection>,
    cursor: Cursor,
    limit: u64,
    /// How the callers read personal data: a page is shared only by callers of one view.
    view: View,
    /// The tenant's last announced commit when the callers joined: callers woken by a later
    /// commit never share a read that may have started before it.
    announced: u64,
}

pub(crate) async fn coalesced_pull(
    store: &Store,
    flights: &PullFlights,
    ask: Ask<'_>,
    announced: u64,
) -> ApiResult<Page> {
    let key = ask.key(announced);
    let cell = {
        let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.entry(key.clone()).or_default().clone()
    };
    // The entry stays while any caller holds it, so the callers a wake-up sets going over the
    // next moments join the same read even after the first have answered (the key's
    // `announced` keeps a later commit out of it). It went with the first caller to finish
    // before, and 20,000 woken long-polls made about a thousand reads instead of one
    // (docs/benchmarks.md, results of 2026-11-29, commit c36a522). The last caller to leave (even cancelled) removes it.
    struct Leave<'a> {
        flights: &'a PullFlights,
        key: &'a PullKey,
        cell: &'a SharedRead,
    }
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            leave_flight(self.flights, self.key, self.cell);
        }
    }
    let _leave = Leave {
        flights,
        key: &key,
        cell: &cell,
    };
    let shared = cell
        .get_or_init(|| async { ask.read_alone(store).await.ok() })
        .await;
    match shared {
        Some(page) => Ok(page.clone()),
        // The shared read failed: read again alone, for this caller's own error.
        None => ask.read_alone(store).await,
    }
}

/// A caller of a shared read leaves it: the read's entry goes when this is its last caller
/// (joining happens under the map's lock, so the count cannot grow meanwhile; the map's
/// reference and this caller's are then the last two).
fn leave_flight(flights: &PullFlights, key: &PullKey, cell: &SharedRead) {
    let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
    if flights
        .get(key)
        .is_some_and(|c| Arc::ptr_eq(c, cell) && Arc::strong_count(c) <= 2)
    {
        flights.remove(key);
    }
}

/// Identical first reads of pulls (the same unit, collections, cursor and limit) that are
/// still waiting for a database connection: a caller that arrives meanwhile joins the waiting
/// read instead of queueing one more. When a read takes its connection (before its snapshot
/// is fixed) it leaves this map, so a caller only ever joins a read whose snapshot is taken
/// after it arrived, and sees every commit that was acknowledged before it asked.
///
/// Many devices reconnecting at once (ten thousand long-polls) otherwise queued one read each
/// behind the pool's few connections, and those that waited longer than its acquire timeout
/// failed with a 500 (docs/benchmarks.md, results of 2026-11-29, commit 3bf7354).
pub type QueuedPulls = Arc<Mutex<HashMap<PullKey, SharedRead>>>;

pub(crate) async fn queued_pull(
    store: &Store,
    queued_pulls: &QueuedPulls,
    ask: Ask<'_>,
) -> ApiResult<Page> {
    let key = ask.key(0);
    let cell = {
        let mut queued = queued_pulls.lock().unwrap_or_else(|p| p.into_inner());
        queued.entry(key.clone()).or_default().clone()
    };
    // The read's entry goes when the read starts, or when this caller is done (even
    // cancelled) if it is still there: a later caller then starts a read of its own.
    let leave = |queued: &QueuedPulls| {
        let mut queued = queued.lock().unwrap_or_else(|p| p.into_inner());
        if queued.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            queued.remove(&key);
        }
    };
    struct Leave<F: Fn(&QueuedPulls)> {
        queued: QueuedPulls,
        leave: F,
    }
    impl<F: Fn(&QueuedPulls)> Drop for Leave<F> {
        fn drop(&mut self) {
            (self.leave)(&self.queued);
        }
    }
    let _leave = Leave {
        queued: queued_pulls.clone(),
        leave: &leave,
    };
    let shared = cell
        .get_or_init(|| async {
            pull::pull_noting_start(
                store,
                ask.unit.scope(),
                ask.collections,
                ask.cursor,
                ask.limit,
                ask.view,
                || leave(queued_pulls),
            )
            .await
            .ok()
            .map(Page::from)
        })
        .await;
    match shared {
        Some(page) => Ok(page.clone()),
        // The shared read failed: read again alone, for this caller's own error.
        None => ask.read_alone(store).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The woken long-polls of one commit keep joining one read until its last caller leaves:
    /// a caller that answers first does not take the read away from those still coming.
    #[test]
    fn a_shared_read_stays_joinable_until_its_last_caller_leaves() {
        let flights = PullFlights::default();
        let key = PullKey {
            tenant_id: TenantId::new(uuid::Uuid::nil()),
            path: "/a/".into(),
            collections: vec![Collection::Members],
            cursor: Cursor::at(7),
            limit: 100,
            view: View::Full,
            announced: 8,
        };
        let join = || {
            let mut map = flights.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let first = join();
        let second = join();
        assert!(Arc::ptr_eq(&first, &second));
        // The first answers and leaves; the second still waits.
        leave_flight(&flights, &key, &first);
        drop(first);
        let third = join();
        assert!(
            Arc::ptr_eq(&second, &third),
            "a caller arriving now must join the read still held"
        );
        leave_flight(&flights, &key, &second);
        drop(second);
        assert!(
            flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&key)
        );
        // The last leaves: the entry goes, and a later caller starts a read of its own.
        leave_flight(&flights, &key, &third);
        drop(third);
        assert!(
            !flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&key)
        );
        let fourth = join();
        assert_eq!(Arc::strong_count(&fourth), 2);
    }
}
