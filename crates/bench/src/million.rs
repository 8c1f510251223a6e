//! Issue #23, item 4: one tenant of a large city district — by default 1,000,000 members in
//! 5,000 branches (5 streets × 10 work areas × 100 branches, 200 members each). The units and
//! users are made over HTTP; the members are loaded straight into paicha's database
//! (`paicha_tests::raw::load_tenant`: the same rows, columns and change-log rows a push writes,
//! not the timed part); everything timed goes through HTTP:
//!
//! - the committee's `GET /v1/status`: the first request (which loads the tenant's read
//!   model) and the p50 of 20 more, with the server's resident memory afterwards; then the
//!   first request of a server started again on the database (the model from its checkpoint);
//! - the committee's member list at a million: a page of 50, searches by a whole name, a part
//!   of one and a surname;
//! - the database's bytes on disk per member;
//! - a branch device's first pull of its 200 members;
//! - one work area's registers (its 10,000 members) as xlsx: the 花名册, and all seven;
//! - a 5,000-row roster import into one branch.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use paicha_client::Client;
use paicha_domain::ledger::LedgerKind;
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::{Committee, TestDb};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Rows, Server, percentile, pull_pages};

const STREETS: usize = 5;
const AREAS_PER_STREET: usize = 10;

pub async fn million(
    base: &Client,
    admin: &Client,
    server: &Server,
    db: &TestDb,
    members: usize,
    branches: usize,
    rows: &mut Rows,
) -> anyhow::Result<()> {
    let areas = STREETS * AREAS_PER_STREET;
    let per_area = branches.div_ceil(areas).max(1);
    let per_branch = (members / branches).max(1);
    let suffix = Uuid::now_v7().simple().to_string();
    let c = Committee::create(
        base,
        admin,
        &format!("百万党工委{suffix}"),
        None,
        &format!("mc-{}", &suffix[20..]),
    )
    .await?;
    let root = format!("/{}/", c.unit.id);
    // The tree, over HTTP (not timed): each unit's path is its parent's and its own id.
    let made = Instant::now();
    let mut all: Vec<(Uuid, String)> = Vec::with_capacity(branches);
    let mut first_area = None;
    for s in 0..STREETS {
        let street = c
            .unit(c.unit.id, OrgUnitKind::Street, &format!("第{s}街道"), None)
            .await?;
        let street_path = format!("{root}{}/", street.id);
        for a in 0..AREAS_PER_STREET {
            let area = c
                .unit(
                    street.id,
                    OrgUnitKind::WorkArea,
                    &format!("第{s}-{a}工作区"),
                    None,
                )
                .await?;
            let area_path = format!("{street_path}{}/", area.id);
            first_area.get_or_insert(area.id);
            for b in 0..per_area {
                if all.len() >= branches {
                    break;
                }
                let unit = c
                    .unit(
                        area.id,
                        OrgUnitKind::Branch,
                        &format!("第{s}-{a}-{b}党支部"),
                        None,
                    )
                    .await?;
                all.push((unit.id, format!("{area_path}{}/", unit.id)));
            }
        }
    }
    let area = first_area.context("no work area")?;
    let tag = &suffix[20..];
    let staff = c
        .user(&format!("mw-{tag}"), Role::WorkAreaStaff, area)
        .await?;
    let secretary = c
        .user(&format!("mb0-{tag}"), Role::BranchSecretary, all[0].0)
        .await?;
    let importer = c
        .user(&format!("mb1-{tag}"), Role::BranchSecretary, all[1].0)
        .await?;
    // A campaign, so phases are judged; and the tenant's counter row exists from this push.
    let pushed = c
        .admin
        .push(
            "bench-million",
            vec![json!({
                "mutation_id": 1, "collection": "campaigns", "id": Uuid::now_v7(),
                "org_unit_id": c.unit.id, "op": "put",
                "fields": {"name": "排查", "start_date": "2026-03-07"},
            })],
        )
        .await?;
    if pushed.results[0].error.is_some() {
        bail!("the campaign was not applied");
    }
    let tree_secs = made.elapsed().as_secs_f64();

    // What the database held before (the other sections' tenants, in a full run).
    let bytes_before = paicha_tests::raw::database_bytes(&db.url).await?;
    let loading = Instant::now();
    let loaded =
        paicha_tests::raw::load_tenant(&db.url, c.unit.tenant_id, &all, per_branch, 0).await?;
    rows.push((
        format!("{loaded} members in {} branches, loaded", all.len()),
        format!("{:.0} s", loading.elapsed().as_secs_f64()),
        format!(
            "straight into the database, not timed as paicha's ({} units made over HTTP in {tree_secs:.0} s)",
            all.len() + areas + STREETS + 1
        ),
    ));

    // On PostgreSQL, the vacuum autovacuum would start within a minute of the load, so that it
    // does not run during the timed part.
    let settling = Instant::now();
    if paicha_tests::raw::settle(&db.url).await? {
        rows.push((
            "the load vacuumed and analysed".into(),
            format!("{:.0} s", settling.elapsed().as_secs_f64()),
            "VACUUM (ANALYZE), what autovacuum does after a bulk load; not timed as paicha's"
                .into(),
        ));
    }

    // The committee's status: first (loads the read model), then warm.
    let started = Instant::now();
    let first = c.admin.status(None).await?;
    let cold = started.elapsed();
    if first.counts.members_total != loaded as u64 {
        bail!(
            "the status counted {} members of {loaded}",
            first.counts.members_total
        );
    }
    let mut warm = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        c.admin.status(None).await?;
        warm.push(started.elapsed());
    }
    warm.sort();
    rows.push((
        format!("status of the committee ({loaded} members), first request"),
        format!("{:.2} s", cold.as_secs_f64()),
        "loads the tenant's read model".into(),
    ));
    rows.push((
        format!("status of the committee ({loaded} members)"),
        format!("p50 {:.0} ms", percentile(&warm, 0.5)),
        format!("max {:.0} ms over 20 requests", percentile(&warm, 1.0)),
    ));
    if let Some((rss, peak)) = server.memory() {
        rows.push((
            "server memory with the million's status warm".into(),
            format!("{rss:.0} MiB resident"),
            format!("peak {peak:.0} MiB"),
        ));
    }

    // The status after a restart: a server process of its own on the same database starts
    // from the checkpoint the first load wrote, and reads the changes since.
    let waiting = Instant::now();
    let (version, bytes) = loop {
        if let Some(found) = paicha_tests::raw::status_checkpoint(&db.url, c.unit.tenant_id).await?
        {
            break found;
        }
        if waiting.elapsed() > Duration::from_secs(300) {
            bail!("no status checkpoint was written");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    rows.push((
        "the status checkpoint (the read model on disk)".into(),
        format!("{:.0} MiB", bytes as f64 / 1048576.0),
        format!(
            "{:.0} B per member, at version {version}, written by the server after its first load",
            bytes as f64 / loaded as f64,
        ),
    ));
    let mut restarted = Server::start(db)?;
    let token = c.admin.access_token().context("a token")?.to_owned();
    let again = Client::new(restarted.url.clone()).with_token(token);
    let started = Instant::now();
    let answer = again.status(None).await?;
    let took = started.elapsed();
    if answer.counts != first.counts {
        bail!("the status after a restart differs from the status before it");
    }
    rows.push((
        format!("status of the committee ({loaded} members), first request after a restart"),
        format!("{:.2} s", took.as_secs_f64()),
        "a new server process: the read model from its checkpoint, then the changes since".into(),
    ));
    if let Some((rss, peak)) = restarted.memory() {
        rows.push((
            "the restarted server's memory after its first status".into(),
            format!("{rss:.0} MiB resident"),
            format!("peak {peak:.0} MiB"),
        ));
    }
    restarted.kill();

    // The committee's member list: a page of 50, and searches by a whole name (three
    // characters), by a part of one (the two of a given name) and by the commonest surname
    // (one character: one member in fifteen).
    let name = (123_456..)
        .map(paicha_tests::roster::name_of)
        .find(|name| name.chars().count() == 3)
        .context("a name of three characters")?;
    let given: String = name.chars().skip(1).collect();
    for (what, q) in [
        ("a page of 50 of the committee's members".to_owned(), None),
        (
            format!("a search of the committee's members by a whole name ({name})"),
            Some(name.as_str()),
        ),
        (
            format!("a search of the committee's members by a part of a name ({given})"),
            Some(given.as_str()),
        ),
        (
            "a search of the committee's members by a surname (王)".to_owned(),
            Some("王"),
        ),
    ] {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..10 {
            let started = Instant::now();
            let page = c.admin.members(None, q, None, Some(50), None).await?;
            times.push(started.elapsed());
            total = page.total;
        }
        times.sort();
        rows.push((
            format!("{what} ({loaded} members)"),
            format!("p50 {:.0} ms", percentile(&times, 0.5)),
            format!(
                "max {:.0} ms over 10 requests; {total} match",
                percentile(&times, 1.0)
            ),
        ));
    }
    let bytes = paicha_tests::raw::database_bytes(&db.url)
        .await?
        .saturating_sub(bytes_before);
    rows.push((
        "the database on disk, per member".into(),
        format!("{:.0} B", bytes as f64 / loaded as f64),
        format!(
            "{:.0} MiB added by this tenant, every table and index (the members, their change log, name index, the units)",
            bytes as f64 / (1024.0 * 1024.0)
        ),
    ));

    // A branch device's first pull of its members.
    let started = Instant::now();
    let (_, pulled) = pull_pages(&secretary, 1000).await?;
    let pull = started.elapsed();
    if pulled < per_branch {
        bail!("the branch pulled {pulled} changes of its {per_branch} members");
    }
    rows.push((
        format!("a branch's first pull ({per_branch} members)"),
        format!("{:.0} ms", pull.as_secs_f64() * 1000.0),
        format!("{pulled} changes, pages of 1,000"),
    ));

    // One work area's registers as xlsx.
    let http = reqwest::Client::new();
    let token = staff.access_token().context("a token")?.to_owned();
    let mut times = Vec::new();
    for kind in LedgerKind::ALL {
        let started = Instant::now();
        let answer = http
            .get(format!(
                "{}/v1/ledgers/{}?format=xlsx",
                server.url,
                kind.as_str()
            ))
            .bearer_auth(&token)
            .send()
            .await?;
        let status = answer.status();
        let bytes = answer.bytes().await?;
        if !status.is_success() {
            bail!("register {} answered {status}", kind.as_str());
        }
        times.push((kind, started.elapsed(), bytes.len()));
    }
    let members_per_area = per_area * per_branch;
    let (_, roster_time, roster_bytes) = times
        .iter()
        .find(|(k, _, _)| *k == LedgerKind::Roster)
        .copied()
        .context("the roster register")?;
    rows.push((
        format!("one work area's 花名册 as xlsx ({members_per_area} members)"),
        format!("{:.2} s", roster_time.as_secs_f64()),
        format!("{:.2} MB", roster_bytes as f64 / 1e6),
    ));
    let total: Duration = times.iter().map(|(_, t, _)| *t).sum();
    rows.push((
        "one work area's seven registers as xlsx, one after another".into(),
        format!("{:.2} s", total.as_secs_f64()),
        times
            .iter()
            .map(|(k, t, _)| format!("{} {:.2} s", k.as_str(), t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
    ));

    // A 5,000-row roster import into a branch (new members, numbers no one holds).
    let csv = roster_csv(members + 10, 5000);
    let token = importer.access_token().context("a token")?.to_owned();
    let started = Instant::now();
    let answer = http
        .post(format!(
            "{}/v1/import/roster?org_unit_id={}",
            server.url, all[1].0
        ))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(csv)
        .send()
        .await?;
    let took = started.elapsed();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if !status.is_success() || body["created"] != json!(5000) {
        bail!("the import answered {status}: {body}");
    }
    rows.push((
        "a 5,000-row roster import into one branch".into(),
        format!("{:.2} s", took.as_secs_f64()),
        format!("into a tenant of {loaded} members"),
    ));
    Ok(())
}

/// A 花名册 as CSV: `n` roster rows (`paicha_tests::roster::member`) from index `first`, under
/// the Chinese headers the import reads.
fn roster_csv(first: usize, n: usize) -> Vec<u8> {
    let header_of = |field: &str| {
        paicha_domain::roster::HEADERS
            .iter()
            .find(|(_, f)| *f == field)
            .map(|(h, _)| *h)
    };
    let sample = paicha_tests::roster::member(first);
    let fields: Vec<(&str, String)> = sample
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter_map(|k| header_of(k).map(|h| (h, k.clone())))
        .collect();
    let mut out = String::from("\u{FEFF}");
    out.push_str(&fields.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for i in 0..n {
        let member = paicha_tests::roster::member(first + i);
        let cells: Vec<String> = fields
            .iter()
            .map(|(_, f)| match member.get(f) {
                Some(Value::Bool(true)) => "是".to_owned(),
                Some(Value::Bool(false)) => "否".to_owned(),
                Some(Value::String(s)) => s.replace(',', "，"),
                Some(other) if !other.is_null() => other.to_string(),
                _ => String::new(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}
