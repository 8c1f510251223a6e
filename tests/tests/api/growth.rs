//! No cost that grows with the tenant (issue #23): a batch of a tenant's first large roster
//! costs what the first batches cost, however many came before, whatever plans the server's
//! pooled connections keep from when the tenant was small.

use std::time::{Duration, Instant};

use paicha_domain::api::v1::MutationStatus;
use paicha_tests::{put, roster, spawn_app};
use uuid::Uuid;

const BATCHES: usize = 100;
const BATCH: usize = 500;

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len() as u32
}

/// 100 batches of 500 real roster rows, one after another, into a fresh tenant that nothing
/// has analysed, through the server's pool: the last ten batches take at most twice as long
/// as batches 5–15. On PostgreSQL a per-batch lookup of ID numbers, bound as an `IN` list,
/// took longer with every batch once the pool's connections kept a generic plan made while the
/// tenant was small (docs/benchmarks.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_costs_the_same_however_large_the_tenant_has_grown() {
    let app = spawn_app().await;
    if app.db.engine == "postgres" {
        // Unanalysed it stays: autovacuum would otherwise analyse the table after its first
        // minute, and what a tenant's first import meets is a table nobody has analysed.
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::raw_sql("ALTER TABLE members SET (autovacuum_enabled = false)")
            .execute(&mut db)
            .await
            .unwrap();
    }
    let t = app.tenant("grow").await;
    let mut times = Vec::with_capacity(BATCHES);
    let started = Instant::now();
    for b in 0..BATCHES {
        let mutations: Vec<_> = (0..BATCH)
            .map(|i| {
                let n = b * BATCH + i;
                put(
                    n as i64 + 1,
                    "members",
                    Uuid::now_v7(),
                    t.branch1.id,
                    roster::member(n),
                )
            })
            .collect();
        let sent = Instant::now();
        let response = t.secretary1.push("roster", mutations).await.unwrap();
        times.push(sent.elapsed());
        assert!(
            response
                .results
                .iter()
                .all(|r| r.status == MutationStatus::Applied),
            "batch {b}: {:?}",
            response
                .results
                .iter()
                .find(|r| r.status != MutationStatus::Applied)
        );
    }
    let (early, late) = (mean(&times[5..15]), mean(&times[BATCHES - 10..]));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "{}: {BATCHES} batches of {BATCH} in {:.1} s; batches 5–15 {:.1} ms on average, the last ten {:.1} ms; every batch (ms): {:?}",
        app.db.engine,
        started.elapsed().as_secs_f64(),
        ms(early),
        ms(late),
        times
            .iter()
            .map(|d| ms(*d).round() as u64)
            .collect::<Vec<_>>()
    );
    assert!(
        late <= early * 2,
        "on {}, the last ten batches took {:.1} ms on average, batches 5–15 {:.1} ms: a batch costs more as the tenant grows",
        app.db.engine,
        ms(late),
        ms(early)
    );
}
