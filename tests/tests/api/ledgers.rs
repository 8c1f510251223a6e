//! `GET /v1/ledgers/{kind}`: registers as xlsx (read back with calamine), CSV with a BOM, JSON.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use paicha_tests::{put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn get(url: String, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn registers_export_as_excel_csv_and_json() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (m1, m2, case) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let b1 = t.branch1.id;
    let r = t
        .secretary1
        .push("p", vec![
            put(1, "members", m1, b1, json!({"name": "蒋十七", "gender": "female", "member_type": "full"})),
            put(2, "members", m2, b1, json!({"name": "沈十八", "gender": "male"})),
            put(3, "roster_ledger_entries", Uuid::now_v7(), b1, json!({"ledger": "ledger_a", "name": "韩十九", "gender": "male", "reason_not_on_roster": "转入后未登记, \"待核\"", "has_transfer_letter": true})),
            put(4, "roster_ledger_entries", Uuid::now_v7(), b1, json!({"ledger": "ledger_b", "name": "杨二十", "surplus_reason": "deceased", "evidence": ["a".repeat(64)]})),
            put(5, "contact_cases", case, b1, json!({"member_id": m2, "result": "searching", "loss_circumstance": "working_away"})),
            put(7, "members", Uuid::now_v7(), b1, json!({"name": "朱二一", "contact_status": "mobile", "flow_out_on": "2015-05-01", "flow_out_reason": "外出务工", "flow_destination": "广东省深圳市", "holds_mobile_card": true})),
        ])
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
    t.secretary1
        .push(
            "p",
            vec![paicha_tests::patch(
                6,
                "contact_cases",
                case,
                None,
                json!({"result": "found", "found_by": "interpersonal"}),
            )],
        )
        .await
        .unwrap();
    let token = t.admin.access_token().unwrap();
    let base = format!("{}/v1/ledgers", app.base);

    // Excel: title, unit and date, headers, one row.
    let (status, headers, bytes) = get(
        format!("{base}/ledger_a?org_unit_id={}", t.work_area.id),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook
        .worksheet_range("不在花名册党员初审信息台帐")
        .unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(rows[0][0], "不在花名册党员初审信息台帐");
    assert!(rows[1][0].contains("第一工作区"), "{:?}", rows[1]);
    // The date on top the Chinese way (年月日), in China time.
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    let today_zh = paicha_domain::ledger::date_zh(&today.to_string()).unwrap();
    assert!(rows[1][0].contains(&today_zh), "{:?}", rows[1]);
    assert_eq!(&rows[2][..5], &["序号", "工作区", "党支部", "姓名", "性别"]);
    assert_eq!(
        &rows[3][..5],
        &["1", "a第一工作区", "a第一党支部", "韩十九", "男"]
    );
    // Below the table: 填报单位, 填报人 (the exporter), 审核人 and 报送日期 to sign by hand.
    let sign_off = &rows.last().unwrap()[0];
    assert!(
        sign_off.contains("填报单位：a第一工作区")
            && sign_off.contains("填报人：")
            && sign_off.contains("审核人")
            && sign_off.contains("报送日期"),
        "{sign_off}"
    );
    assert_eq!(
        rows.len(),
        6,
        "title, unit, headers, one row, a blank line, the sign-off"
    );
    assert!(rows[3].contains(&"是".to_owned()));

    // CSV: a BOM first, quoted cells where needed.
    let (status, headers, bytes) = get(format!("{base}/ledger_a?format=csv"), token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("序号,工作区,党支部,姓名,性别,"));
    assert!(text.contains("\"转入后未登记, \"\"待核\"\"\""), "{text}");

    // JSON, and the other registers.
    let json = |kind: &str| {
        let base = base.clone();
        let kind = kind.to_owned();
        async move {
            let (status, _, bytes) = get(format!("{base}/{kind}?format=json"), token).await;
            assert_eq!(status, StatusCode::OK, "{kind}");
            serde_json::from_slice::<paicha_domain::api::v1::LedgerTable>(&bytes).unwrap()
        }
    };
    let b = json("ledger_b").await;
    assert_eq!(b.rows.len(), 1);
    assert!(b.rows[0].contains(&"死亡".to_owned()));
    // What the 组织办 audits: the documents on file (counted, not their hashes), its decision
    // and when it audited.
    let at = |t: &paicha_domain::api::v1::LedgerTable, column: &str| {
        t.columns
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("{column} in {:?}", t.columns))
    };
    assert_eq!(b.rows[0][at(&b, "证明材料")], "已附1份");
    at(&b, "处理结果");
    at(&b, "审核日期");
    let a = json("ledger_a").await;
    for column in ["介绍信日期", "入党志愿书存放处", "审核日期"] {
        at(&a, column);
    }
    // The register of mobile members: where and why they went, dates the Chinese way; and the
    // status counts them by destination.
    let mobile = json("mobile_register").await;
    assert_eq!(mobile.title, "流动党员登记册");
    assert_eq!(mobile.rows.len(), 1);
    for value in ["朱二一", "2015年5月1日", "外出务工", "广东省深圳市", "是"] {
        assert!(
            mobile.rows[0].contains(&value.to_owned()),
            "{value}: {:?}",
            mobile.rows[0]
        );
    }
    assert_eq!(
        mobile.summaries[0].counts,
        vec![("广东省深圳市".to_owned(), 1)]
    );
    // In the workbook, on a sheet of its own.
    let (_, _, bytes) = get(format!("{base}/mobile_register"), token).await;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = workbook.worksheet_range("分类统计").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert!(
        cells
            .iter()
            .any(|r| r.len() >= 2 && r[0] == "广东省深圳市" && r[1] == "1"),
        "{cells:?}"
    );
    let status = t.admin.status(None).await.unwrap();
    assert_eq!(
        status.counts.mobile_by_destination.get("广东省深圳市"),
        Some(&1)
    );
    let roster = json("roster").await;
    assert_eq!(roster.rows.len(), 3);
    assert!(
        roster
            .rows
            .iter()
            .any(|r| r.contains(&"蒋十七".to_owned()) && r.contains(&"正式党员".to_owned()))
    );
    let found = json("found_register").await;
    assert_eq!(found.rows.len(), 1);
    assert_eq!(
        found.rows[0][3], "沈十八",
        "the member's name comes from the member record"
    );
    assert!(found.rows[0].contains(&"人际查找".to_owned()));
    assert_eq!(json("still_lost_register").await.rows.len(), 0);
    assert_eq!(json("lost_contact_register").await.rows.len(), 1);

    // The lost-contact register holds every lost member: one pending because lost with no case
    // yet, and a transferred member registered as lost, beside the member with a case.
    let (pending, transfer, transferred) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    t.secretary1
        .push(
            "p",
            vec![
                put(
                    20,
                    "members",
                    pending,
                    b1,
                    json!({"name": "秦二二", "roster_status": "pending_lost"}),
                ),
                put(22, "members", transferred, b1, json!({"name": "尤二三"})),
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
                transfer,
                t.street.id,
                json!({"branch_id": b1, "member_name": "尤二三"}),
            )],
        )
        .await
        .unwrap();
    let lost = t
        .secretary1
        .push(
            "p",
            vec![paicha_tests::patch(
                21,
                "transfers",
                transfer,
                None,
                json!({"receipt_status": "receiver_unreachable", "registered_lost": true, "member_id": transferred}),
            )],
        )
        .await
        .unwrap();
    assert!(lost.results[0].error.is_none(), "{:?}", lost.results);
    let register = json("lost_contact_register").await;
    let names: Vec<&str> = register.rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(register.rows.len(), 3, "{names:?}");
    for name in ["沈十八", "秦二二", "尤二三"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    // Beside the rows, the lost by how long and by how contact was lost (docs/domain.md §10.4).
    let by = |title: &str| -> Vec<(String, u64)> {
        register
            .summaries
            .iter()
            .find(|s| s.title == title)
            .unwrap_or_else(|| panic!("{title} in {:?}", register.summaries))
            .counts
            .clone()
    };
    let durations = by("按失联时长统计");
    assert_eq!(
        durations.iter().map(|(_, n)| n).sum::<u64>(),
        3,
        "{durations:?}"
    );
    let circumstances = by("按失去联系情形统计");
    assert_eq!(circumstances.iter().map(|(_, n)| n).sum::<u64>(), 3);
    let working_away = paicha_domain::collection::enum_label(
        paicha_domain::collection::Collection::ContactCases,
        "loss_circumstance",
        "working_away",
    )
    .unwrap();
    assert!(
        circumstances.contains(&(working_away.to_owned(), 1)),
        "{circumstances:?}"
    );
    let row = |name: &str| register.rows.iter().find(|r| r[3] == name).unwrap().clone();
    assert!(row("秦二二").contains(&"尚未开展查找".to_owned()));
    assert!(row("尤二三").iter().any(|c| c.contains("登记为失联")));
    assert_eq!(
        row("尤二三")[2],
        "a第一党支部",
        "under the branch it was addressed to"
    );

    // Mistakes and scope.
    assert_eq!(
        get(format!("{base}/ledger_c"), token).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(format!("{base}/roster?format=pdf"), token).await.0,
        StatusCode::BAD_REQUEST
    );
    let other = app.tenant("b").await;
    let (status, _, _) = get(
        format!("{base}/roster?org_unit_id={}", t.branch1.id),
        other.admin.access_token().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, bytes) = get(
        format!("{base}/roster?format=json"),
        t.secretary2.access_token().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let own: paicha_domain::api::v1::LedgerTable = serde_json::from_slice(&bytes).unwrap();
    assert!(
        own.rows.is_empty(),
        "a sibling branch exports nothing of branch 1"
    );
}

/// A transfer registered as lost opens one contact case for its member, once however often it
/// is written, and none when the branch already keeps a case open for the member.
#[tokio::test]
async fn registering_a_transfer_lost_opens_one_case_unless_one_is_open() {
    let app = spawn_app().await;
    let t = app.tenant("rl").await;
    let b1 = t.branch1.id;
    let (with_case, without, case) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                put(1, "members", with_case, b1, json!({"name": "韦二四"})),
                put(2, "members", without, b1, json!({"name": "昌二五"})),
                put(
                    3,
                    "contact_cases",
                    case,
                    b1,
                    json!({"member_id": with_case, "result": "searching"}),
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
    let (t1, t2) = (Uuid::now_v7(), Uuid::now_v7());
    for (i, (id, name)) in [(t1, "韦二四"), (t2, "昌二五")].into_iter().enumerate() {
        t.street_staff
            .push(
                "s",
                vec![put(
                    i as i64 + 1,
                    "transfers",
                    id,
                    t.street.id,
                    json!({"branch_id": b1, "member_name": name}),
                )],
            )
            .await
            .unwrap();
    }
    let lost = |n: i64, transfer: Uuid, member: Uuid| {
        paicha_tests::patch(
            n,
            "transfers",
            transfer,
            None,
            json!({"receipt_status": "receiver_unreachable", "registered_lost": true, "member_id": member}),
        )
    };
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                lost(4, t1, with_case),
                lost(5, t2, without),
                // Written again: still one case.
                paicha_tests::patch(
                    6,
                    "transfers",
                    t2,
                    None,
                    json!({"follow_up_note": "多次联系未果"}),
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
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let cases_of = |member: Uuid| {
        replica
            .records
            .iter()
            .filter(|((c, _), (_, f))| c == "contact_cases" && f["member_id"] == json!(member))
            .count()
    };
    assert_eq!(cases_of(with_case), 1, "the open case serves");
    assert_eq!(cases_of(without), 1, "one case opened");
}

/// A receipt that comes after the transfer was given up as unreachable (补办回执) is recorded;
/// the search the loss opened ends as found, with the day and why; the loss no longer counts
/// and leaves the 失联党员登记册; the transfer's history keeps the loss.
#[tokio::test]
async fn a_late_receipt_is_recorded_and_ends_the_search_the_loss_opened() {
    let app = spawn_app().await;
    let t = app.tenant("lr").await;
    let b1 = t.branch1.id;
    let (member, transfer) = (Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push(
            "p",
            vec![put(1, "members", member, b1, json!({"name": "韦二四"}))],
        )
        .await
        .unwrap();
    assert!(r.results[0].error.is_none(), "{:?}", r.results);
    t.street_staff
        .push(
            "s",
            vec![put(
                1,
                "transfers",
                transfer,
                t.street.id,
                json!({"branch_id": b1, "member_name": "韦二四"}),
            )],
        )
        .await
        .unwrap();
    let step = |n: i64, fields: serde_json::Value| {
        paicha_tests::patch(n, "transfers", transfer, None, fields)
    };
    let r = t
        .secretary1
        .push(
            "p",
            vec![step(
                2,
                json!({"receipt_status": "receiver_unreachable", "registered_lost": true, "member_id": member}),
            )],
        )
        .await
        .unwrap();
    assert!(r.results[0].error.is_none(), "{:?}", r.results);
    let lost_count =
        |status: &paicha_domain::api::v1::UnitStatus| status.counts.transfers_registered_lost;
    assert_eq!(lost_count(&t.admin.status(Some(b1)).await.unwrap()), 1);

    // The receipt comes in after all.
    let r = t
        .secretary1
        .push(
            "p",
            vec![step(
                3,
                json!({"receipt_status": "receipt_reissued", "receipt_on": "2026-12-01"}),
            )],
        )
        .await
        .unwrap();
    assert!(
        r.results[0].error.is_none(),
        "a late receipt is accepted: {:?}",
        r.results
    );

    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let cases: Vec<_> = replica
        .records
        .iter()
        .filter(|((c, _), (_, f))| c == "contact_cases" && f["member_id"] == json!(member))
        .map(|(_, (_, f))| f.clone())
        .collect();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["result"], json!("found"));
    assert_eq!(cases[0]["found_by"], json!("other"));
    assert_eq!(cases[0]["found_on"], json!("2026-12-01"));
    let remarks = cases[0]["remarks"].as_str().unwrap();
    assert!(
        remarks.contains("登记为失联") && remarks.contains("补办回执"),
        "the opening remark stays and the closing one is added: {remarks}"
    );
    assert_eq!(lost_count(&t.admin.status(Some(b1)).await.unwrap()), 0);

    // The lost register lists the member once, by the case, which says how it ended.
    let token = t.admin.access_token().unwrap();
    let (status, _, bytes) = get(
        format!(
            "{}/v1/ledgers/lost_contact_register?org_unit_id={b1}&format=json",
            app.base
        ),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let table: paicha_domain::api::v1::LedgerTable = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(table.rows.len(), 1, "{:?}", table.rows);
    let text = serde_json::to_string(&table.rows).unwrap();
    assert!(text.contains("补办回执"), "{text}");

    // The transfer's history keeps the loss.
    let audit = t.admin.audit("transfers", transfer).await.unwrap();
    let statuses: Vec<_> = audit
        .entries
        .iter()
        .filter_map(|e| e.changes.get("receipt_status").map(|c| c[1].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![json!("receiver_unreachable"), json!("receipt_reissued")]
    );
}

#[tokio::test]
async fn csv_cells_never_become_formulas_and_the_workbook_keeps_the_text() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let name = r#"=HYPERLINK("http://x","y")"#;
    let r = t
        .secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": name, "gender": "male"}),
            )],
        )
        .await
        .unwrap();
    assert!(r.results[0].error.is_none(), "{:?}", r.results);
    let token = t.admin.access_token().unwrap();
    let base = format!(
        "{}/v1/ledgers/roster?org_unit_id={}",
        app.base, t.branch1.id
    );

    let (status, headers, bytes) = get(format!("{base}&format=csv"), token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    // A leading apostrophe, inside the quotes its commas need.
    assert!(
        text.contains(r#""'=HYPERLINK(""http://x"",""y"")""#),
        "{text}"
    );
    for line in text.lines() {
        for start in [",=", ",\"=", ",+", ",@"] {
            assert!(!line.contains(start), "a formula cell: {line}");
        }
    }

    // The workbook holds the name as typed text, unchanged.
    let (status, headers, bytes) = get(base.clone(), token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = workbook.sheet_names()[0].clone();
    let range = workbook.worksheet_range(&sheet).unwrap();
    assert!(
        range
            .rows()
            .any(|row| row.iter().any(|c| *c == Data::String(name.to_owned()))),
        "the name is not a text cell"
    );
    let formulas = workbook.worksheet_formula(&sheet).unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "the workbook holds a formula"
    );
}

#[tokio::test]
async fn api_answers_and_exports_are_not_to_be_stored() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.admin.access_token().unwrap();
    for path in [
        "/v1/org-units".to_owned(),
        "/v1/users".to_owned(),
        format!("/v1/members?org_unit_id={}", t.committee.id),
        format!(
            "/v1/ledgers/roster?org_unit_id={}&format=json",
            t.committee.id
        ),
        format!(
            "/v1/ledgers/roster?org_unit_id={}&format=csv",
            t.committee.id
        ),
        "/v1/sync/pull".to_owned(),
        // Errors too: a bad query, an unknown route under /v1.
        "/v1/ledgers/roster?format=pdf".to_owned(),
        "/v1/no-such-route".to_owned(),
    ] {
        let (status, headers, _) = get(format!("{}{path}", app.base), token).await;
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path} ({status})"
        );
    }
    // Signing in (its answer holds the tokens) and a refused sign-in.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"username": paicha_tests::ADMIN_USER, "password": paicha_tests::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    // The schema keeps its own (it is revalidated by ETag), and so do the web pages.
    let (_, headers, _) = get(format!("{}/v1/schema", app.base), token).await;
    assert_eq!(headers["cache-control"], "private, no-cache");
    let (_, headers, _) = get(format!("{}/", app.base), token).await;
    assert_ne!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
}

/// The named part of a workbook (an xlsx is a zip of XML parts), as text.
fn workbook_part(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut part = zip.by_name(name).unwrap();
    let mut text = String::new();
    part.read_to_string(&mut text).unwrap();
    text
}

/// A register comes out of Excel ready to print and file: A4, landscape when wide, one page
/// wide, the title and headers repeated on every page and frozen on screen, the title across
/// the table, 序号 and 失联月数 as numbers, dates as dates.
#[tokio::test]
async fn registers_open_ready_to_print_with_numbers_and_dates_typed() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let b1 = t.branch1.id;
    let (m, case) = (Uuid::now_v7(), Uuid::now_v7());
    // A campaign, so a case gets its months without contact at the start.
    let start = paicha_domain::calendar::china_date(chrono::Utc::now()) - chrono::Days::new(3);
    let campaign = json!({"name": "集中排查", "start_date": start.to_string()});
    let pushes = [
        (
            &t.admin,
            put(1, "campaigns", Uuid::now_v7(), t.committee.id, campaign),
        ),
        (
            &t.secretary1,
            put(
                1,
                "members",
                m,
                b1,
                json!({"name": "秦二二", "gender": "male", "birth_date": "1970-02-03", "last_activity_on": "2014-06-30", "last_dues_paid_on": "2014-06-30", "whereabouts_known": false}),
            ),
        ),
        (
            &t.secretary1,
            put(
                2,
                "contact_cases",
                case,
                b1,
                json!({"member_id": m, "result": "searching", "last_activity_on": "2014-06-30"}),
            ),
        ),
    ];
    for (client, mutation) in pushes {
        let r = client.push("p", vec![mutation]).await.unwrap();
        assert!(
            r.results.iter().all(|r| r.error.is_none()),
            "{:?}",
            r.results
        );
    }
    let token = t.admin.access_token().unwrap();
    let base = format!("{}/v1/ledgers", app.base);

    let (status, _, bytes) = get(format!("{base}/lost_contact_register?format=xlsx"), token).await;
    assert_eq!(status, StatusCode::OK);
    let sheet = workbook_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<pageSetUpPr fitToPage="1"/>"#), "{sheet}");
    assert!(sheet.contains(r#"paperSize="9""#), "A4: {sheet}");
    assert!(sheet.contains(r#"orientation="landscape""#), "{sheet}");
    assert!(
        sheet.contains(r#"fitToHeight="0""#),
        "one page wide, as long as it takes"
    );
    assert!(sheet.contains(r#"ySplit="3""#) && sheet.contains(r#"state="frozen""#));
    let columns = paicha_domain::ledger::LedgerKind::LostContactRegister
        .columns()
        .len();
    let last = char::from(b'A' + u8::try_from(columns - 1).unwrap());
    assert!(
        sheet.contains(&format!(r#"<mergeCell ref="A1:{last}1"/>"#)),
        "the title across the table"
    );
    assert!(
        sheet.contains("&amp;P") && sheet.contains("&amp;N"),
        "page numbers in the footer"
    );
    let book = workbook_part(&bytes, "xl/workbook.xml");
    assert!(
        book.contains("_xlnm.Print_Titles") && book.contains("$1:$3"),
        "{book}"
    );

    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range("失联党员登记册").unwrap();
    let headers: Vec<String> = range
        .rows()
        .nth(2)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let row = range.rows().nth(3).unwrap();
    let at = |h: &str| &row[headers.iter().position(|x| x == h).unwrap()];
    assert_eq!(at("序号"), &Data::Float(1.0));
    assert!(
        matches!(at("失联月数（排查开始时）"), Data::Float(n) if *n >= 6.0),
        "{:?}",
        at("失联月数（排查开始时）")
    );
    match at("最后参加组织生活日期") {
        // Excel counts days from 1899-12-30.
        Data::DateTime(d) => assert_eq!(
            d.as_f64(),
            (chrono::NaiveDate::from_ymd_opt(2014, 6, 30).unwrap()
                - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
            .num_days() as f64
        ),
        other => panic!("a date cell, not {other:?}"),
    }
    assert_eq!(at("姓名"), &Data::String("秦二二".into()));

    // Every register's page is set up, landscape exactly when it is wide (today every register
    // has more than 8 columns). Each workbook is kept beside the screenshots, to print to PDF
    // and look at (`soffice --convert-to pdf`).
    let keep = paicha_tests::browser::screenshot_dir().join("registers");
    std::fs::create_dir_all(&keep).unwrap();
    for kind in paicha_domain::ledger::LedgerKind::ALL {
        let (_, _, bytes) = get(format!("{base}/{}?format=xlsx", kind.as_str()), token).await;
        std::fs::write(keep.join(format!("{}.xlsx", kind.as_str())), &bytes).unwrap();
        let sheet = workbook_part(&bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains(r#"paperSize="9""#), "{kind:?}");
        assert_eq!(
            sheet.contains(r#"orientation="landscape""#),
            kind.is_wide(),
            "{kind:?}"
        );
    }
}
