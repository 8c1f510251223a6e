//! The committee's queue shows what the procedure leaves to it (docs/domain.md §6.3, §6.5,
//! §8.3): a removal (除名) proposed while the member's suspension still runs, marked for its
//! decision, and an archive review where the branch decided to treat a retired member like a
//! pre-1949 one, with its note.

use paicha_domain::api::v1::PushResponse;
use paicha_tests::browser::{Browser, DESKTOP};
use paicha_tests::{patch, put, spawn_app};
use serde_json::json;
use uuid::Uuid;

fn all_applied(r: &PushResponse) {
    assert!(
        r.results.iter().all(|r| r.error.is_none()),
        "{:?}",
        r.results
    );
}

#[tokio::test]
async fn the_committee_sees_a_removal_inside_the_suspension_and_a_branch_exemption() {
    let app = spawn_app().await;
    let t = app.tenant("dq").await;
    let b1 = t.branch1.id;
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    let (member, suspension, removal, review) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let step = |n: i64, id: Uuid, f: serde_json::Value| patch(n, "dispositions", id, None, f);
    all_applied(
        &t.secretary1
            .push("p", vec![
                put(1, "members", member, b1, json!({"name": "停籍甲", "member_type": "full"})),
                put(2, "dispositions", suspension, b1, json!({"member_id": member, "disposition_type": "suspend"})),
                step(3, suspension, json!({"status": "branch_meeting_decided", "branch_meeting_on": (today - chrono::Days::new(40)).to_string()})),
                step(4, suspension, json!({"status": "submitted"})),
            ])
            .await
            .unwrap(),
    );
    all_applied(
        &t.admin
            .push("c", vec![
                step(1, suspension, json!({"status": "approved", "approved_on": (today - chrono::Days::new(35)).to_string()})),
                step(2, suspension, json!({"status": "filed", "filed_on": (today - chrono::Days::new(33)).to_string()})),
                step(3, suspension, json!({"status": "effective", "effective_on": (today - chrono::Days::new(30)).to_string()})),
            ])
            .await
            .unwrap(),
    );
    all_applied(
        &t.secretary1
            .push("p", vec![
                put(5, "dispositions", removal, b1, json!({"member_id": member, "disposition_type": "remove", "basis": "停止党籍后仍无法取得联系"})),
                step(6, removal, json!({"status": "branch_meeting_decided", "branch_meeting_on": today.to_string()})),
                step(7, removal, json!({"status": "submitted"})),
                put(8, "archive_reviews", review, b1, json!({"member_id": member, "reason": "lost", "requested_on": today.to_string(),
                    "branch_exemption": "retired", "branch_exemption_note": "已退休二十年，支部委员会讨论同意参照处理"})),
            ])
            .await
            .unwrap(),
    );

    let b = Browser::start(DESKTOP).await;
    b.console_sign_in(&format!("{}/#/queues", app.base), "dq-admin")
        .await;
    let removal_item = format!("[data-record='{removal}']");
    let review_item = format!("[data-record='{review}']");
    b.wait_for(&removal_item).await;
    b.wait_for(&review_item).await;
    let shown = b.text(&removal_item).await;
    assert!(shown.contains("除名"), "{shown}");
    assert!(
        shown.contains("停止党籍未满期限即提出除名，须党工委决定"),
        "{shown}"
    );
    let shown = b.text(&review_item).await;
    assert!(
        shown.contains("支部决定参照处理：离退休（已退休二十年，支部委员会讨论同意参照处理）"),
        "{shown}"
    );
    b.eval(&format!("document.querySelector(\"{removal_item}\").scrollIntoView({{block: 'start'}}); return true;"))
        .await;
    b.screenshot("console-queue-committee-decisions").await;
    b.close().await;
}
