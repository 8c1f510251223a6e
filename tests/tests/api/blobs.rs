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
