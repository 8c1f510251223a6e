//! `cargo run --release -p paicha-bench`: starts a paicha server on a fresh SQLite database in
//! a child process (so its memory is measured alone), builds a tenant of 1 committee, 3 work
//! areas and 30 branches with their users, and measures, on members shaped like the rows of a
//! real 花名册 (`paicha_tests::roster`: every field a roster import takes, a valid unique ID
//! number, about 500 bytes of JSON):
//!
//! - raw storage: the same rows written straight through the driver (sqlx) into a fresh
//!   database of the same engine, 500 a transaction with a change-log row each: the limit a
//!   push is measured against;
//! - batched push: 100,000 new members in batches of 500 from one client, one after another;
//!   then 100,000 more from two clients at once, into a second tenant of the same shape;
//! - single-mutation pushes from 50 concurrent devices;
//! - the initial pull of every member by a committee user, paged: as a device should pull (the
//!   next page asked for while one is parsed), and one page after another;
//! - live-update latency: 200 long-polls of a branch's ancestors, woken by one push;
//! - 2,000 idle long-polls held at once: the server's resident memory;
//! - the 花名册 of a committee of `--export-members` members exported as xlsx, CSV and JSON:
//!   rows a second, and the server's peak resident memory above its idle one;
//! - the committee's status (`GET /v1/status`) over all those members;
//! - the office console over them, in a headless Chromium (when chromedriver is installed): the
//!   bytes of a first load, and the time from signing in to the overview being shown;
//! - one tenant of a million members in 5,000 branches (`million`): the committee's status,
//!   a branch's first pull, a work area's registers, a 5,000-row import.
//!
//! With `--database-url postgres://…` it measures everything again on PostgreSQL (a fresh
//! database there), with many idle long-polls and two instances on one database besides. With
//! `--url` it targets a running server instead (memory and raw storage are then not measured).
//! It prints a Markdown table per database; the figures in docs/benchmarks.md come from it.
//!
//! `paicha-bench soak --minutes N --database-url postgres://…` is a soak instead (`soak`): two
//! instances on one fresh PostgreSQL database, a steady mix of pushes, pulls, long-polls,
//! imports, blob uploads and sign-ins from devices on both for N minutes, one instance killed
//! (SIGKILL) and started again now and then; then every acknowledged write is checked to be
//! pulled exactly once, and the resident memory of the instance never killed is compared
//! between minute 10 and minute N.

mod console;
mod export;
mod instances;
mod million;
mod polls;
mod push;
mod soak;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use paicha_client::Client;
use paicha_domain::api::v1::{MutationStatus, OrgUnit};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::process::Process;
use paicha_tests::{Committee, TestDb, first_sign_in, pull_to_end};
use serde_json::json;
use uuid::Uuid;

const ADMIN: &str = "bench-admin";
/// The bootstrap administrator's password (the users it makes have the kit's [`PASSWORD`]).
const ADMIN_PASSWORD: &str = "bench-password-123";
/// The bootstrap administrator's password once changed at its first sign-in.
const ADMIN_NEW_PASSWORD: &str = "bench-admin-new-password";

#[derive(Debug, Parser)]
struct Args {
    /// Without a subcommand: the measurements above.
    #[command(subcommand)]
    command: Option<Command>,
    /// A running server to target instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Members pushed in batches of 500 by one client (and as many again by two clients, into
    /// a second tenant; and as many written raw).
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
    /// Members of the committee whose 花名册 is exported (a tenant of its own).
    #[arg(long, default_value_t = 100_000)]
    export_members: usize,
    /// Measurements to leave out, by name: raw, batched, two-clients, single, pull, live, idle,
    /// many-idle, two-instances, export, status, console, million.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Members of the one-tenant measurement (`million`), loaded straight into the database.
    #[arg(long, default_value_t = 1_000_000)]
    million_members: usize,
    /// Branches they are spread over.
    #[arg(long, default_value_t = 5_000)]
    million_branches: usize,
    /// Batches of 25 each of the 4 devices pushes through two instances on PostgreSQL.
    #[arg(long, default_value_t = 200)]
    two_instance_batches: usize,
    /// Internal: run the server in this process, its data in this folder.
    #[arg(long, hide = true)]
    serve_child: Option<std::path::PathBuf>,
    /// Internal: the database of the server run with `--serve-child`.
    #[arg(long, hide = true)]
    serve_db: Option<String>,
    /// Internal: the address the server run with `--serve-child` listens on (default: a free
    /// port of 127.0.0.1).
    #[arg(long, hide = true)]
    serve_listen: Option<std::net::SocketAddr>,
    /// Internal: run the minimal hyper server of the idle long-polls' floor (`polls::floor`)
    /// in this process instead.
    #[arg(long, hide = true)]
    serve_floor: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Two instances on one PostgreSQL database under a steady mix for N minutes, one of them
    /// killed and started again now and then; exits non-zero if a check fails.
    Soak(soak::SoakArgs),
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
    if args.serve_floor {
        return runtime.block_on(polls::serve_floor());
    }
    if let Some(dir) = &args.serve_child {
        let db = args.serve_db.clone().context("--serve-db")?;
        return runtime.block_on(serve_child(dir, db, args.serve_listen));
    }
    if let Some(Command::Soak(soak)) = &args.command {
        return runtime.block_on(soak::soak(soak, args.database_url.as_deref()));
    }
    runtime.block_on(run(args))
}

/// The server side, in a process of its own. On a given address (a server started again where
/// it listened before) it tries for up to 15 s, while the old socket may linger.
async fn serve_child(
    dir: &std::path::Path,
    database_url: String,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    use paicha_server::config::{BootstrapAdmin, LogFormat, Secret};
    // To stderr, which the benchmark drops unless `PAICHA_BENCH_SERVER_LOG` is set.
    paicha_server::telemetry::init_logging(LogFormat::Text);
    let mut settings = paicha_server::Settings::new(
        database_url,
        dir.to_path_buf(),
        Secret::new("bench-secret-bench-secret-bench-secret!!"),
    );
    settings.listen = listen.unwrap_or("127.0.0.1:0".parse()?);
    settings.bootstrap_admin = Some(BootstrapAdmin {
        username: ADMIN.to_owned(),
        password: Secret::new(ADMIN_PASSWORD),
    });
    let started = Instant::now();
    let app = loop {
        match paicha_server::Application::build(settings.clone()).await {
            Ok(app) => break app,
            Err(e) if listen.is_some() && started.elapsed() < Duration::from_secs(15) => {
                eprintln!("not started yet: {e:#}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    };
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
        let stderr = if std::env::var_os("PAICHA_BENCH_SERVER_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        Self::start_in(&db.url, &dir.keep(), None, stderr)
    }

    /// A server process on the database at `database_url` with its data dir `dir`, listening
    /// on `listen` (default: a free port), its log to `stderr`.
    fn start_in(
        database_url: &str,
        dir: &std::path::Path,
        listen: Option<std::net::SocketAddr>,
        stderr: Stdio,
    ) -> anyhow::Result<Self> {
        let mut command = Process::command(std::env::current_exe()?);
        command
            .arg("--serve-child")
            .arg(dir)
            .arg("--serve-db")
            .arg(database_url)
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(listen) = listen {
            command.arg("--serve-listen").arg(listen.to_string());
        }
        Self::spawn(&mut command, "the benchmark's server")
    }

    /// The minimal hyper server of the idle long-polls' floor, in a process of its own.
    fn start_floor() -> anyhow::Result<Self> {
        let mut command = Process::command(std::env::current_exe()?);
        command
            .arg("--serve-floor")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Self::spawn(&mut command, "the minimal hyper server")
    }

    /// Starts `command` (this binary in a serving mode) and reads the address it listens on
    /// from its first line (`LISTEN <url>`).
    fn spawn(command: &mut std::process::Command, what: &str) -> anyhow::Result<Self> {
        let mut child = Process::spawn(command, what)?;
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

    /// The server process's id, when this benchmark started it.
    fn pid(&self) -> Option<u32> {
        Some(self.child.as_ref()?.id())
    }

    /// (current, peak) resident memory of the server process, in MiB.
    fn memory(&self) -> Option<(f64, f64)> {
        memory_of(self.pid()?)
    }

    /// Kills the server process at once (SIGKILL, its whole process group), as a crash would,
    /// and reaps it.
    fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            child.kill();
        }
    }
}

/// (current, peak) resident memory of the process `pid` (`VmRSS`, `VmHWM`), in MiB.
fn memory_of(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

struct Tenant {
    committee: Client,
    /// The committee admin's username, for signing in through the console.
    committee_username: String,
    committee_unit: Uuid,
    work_areas: Vec<(OrgUnit, Client)>,
    /// (branch, its work area's index, its secretary)
    branches: Vec<(OrgUnit, usize, Client)>,
    /// The roster index (`paicha_tests::roster::member`) of the next member made: each member
    /// of the tenant has its own, so no two share an ID number.
    next_member: AtomicUsize,
}

impl Tenant {
    /// The first of `n` roster indices no other member of the tenant has.
    fn take_members(&self, n: usize) -> usize {
        self.next_member.fetch_add(n, Ordering::Relaxed)
    }
}

/// A tenant of 1 committee, 3 work areas and 30 branches, with a user each, made by the
/// platform administrator `admin`.
async fn setup(base: &Client, admin: &Client) -> anyhow::Result<Tenant> {
    let suffix = Uuid::now_v7().simple().to_string();
    let ca_name = format!("ca-{}", &suffix[20..]);
    let c = Committee::create(base, admin, &format!("压测党工委{suffix}"), None, &ca_name).await?;
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
        next_member: AtomicUsize::new(0),
    })
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

/// How the pull's measurement pulls.
#[derive(Debug, Clone, Copy)]
enum Pulling {
    /// As [`pull_to_end`]: the next page asked for while one is parsed.
    Overlapped,
    /// Each page parsed before the next is asked for.
    OneByOne,
    /// Each page's end read and its changes counted, none parsed into values.
    Unparsed,
}

/// A pull page's changes counted and skipped, and where it ends.
#[derive(serde::Deserialize)]
struct Skimmed {
    changes: Vec<serde::de::IgnoredAny>,
    cursor: String,
    has_more: bool,
}

/// Pulls everything `client` sees, `limit` a page, one page after another: each parsed into
/// values before the next is asked for (`parse`), or only skimmed; returns how many changes.
async fn pull_pages_one_by_one(client: &Client, limit: u64, parse: bool) -> anyhow::Result<usize> {
    let (mut count, mut cursor) = (0, None::<String>);
    loop {
        let body = client
            .pull_body(&paicha_client::PullQuery {
                cursor: cursor.as_deref(),
                limit: Some(limit),
                ..Default::default()
            })
            .await?;
        let (n, next, more) = if parse {
            let page = paicha_client::parse_pull(&body)?;
            (page.changes.len(), page.cursor, page.has_more)
        } else {
            let page: Skimmed = serde_json::from_slice(&body)?;
            (page.changes.len(), page.cursor, page.has_more)
        };
        count += n;
        if !more {
            return Ok(count);
        }
        cursor = Some(next);
    }
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
        print_table("SQLite", measure(&args, &server, Some(&db)).await?);
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

/// Every measurement against one server; `db` is its database when the benchmark made it (on
/// PostgreSQL a second instance is then started on it, and raw storage is measured on a fresh
/// database beside it).
async fn measure(args: &Args, server: &Server, db: Option<&TestDb>) -> anyhow::Result<Rows> {
    let base = Client::new(server.url.clone());
    // The bootstrap administrator's first sign-in: a new password before anything else.
    let (admin, _) = first_sign_in(&base, ADMIN, ADMIN_PASSWORD, ADMIN_NEW_PASSWORD).await?;
    let t = Arc::new(setup(&base, &admin).await?);
    let postgres = db.filter(|db| db.engine == "postgres");
    let mut rows: Rows = Vec::new();

    // 1. Raw storage, then batched pushes of the same rows: one client, then two.
    let raw = match db.filter(|_| args.runs("raw")) {
        Some(db) => {
            let on = (db.engine == "postgres")
                .then_some(args.database_url.as_deref())
                .flatten();
            Some(push::raw(on, args.members, &mut rows).await?)
        }
        None => None,
    };
    if args.runs("batched") {
        let rate = push::one_client(&t, args.members, &mut rows).await?;
        if let Some(raw) = raw {
            rows.push((
                "batched push, one client, against raw storage".into(),
                format!("{:.2} of raw", rate / raw),
                format!("{rate:.0} mutations/s against {raw:.0} rows/s"),
            ));
        }
    }
    if args.runs("two-clients") {
        let second = Arc::new(setup(&base, &admin).await?);
        push::two_clients(&second, args.members, &mut rows).await?;
    }

    // 2. Single-mutation pushes from concurrent devices.
    if args.runs("single") {
        push::single(&t, args.devices, args.pushes_per_device, &mut rows).await?;
    }

    // 3. Initial pull by a committee user, in pages of 5000 and of 1000: as a device should
    // pull (the next page asked for once a page's end is read, its changes parsed meanwhile),
    // and one page after another (each parsed before the next is asked for).
    if args.runs("pull") {
        let ways = [
            (5000, Pulling::Overlapped),
            (1000, Pulling::Overlapped),
            (1000, Pulling::OneByOne),
            (1000, Pulling::Unparsed),
        ];
        for (limit, way) in ways {
            let started = Instant::now();
            let count = match way {
                Pulling::Overlapped => pull_pages(&t.committee, limit).await?.1,
                Pulling::OneByOne => pull_pages_one_by_one(&t.committee, limit, true).await?,
                Pulling::Unparsed => pull_pages_one_by_one(&t.committee, limit, false).await?,
            };
            let secs = started.elapsed().as_secs_f64();
            let how = match way {
                Pulling::Overlapped => "",
                Pulling::OneByOne => ", one page after another",
                Pulling::Unparsed => {
                    ", one page after another, the changes not parsed: the server and the network alone"
                }
            };
            rows.push((
                format!("initial pull by a committee user (pages of {limit}{how})"),
                format!("{secs:.2} s"),
                format!("{count} changes, {:.0} changes/s", count as f64 / secs),
            ));
        }
    }

    // 4. Live-update latency; 5. idle long-polls held at once.
    if args.runs("live") {
        polls::live(args, &t, &mut rows).await?;
    }
    if args.runs("idle") {
        polls::idle(args, server, &t, &mut rows).await?;
    }

    // 5b. Many idle long-polls: memory, none dropped, and one push waking them all.
    if args.runs("many-idle") {
        // First, the same HTTP/1.1 polls held by a minimal hyper server: what a waiting poll
        // costs with the HTTP library paicha is built on, before anything of paicha's own.
        // (First: paicha's polls leave their connections open in this process's pool for a
        // while, and the two sets would not fit its open-file limit together.)
        if server.pid().is_some() {
            for &n in &args.many_idle_polls {
                if let Err(e) = polls::floor(n, &mut rows).await {
                    rows.push((
                        format!("{n} idle long-polls held by a minimal hyper server"),
                        "failed".into(),
                        e.to_string(),
                    ));
                }
            }
        }
        let runs = args.many_idle_polls.iter().map(|&n| (n, false));
        for (n, http2) in runs.chain(args.many_idle_polls_h2.iter().map(|&n| (n, true))) {
            if let Err(e) = polls::many_idle(server, &t, n, http2, &mut rows).await {
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
        && let Err(e) = instances::two_instances(args, server, db, &t, &mut rows).await
    {
        rows.push(("two instances".into(), "failed".into(), e.to_string()));
    }

    // 5d. The 花名册 of a committee of its own exported in each format: time and memory.
    if args.runs("export") {
        let exporting = setup(&base, &admin).await?;
        export::exports(server, db, &exporting, args.export_members, &mut rows).await?;
    }

    // 6. The committee's status over every member (last: it leaves memory behind).
    if args.runs("status") {
        status(&t, &mut rows).await?;
    }

    // 7. The office console over all those members, in a real headless Chromium: the bytes of
    // a first load (empty cache), and the time from pressing 登录 to the overview showing
    // every work area with the committee's member count.
    if args.runs("console") {
        let members_now = t.committee.status(None).await?.counts.members_total;
        console::console(&server.url, &t.committee_username, members_now, &mut rows).await;
    }

    // 8. One tenant of a million members (last: it fills the database and the read model).
    if let Some(db) = db.filter(|_| args.runs("million")) {
        million::million(
            &base,
            &admin,
            server,
            db,
            args.million_members,
            args.million_branches,
            &mut rows,
        )
        .await?;
    }
    Ok(rows)
}

/// The committee's status over every member, with a campaign so that phases are judged too.
/// The first request loads the tenant's read model; later ones bring it up to date with what
/// changed.
async fn status(t: &Tenant, rows: &mut Rows) -> anyhow::Result<()> {
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
    Ok(())
}
