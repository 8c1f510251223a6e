//! The sync engine over HTTP: exactly-once push, merge and conflicts, pull scope, tombstones,
//! addressed records, checksums, audit, long-polling.

use paicha_domain::api::v1::MutationStatus;
use paicha_domain::ids::TenantId;
use paicha_tests::{Replica, delete, id_number, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_retried_push_changes_nothing_and_returns_the_first_results() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (m1, m2) = (Uuid::now_v7(), Uuid::now_v7());
    let batch = vec![
        put(
            1,
            "members",
            m1,
            t.branch1.id,
            json!({"name": "张三", "id_number": id_number("19800101", 11)}),
        ),
        put(2, "members", m2, t.branch1.id, json!({"name": "李四"})),
        patch(3, "members", m1, None, json!({"phone": "13900000000"})),
        put(
            4,
            "members",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"gender": "male"}),
        ),
    ];
    let first = t.secretary1.push("phone-1", batch.clone()).await.unwrap();
    let statuses: Vec<_> = first.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![
            MutationStatus::Applied,
            MutationStatus::Applied,
            MutationStatus::Applied,
            MutationStatus::Rejected
        ]
    );
    let mut before = Replica::default();
    before.sync(&t.secretary1).await.unwrap();

    let again = t.secretary1.push("phone-1", batch).await.unwrap();
    assert_eq!(again.results.len(), first.results.len());
    for (a, f) in again.results.iter().zip(&first.results) {
        assert_eq!(a.status, MutationStatus::Duplicate);
        assert_eq!(a.first_status, Some(f.status));
        assert_eq!(
            (&a.mutation_id, a.version, &a.conflicts, &a.error),
            (&f.mutation_id, f.version, &f.conflicts, &f.error)
        );
    }
    // Nothing moved: same records, same versions, no new audit entries.
    let mut after = Replica::default();
    after.sync(&t.secretary1).await.unwrap();
    assert_eq!(after.records, before.records);
    assert_eq!(
        t.secretary1
            .audit("members", m1)
            .await
            .unwrap()
            .entries
            .len(),
        2
    );
    // The same mutation id from another device is another mutation.
    let other = t
        .secretary1
        .push(
            "phone-2",
            vec![patch(3, "members", m2, None, json!({"phone": "1"}))],
        )
        .await
        .unwrap();
    assert_eq!(other.results[0].status, MutationStatus::Applied);
}

#[tokio::test]
async fn one_bad_mutation_among_a_hundred_is_rejected_alone() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let mut batch = Vec::new();
    for i in 0..100 {
        let mut id = id_number("19700101", i + 1);
        if i == 37 {
            // Break the check digit.
            let last = if id.ends_with('0') { '1' } else { '0' };
            id.pop();
            id.push(last);
        }
        batch.push(put(
            i64::from(i) + 1,
            "members",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"name": format!("党员{i}"), "id_number": id}),
        ));
    }
    let response = t.secretary1.push("phone", batch).await.unwrap();
    for (i, r) in response.results.iter().enumerate() {
        if i == 37 {
            assert_eq!(r.status, MutationStatus::Rejected);
            let err = r.error.as_ref().unwrap();
            assert_eq!(err.code, "id_number_check_digit");
            assert_eq!(err.field.as_deref(), Some("id_number"));
            assert!(err.message.contains("校验"), "{}", err.message);
        } else {
            assert_eq!(r.status, MutationStatus::Applied, "mutation {i}: {r:?}");
        }
    }
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert_eq!(replica.records.len(), 99);
}

#[tokio::test]
async fn edits_of_different_fields_both_stand_and_a_same_field_edit_is_kept_as_a_conflict() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (group_a, _) = {
        app.user_at(
            &t.secretary1,
            "group-a",
            paicha_domain::role::Role::GroupMember,
            &t.branch1,
        )
        .await;
        app.sign_in("group-a").await
    };
    let m = Uuid::now_v7();
    let created = t
        .secretary1
        .push(
            "laptop",
            vec![put(1, "members", m, t.branch1.id, json!({"name": "王五"}))],
        )
        .await
        .unwrap();
    let base = created.results[0].version.unwrap();

    // Two devices, offline from the same base, edit different fields.
    let a = group_a
        .push(
            "phone-a",
            vec![patch(
                1,
                "members",
                m,
                Some(base),
                json!({"phone": "13800000001"}),
            )],
        )
        .await
        .unwrap();
    let b = t
        .secretary1
        .push(
            "phone-b",
            vec![patch(
                2,
                "members",
                m,
                Some(base),
                json!({"residence": "东关街1号"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(a.results[0].status, MutationStatus::Applied);
    assert_eq!(b.results[0].status, MutationStatus::Applied);

    // A third edit of the phone from the same old base: it wins, the overwritten value is kept.
    let c = t
        .secretary1
        .push(
            "phone-c",
            vec![patch(
                1,
                "members",
                m,
                Some(base),
                json!({"phone": "13700000002"}),
            )],
        )
        .await
        .unwrap();
    let result = &c.results[0];
    assert_eq!(result.status, MutationStatus::Merged);
    let conflicts = result.conflicts.as_ref().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "phone");
    assert_eq!(conflicts[0].overwritten_value, json!("13800000001"));
    assert_eq!(Some(conflicts[0].overwritten_version), a.results[0].version);

    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let (_, fields) = &replica.records[&("members".to_owned(), m)];
    assert_eq!(fields["phone"], "13700000002");
    assert_eq!(fields["residence"], "东关街1号");
    assert_eq!(fields["name"], "王五");

    // Reviewers in scope read the conflict: who, which device, both values.
    for reviewer in [&t.secretary1, &t.admin] {
        let list = reviewer
            .conflicts(Some(("members", m)), true)
            .await
            .unwrap();
        assert_eq!(list.conflicts.len(), 1);
        let k = &list.conflicts[0];
        assert_eq!(
            (k.field.as_str(), &k.overwritten_value, &k.winning_value),
            ("phone", &json!("13800000001"), &json!("13700000002"))
        );
        assert_eq!(k.device_id, "phone-c");
    }
    // Out of scope it is invisible; a group member is not a reviewer.
    assert!(
        t.secretary2
            .conflicts(Some(("members", m)), false)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    assert_eq!(
        group_a.conflicts(None, false).await.unwrap_err().code(),
        Some("forbidden")
    );
    // Marked resolved, it leaves the unresolved list.
    let id = t.admin.conflicts(None, true).await.unwrap().conflicts[0].id;
    assert_eq!(
        t.secretary2
            .resolve_conflict(id)
            .await
            .unwrap_err()
            .status(),
        Some(StatusCode::NOT_FOUND)
    );
    t.secretary1.resolve_conflict(id).await.unwrap();
    assert!(
        t.admin
            .conflicts(None, true)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    assert!(
        t.admin.conflicts(None, false).await.unwrap().conflicts[0]
            .resolved_at
            .is_some()
    );
}

#[tokio::test]
async fn deletes_are_tombstones_that_pulls_carry() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(1, "members", m, t.branch1.id, json!({"name": "赵六"}))],
        )
        .await
        .unwrap();
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert!(replica.has("members", m));
    let cursor = replica.cursor.clone();

    let del = t
        .secretary1
        .push("p", vec![delete(2, "members", m)])
        .await
        .unwrap();
    assert_eq!(del.results[0].status, MutationStatus::Applied);
    let page = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: cursor.as_deref(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(page.changes[0].deleted);
    assert!(page.changes[0].fields.is_empty());
    replica.sync(&t.secretary1).await.unwrap();
    assert!(!replica.has("members", m));
    // A deleted record takes no more edits; deleting again is harmless.
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                patch(3, "members", m, None, json!({"phone": "1"})),
                delete(4, "members", m),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].error.as_ref().unwrap().code, "record_deleted");
    assert_eq!(r.results[1].status, MutationStatus::Applied);
}

#[tokio::test]
async fn pulls_see_exactly_the_callers_subtree() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (m1, m2, mb) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    a.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                m1,
                a.branch1.id,
                json!({"name": "一支部党员"}),
            )],
        )
        .await
        .unwrap();
    a.secretary2
        .push(
            "p",
            vec![put(
                1,
                "members",
                m2,
                a.branch2.id,
                json!({"name": "二支部党员"}),
            )],
        )
        .await
        .unwrap();
    b.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                mb,
                b.branch1.id,
                json!({"name": "乙党员"}),
            )],
        )
        .await
        .unwrap();

    let pulled = |client| async move {
        let mut r = Replica::default();
        r.sync(client).await.unwrap();
        let mut ids: Vec<Uuid> = r.records.keys().map(|(_, id)| *id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    assert_eq!(pulled(&a.secretary1).await, vec![m1]);
    assert_eq!(pulled(&a.secretary2).await, vec![m2]);
    assert_eq!(pulled(&a.street_staff).await, sorted(vec![m1, m2]));
    assert_eq!(pulled(&a.admin).await, sorted(vec![m1, m2]));
    assert_eq!(pulled(&b.admin).await, vec![mb]);

    // Writing into a sibling branch or another tenant is refused, and says nothing of the other
    // tenant's record.
    let r = a
        .secretary1
        .push(
            "p",
            vec![
                patch(2, "members", m2, None, json!({"phone": "1"})),
                patch(3, "members", mb, None, json!({"phone": "1"})),
                put(
                    4,
                    "members",
                    Uuid::now_v7(),
                    a.branch2.id,
                    json!({"name": "x"}),
                ),
                put(
                    5,
                    "members",
                    Uuid::now_v7(),
                    b.branch1.id,
                    json!({"name": "x"}),
                ),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<&str> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().unwrap().code.as_str())
        .collect();
    assert_eq!(
        codes,
        vec!["outside_scope", "not_found", "outside_scope", "not_found"]
    );

    // The platform administrator reads and writes no member data.
    let err = app
        .admin
        .pull(&paicha_client::PullQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    let err = app.admin.push("p", vec![]).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    let err = app.admin.checksum(None).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
}

#[tokio::test]
async fn a_transfer_reaches_exactly_the_branch_it_is_addressed_to() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let transfer = Uuid::now_v7();
    let sent = t
        .street_staff
        .push("office", vec![put(1, "transfers", transfer, t.street.id, json!({
            "branch_id": t.branch1.id, "member_name": "钱七", "id_number": id_number("19850505", 21),
            "transferred_on": "2015-06-01", "receiving_organization": "外省某党支部",
        }))])
        .await
        .unwrap();
    assert_eq!(
        sent.results[0].status,
        MutationStatus::Applied,
        "{:?}",
        sent.results[0]
    );

    let mut b1 = Replica::default();
    b1.sync(&t.secretary1).await.unwrap();
    let mut b2 = Replica::default();
    b2.sync(&t.secretary2).await.unwrap();
    assert!(b1.has("transfers", transfer));
    assert!(!b2.has("transfers", transfer));

    // The branch follows it up; it may not rewrite the street's details or re-address it.
    let r = t
        .secretary1
        .push("phone", vec![
            patch(1, "transfers", transfer, None, json!({"receipt_status": "receiver_contacted", "follow_up_note": "已联系接收方"})),
            patch(2, "transfers", transfer, None, json!({"member_name": "改名"})),
            patch(3, "transfers", transfer, None, json!({"branch_id": t.branch2.id})),
        ])
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);
    for refused in &r.results[1..] {
        assert_eq!(
            refused.error.as_ref().unwrap().code,
            "field_not_writable",
            "{refused:?}"
        );
    }
    let r = t
        .secretary2
        .push(
            "phone",
            vec![patch(
                1,
                "transfers",
                transfer,
                None,
                json!({"follow_up_note": "x"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].error.as_ref().unwrap().code, "outside_scope");

    // The street sees the branch's follow-up.
    let mut street = Replica::default();
    street.sync(&t.street_staff).await.unwrap();
    let (_, fields) = &street.records[&("transfers".to_owned(), transfer)];
    assert_eq!(fields["receipt_status"], "receiver_contacted");

    // The street re-addresses it (a corrected list): it leaves branch 1, whose replica pulls
    // a tombstone, and reaches branch 2 with its follow-up; the street keeps it, once.
    let r = t
        .street_staff
        .push(
            "office",
            vec![patch(
                2,
                "transfers",
                transfer,
                None,
                json!({"branch_id": t.branch2.id}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].status,
        MutationStatus::Applied,
        "{:?}",
        r.results[0]
    );
    let moved_at = r.results[0].version.unwrap();
    let before = b1.received.len();
    b1.sync(&t.secretary1).await.unwrap();
    assert!(!b1.has("transfers", transfer), "branch 1 still holds it");
    assert_eq!(
        b1.received[before..],
        [moved_at],
        "one tombstone, at the move"
    );
    b2.sync(&t.secretary2).await.unwrap();
    let (_, fields) = &b2.records[&("transfers".to_owned(), transfer)];
    assert_eq!(fields["follow_up_note"], "已联系接收方");
    let before = street.received.len();
    street.sync(&t.street_staff).await.unwrap();
    assert_eq!(
        street.received[before..],
        [moved_at],
        "the street sees the move once"
    );
    assert!(street.has("transfers", transfer));
    // A fresh device of branch 1 does not hold it (like any deleted record's, its tombstone
    // is pulled and drops nothing); branch 2 now follows it up, branch 1 not.
    let mut fresh = Replica::default();
    fresh.sync(&t.secretary1).await.unwrap();
    assert!(!fresh.has("transfers", transfer));
    let r = t
        .secretary2
        .push(
            "phone",
            vec![patch(
                2,
                "transfers",
                transfer,
                None,
                json!({"follow_up_note": "二支部跟进"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);
    let r = t
        .secretary1
        .push(
            "phone",
            vec![patch(
                4,
                "transfers",
                transfer,
                None,
                json!({"follow_up_note": "x"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].error.as_ref().unwrap().code, "outside_scope");
    // Branch 1 is told where it went and why.
    let told = t.secretary1.departures().await.unwrap().items;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].record_id, transfer);
    assert_eq!(told[0].collection, "transfers");
    assert_eq!(told[0].label.as_deref(), Some("钱七"));
    assert_eq!(
        told[0].to_unit_name.as_deref(),
        Some(t.branch2.name.as_str())
    );
    assert_eq!(told[0].from_unit_id, t.street.id);
    assert_eq!(told[0].reason, "readdressed");
    assert_eq!(told[0].reason_label, "转出明细更正，改由其他党支部跟进");
    assert_eq!(told[0].version, moved_at);
    // Branch 2 and the street saw nothing leave.
    for client in [&t.secretary2, &t.street_staff] {
        assert_eq!(client.departures().await.unwrap().items, vec![]);
    }

    // A branch cannot address transfers; a street cannot address a branch outside its subtree.
    let r = t
        .secretary1
        .push(
            "phone",
            vec![put(
                5,
                "transfers",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"branch_id": t.branch1.id, "member_name": "x"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].error.as_ref().unwrap().code,
        "invalid_owner_unit"
    );
}

#[tokio::test]
async fn writes_are_validated_by_the_domain_and_the_roles() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m1 = Uuid::now_v7();
    let m2 = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(1, "members", m1, t.branch1.id, json!({"name": "甲"}))],
        )
        .await
        .unwrap();
    t.secretary2
        .push(
            "p",
            vec![put(1, "members", m2, t.branch2.id, json!({"name": "乙"}))],
        )
        .await
        .unwrap();
    let case = Uuid::now_v7();
    let request = Uuid::now_v7();
    let mutations = vec![
        json!({"mutation_id": 10, "collection": "people", "id": Uuid::now_v7(), "op": "put"}),
        json!({"mutation_id": 11, "collection": "members", "id": m1, "op": "upsert"}),
        patch(12, "members", Uuid::now_v7(), None, json!({"name": "x"})),
        json!({"mutation_id": 13, "collection": "members", "id": Uuid::now_v7(), "op": "put", "fields": {"name": "x"}}),
        patch(14, "members", m1, None, json!({"nickname": "x"})),
        patch(15, "members", m1, None, json!({"gender": "unknown"})),
        patch(
            16,
            "members",
            m1,
            None,
            json!({"id_number": id_number("19900101", 11), "birth_date": "1990-01-02"}),
        ),
        put(
            17,
            "info_forms",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"member_id": m2, "confirmation_mode": "on_site"}),
        ),
        put(
            18,
            "contact_cases",
            case,
            t.branch1.id,
            json!({"member_id": m1}),
        ),
        put(
            19,
            "department_search_requests",
            request,
            t.branch1.id,
            json!({"case_id": case, "departments": ["police_household"], "result": "contact_made"}),
        ),
        put(
            20,
            "department_search_requests",
            request,
            t.branch1.id,
            json!({"case_id": case, "departments": ["police_household"]}),
        ),
        json!({"mutation_id": 0, "collection": "members", "id": m1, "op": "delete"}),
        json!({"mutation_id": 21, "collection": "members", "id": "not-a-uuid", "op": "delete"}),
        put(
            22,
            "campaigns",
            Uuid::now_v7(),
            t.committee.id,
            json!({"name": "2016年集中排查", "start_date": "2016-03-07"}),
        ),
        put(
            23,
            "working_groups",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"people": [{"name": "一"}, {"name": "二"}]}),
        ),
    ];
    let r = t.secretary1.push("p", mutations).await.unwrap();
    let got: Vec<(String, Option<String>)> = r
        .results
        .iter()
        .map(|r| match &r.error {
            Some(e) => (e.code.clone(), e.field.clone()),
            None => (format!("{:?}", r.status), None),
        })
        .collect();
    let expected: Vec<(&str, Option<&str>)> = vec![
        ("unknown_collection", Some("collection")),
        ("invalid_op", Some("op")),
        ("not_found", Some("id")),
        ("org_unit_required", Some("org_unit_id")),
        ("unknown_field", Some("nickname")),
        ("invalid_enum_value", Some("gender")),
        ("birth_date_mismatch", Some("birth_date")),
        ("invalid_reference", Some("member_id")),
        ("Applied", None),
        ("field_not_writable", Some("result")),
        ("Applied", None),
        ("invalid_mutation_id", Some("mutation_id")),
        ("invalid_mutation", None),
        ("outside_scope", Some("org_unit_id")),
        ("working_group_size", Some("people")),
    ];
    let got: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|(c, f)| (c.as_str(), f.as_deref()))
        .collect();
    assert_eq!(got, expected);
    for e in r.results.iter().filter_map(|r| r.error.as_ref()) {
        assert!(
            e.message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{e:?}"
        );
    }

    // Only the committee records a department search's execution and result.
    let r = t.admin.push("office", vec![patch(1, "department_search_requests", request, None, json!({"status": "done", "executed_on": "2016-03-25", "result": "contact_made", "result_detail": "经公安户籍系统查到现住址"}))]).await.unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);
    let r = t
        .secretary1
        .push(
            "p",
            vec![patch(
                30,
                "department_search_requests",
                request,
                None,
                json!({"result": "no_lead"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].error.as_ref().unwrap().code,
        "field_not_writable"
    );
    // The committee cannot edit a member (docs/domain.md §9: it views).
    let r = t
        .admin
        .push(
            "office",
            vec![patch(2, "members", m1, None, json!({"phone": "1"}))],
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].error.as_ref().unwrap().code,
        "field_not_writable"
    );
    // A committee may hold campaigns.
    let r = t
        .admin
        .push(
            "office",
            vec![put(
                3,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "2016年集中排查", "start_date": "2016-03-07"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);

    // Everyone in the tenant sees the campaign's settings, though the committee owns them.
    let campaigns = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            collections: Some("campaigns"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(campaigns.changes.len(), 1);
    assert_eq!(campaigns.changes[0].fields["start_date"], "2016-03-07");

    // Request-level mistakes.
    let err = t.secretary1.push("", vec![]).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNPROCESSABLE_ENTITY), Some("invalid_body"))
    );
    let many: Vec<serde_json::Value> = (1..=1001)
        .map(|i| delete(i, "members", Uuid::now_v7()))
        .collect();
    let err = t.secretary1.push("p", many).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::PAYLOAD_TOO_LARGE),
            Some("too_many_mutations")
        )
    );
    let err = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some("bogus"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::BAD_REQUEST), Some("invalid_cursor"))
    );
    let err = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            collections: Some("members,people"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_query"));
}

#[tokio::test]
async fn the_write_checkpoint_and_checksums_match_what_pulls_build() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let batch = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            put(
                i as i64 + 1,
                "members",
                *id,
                t.branch1.id,
                json!({"name": format!("成员{i}")}),
            )
        })
        .collect();
    let pushed = t.secretary1.push("p", batch).await.unwrap();
    // Pulling from before the push up to its checkpoint brings all five.
    let page = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: replica.cursor.as_deref(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 5);
    assert_eq!(page.cursor, pushed.cursor);

    replica.sync(&t.secretary1).await.unwrap();
    let sums = t
        .secretary1
        .checksum(Some("members,info_forms"))
        .await
        .unwrap();
    assert_eq!(sums.collections.len(), 2);
    let members = &sums.collections["members"];
    assert_eq!(members.count, 5);
    let local: paicha_sync::checksum::ReplicaChecksum = replica
        .records
        .iter()
        .map(|((_, id), (v, _))| (*id, *v))
        .collect();
    assert_eq!(members.hash, local.hash_hex());
    assert_eq!(sums.collections["info_forms"].count, 0);
    assert_eq!(sums.cursor, pushed.cursor);

    // After a change the hashes differ until the replica pulls it.
    t.secretary1
        .push(
            "p",
            vec![patch(9, "members", ids[2], None, json!({"phone": "1"}))],
        )
        .await
        .unwrap();
    let changed = t.secretary1.checksum(Some("members")).await.unwrap();
    assert_ne!(changed.collections["members"].hash, local.hash_hex());
    replica.sync(&t.secretary1).await.unwrap();
    let local: paicha_sync::checksum::ReplicaChecksum = replica
        .records
        .iter()
        .map(|((_, id), (v, _))| (*id, *v))
        .collect();
    assert_eq!(changed.collections["members"].hash, local.hash_hex());
}

#[tokio::test]
async fn the_audit_trail_records_every_change_and_its_chain_verifies() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    t.secretary1
        .push("phone-9", vec![
            put(1, "members", m, t.branch1.id, json!({"name": "孙八"})),
            json!({"mutation_id": 2, "collection": "members", "id": m, "op": "patch", "fields": {"phone": "135"}, "client_time": "2016-03-08T09:30:00+08:00"}),
            delete(3, "members", m),
        ])
        .await
        .unwrap();
    let audit = t.admin.audit("members", m).await.unwrap();
    let ops: Vec<&str> = audit.entries.iter().map(|e| e.op.as_str()).collect();
    assert_eq!(ops, vec!["put", "patch", "delete"]);
    let e = &audit.entries[1];
    assert_eq!(e.changes, json!({"phone": [null, "135"]}));
    assert_eq!(e.device_id, "phone-9");
    assert_eq!(e.client_time.as_deref(), Some("2016-03-08T09:30:00+08:00"));
    assert_eq!(e.prev_hash, audit.entries[0].hash);
    assert_eq!(audit.entries[2].prev_hash, e.hash);
    // Out of scope: not found.
    assert_eq!(
        t.secretary2.audit("members", m).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND)
    );

    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let reports = paicha_sync::audit::verify_all(&store).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].entries, 3);
    assert_eq!(reports[0].broken_at, None);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_change_commits() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let mut replica = Replica::default();
    replica.sync(&t.admin).await.unwrap();
    let cursor = replica.cursor.clone().unwrap();

    // Nothing happens: the poll ends at its wait, empty, with the same position.
    let started = std::time::Instant::now();
    let idle = t
        .admin
        .pull(&paicha_client::PullQuery {
            cursor: Some(&cursor),
            wait: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(idle.changes.is_empty());
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));

    let waiting = {
        let admin = t.admin.clone();
        let cursor = cursor.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let page = admin
                .pull(&paicha_client::PullQuery {
                    cursor: Some(&cursor),
                    wait: Some(30),
                    ..Default::default()
                })
                .await
                .unwrap();
            (page, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(1, "members", m, t.branch1.id, json!({"name": "周九"}))],
        )
        .await
        .unwrap();
    let (page, took) = waiting.await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].id, m);
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn tombstones_wait_for_active_devices_and_a_cursor_behind_the_horizon_must_resync() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(1, "members", m, t.branch1.id, json!({"name": "吴十"}))],
        )
        .await
        .unwrap();
    // A phone pulls (and so acknowledges its position), then goes offline.
    let first = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            device_id: Some("field-phone"),
            ..Default::default()
        })
        .await
        .unwrap();
    let offline_cursor = first.cursor.clone();
    t.secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some(&offline_cursor),
            device_id: Some("field-phone"),
            ..Default::default()
        })
        .await
        .unwrap();
    t.secretary1
        .push("p", vec![delete(2, "members", m)])
        .await
        .unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();

    // While the phone is active, its position holds the tombstone back.
    assert_eq!(
        purge(&store, chrono::Utc::now(), DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        0
    );
    let page = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some(&offline_cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.changes.iter().any(|c| c.id == m && c.deleted));

    // Past the upper bound the phone no longer holds it: it goes, and the phone must resync.
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    assert_eq!(purge(&store, later, DEFAULT_MAX_AGE).await.unwrap(), 1);
    let err = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some(&offline_cursor),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::GONE), Some("resync_required"))
    );
    // From the start, the state is complete (and the deleted member simply absent).
    let mut fresh = Replica::default();
    fresh.sync(&t.secretary1).await.unwrap();
    assert!(!fresh.has("members", m));
    // A cursor from a future this database does not have is refused the same way.
    let future = paicha_sync::cursor::Cursor::at(1_000_000).encode();
    let err = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some(&future),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("resync_required"));
}

#[tokio::test]
async fn a_commit_on_one_instance_wakes_a_long_poll_on_another() {
    let app = spawn_app().await;
    if app.db.engine != "postgres" {
        eprintln!(
            "skipped: cross-instance notification needs PostgreSQL (set PAICHA_TEST_DATABASE_URL)"
        );
        return;
    }
    let t = app.tenant("a").await;
    let other = app.second_instance().await;
    let on_b = other.client.with_token(t.admin.access_token().unwrap());
    let mut replica = Replica::default();
    replica.sync(&on_b).await.unwrap();
    let cursor = replica.cursor.clone().unwrap();
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let page = on_b
            .pull(&paicha_client::PullQuery {
                cursor: Some(&cursor),
                wait: Some(20),
                ..Default::default()
            })
            .await
            .unwrap();
        (page, started)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pushed_at = std::time::Instant::now();
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                m,
                t.branch1.id,
                json!({"name": "郑十一"}),
            )],
        )
        .await
        .unwrap();
    let (page, _) = waiting.await.unwrap();
    let latency = pushed_at.elapsed();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].id, m);
    assert!(
        latency < std::time::Duration::from_secs(1),
        "woke after {latency:?}"
    );
}

#[tokio::test]
async fn without_known_devices_tombstones_are_kept_until_the_upper_bound() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![
                put(1, "members", m, t.branch1.id, json!({"name": "陈十三"})),
                delete(2, "members", m),
            ],
        )
        .await
        .unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    assert_eq!(
        purge(&store, chrono::Utc::now(), DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    assert_eq!(purge(&store, later, DEFAULT_MAX_AGE).await.unwrap(), 1);
}

/// The upper bound cuts between changes by their time: a deletion older than it goes, one made
/// after it stays, however many changes of either kind the tenant has.
#[tokio::test]
async fn the_upper_bound_purges_the_deletions_older_than_it_and_keeps_the_later() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let made_and_deleted = |n: i64| {
        let m = Uuid::now_v7();
        vec![
            put(
                n,
                "members",
                m,
                t.branch1.id,
                json!({"name": format!("党员{n}")}),
            ),
            delete(n + 1, "members", m),
        ]
    };
    t.secretary1.push("p", made_and_deleted(1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t.secretary1.push("p", made_and_deleted(3)).await.unwrap();
    t.secretary1.push("p", made_and_deleted(5)).await.unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let max_age = chrono::Duration::from_std(DEFAULT_MAX_AGE).unwrap();
    // Ninety days after the moment between them: the first deletion is older than the bound.
    assert_eq!(
        purge(&store, between + max_age, DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        purge(&store, between + max_age, DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    assert_eq!(purge(&store, later, DEFAULT_MAX_AGE).await.unwrap(), 2);
}

/// A purge that takes no tombstone leaves every cursor usable: a new phone's first sync (or a
/// repair pull from the start) of more than one page, after a purge whose horizon followed the
/// devices in use to the head, is served to the end, not refused with `resync_required` at its
/// second page (found by the soak, `paicha-bench soak`: an instance's start-up purge).
#[tokio::test]
async fn a_purge_that_took_nothing_leaves_a_paged_pull_from_the_start_served() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let members: Vec<serde_json::Value> = (1..=30)
        .map(|i| {
            put(
                i,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": format!("党员{i}")}),
            )
        })
        .collect();
    t.secretary1.push("p", members).await.unwrap();
    // A phone in use has pulled everything (and said so on its next pull): the horizon is the
    // head.
    let pull = |cursor: Option<String>, limit: u64, device: &'static str| {
        pull_as_device(t.secretary1.clone(), cursor, limit, device)
    };
    let head = pull(None, 500, "phone-in-use").await.unwrap().cursor;
    pull(Some(head), 500, "phone-in-use").await.unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    assert_eq!(
        purge(&store, chrono::Utc::now(), DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        0
    );
    // A new phone pulls from the start, 10 a page.
    let (mut cursor, mut pulled) = (None, 0);
    loop {
        let page = pull(cursor.clone(), 10, "new-phone")
            .await
            .unwrap_or_else(|e| panic!("after {pulled} changes: {e}"));
        pulled += page.changes.len();
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pulled, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_racing_its_original_applies_once() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let batch: Vec<serde_json::Value> = (1..=5)
        .map(|i| {
            put(
                i,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": format!("并发{i}")}),
            )
        })
        .collect();
    // The same batch from the same device, many times at once (a phone retrying on a bad
    // network while its first attempt is still in flight).
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let client = t.secretary1.clone();
            let batch = batch.clone();
            tokio::spawn(async move { client.push("flaky-phone", batch).await })
        })
        .collect();
    let mut applied = 0;
    let mut duplicates = 0;
    let mut versions = Vec::new();
    for a in attempts {
        let response = a.await.unwrap().unwrap();
        for r in &response.results {
            match r.status {
                MutationStatus::Applied => applied += 1,
                MutationStatus::Duplicate => duplicates += 1,
                other => panic!("unexpected {other:?}"),
            }
            versions.push(r.version);
        }
    }
    assert_eq!((applied, duplicates), (5, 35));
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert_eq!(replica.records.len(), 5);
    // Every attempt reports the versions of the one application.
    let mut distinct: Vec<_> = versions.into_iter().flatten().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);
}

#[tokio::test]
async fn a_mutation_with_a_nul_character_is_rejected_alone() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let ok = Uuid::now_v7();
    let r = t
        .secretary1
        .push("p", vec![
            json!({"mutation_id": 1, "collection": "mem\u{0}bers", "id": Uuid::now_v7(), "op": "put"}),
            put(2, "members", Uuid::now_v7(), t.branch1.id, json!({"name": "a\u{0}b"})),
            put(3, "working_groups", Uuid::now_v7(), t.branch1.id, json!({"people": [{"name": "x\u{7}"}, {"name": "b"}, {"name": "c"}, {"name": "d"}, {"name": "e"}]})),
            put(4, "members", ok, t.branch1.id, json!({"name": "正常"})),
        ])
        .await
        .unwrap();
    let codes: Vec<&str> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().map_or("applied", |e| e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            "invalid_mutation",
            "invalid_mutation",
            "invalid_field_value",
            "applied"
        ]
    );
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert!(replica.has("members", ok));
}

#[tokio::test]
async fn only_the_owner_side_and_the_addressee_itself_write_an_addressed_record() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let transfer = Uuid::now_v7();
    // The committee addresses a transfer to branch 1, below the street.
    let r = t
        .admin
        .push(
            "office",
            vec![put(
                1,
                "transfers",
                transfer,
                t.committee.id,
                json!({"branch_id": t.branch1.id, "member_name": "秦十六"}),
            )],
        )
        .await
        .unwrap();
    assert!(r.results[0].error.is_none(), "{:?}", r.results[0]);
    // The street sees it, but neither rewrites nor deletes it.
    let mut street = Replica::default();
    street.sync(&t.street_staff).await.unwrap();
    assert!(street.has("transfers", transfer));
    let r = t
        .street_staff
        .push(
            "s",
            vec![
                patch(1, "transfers", transfer, None, json!({"letter_no": "X-1"})),
                delete(2, "transfers", transfer),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<&str> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().map_or("applied", |e| e.code.as_str()))
        .collect();
    assert_eq!(codes, vec!["outside_scope", "outside_scope"]);
    // The addressee follows it up, but does not delete it; the owner does.
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                patch(
                    1,
                    "transfers",
                    transfer,
                    None,
                    json!({"follow_up_note": "已联系"}),
                ),
                delete(2, "transfers", transfer),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<&str> = r
        .results
        .iter()
        .map(|r| r.error.as_ref().map_or("applied", |e| e.code.as_str()))
        .collect();
    assert_eq!(codes, vec!["applied", "outside_scope"]);
    let r = t
        .admin
        .push("office", vec![delete(2, "transfers", transfer)])
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied);
}

#[tokio::test]
async fn the_horizon_follows_the_slowest_active_device() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    t.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                m,
                t.branch1.id,
                json!({"name": "褚二十一"}),
            )],
        )
        .await
        .unwrap();
    let pull = |cursor: Option<String>, device: &'static str| {
        let client = t.secretary1.clone();
        async move {
            client
                .pull(&paicha_client::PullQuery {
                    cursor: cursor.as_deref(),
                    device_id: Some(device),
                    ..Default::default()
                })
                .await
                .unwrap()
                .cursor
        }
    };
    // Two phones have everything but the coming deletion.
    let before = pull(None, "slow-phone").await;
    pull(None, "fast-phone").await;
    t.secretary1
        .push("p", vec![delete(2, "members", m)])
        .await
        .unwrap();
    // The fast phone pulls past the deletion (and says so on its next pull); the slow one not.
    let after = pull(Some(before.clone()), "fast-phone").await;
    pull(Some(after.clone()), "fast-phone").await;
    pull(Some(before.clone()), "slow-phone").await;

    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    // Thirty days on, both phones are still active: the slow one holds the tombstone back.
    let month = chrono::Utc::now() + chrono::Duration::days(30);
    assert_eq!(purge(&store, month, DEFAULT_MAX_AGE).await.unwrap(), 0);
    // Once the slow phone has pulled past it too, it goes.
    pull(Some(after.clone()), "slow-phone").await;
    assert_eq!(purge(&store, month, DEFAULT_MAX_AGE).await.unwrap(), 1);
    // Both phones' cursors are at or past the horizon: neither must resync.
    let page = t
        .secretary1
        .pull(&paicha_client::PullQuery {
            cursor: Some(&after),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.changes.is_empty());
}

/// The bounds `/openapi.json` states for a pull are the server's: a `limit` outside 1 … 5000 or
/// a `wait` over 60 s is refused, not silently clamped.
#[tokio::test]
async fn pull_refuses_limit_and_wait_out_of_bounds() {
    let app = spawn_app().await;
    let t = app.tenant("pb").await;
    let token = t.secretary1.access_token().unwrap().to_owned();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("wait=61", "wait"),
    ] {
        let (status, _, body) = crate::raw(
            reqwest::Method::GET,
            format!("{}/v1/sync/pull?{query}", app.base),
            Some(&token),
            None,
            Vec::new(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(crate::error_code(&body), "invalid_query", "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    for query in ["limit=1", "limit=5000", "wait=0"] {
        let (status, _, body) = crate::raw(
            reqwest::Method::GET,
            format!("{}/v1/sync/pull?{query}", app.base),
            Some(&token),
            None,
            Vec::new(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
}

#[tokio::test]
async fn a_waiting_long_poll_is_answered_at_once_when_the_server_stops() {
    let mut app = spawn_app().await;
    let t = app.tenant("s").await;
    let client = t.secretary1.clone();
    let started = std::time::Instant::now();
    let poll = tokio::spawn(async move {
        client
            .pull(&paicha_client::PullQuery {
                wait: Some(30),
                ..Default::default()
            })
            .await
    });
    // Let the poll reach its wait (it has nothing to return: the branch holds no records).
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(!poll.is_finished(), "the poll waits while nothing changes");
    app.stop().await;
    let page = tokio::time::timeout(std::time::Duration::from_secs(10), poll)
        .await
        .expect("answered long before its 30 s wait")
        .unwrap()
        .unwrap();
    assert!(page.changes.is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(12));
}

/// A pull page reads its rows through indexes, in order, whatever the tables' statistics: on
/// PostgreSQL a large table not yet analysed (a roster just imported) was read from the cursor
/// to its end and sorted for every page, so a large pull became quadratic (docs/benchmarks.md,
/// 2026-11-29, fixed in `bdbb682`). The committee's page walks each collection's `(tenant_id,
/// version)` index and stops at the limit; a unit below it reads only its units' entries of the
/// `(org_unit_id, version)` index, so a branch's pull does not read the tenant (issue #23 item
/// 4): in order for one unit, sorted (only what the scope holds) for more.
#[tokio::test]
async fn a_pull_page_reads_its_scopes_index_in_order_even_before_the_table_is_analysed() {
    use paicha_domain::collection::Collection;
    use paicha_storage::{Scope, Store};

    let app = spawn_app().await;
    let t = app.tenant("ix").await;
    let mutations = (0..500)
        .map(|i| {
            put(
                i + 1,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": format!("党员{i}")}),
            )
        })
        .collect();
    let response = t.secretary1.push("phone", mutations).await.unwrap();
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );
    // As many again as a pushed roster of 50,000, not analysed.
    let mut pg = if app.db.engine == "postgres" {
        Some(
            paicha_tests::raw::copy_a_member(&app.db.url, 50_000)
                .await
                .unwrap(),
        )
    } else {
        None
    };
    let store = Store::connect(&app.db.url).await.unwrap();
    let committee = format!("/{}/", t.committee.id);
    let branch = format!(
        "/{}/{}/{}/{}/",
        t.committee.id, t.street.id, t.work_area.id, t.branch1.id
    );
    let work_area = format!("/{}/{}/{}/", t.committee.id, t.street.id, t.work_area.id);
    for analysed in [false, true] {
        if analysed && let Some(conn) = &mut pg {
            sqlx::raw_sql("ANALYZE").execute(conn).await.unwrap();
        }
        for path in [&committee, &branch, &work_area] {
            let scope = Scope::new(TenantId::new(t.committee.id), path);
            let plan = store
                .explain_pull_page(scope, &Collection::ALL, 2000, 1000)
                .await
                .unwrap()
                .join("\n");
            let context = format!("analysed: {analysed}, scope {path}\n{plan}");
            let one_unit = path == &branch;
            if app.db.engine == "postgres" {
                let index = if path == &committee {
                    "Index Scan using idx_members_tenant_version on members"
                } else {
                    "Index Scan using idx_members_unit_version on members"
                };
                assert!(plan.contains(index), "{context}");
                assert!(!plan.contains("Bitmap"), "{context}");
                assert!(!plan.contains("Seq Scan on members"), "{context}");
                // No sort where the order comes from the indexes: the committee's and a
                // branch's pages ("Merge Append" of the collections keeps it).
                if path == &committee || one_unit {
                    assert!(!plan.contains("->  Sort  "), "{context}");
                }
            } else {
                let index = if path == &committee {
                    "SEARCH members USING INDEX idx_members_tenant_version"
                } else {
                    "SEARCH members USING INDEX idx_members_unit_version"
                };
                assert!(plan.contains(index), "{context}");
                // Each collection read in its index's order: nothing sorted through a
                // temporary b-tree (docs/benchmarks.md, 2026-11-29, fixed in `fe26c95`), but
                // what the units of a work area hold.
                if path == &committee || one_unit {
                    assert!(!plan.contains("TEMP B-TREE"), "{context}");
                }
            }
        }
    }
}

/// A new phone's first sync of more than one page goes on to its end after tombstones above its
/// first page were purged: a record deleted before the first page was read was never sent
/// alive, so the chain's cursors know the tenant as of that first snapshot
/// (`Cursor::complete_as_of`). Before, the second page was refused `resync_required`, and so
/// was every retry from the start.
#[tokio::test]
async fn a_first_sync_of_many_pages_goes_on_after_tombstones_above_its_first_page_are_purged() {
    use paicha_sync::horizon::{DEFAULT_MAX_AGE, purge};
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let ids: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
    let members = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            put(
                i as i64 + 1,
                "members",
                *id,
                t.branch1.id,
                json!({"name": format!("党员{i}")}),
            )
        })
        .collect();
    t.secretary1.push("p", members).await.unwrap();
    // Five deleted: their tombstones lie above the first page of 10.
    let deletes = ids[..5]
        .iter()
        .enumerate()
        .map(|(i, id)| paicha_tests::delete(100 + i as i64, "members", *id))
        .collect();
    let deleted = t.secretary1.push("p", deletes).await.unwrap();
    assert!(
        deleted
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied),
        "{deleted:?}"
    );
    let pull = |cursor: Option<String>, limit: u64, device: &'static str| {
        pull_as_device(t.secretary1.clone(), cursor, limit, device)
    };
    // The phone in use has everything: the tombstones are below the horizon and go.
    let head = pull(None, 500, "phone-in-use").await.unwrap().cursor;
    pull(Some(head), 500, "phone-in-use").await.unwrap();
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    assert_eq!(
        purge(&store, chrono::Utc::now(), DEFAULT_MAX_AGE)
            .await
            .unwrap(),
        5
    );
    // A new phone pulls from the start, 10 a page: the 25 members alive, to the end.
    let (mut cursor, mut pulled) = (None, Vec::new());
    loop {
        let page = pull(cursor.clone(), 10, "new-phone")
            .await
            .unwrap_or_else(|e| panic!("after {} changes: {e}", pulled.len()));
        pulled.extend(page.changes.iter().map(|c| (c.id, c.deleted)));
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pulled.len(), 25, "{pulled:?}");
    assert!(
        pulled
            .iter()
            .all(|(id, deleted)| !deleted && !ids[..5].contains(id))
    );
    // An old cursor below the purged tombstones, outside a first sync, is still refused.
    let old = paicha_sync::cursor::Cursor::at(3).encode();
    let refused = pull(Some(old), 10, "old-phone").await.unwrap_err();
    assert_eq!(refused.code(), Some("resync_required"), "{refused}");
}

/// A page of `client`'s pull from `cursor` (none: from the start), as the device `device`.
async fn pull_as_device(
    client: paicha_client::Client,
    cursor: Option<String>,
    limit: u64,
    device: &'static str,
) -> paicha_client::ClientResult<paicha_domain::api::v1::PullResponse> {
    client
        .pull(&paicha_client::PullQuery {
            cursor: cursor.as_deref(),
            limit: Some(limit),
            device_id: Some(device),
            ..Default::default()
        })
        .await
}

/// A JSON column of the database at `url`, as stored: `sql` selects it (as text) with `?` for
/// the one id it binds.
async fn stored_json(url: &str, sql: &str, id: Uuid) -> serde_json::Value {
    use sqlx::Connection as _;
    let text: String = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        // The statements are this file's own literals.
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.replace('?', "$1")))
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.replace("::text", "")))
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    serde_json::from_str(&text).unwrap()
}

/// A member's field versions as stored in the database at `url`.
async fn stored_field_versions(url: &str, id: Uuid) -> serde_json::Value {
    stored_json(
        url,
        "SELECT field_versions::text FROM members WHERE id = ?",
        id,
    )
    .await
}

/// A record's field versions are stored packed (the commonest version once under `""`, the
/// others listed, a cleared field's too), a creation's audit entry as its new values alone
/// (read back as pairs), and merges read the versions back exactly: a stale patch
/// conflicts on the fields written since its base, a cleared one included, and on no other.
#[tokio::test]
async fn field_versions_are_stored_packed_and_merges_read_them_exactly() {
    let app = spawn_app().await;
    let t = app.tenant("fv").await;
    let m = Uuid::now_v7();
    let version = |r: &paicha_domain::api::v1::PushResponse| r.results[0].version.unwrap();
    let created = t
        .secretary1
        .push(
            "a",
            vec![put(
                1,
                "members",
                m,
                t.branch1.id,
                paicha_tests::roster::member(3),
            )],
        )
        .await
        .unwrap();
    let v1 = version(&created);
    assert_eq!(
        stored_field_versions(&app.db.url, m).await,
        json!({"": v1}),
        "a created member stores its one version once"
    );
    // Its audit entry stores the new values alone; the audit answers the pairs.
    let mut new_only = paicha_tests::roster::member(3);
    new_only[""] = json!(0);
    let first_entry =
        "SELECT changes::text FROM change_log WHERE record_id = ? ORDER BY version LIMIT 1";
    assert_eq!(stored_json(&app.db.url, first_entry, m).await, new_only);
    let audit = t.secretary1.audit("members", m).await.unwrap();
    let pairs = &audit.entries[0].changes;
    assert_eq!(
        pairs["name"],
        json!([null, paicha_tests::roster::member(3)["name"]])
    );
    assert_eq!(
        pairs.as_object().map(|p| p.len()),
        paicha_tests::roster::member(3).as_object().map(|f| f.len())
    );
    let phoned = t
        .secretary1
        .push(
            "a",
            vec![patch(
                2,
                "members",
                m,
                Some(v1),
                json!({"phone": "13900001111"}),
            )],
        )
        .await
        .unwrap();
    let v2 = version(&phoned);
    let cleared = t
        .secretary1
        .push(
            "a",
            vec![patch(3, "members", m, Some(v2), json!({"work_unit": null}))],
        )
        .await
        .unwrap();
    let v3 = version(&cleared);
    assert_eq!(
        stored_field_versions(&app.db.url, m).await,
        json!({"": v1, "phone": v2, "work_unit": v3}),
        "the base, a field written since, and a cleared field's version"
    );

    // Another phone, still at the first version, writes the phone, the work unit and the
    // residence: the first two were written since (conflicts), the residence was not.
    let stale = t
        .secretary1
        .push(
            "b",
            vec![patch(
                1,
                "members",
                m,
                Some(v1),
                json!({"phone": "13900002222", "work_unit": "县供销社", "residence": "城关镇新村1号"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(stale.results[0].status, MutationStatus::Merged);
    let mut overwritten: Vec<(String, u64)> = stale.results[0]
        .conflicts
        .iter()
        .flatten()
        .map(|c| (c.field.clone(), c.overwritten_version))
        .collect();
    overwritten.sort();
    assert_eq!(
        overwritten,
        vec![("phone".to_owned(), v2), ("work_unit".to_owned(), v3)]
    );
    let v4 = version(&stale);
    assert_eq!(
        stored_field_versions(&app.db.url, m).await,
        json!({"": v1, "phone": v4, "work_unit": v4, "residence": v4})
    );
}
