//! The database of one test, on either engine.
//!
//! SQLite in a folder of the kit, or, when `PAICHA_TEST_DATABASE_URL` names a PostgreSQL
//! server, a fresh database created on it for the test and dropped afterwards (set
//! `PAICHA_TEST_KEEP_DB=1` to keep it for inspection). A test that asked for PostgreSQL fails if
//! it cannot reach it; it never falls back to SQLite.

use paicha_server::config::sqlite_url;
use uuid::Uuid;

/// The variable that points the tests at PostgreSQL.
pub const PG_VAR: &str = "PAICHA_TEST_DATABASE_URL";

/// A database of one test.
pub struct TestDb {
    pub url: String,
    pub engine: &'static str,
    /// A folder of the test's own: the SQLite file, and room for a server's data dir.
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

/// The PostgreSQL server `PAICHA_TEST_DATABASE_URL` names, if it names one.
pub fn postgres_url() -> Option<String> {
    std::env::var(PG_VAR).ok().filter(|v| !v.is_empty())
}

impl TestDb {
    /// On PostgreSQL when `PAICHA_TEST_DATABASE_URL` names a server, else on SQLite.
    pub async fn create() -> Self {
        Self::create_on(postgres_url()).await
    }

    /// A database on the PostgreSQL server at `postgres` (a fresh one, dropped afterwards), or
    /// SQLite in a temporary folder when `None`.
    pub async fn create_on(postgres: Option<String>) -> Self {
        let dir = crate::process::temp_dir();
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
