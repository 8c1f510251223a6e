//! The reqwest SDK for paicha's HTTP API: typed requests over the shared wire types of
//! `paicha_domain::api::v1`, and errors decoded back into the API's error shape. The field
//! client (local replica, offline outbox) builds on this; the black-box tests drive the server
//! through it.

use paicha_domain::api::v1::{
    AccountEvent, AccountEventList, AuditList, BlobStatus, ChangePassword, ChecksumResponse,
    ConflictList, CreateOrgUnit, CreateUser, DepartureList, Device, DeviceList, LoginRequest,
    LogoutRequest, MemberList, MemberSearchRequest, MissingBlobs, OrgUnit, OrgUnitList,
    ProposalList, PullResponse, PushRequest, PushResponse, RefreshRequest, ResetPassword,
    TokenResponse, TransferLists, UnitStatus, UpdateOrgUnit, UpdateUser, User, UserList,
};
use paicha_domain::api::{ErrorBody, ErrorCode};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error in the API's shape.
    #[error("{status}: {} ({})", body.error.message, body.error.code)]
    Api { status: StatusCode, body: ErrorBody },
    /// The server answered with something that is not the API's shape.
    #[error("unexpected response {status}: {text}")]
    Unexpected { status: StatusCode, text: String },
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

impl ClientError {
    /// The API error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(body.error.code.as_str()),
            _ => None,
        }
    }

    /// The API error code as a known [`ErrorCode`].
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code().and_then(ErrorCode::parse)
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            Self::Transport(e) => e.status(),
        }
    }
}

/// Turns a failed response's status and body into a [`ClientError`].
pub fn decode_error(status: StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => ClientError::Api { status, body },
        Err(_) => ClientError::Unexpected {
            status,
            text: String::from_utf8_lossy(bytes).chars().take(500).collect(),
        },
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// A connection to one paicha server, optionally signed in.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    access_token: Option<String>,
}

impl Client {
    /// `base` is the server's root URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            access_token: None,
        }
    }

    /// Like [`Client::new`], over a reqwest client of the caller's (its own connection pool and
    /// settings, e.g. HTTP/2).
    pub fn with_http(base: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            access_token: None,
        }
    }

    /// The same server and connection pool, with another access token.
    pub fn with_token(&self, access_token: impl Into<String>) -> Self {
        Self {
            access_token: Some(access_token.into()),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> ClientResult<T> {
        let bytes = self.send_raw(method, path, body).await?;
        parse_body(&bytes)
    }

    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> ClientResult<Vec<u8>> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(decode_error(status, &bytes))
        }
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_id: Option<&str>,
    ) -> ClientResult<TokenResponse> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: device_id.map(str::to_owned),
        };
        self.send(Method::POST, "/v1/auth/login", Some(&body)).await
    }

    /// Signs in and returns a client that carries the access token, with the full answer.
    pub async fn signed_in(
        &self,
        username: &str,
        password: &str,
    ) -> ClientResult<(Client, TokenResponse)> {
        let tokens = self.login(username, password, None).await?;
        Ok((self.with_token(tokens.access_token.clone()), tokens))
    }

    pub async fn refresh(&self, refresh_token: &str) -> ClientResult<TokenResponse> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.send(Method::POST, "/v1/auth/refresh", Some(&body))
            .await
    }

    pub async fn logout(&self, refresh_token: Option<&str>) -> ClientResult<()> {
        let body = LogoutRequest {
            refresh_token: refresh_token.map(str::to_owned),
        };
        self.send_raw(Method::POST, "/v1/auth/logout", Some(&body))
            .await
            .map(drop)
    }

    pub async fn create_org_unit(&self, unit: &CreateOrgUnit) -> ClientResult<OrgUnit> {
        self.send(Method::POST, "/v1/org-units", Some(unit)).await
    }

    pub async fn list_org_units(&self) -> ClientResult<Vec<OrgUnit>> {
        let list: OrgUnitList = self.send(Method::GET, "/v1/org-units", None::<&()>).await?;
        Ok(list.org_units)
    }

    pub async fn get_org_unit(&self, id: Uuid) -> ClientResult<OrgUnit> {
        self.send(Method::GET, &format!("/v1/org-units/{id}"), None::<&()>)
            .await
    }

    pub async fn update_org_unit(&self, id: Uuid, change: &UpdateOrgUnit) -> ClientResult<OrgUnit> {
        self.send(Method::PATCH, &format!("/v1/org-units/{id}"), Some(change))
            .await
    }

    pub async fn delete_org_unit(&self, id: Uuid) -> ClientResult<()> {
        self.send_raw(Method::DELETE, &format!("/v1/org-units/{id}"), None::<&()>)
            .await
            .map(drop)
    }

    pub async fn create_user(&self, user: &CreateUser) -> ClientResult<User> {
        self.send(Method::POST, "/v1/users", Some(user)).await
    }

    pub async fn get_user(&self, id: Uuid) -> ClientResult<User> {
        self.send(Method::GET, &format!("/v1/users/{id}"), None::<&()>)
            .await
    }

    pub async fn update_user(&self, id: Uuid, change: &UpdateUser) -> ClientResult<User> {
        self.send(Method::PATCH, &format!("/v1/users/{id}"), Some(change))
            .await
    }

    /// An administrator sets a user's password; the user's sign-ins end.
    pub async fn reset_password(&self, id: Uuid, password: &str) -> ClientResult<()> {
        let body = ResetPassword {
            password: password.to_owned(),
        };
        self.send_raw(
            Method::POST,
            &format!("/v1/users/{id}/password"),
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// Changes the caller's own password; its other sign-ins end.
    pub async fn change_password(&self, current: &str, new: &str) -> ClientResult<()> {
        let body = ChangePassword {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        };
        self.send_raw(Method::POST, "/v1/auth/password", Some(&body))
            .await
            .map(drop)
    }

    pub async fn user_devices(&self, id: Uuid) -> ClientResult<Vec<Device>> {
        let list: DeviceList = self
            .send(Method::GET, &format!("/v1/users/{id}/devices"), None::<&()>)
            .await?;
        Ok(list.devices)
    }

    pub async fn revoke_device(&self, id: Uuid, device_id: &str) -> ClientResult<()> {
        let path = format!("/v1/users/{id}/devices/{}", encode(device_id));
        self.send_raw(Method::DELETE, &path, None::<&()>)
            .await
            .map(drop)
    }

    pub async fn revoke_sessions(&self, id: Uuid) -> ClientResult<()> {
        self.send_raw(
            Method::DELETE,
            &format!("/v1/users/{id}/sessions"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    pub async fn account_log(&self, id: Uuid) -> ClientResult<Vec<AccountEvent>> {
        let list: AccountEventList = self
            .send(Method::GET, &format!("/v1/users/{id}/log"), None::<&()>)
            .await?;
        Ok(list.events)
    }

    pub async fn list_users(&self) -> ClientResult<Vec<User>> {
        let list: UserList = self.send(Method::GET, "/v1/users", None::<&()>).await?;
        Ok(list.users)
    }

    /// Pushes mutations (each a JSON object, see `api::v1::Mutation`) from `device_id`.
    pub async fn push(
        &self,
        device_id: &str,
        mutations: Vec<serde_json::Value>,
    ) -> ClientResult<PushResponse> {
        let body = PushRequest {
            device_id: device_id.to_owned(),
            mutations,
        };
        self.send(Method::POST, "/v1/sync/push", Some(&body)).await
    }

    /// One page of changes after `cursor` (none: from the beginning).
    pub async fn pull(&self, query: &PullQuery<'_>) -> ClientResult<PullResponse> {
        let body = self.pull_body(query).await?;
        parse_body(&body)
    }

    /// One page as the server sent it, not parsed: read its [`PullHead`] at once to ask for
    /// the next page, and parse the changes ([`parse_pull`]) while that one is on its way.
    pub async fn pull_body(&self, query: &PullQuery<'_>) -> ClientResult<Vec<u8>> {
        let mut params = vec![];
        if let Some(c) = query.cursor {
            params.push(format!("cursor={}", encode(c)));
        }
        if let Some(l) = query.limit {
            params.push(format!("limit={l}"));
        }
        if let Some(c) = query.collections {
            params.push(format!("collections={}", encode(c)));
        }
        if let Some(w) = query.wait {
            params.push(format!("wait={w}"));
        }
        if let Some(d) = query.device_id {
            params.push(format!("device_id={}", encode(d)));
        }
        self.send_raw(
            Method::GET,
            &format!("/v1/sync/pull?{}", params.join("&")),
            None::<&()>,
        )
        .await
    }

    pub async fn checksum(&self, collections: Option<&str>) -> ClientResult<ChecksumResponse> {
        let query = collections.map_or_else(String::new, |c| format!("?collections={}", encode(c)));
        self.send(
            Method::GET,
            &format!("/v1/sync/checksum{query}"),
            None::<&()>,
        )
        .await
    }

    /// Conflicts in scope, optionally of one record.
    pub async fn conflicts(
        &self,
        record: Option<(&str, Uuid)>,
        unresolved_only: bool,
    ) -> ClientResult<ConflictList> {
        let mut params = vec![format!("unresolved={unresolved_only}")];
        if let Some((collection, id)) = record {
            params.push(format!("collection={}&id={id}", encode(collection)));
        }
        self.send(
            Method::GET,
            &format!("/v1/conflicts?{}", params.join("&")),
            None::<&()>,
        )
        .await
    }

    pub async fn resolve_conflict(&self, id: Uuid) -> ClientResult<()> {
        self.send_raw(
            Method::POST,
            &format!("/v1/conflicts/{id}/resolve"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Uploads a whole blob.
    pub async fn put_blob(&self, sha256: &str, bytes: Vec<u8>) -> ClientResult<BlobStatus> {
        self.put_blob_range(sha256, bytes, None).await
    }

    /// Uploads one chunk of a blob: `range` is (first byte, total size).
    pub async fn put_blob_range(
        &self,
        sha256: &str,
        bytes: Vec<u8>,
        range: Option<(u64, u64)>,
    ) -> ClientResult<BlobStatus> {
        let mut request = self
            .http
            .put(format!("{}/v1/blobs/{sha256}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream");
        if let Some((first, total)) = range {
            let last = first + (bytes.len() as u64).saturating_sub(1);
            request = request.header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{total}"),
            );
        }
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        let response = request.body(bytes).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status.is_success() {
            serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected {
                status,
                text: e.to_string(),
            })
        } else {
            Err(decode_error(status, &body))
        }
    }

    pub async fn blob_upload_status(&self, sha256: &str) -> ClientResult<BlobStatus> {
        self.send(
            Method::GET,
            &format!("/v1/blobs/{sha256}/upload"),
            None::<&()>,
        )
        .await
    }

    pub async fn get_blob(&self, sha256: &str) -> ClientResult<Vec<u8>> {
        self.send_raw(Method::GET, &format!("/v1/blobs/{sha256}"), None::<&()>)
            .await
    }

    pub async fn missing_blobs(&self) -> ClientResult<Vec<String>> {
        let list: MissingBlobs = self
            .send(Method::GET, "/v1/blobs/missing", None::<&()>)
            .await?;
        Ok(list.missing)
    }

    /// The status of a unit (default: the caller's) and its children.
    pub async fn status(&self, org_unit_id: Option<Uuid>) -> ClientResult<UnitStatus> {
        self.status_on(org_unit_id, None).await
    }

    /// The status as of a day (phases and suspension clocks are judged on it).
    pub async fn status_on(
        &self,
        org_unit_id: Option<Uuid>,
        as_of: Option<chrono::NaiveDate>,
    ) -> ClientResult<UnitStatus> {
        let mut params = Vec::new();
        if let Some(id) = org_unit_id {
            params.push(format!("org_unit_id={id}"));
        }
        if let Some(day) = as_of {
            params.push(format!("as_of={day}"));
        }
        let query = if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        };
        self.send(Method::GET, &format!("/v1/status{query}"), None::<&()>)
            .await
    }

    /// Freezes the campaign's baseline (`POST /v1/campaigns/{id}/baseline`).
    pub async fn freeze_baseline(
        &self,
        campaign_id: Uuid,
    ) -> ClientResult<paicha_domain::api::v1::BaselineFrozen> {
        self.send(
            Method::POST,
            &format!("/v1/campaigns/{campaign_id}/baseline"),
            None::<&()>,
        )
        .await
    }

    /// Corrects one member's snapshot (`POST /v1/members/{id}/baseline`).
    pub async fn correct_baseline(
        &self,
        member_id: Uuid,
        correction: &paicha_domain::api::v1::BaselineCorrection,
    ) -> ClientResult<paicha_domain::api::v1::BaselineCorrected> {
        self.send(
            Method::POST,
            &format!("/v1/members/{member_id}/baseline"),
            Some(correction),
        )
        .await
    }

    /// The five checks of one member (`GET /v1/members/{id}/checks`).
    pub async fn member_checks(
        &self,
        member_id: Uuid,
    ) -> ClientResult<paicha_domain::api::v1::MemberChecks> {
        self.send(
            Method::GET,
            &format!("/v1/members/{member_id}/checks"),
            None::<&()>,
        )
        .await
    }

    /// Each transfer list and the branches it reached (`GET /v1/transfers/lists`).
    pub async fn transfer_lists(&self, org_unit_id: Option<Uuid>) -> ClientResult<TransferLists> {
        let query = org_unit_id.map_or_else(String::new, |id| format!("?org_unit_id={id}"));
        self.send(
            Method::GET,
            &format!("/v1/transfers/lists{query}"),
            None::<&()>,
        )
        .await
    }

    /// What the rules propose for each member of a unit (`GET /v1/proposals`).
    pub async fn proposals(
        &self,
        org_unit_id: Option<Uuid>,
        as_of: Option<chrono::NaiveDate>,
        only_proposed: bool,
    ) -> ClientResult<ProposalList> {
        let mut params = vec![format!("only_proposed={only_proposed}")];
        if let Some(id) = org_unit_id {
            params.push(format!("org_unit_id={id}"));
        }
        if let Some(day) = as_of {
            params.push(format!("as_of={day}"));
        }
        self.send(
            Method::GET,
            &format!("/v1/proposals?{}", params.join("&")),
            None::<&()>,
        )
        .await
    }

    /// A page of a unit's members matching `q` (a name part or the start of an ID number) and
    /// `roster_status`.
    pub async fn members(
        &self,
        org_unit_id: Option<Uuid>,
        q: Option<&str>,
        roster_status: Option<&str>,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> ClientResult<MemberList> {
        let mut params = Vec::new();
        if let Some(u) = org_unit_id {
            params.push(format!("org_unit_id={u}"));
        }
        if let Some(q) = q {
            params.push(format!("q={}", encode(q)));
        }
        if let Some(s) = roster_status {
            params.push(format!("roster_status={}", encode(s)));
        }
        if let Some(l) = limit {
            params.push(format!("limit={l}"));
        }
        if let Some(o) = offset {
            params.push(format!("offset={o}"));
        }
        self.send(
            Method::GET,
            &format!("/v1/members?{}", params.join("&")),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/members/search`: the search of [`Client::members`] with its parameters in the
    /// body, so an ID number searched for never appears in a URL.
    pub async fn search_members(&self, search: &MemberSearchRequest) -> ClientResult<MemberList> {
        self.send(Method::POST, "/v1/members/search", Some(search))
            .await
    }

    /// `GET /v1/org-units/branches`: the tenant's branches a member may be moved to.
    pub async fn tenant_branches(&self) -> ClientResult<OrgUnitList> {
        self.send(Method::GET, "/v1/org-units/branches", None::<&()>)
            .await
    }

    /// `GET /v1/departures`: what left the caller's unit, the latest first.
    pub async fn departures(&self) -> ClientResult<DepartureList> {
        self.send(Method::GET, "/v1/departures", None::<&()>).await
    }

    pub async fn audit(&self, collection: &str, id: Uuid) -> ClientResult<AuditList> {
        self.send(
            Method::GET,
            &format!("/v1/audit?collection={}&id={id}", encode(collection)),
            None::<&()>,
        )
        .await
    }
}

/// A successful answer's body as `T`.
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ClientResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ClientError::Unexpected {
        status: StatusCode::OK,
        text: e.to_string(),
    })
}

/// A pull page's body ([`Client::pull_body`]) parsed.
pub fn parse_pull(body: &[u8]) -> ClientResult<PullResponse> {
    parse_body(body)
}

/// Where a pull page ends, read from its body without building its changes (they are
/// skipped, not parsed into values).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PullHead {
    pub cursor: String,
    pub has_more: bool,
}

impl PullHead {
    pub fn of(body: &[u8]) -> ClientResult<Self> {
        parse_body(body)
    }
}

/// The parameters of a pull.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullQuery<'a> {
    pub cursor: Option<&'a str>,
    pub limit: Option<u64>,
    pub collections: Option<&'a str>,
    /// Long-poll seconds.
    pub wait: Option<u64>,
    /// The pulling device, so the server keeps its position.
    pub device_id: Option<&'a str>,
}

/// Percent-encodes a query value (cursors are base64url and collection names snake_case, so
/// only the few characters that matter in a query are escaped).
fn encode(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | ',' => c.to_string(),
            other => {
                let mut buf = [0u8; 4];
                other
                    .encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_api_errors_and_keeps_anything_else_readable() {
        let err = decode_error(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"error":{"code":"login_throttled","message":"...","retry_after":30}}"#,
        );
        assert_eq!(err.code(), Some("login_throttled"));
        assert_eq!(err.error_code(), Some(ErrorCode::LoginThrottled));
        assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        match &err {
            ClientError::Api { body, .. } => assert_eq!(body.error.retry_after, Some(30)),
            other => panic!("expected an API error, got {other:?}"),
        }

        let future = decode_error(
            StatusCode::CONFLICT,
            br#"{"error":{"code":"from_the_future","message":"x"}}"#,
        );
        assert_eq!(future.code(), Some("from_the_future"));
        assert_eq!(future.error_code(), None);

        let html = decode_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(matches!(html, ClientError::Unexpected { .. }));
        assert_eq!(html.code(), None);
    }

    #[test]
    fn base_url_is_normalized() {
        assert_eq!(Client::new("http://h:1/").base_url(), "http://h:1");
        let c = Client::new("http://h:1").with_token("t");
        assert_eq!(c.access_token(), Some("t"));
    }
}
