//! Refresh tokens: 256 random bits, base64url. Only their SHA-256 is stored; a token is
//! rotated on every use, and presenting a used one revokes its whole family.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new refresh token and the hash to store for it.
pub struct IssuedRefreshToken {
    pub token: String,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

/// Makes a new refresh token.
pub fn new_refresh_token() -> Result<IssuedRefreshToken, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    Ok(IssuedRefreshToken { token, hash })
}

/// The stored form of a refresh token: SHA-256, lower-case hex. A fast hash is right here: the
/// token has 256 bits of entropy, so there is nothing to brute-force.
pub fn hash_refresh_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of bytes (sha2 0.11 digests do not implement `LowerHex`).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_their_stored_form() {
        let a = new_refresh_token().ok();
        let b = new_refresh_token().ok();
        let (Some(a), Some(b)) = (a, b) else {
            panic!("random source failed")
        };
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43);
        assert_eq!(a.hash, hash_refresh_token(&a.token));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn hex_matches_a_known_digest() {
        assert_eq!(
            hash_refresh_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
