//! No password, token or secret ever reaches a log line, at any level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use paicha_tests::{ADMIN_PASSWORD, ADMIN_USER, PASSWORD, spawn_app};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    // nextest runs each test in a process of its own, so this subscriber sees only this test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .try_init();

    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let tokens = app
        .client
        .login("a-sec1", PASSWORD, Some("phone"))
        .await
        .unwrap();
    let rotated = app.client.refresh(&tokens.refresh_token).await.unwrap();
    let _ = app.client.refresh(&tokens.refresh_token).await;
    let _ = app
        .client
        .login(ADMIN_USER, "a-wrong-password-123", None)
        .await;
    let _ = a.secretary1.list_org_units().await;
    app.client
        .with_token(&rotated.access_token)
        .logout(None)
        .await
        .unwrap();
    let resp = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("login"), "the capture saw nothing: {text}");
    // A failed login is logged with the username it targeted (never the password).
    assert!(
        text.lines()
            .any(|l| l.contains("failed login") && l.contains(ADMIN_USER)),
        "no failed-login line names {ADMIN_USER}"
    );
    for secret in [
        PASSWORD,
        ADMIN_PASSWORD,
        "a-wrong-password-123",
        &tokens.access_token,
        &tokens.refresh_token,
        &rotated.access_token,
        &rotated.refresh_token,
        std::str::from_utf8(&app.jwt_secret).unwrap(),
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
    assert!(
        !text.contains("$argon2"),
        "a password hash reached the logs"
    );
    // Log lines of a request carry its id.
    assert!(
        text.lines()
            .any(|l| l.contains(&request_id) && l.contains("/healthz")),
        "no log line carries request id {request_id}"
    );
}
