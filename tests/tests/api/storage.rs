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

/// A push's transaction is bound to its tenant: what it reads by id is the tenant's own record
/// or unit, and of another tenant's record only that the id is taken (so that a push can answer
/// `id_taken` without ever holding the record).
#[tokio::test]
async fn a_tenants_transaction_reads_by_id_only_its_own_records_and_units() {
    use chrono::Utc;
    use paicha_domain::collection::Collection;
    use paicha_domain::ids::UnitId;
    use paicha_domain::org::OrgUnitKind;
    use paicha_storage::{ById, NewOrgUnit, RecordRow};
    use uuid::Uuid;

    let db = TestDb::create().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    // Whole milliseconds: PostgreSQL keeps microseconds, so a finer time would not read back equal.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
    let mut roots = Vec::new();
    for name in ["甲街道党工委", "乙街道党工委"] {
        let root = store
            .insert_org_unit(NewOrgUnit {
                id: UnitId::new(Uuid::now_v7()),
                parent: None,
                kind: OrgUnitKind::Committee,
                name: name.to_owned(),
                code: None,
                now,
            })
            .await
            .unwrap();
        roots.push(root);
    }
    let member_of = |root: &paicha_storage::OrgUnitRecord| RecordRow {
        collection: Collection::Members,
        id: Uuid::now_v7(),
        tenant_id: root.tenant_id,
        org_unit_id: root.id,
        owner_path: root.path.clone(),
        addressee_id: None,
        addressee_path: None,
        version: 1,
        deleted: false,
        fields: serde_json::json!({ "name": "张三" })
            .as_object()
            .unwrap()
            .clone(),
        field_versions: serde_json::json!({ "name": 1 })
            .as_object()
            .unwrap()
            .clone(),
        created_at: now,
        created_by: Uuid::now_v7(),
        updated_at: now,
        updated_by: Uuid::now_v7(),
        device_id: None,
    };
    let (own, foreign) = (member_of(&roots[0]), member_of(&roots[1]));

    let txn = store.begin_sync(roots[0].tenant_id).await.unwrap();
    txn.insert_records(&[&own, &foreign]).await.unwrap();
    let mut found = txn
        .records(Collection::Members, &[own.id, foreign.id, Uuid::now_v7()])
        .await
        .unwrap();
    found.sort_by_key(|f| matches!(f, ById::HeldElsewhere(_)));
    assert_eq!(
        found,
        vec![ById::Own(own.clone()), ById::HeldElsewhere(foreign.id)]
    );
    assert_eq!(
        txn.record(Collection::Members, foreign.id).await.unwrap(),
        Some(ById::HeldElsewhere(foreign.id))
    );
    assert_eq!(
        txn.record(Collection::Members, own.id).await.unwrap(),
        Some(ById::Own(own.clone()))
    );
    assert!(txn.org_unit(roots[1].id).await.unwrap().is_none());
    assert_eq!(
        txn.org_unit(roots[0].id).await.unwrap(),
        Some(roots[0].clone())
    );
    let units = txn.org_units(&[roots[0].id, roots[1].id]).await.unwrap();
    assert_eq!(units, vec![roots[0].clone()]);
}
