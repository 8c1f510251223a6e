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

/// The contract, exact (issue #21, item 11): a body that is JSON but not an object is refused
/// (an array of nulls once passed as an empty patch); an empty query value is refused, not read
/// as absent; the registers answer the default format the document names; a refused import
/// always carries its `problems`.
#[tokio::test]
async fn the_contract_is_kept_exactly() {
    let app = spawn_app().await;
    let t = app.tenant("ce").await;
    let token = t.admin.access_token().unwrap().to_owned();
    let json = Some("application/json");

    // Bodies of the wrong JSON type.
    let user = app.sign_in("ce-sec1").await.1.user.id;
    for url in [
        format!("{}/v1/org-units/{}", app.base, t.branch1.id),
        format!("{}/v1/users/{user}", app.base),
    ] {
        for body in ["[null, null]", "[null]", "[]", "null", "\"name\"", "7"] {
            let (status, _, answer) =
                raw(Method::PATCH, url.clone(), Some(&token), json, body).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "PATCH {url} {body}: {answer}"
            );
            assert_eq!(error_code(&answer), "invalid_body", "{body}");
        }
    }
    // An empty query value, named.
    for (path, field) in [
        ("/v1/members?ids=", "ids"),
        ("/v1/members?ids=,", "ids"),
        ("/v1/sync/checksum?collections=", "collections"),
        ("/v1/sync/checksum?collections=members,", "collections"),
        ("/v1/sync/pull?collections=", "collections"),
        ("/v1/members?limit=", "limit"),
        ("/v1/members?org_unit_id=", "org_unit_id"),
        ("/v1/ledgers/roster?format=", "format"),
        ("/v1/proposals?as_of=", "as_of"),
    ] {
        let (status, _, answer) = raw(
            Method::GET,
            format!("{}{path}", app.base),
            Some(&token),
            None,
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        assert_eq!(error_code(&answer), "invalid_query", "{path}");
        assert_eq!(answer["error"]["field"], field, "{path}: {answer}");
    }
    // Leaving the parameter out still means "all".
    let (status, _, answer) = raw(
        Method::GET,
        format!("{}/v1/sync/checksum", app.base),
        Some(&token),
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The registers: the default format is the one the document names as the default.
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/v1/ledgers/{kind}"]["get"];
    let format = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "format")
        .unwrap();
    assert_eq!(format["schema"]["default"], "xlsx", "{format}");
    let contents = op["responses"]["200"]["content"].as_object().unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/v1/ledgers/roster", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(contents.contains_key(&content_type), "{contents:?}");
    for format in ["csv", "json"] {
        let answer = reqwest::Client::new()
            .get(format!("{}/v1/ledgers/roster?format={format}", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let ct = answer.headers()["content-type"].to_str().unwrap();
        let mime = ct.split(';').next().unwrap();
        assert!(
            contents.contains_key(mime),
            "{format}: {ct} not in {contents:?}"
        );
    }

    // A transfer list sent to a branch (a unit of the wrong kind): 422 with its problem.
    let (status, _, answer) = raw(
        Method::POST,
        format!(
            "{}/v1/import/transfers?org_unit_id={}&list_name=%E4%B8%80",
            app.base, t.branch1.id
        ),
        Some(&token),
        Some("application/octet-stream"),
        "姓名,公民身份号码\n",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(error_code(&answer), "invalid_parent");
    assert_eq!(answer["error"]["field"], "org_unit_id");
    assert_eq!(answer["problems"][0]["code"], "invalid_parent", "{answer}");
    assert_eq!(answer["problems"][0]["row"], 0);
}
