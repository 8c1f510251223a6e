//! Account lifecycle: disable and enable, role and unit changes, password reset and change,
//! devices and sessions, the account log; a revocation ends access tokens at once on every
//! instance.

use paicha_domain::api::v1::UpdateUser;
use paicha_domain::role::Role;
use paicha_tests::{PASSWORD, spawn_app};
use reqwest::{Method, StatusCode};

use crate::{error_code, raw};

/// The status and error code of a request with `token` to an instance at `base`: the same for
/// a route that takes only the caller (`GET /v1/org-units`) and for the two that take its unit
/// with it (pull and push), or the test fails.
async fn probe(base: &str, token: &str) -> (StatusCode, String) {
    let requests = [
        (Method::GET, "/v1/org-units", None, ""),
        (Method::GET, "/v1/sync/pull?limit=1", None, ""),
        (
            Method::POST,
            "/v1/sync/push",
            Some("application/json"),
            r#"{"device_id":"probe","mutations":[]}"#,
        ),
    ];
    let mut outcomes = Vec::new();
    for (method, path, content_type, body) in requests {
        let (status, _, body) = raw(
            method,
            format!("{base}{path}"),
            Some(token),
            content_type,
            body,
        )
        .await;
        let code = if status.is_success() {
            String::new()
        } else {
            error_code(&body)
        };
        outcomes.push((path, status, code));
    }
    let (_, status, code) = outcomes[0].clone();
    for (path, other_status, other_code) in &outcomes[1..] {
        assert_eq!(
            (*other_status, other_code),
            (status, &code),
            "{path} against GET /v1/org-units"
        );
    }
    (status, code)
}

#[tokio::test]
async fn disabling_a_user_ends_its_token_at_once_on_another_instance() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let other = app.second_instance().await;
    let other_base = other.client.base_url().to_owned();
    let tokens = other
        .client
        .login("a-sec1", PASSWORD, Some("phone"))
        .await
        .unwrap();
    assert_eq!(
        probe(&other_base, &tokens.access_token).await.0,
        StatusCode::OK
    );

    let disabled = t
        .admin
        .update_user(
            tokens.user.id,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(disabled.disabled);
    // The very next request on the other instance is refused.
    assert_eq!(
        probe(&other_base, &tokens.access_token).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".to_owned())
    );
    let err = other
        .client
        .refresh(&tokens.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
    let err = app
        .client
        .login("a-sec1", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_credentials"));

    // Enabled again, the user signs in; the old sign-in stays ended.
    t.admin
        .update_user(
            tokens.user.id,
            &UpdateUser {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(app.client.login("a-sec1", PASSWORD, None).await.is_ok());
    assert_eq!(
        probe(&other_base, &tokens.access_token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoking_a_device_ends_that_device_at_once_on_another_instance() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let other = app.second_instance().await;
    let other_base = other.client.base_url().to_owned();
    let phone = other
        .client
        .login("a-sec1", PASSWORD, Some("lost phone"))
        .await
        .unwrap();
    let laptop = other
        .client
        .login("a-sec1", PASSWORD, Some("laptop"))
        .await
        .unwrap();
    let user = phone.user.id;
    let devices = t.admin.user_devices(user).await.unwrap();
    let names: Vec<_> = devices.iter().map(|d| d.device_id.clone()).collect();
    assert!(names.contains(&Some("lost phone".to_owned())), "{names:?}");
    assert!(
        devices.iter().all(|d| d.active_sessions == 1),
        "{devices:?}"
    );

    t.admin.revoke_device(user, "lost phone").await.unwrap();
    assert_eq!(
        probe(&other_base, &phone.access_token).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".to_owned())
    );
    let err = other
        .client
        .refresh(&phone.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_refresh_token"));
    // The other device goes on.
    assert_eq!(
        probe(&other_base, &laptop.access_token).await.0,
        StatusCode::OK
    );
    let devices = t.admin.user_devices(user).await.unwrap();
    let phone_row = devices
        .iter()
        .find(|d| d.device_id.as_deref() == Some("lost phone"))
        .unwrap();
    assert_eq!(phone_row.active_sessions, 0);

    // Revoking all sessions ends the rest.
    t.admin.revoke_sessions(user).await.unwrap();
    assert_eq!(
        probe(&other_base, &laptop.access_token).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".to_owned())
    );
    let actions: Vec<String> = t
        .admin
        .account_log(user)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["sessions_revoked", "device_revoked", "created"]);
}

#[tokio::test]
async fn role_and_unit_changes_follow_the_policy_and_are_logged() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (_, sec1) = app.sign_in("a-sec1").await;
    let (_, sec2) = app.sign_in("a-sec2").await;
    let user = sec1.user.id;

    // The committee admin moves sec1 to branch 2: its old access token ends, a refresh
    // carries the new unit.
    let moved = t
        .admin
        .update_user(
            user,
            &UpdateUser {
                org_unit_id: Some(t.branch2.id),
                display_name: Some("王书记".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.org_unit_id, Some(t.branch2.id));
    assert_eq!(
        probe(&app.base, &sec1.access_token).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".to_owned())
    );
    let refreshed = app.client.refresh(&sec1.refresh_token).await.unwrap();
    assert_eq!(refreshed.user.org_unit_id, Some(t.branch2.id));
    assert_eq!(
        probe(&app.base, &refreshed.access_token).await.0,
        StatusCode::OK
    );

    // A role that does not fit the unit, a role above the caller's own.
    let err = t
        .admin
        .update_user(
            user,
            &UpdateUser {
                role: Some(Role::StreetStaff),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("role_does_not_fit_unit"));
    let err = t
        .secretary1
        .update_user(
            sec2.user.id,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    // secretary1's token ended when it was moved; sign in again.
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    let secretary2 = app.sign_in("a-sec2").await.0;
    let member = secretary2
        .create_user(&paicha_tests::new_user(
            "a-member",
            Role::GroupMember,
            Some(t.branch2.id),
        ))
        .await
        .unwrap();
    let err = secretary2
        .update_user(
            member.id,
            &UpdateUser {
                role: Some(Role::CommitteeAdmin),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("role_above_own"));
    // A street staff user is outside a branch secretary's reach: invisible to read, refused to
    // change.
    let street_user = app.sign_in("a-street").await.1.user.id;
    let err = secretary2.get_user(street_user).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let err = secretary2
        .update_user(
            street_user,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("outside_scope"));
    // Another tenant's admin does not see the user at all.
    let b = app.tenant("b").await;
    let err = b.admin.get_user(user).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let err = b.admin.revoke_sessions(user).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    // Nobody disables itself.
    let me = app.sign_in("a-admin").await.1.user.id;
    let err = t
        .admin
        .update_user(
            me,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));

    // The log names who changed what, with usernames.
    let log = t.admin.account_log(user).await.unwrap();
    let update = log.iter().find(|e| e.action == "updated").unwrap();
    assert_eq!(update.username, "a-sec1");
    assert_eq!(update.actor_username, "a-admin");
    assert_eq!(
        update.detail["org_unit_id"]["from"],
        serde_json::json!(t.branch1.id)
    );
    assert_eq!(
        update.detail["org_unit_id"]["to"],
        serde_json::json!(t.branch2.id)
    );
    assert_eq!(update.detail["display_name"]["to"], "王书记");
    assert!(log.iter().any(|e| e.action == "created"));
}

#[tokio::test]
async fn passwords_are_reset_by_an_admin_and_changed_by_their_owner() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (_, first) = app.sign_in("a-sec1").await;
    let user = first.user.id;

    t.admin
        .reset_password(user, "a-new-password-123")
        .await
        .unwrap();
    assert_eq!(
        probe(&app.base, &first.access_token).await,
        (StatusCode::UNAUTHORIZED, "session_revoked".to_owned())
    );
    let err = app
        .client
        .login("a-sec1", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_credentials"));
    let (me, mine) = app
        .client
        .signed_in("a-sec1", "a-new-password-123")
        .await
        .unwrap();
    let (_, elsewhere) = app
        .client
        .signed_in("a-sec1", "a-new-password-123")
        .await
        .unwrap();
    let err = t.admin.reset_password(user, "short").await.unwrap_err();
    assert_eq!(err.code(), Some("password_too_short"));

    // Changing one's own password needs the current one.
    let err = me
        .change_password("not-the-password", "another-password-456")
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            Some("wrong_password")
        )
    );
    me.change_password("a-new-password-123", "another-password-456")
        .await
        .unwrap();
    // This sign-in stays, the others end.
    assert_eq!(probe(&app.base, &mine.access_token).await.0, StatusCode::OK);
    assert_eq!(
        probe(&app.base, &elsewhere.access_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.client
            .login("a-sec1", "another-password-456", None)
            .await
            .is_ok()
    );
    let actions: Vec<String> = me
        .account_log(user)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["password_changed", "password_reset", "created"]);
}

#[tokio::test]
async fn only_a_higher_rank_manages_an_account() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    // A second committee admin, and a second secretary in branch 1.
    let admin2 = t
        .admin
        .create_user(&paicha_tests::new_user(
            "a-admin2",
            Role::CommitteeAdmin,
            Some(t.committee.id),
        ))
        .await
        .unwrap();
    let sec1b = t
        .admin
        .create_user(&paicha_tests::new_user(
            "a-sec1b",
            Role::BranchSecretary,
            Some(t.branch1.id),
        ))
        .await
        .unwrap();
    let forbidden = |err: paicha_client::ClientError| {
        assert_eq!(
            (err.status(), err.code()),
            (Some(StatusCode::FORBIDDEN), Some("forbidden")),
            "{err}"
        );
    };

    // A branch secretary does not reset, disable or sign out another branch secretary.
    forbidden(
        t.secretary1
            .reset_password(sec1b.id, "taken-over-password")
            .await
            .unwrap_err(),
    );
    forbidden(
        t.secretary1
            .update_user(
                sec1b.id,
                &UpdateUser {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err(),
    );
    forbidden(t.secretary1.revoke_sessions(sec1b.id).await.unwrap_err());
    forbidden(
        t.secretary1
            .revoke_device(sec1b.id, "phone-1")
            .await
            .unwrap_err(),
    );
    // A committee admin does not manage another committee admin.
    forbidden(
        t.admin
            .reset_password(admin2.id, "taken-over-password")
            .await
            .unwrap_err(),
    );
    forbidden(
        t.admin
            .update_user(
                admin2.id,
                &UpdateUser {
                    display_name: Some("改名".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err(),
    );
    forbidden(t.admin.revoke_sessions(admin2.id).await.unwrap_err());
    // Neither password changed.
    assert!(app.client.login("a-sec1b", PASSWORD, None).await.is_ok());
    assert!(app.client.login("a-admin2", PASSWORD, None).await.is_ok());
    // Seeing them is still allowed (the accounts page lists them).
    assert_eq!(t.admin.get_user(admin2.id).await.unwrap().id, admin2.id);
    assert_eq!(t.secretary1.get_user(sec1b.id).await.unwrap().id, sec1b.id);

    // A strictly higher rank manages: the secretary its group member, the committee admin the
    // secretary, the platform administrator the committee admin.
    let member = t
        .secretary1
        .create_user(&paicha_tests::new_user(
            "a-member1",
            Role::GroupMember,
            Some(t.branch1.id),
        ))
        .await
        .unwrap();
    t.secretary1
        .reset_password(member.id, "member-password-2")
        .await
        .unwrap();
    t.secretary1
        .update_user(
            member.id,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.secretary1.revoke_sessions(member.id).await.unwrap();
    t.admin
        .reset_password(sec1b.id, "secretary-password-2")
        .await
        .unwrap();
    app.admin
        .reset_password(admin2.id, "committee-password-2")
        .await
        .unwrap();
    assert!(
        app.client
            .login("a-admin2", "committee-password-2", None)
            .await
            .is_ok()
    );
    // Oneself: still renamed by oneself.
    let me = app.sign_in("a-sec1").await.1.user.id;
    let renamed = t
        .secretary1
        .update_user(
            me,
            &UpdateUser {
                display_name: Some("李书记".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name.as_deref(), Some("李书记"));
}
