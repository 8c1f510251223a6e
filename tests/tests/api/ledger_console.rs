//! The ledger audit round trip in the office console (docs/domain.md §8.16), in two real
//! headless Chromiums side by side: the work area hands ledger A in on its 台帐 page, the
//! 组织办 approves it in its 待办; an entry added afterwards goes in as a 补报, audited on its
//! own; the 组织办 reopens the first submission with its reason on the 台帐 page, the branch
//! corrects an entry, the work area submits again and the 组织办 approves again. Each page
//! follows the other's pushes by itself; the registers are downloaded per submission and read
//! back. Screenshots: `target/screenshots/console-ledger-*.png`.

use std::path::Path;

use paicha_domain::role::Role;
use paicha_tests::browser::{Browser, DESKTOP};
use paicha_tests::{PASSWORD, Replica, patch, put, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

async fn sign_in(b: &Browser, base: &str, username: &str) {
    b.goto(&format!("{base}/")).await;
    b.type_into("#username", username).await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("a[data-tab=registers]").await;
}

/// Waits until `script` (an expression) is true, up to 15 s.
async fn until(b: &Browser, script: &str) {
    b.wait_until(15, &format!("return !!({script});")).await;
}

/// The expression for ledger A's submission rows on the 台帐 page.
const ROWS: &str =
    "[...document.querySelectorAll('[data-submissions=ledger_a] [data-submission]')]";

/// The status (wire word) of each submission row of ledger A, in order.
async fn statuses(b: &Browser) -> Vec<String> {
    let v = b
        .eval(&format!("return {ROWS}.map((r) => r.dataset.status);"))
        .await;
    serde_json::from_value(v).unwrap()
}

/// The cells of a downloaded workbook's first sheet, row by row.
fn workbook(path: &Path) -> Vec<Vec<String>> {
    use calamine::Reader as _;
    let mut book = calamine::open_workbook_auto(path).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// The names (姓名) in a register workbook's table.
fn names(rows: &[Vec<String>]) -> Vec<String> {
    let at = rows[2].iter().position(|c| c == "姓名").unwrap();
    let mut names: Vec<String> = rows[3..]
        .iter()
        .filter(|r| r[0].parse::<u32>().is_ok())
        .map(|r| r[at].clone())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_ledger_round_trip_in_the_console() {
    let app = spawn_app().await;
    let t = app.tenant("r").await;
    app.user_at(&t.admin, "r-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    let office = app
        .user_at(&t.admin, "r-office", Role::OrgOffice, &t.committee)
        .await;
    let (e1, e2, e3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let b1 = t.branch1.id;
    let pushed = t
        .secretary1
        .push("s", vec![
            put(1, "roster_ledger_entries", e1, b1, json!({"ledger": "ledger_a", "name": "甲一", "reason_not_on_roster": "转入后未登记"})),
            put(2, "roster_ledger_entries", e2, b1, json!({"ledger": "ledger_a", "name": "甲二"})),
        ])
        .await
        .unwrap();
    assert!(pushed.results.iter().all(|r| r.error.is_none()));
    let today = paicha_domain::calendar::china_date(chrono::Utc::now()).to_string();

    // The work area's 台帐 page: nothing handed in yet, two entries waiting. It hands ledger A in.
    let area = Browser::start(DESKTOP).await;
    sign_in(&area, &app.base, "r-area").await;
    area.click("a[data-tab=registers]").await;
    let pending = "[data-submissions=ledger_a] [data-part=unsubmitted] [data-count]";
    until(
        &area,
        &format!("document.querySelector('{pending}')?.textContent === '2条'"),
    )
    .await;
    area.wait_for("[data-submissions=ledger_a] [data-none]")
        .await;
    assert_eq!(
        area.text("[data-submissions=ledger_a] [data-action=submit]")
            .await,
        "报送"
    );
    area.click("[data-submissions=ledger_a] [data-action=submit]")
        .await;
    until(&area, &format!("{ROWS}.length === 1")).await;
    assert_eq!(statuses(&area).await, ["submitted"]);
    until(
        &area,
        &format!("document.querySelector('{pending}').textContent === '0条'"),
    )
    .await;
    let s1: Uuid = serde_json::from_value(
        area.eval(&format!("return {ROWS}[0].dataset.submission;"))
            .await,
    )
    .unwrap();

    // The 组织办 approves it in its 待办; the work area's page follows by itself.
    let org = Browser::start(DESKTOP).await;
    sign_in(&org, &app.base, "r-office").await;
    org.click("a[data-tab=queues]").await;
    let approve = |id: Uuid| format!("[data-record='{id}'] [data-action=approve]");
    org.wait_for(&approve(s1)).await;
    org.click(&approve(s1)).await;
    until(
        &org,
        "document.querySelectorAll('.queue-item').length === 0",
    )
    .await;
    until(&area, &format!("{ROWS}[0].dataset.status === 'approved'")).await;
    assert_eq!(
        area.text(&format!("[data-submission='{s1}'] [data-status-zh]"))
            .await,
        "已通过"
    );

    // An entry added after the approval: not submitted, and the work area hands it in as a 补报.
    let late = t
        .secretary1
        .push(
            "s",
            vec![put(
                3,
                "roster_ledger_entries",
                e3,
                b1,
                json!({"ledger": "ledger_a", "name": "甲三"}),
            )],
        )
        .await
        .unwrap();
    assert!(late.results[0].error.is_none());
    until(
        &area,
        &format!("document.querySelector('{pending}').textContent === '1条'"),
    )
    .await;
    assert_eq!(
        area.text("[data-submissions=ledger_a] [data-action=submit]")
            .await,
        "补报"
    );
    area.click("[data-submissions=ledger_a] [data-action=submit]")
        .await;
    until(&area, &format!("{ROWS}.length === 2")).await;
    let s2: Uuid = serde_json::from_value(
        area.eval(&format!(
            "return {ROWS}.find((r) => r.dataset.submission !== '{s1}').dataset.submission;"
        ))
        .await,
    )
    .unwrap();
    assert!(
        area.text(&format!("[data-submission='{s2}'] .submission-head"))
            .await
            .contains("补报")
    );
    // Nothing left to hand in: a second 补报 cannot be made.
    until(
        &area,
        "document.querySelector('[data-submissions=ledger_a] [data-action=submit]').disabled",
    )
    .await;
    area.screenshot("console-ledger-supplement").await;

    // The 组织办 sees the 补报 as such in its 待办 and approves it on its own.
    org.wait_for(&approve(s2)).await;
    let title = org.text(&format!("[data-record='{s2}'] h3")).await;
    assert!(title.contains("补报"), "{title}");
    org.click(&approve(s2)).await;
    until(
        &org,
        "document.querySelectorAll('.queue-item').length === 0",
    )
    .await;

    // On its 台帐 page it reopens the first submission: not without a reason.
    org.click("a[data-tab=registers]").await;
    until(
        &org,
        &format!("{ROWS}.length === 2 && {ROWS}.every((r) => r.dataset.status === 'approved')"),
    )
    .await;
    let reopen = format!("[data-submission='{s1}'] [data-action=reopen]");
    org.click(&reopen).await;
    let refused = org.text("[data-submissions=ledger_a] [data-error]").await;
    assert!(refused.contains("重新打开原因"), "{refused}");
    org.type_into(&format!("#reopen-{s1}"), "甲一的不在花名册原因需补充")
        .await;
    org.click(&reopen).await;
    until(
        &org,
        &format!(
            "document.querySelector(\"[data-submission='{s1}']\").dataset.status === 'reopened'"
        ),
    )
    .await;
    until(
        &org,
        &format!("document.querySelector('{pending}').textContent === '2条'"),
    )
    .await;
    let note = org
        .text(&format!("[data-submission='{s1}'] [data-note]"))
        .await;
    assert!(
        note.contains("首次报送")
            && note.contains("重新打开")
            && note.contains("甲一的不在花名册原因需补充"),
        "{note}"
    );
    // The 补报 prints what it submitted and what was approved: the entry added later, alone.
    org.click(&format!("[data-submission='{s2}'] [data-download]"))
        .await;
    let file = org.downloaded(&format!("补报-{today}.xlsx")).await;
    let rows = workbook(&file);
    assert_eq!(names(&rows), ["甲三"]);
    assert!(
        rows[1][0].contains("补报") && rows[1][0].contains("已通过"),
        "{:?}",
        rows[1]
    );
    org.screenshot("console-ledger-reopened").await;
    org.resize(paicha_tests::browser::PHONE).await;
    org.screenshot("console-ledger-reopened-phone").await;
    org.resize(DESKTOP).await;

    // The branch corrects the entry (editable again); the work area submits again.
    let corrected = t
        .secretary1
        .push(
            "s",
            vec![patch(
                4,
                "roster_ledger_entries",
                e1,
                None,
                json!({"reason_not_on_roster": "转入后未登记，介绍信已找到"}),
            )],
        )
        .await
        .unwrap();
    assert!(
        corrected.results[0].error.is_none(),
        "{:?}",
        corrected.results
    );
    let resubmit = format!("[data-submission='{s1}'] [data-action=resubmit]");
    area.wait_for(&resubmit).await;
    // While it waits to go in again, there is no 补报 to make.
    assert!(!area.eval("return !!document.querySelector('[data-submissions=ledger_a] [data-action=submit]');").await.as_bool().unwrap());
    area.click(&resubmit).await;
    until(
        &area,
        &format!(
            "document.querySelector(\"[data-submission='{s1}']\").dataset.status === 'submitted'"
        ),
    )
    .await;

    // Back in the 待办, the 组织办 approves it again; the page shows both approved, nothing left.
    org.click("a[data-tab=queues]").await;
    org.wait_for(&approve(s1)).await;
    let title = org.text(&format!("[data-record='{s1}'] h3")).await;
    assert!(!title.contains("补报"), "{title}");
    org.click(&approve(s1)).await;
    until(
        &org,
        "document.querySelectorAll('.queue-item').length === 0",
    )
    .await;
    org.click("a[data-tab=registers]").await;
    until(
        &org,
        &format!("{ROWS}.length === 2 && {ROWS}.every((r) => r.dataset.status === 'approved')"),
    )
    .await;
    until(
        &org,
        &format!("document.querySelector('{pending}').textContent === '0条'"),
    )
    .await;
    org.click(&format!("[data-submission='{s1}'] [data-download]"))
        .await;
    let file = org.downloaded(&format!("报送-{today}.xlsx")).await;
    let rows = workbook(&file);
    assert_eq!(names(&rows), ["甲一", "甲二"]);
    assert!(
        rows.iter()
            .flatten()
            .any(|c| c == "转入后未登记，介绍信已找到"),
        "the corrected entry as approved again"
    );
    assert!(
        rows[1][0].contains("首次报送") && rows[1][0].contains("重新打开"),
        "{:?}",
        rows[1]
    );
    org.screenshot("console-ledger-round-trip").await;

    // The server holds it all, the earlier approval and the reopening in the history.
    let mut replica = Replica::default();
    replica.sync(&office).await.unwrap();
    let s1_fields = &replica.records[&("ledger_submissions".to_owned(), s1)].1;
    assert_eq!(s1_fields["reopen_reason"], "甲一的不在花名册原因需补充");
    assert_eq!(s1_fields["reopened_on"], json!(today));
    let s2_fields = &replica.records[&("ledger_submissions".to_owned(), s2)].1;
    assert_eq!(s2_fields["supplementary"], json!(true));
    let steps: Vec<Value> = office
        .audit("ledger_submissions", s1)
        .await
        .unwrap()
        .entries
        .iter()
        .filter_map(|e| e.changes.get("status").map(|c| c[1].clone()))
        .collect();
    assert_eq!(
        steps,
        ["submitted", "approved", "reopened", "submitted", "approved"]
    );
    area.close().await;
    org.close().await;
}
