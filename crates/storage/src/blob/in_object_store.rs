//! Blob content in an S3-compatible object store (`PAICHA_BLOB_STORE=s3://bucket/prefix`):
//! `PREFIX/blobs/ab/abcdef…` once checked, `PREFIX/uploads/TENANT/SHA256/OFFSET` while an upload
//! is unfinished. Each upload request's bytes are staged as one object, named by the offset it
//! starts at, and where the upload stands is kept in the database (`blob_uploads`), so an upload
//! begun through one instance resumes through another. On completion the staged objects are
//! copied to the final name while checked, which becomes visible only if the hash and kind are
//! right.

use paicha_domain::ids::TenantId;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use paicha_domain::blob::BlobKind;
use tokio_stream::StreamExt;

use super::intake::Intake;
use super::{BlobBackend, BlobError, BlobRow, Pieces, Sink};
use crate::Store;

/// An S3-compatible object store named by a URL, with its options (the `AWS_*` settings,
/// lower-cased without the prefix being kept: `aws_endpoint`, `aws_region`, …).
#[derive(Clone)]
pub struct ObjectStoreSettings {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    pub options: Vec<(String, String)>,
}

impl std::fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Option values hold credentials: only their names are shown.
        let keys: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ObjectStoreSettings")
            .field("url", &self.url)
            .field("options", &keys)
            .finish()
    }
}

/// How many parts of one multipart write may be in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

fn object_error(err: object_store::Error) -> std::io::Error {
    match err {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, err.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

/// Blob content in an S3-compatible object store: `PREFIX/blobs/ab/abcdef…` once checked,
/// `PREFIX/uploads/TENANT/SHA256/OFFSET` while an upload is unfinished.
#[derive(Clone)]
pub struct ObjectBlobs {
    objects: Arc<dyn ObjectStore>,
    prefix: String,
    db: Store,
}

impl std::fmt::Debug for ObjectBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlobs")
            .field("store", &self.objects.to_string())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ObjectBlobs {
    /// Connects to the object store the settings name (no request is made yet).
    pub fn connect(settings: &ObjectStoreSettings, db: Store) -> Result<Self, String> {
        let (objects, prefix) = settings.build()?;
        Ok(Self::new(objects, &prefix, db))
    }
}

impl ObjectStoreSettings {
    /// The client of the store these settings name, and the prefix of paicha's keys in its
    /// bucket. Makes no request: a wrong URL or an unknown option is found here, an
    /// unreachable store on first use.
    pub fn build(&self) -> Result<(Arc<dyn ObjectStore>, String), String> {
        let url = self.url.trim();
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("应以 s3:// 开头，实际为 {url:?}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("缺少存储桶名称：{url:?}"));
        }
        let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
        for (key, value) in &self.options {
            let key: object_store::aws::AmazonS3ConfigKey = key
                .parse()
                .map_err(|_| format!("不认识的对象存储设置 {}", key.to_ascii_uppercase()))?;
            builder = builder.with_config(key, value);
        }
        let objects = builder.build().map_err(|e| e.to_string())?;
        Ok((Arc::new(objects), prefix.to_owned()))
    }
}

impl ObjectBlobs {
    /// Over any object store (tests use the in-memory one).
    pub fn new(objects: Arc<dyn ObjectStore>, prefix: &str, db: Store) -> Self {
        Self {
            objects,
            prefix: prefix.trim_matches('/').to_owned(),
            db,
        }
    }

    fn key(&self, rest: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rest)
        } else {
            ObjectPath::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn final_key(&self, sha256: &str) -> ObjectPath {
        self.key(&format!(
            "blobs/{}/{sha256}",
            sha256.get(..2).unwrap_or("xx")
        ))
    }

    fn staged_dir(&self, tenant_id: TenantId, sha256: &str) -> ObjectPath {
        self.key(&format!("uploads/{}/{sha256}", tenant_id.uuid().simple()))
    }

    fn staged_key(&self, tenant_id: TenantId, sha256: &str, offset: u64) -> ObjectPath {
        self.key(&format!(
            "uploads/{}/{sha256}/{offset:020}",
            tenant_id.uuid().simple()
        ))
    }

    /// The staged parts of an upload: (offset, size, key), by offset.
    async fn staged_parts(
        &self,
        tenant_id: TenantId,
        sha256: &str,
    ) -> std::io::Result<Vec<(u64, u64, ObjectPath)>> {
        let dir = self.staged_dir(tenant_id, sha256);
        let mut listing = self.objects.list(Some(&dir));
        let mut parts = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(object_error)?;
            let Some(offset) = meta
                .location
                .filename()
                .and_then(|name| name.parse::<u64>().ok())
            else {
                continue;
            };
            parts.push((offset, meta.size, meta.location));
        }
        parts.sort_by_key(|(offset, _, _)| *offset);
        Ok(parts)
    }

    async fn drop_staged(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<()> {
        for (_, _, key) in self.staged_parts(tenant_id, sha256).await? {
            match self.objects.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(object_error(err)),
            }
        }
        self.db
            .forget_blob_upload(tenant_id, sha256)
            .await
            .map_err(std::io::Error::other)
    }

    async fn object_sink(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<ObjectSink, BlobError> {
        let received = self.received(tenant_id, sha256).await?;
        if !whole && offset != received {
            return Err(BlobError::OffsetMismatch { offset, received });
        }
        let upload = self
            .objects
            .put_multipart(&self.staged_key(tenant_id, sha256, offset))
            .await
            .map_err(object_error)?;
        Ok(ObjectSink {
            db: self.db.clone(),
            tenant_id,
            sha256: sha256.to_owned(),
            upload: Some(WriteMultipart::new(upload)),
            start: offset,
            written: 0,
        })
    }

    async fn received(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<u64> {
        self.db
            .blob_upload_received(tenant_id, sha256)
            .await
            .map_err(std::io::Error::other)
    }

    /// Checks the staged parts of a finished upload (contiguous, `expected_size` bytes, the
    /// named hash, a JPEG, PNG or PDF) while copying them to the blob's final name, which
    /// becomes visible only when the copy completes; then drops the staged parts.
    async fn copy_checked(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobRow, BlobError> {
        let received = self.received(tenant_id, sha256).await?;
        if received < expected_size {
            return Err(BlobError::SizeMismatch {
                expected: expected_size,
                actual: received,
            });
        }
        let parts = self.staged_parts(tenant_id, sha256).await?;
        let mut chain = Vec::new();
        let mut at = 0u64;
        while at < received {
            let Some((_, size, key)) = parts.iter().find(|(offset, _, _)| *offset == at) else {
                break;
            };
            chain.push(key.clone());
            at = at.saturating_add(*size);
            if *size == 0 {
                break;
            }
        }
        if at != expected_size {
            // The staged bytes do not add up (an operator deleted some?): start over.
            self.drop_staged(tenant_id, sha256).await?;
            return Err(BlobError::SizeMismatch {
                expected: expected_size,
                actual: std::cmp::Ord::min(at, expected_size.saturating_sub(1)),
            });
        }
        let target = self.final_key(sha256);
        let mut out = WriteMultipart::new(
            self.objects
                .put_multipart(&target)
                .await
                .map_err(object_error)?,
        );
        let mut intake = Intake::new(0, true);
        let copied: std::io::Result<()> = async {
            for key in &chain {
                let mut stream = self
                    .objects
                    .get(key)
                    .await
                    .map_err(object_error)?
                    .into_stream();
                while let Some(piece) = stream.next().await {
                    let piece = piece.map_err(object_error)?;
                    intake.take(&piece);
                    out.wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .map_err(object_error)?;
                    out.put(piece);
                }
            }
            Ok(())
        }
        .await;
        let checked = match copied {
            Err(err) => {
                let _ = out.abort().await;
                return Err(BlobError::Io(err));
            }
            Ok(()) => intake.verdict(sha256),
        };
        let kind = match checked {
            Ok(kind) => kind,
            Err(err) => {
                let _ = out.abort().await;
                self.drop_staged(tenant_id, sha256).await?;
                return Err(err);
            }
        };
        out.finish().await.map_err(object_error)?;
        self.drop_staged(tenant_id, sha256).await?;
        Ok(BlobRow::checked(sha256, expected_size, kind))
    }

    /// Deletes unfinished uploads not written to for `older_than`.
    async fn purge_stale(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
        let age = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let now = Utc::now();
        let before = now.checked_sub_signed(age).unwrap_or(now);
        let stale = self
            .db
            .stale_blob_uploads(before)
            .await
            .map_err(std::io::Error::other)?;
        let mut purged = 0;
        for (tenant_id, sha256) in stale {
            self.drop_staged(tenant_id, &sha256).await?;
            purged += 1;
        }
        Ok(purged)
    }
}

#[async_trait::async_trait]
impl BlobBackend for ObjectBlobs {
    fn describe(&self) -> String {
        format!("对象存储 {} {}", self.objects, self.prefix)
    }

    async fn received(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<u64> {
        ObjectBlobs::received(self, tenant_id, sha256).await
    }

    async fn unfinished_bytes(&self, tenant_id: TenantId) -> std::io::Result<u64> {
        self.db
            .blob_uploads_received(tenant_id)
            .await
            .map_err(std::io::Error::other)
    }

    async fn sink(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<Box<dyn Sink>, BlobError> {
        Ok(Box::new(
            self.object_sink(tenant_id, sha256, offset, whole).await?,
        ))
    }

    /// The staged bytes are checked while copied, `verified` or not: the copy reads them anyway.
    async fn finish(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        size: u64,
        _verified: Option<BlobKind>,
    ) -> Result<BlobRow, BlobError> {
        self.copy_checked(tenant_id, sha256, size).await
    }

    async fn discard(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<()> {
        self.drop_staged(tenant_id, sha256).await
    }

    async fn exists(&self, sha256: &str) -> bool {
        match self.objects.head(&self.final_key(sha256)).await {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(err) => {
                tracing::warn!(error = %err, "object store did not answer");
                false
            }
        }
    }

    async fn open(&self, sha256: &str) -> std::io::Result<Box<dyn Pieces>> {
        let got = self
            .objects
            .get(&self.final_key(sha256))
            .await
            .map_err(object_error)?;
        Ok(Box::new(ObjectPieces(got.into_stream())))
    }

    async fn remove(&self, sha256: &str) -> std::io::Result<bool> {
        match self.objects.delete(&self.final_key(sha256)).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(object_error(err)),
        }
    }

    async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
        self.purge_stale(older_than).await
    }
}

/// The bytes of one upload request on their way to a staged object: committed (the upload's
/// row moves on) or aborted (nothing of it is kept).
struct ObjectSink {
    db: Store,
    tenant_id: TenantId,
    sha256: String,
    upload: Option<WriteMultipart>,
    start: u64,
    written: u64,
}

#[async_trait::async_trait]
impl Sink for ObjectSink {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(std::io::Error::other("upload closed"));
        };
        upload
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(object_error)?;
        upload.write(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> std::io::Result<u64> {
        let Some(upload) = self.upload.take() else {
            return Err(std::io::Error::other("upload closed"));
        };
        upload.finish().await.map_err(object_error)?;
        let received = self.start + self.written;
        self.db
            .record_blob_upload(self.tenant_id, &self.sha256, received, Utc::now())
            .await
            .map_err(std::io::Error::other)?;
        Ok(received)
    }

    async fn abort(mut self: Box<Self>) {
        if let Some(upload) = self.upload.take() {
            let _ = upload.abort().await;
        }
    }
}

/// An object's content, piece by piece.
struct ObjectPieces(
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<Bytes, object_store::Error>> + Send>>,
);

#[async_trait::async_trait]
impl Pieces for ObjectPieces {
    async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        self.0.next().await.transpose().map_err(object_error)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::super::BlobStore;
    use super::super::intake::hex;
    use super::*;

    fn png(len: usize) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        bytes.extend((0..len).map(|i| (i % 251) as u8));
        bytes
    }

    async fn object_store() -> (
        Store,
        BlobStore,
        Arc<object_store::memory::InMemory>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let memory = Arc::new(object_store::memory::InMemory::new());
        let blobs = BlobStore::objects(ObjectBlobs::new(memory.clone(), "pre/fix", store.clone()));
        (store, blobs, memory, dir)
    }

    async fn put_chunk(
        blobs: &BlobStore,
        tenant: TenantId,
        sha: &str,
        at: u64,
        bytes: &[u8],
    ) -> u64 {
        let mut w = blobs
            .begin_chunk(tenant, sha, at)
            .await
            .unwrap_or_else(|e| panic!("begin: {e}"));
        w.write(bytes)
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        w.commit().await.unwrap_or_else(|e| panic!("commit: {e}"))
    }

    #[tokio::test]
    async fn a_chunked_upload_in_object_storage_resumes_from_the_database_and_is_checked() {
        let (store, blobs, memory, _dir) = object_store().await;
        let tenant = TenantId::new(uuid::Uuid::now_v7());
        let content = png(300_000);
        let sha = hex(&Sha256::digest(&content));
        let (first, second) = content.split_at(100_000);
        assert_eq!(put_chunk(&blobs, tenant, &sha, 0, first).await, 100_000);
        // A second instance over the same database and bucket sees where the upload stands.
        let other = BlobStore::objects(ObjectBlobs::new(memory.clone(), "pre/fix", store.clone()));
        assert_eq!(other.received(tenant, &sha).await.ok(), Some(100_000));
        assert_eq!(other.unfinished_bytes(tenant).await.ok(), Some(100_000));
        match other.begin_chunk(tenant, &sha, 5).await {
            Err(BlobError::OffsetMismatch {
                offset: 5,
                received: 100_000,
            }) => {}
            Err(e) => panic!("expected an offset mismatch, got {e}"),
            Ok(_) => panic!("expected an offset mismatch"),
        }
        // An aborted request keeps nothing of itself.
        let mut w = other
            .begin_chunk(tenant, &sha, 100_000)
            .await
            .unwrap_or_else(|e| panic!("begin: {e}"));
        w.write(&second[..10])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.abort().await;
        assert_eq!(other.received(tenant, &sha).await.ok(), Some(100_000));
        assert!(!other.exists(&sha).await);
        assert_eq!(
            put_chunk(&other, tenant, &sha, 100_000, second).await,
            content.len() as u64
        );
        let row = other
            .finish(tenant, &sha, content.len() as u64)
            .await
            .unwrap_or_else(|e| panic!("finish: {e}"));
        assert_eq!(row.content_type, "image/png");
        assert!(blobs.exists(&sha).await);
        // Read back whole, under the prefix; the staged parts and the session row are gone.
        let mut reader = blobs.open(&sha).await.unwrap_or_else(|e| panic!("{e}"));
        let mut back = Vec::new();
        while let Some(piece) = reader.next_piece().await.unwrap_or_else(|e| panic!("{e}")) {
            back.extend_from_slice(&piece);
        }
        assert_eq!(back, content);
        let keys: Vec<String> = memory
            .list(None)
            .map(|m| m.map(|m| m.location.to_string()))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys, vec![format!("pre/fix/blobs/{}/{sha}", &sha[..2])]);
        assert_eq!(store.blob_upload_received(tenant, &sha).await.ok(), Some(0));
        assert!(blobs.remove(&sha).await.unwrap_or(false));
        assert!(!blobs.exists(&sha).await);
    }

    #[tokio::test]
    async fn content_whose_hash_is_not_the_named_one_never_becomes_a_blob() {
        let (_store, blobs, memory, _dir) = object_store().await;
        let tenant = TenantId::new(uuid::Uuid::now_v7());
        let content = png(1000);
        let wrong = hex(&Sha256::digest(b"something else"));
        put_chunk(&blobs, tenant, &wrong, 0, &content).await;
        match blobs.finish(tenant, &wrong, content.len() as u64).await {
            Err(BlobError::HashMismatch) => {}
            other => panic!(
                "expected a hash mismatch, got {:?}",
                other.map(|r| r.sha256)
            ),
        }
        assert!(!blobs.exists(&wrong).await);
        assert_eq!(blobs.received(tenant, &wrong).await.ok(), Some(0));
        let left = memory.list(None).collect::<Vec<_>>().await;
        assert!(left.is_empty(), "left behind: {left:?}");
        // A whole upload is hashed as it arrives.
        let mut w = blobs
            .begin_whole(tenant, &wrong)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.write(&content).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            blobs.finish_whole(w, &wrong).await,
            Err(BlobError::HashMismatch)
        ));
        assert!(memory.list(None).collect::<Vec<_>>().await.is_empty());
    }

    #[tokio::test]
    async fn abandoned_uploads_in_object_storage_are_purged_and_fresh_ones_kept() {
        let (store, blobs, memory, _dir) = object_store().await;
        let tenant = TenantId::new(uuid::Uuid::now_v7());
        let content = png(5000);
        let sha = hex(&Sha256::digest(&content));
        put_chunk(&blobs, tenant, &sha, 0, &content[..1000]).await;
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(blobs.purge_unfinished(hour).await.unwrap(), 0);
        assert_eq!(blobs.received(tenant, &sha).await.unwrap(), 1000);
        // Not written to for "zero" time: abandoned.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(
            blobs
                .purge_unfinished(std::time::Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert_eq!(blobs.received(tenant, &sha).await.unwrap(), 0);
        assert_eq!(store.blob_uploads_received(tenant).await.unwrap(), 0);
        assert!(memory.list(None).collect::<Vec<_>>().await.is_empty());
    }
}
