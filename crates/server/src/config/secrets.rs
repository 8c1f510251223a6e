//! Secrets: the refusal of placeholders and low-entropy JWT secrets, and the JWT secret kept in
//! the data dir when none is given.

use std::path::Path;

use super::{ConfigError, JWT_SECRET_FILE, MIN_JWT_SECRET_BYTES, Secret};

/// Words of the samples' and tutorials' stand-ins for a secret. A secret holding one (compared
/// in lower case, without `-`, `_`, `.` and spaces) is a placeholder nobody replaced.
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "changethis",
    "replaceme",
    "placeholder",
    "example",
    "yoursecret",
    "secretsecret",
    "randombytes",
];

/// Fewest different bytes a JWT secret must hold (a random hex secret of 32 characters holds
/// about 14).
pub const MIN_JWT_SECRET_DISTINCT_BYTES: usize = 10;
/// Least Shannon entropy of a JWT secret's bytes, in bits per byte (random hex has about 3.7,
/// random base64 about 5.5; `aaaa…b` or `abab…` far less).
pub const MIN_JWT_SECRET_BITS_PER_BYTE: f64 = 3.0;

/// Whether `value` holds one of the [`PLACEHOLDER_WORDS`].
pub fn is_placeholder(value: &[u8]) -> bool {
    let plain: String = String::from_utf8_lossy(value)
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    PLACEHOLDER_WORDS.iter().any(|w| plain.contains(w))
}

/// The rule for a JWT secret (README.md, "Configuration"): at least [`MIN_JWT_SECRET_BYTES`]
/// bytes; no placeholder word ([`is_placeholder`]); not one piece repeated (`abcabc…`); at
/// least [`MIN_JWT_SECRET_DISTINCT_BYTES`] different bytes; and at least
/// [`MIN_JWT_SECRET_BITS_PER_BYTE`] bits of Shannon entropy per byte. A secret of
/// `openssl rand -base64 48` or `-hex 32`, or the generated one, passes; what a person types does
/// not. Returns why it is refused, in Chinese, to follow the setting's name.
pub fn check_jwt_secret(secret: &[u8]) -> Result<(), String> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(format!(
            "至少需要 {MIN_JWT_SECRET_BYTES} 个字节，实际为 {} 个字节",
            secret.len()
        ));
    }
    if is_placeholder(secret) {
        return Err("仍是示例中的占位值".to_owned());
    }
    let repeated = (1..=secret.len() / 2).any(|period| {
        secret.len().is_multiple_of(period) && secret.chunks(period).all(|c| c == &secret[..period])
    });
    if repeated {
        return Err("是同一段内容的重复".to_owned());
    }
    let mut counts = [0usize; 256];
    for b in secret {
        counts[usize::from(*b)] += 1;
    }
    let distinct = counts.iter().filter(|n| **n > 0).count();
    if distinct < MIN_JWT_SECRET_DISTINCT_BYTES {
        return Err(format!(
            "只含 {distinct} 种不同的字符（至少需要 {MIN_JWT_SECRET_DISTINCT_BYTES} 种）"
        ));
    }
    let len = secret.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|n| **n > 0)
        .map(|n| {
            let p = *n as f64 / len;
            -p * p.log2()
        })
        .sum();
    if bits < MIN_JWT_SECRET_BITS_PER_BYTE {
        return Err(format!(
            "过于简单（每个字节的熵为 {bits:.1} 位，至少需要 {MIN_JWT_SECRET_BITS_PER_BYTE:.1} 位）"
        ));
    }
    Ok(())
}

/// Reads the JWT secret kept in the data dir, or generates and keeps one (mode 0600).
pub(super) fn load_or_generate_secret(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join(JWT_SECRET_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return match check_jwt_secret(&bytes) {
                Ok(()) => Ok(Secret::new(bytes)),
                Err(why) => Err(ConfigError(format!(
                    "{} 中的密钥{why}，请删除该文件（将重新生成）或设置 PAICHA_JWT_SECRET",
                    path.display()
                ))),
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ConfigError(format!("无法读取 {}：{e}", path.display())));
        }
    }
    let mut raw = [0u8; 48];
    getrandom::fill(&mut raw).map_err(|e| ConfigError(format!("无法生成随机密钥：{e}")))?;
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    // 384 random bits pass the rule but for a one-in-many-billions draw; draw again then.
    if check_jwt_secret(secret.as_bytes()).is_err() {
        return load_or_generate_secret(data_dir);
    }
    write_private(&path, secret.as_bytes())
        .map_err(|e| ConfigError(format!("无法写入 {}：{e}", path.display())))?;
    Ok(Secret::new(secret.into_bytes()))
}

pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
