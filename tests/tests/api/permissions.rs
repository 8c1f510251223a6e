//! docs/domain.md §9 over HTTP: who may create each kind of record. Every role tries to create one
//! of each in the unit such a record belongs to; exactly the roles of the matrix succeed, the
//! others are refused with `forbidden` (or `outside_scope` when the unit is above them).

use paicha_domain::api::v1::MutationStatus;
use paicha_domain::collection::Collection;
use paicha_domain::role::Role;
use paicha_tests::{put, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn only_the_roles_of_section_9_create_each_kind_of_record() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let b1 = t.branch1.id;
    let (member, case) = (Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push(
            "setup",
            vec![
                put(1, "members", member, b1, json!({"name": "甲"})),
                put(2, "contact_cases", case, b1, json!({"member_id": member})),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );

    let users = [
        (Role::SystemAdmin, app.admin.clone()),
        (Role::CommitteeAdmin, t.admin.clone()),
        (
            Role::OrgOffice,
            app.user_at(&t.admin, "office", Role::OrgOffice, &t.committee)
                .await,
        ),
        (Role::StreetStaff, t.street_staff.clone()),
        (
            Role::WorkAreaStaff,
            app.user_at(&t.admin, "wa-staff", Role::WorkAreaStaff, &t.work_area)
                .await,
        ),
        (Role::BranchSecretary, t.secretary1.clone()),
        (
            Role::GroupMember,
            app.user_at(&t.admin, "group-member", Role::GroupMember, &t.branch1)
                .await,
        ),
        (
            Role::Viewer,
            app.user_at(&t.admin, "viewer", Role::Viewer, &t.committee)
                .await,
        ),
    ];
    let record = |c: Collection| -> (Uuid, Value) {
        match c {
            Collection::Members => (b1, json!({"name": "乙"})),
            Collection::InfoForms => (
                b1,
                json!({"member_id": member, "confirmation_mode": "post"}),
            ),
            Collection::RosterLedgerEntries => (b1, json!({"ledger": "ledger_a", "name": "丙"})),
            Collection::LedgerSubmissions => (t.work_area.id, json!({"ledger": "ledger_a"})),
            Collection::ArchiveReviews => (b1, json!({"member_id": member})),
            Collection::ContactCases => (b1, json!({"member_id": member})),
            Collection::ContactAttempts => (
                b1,
                json!({"case_id": case, "attempted_on": "2016-03-20", "method": "direct", "result": "no_lead"}),
            ),
            Collection::DepartmentSearchRequests => (b1, json!({"case_id": case})),
            Collection::Transfers => (t.street.id, json!({"branch_id": b1, "member_name": "丁"})),
            Collection::PerformanceChecks => (
                b1,
                json!({"member_id": member, "source": "colleagues_neighbours"}),
            ),
            Collection::Dispositions => (
                b1,
                json!({"member_id": member, "disposition_type": "restore_normal"}),
            ),
            Collection::Campaigns => (
                t.committee.id,
                json!({"name": "排查", "start_date": "2016-03-07"}),
            ),
            Collection::WorkingGroups => (
                b1,
                json!({"people": [{"name": "甲"}, {"name": "乙"}, {"name": "丙"}, {"name": "丁"}, {"name": "戊"}]}),
            ),
        }
    };
    let mut checked = 0;
    for (n, (role, client)) in users.iter().enumerate() {
        for (i, c) in Collection::ALL.into_iter().enumerate() {
            let (unit, fields) = record(c);
            let id = Uuid::now_v7();
            let r = client
                .push(
                    "matrix",
                    vec![put((n * 100 + i) as i64 + 1, c.as_str(), id, unit, fields)],
                )
                .await;
            let may = c.schema().creators.contains(role);
            // Where each user stands: the units at or below it.
            let below: Vec<Uuid> = match role {
                Role::StreetStaff => vec![t.street.id, t.work_area.id, b1],
                Role::WorkAreaStaff => vec![t.work_area.id, b1],
                Role::BranchSecretary | Role::GroupMember => vec![b1],
                _ => vec![t.committee.id, t.street.id, t.work_area.id, b1],
            };
            let refusal = if below.contains(&unit) {
                "forbidden"
            } else {
                "outside_scope"
            };
            match r {
                Ok(r) if may => assert_eq!(
                    r.results[0].status,
                    MutationStatus::Applied,
                    "{role:?} {}: {:?}",
                    c.as_str(),
                    r.results[0]
                ),
                Ok(r) => assert_eq!(
                    r.results[0].error.as_ref().map(|e| e.code.as_str()),
                    Some(refusal),
                    "{role:?} {}",
                    c.as_str()
                ),
                // The platform admin and a viewer may not push at all.
                Err(e) => {
                    assert!(!may, "{role:?} {}: {e}", c.as_str());
                    assert_eq!(e.code(), Some("forbidden"), "{role:?}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 13);
}
