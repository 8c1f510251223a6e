//! Rules of a push that protect what devices send from being lost silently: a `mutation_id`
//! used again for another edit is refused rather than swallowed as a duplicate; a `put` keeps
//! the fields it does not name; a 公民身份号码 belongs to one live member of a tenant.

use paicha_domain::api::v1::MutationStatus;
use paicha_tests::{Replica, delete, id_number, patch, put, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

fn code(r: &paicha_domain::api::v1::MutationResult) -> Option<&str> {
    r.error.as_ref().map(|e| e.code.as_str())
}

async fn fields_of(client: &paicha_client::Client, collection: &str, id: Uuid) -> Value {
    let mut replica = Replica::default();
    replica.sync(client).await.unwrap();
    let (_, fields) = replica
        .records
        .get(&(collection.to_owned(), id))
        .expect("record pulled");
    Value::Object(fields.clone())
}

#[tokio::test]
async fn a_reused_mutation_id_with_other_content_is_refused_not_swallowed() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (m1, m2) = (Uuid::now_v7(), Uuid::now_v7());
    let first = t
        .secretary1
        .push(
            "phone-1",
            vec![
                put(1, "members", m1, t.branch1.id, json!({"name": "张三"})),
                put(2, "members", m2, t.branch1.id, json!({"name": "李四"})),
            ],
        )
        .await
        .unwrap();
    assert!(
        first
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );

    // The app lost its counter but kept its device id: a brand-new edit under id 1, and in
    // the same batch an honest retry of id 2 (same content, keys in another order).
    let again = t
        .secretary1
        .push(
            "phone-1",
            vec![
                patch(1, "members", m1, None, json!({"phone": "13900000000"})),
                json!({"op": "put", "fields": {"name": "李四"}, "org_unit_id": t.branch1.id,
                       "id": m2, "collection": "members", "mutation_id": 2,
                       "client_time": "another clock reading"}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(again.results[0].status, MutationStatus::Rejected);
    assert_eq!(code(&again.results[0]), Some("mutation_id_reused"));
    assert_eq!(
        again.results[0].error.as_ref().unwrap().field.as_deref(),
        Some("mutation_id")
    );
    assert_eq!(again.results[1].status, MutationStatus::Duplicate);
    assert_eq!(again.results[1].first_status, Some(MutationStatus::Applied));
    // Nothing of the refused edit was applied, and the first result still stands.
    assert!(
        fields_of(&t.secretary1, "members", m1)
            .await
            .get("phone")
            .is_none()
    );
    let retry = t
        .secretary1
        .push(
            "phone-1",
            vec![put(1, "members", m1, t.branch1.id, json!({"name": "张三"}))],
        )
        .await
        .unwrap();
    assert_eq!(retry.results[0].status, MutationStatus::Duplicate);

    // Within one batch: the same id twice with different content.
    let m3 = Uuid::now_v7();
    let batch = t
        .secretary1
        .push(
            "phone-1",
            vec![
                put(7, "members", m3, t.branch1.id, json!({"name": "王五"})),
                patch(7, "members", m3, None, json!({"phone": "1"})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(batch.results[0].status, MutationStatus::Applied);
    assert_eq!(code(&batch.results[1]), Some("mutation_id_reused"));

    // Sent again under a fresh id, the edit applies.
    let fresh = t
        .secretary1
        .push(
            "phone-1",
            vec![patch(
                8,
                "members",
                m1,
                None,
                json!({"phone": "13900000000"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(fresh.results[0].status, MutationStatus::Applied);
    assert_eq!(
        fields_of(&t.secretary1, "members", m1).await["phone"],
        "13900000000"
    );
}

#[tokio::test]
async fn a_put_from_an_older_app_keeps_the_fields_it_does_not_know() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let m = Uuid::now_v7();
    let created = t
        .secretary1
        .push(
            "new-app",
            vec![put(
                1,
                "members",
                m,
                t.branch1.id,
                json!({"name": "张三", "phone": "13900000000", "flow_destination": "广东省深圳市",
                       "flow_out_reason": "务工"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(created.results[0].status, MutationStatus::Applied);

    // An app built before the flow fields existed replaces the record as it knows it.
    let replaced = t
        .secretary1
        .push(
            "old-app",
            vec![
                json!({"mutation_id": 1, "collection": "members", "id": m, "op": "put",
                        "fields": {"name": "张三丰", "phone": "13911111111"}}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(replaced.results[0].status, MutationStatus::Applied);
    let fields = fields_of(&t.secretary1, "members", m).await;
    assert_eq!(fields["name"], "张三丰");
    assert_eq!(fields["phone"], "13911111111");
    assert_eq!(fields["flow_destination"], "广东省深圳市");
    assert_eq!(fields["flow_out_reason"], "务工");

    // Clearing is explicit.
    let cleared = t
        .secretary1
        .push(
            "old-app",
            vec![
                json!({"mutation_id": 2, "collection": "members", "id": m, "op": "put",
                        "fields": {"name": "张三丰", "flow_destination": null}}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(cleared.results[0].status, MutationStatus::Applied);
    let fields = fields_of(&t.secretary1, "members", m).await;
    assert!(fields.get("flow_destination").is_none());
    assert_eq!(fields["phone"], "13911111111");

    // A put still must carry the required fields.
    let missing = t
        .secretary1
        .push(
            "old-app",
            vec![
                json!({"mutation_id": 3, "collection": "members", "id": m, "op": "put",
                        "fields": {"phone": "1"}}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(code(&missing.results[0]), Some("required_field"));
}

#[tokio::test]
async fn an_id_number_belongs_to_one_live_member_of_the_tenant() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let other = app.tenant("b").await;
    let number = id_number("19500301", 13);
    let (m1, m2, m3, m4) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let first = t
        .secretary1
        .push(
            "p1",
            vec![put(
                1,
                "members",
                m1,
                t.branch1.id,
                json!({"name": "张三", "id_number": number}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(first.results[0].status, MutationStatus::Applied);

    // Another branch of the same tenant, the same number (lower-case check character is the
    // same number): refused, with the field.
    let lower = number.to_lowercase();
    let second = t
        .secretary2
        .push(
            "p2",
            vec![
                put(
                    1,
                    "members",
                    m2,
                    t.branch2.id,
                    json!({"name": "张三", "id_number": lower}),
                ),
                put(2, "members", m3, t.branch2.id, json!({"name": "李四"})),
                patch(3, "members", m3, None, json!({"id_number": number})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(code(&second.results[0]), Some("id_number_taken"));
    assert_eq!(
        second.results[0].error.as_ref().unwrap().field.as_deref(),
        Some("id_number")
    );
    assert_eq!(second.results[1].status, MutationStatus::Applied);
    assert_eq!(code(&second.results[2]), Some("id_number_taken"));

    // Two new members with one number in one batch: the second is refused.
    let fresh = id_number("19520101", 21);
    let pair = t
        .secretary1
        .push(
            "p1",
            vec![
                put(
                    2,
                    "members",
                    m4,
                    t.branch1.id,
                    json!({"name": "甲", "id_number": fresh}),
                ),
                put(
                    3,
                    "members",
                    Uuid::now_v7(),
                    t.branch1.id,
                    json!({"name": "乙", "id_number": fresh}),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(pair.results[0].status, MutationStatus::Applied);
    assert_eq!(code(&pair.results[1]), Some("id_number_taken"));

    // Another tenant is another world.
    let elsewhere = other
        .secretary1
        .push(
            "p9",
            vec![put(
                1,
                "members",
                Uuid::now_v7(),
                other.branch1.id,
                json!({"name": "张三", "id_number": number}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.results[0].status, MutationStatus::Applied);

    // Rewriting a member's own number, and freeing a number: deleted members hold none, and a
    // member that changed its number frees the old one, also within one batch.
    let moves = t
        .secretary1
        .push(
            "p1",
            vec![
                patch(
                    4,
                    "members",
                    m1,
                    None,
                    json!({"id_number": number, "phone": "1"}),
                ),
                delete(5, "members", m4),
                patch(6, "members", m3, None, json!({"id_number": fresh})),
            ],
        )
        .await;
    // m3 is branch 2's: secretary 1 may not touch it.
    let moves = moves.unwrap();
    assert_eq!(moves.results[0].status, MutationStatus::Applied);
    assert_eq!(moves.results[1].status, MutationStatus::Applied);
    assert_eq!(code(&moves.results[2]), Some("outside_scope"));
    let freed = t
        .secretary2
        .push(
            "p2",
            vec![patch(4, "members", m3, None, json!({"id_number": fresh}))],
        )
        .await
        .unwrap();
    assert_eq!(freed.results[0].status, MutationStatus::Applied);

    let swap = id_number("19600505", 33);
    let batch = t
        .secretary1
        .push(
            "p1",
            vec![
                patch(7, "members", m1, None, json!({"id_number": swap})),
                put(
                    8,
                    "members",
                    Uuid::now_v7(),
                    t.branch1.id,
                    json!({"name": "丙", "id_number": number}),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(batch.results[0].status, MutationStatus::Applied);
    assert_eq!(batch.results[1].status, MutationStatus::Applied);
}
