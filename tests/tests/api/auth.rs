//! Sign-in: login, refresh rotation and reuse, logout, token tampering, throttling.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use paicha_auth::{Principal, TokenKeys};
use paicha_domain::role::Role;
use paicha_tests::{
    ADMIN_BOOTSTRAP_PASSWORD, ADMIN_PASSWORD, ADMIN_USER, PASSWORD, spawn_app, spawn_app_first_run,
    spawn_app_with,
};
use reqwest::{Method, StatusCode};
use std::time::Duration;

use crate::{error_code, raw};

#[tokio::test]
async fn login_returns_tokens_and_the_user() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let tokens = app
        .client
        .login("a-sec1", PASSWORD, Some("phone-1"))
        .await
        .unwrap();
    assert!(!tokens.access_token.is_empty());
    assert!(!tokens.refresh_token.is_empty());
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.user.role, Role::BranchSecretary);
    assert_eq!(tokens.user.org_unit_id, Some(t.branch1.id));
    // Usernames are case-insensitive.
    assert!(app.client.login("a-SEC1", PASSWORD, None).await.is_ok());

    let admin = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(admin.user.role, Role::SystemAdmin);
    assert_eq!(admin.user.org_unit_id, None);
}

#[tokio::test]
async fn the_bootstrap_admin_must_set_a_new_password_before_anything_else() {
    let app = spawn_app_first_run().await;
    let first = app
        .client
        .login(ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD, Some("laptop"))
        .await
        .unwrap();
    assert!(first.password_change_required);
    let url = |path: &str| format!("{}{path}", app.base);
    let token = first.access_token.clone();
    // Everything else is refused, with the reason in Chinese.
    for (method, path, body) in [
        (Method::GET, "/v1/org-units", ""),
        (Method::GET, "/v1/users", ""),
        (
            Method::POST,
            "/v1/org-units",
            r#"{"kind":"committee","name":"城关街道党工委"}"#,
        ),
    ] {
        let (status, _, body) = raw(
            method,
            url(path),
            Some(&token),
            Some("application/json"),
            body.to_owned(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(error_code(&body), "password_change_required", "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("修改密码")),
            "{body}"
        );
    }
    // Refresh is served, and still says so.
    let refreshed = app.client.refresh(&first.refresh_token).await.unwrap();
    assert!(refreshed.password_change_required);
    // A second sign-in can be signed out while the change is pending.
    let other = app
        .client
        .login(ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD, Some("phone"))
        .await
        .unwrap();
    let (status, _, _) = raw(
        Method::POST,
        url("/v1/auth/logout"),
        Some(&other.access_token),
        Some("application/json"),
        serde_json::json!({"refresh_token": other.refresh_token}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The change itself: the current password is still checked.
    let admin = app.client.with_token(refreshed.access_token.clone());
    let wrong = admin
        .change_password("not-the-password", ADMIN_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("wrong_password"));
    admin
        .change_password(ADMIN_BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
        .await
        .unwrap();
    // The same session goes on, now served everything.
    assert!(admin.list_org_units().await.unwrap().is_empty());
    // The bootstrap password is gone; the new one signs in without being asked again.
    assert_eq!(
        app.client
            .login(ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD, None)
            .await
            .unwrap_err()
            .code(),
        Some("invalid_credentials")
    );
    let again = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    assert!(!again.password_change_required);
    // Accounts made by an administrator (and passwords an administrator resets) are not asked
    // to change: only the bootstrap administrator's password came from a command line.
    let committee = admin
        .create_org_unit(&paicha_tests::unit(
            None,
            paicha_domain::org::OrgUnitKind::Committee,
            "首次党工委",
        ))
        .await
        .unwrap();
    admin
        .create_user(&paicha_tests::new_user(
            "fr-admin",
            Role::CommitteeAdmin,
            Some(committee.id),
        ))
        .await
        .unwrap();
    let (_, made) = app.sign_in("fr-admin").await;
    assert!(!made.password_change_required);
    admin
        .reset_password(made.user.id, "a-reset-password-1")
        .await
        .unwrap();
    let reset = app
        .client
        .login("fr-admin", "a-reset-password-1", None)
        .await
        .unwrap();
    assert!(!reset.password_change_required);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = spawn_app().await;
    let wrong = app
        .client
        .login(ADMIN_USER, "not-the-password", None)
        .await
        .unwrap_err();
    let unknown = app
        .client
        .login("nobody-here", "not-the-password", None)
        .await
        .unwrap_err();
    assert_eq!(wrong.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(wrong.code(), Some("invalid_credentials"));
    assert_eq!(unknown.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(unknown.code(), Some("invalid_credentials"));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    // Reuse outside the grace window (here: no window at all).
    let app = spawn_app_with(|s| s.refresh_grace = Duration::ZERO).await;
    let first = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("tablet"))
        .await
        .unwrap();
    let second = app.client.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    // The new access token works.
    assert!(
        app.client
            .with_token(&second.access_token)
            .list_org_units()
            .await
            .is_ok()
    );

    // Presenting the rotated-away token again is reuse: refused, and the whole family goes.
    let reuse = app.client.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(reuse.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(reuse.code(), Some("refresh_token_reused"));
    let descendant = app.client.refresh(&second.refresh_token).await.unwrap_err();
    assert_eq!(descendant.code(), Some("invalid_refresh_token"));

    // Another sign-in of the same user is a different family and still works.
    let other = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    assert!(app.client.refresh(&other.refresh_token).await.is_ok());

    let garbage = app.client.refresh("made-up-token").await.unwrap_err();
    assert_eq!(garbage.code(), Some("invalid_refresh_token"));
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let phone = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("phone"))
        .await
        .unwrap();
    let laptop = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("laptop"))
        .await
        .unwrap();
    let signed_in = app.client.with_token(&phone.access_token);
    signed_in.logout(Some(&phone.refresh_token)).await.unwrap();
    let err = app.client.refresh(&phone.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
    // Only that device signed out.
    let laptop2 = app.client.refresh(&laptop.refresh_token).await.unwrap();

    // Logout with an empty body signs out every device.
    let (status, _, _) = raw(
        Method::POST,
        format!("{}/v1/auth/logout", app.base),
        Some(&laptop2.access_token),
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let err = app
        .client
        .refresh(&laptop2.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));

    // Logout needs a signed-in caller.
    let err = app.client.logout(None).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
}

/// A refresh racing a sign-out may add a token to the sign-in's family that the revoking
/// statement did not see (PostgreSQL reads what was committed when each statement began). The
/// sign-in stays ended: its access tokens are refused, and the racing token refreshes nothing.
#[tokio::test]
async fn a_token_added_to_a_family_after_its_revocation_does_not_bring_it_back() {
    use paicha_auth::refresh::hash_refresh_token;
    let app = spawn_app().await;
    let phone = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("phone"))
        .await
        .unwrap();
    assert_eq!(
        status_with(&app, &phone.access_token).await.0,
        StatusCode::OK
    );
    app.client
        .with_token(&phone.access_token)
        .logout(Some(&phone.refresh_token))
        .await
        .unwrap();
    // What the racing refresh leaves: an unrevoked successor in the revoked family.
    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let old = store
        .refresh_token_by_hash(&hash_refresh_token(&phone.refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert!(old.revoked_at.is_some());
    let raced = "the-successor-a-racing-refresh-wrote";
    let now = Utc::now();
    store
        .insert_refresh_token(paicha_storage::NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            family_id: old.family_id,
            user_id: old.user_id,
            family_created_at: old.family_created_at,
            token_hash: hash_refresh_token(raced),
            device_id: Some("phone".into()),
            now,
            expires_at: now + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let ended = (StatusCode::UNAUTHORIZED, "session_revoked".to_owned());
    assert_eq!(status_with(&app, &phone.access_token).await, ended);
    let err = app.client.refresh(raced).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(status_with(&app, &phone.access_token).await, ended);
}

fn admin_principal(tokens: &paicha_domain::api::v1::TokenResponse) -> Principal {
    Principal {
        user_id: tokens.user.id,
        role: tokens.user.role,
        org_unit_id: tokens.user.org_unit_id.map(paicha_domain::ids::UnitId::new),
        tenant_id: None,
        session_id: None,
    }
}

async fn status_with(app: &paicha_tests::TestApp, token: &str) -> (StatusCode, String) {
    let (status, headers, body) = raw(
        Method::GET,
        format!("{}/v1/org-units", app.base),
        Some(token),
        None,
        "",
    )
    .await;
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(headers["www-authenticate"], "Bearer");
        return (status, error_code(&body));
    }
    (status, String::new())
}

#[tokio::test]
async fn forged_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let tokens = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(
        status_with(&app, &tokens.access_token).await.0,
        StatusCode::OK
    );
    let principal = admin_principal(&tokens);

    // Expired: signed with the server's own key two hours ago.
    let keys = TokenKeys::new(&app.jwt_secret, Duration::from_secs(900));
    let expired = keys
        .issue(&principal, Utc::now() - chrono::Duration::hours(2))
        .unwrap();
    assert_eq!(
        status_with(&app, &expired).await,
        (StatusCode::UNAUTHORIZED, "token_expired".into())
    );

    // Signed with the server's own key, valid, but naming no sign-in, or one that never existed:
    // every token must belong to a live sign-in.
    let no_session = keys.issue(&principal, Utc::now()).unwrap();
    assert_eq!(
        status_with(&app, &no_session).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    let made_up = keys
        .issue(
            &Principal {
                session_id: Some(uuid::Uuid::now_v7()),
                ..principal.clone()
            },
            Utc::now(),
        )
        .unwrap();
    assert_eq!(
        status_with(&app, &made_up).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".into())
    );

    // Signed with another key.
    let other = TokenKeys::new(
        b"some-other-secret-that-is-long-enough",
        Duration::from_secs(900),
    );
    let foreign = other.issue(&principal, Utc::now()).unwrap();
    assert_eq!(
        status_with(&app, &foreign).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );

    let parts: Vec<&str> = tokens.access_token.split('.').collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    // A changed payload under the original signature.
    payload["role"] = "committee_admin".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(
        status_with(&app, &tampered).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );

    // alg: none, with and without the signature.
    header["alg"] = "none".into();
    let none_header = URL_SAFE_NO_PAD.encode(header.to_string());
    for forged in [
        format!("{none_header}.{}.", parts[1]),
        format!("{none_header}.{}.{}", parts[1], parts[2]),
    ] {
        assert_eq!(
            status_with(&app, &forged).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into())
        );
    }

    // No header, another scheme, garbage.
    let (status, _, body) = raw(
        Method::GET,
        format!("{}/v1/org-units", app.base),
        None,
        None,
        "",
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/org-units", app.base))
        .header("authorization", format!("Basic {}", tokens.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(status_with(&app, "garbage").await.1, "invalid_token");
}

#[tokio::test]
async fn failed_logins_are_throttled_then_refused() {
    let app = spawn_app_with(|s| {
        s.login_throttle.max_failures = 4;
        s.login_throttle.slow_after = 2;
    })
    .await;
    for _ in 0..4 {
        let err = app
            .client
            .login(ADMIN_USER, "wrong-password!", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("invalid_credentials"));
    }
    // Locked now: even the right password is refused, with a time to wait.
    let (status, headers, body) = raw(
        Method::POST,
        format!("{}/v1/auth/login", app.base),
        None,
        Some("application/json"),
        serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "login_throttled");
    let retry_after = body["error"]["retry_after"].as_u64().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(
        headers["retry-after"].to_str().unwrap(),
        retry_after.to_string()
    );

    // The throttle is per username: another account is unaffected.
    let t = app.tenant("b").await;
    assert!(app.client.login("b-sec1", PASSWORD, None).await.is_ok());
    drop(t);

    // Usernames that do not exist are throttled the same way, so locking reveals nothing.
    for _ in 0..4 {
        let _ = app
            .client
            .login("ghost-user", "wrong-password!", None)
            .await;
    }
    let err = app
        .client
        .login("ghost-user", "wrong-password!", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("login_throttled"));
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures() {
    let app = spawn_app_with(|s| s.login_throttle.max_failures = 3).await;
    for _ in 0..2 {
        let _ = app.client.login(ADMIN_USER, "wrong-password!", None).await;
    }
    app.client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    for _ in 0..2 {
        let err = app
            .client
            .login(ADMIN_USER, "wrong-password!", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("invalid_credentials"));
    }
}

#[tokio::test]
async fn parallel_guesses_are_counted_one_by_one() {
    let app = spawn_app_with(|s| {
        s.login_throttle.max_failures = 4;
        s.login_throttle.step = Duration::ZERO;
    })
    .await;
    let attempts = (0..16).map(|_| {
        let client = app.client.clone();
        tokio::spawn(async move { client.login(ADMIN_USER, "wrong-password!", None).await })
    });
    let mut codes = vec![];
    for attempt in attempts {
        let err = attempt.await.unwrap().unwrap_err();
        codes.push(err.code().unwrap_or_default().to_owned());
    }
    let wrong = codes.iter().filter(|c| *c == "invalid_credentials").count();
    let refused = codes.iter().filter(|c| *c == "login_throttled").count();
    assert_eq!((wrong, refused), (4, 12), "{codes:?}");
}

#[tokio::test]
async fn strange_credentials_are_refused_cleanly() {
    let app = spawn_app().await;
    let login = format!("{}/v1/auth/login", app.base);
    let long_password = "p".repeat(100_000);
    let cases = [
        (
            serde_json::json!({"username": "a\u{0}b", "password": "x"}),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            serde_json::json!({"username": "İ".repeat(64), "password": "x"}),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            serde_json::json!({"username": ADMIN_USER, "password": long_password}),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            serde_json::json!({"username": "", "password": ""}),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD, "device_id": "a\u{0}b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD, "device_id": "d".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let (got, _, resp) = raw(
            Method::POST,
            login.clone(),
            None,
            Some("application/json"),
            body.to_string(),
        )
        .await;
        assert_eq!(
            (got, error_code(&resp).as_str()),
            (status, code),
            "{}",
            &body.to_string()[..40.min(body.to_string().len())]
        );
    }
    assert!(
        app.client
            .login(ADMIN_USER, ADMIN_PASSWORD, Some("phone-7"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_token_with_the_right_kid_but_another_signature_is_refused() {
    let app = spawn_app().await;
    let tokens = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&tokens.access_token).unwrap();
    assert!(header.kid.is_some());
    let parts: Vec<&str> = tokens.access_token.split('.').collect();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    // Same header (alg, kid), same claims, signed with another secret: only the HMAC differs.
    paicha_auth::token::install_crypto_provider();
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-server-secret-but-long-enough"),
    )
    .unwrap();
    assert_eq!(forged.split('.').next(), parts.first().copied());
    assert_eq!(
        status_with(&app, &forged).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn a_sign_in_ends_at_its_maximum_age_however_often_it_rotates() {
    let app = spawn_app_with(|s| s.refresh_family_max_age = Duration::from_secs(1)).await;
    let tokens = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, None)
        .await
        .unwrap();
    let rotated = app.client.refresh(&tokens.refresh_token).await;
    // Within the second the rotation may still work; after it, the family is over.
    let last = match rotated {
        Ok(t) => t.refresh_token,
        Err(e) => {
            assert_eq!(e.code(), Some("refresh_token_expired"));
            return;
        }
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = app.client.refresh(&last).await.unwrap_err();
    assert_eq!(err.code(), Some("refresh_token_expired"));
}

#[tokio::test]
async fn a_lost_refresh_answer_can_be_retried_within_the_grace_window() {
    let app = spawn_app().await;
    let first = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("phone"))
        .await
        .unwrap();
    let second = app.client.refresh(&first.refresh_token).await.unwrap();
    // The answer was lost: the phone presents the same token again and gets the same successor.
    let retried = app.client.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(retried.refresh_token, second.refresh_token);
    assert!(
        app.client
            .with_token(&retried.access_token)
            .list_org_units()
            .await
            .is_ok()
    );
    // The successor works once, as any refresh token.
    let third = app.client.refresh(&retried.refresh_token).await.unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
    // Once the successor has been used, the old token is a replay even within the window: the
    // family is revoked.
    let replay = app.client.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(replay.code(), Some("refresh_token_reused"));
    let err = app.client.refresh(&third.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family() {
    let app = spawn_app_with(|s| s.refresh_grace = Duration::from_secs(1)).await;
    let first = app
        .client
        .login(ADMIN_USER, ADMIN_PASSWORD, Some("phone"))
        .await
        .unwrap();
    let second = app.client.refresh(&first.refresh_token).await.unwrap();
    // Let the window pass (a clock the test cannot move: the window is a second here).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let reuse = app.client.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(reuse.code(), Some("refresh_token_reused"));
    let err = app.client.refresh(&second.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
    // The family's access token ends with it.
    let (status, code) = status_with(&app, &second.access_token).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
}

/// A login from a given local address (the loopback network is 127.0.0.0/8).
async fn login_from(
    app: &paicha_tests::TestApp,
    local: [u8; 4],
    username: &str,
    password: &str,
) -> (StatusCode, serde_json::Value) {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(local))
        .build()
        .unwrap();
    let resp = http
        .post(format!("{}/v1/auth/login", app.base))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_strangers_failures_do_not_lock_the_user_out() {
    let app = spawn_app().await;
    let _t = app.tenant("x").await;
    let mut refused = 0;
    for _ in 0..50 {
        let (status, body) = login_from(&app, [127, 0, 0, 2], "x-sec1", "wrong-password!").await;
        match status {
            StatusCode::UNAUTHORIZED => assert_eq!(error_code(&body), "invalid_credentials"),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(error_code(&body), "login_throttled");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // The guesser's source is refused after a few tries...
    assert!(refused >= 40, "only {refused} of 50 guesses refused");
    // ...and the real user, from another address, signs in at once.
    let started = std::time::Instant::now();
    let (status, body) = login_from(&app, [127, 0, 0, 3], "x-sec1", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The guesser's source stays refused, also for the right password.
    let (status, _) = login_from(&app, [127, 0, 0, 2], "x-sec1", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_source_guessing_many_usernames_is_refused() {
    let app = spawn_app().await;
    let mut statuses = vec![];
    for i in 0..40 {
        let (status, _) = login_from(
            &app,
            [127, 0, 0, 4],
            &format!("made-up-{i}"),
            "wrong-password!",
        )
        .await;
        statuses.push(status);
    }
    // Per-username counts never lock here (one try each); the source's count does.
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[39], StatusCode::TOO_MANY_REQUESTS);
    // Another source is unaffected.
    let (status, _) = login_from(&app, [127, 0, 0, 5], ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_source() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = paicha_server::config::parse_trusted_proxies("127.0.0.1").unwrap();
        s.login_throttle.max_failures = 3;
    })
    .await;
    let login = |forwarded: &'static str, password: &'static str| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/v1/auth/login"))
                .header("x-forwarded-for", forwarded)
                .json(&serde_json::json!({"username": ADMIN_USER, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            login("203.0.113.7", "wrong-password!").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login("203.0.113.7", ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy signs in.
    assert_eq!(login("203.0.113.8", ADMIN_PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn junk_sign_ins_are_throttled_and_a_real_one_goes_through() {
    let app = spawn_app().await;
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 6]))
        .build()
        .unwrap();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // 300 sign-ins with a username no account can have, ten at a time, from one address.
    let workers: Vec<_> = (0..10)
        .map(|_| {
            let (http, base, answered) = (http.clone(), app.base.clone(), answered.clone());
            tokio::spawn(async move {
                let mut codes = vec![];
                for _ in 0..30 {
                    let resp = http
                        .post(format!("{base}/v1/auth/login"))
                        .json(&serde_json::json!({"username": "!!", "password": "wrong-password!"}))
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status();
                    let body: serde_json::Value = resp.json().await.unwrap();
                    let code = error_code(&body);
                    match (status, code.as_str()) {
                        (StatusCode::UNAUTHORIZED, "invalid_credentials")
                        | (StatusCode::TOO_MANY_REQUESTS, "login_throttled") => {}
                        other => panic!("unexpected {other:?}: {body}"),
                    }
                    codes.push(code);
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                codes
            })
        })
        .collect();
    // Meanwhile, once the flood is under way, a real user signs in from another address.
    while answered.load(std::sync::atomic::Ordering::Relaxed) < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    let (status, body) = login_from(&app, [127, 0, 0, 7], ADMIN_USER, ADMIN_PASSWORD).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        took < Duration::from_secs(2),
        "the real sign-in took {took:?}"
    );
    let mut codes = vec![];
    for worker in workers {
        codes.extend(worker.await.unwrap());
    }
    let refused = codes.iter().filter(|c| *c == "login_throttled").count();
    // The source is refused from its 31st failed attempt on.
    assert!(
        refused >= 250,
        "only {refused} of 300 junk sign-ins refused"
    );
}

#[tokio::test]
async fn over_long_passwords_count_as_failed_sign_ins() {
    let app = spawn_app().await;
    let long_password = "p".repeat(257);
    let mut statuses = vec![];
    for _ in 0..6 {
        let (status, _) = login_from(&app, [127, 0, 0, 8], ADMIN_USER, &long_password).await;
        statuses.push(status);
    }
    // Five failures of one username from one source, then it is refused.
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}
