//! One vocabulary: no label and no message the server sends speaks the API's own words (an
//! enum word such as `male` or `removed_from_roster`, a field or parameter name such as
//! `org_unit_id`, a type name such as `UUID`, "true 或 false"); the names of the file formats a
//! user picks (xlsx, csv) are fine. `paicha_domain::words::api_words_in` finds them.
//!
//! Three walks: every string literal the server's crates word for people (so a message that
//! no test provokes is still read), every refusal of a push, and what a tenant's users read over
//! HTTP (the schema document, the status, every register, the import problems of a sheet with a
//! bad value in every column, the refusals of pushes). The domain's own walk of every label,
//! validation message and workflow refusal is `paicha_domain::words`'s test; the request-level
//! errors of every operation are checked by `openapi_conformance`.

use std::path::{Path, PathBuf};

use paicha_domain::words::api_words_in;
use paicha_sync::push::Rejection;
use paicha_tests::{id_number, put, spawn_app};
use serde_json::{Value, json};

/// Records `text` (from `from`) if it holds an API word.
fn check(from: &str, text: &str, leaks: &mut Vec<String>) {
    let words = api_words_in(text);
    if !words.is_empty() {
        leaks.push(format!("{from}: {text}  ({})", words.join(", ")));
    }
}

fn assert_none(leaks: Vec<String>, checked: usize) {
    let mut leaks = leaks;
    leaks.sort();
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "{} of {checked} texts speak the API's language:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of a line that hold Chinese (so are meant for people), with their
/// `format!` placeholders taken out (what they are filled with is walked at run time).
fn chinese_literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else { break };
        let literal = &after[..end];
        if literal
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        {
            let mut text = String::new();
            let mut depth = 0;
            for c in literal.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    _ if depth == 0 => text.push(c),
                    _ => {}
                }
            }
            out.push(text);
        }
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn no_text_the_server_words_for_people_holds_an_api_word() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["domain", "sync", "server", "auth", "storage"] {
        rust_files(&root.join("crates").join(krate).join("src"), &mut files);
    }
    let mut leaks = Vec::new();
    let mut checked = 0;
    for path in files {
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        // What only the server's operator reads at start-up and in backups names the
        // settings, commands and files to use (`PAICHA_DATA_DIR`, `pg_dump`).
        if shown.contains("/config/") || shown.ends_with("backup.rs") || shown.ends_with("main.rs")
        {
            continue;
        }
        if shown.ends_with("/tests.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            // Comments and the OpenAPI document's descriptions are for developers.
            if trimmed.starts_with("//") || trimmed.contains("description =") {
                continue;
            }
            for text in chinese_literals(line) {
                checked += 1;
                check(&format!("{shown}:{}", n + 1), &text, &mut leaks);
            }
        }
    }
    assert!(checked > 300, "only {checked} literals found");
    assert_none(leaks, checked);
}

#[test]
fn no_refusal_of_a_push_holds_an_api_word() {
    let all = Rejection::every_kind();
    let mut leaks = Vec::new();
    for r in &all {
        check(r.code(), &r.message(), &mut leaks);
    }
    assert_none(leaks, all.len());
}

/// Every label-like string of a JSON answer: values under keys meant for people.
fn labels(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let here = format!("{path}.{k}");
                let for_people = k.ends_with("_zh")
                    || matches!(
                        k.as_str(),
                        "label" | "description" | "message" | "title" | "name_zh"
                    );
                if let (true, Some(text)) = (for_people, x.as_str()) {
                    out.push((here.clone(), text.to_owned()));
                }
                if k == "count_labels"
                    && let Some(m) = x.as_object()
                {
                    for (key, label) in m {
                        out.push((format!("{here}.{key}"), label.as_str().unwrap_or("").into()));
                    }
                }
                labels(x, &here, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| labels(x, path, out)),
        _ => {}
    }
}

/// Every string of a JSON answer (a register: its headers and the values of its rows).
fn strings(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, x)| strings(x, &format!("{path}.{k}"), out)),
        Value::Array(items) => items.iter().for_each(|x| strings(x, path, out)),
        _ => {}
    }
}

async fn upload(base: &str, token: &str, path: &str, bytes: Vec<u8>) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("an answer");
    resp.json().await.unwrap_or(Value::Null)
}

/// A CSV sheet: a header row of every header the sheet knows, then, for each column, rows
/// with a bad value in that column alone (a word no field takes, a date that is none, text
/// where a yes or no belongs), the name filled in (only a row's first problem is reported).
fn bad_sheet(headers: &[(&str, &str)], branch: &str) -> Vec<u8> {
    let mut seen = std::collections::BTreeSet::new();
    let columns: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(_, f)| seen.insert(*f))
        .copied()
        .collect();
    let mut csv = columns
        .iter()
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join(",");
    for (bad_column, _) in &columns {
        for bad in ["未知", "2016-02-30", "是否"] {
            csv.push_str("\r\n");
            let row: Vec<&str> = columns
                .iter()
                .map(|(h, f)| match (*h == *bad_column, *f) {
                    (true, _) => bad,
                    (false, "name" | "member_name") => "甲",
                    (false, "branch_id") => branch,
                    _ => "",
                })
                .collect();
            csv.push_str(&row.join(","));
        }
    }
    csv.into_bytes()
}

#[tokio::test]
async fn nothing_a_tenants_users_read_holds_an_api_word() {
    let app = spawn_app().await;
    let t = app.tenant("v").await;
    let mut texts: Vec<(String, String)> = Vec::new();

    // A member with a word in every enum field the registers show, and a lost one.
    let member = uuid::Uuid::now_v7();
    let lost = uuid::Uuid::now_v7();
    let push = json!({"device_id": "vocabulary", "mutations": [
        put(1, "members", member, t.branch1.id, json!({
            "name": "张一", "gender": "male", "member_type": "full",
            "id_number": id_number("19800102", 11), "org_category": "street_community",
            "contact_status": "mobile", "flow_out_on": "2014-01-01", "whereabouts_known": true,
            "flow_destination": "广州", "roster_status": "unverified",
        })),
        put(2, "members", lost, t.branch1.id, json!({
            "name": "王二", "gender": "female", "member_type": "probationary",
            "contact_status": "lost", "whereabouts_known": false,
            "last_activity_on": "2013-01-01",
        })),
        put(3, "contact_cases", uuid::Uuid::now_v7(), t.branch1.id, json!({
            "member_id": lost.to_string(), "loss_circumstance": "working_away",
        })),
        // Refusals the device shows: a word no field takes, a step that does not exist.
        put(4, "members", uuid::Uuid::now_v7(), t.branch1.id, json!({"name": "李三", "gender": "未知"})),
        put(5, "members", uuid::Uuid::now_v7(), t.branch1.id, json!({"name": "李四", "roster_status": "removed_from_roster"})),
        put(6, "members", uuid::Uuid::now_v7(), t.branch1.id, json!({"name": "李五", "retired": "是"})),
        put(7, "members", uuid::Uuid::now_v7(), t.branch1.id, json!({"name": "李六", "id_number": "1101051949"})),
        put(8, "nonexistent_things", uuid::Uuid::now_v7(), t.branch1.id, json!({})),
        json!({"mutation_id": 9, "collection": "members", "op": "put"}),
    ]});
    let token = t.secretary1.access_token().unwrap();
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/v1/sync/push", app.base))
        .bearer_auth(token)
        .json(&push)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = answer["results"].as_array().map_or(0, |r| {
        r.iter().filter(|x| x["status"] == "rejected").count()
    });
    assert!(refused >= 6, "{answer}");
    labels(&answer, "push", &mut texts);

    let get = |path: String| {
        let token = token.to_owned();
        async move {
            reqwest::Client::new()
                .get(path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        }
    };
    let schema = get(format!("{}/v1/schema", app.base)).await;
    labels(&schema, "schema", &mut texts);
    let status = get(format!(
        "{}/v1/status?org_unit_id={}",
        app.base, t.branch1.id
    ))
    .await;
    labels(&status, "status", &mut texts);
    let proposals = get(format!(
        "{}/v1/proposals?org_unit_id={}",
        app.base, t.branch1.id
    ))
    .await;
    labels(&proposals, "proposals", &mut texts);
    let checks = get(format!("{}/v1/members/{member}/checks", app.base)).await;
    labels(&checks, "checks", &mut texts);
    for kind in paicha_domain::ledger::LedgerKind::ALL {
        let register = get(format!(
            "{}/v1/ledgers/{}?org_unit_id={}&format=json",
            app.base,
            kind.as_str(),
            t.branch1.id
        ))
        .await;
        assert!(register.is_object(), "{}: {register}", kind.as_str());
        // Everything but the register's own key is read by people.
        let mut all = Vec::new();
        strings(&register, kind.as_str(), &mut all);
        texts.extend(
            all.into_iter()
                .filter(|(path, s)| !(path.ends_with(".kind") && s == kind.as_str())),
        );
    }

    // Sheets with a bad value in every column: every problem's message.
    let roster = upload(
        &app.base,
        token,
        &format!("/v1/import/roster?org_unit_id={}", t.branch1.id),
        bad_sheet(paicha_domain::roster::HEADERS, ""),
    )
    .await;
    let street_token = t.street_staff.access_token().unwrap();
    let transfers = upload(
        &app.base,
        street_token,
        &format!(
            "/v1/import/transfers?org_unit_id={}&list_name=vocabulary",
            t.street.id
        ),
        bad_sheet(paicha_domain::roster::TRANSFER_HEADERS, &t.branch1.name),
    )
    .await;
    for (what, answer) in [("roster", &roster), ("transfers", &transfers)] {
        let problems = answer["problems"].as_array().cloned().unwrap_or_default();
        assert!(problems.len() > 5, "{what}: {answer}");
        labels(answer, what, &mut texts);
    }

    let mut leaks = Vec::new();
    for (from, text) in &texts {
        check(from, text, &mut leaks);
    }
    assert!(texts.len() > 500, "only {} texts read", texts.len());
    assert_none(leaks, texts.len());
}
