//! Exporting the 花名册 (`GET /v1/ledgers/roster`) of a committee of real roster rows as xlsx,
//! CSV and JSON: how long each takes, in rows a second, and how much the server's resident
//! memory rises above what it held idle just before.
//!
//! Memory: each export is made by a server process started for it on the same database (when
//! the benchmark made the database: otherwise by the running server), after one small request
//! and a pause of a second. Just before the export the process's peak resident set (`VmHWM`) is
//! reset to its current one by writing `5` to `/proc/<pid>/clear_refs` (Linux 4.0 and later),
//! and its resident set (`VmRSS`) is read: the idle figure. Once the whole body has been read,
//! `VmHWM` is the highest resident set the process reached meanwhile; the figure reported is
//! that peak less the idle one. Where the reset is refused, `VmRSS` is sampled every 5 ms
//! during the export instead, and the row says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::push::BATCH;
use paicha_tests::TestDb;

use crate::{Rows, Server, Tenant, timed_push};

/// Loads `members` new roster members into `t` (batches of 500 to its branches in turn), then
/// exports the committee's 花名册 in each format, and two workbooks at once. When the benchmark
/// made the database (`db`), each export is made by a server process started for it on that
/// database, so that what an earlier export left in the allocator does not hide what a later
/// one needs; otherwise by `server`, one after another.
pub async fn exports(
    server: &Server,
    db: Option<&TestDb>,
    t: &Tenant,
    members: usize,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let first = t.take_members(members);
    let started = Instant::now();
    for (b, offset) in (0..members).step_by(BATCH).enumerate() {
        let n = BATCH.min(members - offset);
        let (branch, _, secretary) = &t.branches[b % t.branches.len()];
        let mutations = (0..n)
            .map(|i| {
                paicha_tests::put(
                    (offset + i + 1) as i64,
                    "members",
                    uuid::Uuid::now_v7(),
                    branch.id,
                    paicha_tests::roster::member(first + offset + i),
                )
            })
            .collect();
        timed_push(secretary, "export-load", mutations, "an export's member").await?;
    }
    let loaded = started.elapsed().as_secs_f64();
    let token = t
        .committee
        .access_token()
        .context("the committee signed in")?
        .to_owned();
    let http = reqwest::Client::new();
    let fresh = if db.is_some() {
        "a server process of its own"
    } else {
        "the running server"
    };
    for format in ["xlsx", "csv", "json", "two xlsx"] {
        let own = db.map(Server::start).transpose()?;
        let on = own.as_ref().unwrap_or(server);
        let url = |format: &str| {
            format!(
                "{}/v1/ledgers/roster?org_unit_id={}&format={format}",
                on.url, t.committee_unit
            )
        };
        // One small request first (the session and its pool connection), then a pause.
        let warm = http
            .get(format!("{}/v1/org-units", on.url))
            .bearer_auth(&token)
            .send()
            .await?;
        if !warm.status().is_success() {
            bail!("the export's server answered {}", warm.status());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let probe = Probe::start(on);
        let fetched = Instant::now();
        if format == "two xlsx" {
            // Two workbooks at once, as two offices printing the register together.
            let workbook = url("xlsx");
            let (a, b) = tokio::join!(
                fetch(&http, &workbook, &token),
                fetch(&http, &workbook, &token)
            );
            let secs = fetched.elapsed().as_secs_f64();
            let memory = probe.finish().await;
            let (a, b) = (a?, b?);
            for body in [&a, &b] {
                let counted = body.rows("xlsx")?;
                if counted != members {
                    bail!("a workbook exported beside another holds {counted} rows, not {members}");
                }
            }
            rows.push((
                format!("two exports of the 花名册 of {members} members as xlsx at once"),
                format!("{:.0} rows/s", 2.0 * members as f64 / secs),
                format!(
                    "{secs:.2} s for both, {:.1} MB sent; {}; {fresh}",
                    (a.bytes.len() + b.bytes.len()) as f64 / 1e6,
                    memory.describe()
                ),
            ));
            continue;
        }
        let body = fetch(&http, &url(format), &token).await?;
        let secs = fetched.elapsed().as_secs_f64();
        let memory = probe.finish().await;
        let counted = body.rows(format)?;
        if counted != members {
            bail!("the {format} export holds {counted} rows, not {members}");
        }
        rows.push((
            format!("export of the 花名册 of {members} members as {format}"),
            format!("{:.0} rows/s", members as f64 / secs),
            format!(
                "{secs:.2} s, {:.1} MB sent; {}; {fresh}",
                body.bytes.len() as f64 / 1e6,
                memory.describe()
            ),
        ));
    }
    rows.push((
        "  (the export's members loaded by batched push first)".into(),
        format!("{loaded:.1} s"),
        format!("{members} roster rows in batches of {BATCH}"),
    ));
    Ok(())
}

/// What an export answered, kept whole in this process (the client's memory is not measured).
struct Body {
    bytes: Vec<u8>,
}

impl Body {
    /// How many members' rows it holds: CSV lines but the header, JSON `rows`, and a
    /// workbook's rows (`<row ` elements of its first sheet) but the title, the unit and date,
    /// the headers and the sign-off line.
    fn rows(&self, format: &str) -> anyhow::Result<usize> {
        match format {
            "csv" => Ok(self
                .bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
                .saturating_sub(1)),
            "json" => {
                let table: serde_json::Value = serde_json::from_slice(&self.bytes)?;
                table["rows"]
                    .as_array()
                    .map(Vec::len)
                    .context("a JSON register without rows")
            }
            _ => {
                use std::io::Read;
                let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&self.bytes))?;
                let mut sheet = String::new();
                zip.by_name("xl/worksheets/sheet1.xml")?
                    .read_to_string(&mut sheet)?;
                Ok(sheet.matches("<row ").count().saturating_sub(4))
            }
        }
    }
}

/// Reads one export to its end, chunk by chunk.
async fn fetch(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Body> {
    let mut response = http.get(url).bearer_auth(token).send().await?;
    if !response.status().is_success() {
        bail!("{url}: {}", response.status());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body { bytes })
}

/// The server's resident memory around one export (see the module's comment).
struct Probe {
    pid: Option<u32>,
    idle_kb: Option<u64>,
    /// Sampling instead, when the peak could not be reset: the task and its stop flag.
    sampler: Option<(Arc<AtomicBool>, tokio::task::JoinHandle<u64>)>,
}

/// The server's peak against its idle resident memory.
struct Memory {
    idle_kb: Option<u64>,
    peak_kb: Option<u64>,
    sampled: bool,
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Probe {
    fn start(server: &Server) -> Self {
        let pid = server.pid();
        let reset =
            pid.is_some_and(|pid| std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok());
        let idle_kb = pid.and_then(|pid| status_kb(pid, "VmRSS:"));
        let sampler = match pid {
            Some(pid) if !reset => {
                let stop = Arc::new(AtomicBool::new(false));
                let flag = stop.clone();
                let task = tokio::spawn(async move {
                    let mut peak = 0;
                    while !flag.load(Ordering::Relaxed) {
                        peak = peak.max(status_kb(pid, "VmRSS:").unwrap_or(0));
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    peak
                });
                Some((stop, task))
            }
            _ => None,
        };
        Self {
            pid,
            idle_kb,
            sampler,
        }
    }

    async fn finish(self) -> Memory {
        let (peak_kb, sampled) = match self.sampler {
            Some((stop, task)) => {
                stop.store(true, Ordering::Relaxed);
                (task.await.ok(), true)
            }
            None => (self.pid.and_then(|pid| status_kb(pid, "VmHWM:")), false),
        };
        Memory {
            idle_kb: self.idle_kb,
            peak_kb,
            sampled,
        }
    }
}

impl Memory {
    fn describe(&self) -> String {
        match (self.idle_kb, self.peak_kb) {
            (Some(idle), Some(peak)) => format!(
                "server peak {:.1} MiB above idle {:.1} MiB ({})",
                peak.saturating_sub(idle) as f64 / 1024.0,
                idle as f64 / 1024.0,
                if self.sampled {
                    "VmRSS sampled every 5 ms"
                } else {
                    "VmHWM reset before"
                }
            ),
            _ => "server memory not measured".into(),
        }
    }
}
