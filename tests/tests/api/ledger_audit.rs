//! The ledger audit round trip (docs/domain.md §8.16, issue #22 item 4): the 组织办 approves a
//! work area's ledger; entries added afterwards go in as a 补报 with its own audit and dates;
//! the 组织办 reopens the approved submission with its reason, the entries are corrected and
//! it is submitted and approved again; the registers print each submission and, apart, the
//! entries not yet submitted — read by every role as the privacy and scope rules say.

use paicha_domain::api::v1::{LedgerTable, PushResponse};
use paicha_domain::role::Role;
use paicha_tests::{Replica, TestApp, delete, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Each result's code ("applied" when applied) and field.
fn codes(r: &PushResponse) -> Vec<(String, Option<String>)> {
    r.results
        .iter()
        .map(|r| match &r.error {
            Some(e) => (e.code.clone(), e.field.clone()),
            None => ("applied".to_owned(), None),
        })
        .collect()
}

fn applied(r: &PushResponse) {
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
}

/// A register as JSON, as `token` reads it, or the status and error code.
async fn register(
    app: &TestApp,
    token: &str,
    query: &str,
) -> Result<LedgerTable, (StatusCode, String)> {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/ledgers/ledger_a?format=json{query}",
            app.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    if status != StatusCode::OK {
        return Err((status, crate::error_code(&body)));
    }
    Ok(serde_json::from_value(body).unwrap())
}

/// The 姓名 column of a register's rows.
fn names(table: &LedgerTable) -> Vec<String> {
    let at = table.columns.iter().position(|c| c == "姓名").unwrap();
    let mut names: Vec<String> = table.rows.iter().map(|r| r[at].clone()).collect();
    names.sort();
    names
}

async fn fields(app_client: &paicha_client::Client, id: Uuid) -> serde_json::Map<String, Value> {
    let mut replica = Replica::default();
    replica.sync(app_client).await.unwrap();
    replica.records[&("ledger_submissions".to_owned(), id)]
        .1
        .clone()
}

#[tokio::test]
async fn the_ledger_audit_round_trip() {
    let app = spawn_app().await;
    let t = app.tenant("l").await;
    let area = app
        .user_at(&t.admin, "l-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    let office = app
        .user_at(&t.admin, "l-office", Role::OrgOffice, &t.committee)
        .await;
    let viewer = app
        .user_at(&t.admin, "l-viewer", Role::Viewer, &t.committee)
        .await;
    let member = app
        .user_at(&t.admin, "l-member", Role::GroupMember, &t.branch1)
        .await;
    let today = paicha_domain::calendar::china_date(chrono::Utc::now()).to_string();
    let number = paicha_tests::id_number("19700101", 11);
    let (e1, e2, e3, e4) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let (b1, b2) = (t.branch1.id, t.branch2.id);
    applied(
        &t.secretary1
            .push(
                "s1",
                vec![
                    put(
                        1,
                        "roster_ledger_entries",
                        e1,
                        b1,
                        json!({"ledger": "ledger_a", "name": "甲一", "id_number": number}),
                    ),
                    put(
                        2,
                        "roster_ledger_entries",
                        e2,
                        b1,
                        json!({"ledger": "ledger_a", "name": "甲二"}),
                    ),
                ],
            )
            .await
            .unwrap(),
    );
    applied(
        &t.secretary2
            .push(
                "s2",
                vec![put(
                    1,
                    "roster_ledger_entries",
                    e3,
                    b2,
                    json!({"ledger": "ledger_a", "name": "乙一"}),
                )],
            )
            .await
            .unwrap(),
    );

    // The work area hands ledger A in, the 组织办 approves it.
    let (s1, s2) = (Uuid::now_v7(), Uuid::now_v7());
    applied(
        &area
            .push(
                "w",
                vec![put(
                    1,
                    "ledger_submissions",
                    s1,
                    t.work_area.id,
                    json!({"ledger": "ledger_a", "status": "submitted"}),
                )],
            )
            .await
            .unwrap(),
    );
    applied(
        &office
            .push(
                "o",
                vec![patch(
                    1,
                    "ledger_submissions",
                    s1,
                    None,
                    json!({"status": "approved", "audited_on": today, "audit_opinion": "同意"}),
                )],
            )
            .await
            .unwrap(),
    );
    let first = fields(&office, s1).await;
    assert_eq!(first["submitted_entries"], json!(3));
    assert!(!first.contains_key("supplementary"), "{first:?}");

    // An entry added after the approval is not in it: the register says it is not submitted.
    applied(
        &t.secretary1
            .push(
                "s1",
                vec![put(
                    3,
                    "roster_ledger_entries",
                    e4,
                    b1,
                    json!({"ledger": "ledger_a", "name": "甲三"}),
                )],
            )
            .await
            .unwrap(),
    );
    let token = office.access_token().unwrap();
    let whole = register(&app, token, "").await.unwrap();
    assert_eq!(
        names(&whole),
        ["乙一", "甲一", "甲三", "甲二"],
        "the whole register as before"
    );
    assert_eq!(whole.unsubmitted, Some(1));
    assert_eq!(whole.part_zh, "");
    assert_eq!(whole.sections.len(), 1);
    let section = &whole.sections[0];
    assert_eq!(
        (
            section.submission_id,
            section.status.as_str(),
            section.supplementary,
            section.entries
        ),
        (s1, "approved", false, 3)
    );
    assert_eq!(section.work_area_name, "l第一工作区");
    assert_eq!(
        section.received_on.map(|d| d.to_string()),
        Some(today.clone())
    );
    let approved = register(&app, token, &format!("&submission={s1}"))
        .await
        .unwrap();
    assert_eq!(names(&approved), ["乙一", "甲一", "甲二"]);
    assert!(
        approved
            .part_zh
            .starts_with("报送情况：l第一工作区　首次报送　已通过")
            && approved.part_zh.contains("审核意见：同意"),
        "{}",
        approved.part_zh
    );
    let pending = register(&app, token, "&submission=unsubmitted")
        .await
        .unwrap();
    assert_eq!(names(&pending), ["甲三"]);
    assert!(
        pending.part_zh.starts_with("未报送条目"),
        "{}",
        pending.part_zh
    );
    // What was approved stays as it was.
    let frozen = t
        .secretary1
        .push(
            "s1",
            vec![patch(
                4,
                "roster_ledger_entries",
                e1,
                None,
                json!({"name": "甲一改"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&frozen),
        [("ledger_entry_frozen".to_owned(), Some("id".to_owned()))]
    );

    // The 补报: a new submission takes only the entry added since, audited on its own.
    applied(
        &area
            .push(
                "w",
                vec![put(
                    2,
                    "ledger_submissions",
                    s2,
                    t.work_area.id,
                    json!({"ledger": "ledger_a", "status": "submitted"}),
                )],
            )
            .await
            .unwrap(),
    );
    let supplement = fields(&office, s2).await;
    assert_eq!(supplement["supplementary"], json!(true));
    assert_eq!(supplement["submitted_entries"], json!(1));
    assert_eq!(supplement["received_on"], json!(today));
    // A second 补报 would hand in nothing.
    let empty = area
        .push(
            "w",
            vec![put(
                3,
                "ledger_submissions",
                Uuid::now_v7(),
                t.work_area.id,
                json!({"ledger": "ledger_a", "status": "submitted"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&empty),
        [("supplement_empty".to_owned(), Some("status".to_owned()))]
    );
    applied(
        &office
            .push(
                "o",
                vec![patch(
                    2,
                    "ledger_submissions",
                    s2,
                    None,
                    json!({"status": "approved", "audited_on": today, "audit_opinion": "补报同意"}),
                )],
            )
            .await
            .unwrap(),
    );
    let both = register(&app, token, "").await.unwrap();
    assert_eq!(both.unsubmitted, Some(0));
    let shown: Vec<(Uuid, bool, u64)> = both
        .sections
        .iter()
        .map(|s| (s.submission_id, s.supplementary, s.entries))
        .collect();
    assert_eq!(shown, [(s1, false, 3), (s2, true, 1)]);
    let supplement_part = register(&app, token, &format!("&submission={s2}"))
        .await
        .unwrap();
    assert_eq!(names(&supplement_part), ["甲三"]);
    assert!(
        supplement_part.part_zh.contains("补报　已通过"),
        "{}",
        supplement_part.part_zh
    );

    // Reopening: the 组织办's alone, and with its reason in the same write.
    let by_area = area
        .push(
            "w",
            vec![patch(
                4,
                "ledger_submissions",
                s1,
                None,
                json!({"status": "reopened", "reopen_reason": "自己改"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(codes(&by_area)[0].0, "field_not_writable");
    let by_area = area
        .push(
            "w",
            vec![patch(
                5,
                "ledger_submissions",
                s1,
                None,
                json!({"status": "reopened"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(codes(&by_area)[0].0, "transition_not_allowed");
    let no_reason = office
        .push(
            "o",
            vec![patch(
                3,
                "ledger_submissions",
                s1,
                None,
                json!({"status": "reopened"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&no_reason),
        [(
            "required_for_step".to_owned(),
            Some("reopen_reason".to_owned())
        )]
    );
    applied(
        &office
            .push(
                "o",
                vec![patch(
                    4,
                    "ledger_submissions",
                    s1,
                    None,
                    json!({"status": "reopened", "reopen_reason": "甲一姓名有误，需更正"}),
                )],
            )
            .await
            .unwrap(),
    );
    let reopened = fields(&office, s1).await;
    assert_eq!(reopened["reopened_on"], json!(today));
    // The earlier approval stays on the record until it is audited again.
    assert_eq!(
        (&reopened["audited_on"], &reopened["audit_opinion"]),
        (&json!(today), &json!("同意"))
    );
    // A reopened submission is not deleted, and its entries are not another's to take.
    let deleted = area
        .push("w", vec![delete(6, "ledger_submissions", s1)])
        .await
        .unwrap();
    assert_eq!(codes(&deleted)[0].0, "submission_approved");
    let taken = area
        .push(
            "w",
            vec![put(
                7,
                "ledger_submissions",
                Uuid::now_v7(),
                t.work_area.id,
                json!({"ledger": "ledger_a", "status": "submitted"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(codes(&taken)[0].0, "supplement_empty");
    // The entries are editable again, and print as not yet submitted until it goes in again.
    applied(
        &t.secretary1
            .push(
                "s1",
                vec![patch(
                    5,
                    "roster_ledger_entries",
                    e1,
                    None,
                    json!({"name": "甲一改"}),
                )],
            )
            .await
            .unwrap(),
    );
    let open = register(&app, token, "").await.unwrap();
    assert_eq!(open.unsubmitted, Some(3));
    assert_eq!(open.sections[0].status, "reopened");
    assert_eq!(open.sections[0].status_zh, "已重新打开");
    assert!(
        open.sections[0].note_zh.contains("重新打开："),
        "{}",
        open.sections[0].note_zh
    );
    let pending = register(&app, token, "&submission=unsubmitted")
        .await
        .unwrap();
    assert_eq!(names(&pending), ["乙一", "甲一改", "甲二"]);
    let still = register(&app, token, &format!("&submission={s2}"))
        .await
        .unwrap();
    assert_eq!(names(&still), ["甲三"], "the 补报 stays approved");

    // Submitted again: received again that day, the same entries as corrected, still the
    // first submission (not a 补报), and approved again.
    applied(
        &area
            .push(
                "w",
                vec![patch(
                    8,
                    "ledger_submissions",
                    s1,
                    None,
                    json!({"status": "submitted"}),
                )],
            )
            .await
            .unwrap(),
    );
    applied(
        &office
            .push("o", vec![patch(5, "ledger_submissions", s1, None, json!({"status": "approved", "audited_on": today, "audit_opinion": "更正后同意"}))])
            .await
            .unwrap(),
    );
    let again = fields(&office, s1).await;
    assert_eq!(again["submitted_entries"], json!(3));
    assert!(!again.contains_key("supplementary"), "{again:?}");
    let redone = register(&app, token, &format!("&submission={s1}"))
        .await
        .unwrap();
    assert_eq!(names(&redone), ["乙一", "甲一改", "甲二"]);
    assert!(
        redone.part_zh.contains("审核意见：更正后同意") && redone.part_zh.contains("重新打开：")
    );
    // The history keeps the earlier approval and the reopening.
    let steps: Vec<Value> = office
        .audit("ledger_submissions", s1)
        .await
        .unwrap()
        .entries
        .iter()
        .filter_map(|e| e.changes.get("status").map(|c| c[1].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            json!("submitted"),
            json!("approved"),
            json!("reopened"),
            json!("submitted"),
            json!("approved")
        ]
    );

    // ---- Role by role: who reads which part, and personal data as the privacy rule says. ----
    let unknown = register(&app, token, "&submission=x").await.unwrap_err();
    assert_eq!(
        unknown,
        (StatusCode::BAD_REQUEST, "invalid_query".to_owned())
    );
    let other = reqwest::Client::new()
        .get(format!(
            "{}/v1/ledgers/roster?format=json&submission=unsubmitted",
            app.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::BAD_REQUEST,
        "only registers A and B go by submission"
    );
    let missing = register(&app, token, &format!("&submission={}", Uuid::now_v7()))
        .await
        .unwrap_err();
    assert_eq!(missing, (StatusCode::NOT_FOUND, "not_found".to_owned()));
    let readers: [(&str, &paicha_client::Client, Role, bool); 7] = [
        ("committee", &t.admin, Role::CommitteeAdmin, true),
        ("组织办", &office, Role::OrgOffice, true),
        ("work area", &area, Role::WorkAreaStaff, true),
        ("street", &t.street_staff, Role::StreetStaff, true),
        ("viewer", &viewer, Role::Viewer, true),
        ("branch 1", &t.secretary1, Role::BranchSecretary, false),
        ("group member", &member, Role::GroupMember, false),
    ];
    for (who, client, role, above) in readers {
        let token = client.access_token().unwrap();
        let part = register(&app, token, &format!("&submission={s1}")).await;
        let whole = register(&app, token, "").await.unwrap();
        let pending = register(&app, token, "&submission=unsubmitted")
            .await
            .unwrap();
        assert_eq!(pending.rows.len(), 0, "{who}");
        if !above {
            // A branch reads its own entries; the work area's submissions are not its to see.
            assert_eq!(
                part.unwrap_err(),
                (StatusCode::NOT_FOUND, "not_found".to_owned()),
                "{who}"
            );
            assert!(whole.sections.is_empty(), "{who}");
            assert_eq!(names(&whole), ["甲一改", "甲三", "甲二"], "{who}");
            assert_eq!(whole.unsubmitted, Some(0), "{who}");
            continue;
        }
        let part = part.unwrap_or_else(|e| panic!("{who}: {e:?}"));
        assert_eq!(names(&part), ["乙一", "甲一改", "甲二"], "{who}");
        assert_eq!(whole.sections.len(), 2, "{who}");
        let at = part
            .columns
            .iter()
            .position(|c| c == "公民身份号码")
            .unwrap();
        let shown: Vec<&str> = part
            .rows
            .iter()
            .map(|r| r[at].as_str())
            .filter(|s| !s.is_empty())
            .collect();
        let expected = if paicha_domain::privacy::sees_full_id_numbers(role) {
            number.clone()
        } else {
            paicha_domain::privacy::mask_id_number(&number)
        };
        assert_eq!(shown, [expected.as_str()], "{who}");
    }
}
