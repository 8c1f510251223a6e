//! The push measurements, on members shaped like real 花名册 rows (`paicha_tests::roster`):
//! batches of 500 from one client one after another (as a roster import or a street's list
//! arrives), the same from two clients at once, single-mutation pushes from many devices, and
//! the raw writes of the same rows straight through the driver that they are measured against.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use paicha_tests::{TestDb, put, roster};
use uuid::Uuid;

use crate::{Rows, Tenant, gather, percentile, timed_push};

/// Members per batch.
pub const BATCH: usize = 500;

/// A batch of new members `first..first + n` for `branch`, mutation ids from `mutation_id`.
fn batch(first: usize, n: usize, branch: Uuid, mutation_id: i64) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            put(
                mutation_id + i as i64,
                "members",
                Uuid::now_v7(),
                branch,
                roster::member(first + i),
            )
        })
        .collect()
}

fn mean_ms(times: &[Duration]) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    times.iter().sum::<Duration>().as_secs_f64() * 1000.0 / times.len() as f64
}

/// One client pushes `members` new members in batches of 500, each sent when the last was
/// answered, to the tenant's branches in turn. Returns the rate (mutations a second).
pub async fn one_client(t: &Tenant, members: usize, rows: &mut Rows) -> anyhow::Result<f64> {
    let first = t.take_members(members);
    let mut times = Vec::with_capacity(members.div_ceil(BATCH));
    let started = Instant::now();
    for (b, offset) in (0..members).step_by(BATCH).enumerate() {
        let n = BATCH.min(members - offset);
        // Each branch's secretary pushes to its own branch.
        let (branch, _, secretary) = &t.branches[b % t.branches.len()];
        let mutations = batch(first + offset, n, branch.id, offset as i64 + 1);
        times.push(timed_push(secretary, "bulk-one", mutations, "a batched member").await?);
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = members as f64 / secs;
    let (early, late) = (
        mean_ms(times.get(5..15).unwrap_or_default()),
        mean_ms(&times[times.len().saturating_sub(10)..]),
    );
    let mut sorted = times.clone();
    sorted.sort();
    rows.push((
        "batched push, one client: 500 new roster rows a batch, one after another".into(),
        format!("{rate:.0} mutations/s"),
        format!(
            "{members} mutations in {secs:.2} s; batch p50 {:.1} ms, p99 {:.1} ms; batches 5–15 {early:.1} ms on average, the last ten {late:.1} ms",
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
        ),
    ));
    Ok(rate)
}

/// Two clients push `members` new members together, in batches of 500, each sending its next
/// batch when its last was answered.
pub async fn two_clients(t: &Arc<Tenant>, members: usize, rows: &mut Rows) -> anyhow::Result<()> {
    let first = t.take_members(members);
    let batches = members.div_ceil(BATCH);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..2 {
        let t = t.clone();
        handles.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for b in (worker..batches).step_by(2) {
                let offset = b * BATCH;
                let n = BATCH.min(members - offset);
                let (branch, _, secretary) = &t.branches[b % t.branches.len()];
                let mutations = batch(first + offset, n, branch.id, offset as i64 + 1);
                let device = format!("bulk-{worker}");
                times.push(timed_push(secretary, &device, mutations, "a batched member").await?);
            }
            anyhow::Ok(times)
        }));
    }
    let times = gather(handles).await?;
    let secs = started.elapsed().as_secs_f64();
    rows.push((
        "batched push, two clients at once: 500 new roster rows a batch".into(),
        format!("{:.0} mutations/s", members as f64 / secs),
        format!(
            "{members} mutations in {secs:.2} s; batch p50 {:.1} ms, p99 {:.1} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        ),
    ));
    Ok(())
}

/// `devices` devices at once, each pushing `per_device` single new members one after another.
pub async fn single(
    t: &Arc<Tenant>,
    devices: usize,
    per_device: usize,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let first = t.take_members(devices * per_device);
    let started = Instant::now();
    let mut handles = Vec::new();
    for d in 0..devices {
        let t = t.clone();
        handles.push(tokio::spawn(async move {
            let (branch, _, secretary) = &t.branches[d % t.branches.len()];
            let mut latencies = Vec::with_capacity(per_device);
            for i in 0..per_device {
                let n = first + d * per_device + i;
                let m = batch(n, 1, branch.id, i as i64 + 1);
                let device = format!("single-{d}");
                latencies.push(timed_push(secretary, &device, m, "a single mutation").await?);
            }
            anyhow::Ok(latencies)
        }));
    }
    let latencies = gather(handles).await?;
    let secs = started.elapsed().as_secs_f64();
    rows.push((
        format!("single-mutation pushes (one new roster row each), {devices} concurrent devices"),
        format!("{:.0} pushes/s", latencies.len() as f64 / secs),
        format!(
            "p50 {:.1} ms, p99 {:.1} ms ({} pushes)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.len()
        ),
    ));
    Ok(())
}

/// The same roster rows written straight through the driver into a fresh database of the
/// same engine (`postgres`: the server to make it on; else SQLite). Returns the rate.
pub async fn raw(postgres: Option<&str>, members: usize, rows: &mut Rows) -> anyhow::Result<f64> {
    let db = TestDb::create_on(postgres.map(str::to_owned)).await;
    let run = paicha_tests::raw::write_rows(&db.url, members, BATCH).await?;
    if run.rows != members {
        bail!("the raw writes wrote {} rows of {members}", run.rows);
    }
    let secs = run.elapsed.as_secs_f64();
    let rate = members as f64 / secs;
    rows.push((
        "raw storage: the same rows through sqlx, 500 a transaction (members, a change-log row each, their name grams), one connection".into(),
        format!("{rate:.0} rows/s"),
        format!(
            "{members} rows in {secs:.2} s of transactions; batch p50 {:.1} ms, p99 {:.1} ms",
            percentile(&run.batches, 0.5),
            percentile(&run.batches, 0.99),
        ),
    ));
    Ok(rate)
}
