//! Signed reports (报表, docs/domain.md §8.14): the 组织办 signs the status; the report never
//! changes, "changes since" lists exactly what moved, and a rebuilt audit chain is caught.

use paicha_domain::api::v1::{MutationStatus, Report, ReportChanges, ReportList};
use paicha_domain::ids::TenantId;
use paicha_domain::role::Role;
use paicha_tests::{TestApp, delete, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::baseline::{applied, today};

async fn refused(client: &paicha_client::Client, mutation: Value) -> String {
    let r = client.push("phone", vec![mutation]).await.unwrap();
    let result = &r.results[0];
    assert_eq!(result.status, MutationStatus::Rejected, "{result:?}");
    result.error.as_ref().unwrap().code.clone()
}

async fn call(
    app: &TestApp,
    client: &paicha_client::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(client.access_token().unwrap());
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

/// Edits the audit entry at `version` as a writer with database access would, and recomputes
/// the chain after it so that the chain itself verifies again. One tenant in the database.
async fn rewrite_chain(app: &TestApp, tenant: Uuid, version: u64) {
    use sqlx::Connection as _;
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let mut entries = store
        .change_log_page(TenantId::new(tenant), 0, 1_000_000)
        .await
        .unwrap();
    let mut prev = paicha_storage::GENESIS_HASH.to_owned();
    let mut rewritten = Vec::new();
    for e in entries.iter_mut() {
        if e.version == version {
            e.changes = json!({"phone": [null, "13900000000"]});
        }
        if e.version >= version {
            e.prev_hash = prev.clone();
            e.hash = paicha_sync::audit::entry_hash(e);
            rewritten.push((
                e.version,
                e.changes.to_string(),
                e.prev_hash.clone(),
                e.hash.clone(),
            ));
        }
        prev = e.hash.clone();
    }
    match app.db.engine {
        "sqlite" => {
            let path = app.db.dir.path().join("paicha.db");
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            for (v, changes, prev_hash, hash) in &rewritten {
                sqlx::query("UPDATE change_log SET changes = ?1, prev_hash = ?2, hash = ?3 WHERE version = ?4")
                    .bind(changes).bind(prev_hash).bind(hash).bind(*v as i64)
                    .execute(&mut c).await.unwrap();
            }
            sqlx::query("UPDATE sync_tenants SET last_hash = ?1")
                .bind(&prev)
                .execute(&mut c)
                .await
                .unwrap();
        }
        _ => {
            let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
            for (v, changes, prev_hash, hash) in &rewritten {
                sqlx::query("UPDATE change_log SET changes = $1::jsonb, prev_hash = $2, hash = $3 WHERE version = $4")
                    .bind(changes).bind(prev_hash).bind(hash).bind(*v as i64)
                    .execute(&mut c).await.unwrap();
            }
            sqlx::query("UPDATE sync_tenants SET last_hash = $1")
                .bind(&prev)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

/// The done-when of issue #20's signed reports: each change of measurement 3 tried after a
/// report is refused or leaves it unchanged; "changes since" lists exactly what moved; the
/// report is byte for byte the same after a restart; a change-log row edited and the chain
/// after it recomputed makes `paicha audit verify`'s check name the report.
#[tokio::test]
async fn a_signed_report_never_changes_and_a_rebuilt_chain_is_caught() {
    let mut app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let area = app
        .user_at(&t.admin, "area-staff", Role::WorkAreaStaff, &t.work_area)
        .await;
    let campaign = Uuid::now_v7();
    let start = today() - chrono::Days::new(3);
    applied(
        &t.admin,
        vec![put(
            1,
            "campaigns",
            campaign,
            t.committee.id,
            json!({"name": "集中排查", "start_date": start.to_string()}),
        )],
    )
    .await;
    let (wang, li, zhang) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    applied(
        &t.secretary1,
        vec![
            put(1, "members", wang, t.branch1.id, json!({"name": "王三", "member_type": "full", "whereabouts_known": false, "last_activity_on": "2014-01-01", "contact_status": "lost"})),
            put(2, "members", li, t.branch1.id, json!({"name": "李四", "member_type": "full"})),
            put(3, "members", zhang, t.branch1.id, json!({"name": "张五", "member_type": "full"})),
        ],
    )
    .await;

    // No report before the baseline is fixed; only the 组织办 signs.
    let (status, body) = call(
        &app,
        &office,
        reqwest::Method::POST,
        "/v1/reports",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    office.freeze_baseline(campaign).await.unwrap();
    let (status, _) = call(
        &app,
        &t.admin,
        reqwest::Method::POST,
        "/v1/reports",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let tomorrow = (today() + chrono::Days::new(1)).to_string();
    let (status, _) = call(
        &app,
        &office,
        reqwest::Method::POST,
        "/v1/reports",
        Some(json!({"as_of": tomorrow})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A disposition made effective and an approved submission, before the report.
    let (disposition, submission) =
        crate::baseline::decided_records(&t, &office, &area, li, 4, 2).await;

    // The 组织办 signs the committee's status.
    let (status, body) = call(
        &app,
        &office,
        reqwest::Method::POST,
        "/v1/reports",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let signed: Report = serde_json::from_slice(&body).unwrap();
    let id = signed.summary.id;
    assert_eq!(signed.summary.as_of, today());
    assert_eq!(signed.summary.signed_by_name, "org-office");
    assert_eq!(
        signed.summary.content_sha256,
        paicha_sync::audit::sha256_hex(signed.status.get().as_bytes())
    );
    let counts: Value =
        serde_json::from_str::<Value>(signed.status.get()).unwrap()["counts"].clone();
    assert_eq!(
        (
            counts["roster_at_start"].as_u64(),
            counts["lost_contact_at_start"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let (_, first) = call(
        &app,
        &office,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}"),
        None,
    )
    .await;
    let list: ReportList = {
        let (status, body) = call(&app, &t.admin, reqwest::Method::GET, "/v1/reports", None).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_slice(&body).unwrap()
    };
    assert_eq!(
        list.reports.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id]
    );
    // As a workbook to print and file: the title, the chain head, the counts as numbers.
    let (status, xlsx) = call(
        &app,
        &office,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}?format=xlsx"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    {
        use calamine::{Data, Reader, Xlsx};
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("报表").unwrap();
        let text = |r: u32, c: u32| {
            sheet
                .get_value((r, c))
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        assert!(
            text(0, 0).contains("党员组织关系集中排查情况报表"),
            "{}",
            text(0, 0)
        );
        assert!(text(3, 0).contains(&signed.summary.chain_head));
        let row = (0..sheet.height() as u32)
            .find(|r| text(*r, 0) == "排查开始时在册党员（底数）")
            .unwrap();
        assert_eq!(sheet.get_value((row, 1)), Some(&Data::Float(3.0)));
    }
    let (status, _) = call(
        &app,
        &office,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}?format=pdf"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A branch reads no report of the committee.
    let (status, _) = call(
        &app,
        &t.secretary1,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Each change of measurement 3, tried after the report: refused.
    for (client, mutation, code) in [
        (
            &t.secretary1,
            delete(7, "members", wang),
            "member_in_baseline",
        ),
        (
            &t.secretary1,
            delete(8, "dispositions", disposition),
            "disposition_decided",
        ),
        (
            &area,
            delete(2, "ledger_submissions", submission),
            "submission_approved",
        ),
        (&t.admin, delete(5, "campaigns", campaign), "campaign_fixed"),
        (
            &t.admin,
            patch(
                6,
                "campaigns",
                campaign,
                None,
                json!({"start_date": "2014-01-01"}),
            ),
            "campaign_fixed",
        ),
        (
            &t.admin,
            patch(
                7,
                "campaigns",
                campaign,
                None,
                json!({"lost_threshold_months": 24}),
            ),
            "campaign_fixed",
        ),
        (
            &t.admin,
            put(
                8,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "第二次", "start_date": today().to_string()}),
            ),
            "campaign_exists",
        ),
    ] {
        assert_eq!(refused(client, mutation).await, code);
    }
    assert_eq!(
        office.freeze_baseline(campaign).await.unwrap_err().code(),
        Some("baseline_taken")
    );
    let changes = |app: &TestApp| {
        let (app_base, token) = (app.base.clone(), office.access_token().unwrap().to_owned());
        async move {
            let resp = reqwest::Client::new()
                .get(format!("{app_base}/v1/reports/{id}/changes"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<ReportChanges>().await.unwrap()
        }
    };
    let nothing = changes(&app).await;
    assert!(
        nothing.counts.is_empty() && nothing.records.is_empty(),
        "{nothing:?}"
    );

    // A pre-start fact corrected after the report: the snapshot stays (only the 组织办 corrects
    // it now); the entry is listed, no count moved.
    // (Unsigned, a last activity the day before the start would make him not lost.)
    let day_before = (start - chrono::Days::new(1)).to_string();
    applied(
        &t.secretary1,
        vec![patch(
            9,
            "members",
            wang,
            None,
            json!({"last_activity_on": day_before}),
        )],
    )
    .await;
    let corrected = changes(&app).await;
    assert!(corrected.counts.is_empty(), "{:?}", corrected.counts);
    assert_eq!(
        corrected
            .records
            .iter()
            .map(|r| (r.collection.as_str(), r.record_id))
            .collect::<Vec<_>>(),
        vec![("members", wang)]
    );
    // The member is found: the counts that moved, and the record that moved them.
    applied(
        &t.secretary1,
        vec![patch(10, "members", wang, None, json!({"contact_status": "found", "whereabouts_known": true, "last_activity_on": today().to_string()}))],
    )
    .await;
    let found = changes(&app).await;
    let moved: std::collections::BTreeMap<&str, (u64, u64)> = found
        .counts
        .iter()
        .filter(|c| c.org_unit_id == t.committee.id)
        .map(|c| (c.key.as_str(), (c.signed, c.now)))
        .collect();
    assert_eq!(moved.get("lost_at_start_found"), Some(&(0, 1)), "{moved:?}");
    assert_eq!(moved.get("contact.found"), Some(&(0, 1)), "{moved:?}");
    assert_eq!(moved.get("contact.lost"), Some(&(1, 0)), "{moved:?}");
    assert!(!moved.contains_key("lost_contact_at_start") && !moved.contains_key("roster_at_start"));
    assert_eq!(moved.len(), 3, "{moved:?}");
    assert!(found.counts.iter().all(|c| {
        c.label_zh
            .chars()
            .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))
    }));
    assert_eq!(found.records.len(), 2);
    assert_eq!(
        found.records[1].fields,
        vec![
            "contact_status",
            "found_on",
            "last_activity_on",
            "whereabouts_known"
        ]
    );

    // The report itself: byte for byte the same, also after a restart.
    let (_, again) = call(
        &app,
        &office,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}"),
        None,
    )
    .await;
    assert_eq!(again, first);
    app.stop().await;
    app.restart().await;
    let (status, restarted) = call(
        &app,
        &office,
        reqwest::Method::GET,
        &format!("/v1/reports/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restarted, first);

    // The audit chain verifies, and so does the report.
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    for r in paicha_sync::audit::verify_all(&store).await.unwrap() {
        assert_eq!(r.broken_at, None);
    }
    let checks = paicha_sync::audit::verify_reports(&store).await.unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].problem, None);
    // A writer with database access edits an early entry and recomputes the chain after it:
    // the chain verifies, but the report's head no longer matches, and the check names it.
    app.stop().await;
    rewrite_chain(&app, t.committee.id, 2).await;
    for r in paicha_sync::audit::verify_all(&store).await.unwrap() {
        assert_eq!(
            r.broken_at, None,
            "the rebuilt chain is consistent in itself"
        );
    }
    let checks = paicha_sync::audit::verify_reports(&store).await.unwrap();
    assert_eq!(checks[0].report_id, id);
    let problem = checks[0].problem.clone().unwrap_or_default();
    assert!(problem.contains("审计链头"), "{problem}");
}

/// Who signs and who reads a report, role by role: only the 组织办 signs; the committee's own
/// roles read the committee's reports; units below see none of them (404, as for a report that
/// does not exist); the platform administrator reads no tenant data.
#[tokio::test]
async fn reports_role_by_role() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let campaign = Uuid::now_v7();
    applied(
        &t.admin,
        vec![put(
            1,
            "campaigns",
            campaign,
            t.committee.id,
            json!({"name": "集中排查", "start_date": today().to_string()}),
        )],
    )
    .await;
    applied(
        &t.secretary1,
        vec![put(
            1,
            "members",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"name": "甲"}),
        )],
    )
    .await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    office.freeze_baseline(campaign).await.unwrap();
    let (status, body) = call(
        &app,
        &office,
        reqwest::Method::POST,
        "/v1/reports",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = serde_json::from_slice::<Report>(&body).unwrap().summary.id;

    let viewer = app
        .user_at(&t.admin, "viewer", Role::Viewer, &t.committee)
        .await;
    let area = app
        .user_at(&t.admin, "area", Role::WorkAreaStaff, &t.work_area)
        .await;
    let member = app
        .user_at(&t.admin, "member", Role::GroupMember, &t.branch1)
        .await;
    let roles: Vec<(&str, &paicha_client::Client, StatusCode, StatusCode)> = vec![
        // (who, client, signing, reading the committee's report)
        ("org_office", &office, StatusCode::CREATED, StatusCode::OK),
        (
            "committee_admin",
            &t.admin,
            StatusCode::FORBIDDEN,
            StatusCode::OK,
        ),
        ("viewer", &viewer, StatusCode::FORBIDDEN, StatusCode::OK),
        (
            "street_staff",
            &t.street_staff,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        (
            "work_area_staff",
            &area,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        (
            "branch_secretary",
            &t.secretary1,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        (
            "group_member",
            &member,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        (
            "system_admin",
            &app.admin,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
    ];
    let committee = t.committee.id;
    for (who, client, sign, read) in roles {
        let (got, _) = call(
            &app,
            client,
            reqwest::Method::POST,
            "/v1/reports",
            Some(json!({"org_unit_id": committee})),
        )
        .await;
        assert_eq!(got, sign, "{who} signs");
        for path in [
            format!("/v1/reports/{id}"),
            format!("/v1/reports/{id}/changes"),
        ] {
            let (got, _) = call(&app, client, reqwest::Method::GET, &path, None).await;
            assert_eq!(got, read, "{who} reads {path}");
        }
        let (got, body) = call(&app, client, reqwest::Method::GET, "/v1/reports", None).await;
        if who == "system_admin" {
            assert_eq!(got, StatusCode::FORBIDDEN);
        } else {
            assert_eq!(got, StatusCode::OK, "{who} lists");
            let list: ReportList = serde_json::from_slice(&body).unwrap();
            let sees = list.reports.iter().any(|r| r.id == id);
            assert_eq!(
                sees,
                read == StatusCode::OK,
                "{who} lists the committee's report"
            );
        }
    }
}
