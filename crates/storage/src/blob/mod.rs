//! Blobs (photos, signatures, scans): their content, and what the database knows of them.
//!
//! Content is kept by one [`BlobBackend`]: files in the data dir ([`BlobFiles`], the default:
//! `on_disk`) or an S3-compatible object store ([`ObjectBlobs`],
//! `PAICHA_BLOB_STORE=s3://bucket/prefix`: `in_object_store`). Both keep content by SHA-256 and
//! make it visible under its final name only after its size, hash and kind were checked, by the
//! one sniff-and-hash pass of `intake`. [`BlobStore`] is the front the server uses: it receives
//! an upload request's bytes through a [`BlobWriter`] and reads content back through a
//! [`BlobReader`], whatever the backend.
//!
//! In the database: which blobs each tenant holds and which records reference them
//! (`catalog`); the lease per content hash, unfinished uploads and each user's share
//! (`uploads`).

mod catalog;
mod in_object_store;
mod intake;
mod on_disk;
mod uploads;

use paicha_domain::ids::TenantId;
use std::sync::Arc;

use bytes::Bytes;
use paicha_domain::blob::BlobKind;

pub use in_object_store::{ObjectBlobs, ObjectStoreSettings};
use intake::Intake;
pub use on_disk::BlobFiles;
pub use uploads::UserBlobUse;

/// An uploaded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
}

impl BlobRow {
    fn checked(sha256: &str, size: u64, kind: BlobKind) -> Self {
        Self {
            sha256: sha256.to_owned(),
            size,
            content_type: kind.mime().to_owned(),
        }
    }
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

/// A place where blob content is kept. Content is named by its SHA-256; an unfinished upload
/// is kept per tenant, so tenants never see or disturb each other's.
#[async_trait::async_trait]
pub(crate) trait BlobBackend: std::fmt::Debug + Send + Sync {
    /// A short description for the start-up line and logs (no credentials).
    fn describe(&self) -> String;

    /// Bytes received so far of an unfinished upload.
    async fn received(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<u64>;

    /// Bytes of every unfinished upload of a tenant (they count against its quota).
    async fn unfinished_bytes(&self, tenant_id: TenantId) -> std::io::Result<u64>;

    /// Where one request's bytes go: from `offset`, which must be where the received bytes
    /// end, or replacing the unfinished upload when `whole`.
    async fn sink(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<Box<dyn Sink>, BlobError>;

    /// Gives a finished upload of `size` bytes its final name. `verified` is its kind when the
    /// bytes were hashed and sniffed as they arrived; otherwise the backend checks them (size,
    /// hash, kind) first. A wrong hash or kind discards the upload; a short one is kept.
    async fn finish(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        size: u64,
        verified: Option<BlobKind>,
    ) -> Result<BlobRow, BlobError>;

    /// Drops an unfinished upload.
    async fn discard(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<()>;

    /// Whether a blob's checked content is stored (an unanswered store counts as "not").
    async fn exists(&self, sha256: &str) -> bool;

    /// A stored blob's content, piece by piece.
    async fn open(&self, sha256: &str) -> std::io::Result<Box<dyn Pieces>>;

    /// Deletes a stored blob's content; whether there was one.
    async fn remove(&self, sha256: &str) -> std::io::Result<bool>;

    /// Deletes unfinished uploads not written to for `older_than`; how many went.
    async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64>;
}

/// One upload request's bytes on their way to a backend: written as they arrive, never held
/// whole. Either committed (durably: acknowledged bytes survive a crash) or aborted (the
/// unfinished upload is as it was before the request).
#[async_trait::async_trait]
pub(crate) trait Sink: Send {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Keeps what was written; returns the bytes of the blob received so far.
    async fn commit(self: Box<Self>) -> std::io::Result<u64>;
    async fn abort(self: Box<Self>);
}

/// A stored blob's content, piece by piece.
#[async_trait::async_trait]
pub(crate) trait Pieces: Send {
    /// The next piece, or `None` at the end.
    async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>>;
}

/// Where blob content is kept (see the module's documentation).
#[derive(Debug, Clone)]
pub struct BlobStore(Arc<dyn BlobBackend>);

impl BlobStore {
    /// In files under the data dir.
    pub fn files(files: BlobFiles) -> Self {
        Self(Arc::new(files))
    }

    /// In an object store.
    pub fn objects(objects: ObjectBlobs) -> Self {
        Self(Arc::new(objects))
    }

    /// A short description for the start-up line and logs (no credentials).
    pub fn describe(&self) -> String {
        self.0.describe()
    }

    /// Bytes received so far of an unfinished upload.
    pub async fn received(&self, tenant_id: TenantId, sha256: &str) -> std::io::Result<u64> {
        self.0.received(tenant_id, sha256).await
    }

    /// Bytes of every unfinished upload of a tenant (they count against its quota).
    pub async fn unfinished_bytes(&self, tenant_id: TenantId) -> std::io::Result<u64> {
        self.0.unfinished_bytes(tenant_id).await
    }

    /// Starts receiving a whole blob (replacing any unfinished upload of it), hashed as it
    /// arrives.
    pub async fn begin_whole(
        &self,
        tenant_id: TenantId,
        sha256: &str,
    ) -> Result<BlobWriter, BlobError> {
        self.begin(tenant_id, sha256, 0, true).await
    }

    /// Starts receiving a chunk that must start where the received bytes end.
    pub async fn begin_chunk(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
    ) -> Result<BlobWriter, BlobError> {
        self.begin(tenant_id, sha256, offset, false).await
    }

    async fn begin(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        offset: u64,
        whole: bool,
    ) -> Result<BlobWriter, BlobError> {
        let sink = self.0.sink(tenant_id, sha256, offset, whole).await?;
        Ok(BlobWriter {
            tenant_id,
            sink,
            intake: Intake::new(offset, whole),
        })
    }

    /// Completes a whole upload: checks its hash and kind and stores it under its final name
    /// (or discards it).
    pub async fn finish_whole(
        &self,
        writer: BlobWriter,
        sha256: &str,
    ) -> Result<BlobRow, BlobError> {
        let BlobWriter {
            tenant_id,
            sink,
            intake,
        } = writer;
        if !intake.is_hashing() {
            sink.abort().await;
            return Err(BlobError::Io(std::io::Error::other("not a whole upload")));
        }
        if let Err(err) = sink.commit().await {
            let _ = self.0.discard(tenant_id, sha256).await;
            return Err(BlobError::Io(err));
        }
        match intake.verdict(sha256) {
            Ok(kind) => {
                self.0
                    .finish(tenant_id, sha256, intake.end(), Some(kind))
                    .await
            }
            Err(err) => {
                self.0.discard(tenant_id, sha256).await?;
                Err(err)
            }
        }
    }

    /// Checks a finished chunked upload (size, hash, kind) and stores it under its final name.
    /// On a wrong hash or kind the upload is discarded; a short one is kept.
    pub async fn finish(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        expected_size: u64,
    ) -> Result<BlobRow, BlobError> {
        self.0.finish(tenant_id, sha256, expected_size, None).await
    }

    /// Whether a blob's checked content is stored. An unanswered object store counts as "not".
    pub async fn exists(&self, sha256: &str) -> bool {
        self.0.exists(sha256).await
    }

    /// Opens a stored blob's content.
    pub async fn open(&self, sha256: &str) -> std::io::Result<BlobReader> {
        Ok(BlobReader(self.0.open(sha256).await?))
    }

    /// Deletes a stored blob's content (when no tenant holds it any more).
    pub async fn remove(&self, sha256: &str) -> std::io::Result<bool> {
        self.0.remove(sha256).await
    }

    /// Deletes unfinished uploads not written to for `older_than`. Returns how many went.
    pub async fn purge_unfinished(&self, older_than: std::time::Duration) -> std::io::Result<u64> {
        self.0.purge_unfinished(older_than).await
    }
}

/// One upload request's bytes on their way: sniffed (and, for a whole upload, hashed) by the
/// one intake, then handed to the backend's sink.
pub struct BlobWriter {
    tenant_id: TenantId,
    sink: Box<dyn Sink>,
    intake: Intake,
}

impl BlobWriter {
    /// Bytes of this request written so far.
    pub fn written(&self) -> u64 {
        self.intake.taken()
    }

    /// Writes the next bytes of the request (refusing at once a content that is not a JPEG,
    /// PNG or PDF).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.intake.take_arriving(bytes)?;
        self.sink.write(bytes).await?;
        Ok(())
    }

    /// Keeps what was written, durably; returns the bytes of the blob received so far.
    pub async fn commit(self) -> Result<u64, BlobError> {
        Ok(self.sink.commit().await?)
    }

    /// Drops this request's bytes.
    pub async fn abort(self) {
        self.sink.abort().await;
    }
}

/// A stored blob's content, piece by piece.
pub struct BlobReader(Box<dyn Pieces>);

impl BlobReader {
    /// The next piece, or `None` at the end.
    pub async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        self.0.next_piece().await
    }
}
