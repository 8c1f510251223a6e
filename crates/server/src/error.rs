//! The one mapping from failures to HTTP responses. Every error leaves the server in the shape
//! of docs/protocol.md §1.3: `{"error": {"code", "message", "field"?}}`. Internal errors are logged with
//! their whole source chain and answered with a generic 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paicha_auth::Denied;
use paicha_domain::api::{ErrorBody, ErrorCode};
use paicha_storage::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    /// For `upload_offset_mismatch`: where the upload stands, sent as `Upload-Offset`.
    pub upload_offset: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode) -> Self {
        Self {
            status,
            code,
            message: code.message_zh().to_owned(),
            field: None,
            retry_after: None,
            upload_offset: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(code: ErrorCode) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }

    pub fn unprocessable(code: ErrorCode) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code)
    }

    pub fn unauthorized(code: ErrorCode) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code)
    }

    pub fn forbidden(code: ErrorCode) -> Self {
        Self::new(StatusCode::FORBIDDEN, code)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound)
    }

    pub fn conflict(code: ErrorCode) -> Self {
        Self::new(StatusCode::CONFLICT, code)
    }

    pub fn throttled(retry_after: u64) -> Self {
        let mut err = Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::LoginThrottled)
            .with_message(format!("登录失败次数过多，请在{retry_after}秒后再试"));
        err.retry_after = Some(retry_after);
        err
    }

    /// An internal failure: the detail goes to the log, the client gets a generic 500.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError)
    }

    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code, self.message.clone(), self.field.clone());
        body.error.retry_after = self.retry_after;
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(value) = self.retry_after.map(HeaderValue::from) {
            headers.insert(header::RETRY_AFTER, value);
        }
        if let Some(value) = self.upload_offset.map(HeaderValue::from) {
            headers.insert("upload-offset", value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found(),
            other => Self::internal(error_chain(&other)),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotFound => Self::not_found(),
            Denied::OutsideScope => Self::forbidden(ErrorCode::OutsideScope),
            Denied::Forbidden => Self::forbidden(ErrorCode::Forbidden),
            Denied::RoleAboveOwn => Self::forbidden(ErrorCode::RoleAboveOwn),
            Denied::RoleDoesNotFitUnit => Self::unprocessable(ErrorCode::RoleDoesNotFitUnit),
        }
    }
}

/// An error and all its sources, on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// For responses made outside the handlers (the body limit, the timeout, a caught panic,
/// axum's own 404/405): the error code that fits a bare status.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        s if s.is_client_error() => ErrorCode::InvalidBody,
        _ => ErrorCode::InternalError,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn throttled_error_carries_retry_after_in_body_and_header() {
        let response = ApiError::throttled(42).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        let body = ApiError::throttled(42).body();
        assert_eq!(body.error.code, "login_throttled");
        assert_eq!(body.error.retry_after, Some(42));
    }

    #[test]
    fn unauthorized_carries_www_authenticate() {
        let response = ApiError::unauthorized(ErrorCode::InvalidToken).into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn denials_map_to_statuses_that_reveal_nothing_of_other_tenants() {
        let table = [
            (Denied::NotFound, StatusCode::NOT_FOUND, "not_found"),
            (Denied::OutsideScope, StatusCode::FORBIDDEN, "outside_scope"),
            (Denied::Forbidden, StatusCode::FORBIDDEN, "forbidden"),
            (
                Denied::RoleAboveOwn,
                StatusCode::FORBIDDEN,
                "role_above_own",
            ),
            (
                Denied::RoleDoesNotFitUnit,
                StatusCode::UNPROCESSABLE_ENTITY,
                "role_does_not_fit_unit",
            ),
        ];
        for (denied, status, code) in table {
            let err = ApiError::from(denied);
            assert_eq!((err.status, err.code.as_str()), (status, code));
        }
    }
}
