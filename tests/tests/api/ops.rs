//! Health, readiness, metrics, the OpenAPI document, request ids.

use paicha_tests::{spawn_app, spawn_app_with};
use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let resp = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().contains_key("x-request-id"));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["status"], status);
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let _ = app.admin.list_org_units().await.unwrap();
    let _ = reqwest::get(format!("{}/v1/org-units/not-a-uuid", app.base))
        .await
        .unwrap();
    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has = |needles: &[&str]| {
        text.lines().any(|l| {
            l.starts_with("paicha_http_requests_total") && needles.iter().all(|n| l.contains(n))
        })
    };
    assert!(
        has(&[
            "route=\"/v1/org-units\"",
            "status=\"200\"",
            "method=\"GET\""
        ]),
        "{text}"
    );
    assert!(
        has(&["route=\"/v1/org-units/{id}\"", "status=\"401\""]),
        "{text}"
    );
    assert!(
        text.contains("paicha_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_covers_every_endpoint() {
    let app = spawn_app().await;
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected: &[(&str, &[&str])] = &[
        ("/v1/auth/login", &["post"]),
        ("/v1/auth/refresh", &["post"]),
        ("/v1/auth/logout", &["post"]),
        ("/v1/org-units", &["get", "post"]),
        ("/v1/org-units/{id}", &["get", "patch", "delete"]),
        ("/v1/users", &["get", "post"]),
        ("/v1/users/{id}", &["get", "patch"]),
        ("/v1/users/{id}/password", &["post"]),
        ("/v1/users/{id}/devices", &["get"]),
        ("/v1/users/{id}/devices/{device_id}", &["delete"]),
        ("/v1/users/{id}/sessions", &["delete"]),
        ("/v1/users/{id}/log", &["get"]),
        ("/v1/auth/password", &["post"]),
        ("/v1/sync/push", &["post"]),
        ("/v1/sync/pull", &["get"]),
        ("/v1/sync/checksum", &["get"]),
        ("/v1/conflicts", &["get"]),
        ("/v1/conflicts/{id}/resolve", &["post"]),
        ("/v1/audit", &["get"]),
        ("/v1/blobs/{sha256}", &["put", "get"]),
        ("/v1/blobs/{sha256}/upload", &["get"]),
        ("/v1/blobs/missing", &["get"]),
        ("/v1/status", &["get"]),
        ("/v1/campaigns/{id}/baseline", &["post"]),
        ("/v1/members/{id}/baseline", &["post"]),
        ("/v1/members/{id}/checks", &["get"]),
        ("/v1/reports", &["get", "post"]),
        ("/v1/reports/{id}", &["get"]),
        ("/v1/reports/{id}/changes", &["get"]),
        ("/v1/late-entries", &["get"]),
        ("/v1/members/search", &["post"]),
        ("/v1/proposals", &["get"]),
        ("/v1/members", &["get"]),
        ("/v1/schema", &["get"]),
        ("/v1/transfers/lists", &["get"]),
        ("/v1/departures", &["get"]),
        ("/v1/org-units/branches", &["get"]),
        ("/v1/import/transfers", &["post"]),
        ("/v1/ledgers/{kind}", &["get"]),
        ("/v1/import/roster", &["post"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/openapi.json", &["get"]),
    ];
    assert_eq!(
        paths.len(),
        expected.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (path, methods) in expected {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} missing"));
        for m in *methods {
            assert!(item.get(*m).is_some(), "{m} {path} missing");
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// One port serves HTTP/1.1 and HTTP/2 with prior knowledge (as a proxy that multiplexes sends
/// it), each a whole API: a signed-in pull over both, with the caller's address
/// (`ConnectInfo`) reaching the login throttle and logs either way.
#[tokio::test]
async fn one_port_serves_http1_and_http2_with_prior_knowledge() {
    use paicha_tests::PASSWORD;
    let app = spawn_app().await;
    let _tenant = app.tenant("v").await;
    let (_, tokens) = app.sign_in("v-sec1").await;
    for (client, version) in [
        (reqwest::Client::new(), reqwest::Version::HTTP_11),
        (
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap(),
            reqwest::Version::HTTP_2,
        ),
    ] {
        let resp = client
            .get(format!("{}/v1/sync/pull?limit=10", app.base))
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.version(), version);
        assert_eq!(resp.status(), StatusCode::OK);
        let page: serde_json::Value = resp.json().await.unwrap();
        assert!(page["cursor"].is_string(), "{page}");
        // A login answers too (it reads the peer's address for its throttle).
        let resp = client
            .post(format!("{}/v1/auth/login", app.base))
            .json(&serde_json::json!({"username": "v-sec1", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!((resp.version(), resp.status()), (version, StatusCode::OK));
    }
}

/// A client that sends HTTP/2's preface in pieces is still served HTTP/2: the server waits for
/// the whole preface before it decides, and answers with HTTP/2's SETTINGS frame, not with an
/// HTTP/1.1 error.
#[tokio::test]
async fn an_http2_preface_sent_in_pieces_is_recognised() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stream.write_all(b"\r\nSM\r\n\r\n").await.unwrap();
    // Our own (empty) SETTINGS frame, as a client must send after the preface.
    stream
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut header = [0u8; 9];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_exact(&mut header),
    )
    .await
    .unwrap()
    .unwrap();
    assert_ne!(&header[..4], b"HTTP", "answered as HTTP/1.1");
    assert_eq!(header[3], 4, "the first frame is SETTINGS: {header:?}");
}

/// `/metrics` is not open to the world (issue #21, item 10): with `PAICHA_METRICS_TOKEN` it
/// needs the token; with `PAICHA_METRICS_LISTEN` it is served there alone; with neither, to
/// this machine only, and not through a proxy.
#[tokio::test]
async fn metrics_need_the_token_the_metrics_address_or_this_machine() {
    let http = reqwest::Client::new();
    let get = |url: String, auth: Option<&'static str>, forwarded: bool| {
        let mut req = http.get(url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if forwarded {
            req = req.header("x-forwarded-for", "203.0.113.9");
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.text().await.unwrap())
        }
    };

    // Neither set: this machine, directly.
    let app = spawn_app().await;
    let url = format!("{}/metrics", app.base);
    let (status, text) = get(url.clone(), None, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("paicha_http_requests_total"), "{text}");
    let (status, text) = get(url.clone(), None, true).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "through a proxy: {text}");
    assert!(text.contains("PAICHA_METRICS_TOKEN"), "{text}");
    drop(app);

    // A token: required, from anywhere.
    const TOKEN: &str = "Bearer 3b9f6c2d8e1a4f7b9c0d2e4f6a8b1c3d5e7f9a0b";
    let app = spawn_app_with(|s| {
        s.metrics_token = Some(paicha_server::config::Secret::new(
            TOKEN.trim_start_matches("Bearer "),
        ))
    })
    .await;
    let url = format!("{}/metrics", app.base);
    for (auth, code) in [
        (None, "unauthenticated"),
        (Some("Bearer not-the-token"), "invalid_token"),
        (Some("Basic M2I5ZjZjMmQ="), "invalid_token"),
    ] {
        let (status, text) = get(url.clone(), auth, false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}: {text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], code, "{auth:?}");
    }
    for forwarded in [false, true] {
        let (status, text) = get(url.clone(), Some(TOKEN), forwarded).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(text.contains("paicha_http_requests_total"));
    }
    drop(app);

    // A separate address: /metrics there alone, not on the main one.
    let app = spawn_app_with(|s| {
        s.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    })
    .await;
    let metrics = app.metrics_addr.expect("a metrics address");
    assert_ne!(metrics, app.addr);
    let (status, _) = get(format!("{}/metrics", app.base), None, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not on the main address");
    let (status, text) = get(format!("http://{metrics}/metrics"), None, false).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("paicha_http_requests_total"), "{text}");
    let (status, _) = get(format!("http://{metrics}/v1/org-units"), None, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing but /metrics there");
}
