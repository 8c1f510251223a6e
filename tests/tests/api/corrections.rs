//! A street's 转出明细 sent again, corrected (docs/domain.md §6.4): rows matched by their 序号,
//! a corrected ID number updates the transfer, a changed branch re-addresses it (the branch it
//! leaves is told), a row the new file lacks is withdrawn, visibly; the answer counts them.

use paicha_domain::api::v1::MutationStatus;
use paicha_tests::{Replica, id_number, patch, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

fn list(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "某街道转出明细（更正）").unwrap();
    for (c, h) in [
        "序号",
        "姓名",
        "公民身份号码",
        "转出日期",
        "负责跟进的党支部",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if c == 0 {
                // 序号 as Excel writes it: a number.
                sheet
                    .write_number(r as u32 + 2, 0, value.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r as u32 + 2, c as u16, *value).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(base: &str, token: &str, street: Uuid, bytes: Vec<u8>) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{base}/v1/import/transfers?org_unit_id={street}&list_name=%E7%AC%AC%E4%B8%80%E6%89%B9"
        ))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn transfers_of(
    replica: &Replica,
) -> std::collections::BTreeMap<String, (Uuid, serde_json::Map<String, Value>)> {
    replica
        .records
        .iter()
        .filter(|((c, _), _)| c == "transfers")
        .map(|((_, id), (_, f))| {
            (
                f["member_name"].as_str().unwrap().to_owned(),
                (*id, f.clone()),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_corrected_transfer_list_updates_readdresses_and_withdraws_its_rows() {
    let app = spawn_app().await;
    let t = app.tenant("c").await;
    let token = t.street_staff.access_token().unwrap().to_owned();
    let (b1, b2) = (t.branch1.name.as_str(), t.branch2.name.as_str());
    let wrong = id_number("19700101", 3);
    let right = id_number("19700102", 5);
    let yi = id_number("19710101", 7);
    let bing = id_number("19720101", 9);
    let first = list(&[
        ["1", "赵甲", &wrong, "2025-05-01", b1],
        ["2", "赵乙", &yi, "2025-06-01", b1],
        ["3", "赵丙", &bing, "2025-07-01", b1],
    ]);
    let (status, body) = upload(&app.base, &token, t.street.id, first).await;
    assert_eq!(
        (status, body["created"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{body}"
    );

    // Branch 1 follows two of them up.
    let mut phone1 = Replica::default();
    phone1.sync(&t.secretary1).await.unwrap();
    let seen = transfers_of(&phone1);
    assert_eq!(seen.len(), 3);
    let (jia, yi_id, bing_id) = (seen["赵甲"].0, seen["赵乙"].0, seen["赵丙"].0);
    let r = t
        .secretary1
        .push("phone", vec![
            patch(1, "transfers", jia, None, json!({"receipt_status": "receiver_contacted", "follow_up_note": "已联系"})),
            patch(2, "transfers", yi_id, None, json!({"receipt_status": "receiver_contacted", "follow_up_note": "已去电接收方"})),
        ])
        .await
        .unwrap();
    assert!(
        r.results
            .iter()
            .all(|r| r.status == MutationStatus::Applied),
        "{r:?}"
    );

    // The corrected list: 赵甲's ID number corrected, 赵乙 re-addressed to branch 2, 赵丙 gone.
    let corrected = list(&[
        ["1", "赵甲", &right, "2025-05-01", b1],
        ["2", "赵乙", &yi, "2025-06-01", b2],
    ]);
    let (status, body) = upload(&app.base, &token, t.street.id, corrected).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["readdressed"].as_u64(),
            body["withdrawn"].as_u64(),
        ),
        (Some(0), Some(2), Some(1), Some(1)),
        "{body}"
    );

    // One transfer per person, each keeping its follow-up.
    phone1.sync(&t.secretary1).await.unwrap();
    let seen = transfers_of(&phone1);
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        ["赵丙", "赵甲"],
        "赵乙 left branch 1"
    );
    assert_eq!(seen["赵甲"].0, jia);
    assert_eq!(seen["赵甲"].1["id_number"], right.as_str());
    assert_eq!(seen["赵甲"].1["follow_up_note"], "已联系");
    // The withdrawn one stays, visibly withdrawn.
    assert_eq!(seen["赵丙"].0, bing_id);
    assert!(
        seen["赵丙"].1["withdrawn_on"].is_string(),
        "{:?}",
        seen["赵丙"]
    );
    let mut phone2 = Replica::default();
    phone2.sync(&t.secretary2).await.unwrap();
    let seen2 = transfers_of(&phone2);
    assert_eq!(seen2["赵乙"].0, yi_id);
    assert_eq!(seen2["赵乙"].1["follow_up_note"], "已去电接收方");
    let told = t.secretary1.departures().await.unwrap().items;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0].record_id, told[0].reason.as_str()),
        (yi_id, "readdressed")
    );
    assert_eq!(told[0].to_unit_id, Some(t.branch2.id));
    // Role by role: who saw it leave is told (branch 1's people); who sees it still (the
    // street, the committee's roles, branch 2) is not; the platform administrator reads no
    // member data at all.
    use paicha_domain::role::Role;
    let member = app
        .user_at(&t.admin, "c-group", Role::GroupMember, &t.branch1)
        .await;
    let viewer = app
        .user_at(&t.admin, "c-viewer", Role::Viewer, &t.committee)
        .await;
    let office = app
        .user_at(&t.admin, "c-office", Role::OrgOffice, &t.committee)
        .await;
    let area = app
        .user_at(&t.admin, "c-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    for (who, client, expected) in [
        ("group member of branch 1", &member, 1),
        ("secretary of branch 2", &t.secretary2, 0),
        ("work area", &area, 0),
        ("street", &t.street_staff, 0),
        ("org office", &office, 0),
        ("committee admin", &t.admin, 0),
        ("viewer", &viewer, 0),
    ] {
        let items = client.departures().await.unwrap().items;
        assert_eq!(items.len(), expected, "{who}: {items:?}");
    }
    let refused = app.admin.departures().await.unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::FORBIDDEN));

    // The street's list: two live transfers, one withdrawn; the withdrawn counts nowhere.
    let lists = t.street_staff.transfer_lists(None).await.unwrap();
    assert_eq!(lists.lists.len(), 1);
    assert_eq!(
        (lists.lists[0].progress.transfers, lists.lists[0].withdrawn),
        (2, 1)
    );
    let status = t.admin.status(None).await.unwrap();
    assert_eq!(status.counts.transfers, 2, "{:?}", status.counts);

    // The same corrected list again changes nothing; the first list again brings 赵丙 back
    // (withdrawn no more) and re-addresses 赵乙 to branch 1 again, correcting the number back.
    let again = list(&[
        ["1", "赵甲", &right, "2025-05-01", b1],
        ["2", "赵乙", &yi, "2025-06-01", b2],
    ]);
    let (_, body) = upload(&app.base, &token, t.street.id, again).await;
    assert_eq!(
        (body["unchanged"].as_u64(), body["withdrawn"].as_u64()),
        (Some(2), Some(0)),
        "{body}"
    );
    let back = list(&[
        ["1", "赵甲", &right, "2025-05-01", b1],
        ["2", "赵乙", &yi, "2025-06-01", b1],
        ["3", "赵丙", &bing, "2025-07-01", b1],
    ]);
    let (_, body) = upload(&app.base, &token, t.street.id, back).await;
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["readdressed"].as_u64()
        ),
        (Some(0), Some(2), Some(1)),
        "{body}"
    );
    phone1.sync(&t.secretary1).await.unwrap();
    let seen = transfers_of(&phone1);
    assert_eq!(seen.len(), 3);
    assert!(
        seen["赵丙"].1.get("withdrawn_on").is_none(),
        "{:?}",
        seen["赵丙"]
    );
    phone2.sync(&t.secretary2).await.unwrap();
    assert!(transfers_of(&phone2).is_empty(), "赵乙 left branch 2");

    // A renumbered list does not hand one person's transfer to another: 序号 1 now names
    // someone else entirely, so 赵甲 is matched by his ID number and the stranger is new.
    let ding = id_number("19730101", 11);
    let renumbered = list(&[
        ["1", "钱丁", &ding, "2025-08-01", b1],
        ["2", "赵甲", &right, "2025-05-01", b1],
        ["3", "赵乙", &yi, "2025-06-01", b1],
        ["4", "赵丙", &bing, "2025-07-01", b1],
    ]);
    let (_, body) = upload(&app.base, &token, t.street.id, renumbered).await;
    assert_eq!(
        (body["created"].as_u64(), body["withdrawn"].as_u64()),
        (Some(1), Some(0)),
        "{body}"
    );
    phone1.sync(&t.secretary1).await.unwrap();
    let seen = transfers_of(&phone1);
    assert_eq!(seen["赵甲"].0, jia);
    assert_eq!(seen["赵甲"].1["follow_up_note"], "已联系");
    assert_eq!(seen.len(), 4);

    // The same 序号 twice is refused whole, naming both rows.
    let twice = list(&[
        ["1", "钱丁", &ding, "2025-08-01", b1],
        ["1", "赵甲", &right, "2025-05-01", b1],
    ]);
    let (status, body) = upload(&app.base, &token, t.street.id, twice).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["code"], "duplicate_row");
    assert_eq!(body["problems"][0]["column"], "序号");
}

/// The street in the console: a list sent again, corrected, answers how many rows were
/// re-addressed and withdrawn, and the list shows its withdrawn rows.
#[tokio::test]
async fn a_street_sends_a_corrected_list_in_the_console() {
    use paicha_tests::browser::{Browser, DESKTOP};
    let app = spawn_app().await;
    let t = app.tenant("cc").await;
    let dir = paicha_tests::process::temp_dir();
    let (b1, b2) = (t.branch1.name.clone(), t.branch2.name.clone());
    let (a, b, c) = (
        id_number("19700101", 3),
        id_number("19710101", 7),
        id_number("19720101", 9),
    );
    let first = dir.path().join("first.csv");
    let corrected = dir.path().join("corrected.csv");
    std::fs::write(
        &first,
        format!("序号,姓名,公民身份号码,负责跟进的党支部\r\n1,赵甲,{a},{b1}\r\n2,赵乙,{b},{b1}\r\n3,赵丙,{c},{b1}\r\n"),
    )
    .unwrap();
    std::fs::write(
        &corrected,
        format!(
            "序号,姓名,公民身份号码,负责跟进的党支部\r\n1,赵甲,{a},{b1}\r\n2,赵乙,{b},{b2}\r\n"
        ),
    )
    .unwrap();

    let page = Browser::start(DESKTOP).await;
    page.console_sign_in(&format!("{}/#/imports", app.base), "cc-street")
        .await;
    page.wait_for("form[data-import=transfers]").await;
    // The list's name stays in the form for the corrected file.
    page.type_into("#list-name", "第一批").await;
    for (file, expect) in [(&first, "新增 3 条"), (&corrected, "撤回 1 条")] {
        let input = page.wait_for("#file-transfers").await;
        input.send_keys(&file.to_string_lossy()).await.unwrap();
        page.click("form[data-import=transfers] button[type=submit]")
            .await;
        page.wait_until(
            20,
            &format!("return document.querySelector('form[data-import=transfers] [data-outcome=imported]')?.textContent.includes('{expect}');"),
        )
        .await;
    }
    let done = page
        .text("form[data-import=transfers] [data-outcome=imported]")
        .await;
    assert!(done.contains("1 条改由其他党支部跟进"), "{done}");
    page.wait_until(
        10,
        "return document.querySelector('[data-list=第一批] h3')?.textContent.includes('另撤回 1 人');",
    )
    .await;
    page.screenshot("console-transfers-corrected").await;
    page.resize(paicha_tests::browser::PHONE).await;
    page.eval("document.querySelector('form[data-import=transfers] [data-outcome=imported]').scrollIntoView({block: 'center'}); return true;")
        .await;
    page.screenshot("console-transfers-corrected-phone").await;
    page.close().await;
}
