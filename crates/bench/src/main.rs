//! `cargo run --release -p paicha-bench`: starts a paicha server on a fresh SQLite database in
//! a child process (so its memory is measured alone), builds a tenant of 1 committee, 3 work
//! areas and 30 branches with their users, and measures:
//!
//! - batched push: 100,000 new members in batches of 500;
//! - single-mutation pushes from 50 concurrent devices;
//! - the initial pull of every member by a committee user, paged;
//! - live-update latency: 200 long-polls of a branch's ancestors, woken by one push;
//! - 2,000 idle long-polls held at once: the server's resident memory;
//! - the committee's status (`GET /v1/status`) over all those members;
//! - the office console over them, in a headless Chromium (when chromedriver is installed): the
//!   bytes of a first load, and the time from signing in to the overview being shown.
//!
//! With `--database-url postgres://…` it measures everything again on PostgreSQL (a fresh
//! database there), with many idle long-polls and two instances on one database besides. With
//! `--url` it targets a running server instead (memory is then not measured). It prints a
//! Markdown table per database; the figures in docs/benchmarks.md come from it.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use paicha_client::{Client, PullQuery};
use paicha_domain::api::v1::{MutationStatus, OrgUnit};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::process::Process;
use paicha_tests::{Committee, PASSWORD, TestDb, first_sign_in, pull_to_end};
use serde_json::json;
use uuid::Uuid;

const ADMIN: &str = "bench-admin";
/// The bootstrap administrator's password (the users it makes have the kit's [`PASSWORD`]).
const ADMIN_PASSWORD: &str = "bench-password-123";
/// The bootstrap administrator's password once changed at its first sign-in.
const ADMIN_NEW_PASSWORD: &str = "bench-admin-new-password";

#[derive(Debug, Parser)]
struct Args {
    /// A running server to target instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Members pushed in batches of 500.
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Concurrent devices for single-mutation pushes.
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Single-mutation pushes per device.
    #[arg(long, default_value_t = 40)]
    pushes_per_device: usize,
    /// Long-polls woken per round in the live-update measurement.
    #[arg(long, default_value_t = 200)]
    waiters: usize,
    /// Idle long-polls held at once for the memory measurement.
    #[arg(long, default_value_t = 2000)]
    idle_polls: usize,
    /// Larger numbers of idle long-polls: each is held, its memory taken, then woken by one
    /// push (needs as many open files as polls, in this process and the server's: `ulimit -n`).
    #[arg(long, value_delimiter = ',', default_value = "10000,20000")]
    many_idle_polls: Vec<usize>,
    /// The same over HTTP/2, 200 long-polls to a connection (as behind a proxy that
    /// multiplexes): for numbers beyond a process's open-file limit.
    #[arg(long, value_delimiter = ',', default_value = "10000,20000")]
    many_idle_polls_h2: Vec<usize>,
    /// A PostgreSQL server: every measurement is made on it too (on a fresh database created
    /// there and dropped afterwards), after SQLite's, and two instances on one database.
    #[arg(long)]
    database_url: Option<String>,
    /// Measure PostgreSQL only (with `--database-url`).
    #[arg(long)]
    no_sqlite: bool,
    /// Measurements to leave out, by name: batched, single, pull, live, idle, many-idle,
    /// two-instances, status, console.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Batches of 25 each of the 4 devices pushes through two instances on PostgreSQL.
    #[arg(long, default_value_t = 200)]
    two_instance_batches: usize,
    /// Internal: run the server in this process, its data in this folder.
    #[arg(long, hide = true)]
    serve_child: Option<std::path::PathBuf>,
    /// Internal: the database of the server run with `--serve-child`.
    #[arg(long, hide = true)]
    serve_db: Option<String>,
}

impl Args {
    fn runs(&self, phase: &str) -> bool {
        !self.skip.iter().any(|s| s == phase)
    }
}

// The `paicha` binary's allocator; `--features system-allocator` builds with the system's
// instead, so that heaptrack or valgrind see every allocation (docs/benchmarks.md).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(dir) = &args.serve_child {
        let db = args.serve_db.clone().context("--serve-db")?;
        return runtime.block_on(serve_child(dir, db));
    }
    runtime.block_on(run(args))
}

/// The server side, in a process of its own.
async fn serve_child(dir: &std::path::Path, database_url: String) -> anyhow::Result<()> {
    use paicha_server::config::{BootstrapAdmin, LogFormat, Secret};
    // To stderr, which the benchmark drops unless `PAICHA_BENCH_SERVER_LOG` is set.
    paicha_server::telemetry::init_logging(LogFormat::Text);
    let mut settings = paicha_server::Settings::new(
        database_url,
        dir.to_path_buf(),
        Secret::new("bench-secret-bench-secret-bench-secret!!"),
    );
    settings.listen = "127.0.0.1:0".parse()?;
    settings.bootstrap_admin = Some(BootstrapAdmin {
        username: ADMIN.to_owned(),
        password: Secret::new(ADMIN_PASSWORD),
    });
    let app = paicha_server::Application::build(settings).await?;
    println!("LISTEN http://{}", app.local_addr()?);
    app.run_until_stopped(std::future::pending()).await?;
    Ok(())
}

struct Server {
    child: Option<Process>,
    url: String,
}

impl Server {
    /// A server process on `db` (its files in a folder of `db`'s).
    fn start(db: &TestDb) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir_in(db.dir.path())?;
        let mut child = Process::spawn(
            Process::command(std::env::current_exe()?)
                .arg("--serve-child")
                .arg(dir.keep())
                .arg("--serve-db")
                .arg(&db.url)
                .stdout(Stdio::piped())
                .stderr(if std::env::var_os("PAICHA_BENCH_SERVER_LOG").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                }),
            "the benchmark's server",
        )?;
        let line = child.first_line();
        let url = line
            .strip_prefix("LISTEN ")
            .context("unexpected start-up line")?
            .to_owned();
        Ok(Self {
            child: Some(child),
            url,
        })
    }

    fn external(url: &str) -> Self {
        Self {
            child: None,
            url: url.to_owned(),
        }
    }

    /// (current, peak) resident memory of the server process, in MiB.
    fn memory(&self) -> Option<(f64, f64)> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb / 1024.0)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

struct Tenant {
    committee: Client,
    /// The committee admin's username, for signing in through the console.
    committee_username: String,
    committee_unit: Uuid,
    work_areas: Vec<(OrgUnit, Client)>,
    /// (branch, its work area's index, its secretary)
    branches: Vec<(OrgUnit, usize, Client)>,
}

async fn setup(base: &Client) -> anyhow::Result<Tenant> {
    // The bootstrap administrator's first sign-in: a new password before anything else.
    let (admin, _) = first_sign_in(base, ADMIN, ADMIN_PASSWORD, ADMIN_NEW_PASSWORD).await?;
    let suffix = Uuid::now_v7().simple().to_string();
    let ca_name = format!("ca-{}", &suffix[20..]);
    let c = Committee::create(base, &admin, &format!("压测党工委{suffix}"), None, &ca_name).await?;
    let mut work_areas = Vec::new();
    let mut branches = Vec::new();
    for w in 0..3 {
        let area = c
            .unit(
                c.unit.id,
                OrgUnitKind::WorkArea,
                &format!("第{w}工作区"),
                None,
            )
            .await?;
        let name = format!("wa{w}-{}", &suffix[20..]);
        let staff = c.user(&name, Role::WorkAreaStaff, area.id).await?;
        for b in 0..10 {
            let branch = c
                .unit(
                    area.id,
                    OrgUnitKind::Branch,
                    &format!("第{w}-{b}党支部"),
                    None,
                )
                .await?;
            let name = format!("b{w}-{b}-{}", &suffix[20..]);
            let secretary = c.user(&name, Role::BranchSecretary, branch.id).await?;
            branches.push((branch, w, secretary));
        }
        work_areas.push((area, staff));
    }
    Ok(Tenant {
        committee: c.admin,
        committee_username: c.admin_username,
        committee_unit: c.unit.id,
        work_areas,
        branches,
    })
}

/// The console's figures (see step 7), or a row saying why they were not taken.
async fn console(
    base: &str,
    username: &str,
    members: u64,
    rows: &mut Vec<(String, String, String)>,
) {
    use paicha_tests::browser::{Browser, DESKTOP};
    let found = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        rows.push((
            "console: first load and overview".into(),
            "not measured".into(),
            "no chromedriver (Debian: chromium chromium-driver fonts-noto-cjk)".into(),
        ));
        return;
    }
    // How the overview writes the count: with the Chinese thousands separator.
    let shown = members
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    let ready = format!(
        "return document.querySelectorAll('table.units tbody tr').length === 3 && \
         document.querySelector('[data-count=members_total] .stat-value')?.textContent === '{shown}';"
    );
    let mut times = Vec::new();
    let mut first_load = None;
    for round in 0..5 {
        // A new browser profile each time: nothing cached.
        let b = Browser::start(DESKTOP).await;
        b.goto(&format!("{base}/")).await;
        b.type_into("#username", username).await;
        b.type_into("#password", PASSWORD).await;
        let started = Instant::now();
        b.click("button[type=submit]").await;
        b.wait_until(60, &ready).await;
        times.push(started.elapsed());
        if round == 0 {
            // Everything the first visit fetched, charts included, as sent over the wire.
            b.wait_until(
                60,
                "return [...document.querySelectorAll('[data-chart]')].every(c => \
                   c.querySelector('.chart-box[data-ready]') || c.querySelector('.chart-empty'));",
            )
            .await;
            let bytes = b
                .eval(
                    "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')) \
                       .filter(e => !e.name.includes('/v1/')).reduce((n, e) => n + e.transferSize, 0);",
                )
                .await;
            first_load = bytes.as_f64();
        }
        b.close().await;
    }
    times.sort();
    rows.push((
        "console: first load, pages and assets (empty cache, charts drawn)".into(),
        first_load.map_or("not measured".into(), |b| format!("{:.0} KiB", b / 1024.0)),
        "as transferred (gzip), API answers excluded".into(),
    ));
    rows.push((
        format!("console: 登录 pressed → overview of {members} members shown"),
        format!("p50 {:.0} ms", percentile(&times, 0.5)),
        format!(
            "max {:.0} ms over 5 sign-ins, each in a new browser profile",
            percentile(&times, 1.0)
        ),
    ));
}

/// This process's limit of open files (`/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn pull_to_head(client: &Client) -> anyhow::Result<(String, usize)> {
    pull_pages(client, 5000).await
}

async fn pull_pages(client: &Client, limit: u64) -> anyhow::Result<(String, usize)> {
    let mut count = 0;
    let cursor = pull_to_end(client, None, limit, |page| count += page.changes.len()).await?;
    Ok((cursor, count))
}

/// Sends one push and returns how long its answer took; fails unless every mutation in it was
/// applied (`what` names them in the message).
async fn timed_push(
    client: &Client,
    device: &str,
    mutations: Vec<serde_json::Value>,
    what: &str,
) -> anyhow::Result<Duration> {
    let sent = Instant::now();
    let response = client.push(device, mutations).await?;
    let took = sent.elapsed();
    if response
        .results
        .iter()
        .any(|r| r.status != MutationStatus::Applied)
    {
        bail!("{what} was not applied");
    }
    Ok(took)
}

/// The latencies the devices' tasks measured, together and sorted.
async fn gather(
    handles: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Duration>>>>,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await??);
    }
    latencies.sort();
    Ok(latencies)
}

type Rows = Vec<(String, String, String)>;

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(url) = &args.url {
        print_table(url, measure(&args, &Server::external(url), None).await?);
        return Ok(());
    }
    // Each database's table is printed as soon as it is measured.
    if !args.no_sqlite {
        let db = TestDb::create_on(None).await;
        let server = Server::start(&db)?;
        print_table("SQLite", measure(&args, &server, None).await?);
    }
    if let Some(url) = &args.database_url {
        let db = TestDb::create_on(Some(url.clone())).await;
        let server = Server::start(&db)?;
        let rows = measure(&args, &server, Some(&db)).await?;
        drop(server);
        print_table("PostgreSQL", rows);
    }
    Ok(())
}

fn print_table(name: &str, rows: Rows) {
    println!("\n{name}\n");
    println!("| measurement | result | detail |");
    println!("|---|---|---|");
    for (name, result, detail) in rows {
        println!("| {name} | {result} | {detail} |");
    }
}

/// Every measurement against one server; `postgres` is its database when that is PostgreSQL
/// (a second instance is then started on it).
async fn measure(args: &Args, server: &Server, postgres: Option<&TestDb>) -> anyhow::Result<Rows> {
    let base = Client::new(server.url.clone());
    let t = Arc::new(setup(&base).await?);
    let mut rows: Rows = Vec::new();

    // 1. Batched push.
    if args.runs("batched") {
        let batches = args.members.div_ceil(500);
        let started = Instant::now();
        let mut handles = Vec::new();
        for worker in 0..2 {
            let t = t.clone();
            handles.push(tokio::spawn(async move {
            let mut mutation_id = 0i64;
            for b in (worker..batches).step_by(2) {
                let (branch, _, secretary) = &t.branches[b % t.branches.len()];
                let mutations = (0..500)
                    .map(|i| {
                        mutation_id += 1;
                        json!({
                            "mutation_id": mutation_id, "collection": "members", "id": Uuid::now_v7(),
                            "org_unit_id": branch.id, "op": "put",
                            "fields": {"name": format!("党员{b}-{i}"), "gender": if i % 2 == 0 { "male" } else { "female" },
                                       "phone": format!("139{b:04}{i:04}"), "whereabouts_known": true},
                        })
                    })
                    .collect();
                let response = secretary.push(&format!("bulk-{worker}"), mutations).await?;
                if response.results.iter().any(|r| r.status != MutationStatus::Applied) {
                    bail!("a bulk mutation was not applied");
                }
            }
            anyhow::Ok(())
        }));
        }
        for h in handles {
            h.await??;
        }
        let secs = started.elapsed().as_secs_f64();
        let total = batches * 500;
        rows.push((
            "batched push (500 new members per batch, 2 clients)".into(),
            format!("{:.0} mutations/s", total as f64 / secs),
            format!("{total} mutations in {secs:.2} s"),
        ));
    }

    // 2. Single-mutation pushes from concurrent devices.
    if args.runs("single") {
        let started = Instant::now();
        let mut handles = Vec::new();
        for d in 0..args.devices {
            let t = t.clone();
            let per = args.pushes_per_device;
            handles.push(tokio::spawn(async move {
            let (branch, _, secretary) = &t.branches[d % t.branches.len()];
            let mut latencies = Vec::with_capacity(per);
            for i in 0..per {
                let m = json!({
                    "mutation_id": i + 1, "collection": "members", "id": Uuid::now_v7(),
                    "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("单条{d}-{i}")},
                });
                let device = format!("single-{d}");
                latencies.push(timed_push(secretary, &device, vec![m], "a single mutation").await?);
            }
            anyhow::Ok(latencies)
        }));
        }
        let latencies = gather(handles).await?;
        let secs = started.elapsed().as_secs_f64();
        rows.push((
            format!(
                "single-mutation pushes, {} concurrent devices",
                args.devices
            ),
            format!("{:.0} pushes/s", latencies.len() as f64 / secs),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms ({} pushes)",
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                latencies.len()
            ),
        ));
    }

    // 3. Initial pull by a committee user, in pages of 5000 and of 1000.
    if args.runs("pull") {
        for limit in [5000, 1000] {
            let started = Instant::now();
            let (_, count) = pull_pages(&t.committee, limit).await?;
            let secs = started.elapsed().as_secs_f64();
            rows.push((
                format!("initial pull by a committee user (pages of {limit})"),
                format!("{secs:.2} s"),
                format!("{count} changes, {:.0} changes/s", count as f64 / secs),
            ));
        }
    }

    // 4. Live-update latency.
    if args.runs("live") {
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
    }

    // 5. Idle long-polls held at once.
    if args.runs("idle") {
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
    }

    // 5b. Many idle long-polls: memory, none dropped, and one push waking them all.
    if args.runs("many-idle") {
        let runs = args.many_idle_polls.iter().map(|&n| (n, false));
        for (n, http2) in runs.chain(args.many_idle_polls_h2.iter().map(|&n| (n, true))) {
            if let Err(e) = many_idle(server, &t, n, http2, &mut rows).await {
                rows.push((
                    format!("{n} idle long-polls"),
                    "failed".into(),
                    e.to_string(),
                ));
            }
        }
    }

    // 5c. Two instances on one PostgreSQL database.
    if let Some(db) = postgres.filter(|_| args.runs("two-instances"))
        && let Err(e) = two_instances(args, server, db, &t, &mut rows).await
    {
        rows.push(("two instances".into(), "failed".into(), e.to_string()));
    }

    // 6. The committee's status over every member (last: it leaves memory behind), with a
    // campaign so that phases are judged too. The first request loads the tenant's read model;
    // later ones bring it up to date with what changed.
    if args.runs("status") {
        t.committee
            .push(
                "bench-campaign",
                vec![json!({
                    "mutation_id": 1, "collection": "campaigns", "id": Uuid::now_v7(),
                    "org_unit_id": t.committee_unit, "op": "put",
                    "fields": {"name": "排查", "start_date": "2026-03-07"},
                })],
            )
            .await?;
        let started = Instant::now();
        let first = t.committee.status(None).await?;
        let cold = started.elapsed();
        if first.counts.members_total == 0 {
            bail!("the status counted no members");
        }
        let mut status_times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let status = t.committee.status(None).await?;
            status_times.push(started.elapsed());
            if status.counts.members_total != first.counts.members_total {
                bail!("the status changed without a write");
            }
        }
        status_times.sort();
        // After each of 20 single writes: the model catches up with one change.
        let (branch, _, secretary) = &t.branches[0];
        let mut after_write = Vec::new();
        for i in 0..20 {
            let response = secretary
            .push(
                "bench-status",
                vec![json!({
                    "mutation_id": i + 1, "collection": "members", "id": Uuid::now_v7(),
                    "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("新党员{i}")},
                })],
            )
            .await?;
            if response.results[0].status != MutationStatus::Applied {
                bail!("a status-bench write was not applied");
            }
            let started = Instant::now();
            let status = t.committee.status(None).await?;
            after_write.push(started.elapsed());
            if status.counts.members_total != first.counts.members_total + i as u64 + 1 {
                bail!("the status missed a write");
            }
        }
        after_write.sort();
        let count = first.counts.members_total;
        rows.push((
            format!("status of the committee ({count} members), first request"),
            format!("{:.0} ms", cold.as_secs_f64() * 1000.0),
            "loads the tenant's read model".into(),
        ));
        rows.push((
            format!("status of the committee ({count} members)"),
            format!("p50 {:.0} ms", percentile(&status_times, 0.5)),
            format!(
                "max {:.0} ms over 20 requests",
                percentile(&status_times, 1.0)
            ),
        ));
        rows.push((
            "status right after a write".into(),
            format!("p50 {:.0} ms", percentile(&after_write, 0.5)),
            format!("max {:.0} ms over 20 writes", percentile(&after_write, 1.0)),
        ));
    }

    // 7. The office console over all those members, in a real headless Chromium: the bytes of
    // a first load (empty cache), and the time from pressing 登录 to the overview showing
    // every work area with the committee's member count.
    if args.runs("console") {
        let members_now = t.committee.status(None).await?.counts.members_total;
        console(&server.url, &t.committee_username, members_now, &mut rows).await;
    }
    Ok(rows)
}

/// `n` long-polls held at once (each on a connection of its own): the server's memory with
/// them, how many ended before their wait, and the time from one push to each poll returning
/// with it.
async fn many_idle(
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
    let memory = match (before, held) {
        (Some((rss_before, _)), Some((rss_held, peak))) => format!(
            "{:.0} MiB added ({:.1} KiB per poll; {rss_before:.0} → {rss_held:.0} MiB RSS, peak {peak:.0} MiB)",
            rss_held - rss_before,
            (rss_held - rss_before) * 1024.0 / n as f64
        ),
        _ => "memory not measured".into(),
    };
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

/// Two instances on one PostgreSQL database: 4 devices push batches of 25 new members, two
/// through each instance, at once; then every change is pulled back through one of them.
async fn two_instances(
    args: &Args,
    server: &Server,
    db: &TestDb,
    t: &Arc<Tenant>,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let second = Server::start(db)?;
    let (_, before) = pull_to_head(&t.committee).await?;
    let batches = args.two_instance_batches;
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
                        json!({
                            "mutation_id": b * 25 + i + 1, "collection": "members", "id": Uuid::now_v7(),
                            "org_unit_id": branch, "op": "put",
                            "fields": {"name": format!("双实例{d}-{b}-{i}"), "gender": "female", "whereabouts_known": true},
                        })
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
