//! A branch's device in the field: signed in as the branch's secretary through one instance,
//! it pushes new members and updates of its own (one at a time or in batches), pulls what
//! changed from its own cursor, uploads photos (whole or in chunks) with the information forms
//! naming them, downloads them through the other instance, refreshes its tokens and now and
//! then signs in again. One push in flight at a time, as the protocol asks (§4.6).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use paicha_client::{ClientError, PullQuery};
use paicha_domain::api::v1::{MutationStatus, PushResponse};
use paicha_domain::collection::Collection;
use paicha_tests::{patch, put, roster};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::Rng;
use super::check::{Digest, Expect, Replica, digest};
use super::fleet::{Fleet, Flight, Route};
use super::session::Session;

/// Photos above this are sent in chunks of it.
const CHUNK: usize = 128 * 1024;

/// What every task shares: the instances and the next roster index (no two members of the
/// tenant share an ID number).
pub struct Shared {
    pub fleet: Fleet,
    pub next_member: AtomicUsize,
}

/// A record the device wrote, as last acknowledged.
pub struct Own {
    pub id: Uuid,
    pub collection: Collection,
    pub version: u64,
    pub digest: Digest,
}

/// What a mutation becomes once acknowledged.
enum Pending {
    New(Collection, Uuid, Digest),
    Update {
        index: usize,
        phone: String,
        remarks: String,
    },
}

pub struct Device {
    pub name: String,
    pub route: Route,
    pub branch: Uuid,
    session: Session,
    rng: Rng,
    next_mutation: i64,
    /// The members it created (the ones it updates), then its information forms.
    pub members: Vec<Own>,
    pub forms: Vec<Own>,
    /// Photos uploaded whose form was acknowledged: (sha256).
    photos: Vec<String>,
    pub replica: Replica,
    /// Mutations of pushes left without an answer.
    pub unanswered: u64,
}

impl Device {
    pub async fn new(
        fleet: &Fleet,
        index: usize,
        username: &str,
        branch: Uuid,
        route: Route,
        mut rng: Rng,
    ) -> Result<Self, ClientError> {
        let name = format!("soak-device-{index}");
        let session = Session::sign_in(fleet, username, &name, route, &mut rng).await?;
        Ok(Self {
            name,
            route,
            branch,
            session,
            rng,
            next_mutation: 1,
            members: Vec::new(),
            forms: Vec::new(),
            photos: Vec::new(),
            replica: Replica::full(),
            unanswered: 0,
        })
    }

    /// Acts every 1–4 s until the soak stops, then pulls to the end once more.
    pub async fn run(mut self, shared: Arc<Shared>) -> Self {
        let fleet = &shared.fleet;
        while !fleet.stopping() {
            tokio::time::sleep(self.rng.millis(1000, 4000)).await;
            if fleet.stopping() {
                break;
            }
            if self.session.keep_fresh(fleet, &mut self.rng).await.is_err() {
                self.recover(fleet).await;
                continue;
            }
            self.act(&shared).await;
        }
        self.pull(fleet).await;
        self
    }

    /// Signs in again with the password after its sign-in failed (an error, counted).
    async fn recover(&mut self, fleet: &Fleet) {
        let (user, device) = (self.session.username.clone(), self.name.clone());
        if let Ok(session) =
            Session::sign_in(fleet, &user, &device, self.route, &mut self.rng).await
        {
            self.session = session;
        }
    }

    async fn act(&mut self, shared: &Shared) {
        let fleet = &shared.fleet;
        match self.rng.below(100) {
            0..30 => {
                let m = if self.members.is_empty() || self.rng.below(2) == 0 {
                    self.new_member(shared)
                } else {
                    let i = self.rng.below(self.members.len() as u64) as usize;
                    self.update(i)
                };
                self.push(fleet, "push (1 mutation)", vec![m]).await;
            }
            30..50 => {
                let n = self.rng.between(5, 40) as usize;
                let mut batch = Vec::with_capacity(n);
                let mut updated = std::collections::HashSet::new();
                for _ in 0..n {
                    let i = self.rng.below(self.members.len().max(1) as u64) as usize;
                    // A record once a batch: a second edit with the same base would be
                    // reported as a conflict with the first.
                    if self.members.is_empty() || self.rng.below(10) < 3 || !updated.insert(i) {
                        batch.push(self.new_member(shared));
                    } else {
                        batch.push(self.update(i));
                    }
                }
                self.push(fleet, "push (batch of 5–40)", batch).await;
            }
            50..82 => self.pull(fleet).await,
            82..90 => self.photo(shared).await,
            90..95 => self.download(fleet).await,
            _ => {
                if self
                    .session
                    .sign_in_again(fleet, &mut self.rng)
                    .await
                    .is_err()
                {
                    self.recover(fleet).await;
                }
            }
        }
    }

    fn next_id(&mut self) -> i64 {
        self.next_mutation += 1;
        self.next_mutation - 1
    }

    fn new_member(&mut self, shared: &Shared) -> (Value, Pending) {
        let n = shared.next_member.fetch_add(1, Ordering::Relaxed);
        let fields = roster::member(n);
        let id = Uuid::now_v7();
        let expect = fields
            .as_object()
            .map(|f| digest(Collection::Members, f))
            .unwrap_or_default();
        let m = put(self.next_id(), "members", id, self.branch, fields);
        (m, Pending::New(Collection::Members, id, expect))
    }

    fn update(&mut self, index: usize) -> (Value, Pending) {
        let phone = format!("137{:08}", self.rng.below(100_000_000));
        let mutation_id = self.next_id();
        let remarks = format!("第{mutation_id}次核对：已电话联系本人");
        let own = &self.members[index];
        let m = patch(
            mutation_id,
            "members",
            own.id,
            Some(own.version),
            json!({"phone": phone, "remarks": remarks}),
        );
        let pending = Pending::Update {
            index,
            phone,
            remarks,
        };
        (m, pending)
    }

    /// Pushes `batch` until answered (the same mutation ids each time), and checks each
    /// result: applied, or, when sent again after a cut, a duplicate of an applied one.
    /// Returns whether every mutation was acknowledged.
    async fn push(
        &mut self,
        fleet: &Fleet,
        kind: &'static str,
        batch: Vec<(Value, Pending)>,
    ) -> bool {
        let (mutations, pending): (Vec<Value>, Vec<Pending>) = batch.into_iter().unzip();
        let n = mutations.len();
        let device = self.name.clone();
        let token = self.session.access.clone();
        let flight = fleet.in_flight(self.route, Flight::Push);
        let sent = fleet
            .send(kind, self.route, Some(&token), |conn| {
                let (mutations, device) = (mutations.clone(), device.clone());
                async move { conn.client.push(&device, mutations).await }
            })
            .await;
        drop(flight);
        let sent = match sent {
            Ok(sent) => sent,
            Err(_) => {
                self.unanswered += n as u64;
                return false;
            }
        };
        let response: PushResponse = sent.value;
        if response.results.len() != n {
            fleet.stats.error(
                kind,
                self.route,
                format!("{} results for {n} mutations", response.results.len()),
            );
            self.unanswered += n as u64;
            return false;
        }
        let mut all = true;
        let mut versions = Vec::with_capacity(n);
        for (result, pending) in response.results.into_iter().zip(pending) {
            let acknowledged = match (result.status, result.first_status) {
                (MutationStatus::Applied, _) => true,
                (MutationStatus::Duplicate, Some(MutationStatus::Applied)) if sent.attempts > 1 => {
                    fleet.stats.note(
                        "mutations answered duplicate when sent again after a cut",
                        1,
                    );
                    true
                }
                _ => false,
            };
            let version = match (acknowledged, result.version) {
                (true, Some(v)) => v,
                _ => {
                    fleet.stats.error(
                        kind,
                        self.route,
                        format!(
                            "mutation {} answered {:?} (first {:?}, attempt {}): {:?}",
                            result.mutation_id,
                            result.status,
                            result.first_status,
                            sent.attempts,
                            result.error.map(|e| e.code)
                        ),
                    );
                    all = false;
                    continue;
                }
            };
            versions.push(version);
            match pending {
                Pending::New(collection, id, digest) => {
                    let own = Own {
                        id,
                        collection,
                        version,
                        digest,
                    };
                    match collection {
                        Collection::Members => self.members.push(own),
                        _ => self.forms.push(own),
                    }
                }
                Pending::Update {
                    index,
                    phone,
                    remarks,
                } => {
                    let own = &mut self.members[index];
                    if version <= own.version {
                        fleet.stats.error(
                            kind,
                            self.route,
                            format!(
                                "an update of {} acknowledged at v{version}, not after v{}",
                                own.id, own.version
                            ),
                        );
                    }
                    own.version = version;
                    own.digest.insert("phone", Value::String(phone));
                    own.digest.insert("remarks", Value::String(remarks));
                }
            }
        }
        fleet.acknowledged(versions);
        all
    }

    /// Pulls from its cursor until nothing more waits (pages of 500, with its device id).
    async fn pull(&mut self, fleet: &Fleet) {
        loop {
            let cursor = self.replica.cursor.clone();
            let device = self.name.clone();
            let token = self.session.access.clone();
            let page = fleet
                .call("pull", self.route, Some(&token), |conn| {
                    let (cursor, device) = (cursor.clone(), device.clone());
                    async move {
                        conn.client
                            .pull(&PullQuery {
                                cursor: cursor.as_deref(),
                                limit: Some(500),
                                device_id: Some(&device),
                                ..Default::default()
                            })
                            .await
                    }
                })
                .await;
            let Ok(page) = page else { return };
            let more = page.has_more;
            for wrong in self.replica.apply(page) {
                fleet.stats.error("pull", self.route, wrong);
            }
            if !more {
                return;
            }
        }
    }

    /// A photo of one of its members: uploaded, and an information form naming it pushed, in
    /// either order.
    async fn photo(&mut self, shared: &Shared) {
        let fleet = &shared.fleet;
        if self.members.is_empty() {
            let m = self.new_member(shared);
            self.push(fleet, "push (1 mutation)", vec![m]).await;
            return;
        }
        let size = self.rng.between(16 * 1024, 320 * 1024) as usize;
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
        while bytes.len() < size {
            bytes.extend_from_slice(&self.rng.next().to_le_bytes());
        }
        bytes.truncate(size);
        let sha = hex(&Sha256::digest(&bytes));
        let member = self.members[self.rng.below(self.members.len() as u64) as usize].id;
        let form_first = self.rng.below(2) == 0;
        if !form_first && !self.upload(fleet, &sha, &bytes).await {
            return;
        }
        let id = Uuid::now_v7();
        let fields = json!({"member_id": member, "confirmation_mode": "on_site", "photos": [sha]});
        let expect = fields
            .as_object()
            .map(|f| digest(Collection::InfoForms, f))
            .unwrap_or_default();
        let m = put(self.next_id(), "info_forms", id, self.branch, fields);
        let pending = Pending::New(Collection::InfoForms, id, expect);
        let pushed = self
            .push(fleet, "push (information form)", vec![(m, pending)])
            .await;
        if form_first && !self.upload(fleet, &sha, &bytes).await {
            return;
        }
        if pushed {
            self.photos.push(sha);
        }
    }

    /// Uploads a photo whole, or in chunks resumed from where the server stands after a cut.
    async fn upload(&self, fleet: &Fleet, sha: &str, bytes: &[u8]) -> bool {
        let token = self.session.access.clone();
        let total = bytes.len();
        if total <= CHUNK {
            let status = fleet
                .call("blob upload (whole)", self.route, Some(&token), |conn| {
                    let body = bytes.to_vec();
                    async move { conn.client.put_blob(sha, body).await }
                })
                .await;
            return match status {
                Ok(s) if s.complete => true,
                Ok(s) => {
                    let what = format!("a whole upload answered incomplete ({} bytes)", s.received);
                    fleet.stats.error("blob upload (whole)", self.route, what);
                    false
                }
                Err(_) => false,
            };
        }
        let mut offset = 0;
        loop {
            let last = (offset + CHUNK).min(total);
            let chunk = fleet
                .send_expecting(
                    "blob upload (chunk)",
                    self.route,
                    Some(&token),
                    &["upload_offset_mismatch"],
                    |conn| {
                        let body = bytes[offset..last].to_vec();
                        let range = Some((offset as u64, total as u64));
                        async move { conn.client.put_blob_range(sha, body, range).await }
                    },
                )
                .await;
            match chunk {
                Ok(s) if s.value.complete => return true,
                Ok(s) => offset = s.value.received as usize,
                Err(e) if e.code() == Some("upload_offset_mismatch") => {
                    fleet.stats.note(
                        "chunks answered 409 upload_offset_mismatch after a cut (resumed)",
                        1,
                    );
                    let status = fleet
                        .call(
                            "blob upload status",
                            self.route,
                            Some(&token),
                            |conn| async move { conn.client.blob_upload_status(sha).await },
                        )
                        .await;
                    match status {
                        Ok(s) if s.complete => return true,
                        Ok(s) => offset = s.received as usize,
                        Err(_) => return false,
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Downloads one of its photos through the other instance: the same bytes.
    async fn download(&mut self, fleet: &Fleet) {
        if self.photos.is_empty() {
            return self.pull(fleet).await;
        }
        let sha = self.photos[self.rng.below(self.photos.len() as u64) as usize].clone();
        let token = self.session.access.clone();
        let route = self.route.other();
        let got = fleet
            .call(
                "blob download (other instance)",
                route,
                Some(&token),
                |conn| {
                    let sha = sha.clone();
                    async move { conn.client.get_blob(&sha).await }
                },
            )
            .await;
        if let Ok(bytes) = got
            && hex(&Sha256::digest(&bytes)) != sha
        {
            let what = format!("blob {sha} downloaded as {} other bytes", bytes.len());
            fleet
                .stats
                .error("blob download (other instance)", route, what);
        }
    }

    /// Everything it wrote, as last acknowledged.
    pub fn acknowledged(&self) -> impl Iterator<Item = (Uuid, Expect)> + '_ {
        self.members.iter().chain(&self.forms).map(|own| {
            let expect = Expect {
                collection: own.collection,
                unit: self.branch,
                version: own.version,
                digest: own.digest.clone(),
            };
            (own.id, expect)
        })
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
