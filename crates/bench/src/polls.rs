//! Long-polls: how fast a push wakes the polls of a branch's ancestors, and what idle polls
//! cost the server in memory, from 2,000 to 20,000 of them (HTTP/1.1 and HTTP/2).

use std::time::{Duration, Instant};

use anyhow::bail;
use paicha_client::{Client, PullQuery};
use serde_json::json;
use uuid::Uuid;

use crate::{Args, Rows, Server, Tenant, percentile, pull_to_head};

/// Live-update latency: `args.waiters` long-polls of a branch's ancestors, woken by one push
/// to the branch, 5 rounds.
pub async fn live(args: &Args, t: &Tenant, rows: &mut Rows) -> anyhow::Result<()> {
    let rounds = 5;
    let mut wake = Vec::new();
    for round in 0..rounds {
        let (branch, area, secretary) = &t.branches[round % t.branches.len()];
        let (cursor, _) = pull_to_head(&t.committee).await?;
        let mut polls = Vec::new();
        for w in 0..args.waiters {
            let client = if w % 2 == 0 {
                t.committee.clone()
            } else {
                t.work_areas[*area].1.clone()
            };
            let cursor = cursor.clone();
            polls.push(tokio::spawn(async move {
                let page = client
                    .pull(&PullQuery {
                        cursor: Some(&cursor),
                        wait: Some(30),
                        ..Default::default()
                    })
                    .await;
                (Instant::now(), page.map(|p| p.changes.len()))
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sent = Instant::now();
        let m = json!({
            "mutation_id": round + 1, "collection": "members", "id": Uuid::now_v7(),
            "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("实时{round}")},
        });
        secretary.push("live", vec![m]).await?;
        for p in polls {
            let (returned, changes) = p.await?;
            if changes? == 0 {
                bail!("a long-poll returned without the change");
            }
            wake.push(returned.saturating_duration_since(sent));
        }
    }
    wake.sort();
    rows.push((
        format!(
            "live update: {} long-polls of the branch's ancestors woken by one push",
            args.waiters
        ),
        format!("p50 {:.1} ms", percentile(&wake, 0.5)),
        format!(
            "p99 {:.1} ms ({} wake-ups over {rounds} rounds)",
            percentile(&wake, 0.99),
            wake.len()
        ),
    ));
    Ok(())
}

/// `args.idle_polls` idle long-polls held at once: the server's resident memory.
pub async fn idle(args: &Args, server: &Server, t: &Tenant, rows: &mut Rows) -> anyhow::Result<()> {
    let (cursor, _) = pull_to_head(&t.committee).await?;
    let before = server.memory();
    let mut polls = Vec::new();
    for i in 0..args.idle_polls {
        // A client of its own per poll: one connection each, as 2,000 devices would have.
        let client = if i % 2 == 0 {
            t.committee.clone()
        } else {
            t.work_areas[i % 3].1.clone()
        };
        let cursor = cursor.clone();
        polls.push(tokio::spawn(async move {
            client
                .pull(&PullQuery {
                    cursor: Some(&cursor),
                    wait: Some(60),
                    ..Default::default()
                })
                .await
        }));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let held = server.memory();
    let finished_early = polls.iter().filter(|p| p.is_finished()).count();
    for p in &polls {
        p.abort();
    }
    match (before, held) {
        (Some((rss_before, _)), Some((rss_held, peak))) => rows.push((
            format!("{} idle long-polls held", args.idle_polls),
            format!("{rss_held:.0} MiB RSS"),
            format!(
                "{rss_before:.0} MiB before; process peak {peak:.0} MiB; {finished_early} polls ended early"
            ),
        )),
        _ => rows.push((
            format!("{} idle long-polls held", args.idle_polls),
            "not measured".into(),
            "server not started by the benchmark".into(),
        )),
    }
    Ok(())
}

/// `n` long-polls held at once (each on a connection of its own): the server's memory with
/// them, how many ended before their wait, and the time from one push to each poll returning
/// with it.
pub async fn many_idle(
    server: &Server,
    t: &Tenant,
    n: usize,
    http2: bool,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let how = if http2 {
        "over HTTP/2, 200 to a connection"
    } else {
        "one connection each"
    };
    let name = format!("{n} idle long-polls held ({how}), then woken by one push");
    // Each connection is an open file here and in the server.
    let open_files = open_file_limit();
    if !http2 && open_files.is_some_and(|limit| n + 200 > limit) {
        rows.push((
            name,
            "not measured".into(),
            format!(
                "more connections than the open-file limit of a process here ({})",
                open_files.unwrap_or_default()
            ),
        ));
        return Ok(());
    }
    let (cursor, _) = pull_to_head(&t.committee).await?;
    let h2: Vec<reqwest::Client> = if http2 {
        (0..n.div_ceil(200))
            .map(|_| reqwest::Client::builder().http2_prior_knowledge().build())
            .collect::<Result<_, _>>()?
    } else {
        vec![]
    };
    // Let the previous measurement's connections go.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.memory();
    let mut polls = Vec::with_capacity(n);
    for i in 0..n {
        // The committee and the first work area: both see the push to its branch below.
        let mut client = if i % 2 == 0 {
            t.committee.clone()
        } else {
            t.work_areas[0].1.clone()
        };
        if http2 {
            client = Client::with_http(server.url.clone(), h2[i / 200].clone())
                .with_token(client.access_token().unwrap_or_default());
        }
        let cursor = cursor.clone();
        polls.push(tokio::spawn(async move {
            let page = client
                .pull(&PullQuery {
                    cursor: Some(&cursor),
                    wait: Some(60),
                    ..Default::default()
                })
                .await;
            (Instant::now(), page.map(|p| p.changes.len()))
        }));
    }
    // Time for every poll to connect and reach its wait.
    let settle = Duration::from_secs(5 + (n as u64) / 2000);
    tokio::time::sleep(settle).await;
    let held = server.memory();
    let ended_early = polls.iter().filter(|p| p.is_finished()).count();
    let (branch, _, secretary) = &t.branches[1];
    let sent = Instant::now();
    let m = json!({
        "mutation_id": 1, "collection": "members", "id": Uuid::now_v7(),
        "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("唤醒{n}")},
    });
    let device = format!("many-idle-{n}-{}", if http2 { "h2" } else { "h1" });
    if let Err(e) = secretary.push(&device, vec![m]).await {
        for p in &polls {
            p.abort();
        }
        rows.push((
            name,
            "failed".into(),
            format!("the waking push failed: {e}"),
        ));
        return Ok(());
    }
    let mut wake = Vec::with_capacity(n);
    let mut failed = 0;
    for p in polls {
        let (returned, changes) = p.await?;
        match changes {
            Ok(c) if c > 0 => wake.push(returned.saturating_duration_since(sent)),
            _ => failed += 1,
        }
    }
    wake.sort();
    let memory = memory_added(before, held, n);
    rows.push((
        name,
        format!("wake-up p99 {:.0} ms", percentile(&wake, 0.99)),
        format!(
            "p50 {:.0} ms, max {:.0} ms; {} woken with the change, {ended_early} ended early, {failed} failed or empty; {memory}, taken {:.0} s after the first was opened",
            percentile(&wake, 0.5),
            percentile(&wake, 1.0),
            wake.len(),
            settle.as_secs_f64(),
        ),
    ));
    Ok(())
}

/// This process's limit of open files (`/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The floor of an idle HTTP/1.1 long-poll: a minimal hyper server, in a process of its own
/// with the `paicha` binary's allocator and runtime, that holds every `GET` until a `POST`
/// arrives and then answers them all with two bytes. Each connection is served by hyper's
/// HTTP/1.1 with its defaults and a timer, on a socket without Nagle's delay, as paicha's are
/// (`paicha_server::serve`), and nothing else:
/// no routing, middleware, authentication or database. Prints `LISTEN <url>` once it listens.
pub async fn serve_floor() -> anyhow::Result<()> {
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Method, Request, Response};
    use hyper_util::rt::{TokioIo, TokioTimer};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("LISTEN http://{}", listener.local_addr()?);
    // Each POST moves the round on; a GET waits for the round after the one it arrived in.
    let (round, _) = tokio::sync::watch::channel(0u64);
    let round = std::sync::Arc::new(round);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let round = round.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let round = round.clone();
                async move {
                    if request.method() == Method::POST {
                        round.send_modify(|r| *r += 1);
                    } else {
                        let mut waiting = round.subscribe();
                        let _ = waiting.changed().await;
                    }
                    Ok::<_, std::convert::Infallible>(Response::new(String::from("{}")))
                }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `n` long-polls held by the minimal hyper server of [`serve_floor`], each on a connection of
/// its own, measured as [`many_idle`] measures paicha's: the server's resident memory before
/// and with them, and the time from the waking request to each poll's answer.
pub async fn floor(n: usize, rows: &mut Rows) -> anyhow::Result<()> {
    let name = format!(
        "{n} idle long-polls held by a minimal hyper server (one connection each, hyper's HTTP/1.1 and nothing else), then woken"
    );
    if open_file_limit().is_some_and(|limit| n + 200 > limit) {
        rows.push((
            name,
            "not measured".into(),
            "more connections than the open-file limit of a process here".into(),
        ));
        return Ok(());
    }
    let server = Server::start_floor()?;
    let http = reqwest::Client::new();
    // The process settled after its start, as paicha's is before its polls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.memory();
    let mut polls = Vec::with_capacity(n);
    for _ in 0..n {
        // A poll that reached the server only after the waking request would wait for a round
        // that never comes: it fails after a minute instead, as paicha's polls end.
        let request = http
            .get(format!("{}/wait", server.url))
            .timeout(Duration::from_secs(60));
        polls.push(tokio::spawn(async move {
            let answer = match request.send().await {
                Ok(response) => response.text().await.ok(),
                Err(_) => None,
            };
            (Instant::now(), answer)
        }));
    }
    let settle = Duration::from_secs(5 + (n as u64) / 2000);
    tokio::time::sleep(settle).await;
    let held = server.memory();
    let ended_early = polls.iter().filter(|p| p.is_finished()).count();
    let sent = Instant::now();
    http.post(format!("{}/wake", server.url))
        .send()
        .await?
        .error_for_status()?;
    let mut wake = Vec::with_capacity(n);
    let mut failed = 0;
    for p in polls {
        match p.await? {
            (returned, Some(body)) if body == "{}" => {
                wake.push(returned.saturating_duration_since(sent));
            }
            _ => failed += 1,
        }
    }
    wake.sort();
    let memory = memory_added(before, held, n);
    rows.push((
        name,
        format!("wake-up p99 {:.0} ms", percentile(&wake, 0.99)),
        format!(
            "p50 {:.0} ms; {} answered, {ended_early} ended early, {failed} failed; {memory}, taken {:.0} s after the first was opened",
            percentile(&wake, 0.5),
            wake.len(),
            settle.as_secs_f64(),
        ),
    ));
    Ok(())
}

/// What `n` polls added to a server's memory, from its (current, peak) resident memory before
/// and while they are held.
fn memory_added(before: Option<(f64, f64)>, held: Option<(f64, f64)>, n: usize) -> String {
    match (before, held) {
        (Some((rss_before, _)), Some((rss_held, peak))) => format!(
            "{:.0} MiB added ({:.1} KiB per poll; {rss_before:.0} → {rss_held:.0} MiB RSS, peak {peak:.0} MiB)",
            rss_held - rss_before,
            (rss_held - rss_before) * 1024.0 / n as f64
        ),
        _ => "memory not measured".into(),
    }
}
