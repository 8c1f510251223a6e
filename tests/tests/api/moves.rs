//! Moving a member to another branch of the tenant (组织关系转接 within the committee,
//! docs/domain.md §6.7): proposed by his branch, accepted by the receiving one; he goes with his
//! id, history, baseline snapshot and records; the branch he left drops him and is told; the
//! numbers at the start stay where he was, what happened since counts where he is.

use paicha_domain::api::v1::{MutationStatus, PushResponse};
use paicha_domain::role::Role;
use paicha_tests::{Replica, Tenant, TestApp, id_number, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

fn today() -> chrono::NaiveDate {
    paicha_domain::calendar::china_date(chrono::Utc::now())
}

async fn push(client: &paicha_client::Client, m: serde_json::Value) -> PushResponse {
    client.push("phone", vec![m]).await.unwrap()
}

/// The code a single mutation is answered with (`applied` when it is).
async fn answer(client: &paicha_client::Client, m: serde_json::Value) -> String {
    code(&push(client, m).await).to_owned()
}

fn code(r: &PushResponse) -> &str {
    r.results[0]
        .error
        .as_ref()
        .map_or("applied", |e| e.code.as_str())
}

/// A campaign started three days ago, branch 1's roster of three, the baseline fixed.
async fn fixed_roster(app: &TestApp, t: &Tenant, office: &paicha_client::Client) -> Vec<Uuid> {
    let campaign = Uuid::now_v7();
    let start = today() - chrono::Days::new(3);
    let r = push(
        &t.admin,
        put(
            1,
            "campaigns",
            campaign,
            t.committee.id,
            json!({"name": "集中排查", "start_date": start.to_string()}),
        ),
    )
    .await;
    assert_eq!(code(&r), "applied");
    let mut ids = Vec::new();
    for (i, (name, born)) in [
        ("王三", "19600101"),
        ("李四", "19700202"),
        ("张五", "19800303"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        let number = id_number(born, 11 + i as u32 * 2);
        let r = push(
            &t.secretary1,
            put(
                100 + i as i64,
                "members",
                id,
                t.branch1.id,
                json!({"name": name, "id_number": number, "member_type": "full"}),
            ),
        )
        .await;
        assert_eq!(code(&r), "applied", "{r:?}");
        ids.push(id);
    }
    office.freeze_baseline(campaign).await.unwrap();
    let _ = app;
    ids
}

#[tokio::test]
async fn a_member_moves_to_another_branch_with_his_records_and_the_counts_follow_the_rule() {
    let app = spawn_app().await;
    let t = app.tenant("mv").await;
    let office = app
        .user_at(&t.admin, "mv-office", Role::OrgOffice, &t.committee)
        .await;
    let ids = fixed_roster(&app, &t, &office).await;
    let wang = ids[0];
    // His branch's records of him: a conduct check, a search case and an attempt.
    let (check, case, attempt) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push("phone", vec![
            put(200, "performance_checks", check, t.branch1.id, json!({"member_id": wang, "source": "colleagues_neighbours", "finding": "表现正常"})),
            put(201, "contact_cases", case, t.branch1.id, json!({"member_id": wang})),
            put(202, "contact_attempts", attempt, t.branch1.id, json!({"case_id": case, "attempted_on": today().to_string(), "method": "direct", "result": "contact_made"})),
        ])
        .await
        .unwrap();
    assert!(
        r.results
            .iter()
            .all(|r| r.status == MutationStatus::Applied),
        "{r:?}"
    );
    let mut phone1 = Replica::default();
    phone1.sync(&t.secretary1).await.unwrap();
    let mut phone2 = Replica::default();
    phone2.sync(&t.secretary2).await.unwrap();
    assert!(!phone2.has("members", wang));

    // Proposing needs the branch and the reason; the receiving branch cannot propose, nor
    // write anything of him.
    let to2 = json!({"move_status": "proposed", "move_to_branch_id": t.branch2.id});
    assert_eq!(
        answer(
            &t.secretary1,
            patch(300, "members", wang, None, to2.clone())
        )
        .await,
        "required_for_step"
    );
    let mut proposal = to2.clone();
    proposal["move_reason"] = json!("现居住地在第二党支部辖区");
    assert_eq!(
        answer(
            &t.secretary2,
            patch(300, "members", wang, None, proposal.clone())
        )
        .await,
        "outside_scope"
    );
    let r = push(
        &t.secretary1,
        patch(301, "members", wang, None, proposal.clone()),
    )
    .await;
    assert_eq!(code(&r), "applied", "{r:?}");

    // Branch 2 now sees him, to answer; it does not hold him yet: no count, no list, no
    // register of branch 2 has him, and it writes nothing but its answer.
    phone2.sync(&t.secretary2).await.unwrap();
    assert!(phone2.has("members", wang));
    let s2 = t.secretary2.status(Some(t.branch2.id)).await.unwrap();
    assert_eq!(s2.counts.members_total, 0, "{:?}", s2.counts);
    let listed = t
        .secretary2
        .members(Some(t.branch2.id), None, None, None, None)
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    assert_eq!(
        answer(
            &t.secretary2,
            patch(302, "members", wang, None, json!({"name": "改名"}))
        )
        .await,
        "outside_scope"
    );
    // Only the receiver answers; declining needs its note.
    assert_eq!(
        answer(
            &t.secretary1,
            patch(
                303,
                "members",
                wang,
                None,
                json!({"move_status": "accepted"})
            )
        )
        .await,
        "outside_scope"
    );
    assert_eq!(
        answer(
            &t.secretary2,
            patch(
                304,
                "members",
                wang,
                None,
                json!({"move_status": "declined"})
            )
        )
        .await,
        "required_for_step"
    );
    // Declined: he stays, branch 2 drops him and is told.
    let r = push(
        &t.secretary2,
        patch(
            305,
            "members",
            wang,
            None,
            json!({"move_status": "declined", "move_note": "查无此人"}),
        ),
    )
    .await;
    assert_eq!(code(&r), "applied", "{r:?}");
    phone2.sync(&t.secretary2).await.unwrap();
    assert!(!phone2.has("members", wang));
    let told = t.secretary2.departures().await.unwrap().items;
    assert_eq!(
        (told.len(), told[0].reason.as_str()),
        (1, "move_not_taken"),
        "{told:?}"
    );

    // Proposed again (the earlier refusal's note goes), accepted: he and his records move to
    // branch 2.
    let r = push(
        &t.secretary1,
        patch(306, "members", wang, None, proposal.clone()),
    )
    .await;
    assert_eq!(code(&r), "applied", "{r:?}");
    phone2.sync(&t.secretary2).await.unwrap();
    let (_, fields) = &phone2.records[&("members".to_owned(), wang)];
    assert_eq!(fields["move_status"], "proposed");
    assert!(fields.get("move_note").is_none(), "{fields:?}");
    let r = push(
        &t.secretary2,
        patch(
            307,
            "members",
            wang,
            None,
            json!({"move_status": "accepted"}),
        ),
    )
    .await;
    assert_eq!(code(&r), "applied", "{r:?}");
    phone2.sync(&t.secretary2).await.unwrap();
    for (collection, id) in [
        ("members", wang),
        ("performance_checks", check),
        ("contact_cases", case),
        ("contact_attempts", attempt),
    ] {
        assert!(
            phone2.has(collection, id),
            "branch 2 holds his {collection}"
        );
    }
    let (_, fields) = &phone2.records[&("members".to_owned(), wang)];
    assert_eq!(fields["moved_from_branch_id"], t.branch1.id.to_string());
    assert_eq!(fields["start_branch_id"], t.branch1.id.to_string());
    assert_eq!(fields["moved_on"], today().to_string());
    assert!(fields.get("move_to_branch_id").is_none());
    assert_eq!(
        fields["baseline_kind"], "at_start",
        "his snapshot goes with him"
    );
    phone1.sync(&t.secretary1).await.unwrap();
    for (collection, id) in [
        ("members", wang),
        ("performance_checks", check),
        ("contact_cases", case),
        ("contact_attempts", attempt),
    ] {
        assert!(
            !phone1.has(collection, id),
            "branch 1 dropped his {collection}"
        );
    }
    let told = t.secretary1.departures().await.unwrap().items;
    assert!(
        told.iter()
            .all(|d| d.reason == "member_moved" && d.label.as_deref() == Some("王三")),
        "{told:?}"
    );
    assert_eq!(told.len(), 4, "{told:?}");
    assert!(told.iter().all(|d| d.to_unit_id == Some(t.branch2.id)));
    // Branch 2 now writes him; branch 1 no more.
    assert_eq!(
        answer(
            &t.secretary2,
            patch(308, "members", wang, None, json!({"phone": "13900000000"}))
        )
        .await,
        "applied"
    );
    assert_eq!(
        answer(
            &t.secretary1,
            patch(309, "members", wang, None, json!({"phone": "13900000001"}))
        )
        .await,
        "outside_scope"
    );
    // His history holds the whole move, with his id.
    let history = t.secretary2.audit("members", wang).await.unwrap();
    let statuses: Vec<String> = history
        .entries
        .iter()
        .filter_map(|e| {
            e.changes
                .get("move_status")
                .map(|c| c[1].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(statuses, ["proposed", "declined", "proposed", "accepted"]);

    // The counts: the numbers at the start stay with branch 1; now he is branch 2's.
    let of = |s: &paicha_domain::api::v1::UnitStatus| {
        (
            s.counts.roster_at_start,
            s.counts.members_total,
            s.counts.moved_out,
            s.counts.moved_in,
        )
    };
    let s1 = t.secretary1.status(Some(t.branch1.id)).await.unwrap();
    let s2 = t.secretary2.status(Some(t.branch2.id)).await.unwrap();
    let all = office.status(None).await.unwrap();
    assert_eq!(of(&s1), (3, 2, 1, 0));
    assert_eq!(of(&s2), (0, 1, 0, 1));
    assert_eq!(of(&all), (3, 3, 0, 0), "the committee sees no move");
    // His ID number went with him: nobody else may take it.
    let dup = Uuid::now_v7();
    let r = push(
        &t.secretary1,
        put(
            310,
            "members",
            dup,
            t.branch1.id,
            json!({"name": "王三", "id_number": id_number("19600101", 11)}),
        ),
    )
    .await;
    assert_eq!(code(&r), "id_number_taken");

    // The platform administrator reads no member data; a branch cannot propose to a unit that
    // is no branch.
    assert_eq!(
        app.admin.departures().await.unwrap_err().status(),
        Some(StatusCode::FORBIDDEN)
    );
    let r = push(
        &t.secretary1,
        patch(311, "members", ids[1], None, json!({"move_status": "proposed", "move_to_branch_id": t.street.id, "move_reason": "x"})),
    )
    .await;
    assert_eq!(code(&r), "invalid_reference");
}

/// `GET /v1/org-units/branches`: where a member may be moved, role by role — the tenant's
/// branches for those who propose moves, nothing of another tenant, refused to the others.
#[tokio::test]
async fn the_branches_a_member_may_move_to_role_by_role() {
    let app = spawn_app().await;
    let t = app.tenant("br").await;
    let other = app.tenant("zz").await;
    let office = app
        .user_at(&t.admin, "br-office", Role::OrgOffice, &t.committee)
        .await;
    let group = app
        .user_at(&t.admin, "br-group", Role::GroupMember, &t.branch1)
        .await;
    let viewer = app
        .user_at(&t.admin, "br-viewer", Role::Viewer, &t.committee)
        .await;
    let area = app
        .user_at(&t.admin, "br-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    let mut expected = vec![t.branch1.id, t.branch2.id];
    expected.sort();
    for (who, client) in [
        ("secretary", &t.secretary1),
        ("org office", &office),
        ("committee admin", &t.admin),
    ] {
        let mut got: Vec<Uuid> = client
            .tenant_branches()
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"))
            .org_units
            .iter()
            .map(|u| u.id)
            .collect();
        got.sort();
        assert_eq!(got, expected, "{who}");
        assert!(!got.contains(&other.branch1.id));
    }
    for (who, client) in [
        ("group member", &group),
        ("viewer", &viewer),
        ("work area", &area),
        ("street", &t.street_staff),
        ("platform admin", &app.admin),
    ] {
        let err = client.tenant_branches().await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::FORBIDDEN), "{who}");
    }
}

/// The move in the two faces: the old branch's secretary proposes it on the member's page in
/// the console; the receiving branch's phone shows him waiting and takes him; the console then
/// shows where he came from, and the counts follow.
#[tokio::test]
async fn a_move_proposed_in_the_console_is_taken_on_the_receiving_branchs_phone() {
    use paicha_tests::browser::{Browser, DESKTOP, PHONE};
    let app = spawn_app().await;
    let t = app.tenant("mvb").await;
    let member = Uuid::now_v7();
    let r = push(
        &t.secretary1,
        put(
            1,
            "members",
            member,
            t.branch1.id,
            json!({"name": "转接党员", "id_number": id_number("19650505", 3)}),
        ),
    )
    .await;
    assert_eq!(code(&r), "applied");

    let b = Browser::start(DESKTOP).await;
    b.console_sign_in(&format!("{}/", app.base), "mvb-sec1")
        .await;
    b.click("a[data-tab=members]").await;
    b.wait_for(&format!("tr[data-member='{member}'] button"))
        .await;
    b.click(&format!("tr[data-member='{member}'] button")).await;
    b.click("#move-open").await;
    b.wait_for("#move-to option:nth-child(2)").await;
    let offered = b
        .eval("return [...document.querySelectorAll('#move-to option')].map(o => o.textContent);")
        .await;
    assert_eq!(
        offered,
        json!(["请选择", t.branch2.name]),
        "the other branches, not his own"
    );
    b.eval(&format!(
        "const s = document.querySelector('#move-to'); s.value = '{}'; \
         s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;",
        t.branch2.id
    ))
    .await;
    b.type_into("#move-reason", "现居住地属第二党支部").await;
    b.click("#move-propose").await;
    b.wait_for(".move[data-move=proposed]").await;
    let shown = b.text(".move").await;
    assert!(
        shown.contains(&t.branch2.name) && shown.contains("待接收支部确认"),
        "{shown}"
    );
    b.eval("document.querySelector('.move').scrollIntoView({block: 'center'}); return true;")
        .await;
    b.screenshot("console-member-move-proposed").await;
    b.resize(PHONE).await;
    b.eval("document.querySelector('.move').scrollIntoView({block: 'center'}); return true;")
        .await;
    b.screenshot("console-member-move-proposed-phone").await;
    b.close().await;

    // The receiving branch's phone: he waits to be taken, outside the branch's count.
    let phone = Browser::start(PHONE).await;
    crate::field::sign_in(&phone, &app, "mvb-sec2", 0).await;
    phone
        .wait_until(
            30,
            "return document.querySelector('[data-incoming]')?.textContent.includes('转接党员');",
        )
        .await;
    let card = phone.text("[data-incoming]").await;
    assert!(card.contains("现居住地属第二党支部"), "{card}");
    phone.screenshot("field-incoming-member").await;
    phone
        .click(&format!(
            "li[data-incoming-member='{member}'] button[data-accept]"
        ))
        .await;
    phone
        .wait_until(30, "return document.querySelector('#member-count')?.textContent === '1' && !document.querySelector('[data-incoming]');")
        .await;
    phone
        .wait_until(
            30,
            "return document.querySelector('#sync-badge')?.dataset.waiting === '0';",
        )
        .await;
    phone.close().await;

    // On the server: his now, moved out of branch 1.
    let s1 = t.secretary1.status(Some(t.branch1.id)).await.unwrap();
    let s2 = t.secretary2.status(Some(t.branch2.id)).await.unwrap();
    assert_eq!((s1.counts.members_total, s2.counts.members_total), (0, 1));
    let listed = t
        .secretary2
        .members(Some(t.branch2.id), None, None, None, None)
        .await
        .unwrap();
    let moved = listed.members[0].r#move.as_ref().unwrap();
    assert_eq!(
        (moved.status.as_str(), moved.moved_from_branch_id),
        ("accepted", Some(t.branch1.id))
    );

    // The committee's console shows where he came from, by name.
    let b = Browser::start(DESKTOP).await;
    b.console_sign_in(&format!("{}/", app.base), "mvb-admin")
        .await;
    b.click("a[data-tab=members]").await;
    b.wait_for(&format!("tr[data-member='{member}'] button"))
        .await;
    b.click(&format!("tr[data-member='{member}'] button")).await;
    b.wait_for(".move[data-move=accepted]").await;
    // The branches' names come with the units, a moment after the page.
    b.wait_until(
        10,
        &format!(
            "return document.querySelector('.move')?.textContent.includes('{}');",
            t.branch1.name
        ),
    )
    .await;
    b.wait_until(
        10,
        "return document.querySelector('.history')?.textContent.includes('原所在党支部');",
    )
    .await;
    let history = b.text(".history").await;
    assert!(
        history.contains(&format!("原所在党支部：— → {}", t.branch1.name)),
        "{history}"
    );
    assert!(!history.contains("move_"), "no English key: {history}");
    b.eval("document.querySelector('.move').scrollIntoView({block: 'center'}); return true;")
        .await;
    b.screenshot("console-member-moved").await;
    b.close().await;
}
