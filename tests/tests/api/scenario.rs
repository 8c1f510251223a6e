//! A small campaign played end to end over HTTP (issue #4's scenario): one committee, two work
//! areas of three branches each; a roster imported from an `.xlsx` file; on-site and remote
//! confirmations with blobs; ledger A and B entries and a late submission; a street's transfer
//! list reaching exactly its branches and followed up; a lost member found through a department
//! search the committee ran after a branch asked for it (the branch's own attempt to record the
//! result refused); a suspension through all its steps; and the status checked number by
//! number against what the scenario did.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDate;
use paicha_client::{Client, PullQuery};
use paicha_domain::api::v1::{MutationStatus, OrgUnit, PushResponse, UnitStatus};
use paicha_domain::campaign::{Phase, PhaseState};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::{Replica, TestApp, id_number, patch, put, spawn_app, unit};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

static MUTATION: AtomicI64 = AtomicI64::new(1);

fn next() -> i64 {
    MUTATION.fetch_add(1, Ordering::Relaxed)
}

/// Pushes and requires every mutation applied.
async fn ok(client: &Client, mutations: Vec<Value>) -> PushResponse {
    let r = client.push("phone", mutations).await.unwrap();
    for result in &r.results {
        assert_eq!(result.status, MutationStatus::Applied, "{result:?}");
    }
    r
}

/// Pushes one mutation and returns the code it was refused with.
async fn refused(client: &Client, mutation: Value) -> String {
    let r = client.push("phone", vec![mutation]).await.unwrap();
    let result = &r.results[0];
    assert_eq!(result.status, MutationStatus::Rejected, "{result:?}");
    result.error.as_ref().unwrap().code.clone()
}

fn jpeg(seed: u8) -> (String, Vec<u8>) {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..2000).map(|i: u32| (i as u8).wrapping_mul(37).wrapping_add(seed)));
    let hash = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (hash, bytes)
}

async fn upload(client: &Client, seed: u8) -> String {
    let (hash, bytes) = jpeg(seed);
    client.put_blob(&hash, bytes).await.unwrap();
    hash
}

fn workbook(title: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, title).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn post_file(client_token: &str, url: String, bytes: Vec<u8>) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(client_token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The members a client sees, by name.
async fn members_by_name(client: &Client) -> std::collections::HashMap<String, Uuid> {
    let mut replica = Replica::default();
    replica.sync(client).await.unwrap();
    replica
        .records
        .iter()
        .filter(|((c, _), _)| c == "members")
        .map(|((_, id), (_, f))| (f["name"].as_str().unwrap().to_owned(), *id))
        .collect()
}

struct Campaign {
    app: TestApp,
    admin: Client,
    office: Client,
    street: Client,
    areas: Vec<OrgUnit>,
    area_staff: Vec<Client>,
    /// Three per work area.
    branches: Vec<OrgUnit>,
    secretaries: Vec<Client>,
    street_unit: OrgUnit,
    committee: OrgUnit,
}

async fn set_up() -> Campaign {
    let app = spawn_app().await;
    let committee = app
        .admin
        .create_org_unit(&unit(None, OrgUnitKind::Committee, "城关党工委"))
        .await
        .unwrap();
    let admin = app
        .user_at(&app.admin, "cg-admin", Role::CommitteeAdmin, &committee)
        .await;
    let office = app
        .user_at(&admin, "cg-office", Role::OrgOffice, &committee)
        .await;
    let street_unit = admin
        .create_org_unit(&unit(Some(committee.id), OrgUnitKind::Street, "城关街道"))
        .await
        .unwrap();
    let street = app
        .user_at(&admin, "cg-street", Role::StreetStaff, &street_unit)
        .await;
    let (mut areas, mut area_staff, mut branches, mut secretaries) =
        (vec![], vec![], vec![], vec![]);
    for a in 1..=2 {
        let area = admin
            .create_org_unit(&unit(
                Some(street_unit.id),
                OrgUnitKind::WorkArea,
                &format!("第{a}工作区"),
            ))
            .await
            .unwrap();
        area_staff.push(
            app.user_at(&admin, &format!("cg-wa{a}"), Role::WorkAreaStaff, &area)
                .await,
        );
        for b in 1..=3 {
            let branch = admin
                .create_org_unit(&unit(
                    Some(area.id),
                    OrgUnitKind::Branch,
                    &format!("第{a}{b}党支部"),
                ))
                .await
                .unwrap();
            secretaries.push(
                app.user_at(
                    &admin,
                    &format!("cg-sec{a}{b}"),
                    Role::BranchSecretary,
                    &branch,
                )
                .await,
            );
            branches.push(branch);
        }
        areas.push(area);
    }
    Campaign {
        app,
        admin,
        office,
        street,
        areas,
        area_staff,
        branches,
        secretaries,
        street_unit,
        committee,
    }
}

fn child(status: &UnitStatus, id: Uuid) -> &UnitStatus {
    status
        .children
        .iter()
        .find(|c| c.org_unit_id == id)
        .unwrap()
}

fn phase(status: &UnitStatus, phase: Phase) -> &paicha_domain::api::v1::PhaseStatus {
    status.phases.iter().find(|p| p.phase == phase).unwrap()
}

#[tokio::test]
async fn a_small_campaign_end_to_end() {
    let c = set_up().await;
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();

    // ---- The committee opens the campaign: 7 March 2026, the §3.2 defaults. ----
    let campaign = Uuid::now_v7();
    ok(
        &c.admin,
        vec![put(
            next(),
            "campaigns",
            campaign,
            c.committee.id,
            json!({"name": "2026年党员组织关系集中排查", "start_date": "2026-03-07"}),
        )],
    )
    .await;

    // ---- Branch 1-1 imports its roster from a workbook. ----
    let (b11, b12, b21) = (&c.branches[0], &c.branches[1], &c.branches[3]);
    let (sec11, sec12, sec21) = (&c.secretaries[0], &c.secretaries[1], &c.secretaries[3]);
    let header = [
        "姓名",
        "性别",
        "公民身份号码",
        "人员类别",
        "入党日期",
        "联系电话",
    ];
    let rows: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(
            [
                ("张一", "男", "19600307", 1, "正式党员"),
                ("李二", "女", "19700101", 2, "正式党员"),
                ("王三", "男", "19800101", 3, "正式党员"),
                ("赵四", "男", "19850505", 5, "正式党员"),
                ("孙五", "女", "19950101", 6, "预备党员"),
            ]
            .iter()
            .map(|(name, gender, birth, seq, kind)| {
                vec![
                    name.to_string(),
                    gender.to_string(),
                    id_number(birth, *seq),
                    kind.to_string(),
                    "2000/7/1".to_owned(),
                    "13800000000".to_owned(),
                ]
            }),
        )
        .collect();
    let (_, token) = c.app.sign_in("cg-sec11").await;
    let (status, body) = post_file(
        &token.access_token,
        format!("{}/v1/import/roster?org_unit_id={}", c.app.base, b11.id),
        workbook("第11党支部党员花名册", &rows),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 5);
    let m = members_by_name(sec11).await;
    assert_eq!(m.len(), 5);
    // Other branches enter members one by one.
    let b12_member = Uuid::now_v7();
    let (b21_late, b21_open) = (Uuid::now_v7(), Uuid::now_v7());
    ok(
        sec12,
        vec![put(
            next(),
            "members",
            b12_member,
            b12.id,
            json!({"name": "周六", "member_type": "full", "whereabouts_known": true}),
        )],
    )
    .await;
    ok(
        sec21,
        vec![
            put(
                next(),
                "members",
                b21_late,
                b21.id,
                json!({"name": "吴七", "member_type": "full", "whereabouts_known": true}),
            ),
            put(
                next(),
                "members",
                b21_open,
                b21.id,
                json!({"name": "郑八", "member_type": "probationary"}),
            ),
        ],
    )
    .await;

    // ---- Confirmations with blobs: 张一 on site, 李二 by post; 周六 on site on time; 吴七 late. ----
    let photos: Vec<String> = vec![
        upload(sec11, 1).await,
        upload(sec11, 2).await,
        upload(sec11, 3).await,
    ];
    let (signature, fingerprint, flag) = (
        upload(sec11, 4).await,
        upload(sec11, 5).await,
        upload(sec11, 6).await,
    );
    let form = |member: Uuid, mode: &str, day: &str, with_flag: bool| {
        let mut f = json!({
            "member_id": member, "confirmation_mode": mode, "confirmed_on": day, "copies": 3,
            "photos": photos, "signature": signature, "fingerprint": fingerprint, "pledge_signed": true,
        });
        if with_flag {
            f["flag_photo"] = json!(flag);
        }
        f
    };
    let r = ok(
        sec11,
        vec![
            put(
                next(),
                "info_forms",
                Uuid::now_v7(),
                b11.id,
                form(m["张一"], "on_site", "2026-03-09", true),
            ),
            patch(
                next(),
                "members",
                m["张一"],
                None,
                json!({"roster_status": "confirmed_on_site", "whereabouts_known": true}),
            ),
            put(
                next(),
                "info_forms",
                Uuid::now_v7(),
                b11.id,
                form(m["李二"], "post", "2026-03-12", false),
            ),
            patch(
                next(),
                "members",
                m["李二"],
                None,
                json!({"roster_status": "confirmed_remote", "whereabouts_known": true, "remote_reason": "在外地务工，不能返回"}),
            ),
        ],
    )
    .await;
    assert!(
        r.results
            .iter()
            .all(|r| r.missing_blobs.as_ref().is_none_or(Vec::is_empty)),
        "{r:?}"
    );
    // The other branch's secretary cannot read these photos.
    assert!(sec12.get_blob(&photos[0]).await.is_err());
    assert_eq!(sec11.get_blob(&photos[0]).await.unwrap(), jpeg(1).1);
    // 周六 on site but the flag photo never came: the form is incomplete (and reported).
    let sec12_photos: Vec<String> = vec![
        upload(sec12, 11).await,
        upload(sec12, 12).await,
        upload(sec12, 13).await,
    ];
    let sig12 = upload(sec12, 14).await;
    ok(
        sec12,
        vec![
            put(next(), "info_forms", Uuid::now_v7(), b12.id, json!({"member_id": b12_member, "confirmation_mode": "on_site", "confirmed_on": "2026-03-10", "copies": 3, "photos": sec12_photos, "signature": sig12, "fingerprint": sig12})),
            // Without a complete form a confirmation needs its exception recorded (§4.1).
            patch(next(), "members", b12_member, None, json!({"roster_status": "confirmed_on_site", "confirmation_exception": "党旗下照片待补拍"})),
        ],
    )
    .await;
    ok(
        sec21,
        vec![
            put(next(), "info_forms", Uuid::now_v7(), b21.id, json!({"member_id": b21_late, "confirmation_mode": "assisted_home_visit", "confirmed_on": "2026-03-20", "copies": 3})),
            patch(next(), "members", b21_late, None, json!({"roster_status": "confirmed_assisted", "confirmation_exception": "卧床老党员，照片和手印待补"})),
        ],
    )
    .await;

    // ---- The two lost members of branch 1-1, and one member flowed out (mobile). ----
    ok(
        sec11,
        vec![
            patch(next(), "members", m["王三"], None, json!({"whereabouts_known": false, "last_activity_on": "2025-09-07", "contact_status": "lost", "roster_status": "pending_lost"})),
            patch(next(), "members", m["赵四"], None, json!({"whereabouts_known": false, "last_dues_paid_on": "2025-08-01", "contact_status": "lost", "roster_status": "pending_lost"})),
            patch(next(), "members", m["孙五"], None, json!({"whereabouts_known": true, "flow_out_on": "2025-06-01", "contact_status": "mobile", "last_activity_on": "2025-09-08"})),
        ],
    )
    .await;

    // ---- The 组织办 freezes the baseline (docs/domain.md §8.9): the numbers at the start. ----
    // Before, the count is the rule on today's fields (provisional).
    let before = c.admin.status(None).await.unwrap();
    assert_eq!(before.plan.unwrap().baseline_on, None);
    assert_eq!(before.counts.lost_contact_at_start, 2);
    // A branch cannot freeze it.
    let err = sec11.freeze_baseline(campaign).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    let frozen = c.office.freeze_baseline(campaign).await.unwrap();
    assert_eq!((frozen.members, frozen.baseline_on), (8, today));
    // Once only.
    let again = c.office.freeze_baseline(campaign).await.unwrap_err();
    assert_eq!(again.code(), Some("baseline_taken"));
    let at_start = c.admin.status(None).await.unwrap();
    assert_eq!(at_start.plan.unwrap().baseline_on, Some(today));
    assert_eq!(
        (
            at_start.counts.roster_at_start,
            at_start.counts.lost_contact_at_start,
            at_start.counts.mobile_at_start,
            at_start.counts.lost_at_start_found
        ),
        (8, 2, 1, 0)
    );
    // The snapshot is the server's: no branch writes it.
    assert_eq!(
        refused(
            sec11,
            patch(
                next(),
                "members",
                m["王三"],
                None,
                json!({"baseline_lost": false})
            )
        )
        .await,
        "field_not_writable"
    );

    // ---- Ledger A and B entries, and their submission by work area 1 (late: the deadline was
    // 11 March). Work area 2 submits nothing. ----
    let evidence = upload(sec12, 15).await;
    let feng = Uuid::now_v7();
    ok(sec11, vec![put(next(), "roster_ledger_entries", Uuid::now_v7(), b11.id, json!({"ledger": "ledger_a", "name": "钱九", "has_transfer_letter": true, "reason_not_on_roster": "转入后未登记"}))]).await;
    ok(sec12, vec![put(next(), "roster_ledger_entries", feng, b12.id, json!({"ledger": "ledger_b", "name": "冯十", "surplus_reason": "deceased", "event_date": "2025-12-01", "evidence": [evidence]}))]).await;
    let wa1 = &c.area_staff[0];
    let (sub_a, sub_b) = (Uuid::now_v7(), Uuid::now_v7());
    // The work area may not write the day the office received it.
    assert_eq!(
        refused(
            wa1,
            put(
                next(),
                "ledger_submissions",
                sub_a,
                c.areas[0].id,
                json!({"ledger": "ledger_a", "status": "submitted", "received_on": "2026-03-10"})
            )
        )
        .await,
        "field_not_writable"
    );
    ok(
        wa1,
        vec![
            put(next(), "ledger_submissions", sub_a, c.areas[0].id, json!({"ledger": "ledger_a", "status": "submitted", "entry_count": 1, "submitted_on": "2026-03-10"})),
            put(next(), "ledger_submissions", sub_b, c.areas[0].id, json!({"ledger": "ledger_b", "status": "draft", "entry_count": 1})),
            patch(next(), "ledger_submissions", sub_b, None, json!({"status": "submitted"})),
        ],
    )
    .await;
    // Submitted entries are frozen while the 组织办 audits them: the branch cannot change them.
    assert_eq!(
        refused(
            sec12,
            patch(
                next(),
                "roster_ledger_entries",
                feng,
                None,
                json!({"proposed_action": "移出花名册"})
            )
        )
        .await,
        "ledger_entry_frozen"
    );
    assert_eq!(
        refused(
            sec12,
            paicha_tests::delete(next(), "roster_ledger_entries", feng)
        )
        .await,
        "ledger_entry_frozen"
    );
    // Each submission names what it took: how many entries, and the digest of their content.
    let mut office_view = Replica::default();
    office_view.sync(&c.office).await.unwrap();
    for (sub, entry_count) in [(sub_a, 1), (sub_b, 1)] {
        let (_, f) = &office_view.records[&("ledger_submissions".to_owned(), sub)];
        assert_eq!(f["submitted_entries"], entry_count);
        assert_eq!(f["entries_sha256"].as_str().map(str::len), Some(64));
    }
    let (_, f) = &office_view.records[&("roster_ledger_entries".to_owned(), feng)];
    assert_eq!(f["submission_id"], json!(sub_b));
    // The office approves A and returns B; a work area cannot approve; the office cannot submit.
    assert_eq!(
        refused(
            wa1,
            patch(
                next(),
                "ledger_submissions",
                sub_a,
                None,
                json!({"status": "approved"})
            )
        )
        .await,
        "transition_not_allowed"
    );
    ok(
        &c.office,
        vec![
            patch(
                next(),
                "ledger_submissions",
                sub_a,
                None,
                json!({"status": "approved", "audit_opinion": "同意"}),
            ),
            patch(
                next(),
                "ledger_submissions",
                sub_b,
                None,
                json!({"status": "returned", "audit_opinion": "缺死亡证明"}),
            ),
        ],
    )
    .await;
    // Returned: the branch may correct its entry again.
    ok(
        sec12,
        vec![patch(
            next(),
            "roster_ledger_entries",
            feng,
            None,
            json!({"proposed_action": "补交死亡证明后移出花名册"}),
        )],
    )
    .await;

    // ---- The street's transfer list, by spreadsheet, addressed branch by branch. ----
    let list = "2026年3月转出明细";
    let transfer_rows = vec![
        vec![
            "姓名",
            "公民身份号码",
            "转出日期",
            "接收党组织",
            "负责跟进的党支部",
        ],
        vec![
            "陈甲",
            &id_number("19750101", 7),
            "2025/5/1",
            "某市某党支部",
            "第11党支部",
        ],
        vec![
            "陈乙",
            &id_number("19760101", 9),
            "2025/6/1",
            "某县某党支部",
            "第11党支部",
        ],
        vec![
            "陈丙",
            &id_number("19770101", 11),
            "2025/7/1",
            "某区某党支部",
            "第21党支部",
        ],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(str::to_owned).collect())
    .collect::<Vec<Vec<String>>>();
    let (_, street_token) = c.app.sign_in("cg-street").await;
    let import_url = format!(
        "{}/v1/import/transfers?org_unit_id={}&list_name={list}",
        c.app.base, c.street_unit.id,
    );
    // A row naming a branch that does not exist refuses the whole list.
    let mut bad_rows = transfer_rows.clone();
    bad_rows.push(vec![
        "陈丁".into(),
        id_number("19780101", 13),
        String::new(),
        String::new(),
        "第99党支部".into(),
    ]);
    let (status, body) = post_file(
        &street_token.access_token,
        import_url.clone(),
        workbook(list, &bad_rows),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["code"], "unknown_branch");
    assert_eq!(body["problems"][0]["row"], 6);
    let (status, body) = post_file(
        &street_token.access_token,
        import_url.clone(),
        workbook(list, &transfer_rows),
    )
    .await;
    assert_eq!(
        (status, body["created"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{body}"
    );
    // Again: nothing changes.
    let (_, body) = post_file(
        &street_token.access_token,
        import_url,
        workbook(list, &transfer_rows),
    )
    .await;
    assert_eq!(body["unchanged"], 3);
    // Exactly its branches receive it.
    let transfers_seen = |client: &Client| {
        let client = client.clone();
        async move {
            let mut replica = Replica::default();
            replica.sync(&client).await.unwrap();
            replica
                .records
                .iter()
                .filter(|((c, _), _)| c == "transfers")
                .map(|((_, id), (_, f))| (f["member_name"].as_str().unwrap().to_owned(), *id))
                .collect::<std::collections::BTreeMap<String, Uuid>>()
        }
    };
    let t11 = transfers_seen(sec11).await;
    assert_eq!(t11.keys().collect::<Vec<_>>(), vec!["陈乙", "陈甲"]);
    assert_eq!(
        transfers_seen(sec21).await.keys().collect::<Vec<_>>(),
        vec!["陈丙"]
    );
    assert!(transfers_seen(sec12).await.is_empty());
    for other in &c.secretaries[4..] {
        assert!(transfers_seen(other).await.is_empty());
    }
    // Before any phone of the branches has acknowledged it, the street sees it received by none.
    let before = c.street.transfer_lists(None).await.unwrap();
    assert_eq!(
        (
            before.lists[0].progress.transfers,
            before.lists[0].progress.received
        ),
        (3, 0)
    );
    // The street may not close a transfer itself (§9: following up is the branch's).
    assert_eq!(
        refused(
            &c.street,
            patch(
                next(),
                "transfers",
                t11["陈甲"],
                None,
                json!({"receipt_status": "receipt_received"})
            )
        )
        .await,
        "field_not_writable"
    );
    // Branch 2-1's phone pulls it and acknowledges (its next pull sends the cursor).
    let first = sec21
        .pull(&PullQuery {
            device_id: Some("phone21"),
            ..Default::default()
        })
        .await
        .unwrap();
    sec21
        .pull(&PullQuery {
            device_id: Some("phone21"),
            cursor: Some(&first.cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    // Branch 1-1 follows up: one receipt re-issued, one receiver unreachable and registered lost.
    ok(
        sec11,
        vec![
            patch(next(), "transfers", t11["陈甲"], None, json!({"receipt_status": "receipt_pending"})),
            patch(next(), "transfers", t11["陈甲"], None, json!({"receipt_status": "receiver_contacted", "follow_up_note": "已联系接收党组织"})),
            patch(next(), "transfers", t11["陈甲"], None, json!({"receipt_status": "receipt_reissued", "receipt_on": "2026-04-20"})),
            patch(next(), "transfers", t11["陈乙"], None, json!({"receipt_status": "receiver_unreachable"})),
        ],
    )
    .await;
    // 陈乙's receiver cannot be reached: registered as lost, he is a lost member of the branch
    // again. Registering needs the member named; it then opens a contact case by itself.
    assert_eq!(
        refused(
            sec11,
            patch(
                next(),
                "transfers",
                t11["陈乙"],
                None,
                json!({"registered_lost": true})
            )
        )
        .await,
        "required_for_step"
    );
    let chen = Uuid::now_v7();
    ok(
        sec11,
        vec![
            put(next(), "members", chen, b11.id, json!({"name": "陈乙", "whereabouts_known": false, "contact_status": "lost", "roster_status": "pending_lost"})),
            patch(next(), "transfers", t11["陈乙"], None, json!({"registered_lost": true, "member_id": chen})),
        ],
    )
    .await;
    let mut replica11 = Replica::default();
    replica11.sync(sec11).await.unwrap();
    let opened: Vec<&serde_json::Map<String, Value>> = replica11
        .records
        .iter()
        .filter(|((coll, _), (_, f))| coll == "contact_cases" && f["member_id"] == json!(chen))
        .map(|(_, (_, f))| f)
        .collect();
    assert_eq!(opened.len(), 1, "one case opened for 陈乙");
    assert_eq!(opened[0]["result"], "searching");
    // Recorded after the freeze: his snapshot is an addition, lost (no contact date known).
    let (_, chen_fields) = &replica11.records[&("members".to_owned(), chen)];
    assert_eq!(
        (
            chen_fields["baseline_kind"].as_str(),
            chen_fields["baseline_lost"].as_bool()
        ),
        (Some("added"), Some(true))
    );
    // A receipt cannot be re-issued before the receiver was contacted.
    let t21 = transfers_seen(sec21).await;
    assert_eq!(
        refused(
            sec21,
            patch(
                next(),
                "transfers",
                t21["陈丙"],
                None,
                json!({"receipt_status": "receipt_reissued"})
            )
        )
        .await,
        "invalid_transition"
    );
    // The branch may not change whom a transfer is addressed to.
    assert_eq!(
        refused(
            sec21,
            patch(
                next(),
                "transfers",
                t21["陈丙"],
                None,
                json!({"branch_id": b11.id})
            )
        )
        .await,
        "field_not_writable"
    );
    let lists = c.street.transfer_lists(None).await.unwrap();
    assert_eq!(lists.lists.len(), 1);
    let l = &lists.lists[0];
    assert_eq!(l.list_name, list);
    assert_eq!(
        (
            l.progress.transfers,
            l.progress.received,
            l.progress.acted_on,
            l.progress.closed,
            l.progress.registered_lost
        ),
        (3, 3, 2, 2, 1)
    );
    let by_branch: Vec<(&str, u64, u64, u64)> = l
        .branches
        .iter()
        .map(|b| {
            (
                b.branch_name.as_str(),
                b.progress.transfers,
                b.progress.received,
                b.progress.acted_on,
            )
        })
        .collect();
    assert_eq!(
        by_branch,
        vec![("第11党支部", 2, 2, 2), ("第21党支部", 1, 1, 0)]
    );

    // ---- 王三: a search case, a direct attempt, then a department search the branch requests
    // and only the committee may carry out. ----
    let (case3, request) = (Uuid::now_v7(), Uuid::now_v7());
    ok(
        sec11,
        vec![
            put(next(), "contact_cases", case3, b11.id, json!({"member_id": m["王三"], "result": "searching", "org_category": "street_community", "loss_circumstance": "working_away"})),
            patch(next(), "members", m["王三"], None, json!({"contact_status": "searching"})),
            put(next(), "contact_attempts", Uuid::now_v7(), b11.id, json!({"case_id": case3, "attempted_on": "2026-03-18", "method": "direct", "channel": "phone", "result": "no_lead"})),
            put(next(), "department_search_requests", request, b11.id, json!({"case_id": case3, "departments": ["police_household", "social_security"], "requested_on": "2026-03-20"})),
        ],
    )
    .await;
    // The branch may not record a department search as its own attempt either.
    assert_eq!(
        refused(
            sec11,
            put(next(), "contact_attempts", Uuid::now_v7(), b11.id, json!({"case_id": case3, "attempted_on": "2026-03-21", "method": "department", "channel": "police_household", "result": "contact_made"}))
        )
        .await,
        "department_search_by_committee"
    );
    // The branch's own attempt to record the department's result is refused.
    assert_eq!(
        refused(
            sec11,
            patch(
                next(),
                "department_search_requests",
                request,
                None,
                json!({"result": "contact_made"})
            )
        )
        .await,
        "field_not_writable"
    );
    assert_eq!(
        refused(
            sec11,
            patch(
                next(),
                "department_search_requests",
                request,
                None,
                json!({"status": "done"})
            )
        )
        .await,
        "field_not_writable"
    );
    ok(
        &c.admin,
        vec![
            patch(next(), "department_search_requests", request, None, json!({"status": "in_progress"})),
            patch(next(), "department_search_requests", request, None, json!({"status": "done", "executed_on": "2026-03-25", "result": "contact_made", "result_detail": "经公安户籍查询，现居某市", "contact_obtained": "13900000000"})),
        ],
    )
    .await;
    // The result flows down to the branch.
    let mut replica = Replica::default();
    replica.sync(sec11).await.unwrap();
    let (_, seen) = &replica.records[&("department_search_requests".to_owned(), request)];
    assert_eq!(seen["result"], "contact_made");
    assert_eq!(seen["contact_obtained"], "13900000000");
    ok(
        sec11,
        vec![
            patch(next(), "contact_cases", case3, None, json!({"result": "found", "found_by": "department", "found_on": "2026-03-26", "cause_subjective": "objective", "cause_personal": "personal", "cause_consistent": "momentary"})),
            patch(next(), "members", m["王三"], None, json!({"contact_status": "found", "whereabouts_known": true, "last_activity_on": "2026-03-28"})),
        ],
    )
    .await;

    // ---- 赵四: still lost; a suspension through all its steps. ----
    let (case4, disposition) = (Uuid::now_v7(), Uuid::now_v7());
    ok(
        sec11,
        vec![
            put(next(), "contact_cases", case4, b11.id, json!({"member_id": m["赵四"]})),
            put(next(), "contact_attempts", Uuid::now_v7(), b11.id, json!({"case_id": case4, "attempted_on": "2026-04-02", "method": "interpersonal", "channel": "relatives", "result": "no_lead"})),
            patch(next(), "contact_cases", case4, None, json!({"result": "still_lost", "lost_months_at_end": 8})),
            put(next(), "dispositions", disposition, b11.id, json!({"member_id": m["赵四"], "disposition_type": "suspend", "status": "proposed", "basis": "失联超过六个月，经查找仍无法取得联系"})),
        ],
    )
    .await;
    let step = |status: &str, extra: Value| {
        let mut fields = extra;
        fields["status"] = json!(status);
        patch(next(), "dispositions", disposition, None, fields)
    };
    // Not straight to the committee; not approved by the branch.
    assert_eq!(
        refused(sec11, step("submitted", json!({}))).await,
        "invalid_transition"
    );
    ok(sec11, vec![step("branch_meeting_decided", json!({"branch_meeting_on": "2026-04-10", "branch_meeting_vote": "应到9人，实到9人，同意9人"}))]).await;
    ok(sec11, vec![step("submitted", json!({}))]).await;
    assert_eq!(
        refused(sec11, step("approved", json!({}))).await,
        "transition_not_allowed"
    );
    ok(
        &c.admin,
        vec![step("approved", json!({"approved_on": "2026-04-20"}))],
    )
    .await;
    assert_eq!(
        refused(&c.admin, step("effective", json!({}))).await,
        "invalid_transition"
    );
    ok(
        &c.admin,
        vec![step(
            "filed",
            json!({"filed_on": "2026-04-25", "filing_body": "县委组织部"}),
        )],
    )
    .await;
    // Effective without the day it took effect: the suspension clock could not run.
    assert_eq!(
        refused(&c.admin, step("effective", json!({}))).await,
        "required_for_step"
    );
    ok(
        &c.admin,
        vec![step("effective", json!({"effective_on": "2026-05-01"}))],
    )
    .await;
    assert_eq!(
        refused(&c.admin, step("proposed", json!({}))).await,
        "invalid_transition"
    );
    // Nor can the day be cleared afterwards.
    assert_eq!(
        refused(
            &c.admin,
            patch(
                next(),
                "dispositions",
                disposition,
                None,
                json!({"effective_on": null})
            )
        )
        .await,
        "required_for_step"
    );

    // ---- 张一, confirmed in March, is found to have died: removed from the total from the day
    // the disposition takes effect (docs/domain.md §6.3). ----
    let death = Uuid::now_v7();
    ok(sec11, vec![
        put(next(), "dispositions", death, b11.id, json!({"member_id": m["张一"], "disposition_type": "deceased", "status": "proposed", "basis": "家属提供死亡证明"})),
        patch(next(), "dispositions", death, None, json!({"status": "branch_meeting_decided", "branch_meeting_on": "2026-05-10"})),
        patch(next(), "dispositions", death, None, json!({"status": "submitted"})),
    ]).await;
    ok(
        &c.admin,
        vec![
            patch(
                next(),
                "dispositions",
                death,
                None,
                json!({"status": "approved", "approved_on": "2026-05-12"}),
            ),
            patch(
                next(),
                "dispositions",
                death,
                None,
                json!({"status": "filed", "filed_on": "2026-05-15"}),
            ),
            patch(
                next(),
                "dispositions",
                death,
                None,
                json!({"status": "effective", "effective_on": "2026-05-20"}),
            ),
        ],
    )
    .await;

    // ---- Each branch checks its roster against the village's or community's actual count
    // (村居实际底数): branch 1-1 agrees; 1-2 counts 冯十 still (his death certificate is
    // missing) and says so; 2-1 counts one more and does not say why. ----
    let people =
        json!([{"name": "甲"}, {"name": "乙"}, {"name": "丙"}, {"name": "丁"}, {"name": "戊"}]);
    for (client, branch, count, note) in [
        (sec11, b11, 6, None),
        (sec12, b12, 1, Some("冯十死亡证明待补，尚未减员")),
        (sec21, b21, 3, None),
    ] {
        let mut fields = json!({"people": people, "actual_count": count, "actual_count_on": "2026-03-14", "actual_count_basis": "社区党员名册"});
        if let Some(note) = note {
            fields["reconciliation_note"] = json!(note);
        }
        ok(
            client,
            vec![put(
                next(),
                "working_groups",
                Uuid::now_v7(),
                branch.id,
                fields,
            )],
        )
        .await;
    }

    // ---- The five checks of 李二: the roster by the branch's form, dues and conduct checked
    // later; her archive and transfers not yet. Each says who recorded it and when. ----
    ok(sec11, vec![
        patch(next(), "members", m["李二"], None, json!({"dues_checked_on": "2026-03-13"})),
        put(next(), "performance_checks", Uuid::now_v7(), b11.id, json!({"member_id": m["李二"], "source": "colleagues_neighbours", "checked_on": "2026-03-14", "finding": "表现良好"})),
    ]).await;
    let five = c.office.member_checks(m["李二"]).await.unwrap();
    let seen: Vec<(&str, bool, Option<NaiveDate>, Option<&str>)> = five
        .checks
        .iter()
        .map(|k| (k.check.as_str(), k.done, k.on, k.by_name.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("roster", true, Some(today), Some("cg-sec11")),
            ("archive", false, None, None),
            ("dues", true, Some(d("2026-03-13")), Some("cg-sec11")),
            ("transfer", false, None, None),
            ("performance", true, Some(d("2026-03-14")), Some("cg-sec11")),
        ]
    );
    assert!(
        five.checks[0].detail_zh.contains("远程确认原因"),
        "{:?}",
        five.checks[0]
    );
    // Another branch's member is not the other branch's to read.
    let err = sec21.member_checks(m["李二"]).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));

    // ---- Work area 1 submits ledger B again, months after the deadline: late. ----
    ok(
        wa1,
        vec![patch(
            next(),
            "ledger_submissions",
            sub_b,
            None,
            json!({"status": "submitted"}),
        )],
    )
    .await;

    // ---- This campaign is replayed long after its days: every date the branches typed
    // reached the server later than it says. Until the 组织办 accepts them, deadlines judge the
    // day each reached the server (docs/domain.md §8.15); it accepts them all. ----
    let waiting: paicha_domain::api::v1::LateEntryList = reqwest::Client::new()
        .get(format!("{}/v1/late-entries", c.app.base))
        .bearer_auth(c.office.access_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!waiting.entries.is_empty());
    assert!(waiting.entries.iter().all(|e| e.late_entry));
    let accept: Vec<Value> = waiting
        .entries
        .iter()
        .map(|e| {
            patch(
                next(),
                &e.collection,
                e.record_id,
                Some(e.version),
                json!({ e.accept_field.clone(): true }),
            )
        })
        .collect();
    ok(&c.office, accept).await;

    // ---- The status, number by number. ----
    // Judged on 1 December 2026: every deadline of the default plan has passed.
    let as_of = d("2026-12-01");
    let top = c.admin.status_on(None, Some(as_of)).await.unwrap();
    assert_eq!(top.as_of, Some(as_of));
    assert_eq!(top.campaign_start_date, Some(d("2026-03-07")));
    let plan = top.plan.unwrap();
    assert_eq!(
        (plan.ledger_deadline, plan.verification_ends_on),
        (d("2026-03-11"), d("2026-03-15"))
    );
    let n = &top.counts;
    // Nine recorded (陈乙 came back as lost), 张一 dead since 20 May: eight on the roster.
    assert_eq!((n.members_total, n.members_left), (8, 1));
    assert_eq!((n.full_members, n.probationary_members), (5, 2));
    // 李二, 周六, 吴七 confirmed; 王三, 赵四, 陈乙 pending because lost.
    assert_eq!(n.verified, 3);
    assert_eq!(n.roster.get("pending_lost"), Some(&3));
    assert_eq!(n.roster.get("unverified"), Some(&2));
    // By 15 March: 李二 (12th), 周六 (10th); 吴七 on the 20th is late.
    assert_eq!(n.verified_by_deadline, 2);
    // 周六 and 吴七 were confirmed without a complete form, each with its reason.
    assert_eq!(n.confirmed_by_exception, 2);
    // Before 20 May 张一 still counted.
    let in_may = c
        .admin
        .status_on(None, Some(d("2026-05-19")))
        .await
        .unwrap();
    assert_eq!(
        (in_may.counts.members_total, in_may.counts.members_left),
        (9, 0)
    );
    assert_eq!((n.info_forms, n.info_forms_complete), (4, 2));
    assert_eq!(n.confirmation_modes.get("on_site"), Some(&2));
    assert_eq!(n.confirmation_modes.get("post"), Some(&1));
    assert_eq!(n.confirmation_modes.get("assisted_home_visit"), Some(&1));
    assert_eq!(n.pledges_signed, 2);
    assert_eq!((n.ledger_a_entries, n.ledger_b_entries), (1, 1));
    // 王三 (2025-09-07, on the cutoff) and 赵四; 孙五's whereabouts are known (mobile, not lost).
    // Frozen: 王三 was found (his fields say so now), the count at the start stays 2 while the
    // found count rises; 陈乙, recorded later, is an addition, not part of the start.
    assert_eq!(n.lost_contact_at_start, 2);
    assert_eq!(n.lost_at_start_found, 1);
    assert_eq!((n.roster_at_start, n.added_after_start), (8, 1));
    assert_eq!((n.mobile, n.proposed_mobile), (1, 1));
    assert_eq!(n.contact.get("found"), Some(&1));
    // 陈乙's case was opened by registering him lost; nobody has searched yet.
    assert_eq!(
        (n.contact_cases, n.cases_with_attempt, n.contact_attempts),
        (3, 2, 2)
    );
    assert_eq!((n.lost_searched, n.lost_not_searched), (2, 1));
    assert_eq!(n.attempts_by_method.get("direct"), Some(&1));
    assert_eq!(n.attempts_by_method.get("interpersonal"), Some(&1));
    assert_eq!(n.found_by_method.get("department"), Some(&1));
    assert_eq!(n.still_lost, 1);
    assert_eq!(
        (n.department_requests, n.department_requests_pending),
        (1, 0)
    );
    assert_eq!((n.transfers, n.transfers_without_receipt), (3, 2));
    assert_eq!((n.receipts_reissued, n.transfers_registered_lost), (1, 1));
    assert_eq!(n.dispositions.get("suspend"), Some(&1));
    assert_eq!(n.dispositions.get("deceased"), Some(&1));
    // In effect since 1 May 2026: the two-year window runs to 1 May 2028.
    assert_eq!(
        (n.suspended, n.suspensions_ending_soon, n.suspensions_ended),
        (1, 0, 0)
    );

    // Phases: the street is the committee's one child; its work areas tell them apart.
    let street = c
        .admin
        .status_on(Some(c.street_unit.id), Some(as_of))
        .await
        .unwrap();
    assert_eq!(street.counts, top.counts);
    let (wa1_status, wa2_status) = (child(&street, c.areas[0].id), child(&street, c.areas[1].id));
    // Work area 1: 李二 and 周六 on time by their forms' dates; 王三, 赵四 and 陈乙 (pending
    // because lost, no form) dated by the day the server recorded it, today: late; 孙五 not
    // verified: missing; 张一 has left the roster. Checking transfers belongs to verification
    // too: 陈甲's and 陈乙's were first followed up today, late. Work area 2: 吴七 late by its
    // form, 郑八 not verified, 陈丙's transfer never followed up: missing.
    let v1 = phase(wa1_status, Phase::Verification);
    assert_eq!(
        (v1.items, v1.on_time, v1.late, v1.not_done, v1.state),
        (8, 2, 5, 1, PhaseState::Missing)
    );
    let v2 = phase(wa2_status, Phase::Verification);
    assert_eq!(
        (v2.items, v2.on_time, v2.late, v2.not_done, v2.state),
        (3, 0, 1, 2, PhaseState::Missing)
    );
    // Branch 1-2: one member, on time.
    let wa1_detail = c
        .admin
        .status_on(Some(c.areas[0].id), Some(as_of))
        .await
        .unwrap();
    assert_eq!(
        phase(child(&wa1_detail, b12.id), Phase::Verification).state,
        PhaseState::OnTime
    );
    // Ledgers: work area 1 submitted A late (approved), and B late, returned, and submitted
    // again (received again today: late); work area 2 has submitted neither.
    // The server stamped the day it received them (today, in China).
    let until = paicha_domain::calendar::china_date(chrono::Utc::now());
    let ledgers: Vec<(String, Option<String>, Option<bool>, PhaseState)> = street
        .ledger_submissions
        .iter()
        .map(|s| {
            (
                s.work_area_name.clone(),
                s.status.clone(),
                s.received_on.map(|day| today <= day && day <= until),
                s.state,
            )
        })
        .collect();
    assert_eq!(
        ledgers,
        vec![
            (
                "第1工作区".into(),
                Some("approved".into()),
                Some(true),
                PhaseState::Late
            ),
            (
                "第1工作区".into(),
                Some("submitted".into()),
                Some(true),
                PhaseState::Late
            ),
            ("第2工作区".into(), None, None, PhaseState::Missing),
            ("第2工作区".into(), None, None, PhaseState::Missing),
        ]
    );
    assert_eq!(phase(wa1_status, Phase::LedgerSubmission).late, 2);
    // Search: every lost member is an item, case or not: a first attempt by 31 March for 王三
    // (18 March), after it for 赵四 (2 April), none for 陈乙.
    let s = phase(wa1_status, Phase::Search);
    assert_eq!(
        (s.items, s.on_time, s.late, s.not_done, s.state),
        (3, 1, 1, 1, PhaseState::Missing)
    );
    assert_eq!(
        phase(wa2_status, Phase::Search).state,
        PhaseState::NotApplicable
    );
    // Relationships: 陈甲 re-issued on 20 April, 陈乙 registered lost, 陈丙 still open.
    let r1 = phase(wa1_status, Phase::Relationships);
    assert_eq!((r1.items, r1.on_time, r1.state), (2, 2, PhaseState::OnTime));
    assert_eq!(
        phase(wa2_status, Phase::Relationships).state,
        PhaseState::Missing
    );
    // Dispositions: 赵四's suspension effective on 1 May, before 31 May.
    assert_eq!(
        phase(wa1_status, Phase::Dispositions).state,
        PhaseState::OnTime
    );
    // Overdue: items of a working phase (not finalization, which restates them) whose deadline
    // has passed, not done. Work area 1: 孙五 not verified, 陈乙 not searched, and his case
    // still open after finalization's deadline (30 June). Work area 2: 郑八 not verified, both
    // ledgers, and 陈丙's transfer (not checked, no receipt).
    assert_eq!(wa1_status.counts.overdue, 3);
    assert_eq!(wa2_status.counts.overdue, 5);
    assert_eq!(street.counts.overdue, 8);

    // The roster against the actual counts, branch by branch: 1-1: 5 at the start + 钱九
    // (ledger A) = 6, as counted; 1-2: 1 − 冯十 (ledger B) = 0, counted 1, explained; 2-1: 2,
    // counted 3, not explained: flagged.
    let recon = |s: &UnitStatus| {
        let r = s.reconciliation.as_ref().unwrap();
        (
            r.roster_at_start,
            r.ledger_a_additions,
            r.ledger_b_removals,
            r.expected,
            r.actual,
            r.difference,
            r.state.clone(),
        )
    };
    assert_eq!(
        recon(child(&wa1_detail, b11.id)),
        (5, 1, 0, 6, Some(6), Some(0), "balanced".to_owned())
    );
    assert_eq!(
        recon(child(&wa1_detail, b12.id)),
        (1, 0, 1, 0, Some(1), Some(1), "explained".to_owned())
    );
    let wa2_detail = c
        .admin
        .status_on(Some(c.areas[1].id), Some(as_of))
        .await
        .unwrap();
    assert_eq!(
        recon(child(&wa2_detail, b21.id)),
        (2, 0, 0, 2, Some(3), Some(1), "flagged".to_owned())
    );
    assert_eq!(recon(wa1_status).6, "explained");
    let whole = top.reconciliation.as_ref().unwrap();
    assert_eq!(
        (
            whole.branches,
            whole.branches_unexplained,
            whole.state.as_str()
        ),
        (3, 1, "flagged")
    );

    // The registers as the 组织办 files them: ledger B of the whole street read back from the
    // workbook, with the work area and branch columns, grouped, dates the Chinese way.
    let (_, office_token) = c.app.sign_in("cg-office").await;
    let bytes = reqwest::Client::new()
        .get(format!(
            "{}/v1/ledgers/ledger_b?org_unit_id={}",
            c.app.base, c.street_unit.id
        ))
        .bearer_auth(&office_token.access_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::Reader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "党员花名册多余人员信息台帐").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(&cells[2][..4], &["序号", "工作区", "党支部", "姓名"]);
    assert_eq!(&cells[3][1..4], &["第1工作区", "第12党支部", "冯十"]);
    // The date is an Excel date (days from 1899-12-30), shown 2025年12月1日.
    let day = (chrono::NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
    .num_days();
    let event = cells[2].iter().position(|h| h == "事由发生日期").unwrap();
    assert!(
        matches!(sheet.get((3, event)), Some(calamine::Data::DateTime(d)) if d.as_f64() == day as f64),
        "{:?}",
        cells[3]
    );
    for column in ["证明材料", "处理结果", "审核日期"] {
        assert!(cells[2].contains(&column.to_owned()), "{column}");
    }

    // Two years later the clock asks for the next step.
    let later = c
        .admin
        .status_on(None, Some(d("2028-05-02")))
        .await
        .unwrap();
    assert_eq!(
        (later.counts.suspended, later.counts.suspensions_ended),
        (1, 1)
    );
    let proposals = sec11
        .proposals(None, Some(d("2028-04-01")), true)
        .await
        .unwrap();
    let zhao = proposals
        .members
        .iter()
        .find(|p| p.member_id == m["赵四"])
        .unwrap();
    assert!(matches!(
        zhao.suspension.as_ref().unwrap().clock,
        paicha_domain::campaign::SuspensionClock::EndingSoon { .. }
    ));
}
