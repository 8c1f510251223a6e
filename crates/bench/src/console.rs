//! The office console over the benchmark's members, in a real headless Chromium (when
//! chromedriver is installed): the bytes of a first load, and the time from signing in to the
//! overview being shown.

use std::process::{Command, Stdio};
use std::time::Instant;

use paicha_tests::PASSWORD;

use crate::percentile;

/// The console's figures (see step 7), or a row saying why they were not taken.
pub async fn console(
    base: &str,
    username: &str,
    members: u64,
    rows: &mut Vec<(String, String, String)>,
) {
    use paicha_tests::browser::{Browser, DESKTOP};
    let found = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        rows.push((
            "console: first load and overview".into(),
            "not measured".into(),
            "no chromedriver (Debian: chromium chromium-driver fonts-noto-cjk)".into(),
        ));
        return;
    }
    // How the overview writes the count: with the Chinese thousands separator.
    let shown = members
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    let ready = format!(
        "return document.querySelectorAll('table.units tbody tr').length === 3 && \
         document.querySelector('[data-count=members_total] .stat-value')?.textContent === '{shown}';"
    );
    let mut times = Vec::new();
    let mut first_load = None;
    for round in 0..5 {
        // A new browser profile each time: nothing cached.
        let b = Browser::start(DESKTOP).await;
        b.goto(&format!("{base}/")).await;
        b.type_into("#username", username).await;
        b.type_into("#password", PASSWORD).await;
        let started = Instant::now();
        b.click("button[type=submit]").await;
        b.wait_until(60, &ready).await;
        times.push(started.elapsed());
        if round == 0 {
            // Everything the first visit fetched, charts included, as sent over the wire.
            b.wait_until(
                60,
                "return [...document.querySelectorAll('[data-chart]')].every(c => \
                   c.querySelector('.chart-box[data-ready]') || c.querySelector('.chart-empty'));",
            )
            .await;
            let bytes = b
                .eval(
                    "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')) \
                       .filter(e => !e.name.includes('/v1/')).reduce((n, e) => n + e.transferSize, 0);",
                )
                .await;
            first_load = bytes.as_f64();
        }
        b.close().await;
    }
    times.sort();
    rows.push((
        "console: first load, pages and assets (empty cache, charts drawn)".into(),
        first_load.map_or("not measured".into(), |b| format!("{:.0} KiB", b / 1024.0)),
        "as transferred (gzip), API answers excluded".into(),
    ));
    rows.push((
        format!("console: 登录 pressed → overview of {members} members shown"),
        format!("p50 {:.0} ms", percentile(&times, 0.5)),
        format!(
            "max {:.0} ms over 5 sign-ins, each in a new browser profile",
            percentile(&times, 1.0)
        ),
    ));
}
