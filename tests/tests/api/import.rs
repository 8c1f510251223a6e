//! `POST /v1/import/roster`: a 花名册 workbook the test writes, imported whole or refused whole.

use paicha_tests::{Replica, id_number, spawn_app};
use reqwest::StatusCode;

fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .write_string(0, 0, "东关社区党支部党员花名册")
        .unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(
    base: &str,
    token: &str,
    branch: uuid::Uuid,
    bytes: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/import/roster?org_unit_id={branch}"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_roster_is_imported_whole_idempotently_or_refused_whole() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.secretary1.access_token().unwrap();
    let (id1, id2, id3) = (
        id_number("19800102", 11),
        id_number("19751230", 22),
        id_number("19600315", 31),
    );
    let header = vec![
        "序号",
        "姓名",
        "性别",
        "出生日期",
        "公民身份号码",
        "人员类别",
        "入党日期",
        "联系电话",
    ];
    let good = vec![
        header.clone(),
        vec![
            "1",
            "张一",
            "男",
            "1980/1/2",
            id1.as_str(),
            "正式党员",
            "2001年7月1日",
            "13900000001",
        ],
        vec![
            "2",
            "李二",
            "女",
            "1975-12-30",
            id2.as_str(),
            "预备党员",
            "",
            "",
        ],
        vec![
            "3",
            "王三",
            "男",
            "",
            id3.as_str(),
            "正式党员",
            "1985.05.04",
            "",
        ],
    ];
    let (status, body) = upload(&app.base, token, t.branch1.id, workbook(&good)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"created": 3, "updated": 0, "unchanged": 0, "conflicts": 0, "readdressed": 0, "withdrawn": 0})
    );
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert_eq!(replica.records.len(), 3);
    let zhang = replica
        .records
        .values()
        .find(|(_, f)| f["name"] == "张一")
        .unwrap();
    assert_eq!(zhang.1["gender"], "male");
    assert_eq!(zhang.1["birth_date"], "1980-01-02");
    assert_eq!(zhang.1["join_date"], "2001-07-01");
    assert_eq!(zhang.1["member_type"], "full");

    // Again: nothing changes. With one phone changed: one update.
    let (_, body) = upload(&app.base, token, t.branch1.id, workbook(&good)).await;
    assert_eq!(
        body,
        serde_json::json!({"created": 0, "updated": 0, "unchanged": 3, "conflicts": 0, "readdressed": 0, "withdrawn": 0})
    );
    let mut changed = good.clone();
    changed[1][7] = "13900000009";
    let (_, body) = upload(&app.base, token, t.branch1.id, workbook(&changed)).await;
    assert_eq!(
        body,
        serde_json::json!({"created": 0, "updated": 1, "unchanged": 2, "conflicts": 0, "readdressed": 0, "withdrawn": 0})
    );

    // A bad file: every problem with its row and column, and nothing written.
    let mut broken_id = id_number("19900101", 41);
    broken_id.pop();
    broken_id.push(if id_number("19900101", 41).ends_with('0') {
        '1'
    } else {
        '0'
    });
    let (id5, id6) = (id_number("19900228", 51), id_number("19910101", 61));
    let bad = vec![
        header.clone(),
        vec!["1", "赵四", "男", "", broken_id.as_str(), "", "", ""],
        vec!["2", "钱五", "男", "", id1.as_str(), "", "", ""],
        vec!["3", "孙六", "男", "", id1.as_str(), "", "", ""],
        vec!["4", "周七", "男", "", "", "", "", ""],
        vec!["5", "吴八", "男", "1990-02-30", id5.as_str(), "", "", ""],
        vec!["6", "郑九", "未知", "", id6.as_str(), "", "", ""],
    ];
    let (status, body) = upload(&app.base, token, t.branch1.id, workbook(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_roster");
    let problems: Vec<(u64, String, String)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap_or("").to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, String)> = vec![
        (3, "公民身份号码".into(), "id_number_check_digit".into()),
        (5, "公民身份号码".into(), "duplicate_id_number".into()),
        (6, "公民身份号码".into(), "required_field".into()),
        (7, "出生日期".into(), "invalid_field_value".into()),
        (8, "性别".into(), "invalid_enum_value".into()),
    ];
    assert_eq!(problems, expected);
    let mut after = Replica::default();
    after.sync(&t.secretary1).await.unwrap();
    assert_eq!(after.records.len(), 3, "a refused file writes nothing");

    // CSV with a BOM works too; the committee may not import; only branches take a roster.
    let csv = format!(
        "\u{FEFF}姓名,性别,公民身份号码\r\n陈十,女,{}\r\n",
        id_number("19880808", 72)
    );
    let (status, body) = upload(&app.base, token, t.branch1.id, csv.into_bytes()).await;
    assert_eq!(
        (status, body["created"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (status, _) = upload(
        &app.base,
        t.admin.access_token().unwrap(),
        t.branch1.id,
        workbook(&good),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(&app.base, token, t.branch2.id, workbook(&good)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = upload(
        &app.base,
        token,
        t.branch1.id,
        b"not a spreadsheet".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["problems"][0]["code"], "no_header_row");
}

#[tokio::test]
async fn the_same_roster_sent_twice_at_once_creates_each_member_once() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.secretary1.access_token().unwrap();
    let ids: Vec<String> = (1..=20).map(|i| id_number("19700101", i * 2 + 1)).collect();
    let mut rows = vec![vec!["姓名", "公民身份号码"]];
    let names: Vec<String> = (1..=20).map(|i| format!("党员{i}")).collect();
    for (name, id) in names.iter().zip(&ids) {
        rows.push(vec![name.as_str(), id.as_str()]);
    }
    let bytes = workbook(&rows);
    let (a, b) = tokio::join!(
        upload(&app.base, token, t.branch1.id, bytes.clone()),
        upload(&app.base, token, t.branch1.id, bytes),
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    // One of them created the twenty; the other found them there.
    let created = |r: &(StatusCode, serde_json::Value)| r.1["created"].as_u64().unwrap();
    let unchanged = |r: &(StatusCode, serde_json::Value)| r.1["unchanged"].as_u64().unwrap();
    assert_eq!(created(&a) + created(&b), 20, "{a:?} {b:?}");
    assert_eq!(unchanged(&a) + unchanged(&b), 20, "{a:?} {b:?}");
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let members = replica
        .records
        .keys()
        .filter(|(c, _)| c == "members")
        .count();
    assert_eq!(members, 20);
}

/// A workbook of two cells, `A1` and `XFD1048576` (a dense grid of 1.7·10¹⁰ cells: it aborted
/// the server), whether its sheet declares that dimension or lies about it; a zip bomb (a
/// 2 GiB shared-string table in 2 MB); a CSV with a 4 MB line: each is refused with
/// `unreadable_file`, nothing is written, and the server goes on answering.
#[tokio::test]
async fn hostile_files_are_refused_as_unreadable_and_the_server_keeps_answering() {
    use paicha_tests::hostile;

    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.secretary1.access_token().unwrap();
    let files = [
        ("last cell, declared", hostile::last_cell_xlsx(true)),
        ("last cell, dimension lies", hostile::last_cell_xlsx(false)),
        ("zip bomb", hostile::shared_strings_bomb_xlsx()),
        ("4 MB line", hostile::long_line_csv()),
    ];
    assert!(files[0].1.len() < 2048, "{}", files[0].1.len());
    // The same hand-made workbook without the far cell is a readable (empty) roster.
    let (status, body) = upload(&app.base, token, t.branch1.id, hostile::headers_only_xlsx()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (what, bytes) in files {
        let (status, body) = upload(&app.base, token, t.branch1.id, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(body["error"]["code"], "invalid_roster", "{what}: {body}");
        let problems = body["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{what}: {body}");
        assert_eq!(problems[0]["code"], "unreadable_file", "{what}: {body}");
        let message = problems[0]["message"].as_str().unwrap();
        assert!(
            message.contains("上限") || message.contains("超过"),
            "{what}: {body}"
        );
        // Still answering.
        let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
        assert!(health.status().is_success(), "{what}");
    }
    // Nothing was written.
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    assert!(
        !replica.records.keys().any(|(c, _)| c == "members"),
        "{:?}",
        replica.records
    );
}

/// A file just inside the bounds still imports: the last column and row a roster may use.
#[tokio::test]
async fn a_csv_at_the_bounds_is_read() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.secretary1.access_token().unwrap();
    let id = id_number("19800102", 11);
    let mut header = vec!["姓名".to_owned(), "公民身份号码".to_owned()];
    header.resize(200, String::new());
    let mut row = vec!["张一".to_owned(), id.clone()];
    row.resize(199, String::new());
    row.push("在第200列".to_owned());
    let csv = format!("{}\n{}\n", header.join(","), row.join(","));
    let (status, body) = upload(&app.base, token, t.branch1.id, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 1, "{body}");
    // One column more is refused.
    let mut wide = vec!["张一".to_owned(), id];
    wide.resize(201, "x".to_owned());
    let csv = format!("{}\n{}\n", header.join(","), wide.join(","));
    let (status, body) = upload(&app.base, token, t.branch1.id, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["code"], "unreadable_file", "{body}");
}

/// Two instances on one database import the same roster at the same moment: the unit's
/// import lease (a row in the database, not a process mutex) makes them take turns, so each
/// member is created once. (Both instances live in this test's process; separate processes,
/// which share nothing but the database, are the binary test
/// `imports_by_two_processes_and_the_server_at_once_create_each_member_once`.)
#[tokio::test]
async fn the_same_roster_imported_through_two_instances_at_once_creates_each_member_once() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let other = app.second_instance().await;
    let token = t.secretary1.access_token().unwrap();
    let ids: Vec<String> = (1..=200)
        .map(|i| id_number(&format!("1970{:02}{:02}", i % 12 + 1, i % 28 + 1), i))
        .collect();
    let names: Vec<String> = (1..=200).map(|i| format!("党员{i}")).collect();
    let mut rows = vec![vec!["姓名", "公民身份号码"]];
    for (name, id) in names.iter().zip(&ids) {
        rows.push(vec![name.as_str(), id.as_str()]);
    }
    let bytes = workbook(&rows);
    let (a, b) = tokio::join!(
        upload(&app.base, token, t.branch1.id, bytes.clone()),
        upload(other.client.base_url(), token, t.branch1.id, bytes),
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    let created = |r: &(StatusCode, serde_json::Value)| r.1["created"].as_u64().unwrap();
    assert_eq!(created(&a) + created(&b), 200, "{a:?} {b:?}");
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let members = replica
        .records
        .keys()
        .filter(|(c, _)| c == "members")
        .count();
    assert_eq!(members, 200);
}

/// A roster is imported; on a device the secretary corrects one member's phone; the office
/// re-imports its (old) file, which also fills in another field. The device's correction is
/// not lost silently: the import reports one conflict and the conflict log holds the device's
/// value, while the field nobody edited is updated without a conflict. A third import of the
/// same file changes nothing.
#[tokio::test]
async fn a_re_import_over_a_device_edit_leaves_a_conflict_for_review() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let token = t.secretary1.access_token().unwrap();
    let id = id_number("19800102", 11);
    let header = vec!["姓名", "公民身份号码", "联系电话", "工作单位"];
    let first = vec![header.clone(), vec!["张一", id.as_str(), "13900000001", ""]];
    let (status, body) = upload(&app.base, token, t.branch1.id, workbook(&first)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 1, "{body}");

    // The device pulls the member and corrects the phone.
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let (member, version) = replica
        .records
        .iter()
        .find(|((c, _), _)| c == "members")
        .map(|((_, m), (v, _))| (*m, *v))
        .unwrap();
    let pushed = t
        .secretary1
        .push(
            "phone-1",
            vec![paicha_tests::patch(
                1,
                "members",
                member,
                Some(version),
                serde_json::json!({"phone": "13900000009"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        pushed.results[0].status,
        paicha_domain::api::v1::MutationStatus::Applied
    );

    // The office re-imports its file, now with the work unit filled in.
    let second = vec![
        header.clone(),
        vec!["张一", id.as_str(), "13900000001", "东关街道办事处"],
    ];
    let (status, body) = upload(&app.base, token, t.branch1.id, workbook(&second)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"], 1, "{body}");
    assert_eq!(body["conflicts"], 1, "{body}");
    let conflicts = t
        .secretary1
        .conflicts(Some(("members", member)), true)
        .await
        .unwrap()
        .conflicts;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].field, "phone");
    assert_eq!(
        conflicts[0].overwritten_value,
        serde_json::json!("13900000009")
    );
    assert_eq!(conflicts[0].winning_value, serde_json::json!("13900000001"));

    // Importing the same file again: nothing changes, no new conflict.
    let (status, body) = upload(&app.base, token, t.branch1.id, workbook(&second)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["unchanged"], &body["conflicts"]),
        (&serde_json::json!(1), &serde_json::json!(0)),
        "{body}"
    );
    // A later file that changes the (imported) phone again is no conflict: the import wrote it.
    let third = vec![
        header,
        vec!["张一", id.as_str(), "13900000002", "东关街道办事处"],
    ];
    let (_, body) = upload(&app.base, token, t.branch1.id, workbook(&third)).await;
    assert_eq!(
        (&body["updated"], &body["conflicts"]),
        (&serde_json::json!(1), &serde_json::json!(0)),
        "{body}"
    );
}

#[tokio::test]
async fn an_id_number_already_registered_in_another_branch_refuses_its_row() {
    let app = spawn_app().await;
    let t = app.tenant("u").await;
    let taken = id_number("19450505", 31);
    let pushed = t
        .secretary1
        .push(
            "phone",
            vec![paicha_tests::put(
                1,
                "members",
                uuid::Uuid::now_v7(),
                t.branch1.id,
                serde_json::json!({"name": "赵一", "id_number": taken}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        pushed.results[0].status,
        paicha_domain::api::v1::MutationStatus::Applied
    );
    // Branch 2's roster names the same person on its row 3: the whole file is refused, with
    // the reason at that row.
    let csv = format!(
        "\u{FEFF}姓名,公民身份号码\r\n钱二,{}\r\n赵一,{taken}\r\n",
        id_number("19500505", 33)
    );
    let token = t.secretary2.access_token().unwrap();
    let (status, body) = upload(&app.base, token, t.branch2.id, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["problems"][0]["row"], 3);
    assert_eq!(body["problems"][0]["column"], "公民身份号码");
    assert_eq!(body["problems"][0]["code"], "id_number_taken");
    assert_eq!(
        t.admin
            .status(Some(t.branch2.id))
            .await
            .unwrap()
            .counts
            .members_total,
        0
    );
}

#[tokio::test]
async fn a_fifteen_digit_id_number_imports_and_syncs_as_eighteen_marked_for_confirmation() {
    let app = spawn_app().await;
    let t = app.tenant("v").await;
    let csv = "\u{FEFF}姓名,公民身份号码\r\n老党员,110105491231002\r\n";
    let token = t.secretary1.access_token().unwrap();
    let (status, body) = upload(&app.base, token, t.branch1.id, csv.as_bytes().to_vec()).await;
    assert_eq!(
        (status, body["created"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );
    // A phone pulls the member with the 18-character number, what was entered, and the mark.
    let mut replica = Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let (_, fields) = replica
        .records
        .iter()
        .find(|((c, _), _)| c == "members")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(fields["id_number"], "11010519491231002X");
    assert_eq!(fields["id_number_entered"], "110105491231002");
    assert_eq!(fields["id_number_to_confirm"], true);
    assert_eq!(fields["name"], "老党员");
    // Importing the same person by the 18-character number matches the member: nothing new.
    let csv = "\u{FEFF}姓名,公民身份号码\r\n老党员,11010519491231002X\r\n";
    let (status, body) = upload(&app.base, token, t.branch1.id, csv.as_bytes().to_vec()).await;
    assert_eq!(
        (status, body["created"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{body}"
    );
    // The branch confirms the number: it clears the mark.
    let id = replica
        .records
        .keys()
        .find(|(c, _)| c == "members")
        .map(|(_, id)| *id)
        .unwrap();
    let pushed = t
        .secretary1
        .push(
            "phone",
            vec![paicha_tests::patch(
                1,
                "members",
                id,
                None,
                serde_json::json!({"id_number_to_confirm": false}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        pushed.results[0].status,
        paicha_domain::api::v1::MutationStatus::Applied
    );
}
