//! The pull cursor (docs/protocol.md §5.4: the cursor is opaque). It carries the last change version a device
//! has seen, with a format byte and a check, so that a truncated, corrupted or hand-edited
//! cursor is refused instead of silently restarting or skipping changes. (The check is not a
//! secret: a cursor from another database is caught by the pull instead, when it names a
//! version that database has not reached.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Format tag of the first cursor layout: the version alone.
const FORMAT_V1: u8 = 1;
/// Format tag of a cursor within a first sync: the version and [`Cursor::complete_as_of`].
const FORMAT_V2: u8 = 2;

/// A position in a tenant's change stream: every change with a version above `version` is still
/// to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub version: u64,
    /// Within a first sync (a chain of pages begun without a cursor): the version of its first
    /// page's snapshot, else 0. A record deleted by then was never sent to the device alive, so
    /// tombstones up to it are none of its business: the chain goes on after they are purged
    /// (a first sync of more than one page was refused at its second page whenever tombstones
    /// above its first page's last version had been purged).
    pub complete_as_of: u64,
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
    pub const START: Cursor = Cursor {
        version: 0,
        complete_as_of: 0,
    };

    /// The position after `version`, outside a first sync.
    pub const fn at(version: u64) -> Cursor {
        Cursor {
            version,
            complete_as_of: 0,
        }
    }

    /// The version up to which the device's records are complete: tombstones up to it may be
    /// gone without it missing one.
    pub fn known_through(self) -> u64 {
        self.version.max(self.complete_as_of)
    }

    /// The opaque text form: base64url of a format byte, the version (and, within a first
    /// sync, [`Cursor::complete_as_of`]), and a 4-byte check.
    pub fn encode(self) -> String {
        let within_first_sync = self.complete_as_of > self.version;
        let mut bytes = Vec::with_capacity(21);
        bytes.push(if within_first_sync {
            FORMAT_V2
        } else {
            FORMAT_V1
        });
        bytes.extend_from_slice(&self.version.to_be_bytes());
        if within_first_sync {
            bytes.extend_from_slice(&self.complete_as_of.to_be_bytes());
        }
        let check = check_bytes(&bytes);
        bytes.extend_from_slice(&check);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| CursorError::Malformed)?;
        let body_len = match (bytes.first(), bytes.len()) {
            (Some(&FORMAT_V1), 13) => 9,
            (Some(&FORMAT_V2), 21) => 17,
            _ => return Err(CursorError::Malformed),
        };
        let (body, check) = bytes
            .split_at_checked(body_len)
            .ok_or(CursorError::Malformed)?;
        if check != check_bytes(body) {
            return Err(CursorError::Malformed);
        }
        let number = |at: usize| -> Result<u64, CursorError> {
            let mut n = [0u8; 8];
            n.copy_from_slice(body.get(at..at + 8).ok_or(CursorError::Malformed)?);
            Ok(u64::from_be_bytes(n))
        };
        let version = number(1)?;
        let complete_as_of = if body_len == 17 { number(9)? } else { 0 };
        if body_len == 17 && complete_as_of <= version {
            // Never issued: the version alone says as much.
            return Err(CursorError::Malformed);
        }
        Ok(Cursor {
            version,
            complete_as_of,
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
            let c = Cursor::at(version);
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
    }

    #[test]
    fn a_cursor_within_a_first_sync_round_trips_and_only_then_takes_the_longer_form() {
        let within = Cursor {
            version: 1000,
            complete_as_of: 90_000,
        };
        assert_eq!(Cursor::decode(&within.encode()), Ok(within));
        assert_eq!(within.known_through(), 90_000);
        assert!(within.encode().len() > Cursor::at(1000).encode().len());
        // Past its first sync's snapshot, a cursor is the version alone, as before.
        let past = Cursor {
            version: 90_001,
            complete_as_of: 90_000,
        };
        assert_eq!(past.encode(), Cursor::at(90_001).encode());
    }

    #[test]
    fn refuses_what_it_did_not_issue() {
        let good = Cursor::at(7).encode();
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

/// Properties of the codec over generated versions and texts.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every version comes back from its cursor.
        #[test]
        fn every_version_round_trips(version in any::<u64>()) {
            let c = Cursor::at(version);
            prop_assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }

        /// A cursor with any one character replaced by another base64url character is
        /// refused: it never silently names another position.
        #[test]
        fn one_changed_character_is_refused(
            version in any::<u64>(),
            place in 0usize..18,
            other in 0usize..64,
        ) {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let good = Cursor::at(version).encode();
            let mut bytes = good.clone().into_bytes();
            prop_assert_eq!(bytes.len(), 18);
            prop_assume!(bytes[place] != ALPHABET[other]);
            bytes[place] = ALPHABET[other];
            let bad = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(Cursor::decode(&bad), Err(CursorError::Malformed), "{} from {}", bad, good);
        }

        /// Any text either is refused or is exactly a cursor the codec issues (surrounding
        /// white space aside); it never panics.
        #[test]
        fn only_issued_texts_decode(text in "\\PC{0,24}|[A-Za-z0-9_-]{18}") {
            if let Ok(c) = Cursor::decode(&text) {
                prop_assert_eq!(c.encode(), text.trim());
            }
        }
    }
}
