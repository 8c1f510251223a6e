//! The status read model kept on disk (issue #23 item 5): a server started again answers the
//! committee's status from the tenant's checkpoint and the changes since, exactly as a load of
//! every record would; a checkpoint it cannot trust is passed over.

use chrono::NaiveDate;
use paicha_domain::api::v1::UnitStatus;
use paicha_domain::facts::{CHECKPOINT_FORMAT, Facts};
use paicha_domain::ids::TenantId;
use paicha_storage::Store;
use paicha_tests::{Tenant, TestApp, delete, patch, put, spawn_app_with};
use serde_json::json;
use uuid::Uuid;

/// A server that checkpoints every tenant's model, however small.
async fn app() -> TestApp {
    spawn_app_with(|s| s.status_checkpoint_records = 1).await
}

fn as_of() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2016, 6, 1)
}

async fn status(t: &Tenant) -> UnitStatus {
    t.admin.status_on(None, as_of()).await.unwrap()
}

/// How many times this process loaded a status model from `from` (`checkpoint`, `records`).
async fn loads(app: &TestApp, from: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("paicha_status_model_loads_total") && l.contains(&format!("\"{from}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits until the tenant's checkpoint on disk is at `version` or later; returns its version.
async fn checkpointed(store: &Store, tenant: TenantId, version: u64) -> u64 {
    let started = std::time::Instant::now();
    loop {
        if let Some(c) = store.status_checkpoint(tenant).await.unwrap()
            && c.version >= version
        {
            return c.version;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no checkpoint was written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A campaign and records of most kinds the status counts, over both branches and the street.
async fn records(t: &Tenant) -> (Uuid, Uuid) {
    let pushed = t
        .admin
        .push(
            "office",
            vec![put(
                1,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "2016年集中排查", "start_date": "2016-03-07"}),
            )],
        )
        .await
        .unwrap();
    assert!(pushed.results.iter().all(|r| r.error.is_none()));
    let (lost, mobile, case) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let b1 = t.branch1.id;
    let hash = "ab".repeat(32);
    let pushed = t
        .secretary1
        .push("p", vec![
            put(1, "members", lost, b1, json!({"name": "失联甲", "member_type": "full", "whereabouts_known": false, "last_activity_on": "2015-09-07", "contact_status": "lost"})),
            put(2, "members", Uuid::now_v7(), b1, json!({"name": "近期乙", "member_type": "probationary", "whereabouts_known": false, "last_dues_paid_on": "2015-09-08"})),
            put(3, "members", mobile, b1, json!({"name": "流动丙", "member_type": "full", "contact_status": "mobile", "whereabouts_known": true, "flow_out_on": "2015-01-02", "flow_destination": "广东省深圳市"})),
            put(4, "info_forms", Uuid::now_v7(), b1, json!({"member_id": mobile, "confirmation_mode": "post", "copies": 3, "photos": [hash, hash, hash], "signature": hash, "fingerprint": hash})),
            patch(5, "members", mobile, None, json!({"roster_status": "confirmed_remote", "remote_reason": "在外地务工，无法返回"})),
            put(6, "roster_ledger_entries", Uuid::now_v7(), b1, json!({"ledger": "ledger_b", "name": "多余丁", "surplus_reason": "duplicate"})),
            put(7, "contact_cases", case, b1, json!({"member_id": lost})),
            put(8, "contact_attempts", Uuid::now_v7(), b1, json!({"case_id": case, "attempted_on": "2016-03-20", "method": "direct", "channel": "phone", "result": "no_lead"})),
            put(9, "department_search_requests", Uuid::now_v7(), b1, json!({"case_id": case, "departments": ["police_household"]})),
            put(10, "dispositions", Uuid::now_v7(), b1, json!({"member_id": lost, "disposition_type": "suspend", "status": "proposed"})),
        ])
        .await
        .unwrap();
    assert!(
        pushed.results.iter().all(|r| r.error.is_none()),
        "{pushed:?}"
    );
    let other = Uuid::now_v7();
    let pushed = t
        .secretary2
        .push(
            "p",
            vec![put(
                1,
                "members",
                other,
                t.branch2.id,
                json!({"name": "戊", "roster_status": "confirmed_on_site", "confirmation_exception": "本人已到场签字"}),
            )],
        )
        .await
        .unwrap();
    assert!(pushed.results.iter().all(|r| r.error.is_none()));
    let pushed = t
        .street_staff
        .push(
            "s",
            vec![put(
                1,
                "transfers",
                Uuid::now_v7(),
                t.street.id,
                json!({"branch_id": t.branch2.id, "member_name": "庚"}),
            )],
        )
        .await
        .unwrap();
    assert!(pushed.results.iter().all(|r| r.error.is_none()));
    (lost, other)
}

/// The status a server answers when it loads every record: the checkpoint removed, started
/// again.
async fn from_records(app: &mut TestApp, store: &Store, t: &Tenant) -> UnitStatus {
    let tenant = TenantId::new(t.committee.id);
    app.stop().await;
    store
        .save_status_checkpoint(tenant, u64::MAX >> 1, Vec::new())
        .await
        .unwrap();
    app.restart().await;
    let before = loads(app, "records").await;
    let status = status(t).await;
    assert_eq!(loads(app, "records").await, before + 1);
    status
}

#[tokio::test]
async fn after_a_restart_the_status_starts_from_its_checkpoint_and_answers_as_the_records_do() {
    let mut app = app().await;
    let t = app.tenant("a").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let tenant = TenantId::new(t.committee.id);
    let (lost, other) = records(&t).await;

    // The first status loads the records and writes the checkpoint.
    let first = status(&t).await;
    assert_eq!(first.counts.members_total, 4);
    checkpointed(&store, tenant, 1).await;

    // Changes the model has not seen: a member changed, one deleted, one made.
    let pushed = t
        .secretary1
        .push(
            "p",
            vec![
                patch(
                    20,
                    "members",
                    lost,
                    None,
                    json!({"member_type": "probationary"}),
                ),
                put(
                    21,
                    "members",
                    Uuid::now_v7(),
                    t.branch1.id,
                    json!({"name": "新己", "member_type": "full"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(pushed.results.iter().all(|r| r.error.is_none()));
    t.secretary2
        .push("p", vec![delete(2, "members", other)])
        .await
        .unwrap();

    app.stop().await;
    app.restart().await;
    let (checkpoint, records) = (
        loads(&app, "checkpoint").await,
        loads(&app, "records").await,
    );
    let restarted = status(&t).await;
    assert_eq!(loads(&app, "checkpoint").await, checkpoint + 1);
    assert_eq!(
        loads(&app, "records").await,
        records,
        "read from the records"
    );
    assert_eq!(restarted.counts.members_total, 4, "{:?}", restarted.counts);
    assert_ne!(restarted, first);

    // The same answer as a load of every record.
    assert_eq!(from_records(&mut app, &store, &t).await, restarted);
}

#[tokio::test]
async fn a_checkpoint_of_another_format_or_damaged_is_passed_over_and_replaced() {
    let mut app = app().await;
    let t = app.tenant("a").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let tenant = TenantId::new(t.committee.id);
    records(&t).await;
    let expected = status(&t).await;
    let version = checkpointed(&store, tenant, 1).await;
    let good = store.status_checkpoint(tenant).await.unwrap().unwrap();

    let mut cut = good.body.clone();
    cut.truncate(cut.len() / 2);
    let mut damaged = good.body.clone();
    let last = damaged.len() - 1;
    damaged[last / 2] ^= 0xff;
    damaged.truncate(last);
    // Another format: the header's first byte is its number.
    let mut other = good.body.clone();
    assert_eq!(other[0], u8::try_from(CHECKPOINT_FORMAT).unwrap());
    other[0] += 1;
    for (what, body) in [
        ("another format", other),
        ("cut", cut),
        ("damaged", damaged),
        ("foreign", b"not a checkpoint".to_vec()),
    ] {
        app.stop().await;
        store
            .save_status_checkpoint(tenant, version, body)
            .await
            .unwrap();
        app.restart().await;
        let records = loads(&app, "records").await;
        assert_eq!(status(&t).await, expected);
        assert_eq!(loads(&app, "records").await, records + 1, "{what}");
        // Loaded from the records, the model is checkpointed again in this build's format.
        let started = std::time::Instant::now();
        loop {
            let now = store.status_checkpoint(tenant).await.unwrap().unwrap();
            if Facts::from_checkpoint(&now.body).is_ok() {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(20));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_checkpoint_behind_the_tombstone_horizon_or_ahead_of_the_database_is_not_trusted() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let mut app = app().await;
    let t = app.tenant("a").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let tenant = TenantId::new(t.committee.id);
    let (_, other) = records(&t).await;
    assert_eq!(status(&t).await.counts.members_total, 4);
    let version = checkpointed(&store, tenant, 1).await;
    let good = store.status_checkpoint(tenant).await.unwrap().unwrap();

    // 戊 is deleted and the tombstone purged: the checkpoint's catch-up cannot see it, and the
    // model keeps only the records still live (not a load of every record).
    t.secretary2
        .push("p", vec![delete(2, "members", other)])
        .await
        .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    assert_eq!(purge(&store, later, DEFAULT_MAX_AGE).await.unwrap(), 1);
    app.stop().await;
    app.restart().await;
    let (checkpoint, records) = (
        loads(&app, "checkpoint").await,
        loads(&app, "records").await,
    );
    let kept = status(&t).await;
    assert_eq!(kept.counts.members_total, 3);
    assert_eq!(loads(&app, "checkpoint").await, checkpoint + 1);
    assert_eq!(loads(&app, "records").await, records, "not loaded afresh");

    // Written again past the purge, and the same answer as a load of every record.
    checkpointed(&store, tenant, version + 1).await;
    assert_eq!(from_records(&mut app, &store, &t).await, kept);

    // A checkpoint of a version the database has not reached (a database restored from an
    // older backup): the facts it holds may never have been written here.
    let expected = status(&t).await;
    checkpointed(&store, tenant, version + 1).await;
    app.stop().await;
    store
        .save_status_checkpoint(tenant, 1 << 40, good.body)
        .await
        .unwrap();
    app.restart().await;
    let records = loads(&app, "records").await;
    assert_eq!(status(&t).await, expected);
    assert_eq!(loads(&app, "records").await, records + 1, "loaded afresh");
}

#[tokio::test]
async fn the_housekeeping_writes_a_checkpoint_again_once_the_model_moved_far_enough() {
    use paicha_server::facts::FactsCache;
    let app = app().await;
    let t = app.tenant("a").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let tenant = TenantId::new(t.committee.id);
    records(&t).await;
    // A cache of this test's own, which checkpoints models of 3 records or more, and writes
    // them again after 3 versions.
    let cache = FactsCache::new(3);
    let loaded = cache.read(&store, tenant, |f| f.len()).await.unwrap();
    assert!(loaded >= 3, "{loaded}");
    let saved = checkpointed(&store, tenant, 1).await;
    let push = |n: i64| {
        t.secretary1.push(
            "p",
            vec![put(
                n,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": format!("新{n}")}),
            )],
        )
    };
    // Two versions on: not far enough.
    push(30).await.unwrap();
    push(31).await.unwrap();
    cache.read(&store, tenant, |_| ()).await.unwrap();
    cache.save_moved(&store).await;
    let now = store.status_checkpoint(tenant).await.unwrap().unwrap();
    assert_eq!(now.version, saved);
    // A third: written again, at the model's version, holding what a load from the records
    // holds.
    push(32).await.unwrap();
    let (len, version) = cache
        .read_versioned(&store, tenant, |f| f.len())
        .await
        .unwrap();
    cache.save_moved(&store).await;
    let now = store.status_checkpoint(tenant).await.unwrap().unwrap();
    assert_eq!(now.version, version);
    assert_eq!(Facts::from_checkpoint(&now.body).unwrap().len(), len);
    assert_eq!(len, loaded + 3);
}
