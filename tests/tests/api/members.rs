//! `GET /v1/members`: search a unit's members by name or ID number, filter by verification
//! state, page through them; ID numbers masked for roles that do not need them.

use paicha_domain::api::v1::MutationStatus;

use crate::baseline::applied;
use paicha_domain::role::Role;
use paicha_tests::{id_number, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn members_are_searched_filtered_paged_and_masked_by_role() {
    let app = spawn_app().await;
    let t = app.tenant("m").await;
    let numbers: Vec<String> = (0..5).map(|i| id_number("19600101", 11 + 2 * i)).collect();
    let names = ["张三", "张三丰", "李四", "王五", "赵六_%"];
    let mut batch = Vec::new();
    for (i, (name, number)) in names.iter().zip(&numbers).enumerate() {
        let mut fields = json!({"name": name, "id_number": number});
        if i < 2 {
            fields["roster_status"] = json!("confirmed_on_site");
            fields["confirmation_exception"] = json!("采集表已现场签字，待补录系统");
        }
        batch.push(put(
            i as i64 + 1,
            "members",
            Uuid::now_v7(),
            t.branch1.id,
            fields,
        ));
    }
    let pushed = t.secretary1.push("p", batch).await.unwrap();
    assert!(
        pushed
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );
    // Branch 2 has a 张三 of its own.
    let pushed = t
        .secretary2
        .push(
            "p",
            vec![put(
                1,
                "members",
                Uuid::now_v7(),
                t.branch2.id,
                json!({"name": "张三"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(pushed.results[0].status, MutationStatus::Applied);

    let names_of = |l: &paicha_domain::api::v1::MemberList| -> Vec<String> {
        l.members.iter().map(|m| m.name.clone()).collect()
    };
    // The committee searches its whole tree, ordered by name.
    let found = t
        .admin
        .members(None, Some("张三"), None, None, None)
        .await
        .unwrap();
    assert_eq!(found.total, 3);
    // The branch sees its own only.
    let own = t
        .secretary1
        .members(None, Some("张三"), None, None, None)
        .await
        .unwrap();
    assert_eq!(names_of(&own), vec!["张三", "张三丰"]);
    // By the start of an ID number, in full for the branch.
    let by_id = t
        .secretary1
        .members(None, Some(&numbers[2][..14]), None, None, None)
        .await
        .unwrap();
    assert_eq!(
        names_of(&by_id).len(),
        5,
        "all five share the first 14 digits"
    );
    let exact = t
        .secretary1
        .members(None, Some(&numbers[2]), None, None, None)
        .await
        .unwrap();
    assert_eq!(names_of(&exact), vec!["李四"]);
    assert_eq!(
        exact.members[0].id_number.as_deref(),
        Some(numbers[2].as_str())
    );
    assert!(!exact.members[0].id_number_masked);
    // LIKE's own characters are literal.
    let odd = t
        .secretary1
        .members(None, Some("_%"), None, None, None)
        .await
        .unwrap();
    assert_eq!(names_of(&odd), vec!["赵六_%"]);
    // By verification state: `unverified` includes members that have none.
    let done = t
        .secretary1
        .members(None, None, Some("confirmed_on_site"), None, None)
        .await
        .unwrap();
    assert_eq!(done.total, 2);
    let open = t
        .secretary1
        .members(None, None, Some("unverified"), None, None)
        .await
        .unwrap();
    assert_eq!(open.total, 3);
    // Paging.
    let page = t
        .secretary1
        .members(None, None, None, Some(2), Some(2))
        .await
        .unwrap();
    assert_eq!((page.total, page.offset, page.members.len()), (5, 2, 2));

    // The street sees numbers masked, and finds a member by the whole number only.
    let street = t
        .street_staff
        .members(None, Some("李四"), None, None, None)
        .await
        .unwrap();
    let shown = street.members[0].id_number.clone().unwrap();
    assert!(street.members[0].id_number_masked);
    assert!(shown.contains('*') && shown != numbers[2], "{shown}");
    let probe = t
        .street_staff
        .members(None, Some(&numbers[2][..14]), None, None, None)
        .await
        .unwrap();
    assert_eq!(probe.total, 0, "no prefix search for masked roles");
    let whole = t
        .street_staff
        .members(None, Some(&numbers[2]), None, None, None)
        .await
        .unwrap();
    assert_eq!(names_of(&whole), vec!["李四"]);

    // Out of scope and bad queries.
    let err = t
        .secretary1
        .members(Some(t.branch2.id), None, None, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    for (q, status, limit) in [
        (Some("x".repeat(51)), None, None),
        (None, Some("done"), None),
        (None, None, Some(0)),
        (None, None, Some(201)),
    ] {
        let err = t
            .secretary1
            .members(None, q.as_deref(), status, limit, None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(err.code(), Some("invalid_query"));
    }
    // Only some members, by id (a queue naming members); ids out of scope are not there.
    let of = |unit: Uuid| {
        found
            .members
            .iter()
            .find(|m| m.org_unit_id == unit)
            .unwrap()
    };
    let (a, b) = (of(t.branch1.id), of(t.branch2.id));
    let (status, _, body) = crate::raw(
        reqwest::Method::GET,
        format!("{}/v1/members?ids={},{}", app.base, a.id, b.id),
        t.secretary1.access_token(),
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = body["members"].as_array().unwrap().len();
    let in_branch1 = [a, b]
        .iter()
        .filter(|m| m.org_unit_id == t.branch1.id)
        .count();
    assert_eq!(got, in_branch1, "{body}");
    assert_eq!(in_branch1, 1, "branch 2's member is not branch 1's to see");
    let (status, _, body) = crate::raw(
        reqwest::Method::GET,
        format!("{}/v1/members?ids=not-an-id", app.base),
        t.secretary1.access_token(),
        None,
        "",
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ids"))
    );

    let viewer = app
        .user_at(&t.admin, "m-viewer", Role::Viewer, &t.branch1)
        .await;
    let seen = viewer.members(None, None, None, None, None).await.unwrap();
    assert!(seen.members.iter().all(|m| m.id_number_masked));
}

/// `POST /v1/members/search` (the search with its parameters in the body, so an ID number is
/// never in a URL), role by role: `system_admin` is refused; every other role finds the member
/// by its whole number and reads the number as `domain::privacy` says, the same answer as the
/// `GET`; a prefix finds it only for the roles that read numbers whole.
#[tokio::test]
async fn the_search_in_a_body_answers_as_the_get_for_every_role() {
    use paicha_domain::api::v1::MemberSearchRequest;
    use paicha_domain::privacy;

    let app = spawn_app().await;
    let t = app.tenant("ms").await;
    let number = id_number("19620304", 17);
    let member = Uuid::now_v7();
    let pushed = t
        .secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                member,
                t.branch1.id,
                json!({"name": "钱七", "id_number": number}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(pushed.results[0].status, MutationStatus::Applied);

    let mut callers = vec![
        (Role::SystemAdmin, app.admin.clone()),
        (Role::CommitteeAdmin, t.admin.clone()),
        (Role::StreetStaff, t.street_staff.clone()),
        (Role::BranchSecretary, t.secretary1.clone()),
    ];
    for (name, role, unit) in [
        ("ms-office", Role::OrgOffice, &t.committee),
        ("ms-area", Role::WorkAreaStaff, &t.work_area),
        ("ms-member", Role::GroupMember, &t.branch1),
        ("ms-viewer", Role::Viewer, &t.committee),
    ] {
        callers.push((role, app.user_at(&t.admin, name, role, unit).await));
    }
    let mut roles: Vec<Role> = callers.iter().map(|(r, _)| *r).collect();
    roles.sort_by_key(|r| r.as_str());
    let mut all = Role::ALL.to_vec();
    all.sort_by_key(|r| r.as_str());
    assert_eq!(roles, all, "every role of domain::role");

    let whole = MemberSearchRequest {
        q: Some(number.clone()),
        ..Default::default()
    };
    let prefix = MemberSearchRequest {
        q: Some(number[..10].to_owned()),
        ..Default::default()
    };
    for (role, client) in &callers {
        let answer = client.search_members(&whole).await;
        if *role == Role::SystemAdmin {
            let err = answer.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::FORBIDDEN), "{role:?}: {err}");
            continue;
        }
        let found = answer.unwrap_or_else(|e| panic!("{role:?}: {e}"));
        assert_eq!(
            found.total, 1,
            "{role:?} finds the member by its whole number"
        );
        let m = &found.members[0];
        assert_eq!(m.id, member);
        let masked = !privacy::sees_full_id_numbers(*role);
        assert_eq!(
            matches!(role, Role::StreetStaff | Role::Viewer),
            masked,
            "{role:?}: the table of docs/protocol.md §3.7"
        );
        assert_eq!(m.id_number_masked, masked, "{role:?}");
        let expected = if masked {
            privacy::mask_id_number(&number)
        } else {
            number.clone()
        };
        assert_eq!(m.id_number.as_deref(), Some(expected.as_str()), "{role:?}");
        // The same answer as the GET of the same search.
        let got = client
            .members(None, Some(&number), None, None, None)
            .await
            .unwrap();
        assert_eq!(got, found, "{role:?}: GET and POST agree");
        // A prefix reveals a number digit by digit: only for those who read it whole.
        let by_prefix = client.search_members(&prefix).await.unwrap();
        assert_eq!(by_prefix.total, u64::from(!masked), "{role:?} by prefix");
    }

    // Bad values are the body's: 422 with the field.
    for (body, field) in [
        (json!({"limit": 0}), "limit"),
        (json!({"roster_status": ""}), "roster_status"),
        (json!({"q": "x".repeat(51)}), "q"),
        (json!({"ids": ["not-a-uuid"]}), "ids[0]"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/members/search", app.base))
            .bearer_auth(t.admin.access_token().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(error["error"]["field"], json!(field), "{body}: {error}");
    }
}

/// The committee's member list reads the live members' index in its order
/// (`idx_members_list_order`): a page is the index's first entries and the total a count of
/// them, where both sorted and counted every member of the tenant (6.3 s a page at a million,
/// docs/benchmarks.md, issue #23 item 5). On PostgreSQL with a table of 50,000 members, before
/// and after it is analysed.
#[tokio::test]
async fn the_committees_member_list_reads_its_index_in_order() {
    use paicha_domain::ids::TenantId;
    use paicha_storage::{MemberSearch, Scope, Store};

    let app = spawn_app().await;
    let t = app.tenant("lo").await;
    let mutations = (0..200)
        .map(|i| {
            put(
                i + 1,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": format!("党员{:04}", 199 - i), "id_number": id_number("19800101", i as u32)}),
            )
        })
        .collect();
    applied(&t.secretary1, mutations).await;
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
    let scope = Scope::new(TenantId::new(t.committee.id), &committee);
    let search = MemberSearch {
        limit: 50,
        ..MemberSearch::default()
    };
    for analysed in [false, true] {
        if analysed && let Some(conn) = &mut pg {
            sqlx::raw_sql("ANALYZE").execute(conn).await.unwrap();
        }
        let plan = store.explain_member_search(scope, search).await.unwrap();
        let plan = plan.join("\n");
        let context = format!("analysed: {analysed}\n{plan}");
        if app.db.engine == "postgres" {
            // The page; the total is the tenant's count of live members.
            assert!(plan.contains("on sync_tenants"), "{context}");
            assert!(
                plan.contains("Index Scan using idx_members_list_order on members"),
                "{context}"
            );
            assert!(!plan.contains("->  Sort  "), "{context}");
        } else {
            // The page; the total is the tenant's count of live members.
            assert!(
                plan.matches("USING COVERING INDEX idx_members_list_order")
                    .count()
                    + plan.matches("USING INDEX idx_members_list_order").count()
                    == 1,
                "{context}"
            );
            assert!(plan.contains("SEARCH sync_tenants"), "{context}");
            assert!(!plan.contains("TEMP B-TREE"), "{context}");
        }
        // A search by a part of a name reads the members the name index finds (the pair of
        // the text fewest members hold, and the ID-number index), each by its key: not every
        // member of the tenant, nor the list's index from its start.
        let text = MemberSearch {
            text: Some("党员0123"),
            ..search
        };
        let plan = store.explain_member_search(scope, text).await.unwrap();
        let plan = plan.join("\n");
        let context = format!("analysed: {analysed}\n{plan}");
        if app.db.engine == "postgres" {
            // An index-only scan, or a bitmap scan of the index before the table is analysed.
            assert!(
                plan.matches(" using member_name_grams_pkey").count()
                    + plan.matches(" on member_name_grams_pkey").count()
                    >= 2,
                "{context}"
            );
            assert_eq!(
                plan.matches("Index Scan using members_pkey").count(),
                2,
                "{context}"
            );
            assert!(!plan.contains("Seq Scan"), "{context}");
            assert!(!plan.contains("idx_members_list_order"), "{context}");
        } else {
            assert_eq!(
                plan.matches("SEARCH member_name_grams USING PRIMARY KEY (tenant_id=? AND gram=?)")
                    .count(),
                2,
                "{context}"
            );
            assert_eq!(
                plan.matches("SEARCH members USING INDEX sqlite_autoindex_members_1 (id=?)")
                    .count(),
                2,
                "{context}"
            );
            assert!(!plan.contains("SCAN members"), "{context}");
            assert!(!plan.contains("idx_members_list_order"), "{context}");
        }
        // A search by one character (not a letter or digit) that every name holds finds every
        // member and fills its page (the exactness of its count, taken from the name index
        // alone, is the oracle test's).
        let one = MemberSearch {
            text: Some("员"),
            ..search
        };
        let (total, rows) = store.search_members(scope, one).await.unwrap();
        assert_eq!(total, store.search_members(scope, search).await.unwrap().0);
        assert_eq!(rows.len(), 50);
        // Its page is read from the name index in the list's order, then each member of it by
        // its key: neither the list's index nor the members' table is walked.
        let plan = store.explain_member_search(scope, one).await.unwrap();
        let plan = plan.join("\n");
        let context = format!("analysed: {analysed}\n{plan}");
        assert!(plan.contains("member_name_grams"), "{context}");
        assert!(!plan.contains("idx_members_list_order"), "{context}");
        if app.db.engine == "postgres" {
            assert!(
                plan.contains("Index Scan using members_pkey on members"),
                "{context}"
            );
            assert!(!plan.contains("Seq Scan"), "{context}");
        } else {
            assert!(
                plan.contains("SEARCH members USING INDEX sqlite_autoindex_members_1 (id=?)"),
                "{context}"
            );
            assert!(!plan.contains("SCAN members"), "{context}");
        }
    }
    // And the list answers in that order (pushed in the reverse order).
    let page = t
        .admin
        .members(None, None, None, Some(50), Some(0))
        .await
        .unwrap();
    assert!(page.total >= 200, "{}", page.total);
    let names: Vec<&str> = page.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 50);
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    if app.db.engine != "postgres" {
        assert_eq!(names[..3], ["党员0000", "党员0001", "党员0002"]);
    }
}

/// The name index (`member_name_grams`) follows every write of a member (made, renamed,
/// deleted, in one batch or across batches), and a search through it finds what a scan of
/// every name finds: for every text of one and two characters over the names' alphabet and a
/// part of each name, the same members. The tenant's count of live members, the total of the
/// committee's unfiltered list, follows them too. Then again after both are built afresh from
/// the members already there (their migrations undone and applied again, as on an existing
/// database).
#[tokio::test]
async fn a_search_through_the_name_index_finds_what_a_scan_finds() {
    use paicha_domain::api::v1::MemberList;
    use paicha_tests::{delete, patch};
    use std::collections::{BTreeMap, BTreeSet};

    let app = spawn_app().await;
    let t = app.tenant("ni").await;
    let alphabet = ["张", "三", "建", "国", "李", "a", "B", "_"];
    // A small generator of names: overlapping pairs, repeats, one to four characters.
    let mut seed = 7u64;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut random_name = || {
        (0..1 + next(4))
            .map(|_| alphabet[next(alphabet.len() as u64) as usize])
            .collect::<String>()
    };
    let mut live: BTreeMap<Uuid, String> = BTreeMap::new();
    let ids: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    let mut batch = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let name = random_name();
        live.insert(*id, name.clone());
        batch.push(put(
            i as i64 + 1,
            "members",
            *id,
            t.branch1.id,
            json!({ "name": name }),
        ));
    }
    // In the same batch as their making: one renamed, one deleted.
    let renamed = random_name();
    batch.push(patch(
        41,
        "members",
        ids[0],
        None,
        json!({ "name": renamed }),
    ));
    live.insert(ids[0], renamed);
    batch.push(delete(42, "members", ids[1]));
    live.remove(&ids[1]);
    let mut mutation = 43;
    applied(&t.secretary1, batch).await;
    // In later batches: renames (twice for some) and deletions.
    for round in 0..2 {
        let mut batch = Vec::new();
        for (n, id) in ids.iter().enumerate().skip(2 + round).step_by(3) {
            if n % 5 == 0 {
                batch.push(delete(mutation, "members", *id));
                live.remove(id);
            } else if live.contains_key(id) {
                let name = random_name();
                batch.push(patch(
                    mutation,
                    "members",
                    *id,
                    None,
                    json!({ "name": name }),
                ));
                live.insert(*id, name);
            }
            mutation += 1;
        }
        applied(&t.secretary1, batch).await;
    }

    // What a scan finds: SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does not.
    let postgres = app.db.engine == "postgres";
    let contains = |name: &str, text: &str| {
        if postgres {
            name.contains(text)
        } else {
            name.to_ascii_lowercase()
                .contains(&text.to_ascii_lowercase())
        }
    };
    let mut texts: BTreeSet<String> = BTreeSet::new();
    for a in alphabet {
        texts.insert(a.to_owned());
        texts.insert(a.to_lowercase());
        for b in alphabet {
            texts.insert(format!("{a}{b}"));
        }
    }
    for name in live.values() {
        let chars: Vec<char> = name.chars().collect();
        texts.insert(chars[chars.len() / 2..].iter().collect());
        texts.insert(name.clone());
    }
    let found =
        |list: &MemberList| -> BTreeSet<Uuid> { list.members.iter().map(|m| m.id).collect() };
    let check = |live: BTreeMap<Uuid, String>, texts: BTreeSet<String>| {
        let admin = &t.admin;
        async move {
            // The list's order, as the database sorts names (its collation, not Rust's).
            let order: Vec<Uuid> = admin
                .members(None, None, None, Some(200), None)
                .await
                .unwrap()
                .members
                .iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(order.len(), live.len());
            for text in &texts {
                let expected: BTreeSet<Uuid> = live
                    .iter()
                    .filter(|(_, name)| contains(name, text))
                    .map(|(id, _)| *id)
                    .collect();
                let list = admin
                    .members(None, Some(text), None, Some(100), None)
                    .await
                    .unwrap();
                assert_eq!(list.total, expected.len() as u64, "{text:?}");
                assert_eq!(found(&list), expected, "{text:?}");
                // In the list's order, and paged in it (a search by one character pages
                // through the name index, not the list's query).
                let in_order: Vec<Uuid> = order
                    .iter()
                    .filter(|id| expected.contains(id))
                    .copied()
                    .collect();
                let ids: Vec<Uuid> = list.members.iter().map(|m| m.id).collect();
                assert_eq!(ids, in_order, "{text:?}");
                if text.chars().count() == 1 {
                    let mut paged = Vec::new();
                    for offset in (0..=in_order.len() as u64).step_by(3) {
                        let page = admin
                            .members(None, Some(text), None, Some(3), Some(offset))
                            .await
                            .unwrap();
                        assert_eq!(page.total, expected.len() as u64, "{text:?} {offset}");
                        paged.extend(page.members.iter().map(|m| m.id));
                    }
                    assert_eq!(paged, in_order, "{text:?}");
                }
            }
        }
    };
    check(live.clone(), texts.clone()).await;
    // The committee's unfiltered list counts them through the tenant's count of live members.
    let all = t
        .admin
        .members(None, None, None, Some(200), None)
        .await
        .unwrap();
    assert_eq!(all.total, live.len() as u64);
    assert_eq!(found(&all), live.keys().copied().collect());

    // Built afresh from the members there, as the migrations do on an existing database.
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let pending = |store: &paicha_storage::Store| {
        let store = store.clone();
        async move { store.pending_migrations().await.unwrap() }
    };
    store.rollback_migrations(Some(5)).await.unwrap();
    assert_eq!(
        pending(&store).await,
        [
            "m20261207_000050_create_member_name_grams",
            "m20261207_000060_add_tenant_live_members",
            "m20261207_000070_create_status_checkpoints",
            "m20261207_000080_add_tenant_swept_through",
            "m20261207_000090_add_name_to_member_name_grams",
        ]
    );
    store.migrate().await.unwrap();
    assert!(pending(&store).await.is_empty());
    let all = t
        .admin
        .members(None, None, None, Some(200), None)
        .await
        .unwrap();
    assert_eq!(all.total, live.len() as u64);
    check(live, texts).await;
}
