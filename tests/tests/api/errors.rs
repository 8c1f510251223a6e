//! Bad input of every kind gets a clear error with a code, in the shape of docs/protocol.md §1.3.

use paicha_tests::{ADMIN_PASSWORD, ADMIN_USER, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};

use crate::{error_code, raw};

#[tokio::test]
async fn malformed_bodies_get_their_codes() {
    let app = spawn_app().await;
    let login = format!("{}/v1/auth/login", app.base);
    let json = Some("application/json");
    /// (content type, body, status, code, field)
    type Case<'a> = (
        Option<&'a str>,
        String,
        StatusCode,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            json,
            "{\"username\": ".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            json,
            "".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            json,
            "{\"username\":\"x\",\"password\":\"y\"} {}".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            json,
            "{\"username\":\"x\"}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            Some("password"),
        ),
        (
            json,
            "{\"username\":1,\"password\":\"x\"}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            Some("username"),
        ),
        (
            json,
            "{\"username\":\"x\",\"password\":\"y\",\"pasword\":1}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            Some("pasword"),
        ),
        (
            json,
            "[]".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            None,
        ),
        (
            Some("text/plain"),
            "{\"username\":\"x\",\"password\":\"y\"}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            None,
            "{\"username\":\"x\",\"password\":\"y\"}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
    ];
    for (ct, body, status, code, field) in cases {
        let (got, _, resp) = raw(Method::POST, login.clone(), None, ct, body.clone()).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(error_code(&resp), code, "{body}");
        assert_eq!(resp["error"]["field"].as_str(), field, "{body}");
    }

    // Unknown enum values name their field.
    let (status, _, resp) = raw(
        Method::POST,
        format!("{}/v1/org-units", app.base),
        app.admin.access_token(),
        json,
        r#"{"kind":"department","name":"x"}"#,
    )
    .await;
    assert_eq!(
        (status, error_code(&resp).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    assert_eq!(resp["error"]["field"], "kind");
    let (status, _, resp) = raw(
        Method::POST,
        format!("{}/v1/users", app.base),
        app.admin.access_token(),
        json,
        r#"{"username":"abc","password":"1234567890","role":"emperor"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp["error"]["field"], "role");
}

#[tokio::test]
async fn oversize_bodies_get_413_with_a_code() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let big = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "u".repeat(10_000)
    );
    let (status, _, body) = raw(
        Method::POST,
        format!("{}/v1/auth/login", app.base),
        None,
        Some("application/json"),
        big.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");

    // The same without a Content-Length: a streamed body is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(1000)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let stream = reqwest::Body::wrap_stream(tokio_stream::iter(chunks));
    let (status, _, body) = raw(
        Method::POST,
        format!("{}/v1/org-units", app.base),
        app.admin.access_token(),
        Some("application/json"),
        stream,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");

    // The server is still fine afterwards.
    assert!(
        app.client
            .login(ADMIN_USER, ADMIN_PASSWORD, None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_paths_get_their_codes() {
    let app = spawn_app().await;
    let token = app.admin.access_token();
    let cases = [
        (
            Method::GET,
            "/v1/nothing-here",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        // `/` is the office console's page; anything else outside the API is not found.
        (
            Method::GET,
            "/no-such-page",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/assets/no-such-file.js",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/org-units",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/v1/org-units/not-a-uuid",
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            Method::DELETE,
            "/v1/org-units/123",
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
    ];
    for (method, path, status, code) in cases {
        let (got, _, body) = raw(
            method.clone(),
            format!("{}{path}", app.base),
            token,
            None,
            "",
        )
        .await;
        assert_eq!(
            (got, error_code(&body).as_str()),
            (status, code),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_408_with_a_code() {
    // Every login spends tens of milliseconds in argon2: far more than this limit.
    let app = spawn_app_with(|s| s.request_timeout = std::time::Duration::from_millis(1)).await;
    let (status, _, body) = raw(
        Method::POST,
        format!("{}/v1/auth/login", app.base),
        None,
        Some("application/json"),
        serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(error_code(&body), "request_timeout");
}
