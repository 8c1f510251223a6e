//! Accounts: the rules for usernames and passwords.

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in bytes (argon2 hashes anything, but a megabyte "password" is
/// only a way to burn CPU).
pub const MAX_PASSWORD_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
}

impl PasswordError {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
        }
    }

    pub fn message_zh(self) -> String {
        match self {
            Self::TooShort => format!("密码至少需要{MIN_PASSWORD_CHARS}个字符"),
            Self::TooLong => format!("密码不能超过{MAX_PASSWORD_BYTES}个字节"),
        }
    }
}

/// A new password must have at least [`MIN_PASSWORD_CHARS`] characters and at most
/// [`MAX_PASSWORD_BYTES`] bytes. Only new passwords are checked; a login with a wrong-length
/// password is simply a failed login.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Usernames are 3–64 characters of ASCII letters, digits and `_ . - @`, compared without
/// regard to case: they are stored lower-cased, so `Zhang.San` and `zhang.san` are one account.
/// Returns the normalized username, or `None` when the input is not a valid username.
pub fn normalize_username(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok_len = (3..=64).contains(&name.len());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'));
    (ok_len && ok_chars).then(|| name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_table() {
        let table: &[(&str, Result<(), PasswordError>)] = &[
            ("", Err(PasswordError::TooShort)),
            ("123456789", Err(PasswordError::TooShort)),
            ("1234567890", Ok(())),
            ("密码密码密码密码密码", Ok(())),
            ("密码密码密码密码密", Err(PasswordError::TooShort)),
        ];
        for (pw, expected) in table {
            assert_eq!(check_new_password(pw), *expected, "{pw:?}");
        }
        assert_eq!(
            check_new_password(&"a".repeat(257)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(check_new_password(&"a".repeat(256)), Ok(()));
    }

    #[test]
    fn username_table() {
        let table: &[(&str, Option<&str>)] = &[
            ("admin", Some("admin")),
            ("  Zhang.San ", Some("zhang.san")),
            ("ab", None),
            ("a b c", None),
            ("张三", None),
            ("branch-01@jd", Some("branch-01@jd")),
            ("", None),
        ];
        for (raw, expected) in table {
            assert_eq!(normalize_username(raw).as_deref(), *expected, "{raw:?}");
        }
        assert_eq!(normalize_username(&"a".repeat(65)), None);
    }
}
