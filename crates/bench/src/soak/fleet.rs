//! The two instances as the soak's clients see them, and the one way every request is sent
//! ([`Fleet::send`]): timed, retried when it may be, and counted by what became of it.
//!
//! What counts as what, for every request:
//!
//! - **ok**: a 2xx answer (and, for the few requests that expect one, a documented refusal that
//!   a retry after a cut connection makes normal: [`Fleet::send_expecting`]);
//! - **cut**: no HTTP answer at all (a transport error: refused, reset, closed mid-answer),
//!   from the *faulty* instance, which was down when the request was sent or was killed before
//!   the answer came. The request is sent again, unchanged, to the same instance (so a push
//!   goes again with the same device and mutation ids) until it is answered;
//! - **retry-later**: `503` (`too_many_sign_ins`, `too_many_transfers`, an import waiting
//!   for a unit's lease longer than 60 s): documented as "retry later"; sent again after the
//!   `Retry-After` it names (1 s if none);
//! - **error**: anything else: any other non-2xx answer, a transport error from the steady
//!   instance or from the faulty one while it was up all along, an answer that does not say
//!   what it should (counted by the caller with [`Stats::error`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use paicha_client::{Client, ClientError, ClientResult};
use reqwest::StatusCode;

/// Which instance a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Never killed: its memory is the one sampled.
    Steady,
    /// Killed (SIGKILL) and started again on the same data dir and port now and then.
    Faulty,
}

impl Route {
    pub fn other(self) -> Self {
        match self {
            Self::Steady => Self::Faulty,
            Self::Faulty => Self::Steady,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Steady => "steady",
            Self::Faulty => "faulty",
        }
    }
}

/// One instance: where it listens (the faulty one comes back on the same port), the HTTP
/// client of its current life, and whether it is down.
pub struct Endpoint {
    url: String,
    /// A new one (a new connection pool) each time the instance is started again, so no
    /// connection of a dead process is reused.
    http: Mutex<reqwest::Client>,
    down: AtomicBool,
    kills: AtomicU64,
    /// The server process's id (for its memory).
    pub pid: AtomicU32,
}

fn http_client() -> reqwest::Client {
    // Longer than the server's 90 s request limit: a request the server lets hang is an
    // error of the server's (408), not a timeout of ours.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

impl Endpoint {
    pub fn new(url: &str, pid: u32) -> Self {
        Self {
            url: url.to_owned(),
            http: Mutex::new(http_client()),
            down: AtomicBool::new(false),
            kills: AtomicU64::new(0),
            pid: AtomicU32::new(pid),
        }
    }

    fn connection(&self, token: Option<&str>) -> Conn {
        let http = self.http.lock().map(|h| h.clone()).unwrap_or_default();
        let client = Client::with_http(self.url.clone(), http.clone());
        let client = match token {
            Some(t) => client.with_token(t),
            None => client,
        };
        Conn {
            client,
            http,
            url: self.url.clone(),
            token: token.map(str::to_owned),
        }
    }
}

/// What a request is sent with: the SDK's client (signed in when a token was given), and the
/// same connection pool for requests the SDK has no method for.
pub struct Conn {
    pub client: Client,
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
}

/// What one kind of request came to.
#[derive(Debug, Default, Clone)]
pub struct KindStats {
    pub ok: u64,
    pub cut: u64,
    pub later: u64,
    pub errors: u64,
    /// Of the requests answered 2xx, each attempt's time.
    pub latencies: Vec<Duration>,
}

/// Every request's outcome by kind, the errors' messages, and counts of notable events.
#[derive(Default)]
pub struct Stats {
    kinds: Mutex<BTreeMap<&'static str, KindStats>>,
    /// The first errors' messages, with the second of the run they came at.
    messages: Mutex<Vec<String>>,
    notes: Mutex<BTreeMap<&'static str, u64>>,
    started: Mutex<Option<Instant>>,
}

/// Error messages kept (and printed as they come); beyond, only counted.
const MESSAGES: usize = 200;

impl Stats {
    pub fn start_clock(&self) {
        if let Ok(mut s) = self.started.lock() {
            *s = Some(Instant::now());
        }
    }

    fn with(&self, kind: &'static str, f: impl FnOnce(&mut KindStats)) {
        if let Ok(mut kinds) = self.kinds.lock() {
            f(kinds.entry(kind).or_default());
        }
    }

    fn ok(&self, kind: &'static str, took: Duration) {
        self.with(kind, |k| {
            k.ok += 1;
            k.latencies.push(took);
        });
    }

    /// Counts an error of `kind` and keeps its message.
    pub fn error(&self, kind: &'static str, route: Route, message: impl Into<String>) {
        self.with(kind, |k| k.errors += 1);
        let at = self
            .started
            .lock()
            .ok()
            .and_then(|s| *s)
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let line = format!(
            "{:02}:{:04.1} {kind} ({}): {}",
            (at / 60.0) as u64,
            at % 60.0,
            route.name(),
            message.into()
        );
        if let Ok(mut messages) = self.messages.lock()
            && messages.len() < MESSAGES
        {
            eprintln!("soak error: {line}");
            messages.push(line);
        }
    }

    /// Counts one more of a notable event (not an error).
    pub fn note(&self, what: &'static str, n: u64) {
        if let Ok(mut notes) = self.notes.lock() {
            *notes.entry(what).or_default() += n;
        }
    }

    pub fn kinds(&self) -> BTreeMap<&'static str, KindStats> {
        self.kinds.lock().map(|k| k.clone()).unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn notes(&self) -> BTreeMap<&'static str, u64> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// (requests answered, cut, retry-later, errors) over every kind.
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        self.kinds().values().fold((0, 0, 0, 0), |t, k| {
            (t.0 + k.ok, t.1 + k.cut, t.2 + k.later, t.3 + k.errors)
        })
    }
}

/// An answer, and how many times the request was sent to get it.
pub struct Sent<T> {
    pub value: T,
    pub attempts: u32,
}

/// The two instances, the counts, and what the load's tasks share.
pub struct Fleet {
    pub steady: Endpoint,
    pub faulty: Endpoint,
    pub stats: Stats,
    stop: AtomicBool,
    /// When each version a push created was acknowledged (for the long-polls' wake-up time).
    acks: Mutex<BTreeMap<u64, Instant>>,
    /// Imports and pushes in flight through the faulty instance (the killer may wait for
    /// one).
    pub imports_on_faulty: AtomicUsize,
    pub pushes_on_faulty: AtomicUsize,
}

/// What the killer may wait to be in flight through the faulty instance.
#[derive(Debug, Clone, Copy)]
pub enum Flight {
    Import,
    Push,
}

/// A request counted in flight through the faulty instance while this lives.
pub struct InFlight<'a>(Option<&'a AtomicUsize>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(count) = self.0 {
            count.fetch_sub(1, SeqCst);
        }
    }
}

impl Fleet {
    pub fn new(steady: Endpoint, faulty: Endpoint) -> Self {
        Self {
            steady,
            faulty,
            stats: Stats::default(),
            stop: AtomicBool::new(false),
            acks: Mutex::default(),
            imports_on_faulty: AtomicUsize::new(0),
            pushes_on_faulty: AtomicUsize::new(0),
        }
    }

    /// Counts a request of `what` in flight through `route` (when it is the faulty instance)
    /// until the returned guard is dropped.
    pub fn in_flight(&self, route: Route, what: Flight) -> InFlight<'_> {
        if route == Route::Steady {
            return InFlight(None);
        }
        let count = self.flying(what);
        count.fetch_add(1, SeqCst);
        InFlight(Some(count))
    }

    /// The requests of `what` in flight through the faulty instance.
    pub fn flying(&self, what: Flight) -> &AtomicUsize {
        match what {
            Flight::Import => &self.imports_on_faulty,
            Flight::Push => &self.pushes_on_faulty,
        }
    }

    pub fn endpoint(&self, route: Route) -> &Endpoint {
        match route {
            Route::Steady => &self.steady,
            Route::Faulty => &self.faulty,
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(SeqCst)
    }

    pub fn stop(&self) {
        self.stop.store(true, SeqCst);
    }

    /// The faulty instance is about to be killed: from now on a request to it that gets no
    /// answer is a cut connection.
    pub fn going_down(&self) {
        self.faulty.down.store(true, SeqCst);
        self.faulty.kills.fetch_add(1, SeqCst);
    }

    /// The faulty instance listens again (process `pid`): a new connection pool for it.
    pub fn back_up(&self, pid: u32) {
        if let Ok(mut http) = self.faulty.http.lock() {
            *http = http_client();
        }
        self.faulty.pid.store(pid, SeqCst);
        self.faulty.down.store(false, SeqCst);
    }

    pub fn is_down(&self) -> bool {
        self.faulty.down.load(SeqCst)
    }

    /// Notes when the push creating `versions` was acknowledged.
    pub fn acknowledged(&self, versions: impl IntoIterator<Item = u64>) {
        let now = Instant::now();
        if let Ok(mut acks) = self.acks.lock() {
            for v in versions {
                acks.insert(v, now);
            }
        }
    }

    /// When the push that created `version` was acknowledged, if one of the soak's was.
    pub fn acknowledged_at(&self, version: u64) -> Option<Instant> {
        self.acks.lock().ok()?.get(&version).copied()
    }

    /// Forgets acknowledgements older than `age`.
    pub fn forget_acks(&self, age: Duration) {
        if let Ok(mut acks) = self.acks.lock() {
            acks.retain(|_, at| at.elapsed() < age);
        }
    }

    /// Sends a request of `kind` to `route` (signed in with `token`) until it is answered; see
    /// the module's documentation. `Err` is an error answer, counted already.
    pub async fn send<T, F, Fut>(
        &self,
        kind: &'static str,
        route: Route,
        token: Option<&str>,
        f: F,
    ) -> Result<Sent<T>, ClientError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = ClientResult<T>>,
    {
        self.send_expecting(kind, route, token, &[], f).await
    }

    /// [`Fleet::send`], returning the answer alone.
    pub async fn call<T, F, Fut>(
        &self,
        kind: &'static str,
        route: Route,
        token: Option<&str>,
        f: F,
    ) -> Result<T, ClientError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = ClientResult<T>>,
    {
        Ok(self.send(kind, route, token, f).await?.value)
    }

    /// [`Fleet::send`], where an error answer whose code is in `expected` is returned as it
    /// is, uncounted, when the request was sent again after a cut (a chunk stored before the
    /// cut, sent again: `upload_offset_mismatch`). Without a cut first it is an error.
    pub async fn send_expecting<T, F, Fut>(
        &self,
        kind: &'static str,
        route: Route,
        token: Option<&str>,
        expected: &[&str],
        mut f: F,
    ) -> Result<Sent<T>, ClientError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = ClientResult<T>>,
    {
        let endpoint = self.endpoint(route);
        let mut pause = Duration::from_millis(200);
        let mut attempts = 0;
        let mut cuts = 0;
        let mut strays = 0;
        loop {
            attempts += 1;
            let kills = endpoint.kills.load(SeqCst);
            let down = endpoint.down.load(SeqCst);
            let sent = Instant::now();
            let result = f(endpoint.connection(token)).await;
            let took = sent.elapsed();
            let err = match result {
                Ok(value) => {
                    self.stats.ok(kind, took);
                    return Ok(Sent { value, attempts });
                }
                Err(err) => err,
            };
            match &err {
                ClientError::Transport(_)
                    if route == Route::Faulty && (down || endpoint.kills.load(SeqCst) != kills) =>
                {
                    self.stats.with(kind, |k| k.cut += 1);
                    cuts += 1;
                }
                ClientError::Transport(e) => {
                    self.stats.error(kind, route, format!("no answer: {e}"));
                    strays += 1;
                    if strays >= 3 {
                        return Err(err);
                    }
                }
                e if e.status() == Some(StatusCode::SERVICE_UNAVAILABLE) => {
                    self.stats.with(kind, |k| k.later += 1);
                    self.stats.note(kind_later(kind), 1);
                    pause = Duration::from_secs(retry_after(e).unwrap_or(1));
                }
                e if cuts > 0 && e.code().is_some_and(|c| expected.contains(&c)) => {
                    return Err(err);
                }
                e => {
                    self.stats.error(kind, route, e.to_string());
                    return Err(err);
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}

/// The note counting a kind's retry-later answers.
fn kind_later(kind: &'static str) -> &'static str {
    match kind {
        "import" => "503 answers to imports (retried)",
        "sign-in (password)" => "503 answers to password sign-ins (retried)",
        _ => "503 answers to other requests (retried)",
    }
}

/// The seconds an error answer asks to wait.
fn retry_after(e: &ClientError) -> Option<u64> {
    match e {
        ClientError::Api { body, .. } => body.error.retry_after,
        _ => None,
    }
}
