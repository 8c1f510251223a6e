//! Password hashes: argon2id with the crate's recommended parameters (m=19456 KiB, t=2, p=1),
//! in PHC string form so parameters can be raised later without breaking old hashes.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a stored hash. A malformed stored hash is a mismatch.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match stored.parse::<PasswordHash>() {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification without a user, so an unknown username costs as much as
/// a wrong password and the response time does not tell which usernames exist.
pub fn burn_verification_time(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    // A hash of a password nobody knows, made with the same parameters as real hashes.
    let dummy = DUMMY.get_or_init(|| hash_password("paicha-dummy-password").unwrap_or_default());
    let _ = verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let hash = hash_password("correct horse battery").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password").unwrap_or_default();
        let b = hash_password("same password").unwrap_or_default();
        assert_ne!(a, b);
    }
}
