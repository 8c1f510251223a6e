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

/// A disposition must fit its member (docs/domain.md §6.6): no 停止党籍 for a probationary
/// member, no 取消预备党员资格 for a full one, nothing for a member already off the roster; a
/// member whose 人员类别 is not recorded is not held to it.
#[tokio::test]
async fn a_disposition_must_fit_the_member_it_is_for() {
    let app = spawn_app().await;
    let t = app.tenant("df").await;
    let b1 = t.branch1.id;
    let (full, probationary, unknown) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let suspension = Uuid::now_v7();
    let disposition_with = |n: i64, id: Uuid, member: Uuid, kind: &str| {
        put(
            n,
            "dispositions",
            id,
            b1,
            json!({"member_id": member, "disposition_type": kind}),
        )
    };
    let disposition =
        |n: i64, member: Uuid, kind: &str| disposition_with(n, Uuid::now_v7(), member, kind);
    let pushed = t
        .secretary1
        .push(
            "p",
            vec![
                put(
                    1,
                    "members",
                    full,
                    b1,
                    json!({"name": "正式甲", "member_type": "full"}),
                ),
                put(
                    2,
                    "members",
                    probationary,
                    b1,
                    json!({"name": "预备乙", "member_type": "probationary"}),
                ),
                put(3, "members", unknown, b1, json!({"name": "未录丙"})),
                disposition(4, probationary, "suspend"),
                disposition(5, full, "cancel_probation"),
                disposition(6, full, "probation_not_retained"),
                disposition_with(7, suspension, full, "suspend"),
                disposition(8, probationary, "cancel_probation"),
                disposition(9, unknown, "suspend"),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = pushed
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    let misfit = Some("disposition_does_not_fit");
    assert_eq!(
        codes,
        vec![None, None, None, misfit, misfit, misfit, None, None, None]
    );
    let message = &pushed.results[3].error.as_ref().unwrap().message;
    assert!(
        message.contains("预备党员") && message.contains("停止党籍"),
        "{message}"
    );

    // Changing the kind of an accepted disposition is checked the same way.
    let changed = t
        .secretary1
        .push(
            "p",
            vec![patch(
                10,
                "dispositions",
                suspension,
                None,
                json!({"disposition_type": "cancel_probation"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        changed.results[0].error.as_ref().map(|e| e.code.as_str()),
        misfit
    );
}

/// A person removed from the roster by mistake is put back by the 组织办 with its reason, his
/// 公民身份号码 with him (still his: nobody else could take it meanwhile), to be verified again.
#[tokio::test]
async fn the_organization_office_restores_a_person_removed_by_mistake_with_the_reason() {
    let app = spawn_app().await;
    let t = app.tenant("rs").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let (m, number) = (Uuid::now_v7(), paicha_tests::id_number("19800101", 13));
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                put(
                    1,
                    "members",
                    m,
                    t.branch1.id,
                    json!({"name": "卫十五", "id_number": number}),
                ),
                patch(
                    2,
                    "members",
                    m,
                    None,
                    json!({"roster_status": "flagged_surplus"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
    let removed = office
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
    assert_eq!(code(&removed), "applied");
    // His number stays his while he is off the roster.
    let again = t
        .secretary1
        .push(
            "p",
            vec![put(
                3,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": "卫十五", "id_number": number}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&again), "id_number_taken");

    // The branch cannot put him back; the 组织办 cannot without saying why.
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                4,
                "members",
                m,
                None,
                json!({"roster_status": "unverified"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "transition_not_allowed");
    let r = office
        .push(
            "o",
            vec![patch(
                2,
                "members",
                m,
                None,
                json!({"roster_status": "unverified"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "required_for_step");
    assert_eq!(
        r.results[0].error.as_ref().unwrap().field.as_deref(),
        Some("restore_reason")
    );
    let r = office
        .push(
            "o",
            vec![patch(3, "members", m, None, json!({"roster_status": "unverified", "restore_reason": "误将在册党员列为多余人员，经核实恢复"}))],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");

    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let (_, fields) = &replica.records[&("members".to_owned(), m)];
    assert_eq!(fields["roster_status"], json!("unverified"));
    assert_eq!(fields["id_number"], json!(number));
    assert_eq!(
        fields["restore_reason"],
        json!("误将在册党员列为多余人员，经核实恢复")
    );
    // Verified again by the branch as any other member.
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                5,
                "members",
                m,
                None,
                json!({"roster_status": "flagged_surplus"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");
}

/// Treating a retired member like a pre-1949 one (no new application form) is the branch's
/// decision, with its note; the committee confirms it on that ground or overrules it with its
/// conclusion, and cannot confirm such an exemption the branch did not decide.
#[tokio::test]
async fn an_exemption_by_reference_is_the_branchs_decision_and_the_committee_may_overrule_it() {
    let app = spawn_app().await;
    let t = app.tenant("ex").await;
    let b1 = t.branch1.id;
    let (decided, undecided, overruled) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut batch = Vec::new();
    for (n, (review, name)) in [
        (decided, "离休甲"),
        (undecided, "离休乙"),
        (overruled, "离休丙"),
    ]
    .into_iter()
    .enumerate()
    {
        let member = Uuid::now_v7();
        let n = 2 * n as i64;
        batch.push(put(
            n + 1,
            "members",
            member,
            b1,
            json!({"name": name, "retired": true}),
        ));
        batch.push(put(
            n + 2,
            "archive_reviews",
            review,
            b1,
            json!({"member_id": member, "reason": "incomplete"}),
        ));
    }
    let r = t.secretary1.push("p", batch).await.unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );

    // The branch decides for two of them; without a note it may not.
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                7,
                "archive_reviews",
                decided,
                None,
                json!({"branch_exemption": "retired"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "required_for_step");
    let note = json!({"branch_exemption": "retired", "branch_exemption_note": "离休干部，组织关系一直未中断，支部委员会研究同意参照处理"});
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                patch(8, "archive_reviews", decided, None, note.clone()),
                patch(9, "archive_reviews", overruled, None, note),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );

    let confirm = |n: i64, review: Uuid| {
        patch(
            n,
            "archive_reviews",
            review,
            None,
            json!({"status": "exempt_confirmed", "exemption": "retired"}),
        )
    };
    let mut steps = Vec::new();
    for (n, review) in [decided, undecided, overruled].into_iter().enumerate() {
        steps.push(patch(
            n as i64 + 1,
            "archive_reviews",
            review,
            None,
            json!({"status": "under_review"}),
        ));
    }
    let r = t.admin.push("c", steps).await.unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
    // The committee overrules one: only with its conclusion.
    let r = t
        .admin
        .push(
            "c",
            vec![patch(
                4,
                "archive_reviews",
                overruled,
                None,
                json!({"exemption_overruled": true}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "required_for_step");
    let r = t
        .admin
        .push(
            "c",
            vec![patch(5, "archive_reviews", overruled, None, json!({"exemption_overruled": true, "result_note": "离休前组织关系曾中断，不能参照处理，须补办"}))],
        )
        .await
        .unwrap();
    assert_eq!(code(&r), "applied");

    let r = t
        .admin
        .push(
            "c",
            vec![
                confirm(6, decided),
                confirm(7, undecided),
                confirm(8, overruled),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    let refused = Some("exemption_needs_branch_decision");
    assert_eq!(codes, vec![None, refused, refused]);
    let message = &r.results[1].error.as_ref().unwrap().message;
    assert!(message.contains("党支部决定"), "{message}");
}

/// A removal (除名) proposed while the member's suspension window still runs is allowed, and
/// marked by the server as needing the committee's decision; one for a member not suspended is
/// not marked, and nobody else may set the mark.
#[tokio::test]
async fn a_removal_inside_the_suspension_window_is_marked_for_the_committee() {
    let app = spawn_app().await;
    let t = app.tenant("rw").await;
    let b1 = t.branch1.id;
    let (suspended, other, suspension) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let step =
        |n: i64, fields: serde_json::Value| patch(n, "dispositions", suspension, None, fields);
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                put(
                    1,
                    "members",
                    suspended,
                    b1,
                    json!({"name": "停籍甲", "member_type": "full"}),
                ),
                put(
                    2,
                    "members",
                    other,
                    b1,
                    json!({"name": "在籍乙", "member_type": "full"}),
                ),
                put(
                    3,
                    "dispositions",
                    suspension,
                    b1,
                    json!({"member_id": suspended, "disposition_type": "suspend"}),
                ),
                step(
                    4,
                    json!({"status": "branch_meeting_decided", "branch_meeting_on": "2026-01-05"}),
                ),
                step(5, json!({"status": "submitted"})),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
    let r = t
        .admin
        .push(
            "c",
            vec![
                step(
                    1,
                    json!({"status": "approved", "approved_on": "2026-01-06"}),
                ),
                step(2, json!({"status": "filed", "filed_on": "2026-01-08"})),
                step(
                    3,
                    json!({"status": "effective", "effective_on": "2026-01-10"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );

    let (early, plain, forged) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                put(6, "dispositions", early, b1, json!({"member_id": suspended, "disposition_type": "remove", "basis": "长期失联"})),
                put(7, "dispositions", plain, b1, json!({"member_id": other, "disposition_type": "remove"})),
                put(8, "dispositions", forged, b1, json!({"member_id": other, "disposition_type": "remove", "needs_committee_decision": false})),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    assert_eq!(codes, vec![None, None, Some("field_not_writable")]);

    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.admin).await.unwrap();
    let fields = |id: Uuid| replica.records[&("dispositions".to_owned(), id)].1.clone();
    assert_eq!(fields(early)["needs_committee_decision"], json!(true));
    assert!(fields(plain).get("needs_committee_decision").is_none());
    assert!(fields(suspension).get("needs_committee_decision").is_none());
}
