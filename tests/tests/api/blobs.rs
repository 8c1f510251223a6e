//! Blobs: checked by hash and content, resumable, stored once, readable only in scope.

use paicha_domain::api::v1::MutationStatus;
use paicha_tests::{patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn jpeg(seed: u8, len: usize) -> (String, Vec<u8>) {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    let hash = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (hash, bytes)
}

#[tokio::test]
async fn uploads_are_checked_by_hash_kind_and_size() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (hash, bytes) = jpeg(1, 1000);
    let (other_hash, _) = jpeg(2, 1000);
    let err = t
        .secretary1
        .put_blob(&other_hash, bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            Some("blob_hash_mismatch")
        )
    );

    let html = b"<html>not a photo</html>".to_vec();
    let html_hash: String = Sha256::digest(&html)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let err = t.secretary1.put_blob(&html_hash, html).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            Some("unsupported_blob_type")
        )
    );

    let err = t
        .secretary1
        .put_blob("not-a-hash", bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_path"));

    let stored = t.secretary1.put_blob(&hash, bytes.clone()).await.unwrap();
    assert!(stored.complete);
    assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(stored.received, bytes.len() as u64);
    // The same content again, by someone else: stored once, still fine.
    let again = t.secretary2.put_blob(&hash, bytes.clone()).await.unwrap();
    assert!(again.complete);

    let small = paicha_tests::spawn_app_with(|s| s.max_blob_bytes = 500).await;
    let s = small.tenant("a").await;
    let err = s.secretary1.put_blob(&hash, bytes).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::PAYLOAD_TOO_LARGE), Some("blob_too_large"))
    );
}

#[tokio::test]
async fn an_interrupted_upload_resumes_where_it_stopped() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (hash, bytes) = jpeg(3, 100_000);
    let total = bytes.len() as u64;
    let first = t
        .secretary1
        .put_blob_range(&hash, bytes[..40_000].to_vec(), Some((0, total)))
        .await
        .unwrap();
    assert_eq!((first.received, first.complete), (40_000, false));

    // The connection dropped; the phone retries from a wrong place, and is told where to go on.
    let resp = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{hash}", app.base))
        .bearer_auth(t.secretary1.access_token().unwrap())
        .header("content-range", format!("bytes 60000-99999/{total}"))
        .body(bytes[60_000..100_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(resp.headers()["upload-offset"], "40000");
    let status = t.secretary1.blob_upload_status(&hash).await.unwrap();
    assert_eq!((status.received, status.complete), (40_000, false));

    let done = t
        .secretary1
        .put_blob_range(&hash, bytes[40_000..].to_vec(), Some((40_000, total)))
        .await
        .unwrap();
    assert!(done.complete);
    assert_eq!(done.received, total);
    assert!(
        t.secretary1
            .blob_upload_status(&hash)
            .await
            .unwrap()
            .complete
    );

    // A corrupted chunked upload is discarded at its end.
    let (hash2, mut bytes2) = jpeg(4, 1000);
    bytes2[500] ^= 0xFF;
    let len = bytes2.len() as u64;
    t.secretary1
        .put_blob_range(&hash2, bytes2[..500].to_vec(), Some((0, len)))
        .await
        .unwrap();
    let err = t
        .secretary1
        .put_blob_range(&hash2, bytes2[500..].to_vec(), Some((500, len)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("blob_hash_mismatch"));
    assert_eq!(
        t.secretary1
            .blob_upload_status(&hash2)
            .await
            .unwrap()
            .received,
        0
    );
}

#[tokio::test]
async fn a_record_may_reference_a_blob_before_it_arrives_and_only_its_scope_reads_it() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (photo, bytes) = jpeg(5, 5000);
    let member = Uuid::now_v7();
    let form = Uuid::now_v7();
    let pushed = t
        .secretary1
        .push(
            "phone",
            vec![
                put(
                    1,
                    "members",
                    member,
                    t.branch1.id,
                    json!({"name": "冯十二"}),
                ),
                put(
                    2,
                    "info_forms",
                    form,
                    t.branch1.id,
                    json!({"member_id": member, "confirmation_mode": "on_site", "photos": [photo]}),
                ),
            ],
        )
        .await
        .unwrap();
    let result = &pushed.results[1];
    assert_eq!(result.status, MutationStatus::Applied);
    assert_eq!(result.missing_blobs.as_deref(), Some(&[photo.clone()][..]));
    assert_eq!(
        t.secretary1.missing_blobs().await.unwrap(),
        vec![photo.clone()]
    );
    assert_eq!(t.admin.missing_blobs().await.unwrap(), vec![photo.clone()]);
    assert!(t.secretary2.missing_blobs().await.unwrap().is_empty());
    let err = t.secretary1.get_blob(&photo).await.unwrap_err();
    assert_eq!(err.code(), Some("blob_missing"));

    t.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    assert!(t.secretary1.missing_blobs().await.unwrap().is_empty());
    assert_eq!(t.secretary1.get_blob(&photo).await.unwrap(), bytes);
    assert_eq!(t.admin.get_blob(&photo).await.unwrap(), bytes);
    // Out of scope, and in another tenant: as if it did not exist.
    let err = t.secretary2.get_blob(&photo).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::NOT_FOUND), Some("not_found"))
    );
    let b = app.tenant("b").await;
    let err = b.admin.get_blob(&photo).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(
        app.admin.get_blob(&photo).await.unwrap_err().status(),
        Some(StatusCode::FORBIDDEN)
    );

    // Replacing the photo drops the old reference.
    let (new_photo, new_bytes) = jpeg(6, 3000);
    t.secretary1.put_blob(&new_photo, new_bytes).await.unwrap();
    let r = t
        .secretary1
        .push(
            "phone",
            vec![patch(
                3,
                "info_forms",
                form,
                None,
                json!({"photos": [new_photo]}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].missing_blobs, None);
    assert_eq!(
        t.secretary1.get_blob(&photo).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND)
    );
}

#[tokio::test]
async fn a_tenant_learns_nothing_of_another_tenants_blobs() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (photo, bytes) = jpeg(7, 2000);
    a.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    // B cannot see that the content is stored...
    let status = b.secretary1.blob_upload_status(&photo).await.unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    // ...nor get it by naming its hash in a record of its own: it must upload it itself.
    let member = Uuid::now_v7();
    let r = b
        .secretary1
        .push(
            "p",
            vec![
                put(1, "members", member, b.branch1.id, json!({"name": "x"})),
                put(
                    2,
                    "info_forms",
                    Uuid::now_v7(),
                    b.branch1.id,
                    json!({"member_id": member, "confirmation_mode": "post", "signature": photo}),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[1].missing_blobs.as_deref(),
        Some(&[photo.clone()][..])
    );
    assert_eq!(
        b.secretary1.get_blob(&photo).await.unwrap_err().code(),
        Some("blob_missing")
    );
    b.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    assert_eq!(b.secretary1.get_blob(&photo).await.unwrap(), bytes);
}

#[tokio::test]
async fn unfinished_uploads_are_per_tenant_and_a_deleted_record_closes_its_blobs() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (photo, bytes) = jpeg(9, 10_000);
    let total = bytes.len() as u64;
    a.secretary1
        .put_blob_range(&photo, bytes[..4000].to_vec(), Some((0, total)))
        .await
        .unwrap();
    // B sees nothing of A's unfinished upload, and its own does not disturb A's.
    assert_eq!(
        b.secretary1
            .blob_upload_status(&photo)
            .await
            .unwrap()
            .received,
        0
    );
    b.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    assert_eq!(
        a.secretary1
            .blob_upload_status(&photo)
            .await
            .unwrap()
            .received,
        4000
    );
    let done = a
        .secretary1
        .put_blob_range(&photo, bytes[4000..].to_vec(), Some((4000, total)))
        .await
        .unwrap();
    assert!(done.complete);

    // A record references the photo; once it is deleted, nobody reads the photo through it.
    let (member, form) = (Uuid::now_v7(), Uuid::now_v7());
    a.secretary1
        .push(
            "p",
            vec![
                put(1, "members", member, a.branch1.id, json!({"name": "x"})),
                put(
                    2,
                    "info_forms",
                    form,
                    a.branch1.id,
                    json!({"member_id": member, "confirmation_mode": "post", "signature": photo}),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(a.secretary1.get_blob(&photo).await.unwrap(), bytes);
    a.secretary1
        .push("p", vec![paicha_tests::delete(3, "info_forms", form)])
        .await
        .unwrap();
    assert_eq!(
        a.secretary1.get_blob(&photo).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND)
    );
}

/// The process's peak resident memory so far (`VmHWM`), in bytes. nextest runs each test in a
/// process of its own, so this is the peak of this test's server and client.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .to_owned();
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Piece `i` of a large JPEG generated on the fly (so the test never holds it whole either).
fn big_jpeg_piece(i: usize, piece: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..piece)
        .map(|j| {
            ((i * 7 + j) as u8)
                .wrapping_mul(13)
                .wrapping_add(j as u8 >> 3)
        })
        .collect();
    if i == 0 {
        bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    }
    bytes
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

async fn push_form_naming(
    client: &paicha_client::Client,
    branch: Uuid,
    mid: i64,
    hashes: &[&str],
) -> Uuid {
    let (member, form) = (Uuid::now_v7(), Uuid::now_v7());
    let r = client
        .push(
            "phone",
            vec![
                put(mid, "members", member, branch, json!({"name": "褚十三"})),
                put(
                    mid + 1,
                    "info_forms",
                    form,
                    branch,
                    json!({"member_id": member, "confirmation_mode": "on_site", "photos": hashes}),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.results[1].status, MutationStatus::Applied);
    form
}

#[tokio::test]
async fn a_large_blob_streams_through_without_being_held_in_memory() {
    const PIECE: usize = 1 << 20;
    const PIECES: usize = 48;
    let app = paicha_tests::spawn_app_with(|s| s.max_blob_bytes = 64 << 20).await;
    let t = app.tenant("a").await;
    let mut hasher = Sha256::new();
    for i in 0..PIECES {
        hasher.update(big_jpeg_piece(i, PIECE));
    }
    let hash = hex(&hasher.finalize());
    push_form_naming(&t.secretary1, t.branch1.id, 1, &[&hash]).await;
    let token = t.secretary1.access_token().unwrap().to_owned();
    let http = reqwest::Client::new();
    let before = peak_rss();

    // A whole upload of 48 MiB, sent as a stream (no Content-Length).
    let pieces = tokio_stream::iter(
        (0..PIECES).map(|i| Ok::<Vec<u8>, std::io::Error>(big_jpeg_piece(i, PIECE))),
    );
    let resp = http
        .put(format!("{}/v1/blobs/{hash}", app.base))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(pieces))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );

    // Downloaded as a stream too, checked piece by piece.
    let mut resp = http
        .get(format!("{}/v1/blobs/{hash}", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some((PIECE * PIECES) as u64));
    let mut hasher = Sha256::new();
    let mut size = 0;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        size += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!((size, hex(&hasher.finalize())), (PIECE * PIECES, hash));

    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 24 << 20,
        "peak memory grew by {} MiB for a 48 MiB blob",
        grown >> 20
    );
}

#[tokio::test]
async fn transfers_beyond_the_bound_get_503_with_retry_after() {
    let app = paicha_tests::spawn_app_with(|s| s.max_blob_transfers = 1).await;
    let t = app.tenant("a").await;
    let (slow, slow_bytes) = jpeg(20, 200_000);
    let (other, other_bytes) = jpeg(21, 1000);
    let token = t.secretary1.access_token().unwrap().to_owned();

    // A slow upload holds the only slot: its body arrives in two parts.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let request = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{slow}", app.base))
        .bearer_auth(&token)
        .header("content-length", slow_bytes.len())
        .body(reqwest::Body::wrap_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .send();
    let slow_upload = tokio::spawn(request);
    tx.send(Ok(slow_bytes[..100_000].to_vec())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let resp = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{other}", app.base))
        .bearer_auth(&token)
        .body(other_bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_transfers");
    // Nothing of the refused upload was kept.
    assert_eq!(
        t.secretary1
            .blob_upload_status(&other)
            .await
            .unwrap()
            .received,
        0
    );

    tx.send(Ok(slow_bytes[100_000..].to_vec())).await.unwrap();
    drop(tx);
    let done = slow_upload.await.unwrap().unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    // The slot is free again.
    assert!(
        t.secretary1
            .put_blob(&other, other_bytes)
            .await
            .unwrap()
            .complete
    );
}

#[tokio::test]
async fn an_upload_over_the_tenants_quota_is_refused_and_nothing_is_lost() {
    let app = paicha_tests::spawn_app_with(|s| s.blob_quota_bytes = 5000).await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (first, first_bytes) = jpeg(30, 2996); // 3000 bytes
    let (second, second_bytes) = jpeg(31, 2996);
    let (third, third_bytes) = jpeg(32, 1496); // 1500 bytes
    a.secretary1
        .put_blob(&first, first_bytes.clone())
        .await
        .unwrap();

    // Whole, with Content-Length: refused before a byte is read.
    let err = a
        .secretary1
        .put_blob(&second, second_bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::INSUFFICIENT_STORAGE),
            Some("blob_quota_exceeded")
        )
    );
    // Whole, streamed without Content-Length: refused once the bytes pass the quota.
    let resp = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{second}", app.base))
        .bearer_auth(a.secretary1.access_token().unwrap())
        .body(reqwest::Body::wrap_stream(tokio_stream::iter(
            second_bytes
                .chunks(500)
                .map(|c| Ok::<Vec<u8>, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INSUFFICIENT_STORAGE);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "blob_quota_exceeded");
    // Chunked: refused at the first chunk, by its announced total.
    let err = a
        .secretary1
        .put_blob_range(&second, second_bytes[..1000].to_vec(), Some((0, 3000)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("blob_quota_exceeded"));
    let status = a.secretary1.blob_upload_status(&second).await.unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    // What was stored stays stored.
    assert!(
        a.secretary1
            .blob_upload_status(&first)
            .await
            .unwrap()
            .complete
    );

    // Unfinished uploads count too: 3000 stored + 1500 under way leaves no room for 1500 more.
    a.secretary1
        .put_blob_range(&third, third_bytes[..700].to_vec(), Some((0, 1500)))
        .await
        .unwrap();
    let (fourth, fourth_bytes) = jpeg(33, 1496);
    let err = a
        .secretary1
        .put_blob(&fourth, fourth_bytes)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("blob_quota_exceeded"));
    // The upload under way may finish: its own bytes are not counted twice.
    let done = a
        .secretary1
        .put_blob_range(&third, third_bytes[700..].to_vec(), Some((700, 1500)))
        .await
        .unwrap();
    assert!(done.complete);

    // Each tenant has its own quota, also for content another tenant holds.
    assert!(
        b.secretary1
            .put_blob(&first, first_bytes)
            .await
            .unwrap()
            .complete
    );
    assert!(
        b.secretary1
            .put_blob(&second, second_bytes)
            .await
            .unwrap_err()
            .code()
            == Some("blob_quota_exceeded")
    );
}

#[tokio::test]
async fn one_account_cannot_fill_the_tenants_quota_nor_leave_uploads_unfinished_without_end() {
    let app = paicha_tests::spawn_app_with(|s| {
        s.blob_quota_bytes = 20_000;
        s.user_blob_quota_bytes = 8000;
        s.max_unfinished_uploads = 2; // one per device
    })
    .await;
    let t = app.tenant("u").await;
    let blob = |seed| jpeg(seed, 2996); // 3000 bytes
    let (a, a_bytes) = blob(40);
    let (b, b_bytes) = blob(41);
    let (c, c_bytes) = blob(42);
    t.secretary1.put_blob(&a, a_bytes).await.unwrap();
    t.secretary1.put_blob(&b, b_bytes).await.unwrap();
    // 6000 bytes no record names: 3000 more is past the account's 8000, though the tenant has
    // room (6000 of 20000).
    let err = t
        .secretary1
        .put_blob(&c, c_bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::INSUFFICIENT_STORAGE),
            Some("user_blob_quota_exceeded")
        )
    );
    // Chunked, by its announced total, before anything is kept.
    let err = t
        .secretary1
        .put_blob_range(&c, c_bytes[..1000].to_vec(), Some((0, 3000)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("user_blob_quota_exceeded"));
    assert_eq!(
        t.secretary1.blob_upload_status(&c).await.unwrap().received,
        0
    );
    // Another account of the tenant still uploads.
    assert!(t.secretary2.put_blob(&c, c_bytes).await.unwrap().complete);
    // A record naming a blob frees the uploader's allowance (the tenant's quota still counts it).
    let member = Uuid::now_v7();
    let pushed = t
        .secretary1
        .push(
            "phone",
            vec![
                put(
                    1,
                    "members",
                    member,
                    t.branch1.id,
                    json!({"name": "褚十三"}),
                ),
                put(
                    2,
                    "info_forms",
                    Uuid::now_v7(),
                    t.branch1.id,
                    json!({"member_id": member, "confirmation_mode": "on_site", "photos": [a]}),
                ),
            ],
        )
        .await
        .unwrap();
    assert!(
        pushed
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );
    let (d, d_bytes) = blob(43);
    assert!(t.secretary1.put_blob(&d, d_bytes).await.unwrap().complete);

    // Unfinished uploads: one per device, two per user. (6000 bytes held; 500 each announced.)
    let phone = app
        .client
        .login("u-sec1", paicha_tests::PASSWORD, Some("phone-1"))
        .await
        .unwrap();
    let phone = app.client.with_token(phone.access_token);
    let small = |seed| jpeg(seed, 496); // 500 bytes
    let (e, e_bytes) = small(44);
    let (f, f_bytes) = small(45);
    let (g, g_bytes) = small(46);
    let started = phone
        .put_blob_range(&e, e_bytes[..200].to_vec(), Some((0, 500)))
        .await
        .unwrap();
    assert!(!started.complete);
    let err = phone
        .put_blob_range(&f, f_bytes[..200].to_vec(), Some((0, 500)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (
            Some(StatusCode::TOO_MANY_REQUESTS),
            Some("too_many_unfinished_uploads")
        )
    );
    // The same account from elsewhere has one more.
    t.secretary1
        .put_blob_range(&f, f_bytes[..200].to_vec(), Some((0, 500)))
        .await
        .unwrap();
    let err = t
        .secretary1
        .put_blob_range(&g, g_bytes[..200].to_vec(), Some((0, 500)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("too_many_unfinished_uploads"));
    // A whole upload, or a single chunk that completes its blob, leaves nothing unfinished.
    assert!(
        t.secretary1
            .put_blob_range(&g, g_bytes.clone(), Some((0, 500)))
            .await
            .unwrap()
            .complete
    );
    // Continuing an upload is never refused; finishing it frees its place.
    assert!(
        phone
            .put_blob_range(&e, e_bytes[200..].to_vec(), Some((200, 500)))
            .await
            .unwrap()
            .complete
    );
    let (h, h_bytes) = small(47);
    assert!(
        !phone
            .put_blob_range(&h, h_bytes[..200].to_vec(), Some((0, 500)))
            .await
            .unwrap()
            .complete
    );
    // Another user of the tenant is not held by this one's unfinished uploads.
    let (k, k_bytes) = small(48);
    assert!(
        !t.secretary2
            .put_blob_range(&k, k_bytes[..200].to_vec(), Some((0, 500)))
            .await
            .unwrap()
            .complete
    );
}

#[tokio::test]
async fn blobs_unreferenced_for_the_grace_period_are_collected() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (kept, kept_bytes) = jpeg(40, 1000);
    let (loose, loose_bytes) = jpeg(41, 1000);
    let (dropped, dropped_bytes) = jpeg(42, 1000);
    let (late, late_bytes) = jpeg(43, 1000);
    for (hash, bytes) in [
        (&kept, &kept_bytes),
        (&loose, &loose_bytes),
        (&dropped, &dropped_bytes),
        (&late, &late_bytes),
    ] {
        a.secretary1.put_blob(hash, bytes.clone()).await.unwrap();
    }
    // Tenant b holds `loose` too, and `kept` unreferenced.
    b.secretary1
        .put_blob(&loose, loose_bytes.clone())
        .await
        .unwrap();
    b.secretary1
        .put_blob(&kept, kept_bytes.clone())
        .await
        .unwrap();
    push_form_naming(&a.secretary1, a.branch1.id, 1, &[&kept]).await;
    let form = push_form_naming(&a.secretary1, a.branch1.id, 3, &[&dropped]).await;
    a.secretary1
        .push("phone", vec![paicha_tests::delete(5, "info_forms", form)])
        .await
        .unwrap();

    let store = paicha_storage::Store::connect(&app.db.url).await.unwrap();
    let files = paicha_storage::BlobStore::files(paicha_storage::BlobFiles::new(app.db.dir.path()));
    let locks = paicha_server::BlobLocks::new(store.clone());
    let grace = std::time::Duration::from_secs(7 * 24 * 3600);
    let now = chrono::Utc::now();
    // The first pass notes what is unreferenced; nothing is old enough yet.
    let first = paicha_server::collect_blobs(&store, &files, &locks, now, grace)
        .await
        .unwrap();
    assert_eq!(first, (0, 0));
    // `late` gets a record before the grace period ends: its clock stops.
    push_form_naming(&a.secretary1, a.branch1.id, 6, &[&late]).await;

    let later = now + chrono::Duration::days(8);
    let second = paicha_server::collect_blobs(&store, &files, &locks, later, grace)
        .await
        .unwrap();
    // Rows: a's loose and dropped, b's loose and kept. Files: loose and dropped (kept is
    // still a's).
    assert_eq!(second, (4, 2));
    assert!(!files.exists(&loose).await);
    assert!(!files.exists(&dropped).await);
    assert!(files.exists(&kept).await);
    assert!(files.exists(&late).await);
    // Every lease was given back: another holder takes one at once.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    for sha in [&loose, &dropped, &kept, &late] {
        assert!(
            store
                .take_blob_lease(sha, "probe", chrono::Utc::now(), soon)
                .await
                .unwrap()
        );
        store.release_blob_lease(sha, "probe").await.unwrap();
    }

    assert_eq!(a.secretary1.get_blob(&kept).await.unwrap(), kept_bytes);
    assert_eq!(a.secretary1.get_blob(&late).await.unwrap(), late_bytes);
    for (client, hash) in [
        (&a.secretary1, &loose),
        (&a.secretary1, &dropped),
        (&b.secretary1, &loose),
        (&b.secretary1, &kept),
    ] {
        let status = client.blob_upload_status(hash).await.unwrap();
        assert_eq!((status.received, status.complete), (0, false), "{hash}");
    }
    // A record naming a collected blob sees it missing, and it can be uploaded again.
    push_form_naming(&a.secretary1, a.branch1.id, 8, &[&dropped]).await;
    assert_eq!(
        a.secretary1.missing_blobs().await.unwrap(),
        vec![dropped.clone()]
    );
    a.secretary1
        .put_blob(&dropped, dropped_bytes.clone())
        .await
        .unwrap();
    assert_eq!(
        a.secretary1.get_blob(&dropped).await.unwrap(),
        dropped_bytes
    );
}

#[tokio::test]
async fn knowing_a_hash_is_not_enough_to_read_a_blob() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (photo, bytes) = jpeg(50, 2000);
    t.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    // The uploader itself reads nothing no record names.
    assert_eq!(
        t.secretary1.get_blob(&photo).await.unwrap_err().code(),
        Some("not_found")
    );
    push_form_naming(&t.secretary1, t.branch1.id, 1, &[&photo]).await;
    assert_eq!(t.secretary1.get_blob(&photo).await.unwrap(), bytes);
    // A sibling branch that uploads the very same content still may not read it: no record
    // of its scope names it.
    t.secretary2.put_blob(&photo, bytes.clone()).await.unwrap();
    let err = t.secretary2.get_blob(&photo).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::NOT_FOUND), Some("not_found"))
    );
}

#[tokio::test]
async fn a_chunk_cut_off_midway_keeps_nothing_of_itself() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (hash, bytes) = jpeg(60, 300_000);
    let total = bytes.len() as u64;
    t.secretary1
        .put_blob_range(&hash, bytes[..100_000].to_vec(), Some((0, total)))
        .await
        .unwrap();
    // The next chunk's connection breaks after part of it was sent (and written on the way).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let request = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{hash}", app.base))
        .bearer_auth(t.secretary1.access_token().unwrap())
        .header("content-range", format!("bytes 100000-199999/{total}"))
        .header("content-length", 100_000)
        .body(reqwest::Body::wrap_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .send();
    let cut = tokio::spawn(request);
    tx.send(Ok(bytes[100_000..150_000].to_vec())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.send(Err(std::io::Error::other("network gone")))
        .await
        .unwrap();
    drop(tx);
    assert!(cut.await.unwrap().is_err());
    // The server removes the partial chunk before it lets anyone continue.
    let mut received = 0;
    for _ in 0..50 {
        received = t
            .secretary1
            .blob_upload_status(&hash)
            .await
            .unwrap()
            .received;
        if received == 100_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(received, 100_000);
    let done = t
        .secretary1
        .put_blob_range(&hash, bytes[100_000..].to_vec(), Some((100_000, total)))
        .await
        .unwrap();
    assert!(done.complete);
    push_form_naming(&t.secretary1, t.branch1.id, 1, &[&hash]).await;
    assert_eq!(t.secretary1.get_blob(&hash).await.unwrap(), bytes);
}

#[tokio::test]
async fn a_blob_is_private_no_cache_with_its_etag_and_304_when_unchanged() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let (photo, bytes) = jpeg(9, 2000);
    push_form_naming(&t.secretary1, t.branch1.id, 1, &[&photo]).await;
    t.secretary1.put_blob(&photo, bytes.clone()).await.unwrap();
    let url = format!("{}/v1/blobs/{photo}", app.base);
    let get = |token: String, if_none_match: Option<String>| {
        let url = url.clone();
        async move {
            let mut req = reqwest::Client::new().get(url).bearer_auth(token);
            if let Some(tag) = if_none_match {
                req = req.header("if-none-match", tag);
            }
            let resp = req.send().await.unwrap();
            let (status, headers) = (resp.status(), resp.headers().clone());
            (status, headers, resp.bytes().await.unwrap().to_vec())
        }
    };
    let token = t.secretary1.access_token().unwrap().to_owned();
    let (status, headers, body) = get(token.clone(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, bytes);
    let etag = format!("\"{photo}\"");
    assert_eq!(headers["etag"], etag.as_str());
    assert_eq!(headers["cache-control"], "private, no-cache");

    // Asked again with its ETag: 304, no body, the same headers.
    let (status, headers, body) = get(token.clone(), Some(etag.clone())).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers["etag"], etag.as_str());
    assert_eq!(headers["cache-control"], "private, no-cache");
    // Another ETag gets the content.
    let (status, _, body) = get(token, Some(format!("\"{}\"", "0".repeat(64)))).await;
    assert_eq!((status, body), (StatusCode::OK, bytes));
    // The ETag opens nothing: out of scope it is the same 404 as without it.
    let other = t.secretary2.access_token().unwrap().to_owned();
    let (status, headers, _) = get(other, Some(etag)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["cache-control"], "no-store");
}
