//! The field app (`/field/`) in a real headless Chromium (see `paicha_tests::browser`), against
//! the real server: it opens with no network after one online sign-in, keeps every edit in its
//! replica and outbox, and syncs by itself when the server is back, so that the server holds
//! each record exactly once, with its photos and signature. Also: `GET /v1/schema`, and the
//! app's 公民身份号码 check against the vectors the Rust tests read. Screenshots:
//! `target/screenshots/field-*.png`.

use paicha_domain::api::v1::MutationStatus;
use paicha_tests::browser::{Browser, PHONE, Profile};
use paicha_tests::{PASSWORD, TestApp, id_number, patch, put, seeded_id_number, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// Creates `n` members at `branch` through the API, as an import would; returns their ids.
async fn members(client: &paicha_client::Client, branch: Uuid, n: usize, first: i64) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let id = Uuid::now_v7();
                ids.push(id);
                put(
                    first + i as i64,
                    "members",
                    id,
                    branch,
                    json!({"name": format!("党员{:05}", i + 1), "gender": if i % 2 == 0 { "male" } else { "female" },
                           "id_number": seeded_id_number(first as usize + i, i % 2 == 0),
                           "phone": format!("139{:08}", i)}),
                )
            })
            .collect();
        let r = client.push("seed", batch).await.expect("seed push");
        assert!(
            r.results
                .iter()
                .all(|x| x.status == MutationStatus::Applied),
            "{r:?}"
        );
    }
    ids
}

/// Opens the field app and signs in as `username`; waits until the member list shows `count`.
pub(crate) async fn sign_in(b: &Browser, app: &TestApp, username: &str, count: usize) {
    b.goto(&format!("{}/field/", app.base)).await;
    b.type_into("#username", username).await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    wait_members(b, count).await;
}

async fn wait_members(b: &Browser, count: usize) {
    b.wait_until(
        60,
        &format!("return document.querySelector('#member-count')?.textContent === '{count}';"),
    )
    .await;
}

/// What the app's sync badge says is waiting to be pushed.
async fn waiting(b: &Browser) -> u64 {
    b.eval("return Number(document.querySelector('#sync-badge')?.dataset.waiting ?? -1);")
        .await
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// Opens a member's page by name from the list.
async fn open_member(b: &Browser, name: &str) {
    b.goto_hash("#/").await;
    b.type_into("input.search", name).await;
    b.click("#member-list a.row").await;
    b.wait_until(
        10,
        &format!("return document.querySelector('.member h1')?.textContent === '{name}';"),
    )
    .await;
}

/// Confirms the open member with the reason there is no complete form (and, remotely, why the
/// member could not come): the way the app asks for it (docs/domain.md §4.1, §8.7).
async fn confirm_without_form(b: &Browser, step: &str, reason: &str) {
    b.click(&format!("button[data-step={step}]")).await;
    b.wait_for("#confirm-exception").await;
    b.type_into("#confirm-exception", reason).await;
    if step == "confirmed_remote" {
        b.type_into("#confirm-remote-reason", "在外地务工，无法返回")
            .await;
    }
    b.click("#confirm-step").await;
    b.wait_until(
        10,
        &format!("return document.querySelector('.head .chip')?.dataset.status === '{step}';"),
    )
    .await;
}

/// Puts the canvas `c` into the form's file input as a JPEG, as the camera would.
const INTO_FILE_INPUT: &str = r#"
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.95));
    const input = document.querySelector('#photo-input');
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'photo.jpg', { type: 'image/jpeg' }));
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    return blob.size;
"#;

/// Takes a photo (`TAKE_PHOTO` or `TAKE_DETAILED_PHOTO`) into the form.
async fn take_photo(b: &Browser, draw: &str) {
    b.eval_async(&format!("{draw}{INTO_FILE_INPUT}")).await;
    b.wait_until(
        20,
        "return document.querySelectorAll('.thumb.new img').length === 1;",
    )
    .await;
}

/// A photo as the camera would give it: a JPEG drawn on a canvas.
const TAKE_PHOTO: &str = r#"
    const c = document.createElement('canvas');
    c.width = 2400; c.height = 3200;
    const g = c.getContext('2d');
    g.fillStyle = '#d8e4f0'; g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#c8161d'; g.beginPath(); g.arc(1200, 1300, 700, 0, 7); g.fill();
    for (let i = 0; i < 4000; i++) { g.fillStyle = `hsl(${i % 360},60%,50%)`; g.fillRect((i * 97) % 2400, (i * 131) % 3200, 9, 9); }
"#;

/// A photo full of fine detail (noise), which compresses badly: over a megabyte as a JPEG, so
/// that its upload takes several chunks.
const TAKE_DETAILED_PHOTO: &str = r#"
    const c = document.createElement('canvas');
    c.width = 1200; c.height = 1600;
    const g = c.getContext('2d');
    const img = g.createImageData(c.width, c.height);
    let x = 12345;
    for (let i = 0; i < img.data.length; i++) { x = (x * 1103515245 + 12345) & 0x7fffffff; img.data[i] = (i & 3) === 3 ? 255 : x >> 23; }
    g.putImageData(img, 0, 0);
"#;

/// A signature drawn with the pointer on the signature pad.
const SIGN: &str = r#"
    const c = document.querySelector('#signature-pad');
    const r = c.getBoundingClientRect();
    const ev = (type, x, y) => c.dispatchEvent(new PointerEvent(type, { pointerId: 7, bubbles: true, clientX: r.left + x, clientY: r.top + y }));
    ev('pointerdown', 20, 100);
    for (let i = 1; i <= 30; i++) ev('pointermove', 20 + i * 8, 100 + Math.sin(i / 3) * 40);
    ev('pointerup', 260, 100);
    return true;
"#;

/// A browser's `GET /favicon.ico` answers with an icon, and every icon the pages and the
/// manifest name is served with its type (a phone installing the field app fetches the PNGs).
#[tokio::test]
async fn the_favicon_and_every_named_icon_are_served() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", app.base);
        async move {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
            (kind, r.bytes().await.unwrap().to_vec())
        }
    };
    let (kind, ico) = get("/favicon.ico".into()).await;
    assert_eq!(kind, "image/x-icon");
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "an ICO header");
    let (_, manifest) = get("/assets/field/manifest.webmanifest".into()).await;
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let mut named: Vec<(String, String)> = manifest["icons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["src"].as_str().unwrap().to_owned(),
                i["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        named.iter().any(|(_, t)| t == "image/png"),
        "phones need a PNG"
    );
    for page in ["/", "/field/"] {
        let (_, html) = get(page.into()).await;
        let html = String::from_utf8(html).unwrap();
        for rel in ["rel=\"icon\" href=\"", "rel=\"apple-touch-icon\" href=\""] {
            let at = html
                .find(rel)
                .unwrap_or_else(|| panic!("{page} names no {rel}"))
                + rel.len();
            let src = html[at..].split('"').next().unwrap().to_owned();
            let kind = if src.ends_with(".svg") {
                "image/svg+xml"
            } else {
                "image/png"
            };
            named.push((src, kind.to_owned()));
        }
    }
    for (src, kind) in named {
        let (served, bytes) = get(src.clone()).await;
        assert_eq!(served, kind, "{src}");
        assert!(!bytes.is_empty(), "{src}");
    }
}

#[tokio::test]
async fn the_schema_document_is_served_with_a_version() {
    let app = spawn_app().await;
    let t = app.tenant("sch").await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/schema", app.base);
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let (_, tokens) = app.sign_in("sch-sec1").await;
    let auth = format!("Bearer {}", tokens.access_token);
    let r = http
        .get(&url)
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let doc: Value = r.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", doc["version"].as_str().unwrap()));
    let members = &doc["collections"][0];
    assert_eq!(members["name"], "members");
    let status = members["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "roster_status")
        .unwrap();
    assert_eq!(
        status["values"][1],
        json!({"value": "confirmed_on_site", "label": "现场确认"})
    );
    assert_eq!(
        status["writers"],
        json!(["branch_secretary", "group_member", "org_office"])
    );
    let again = http
        .get(&url)
        .header("authorization", &auth)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    drop(t);
}

#[tokio::test]
async fn the_app_checks_id_numbers_as_the_server_does() {
    let app = spawn_app().await;
    let vectors = include_str!("../../../crates/domain/testdata/id_numbers.json");
    let b = Browser::start(PHONE).await;
    b.goto(&format!("{}/field/", app.base)).await;
    b.wait_for("#username").await;
    let failures = b
        .eval_async(&format!(
            r#"const {{ checkIdNumber }} = await import('/assets/core/idnumber.js');
               const file = {vectors};
               const bad = [];
               for (const v of file.vectors) {{
                 const r = checkIdNumber(v.input);
                 const ok = v.valid
                   ? r.ok && r.normalized === v.normalized && r.birth_date === v.birth_date && r.gender === v.gender && r.legacy === Boolean(v.legacy)
                   : !r.ok && r.code === v.code;
                 if (!ok) bad.push({{ v, r }});
               }}
               return {{ n: file.vectors.length, bad }};"#
        ))
        .await;
    assert!(failures["n"].as_u64().unwrap() >= 10);
    assert_eq!(
        failures["bad"],
        json!([]),
        "the app disagrees with the vectors"
    );
    b.close().await;
}

/// The replica's store on disk (`core/replica.js`), in the browser against databases of its own:
/// a database of version 1 (a row per record) opens with every record, its cursor and outbox,
/// the rows moved into segments; pages pulled become one segment each; once updates and
/// deletions make the segments hold over twice the live records, they are rewritten as the live
/// records alone; and a replica opened again from disk at every step equals the one in memory.
#[tokio::test]
async fn the_replica_keeps_pages_as_segments_and_rewrites_them_when_they_grow() {
    let app = spawn_app().await;
    let b = Browser::start(PHONE).await;
    b.goto(&format!("{}/field/", app.base)).await;
    b.wait_for("#username").await;
    let r = b
        .eval_async(
            r#"const { Replica } = await import('/assets/core/replica.js');
               const ask = (q) => new Promise((ok, fail) => { q.onsuccess = () => ok(q.result); q.onerror = () => fail(q.error); });
               const member = (i, v) => ({ collection: 'members', id: `m${i}`, org_unit_id: 'b1', version: v, fields: { name: `党员${i}`, v } });
               // Version 1, as the app kept it up to 2026-12-08: a row per record.
               const old = indexedDB.open('seg-v1', 1);
               old.onupgradeneeded = () => {
                 const db = old.result;
                 db.createObjectStore('records', { keyPath: ['collection', 'id'] });
                 db.createObjectStore('outbox', { keyPath: 'mutation_id' });
                 db.createObjectStore('meta', { keyPath: 'key' });
                 for (const n of ['blobs', 'rejections', 'conflicts']) db.createObjectStore(n, { keyPath: n === 'blobs' ? 'sha256' : 'mutation_id' });
                 db.createObjectStore('links', { keyPath: 'seq', autoIncrement: true });
               };
               const v1 = await ask(old);
               const t1 = v1.transaction(['records', 'outbox', 'meta'], 'readwrite');
               for (let i = 0; i < 2500; i++) t1.objectStore('records').put(member(i, i + 1));
               t1.objectStore('meta').put({ key: 'device_id', value: 'field-old' });
               t1.objectStore('meta').put({ key: 'next_mutation_id', value: 8 });
               t1.objectStore('meta').put({ key: 'cursor', value: 'c2500' });
               t1.objectStore('outbox').put({ mutation_id: 7, collection: 'members', id: 'm3', op: 'patch', fields: { phone: '13900000000' }, sent: false });
               await new Promise((ok) => { t1.oncomplete = ok; });
               v1.close();

               const out = {};
               const same = (a, b) => {
                 const t = (r) => [...r.table('members').values()].map((x) => JSON.stringify(x)).sort().join();
                 return t(a) === t(b);
               };
               let rep = await Replica.open('seg-v1');
               out.upgraded = { members: rep.table('members').size, m7: rep.table('members').get('m7')?.fields.name,
                 cursor: rep.get('cursor'), device: rep.deviceId, outbox: rep.outbox.length,
                 stores: [...rep.db.objectStoreNames], segments: rep.segmentCount, phone: rep.record('members', 'm3').fields.phone };

               // Three pages: 500 new members, then every one of the 3,000 updated, then 1,000 deleted.
               await rep.applyPage({ cursor: 'c3000', changes: Array.from({ length: 500 }, (_, i) => member(2500 + i, 3000)) });
               out.afterNew = { segments: rep.segmentCount, stored: rep.stored };
               for (let p = 0; p < 3; p++) await rep.applyPage({ cursor: `u${p}`, changes: Array.from({ length: 1000 }, (_, i) => member(p * 1000 + i, 4000 + p)) });
               out.afterUpdates = { segments: rep.segmentCount, stored: rep.stored };
               await rep.applyPage({ cursor: 'd', changes: Array.from({ length: 1000 }, (_, i) => ({ collection: 'members', id: `m${2 * i}`, deleted: true })) });
               out.afterDeletes = { segments: rep.segmentCount, stored: rep.stored, live: rep.liveCount() };
               let again = await Replica.open('seg-v1');
               out.reopened = { same: same(rep, again), members: again.table('members').size, cursor: again.get('cursor'),
                 segments: again.segmentCount, stored: again.stored, m1: again.table('members').get('m1')?.version, m0: again.table('members').has('m0') };
               again.db.close();

               // A checksum's repair replaces the collection; reopened, the replica is the repaired one.
               const live = new Map([...rep.table('members')].filter(([id]) => id !== 'm1'));
               await rep.replaceCollection('members', live);
               again = await Replica.open('seg-v1');
               out.repaired = { same: same(rep, again), members: again.table('members').size, m1: again.table('members').has('m1') };
               again.db.close();
               await rep.dropReplica();
               again = await Replica.open('seg-v1');
               out.dropped = { members: again.table('members').size, segments: again.segmentCount, outbox: again.outbox.length, cursor: again.get('cursor') ?? null };
               again.db.close();
               rep.db.close();
               await ask(indexedDB.deleteDatabase('seg-v1'));
               return out;"#,
        )
        .await;
    assert_eq!(
        r["upgraded"],
        json!({"members": 2500, "m7": "党员7", "cursor": "c2500", "device": "field-old", "outbox": 1,
               "stores": ["blobs", "conflicts", "links", "meta", "outbox", "rejections", "segments"],
               "segments": 3, "phone": "13900000000"}),
        "version 1 opens with its rows as segments of 1,000 and the store of rows gone"
    );
    assert_eq!(r["afterNew"], json!({"segments": 4, "stored": 3000}));
    // Updates of every member: 6,000 stored for 3,000 live is not yet over 2 × 3,000 + 1,000;
    // the deletions make 7,000 stored for 2,000 live, and the segments are rewritten.
    assert_eq!(r["afterUpdates"], json!({"segments": 7, "stored": 6000}));
    assert_eq!(
        r["afterDeletes"],
        json!({"segments": 2, "stored": 2000, "live": 2000})
    );
    assert_eq!(
        r["reopened"],
        json!({"same": true, "members": 2000, "cursor": "d", "segments": 2, "stored": 2000, "m1": 4000, "m0": false})
    );
    assert_eq!(
        r["repaired"],
        json!({"same": true, "members": 1999, "m1": false})
    );
    assert_eq!(
        r["dropped"],
        json!({"members": 0, "segments": 0, "outbox": 1, "cursor": null})
    );
    b.close().await;
}

#[tokio::test]
async fn a_branch_works_offline_and_every_edit_reaches_the_server_once() {
    let mut app = spawn_app().await;
    let t = app.tenant("off").await;
    let ids = members(&t.secretary1, t.branch1.id, 6, 1).await;
    // A member of the other branch, which this branch must never see.
    members(&t.secretary2, t.branch2.id, 1, 100).await;

    let profile = Profile::new();
    let b = Browser::start_with(PHONE, Some(&profile)).await;
    sign_in(&b, &app, "off-sec1", 6).await;
    // The service worker has taken the page and kept the app's files.
    b.wait_until(
        20,
        "return navigator.serviceWorker.controller !== null && caches.keys().then(k => k.length > 0);",
    )
    .await;
    b.screenshot("field-members").await;

    // The network goes: the server stops. The app reopens from its own files and data.
    b.expect_severe(
        &["net::ERR_CONNECTION_REFUSED"],
        "the test stops the server",
    );
    app.stop().await;
    b.goto(&format!("{}/field/", app.base)).await;
    wait_members(&b, 6).await;
    b.wait_until(
        20,
        "return document.querySelector('#sync-badge')?.textContent.includes('离线');",
    )
    .await;

    // Two members verified on site; their forms are on paper, so the app asks why and records it.
    for name in ["党员00001", "党员00002"] {
        open_member(&b, name).await;
        // Without the reason the confirmation is not made.
        b.click("button[data-step=confirmed_on_site]").await;
        b.click("#confirm-step").await;
        b.wait_for(".confirm-ask .field-error").await;
        if name == "党员00001" {
            b.screenshot("field-confirm-ask").await;
        }
        b.type_into("#confirm-exception", "纸质采集表已签字，照片待补拍")
            .await;
        b.click("#confirm-step").await;
        b.wait_until(
            10,
            "return document.querySelector('.head .chip')?.dataset.status === 'confirmed_on_site';",
        )
        .await;
    }

    // The third fills the 党员信息采集表 with a photo and a signature: not complete (three
    // photos, the fingerprint and the photo under the flag are missing), so the app asks why.
    open_member(&b, "党员00003").await;
    b.click("#open-form").await;
    b.wait_for("#photo-input").await;
    take_photo(&b, TAKE_PHOTO).await;
    b.eval(SIGN).await;
    b.click("#signature-done").await;
    b.wait_until(
        10,
        "return document.querySelector('.thumb.sig img') !== null;",
    )
    .await;
    b.wait_for("#form-incomplete").await;
    b.type_into("#form-exception", "手印和党旗下照片次日补齐")
        .await;
    b.screenshot("field-form").await;
    b.click("#save-form").await;
    b.wait_until(
        10,
        "return location.hash.startsWith('#/m/') && !location.hash.includes('/form');",
    )
    .await;

    // The fourth is lost: a case and one search attempt.
    open_member(&b, "党员00004").await;
    b.click("button[data-step=pending_lost]").await;
    b.wait_until(
        10,
        "return document.querySelector('.head .chip')?.dataset.status === 'pending_lost';",
    )
    .await;
    b.click("#open-case").await;
    b.click("a[data-add-attempt]").await;
    b.wait_for("form[data-form=contact_attempts]").await;
    b.click("#f-contact_attempts-channel").await;
    b.eval(
        "const s = document.querySelector('#f-contact_attempts-channel'); s.value = 'phone'; \
         s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    )
    .await;
    b.type_into(
        "#f-contact_attempts-channel_detail",
        "拨打原登记电话，已停机",
    )
    .await;
    b.click("form[data-form=contact_attempts] button[type=submit]")
        .await;
    b.wait_until(
        10,
        "return document.querySelectorAll('[data-attempt]').length === 1;",
    )
    .await;
    b.screenshot("field-member-lost").await;
    assert!(waiting(&b).await > 0, "the edits wait in the outbox");

    // The server comes back: the app syncs by itself (no click), photos and signature included.
    app.restart().await;
    b.goto_hash("#/sync").await;
    b.wait_until(
        90,
        "return document.querySelector('#outbox-count')?.textContent === '0' \
         && document.querySelector('#blob-count')?.textContent === '0' \
         && document.querySelector('#net-state')?.textContent === '在线';",
    )
    .await;
    b.screenshot("field-sync").await;

    // The server holds exactly those records, once each.
    let mut replica = paicha_tests::Replica::default();
    replica.sync(&t.secretary1).await.unwrap();
    let of = |c: &str| -> Vec<(Uuid, serde_json::Map<String, Value>)> {
        replica
            .records
            .iter()
            .filter(|((col, _), _)| col == c)
            .map(|((_, id), (_, fields))| (*id, fields.clone()))
            .collect()
    };
    let members_now = of("members");
    assert_eq!(members_now.len(), 6, "this branch's members only");
    let status = |id: Uuid| {
        members_now
            .iter()
            .find(|(m, _)| *m == id)
            .and_then(|(_, f)| f.get("roster_status").cloned())
    };
    assert_eq!(status(ids[0]), Some(json!("confirmed_on_site")));
    assert_eq!(status(ids[1]), Some(json!("confirmed_on_site")));
    assert_eq!(
        status(ids[2]),
        Some(json!("confirmed_on_site")),
        "the form's outcome"
    );
    assert_eq!(status(ids[3]), Some(json!("pending_lost")));
    assert_eq!(status(ids[4]), None);
    let forms = of("info_forms");
    assert_eq!(forms.len(), 1, "{forms:?}");
    let form = &forms[0].1;
    assert_eq!(form["member_id"], json!(ids[2]));
    assert_eq!(form["confirmation_mode"], "on_site");
    let photos = form["photos"].as_array().expect("the photo is linked");
    assert_eq!(photos.len(), 1);
    let photo = t
        .secretary1
        .get_blob(photos[0].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(&photo[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    assert!(photo.len() < 2_000_000, "compressed: {} bytes", photo.len());
    let signature = t
        .secretary1
        .get_blob(form["signature"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(&signature[1..4], b"PNG");
    assert_eq!(of("contact_cases").len(), 1);
    let attempts = of("contact_attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].1["channel"], "phone");
    assert_eq!(attempts[0].1["method"], "direct");
    // Each record was created once: one put in its audit trail.
    let trail = t.secretary1.audit("info_forms", forms[0].0).await.unwrap();
    assert_eq!(
        trail.entries.iter().filter(|e| e.op == "put").count(),
        1,
        "{trail:?}"
    );
    b.close().await;
}

#[tokio::test]
async fn a_refused_edit_shows_the_servers_message_at_its_field() {
    let app = spawn_app().await;
    let t = app.tenant("rej").await;
    members(&t.secretary1, t.branch1.id, 2, 1).await;
    // Someone of another branch of the committee already holds this number (a male's, as
    // 党员00001 is male).
    let taken = id_number("19800101", 555);
    let other = Uuid::now_v7();
    let r = t
        .secretary2
        .push(
            "seed",
            vec![put(
                1,
                "members",
                other,
                t.branch2.id,
                json!({"name": "外支部党员", "id_number": taken}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied, "{r:?}");

    let b = Browser::start(PHONE).await;
    sign_in(&b, &app, "rej-sec1", 2).await;
    open_member(&b, "党员00001").await;
    b.click("#edit-member").await;
    b.type_into("#f-members-id_number", &taken).await;
    b.click("form[data-form=members] button[type=submit]").await;

    // The app found nothing wrong; the server refuses, and its message stands at the field.
    let message = b
        .wait_until(
            30,
            "return document.querySelector('.field[data-field=id_number] .field-error')?.textContent;",
        )
        .await;
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("本党工委已有在册党员使用此公民身份号码"),
        "{message}"
    );
    assert_eq!(waiting(&b).await, 0, "a refusal leaves the outbox");
    b.eval(
        "document.querySelector('.field[data-field=id_number]').scrollIntoView({block: 'center'}); return true;",
    )
    .await;
    b.screenshot("field-rejected").await;
    // The record shows the server's value again (the refused edit is not applied).
    let shown = b
        .eval("return document.querySelector('#f-members-id_number').value;")
        .await;
    assert_ne!(shown, json!(taken));
    // The sync panel lists it under 需更正.
    b.goto_hash("#/sync").await;
    let list = b.text("#needs-correction").await;
    assert!(list.contains("党员00001"), "{list}");
    b.close().await;
}

/// Edits one field of 党员00002 on the member's page.
async fn edit(br: &Browser, field: &str, value: &str) {
    open_member(br, "党员00002").await;
    br.click("#edit-member").await;
    br.type_into(&format!("#f-members-{field}"), value).await;
    br.click("form[data-form=members] button[type=submit]")
        .await;
    br.wait_until(
        10,
        "return document.querySelector('.head .chip.pending') !== null;",
    )
    .await;
}

/// Two phones of one branch edit one member offline: different fields merge; the same field
/// goes to the later push, both phones end with the server's record, and the overwritten value
/// is shown.
#[tokio::test]
async fn two_phones_converge_and_a_same_field_conflict_is_shown() {
    let app = spawn_app().await;
    let t = app.tenant("two").await;
    let ids = members(&t.secretary1, t.branch1.id, 3, 1).await;
    let admin = &t.admin;
    admin
        .create_user(&paicha_tests::new_user(
            "two-member",
            paicha_domain::role::Role::GroupMember,
            Some(t.branch1.id),
        ))
        .await
        .unwrap();

    let a = Browser::start(PHONE).await;
    let b = Browser::start(PHONE).await;
    sign_in(&a, &app, "two-sec1", 3).await;
    sign_in(&b, &app, "two-member", 3).await;

    // Both phones lose their signal (the server stays up).
    a.set_offline(true).await;
    b.set_offline(true).await;
    // Different fields first, then the same one.
    edit(&a, "residence", "幸福村3组").await;
    edit(&b, "work_unit", "县农机站").await;
    edit(&a, "phone", "13700000001").await;
    edit(&b, "phone", "13800000002").await;

    // Phone A finds a signal first; then B, whose phone number overwrites A's.
    let synced = "return document.querySelector('#sync-badge')?.dataset.waiting === '0' \
                  && document.querySelector('#sync-badge')?.textContent.includes('已同步');";
    a.set_offline(false).await;
    a.wait_until(60, synced).await;
    b.set_offline(false).await;
    b.wait_until(60, synced).await;

    let mut server = paicha_tests::Replica::default();
    server.sync(&t.secretary1).await.unwrap();
    let fields = &server.records[&("members".to_owned(), ids[1])].1;
    assert_eq!(fields["residence"], "幸福村3组");
    assert_eq!(fields["work_unit"], "县农机站");
    assert_eq!(fields["phone"], "13800000002");

    // Both phones converge to the server's record.
    for br in [&a, &b] {
        open_member(br, "党员00002").await;
        br.wait_until(
            30,
            "return document.querySelector('.head')?.textContent.includes('13800000002');",
        )
        .await;
    }
    // B sees that its edit overwrote someone's value; A (a reviewer) sees the server's log.
    let seen_b = b.text("#conflicts").await;
    assert!(
        seen_b.contains("联系电话") && seen_b.contains("13700000001"),
        "{seen_b}"
    );
    let seen_a = a.text("#conflicts").await;
    assert!(
        seen_a.contains("13700000001") && seen_a.contains("13800000002"),
        "{seen_a}"
    );
    b.screenshot("field-conflict").await;
    a.close().await;
    b.close().await;
}

/// Reads a store of the app's IndexedDB replica.
fn read_store(store: &str) -> String {
    format!(
        r#"const db = await new Promise((ok, fail) => {{ const r = indexedDB.open('paicha-field'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); }});
           const rows = await new Promise((ok) => {{ const q = db.transaction('{store}').objectStore('{store}').getAll(); q.onsuccess = () => ok(q.result); }});
           db.close();"#
    )
}

/// Reads the app's replica of pulled records from its IndexedDB: its segments replayed in
/// order, later over earlier, into `rows`, the live records.
fn read_records() -> String {
    format!(
        r#"{}
           const live = new Map();
           for (const segment of rows) for (const r of segment.records) {{
             const key = `${{r.collection}}/${{r.id}}`;
             if (r.deleted) live.delete(key); else live.set(key, r);
           }}
           rows = [...live.values()];"#,
        read_store("segments").replace("const rows", "let rows")
    )
}

/// The phone is killed twice: in the middle of its first sync of 10,000 members, and in the
/// middle of a photo's upload right after an edit. Reopened, it continues from its cursor, the
/// upload resumes where the server stands, and the server holds every edit exactly once.
#[tokio::test]
async fn killing_the_app_mid_sync_and_mid_upload_loses_and_repeats_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("kil").await;
    let ids = members(&t.secretary1, t.branch1.id, 10_000, 1).await;

    let profile = Profile::new();
    let b = Browser::start_with(PHONE, Some(&profile)).await;
    b.goto(&format!("{}/field/", app.base)).await;
    // A slow network, so that the first sync takes a while.
    b.throttle(-1, 400_000).await;
    b.type_into("#username", "kil-sec1").await;
    b.type_into("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    let partial = b
        .wait_until(
            60,
            "const n = Number(document.querySelector('#member-count')?.textContent || 0); return n >= 1000 && n < 9000 ? n : 0;",
        )
        .await;
    b.kill().await;

    // Reopened: the app signs in by itself, goes on from its cursor and completes the replica.
    let b = Browser::start_with(PHONE, Some(&profile)).await;
    b.goto(&format!("{}/field/", app.base)).await;
    wait_members(&b, 10_000).await;
    let first_pull = b
        .eval("return performance.getEntriesByType('resource').map(e => e.name).find(n => n.includes('/v1/sync/pull'));")
        .await;
    assert!(
        first_pull.as_str().unwrap().contains("cursor="),
        "after {partial} members the sync goes on from its cursor: {first_pull}"
    );
    let stored = b
        .eval_async(&format!(
            "{} return rows.filter(r => r.collection === 'members').length;",
            read_records()
        ))
        .await;
    assert_eq!(stored, json!(10_000));

    // A search over 10,000 members answers at once on the phone.
    b.type_into("input.search", "党员09999").await;
    b.wait_until(
        10,
        "return document.querySelector('#match-count')?.textContent === '1 名';",
    )
    .await;

    // An edit, then a photo on a slow upload; the app is killed while the photo is halfway.
    open_member(&b, "党员00010").await;
    confirm_without_form(&b, "confirmed_remote", "采集表邮寄途中").await;
    b.click("#open-form").await;
    b.wait_for("#photo-input").await;
    take_photo(&b, TAKE_DETAILED_PHOTO).await;
    b.throttle(60_000, -1).await;
    b.click("#save-form").await;
    // Wait until the server has acknowledged a first chunk (the app notes it), then kill.
    let progress = b
        .wait_until(
            60,
            &format!(
                "{} const p = rows[0]; return p && p.received > 0 && !p.uploaded ? [p.sha256, p.received, p.size] : null;",
                read_store("blobs")
            ),
        )
        .await;
    let hash = progress[0].as_str().unwrap().to_owned();
    let received = progress[1].as_u64().unwrap();
    assert!(
        received < progress[2].as_u64().unwrap(),
        "halfway: {progress}"
    );
    let on_server = t.secretary1.blob_upload_status(&hash).await.unwrap();
    assert!(
        !on_server.complete && on_server.received >= received,
        "{on_server:?}"
    );
    b.kill().await;

    let b = Browser::start_with(PHONE, Some(&profile)).await;
    b.goto(&format!("{}/field/#/sync", app.base)).await;
    b.wait_until(
        120,
        "return document.querySelector('#outbox-count')?.textContent === '0' \
         && document.querySelector('#blob-count')?.textContent === '0';",
    )
    .await;
    let resumed = b
        .eval_async(&format!(
            "{} return rows.find(r => r.sha256 === '{hash}')?.resumed_from ?? null;",
            read_store("blobs")
        ))
        .await;
    assert!(
        resumed.as_u64().is_some_and(|r| r > 0 && r >= received),
        "the upload resumed from {resumed} (the server had {received})"
    );

    // The server: the photo whole, named by the form; the edit applied exactly once.
    let photo = t.secretary1.get_blob(&hash).await.unwrap();
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&photo)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(digest, hash);
    let mut server = paicha_tests::Replica::default();
    server.sync(&t.secretary1).await.unwrap();
    let forms: Vec<_> = server
        .records
        .iter()
        .filter(|((c, _), _)| c == "info_forms")
        .collect();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0].1.1["photos"], json!([hash]));
    let member = &server.records[&("members".to_owned(), ids[9])].1;
    assert_eq!(member["roster_status"], "confirmed_remote");
    let trail = t.secretary1.audit("members", ids[9]).await.unwrap();
    let moves = trail.entries.iter().filter(|e| e.op == "patch").count();
    assert_eq!(moves, 1, "the edit was applied once: {trail:?}");
    b.close().await;
}

/// The other screens: a transfer the street sent down is followed up (its receipt status moves
/// only along the machine), a ledger A entry is added, a replica that lost a record is repaired
/// by comparing checksums (only the differing collection is pulled again), and signing out
/// with 清除 leaves nothing of the branch on the phone.
#[tokio::test]
async fn transfers_ledger_checksum_repair_and_sign_out() {
    let app = spawn_app().await;
    let t = app.tenant("scr").await;
    members(&t.secretary1, t.branch1.id, 3, 1).await;
    let transfer = Uuid::now_v7();
    let r = t
        .street_staff
        .push(
            "street",
            vec![put(1, "transfers", transfer, t.street.id, json!({
                "branch_id": t.branch1.id, "member_name": "转出党员甲", "transferred_on": "2026-03-02",
                "receiving_organization": "邻县城关镇党委", "letter_no": "转字〔2026〕12号"}))],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, MutationStatus::Applied, "{r:?}");
    // Two more for branch 1, then the street's corrections: one re-addressed to branch 2 (it
    // leaves branch 1, which is told), one withdrawn (shown as such, owed nothing).
    let (moved, withdrawn) = (Uuid::now_v7(), Uuid::now_v7());
    let today = paicha_domain::calendar::china_date(chrono::Utc::now()).to_string();
    let r = t
        .street_staff
        .push(
            "street",
            vec![
                put(
                    2,
                    "transfers",
                    moved,
                    t.street.id,
                    json!({"branch_id": t.branch1.id, "member_name": "转出党员乙"}),
                ),
                put(
                    3,
                    "transfers",
                    withdrawn,
                    t.street.id,
                    json!({"branch_id": t.branch1.id, "member_name": "转出党员丙"}),
                ),
                patch(
                    4,
                    "transfers",
                    moved,
                    None,
                    json!({"branch_id": t.branch2.id}),
                ),
                patch(
                    5,
                    "transfers",
                    withdrawn,
                    None,
                    json!({"withdrawn_on": today}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        r.results
            .iter()
            .all(|r| r.status == MutationStatus::Applied),
        "{r:?}"
    );

    let b = Browser::start(PHONE).await;
    sign_in(&b, &app, "scr-sec1", 3).await;

    // The transfer: issued → receipt pending, then received with its date.
    b.goto_hash("#/transfers").await;
    b.wait_until(
        10,
        "return document.querySelector('[data-departures]')?.textContent.includes('转出党员乙');",
    )
    .await;
    let told = b.text("[data-departures]").await;
    assert!(told.contains("转出明细更正，改由其他党支部跟进"), "{told}");
    assert!(told.contains(&t.branch2.name), "{told}");
    assert_eq!(
        b.eval(&format!(
            "return document.querySelector(\"li[data-transfer='{moved}']\") === null;"
        ))
        .await,
        json!(true)
    );
    let chip = b
        .text(&format!("li[data-transfer='{withdrawn}'] .side"))
        .await;
    assert_eq!(chip.trim(), "已撤回");
    let summary = b.text("section.transfers > p.muted").await;
    assert!(
        summary.contains("转出明细 1 条") && summary.contains("已撤回 1 条"),
        "{summary}"
    );
    b.screenshot("field-transfers-corrected").await;
    b.click(&format!("li[data-transfer='{transfer}'] button.row"))
        .await;
    let offered = b
        .eval("return [...document.querySelectorAll('#f-transfers-receipt_status option')].map(o => o.value);")
        .await;
    assert_eq!(
        offered,
        json!([
            "",
            "issued",
            "receipt_pending",
            "receipt_received",
            "receiver_contacted",
            "receiver_unreachable"
        ]),
        "only the steps the machine allows from 已开具介绍信"
    );
    b.eval(
        "const s = document.querySelector('#f-transfers-receipt_status'); s.value = 'receipt_received'; \
         s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    )
    .await;
    b.click("form[data-form=transfers] button[type=submit]")
        .await;
    // A receipt needs its date (required_for_step), checked on the phone first.
    let needs = b.text(".field[data-field=receipt_on] .field-error").await;
    assert!(needs.contains("回执日期"), "{needs}");
    b.type_into("#f-transfers-receipt_on", "03092026").await;
    b.type_into("#f-transfers-follow_up_note", "接收方已回执")
        .await;
    b.click("form[data-form=transfers] button[type=submit]")
        .await;
    b.screenshot("field-transfers").await;

    // A ledger A entry: someone found who is not on the roster.
    b.goto_hash("#/ledger").await;
    b.click("button[data-add-ledger=ledger_a]").await;
    b.type_into("#f-roster_ledger_entries-name", "花名册外人员乙")
        .await;
    b.type_into(
        "#f-roster_ledger_entries-reason_not_on_roster",
        "组织关系介绍信在，未录入花名册",
    )
    .await;
    // The form holds every column register A prints that the branch fills: the letter of
    // transfer, the application form, the joining date, and the evidence photos.
    for field in [
        "join_date",
        "has_transfer_letter",
        "transfer_letter_issuer",
        "transfer_letter_no",
        "has_application_form",
        "application_form_location",
        "archive_status",
    ] {
        b.wait_for(&format!("#f-roster_ledger_entries-{field}"))
            .await;
    }
    b.type_into("#f-roster_ledger_entries-transfer_letter_no", "2016-031")
        .await;
    b.eval_async(&format!(
        "{TAKE_PHOTO}{}",
        INTO_FILE_INPUT.replace("#photo-input", "input[data-photos=evidence]")
    ))
    .await;
    b.wait_until(
        20,
        "return document.querySelectorAll('[data-field=evidence] .thumb.new img').length === 1;",
    )
    .await;
    b.eval("document.querySelector('[data-field=evidence]').scrollIntoView({block: 'center'}); return true;")
        .await;
    b.screenshot("field-ledger-a-form").await;
    b.click("form[data-form=roster_ledger_entries] button[type=submit]")
        .await;
    b.wait_until(10, "return document.querySelector('[data-ledger=ledger_a]')?.textContent.includes('花名册外人员乙');")
        .await;
    b.screenshot("field-ledger").await;
    b.wait_until(
        30,
        "return document.querySelector('#sync-badge')?.dataset.waiting === '0';",
    )
    .await;

    // The evidence photo is uploaded after the entry, then named in it by one more push.
    let mut server = paicha_tests::Replica::default();
    let named = |server: &paicha_tests::Replica| {
        server.records.iter().any(|((c, _), (_, f))| {
            c == "roster_ledger_entries"
                && f.get("evidence")
                    .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()))
        })
    };
    for _ in 0..60 {
        server.sync(&t.secretary1).await.unwrap();
        if named(&server) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let followed = &server.records[&("transfers".to_owned(), transfer)].1;
    assert_eq!(followed["receipt_status"], "receipt_received");
    assert_eq!(followed["receipt_on"], "2026-03-09");
    assert_eq!(followed["follow_up_note"], "接收方已回执");
    let entries: Vec<_> = server
        .records
        .iter()
        .filter(|((c, _), _)| c == "roster_ledger_entries")
        .map(|(_, (_, f))| f.clone())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["ledger"], "ledger_a");
    assert_eq!(entries[0]["name"], "花名册外人员乙");
    assert_eq!(entries[0]["transfer_letter_no"], "2016-031");
    let evidence = entries[0]["evidence"]
        .as_array()
        .expect("the evidence photo is named");
    assert_eq!(evidence.len(), 1, "{evidence:?}");

    // A record vanishes from the replica behind the app's back; the checksum finds it and
    // only that collection is pulled again.
    b.eval_async(
        r#"const db = await new Promise((ok) => { const r = indexedDB.open('paicha-field'); r.onsuccess = () => ok(r.result); });
           const store = db.transaction('segments', 'readwrite').objectStore('segments');
           const all = await new Promise((ok) => { const q = store.getAll(); q.onsuccess = () => ok(q.result); });
           const victim = all.flatMap((s) => s.records).find((r) => r.collection === 'members' && !r.deleted);
           const t = db.transaction('segments', 'readwrite');
           for (const s of all) t.objectStore('segments').put({ ...s, records: s.records.filter((r) => !(r.collection === victim.collection && r.id === victim.id)) });
           await new Promise((ok) => { t.oncomplete = ok; });
           db.close();
           return victim.id;"#,
    )
    .await;
    // The app reopens on what its database holds.
    b.goto_hash("#/sync").await;
    b.client.refresh().await.unwrap();
    b.wait_until(20, "return document.querySelector('#last-sync') !== null;")
        .await;
    b.click("#check-now").await;
    let said = b
        .wait_until(
            30,
            "const t = document.querySelector('#check-result')?.textContent; return t && !t.startsWith('正在') && t;",
        )
        .await;
    assert!(
        said.as_str().unwrap().contains("已重新同步：党员"),
        "{said}"
    );
    let repair_pulls = b
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name) \
               .filter(n => n.includes('/v1/sync/pull') && n.includes('collections='));",
        )
        .await;
    let repair_pulls = repair_pulls.as_array().unwrap();
    assert!(!repair_pulls.is_empty());
    assert!(
        repair_pulls
            .iter()
            .all(|n| n.as_str().unwrap().contains("collections=members")),
        "{repair_pulls:?}"
    );
    b.goto_hash("#/").await;
    wait_members(&b, 3).await;

    // Signing out clears the phone by default: the replica and the app's caches are empty,
    // the sign-in page is shown, and the server ended the sign-in (its refresh token is
    // refused).
    b.goto_hash("#/sync").await;
    let refresh = saved_refresh_token(&b).await;
    b.click("#sign-out").await;
    b.wait_for("#username").await;
    let left = b
        .eval_async(&format!("{} return rows.length;", read_records()))
        .await;
    assert_eq!(left, json!(0));
    let cached = b
        .eval_async("return ('caches' in globalThis) ? (await caches.keys()).length : 0;")
        .await;
    assert_eq!(cached, json!(0));
    assert_eq!(refresh_status(&app, &refresh).await, 401);
    b.close().await;
}

/// The refresh token the field app keeps for its sign-in.
async fn saved_refresh_token(b: &Browser) -> String {
    b.eval("return JSON.parse(localStorage.getItem('paicha.field.session')).refresh_token;")
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

/// What the server answers a refresh with `token`.
async fn refresh_status(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/v1/auth/refresh", app.base))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Issue #21, item 2: signing out offline with an edit waiting keeps the edit (the phone says
/// so; clearing would lose it), queues the sign-out for the server, which ends the sign-in as
/// soon as the network is back; the edit reaches the server after the next sign-in.
#[tokio::test]
async fn signing_out_offline_keeps_a_waiting_edit_and_ends_the_session_when_back_online() {
    let app = spawn_app().await;
    let t = app.tenant("so").await;
    let ids = members(&t.secretary1, t.branch1.id, 3, 1).await;
    let b = Browser::start(PHONE).await;
    sign_in(&b, &app, "so-sec1", 3).await;
    let refresh = saved_refresh_token(&b).await;
    b.set_offline(true).await;
    open_member(&b, "党员00002").await;
    confirm_without_form(&b, "confirmed_assisted", "卧床，由家属代为签字").await;
    b.goto_hash("#/sync").await;
    b.click("#sign-out").await;
    // Something waits: clearing would lose it, so the phone asks.
    let warning = b.text("#unsent-warning").await;
    assert!(warning.contains("1条修改"), "{warning}");
    b.screenshot("field-sign-out-unsent").await;
    b.click("#keep-and-sign-out").await;
    b.wait_for("#username").await;
    // Still offline: the sign-out waits (the sign-in still works on the server), the edit is
    // still on the phone.
    let access = b
        .eval("return JSON.parse(localStorage.getItem('paicha.pending_logouts'))[0].access_token;")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let units = |token: String| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/v1/org-units"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(units(access.clone()).await, 200);
    let waiting = b
        .eval_async(&format!("{} return rows.length;", read_store("outbox")))
        .await;
    assert_eq!(waiting, json!(1));
    // Back online: the kept sign-out is sent, and the server ends the sign-in.
    b.set_offline(false).await;
    b.eval("dispatchEvent(new Event('online')); return true;")
        .await;
    let mut status = 0;
    for _ in 0..100 {
        status = refresh_status(&app, &refresh).await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "the sign-in was not ended");
    assert_eq!(units(access).await, 401);
    // The next sign-in sends the kept edit.
    sign_in(&b, &app, "so-sec1", 3).await;
    b.wait_until(
        30,
        "return document.querySelector('#sync-badge')?.dataset.waiting === '0';",
    )
    .await;
    let mut server = paicha_tests::Replica::default();
    server.sync(&t.secretary1).await.unwrap();
    assert_eq!(
        server.records[&("members".to_owned(), ids[1])].1["roster_status"],
        "confirmed_assisted"
    );
    b.close().await;
}

/// A replica the server can no longer bring up to date (`410 resync_required`) is rebuilt from
/// the start, and the edits waiting in the outbox are not lost.
#[tokio::test]
async fn a_resync_rebuilds_the_replica_and_keeps_the_outbox() {
    let app = spawn_app().await;
    let t = app.tenant("rsy").await;
    let ids = members(&t.secretary1, t.branch1.id, 4, 1).await;
    let b = Browser::start(PHONE).await;
    sign_in(&b, &app, "rsy-sec1", 4).await;
    b.set_offline(true).await;
    open_member(&b, "党员00003").await;
    confirm_without_form(&b, "confirmed_assisted", "卧床，由家属代为签字").await;
    // The stored cursor now names a version the server never reached (as after a restore of
    // the server from an older backup): the server answers 410.
    b.expect_severe(
        &["/v1/sync/pull", "status of 410"],
        "a cursor the server never reached",
    );
    b.eval_async(
        r#"const { sha256 } = await import('/assets/core/sha256.js');
           const bytes = new Uint8Array(13);
           bytes[0] = 1;
           new DataView(bytes.buffer).setBigUint64(1, 999999n);
           bytes.set(sha256(bytes.subarray(0, 9)).subarray(0, 4), 9);
           const cursor = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
           const db = await new Promise((ok) => { const r = indexedDB.open('paicha-field'); r.onsuccess = () => ok(r.result); });
           await new Promise((ok) => { const t = db.transaction('meta', 'readwrite'); t.objectStore('meta').put({ key: 'cursor', value: cursor }); t.oncomplete = ok; });
           db.close();
           return cursor;"#,
    )
    .await;
    b.client.refresh().await.unwrap();
    b.set_offline(false).await;
    b.goto_hash("#/").await;
    wait_members(&b, 4).await;
    b.wait_until(
        30,
        "return document.querySelector('#sync-badge')?.dataset.waiting === '0' \
         && performance.getEntriesByType('resource').some(e => e.name.includes('/v1/sync/pull') && e.responseStatus === 410);",
    )
    .await;
    let mut server = paicha_tests::Replica::default();
    server.sync(&t.secretary1).await.unwrap();
    assert_eq!(
        server.records[&("members".to_owned(), ids[2])].1["roster_status"],
        "confirmed_assisted"
    );
    // The rebuilt replica is on disk, not only in memory.
    let mut stored = json!(null);
    for _ in 0..50 {
        stored = b
            .eval_async(&format!(
                "{} return rows.filter(r => r.collection === 'members').length;",
                read_records()
            ))
            .await;
        if stored == json!(4) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stored, json!(4));
    b.close().await;
}
