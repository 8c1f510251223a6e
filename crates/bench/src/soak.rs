//! `paicha-bench soak --minutes N --database-url postgres://…` (issue #23, item 6): two
//! instances (server processes) on one fresh PostgreSQL database, one never killed (the
//! *steady* instance) and one killed with SIGKILL and started again on the same data dir and
//! port every few minutes (the *faulty* instance); a shared blob folder, as instances sharing
//! `DATA_DIR/blobs` (protocol §11.7). A tenant of a committee, 3 work areas and one branch per
//! device, and for N minutes a steady, moderate mix from both instances:
//!
//! - branch devices (`device`), half through each instance: pushes of real roster rows (new
//!   members and updates of their own, one at a time or in batches of 5–40), incremental pulls
//!   from their own cursor, photos uploaded (whole or in chunks) with the information forms
//!   naming them and downloaded through the other instance, token refreshes every 4–6
//!   minutes, a password sign-in now and then (the previous sign-in signed out);
//! - long-polls (`office::Poller`: `wait=20`) of the committee and work-area users on both
//!   instances, woken by the devices' pushes;
//! - a 花名册 workbook imported into a branch every 30–60 s (`office::Importer`), through
//!   each instance in turn, by its secretary signed in with the password for it;
//! - the kills: every 3–5 minutes (seeded), a third of them as soon as an import is in flight
//!   through the faulty instance, a third as soon as a push is; it stays down 1–8 s, then
//!   starts again.
//!
//! A request that gets no answer from the faulty instance because it was down or was killed
//! meanwhile is a *cut connection*, sent again unchanged until answered (`fleet`); anything
//! else that is not a 2xx answer (or a documented 503 "retry later") is an error. At the end
//! every acknowledged write is checked against a full pull from the start (`check`), each
//! device's replica against it, and the steady instance's resident memory at minute N against
//! minute 10 (minute 1 for runs under 10 minutes; each the median of the minute's samples,
//! taken every 5 s). It prints a Markdown summary and fails if a check fails.

mod check;
mod device;
mod fleet;
mod office;
mod report;
mod session;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use paicha_client::Client;
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::{Committee, TestDb, first_sign_in};
use uuid::Uuid;

use device::{Device, Shared};
use fleet::{Endpoint, Fleet, Flight, Route};
use office::{Importer, Poller};
use report::{Kill, Sample};

use crate::{ADMIN, ADMIN_NEW_PASSWORD, ADMIN_PASSWORD, Server, memory_of};

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Minutes of load.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// The PostgreSQL server (a fresh database is made there and dropped afterwards).
    #[arg(long)]
    database_url: Option<String>,
    /// Branch devices, half through each instance (one branch each).
    #[arg(long, default_value_t = 12)]
    devices: usize,
    /// Shortest time between two kills of the faulty instance, in seconds.
    #[arg(long, default_value_t = 180)]
    kill_min_secs: u64,
    /// Longest time between two kills, in seconds.
    #[arg(long, default_value_t = 300)]
    kill_max_secs: u64,
    /// Shortest time between two roster imports, in seconds.
    #[arg(long, default_value_t = 30)]
    import_min_secs: u64,
    /// Longest time between two roster imports, in seconds.
    #[arg(long, default_value_t = 60)]
    import_max_secs: u64,
    /// Seed of every random choice (actions, sizes, waits, kills).
    #[arg(long, default_value_t = 23)]
    seed: u64,
    /// A folder for the servers' logs (`steady.log`, `faulty.log`: every life of it);
    /// without it they are dropped.
    #[arg(long)]
    server_logs: Option<PathBuf>,
}

/// splitmix64: small, seeded, good enough for choosing actions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// In `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.between(lo, hi))
    }

    /// Another generator, for a task of its own.
    pub fn fork(&mut self) -> Self {
        Self::new(self.next())
    }
}

pub async fn soak(args: &SoakArgs, database_url: Option<&str>) -> anyhow::Result<()> {
    let Some(url) = args.database_url.as_deref().or(database_url) else {
        bail!(
            "the soak runs two instances on one PostgreSQL database: name its server with --database-url postgres://…"
        );
    };
    if !url.starts_with("postgres") {
        bail!("--database-url must name a PostgreSQL server (postgres://…), not {url}");
    }
    if args.kill_min_secs > args.kill_max_secs || args.import_min_secs > args.import_max_secs {
        bail!("a shortest time is longer than its longest");
    }
    let mut rng = Rng::new(args.seed);
    let db = TestDb::create_on(Some(url.to_owned())).await;
    if let Some(logs) = &args.server_logs {
        std::fs::create_dir_all(logs)?;
    }

    // The instances: a data dir each, one blob folder for both.
    let shared_blobs = db.dir.path().join("blobs");
    std::fs::create_dir_all(&shared_blobs)?;
    let data_dir = |name: &str| -> anyhow::Result<PathBuf> {
        let dir = db.dir.path().join(name);
        std::fs::create_dir_all(&dir)?;
        std::os::unix::fs::symlink(&shared_blobs, dir.join("blobs"))?;
        Ok(dir)
    };
    let (steady_dir, faulty_dir) = (data_dir("steady")?, data_dir("faulty")?);
    let logs = args.server_logs.as_deref();
    let steady = Server::start_in(&db.url, &steady_dir, None, log_to(logs, "steady")?)?;
    let mut faulty = Server::start_in(&db.url, &faulty_dir, None, log_to(logs, "faulty")?)?;
    let faulty_addr: std::net::SocketAddr = faulty
        .url
        .trim_start_matches("http://")
        .parse()
        .context("the faulty instance's address")?;
    let fleet = Fleet::new(
        Endpoint::new(&steady.url, steady.pid().unwrap_or_default()),
        Endpoint::new(&faulty.url, faulty.pid().unwrap_or_default()),
    );
    let shared = Arc::new(Shared {
        fleet,
        next_member: AtomicUsize::new(0),
    });
    let fleet = &shared.fleet;

    // The tenant, through the steady instance.
    let base = Client::new(steady.url.clone());
    let (admin, _) = first_sign_in(&base, ADMIN, ADMIN_PASSWORD, ADMIN_NEW_PASSWORD).await?;
    let tag = &Uuid::now_v7().simple().to_string()[20..];
    let c = Committee::create(
        &base,
        &admin,
        &format!("长跑党工委{tag}"),
        None,
        &format!("soak-ca-{tag}"),
    )
    .await?;
    let mut areas = Vec::new();
    for w in 0..3 {
        let area = c
            .unit(
                c.unit.id,
                OrgUnitKind::WorkArea,
                &format!("第{w}工作区"),
                None,
            )
            .await?;
        let name = format!("soak-wa{w}-{tag}");
        c.add_user(&name, Role::WorkAreaStaff, area.id).await?;
        areas.push((area.id, name));
    }
    let mut branches = Vec::new();
    for d in 0..args.devices.max(2) {
        let branch = c
            .unit(
                areas[d % 3].0,
                OrgUnitKind::Branch,
                &format!("第{d}党支部"),
                None,
            )
            .await?;
        let name = format!("soak-b{d}-{tag}");
        c.add_user(&name, Role::BranchSecretary, branch.id).await?;
        branches.push((branch.id, name));
    }

    // The load's actors, signed in.
    let mut devices = Vec::new();
    for (d, (branch, user)) in branches.iter().enumerate() {
        let route = if d % 2 == 0 {
            Route::Steady
        } else {
            Route::Faulty
        };
        devices.push(Device::new(fleet, d, user, *branch, route, rng.fork()).await?);
    }
    let mut pollers = Vec::new();
    for (route, k) in [Route::Steady, Route::Faulty].into_iter().zip([0, 1]) {
        let users = [
            c.admin_username.clone(),
            areas[k].1.clone(),
            areas[k + 1].1.clone(),
        ];
        for (p, user) in users.iter().enumerate() {
            let device = format!("soak-poll-{}-{p}", route.name());
            pollers.push(Poller::new(fleet, user, &device, route, rng.fork()).await?);
        }
    }
    let importer = Importer::new(
        branches.clone(),
        rng.fork(),
        (args.import_min_secs, args.import_max_secs),
    );
    eprintln!(
        "soak: {} devices, {} long-pollers, imports every {}–{} s, kills every {}–{} s, {} minutes",
        devices.len(),
        pollers.len(),
        args.import_min_secs,
        args.import_max_secs,
        args.kill_min_secs,
        args.kill_max_secs,
        args.minutes
    );

    // The load.
    let start = Instant::now();
    fleet.stats.start_clock();
    let devices: Vec<_> = devices
        .into_iter()
        .map(|d| tokio::spawn(d.run(shared.clone())))
        .collect();
    let pollers: Vec<_> = pollers
        .into_iter()
        .map(|p| tokio::spawn(p.run(shared.clone())))
        .collect();
    let importer = tokio::spawn(importer.run(shared.clone()));
    let sampler = tokio::spawn(sample(shared.clone(), start, args.minutes));

    // The kills, from this (the main) thread: the servers it starts die with it.
    let deadline = start + Duration::from_secs(args.minutes * 60);
    let mut kills = Vec::new();
    loop {
        let next =
            Instant::now() + rng.millis(args.kill_min_secs * 1000, args.kill_max_secs * 1000);
        // Room to stay down, start again and be used before the end.
        if next + Duration::from_secs(40) >= deadline {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
        // A third of the kills wait for an import in flight through it, a third for a push,
        // a third come whenever they come.
        if let Some(what) = [Some(Flight::Import), Some(Flight::Push), None][rng.below(3) as usize]
        {
            let flying = fleet.flying(what);
            let until = Instant::now() + Duration::from_secs(90);
            while Instant::now() < until && flying.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            // Into the request, not after it: a push takes a few milliseconds, an import
            // some tens.
            let into = match what {
                Flight::Import => rng.millis(0, 40),
                Flight::Push => rng.millis(0, 3),
            };
            tokio::time::sleep(into).await;
        }
        let import_in_flight = fleet.imports_on_faulty.load(Ordering::SeqCst) > 0;
        let push_in_flight = fleet.pushes_on_faulty.load(Ordering::SeqCst) > 0;
        fleet.going_down();
        faulty.kill();
        let at = start.elapsed();
        let killed = Instant::now();
        tokio::time::sleep(rng.millis(1000, 8000)).await;
        let starting = Instant::now();
        faulty = Server::start_in(
            &db.url,
            &faulty_dir,
            Some(faulty_addr),
            log_to(logs, "faulty")?,
        )?;
        let restart = starting.elapsed();
        fleet.back_up(faulty.pid().unwrap_or_default());
        let down = killed.elapsed();
        eprintln!(
            "soak: killed the faulty instance at {:.1} min{}; down {:.1} s (starting again took {:.1} s)",
            at.as_secs_f64() / 60.0,
            if import_in_flight {
                ", an import in flight through it"
            } else {
                ""
            },
            down.as_secs_f64(),
            restart.as_secs_f64()
        );
        kills.push(Kill {
            at,
            import_in_flight,
            push_in_flight,
            down,
            restart,
        });
    }
    tokio::time::sleep_until(deadline.into()).await;
    fleet.stop();
    let samples = sampler.await?;
    let drained = Instant::now();
    let mut finished = Vec::new();
    for d in devices {
        finished.push(tokio::time::timeout(Duration::from_secs(300), d).await??);
    }
    let mut polled = Vec::new();
    for p in pollers {
        polled.push(tokio::time::timeout(Duration::from_secs(120), p).await??);
    }
    let importer = tokio::time::timeout(Duration::from_secs(300), importer).await??;
    eprintln!(
        "soak: load stopped; the last requests took {:.1} s to finish",
        drained.elapsed().as_secs_f64()
    );

    let checks = check::verify(
        &shared,
        &c.admin_username,
        &finished,
        &importer,
        &samples,
        args.minutes,
    )
    .await;
    report::report(
        args, &shared, &kills, &samples, &finished, &polled, &importer, &checks,
    );
    drop(faulty);
    drop(steady);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("the soak failed: {}", failed.join("; "));
    }
    Ok(())
}

/// Where a server's log goes: appended to `<logs>/<name>.log`, or dropped.
fn log_to(logs: Option<&Path>, name: &str) -> anyhow::Result<Stdio> {
    Ok(match logs {
        Some(dir) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{name}.log")))?,
        ),
        None => Stdio::null(),
    })
}

/// Resident memory is sampled this often; a minute's figure is the median of its samples.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Both instances' resident memory every 5 s from the start of the load to its end, as one
/// [`Sample`] a minute (minute 0: the one sample at the start), and a line of progress a
/// minute.
async fn sample(shared: Arc<Shared>, start: Instant, minutes: u64) -> Vec<Sample> {
    let fleet = &shared.fleet;
    let rss = |route: Route| {
        let pid = fleet.endpoint(route).pid.load(Ordering::SeqCst);
        memory_of(pid).map(|(rss, _)| rss)
    };
    let mut samples = Vec::new();
    let mut at = start;
    for minute in 0..=minutes {
        let (mut steady, mut faulty) = (Vec::new(), Vec::new());
        loop {
            tokio::time::sleep_until(at.into()).await;
            steady.extend(rss(Route::Steady));
            if !fleet.is_down() {
                faulty.extend(rss(Route::Faulty));
            }
            at += SAMPLE_EVERY;
            if at > start + Duration::from_secs(minute * 60) {
                break;
            }
        }
        let middle = median(&mut steady);
        let range = steady.first().copied().zip(steady.last().copied());
        let sample = Sample {
            minute,
            steady: middle,
            steady_range: range,
            faulty: median(&mut faulty),
        };
        let (ok, cut, later, errors) = fleet.stats.totals();
        eprintln!(
            "soak: minute {minute}: {ok} requests answered, {cut} cut, {later} retry-later, {errors} errors; resident (median of the minute) steady {}, faulty {}",
            mib(sample.steady),
            mib(sample.faulty)
        );
        fleet.forget_acks(Duration::from_secs(120));
        samples.push(sample);
    }
    samples
}

/// The median of `values` (sorted in place: lowest first), if any.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

pub fn mib(m: Option<f64>) -> String {
    m.map_or_else(|| "—".to_owned(), |m| format!("{m:.1} MiB"))
}
