//! Access tokens: short-lived JWTs signed with HS256 and one server secret.
//!
//! The algorithm is pinned (a token whose header names any other algorithm, `none` included, is
//! refused), `exp`, `nbf`, `iss` and `aud` are required and checked, and the header carries a
//! `kid` derived from the secret, so a token signed under an older secret is refused by its kid
//! before any signature work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::role::Role;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::refresh::hex;

pub const ISSUER: &str = "paicha";
pub const AUDIENCE: &str = "paicha-api";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Who is calling: the verified content of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    /// `None` only for `system_admin`.
    pub org_unit_id: Option<UnitId>,
    /// The committee at the root of the user's tree; `None` only for `system_admin`.
    pub tenant_id: Option<TenantId>,
    /// The sign-in this token belongs to (its refresh-token family): revoking the sign-in, or
    /// the device that made it, ends the token at once. `None` only for tokens made outside a
    /// sign-in (the CLI import).
    pub session_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ou: Option<UnitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<Uuid>,
    iss: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
    #[error("token could not be signed")]
    Signing,
}

/// The keys and rules for access tokens of one server.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.kid)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Installs jsonwebtoken's crypto backend for the process. Without exactly one installed, the
/// first signature panics (ARCHITECTURE.md, "Crypto backends"); naming the provider here makes a missing
/// feature a compile error instead. Safe to call any number of times.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

impl TokenKeys {
    /// Keys from the server secret; `ttl` is the lifetime of an access token.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        install_crypto_provider();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let kid = hex(&Sha256::digest(
            [b"paicha-kid:".as_slice(), secret].concat(),
        ))
        .chars()
        .take(16)
        .collect();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid,
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs an access token for `principal`, valid from `now` for the configured lifetime.
    pub fn issue(&self, principal: &Principal, now: DateTime<Utc>) -> Result<String, TokenError> {
        let iat = now.timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).map_err(|_| TokenError::Signing)?;
        let claims = Claims {
            sub: principal.user_id,
            role: principal.role,
            ou: principal.org_unit_id,
            tid: principal.tenant_id,
            sid: principal.session_id,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat,
            nbf: iat,
            exp: iat.saturating_add(ttl),
            jti: Uuid::now_v7(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|_| TokenError::Signing)
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::Invalid);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let c = data.claims;
        // A tenant user always carries its unit and tenant; system_admin carries neither.
        let consistent = match c.role {
            Role::SystemAdmin => c.ou.is_none() && c.tid.is_none(),
            _ => c.ou.is_some() && c.tid.is_some(),
        };
        if !consistent {
            return Err(TokenError::Invalid);
        }
        Ok(Principal {
            user_id: c.sub,
            role: c.role,
            org_unit_id: c.ou,
            tenant_id: c.tid,
            session_id: c.sid,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(900),
        )
    }

    fn branch_user() -> Principal {
        Principal {
            user_id: Uuid::now_v7(),
            role: Role::BranchSecretary,
            org_unit_id: Some(UnitId::new(Uuid::now_v7())),
            tenant_id: Some(TenantId::new(Uuid::now_v7())),
            session_id: Some(Uuid::now_v7()),
        }
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let p = branch_user();
        let token = keys.issue(&p, Utc::now()).unwrap();
        assert_eq!(keys.verify(&token), Ok(p));
    }

    #[test]
    fn expired_token_is_refused_as_expired() {
        let keys = keys();
        let token = keys
            .issue(&branch_user(), Utc::now() - chrono::Duration::hours(2))
            .unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn token_from_the_future_is_refused() {
        let keys = keys();
        let token = keys
            .issue(&branch_user(), Utc::now() + chrono::Duration::hours(2))
            .unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn other_key_is_refused() {
        let token = keys().issue(&branch_user(), Utc::now()).unwrap();
        let other = TokenKeys::new(
            b"another secret of thirty-two byt",
            Duration::from_secs(900),
        );
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_and_tampered_payload_are_refused() {
        let keys = keys();
        let token = keys.issue(&branch_user(), Utc::now()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

        let mut none_header = header.clone();
        none_header["alg"] = "none".into();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(none_header.to_string()),
            parts[1]
        );
        assert_eq!(keys.verify(&none), Err(TokenError::Invalid));

        payload["role"] = "committee_admin".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert_eq!(keys.verify(&tampered), Err(TokenError::Invalid));
        assert_eq!(keys.verify("not.a.token"), Err(TokenError::Invalid));
        assert_eq!(keys.verify(""), Err(TokenError::Invalid));
    }
}
