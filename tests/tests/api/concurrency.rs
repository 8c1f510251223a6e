//! Eight writers push for seconds while two readers pull in a loop: each reader's replica ends
//! equal to the server's state, with no change skipped and none received twice. On PostgreSQL,
//! the same through two instances pushing at once and a third pulling.

use paicha_domain::ids::TenantId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use paicha_client::Client;
use paicha_domain::api::v1::MutationStatus;
use paicha_domain::collection::Collection;
use paicha_domain::privacy::{self, View};
use paicha_storage::{Scope, Store};
use paicha_tests::{Replica, delete, patch, put, spawn_app};
use serde_json::json;
use uuid::Uuid;

const WRITE_FOR: Duration = Duration::from_secs(3);

async fn writer(client: Client, device: String, branch: Uuid, seed: u64) -> usize {
    let mut mutation_id = 0i64;
    let mut mine: Vec<Uuid> = Vec::new();
    let mut rng = seed;
    let mut next = move || {
        // xorshift: deterministic per writer, no dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let started = Instant::now();
    let mut applied = 0;
    while started.elapsed() < WRITE_FOR {
        let mut batch = Vec::new();
        for _ in 0..(1 + next() % 4) {
            mutation_id += 1;
            let roll = next() % 10;
            if mine.is_empty() || roll < 5 {
                let id = Uuid::now_v7();
                mine.push(id);
                batch.push(put(
                    mutation_id,
                    "members",
                    id,
                    branch,
                    json!({"name": format!("{device}-{mutation_id}")}),
                ));
            } else if roll < 9 {
                let id = mine[(next() % mine.len() as u64) as usize];
                batch.push(patch(
                    mutation_id,
                    "members",
                    id,
                    None,
                    json!({"phone": format!("{}", next() % 100_000)}),
                ));
            } else {
                let id = mine.swap_remove((next() % mine.len() as u64) as usize);
                batch.push(delete(mutation_id, "members", id));
            }
        }
        let response = client.push(&device, batch).await.expect("push");
        applied += response
            .results
            .iter()
            .filter(|r| r.status == paicha_domain::api::v1::MutationStatus::Applied)
            .count();
    }
    applied
}

async fn reader(client: Client, stop: Arc<AtomicBool>) -> Replica {
    let mut replica = Replica::default();
    while !stop.load(Ordering::SeqCst) {
        pull_some(&client, &mut replica).await;
    }
    // One more full catch-up after the writers are done.
    replica.sync(&client).await.expect("final sync");
    replica
}

/// A few pages of 7: small pages make the readers page through concurrent commits.
async fn pull_some(client: &Client, replica: &mut Replica) {
    for _ in 0..3 {
        let page = client
            .pull(&paicha_client::PullQuery {
                cursor: replica.cursor.as_deref(),
                limit: Some(7),
                ..Default::default()
            })
            .await
            .expect("pull");
        let has_more = page.has_more;
        replica.apply(page);
        if !has_more {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_end_with_exactly_the_servers_state_under_concurrent_writers() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let stop = Arc::new(AtomicBool::new(false));
    let readers = [t.admin.clone(), t.street_staff.clone()]
        .map(|client| tokio::spawn(reader(client, stop.clone())));
    let mut writers = Vec::new();
    for i in 0..8u64 {
        let (client, branch) = if i % 2 == 0 {
            (t.secretary1.clone(), t.branch1.id)
        } else {
            (t.secretary2.clone(), t.branch2.id)
        };
        writers.push(tokio::spawn(writer(
            client,
            format!("device-{i}"),
            branch,
            0x9E37_79B9 + i * 7919,
        )));
    }
    let mut total = 0;
    for w in writers {
        total += w.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    assert!(
        total > 100,
        "only {total} mutations applied in {WRITE_FOR:?}"
    );

    // The server's state, read from the database directly.
    let store = Store::connect(&app.db.url).await.unwrap();
    let root = format!("/{}/", t.committee.id);
    let scope = Scope::new(TenantId::new(t.committee.id), &root);
    let (_, live) = store
        .checksum_snapshot(scope, &[Collection::Members])
        .await
        .unwrap();
    let mut expected: Vec<(Uuid, u64)> = live[0].1.clone();
    expected.sort();

    // The committee reads records as stored, the street as its view projects them.
    for (handle, view) in readers.into_iter().zip([View::Full, View::Masked]) {
        let replica = handle.await.unwrap();
        assert!(
            replica.received.windows(2).all(|w| w[0] < w[1]),
            "a change came twice or out of order"
        );
        let mut got: Vec<(Uuid, u64)> = replica
            .records
            .iter()
            .map(|((_, id), (v, _))| (*id, *v))
            .collect();
        got.sort();
        assert_eq!(got.len(), expected.len());
        assert_eq!(got, expected);
        for ((collection, id), (_, fields)) in &replica.records {
            let collection = Collection::parse(collection).unwrap();
            let mut row = store.record(collection, *id).await.unwrap().unwrap();
            privacy::project_fields(collection, &mut row.fields, view);
            assert_eq!(&row.fields, fields, "{id}");
        }
    }
}

/// One device's batches, each sent through two instances at once (the original and a retry
/// racing it, as after a balancer's time-out): returns every result of every batch, both sends.
async fn racing_writer(
    [a, b]: [Client; 2],
    device: String,
    branch: Uuid,
    seed: u64,
) -> Vec<(i64, MutationStatus, MutationStatus)> {
    let mut mutation_id = 0i64;
    let mut mine: Vec<Uuid> = Vec::new();
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let started = Instant::now();
    let mut out = Vec::new();
    while started.elapsed() < WRITE_FOR {
        let mut batch = Vec::new();
        for _ in 0..(1 + next() % 6) {
            mutation_id += 1;
            let roll = next() % 10;
            if mine.is_empty() || roll < 5 {
                let id = Uuid::now_v7();
                mine.push(id);
                batch.push(put(
                    mutation_id,
                    "members",
                    id,
                    branch,
                    json!({"name": format!("{device}-{mutation_id}")}),
                ));
            } else if roll < 9 {
                // The mutation id in the value: every patch changes the record.
                let id = mine[(next() % mine.len() as u64) as usize];
                batch.push(patch(
                    mutation_id,
                    "members",
                    id,
                    None,
                    json!({"phone": format!("1{mutation_id:010}")}),
                ));
            } else {
                let id = mine.swap_remove((next() % mine.len() as u64) as usize);
                batch.push(delete(mutation_id, "members", id));
            }
        }
        let (first, second) = tokio::join!(a.push(&device, batch.clone()), b.push(&device, batch));
        let (first, second) = (first.expect("push"), second.expect("push"));
        for (x, y) in first.results.iter().zip(&second.results) {
            out.push((x.mutation_id.as_i64().unwrap(), x.status, y.status));
        }
    }
    out
}

/// Two instances on one PostgreSQL database take pushes at once, every batch sent through both
/// (a retry racing its original on the other instance), while a third instance's readers pull
/// in small pages: no change is skipped or received twice, every mutation is applied exactly
/// once (one `applied`, one `duplicate`; one audit entry), and the audit chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_push_at_once_while_a_third_pulls_nothing_skipped_repeated_or_applied_twice()
{
    let app = spawn_app().await;
    if app.db.engine != "postgres" {
        eprintln!(
            "skipped: several instances on one database is PostgreSQL's setting (set PAICHA_TEST_DATABASE_URL)"
        );
        return;
    }
    let t = app.tenant("a").await;
    let b = app.second_instance().await;
    let c = app.second_instance().await;
    let on = |instance: &Client, who: &Client| instance.with_token(who.access_token().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let readers = [on(&c.client, &t.admin), on(&c.client, &t.street_staff)]
        .map(|client| tokio::spawn(reader(client, stop.clone())));
    let mut writers = Vec::new();
    for i in 0..4u64 {
        let (who, branch) = if i % 2 == 0 {
            (&t.secretary1, t.branch1.id)
        } else {
            (&t.secretary2, t.branch2.id)
        };
        // Half the devices send first through A, half through B.
        let pair = if i < 2 {
            [who.clone(), on(&b.client, who)]
        } else {
            [on(&b.client, who), who.clone()]
        };
        writers.push(tokio::spawn(racing_writer(
            pair,
            format!("device-{i}"),
            branch,
            0x51_7CC1_B727 + i * 104_729,
        )));
    }
    let mut applied: Vec<(String, i64)> = Vec::new();
    for (i, w) in writers.into_iter().enumerate() {
        for (id, x, y) in w.await.unwrap() {
            let firsts = [x, y]
                .iter()
                .filter(|s| matches!(s, MutationStatus::Applied | MutationStatus::Merged))
                .count();
            assert_eq!(firsts, 1, "device-{i} mutation {id}: {x:?} and {y:?}");
            assert!(
                [x, y].contains(&MutationStatus::Duplicate),
                "device-{i} mutation {id}: {x:?} and {y:?}"
            );
            applied.push((format!("device-{i}"), id));
        }
    }
    stop.store(true, Ordering::SeqCst);
    assert!(
        applied.len() > 100,
        "only {} mutations applied",
        applied.len()
    );

    let store = Store::connect(&app.db.url).await.unwrap();
    // Each applied mutation wrote exactly one audit entry, and nothing else did.
    let mut logged: Vec<(String, i64)> = store
        .change_log_page(TenantId::new(t.committee.id), 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.device_id.starts_with("device-"))
        .map(|e| (e.device_id, e.mutation_id))
        .collect();
    logged.sort();
    applied.sort();
    assert_eq!(logged, applied, "applied twice, or not logged");
    for report in paicha_sync::audit::verify_all(&store).await.unwrap() {
        assert_eq!(report.broken_at, None, "{report:?}");
    }

    let root = format!("/{}/", t.committee.id);
    let scope = Scope::new(TenantId::new(t.committee.id), &root);
    let (_, live) = store
        .checksum_snapshot(scope, &[Collection::Members])
        .await
        .unwrap();
    let mut expected: Vec<(Uuid, u64)> = live[0].1.clone();
    expected.sort();
    for handle in readers {
        let replica = handle.await.unwrap();
        assert!(
            replica.received.windows(2).all(|w| w[0] < w[1]),
            "a change came twice or out of order"
        );
        let mut got: Vec<(Uuid, u64)> = replica
            .records
            .iter()
            .map(|((_, id), (v, _))| (*id, *v))
            .collect();
        got.sort();
        assert_eq!(got, expected, "a change was skipped");
    }
}

/// Identical pulls arriving at once share a read still waiting for its connection; each must
/// still see every change acknowledged before it asked, here pushed through another instance
/// (PostgreSQL) or the same one (SQLite), round after round.
#[tokio::test]
async fn identical_pulls_at_once_each_see_what_was_acknowledged_before_they_asked() {
    let app = spawn_app().await;
    let t = app.tenant("q").await;
    let other = if app.db.engine == "postgres" {
        Some(app.second_instance().await)
    } else {
        None
    };
    let reader = match &other {
        Some(b) => b.client.with_token(t.admin.access_token().unwrap()),
        None => t.admin.clone(),
    };
    let mut cursor: Option<String> = None;
    for round in 0..20i64 {
        let id = Uuid::now_v7();
        let pushed = t
            .secretary1
            .push(
                "phone",
                vec![put(
                    round + 1,
                    "members",
                    id,
                    t.branch1.id,
                    json!({"name": format!("成员{round}")}),
                )],
            )
            .await
            .unwrap();
        assert_eq!(pushed.results[0].status, MutationStatus::Applied);
        let pulls: Vec<_> = (0..40)
            .map(|_| {
                let reader = reader.clone();
                let cursor = cursor.clone();
                tokio::spawn(async move {
                    reader
                        .pull(&paicha_client::PullQuery {
                            cursor: cursor.as_deref(),
                            limit: Some(1000),
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for pull in pulls {
            let page = pull.await.unwrap();
            assert!(
                page.changes.iter().any(|c| c.id == id),
                "round {round}: a pull asked after the push was acknowledged missed it"
            );
        }
        cursor = Some(pushed.cursor);
    }
}
