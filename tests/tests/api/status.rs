//! `GET /v1/status`: counts checked number by number against what the test wrote.

use paicha_domain::role::Role;
use paicha_tests::{delete, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn status_counts_what_the_branches_did() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    t.admin
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

    // Branch 1: four members.
    let (lost, recent, mobile, surplus) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let b1 = t.branch1.id;
    let hash = "ab".repeat(32);
    let case = Uuid::now_v7();
    let r = t
        .secretary1
        .push("p", vec![
            put(1, "members", lost, b1, json!({"name": "失联甲", "member_type": "full", "whereabouts_known": false, "last_activity_on": "2015-09-07", "contact_status": "lost"})),
            put(2, "members", recent, b1, json!({"name": "近期乙", "member_type": "probationary", "whereabouts_known": false, "last_dues_paid_on": "2015-09-08"})),
            put(3, "members", mobile, b1, json!({"name": "流动丙", "member_type": "full", "contact_status": "mobile", "whereabouts_known": true})),
            put(4, "members", surplus, b1, json!({"name": "多余丁", "roster_status": "flagged_surplus"})),
            put(5, "info_forms", Uuid::now_v7(), b1, json!({"member_id": mobile, "confirmation_mode": "post", "copies": 3, "photos": [hash, hash, hash], "signature": hash, "fingerprint": hash})),
            // Confirmed remotely on the complete form by post, with why the member could not come.
            patch(12, "members", mobile, None, json!({"roster_status": "confirmed_remote", "remote_reason": "在外地务工，无法返回"})),
            put(6, "info_forms", Uuid::now_v7(), b1, json!({"member_id": recent, "confirmation_mode": "on_site", "copies": 3, "photos": [hash], "signature": hash})),
            put(7, "roster_ledger_entries", Uuid::now_v7(), b1, json!({"ledger": "ledger_b", "name": "多余丁", "surplus_reason": "duplicate"})),
            put(8, "contact_cases", case, b1, json!({"member_id": lost})),
            put(9, "contact_attempts", Uuid::now_v7(), b1, json!({"case_id": case, "attempted_on": "2016-03-20", "method": "direct", "channel": "phone", "result": "no_lead"})),
            put(10, "department_search_requests", Uuid::now_v7(), b1, json!({"case_id": case, "departments": ["police_household"]})),
            put(11, "dispositions", Uuid::now_v7(), b1, json!({"member_id": lost, "disposition_type": "suspend", "status": "proposed"})),
        ])
        .await
        .unwrap();
    for result in &r.results {
        assert!(result.error.is_none(), "{result:?}");
    }
    // The 组织办 removes the surplus person: no longer counted.
    office
        .push(
            "o",
            vec![patch(
                1,
                "members",
                surplus,
                None,
                json!({"roster_status": "removed_from_roster"}),
            )],
        )
        .await
        .unwrap();

    // Branch 2: one member, an open case found by a department search, and a transfer to follow up.
    let (other, case2) = (Uuid::now_v7(), Uuid::now_v7());
    let b2 = t.branch2.id;
    t.secretary2
        .push(
            "p",
            vec![
                put(
                    1,
                    "members",
                    other,
                    b2,
                    json!({"name": "戊", "roster_status": "confirmed_on_site", "confirmation_exception": "本人已到场签字，采集表原件在党支部"}),
                ),
                put(
                    2,
                    "contact_cases",
                    case2,
                    b2,
                    json!({"member_id": other, "result": "searching"}),
                ),
                patch(
                    3,
                    "contact_cases",
                    case2,
                    None,
                    json!({"result": "found", "found_by": "department"}),
                ),
                put(
                    4,
                    "roster_ledger_entries",
                    Uuid::now_v7(),
                    b2,
                    json!({"ledger": "ledger_a", "name": "己"}),
                ),
            ],
        )
        .await
        .unwrap();
    t.street_staff
        .push(
            "s",
            vec![put(
                1,
                "transfers",
                Uuid::now_v7(),
                t.street.id,
                json!({"branch_id": b2, "member_name": "庚"}),
            )],
        )
        .await
        .unwrap();

    let status = t.admin.status(Some(t.work_area.id)).await.unwrap();
    assert_eq!(status.org_unit_id, t.work_area.id);
    assert_eq!(
        status.campaign_start_date.map(|d| d.to_string()).as_deref(),
        Some("2016-03-07")
    );
    let c = &status.counts;
    assert_eq!(c.members_total, 4);
    assert_eq!((c.full_members, c.probationary_members), (2, 1));
    assert_eq!(c.verified, 2);
    assert_eq!(
        c.lost_contact_at_start, 1,
        "2015-09-07 is lost at a start on 2016-03-07, 2015-09-08 is not"
    );
    assert_eq!(c.mobile, 1);
    assert_eq!((c.info_forms, c.info_forms_complete), (2, 1));
    assert_eq!(c.confirmation_modes.get("post"), Some(&1));
    assert_eq!((c.ledger_a_entries, c.ledger_b_entries), (1, 1));
    assert_eq!(
        (c.contact_cases, c.cases_with_attempt, c.contact_attempts),
        (2, 1, 1)
    );
    assert_eq!(c.found_by_method.get("department"), Some(&1));
    assert_eq!(
        (c.department_requests, c.department_requests_pending),
        (1, 1)
    );
    assert_eq!((c.transfers, c.transfers_without_receipt), (1, 1));
    assert_eq!(c.dispositions.get("suspend"), Some(&1));
    assert_eq!(c.roster.get("removed_from_roster"), None);

    // Per child: the branches in tree order.
    assert_eq!(status.children.len(), 2);
    let by_id = |id| {
        status
            .children
            .iter()
            .find(|s| s.org_unit_id == id)
            .unwrap()
    };
    let (s1, s2) = (by_id(b1), by_id(b2));
    assert_eq!((s1.counts.members_total, s2.counts.members_total), (3, 1));
    assert_eq!(
        (
            s1.counts.lost_contact_at_start,
            s2.counts.lost_contact_at_start
        ),
        (1, 0)
    );
    // The transfer counts for the branch it is addressed to.
    assert_eq!((s1.counts.transfers, s2.counts.transfers), (0, 1));
    assert_eq!(
        (s1.counts.ledger_b_entries, s2.counts.ledger_a_entries),
        (1, 1)
    );
    assert!(s1.children.is_empty());

    // The committee's own view has its one child (the street), with the same totals.
    let top = t.admin.status(None).await.unwrap();
    assert_eq!(top.org_unit_id, t.committee.id);
    assert_eq!(top.children.len(), 1);
    assert_eq!(top.counts, status.counts);

    // Scope: a branch sees itself only; nothing of another tenant; the platform admin nothing.
    let own = t.secretary1.status(None).await.unwrap();
    assert_eq!(own.counts.members_total, 3);
    let err = t.secretary1.status(Some(t.work_area.id)).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let b = app.tenant("b").await;
    assert_eq!(
        b.admin
            .status(Some(t.work_area.id))
            .await
            .unwrap_err()
            .status(),
        Some(StatusCode::NOT_FOUND)
    );
    assert_eq!(b.admin.status(None).await.unwrap().counts.members_total, 0);
    assert_eq!(
        app.admin.status(None).await.unwrap_err().status(),
        Some(StatusCode::FORBIDDEN)
    );
}

#[tokio::test]
async fn the_status_follows_changes_made_after_it_was_first_read() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let b1 = t.branch1.id;
    t.secretary1
        .push(
            "p",
            vec![
                put(
                    1,
                    "members",
                    a,
                    b1,
                    json!({"name": "甲", "member_type": "full"}),
                ),
                put(
                    2,
                    "members",
                    b,
                    b1,
                    json!({"name": "乙", "member_type": "full"}),
                ),
            ],
        )
        .await
        .unwrap();
    let first = t.admin.status(None).await.unwrap();
    assert_eq!(
        (first.counts.members_total, first.counts.full_members),
        (2, 2)
    );
    assert!(first.phases.is_empty(), "no campaign, no phases");

    t.secretary1
        .push(
            "p",
            vec![
                patch(
                    3,
                    "members",
                    a,
                    None,
                    json!({"member_type": "probationary"}),
                ),
                delete(4, "members", b),
            ],
        )
        .await
        .unwrap();
    let second = t.admin.status(None).await.unwrap();
    assert_eq!(
        (
            second.counts.members_total,
            second.counts.full_members,
            second.counts.probationary_members
        ),
        (1, 0, 1)
    );
    // Another tenant's read model is its own.
    let other = app.tenant("b").await;
    assert_eq!(
        other.admin.status(None).await.unwrap().counts.members_total,
        0
    );
}

#[tokio::test]
async fn the_status_reloads_once_deletions_it_never_saw_are_purged() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let b1 = t.branch1.id;
    t.secretary1
        .push(
            "p",
            vec![
                put(1, "members", a, b1, json!({"name": "甲"})),
                put(2, "members", b, b1, json!({"name": "乙"})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(t.admin.status(None).await.unwrap().counts.members_total, 2);
    // 乙 is deleted, and the tombstone purged before the status looks again: the change is no
    // longer there to be read, so the read model must load afresh.
    t.secretary1
        .push("p", vec![delete(3, "members", b)])
        .await
        .unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    assert_eq!(purge(&store, later, DEFAULT_MAX_AGE).await.unwrap(), 1);
    assert_eq!(t.admin.status(None).await.unwrap().counts.members_total, 1);
}

#[tokio::test]
async fn every_count_comes_with_its_chinese_label_on_top() {
    let app = paicha_tests::spawn_app().await;
    let t = app.tenant("l").await;
    let status = t.admin.status(None).await.unwrap();
    let labels = status.count_labels.expect("labels on the top level");
    let counts = serde_json::to_value(&status.counts).unwrap();
    for key in counts.as_object().unwrap().keys() {
        assert!(labels.contains_key(key), "{key} has no label");
    }
    assert_eq!(labels["members_total"], "在册党员");
    assert!(status.children.iter().all(|c| c.count_labels.is_none()));
}
