//! The one sniff-and-hash pass over a blob's bytes, used by both backends: while an upload
//! request's bytes arrive (refusing at once a content that is not a JPEG, PNG or PDF, and
//! hashing a whole upload on the way), and when a finished upload is checked before it gets its
//! final name.

use paicha_domain::blob::{BlobKind, sniff};
use sha2::{Digest, Sha256};

use super::BlobError;

/// How many first bytes decide a blob's kind.
const HEAD_LEN: usize = 16;

/// How many first bytes are enough to refuse an unknown kind while it arrives.
const REFUSE_AFTER: usize = 8;

/// Lower-case hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What passed by of one blob's bytes: their count, the blob's first bytes (when the pass
/// starts at its beginning) and, when hashing, their SHA-256.
#[derive(Debug, Clone)]
pub(crate) struct Intake {
    /// Bytes of the blob before this pass.
    start: u64,
    /// Bytes taken by this pass.
    taken: u64,
    head: Vec<u8>,
    hasher: Option<Sha256>,
}

impl Intake {
    /// A pass starting at byte `start` of the blob, hashing when `hashing` (only a pass from
    /// the beginning can check the hash).
    pub(crate) fn new(start: u64, hashing: bool) -> Self {
        Self {
            start,
            taken: 0,
            head: Vec::with_capacity(HEAD_LEN),
            hasher: (hashing && start == 0).then(Sha256::new),
        }
    }

    /// Notes the next bytes.
    pub(crate) fn take(&mut self, bytes: &[u8]) {
        if self.start == 0 && self.head.len() < HEAD_LEN {
            let more = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head
                .extend_from_slice(bytes.get(..more).unwrap_or_default());
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        self.taken += bytes.len() as u64;
    }

    /// Notes the next bytes of an arriving request, refusing them once enough of the blob's
    /// first bytes show it is not a JPEG, PNG or PDF.
    pub(crate) fn take_arriving(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.take(bytes);
        if self.start == 0 && self.head.len() >= REFUSE_AFTER && sniff(&self.head).is_none() {
            return Err(BlobError::UnsupportedType);
        }
        Ok(())
    }

    /// Bytes taken by this pass.
    pub(crate) fn taken(&self) -> u64 {
        self.taken
    }

    /// Bytes of the blob up to the end of this pass.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.taken
    }

    /// Whether this pass hashes (a whole upload's).
    pub(crate) fn is_hashing(&self) -> bool {
        self.hasher.is_some()
    }

    /// The verdict on a whole content taken from its beginning: the named hash, then a known
    /// kind.
    pub(crate) fn verdict(&self, sha256: &str) -> Result<BlobKind, BlobError> {
        let Some(hasher) = self.hasher.clone() else {
            return Err(BlobError::Io(std::io::Error::other("not a whole pass")));
        };
        if hex(&hasher.finalize()) != sha256 {
            return Err(BlobError::HashMismatch);
        }
        sniff(&self.head).ok_or(BlobError::UnsupportedType)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_pass_checks_hash_and_kind_and_an_arriving_one_refuses_early() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
        let sha = hex(&Sha256::digest(png));
        let mut whole = Intake::new(0, true);
        for piece in png.chunks(3) {
            whole.take_arriving(piece).unwrap();
        }
        assert_eq!((whole.taken(), whole.end()), (11, 11));
        assert_eq!(whole.verdict(&sha).unwrap(), BlobKind::Png);
        assert!(matches!(
            whole.verdict(&"0".repeat(64)),
            Err(BlobError::HashMismatch)
        ));
        // HTML is refused as soon as 8 bytes are in.
        let mut html = Intake::new(0, true);
        html.take_arriving(b"<html>").unwrap();
        assert!(matches!(
            html.take_arriving(b"<body>"),
            Err(BlobError::UnsupportedType)
        ));
        // A later chunk neither sniffs nor hashes.
        let mut later = Intake::new(100, true);
        later.take_arriving(b"<html><body>").unwrap();
        assert!(!later.is_hashing());
        assert_eq!(later.end(), 112);
    }
}
