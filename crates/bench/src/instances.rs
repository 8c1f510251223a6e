//! Two instances on one PostgreSQL database.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use paicha_client::Client;
use paicha_tests::{TestDb, put, roster};
use uuid::Uuid;

use crate::{Args, Rows, Server, Tenant, gather, percentile, pull_to_head, timed_push};

/// Two instances on one PostgreSQL database: 4 devices push batches of 25 new members (roster
/// rows), two through each instance, at once; then every change is pulled back through one of
/// them.
pub async fn two_instances(
    args: &Args,
    server: &Server,
    db: &TestDb,
    t: &Arc<Tenant>,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let second = Server::start(db)?;
    let (_, before) = pull_to_head(&t.committee).await?;
    let batches = args.two_instance_batches;
    let first = t.take_members(4 * batches * 25);
    let started = Instant::now();
    let mut handles = Vec::new();
    for d in 0..4 {
        let (branch, _, secretary) = &t.branches[d + 4];
        let branch = branch.id;
        let token = secretary.access_token().context("signed in")?.to_owned();
        let url = if d % 2 == 0 { &server.url } else { &second.url };
        let client = Client::new(url.clone()).with_token(token);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(batches);
            for b in 0..batches {
                let mutations = (0..25)
                    .map(|i| {
                        let n = first + (d * batches + b) * 25 + i;
                        let id = Uuid::now_v7();
                        put(
                            (b * 25 + i + 1) as i64,
                            "members",
                            id,
                            branch,
                            roster::member(n),
                        )
                    })
                    .collect();
                let device = format!("two-{d}");
                let what = "a two-instance mutation";
                latencies.push(timed_push(&client, &device, mutations, what).await?);
            }
            anyhow::Ok(latencies)
        }));
    }
    let latencies = gather(handles).await?;
    let secs = started.elapsed().as_secs_f64();
    let total = batches * 4 * 25;
    let (_, after) = pull_to_head(&t.committee).await?;
    if after != before + total {
        bail!(
            "pulled {} new changes after two instances pushed {total}",
            after - before
        );
    }
    rows.push((
        "two instances on one database, 4 devices, batches of 25 (2 devices on each)".into(),
        format!("{:.0} mutations/s", total as f64 / secs),
        format!(
            "{total} mutations in {secs:.2} s; batch p50 {:.1} ms, p99 {:.1} ms; all pulled back once",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        ),
    ));
    Ok(())
}
