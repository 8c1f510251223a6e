//! Black-box tests over real HTTP. One binary, one module per area; each test starts its own
//! server on a database of its own (SQLite, or PostgreSQL with PAICHA_TEST_DATABASE_URL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod auth;
mod baseline;
mod blobs;
mod concurrency;
mod console;
mod corrections;
mod decisions;
mod errors;
mod field;
mod growth;
mod import;
mod ledger_audit;
mod ledger_console;
mod ledger_export;
mod ledgers;
mod logs;
mod members;
mod moves;
mod openapi_conformance;
mod ops;
mod permissions;
mod privacy;
mod proposals;
mod push_rules;
mod reports;
mod scenario;
mod scope;
mod scope_rule;
mod status;
mod status_checkpoint;
mod storage;
mod sync;
mod vocabulary;
mod workflow;

/// Sends a raw request, for inputs the typed client would never produce.
pub async fn raw(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    serde_json::Value,
) {
    let mut req = reqwest::Client::new().request(method, url).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header(reqwest::header::CONTENT_TYPE, ct);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body read");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

/// Asserts the error shape of docs/protocol.md §1.3 and returns the code.
pub fn error_code(body: &serde_json::Value) -> String {
    let err = body
        .get("error")
        .unwrap_or_else(|| panic!("not an error body: {body}"));
    let code = err["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {body}"));
    let message = err["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {body}"));
    assert!(!message.is_empty(), "empty message: {body}");
    assert!(
        message
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message is not Chinese: {body}"
    );
    code.to_owned()
}
