//! The field app's benchmark: what docs/benchmarks.md reports for `/field/`.
//!
//! ```text
//! cargo run --release -p paicha-tests --bin field-bench
//! ```
//!
//! It starts the server in this process (SQLite in a temporary folder), seeds a branch of
//! 10,000 members and one of 3,000 through the API, and drives Debian's headless Chromium:
//!
//! 1. a fresh phone signs in to the 10,000-member branch: how long its first sync (the pull
//!    pages into IndexedDB, as the app times it) takes, and how long from the sign-in tap until
//!    the list shows all members;
//! 2. on the 3,000-member branch, with the CPU slowed 4× (DevTools' mid-tier mobile): opening
//!    the list, a search, and a member's page, each from the action to the next painted frame,
//!    five times, median and worst;
//! 3. the app shell: every file the service worker keeps, raw and gzip-compressed.

// A benchmark run by hand: a failure is a panic with its reason, as in the tests.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use paicha_tests::browser::{Browser, PHONE};
use paicha_tests::{PASSWORD, put, seeded_id_number, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// A member as a roster import writes one: about 500 bytes of JSON.
fn member(i: usize) -> Value {
    let male = i.is_multiple_of(2);
    let number = seeded_id_number(i, male);
    let birth = format!("{}-{}-{}", &number[6..10], &number[10..12], &number[12..14]);
    json!({
        "name": format!("党员{:05}", i + 1),
        "gender": if male { "male" } else { "female" },
        "id_number": number,
        "birth_date": birth,
        "ethnicity": "汉族",
        "native_place": "河北省保定市",
        "phone": format!("139{:08}", i),
        "education": "高中",
        "member_type": "full",
        "join_date": "1998-07-01",
        "work_unit": "城关镇农机服务站",
        "job": "技术员",
        "residence": format!("城关镇幸福村{}组{}号", i % 12 + 1, i % 97 + 1),
        "household_registration": "城关镇幸福村",
        "last_activity_on": "2025-11-20",
        "last_dues_paid_on": "2025-12-01",
        "org_category": "rural",
    })
}

/// Creates members `first..first + n` (distinct names and numbers across calls) at `branch`.
async fn seed(client: &paicha_client::Client, branch: Uuid, first: usize, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    let mut next = 1;
    for chunk in (first..first + n).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let id = Uuid::now_v7();
                ids.push(id);
                next += 1;
                put(next, "members", id, branch, member(i))
            })
            .collect();
        let r = client.push("seed", batch).await.expect("seed");
        assert!(
            r.results
                .iter()
                .all(|x| x.status == paicha_domain::api::v1::MutationStatus::Applied),
            "the seed is refused: {:?}",
            r.results.first()
        );
    }
    ids
}

/// Opens the app, fills the sign-in form and presses 登录; returns when it was pressed.
async fn sign_in(b: &Browser, base: &str, username: &str) -> Instant {
    b.goto(&format!("{base}/field/")).await;
    b.type_into("#username", username).await;
    b.type_into("#password", PASSWORD).await;
    let tap = Instant::now();
    b.click("button[type=submit]").await;
    tap
}

/// Milliseconds from `action` (a script) until `done` (an expression) holds at a painted frame.
async fn time(b: &Browser, action: &str, done: &str) -> f64 {
    let v = b
        .eval_async(&format!(
            r#"const t0 = performance.now();
               {action};
               for (;;) {{
                 await new Promise((r) => requestAnimationFrame(r));
                 if ({done}) break;
                 if (performance.now() - t0 > 20000) throw new Error('timed out');
               }}
               return performance.now() - t0;"#
        ))
        .await;
    v.as_f64().expect("a duration")
}

fn stats(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    format!(
        "median {:.0} ms, worst {:.0} ms",
        xs[xs.len() / 2],
        xs[xs.len() - 1]
    )
}

/// What lies outside the app, in the same browser and session: the 10,000 members' pages
/// fetched and parsed one after another (pages of 1,000, as the app asks), and the same
/// records written into a fresh IndexedDB database by themselves, one transaction a page with
/// the app's durability (`relaxed`), three times each way: a record per member (the layout of
/// the app up to 2026-12-08) and a record per page (a segment, as the app writes them now).
async fn floor(b: &Browser) {
    let v = b
        .eval_async(
            r#"const s = JSON.parse(localStorage.getItem('paicha.field.session'));
               const headers = { authorization: `Bearer ${s.access_token}` };
               let t0 = performance.now();
               const pages = [];
               let cursor = '';
               for (;;) {
                 const r = await fetch(`/v1/sync/pull?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers });
                 const p = await r.json();
                 pages.push(p);
                 cursor = p.cursor;
                 if (!p.has_more) break;
               }
               const fetched = performance.now() - t0;
               const writes = [[], []];
               for (let run = 0; run < 6; run++) {
                 const whole = run % 2 === 1;
                 const name = `floor-${run}`;
                 const db = await new Promise((res, rej) => {
                   const q = indexedDB.open(name, 1);
                   q.onupgradeneeded = () => q.result.createObjectStore('records', { keyPath: ['collection', 'id'] });
                   q.onsuccess = () => res(q.result);
                   q.onerror = () => rej(q.error);
                 });
                 t0 = performance.now();
                 for (const p of pages) {
                   await new Promise((res, rej) => {
                     const t = db.transaction(['records'], 'readwrite', { durability: 'relaxed' });
                     const st = t.objectStore('records');
                     if (whole) st.put({ collection: 'page', id: p.cursor, changes: p.changes });
                     else for (const c of p.changes) st.put({ collection: c.collection, id: c.id, org_unit_id: c.org_unit_id, version: c.version, fields: c.fields });
                     t.oncomplete = res;
                     t.onerror = () => rej(t.error);
                   });
                 }
                 writes[whole ? 1 : 0].push(performance.now() - t0);
                 db.close();
                 await new Promise((res) => { const q = indexedDB.deleteDatabase(name); q.onsuccess = res; q.onerror = res; });
               }
               const n = pages.reduce((a, p) => a + p.changes.length, 0);
               return [n, pages.length, fetched, writes];"#,
        )
        .await;
    let ms = |x: &Value| x.as_f64().map_or(0, |m| m.round() as u64);
    let times = |w: &Value| {
        w.as_array()
            .map(|w| {
                w.iter()
                    .map(|x| format!("{} ms", ms(x)))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join(", ")
    };
    println!(
        "the floor, same browser: {} changes in {} pages fetched and parsed one after another: {} ms",
        v[0],
        v[1],
        ms(&v[2]),
    );
    println!(
        "the floor, same browser: the same written into a fresh IndexedDB alone, a record each: {}; a record per page: {}",
        times(&v[3][0]),
        times(&v[3][1]),
    );
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let t = app.tenant("bench").await;
    let started = Instant::now();
    seed(&t.secretary1, t.branch1.id, 0, 10_000).await;
    let ids = seed(&t.secretary2, t.branch2.id, 10_000, 3_000).await;
    println!(
        "seeded 13,000 members in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. A fresh phone's first sync of 10,000 members.
    for run in 1..=3 {
        let b = Browser::start(PHONE).await;
        let tap = sign_in(&b, &app.base, "bench-sec1").await;
        b.wait_until(
            120,
            "return document.querySelector('#member-count')?.textContent === '10000';",
        )
        .await;
        let shown = tap.elapsed();
        b.goto_hash("#/sync").await;
        let pull = b
            .wait_until(
                10,
                "const p = document.querySelector('#last-pull'); return p && [Number(p.dataset.changes), Number(p.dataset.ms)];",
            )
            .await;
        println!(
            "first sync, run {run}: {} changes pulled into IndexedDB in {} ms; sign-in tap to 10,000 members listed: {} ms",
            pull[0],
            pull[1],
            shown.as_millis()
        );
        if run == 3 {
            floor(&b).await;
        }
        b.close().await;
    }

    // 2. 3,000 members on a slowed CPU.
    let b = Browser::start(PHONE).await;
    sign_in(&b, &app.base, "bench-sec2").await;
    b.wait_until(
        120,
        "return document.querySelector('#member-count')?.textContent === '3000';",
    )
    .await;
    b.throttle_cpu(4).await;
    let (mut list, mut search, mut open) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        b.goto_hash("#/sync").await;
        b.wait_for("#last-sync").await;
        list.push(
            time(
                &b,
                "location.hash = '#/'",
                "document.querySelectorAll('#member-list a.row').length > 0",
            )
            .await,
        );
        let name = format!("党员{:05}", 12_000 + i * 111);
        search.push(
            time(
                &b,
                &format!(
                    "const s = document.querySelector('input.search'); s.value = '{name}'; s.dispatchEvent(new Event('input', {{ bubbles: true }}))"
                ),
                "document.querySelector('#match-count')?.textContent === '1 名'",
            )
            .await,
        );
        let id = ids[1999 + i * 111];
        open.push(
            time(
                &b,
                &format!("location.hash = '#/m/{id}'"),
                &format!("document.querySelector('.member h1')?.textContent === '{name}'"),
            )
            .await,
        );
        b.eval("const s = document.querySelector('input.search'); if (s) { s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true })); } return true;")
            .await;
    }
    println!("3,000 members, CPU slowed 4x: list {}", stats(list));
    println!("3,000 members, CPU slowed 4x: search {}", stats(search));
    println!("3,000 members, CPU slowed 4x: member page {}", stats(open));
    b.close().await;

    // 3. The app shell.
    let http = reqwest::Client::new();
    let sw = http
        .get(format!("{}/field/sw.js", app.base))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("service worker")
        .text()
        .await
        .expect("service worker text");
    let list = sw
        .split_once("const SHELL = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(l, _)| l)
        .expect("the shell list");
    let urls: Vec<String> = serde_json::from_str(&format!("[{list}]")).expect("shell urls");
    let (mut raw, mut gz) = (0usize, 0usize);
    for url in &urls {
        for (gzip, total) in [(false, &mut raw), (true, &mut gz)] {
            let mut r = http.get(format!("{}{url}", app.base));
            if gzip {
                r = r.header("accept-encoding", "gzip");
            }
            *total += r
                .send()
                .await
                .expect("asset")
                .bytes()
                .await
                .expect("bytes")
                .len();
        }
    }
    println!(
        "app shell: {} files, {:.0} KiB, {:.0} KiB as sent gzip-compressed",
        urls.len(),
        raw as f64 / 1024.0,
        gz as f64 / 1024.0
    );
}
