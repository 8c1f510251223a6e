//! The numbers the 组织办 reports upward (docs/domain.md §8.9): "at the start" is judged from the
//! facts dated before the start, whenever they are recorded, and what they rest on does not
//! change silently once the baseline is fixed.

use paicha_domain::api::v1::{LedgerTable, MutationStatus, UnitStatus};
use paicha_domain::role::Role;
use paicha_tests::{Tenant, TestApp, delete, id_number, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Today in China, as the server counts days.
pub(crate) fn today() -> chrono::NaiveDate {
    paicha_domain::calendar::china_date(chrono::Utc::now())
}

pub(crate) async fn applied(client: &paicha_client::Client, mutations: Vec<Value>) {
    let r = client.push("phone", mutations).await.unwrap();
    for result in &r.results {
        assert_eq!(result.status, MutationStatus::Applied, "{result:?}");
    }
}

/// Pushes one mutation and returns the code and message it was refused with.
async fn refused(client: &paicha_client::Client, mutation: Value) -> (String, String) {
    let r = client.push("phone", vec![mutation]).await.unwrap();
    let result = &r.results[0];
    assert_eq!(result.status, MutationStatus::Rejected, "{result:?}");
    let e = result.error.as_ref().unwrap();
    (e.code.clone(), e.message.clone())
}

/// What the numbers rest on, decided: a disposition removing `member` that the committee made
/// effective today, and a ledger A submission of the work area that the 组织办 approved. The
/// branch's mutations take ids from `branch_id` (three), the committee's from `admin_id`
/// (three), the work area's and the 组织办's id 1. Returns (disposition, submission).
pub(crate) async fn decided_records(
    t: &Tenant,
    office: &paicha_client::Client,
    area: &paicha_client::Client,
    member: Uuid,
    branch_id: i64,
    admin_id: i64,
) -> (Uuid, Uuid) {
    let (disposition, submission) = (Uuid::now_v7(), Uuid::now_v7());
    let day = today().to_string();
    applied(
        &t.secretary1,
        vec![
            put(
                branch_id,
                "dispositions",
                disposition,
                t.branch1.id,
                json!({"member_id": member, "disposition_type": "remove", "status": "proposed"}),
            ),
            patch(
                branch_id + 1,
                "dispositions",
                disposition,
                None,
                json!({"status": "branch_meeting_decided", "branch_meeting_on": day}),
            ),
            patch(
                branch_id + 2,
                "dispositions",
                disposition,
                None,
                json!({"status": "submitted"}),
            ),
        ],
    )
    .await;
    applied(
        &t.admin,
        vec![
            patch(
                admin_id,
                "dispositions",
                disposition,
                None,
                json!({"status": "approved", "approved_on": day}),
            ),
            patch(
                admin_id + 1,
                "dispositions",
                disposition,
                None,
                json!({"status": "filed", "filed_on": day}),
            ),
            patch(
                admin_id + 2,
                "dispositions",
                disposition,
                None,
                json!({"status": "effective", "effective_on": day}),
            ),
        ],
    )
    .await;
    applied(
        area,
        vec![put(
            1,
            "ledger_submissions",
            submission,
            t.work_area.id,
            json!({"ledger": "ledger_a", "status": "submitted"}),
        )],
    )
    .await;
    applied(
        office,
        vec![patch(
            1,
            "ledger_submissions",
            submission,
            None,
            json!({"status": "approved"}),
        )],
    )
    .await;
    (disposition, submission)
}

/// A campaign that started three days ago, and a branch's three-member 花名册 imported as CSV
/// (姓名, 性别, 公民身份号码, 人员类别, 入党日期), as measurement 1 of issue #20 did it.
/// Returns the campaign and the members' ids by name.
async fn campaign_and_roster(
    app: &TestApp,
    t: &Tenant,
) -> (Uuid, std::collections::HashMap<String, Uuid>) {
    let campaign = Uuid::now_v7();
    let start = today() - chrono::Days::new(3);
    applied(
        &t.admin,
        vec![put(
            1,
            "campaigns",
            campaign,
            t.committee.id,
            json!({"name": "集中排查", "start_date": start.to_string()}),
        )],
    )
    .await;
    let csv = format!(
        "姓名,性别,公民身份号码,人员类别,入党日期\n王三,男,{},正式党员,1990-07-01\n李四,女,{},正式党员,1995-07-01\n张五,男,{},预备党员,2020-07-01\n",
        id_number("19600101", 11),
        id_number("19700202", 22),
        id_number("19800303", 31),
    );
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/import/roster?org_unit_id={}",
            app.base, t.branch1.id
        ))
        .bearer_auth(t.secretary1.access_token().unwrap())
        .header("content-type", "application/octet-stream")
        .body(csv.into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let members = replica
        .records
        .iter()
        .filter(|((c, _), _)| c == "members")
        .map(|((_, id), (_, f))| (f["name"].as_str().unwrap().to_owned(), *id))
        .collect();
    (campaign, members)
}

async fn status(client: &paicha_client::Client) -> UnitStatus {
    client.status(None).await.unwrap()
}

async fn lost_register_rows(app: &TestApp, client: &paicha_client::Client) -> usize {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/ledgers/lost_contact_register?format=json",
            app.base
        ))
        .bearer_auth(client.access_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<LedgerTable>().await.unwrap().rows.len()
}

async fn proposed_lost(client: &paicha_client::Client, member: Uuid) -> bool {
    let list = client.proposals(None, None, false).await.unwrap();
    list.members
        .iter()
        .find(|m| m.member_id == member)
        .and_then(|m| m.lost_contact.as_ref())
        .is_some_and(|l| l.proposed)
}

/// Measurement 1 of issue #20, in both orders: the baseline fixed right after the roster (as
/// the console used to ask) or after the branch recorded what verification established. Both
/// give 1 lost at the start in the status, the proposals and the register, and still 1 after
/// the member is found.
#[tokio::test]
async fn lost_at_the_start_is_the_same_whether_the_baseline_is_fixed_before_or_after_the_facts() {
    for fix_first in [true, false] {
        let app = spawn_app().await;
        let t = app.tenant("a").await;
        let office = app
            .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
            .await;
        let (campaign, m) = campaign_and_roster(&app, &t).await;
        let wang = m["王三"];
        let facts = patch(
            10,
            "members",
            wang,
            None,
            json!({"whereabouts_known": false, "last_activity_on": "2014-01-01", "contact_status": "lost", "roster_status": "pending_lost"}),
        );
        if fix_first {
            office.freeze_baseline(campaign).await.unwrap();
            applied(&t.secretary1, vec![facts]).await;
        } else {
            applied(&t.secretary1, vec![facts]).await;
            office.freeze_baseline(campaign).await.unwrap();
        }
        let s = status(&office).await;
        assert_eq!(
            (
                s.counts.roster_at_start,
                s.counts.lost_contact_at_start,
                s.counts.lost_not_searched,
                s.counts.lost_at_start_found
            ),
            (3, 1, 1, 0),
            "fixed first: {fix_first}"
        );
        assert!(proposed_lost(&office, wang).await);
        assert_eq!(lost_register_rows(&app, &office).await, 1);

        // Found after the start: a new activity date, whereabouts known, a phone.
        applied(
            &t.secretary1,
            vec![patch(
                11,
                "members",
                wang,
                None,
                json!({"contact_status": "found", "whereabouts_known": true, "last_activity_on": today().to_string(), "phone": "13800000000"}),
            )],
        )
        .await;
        let s = status(&office).await;
        assert_eq!(
            (
                s.counts.roster_at_start,
                s.counts.lost_contact_at_start,
                s.counts.lost_at_start_found
            ),
            (3, 1, 1),
            "fixed first: {fix_first}"
        );
    }
}

/// Measurement 2 of issue #20: a member first recorded after the baseline is fixed is judged by
/// the same rule whenever his facts come; a member recorded normal whose facts make him lost
/// at the start is lost at the start and not found until a find is recorded.
#[tokio::test]
async fn late_members_are_judged_by_the_same_rule_and_found_means_a_find() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let (campaign, m) = campaign_and_roster(&app, &t).await;
    let before = t
        .admin
        .members(None, None, None, Some(1), None)
        .await
        .unwrap()
        .total;
    office.freeze_baseline(campaign).await.unwrap();
    // Fixing the baseline writes every member and makes none: the list's total (the tenant's
    // count of live members) is unchanged.
    let after = t
        .admin
        .members(None, None, None, Some(1), None)
        .await
        .unwrap()
        .total;
    assert!(before > 0);
    assert_eq!(after, before);

    // Added after the fix, with no facts; they come a week later.
    let late = Uuid::now_v7();
    applied(
        &t.secretary1,
        vec![put(
            20,
            "members",
            late,
            t.branch1.id,
            json!({"name": "赵六", "member_type": "full"}),
        )],
    )
    .await;
    applied(
        &t.secretary1,
        vec![patch(
            21,
            "members",
            late,
            None,
            json!({"whereabouts_known": false, "last_dues_paid_on": "2013-05-01"}),
        )],
    )
    .await;
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&office).await.unwrap();
    let (_, f) = &replica.records[&("members".to_owned(), late)];
    assert_eq!(
        (&f["baseline_kind"], &f["baseline_lost"]),
        (&json!("added"), &json!(true))
    );
    let s = status(&office).await;
    // Not part of the roster at the start, but searched for: one item without a search.
    assert_eq!(
        (
            s.counts.roster_at_start,
            s.counts.added_after_start,
            s.counts.lost_contact_at_start,
            s.counts.lost_not_searched
        ),
        (3, 1, 0, 1)
    );

    // Recorded normal, but whereabouts unknown and no contact since 2014: lost at the start,
    // and not "found" for being recorded normal.
    applied(
        &t.secretary1,
        vec![patch(
            22,
            "members",
            m["李四"],
            None,
            json!({"contact_status": "normal", "whereabouts_known": false, "last_activity_on": "2014-03-01"}),
        )],
    )
    .await;
    let s = status(&office).await;
    assert_eq!(
        (s.counts.lost_contact_at_start, s.counts.lost_at_start_found),
        (1, 0)
    );
    // The branch's own record that a member was already lost (是否失联) counts too.
    applied(
        &t.secretary1,
        vec![patch(
            23,
            "members",
            m["张五"],
            None,
            json!({"lost_at_start": true, "lost_at_start_reason": "2015年起联系不上，家属称去向不明"}),
        )],
    )
    .await;
    assert_eq!(status(&office).await.counts.lost_contact_at_start, 2);
}

/// Item 2 of issue #20: once the baseline is fixed, what the reported numbers rest on is not
/// deleted or moved; each refusal has its own code and a Chinese message, and the numbers
/// stay.
#[tokio::test]
async fn what_the_fixed_numbers_rest_on_cannot_be_deleted_or_moved() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    let area = app
        .user_at(&t.admin, "area-staff", Role::WorkAreaStaff, &t.work_area)
        .await;
    let (campaign, m) = campaign_and_roster(&app, &t).await;
    let wang = m["王三"];
    applied(
        &t.secretary1,
        vec![patch(
            10,
            "members",
            wang,
            None,
            json!({"whereabouts_known": false, "last_activity_on": "2014-01-01", "contact_status": "lost"}),
        )],
    )
    .await;
    // Before the fix, a member entered by mistake can still be deleted; a second campaign is
    // refused already (one campaign per tenant).
    let extra = Uuid::now_v7();
    applied(
        &t.secretary1,
        vec![put(
            11,
            "members",
            extra,
            t.branch1.id,
            json!({"name": "误录"}),
        )],
    )
    .await;
    applied(&t.secretary1, vec![delete(12, "members", extra)]).await;
    let second = refused(
        &t.admin,
        put(
            2,
            "campaigns",
            Uuid::now_v7(),
            t.committee.id,
            json!({"name": "第二次", "start_date": today().to_string()}),
        ),
    )
    .await;
    assert_eq!(second.0, "campaign_exists");
    office.freeze_baseline(campaign).await.unwrap();
    let before = status(&office).await.counts;
    assert_eq!(
        (before.roster_at_start, before.lost_contact_at_start),
        (3, 1)
    );

    // A disposition made effective by the committee, and an approved ledger submission.
    let (disposition, submission) = decided_records(&t, &office, &area, m["李四"], 13, 3).await;
    let after_dispositions = status(&office).await.counts;

    let cases: Vec<(&paicha_client::Client, Value, &str)> = vec![
        (
            &t.secretary1,
            delete(16, "members", wang),
            "member_in_baseline",
        ),
        (
            &t.secretary1,
            delete(17, "dispositions", disposition),
            "disposition_decided",
        ),
        (
            &area,
            delete(2, "ledger_submissions", submission),
            "submission_approved",
        ),
        (&t.admin, delete(6, "campaigns", campaign), "campaign_fixed"),
        (
            &t.admin,
            patch(
                7,
                "campaigns",
                campaign,
                None,
                json!({"start_date": "2014-01-01"}),
            ),
            "campaign_fixed",
        ),
        (
            &t.admin,
            patch(
                8,
                "campaigns",
                campaign,
                None,
                json!({"lost_threshold_months": 12}),
            ),
            "campaign_fixed",
        ),
    ];
    for (client, mutation, code) in cases {
        let (got, message) = refused(client, mutation).await;
        assert_eq!(got, code);
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{message}"
        );
    }
    let now = status(&office).await.counts;
    assert_eq!(
        (
            now.roster_at_start,
            now.lost_contact_at_start,
            now.members_left
        ),
        (
            after_dispositions.roster_at_start,
            after_dispositions.lost_contact_at_start,
            after_dispositions.members_left
        )
    );
    assert_eq!((now.roster_at_start, now.lost_contact_at_start), (3, 1));
    // The campaign's other dates may still move: deadlines are the committee's to set.
    applied(
        &t.admin,
        vec![patch(
            9,
            "campaigns",
            campaign,
            None,
            json!({"search_ends_on": (today() + chrono::Days::new(30)).to_string()}),
        )],
    )
    .await;
}

/// Item 4 of issue #20: a date of something that has happened cannot lie after today; a date
/// that may be planned can.
#[tokio::test]
async fn a_birth_or_a_confirmation_after_today_is_refused_in_chinese() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let tomorrow = (today() + chrono::Days::new(1)).to_string();
    let (code, message) = refused(
        &t.secretary1,
        put(
            1,
            "members",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"name": "未来", "birth_date": tomorrow}),
        ),
    )
    .await;
    assert_eq!(code, "date_in_future");
    assert!(
        message.contains("出生日期") && message.contains("不能晚于今天"),
        "{message}"
    );
    let member = Uuid::now_v7();
    applied(
        &t.secretary1,
        vec![put(
            2,
            "members",
            member,
            t.branch1.id,
            json!({"name": "今天"}),
        )],
    )
    .await;
    let (code, _) = refused(
        &t.secretary1,
        put(
            3,
            "info_forms",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"member_id": member, "confirmation_mode": "on_site", "confirmed_on": tomorrow}),
        ),
    )
    .await;
    assert_eq!(code, "date_in_future");
    // A disposition may take effect on a later day.
    applied(
        &t.secretary1,
        vec![put(
            4,
            "dispositions",
            Uuid::now_v7(),
            t.branch1.id,
            json!({"member_id": member, "disposition_type": "suspend", "status": "proposed", "correction_deadline": tomorrow}),
        )],
    )
    .await;
}

/// A complete form by post, confirmed on `day` (blobs are named, not uploaded: the form's
/// completeness counts what it names).
fn post_form(member: Uuid, day: chrono::NaiveDate) -> Value {
    let hash = "ab".repeat(32);
    json!({"member_id": member, "confirmation_mode": "post", "confirmed_on": day.to_string(), "copies": 3, "photos": [hash, hash, hash], "signature": hash, "fingerprint": hash})
}

async fn late_entries(app: &TestApp, client: &paicha_client::Client) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/late-entries", app.base))
        .bearer_auth(client.access_token().unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Measurement 4 of issue #20: a complete form entered today and dated before a verification
/// deadline that has passed counts as late, and a second, earlier-dated form does not change
/// that, until the 组织办 accepts the typed date; then it counts on time. Who sees the entries
/// waiting, role by role.
#[tokio::test]
async fn a_back_dated_form_counts_as_late_until_the_office_accepts_it() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let office = app
        .user_at(&t.admin, "org-office", Role::OrgOffice, &t.committee)
        .await;
    // Verification ended yesterday (start + 8 days).
    let start = today() - chrono::Days::new(9);
    applied(
        &t.admin,
        vec![put(
            1,
            "campaigns",
            Uuid::now_v7(),
            t.committee.id,
            json!({"name": "集中排查", "start_date": start.to_string()}),
        )],
    )
    .await;
    let member = Uuid::now_v7();
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    applied(
        &t.secretary1,
        vec![
            put(
                1,
                "members",
                member,
                t.branch1.id,
                json!({"name": "补录党员", "member_type": "full"}),
            ),
            put(
                2,
                "info_forms",
                first,
                t.branch1.id,
                post_form(member, today() - chrono::Days::new(2)),
            ),
            patch(
                3,
                "members",
                member,
                None,
                json!({"roster_status": "confirmed_remote", "remote_reason": "在外地务工"}),
            ),
        ],
    )
    .await;
    let verified = |s: &UnitStatus| {
        let phase = s
            .phases
            .iter()
            .find(|p| p.phase == paicha_domain::campaign::Phase::Verification)
            .unwrap();
        (s.counts.verified_by_deadline, phase.on_time, phase.late)
    };
    assert_eq!(verified(&status(&office).await), (0, 0, 1));
    // A second form, dated earlier still (补录: more than 3 days before it reached the server).
    applied(
        &t.secretary1,
        vec![put(
            4,
            "info_forms",
            second,
            t.branch1.id,
            post_form(member, today() - chrono::Days::new(6)),
        )],
    )
    .await;
    assert_eq!(verified(&status(&office).await), (0, 0, 1));

    let (code, list) = late_entries(&app, &office).await;
    assert_eq!(code, StatusCode::OK);
    let entries = list["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{list}");
    let by_id = |id: Uuid| {
        entries
            .iter()
            .find(|e| e["record_id"] == json!(id))
            .unwrap()
    };
    assert_eq!(by_id(first)["late_entry"], false);
    assert_eq!(by_id(second)["late_entry"], true);
    assert_eq!(by_id(first)["entered_on"], json!(today().to_string()));
    assert_eq!(by_id(first)["member_name"], "补录党员");
    assert_eq!(by_id(first)["field_zh"], "确认日期");

    // The branch cannot accept its own dates; the 组织办 accepts the first form's.
    let (code, _) = refused(
        &t.secretary1,
        patch(
            5,
            "info_forms",
            first,
            None,
            json!({"late_entry_accepted": true}),
        ),
    )
    .await;
    assert_eq!(code, "field_not_writable");
    applied(
        &office,
        vec![patch(
            1,
            "info_forms",
            first,
            None,
            json!({"late_entry_accepted": true}),
        )],
    )
    .await;
    assert_eq!(verified(&status(&office).await), (1, 1, 0));
    let (_, list) = late_entries(&app, &office).await;
    assert_eq!(list["entries"].as_array().map(Vec::len), Some(1));

    // Who sees the entries waiting: the committee's roles and the units above the branch;
    // not the sibling branch; not the platform administrator.
    let viewer = app
        .user_at(&t.admin, "viewer", Role::Viewer, &t.committee)
        .await;
    for (who, client, expected) in [
        ("committee_admin", &t.admin, Some(1)),
        ("viewer", &viewer, Some(1)),
        ("street_staff", &t.street_staff, Some(1)),
        ("branch_secretary", &t.secretary1, Some(1)),
        ("other branch", &t.secretary2, Some(0)),
        ("system_admin", &app.admin, None),
    ] {
        let (code, list) = late_entries(&app, client).await;
        match expected {
            Some(n) => {
                assert_eq!(code, StatusCode::OK, "{who}");
                assert_eq!(list["entries"].as_array().map(Vec::len), Some(n), "{who}");
            }
            None => assert_eq!(code, StatusCode::FORBIDDEN, "{who}"),
        }
    }
}
