//! The error body of every failed request (docs/protocol.md §1.3):
//! `{"error": {"code": "<stable_snake_case>", "message": "<zh-CN text>", "field": "<optional path>"}}`.

use serde::{Deserialize, Serialize};

/// The stable error codes of the API. The wire carries the code as a string, so a client built
/// against an older list still reads the body of a newer server ([`ErrorCode::parse`] returns
/// `None` for a code it does not know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    // The request itself.
    MalformedJson,
    InvalidBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidPath,
    InvalidQuery,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    // Authentication.
    Unauthenticated,
    InvalidToken,
    TokenExpired,
    InvalidCredentials,
    LoginThrottled,
    /// Too many sign-ins wait for their password to be checked (503, `Retry-After`).
    TooManySignIns,
    InvalidRefreshToken,
    RefreshTokenReused,
    RefreshTokenExpired,
    SessionRevoked,
    WrongPassword,
    /// The account must set a new password first (the bootstrap administrator's first
    /// sign-in): only changing the password, refresh and logout are served (403).
    PasswordChangeRequired,
    // Authorization.
    Forbidden,
    RoleAboveOwn,
    OutsideScope,
    // Validation and conflicts.
    PasswordTooShort,
    PasswordTooLong,
    InvalidUsername,
    UsernameTaken,
    InvalidName,
    InvalidCode,
    InvalidParent,
    RoleDoesNotFitUnit,
    IdTaken,
    OrgUnitHasChildren,
    OrgUnitHasUsers,
    // The campaign's baseline (docs/protocol.md §12.9).
    NoCampaign,
    BaselineTaken,
    BaselineNotTaken,
    // Sync.
    InvalidCursor,
    TooManyMutations,
    ResyncRequired,
    // Blobs.
    BlobHashMismatch,
    UnsupportedBlobType,
    BlobTooLarge,
    UploadOffsetMismatch,
    InvalidContentRange,
    BlobMissing,
    BlobQuotaExceeded,
    /// The caller's own allowance of blob bytes no record names yet is used up (507).
    UserBlobQuotaExceeded,
    /// The caller (or its device) has too many chunked uploads started and not finished (429).
    TooManyUnfinishedUploads,
    TooManyTransfers,
    // The server.
    InternalError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 53] = [
        Self::MalformedJson,
        Self::InvalidBody,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::InvalidPath,
        Self::InvalidQuery,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Unauthenticated,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::InvalidCredentials,
        Self::LoginThrottled,
        Self::TooManySignIns,
        Self::InvalidRefreshToken,
        Self::RefreshTokenReused,
        Self::RefreshTokenExpired,
        Self::SessionRevoked,
        Self::WrongPassword,
        Self::PasswordChangeRequired,
        Self::Forbidden,
        Self::RoleAboveOwn,
        Self::OutsideScope,
        Self::PasswordTooShort,
        Self::PasswordTooLong,
        Self::InvalidUsername,
        Self::UsernameTaken,
        Self::InvalidName,
        Self::InvalidCode,
        Self::InvalidParent,
        Self::RoleDoesNotFitUnit,
        Self::IdTaken,
        Self::OrgUnitHasChildren,
        Self::OrgUnitHasUsers,
        Self::NoCampaign,
        Self::BaselineTaken,
        Self::BaselineNotTaken,
        Self::InvalidCursor,
        Self::TooManyMutations,
        Self::ResyncRequired,
        Self::BlobHashMismatch,
        Self::UnsupportedBlobType,
        Self::BlobTooLarge,
        Self::UploadOffsetMismatch,
        Self::InvalidContentRange,
        Self::BlobMissing,
        Self::BlobQuotaExceeded,
        Self::UserBlobQuotaExceeded,
        Self::TooManyUnfinishedUploads,
        Self::TooManyTransfers,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidPath => "invalid_path",
            Self::InvalidQuery => "invalid_query",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::InvalidCredentials => "invalid_credentials",
            Self::LoginThrottled => "login_throttled",
            Self::TooManySignIns => "too_many_sign_ins",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::RefreshTokenExpired => "refresh_token_expired",
            Self::SessionRevoked => "session_revoked",
            Self::WrongPassword => "wrong_password",
            Self::PasswordChangeRequired => "password_change_required",
            Self::Forbidden => "forbidden",
            Self::RoleAboveOwn => "role_above_own",
            Self::OutsideScope => "outside_scope",
            Self::PasswordTooShort => "password_too_short",
            Self::PasswordTooLong => "password_too_long",
            Self::InvalidUsername => "invalid_username",
            Self::UsernameTaken => "username_taken",
            Self::InvalidName => "invalid_name",
            Self::InvalidCode => "invalid_code",
            Self::InvalidParent => "invalid_parent",
            Self::RoleDoesNotFitUnit => "role_does_not_fit_unit",
            Self::IdTaken => "id_taken",
            Self::OrgUnitHasChildren => "org_unit_has_children",
            Self::OrgUnitHasUsers => "org_unit_has_users",
            Self::InvalidCursor => "invalid_cursor",
            Self::TooManyMutations => "too_many_mutations",
            Self::ResyncRequired => "resync_required",
            Self::BlobHashMismatch => "blob_hash_mismatch",
            Self::UnsupportedBlobType => "unsupported_blob_type",
            Self::BlobTooLarge => "blob_too_large",
            Self::UploadOffsetMismatch => "upload_offset_mismatch",
            Self::InvalidContentRange => "invalid_content_range",
            Self::BlobMissing => "blob_missing",
            Self::BlobQuotaExceeded => "blob_quota_exceeded",
            Self::UserBlobQuotaExceeded => "user_blob_quota_exceeded",
            Self::TooManyUnfinishedUploads => "too_many_unfinished_uploads",
            Self::TooManyTransfers => "too_many_transfers",
            Self::NoCampaign => "no_campaign",
            Self::BaselineTaken => "baseline_taken",
            Self::BaselineNotTaken => "baseline_not_taken",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The default Chinese message; a specific error may say more.
    pub fn message_zh(self) -> &'static str {
        match self {
            Self::MalformedJson => "请求内容无法解析",
            Self::InvalidBody => "请求内容的字段缺失或类型不正确",
            Self::UnsupportedMediaType => "请求内容的格式不受支持",
            Self::PayloadTooLarge => "请求内容过大",
            Self::InvalidPath => "请求路径中的参数无效",
            Self::InvalidQuery => "查询参数无效",
            Self::NotFound => "请求的资源不存在",
            Self::MethodNotAllowed => "不支持该请求方法",
            Self::RequestTimeout => "请求超时",
            Self::Unauthenticated => "请先登录",
            Self::InvalidToken => "登录凭证无效，请重新登录",
            Self::TokenExpired => "登录凭证已过期，请刷新或重新登录",
            Self::InvalidCredentials => "用户名或密码错误",
            Self::LoginThrottled => "登录失败次数过多，请稍后再试",
            Self::TooManySignIns => "登录的人太多，请稍后再试",
            Self::InvalidRefreshToken => "刷新凭证无效，请重新登录",
            Self::RefreshTokenReused => {
                "刷新凭证已被使用，为安全起见已注销该设备的登录，请重新登录"
            }
            Self::RefreshTokenExpired => "刷新凭证已过期，请重新登录",
            Self::SessionRevoked => {
                "登录已失效（账号已停用、权限已变更或登录已被撤销），请刷新凭证或重新登录"
            }
            Self::WrongPassword => "原密码不正确",
            Self::PasswordChangeRequired => "首次登录须先修改密码，修改后才能继续使用",
            Self::Forbidden => "没有权限执行此操作",
            Self::RoleAboveOwn => "不能创建权限高于自己的用户",
            Self::OutsideScope => "该组织不在您的管辖范围内",
            Self::PasswordTooShort => "密码太短",
            Self::PasswordTooLong => "密码太长",
            Self::InvalidUsername => "用户名格式不正确",
            Self::UsernameTaken => "用户名已被使用",
            Self::InvalidName => "名称不能为空，且不能超过规定长度",
            Self::InvalidCode => "组织编码格式不正确",
            Self::InvalidParent => "上级组织不正确",
            Self::RoleDoesNotFitUnit => "该角色不能设在此类组织",
            Self::IdTaken => "该标识已被使用",
            Self::OrgUnitHasChildren => "该组织下还有下级组织，不能删除",
            Self::OrgUnitHasUsers => "该组织下还有用户或数据，不能删除",
            Self::InvalidCursor => "同步游标无效，请从头同步",
            Self::TooManyMutations => "一次提交的变更过多",
            Self::ResyncRequired => "本设备的数据过旧，无法增量同步，请清空本地数据后重新同步",
            Self::BlobHashMismatch => "文件内容与其哈希不符，请重新上传",
            Self::UnsupportedBlobType => "只接受 JPEG、PNG 图片或 PDF 文件",
            Self::BlobTooLarge => "文件过大",
            Self::UploadOffsetMismatch => "续传位置不对，请从服务器已收到的位置继续上传",
            Self::InvalidContentRange => "Content-Range 请求头无效",
            Self::BlobMissing => "该文件尚未上传",
            Self::BlobQuotaExceeded => "本单位的文件存储空间已满，请联系管理员",
            Self::UserBlobQuotaExceeded => {
                "您上传但尚未被任何记录使用的文件已达上限，请先同步使用这些文件的记录"
            }
            Self::TooManyUnfinishedUploads => {
                "未完成的分块上传过多，请先完成已开始的上传再上传新文件"
            }
            Self::TooManyTransfers => "服务器正忙于传输其他文件，请稍后再试",
            Self::NoCampaign => "尚未建立排查工作（排查开始日期）",
            Self::BaselineTaken => {
                "排查底数已经确定，不能重复确定；个别党员的底数有误请组织办逐人更正"
            }
            Self::BaselineNotTaken => "排查底数尚未确定",
            Self::InternalError => "服务器内部错误，请稍后再试",
            Self::ServiceUnavailable => "服务暂时不可用，请稍后再试",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable snake_case code; see `ErrorCode`.
    pub code: String,
    /// Chinese text for the person using the app.
    pub message: String,
    /// The path of the offending field, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again (with `login_throttled`); also in `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>, field: Option<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.as_str().to_owned(),
                message: message.into(),
                field,
                retry_after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert_eq!(ErrorCode::parse(s), Some(code));
            assert!(!code.message_zh().is_empty());
        }
    }

    #[test]
    fn body_has_the_fixed_shape() {
        let body = ErrorBody::new(ErrorCode::InvalidBody, "缺少字段", Some("password".into()));
        let json = serde_json::to_value(&body).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_body", "message": "缺少字段", "field": "password"}})
        );
        let bare = ErrorBody::new(ErrorCode::NotFound, "无", None);
        let json = serde_json::to_value(&bare).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "无"}})
        );
    }
}
