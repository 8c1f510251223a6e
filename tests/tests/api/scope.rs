//! Tenancy and the org tree: who sees which units and users, who may create what.

use paicha_domain::api::v1::CreateOrgUnit;
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_tests::{new_user, spawn_app, unit};
use reqwest::StatusCode;
use uuid::Uuid;

fn ids(units: &[paicha_domain::api::v1::OrgUnit]) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = units.iter().map(|u| u.id).collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_caller_sees_exactly_its_subtree() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;

    let mine = a.secretary1.list_org_units().await.unwrap();
    assert_eq!(ids(&mine), vec![a.branch1.id]);

    let street = a.street_staff.list_org_units().await.unwrap();
    let mut expected = vec![a.street.id, a.work_area.id, a.branch1.id, a.branch2.id];
    expected.sort();
    assert_eq!(ids(&street), expected);

    let committee = a.admin.list_org_units().await.unwrap();
    assert_eq!(committee.len(), 5);
    assert_eq!(
        committee[0].id, a.committee.id,
        "parents come before children"
    );
    assert!(committee.iter().all(|u| u.tenant_id == a.committee.id));

    // Nothing of a sibling branch, nothing of another tenant, even by id.
    for (client, foreign) in [
        (&a.secretary1, a.branch2.id),
        (&a.secretary1, a.work_area.id),
        (&a.secretary1, b.branch1.id),
        (&a.admin, b.committee.id),
        (&a.admin, b.branch2.id),
        (&b.street_staff, a.street.id),
    ] {
        let err = client.get_org_unit(foreign).await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(err.code(), Some("not_found"));
    }
    assert_eq!(
        a.secretary1.get_org_unit(a.branch1.id).await.unwrap().id,
        a.branch1.id
    );
    assert_eq!(
        a.admin.get_org_unit(a.branch2.id).await.unwrap().id,
        a.branch2.id
    );
}

#[tokio::test]
async fn another_tenant_answers_exactly_like_a_unit_that_does_not_exist() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let missing = a.admin.get_org_unit(Uuid::now_v7()).await.unwrap_err();
    let foreign = a.admin.get_org_unit(b.branch1.id).await.unwrap_err();
    assert_eq!(format!("{missing}"), format!("{foreign}"));

    // Creating below, or a user in, another tenant's unit: the same 404.
    let err = a
        .admin
        .create_org_unit(&unit(Some(b.work_area.id), OrgUnitKind::Branch, "越界支部"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::NOT_FOUND), Some("not_found"))
    );
    let err = a
        .admin
        .create_user(&new_user(
            "intruder",
            Role::BranchSecretary,
            Some(b.branch1.id),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::NOT_FOUND), Some("not_found"))
    );
    let err = a.admin.delete_org_unit(b.branch1.id).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn system_admin_sees_tenants_but_nothing_inside_them() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let roots = app.admin.list_org_units().await.unwrap();
    let mut expected = vec![a.committee.id, b.committee.id];
    expected.sort();
    assert_eq!(ids(&roots), expected);
    for inside in [a.street.id, a.work_area.id, a.branch1.id, b.branch2.id] {
        let err = app.admin.get_org_unit(inside).await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    }
    // Its user list holds the platform's admins and the tenants' admins, no branch users.
    let users = app.admin.list_users().await.unwrap();
    let roles: Vec<Role> = users.iter().map(|u| u.role).collect();
    assert!(
        roles
            .iter()
            .all(|r| matches!(r, Role::SystemAdmin | Role::CommitteeAdmin)),
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|r| **r == Role::CommitteeAdmin).count(),
        2
    );
    // It does not build inside a tenant either.
    let err = app
        .admin
        .create_org_unit(&unit(
            Some(a.committee.id),
            OrgUnitKind::Street,
            "平台建的街道",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
}

#[tokio::test]
async fn nobody_mints_a_user_above_its_role_or_outside_its_subtree() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let cases = [
        (
            &a.secretary1,
            new_user("x-committee", Role::CommitteeAdmin, Some(a.branch1.id)),
            StatusCode::FORBIDDEN,
            "role_above_own",
        ),
        (
            &a.secretary1,
            new_user("x-sec", Role::GroupMember, Some(a.branch2.id)),
            StatusCode::FORBIDDEN,
            "outside_scope",
        ),
        (
            &a.secretary1,
            new_user("x-up", Role::Viewer, Some(a.work_area.id)),
            StatusCode::FORBIDDEN,
            "outside_scope",
        ),
        (
            &a.admin,
            new_user("x-sys", Role::SystemAdmin, None),
            StatusCode::FORBIDDEN,
            "role_above_own",
        ),
        (
            &a.street_staff,
            new_user("x-street", Role::Viewer, Some(a.street.id)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &a.admin,
            new_user("x-misfit", Role::BranchSecretary, Some(a.work_area.id)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "role_does_not_fit_unit",
        ),
        (
            &app.admin,
            new_user("x-office", Role::OrgOffice, Some(a.committee.id)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (client, user, status, code) in cases {
        let err = client.create_user(&user).await.unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (Some(status), Some(code)),
            "{}",
            user.username
        );
    }
    // What is allowed works, and the user can sign in.
    let created = a
        .secretary1
        .create_user(&new_user("group-1", Role::GroupMember, Some(a.branch1.id)))
        .await
        .unwrap();
    assert_eq!(created.org_unit_id, Some(a.branch1.id));
    assert_eq!(created.tenant_id, Some(a.committee.id));
    app.sign_in("group-1").await;
    let listed = a.secretary1.list_users().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, vec!["a-sec1", "group-1"]);
    assert!(!names.contains(&"a-sec2"), "{names:?}");

    // A group member creates nobody.
    let (member, _) = app.sign_in("group-1").await;
    let err = member
        .create_user(&new_user("group-2", Role::Viewer, Some(a.branch1.id)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
}

#[tokio::test]
async fn user_fields_are_validated() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let mut short = new_user("short-pw", Role::GroupMember, Some(a.branch1.id));
    short.password = "123456".into();
    let err = a.admin.create_user(&short).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            Some("password_too_short")
        )
    );

    let bad_name = new_user("a b", Role::GroupMember, Some(a.branch1.id));
    let err = a.admin.create_user(&bad_name).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_username"));

    let taken = new_user("a-SEC1", Role::GroupMember, Some(a.branch1.id));
    let err = a.admin.create_user(&taken).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::CONFLICT), Some("username_taken"))
    );
}

#[tokio::test]
async fn the_tree_keeps_its_shape() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let cases = [
        (
            unit(Some(a.branch1.id), OrgUnitKind::Branch, "支部下的支部"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parent",
        ),
        (
            unit(Some(a.work_area.id), OrgUnitKind::Street, "工作区下的街道"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parent",
        ),
        (
            unit(None, OrgUnitKind::Committee, "另一个党工委"),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            unit(Some(a.committee.id), OrgUnitKind::Branch, "   "),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
        ),
        (
            unit(Some(Uuid::now_v7()), OrgUnitKind::Branch, "无上级"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (req, status, code) in cases {
        let err = a.admin.create_org_unit(&req).await.unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (Some(status), Some(code)),
            "{}",
            req.name
        );
    }
    let err = app
        .admin
        .create_org_unit(&unit(
            Some(a.committee.id),
            OrgUnitKind::Committee,
            "嵌套党工委",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    // A branch secretary builds nothing.
    let err = a
        .secretary1
        .create_org_unit(&unit(Some(a.branch1.id), OrgUnitKind::Branch, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));

    // A client-chosen id is kept, and taking it twice is a conflict.
    let id = Uuid::now_v7();
    let req = CreateOrgUnit {
        id: Some(id),
        code: Some("WA-2".into()),
        ..unit(Some(a.street.id), OrgUnitKind::WorkArea, "第二工作区")
    };
    let created = a.admin.create_org_unit(&req).await.unwrap();
    assert_eq!((created.id, created.code.as_deref()), (id, Some("WA-2")));
    let err = a.admin.create_org_unit(&req).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::CONFLICT), Some("id_taken"))
    );
    let bad_code = CreateOrgUnit {
        code: Some("带 空格".into()),
        ..unit(Some(a.street.id), OrgUnitKind::WorkArea, "第三工作区")
    };
    assert_eq!(
        a.admin.create_org_unit(&bad_code).await.unwrap_err().code(),
        Some("invalid_code")
    );
}

#[tokio::test]
async fn only_empty_units_are_deleted() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let err = a.admin.delete_org_unit(a.work_area.id).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::CONFLICT), Some("org_unit_has_children"))
    );
    let err = a.admin.delete_org_unit(a.branch1.id).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::CONFLICT), Some("org_unit_has_users"))
    );
    let err = a
        .secretary1
        .delete_org_unit(a.branch1.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    let empty = a
        .admin
        .create_org_unit(&unit(
            Some(a.work_area.id),
            OrgUnitKind::Branch,
            "待撤销支部",
        ))
        .await
        .unwrap();
    a.admin.delete_org_unit(empty.id).await.unwrap();
    assert_eq!(
        a.admin.get_org_unit(empty.id).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND)
    );
    // The tenant root goes only through the platform admin, and only when empty.
    let err = a.admin.delete_org_unit(a.committee.id).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    let err = app.admin.delete_org_unit(a.committee.id).await.unwrap_err();
    assert_eq!(err.code(), Some("org_unit_has_children"));
}

#[tokio::test]
async fn the_committee_admin_renames_units_of_its_tree() {
    use paicha_domain::api::v1::UpdateOrgUnit;
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let renamed = a
        .admin
        .update_org_unit(
            a.branch1.id,
            &UpdateOrgUnit {
                name: Some("  东关社区党支部 ".into()),
                code: Some(Some("DG-01".into())),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.code.as_deref()),
        ("东关社区党支部", Some("DG-01"))
    );
    // The name alone; then the code cleared with null.
    let again = a
        .admin
        .update_org_unit(
            a.branch1.id,
            &UpdateOrgUnit {
                name: None,
                code: Some(None),
            },
        )
        .await
        .unwrap();
    assert_eq!((again.name.as_str(), again.code), ("东关社区党支部", None));
    assert_eq!(
        a.secretary1.get_org_unit(a.branch1.id).await.unwrap().name,
        "东关社区党支部"
    );
    // Its own committee too.
    a.admin
        .update_org_unit(
            a.committee.id,
            &UpdateOrgUnit {
                name: Some("城关街道党工委".into()),
                code: None,
            },
        )
        .await
        .unwrap();
    // Not a street's staff, not another tenant, not a blank name.
    let err = a
        .street_staff
        .update_org_unit(
            a.branch1.id,
            &UpdateOrgUnit {
                name: Some("x".into()),
                code: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    let err = b
        .admin
        .update_org_unit(
            a.branch1.id,
            &UpdateOrgUnit {
                name: Some("x".into()),
                code: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let err = a
        .admin
        .update_org_unit(
            a.branch1.id,
            &UpdateOrgUnit {
                name: Some("   ".into()),
                code: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNPROCESSABLE_ENTITY), Some("invalid_name"))
    );
}
