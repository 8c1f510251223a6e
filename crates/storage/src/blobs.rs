//! Blobs: their content in a folder, named by SHA-256 (written under a temporary name, synced,
//! then renamed, so a crash never leaves a half blob under its final name), and in the
//! database the fact of their upload and which records reference them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use paicha_domain::blob::{BlobKind, is_blob_hash, sniff};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::records::{RecordRow, Scope};
use crate::{Store, StoreError, StoreResult, SyncTxn};

/// An uploaded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
}

/// Why a blob cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("a chunk starting at {offset} does not continue the {received} bytes received")]
    OffsetMismatch { offset: u64, received: u64 },
    #[error("the content is larger than the limit")]
    TooLarge,
    #[error("the content has {actual} bytes, not the announced {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("the content's SHA-256 is not the one named")]
    HashMismatch,
    #[error("the content is not a JPEG, PNG or PDF")]
    UnsupportedType,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The blob folder under the data dir.
#[derive(Debug, Clone)]
pub struct BlobFiles {
    root: PathBuf,
}

impl BlobFiles {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("blobs"),
        }
    }

    /// The blob folder itself (`DATA_DIR/blobs`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `blobs/ab/abcdef…`: two levels keep folders small.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(sha256.get(..2).unwrap_or("xx")).join(sha256)
    }

    /// An unfinished upload: per tenant, so tenants never see or disturb each other's.
    fn partial(&self, tenant_id: Uuid, sha256: &str) -> PathBuf {
        self.root
            .join("partial")
            .join(tenant_id.simple().to_string())
            .join(sha256)
    }

    pub async fn exists(&self, sha256: &str) -> bool {
        tokio::fs::try_exists(self.path(sha256))
            .await
            .unwrap_or(false)
    }

    /// Bytes received so far of an unfinished upload.
    pub async fn received(&self, tenant_id: Uuid, sha256: &str) -> u64 {
        tokio::fs::metadata(self.partial(tenant_id, sha256))
            .await
            .map_or(0, |m| m.len())
    }

    /// Bytes of every unfinished upload of a tenant (they count against its quota).
    pub async fn unfinished_bytes(&self, tenant_id: Uuid) -> u64 {
        let dir = self
            .root
            .join("partial")
            .join(tenant_id.simple().to_string());
        let Ok(mut files) = tokio::fs::read_dir(dir).await else {
            return 0;
        };
        let mut total = 0u64;
        while let Ok(Some(file)) = files.next_entry().await {
            if let Ok(meta) = file.metadata().await {
                total = total.saturating_add(meta.len());
            }
        }
        total
    }

    /// Starts receiving a whole blob: replaces any unfinished chunked upload of it. The bytes
    /// are written to disk as they arrive and hashed on the way.
    pub async fn begin_whole(
        &self,
        tenant_id: Uuid,
        sha256: &str,
    ) -> Result<PartialWriter, BlobError> {
        let path = self.partial(tenant_id, sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let file = tokio::fs::File::create(&path).await?;
        Ok(PartialWriter {
            file,
            path,
            start: 0,
            written: 0,
            head: Vec::with_capacity(HEAD_LEN),
            hasher: Some(Sha256::new()),
        })
    }

    /// Starts receiving a chunk that starts at `offset`: it must continue exactly where the
    /// received bytes end.
    pub async fn begin_chunk(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        offset: u64,
    ) -> Result<PartialWriter, BlobError> {
        let path = self.partial(tenant_id, sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let received = self.received(tenant_id, sha256).await;
        if offset != received {
            return Err(BlobError::OffsetMismatch { offset, received });
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        Ok(PartialWriter {
            file,
            path,
            start: received,
            written: 0,
            head: Vec::with_capacity(HEAD_LEN),
            hasher: None,
        })
    }

    /// Completes a whole upload whose bytes were hashed as they arrived: checks the hash and
    /// kind and moves it under its final name (or discards it).
    pub async fn finish_whole(
        &self,
        writer: PartialWriter,
        sha256: &str,
    ) -> Result<BlobRow, BlobError> {
        let size = writer.start + writer.written;
        let head = writer.head.clone();
        let path = writer.path.clone();
        let Some(hasher) = writer.hasher.clone() else {
            return Err(BlobError::Io(std::io::Error::other("not a whole upload")));
        };
        if let Err(err) = writer.commit().await {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(err);
        }
        let checked = if hex(&hasher.finalize()) != sha256 {
            Err(BlobError::HashMismatch)
        } else {
            sniff(&head).ok_or(BlobError::UnsupportedType)
        };
        match checked {
            Ok(kind) => self.store_final(&path, sha256, size, kind).await,
            Err(err) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(err)
            }
        }
    }

    /// Moves a checked upload under its final name, durably.
    async fn store_final(
        &self,
        partial: &Path,
        sha256: &str,
        size: u64,
        kind: BlobKind,
    ) -> Result<BlobRow, BlobError> {
        let path = self.path(sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(partial, &path).await?;
        if let Some(dir) = path.parent() {
            // Make the rename itself durable.
            if let Ok(d) = tokio::fs::File::open(dir).await {
                let _ = d.sync_all().await;
            }
        }
        Ok(BlobRow {
            sha256: sha256.to_owned(),
            size,
            content_type: kind.mime().to_owned(),
        })
    }

    /// Deletes a stored blob's content (when no tenant holds it any more).
    pub async fn remove(&self, sha256: &str) -> std::io::Result<bool> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Checks the finished upload (size, hash, kind) and moves it under its final name. On a
    /// wrong hash or kind the upload is discarded.
    pub async fn finish(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobRow, BlobError> {
        let partial = self.partial(tenant_id, sha256);
        let result = self.check(&partial, sha256, expected_size).await;
        match result {
            Ok(kind) => {
                self.store_final(&partial, sha256, expected_size, kind)
                    .await
            }
            Err(BlobError::SizeMismatch { expected, actual }) if actual < expected => {
                Err(BlobError::SizeMismatch { expected, actual })
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(err)
            }
        }
    }

    async fn check(
        &self,
        partial: &Path,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobKind, BlobError> {
        let mut file = tokio::fs::File::open(partial).await?;
        let mut hasher = Sha256::new();
        let mut head = Vec::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            if head.len() < 16 {
                head.extend(chunk.iter().take(16 - head.len()));
            }
            hasher.update(chunk);
            size += n as u64;
        }
        if size != expected_size {
            return Err(BlobError::SizeMismatch {
                expected: expected_size,
                actual: size,
            });
        }
        if hex(&hasher.finalize()) != sha256 {
            return Err(BlobError::HashMismatch);
        }
        sniff(&head).ok_or(BlobError::UnsupportedType)
    }

    /// Deletes unfinished uploads not written to for `older_than`. Returns how many went.
    pub async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
        let mut purged = 0;
        let Ok(mut tenants) = tokio::fs::read_dir(self.root.join("partial")).await else {
            return Ok(0);
        };
        let now = std::time::SystemTime::now();
        while let Some(tenant) = tenants.next_entry().await? {
            let Ok(mut files) = tokio::fs::read_dir(tenant.path()).await else {
                continue;
            };
            while let Some(file) = files.next_entry().await? {
                let modified = file.metadata().await?.modified()?;
                let age = now.duration_since(modified).unwrap_or_default();
                if age >= older_than && tokio::fs::remove_file(file.path()).await.is_ok() {
                    purged += 1;
                }
            }
        }
        Ok(purged)
    }

    pub async fn open(&self, sha256: &str) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(sha256)).await
    }
}

/// How many first bytes decide a blob's kind.
pub(crate) const HEAD_LEN: usize = 16;

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of one upload request on their way to the unfinished file: written as they
/// arrive, never held whole. Either [`PartialWriter::commit`] (synced; acknowledged bytes
/// survive a crash) or [`PartialWriter::abort`] (a request that fails midway keeps nothing).
#[derive(Debug)]
pub struct PartialWriter {
    file: tokio::fs::File,
    path: PathBuf,
    /// Bytes of the unfinished upload before this request.
    start: u64,
    /// Bytes of this request written so far.
    written: u64,
    /// The blob's first bytes, when this request starts at 0.
    head: Vec<u8>,
    /// A whole upload is hashed as it arrives.
    hasher: Option<Sha256>,
}

impl PartialWriter {
    /// Bytes of this request written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes the next bytes of the request. Once enough of the blob's first bytes have
    /// arrived, a content that is not a JPEG, PNG or PDF is refused at once.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
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
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Syncs what was written; returns the bytes received of the blob so far.
    pub async fn commit(mut self) -> Result<u64, BlobError> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(self.start + self.written)
    }

    /// Drops this request's bytes: the unfinished upload is as it was before it (a whole
    /// upload, or a first chunk, leaves nothing).
    pub async fn abort(mut self) {
        let _ = self.file.flush().await;
        if self.start == 0 {
            drop(self.file);
            let _ = tokio::fs::remove_file(&self.path).await;
        } else {
            let _ = self.file.set_len(self.start).await;
            let _ = self.file.sync_data().await;
        }
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// A blob uploaded in `tenant_id`.
    pub async fn blob(&self, tenant_id: Uuid, sha256: &str) -> StoreResult<Option<BlobRow>> {
        let select = Query::select()
            .columns(["sha256", "size", "content_type"])
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(None);
        };
        Ok(Some(BlobRow {
            sha256: row.try_get("", "sha256")?,
            size: to_u64(row.try_get("", "size")?),
            content_type: row.try_get("", "content_type")?,
        }))
    }

    /// Records an uploaded blob (once; a second upload of the same content changes nothing).
    pub async fn insert_blob(
        &self,
        tenant_id: Uuid,
        blob: &BlobRow,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let insert = Query::insert()
            .into_table("blobs")
            .columns([
                "tenant_id",
                "sha256",
                "size",
                "content_type",
                "uploaded_by",
                "created_at",
            ])
            .values([
                tenant_id.into(),
                blob.sha256.clone().into(),
                i64::try_from(blob.size).unwrap_or(i64::MAX).into(),
                blob.content_type.clone().into(),
                by.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&insert).await?;
        Ok(())
    }

    /// Bytes of the blobs recorded for a tenant (its quota's use): a blob stored once on disk
    /// but recorded by two tenants counts for each.
    pub async fn blob_usage(&self, tenant_id: Uuid) -> StoreResult<u64> {
        let select = Query::select()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "used")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        Ok(to_u64(row.try_get("", "used")?))
    }

    /// Every stored blob's content, once per hash: (SHA-256, size), by hash.
    pub async fn all_blob_contents(&self) -> StoreResult<Vec<(String, u64)>> {
        let select = Query::select()
            .column("sha256")
            .expr_as(Expr::cust("MAX(size)"), "size")
            .from("blobs")
            .group_by_col("sha256")
            .order_by("sha256", sea_orm::Order::Asc)
            .to_owned();
        let mut all = Vec::new();
        for row in self.db.query_all(&select).await? {
            all.push((row.try_get("", "sha256")?, to_u64(row.try_get("", "size")?)));
        }
        Ok(all)
    }

    /// Forgets a tenant's blob.
    pub async fn delete_blob(&self, tenant_id: Uuid, sha256: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Whether any tenant holds the blob (then its content must stay on disk).
    pub async fn blob_held_anywhere(&self, sha256: &str) -> StoreResult<bool> {
        let select = Query::select()
            .column("sha256")
            .from("blobs")
            .and_where(Expr::col("sha256").eq(sha256))
            .limit(1)
            .to_owned();
        Ok(self.db.query_one(&select).await?.is_some())
    }

    /// The blob collection's database part. Notes when each tenant's blob stopped being
    /// referenced by any live record of that tenant (and forgets the note when a record names
    /// it again), then deletes the tenant's blob rows unreferenced since `now - grace` or
    /// earlier. Returns the (tenant, hash) of the rows that went; their content may go once
    /// [`Store::blob_held_anywhere`] says no tenant holds them.
    pub async fn collect_unreferenced_blobs(
        &self,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> StoreResult<Vec<(Uuid, String)>> {
        let referenced = || {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from("blob_refs")
                    .and_where(Expr::col(("blob_refs", "tenant_id")).equals(("blobs", "tenant_id")))
                    .and_where(Expr::col(("blob_refs", "sha256")).equals(("blobs", "sha256")))
                    .to_owned(),
            )
        };
        let referenced_again = Query::update()
            .table("blobs")
            .value("unreferenced_since", Option::<DateTime<Utc>>::None)
            .and_where(Expr::col("unreferenced_since").is_not_null())
            .and_where(referenced())
            .to_owned();
        self.db.execute(&referenced_again).await?;
        let unreferenced = Query::update()
            .table("blobs")
            .value("unreferenced_since", now)
            .and_where(Expr::col("unreferenced_since").is_null())
            .and_where(referenced().not())
            .to_owned();
        self.db.execute(&unreferenced).await?;

        let cutoff = now - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let due = Query::select()
            .columns(["tenant_id", "sha256"])
            .from("blobs")
            .and_where(Expr::col("unreferenced_since").lte(cutoff))
            .to_owned();
        let mut gone = Vec::new();
        for row in self.db.query_all(&due).await? {
            let tenant_id: Uuid = row.try_get("", "tenant_id")?;
            let sha256: String = row.try_get("", "sha256")?;
            // Checked again in the deleting statement: a record may have named it meanwhile.
            let delete = Query::delete()
                .from_table("blobs")
                .and_where(Expr::col("tenant_id").eq(tenant_id))
                .and_where(Expr::col("sha256").eq(sha256.clone()))
                .and_where(Expr::col("unreferenced_since").lte(cutoff))
                .and_where(referenced().not())
                .to_owned();
            if self.db.execute(&delete).await?.rows_affected() > 0 {
                gone.push((tenant_id, sha256));
            }
        }
        Ok(gone)
    }

    /// Whether a live record the scope sees (`Scope::sees`) references the blob.
    pub async fn blob_in_scope(&self, scope: Scope<'_>, sha256: &str) -> StoreResult<bool> {
        let select = Query::select()
            .column("sha256")
            .from("blob_refs")
            .and_where(Expr::col("sha256").eq(sha256))
            .cond_where(scope.condition_any())
            .limit(1)
            .to_owned();
        Ok(self.db.query_one(&select).await?.is_some())
    }

    /// Blobs referenced by records in `scope` whose content has not arrived yet.
    pub async fn missing_blobs(&self, scope: Scope<'_>, limit: u64) -> StoreResult<Vec<String>> {
        let uploaded = Query::select()
            .column("sha256")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id))
            .to_owned();
        let select = Query::select()
            .distinct()
            .column("sha256")
            .from("blob_refs")
            .cond_where(scope.condition_any())
            .and_where(Expr::col("sha256").not_in_subquery(uploaded))
            .limit(limit)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| Ok(row.try_get("", "sha256")?))
            .collect()
    }
}

impl SyncTxn {
    /// Replaces the blob references of a record with `hashes`, and returns those of them whose
    /// content has not been uploaded yet.
    pub async fn set_blob_refs(
        &self,
        row: &RecordRow,
        hashes: &[String],
    ) -> StoreResult<Vec<String>> {
        let delete = Query::delete()
            .from_table("blob_refs")
            .and_where(Expr::col("collection").eq(row.collection.as_str()))
            .and_where(Expr::col("record_id").eq(row.id))
            .to_owned();
        self.conn().execute(&delete).await?;
        let mut missing = Vec::new();
        for sha in hashes.iter().filter(|h| is_blob_hash(h)) {
            let insert = Query::insert()
                .into_table("blob_refs")
                .columns([
                    "collection",
                    "record_id",
                    "sha256",
                    "tenant_id",
                    "owner_path",
                    "addressee_path",
                ])
                .values([
                    row.collection.as_str().into(),
                    row.id.into(),
                    sha.clone().into(),
                    row.tenant_id.into(),
                    row.owner_path.clone().into(),
                    row.addressee_path.clone().into(),
                ])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .on_conflict(
                    OnConflict::columns(["collection", "record_id", "sha256"])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            self.conn().execute(&insert).await?;
            let present = Query::select()
                .column("sha256")
                .from("blobs")
                .and_where(Expr::col("tenant_id").eq(row.tenant_id))
                .and_where(Expr::col("sha256").eq(sha.clone()))
                .to_owned();
            if self.conn().query_one(&present).await?.is_none() && !missing.contains(sha) {
                missing.push(sha.clone());
            }
        }
        Ok(missing)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn abandoned_uploads_are_purged_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = BlobFiles::new(dir.path());
        let (tenant, sha) = (Uuid::now_v7(), "ab".repeat(32));
        let mut chunk = files.begin_chunk(tenant, &sha, 0).await.unwrap();
        chunk.write(b"\xFF\xD8\xFF partial").await.unwrap();
        chunk.commit().await.unwrap();
        assert_eq!(
            files
                .purge_unfinished(std::time::Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        assert!(files.received(tenant, &sha).await > 0);
        assert_eq!(
            files
                .purge_unfinished(std::time::Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert_eq!(files.received(tenant, &sha).await, 0);
        // With no uploads at all there is nothing to do.
        let empty = BlobFiles::new(&dir.path().join("nothing"));
        assert_eq!(
            empty
                .purge_unfinished(std::time::Duration::ZERO)
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn a_request_that_fails_midway_keeps_nothing_of_itself() {
        let dir = tempfile::tempdir().unwrap();
        let files = BlobFiles::new(dir.path());
        let (tenant, sha) = (Uuid::now_v7(), "cd".repeat(32));
        let mut first = files.begin_chunk(tenant, &sha, 0).await.unwrap();
        first.write(b"\xFF\xD8\xFF\xE0 first").await.unwrap();
        assert_eq!(first.commit().await.unwrap(), 10);
        // The second chunk is written in part, then its request fails.
        let mut second = files.begin_chunk(tenant, &sha, 10).await.unwrap();
        second.write(b"half of it").await.unwrap();
        // The bytes reach the file (tokio's file writes in the background until flushed: without
        // this the size below was read too early now and then).
        second.file.flush().await.unwrap();
        assert_eq!(files.received(tenant, &sha).await, 20);
        second.abort().await;
        assert_eq!(files.received(tenant, &sha).await, 10);
        // A chunk from the wrong place is refused before anything is written.
        assert!(matches!(
            files.begin_chunk(tenant, &sha, 20).await,
            Err(BlobError::OffsetMismatch {
                offset: 20,
                received: 10
            })
        ));
        // A whole upload replaces the unfinished one; aborted, it leaves nothing.
        let mut whole = files.begin_whole(tenant, &sha).await.unwrap();
        whole.write(b"\xFF\xD8\xFF").await.unwrap();
        whole.abort().await;
        assert_eq!(files.received(tenant, &sha).await, 0);
        // Content that is not a JPEG, PNG or PDF is refused by its first bytes.
        let mut html = files.begin_whole(tenant, &sha).await.unwrap();
        assert!(matches!(
            html.write(b"<html><body>").await,
            Err(BlobError::UnsupportedType)
        ));
        html.abort().await;
        assert_eq!(files.unfinished_bytes(tenant).await, 0);
    }
}
