//! The office's side of the soak: long-polls of the committee and the work areas, woken by the
//! devices' pushes through either instance, and roster imports (花名册 workbooks) into the
//! branches, each by a branch secretary signed in with the password for it and signed out
//! after.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use paicha_client::{ClientError, PullQuery, decode_error};
use paicha_domain::api::v1::ImportResult;
use paicha_domain::collection::{Collection, enum_label};
use paicha_tests::roster;
use serde_json::Value;
use uuid::Uuid;

use super::Rng;
use super::check::{Imported, Replica};
use super::device::Shared;
use super::fleet::{Fleet, Flight, Route};
use super::session::Session;

/// A user waiting for changes: long-polls (`wait=20`) from its own cursor, one after another.
pub struct Poller {
    session: Session,
    rng: Rng,
    pub replica: Replica,
    /// For each poll woken by one of the soak's pushes: the time from that push's
    /// acknowledgement to the poll's answer.
    pub woken: Vec<Duration>,
}

impl Poller {
    pub async fn new(
        fleet: &Fleet,
        username: &str,
        device_id: &str,
        route: Route,
        mut rng: Rng,
    ) -> Result<Self, ClientError> {
        let session = Session::sign_in(fleet, username, device_id, route, &mut rng).await?;
        Ok(Self {
            session,
            rng,
            replica: Replica::light(),
            woken: Vec::new(),
        })
    }

    pub async fn run(mut self, shared: Arc<Shared>) -> Self {
        let fleet = &shared.fleet;
        while !fleet.stopping() {
            if self.session.keep_fresh(fleet, &mut self.rng).await.is_err() {
                let (user, device) = (
                    self.session.username.clone(),
                    self.session.device_id.clone(),
                );
                let route = self.session.route;
                match Session::sign_in(fleet, &user, &device, route, &mut self.rng).await {
                    Ok(s) => self.session = s,
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
                continue;
            }
            let cursor = self.replica.cursor.clone();
            let device = self.session.device_id.clone();
            let token = self.session.access.clone();
            let sent = Instant::now();
            let page = fleet
                .call(
                    "long-poll (wait=20; the time it was held)",
                    self.session.route,
                    Some(&token),
                    |conn| {
                        let (cursor, device) = (cursor.clone(), device.clone());
                        async move {
                            conn.client
                                .pull(&PullQuery {
                                    cursor: cursor.as_deref(),
                                    limit: Some(1000),
                                    wait: Some(20),
                                    device_id: Some(&device),
                                    ..Default::default()
                                })
                                .await
                        }
                    },
                )
                .await;
            let answered = Instant::now();
            let Ok(page) = page else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            // Woken by a push of the soak's, acknowledged after the poll was sent.
            if let Some(acked) = page
                .changes
                .iter()
                .find_map(|c| fleet.acknowledged_at(c.version))
                .filter(|acked| *acked > sent)
            {
                self.woken.push(answered.saturating_duration_since(acked));
            }
            for wrong in self.replica.apply(page) {
                fleet.stats.error(
                    "long-poll (wait=20; the time it was held)",
                    self.session.route,
                    wrong,
                );
            }
        }
        self
    }
}

/// Imports 花名册 workbooks into the branches now and then, through each instance in turn.
pub struct Importer {
    /// (branch, its secretary's username)
    branches: Vec<(Uuid, String)>,
    rng: Rng,
    /// Imported members by ID number, as last acknowledged; and their roster index.
    pub imported: HashMap<String, Imported>,
    by_branch: HashMap<Uuid, Vec<(String, usize)>>,
    /// ID numbers of rows whose import got no answer.
    pub uncertain: Vec<String>,
    pub imports: u64,
    every: (u64, u64),
}

impl Importer {
    pub fn new(branches: Vec<(Uuid, String)>, rng: Rng, every: (u64, u64)) -> Self {
        Self {
            branches,
            rng,
            imported: HashMap::new(),
            by_branch: HashMap::new(),
            uncertain: Vec::new(),
            imports: 0,
            every,
        }
    }

    pub async fn run(mut self, shared: Arc<Shared>) -> Self {
        let fleet = &shared.fleet;
        let mut route = Route::Faulty;
        'soak: loop {
            let wait = self.rng.between(self.every.0, self.every.1);
            for _ in 0..wait {
                if fleet.stopping() {
                    break 'soak;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            self.import(&shared, route).await;
            route = route.other();
        }
        self
    }

    /// One import: new members, changed phones of some imported before, some unchanged.
    async fn import(&mut self, shared: &Shared, route: Route) {
        let fleet = &shared.fleet;
        let (branch, username) =
            self.branches[self.rng.below(self.branches.len() as u64) as usize].clone();
        let Ok(session) =
            Session::sign_in(fleet, &username, "soak-importer", route, &mut self.rng).await
        else {
            return;
        };
        let new = self.rng.between(40, 160) as usize;
        let first = shared.next_member.fetch_add(new, Ordering::Relaxed);
        let mut rows: Vec<(usize, String, String)> = Vec::new(); // (index, id number, phone)
        for n in first..first + new {
            let m = roster::member(n);
            rows.push((n, text(&m, "id_number"), text(&m, "phone")));
        }
        // Some imported before: a new phone for up to 20, up to 10 as they were.
        let earlier = self.by_branch.get(&branch).cloned().unwrap_or_default();
        let mut picked = std::collections::HashSet::new();
        let (mut changed, mut same) = (0, 0);
        for _ in 0..30.min(earlier.len()) {
            let (number, n) = &earlier[self.rng.below(earlier.len() as u64) as usize];
            if !picked.insert(number.clone()) {
                continue;
            }
            let phone = match self.imported.get(number) {
                Some(known) if changed < 20 && self.rng.below(3) > 0 => {
                    changed += 1;
                    let mut phone = format!("136{:08}", self.rng.below(100_000_000));
                    while phone == known.phone {
                        phone = format!("136{:08}", self.rng.below(100_000_000));
                    }
                    phone
                }
                Some(known) => {
                    same += 1;
                    known.phone.clone()
                }
                None => continue,
            };
            rows.push((*n, number.clone(), phone));
        }
        let body = workbook(&rows);
        let token = session.access.clone();
        let flight = fleet.in_flight(route, Flight::Import);
        let answer = fleet
            .send("import", route, Some(&token), |conn| {
                let body = body.clone();
                async move {
                    let answer = conn
                        .http
                        .post(format!(
                            "{}/v1/import/roster?org_unit_id={branch}",
                            conn.url
                        ))
                        .bearer_auth(conn.token.unwrap_or_default())
                        .header("content-type", "application/octet-stream")
                        .body(body)
                        .send()
                        .await?;
                    let status = answer.status();
                    let bytes = answer.bytes().await?;
                    if !status.is_success() {
                        return Err(decode_error(status, &bytes));
                    }
                    serde_json::from_slice::<ImportResult>(&bytes).map_err(|e| {
                        ClientError::Unexpected {
                            status,
                            text: e.to_string(),
                        }
                    })
                }
            })
            .await;
        drop(flight);
        self.imports += 1;
        let sent = match answer {
            Ok(sent) => sent,
            Err(_) => {
                self.uncertain
                    .extend(rows.iter().map(|(_, number, _)| number.clone()));
                let _ = session.sign_out(fleet).await;
                return;
            }
        };
        let r = sent.value;
        let total = rows.len() as u64;
        let fresh = (r.created, r.updated, r.unchanged) == (new as u64, changed, same);
        // Sent again after a cut, the first try may have been applied already.
        let again = sent.attempts > 1 && (r.created, r.updated, r.unchanged) == (0, 0, total);
        if again {
            fleet.stats.note(
                "imports found applied already when sent again after a cut",
                1,
            );
        }
        if !(fresh || again) || r.conflicts != 0 {
            fleet.stats.error(
                "import",
                route,
                format!(
                    "answered created {}, updated {}, unchanged {}, conflicts {} for {new} new, {changed} changed, {same} unchanged rows (attempt {})",
                    r.created, r.updated, r.unchanged, r.conflicts, sent.attempts
                ),
            );
        }
        for (n, number, phone) in rows {
            let name = text(&roster::member(n), "name");
            let fresh_row = !self.imported.contains_key(&number);
            self.imported.insert(
                number.clone(),
                Imported {
                    unit: branch,
                    name,
                    phone,
                },
            );
            if fresh_row {
                self.by_branch.entry(branch).or_default().push((number, n));
            }
        }
        let _ = session.sign_out(fleet).await;
    }
}

fn text(member: &Value, field: &str) -> String {
    member[field].as_str().unwrap_or_default().to_owned()
}

/// A 花名册 as a workbook: a title row, the headers (each roster field once, under its first
/// header), then one row a member (`roster::member(n)` with `phone`), cells as people type
/// them (男, 正式党员, 是).
fn workbook(rows: &[(usize, String, String)]) -> Vec<u8> {
    let mut columns: Vec<(&str, &str)> = Vec::new();
    for (header, field) in paicha_domain::roster::HEADERS {
        if !columns.iter().any(|(_, f)| f == field) {
            columns.push((header, field));
        }
    }
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let mut write = |r: u32, c: u16, s: &str| {
        let _ = sheet.write_string(r, c, s);
    };
    write(0, 0, "党支部党员花名册");
    for (c, (header, _)) in columns.iter().enumerate() {
        write(1, c as u16, header);
    }
    for (r, (n, _, phone)) in rows.iter().enumerate() {
        let member = roster::member(*n);
        for (c, (_, field)) in columns.iter().enumerate() {
            let cell = match (field, member.get(*field)) {
                (&"phone", _) => phone.clone(),
                (_, Some(Value::Bool(b))) => if *b { "是" } else { "否" }.to_owned(),
                (_, Some(Value::String(s))) => enum_label(Collection::Members, field, s)
                    .map_or_else(|| s.clone(), str::to_owned),
                _ => continue,
            };
            write(r as u32 + 2, c as u16, &cell);
        }
    }
    book.save_to_buffer().unwrap_or_default()
}
