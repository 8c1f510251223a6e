//! Personal data by role (docs/protocol.md §3.7): the role × path matrix. A tenant holds
//! members, register entries, a transfer, conflicts and audit entries whose 公民身份号码 are
//! all known, and phones, addresses and photos (a signature, a scan) likewise; every role walks
//! every read path, and the raw bytes of every answer (an xlsx read back cell by cell) are
//! searched for each full value (a phone typed into remarks too). A masked role (street,
//! viewer) must never receive one, nor download a blob; a role that reads personal data whole
//! must receive those of its scope, so the test cannot pass by masking everyone. A masked
//! number sent back is refused.

use std::collections::BTreeSet;
use std::io::Cursor;

use calamine::{Reader, Xlsx};
use paicha_domain::api::v1::MutationStatus;
use paicha_domain::id_number::IdNumber;
use paicha_domain::ledger::LedgerKind;
use paicha_domain::privacy;
use paicha_domain::role::Role;
use paicha_tests::{PASSWORD, id_number, new_user, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A small JPEG-signed blob and its hash.
fn jpeg(seed: u8) -> (String, Vec<u8>) {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..500u32).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed)));
    let hash = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (hash, bytes)
}

/// A GET's status and body.
async fn get(url: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(!status.is_server_error(), "{url}: {status}");
    (status, resp.bytes().await.unwrap().to_vec())
}

/// Every cell of every sheet of a workbook, as text.
fn xlsx_text(bytes: &[u8]) -> String {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an xlsx");
    let mut out = String::new();
    for (_, range) in book.worksheets() {
        for row in range.rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

fn applied(r: &paicha_domain::api::v1::PushResponse) {
    for x in &r.results {
        assert!(
            matches!(x.status, MutationStatus::Applied | MutationStatus::Merged),
            "{x:?}"
        );
    }
}

/// What one caller received over all read paths: (path, answer text).
struct Seen(Vec<(String, String)>);

impl Seen {
    fn holding(&self, needle: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, text)| text.contains(needle))
            .map(|(path, _)| path.as_str())
            .collect()
    }
}

#[tokio::test]
async fn no_full_id_number_reaches_a_masked_role_on_any_path() {
    let app = spawn_app().await;
    let t = app.tenant("p").await;
    let (b1, b2) = (t.branch1.id, t.branch2.id);

    // ---- The numbers: each written once somewhere, all distinct. ----
    let n = |seq: u32| id_number("19600101", seq);
    let (n_m1, n_m1_first, n_m1_second) = (n(1), n(3), n(5));
    let (n_found, n_mobile, n_searching, n_lost) = (n(7), n(9), n(11), n(13));
    let (n_ledger_a, n_ledger_b, n_branch2) = (n(15), n(17), n(19));
    let (n_transfer, n_transfer_admin, n_transfer_street) = (n(21), n(23), n(25));
    let n_import = n(27);
    let legacy = "110105520101123";
    let legacy_18 = IdNumber::from_legacy(legacy).unwrap().as_str().to_owned();

    // ---- Branch 1: members in every register, entries of ledgers A and B. ----
    // Phones, addresses and images, each written once, all distinct.
    let (phone_m1, phone_lost, phone_entry, phone_case) =
        ("13912340001", "13912340005", "13912340015", "13712340009");
    let (home_m1, household_lost, home_entry, former_case) = (
        "北京市朝阳区幸福里1号楼",
        "河北省保定市清苑区东闾村",
        "北京市海淀区花园路15号",
        "上海市徐汇区漕溪北路2号",
    );
    let relatives_case = format!("父亲李某，电话{phone_case}");
    let [
        (photo, photo_bytes),
        (signature, signature_bytes),
        (scan, scan_bytes),
    ] = [jpeg(1), jpeg(2), jpeg(3)];
    let [
        m1,
        m_found,
        m_mobile,
        m_searching,
        m_lost,
        m_legacy,
        m_b2,
        form,
    ] = std::array::from_fn(|_| Uuid::now_v7());
    let [
        case_found,
        case_searching,
        case_b2,
        entry_a,
        entry_b,
        transfer,
    ] = std::array::from_fn(|_| Uuid::now_v7());
    applied(
        &t.secretary1
            .push("s1", vec![
                put(1, "members", m1, b1, json!({"name": "甲一", "id_number": n_m1, "phone": phone_m1, "residence": home_m1, "remarks": "家属电话13612340077"})),
                put(2, "members", m_found, b1, json!({"name": "乙二", "id_number": n_found})),
                put(3, "members", m_mobile, b1, json!({"name": "丙三", "id_number": n_mobile, "contact_status": "mobile", "flow_out_on": "2015-05-01", "flow_destination": "广东省深圳市"})),
                put(4, "members", m_searching, b1, json!({"name": "丁四", "id_number": n_searching})),
                put(5, "members", m_lost, b1, json!({"name": "戊五", "id_number": n_lost, "contact_status": "lost", "phone": phone_lost, "household_registration": household_lost})),
                put(6, "members", m_legacy, b1, json!({"name": "己六", "id_number": legacy})),
                put(7, "contact_cases", case_found, b1, json!({"member_id": m_found, "result": "searching"})),
                put(8, "contact_cases", case_searching, b1, json!({"member_id": m_searching, "result": "searching", "former_addresses": former_case, "relatives": relatives_case})),
                put(9, "roster_ledger_entries", entry_a, b1, json!({"ledger": "ledger_a", "name": "庚七", "id_number": n_ledger_a, "phone": phone_entry, "residence": home_entry, "evidence": [scan]})),
                put(10, "roster_ledger_entries", entry_b, b1, json!({"ledger": "ledger_b", "name": "辛八", "id_number": n_ledger_b, "surplus_reason": "deceased"})),
                put(12, "info_forms", form, b1, json!({"member_id": m1, "confirmation_mode": "on_site", "photos": [photo], "signature": signature})),
            ])
            .await
            .unwrap(),
    );
    for (hash, bytes) in [
        (&photo, photo_bytes),
        (&signature, signature_bytes),
        (&scan, scan_bytes),
    ] {
        t.secretary1.put_blob(hash, bytes).await.unwrap();
    }
    applied(
        &t.secretary1
            .push(
                "s1",
                vec![patch(
                    11,
                    "contact_cases",
                    case_found,
                    None,
                    json!({"result": "found", "found_by": "interpersonal"}),
                )],
            )
            .await
            .unwrap(),
    );
    // Branch 2: a member whose case ended still lost.
    applied(
        &t.secretary2
            .push(
                "s2",
                vec![
                    put(
                        1,
                        "members",
                        m_b2,
                        b2,
                        json!({"name": "壬九", "id_number": n_branch2}),
                    ),
                    put(
                        2,
                        "contact_cases",
                        case_b2,
                        b2,
                        json!({"member_id": m_b2, "result": "searching"}),
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
                vec![patch(
                    3,
                    "contact_cases",
                    case_b2,
                    None,
                    json!({"result": "still_lost"}),
                )],
            )
            .await
            .unwrap(),
    );
    // The street sends a transfer down to branch 1.
    applied(
        &t.street_staff
            .push(
                "st",
                vec![put(
                    1,
                    "transfers",
                    transfer,
                    t.street.id,
                    json!({"branch_id": b1, "member_name": "癸十", "id_number": n_transfer}),
                )],
            )
            .await
            .unwrap(),
    );

    // ---- Conflicts on ID numbers: two devices of branch 1 correct member 1's number from one
    // base; the committee and the street correct the transfer's from one base. The street's
    // own push answer names the value it overwrote. ----
    let version_of = |r: &paicha_domain::api::v1::PushResponse| r.results[0].version;
    let base_m1 = {
        let mut replica = paicha_tests::Replica::default();
        replica.sync(&t.secretary1).await.unwrap();
        replica.records[&("members".to_owned(), m1)].0
    };
    applied(
        &t.secretary1
            .push(
                "x",
                vec![patch(
                    1,
                    "members",
                    m1,
                    Some(base_m1),
                    json!({"id_number": n_m1_first}),
                )],
            )
            .await
            .unwrap(),
    );
    let merged = t
        .secretary1
        .push(
            "y",
            vec![patch(
                1,
                "members",
                m1,
                Some(base_m1),
                json!({"id_number": n_m1_second}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(merged.results[0].status, MutationStatus::Merged);
    let base_transfer = {
        let mut replica = paicha_tests::Replica::default();
        replica.sync(&t.admin).await.unwrap();
        replica.records[&("transfers".to_owned(), transfer)].0
    };
    assert!(
        version_of(
            &t.admin
                .push(
                    "a",
                    vec![patch(
                        1,
                        "transfers",
                        transfer,
                        Some(base_transfer),
                        json!({"id_number": n_transfer_admin}),
                    )],
                )
                .await
                .unwrap()
        )
        .is_some()
    );
    let street_token = t.street_staff.access_token().unwrap().to_owned();
    let street_push = reqwest::Client::new()
        .post(format!("{}/v1/sync/push", app.base))
        .bearer_auth(&street_token)
        .json(&json!({"device_id": "st", "mutations": [patch(2, "transfers", transfer, Some(base_transfer), json!({"id_number": n_transfer_street}))]}))
        .send()
        .await
        .unwrap();
    assert_eq!(street_push.status(), StatusCode::OK);
    let street_push = street_push.text().await.unwrap();
    let answer: Value = serde_json::from_str(&street_push).unwrap();
    assert_eq!(answer["results"][0]["status"], "merged", "{answer}");
    assert_eq!(
        answer["results"][0]["conflicts"][0]["overwritten_value"],
        privacy::mask_id_number(&n_transfer_admin),
        "the street's push answer masks the value it overwrote"
    );

    // ---- A refused import of the street: its problems echo no number. ----
    let csv = format!(
        "姓名,公民身份号码,负责跟进的党支部\r\n子甲,{n_import},{b}\r\n子甲,{n_import},{b}\r\n",
        b = t.branch1.name
    );
    let import = reqwest::Client::new()
        .post(format!(
            "{}/v1/import/transfers?org_unit_id={}&list_name=%E4%B8%80%E6%89%B9",
            app.base, t.street.id
        ))
        .bearer_auth(&street_token)
        .header("content-type", "application/octet-stream")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let import = import.text().await.unwrap();
    assert!(import.contains("duplicate_row"), "{import}");

    // ---- The callers: every role that reads member data, masked and whole. ----
    let mut callers: Vec<(Role, String, Vec<Uuid>)> = vec![
        (
            Role::CommitteeAdmin,
            t.admin.access_token().unwrap().to_owned(),
            vec![b1, b2],
        ),
        (Role::StreetStaff, street_token.clone(), vec![b1, b2]),
        (
            Role::BranchSecretary,
            t.secretary1.access_token().unwrap().to_owned(),
            vec![b1],
        ),
    ];
    for (name, role, unit, branches) in [
        (
            "p-org-office",
            Role::OrgOffice,
            t.committee.id,
            vec![b1, b2],
        ),
        ("p-viewer", Role::Viewer, t.committee.id, vec![b1, b2]),
        ("p-area", Role::WorkAreaStaff, t.work_area.id, vec![b1, b2]),
        ("p-member", Role::GroupMember, b1, vec![b1]),
    ] {
        t.admin
            .create_user(&new_user(name, role, Some(unit)))
            .await
            .unwrap();
        let (_, token) = app.client.signed_in(name, PASSWORD).await.unwrap();
        callers.push((role, token.access_token, branches));
    }
    let roles: BTreeSet<&str> = callers.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(
        roles.len(),
        Role::ALL.len() - 1,
        "every role but system_admin"
    );

    // Every number, with the branch whose data it is, and whether it is current (a record's
    // value now) or history (in the audit trail and the conflict log only).
    let numbers: Vec<(&str, Uuid, bool)> = vec![
        (n_m1.as_str(), b1, false),
        (n_m1_first.as_str(), b1, false),
        (n_m1_second.as_str(), b1, true),
        (n_found.as_str(), b1, true),
        (n_mobile.as_str(), b1, true),
        (n_searching.as_str(), b1, true),
        (n_lost.as_str(), b1, true),
        (legacy, b1, true),
        (legacy_18.as_str(), b1, true),
        (n_ledger_a.as_str(), b1, true),
        (n_ledger_b.as_str(), b1, true),
        (n_branch2.as_str(), b2, true),
        (n_transfer.as_str(), b1, false),
        (n_transfer_admin.as_str(), b1, false),
        (n_transfer_street.as_str(), b1, true),
        (n_import.as_str(), b1, false),
    ];
    let records = [
        ("members", m1),
        ("members", m_found),
        ("members", m_mobile),
        ("members", m_searching),
        ("members", m_lost),
        ("members", m_legacy),
        ("members", m_b2),
        ("roster_ledger_entries", entry_a),
        ("roster_ledger_entries", entry_b),
        ("transfers", transfer),
        ("contact_cases", case_found),
        ("contact_cases", case_searching),
        ("info_forms", form),
    ];
    // The other personal values, all of branch 1: (value, masked form for a masked role, or
    // None when it must not be there in any form).
    let personal: Vec<(String, Option<String>)> = vec![
        (phone_m1.into(), Some("139****0001".into())),
        (phone_lost.into(), Some("139****0005".into())),
        (phone_entry.into(), Some("139****0015".into())),
        (phone_case.into(), None),
        ("13612340077".into(), Some("家属电话136****0077".into())),
        (home_m1.into(), None),
        (household_lost.into(), None),
        (home_entry.into(), None),
        (former_case.into(), None),
        (relatives_case.clone(), None),
        (photo.clone(), None),
        (signature.clone(), None),
        (scan.clone(), None),
    ];

    let mut everything_full = String::new();
    for (role, token, branches) in &callers {
        // ---- Every read path. ----
        let mut seen = Seen(Vec::new());
        let mut cursor = String::new();
        loop {
            let (status, body) = get(
                &format!("{}/v1/sync/pull?limit=5000&cursor={cursor}", app.base),
                token,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let page: Value = serde_json::from_slice(&body).unwrap();
            seen.0
                .push(("pull".into(), String::from_utf8(body).unwrap()));
            cursor = page["cursor"].as_str().unwrap().to_owned();
            if page["has_more"] != json!(true) {
                break;
            }
        }
        let mut paths = vec![
            "/v1/members?limit=200".to_owned(),
            "/v1/conflicts".to_owned(),
            "/v1/transfers/lists".to_owned(),
            "/v1/departures".to_owned(),
            "/v1/status".to_owned(),
            "/v1/proposals".to_owned(),
            "/v1/reports".to_owned(),
        ];
        for (collection, id) in records {
            paths.push(format!("/v1/audit?collection={collection}&id={id}"));
        }
        for (_, id) in records.iter().filter(|(c, _)| *c == "members") {
            paths.push(format!("/v1/members/{id}/checks"));
        }
        for kind in LedgerKind::ALL {
            for format in ["json", "csv"] {
                paths.push(format!("/v1/ledgers/{}?format={format}", kind.as_str()));
            }
        }
        // Registers A and B by part: the entries not yet submitted (docs/domain.md §8.16).
        for kind in [LedgerKind::LedgerA, LedgerKind::LedgerB] {
            let kind = kind.as_str();
            paths.push(format!(
                "/v1/ledgers/{kind}?format=json&submission=unsubmitted"
            ));
        }
        for path in paths {
            let (_, body) = get(&format!("{}{path}", app.base), token).await;
            seen.0.push((path, String::from_utf8(body).unwrap()));
        }
        for kind in LedgerKind::ALL {
            let path = format!("/v1/ledgers/{}?format=xlsx", kind.as_str());
            let (status, body) = get(&format!("{}{path}", app.base), token).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            seen.0.push((path, xlsx_text(&body)));
        }
        // The blobs: downloaded whole by who reads images, refused to the others.
        for hash in [&photo, &signature, &scan] {
            let (status, body) = get(&format!("{}/v1/blobs/{hash}", app.base), token).await;
            let expected = if privacy::sees_images(*role) && branches.contains(&b1) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{role:?} GET /v1/blobs/{hash}");
            if status != StatusCode::OK {
                let body = String::from_utf8(body).unwrap();
                assert!(body.contains("forbidden"), "{body}");
            }
        }
        let (_, missing) = get(&format!("{}/v1/blobs/missing", app.base), token).await;
        seen.0.push((
            "/v1/blobs/missing".into(),
            String::from_utf8(missing).unwrap(),
        ));
        if *role == Role::StreetStaff {
            seen.0.push(("push answer".into(), street_push.clone()));
            seen.0.push(("import answer".into(), import.clone()));
        }

        // ---- The oracle. ----
        // The table of docs/protocol.md §3.7, written out again as the oracle.
        let full = !matches!(role, Role::StreetStaff | Role::Viewer);
        assert_eq!(privacy::sees_full_id_numbers(*role), full, "{role:?}");
        if full {
            for (number, branch, current) in &numbers {
                if *current && branches.contains(branch) {
                    assert!(
                        !seen.holding(number).is_empty(),
                        "{role:?} must read {number} of its scope whole"
                    );
                }
            }
            if branches.contains(&b1) {
                for (value, _) in &personal {
                    assert!(
                        !seen.holding(value).is_empty(),
                        "{role:?} must read {value} of its scope as stored"
                    );
                }
            }
            if *role == Role::CommitteeAdmin {
                for (_, text) in &seen.0 {
                    everything_full.push_str(text);
                }
            }
        } else {
            for (value, masked) in &personal {
                let paths = seen.holding(value);
                assert!(paths.is_empty(), "{role:?} received {value} on {paths:?}");
                if let Some(masked) = masked {
                    assert!(
                        !seen.holding(masked).is_empty(),
                        "{role:?} must read {masked}"
                    );
                }
            }
            for (number, _, _) in &numbers {
                let paths = seen.holding(number);
                assert!(
                    paths.is_empty(),
                    "{role:?} received the full number {number} on {paths:?}"
                );
            }
            // It did receive the data, masked.
            for number in [&n_m1_second, &n_ledger_a, &n_branch2] {
                let masked = privacy::mask_id_number(number);
                assert!(
                    !seen.holding(&masked).is_empty(),
                    "{role:?} must read {masked}"
                );
            }
        }
    }
    // Every number that is not the import's reached the committee somewhere (the oracle's
    // numbers are really on these paths), history in its audit trail and conflict log.
    for (number, _, _) in &numbers {
        if *number != n_import {
            assert!(
                everything_full.contains(number),
                "the committee never read {number}"
            );
        }
    }

    // ---- A masked number sent back is refused, and the stored one is kept. ----
    let mut street_replica = paicha_tests::Replica::default();
    street_replica.sync(&t.street_staff).await.unwrap();
    let shown = street_replica.records[&("transfers".to_owned(), transfer)]
        .1
        .clone();
    assert_eq!(
        shown["id_number"],
        json!(privacy::mask_id_number(&n_transfer_street))
    );
    let resent: serde_json::Map<String, Value> = shown
        .into_iter()
        .filter(|(k, _)| ["branch_id", "member_name", "id_number"].contains(&k.as_str()))
        .collect();
    let refused = t
        .street_staff
        .push(
            "st",
            vec![
                put(
                    3,
                    "transfers",
                    transfer,
                    t.street.id,
                    Value::Object(resent.clone()),
                ),
                patch(
                    4,
                    "transfers",
                    transfer,
                    None,
                    json!({"id_number": resent["id_number"]}),
                ),
            ],
        )
        .await
        .unwrap();
    for r in &refused.results {
        assert_eq!(r.status, MutationStatus::Rejected, "{r:?}");
        let error = r.error.as_ref().unwrap();
        assert_eq!(error.code, "id_number_masked", "{r:?}");
        assert_eq!(error.field.as_deref(), Some("id_number"));
        assert!(error.message.contains("打码"), "{}", error.message);
    }
    let mut committee = paicha_tests::Replica::default();
    committee.sync(&t.admin).await.unwrap();
    assert_eq!(
        committee.records[&("transfers".to_owned(), transfer)].1["id_number"],
        json!(n_transfer_street),
        "the stored number is kept"
    );
}
