//! A register over members longer than a page of the export (1,000 records): every format
//! holds every row once, in the register's order (by 工作区 then 党支部 name, within one in the
//! order the members came), numbered on across pages, masked for a masked role on every page.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::{put, roster, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn get(url: String, token: &str) -> (StatusCode, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_register_longer_than_a_page_comes_out_whole_and_in_order() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    // A branch straight under the committee (no 工作区), with its secretary.
    let direct = t
        .admin
        .create_org_unit(&paicha_tests::unit(
            Some(t.committee.id),
            OrgUnitKind::Branch,
            "a直属党支部",
        ))
        .await
        .unwrap();
    t.admin
        .create_user(&paicha_tests::new_user(
            "a-sec3",
            Role::BranchSecretary,
            Some(direct.id),
        ))
        .await
        .unwrap();
    let (secretary3, _) = app
        .client
        .signed_in("a-sec3", paicha_tests::PASSWORD)
        .await
        .unwrap();
    let secretary = |unit: Uuid| {
        if unit == t.branch1.id {
            &t.secretary1
        } else if unit == t.branch2.id {
            &t.secretary2
        } else {
            &secretary3
        }
    };
    // Where each member goes, in the order pushed: two in branch 2 first, two in the direct
    // branch, then 1,205 in branch 1, then one more in branch 2.
    let mut placed: Vec<(Uuid, String)> = Vec::new();
    let units = [
        (t.branch2.id, 2),
        (direct.id, 2),
        (t.branch1.id, 1205),
        (t.branch2.id, 1),
    ];
    let mut n = 0;
    for (unit, count) in units {
        for _ in 0..count {
            placed.push((unit, format!("序{n:04}")));
            n += 1;
        }
    }
    // Every 100th away (流动党员): the mobile register selects them.
    let away = |name: &str| name.ends_with("00");
    // Pushed in runs of one unit, at most 400 a push, in that order.
    let mut at = 0;
    while at < placed.len() {
        let unit = placed[at].0;
        let run = placed[at..]
            .iter()
            .take(400)
            .take_while(|(u, _)| *u == unit)
            .count();
        let mutations = placed[at..at + run]
            .iter()
            .enumerate()
            .map(|(i, (unit, name))| {
                let mut fields = roster::member(at + i);
                fields["name"] = json!(name);
                if away(name) {
                    fields["contact_status"] = json!("mobile");
                }
                put(
                    (at + i + 1) as i64,
                    "members",
                    Uuid::now_v7(),
                    *unit,
                    fields,
                )
            })
            .collect();
        let r = secretary(unit).push("load", mutations).await.unwrap();
        assert!(
            r.results.iter().all(|r| r.error.is_none()),
            "{:?}",
            r.results.iter().find(|r| r.error.is_some())
        );
        at += run;
    }
    // The register's order: the direct branch (no 工作区), then under 第一工作区 its
    // 第一党支部 and 第二党支部 — each in the order pushed.
    let of = |unit: Uuid| {
        placed
            .iter()
            .filter(move |(u, _)| *u == unit)
            .map(|(_, name)| name.clone())
    };
    let expected: Vec<String> = of(direct.id)
        .chain(of(t.branch1.id))
        .chain(of(t.branch2.id))
        .collect();
    assert_eq!(expected.len(), 1210);

    let base = format!(
        "{}/v1/ledgers/roster?org_unit_id={}",
        app.base, t.committee.id
    );
    let token = t.admin.access_token().unwrap();

    // JSON: the names in order, 序号 1 to n, 党支部 and 工作区 as grouped.
    let (status, bytes) = get(format!("{base}&format=json"), token).await;
    assert_eq!(status, StatusCode::OK);
    let table: Value = serde_json::from_slice(&bytes).unwrap();
    let rows = table["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r[3].as_str().unwrap()).collect();
    assert_eq!(names, expected);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], json!((i + 1).to_string()));
    }
    assert_eq!(rows[1][1], json!(""));
    assert_eq!(rows[1][2], json!("a直属党支部"));
    assert_eq!(rows[2][1], json!("a第一工作区"));
    assert_eq!(rows[2][2], json!("a第一党支部"));
    assert_eq!(rows[1206][2], json!("a第一党支部"));
    assert_eq!(rows[1207][2], json!("a第二党支部"));
    let id_at = 7;
    assert_eq!(table["columns"][id_at], json!("公民身份号码"));
    assert_eq!(
        rows[1000][id_at].as_str().unwrap().len(),
        18,
        "stored whole: {}",
        rows[1000][id_at]
    );

    // CSV: the same rows, the same order.
    let (status, bytes) = get(format!("{base}&format=csv"), token).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text
        .trim_start_matches('\u{FEFF}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), expected.len() + 1);
    for (line, name) in lines[1..].iter().zip(&expected) {
        assert_eq!(line.split(',').nth(3), Some(name.as_str()), "{line}");
    }

    // The workbook: title, unit and date, headers, the rows, a blank line, the sign-off.
    let (status, bytes) = get(base.clone(), token).await;
    assert_eq!(status, StatusCode::OK);
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range("党员花名册").unwrap();
    let sheet: Vec<&[Data]> = range.rows().collect();
    assert_eq!(sheet.len(), 3 + expected.len() + 2);
    for (i, name) in expected.iter().enumerate() {
        assert_eq!(sheet[3 + i][0], Data::Float((i + 1) as f64));
        assert_eq!(sheet[3 + i][3], Data::String(name.clone()));
    }
    assert!(
        sheet[sheet.len() - 1][0]
            .to_string()
            .starts_with("填报单位：a党工委")
    );

    // The mobile register over the same pages: only those away, in the same order.
    let (status, bytes) = get(
        format!(
            "{}/v1/ledgers/mobile_register?org_unit_id={}&format=json",
            app.base, t.committee.id
        ),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let table: Value = serde_json::from_slice(&bytes).unwrap();
    let names: Vec<&str> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_str().unwrap())
        .collect();
    let away_expected: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|n| away(n))
        .collect();
    assert_eq!(names, away_expected);
    let counted: u64 = table["summaries"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[1].as_u64().unwrap())
        .sum();
    assert_eq!(
        counted,
        away_expected.len() as u64,
        "{}",
        table["summaries"]
    );

    // A masked role (the street reads its work area's register, 1,208 members): every ID number masked, on
    // every page, in every format.
    let street = t.street_staff.access_token().unwrap();
    let street_base = format!(
        "{}/v1/ledgers/roster?org_unit_id={}",
        app.base, t.work_area.id
    );
    let (status, bytes) = get(format!("{street_base}&format=json"), street).await;
    assert_eq!(status, StatusCode::OK);
    let table: Value = serde_json::from_slice(&bytes).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1208, "all but the direct branch's");
    for row in rows {
        let id = row[id_at].as_str().unwrap();
        assert!(id.contains("************"), "{id}");
    }
    let (_, bytes) = get(format!("{street_base}&format=csv"), street).await;
    let text = String::from_utf8(bytes).unwrap();
    for line in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let id = line.split(',').nth(id_at).unwrap();
        assert!(id.contains("************"), "{line}");
    }
    let (_, bytes) = get(street_base, street).await;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range("党员花名册").unwrap();
    let ids: Vec<String> = range
        .rows()
        .skip(3)
        .take(1208)
        .map(|r| r[id_at].to_string())
        .collect();
    assert!(ids.iter().all(|id| id.contains("************")), "{ids:?}");
}
