//! The office console in a real headless Chromium (see `paicha_tests::browser`): sign-in, the
//! overview's numbers against `GET /v1/status` for every row of the tree, drilling down and
//! back, an expired session returning to the same view, a device's push appearing without a
//! reload, an unreachable server and its recovery, and no request to another host. Screenshots: `target/screenshots/console-*.png`.

use paicha_domain::api::v1::{MutationStatus, UnitStatus};
use paicha_tests::browser::{Browser, DESKTOP, PHONE};
use paicha_tests::{
    ADMIN_BOOTSTRAP_PASSWORD, ADMIN_USER, PASSWORD, id_number, patch, put, spawn_app,
    spawn_app_first_run,
};
use serde_json::json;
use uuid::Uuid;

/// Asserts that every mutation of a push was applied.
fn ok(r: paicha_domain::api::v1::PushResponse) {
    assert!(
        r.results
            .iter()
            .all(|x| x.status == MutationStatus::Applied),
        "{r:?}"
    );
}

/// What the console must show for a unit's row: name, members, verified %, complete forms %.
fn expected_row(s: &UnitStatus) -> (String, String, String, String) {
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            "—".to_owned()
        } else {
            format!(
                "{:.1}%",
                (1000.0 * part as f64 / whole as f64).round() / 10.0
            )
        }
    };
    (
        s.name.clone(),
        s.counts.members_total.to_string(),
        pct(s.counts.verified, s.counts.members_total),
        pct(s.counts.info_forms_complete, s.counts.members_total),
    )
}

/// The rows the page shows: (unit id, name, members, verified %, forms %).
async fn shown_rows(b: &Browser) -> Vec<(String, (String, String, String, String))> {
    let v = b
        .eval(
            r#"return [...document.querySelectorAll('table.units tbody tr')].map(tr => {
                 const cells = [...tr.querySelectorAll('td')];
                 return [tr.dataset.unit, tr.querySelector('th a').textContent.trim(),
                         cells[0].textContent.trim(),
                         cells[1].querySelector('.pct').textContent.trim(),
                         cells[2].querySelector('.pct').textContent.trim()];
               });"#,
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |i: usize| r[i].as_str().unwrap().to_owned();
            (s(0), (s(1), s(2), s(3), s(4)))
        })
        .collect()
}

/// Waits until the overview shows `unit` (its rows are loaded) and checks every row against
/// the server's status of that unit.
async fn check_overview(b: &Browser, status: &UnitStatus) {
    let id = status.org_unit_id.to_string();
    b.wait_until(
        10,
        &format!(
            "return document.querySelector('.overview h1') && location.hash.includes('{id}') \
             || (document.querySelector('.overview h1')?.textContent.includes({name:?}));",
            name = status.name
        ),
    )
    .await;
    b.wait_until(
        10,
        &format!(
            "return document.querySelectorAll('table.units tbody tr').length === {} \
                    && document.querySelector('.overview h1').textContent.includes({:?});",
            status.children.len(),
            status.name
        ),
    )
    .await;
    let mut shown = shown_rows(b).await;
    shown.sort();
    let mut expected: Vec<(String, (String, String, String, String))> = status
        .children
        .iter()
        .map(|c| (c.org_unit_id.to_string(), expected_row(c)))
        .collect();
    expected.sort();
    assert_eq!(shown, expected, "rows of {}", status.name);
    let members = b.text("[data-count=members_total] .stat-value").await;
    assert_eq!(members, status.counts.members_total.to_string());
}

#[tokio::test]
async fn the_console_shows_the_status_drills_down_and_survives_expiry_and_outages() {
    let mut app = spawn_app().await;
    let t = app.tenant("c").await;

    // Data: a campaign that began 20 days ago (so today falls inside its phases); three
    // members in branch 1 (two verified), two in branch 2 (one verified).
    let start =
        (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() - chrono::Duration::days(20);
    ok(t.admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "集中排查", "start_date": start.to_string()}),
            )],
        )
        .await
        .unwrap());
    let mut n = 0;
    for (client, branch, verified, total) in [
        (&t.secretary1, &t.branch1, 2, 3),
        (&t.secretary2, &t.branch2, 1, 2),
    ] {
        let mut batch = Vec::new();
        for i in 0..total {
            n += 1;
            let member = Uuid::now_v7();
            let mut fields =
                json!({"name": format!("党员{n}"), "id_number": id_number("19600101", 2 * n + 1)});
            if i < verified {
                fields["roster_status"] = json!("confirmed_on_site");
                fields["confirmation_exception"] = json!("采集表原件在党支部，待补录");
            }
            fields["member_type"] = json!(if i == 1 { "probationary" } else { "full" });
            batch.push(put(
                batch.len() as i64 + 1,
                "members",
                member,
                branch.id,
                fields,
            ));
        }
        ok(client.push("d", batch).await.unwrap());
    }

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    // Not signed in: the sign-in page, which will return to the overview.
    b.wait_for("#username").await;
    let hash = b.eval("return location.hash;").await;
    assert!(hash.as_str().unwrap().starts_with("#/login"), "{hash}");
    b.screenshot("console-login").await;

    // A wrong password: the server's Chinese message.
    b.expect_severe(&["/v1/auth/login ", "status of 401"], "a wrong password");
    b.type_into("#username", "c-admin").await;
    b.type_into("#password", "wrong-password").await;
    b.click("button[type=submit]").await;
    let error = b.text("#login-error").await;
    assert!(error.contains("用户名或密码"), "{error}");

    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;

    // The committee, then every level below it, row by row against GET /v1/status.
    let top = t.admin.status(None).await.unwrap();
    check_overview(&b, &top).await;
    // The six phases are on the timeline, each with its state in words.
    let phases = b
        .eval(
            "return [...document.querySelectorAll('.gantt .phase .chip')].map(c => c.textContent);",
        )
        .await;
    assert_eq!(phases.as_array().unwrap().len(), top.phases.len());
    assert!(!top.phases.is_empty());
    for (shown, phase) in phases.as_array().unwrap().iter().zip(&top.phases) {
        assert_eq!(shown.as_str().unwrap(), phase.state_zh);
    }
    // The charts draw the same numbers: members by category, and verifications by day (each
    // verified member counted on its day, here today's stamp).
    b.wait_for("[data-chart=verification] .chart-box[data-ready]")
        .await;
    b.wait_for("[data-chart=categories] .chart-box[data-ready]")
        .await;
    let drawn = |chart: &str| {
        format!(
            "const box = document.querySelector('[data-chart={chart}] .chart-box'); \
             return echarts.getInstanceByDom(box).getOption().series[0].data \
               .reduce((a, d) => a + (typeof d === 'number' ? d : d.value), 0);"
        )
    };
    let by_day: u64 = top.counts.verified_by_day.values().sum();
    assert_eq!(by_day, top.counts.verified);
    assert_eq!(b.eval(&drawn("verification")).await, json!(by_day));
    assert_eq!(
        b.eval(&drawn("categories")).await,
        json!(top.counts.members_total)
    );
    // No lost member was found and nothing was transferred: those charts say so in words.
    let empty = b.text("[data-chart=found] .chart-empty").await;
    assert!(empty.contains("还没有"), "{empty}");
    b.screenshot("console-overview-desktop").await;
    // The baseline is provisional until the committee freezes it from here; then the card says
    // when, and the status has it. The roster against the actual count: no branch has recorded
    // its count yet.
    assert_eq!(
        b.eval("return document.querySelector('.baseline')?.dataset.baseline;")
            .await,
        json!("provisional")
    );
    let recon = b.text(".reconciliation").await;
    assert!(recon.contains("实际底数未填报"), "{recon}");
    // Before it is fixed, the card names the units below that still have unverified members.
    let unfinished = top
        .children
        .iter()
        .filter(|c| c.counts.roster.get("unverified").copied().unwrap_or(0) > 0)
        .count();
    assert_eq!(
        b.eval("return document.querySelector('.baseline [data-unfinished]')?.dataset.unfinished;")
            .await,
        json!(unfinished.to_string())
    );
    if let Some(child) = top
        .children
        .iter()
        .find(|c| c.counts.roster.get("unverified").copied().unwrap_or(0) > 0)
    {
        let card = b.text(".baseline").await;
        assert!(card.contains(&child.name), "{card}");
    }
    b.eval("window.confirm = () => true; return true;").await;
    b.click("#freeze-baseline").await;
    b.wait_until(
        20,
        "return document.querySelector('.baseline')?.dataset.baseline === 'frozen';",
    )
    .await;
    let frozen = t.admin.status(None).await.unwrap();
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    assert_eq!(frozen.plan.unwrap().baseline_on, Some(today));
    let card = b.text(".baseline").await;
    assert!(
        card.contains(&format!("在册{}人", frozen.counts.roster_at_start)),
        "{card}"
    );
    b.eval("document.querySelector('.baseline').scrollIntoView(); return true;")
        .await;
    b.screenshot("console-baseline").await;
    b.resize(PHONE).await;
    b.eval("document.querySelector('.baseline').scrollIntoView(); return true;")
        .await;
    b.screenshot("console-baseline-phone").await;
    b.resize(DESKTOP).await;
    b.eval("window.scrollTo(0, 0); return true;").await;
    b.eval("document.querySelector('.charts').scrollIntoView(); return true;")
        .await;
    b.screenshot("console-charts").await;
    b.eval("window.scrollTo(0, 0); return true;").await;

    b.click(&format!("tr[data-unit='{}'] th a", t.street.id))
        .await;
    let street = t.admin.status(Some(t.street.id)).await.unwrap();
    check_overview(&b, &street).await;
    b.click(&format!("tr[data-unit='{}'] th a", t.work_area.id))
        .await;
    let area = t.admin.status(Some(t.work_area.id)).await.unwrap();
    check_overview(&b, &area).await;
    assert_eq!(area.children.len(), 2);
    b.screenshot("console-overview-work-area").await;
    b.click(&format!("tr[data-unit='{}'] th a", t.branch1.id))
        .await;
    let branch = t.admin.status(Some(t.branch1.id)).await.unwrap();
    check_overview(&b, &branch).await;

    // Back up the tree with the browser's back button, and by the breadcrumb.
    b.client.back().await.unwrap();
    check_overview(&b, &area).await;
    b.click(&format!(".crumbs a[href='#/overview/{}']", t.committee.id))
        .await;
    check_overview(&b, &top).await;

    // On a phone: nothing is wider than the screen (the charts follow the window).
    b.resize(PHONE).await;
    b.wait_until(
        10,
        "return document.documentElement.scrollWidth <= window.innerWidth;",
    )
    .await;
    b.screenshot("console-overview-phone").await;
    b.resize(DESKTOP).await;

    // The session can no longer be refreshed: back to sign-in, then to the same view.
    b.goto(&format!("{}/#/overview/{}", app.base, t.work_area.id))
        .await;
    check_overview(&b, &area).await;
    b.expect_severe(
        &["status of 401"],
        "the test spoils the session's tokens: every request until sign-in is refused",
    );
    b.eval(
        "const s = JSON.parse(localStorage.getItem('paicha.session')); \
         s.access_token = 'expired'; s.refresh_token = 'revoked'; \
         localStorage.setItem('paicha.session', JSON.stringify(s)); location.reload(); return true;",
    )
    .await;
    b.wait_for("#username").await;
    let error = b.text("#login-error").await;
    assert!(error.contains("登录已过期"), "{error}");
    b.type_into("#username", "c-admin").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    check_overview(&b, &area).await;
    let hash = b.eval("return location.hash;").await;
    assert_eq!(
        hash.as_str().unwrap(),
        format!("#/overview/{}", t.work_area.id)
    );

    // A device pushes: the open page shows it without a reload, within 2 s.
    let before = area.counts.members_total;
    let pushed = t
        .secretary1
        .push(
            "phone-9",
            vec![put(
                1,
                "members",
                Uuid::now_v7(),
                t.branch1.id,
                json!({"name": "新登记党员"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(pushed.results[0].status, MutationStatus::Applied);
    let seen = std::time::Instant::now();
    b.wait_until(
        2,
        &format!(
            "return document.querySelector('[data-count=members_total] .stat-value').textContent === '{}';",
            before + 1
        ),
    )
    .await;
    assert!(seen.elapsed() < std::time::Duration::from_secs(2));
    let area = t.admin.status(Some(t.work_area.id)).await.unwrap();
    check_overview(&b, &area).await;

    // The registers: the work area's roster downloaded as Excel and read back.
    b.click("a[data-tab=registers]").await;
    b.click("[data-register=roster] button[data-format=xlsx]")
        .await;
    let file = b.downloaded(".xlsx").await;
    assert!(
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("党员花名册"),
        "{file:?}"
    );
    {
        use calamine::Reader as _;
        let mut book = calamine::open_workbook_auto(&file).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let text: Vec<String> = sheet
            .rows()
            .flat_map(|r| r.iter().map(|c| c.to_string()))
            .collect();
        for name in ["党员1", "党员2", "党员3", "党员4", "党员5", "新登记党员"] {
            assert!(text.iter().any(|c| c == name), "{name} in the roster");
        }
    }
    b.screenshot("console-registers").await;

    // Members: searched as typed, the same as GET /v1/members; a member's page has what the
    // rules propose and its history.
    b.click("a[data-tab=members]").await;
    let all = t
        .admin
        .members(Some(t.work_area.id), None, None, None, None)
        .await
        .unwrap();
    b.wait_until(
        10,
        &format!(
            "return document.querySelector('[data-total]')?.dataset.total === '{}';",
            all.total
        ),
    )
    .await;
    b.type_into("#member-search", "党员3").await;
    let found = t
        .admin
        .members(Some(t.work_area.id), Some("党员3"), None, None, None)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    b.wait_until(
        10,
        "return document.querySelectorAll('.member-table tbody tr').length === 1;",
    )
    .await;
    let member = &found.members[0];
    let row = b.text(&format!("tr[data-member='{}']", member.id)).await;
    assert!(row.contains(member.id_number.as_deref().unwrap()), "{row}");
    // A second phone records a 15-digit number (kept as entered, to confirm), a cadre file and
    // the branch's category: the history must say all of it in Chinese.
    let digits = member.id_number.clone().unwrap();
    let legacy = format!("{}{}", &digits[..6], &digits[8..17]);
    ok(t.secretary1
        .push(
            "history-phone",
            vec![patch(
                1,
                "members",
                member.id,
                None,
                json!({"cadre_file": true, "org_category": "street_community", "id_number": legacy}),
            )],
        )
        .await
        .unwrap());
    b.click(&format!("tr[data-member='{}'] button", member.id))
        .await;
    b.wait_for(".history li[data-version]").await;
    b.wait_until(
        10,
        "return document.querySelectorAll('.history li[data-version]').length >= 2;",
    )
    .await;
    let history = b.text(".history").await;
    assert!(
        history.contains("新建") && history.contains("姓名"),
        "{history}"
    );
    // In people's words: field names and values in Chinese, a device by its user and its
    // number among the user's devices, never the API's keys, words or device ids.
    let words = paicha_domain::words::api_words_in(&history);
    assert!(
        words.is_empty(),
        "API words {words:?} in the history: {history}"
    );
    let audit = t.admin.audit("members", member.id).await.unwrap();
    assert!(audit.entries.len() >= 2, "{audit:?}");
    let devices = b
        .eval("return [...document.querySelectorAll('.history [data-device]')].map(d => d.textContent);")
        .await;
    for shown in devices.as_array().unwrap() {
        let shown = shown.as_str().unwrap();
        assert!(
            shown.starts_with("设备") || shown == "表格导入",
            "{shown}: {history}"
        );
        assert!(
            audit.entries.iter().all(|e| e.device_id != shown),
            "{shown}"
        );
    }
    for e in &audit.entries {
        let name = e.user_name.as_deref().expect("the writer's name");
        assert!(history.contains(&format!("{name} · 设备1")), "{history}");
    }
    assert!(history.contains("设备2"), "the second phone: {history}");
    for said in [
        "档案为干部人事档案：— → 是",
        "党组织类别：— → 街道社区",
        "原填写的15位身份号码",
        "身份号码待核实：— → 是",
    ] {
        assert!(history.contains(said), "{said}: {history}");
    }
    b.eval("document.querySelector('.history').scrollIntoView({block: 'start'}); return true;")
        .await;
    b.screenshot("console-member-history").await;
    let proposals = b.text(".proposals").await;
    assert!(proposals.contains("免填入党志愿书"), "{proposals}");
    // The five checks: the roster check as the member's verification state says, with the
    // reason when it was confirmed on an exception.
    b.wait_for("table.checks tr[data-check=roster]").await;
    let roster_check = b.text("table.checks tr[data-check=roster]").await;
    let confirmed = member
        .roster_status
        .as_deref()
        .is_some_and(|s| s.starts_with("confirmed_"));
    assert_eq!(roster_check.contains("已完成"), confirmed, "{roster_check}");
    assert_eq!(
        roster_check.contains("无完整采集表确认的理由"),
        confirmed,
        "{roster_check}"
    );
    assert_eq!(
        b.eval("return document.querySelectorAll('table.checks tbody tr').length;")
            .await,
        serde_json::json!(5)
    );
    b.screenshot("console-member").await;
    b.resize(PHONE).await;
    b.screenshot("console-member-phone").await;
    b.resize(DESKTOP).await;
    b.click("a[data-tab=overview]").await;
    check_overview(&b, &area).await;

    // The server goes away: a clear message, then the page recovers by itself.
    b.expect_severe(
        &["net::ERR_CONNECTION_REFUSED"],
        "the test stops the server",
    );
    app.stop().await;
    b.click(&format!(".crumbs a[href='#/overview/{}']", t.street.id))
        .await;
    let banner = b.text(".banner.offline").await;
    assert!(banner.contains("无法连接服务器"), "{banner}");
    b.screenshot("console-unreachable").await;
    app.restart().await;
    let street = t.admin.status(Some(t.street.id)).await.unwrap();
    check_overview(&b, &street).await;
    b.wait_until(10, "return !document.querySelector('.banner.offline');")
        .await;

    // Nothing the page loaded came from another host.
    let urls = b.requested_urls().await;
    assert!(urls.len() > 5, "{urls:?}");
    for url in &urls {
        assert!(
            url.starts_with(&app.base),
            "a request left for another host: {url}"
        );
    }
    b.close().await;
}

#[tokio::test]
async fn the_org_office_audits_ledgers_in_place_and_the_phase_moves() {
    use paicha_domain::role::Role;
    let app = spawn_app().await;
    let t = app.tenant("q").await;
    // A campaign that starts today, so the ledgers are not yet late.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    ok(t.admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "集中排查", "start_date": today.to_string()}),
            )],
        )
        .await
        .unwrap());
    let area_staff = app
        .user_at(&t.admin, "q-area", Role::WorkAreaStaff, &t.work_area)
        .await;
    app.user_at(&t.admin, "q-office", Role::OrgOffice, &t.committee)
        .await;
    let (a, b_ledger) = (Uuid::now_v7(), Uuid::now_v7());
    ok(area_staff
        .push(
            "pc",
            vec![
                put(
                    1,
                    "ledger_submissions",
                    a,
                    t.work_area.id,
                    json!({"ledger": "ledger_a", "status": "submitted", "entry_count": 3}),
                ),
                put(
                    2,
                    "ledger_submissions",
                    b_ledger,
                    t.work_area.id,
                    json!({"ledger": "ledger_b", "status": "submitted", "entry_count": 1}),
                ),
            ],
        )
        .await
        .unwrap());

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "q-office").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    let top = t.admin.status(None).await.unwrap();
    check_overview(&b, &top).await;
    // Both ledgers were received in time: the phase counts them done.
    let ledger_phase = || async {
        b.text(".gantt .phase[data-phase=ledger_submission] .phase-meta")
            .await
    };
    let phase = ledger_phase().await;
    assert!(
        phase.contains("按期完成") && phase.contains("完成 2/2"),
        "{phase}"
    );
    let ledger_status = |kind: &'static str| {
        let css = format!("tr[data-ledger='{}-{kind}'] .ledger-status", t.work_area.id);
        let b = &b;
        async move { b.text(&css).await }
    };
    assert_eq!(ledger_status("ledger_a").await, "已报送，待审核");
    assert_eq!(ledger_status("ledger_b").await, "已报送，待审核");
    // Two submissions wait: the badge says so.
    b.wait_until(
        10,
        "return document.querySelector('[data-badge]')?.textContent === '2';",
    )
    .await;

    b.click("a[data-tab=queues]").await;
    b.wait_for(&format!("[data-record='{a}'] [data-action=approve]"))
        .await;
    b.screenshot("console-queues").await;
    // Returning without an opinion: the server's Chinese message at the item.
    b.click(&format!("[data-record='{b_ledger}'] [data-action=return]"))
        .await;
    let refused = b
        .text(&format!("[data-record='{b_ledger}'] [data-error]"))
        .await;
    assert!(refused.contains("审核意见"), "{refused}");
    b.type_into(&format!("#opinion-{b_ledger}"), "请补充证明材料")
        .await;
    b.click(&format!("[data-record='{b_ledger}'] [data-action=return]"))
        .await;
    b.click(&format!("[data-record='{a}'] [data-action=approve]"))
        .await;
    b.wait_until(
        10,
        "return document.querySelectorAll('.queue-item').length === 0;",
    )
    .await;
    b.wait_until(10, "return !document.querySelector('[data-badge]');")
        .await;

    // The server holds the decisions, made as pushes by the 组织办 (audited).
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.admin).await.unwrap();
    let a_fields = &replica.records[&("ledger_submissions".to_owned(), a)].1;
    assert_eq!(a_fields["status"], "approved");
    assert_eq!(a_fields["audited_on"], today.to_string());
    let b_fields = &replica.records[&("ledger_submissions".to_owned(), b_ledger)].1;
    assert_eq!(b_fields["status"], "returned");
    assert_eq!(b_fields["audit_opinion"], "请补充证明材料");

    // Back on the overview: the audit shows per ledger, and the returned ledger B reopens the
    // phase (it must be submitted again), exactly as GET /v1/status says.
    b.click("a[data-tab=overview]").await;
    let top = t.admin.status(None).await.unwrap();
    check_overview(&b, &top).await;
    assert_eq!(ledger_status("ledger_a").await, "审核通过");
    assert_eq!(ledger_status("ledger_b").await, "已退回");
    let phase = ledger_phase().await;
    let server = top
        .phases
        .iter()
        .find(|p| p.label_zh == "台帐报送")
        .unwrap();
    assert_eq!((server.on_time + server.late, server.items), (1, 2));
    assert!(
        phase.contains(&server.state_zh) && phase.contains("完成 1/2"),
        "{phase}"
    );
    assert!(!phase.contains("按期完成"), "{phase}");
    b.screenshot("console-overview-ledgers").await;
    b.close().await;
}

#[tokio::test]
async fn a_branch_imports_its_roster_and_sees_every_bad_row() {
    let app = spawn_app().await;
    let t = app.tenant("i").await;
    let dir = paicha_tests::process::temp_dir();
    let bad = dir.path().join("花名册-有错.csv");
    let good = dir.path().join("花名册.csv");
    let (first, second) = (id_number("19550101", 11), id_number("19600606", 12));
    // Row 3 has a wrong check character.
    let mut wrong = id_number("19700101", 13);
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    std::fs::write(
        &bad,
        format!("\u{FEFF}姓名,公民身份号码\r\n张一,{first}\r\n李二,{wrong}\r\n王三,{second}\r\n"),
    )
    .unwrap();
    std::fs::write(
        &good,
        format!("\u{FEFF}姓名,公民身份号码\r\n张一,{first}\r\n王三,{second}\r\n"),
    )
    .unwrap();

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/#/imports", app.base)).await;
    b.type_into("#username", "i-sec1").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("form[data-import=roster]").await;

    let input = b.wait_for("#file-roster").await;
    b.expect_severe(
        &["/v1/import/roster", "status of 422"],
        "a roster with bad rows",
    );
    input.send_keys(&bad.to_string_lossy()).await.unwrap();
    b.click("form[data-import=roster] button[type=submit]")
        .await;
    b.wait_for("[data-outcome=refused]").await;
    let rows = b
        .eval(
            "return [...document.querySelectorAll('table.problems tbody tr')].map(tr => \
             [...tr.children].map(td => td.textContent.trim()));",
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "3");
    assert_eq!(rows[0][1], "公民身份号码");
    assert!(rows[0][2].as_str().unwrap().contains("校验"), "{rows:?}");
    b.screenshot("console-import-refused").await;
    // Nothing was written.
    assert_eq!(
        t.admin
            .status(Some(t.branch1.id))
            .await
            .unwrap()
            .counts
            .members_total,
        0
    );

    let input = b.wait_for("#file-roster").await;
    input.send_keys(&good.to_string_lossy()).await.unwrap();
    b.click("form[data-import=roster] button[type=submit]")
        .await;
    let done = b.text("[data-outcome=imported]").await;
    assert!(done.contains("新增 2 条"), "{done}");
    assert_eq!(
        t.admin
            .status(Some(t.branch1.id))
            .await
            .unwrap()
            .counts
            .members_total,
        2
    );
    b.close().await;
}

#[tokio::test]
async fn the_committee_works_its_queues_in_place() {
    let app = spawn_app().await;
    let t = app.tenant("k").await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    let (member, case, search, disposition, archive) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let patch = paicha_tests::patch;
    ok(t.secretary1
        .push(
            "pc",
            vec![
                put(1, "members", member, t.branch1.id, json!({"name": "孙七", "phone": "1"})),
                put(2, "contact_cases", case, t.branch1.id, json!({"member_id": member})),
                put(3, "department_search_requests", search, t.branch1.id,
                    json!({"case_id": case, "departments": ["police_household"], "requested_on": today})),
                put(4, "dispositions", disposition, t.branch1.id,
                    json!({"member_id": member, "disposition_type": "correction_deadline", "status": "proposed"})),
                patch(5, "dispositions", disposition, None,
                    json!({"status": "branch_meeting_decided", "branch_meeting_on": today})),
                patch(6, "dispositions", disposition, None, json!({"status": "submitted"})),
                put(7, "archive_reviews", archive, t.branch1.id,
                    json!({"member_id": member, "reason": "lost", "requested_on": today})),
            ],
        )
        .await
        .unwrap());
    // Two phones of the branch change the phone from one base: a conflict to review.
    let base = t.secretary1.audit("members", member).await.unwrap().entries[0].version;
    for (device, phone) in [("a", "13900000001"), ("b", "13900000002")] {
        let r = t
            .secretary1
            .push(
                device,
                vec![patch(
                    1,
                    "members",
                    member,
                    Some(base),
                    json!({"phone": phone}),
                )],
            )
            .await
            .unwrap();
        assert_ne!(r.results[0].status, MutationStatus::Rejected);
    }

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/#/queues", app.base)).await;
    b.type_into("#username", "k-admin").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_until(
        10,
        "return document.querySelector('[data-badge]')?.textContent === '4';",
    )
    .await;
    b.wait_for(&format!("[data-record='{search}'] [data-action=record]"))
        .await;
    let names = b.text("[data-queue=dispositions] h3").await;
    assert!(
        names.contains("孙七") && names.contains("限期改正"),
        "{names}"
    );
    b.screenshot("console-queues-committee").await;
    b.resize(PHONE).await;
    b.screenshot("console-queues-committee-phone").await;
    b.resize(DESKTOP).await;

    // The department search: carried out and recorded.
    let item = |id: Uuid, rest: &str| format!("[data-record='{id}'] {rest}");
    b.click(&item(search, &format!("#result-{search}"))).await;
    b.eval(&format!(
        "const s = document.getElementById('result-{search}'); s.value = 'contact_made'; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
    ))
    .await;
    b.type_into(&format!("#detail-{search}"), "经公安户籍查询取得联系")
        .await;
    b.click(&item(search, "[data-action=record]")).await;
    b.wait_until(
        10,
        &format!("return !document.querySelector(\"[data-record='{search}']\");"),
    )
    .await;

    // The disposition: refusing needs an opinion; then approved.
    b.click(&item(disposition, "[data-action=reject]")).await;
    let refused = b.text(&item(disposition, "[data-error]")).await;
    assert!(refused.contains("审批意见"), "{refused}");
    b.click(&item(disposition, "[data-action=approve]")).await;
    b.wait_until(
        10,
        &format!("return !document.querySelector(\"[data-record='{disposition}']\");"),
    )
    .await;

    // The archive review: taken up, then an exemption needs its ground.
    b.click(&item(archive, "[data-action=under_review]")).await;
    b.click(&item(archive, "[data-action=exempt_confirmed]"))
        .await;
    let refused = b.text(&item(archive, "[data-error]")).await;
    assert!(refused.contains("免于补办依据"), "{refused}");
    b.eval(&format!(
        "const s = document.getElementById('exemption-{archive}'); s.value = 'joined_before_founding'; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
    ))
    .await;
    b.click(&item(archive, "[data-action=exempt_confirmed]"))
        .await;
    b.wait_until(
        10,
        &format!("return !document.querySelector(\"[data-record='{archive}']\");"),
    )
    .await;

    // The conflict: reviewed.
    b.click("[data-queue=conflicts] [data-action=resolve]")
        .await;
    b.wait_until(
        10,
        "return !document.querySelector('[data-queue=conflicts] [data-action=resolve]');",
    )
    .await;
    b.wait_until(10, "return !document.querySelector('[data-badge]');")
        .await;

    // The server holds each decision, made by the committee's pushes.
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.admin).await.unwrap();
    let fields = |c: &str, id: Uuid| replica.records[&(c.to_owned(), id)].1.clone();
    let s = fields("department_search_requests", search);
    assert_eq!(
        (s["status"].as_str(), s["result"].as_str()),
        (Some("done"), Some("contact_made"))
    );
    assert_eq!(s["executed_on"], today.as_str());
    assert_eq!(s["result_detail"], "经公安户籍查询取得联系");
    let d = fields("dispositions", disposition);
    assert_eq!(
        (d["status"].as_str(), d["approved_on"].as_str()),
        (Some("approved"), Some(today.as_str()))
    );
    let a = fields("archive_reviews", archive);
    assert_eq!(
        (a["status"].as_str(), a["exemption"].as_str()),
        (Some("exempt_confirmed"), Some("joined_before_founding"))
    );
    assert!(
        t.admin
            .conflicts(None, true)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    b.close().await;
}

/// Sets a `<select>` to `value` the way a person's choice does (the change event).
async fn choose(b: &Browser, css: &str, value: &str) {
    b.wait_until(
        10,
        &format!(
            "return [...document.querySelectorAll({css:?} + ' option')].some(o => o.value === {value:?});"
        ),
    )
    .await;
    b.eval(&format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
    ))
    .await;
}

/// Clicks a button that asks for confirmation, then its in-page 确定.
async fn confirm(b: &Browser, scope: &str, name: &str) {
    b.click(&format!("{scope} [data-action={name}]")).await;
    b.click(&format!("{scope} [data-confirm={name}] [data-yes]"))
        .await;
}

/// The HTTP status of an error answer (none for success).
fn refused<T: std::fmt::Debug>(r: paicha_client::ClientResult<T>) -> Option<u16> {
    r.err().and_then(|e| e.status()).map(|s| s.as_u16())
}

/// The overview's phases as shown: (phase, state in words, dates).
async fn shown_phases(b: &Browser) -> Vec<(String, String, String)> {
    let v = b
        .eval(
            "return [...document.querySelectorAll('.gantt .phase')].map(p => [p.dataset.phase, \
             p.querySelector('.chip').textContent.trim(), \
             p.querySelector('.phase-meta .muted').textContent.trim()]);",
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |i: usize| p[i].as_str().unwrap().to_owned();
            (s(0), s(1), s(2))
        })
        .collect()
}

/// What the overview must show for the server's phases.
fn expected_phases(status: &UnitStatus) -> Vec<(String, String, String)> {
    use chrono::Datelike;
    let short = |d: chrono::NaiveDate| format!("{}月{}日", d.month(), d.day());
    status
        .phases
        .iter()
        .map(|p| {
            (
                serde_json::to_value(p.phase)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                p.state_zh.clone(),
                format!("{}–{}", short(p.starts_on), short(p.deadline)),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_committee_admin_manages_accounts_units_and_the_campaign() {
    let app = spawn_app().await;
    let t = app.tenant("m").await;
    let b = Browser::start(DESKTOP).await;
    // The refusals this test asks for, each shown next to its form.
    b.expect_severe(&["/v1/users ", "status of 409"], "a username already taken");
    b.expect_severe(&["/v1/org-units/", "status of 422"], "a blank unit name");
    b.expect_severe(
        &["/v1/org-units/", "status of 409"],
        "deleting a unit that has children",
    );
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "m-admin").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.click("[data-tab=admin]").await;

    // A new account for branch 1's working group.
    b.type_into("#new-username", "m-worker").await;
    b.type_into("#new-display", "王五").await;
    b.type_into("#new-password", PASSWORD).await;
    choose(&b, "#new-unit", &t.branch1.id.to_string()).await;
    choose(&b, "#new-role", "group_member").await;
    b.click("form[data-form=create-user] button[type=submit]")
        .await;
    b.wait_for("[data-done=create-user]").await;
    let row = b.text("tr[data-user=m-worker]").await;
    assert!(
        row.contains("王五") && row.contains("工作组成员") && row.contains("m第一党支部"),
        "{row}"
    );
    let worker = t
        .admin
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "m-worker")
        .expect("created");
    assert_eq!(worker.org_unit_id, Some(t.branch1.id));
    // The same name again: the server's refusal, in Chinese, next to the form.
    b.type_into("#new-username", "m-worker").await;
    b.type_into("#new-password", PASSWORD).await;
    choose(&b, "#new-unit", &t.branch1.id.to_string()).await;
    choose(&b, "#new-role", "group_member").await;
    b.click("form[data-form=create-user] button[type=submit]")
        .await;
    let error = b.text("[data-error=create-user]").await;
    assert!(error.contains("用户名"), "{error}");

    // Disabled: its token stops working at once; enabled again: it signs in.
    let (worker_client, _) = app.sign_in("m-worker").await;
    assert_eq!(refused(worker_client.status(None).await), None);
    b.click("tr[data-user=m-worker] [data-manage]").await;
    let panel = "[data-panel=m-worker]";
    confirm(&b, panel, "disable").await;
    b.wait_until(
        10,
        "return document.querySelector('tr[data-user=m-worker] [data-state]').textContent.includes('已停用');",
    )
    .await;
    assert!(t.admin.get_user(worker.id).await.unwrap().disabled);
    assert_eq!(refused(worker_client.status(None).await), Some(401));
    b.click(&format!("{panel} [data-action=enable]")).await;
    b.wait_until(
        10,
        "return document.querySelector('tr[data-user=m-worker] [data-state]').textContent.includes('正常');",
    )
    .await;
    assert!(!t.admin.get_user(worker.id).await.unwrap().disabled);

    // A new password: the old one no longer works, the new one does.
    let new_password = "another-horse-battery";
    b.type_into("#reset-password", new_password).await;
    confirm(&b, panel, "reset-password").await;
    b.wait_for("[data-done=reset-password]").await;
    assert_eq!(
        refused(app.client.login("m-worker", PASSWORD, None).await),
        Some(401)
    );
    let tokens = app
        .client
        .login("m-worker", new_password, Some("phone-7"))
        .await
        .unwrap();
    let phone = app.client.with_token(tokens.access_token.clone());
    assert_eq!(refused(phone.status(None).await), None);
    phone
        .pull(&paicha_client::PullQuery {
            device_id: Some("phone-7"),
            ..Default::default()
        })
        .await
        .unwrap();

    // Its device, with its sign-in and sync in Chinese dates; revoked, its token stops working.
    b.click(&format!("{panel} [data-close]")).await;
    b.click("tr[data-user=m-worker] [data-manage]").await;
    let device = b.text(&format!("{panel} [data-device=phone-7]")).await;
    assert!(
        device.contains("年") && device.contains("今天") && device.contains("1 个有效登录"),
        "{device}"
    );
    assert!(!device.contains("从未同步"), "{device}");
    b.screenshot("console-admin-user-desktop").await;
    confirm(
        &b,
        &format!("{panel} [data-device=phone-7]"),
        "revoke-device",
    )
    .await;
    b.wait_for("[data-done=revoke-device]").await;
    assert_eq!(refused(phone.status(None).await), Some(401));
    // The account log says what happened, in Chinese.
    b.wait_until(
        10,
        "return document.querySelectorAll('[data-log] li[data-event=device_revoked]').length === 1;",
    )
    .await;
    let log = b.text(&format!("{panel} [data-log]")).await;
    for said in [
        "创建账号",
        "修改账号",
        "停用账号",
        "启用账号",
        "重置密码",
        "注销设备",
    ] {
        assert!(log.contains(said), "{said} in {log}");
    }
    b.resize(PHONE).await;
    b.eval(&format!(
        "document.querySelector('{panel}').scrollIntoView(); return true;"
    ))
    .await;
    let wide = b
        .eval(
            "return [...document.querySelectorAll('.admin *')].filter(e => \
             e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 \
             && !e.closest('.table-wrap')).map(e => e.tagName + '.' + e.className).slice(0, 5);",
        )
        .await;
    assert_eq!(wide, json!([]), "nothing wider than the phone");
    let overflow = b
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    assert_eq!(overflow, json!(0), "the page does not scroll sideways");
    b.screenshot("console-admin-user-phone").await;
    b.resize(DESKTOP).await;

    // Sync health: branch 1's devices, the worker's phone synced today.
    b.click("[data-section=sync]").await;
    let synced = b
        .text(&format!(
            "[data-branch='{}'] [data-sync-user=m-worker][data-device=phone-7]",
            t.branch1.id
        ))
        .await;
    assert!(
        synced.contains("今天") && synced.contains("正常"),
        "{synced}"
    );
    // The secretary signed in without syncing: behind.
    let sec = b
        .eval(&format!(
            "return document.querySelector(\"[data-branch='{}'] [data-sync-user=m-sec1]\").dataset.behind;",
            t.branch1.id
        ))
        .await;
    assert_eq!(sec, json!("true"));
    b.screenshot("console-admin-sync-desktop").await;

    // The org tree: a branch added under the work area, then deleted; the non-empty work area
    // is refused with the server's message.
    b.click("[data-section=org]").await;
    let area = format!("li[data-unit='{}']", t.work_area.id);
    b.click(&format!("{area} [data-action=add-child]")).await;
    b.type_into(&format!("#child-{}", t.work_area.id), "m第三党支部")
        .await;
    b.click(&format!(
        "{area} form[data-form=add-unit] button[type=submit]"
    ))
    .await;
    let added = b
        .wait_until(
            10,
            "return [...document.querySelectorAll('.org-unit')].find(li => li.textContent.includes('m第三党支部'))?.dataset.unit;",
        )
        .await;
    let added: Uuid = added.as_str().unwrap().parse().unwrap();
    let unit = t.admin.get_org_unit(added).await.unwrap();
    assert_eq!(unit.parent_id, Some(t.work_area.id));
    assert_eq!(unit.kind, paicha_domain::org::OrgUnitKind::Branch);
    // Below the committee, any lower kind may go (the server's placement rule, from its
    // words): the form asks which, the next level first; a work area goes directly below.
    let root = format!("li[data-unit='{}']", t.committee.id);
    b.click(&format!("{root} [data-action=add-child]")).await;
    let kinds = b
        .eval(&format!(
            "return [...document.querySelectorAll('#child-kind-{} option')].map(o => o.textContent);",
            t.committee.id
        ))
        .await;
    assert_eq!(kinds, json!(["街道", "工作区", "党支部"]));
    b.eval(&format!(
        "const s = document.getElementById('child-kind-{}'); s.value = 'work_area'; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;",
        t.committee.id
    ))
    .await;
    b.type_into(&format!("#child-{}", t.committee.id), "m直属工作区")
        .await;
    b.screenshot("console-admin-add-unit").await;
    b.click(&format!(
        "{root} form[data-form=add-unit] button[type=submit]"
    ))
    .await;
    let direct = b
        .wait_until(
            10,
            "return [...document.querySelectorAll('.org-unit')].find(li => li.textContent.includes('m直属工作区'))?.dataset.unit;",
        )
        .await;
    let direct: Uuid = direct.as_str().unwrap().parse().unwrap();
    let direct = t.admin.get_org_unit(direct).await.unwrap();
    assert_eq!(direct.parent_id, Some(t.committee.id));
    assert_eq!(direct.kind, paicha_domain::org::OrgUnitKind::WorkArea);
    // Renamed in place; a blank name gets the server's message.
    let row = format!("li[data-unit='{added}']");
    b.click(&format!("{row} [data-action=rename]")).await;
    b.type_into(&format!("#rename-{added}"), "   ").await;
    b.click(&format!(
        "{row} form[data-form=rename-unit] button[type=submit]"
    ))
    .await;
    let blank = b.text(&format!("{row} [data-error=rename-unit]")).await;
    assert!(blank.contains("组织名称"), "{blank}");
    b.type_into(&format!("#rename-{added}"), "m第三社区党支部")
        .await;
    b.click(&format!(
        "{row} form[data-form=rename-unit] button[type=submit]"
    ))
    .await;
    b.wait_until(
        10,
        &format!("return document.querySelector(\"{row} .org-name\")?.textContent.includes('m第三社区党支部');"),
    )
    .await;
    assert_eq!(
        t.admin.get_org_unit(added).await.unwrap().name,
        "m第三社区党支部"
    );
    b.screenshot("console-admin-org-desktop").await;
    confirm(&b, &area, "delete-unit").await;
    let error = b.text(&format!("{area} > [data-error=delete-unit]")).await;
    assert!(error.contains("下级"), "{error}");
    confirm(&b, &format!("li[data-unit='{added}']"), "delete-unit").await;
    b.wait_until(
        10,
        &format!("return !document.querySelector(\"li[data-unit='{added}']\");"),
    )
    .await;
    assert_eq!(
        refused(t.admin.get_org_unit(added).await),
        Some(404),
        "deleted"
    );

    // The campaign: none yet; a start date 20 days ago, then 60 days ago, and the overview's
    // phases follow the server's each time.
    b.click("[data-section=campaign]").await;
    b.wait_until(
        10,
        "return !document.querySelector('form[data-form=campaign] button[type=submit]').disabled;",
    )
    .await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let mut seen = Vec::new();
    for days in [20, 60] {
        let start = today - chrono::Duration::days(days);
        b.type_into("#campaign-name", "集中排查").await;
        b.type_into("#campaign-start_date", &start.to_string())
            .await;
        b.click("form[data-form=campaign] button[type=submit]")
            .await;
        b.wait_for("[data-done=campaign]").await;
        if days == 20 {
            b.screenshot("console-admin-campaign-desktop").await;
        }
        b.click("[data-tab=overview]").await;
        let status = t.admin.status(None).await.unwrap();
        assert_eq!(status.phases[0].starts_on, start);
        let expected = expected_phases(&status);
        b.wait_until(
            10,
            &format!(
                "return document.querySelectorAll('.gantt .phase').length === {} && \
                 document.querySelector('.gantt .phase .phase-meta .muted').textContent.trim() === {:?};",
                expected.len(),
                expected[0].2
            ),
        )
        .await;
        assert_eq!(shown_phases(&b).await, expected);
        seen.push(expected);
        b.click("[data-tab=admin]").await;
        b.click("[data-section=campaign]").await;
        // The section renders after its campaign is read: until then the field is not there.
        b.wait_until(
            10,
            &format!("return document.querySelector('#campaign-start_date')?.value === '{start}';"),
        )
        .await;
    }
    assert_ne!(seen[0], seen[1]);
    b.resize(PHONE).await;
    b.screenshot("console-admin-campaign-phone").await;
    b.close().await;
}

#[tokio::test]
async fn the_bootstrap_admin_sets_a_new_password_before_the_console_opens() {
    let app = spawn_app_first_run().await;
    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", ADMIN_USER).await;
    b.type_into("#password", ADMIN_BOOTSTRAP_PASSWORD).await;
    b.click("button[type=submit]").await;
    // Nothing of the console yet: the change-password form, in Chinese.
    b.wait_for("form.change-password").await;
    assert!(b.text("#change-title").await.contains("修改密码"));
    assert!(
        b.eval("return !document.querySelector('.tabs');")
            .await
            .as_bool()
            .unwrap()
    );
    // Two different new passwords are caught on the page.
    b.type_into("#current-password", ADMIN_BOOTSTRAP_PASSWORD)
        .await;
    b.type_into("#new-password", "a-brand-new-password").await;
    b.type_into("#confirm-password", "another-new-password")
        .await;
    b.click("form.change-password button[type=submit]").await;
    b.wait_for("#change-error").await;
    assert_eq!(b.text("#change-error").await, "两次输入的新密码不一致");
    // A wrong current password is the server's Chinese message.
    b.eval(
        "for (const id of ['current-password', 'confirm-password']) { \
           const el = document.getElementById(id); \
           el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    .await;
    b.expect_severe(
        &["/v1/auth/password ", "status of 422"],
        "a wrong current password",
    );
    b.type_into("#current-password", "not-the-password").await;
    b.type_into("#confirm-password", "a-brand-new-password")
        .await;
    b.click("form.change-password button[type=submit]").await;
    b.wait_until(
        10,
        "return document.getElementById('change-error')?.textContent === '原密码不正确';",
    )
    .await;
    b.eval(
        "const el = document.getElementById('current-password'); \
         el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    .await;
    b.type_into("#current-password", ADMIN_BOOTSTRAP_PASSWORD)
        .await;
    b.click("form.change-password button[type=submit]").await;
    // The console opens, in the same session.
    b.wait_for("[data-tab=overview]").await;
    assert!(
        b.eval("return !document.querySelector('form.change-password');")
            .await
            .as_bool()
            .unwrap()
    );
    assert_eq!(
        b.eval(
            "return JSON.parse(localStorage.getItem('paicha.session')).password_change_required;"
        )
        .await,
        json!(false)
    );
    b.close().await;
    // The new password is the one now, and nothing more is asked.
    let tokens = app
        .client
        .login(ADMIN_USER, "a-brand-new-password", None)
        .await
        .unwrap();
    assert!(!tokens.password_change_required);
    assert_eq!(
        app.client
            .login(ADMIN_USER, ADMIN_BOOTSTRAP_PASSWORD, None)
            .await
            .unwrap_err()
            .code(),
        Some("invalid_credentials")
    );
}

#[tokio::test]
async fn street_staff_see_no_admin_tab() {
    let app = spawn_app().await;
    let _t = app.tenant("n").await;
    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "n-street").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("[data-tab=overview]").await;
    let tabs = b
        .eval("return [...document.querySelectorAll('.tabs [data-tab]')].map(a => a.dataset.tab);")
        .await;
    assert_eq!(
        tabs,
        json!(["overview", "queues", "members", "imports", "registers"])
    );
    // Typing the address does not open it either.
    b.goto(&format!("{}/#/admin", app.base)).await;
    b.wait_for(".overview").await;
    assert!(
        b.eval("return !document.querySelector('.admin');")
            .await
            .as_bool()
            .unwrap()
    );
    b.close().await;
}

#[tokio::test]
async fn a_branch_secretary_manages_its_working_group_accounts_only() {
    let app = spawn_app().await;
    let t = app.tenant("s").await;
    let b = Browser::start(PHONE).await;
    b.goto(&format!("{}/#/admin", app.base)).await;
    b.type_into("#username", "s-sec1").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("form[data-form=create-user]").await;
    let sections = b
        .eval(
            "return [...document.querySelectorAll('[data-section]')].map(s => s.dataset.section);",
        )
        .await;
    assert_eq!(sections, json!(["users", "sync"]));
    // Only its own branch, and only the roles the server lets it give.
    let units = b
        .eval("return [...document.querySelectorAll('#new-unit option')].map(o => o.value).filter(v => v);")
        .await;
    assert_eq!(units, json!([t.branch1.id.to_string()]));
    choose(&b, "#new-unit", &t.branch1.id.to_string()).await;
    let roles = b
        .eval("return [...document.querySelectorAll('#new-role option')].map(o => o.value).filter(v => v);")
        .await;
    assert_eq!(roles, json!(["branch_secretary", "group_member", "viewer"]));
    b.type_into("#new-username", "s-helper").await;
    b.type_into("#new-password", PASSWORD).await;
    choose(&b, "#new-role", "group_member").await;
    b.click("form[data-form=create-user] button[type=submit]")
        .await;
    b.wait_for("tr[data-user=s-helper]").await;
    let listed = b
        .eval("return [...document.querySelectorAll('tr[data-user]')].map(r => r.dataset.user).sort();")
        .await;
    assert_eq!(listed, json!(["s-helper", "s-sec1"]));
    app.sign_in("s-helper").await;
    // On a phone the accounts are cards: no sideways scrolling to reach 管理.
    let manage = b
        .eval(
            "const r = document.querySelector('tr[data-user=s-helper] [data-manage]').getBoundingClientRect(); \
             return r.right <= document.documentElement.clientWidth && r.height >= 36;",
        )
        .await;
    assert_eq!(manage, json!(true));
    // Five tabs still fit a phone, each on one line.
    let tall = b
        .eval("return [...document.querySelectorAll('.tabs .tab')].filter(t => t.getBoundingClientRect().height > 50).length;")
        .await;
    assert_eq!(tall, json!(0));
    b.eval("window.scrollTo(0, 0); return true;").await;
    b.screenshot("console-admin-secretary-phone").await;
    b.close().await;
}

/// The 组织办 corrects a member's snapshot in the frozen baseline from the member's page, with
/// a reason; the count at the start follows, and the correction is on record.
#[tokio::test]
async fn the_org_office_corrects_a_baseline_snapshot_with_a_reason() {
    use paicha_domain::role::Role;
    let app = spawn_app().await;
    let t = app.tenant("bl").await;
    let campaign = Uuid::now_v7();
    ok(t.admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                campaign,
                t.committee.id,
                json!({"name": "集中排查", "start_date": "2026-03-07"}),
            )],
        )
        .await
        .unwrap());
    let member = Uuid::now_v7();
    ok(t.secretary1
        .push(
            "p",
            vec![put(
                1,
                "members",
                member,
                t.branch1.id,
                json!({"name": "底数党员", "whereabouts_known": false, "last_activity_on": "2024-01-10"}),
            )],
        )
        .await
        .unwrap());
    let office = app
        .user_at(&t.admin, "bl-office", Role::OrgOffice, &t.committee)
        .await;
    office.freeze_baseline(campaign).await.unwrap();
    assert_eq!(
        t.admin
            .status(None)
            .await
            .unwrap()
            .counts
            .lost_contact_at_start,
        1
    );

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "bl-office").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.click("a[data-tab=members]").await;
    b.type_into("#member-search", "底数党员").await;
    b.wait_until(
        10,
        "return document.querySelectorAll('.member-table tbody tr').length === 1;",
    )
    .await;
    b.click(&format!("tr[data-member='{member}'] button")).await;
    b.wait_for(".baseline-row").await;
    let shown = b.text(".baseline-row").await;
    assert!(shown.contains("排查开始时失联25个月"), "{shown}");
    // The last activity was entered wrongly: the member came to a meeting in December 2025.
    b.click("#correct-baseline").await;
    b.click("#baseline-lost").await;
    // Without a reason nothing is sent.
    b.click("#baseline-save").await;
    let error = b.text(".baseline-row .error-text").await;
    assert!(error.contains("更正理由"), "{error}");
    b.type_into(
        "#baseline-reason",
        "最后参加组织生活日期录入有误，应为2025年12月",
    )
    .await;
    b.click("#baseline-save").await;
    b.wait_until(
        10,
        "return document.querySelector('.baseline-row')?.textContent.includes('经组织办更正');",
    )
    .await;
    b.screenshot("console-baseline-corrected").await;
    let counts = t.admin.status(None).await.unwrap().counts;
    assert_eq!(
        (counts.lost_contact_at_start, counts.baseline_corrections),
        (0, 1)
    );
    // On record: who changed the snapshot, from what.
    b.wait_until(
        10,
        "return document.querySelector('.history')?.textContent.includes('底数更正理由');",
    )
    .await;
    let history = b.text(".history").await;
    assert!(history.contains("排查开始时失联：是 → 否"), "{history}");
    assert!(!history.contains("baseline_"), "no English key: {history}");
    // A branch cannot correct it.
    let refused = t
        .secretary1
        .correct_baseline(
            member,
            &paicha_domain::api::v1::BaselineCorrection {
                lost: true,
                lost_months: None,
                mobile: false,
                reason: "x".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(reqwest::StatusCode::FORBIDDEN));
    b.close().await;
}

/// Issue #20's signed reports in the console: the 组织办 signs the committee's status, reads it
/// as signed, prints it (A4 landscape, the SHA-256 and the audit chain's head on the paper), and
/// sees beside it what has moved since.
#[tokio::test]
async fn the_org_office_signs_a_report_prints_it_and_sees_what_moved_since() {
    use paicha_domain::role::Role;
    let app = spawn_app().await;
    let t = app.tenant("rp").await;
    let campaign = Uuid::now_v7();
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    let start = today - chrono::Days::new(3);
    ok(t.admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                campaign,
                t.committee.id,
                json!({"name": "集中排查", "start_date": start.to_string()}),
            )],
        )
        .await
        .unwrap());
    let (lost, other) = (Uuid::now_v7(), Uuid::now_v7());
    ok(t.secretary1
        .push(
            "p",
            vec![
                put(1, "members", lost, t.branch1.id, json!({"name": "失联党员", "whereabouts_known": false, "last_activity_on": "2023-05-01", "contact_status": "lost"})),
                put(2, "members", other, t.branch1.id, json!({"name": "在册党员"})),
            ],
        )
        .await
        .unwrap());
    let office = app
        .user_at(&t.admin, "rp-office", Role::OrgOffice, &t.committee)
        .await;
    office.freeze_baseline(campaign).await.unwrap();

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "rp-office").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.click("a[data-tab=reports]").await;
    b.wait_for("[data-reports='0']").await;
    b.eval("window.confirm = () => true; return true;").await;
    b.click("#sign-report").await;
    b.wait_for(".report[data-report]").await;
    let reports = {
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/reports", app.base))
            .bearer_auth(office.access_token().unwrap())
            .send()
            .await
            .unwrap();
        resp.json::<paicha_domain::api::v1::ReportList>()
            .await
            .unwrap()
    };
    assert_eq!(reports.reports.len(), 1);
    let signed = &reports.reports[0];
    assert_eq!(signed.as_of, today);
    let page = b.text(".report").await;
    assert!(page.contains("党员组织关系集中排查情况报表"), "{page}");
    assert!(page.contains(&signed.content_sha256), "{page}");
    assert!(page.contains(&signed.chain_head), "{page}");
    assert_eq!(
        b.eval("return document.querySelector(\"tr[data-count=lost_contact_at_start] td\").textContent;")
            .await,
        json!("1")
    );
    assert_eq!(
        b.eval("return document.querySelector(\"tr[data-count=roster_at_start] td\").textContent;")
            .await,
        json!("2")
    );
    b.wait_for("[data-changes='0']").await;
    b.screenshot("console-report").await;
    let pdf = b.print_pdf("console-report-print", true).await;
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    b.resize(PHONE).await;
    b.screenshot("console-report-phone").await;
    b.resize(DESKTOP).await;

    // The member is found: the report stays as signed, and what moved is shown beside it.
    ok(t.secretary1
        .push(
            "p",
            vec![patch(
                3,
                "members",
                lost,
                None,
                json!({"contact_status": "found", "whereabouts_known": true}),
            )],
        )
        .await
        .unwrap());
    b.goto_hash(&format!("#/reports/{}", t.committee.id)).await;
    b.wait_for(&format!("tr[data-report-id='{}']", signed.id))
        .await;
    b.click(&format!("tr[data-report-id='{}'] a", signed.id))
        .await;
    b.wait_for("tr[data-moved=lost_at_start_found]").await;
    assert_eq!(
        b.eval("return document.querySelector(\"tr[data-count=lost_contact_at_start] td\").textContent;")
            .await,
        json!("1")
    );
    let moved = b.text(".report-since").await;
    assert!(moved.contains("排查开始时失联、现已取得联系"), "{moved}");
    assert!(moved.contains("党员"), "{moved}");
    b.eval("document.querySelector('.report-since').scrollIntoView(); return true;")
        .await;
    b.screenshot("console-report-changes").await;
    b.close().await;
}

/// Issue #20, item 4: a form entered after the verification deadline but dated before it counts
/// as late until the 组织办 accepts its date, with one click in 待办; the member's checks say
/// so.
#[tokio::test]
async fn the_org_office_accepts_a_back_dated_form_in_its_queue() {
    use paicha_domain::role::Role;
    let app = spawn_app().await;
    let t = app.tenant("le").await;
    let today = paicha_domain::calendar::china_date(chrono::Utc::now());
    // Verification ended yesterday (start + 8 days).
    let start = today - chrono::Days::new(9);
    ok(t.admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                Uuid::now_v7(),
                t.committee.id,
                json!({"name": "集中排查", "start_date": start.to_string()}),
            )],
        )
        .await
        .unwrap());
    let (member, form) = (Uuid::now_v7(), Uuid::now_v7());
    let hash = "ab".repeat(32);
    ok(t.secretary1
        .push(
            "p",
            vec![
                put(1, "members", member, t.branch1.id, json!({"name": "补录党员", "member_type": "full"})),
                put(2, "info_forms", form, t.branch1.id, json!({"member_id": member, "confirmation_mode": "post", "confirmed_on": (today - chrono::Days::new(2)).to_string(), "copies": 3, "photos": [hash, hash, hash], "signature": hash, "fingerprint": hash})),
                patch(3, "members", member, None, json!({"roster_status": "confirmed_remote", "remote_reason": "在外地务工"})),
            ],
        )
        .await
        .unwrap());
    let office = app
        .user_at(&t.admin, "le-office", Role::OrgOffice, &t.committee)
        .await;
    assert_eq!(
        office
            .status(None)
            .await
            .unwrap()
            .counts
            .verified_by_deadline,
        0
    );
    let checks = office.member_checks(member).await.unwrap();
    let roster = &checks.checks[0].detail_zh;
    assert!(roster.contains("未经组织办认可"), "{roster}");

    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "le-office").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.click("a[data-tab=queues]").await;
    let item = format!("[data-queue=entries] li[data-record='{form}']");
    b.wait_for(&item).await;
    let text = b.text(&item).await;
    assert!(
        text.contains("补录党员") && text.contains("确认日期"),
        "{text}"
    );
    b.eval(&format!(
        "document.querySelector(\"{item}\").scrollIntoView(); return true;"
    ))
    .await;
    b.screenshot("console-queues-late-entry").await;
    b.click(&format!("{item} [data-action=accept]")).await;
    b.wait_until(20, &format!("return !document.querySelector(\"{item}\");"))
        .await;
    assert_eq!(
        office
            .status(None)
            .await
            .unwrap()
            .counts
            .verified_by_deadline,
        1
    );
    // On record: the 组织办 accepted it.
    let audit = office.audit("info_forms", form).await.unwrap();
    let last = audit.entries.last().unwrap();
    assert_eq!(last.changes, json!({"late_entry_accepted": [null, true]}));
    let checks = office.member_checks(member).await.unwrap();
    assert!(checks.checks[0].detail_zh.contains("组织办已认可该日期"));
    b.close().await;
}

/// Issue #21, item 2: signing out of the console ends the sign-in on the server: the refresh
/// token the console kept is refused afterwards, and so is its access token.
#[tokio::test]
async fn signing_out_of_the_console_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    // The tenant's users: "lo-admin" is its committee admin.
    let _tenant = app.tenant("lo").await;
    let b = Browser::start(DESKTOP).await;
    b.goto(&format!("{}/", app.base)).await;
    b.type_into("#username", "lo-admin").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("a[data-tab=overview]").await;
    let session = b
        .eval("return JSON.parse(localStorage.getItem('paicha.session'));")
        .await;
    let (access, refresh) = (
        session["access_token"].as_str().unwrap().to_owned(),
        session["refresh_token"].as_str().unwrap().to_owned(),
    );
    let http = reqwest::Client::new();
    let units = |token: String| {
        let (http, base) = (http.clone(), app.base.clone());
        async move {
            http.get(format!("{base}/v1/org-units"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(units(access.clone()).await, reqwest::StatusCode::OK);
    b.click(".topbar .who button").await;
    b.wait_for("#username").await;
    // Under load the first sign-out may fail (the page then sends it again, §2.4): allow 20 s.
    let mut refreshed = reqwest::StatusCode::OK;
    for _ in 0..200 {
        refreshed = http
            .post(format!("{}/v1/auth/refresh", app.base))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap()
            .status();
        if refreshed == reqwest::StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(refreshed, reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(units(access).await, reqwest::StatusCode::UNAUTHORIZED);
    // Nothing is left waiting to be sent (once the page has read the server's answer, which
    // may come a moment after the server acted on it).
    b.wait_until(
        10,
        "return localStorage.getItem('paicha.pending_logouts') === null;",
    )
    .await;
    b.close().await;
}
