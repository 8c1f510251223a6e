//! Blobs: photos (二寸照片, 党旗下照片), signatures, fingerprints and scanned letters, stored by
//! the SHA-256 of their content. Only the formats a campaign produces are accepted, recognised
//! by their content, never by what the uploader claims.

/// The accepted kinds of blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Jpeg,
    Png,
    Pdf,
}

impl BlobKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Pdf]
            .into_iter()
            .find(|k| k.mime() == mime)
    }
}

/// Recognises a blob by its first bytes: JPEG (`FF D8 FF`), PNG (the 8-byte signature), PDF
/// (`%PDF-`). Anything else is refused.
pub fn sniff(head: &[u8]) -> Option<BlobKind> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(BlobKind::Jpeg)
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(BlobKind::Png)
    } else if head.starts_with(b"%PDF-") {
        Some(BlobKind::Pdf)
    } else {
        None
    }
}

/// Whether `s` is a SHA-256 in the form blobs are named by: 64 lower-case hex digits.
pub fn is_blob_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognised_by_content() {
        let table: &[(&[u8], Option<BlobKind>)] = &[
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Some(BlobKind::Jpeg)),
            (
                &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0],
                Some(BlobKind::Png),
            ),
            (b"%PDF-1.7\n", Some(BlobKind::Pdf)),
            (b"GIF89a", None),
            (b"<html>", None),
            (&[0xFF, 0xD8], None),
            (b"", None),
        ];
        for (head, kind) in table {
            assert_eq!(sniff(head), *kind, "{head:?}");
        }
        for kind in [BlobKind::Jpeg, BlobKind::Png, BlobKind::Pdf] {
            assert_eq!(BlobKind::from_mime(kind.mime()), Some(kind));
        }
    }

    #[test]
    fn hashes_are_lower_case_hex() {
        assert!(is_blob_hash(&"a1".repeat(32)));
        assert!(!is_blob_hash(&"A1".repeat(32)));
        assert!(!is_blob_hash(&"a1".repeat(31)));
        assert!(!is_blob_hash(&"g1".repeat(32)));
    }
}
