//! The test kit of the workspace, used by the black-box tests (`tests/api`), the real binary's
//! and the deployment's tests (`crates/server/tests`) and the benchmarks:
//!
//! - [`spawn_app`]: the real router on port 0 over a database of the test's own ([`TestDb`]:
//!   SQLite in a temporary folder, or a fresh PostgreSQL database when
//!   `PAICHA_TEST_DATABASE_URL` names a server), driven over HTTP with `paicha-client`;
//! - [`tenant`]: tenants built through the API ([`Tenant`], [`Committee`]);
//! - [`pull`]: pulling to the end, and a device's [`Replica`];
//! - [`process`]: child processes that end with the test, however it ends, and temporary
//!   folders that go with them;
//! - [`browser`]: a real headless Chromium over WebDriver;
//! - [`hostile`]: spreadsheets made to hurt a reader;
//! - [`roster`]: members shaped like a real 花名册's rows;
//! - [`raw`]: the same rows written straight through the database driver, for the benchmark's
//!   measure of what the storage alone allows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod db;
pub mod hostile;
pub mod process;
pub mod pull;
pub mod raw;
pub mod roster;
pub mod tenant;

use std::net::SocketAddr;

use paicha_client::Client;
use paicha_domain::api::v1::{OrgUnit, TokenResponse};
use paicha_domain::role::Role;
use paicha_server::config::{BootstrapAdmin, Secret};
use paicha_server::{Application, Settings};
use tokio::sync::oneshot;
use uuid::Uuid;

pub use db::{PG_VAR, TestDb};
pub use pull::{Replica, pull_everything, pull_to_end};
pub use tenant::{Committee, Tenant, committee_with_branch, first_sign_in, new_user, unit};

pub const ADMIN_USER: &str = "platform-admin";
/// The bootstrap administrator's password once the kit has changed it at the first sign-in.
pub const ADMIN_PASSWORD: &str = "platform-admin-password";
/// The password `PAICHA_BOOTSTRAP_ADMIN` gives it: good for the first sign-in only, which must
/// set a new one.
pub const ADMIN_BOOTSTRAP_PASSWORD: &str = "platform-admin-bootstrap";
/// The password of every user the fixtures create.
pub const PASSWORD: &str = "correct-horse-battery";

/// A running server of one test. Stops when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The address serving `/metrics` alone, when `metrics_listen` was set.
    pub metrics_addr: Option<SocketAddr>,
    settings: Settings,
    pub base: String,
    /// Not signed in.
    pub client: Client,
    /// Signed in as the bootstrap `system_admin`.
    pub admin: Client,
    pub jwt_secret: Vec<u8>,
    shutdown: Option<oneshot::Sender<()>>,
    // Declared last: the server stops before its database is dropped.
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs `app` on the test's runtime until the returned sender is used or dropped.
fn serve(app: Application) -> oneshot::Sender<()> {
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async {
                let _ = rx.await;
            })
            .await;
    });
    tx
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server; `configure` may change the settings first. The bootstrap administrator
/// signs in and, as an operator must at the first sign-in, sets a new password
/// ([`ADMIN_PASSWORD`]).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(configure, true).await
}

/// Starts a server whose bootstrap administrator has never signed in: its password is still
/// [`ADMIN_BOOTSTRAP_PASSWORD`] and must be changed at the first sign-in (`admin` is not
/// signed in).
pub async fn spawn_app_first_run() -> TestApp {
    spawn(|_| {}, false).await
}

async fn spawn(configure: impl FnOnce(&mut Settings), first_sign_in: bool) -> TestApp {
    let db = TestDb::create().await;
    // 244 random bits, as hex: a secret `paicha serve` accepts (config::check_jwt_secret).
    let jwt_secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()).into_bytes();
    let mut settings = Settings::new(
        db.url.clone(),
        db.dir.path().to_path_buf(),
        Secret::new(jwt_secret.clone()),
    );
    settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.bootstrap_admin = Some(BootstrapAdmin {
        username: ADMIN_USER.to_owned(),
        password: Secret::new(ADMIN_BOOTSTRAP_PASSWORD),
    });
    // Keep the throttle's shape but not its wall-clock cost.
    settings.login_throttle.step = std::time::Duration::from_millis(10);
    settings.source_throttle.step = std::time::Duration::from_millis(10);
    configure(&mut settings);

    let app = Application::build(settings.clone())
        .await
        .expect("application builds");
    let addr = app.local_addr().expect("bound address");
    let metrics_addr = app.metrics_addr();
    let tx = serve(app);
    let base = format!("http://{addr}");
    let client = Client::new(base.clone());
    // With a deliberately tiny request timeout the admin cannot sign in; tests that set one
    // use only `client`.
    let admin = if first_sign_in {
        admin_first_sign_in(&client).await
    } else {
        client.clone()
    };
    TestApp {
        addr,
        metrics_addr,
        settings,
        base,
        client,
        admin,
        jwt_secret,
        shutdown: Some(tx),
        db,
    }
}

/// The bootstrap administrator's first sign-in: told to change the password, it does, and its
/// session goes on. With a deliberately tiny request timeout this cannot be done: then the
/// client is returned as it was.
async fn admin_first_sign_in(client: &Client) -> Client {
    match first_sign_in(client, ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD, ADMIN_PASSWORD).await {
        Ok((admin, asked)) => {
            assert!(
                asked,
                "the bootstrap administrator was not asked to change its password"
            );
            admin
        }
        Err(_) => client.clone(),
    }
}

/// A second server on the same database, as behind a load balancer. Stops when dropped.
pub struct Instance {
    pub client: Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// Stops the server (its database stays), as when the network or the server goes away;
    /// returns once its port refuses connections.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(self.addr).await.is_ok() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the server did not stop"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Starts the server again on the same address and database.
    pub async fn restart(&mut self) {
        let mut settings = self.settings.clone();
        settings.listen = self.addr;
        let started = std::time::Instant::now();
        let app = loop {
            match Application::build(settings.clone()).await {
                Ok(app) => break app,
                // The old socket may linger for a moment.
                Err(e) if started.elapsed() < std::time::Duration::from_secs(10) => {
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the server does not start again: {e}"),
            }
        };
        let tx = serve(app);
        self.shutdown = Some(tx);
    }

    /// Starts another instance on this test's database and secret.
    pub async fn second_instance(&self) -> Instance {
        let app = Application::build(self.settings.clone())
            .await
            .expect("second instance builds");
        let addr = app.local_addr().expect("bound address");
        let tx = serve(app);
        Instance {
            client: Client::new(format!("http://{addr}")),
            shutdown: Some(tx),
        }
    }

    /// Creates a tenant named after `prefix` through the API, as the platform admin and then
    /// the tenant's committee admin would.
    pub async fn tenant(&self, prefix: &str) -> Tenant {
        Tenant::build(&self.client, &self.admin, prefix)
            .await
            .unwrap_or_else(|e| panic!("tenant {prefix}: {e:#}"))
    }

    /// Has `creator` create a user with `role` at `unit`, and returns that user signed in.
    pub async fn user_at(
        &self,
        creator: &Client,
        username: &str,
        role: Role,
        unit: &OrgUnit,
    ) -> Client {
        creator
            .create_user(&new_user(username, role, Some(unit.id)))
            .await
            .unwrap_or_else(|e| panic!("create {username}: {e}"));
        self.sign_in(username).await.0
    }

    /// Signs a fixture user in.
    pub async fn sign_in(&self, username: &str) -> (Client, TokenResponse) {
        self.client
            .signed_in(username, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("sign in {username}: {e}"))
    }
}

/// A valid 18-character 公民身份号码 with the given birth date (`YYYYMMDD`) and sequence number
/// (odd: male, even: female).
pub fn id_number(birth: &str, seq: u32) -> String {
    roster::id_number_of("110105", birth, seq)
}

/// A distinct valid 公民身份号码 for the `n`th member a test or benchmark seeds (`male`: an odd
/// sequence number), so that many members never share one (`id_number_taken`).
pub fn seeded_id_number(n: usize, male: bool) -> String {
    let n = u32::try_from(n).unwrap_or(0);
    let birth = format!(
        "19{:02}{:02}{:02}",
        40 + n / 120_000 % 50,
        1 + n / 400 % 12,
        1 + n / 13 % 28
    );
    id_number(&birth, (n % 400) * 2 + u32::from(male))
}

/// A put that creates a record.
pub fn put(
    mutation_id: i64,
    collection: &str,
    id: Uuid,
    unit: Uuid,
    fields: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "mutation_id": mutation_id, "collection": collection, "id": id,
        "org_unit_id": unit, "op": "put", "fields": fields,
    })
}

/// A patch of some fields, optionally based on a version.
pub fn patch(
    mutation_id: i64,
    collection: &str,
    id: Uuid,
    base: Option<u64>,
    fields: serde_json::Value,
) -> serde_json::Value {
    let mut m = serde_json::json!({
        "mutation_id": mutation_id, "collection": collection, "id": id, "op": "patch", "fields": fields,
    });
    if let Some(base) = base {
        m["base_version"] = base.into();
    }
    m
}

pub fn delete(mutation_id: i64, collection: &str, id: Uuid) -> serde_json::Value {
    serde_json::json!({"mutation_id": mutation_id, "collection": collection, "id": id, "op": "delete"})
}
