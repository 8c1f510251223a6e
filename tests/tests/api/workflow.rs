//! The state machines over HTTP: each step by the role it belongs to, in order.

use paicha_domain::api::v1::MutationStatus;
use paicha_domain::role::Role;
use paicha_tests::{patch, put, spawn_app};
use serde_json::json;
use uuid::Uuid;

fn code(r: &paicha_domain::api::v1::PushResponse) -> &str {
    r.results[0]
        .error
        .as_ref()
        .map_or("applied", |e| e.code.as_str())
}

#[tokio::test]
async fn a_disposition_goes_through_its_steps_by_the_roles_they_belong_to() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let member = Uuid::now_v7();
    let d = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                member,
                t.branch1.id,
                json!({"name": "褚十四"}),
            )],
        )
        .await
        .unwrap();
    // Created only as a proposal.
    let r = t
        .secretary1
        .push(
            "p",
            vec![put(
                2,
                "dispositions",
                d,
                t.branch1.id,
                json!({"member_id": member, "disposition_type": "suspend", "status": "approved"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "invalid_transition");
    let r = t.secretary1.push("p", vec![put(3, "dispositions", d, t.branch1.id, json!({"member_id": member, "disposition_type": "suspend", "status": "proposed", "basis": "失联满6个月，经查找仍无法取得联系"}))]).await.unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);

    let mut n = 10;
    let mut step = |client: &paicha_client::Client, fields: serde_json::Value| {
        n += 1;
        let client = client.clone();
        async move {
            client
                .push("p", vec![patch(n, "dispositions", d, None, fields)])
                .await
                .unwrap()
        }
    };
    // Skipping the branch meeting, or the committee acting early, is refused.
    assert_eq!(
        code(&step(&t.secretary1, json!({"status": "submitted"})).await),
        "invalid_transition"
    );
    assert_eq!(
        code(&step(&t.admin, json!({"status": "approved"})).await),
        "invalid_transition"
    );
    assert_eq!(code(&step(&t.secretary1, json!({"status": "branch_meeting_decided", "branch_meeting_on": "2016-04-20", "branch_meeting_vote": "应到25人，实到23人，同意23人"})).await), "applied");
    assert_eq!(
        code(&step(&t.secretary1, json!({"status": "submitted"})).await),
        "applied"
    );
    // Only the committee approves.
    assert_eq!(
        code(&step(&t.secretary1, json!({"status": "approved"})).await),
        "transition_not_allowed"
    );
    assert_eq!(
        code(
            &step(
                &t.admin,
                json!({"status": "returned", "approval_opinion": "请补充查找记录"})
            )
            .await
        ),
        "applied"
    );
    assert_eq!(
        code(&step(&t.secretary1, json!({"status": "submitted"})).await),
        "applied"
    );
    assert_eq!(
        code(
            &step(
                &t.admin,
                json!({"status": "approved", "approved_on": "2016-05-10"})
            )
            .await
        ),
        "applied"
    );
    assert_eq!(
        code(
            &step(
                &t.admin,
                json!({"status": "filed", "filed_on": "2016-05-20", "filing_body": "县委组织部"})
            )
            .await
        ),
        "applied"
    );
    assert_eq!(code(&step(&t.admin, json!({"status": "effective", "effective_on": "2016-05-20", "review_on": "2018-05-20"})).await), "applied");
    // Done is done.
    assert_eq!(
        code(&step(&t.admin, json!({"status": "submitted"})).await),
        "invalid_transition"
    );
    assert_eq!(
        code(&step(&t.secretary1, json!({"status": null})).await),
        "invalid_transition"
    );
}

#[tokio::test]
async fn a_ledger_is_submitted_by_the_work_area_and_audited_by_the_organization_office() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let area = app
        .user_at(&t.admin, "area-staff", Role::WorkAreaStaff, &t.work_area)
        .await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let s = Uuid::now_v7();
    let r = area
        .push(
            "p",
            vec![put(
                1,
                "ledger_submissions",
                s,
                t.work_area.id,
                json!({"ledger": "ledger_a", "status": "draft", "entry_count": 3}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");
    let mut n = 10;
    let mut step = |client: &paicha_client::Client, fields: serde_json::Value| {
        n += 1;
        let client = client.clone();
        async move {
            client
                .push("p", vec![patch(n, "ledger_submissions", s, None, fields)])
                .await
                .unwrap()
        }
    };
    assert_eq!(
        code(&step(&office, json!({"status": "approved"})).await),
        "invalid_transition"
    );
    assert_eq!(
        code(
            &step(
                &area,
                json!({"status": "submitted", "submitted_on": "2016-03-12"})
            )
            .await
        ),
        "applied"
    );
    assert_eq!(
        code(&step(&area, json!({"status": "approved"})).await),
        "transition_not_allowed"
    );
    assert_eq!(
        code(
            &step(
                &office,
                json!({"status": "returned", "audit_opinion": "第3条缺少介绍信编号"})
            )
            .await
        ),
        "applied"
    );
    assert_eq!(
        code(&step(&area, json!({"status": "submitted"})).await),
        "applied"
    );
    assert_eq!(
        code(
            &step(
                &office,
                json!({"status": "approved", "audited_on": "2016-03-14"})
            )
            .await
        ),
        "applied"
    );
    // The branch neither submits nor audits ledgers; the organization office does not fill them.
    assert_eq!(
        code(&step(&t.secretary1, json!({"audit_opinion": "x"})).await),
        "outside_scope"
    );
    assert_eq!(
        code(&step(&office, json!({"entry_count": 4})).await),
        "field_not_writable"
    );
}

#[tokio::test]
async fn only_the_organization_office_removes_a_person_from_the_roster() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                m,
                t.branch1.id,
                json!({"name": "卫十五", "roster_status": "unverified"}),
            )],
        )
        .await
        .unwrap();
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                2,
                "members",
                m,
                None,
                json!({"roster_status": "removed_from_roster"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "invalid_transition");
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                3,
                "members",
                m,
                None,
                json!({"roster_status": "flagged_surplus"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                4,
                "members",
                m,
                None,
                json!({"roster_status": "removed_from_roster"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "transition_not_allowed");
    let r = office
        .push(
            "o",
            vec![patch(
                1,
                "members",
                m,
                None,
                json!({"roster_status": "removed_from_roster"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");
    // The organization office edits nothing else of a member.
    let r = office
        .push(
            "o",
            vec![patch(2, "members", m, None, json!({"phone": "1"}))],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "field_not_writable");
}

#[tokio::test]
async fn a_cadre_personnel_file_is_not_reviewed() {
    let app = paicha_tests::spawn_app().await;
    let t = app.tenant("w").await;
    let (cadre, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let pushed = t
        .secretary1
        .push(
            "p",
            vec![
                paicha_tests::put(
                    1,
                    "members",
                    cadre,
                    t.branch1.id,
                    serde_json::json!({"name": "钱干部", "cadre_file": true}),
                ),
                paicha_tests::put(
                    2,
                    "members",
                    other,
                    t.branch1.id,
                    serde_json::json!({"name": "周党员"}),
                ),
                paicha_tests::put(
                    3,
                    "archive_reviews",
                    uuid::Uuid::now_v7(),
                    t.branch1.id,
                    serde_json::json!({"member_id": cadre, "reason": "incomplete"}),
                ),
                paicha_tests::put(
                    4,
                    "archive_reviews",
                    uuid::Uuid::now_v7(),
                    t.branch1.id,
                    serde_json::json!({"member_id": other, "reason": "incomplete"}),
                ),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = pushed
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![None, None, Some("cadre_file_not_reviewed"), None]
    );
    let message = &pushed.results[2].error.as_ref().unwrap().message;
    assert!(message.contains("干部人事档案不再审核"), "{message}");
}

#[tokio::test]
async fn a_ledger_submitted_again_is_received_again() {
    let app = spawn_app().await;
    let t = app.tenant("r").await;
    let area = app
        .user_at(&t.admin, "r-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    let office = app
        .user_at(&t.admin, "r-office", Role::OrgOffice, &t.committee)
        .await;
    let id = Uuid::now_v7();
    let first = area
        .push(
            "pc",
            vec![put(
                1,
                "ledger_submissions",
                id,
                t.work_area.id,
                json!({"ledger": "ledger_a", "status": "submitted"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&first), "applied");
    let returned = office
        .push(
            "pc",
            vec![patch(
                1,
                "ledger_submissions",
                id,
                None,
                json!({"status": "returned", "audit_opinion": "条目不全"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&returned), "applied");
    let again = area
        .push(
            "pc",
            vec![patch(
                2,
                "ledger_submissions",
                id,
                None,
                json!({"status": "submitted"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&again), "applied");
    // The resubmission carries its own received date (the server stamps it again: a late
    // resubmission is late). The audit trail shows the stamp in the resubmission's change.
    let entries = t
        .admin
        .audit("ledger_submissions", id)
        .await
        .unwrap()
        .entries;
    assert_eq!(entries.len(), 3);
    let stamped: Vec<bool> = entries
        .iter()
        .map(|e| e.changes.get("received_on").is_some())
        .collect();
    assert_eq!(stamped, vec![true, false, true]);
    // Writing `submitted` again to a submitted ledger changes nothing, stamp included.
    let same = area
        .push(
            "pc",
            vec![patch(
                3,
                "ledger_submissions",
                id,
                None,
                json!({"status": "submitted"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&same), "applied");
    assert_eq!(
        t.admin
            .audit("ledger_submissions", id)
            .await
            .unwrap()
            .entries
            .len(),
        3
    );
}
