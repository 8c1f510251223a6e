//! Refresh tokens: 256 bits, base64url. Only their SHA-256 is stored; a token is rotated on
//! every use, and presenting a used one revokes its whole family, except within a short grace
//! window after its rotation (a response lost on the way back): then the same successor is
//! handed out again.
//!
//! A sign-in's first token is random. Each successor is derived from its predecessor:
//! HMAC-SHA256 under a key of the server secret ([`successor_of`]). So the server can give the
//! same successor again without ever storing a token in plaintext, and nobody without both the
//! predecessor and the server secret can compute it.

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

/// The successor of `token` on rotation: HMAC-SHA256(key, token), base64url, where the key is
/// derived from the server secret. Deterministic, so a retry within the grace window gets the
/// same successor back.
pub fn successor_of(secret: &[u8], token: &str) -> IssuedRefreshToken {
    let key = Sha256::digest([b"paicha-refresh-successor:".as_slice(), secret].concat());
    let mac = hmac_sha256(&key, token.as_bytes());
    let token = URL_SAFE_NO_PAD.encode(mac);
    let hash = hash_refresh_token(&token);
    IssuedRefreshToken { token, hash }
}

/// HMAC-SHA256 (RFC 2104) with a key of at most one block.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut padded = [0u8; BLOCK];
    let n = key.len().min(BLOCK);
    padded[..n].copy_from_slice(&key[..n]);
    let ipad: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), message].concat());
    let outer = Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer);
    out
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
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn successors_are_deterministic_per_secret_and_token() {
        let a = successor_of(b"secret-one", "token");
        let b = successor_of(b"secret-one", "token");
        assert_eq!(
            (a.token.as_str(), a.hash.as_str()),
            (b.token.as_str(), b.hash.as_str())
        );
        assert_eq!(a.token.len(), 43);
        assert_eq!(a.hash, hash_refresh_token(&a.token));
        assert_ne!(a.token, successor_of(b"secret-two", "token").token);
        assert_ne!(a.token, successor_of(b"secret-one", "token2").token);
    }

    #[test]
    fn hex_matches_a_known_digest() {
        assert_eq!(
            hash_refresh_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
