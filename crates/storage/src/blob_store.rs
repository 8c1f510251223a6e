//! Where blob content is kept: files in the data dir ([`BlobFiles`], the default) or an
//! S3-compatible object store ([`ObjectBlobs`], `PAICHA_BLOB_STORE=s3://bucket/prefix`), behind
//! one API ([`BlobStore`]). Both keep content by SHA-256 and make it visible under its final
//! name only after its size, hash and kind were checked.
//!
//! Shared by every instance, in the database: the lease per content hash (one upload of a
//! given content at a time, across instances, and none while the collection deletes it), and,
//! for object storage, where each unfinished upload stands (`blob_uploads`): its bytes are
//! staged as one object per request, named by the offset it starts at, so an upload begun
//! through one instance resumes through another.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use paicha_domain::blob::sniff;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio_stream::StreamExt;
use uuid::Uuid;

use crate::blobs::{BlobError, BlobFiles, BlobRow, HEAD_LEN, PartialWriter, hex};
use crate::{Store, StoreError, StoreResult};

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

    fn staged_dir(&self, tenant_id: Uuid, sha256: &str) -> ObjectPath {
        self.key(&format!("uploads/{}/{sha256}", tenant_id.simple()))
    }

    fn staged_key(&self, tenant_id: Uuid, sha256: &str, offset: u64) -> ObjectPath {
        self.key(&format!(
            "uploads/{}/{sha256}/{offset:020}",
            tenant_id.simple()
        ))
    }

    /// The staged parts of an upload: (offset, size, key), by offset.
    async fn staged_parts(
        &self,
        tenant_id: Uuid,
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

    async fn drop_staged(&self, tenant_id: Uuid, sha256: &str) -> std::io::Result<()> {
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

    async fn begin(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<ObjectWriter, BlobError> {
        let received = self.received(tenant_id, sha256).await?;
        if !whole && offset != received {
            return Err(BlobError::OffsetMismatch { offset, received });
        }
        let upload = self
            .objects
            .put_multipart(&self.staged_key(tenant_id, sha256, offset))
            .await
            .map_err(object_error)?;
        Ok(ObjectWriter {
            blobs: self.clone(),
            tenant_id,
            sha256: sha256.to_owned(),
            upload: Some(WriteMultipart::new(upload)),
            start: offset,
            written: 0,
            head: Vec::with_capacity(HEAD_LEN),
            hasher: whole.then(Sha256::new),
        })
    }

    async fn received(&self, tenant_id: Uuid, sha256: &str) -> std::io::Result<u64> {
        self.db
            .blob_upload_received(tenant_id, sha256)
            .await
            .map_err(std::io::Error::other)
    }

    /// Checks the staged parts of a finished upload (contiguous, `expected_size` bytes, the
    /// named hash, a JPEG, PNG or PDF) while copying them to the blob's final name, which
    /// becomes visible only when the copy completes; then drops the staged parts.
    async fn finish(
        &self,
        tenant_id: Uuid,
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
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(HEAD_LEN);
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
                    if head.len() < HEAD_LEN {
                        let take = (HEAD_LEN - head.len()).min(piece.len());
                        head.extend_from_slice(piece.get(..take).unwrap_or_default());
                    }
                    hasher.update(&piece);
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
            Ok(()) if hex(&hasher.finalize()) != sha256 => Err(BlobError::HashMismatch),
            Ok(()) => sniff(&head).ok_or(BlobError::UnsupportedType),
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
        Ok(BlobRow {
            sha256: sha256.to_owned(),
            size: expected_size,
            content_type: kind.mime().to_owned(),
        })
    }

    /// Deletes unfinished uploads not written to for `older_than`.
    async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
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

/// The bytes of one upload request on their way to a staged object. Like [`PartialWriter`]:
/// either committed (the session row moves on) or aborted (nothing of it is kept).
pub struct ObjectWriter {
    blobs: ObjectBlobs,
    tenant_id: Uuid,
    sha256: String,
    upload: Option<WriteMultipart>,
    start: u64,
    written: u64,
    head: Vec<u8>,
    hasher: Option<Sha256>,
}

impl ObjectWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        if self.start == 0 && self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head
                .extend_from_slice(bytes.get(..take).unwrap_or_default());
            if self.head.len() >= 8 && sniff(&self.head).is_none() {
                return Err(BlobError::UnsupportedType);
            }
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(BlobError::Io(std::io::Error::other("upload closed")));
        };
        upload
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(object_error)?;
        upload.write(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn commit(mut self) -> Result<u64, BlobError> {
        let Some(upload) = self.upload.take() else {
            return Err(BlobError::Io(std::io::Error::other("upload closed")));
        };
        upload.finish().await.map_err(object_error)?;
        let received = self.start + self.written;
        self.blobs
            .db
            .record_blob_upload(self.tenant_id, &self.sha256, received, Utc::now())
            .await
            .map_err(std::io::Error::other)?;
        Ok(received)
    }

    async fn abort(mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = upload.abort().await;
        }
    }
}

/// Where blob content is kept (see the module's documentation).
#[derive(Debug, Clone)]
pub enum BlobStore {
    Files(BlobFiles),
    Objects(ObjectBlobs),
}

/// One upload request's bytes on their way (see [`PartialWriter`], [`ObjectWriter`]).
pub enum BlobWriter {
    File(PartialWriter),
    Object(ObjectWriter),
}

impl BlobWriter {
    /// Bytes of this request written so far.
    pub fn written(&self) -> u64 {
        match self {
            Self::File(w) => w.written(),
            Self::Object(w) => w.written,
        }
    }

    /// Writes the next bytes of the request (refusing at once a content that is not a JPEG,
    /// PNG or PDF).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        match self {
            Self::File(w) => w.write(bytes).await,
            Self::Object(w) => w.write(bytes).await,
        }
    }

    /// Keeps what was written, durably; returns the bytes of the blob received so far.
    pub async fn commit(self) -> Result<u64, BlobError> {
        match self {
            Self::File(w) => w.commit().await,
            Self::Object(w) => w.commit().await,
        }
    }

    /// Drops this request's bytes.
    pub async fn abort(self) {
        match self {
            Self::File(w) => w.abort().await,
            Self::Object(w) => w.abort().await,
        }
    }
}

/// A stored blob's content, piece by piece.
pub enum BlobReader {
    File(tokio::fs::File, Vec<u8>),
    Object(futures_core_stream::Pieces),
}

/// The piece stream of an object (a boxed stream of `Bytes`).
mod futures_core_stream {
    pub type Pieces = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<bytes::Bytes, object_store::Error>> + Send>,
    >;
}

impl BlobReader {
    /// The next piece, or `None` at the end.
    pub async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        match self {
            Self::File(file, buf) => {
                let n = file.read(buf).await?;
                if n == 0 {
                    Ok(None)
                } else {
                    Ok(Some(Bytes::copy_from_slice(
                        buf.get(..n).unwrap_or_default(),
                    )))
                }
            }
            Self::Object(stream) => stream.next().await.transpose().map_err(object_error),
        }
    }
}

impl BlobStore {
    /// A short description for the start-up line and logs (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Files(files) => format!("数据目录 {}", files.root().display()),
            Self::Objects(objects) => format!("对象存储 {} {}", objects.objects, objects.prefix),
        }
    }

    /// Bytes received so far of an unfinished upload.
    pub async fn received(&self, tenant_id: Uuid, sha256: &str) -> std::io::Result<u64> {
        match self {
            Self::Files(files) => Ok(files.received(tenant_id, sha256).await),
            Self::Objects(objects) => objects.received(tenant_id, sha256).await,
        }
    }

    /// Bytes of every unfinished upload of a tenant (they count against its quota).
    pub async fn unfinished_bytes(&self, tenant_id: Uuid) -> std::io::Result<u64> {
        match self {
            Self::Files(files) => Ok(files.unfinished_bytes(tenant_id).await),
            Self::Objects(objects) => objects
                .db
                .blob_uploads_received(tenant_id)
                .await
                .map_err(std::io::Error::other),
        }
    }

    /// Starts receiving a whole blob (replacing any unfinished upload of it), hashed as it
    /// arrives.
    pub async fn begin_whole(
        &self,
        tenant_id: Uuid,
        sha256: &str,
    ) -> Result<BlobWriter, BlobError> {
        match self {
            Self::Files(files) => Ok(BlobWriter::File(
                files.begin_whole(tenant_id, sha256).await?,
            )),
            Self::Objects(objects) => Ok(BlobWriter::Object(
                objects.begin(tenant_id, sha256, 0, true).await?,
            )),
        }
    }

    /// Starts receiving a chunk that must start where the received bytes end.
    pub async fn begin_chunk(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        offset: u64,
    ) -> Result<BlobWriter, BlobError> {
        match self {
            Self::Files(files) => Ok(BlobWriter::File(
                files.begin_chunk(tenant_id, sha256, offset).await?,
            )),
            Self::Objects(objects) => Ok(BlobWriter::Object(
                objects.begin(tenant_id, sha256, offset, false).await?,
            )),
        }
    }

    /// Completes a whole upload: checks its hash and kind and stores it under its final name
    /// (or discards it).
    pub async fn finish_whole(
        &self,
        writer: BlobWriter,
        sha256: &str,
    ) -> Result<BlobRow, BlobError> {
        match (self, writer) {
            (Self::Files(files), BlobWriter::File(w)) => files.finish_whole(w, sha256).await,
            (Self::Objects(objects), BlobWriter::Object(w)) => {
                let tenant_id = w.tenant_id;
                let hash_ok = w
                    .hasher
                    .clone()
                    .is_some_and(|h| hex(&h.finalize()) == sha256);
                let size = w.commit().await?;
                if !hash_ok {
                    objects.drop_staged(tenant_id, sha256).await?;
                    return Err(BlobError::HashMismatch);
                }
                objects.finish(tenant_id, sha256, size).await
            }
            (_, writer) => {
                writer.abort().await;
                Err(BlobError::Io(std::io::Error::other(
                    "a writer of another blob store",
                )))
            }
        }
    }

    /// Checks a finished chunked upload (size, hash, kind) and stores it under its final name.
    /// On a wrong hash or kind the upload is discarded.
    pub async fn finish(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobRow, BlobError> {
        match self {
            Self::Files(files) => files.finish(tenant_id, sha256, expected_size).await,
            Self::Objects(objects) => objects.finish(tenant_id, sha256, expected_size).await,
        }
    }

    /// Whether a blob's checked content is stored. An unanswered object store counts as "not".
    pub async fn exists(&self, sha256: &str) -> bool {
        match self {
            Self::Files(files) => files.exists(sha256).await,
            Self::Objects(objects) => {
                match objects.objects.head(&objects.final_key(sha256)).await {
                    Ok(_) => true,
                    Err(object_store::Error::NotFound { .. }) => false,
                    Err(err) => {
                        tracing::warn!(error = %err, "object store did not answer");
                        false
                    }
                }
            }
        }
    }

    /// Opens a stored blob's content.
    pub async fn open(&self, sha256: &str) -> std::io::Result<BlobReader> {
        match self {
            Self::Files(files) => Ok(BlobReader::File(
                files.open(sha256).await?,
                vec![0u8; 64 * 1024],
            )),
            Self::Objects(objects) => {
                let got = objects
                    .objects
                    .get(&objects.final_key(sha256))
                    .await
                    .map_err(object_error)?;
                Ok(BlobReader::Object(got.into_stream()))
            }
        }
    }

    /// Deletes a stored blob's content (when no tenant holds it any more).
    pub async fn remove(&self, sha256: &str) -> std::io::Result<bool> {
        match self {
            Self::Files(files) => files.remove(sha256).await,
            Self::Objects(objects) => {
                match objects.objects.delete(&objects.final_key(sha256)).await {
                    Ok(()) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(err) => Err(object_error(err)),
                }
            }
        }
    }

    /// Deletes unfinished uploads not written to for `older_than`. Returns how many went.
    pub async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
        match self {
            Self::Files(files) => files.purge_unfinished(older_than).await,
            Self::Objects(objects) => objects.purge_unfinished(older_than).await,
        }
    }
}

impl Store {
    /// Takes the lease of a blob's content for `holder` until `expires_at`, unless someone
    /// else holds it and it has not expired (an expired lease is taken over). Returns whether
    /// `holder` now holds it.
    pub async fn take_blob_lease(
        &self,
        sha256: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let expired = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        self.db.execute(&expired).await?;
        let insert = Query::insert()
            .into_table("blob_leases")
            .columns(["sha256", "holder", "expires_at"])
            .values([sha256.into(), holder.into(), expires_at.into()])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(OnConflict::column("sha256").do_nothing().to_owned())
            .to_owned();
        Ok(self.db.execute(&insert).await?.rows_affected() == 1)
    }

    /// Deletes leases that ran out before `now` (their holders died). Returns how many.
    pub async fn prune_blob_leases(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// Gives a blob's lease back, if `holder` still holds it.
    pub async fn release_blob_lease(&self, sha256: &str, holder: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("holder").eq(holder))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Bytes received of an unfinished upload kept in object storage.
    pub async fn blob_upload_received(&self, tenant_id: Uuid, sha256: &str) -> StoreResult<u64> {
        let select = Query::select()
            .column("received")
            .from("blob_uploads")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        let received: i64 = row.try_get("", "received")?;
        Ok(u64::try_from(received).unwrap_or(0))
    }

    /// Bytes of every unfinished upload of a tenant kept in object storage.
    pub async fn blob_uploads_received(&self, tenant_id: Uuid) -> StoreResult<u64> {
        let select = Query::select()
            .expr_as(
                Expr::cust("CAST(COALESCE(SUM(received), 0) AS BIGINT)"),
                "used",
            )
            .from("blob_uploads")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        let used: i64 = row.try_get("", "used")?;
        Ok(u64::try_from(used).unwrap_or(0))
    }

    /// Notes that an upload kept in object storage has received `received` bytes.
    pub async fn record_blob_upload(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        received: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let received = i64::try_from(received).unwrap_or(i64::MAX);
        let upsert = Query::insert()
            .into_table("blob_uploads")
            .columns(["tenant_id", "sha256", "received", "updated_at"])
            .values([tenant_id.into(), sha256.into(), received.into(), now.into()])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .update_columns(["received", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// Forgets an unfinished upload kept in object storage.
    pub async fn forget_blob_upload(&self, tenant_id: Uuid, sha256: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blob_uploads")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Unfinished uploads kept in object storage not written to since `before`.
    pub async fn stale_blob_uploads(
        &self,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<(Uuid, String)>> {
        let select = Query::select()
            .columns(["tenant_id", "sha256"])
            .from("blob_uploads")
            .and_where(Expr::col("updated_at").lt(before))
            .to_owned();
        let mut stale = Vec::new();
        for row in self.db.query_all(&select).await? {
            stale.push((row.try_get("", "tenant_id")?, row.try_get("", "sha256")?));
        }
        Ok(stale)
    }
}

/// What one user holds of its tenant's blob storage that no record uses yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserBlobUse {
    /// Bytes of the blobs it uploaded that no live record names, plus the announced size of
    /// its unfinished uploads.
    pub bytes: u64,
    /// Its unfinished uploads.
    pub unfinished: u64,
    /// Its unfinished uploads started from the given device.
    pub unfinished_on_device: u64,
}

impl Store {
    /// What `user_id` holds (see [`UserBlobUse`]), leaving out the upload of `except` (the one
    /// being continued).
    pub async fn user_blob_use(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        device_id: Option<&str>,
        except: &str,
    ) -> StoreResult<UserBlobUse> {
        let named = Query::select()
            .expr(Expr::val(1))
            .from("blob_refs")
            .and_where(Expr::col(("blob_refs", "tenant_id")).equals(("blobs", "tenant_id")))
            .and_where(Expr::col(("blob_refs", "sha256")).equals(("blobs", "sha256")))
            .to_owned();
        let stored = Query::select()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "used")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("uploaded_by").eq(user_id))
            .and_where(Expr::exists(named).not())
            .to_owned();
        let stored = match self.db.query_one(&stored).await? {
            Some(row) => row.try_get::<i64>("", "used")?,
            None => 0,
        };
        let unfinished = Query::select()
            .columns(["device_id", "total"])
            .from("blob_upload_owners")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("user_id").eq(user_id))
            .and_where(Expr::col("sha256").ne(except))
            .to_owned();
        let mut held = UserBlobUse {
            bytes: u64::try_from(stored).unwrap_or(0),
            ..UserBlobUse::default()
        };
        for row in self.db.query_all(&unfinished).await? {
            let device: Option<String> = row.try_get("", "device_id")?;
            let total: i64 = row.try_get("", "total")?;
            held.bytes = held.bytes.saturating_add(u64::try_from(total).unwrap_or(0));
            held.unfinished += 1;
            if device.is_some() && device.as_deref() == device_id {
                held.unfinished_on_device += 1;
            }
        }
        Ok(held)
    }

    /// Notes who continues an unfinished upload of `total` bytes, and from which device.
    pub async fn note_unfinished_upload(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        user_id: Uuid,
        device_id: Option<&str>,
        total: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        let upsert = Query::insert()
            .into_table("blob_upload_owners")
            .columns([
                "tenant_id",
                "sha256",
                "user_id",
                "device_id",
                "total",
                "updated_at",
            ])
            .values([
                tenant_id.into(),
                sha256.into(),
                user_id.into(),
                device_id.map(str::to_owned).into(),
                total.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .update_columns(["user_id", "device_id", "total", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// Forgets who started an upload (it completed, was discarded or replaced).
    pub async fn forget_unfinished_upload(&self, tenant_id: Uuid, sha256: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blob_upload_owners")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Forgets the owners of uploads not continued since `before` (purged as abandoned).
    pub async fn forget_stale_upload_owners(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("blob_upload_owners")
            .and_where(Expr::col("updated_at").lt(before))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// The device a sign-in (refresh-token family) was made with, if it named one.
    pub async fn session_device(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> StoreResult<Option<String>> {
        let select = Query::select()
            .column("device_id")
            .from("refresh_tokens")
            .and_where(Expr::col("family_id").eq(session_id))
            .and_where(Expr::col("user_id").eq(user_id))
            .limit(1)
            .to_owned();
        match self.db.query_one(&select).await? {
            Some(row) => Ok(row.try_get("", "device_id")?),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
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
        let blobs = BlobStore::Objects(ObjectBlobs::new(memory.clone(), "pre/fix", store.clone()));
        (store, blobs, memory, dir)
    }

    async fn put_chunk(blobs: &BlobStore, tenant: Uuid, sha: &str, at: u64, bytes: &[u8]) -> u64 {
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
        let tenant = Uuid::now_v7();
        let content = png(300_000);
        let sha = hex(&Sha256::digest(&content));
        let (first, second) = content.split_at(100_000);
        assert_eq!(put_chunk(&blobs, tenant, &sha, 0, first).await, 100_000);
        // A second instance over the same database and bucket sees where the upload stands.
        let other = BlobStore::Objects(ObjectBlobs::new(memory.clone(), "pre/fix", store.clone()));
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
        let tenant = Uuid::now_v7();
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
        let tenant = Uuid::now_v7();
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

    #[tokio::test]
    async fn a_blob_lease_is_held_by_one_until_given_back_or_run_out() {
        let (store, _blobs, _memory, _dir) = object_store().await;
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(120);
        let sha = "a".repeat(64);
        assert!(
            store
                .take_blob_lease(&sha, "one", now, later)
                .await
                .unwrap_or(false)
        );
        assert!(
            !store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(true)
        );
        store
            .release_blob_lease(&sha, "two")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(true)
        );
        store
            .release_blob_lease(&sha, "one")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(false)
        );
        // Run out: pruned, or taken over.
        let after = later + chrono::Duration::seconds(1);
        assert_eq!(store.prune_blob_leases(later).await.unwrap(), 0);
        assert_eq!(store.prune_blob_leases(after).await.unwrap(), 1);
        assert!(
            store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap()
        );
        assert!(
            store
                .take_blob_lease(&sha, "three", after, after + chrono::Duration::seconds(120))
                .await
                .unwrap_or(false)
        );
    }
}
