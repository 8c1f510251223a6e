//! The black-box test harness: each test gets the real router on port 0 over a database of its
//! own, and drives it over HTTP with `paicha-client`.
//!
//! The database is SQLite in a temporary folder, or, when `PAICHA_TEST_DATABASE_URL` names a
//! PostgreSQL server, a fresh database created on it for the test and dropped afterwards (set
//! `PAICHA_TEST_KEEP_DB=1` to keep it for inspection). A test that asked for PostgreSQL fails if
//! it cannot reach it; it never falls back to SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod hostile;

use std::net::SocketAddr;

use paicha_client::Client;
use paicha_domain::api::v1::{CreateOrgUnit, CreateUser, OrgUnit, TokenResponse};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_server::config::{BootstrapAdmin, Secret, sqlite_url};
use paicha_server::{Application, Settings};
use tokio::sync::oneshot;
use uuid::Uuid;

pub const ADMIN_USER: &str = "platform-admin";
/// The bootstrap administrator's password once the kit has changed it at the first sign-in.
pub const ADMIN_PASSWORD: &str = "platform-admin-password";
/// The password `PAICHA_BOOTSTRAP_ADMIN` gives it: good for the first sign-in only, which must
/// set a new one.
pub const ADMIN_BOOTSTRAP_PASSWORD: &str = "platform-admin-bootstrap";
/// The password of every user the fixtures create.
pub const PASSWORD: &str = "correct-horse-battery";

/// The variable that points the tests at PostgreSQL.
pub const PG_VAR: &str = "PAICHA_TEST_DATABASE_URL";

/// A database of one test.
pub struct TestDb {
    pub url: String,
    pub engine: &'static str,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn create() -> Self {
        Self::create_on(std::env::var(PG_VAR).ok().filter(|v| !v.is_empty())).await
    }

    /// A database on the PostgreSQL server at `postgres` (a fresh one, dropped afterwards), or
    /// SQLite in a temporary folder when `None`.
    pub async fn create_on(postgres: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match postgres {
            None => Self {
                url: sqlite_url(&dir.path().join("paicha.db")),
                engine: "sqlite",
                dir,
                postgres: None,
            },
            Some(base) => {
                use sqlx::Connection as _;
                let name = format!("paicha_t_{}", Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{PG_VAR} is set but PostgreSQL at it is not reachable: {e}")
                    });
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let mut url =
                    reqwest::Url::parse(&base).expect("PAICHA_TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                Self {
                    url: url.to_string(),
                    engine: "postgres",
                    dir,
                    postgres: Some((base, name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        if std::env::var("PAICHA_TEST_KEEP_DB").is_ok_and(|v| v == "1") {
            eprintln!("kept test database {name}");
            return;
        }
        // Drop runs inside the test's runtime, which may not block: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection as _;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

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
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async {
                let _ = rx.await;
            })
            .await;
    });
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
    let Ok((admin, tokens)) = client.signed_in(ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD).await else {
        return client.clone();
    };
    assert!(
        tokens.password_change_required,
        "the bootstrap administrator was not asked to change its password"
    );
    match admin
        .change_password(ADMIN_BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
        .await
    {
        Ok(()) => admin,
        Err(_) => client.clone(),
    }
}

/// One tenant: committee → street → work area → two branches, with a signed-in user at each
/// level.
pub struct Tenant {
    pub committee: OrgUnit,
    pub street: OrgUnit,
    pub work_area: OrgUnit,
    pub branch1: OrgUnit,
    pub branch2: OrgUnit,
    /// `committee_admin` at the committee.
    pub admin: Client,
    /// `street_staff` at the street.
    pub street_staff: Client,
    /// `branch_secretary` at branch 1.
    pub secretary1: Client,
    /// `branch_secretary` at branch 2.
    pub secretary2: Client,
    pub prefix: String,
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
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .run_until_stopped(async {
                    let _ = rx.await;
                })
                .await;
        });
        self.shutdown = Some(tx);
    }

    /// Starts another instance on this test's database and secret.
    pub async fn second_instance(&self) -> Instance {
        let app = Application::build(self.settings.clone())
            .await
            .expect("second instance builds");
        let addr = app.local_addr().expect("bound address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .run_until_stopped(async {
                    let _ = rx.await;
                })
                .await;
        });
        Instance {
            client: Client::new(format!("http://{addr}")),
            shutdown: Some(tx),
        }
    }

    /// Creates a tenant named after `prefix` through the API, as the platform admin and then
    /// the tenant's committee admin would.
    pub async fn tenant(&self, prefix: &str) -> Tenant {
        let committee = self
            .admin
            .create_org_unit(&unit(
                None,
                OrgUnitKind::Committee,
                &format!("{prefix}党工委"),
            ))
            .await
            .expect("committee");
        let admin = self
            .user_at(
                &self.admin,
                &format!("{prefix}-admin"),
                Role::CommitteeAdmin,
                &committee,
            )
            .await;
        let street = admin
            .create_org_unit(&unit(
                Some(committee.id),
                OrgUnitKind::Street,
                &format!("{prefix}街道"),
            ))
            .await
            .expect("street");
        let work_area = admin
            .create_org_unit(&unit(
                Some(street.id),
                OrgUnitKind::WorkArea,
                &format!("{prefix}第一工作区"),
            ))
            .await
            .expect("work area");
        let branch1 = admin
            .create_org_unit(&unit(
                Some(work_area.id),
                OrgUnitKind::Branch,
                &format!("{prefix}第一党支部"),
            ))
            .await
            .expect("branch 1");
        let branch2 = admin
            .create_org_unit(&unit(
                Some(work_area.id),
                OrgUnitKind::Branch,
                &format!("{prefix}第二党支部"),
            ))
            .await
            .expect("branch 2");
        let street_staff = self
            .user_at(
                &admin,
                &format!("{prefix}-street"),
                Role::StreetStaff,
                &street,
            )
            .await;
        let secretary1 = self
            .user_at(
                &admin,
                &format!("{prefix}-sec1"),
                Role::BranchSecretary,
                &branch1,
            )
            .await;
        let secretary2 = self
            .user_at(
                &admin,
                &format!("{prefix}-sec2"),
                Role::BranchSecretary,
                &branch2,
            )
            .await;
        Tenant {
            committee,
            street,
            work_area,
            branch1,
            branch2,
            admin,
            street_staff,
            secretary1,
            secretary2,
            prefix: prefix.to_owned(),
        }
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

pub fn unit(parent: Option<Uuid>, kind: OrgUnitKind, name: &str) -> CreateOrgUnit {
    CreateOrgUnit {
        id: None,
        parent_id: parent,
        kind,
        name: name.to_owned(),
        code: None,
    }
}

pub fn new_user(username: &str, role: Role, unit: Option<Uuid>) -> CreateUser {
    CreateUser {
        username: username.to_owned(),
        password: PASSWORD.to_owned(),
        org_unit_id: unit,
        role,
        display_name: None,
    }
}

/// A valid 18-character 公民身份号码 with the given birth date (`YYYYMMDD`) and sequence number
/// (odd: male, even: female).
pub fn id_number(birth: &str, seq: u32) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("110105{birth}{:03}", seq % 1000);
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
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

/// A device's replica, built only from pulls.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Replica {
    /// (collection, id) → (version, fields); tombstones remove records.
    pub records: std::collections::BTreeMap<
        (String, Uuid),
        (u64, serde_json::Map<String, serde_json::Value>),
    >,
    pub cursor: Option<String>,
    /// Every version received, in order: strictly increasing if no change came twice.
    pub received: Vec<u64>,
}

impl Replica {
    /// Pulls until there is nothing more.
    pub async fn sync(&mut self, client: &Client) -> paicha_client::ClientResult<()> {
        loop {
            let page = client
                .pull(&paicha_client::PullQuery {
                    cursor: self.cursor.as_deref(),
                    limit: Some(100),
                    ..Default::default()
                })
                .await?;
            for c in page.changes {
                self.received.push(c.version);
                let key = (c.collection.as_str().to_owned(), c.id);
                if c.deleted {
                    self.records.remove(&key);
                } else {
                    self.records.insert(key, (c.version, c.fields));
                }
            }
            self.cursor = Some(page.cursor);
            if !page.has_more {
                return Ok(());
            }
        }
    }

    pub fn has(&self, collection: &str, id: Uuid) -> bool {
        self.records.contains_key(&(collection.to_owned(), id))
    }
}
