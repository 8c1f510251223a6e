//! Blobs: their content in a folder, named by SHA-256 (written under a temporary name, synced,
//! then renamed, so a crash never leaves a half blob under its final name), and in the
//! database the fact of their upload and which records reference them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use paicha_domain::blob::{BlobKind, is_blob_hash, sniff};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, OnConflict, Query};
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

    /// Appends a chunk that starts at `offset` to the unfinished upload. A chunk must continue
    /// exactly where the received bytes end; `limit` bounds the whole.
    pub async fn append(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        offset: u64,
        bytes: &[u8],
        limit: u64,
    ) -> Result<u64, BlobError> {
        let path = self.partial(tenant_id, sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let received = self.received(tenant_id, sha256).await;
        if offset != received {
            return Err(BlobError::OffsetMismatch { offset, received });
        }
        let total = received.saturating_add(bytes.len() as u64);
        if total > limit {
            return Err(BlobError::TooLarge);
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        file.write_all(bytes).await?;
        file.sync_data().await?;
        Ok(total)
    }

    /// Stores a whole blob sent in one request (replacing any unfinished chunked upload of it).
    pub async fn put_whole(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        bytes: &[u8],
        limit: u64,
    ) -> Result<BlobRow, BlobError> {
        if bytes.len() as u64 > limit {
            return Err(BlobError::TooLarge);
        }
        let path = self.partial(tenant_id, sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::File::create(&path).await?;
        file.write_all(bytes).await?;
        file.sync_data().await?;
        drop(file);
        self.finish(tenant_id, sha256, bytes.len() as u64).await
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
                let path = self.path(sha256);
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                tokio::fs::rename(&partial, &path).await?;
                if let Some(dir) = path.parent() {
                    // Make the rename itself durable.
                    if let Ok(d) = tokio::fs::File::open(dir).await {
                        let _ = d.sync_all().await;
                    }
                }
                Ok(BlobRow {
                    sha256: sha256.to_owned(),
                    size: expected_size,
                    content_type: kind.mime().to_owned(),
                })
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
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != sha256 {
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

    /// Whether a record in `scope` references the blob.
    pub async fn blob_in_scope(&self, scope: Scope<'_>, sha256: &str) -> StoreResult<bool> {
        let prefix = format!("{}%", scope.path);
        let select = Query::select()
            .column("sha256")
            .from("blob_refs")
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id))
            .cond_where(
                Cond::any()
                    .add(Expr::col("owner_path").like(prefix.clone()))
                    .add(Expr::col("addressee_path").like(prefix)),
            )
            .limit(1)
            .to_owned();
        Ok(self.db.query_one(&select).await?.is_some())
    }

    /// Blobs referenced by records in `scope` whose content has not arrived yet.
    pub async fn missing_blobs(&self, scope: Scope<'_>, limit: u64) -> StoreResult<Vec<String>> {
        let prefix = format!("{}%", scope.path);
        let uploaded = Query::select()
            .column("sha256")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id))
            .to_owned();
        let select = Query::select()
            .distinct()
            .column("sha256")
            .from("blob_refs")
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id))
            .cond_where(
                Cond::any()
                    .add(Expr::col("owner_path").like(prefix.clone()))
                    .add(Expr::col("addressee_path").like(prefix)),
            )
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
        files
            .append(tenant, &sha, 0, b"\xFF\xD8\xFF partial", 1 << 20)
            .await
            .unwrap();
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
}
