//! The migrations, on the test's database engine.

use paicha_storage::{Store, StoreError};
use paicha_tests::TestDb;

#[tokio::test]
async fn migrations_apply_roll_back_and_apply_again() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url).await.unwrap();
    assert!(!store.pending_migrations().await.unwrap().is_empty());
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    // Idempotent.
    store.migrate().await.unwrap();
    store.rollback_migrations(None).await.unwrap();
    assert!(!store.pending_migrations().await.unwrap().is_empty());
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_schema_from_a_newer_paicha_is_refused() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    drop(store);
    {
        use sqlx::Connection as _;
        let sql = "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)";
        if db.engine == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        } else {
            let url = db.url.replace("?mode=rwc", "");
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
    }
    let store = Store::connect(&db.url).await.unwrap();
    match store.migrate().await {
        Err(StoreError::SchemaTooNew(name)) => assert!(name.contains("from_the_future")),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    assert!(matches!(
        Store::connect("mysql://root@localhost/test").await,
        Err(StoreError::UnsupportedUrl)
    ));
}
