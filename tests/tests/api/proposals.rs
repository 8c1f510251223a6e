//! `GET /v1/proposals`: the rules of docs/domain.md §8 beside each member, against the campaign's
//! configured start date.

use chrono::NaiveDate;
use paicha_tests::{patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn lost_contact_and_mobile_proposals_follow_the_configured_start_date() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let b1 = t.branch1.id;
    let campaign = Uuid::now_v7();
    t.admin
        .push(
            "office",
            vec![put(
                1,
                "campaigns",
                campaign,
                t.committee.id,
                json!({"name": "排查", "start_date": "2016-03-07"}),
            )],
        )
        .await
        .unwrap();

    // name → facts; the edge dates of docs/domain.md §8.1.
    let members = [
        (
            "九月七日",
            json!({"whereabouts_known": false, "last_activity_on": "2015-09-07"}),
        ),
        (
            "九月八日",
            json!({"whereabouts_known": false, "last_dues_paid_on": "2015-09-08"}),
        ),
        // The later of the two dates counts.
        (
            "两个日期",
            json!({"whereabouts_known": false, "last_activity_on": "2015-01-01", "last_dues_paid_on": "2015-12-01"}),
        ),
        (
            "二月末",
            json!({"whereabouts_known": false, "last_activity_on": "2016-02-29"}),
        ),
        ("无记录", json!({"whereabouts_known": false})),
        (
            "去向明确",
            json!({"whereabouts_known": true, "last_activity_on": "2010-01-01", "flow_out_on": "2015-09-07"}),
        ),
        ("未核实", json!({"last_activity_on": "2010-01-01"})),
        (
            "建国前",
            json!({"join_date": "1949-09-30", "relationship_uninterrupted": true}),
        ),
        (
            "农村老党员",
            json!({"birth_date": "1956-03-07", "org_category": "rural", "relationship_uninterrupted": true}),
        ),
        (
            "二月二十八",
            json!({"whereabouts_known": false, "last_activity_on": "2017-02-28"}),
        ),
        (
            "三月一日",
            json!({"whereabouts_known": false, "last_dues_paid_on": "2017-03-01"}),
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    let mutations = members
        .iter()
        .enumerate()
        .map(|(i, (name, facts))| {
            let id = Uuid::now_v7();
            ids.insert(*name, id);
            let mut fields = facts.as_object().unwrap().clone();
            fields.insert("name".into(), json!(name));
            put(
                i as i64 + 1,
                "members",
                id,
                b1,
                serde_json::Value::Object(fields),
            )
        })
        .collect();
    let r = t.secretary1.push("p", mutations).await.unwrap();
    assert!(r.results.iter().all(|r| r.error.is_none()), "{r:?}");

    let list = t.secretary1.proposals(None, None, false).await.unwrap();
    assert_eq!(list.campaign_start_date, Some(d("2016-03-07")));
    let get = |list: &paicha_domain::api::v1::ProposalList, name: &str| {
        list.members
            .iter()
            .find(|m| m.member_id == ids[name])
            .unwrap()
            .clone()
    };
    let lost = |list: &paicha_domain::api::v1::ProposalList, name: &str| {
        get(list, name).lost_contact.unwrap().proposed
    };
    assert!(lost(&list, "九月七日"));
    let edge = get(&list, "九月七日").lost_contact.unwrap();
    assert_eq!(edge.months_without_contact, Some(6));
    assert!(edge.reason_zh.contains("连续6个月"), "{}", edge.reason_zh);
    assert!(!lost(&list, "九月八日"));
    assert!(!lost(&list, "两个日期"));
    assert!(!lost(&list, "二月末"));
    let unknown = get(&list, "无记录").lost_contact.unwrap();
    assert!(unknown.proposed && unknown.needs_manual_review);
    assert!(!lost(&list, "去向明确"));
    assert!(!lost(&list, "未核实"));
    // Mobile: flowed out on the cutoff with known whereabouts.
    let mobile = get(&list, "去向明确").mobile.unwrap();
    assert!(mobile.proposed);
    assert_eq!(mobile.months_away, Some(6));
    assert!(!get(&list, "九月七日").mobile.unwrap().proposed);
    // The form exemption of §8.3.
    assert_eq!(get(&list, "建国前").form_exemption.proposal, "exempt");
    assert_eq!(
        get(&list, "农村老党员").form_exemption.proposal,
        "eligible_by_reference"
    );
    assert_eq!(get(&list, "九月七日").form_exemption.proposal, "not_exempt");

    // The committee moves the start to 2016-08-31: the cutoff is 2016-02-29 (end of month).
    t.admin
        .push(
            "office",
            vec![patch(
                2,
                "campaigns",
                campaign,
                None,
                json!({"start_date": "2016-08-31"}),
            )],
        )
        .await
        .unwrap();
    let moved = t.secretary1.proposals(None, None, false).await.unwrap();
    assert_eq!(moved.campaign_start_date, Some(d("2016-08-31")));
    assert!(lost(&moved, "二月末"));
    assert!(lost(&moved, "九月八日"));
    assert!(lost(&moved, "两个日期"));
    // And the status counts the same proposals, but for the two members whose only contact
    // dates (2017) lie after the start: the proposals judge today's fields, the status judges
    // what stood before the start (docs/domain.md §8.9), where no contact date is known, so
    // they are lost at the start with the months unknown.
    let status = t.secretary1.status(None).await.unwrap();
    let proposed = moved
        .members
        .iter()
        .filter(|m| m.lost_contact.as_ref().unwrap().proposed)
        .count() as u64;
    assert_eq!(proposed, 5);
    assert_eq!(status.counts.lost_contact_at_start, proposed + 2);
    assert_eq!(status.counts.lost_by_duration.get("unknown"), Some(&3));

    // A start on 2017-08-31: the cutoff is 2017-02-28.
    t.admin
        .push(
            "office",
            vec![patch(
                3,
                "campaigns",
                campaign,
                None,
                json!({"start_date": "2017-08-31"}),
            )],
        )
        .await
        .unwrap();
    let later = t.secretary1.proposals(None, None, false).await.unwrap();
    assert!(lost(&later, "二月二十八"));
    assert!(!lost(&later, "三月一日"));
    assert!(!lost(&later, "去向明确"));

    // Only the members some rule proposes something for.
    let only = t.secretary1.proposals(None, None, true).await.unwrap();
    assert!(only.members.iter().all(|m| m.member_id != ids["未核实"]));

    // Scope: the branch secretary of branch 2 sees none of them; another tenant neither.
    let other = t.secretary2.proposals(None, None, false).await.unwrap();
    assert!(other.members.is_empty());
    let err = t
        .secretary2
        .proposals(Some(b1), None, false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn the_suspension_clock_reminds_before_and_after_two_years() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let b1 = t.branch1.id;
    let (member, disposition) = (Uuid::now_v7(), Uuid::now_v7());
    t.admin
        .push(
            "office",
            vec![put(
                1,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "排查", "start_date": "2016-03-07"}),
            )],
        )
        .await
        .unwrap();
    let steps = |n: i64, status: &str| {
        patch(
            n,
            "dispositions",
            disposition,
            None,
            json!({"status": status}),
        )
    };
    t.secretary1
        .push(
            "p",
            vec![
                put(1, "members", member, b1, json!({"name": "停止党籍者", "member_type": "full"})),
                put(2, "dispositions", disposition, b1, json!({"member_id": member, "disposition_type": "suspend", "status": "proposed"})),
                patch(
                    3,
                    "dispositions",
                    disposition,
                    None,
                    json!({"status": "branch_meeting_decided", "branch_meeting_on": "2016-05-01"}),
                ),
                steps(4, "submitted"),
            ],
        )
        .await
        .unwrap();
    let r = t
        .admin
        .push(
            "office",
            vec![
                patch(
                    2,
                    "dispositions",
                    disposition,
                    None,
                    json!({"status": "approved", "approved_on": "2016-05-10"}),
                ),
                patch(
                    3,
                    "dispositions",
                    disposition,
                    None,
                    json!({"status": "filed", "filed_on": "2016-05-15"}),
                ),
                patch(
                    4,
                    "dispositions",
                    disposition,
                    None,
                    json!({"status": "effective", "effective_on": "2016-05-20"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(r.results.iter().all(|r| r.error.is_none()), "{r:?}");

    let clock = |day: &str| {
        let day = d(day);
        let t = &t;
        async move {
            let list = t.secretary1.proposals(None, Some(day), true).await.unwrap();
            let status = t.admin.status_on(None, Some(day)).await.unwrap();
            (list.members[0].suspension.clone().unwrap(), status.counts)
        }
    };
    let (running, counts) = clock("2017-01-01").await;
    assert_eq!(
        running.clock,
        paicha_domain::campaign::SuspensionClock::Running {
            ends_on: d("2018-05-20"),
            days_left: 504
        }
    );
    assert_eq!(
        (
            counts.suspended,
            counts.suspensions_ending_soon,
            counts.suspensions_ended
        ),
        (1, 0, 0)
    );
    let (soon, counts) = clock("2018-04-01").await;
    assert!(matches!(
        soon.clock,
        paicha_domain::campaign::SuspensionClock::EndingSoon { days_left: 49, .. }
    ));
    assert_eq!(
        (
            counts.suspended,
            counts.suspensions_ending_soon,
            counts.suspensions_ended
        ),
        (1, 1, 0)
    );
    let (ended, counts) = clock("2018-05-21").await;
    assert!(
        ended.reminder_zh.contains("自行脱党"),
        "{}",
        ended.reminder_zh
    );
    assert_eq!(
        (
            counts.suspended,
            counts.suspensions_ending_soon,
            counts.suspensions_ended
        ),
        (1, 0, 1)
    );
}

/// A person whose identity the committee did not recognize is never kept silently: while he
/// is on the roster he is put to the committee (flag him as surplus, the 组织办 removes him),
/// and the proposal ends once he is off the roster.
#[tokio::test]
async fn an_identity_not_recognized_is_put_to_the_committee_until_the_person_is_off_the_roster() {
    let app = spawn_app().await;
    let t = app.tenant("nr").await;
    let b1 = t.branch1.id;
    let office = app
        .user_at(
            &t.admin,
            "org-office",
            paicha_domain::role::Role::OrgOffice,
            &t.committee,
        )
        .await;
    let (member, other, review) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let r = t
        .secretary1
        .push(
            "p",
            vec![
                put(1, "members", member, b1, json!({"name": "存疑甲"})),
                put(2, "members", other, b1, json!({"name": "无疑乙"})),
                put(
                    3,
                    "archive_reviews",
                    review,
                    b1,
                    json!({"member_id": member, "reason": "identity_in_doubt"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
    let proposal_of = |list: &paicha_domain::api::v1::ProposalList, id: Uuid| {
        list.members
            .iter()
            .find(|m| m.member_id == id)
            .and_then(|m| m.identity_not_recognized.clone())
    };
    let list = t.admin.proposals(None, None, false).await.unwrap();
    assert_eq!(
        proposal_of(&list, member),
        None,
        "not while the review runs"
    );

    let r = t
        .admin
        .push(
            "c",
            vec![
                patch(
                    1,
                    "archive_reviews",
                    review,
                    None,
                    json!({"status": "under_review"}),
                ),
                patch(
                    2,
                    "archive_reviews",
                    review,
                    None,
                    json!({"status": "not_recognized", "result_note": "无入党材料，不予认定"}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );

    // The committee's list of what needs deciding holds him, with the review and the reason.
    let list = t.admin.proposals(None, None, true).await.unwrap();
    let proposal = proposal_of(&list, member).expect("put to the committee");
    assert_eq!(proposal.archive_review_id, review);
    assert!(
        proposal.reason_zh.contains("建议列为多余人员"),
        "{}",
        proposal.reason_zh
    );
    assert_eq!(proposal_of(&list, other), None);

    // Flagged as surplus: still proposed, now to the 组织办; removed: no longer.
    t.secretary1
        .push(
            "p",
            vec![patch(
                4,
                "members",
                member,
                None,
                json!({"roster_status": "flagged_surplus"}),
            )],
        )
        .await
        .unwrap();
    let list = t.admin.proposals(None, None, true).await.unwrap();
    let proposal = proposal_of(&list, member).expect("still proposed");
    assert!(
        proposal.reason_zh.contains("待组织办审核移出"),
        "{}",
        proposal.reason_zh
    );
    let r = office
        .push(
            "o",
            vec![patch(
                1,
                "members",
                member,
                None,
                json!({"roster_status": "removed_from_roster"}),
            )],
        )
        .await
        .unwrap();
    assert!(r.results[0].error.is_none(), "{:?}", r.results);
    let list = t.admin.proposals(None, None, false).await.unwrap();
    assert!(list.members.iter().all(|m| m.member_id != member));
}
