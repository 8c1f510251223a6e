//! The pull cursor (docs/protocol.md §5.4: the cursor is opaque). It carries the last change version a device
//! has seen, with a format byte and a check, so that a truncated, corrupted or hand-edited
//! cursor is refused instead of silently restarting or skipping changes. (The check is not a
//! secret: a cursor from another database is caught by the pull instead, when it names a
//! version that database has not reached.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Format tag of the first (and so far only) cursor layout.
const FORMAT_V1: u8 = 1;

/// A position in a tenant's change stream: every change with a version above `version` is still
/// to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is corrupted or not a paicha cursor")]
    Malformed,
}

impl CursorError {
    pub fn code(self) -> &'static str {
        "invalid_cursor"
    }

    pub fn message_zh(self) -> &'static str {
        "同步游标无效，请从头同步"
    }
}

impl Cursor {
    /// The start of the stream: a pull without a cursor.
    pub const START: Cursor = Cursor { version: 0 };

    /// The opaque text form: base64url of a format byte, the version, and a 4-byte check.
    pub fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(13);
        bytes.push(FORMAT_V1);
        bytes.extend_from_slice(&self.version.to_be_bytes());
        let check = check_bytes(&bytes);
        bytes.extend_from_slice(&check);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| CursorError::Malformed)?;
        let (body, check) = bytes.split_at_checked(9).ok_or(CursorError::Malformed)?;
        if bytes.len() != 13 || body.first() != Some(&FORMAT_V1) || check != check_bytes(body) {
            return Err(CursorError::Malformed);
        }
        let mut version = [0u8; 8];
        version.copy_from_slice(body.get(1..9).ok_or(CursorError::Malformed)?);
        Ok(Cursor {
            version: u64::from_be_bytes(version),
        })
    }
}

fn check_bytes(body: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest(body);
    let mut out = [0u8; 4];
    out.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for version in [0, 1, 42, 1 << 40, u64::MAX] {
            let c = Cursor { version };
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
    }

    #[test]
    fn refuses_what_it_did_not_issue() {
        let good = Cursor { version: 7 }.encode();
        let mut flipped = good.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap_or_default();
        for bad in [
            "",
            "7",
            "not base64!",
            &good[..good.len() - 2],
            &flipped,
            "AAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(Cursor::decode(bad), Err(CursorError::Malformed), "{bad:?}");
        }
    }
}
