//! What the soak knows was acknowledged, replicas built only from pulls, and the checks at the
//! end: every acknowledged write pulled exactly once with its last acknowledged value.

use std::collections::{BTreeMap, HashMap, HashSet};

use paicha_client::PullQuery;
use paicha_domain::api::v1::PullResponse;
use paicha_domain::collection::Collection;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::device::{Device, Shared};
use super::fleet::{Fleet, Route};
use super::office::Importer;
use super::report::Sample;
use super::session::Session;
use super::{Rng, mib};

/// The fields of a record the checks compare: what the soak wrote and later changes.
pub type Digest = BTreeMap<&'static str, Value>;

/// The compared fields of a record of `collection`, out of all its fields.
pub fn digest(collection: Collection, fields: &Map<String, Value>) -> Digest {
    let names: &[&'static str] = match collection {
        Collection::Members => &["name", "id_number", "phone", "remarks"],
        Collection::InfoForms => &["member_id", "photos"],
        _ => &[],
    };
    names
        .iter()
        .map(|n| (*n, fields.get(*n).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// A record as the server last acknowledged it to the soak (a push's result).
#[derive(Debug, Clone)]
pub struct Expect {
    pub collection: Collection,
    pub unit: Uuid,
    pub version: u64,
    pub digest: Digest,
}

/// A member a roster import acknowledged: found by its ID number.
#[derive(Debug, Clone)]
pub struct Imported {
    pub unit: Uuid,
    pub name: String,
    pub phone: String,
}

/// A record as pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub collection: Collection,
    pub unit: Uuid,
    pub version: u64,
    pub deleted: bool,
    pub digest: Digest,
}

/// A replica built only from pulls: the cursor, the last version received (versions must
/// only grow), and (unless light) each record's compared fields.
#[derive(Debug, Default)]
pub struct Replica {
    pub cursor: Option<String>,
    pub last: u64,
    pub changes: u64,
    /// Records received more than once in one pull from the start (`count_twice`).
    pub twice: u64,
    pub records: HashMap<Uuid, Seen>,
    light: bool,
    count_twice: bool,
}

impl Replica {
    /// A replica keeping each record (a device's).
    pub fn full() -> Self {
        Self::default()
    }

    /// A replica keeping only its cursor and the order of versions (a long-poller's).
    pub fn light() -> Self {
        Self {
            light: true,
            ..Self::default()
        }
    }

    /// A replica of one pull from the start, counting records received twice.
    pub fn from_start() -> Self {
        Self {
            count_twice: true,
            ..Self::default()
        }
    }

    /// Takes in one page; returns what was wrong with it (a version received twice or out of
    /// order).
    pub fn apply(&mut self, page: PullResponse) -> Vec<String> {
        let mut wrong = Vec::new();
        for c in page.changes {
            if c.version <= self.last {
                wrong.push(format!(
                    "version {} received after version {} ({} {})",
                    c.version,
                    self.last,
                    c.collection.as_str(),
                    c.id
                ));
            }
            self.last = self.last.max(c.version);
            self.changes += 1;
            if self.light {
                continue;
            }
            let seen = Seen {
                collection: c.collection,
                unit: c.org_unit_id,
                version: c.version,
                deleted: c.deleted,
                digest: digest(c.collection, &c.fields),
            };
            if self.records.insert(c.id, seen).is_some() && self.count_twice {
                self.twice += 1;
            }
        }
        self.cursor = Some(page.cursor);
        wrong
    }
}

/// What the load acknowledged, gathered from every task at the end.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Records written by pushes, by id.
    pub records: HashMap<Uuid, Expect>,
    /// Members written by imports, by ID number.
    pub imported: HashMap<String, Imported>,
    /// ID numbers of import rows whose import got no answer (it may or may not have been
    /// applied).
    pub uncertain: HashSet<String>,
    /// Mutations of pushes that got no answer in the end (they may or may not have been
    /// applied).
    pub unanswered: u64,
}

/// One check's outcome.
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// The full pull from the start against what was acknowledged.
pub fn against_ledger(pulled: &Replica, ledger: &Ledger, checks: &mut Vec<Check>) {
    checks.push(Check::new(
        "full pull from the start: no record twice, no version twice or out of order",
        pulled.twice == 0,
        format!(
            "{} changes, {} records, {} received twice",
            pulled.changes,
            pulled.records.len(),
            pulled.twice
        ),
    ));

    // Every record a push acknowledged: there once, its last acknowledged value.
    let (mut missing, mut wrong, mut later) = (0, 0, 0);
    let mut examples = Vec::new();
    for (id, expect) in &ledger.records {
        match pulled.records.get(id) {
            None => {
                missing += 1;
                examples.push(format!("{} {id} missing", expect.collection.as_str()));
            }
            Some(seen)
                if seen.deleted
                    || seen.unit != expect.unit
                    || seen.collection != expect.collection
                    || seen.version < expect.version
                    || seen.digest != expect.digest =>
            {
                wrong += 1;
                examples.push(format!(
                    "{} {id}: pulled v{} {:?}, acknowledged v{} {:?}",
                    expect.collection.as_str(),
                    seen.version,
                    seen.digest,
                    expect.version,
                    expect.digest
                ));
            }
            Some(seen) if seen.version > expect.version => later += 1,
            Some(_) => {}
        }
    }
    examples.truncate(5);
    checks.push(Check::new(
        "every record a push acknowledged is pulled, once, with its last acknowledged value",
        missing == 0 && wrong == 0,
        format!(
            "{} records acknowledged; {missing} missing, {wrong} different; {later} at a later version than acknowledged (the server's own follow-up writes){}",
            ledger.records.len(),
            if examples.is_empty() {
                String::new()
            } else {
                format!(": {}", examples.join("; "))
            }
        ),
    ));

    // Members by ID number: imports created each once; no two members share a number.
    let mut by_number: HashMap<&str, Vec<(&Uuid, &Seen)>> = HashMap::new();
    for (id, seen) in &pulled.records {
        if seen.collection == Collection::Members
            && !seen.deleted
            && let Some(Value::String(n)) = seen.digest.get("id_number")
        {
            by_number.entry(n.as_str()).or_default().push((id, seen));
        }
    }
    let shared = by_number.values().filter(|v| v.len() > 1).count();
    let (mut missing, mut wrong) = (0, 0);
    for (number, expect) in &ledger.imported {
        match by_number.get(number.as_str()).map(Vec::as_slice) {
            Some([(_, seen)]) => {
                let same = seen.unit == expect.unit
                    && seen.digest.get("name") == Some(&Value::String(expect.name.clone()))
                    && seen.digest.get("phone") == Some(&Value::String(expect.phone.clone()));
                if !same {
                    wrong += 1;
                }
            }
            Some(_) => {}
            None => missing += 1,
        }
    }
    checks.push(Check::new(
        "every member an import acknowledged is pulled once (one member per ID number), with its last imported phone",
        missing == 0 && wrong == 0 && shared == 0,
        format!(
            "{} imported members; {missing} missing, {wrong} different; {shared} ID numbers held by more than one member ({} members in all)",
            ledger.imported.len(),
            by_number.values().map(Vec::len).sum::<usize>()
        ),
    ));

    // Records nobody acknowledged: only from requests that got no answer.
    let extra_members = by_number
        .iter()
        .filter(|(n, v)| {
            !ledger.imported.contains_key(**n)
                && v.iter().all(|(id, _)| !ledger.records.contains_key(id))
        })
        .count();
    let uncertain_found = by_number
        .keys()
        .filter(|n| ledger.uncertain.contains(**n) && !ledger.imported.contains_key(**n))
        .count();
    let extra_records = pulled
        .records
        .iter()
        .filter(|(id, s)| s.collection != Collection::Members && !ledger.records.contains_key(id))
        .count();
    let unexplained = (extra_members + extra_records)
        .saturating_sub(uncertain_found + ledger.unanswered as usize);
    checks.push(Check::new(
        "nothing pulled that was not acknowledged (beyond requests left without an answer)",
        unexplained == 0,
        format!(
            "{extra_members} members and {extra_records} other records not acknowledged; {} mutations and {} import rows were left without an answer",
            ledger.unanswered,
            ledger.uncertain.len()
        ),
    ));
}

/// Whether two replicas hold the same records at the same versions; how many differ.
pub fn differences(a: &HashMap<Uuid, Seen>, b: &HashMap<Uuid, Seen>) -> usize {
    let only_a = a.iter().filter(|(id, s)| b.get(id) != Some(s)).count();
    let only_b = b.keys().filter(|id| !a.contains_key(id)).count();
    only_a + only_b
}

/// Pulls everything from the start through `route` (pages of 1,000, no device id: a repair
/// pull, protocol §5.6).
pub async fn pull_from_start(fleet: &Fleet, route: Route, token: &str) -> anyhow::Result<Replica> {
    let mut replica = Replica::from_start();
    loop {
        let cursor = replica.cursor.clone();
        let page = fleet
            .call("final pull from the start", route, Some(token), |conn| {
                let cursor = cursor.clone();
                async move {
                    conn.client
                        .pull(&PullQuery {
                            cursor: cursor.as_deref(),
                            limit: Some(1000),
                            ..Default::default()
                        })
                        .await
                }
            })
            .await?;
        let more = page.has_more;
        for wrong in replica.apply(page) {
            fleet.stats.error("final pull from the start", route, wrong);
        }
        if !more {
            return Ok(replica);
        }
    }
}

/// The checks at the end.
pub async fn verify(
    shared: &Shared,
    committee: &str,
    devices: &[Device],
    importer: &Importer,
    samples: &[Sample],
    minutes: u64,
) -> Vec<Check> {
    let fleet = &shared.fleet;
    let mut ledger = Ledger::default();
    for d in devices {
        ledger.records.extend(d.acknowledged());
        ledger.unanswered += d.unanswered;
    }
    ledger.imported = importer.imported.clone();
    ledger.uncertain = importer.uncertain.iter().cloned().collect();

    // A committee user pulls everything from the start, through each instance.
    let mut rng = Rng::new(0);
    let pulled = async {
        let session =
            Session::sign_in(fleet, committee, "soak-check", Route::Steady, &mut rng).await?;
        let steady = pull_from_start(fleet, Route::Steady, &session.access).await?;
        let faulty = pull_from_start(fleet, Route::Faulty, &session.access).await?;
        let token = Some(session.access.as_str());
        let missing = fleet
            .call("blobs missing", Route::Steady, token, |conn| async move {
                conn.client.missing_blobs().await
            })
            .await?;
        anyhow::Ok((steady, faulty, missing))
    }
    .await;

    let mut checks = Vec::new();
    let (answered, cut, later, errors) = fleet.stats.totals();
    checks.push(Check::new(
        "no errors (cut connections of the killed instance and 503 retry-later answers aside)",
        errors == 0,
        format!("{errors} errors; {answered} requests answered, {cut} cut connections and {later} retry-later answers, all sent again until answered"),
    ));
    match pulled {
        Ok((steady, faulty, missing)) => {
            after_the_pulls(&steady, &faulty, &missing, devices, &ledger, &mut checks);
        }
        Err(e) => checks.push(Check::new(
            "a committee user pulls everything from the start through each instance",
            false,
            format!("{e:#}"),
        )),
    }
    memory(samples, minutes, &mut checks);
    checks
}

/// The checks on the full pulls at the end.
fn after_the_pulls(
    steady: &Replica,
    faulty: &Replica,
    missing: &[String],
    devices: &[Device],
    ledger: &Ledger,
    checks: &mut Vec<Check>,
) {
    against_ledger(steady, ledger, checks);
    let differ = differences(&steady.records, &faulty.records);
    checks.push(Check::new(
        "the full pull through the faulty instance is the same",
        differ == 0 && faulty.twice == 0,
        format!("{} records, {differ} different", faulty.records.len()),
    ));
    let mut replicas_differ = 0;
    let mut records = 0;
    for d in devices {
        let branch: std::collections::HashMap<_, _> = steady
            .records
            .iter()
            .filter(|(_, s)| s.unit == d.branch)
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        records += branch.len();
        let n = differences(&branch, &d.replica.records);
        if n > 0 {
            eprintln!(
                "soak: {}'s replica differs from the full pull in {n} records",
                d.name
            );
        }
        replicas_differ += n;
    }
    checks.push(Check::new(
        "each device's replica, built only from its incremental pulls, is its branch in the full pull",
        replicas_differ == 0,
        format!(
            "{} devices, {records} records, {replicas_differ} different (versions never twice or out of order: counted as errors when pulled)",
            devices.len()
        ),
    ));
    checks.push(Check::new(
        "every photo named by a record was uploaded",
        missing.is_empty(),
        format!("{} missing", missing.len()),
    ));
}

/// The steady instance's memory: minute N against minute 10 (minute 1 when the run is shorter).
fn memory(samples: &[Sample], minutes: u64, checks: &mut Vec<Check>) {
    let reference = if minutes >= 10 { 10 } else { 1.min(minutes) };
    let at = |m: u64| {
        samples
            .iter()
            .find(|s| s.minute == m)
            .and_then(|s| s.steady)
    };
    let growth = match (at(reference), at(minutes)) {
        (Some(a), Some(b)) if a > 0.0 => Some((b - a) / a),
        _ => None,
    };
    checks.push(Check::new(
        format!("the steady instance's resident memory at minute {minutes} at most 10% above minute {reference} (each the median of its minute's samples, every 5 s)"),
        growth.is_some_and(|g| g <= 0.10),
        match growth {
            Some(g) => format!(
                "{} → {}: {:+.1}%{}",
                mib(at(reference)),
                mib(at(minutes)),
                g * 100.0,
                if minutes < 10 { " (a run under 10 minutes: minute 1 is the reference)" } else { "" }
            ),
            None => "not measured".to_owned(),
        },
    ));
}
