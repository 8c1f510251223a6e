//! Blob content in files under the data dir: `blobs/ab/abcdef…` once checked (written under a
//! temporary name, synced, then renamed, so a crash never leaves a half blob under its final
//! name), `blobs/partial/TENANT/SHA256` while an upload is unfinished.

use paicha_domain::ids::TenantId;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use paicha_domain::blob::BlobKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::intake::Intake;
use super::{BlobBackend, BlobError, BlobRow, Pieces, Sink};

/// Bytes read from a file at once.
const PIECE: usize = 64 * 1024;

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

    /// The unfinished uploads of a tenant.
    fn partial_dir(&self, tenant_id: TenantId) -> PathBuf {
        self.root
            .join("partial")
            .join(tenant_id.uuid().simple().to_string())
    }

    /// An unfinished upload.
    fn partial(&self, tenant_id: TenantId, sha256: &str) -> PathBuf {
        self.partial_dir(tenant_id).join(sha256)
    }

    async fn received_now(&self, tenant_id: TenantId, sha256: &str) -> u64 {
        tokio::fs::metadata(self.partial(tenant_id, sha256))
            .await
            .map_or(0, |m| m.len())
    }

    /// Where one request's bytes go (see [`BlobBackend::sink`]).
    async fn file_sink(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<FileSink, BlobError> {
        let path = self.partial(tenant_id, sha256);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let (file, start) = if whole {
            (tokio::fs::File::create(&path).await?, 0)
        } else {
            let received = self.received_now(tenant_id, sha256).await;
            if offset != received {
                return Err(BlobError::OffsetMismatch { offset, received });
            }
            let file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await?;
            (file, received)
        };
        Ok(FileSink {
            file,
            path,
            start,
            written: 0,
        })
    }

    /// Reads a finished upload through the intake: its size, hash and kind.
    async fn check(
        &self,
        partial: &Path,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobKind, BlobError> {
        let mut file = tokio::fs::File::open(partial).await?;
        let mut intake = Intake::new(0, true);
        let mut buf = vec![0u8; PIECE];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            intake.take(buf.get(..n).unwrap_or_default());
        }
        if intake.end() != expected_size {
            return Err(BlobError::SizeMismatch {
                expected: expected_size,
                actual: intake.end(),
            });
        }
        intake.verdict(sha256)
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
        Ok(BlobRow::checked(sha256, size, kind))
    }
}

#[async_trait::async_trait]
impl BlobBackend for BlobFiles {
    fn describe(&self) -> String {
        format!("数据目录 {}", self.root.display())
    }

    async fn received(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<u64> {
        Ok(self.received_now(tenant_id, sha256).await)
    }

    async fn unfinished_bytes(&self, tenant_id: TenantId) -> std::io::Result<u64> {
        let Ok(mut files) = tokio::fs::read_dir(self.partial_dir(tenant_id)).await else {
            return Ok(0);
        };
        let mut total = 0u64;
        while let Ok(Some(file)) = files.next_entry().await {
            if let Ok(meta) = file.metadata().await {
                total = total.saturating_add(meta.len());
            }
        }
        Ok(total)
    }

    async fn sink(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<Box<dyn Sink>, BlobError> {
        Ok(Box::new(
            self.file_sink(tenant_id, sha256, offset, whole).await?,
        ))
    }

    async fn finish(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        size: u64,
        verified: Option<BlobKind>,
    ) -> Result<BlobRow, BlobError> {
        let partial = self.partial(tenant_id, sha256);
        let checked = match verified {
            Some(kind) => Ok(kind),
            None => self.check(&partial, sha256, size).await,
        };
        match checked {
            Ok(kind) => self.store_final(&partial, sha256, size, kind).await,
            // A short upload is kept: the rest may still come.
            Err(BlobError::SizeMismatch { expected, actual }) if actual < expected => {
                Err(BlobError::SizeMismatch { expected, actual })
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(err)
            }
        }
    }

    async fn discard(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.partial(tenant_id, sha256)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn exists(&self, sha256: &str) -> bool {
        tokio::fs::try_exists(self.path(sha256))
            .await
            .unwrap_or(false)
    }

    async fn open(&self, sha256: &str) -> std::io::Result<Box<dyn Pieces>> {
        Ok(Box::new(FilePieces {
            file: tokio::fs::File::open(self.path(sha256)).await?,
            buf: vec![0u8; PIECE],
        }))
    }

    async fn remove(&self, sha256: &str) -> std::io::Result<bool> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
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
}

/// One request's bytes on their way to the unfinished file.
#[derive(Debug)]
struct FileSink {
    file: tokio::fs::File,
    path: PathBuf,
    /// Bytes of the unfinished upload before this request.
    start: u64,
    /// Bytes of this request written so far.
    written: u64,
}

#[async_trait::async_trait]
impl Sink for FileSink {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> std::io::Result<u64> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(self.start + self.written)
    }

    /// The unfinished upload as it was before the request (a whole upload, or a first chunk,
    /// leaves nothing).
    async fn abort(mut self: Box<Self>) {
        let _ = self.file.flush().await;
        if self.start == 0 {
            let FileSink { file, path, .. } = *self;
            drop(file);
            let _ = tokio::fs::remove_file(&path).await;
        } else {
            let _ = self.file.set_len(self.start).await;
            let _ = self.file.sync_data().await;
        }
    }
}

/// A stored file, piece by piece.
struct FilePieces {
    file: tokio::fs::File,
    buf: Vec<u8>,
}

#[async_trait::async_trait]
impl Pieces for FilePieces {
    async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        let n = self.file.read(&mut self.buf).await?;
        Ok((n > 0).then(|| Bytes::copy_from_slice(self.buf.get(..n).unwrap_or_default())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A chunk written straight to the sink (the intake's checks are `BlobStore`'s).
    async fn chunk(
        files: &BlobFiles,
        tenant: TenantId,
        sha: &str,
        at: u64,
        bytes: &[u8],
    ) -> FileSink {
        let mut sink = files.file_sink(tenant, sha, at, false).await.unwrap();
        Sink::write(&mut sink, bytes).await.unwrap();
        sink
    }

    #[tokio::test]
    async fn abandoned_uploads_are_purged_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = BlobFiles::new(dir.path());
        let (tenant, sha) = (TenantId::new(uuid::Uuid::now_v7()), "ab".repeat(32));
        let sink = chunk(&files, tenant, &sha, 0, b"\xFF\xD8\xFF partial").await;
        Box::new(sink).commit().await.unwrap();
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(files.purge_unfinished(hour).await.unwrap(), 0);
        assert!(files.received_now(tenant, &sha).await > 0);
        let now = std::time::Duration::ZERO;
        assert_eq!(files.purge_unfinished(now).await.unwrap(), 1);
        assert_eq!(files.received_now(tenant, &sha).await, 0);
        // With no uploads at all there is nothing to do.
        let empty = BlobFiles::new(&dir.path().join("nothing"));
        assert_eq!(empty.purge_unfinished(now).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_request_that_fails_midway_keeps_nothing_of_itself() {
        let dir = tempfile::tempdir().unwrap();
        let files = BlobFiles::new(dir.path());
        let (tenant, sha) = (TenantId::new(uuid::Uuid::now_v7()), "cd".repeat(32));
        let first = chunk(&files, tenant, &sha, 0, b"\xFF\xD8\xFF\xE0 first").await;
        assert_eq!(Box::new(first).commit().await.unwrap(), 10);
        // The second chunk is written in part, then its request fails.
        let mut second = chunk(&files, tenant, &sha, 10, b"half of it").await;
        // The bytes reach the file (tokio's file writes in the background until flushed: without
        // this the size below was read too early now and then).
        second.file.flush().await.unwrap();
        assert_eq!(files.received_now(tenant, &sha).await, 20);
        Box::new(second).abort().await;
        assert_eq!(files.received_now(tenant, &sha).await, 10);
        // A chunk from the wrong place is refused before anything is written.
        assert!(matches!(
            files.file_sink(tenant, &sha, 20, false).await,
            Err(BlobError::OffsetMismatch {
                offset: 20,
                received: 10
            })
        ));
        // A whole upload replaces the unfinished one; aborted, it leaves nothing.
        let store = super::super::BlobStore::files(files.clone());
        let mut whole = store.begin_whole(tenant, &sha).await.unwrap();
        whole.write(b"\xFF\xD8\xFF").await.unwrap();
        whole.abort().await;
        assert_eq!(files.received_now(tenant, &sha).await, 0);
        // Content that is not a JPEG, PNG or PDF is refused by its first bytes.
        let mut html = store.begin_whole(tenant, &sha).await.unwrap();
        assert!(matches!(
            html.write(b"<html><body>").await,
            Err(BlobError::UnsupportedType)
        ));
        html.abort().await;
        assert_eq!(store.unfinished_bytes(tenant).await.unwrap(), 0);
    }
}
