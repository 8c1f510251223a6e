//! Extractors whose rejections speak the API's error shape: JSON bodies, path and query
//! parameters, and the bearer token.

use axum::body::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use paicha_auth::{Principal, TokenError};
use paicha_domain::api::ErrorCode;
use paicha_storage::{OrgUnitRecord, SessionStatus};
use serde::de::DeserializeOwned;

use crate::config::IpBlock;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Malformed JSON is 400 `malformed_json`; a missing field or a wrong type is 422
/// `invalid_body` with the field's path; a body over the limit is 413 `payload_too_large`; a
/// body that is not `application/json` is 415.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads the whole body, within the configured limit.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
        } else {
            ApiError::bad_request(ErrorCode::MalformedJson).with_message("无法读取请求内容")
        }
    })
}

pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Parses a JSON body into `T`, naming the offending field on failure. Every request body of
/// the API is a JSON object: any other JSON value (an array, which serde would otherwise read
/// as a struct's fields in order, a string, a number, `null`) is 422 `invalid_body`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        // Well-formed JSON of the wrong type, or not JSON at all.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::unprocessable(ErrorCode::InvalidBody)
                    .with_message("请求内容的格式不正确"),
                Err(_) => ApiError::bad_request(ErrorCode::MalformedJson),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = data_error_field(&path, &inner.to_string());
                let message = match &field {
                    Some(f) => match paicha_domain::words::parameter_label(f) {
                        Some(label) => format!("「{label}」缺失、类型不正确或取值无效"),
                        None => "请求内容中有一项缺失、类型不正确或取值无效".to_owned(),
                    },
                    None => ErrorCode::InvalidBody.message_zh().to_owned(),
                };
                let mut e = ApiError::unprocessable(ErrorCode::InvalidBody).with_message(message);
                e.field = field;
                e
            }
            _ => ApiError::bad_request(ErrorCode::MalformedJson),
        }
    })?;
    de.end()
        .map_err(|_| ApiError::bad_request(ErrorCode::MalformedJson))?;
    Ok(value)
}

/// The field a data error is about. serde reports a missing or unknown field at the level of
/// the object that lacks or has it, naming the field only in the message.
fn data_error_field(path: &str, message: &str) -> Option<String> {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    let parent = (path != ".").then(|| path.to_owned());
    match (parent, named) {
        (Some(p), Some(n)) if p == n || p.ends_with(&format!(".{n}")) => Some(p),
        (Some(p), Some(n)) => Some(format!("{p}.{n}")),
        (None, Some(n)) => Some(n),
        (p, None) => p,
    }
}

/// Path parameters; a malformed one (say, an id that is not a UUID) is 400 `invalid_path`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidPath))
    }
}

/// Query parameters; a malformed one is 400 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses a query string into `T`, naming the offending parameter (`field`) on failure.
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let field = data_error_field(&path, &inner);
        let mut e = ApiError::bad_request(ErrorCode::InvalidQuery).with_message(match &field {
            Some(f) => match paicha_domain::words::parameter_label(f) {
                Some(label) => format!("查询条件「{label}」缺失或取值无效"),
                None => "查询条件中有一项缺失或取值无效".to_owned(),
            },
            None => "查询参数无效".to_owned(),
        });
        e.field = field;
        e
    })
}

/// The caller, from `Authorization: Bearer <access token>`. Every failure is a 401; the reason
/// goes to the debug log only, never the token.
pub struct AuthUser(pub Principal);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Caller::from_request_parts(parts, state)
            .await
            .map(|caller| AuthUser(caller.principal))
    }
}

/// The caller, as [`AuthUser`], with its unit (`None` for the platform administrator), read
/// by the same one query as the session check: for routes that need the unit at once (push and
/// pull, the busiest).
pub struct Caller {
    pub principal: Principal,
    pub unit: Option<OrgUnitRecord>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = verified_token(parts, state)?;
        let session = principal.session_id.ok_or_else(|| {
            tracing::debug!("access token without a session");
            ApiError::unauthorized(ErrorCode::InvalidToken)
        })?;
        // Boxed: the query's state lives on the heap only while it runs, instead of in every
        // request's future for its whole life (a long-poll's included).
        let read = Box::pin(state.store.session_and_unit(principal.user_id, session)).await?;
        let (status, unit) = read.unzip();
        check_session(status.as_ref(), &principal)?;
        if status.as_ref().is_some_and(|s| s.must_change_password)
            && !serves_before_password_change(parts)
        {
            tracing::debug!(user.id = %principal.user_id, "request before the required password change");
            return Err(ApiError::forbidden(ErrorCode::PasswordChangeRequired));
        }
        // The session check holds the user's unit to the token's, so this is the token's unit;
        // as `AppState::caller_unit`, it must be of the token's tenant.
        let unit = unit.flatten();
        if unit
            .as_ref()
            .is_some_and(|u| Some(u.tenant_id) != principal.tenant_id)
        {
            return Err(ApiError::unauthorized(ErrorCode::InvalidToken));
        }
        Ok(Caller { principal, unit })
    }
}

/// The principal of the request's bearer token, verified (signature, expiry, claims).
fn verified_token(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized(ErrorCode::Unauthenticated));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::unauthorized(ErrorCode::InvalidToken))?;
    match state.keys.verify(token) {
        Ok(principal) => Ok(principal),
        Err(TokenError::Expired) => {
            tracing::debug!("expired access token");
            Err(ApiError::unauthorized(ErrorCode::TokenExpired))
        }
        Err(err) => {
            tracing::debug!(error = %err, "refused access token");
            Err(ApiError::unauthorized(ErrorCode::InvalidToken))
        }
    }
}

/// What an account that must set a new password may do before it has: change it, and sign
/// out (refresh needs no bearer token and is served as ever).
fn serves_before_password_change(parts: &Parts) -> bool {
    parts.method == axum::http::Method::POST
        && matches!(parts.uri.path(), "/v1/auth/password" | "/v1/auth/logout")
}

/// Whether a verified token still speaks for a live sign-in: its user exists, is not disabled,
/// still has the role and unit the token names, and the token's sign-in (its refresh-token
/// family) has not been revoked. Read by one query per request, so a revocation made on any
/// instance ends the token on the very next request everywhere, not when it expires.
fn check_session(status: Option<&SessionStatus>, principal: &Principal) -> Result<(), ApiError> {
    let live = status.is_some_and(|s| {
        !s.disabled
            && s.session_alive
            && s.role == principal.role
            && s.org_unit_id == principal.org_unit_id
            && s.tenant_id == principal.tenant_id
    });
    if live {
        Ok(())
    } else {
        tracing::debug!(user.id = %principal.user_id, "access token of an ended session");
        Err(ApiError::unauthorized(ErrorCode::SessionRevoked))
    }
}

/// The client's address: the socket's peer, or, when the peer is a configured trusted proxy,
/// the address it forwards (`X-Forwarded-For`'s right-most entry that is not itself a trusted
/// proxy, else `X-Real-IP`). Headers from anyone else are ignored, so a client cannot choose
/// the address it is throttled under.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpBlock]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|b| b.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(**ip)) {
        return *ip;
    }
    if let Some(ip) = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip;
    }
    forwarded.first().copied().unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn check(input: &str) -> (u16, &'static str, Option<String>) {
        match parse_json::<Body>(input.as_bytes()) {
            Ok(_) => (200, "ok", None),
            Err(e) => (e.status.as_u16(), e.code.as_str(), e.field),
        }
    }

    #[test]
    fn the_client_address_comes_from_trusted_proxies_only() {
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        let trusted =
            crate::config::parse_trusted_proxies("127.0.0.1,10.0.0.0/8").unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.1.1.1"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        // From a trusted proxy: the right-most untrusted entry (the first one is the client's
        // own claim, which it could forge).
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        // From anyone else: the header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &[]), ip("127.0.0.1"));
        let mut real = HeaderMap::new();
        real.insert(
            "x-real-ip",
            "192.0.2.5".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(client_ip(ip("10.9.9.9"), &real, &trusted), ip("192.0.2.5"));
        assert_eq!(
            client_ip(ip("10.9.9.9"), &HeaderMap::new(), &trusted),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn json_failures_are_classified_with_their_field() {
        type Expected<'a> = (u16, &'a str, Option<&'a str>);
        let table: &[(&str, Expected)] = &[
            (r#"{"name":"a","count":1}"#, (200, "ok", None)),
            (r#"{"name":"a","count":1"#, (400, "malformed_json", None)),
            (r#"not json"#, (400, "malformed_json", None)),
            (r#""#, (400, "malformed_json", None)),
            (
                r#"{"name":"a","count":1} trailing"#,
                (400, "malformed_json", None),
            ),
            (r#"{"name":"a"}"#, (422, "invalid_body", Some("count"))),
            (
                r#"{"name":"a","count":"x"}"#,
                (422, "invalid_body", Some("count")),
            ),
            (
                r#"{"name":"a","count":-1}"#,
                (422, "invalid_body", Some("count")),
            ),
            (
                r#"{"name":"a","count":1,"extra":1}"#,
                (422, "invalid_body", Some("extra")),
            ),
            (
                r#"{"name":"a","count":1,"inner":{}}"#,
                (422, "invalid_body", Some("inner.flag")),
            ),
            (
                r#"{"name":"a","count":1,"inner":{"flag":1}}"#,
                (422, "invalid_body", Some("inner.flag")),
            ),
            (r#"[1,2]"#, (422, "invalid_body", None)),
            // A struct whose fields are all optional would read `[null]` as an empty one.
            (r#"[null, null]"#, (422, "invalid_body", None)),
            (r#" "name""#, (422, "invalid_body", None)),
            (r#"null"#, (422, "invalid_body", None)),
            (r#"42"#, (422, "invalid_body", None)),
            (r#"[1,"#, (400, "malformed_json", None)),
        ];
        for (input, (status, code, field)) in table {
            let (s, c, f) = check(input);
            assert_eq!((s, c, f.as_deref()), (*status, *code, *field), "{input}");
        }
    }
}
