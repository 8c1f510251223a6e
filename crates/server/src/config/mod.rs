//! Configuration: command-line flags with `PAICHA_*` environment variables (README.md "Run it",
//! "Configuration"), resolved once at start-up into [`Settings`]. Nothing below `main` reads the
//! environment. A mistake stops start-up with one clear line ([`ConfigError`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use paicha_auth::throttle::ThrottlePolicy;
use paicha_domain::account::{check_new_password, normalize_username};
use paicha_storage::Engine;

mod cli;
mod secrets;

pub use cli::*;
pub use secrets::*;

/// A configuration mistake, said in one line.
#[derive(Debug, thiserror::Error)]
#[error("配置错误：{0}")]
pub struct ConfigError(pub String);

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone)]
pub struct BootstrapAdmin {
    pub username: String,
    pub password: Secret,
}

impl std::fmt::Debug for BootstrapAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapAdmin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Everything the server needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub jwt_secret: Secret,
    pub bootstrap_admin: Option<BootstrapAdmin>,
    pub max_body_bytes: usize,
    pub max_blob_bytes: u64,
    /// Blob bytes one tenant may store.
    pub blob_quota_bytes: u64,
    /// Blob bytes one user may hold that no record names yet.
    pub user_blob_quota_bytes: u64,
    /// Unfinished chunked uploads per user (per device: half, at least one).
    pub max_unfinished_uploads: u64,
    /// Blob transfers in progress at once.
    pub max_blob_transfers: usize,
    /// How long a tenant's blob stays unreferenced before the housekeeping deletes it.
    pub blob_gc_grace: Duration,
    /// Blob content in object storage; `None`: files in the data dir.
    pub blob_store: Option<paicha_storage::ObjectStoreSettings>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A sign-in's refresh tokens stop working this long after the sign-in, however often
    /// they were rotated.
    pub refresh_family_max_age: Duration,
    /// Failed logins of one username from one source address: slowed, then refused.
    pub login_throttle: ThrottlePolicy,
    /// Failed logins from one source address, whatever the username: slowed, then refused.
    pub source_throttle: ThrottlePolicy,
    /// Failed logins of one username from anywhere: only slowed, by a bounded delay.
    pub user_throttle: ThrottlePolicy,
    /// Proxies whose `X-Forwarded-For` / `X-Real-IP` names the client.
    pub trusted_proxies: Vec<IpBlock>,
    /// How long a rotated refresh token may be presented again for the same successor.
    pub refresh_grace: Duration,
    /// Upper bound on how long tombstones are kept (the horizon otherwise follows the slowest
    /// active device).
    pub tombstone_max_age: Duration,
    /// Longest time a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// How many spreadsheet imports parse at once.
    pub import_concurrency: usize,
    /// The bearer token `/metrics` requires; `None`: see `metrics_listen`.
    pub metrics_token: Option<Secret>,
    /// Where `/metrics` is served alone; `None`: on `listen`, to this machine only unless
    /// `metrics_token` is set.
    pub metrics_listen: Option<SocketAddr>,
    /// The fewest records a tenant's status read model holds for it to be kept on disk
    /// (crate::facts): below, loading it from the records is as quick. Not a flag: tests lower it.
    pub status_checkpoint_records: usize,
}

/// Shortest accepted metrics token, in bytes.
pub const MIN_METRICS_TOKEN_BYTES: usize = 32;

/// Shortest accepted JWT secret, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
const JWT_SECRET_FILE: &str = "jwt-secret";

impl Settings {
    /// Settings with the defaults of README.md "Configuration" for a database and a data dir; tests start here.
    pub fn new(database_url: String, data_dir: PathBuf, jwt_secret: Secret) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url,
            data_dir,
            jwt_secret,
            bootstrap_admin: None,
            max_body_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 20 * 1024 * 1024,
            blob_quota_bytes: 10 * 1024 * 1024 * 1024,
            user_blob_quota_bytes: 512 * 1024 * 1024,
            max_unfinished_uploads: 16,
            max_blob_transfers: 16,
            blob_gc_grace: Duration::from_secs(7 * 24 * 3600),
            blob_store: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_family_max_age: Duration::from_secs(90 * 24 * 3600),
            login_throttle: ThrottlePolicy::default(),
            source_throttle: ThrottlePolicy::per_source(),
            user_throttle: ThrottlePolicy::slow_only(),
            trusted_proxies: vec![],
            refresh_grace: Duration::from_secs(30),
            tombstone_max_age: paicha_sync::horizon::DEFAULT_MAX_AGE,
            // Above the longest long-poll (60 s).
            request_timeout: Duration::from_secs(90),
            import_concurrency: 2,
            metrics_token: None,
            metrics_listen: None,
            status_checkpoint_records: crate::facts::CHECKPOINT_RECORDS,
        }
    }

    /// Resolves `paicha serve`'s flags: parses the listen address, picks the database, creates
    /// the data dir, reads or generates the JWT secret, checks the bootstrap admin.
    pub fn from_serve_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let listen: SocketAddr = args.listen.parse().map_err(|_| {
            ConfigError(format!(
                "PAICHA_LISTEN 应为 主机:端口（例如 127.0.0.1:8080），实际为 {:?}",
                args.listen
            ))
        })?;
        let (database_url, data_dir) = resolve_database(&args.database)?;
        let jwt_secret = match &args.jwt_secret {
            Some(s) => {
                check_jwt_secret(s.as_bytes()).map_err(|why| {
                    ConfigError(format!("PAICHA_JWT_SECRET {why}，请换成随机生成的密钥（例如 openssl rand -base64 48）"))
                })?;
                Secret::new(s.as_bytes())
            }
            None => load_or_generate_secret(&data_dir)?,
        };
        let bootstrap_admin = args
            .bootstrap_admin
            .as_deref()
            .map(parse_bootstrap_admin)
            .transpose()?;
        if args.max_body_bytes < 1024 {
            return Err(ConfigError(
                "PAICHA_MAX_BODY_BYTES 不能小于 1024".to_owned(),
            ));
        }
        let mut settings = Self::new(database_url, data_dir, jwt_secret);
        settings.listen = listen;
        settings.bootstrap_admin = bootstrap_admin;
        settings.max_body_bytes = args.max_body_bytes;
        settings.max_blob_bytes = args.max_blob_bytes;
        settings.blob_quota_bytes = args.blob_quota_bytes;
        settings.user_blob_quota_bytes = args.user_blob_quota_bytes;
        if args.max_unfinished_uploads == 0 {
            return Err(ConfigError(
                "PAICHA_MAX_UNFINISHED_UPLOADS 至少为 1".to_owned(),
            ));
        }
        settings.max_unfinished_uploads = args.max_unfinished_uploads;
        if args.max_blob_transfers == 0 {
            return Err(ConfigError("PAICHA_MAX_BLOB_TRANSFERS 至少为 1".to_owned()));
        }
        settings.max_blob_transfers = args.max_blob_transfers;
        if args.blob_gc_days == 0 {
            return Err(ConfigError("PAICHA_BLOB_GC_DAYS 至少为 1".to_owned()));
        }
        settings.blob_gc_grace = Duration::from_secs(args.blob_gc_days.saturating_mul(24 * 3600));
        settings.blob_store = object_store_settings(&args.blob_store, std::env::vars())?;
        if args.import_concurrency == 0 {
            return Err(ConfigError("PAICHA_IMPORT_CONCURRENCY 至少为 1".to_owned()));
        }
        settings.import_concurrency = args.import_concurrency;
        if args.tombstone_max_days == 0 {
            return Err(ConfigError("PAICHA_TOMBSTONE_MAX_DAYS 至少为 1".to_owned()));
        }
        settings.tombstone_max_age =
            Duration::from_secs(args.tombstone_max_days.saturating_mul(24 * 3600));
        settings.trusted_proxies = parse_trusted_proxies(&args.trusted_proxies)?;
        if args.refresh_grace_secs > 300 {
            return Err(ConfigError(
                "PAICHA_REFRESH_GRACE_SECS 不能大于 300".to_owned(),
            ));
        }
        settings.refresh_grace = Duration::from_secs(args.refresh_grace_secs);
        if let Some(token) = args.metrics_token.as_deref().filter(|t| !t.is_empty()) {
            if token.len() < MIN_METRICS_TOKEN_BYTES || is_placeholder(token.as_bytes()) {
                return Err(ConfigError(format!(
                    "PAICHA_METRICS_TOKEN 应为至少 {MIN_METRICS_TOKEN_BYTES} 个字符的随机值（例如 openssl rand -hex 32），不能是示例中的占位值"
                )));
            }
            settings.metrics_token = Some(Secret::new(token.as_bytes()));
        }
        if let Some(raw) = args.metrics_listen.as_deref().filter(|t| !t.is_empty()) {
            let addr: SocketAddr = raw.parse().map_err(|_| {
                ConfigError(format!(
                    "PAICHA_METRICS_LISTEN 应为 主机:端口（例如 127.0.0.1:9090），实际为 {raw:?}"
                ))
            })?;
            if addr == settings.listen && addr.port() != 0 {
                return Err(ConfigError(
                    "PAICHA_METRICS_LISTEN 不能与 PAICHA_LISTEN 相同".to_owned(),
                ));
            }
            settings.metrics_listen = Some(addr);
        }
        Ok(settings)
    }
}

/// An address block: an address and a prefix length (32 or 128 for a single address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpBlock {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
            let keep = u32::from(prefix).min(width);
            if keep == 0 { 0 } else { bits >> (width - keep) }
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                masked(u128::from(u32::from(a)), 32, self.prefix)
                    == masked(u128::from(u32::from(b)), 32, self.prefix)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                masked(u128::from(a), 128, self.prefix) == masked(u128::from(b), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// `PAICHA_BLOB_STORE` with the object store's options taken from the `AWS_*` variables of
/// `env` (the names object_store knows, e.g. `AWS_ENDPOINT` → `aws_endpoint`). Empty: `None`.
pub fn object_store_settings(
    url: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Option<paicha_storage::ObjectStoreSettings>, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let options = env
        .filter(|(key, _)| key.starts_with("AWS_"))
        .map(|(key, value)| (key.to_ascii_lowercase(), value))
        .filter(|(key, _)| key.parse::<paicha_storage::ObjectStoreConfigKey>().is_ok())
        .collect();
    let settings = paicha_storage::ObjectStoreSettings {
        url: url.to_owned(),
        options,
    };
    settings
        .build()
        .map_err(|e| ConfigError(format!("PAICHA_BLOB_STORE 无法使用：{e}")))?;
    Ok(Some(settings))
}

/// `PAICHA_TRUSTED_PROXIES`: comma-separated addresses or CIDR blocks; empty means none.
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpBlock>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let bad = || {
                ConfigError(format!(
                    "PAICHA_TRUSTED_PROXIES 应为以逗号分隔的地址或网段（例如 127.0.0.1,10.0.0.0/8），无法识别 {item:?}"
                ))
            };
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let width = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= width).ok_or_else(bad)?,
                None => width,
            };
            Ok(IpBlock { addr, prefix })
        })
        .collect()
}

/// The database URL to use and the data dir (created if missing).
pub fn resolve_database(args: &DatabaseArgs) -> Result<(String, PathBuf), ConfigError> {
    let data_dir = args.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|e| {
        ConfigError(format!(
            "无法创建数据目录 PAICHA_DATA_DIR={}：{e}",
            data_dir.display()
        ))
    })?;
    let url = match &args.database_url {
        Some(url) => {
            if Engine::of_url(url).is_none() {
                return Err(ConfigError(format!(
                    "PAICHA_DATABASE_URL 应以 sqlite:// 或 postgres:// 开头，实际为 {}",
                    redact_url(url)
                )));
            }
            if url_password(url).is_some_and(|p| is_placeholder(p.as_bytes())) {
                return Err(ConfigError(format!(
                    "PAICHA_DATABASE_URL 的密码仍是示例中的占位值，请换成数据库的真实密码：{}",
                    redact_url(url)
                )));
            }
            url.clone()
        }
        None => sqlite_url(&data_dir.join("paicha.db")),
    };
    Ok((url, data_dir))
}

/// The password in a URL's user info, if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, password)| password)
}

/// The URL of a SQLite file, created if missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A database URL with its password replaced, for logs and start-up lines.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The last '@' ends the user info: a password may contain '@' itself.
    let redacted = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    };
    // A password given as a query parameter (`?password=…`).
    match redacted.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => redacted,
    }
}

fn parse_bootstrap_admin(raw: &str) -> Result<BootstrapAdmin, ConfigError> {
    let Some((user, password)) = raw.split_once(':') else {
        return Err(ConfigError(
            "PAICHA_BOOTSTRAP_ADMIN 应为 用户名:密码".to_owned(),
        ));
    };
    let username = normalize_username(user).ok_or_else(|| {
        ConfigError("PAICHA_BOOTSTRAP_ADMIN 的用户名应为3至64个字母、数字或 _.-@".to_owned())
    })?;
    check_new_password(password)
        .map_err(|e| ConfigError(format!("PAICHA_BOOTSTRAP_ADMIN 的{}", e.message_zh())))?;
    Ok(BootstrapAdmin {
        username,
        password: Secret::new(password.as_bytes()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn serve_args(dir: &Path) -> ServeArgs {
        ServeArgs {
            database: DatabaseArgs {
                database_url: None,
                data_dir: dir.to_path_buf(),
            },
            listen: "127.0.0.1:0".into(),
            jwt_secret: None,
            bootstrap_admin: None,
            max_body_bytes: 4096,
            max_blob_bytes: 1 << 20,
            blob_quota_bytes: 1 << 30,
            user_blob_quota_bytes: 1 << 29,
            max_unfinished_uploads: 16,
            max_blob_transfers: 16,
            blob_gc_days: 7,
            blob_store: String::new(),
            tombstone_max_days: 90,
            trusted_proxies: String::new(),
            refresh_grace_secs: 30,
            import_concurrency: 2,
            metrics_token: None,
            metrics_listen: None,
            log_format: LogFormat::Text,
        }
    }

    #[test]
    fn the_metrics_token_and_listen_address_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = serve_args(dir.path());
        let settings = Settings::from_serve_args(&args).unwrap();
        assert!(settings.metrics_token.is_none() && settings.metrics_listen.is_none());
        for bad in ["short", "CHANGE-ME-TO-A-LONG-RANDOM-METRICS-TOKEN-PLEASE"] {
            args.metrics_token = Some(bad.into());
            let err = Settings::from_serve_args(&args).unwrap_err().to_string();
            assert!(err.contains("PAICHA_METRICS_TOKEN"), "{bad}: {err}");
        }
        args.metrics_token = Some("9f2c4e1ab77d4c0e8a51d3b6f0e2c9a4b8d1e7f3".into());
        args.metrics_listen = Some("not an address".into());
        let err = Settings::from_serve_args(&args).unwrap_err().to_string();
        assert!(err.contains("PAICHA_METRICS_LISTEN"), "{err}");
        args.metrics_listen = Some("127.0.0.1:9090".into());
        let settings = Settings::from_serve_args(&args).unwrap();
        assert_eq!(
            settings.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        assert!(settings.metrics_token.is_some());
    }

    #[test]
    fn the_object_store_takes_the_aws_variables_it_knows() {
        let env = [
            ("AWS_ENDPOINT", "http://127.0.0.1:9000"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_NOT_AN_OPTION_OF_OURS", "x"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let settings = object_store_settings("s3://photos/paicha", env.into_iter())
            .unwrap()
            .unwrap();
        let mut keys: Vec<&str> = settings.options.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["aws_allow_http", "aws_endpoint", "aws_region"]);
        assert!(
            object_store_settings("  ", std::iter::empty())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn jwt_secrets_of_samples_and_people_are_refused() {
        let refused: &[&str] = &[
            // deploy/k8s/paicha.yaml's placeholder.
            "CHANGE-ME-TO-AT-LEAST-32-RANDOM-BYTES",
            "change-this-secret-to-something-random",
            "please-replace_me-with-32-random-bytes-x",
            "my-super-secret-example-key-for-paicha-1",
            "secretsecretsecretsecretsecretsecret",
            "0123456789abcdef0123456789abcdef",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "abcabcabcabcabcabcabcabcabcabcabcabcabcd",
            "11111111112222222222333333333344",
            "short",
        ];
        for secret in refused {
            assert!(
                check_jwt_secret(secret.as_bytes()).is_err(),
                "{secret} was accepted"
            );
        }
        let accepted: &[&str] = &[
            // openssl rand -base64 48
            "q3V0Zr8Xb1mJkLw2Yp9sT4uH6nCeRfGaDi5oNxQy7vBzKtEhWcMjUlSgPdIbAo+/",
            // openssl rand -hex 32
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            // openssl rand -hex 16: 128 bits, the shortest allowed
            "5d41402abc4b2a76b9719d911017c592",
        ];
        for secret in accepted {
            assert_eq!(check_jwt_secret(secret.as_bytes()), Ok(()), "{secret}");
        }
        // The message names the setting and says why.
        let dir = tempfile::tempdir().unwrap();
        let err = Settings::from_serve_args(&ServeArgs {
            jwt_secret: Some("CHANGE-ME-TO-AT-LEAST-32-RANDOM-BYTES".into()),
            ..serve_args(dir.path())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("PAICHA_JWT_SECRET"), "{err}");
        assert!(err.contains("占位值"), "{err}");
        // So does a placeholder password in the database URL.
        let err = Settings::from_serve_args(&ServeArgs {
            database: DatabaseArgs {
                database_url: Some("postgres://paicha:CHANGE-ME@postgres:5432/paicha".into()),
                data_dir: dir.path().to_path_buf(),
            },
            ..serve_args(dir.path())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("PAICHA_DATABASE_URL"), "{err}");
        assert!(!err.contains("CHANGE-ME"), "{err}");
    }

    #[test]
    fn a_weak_kept_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JWT_SECRET_FILE), "a".repeat(40)).unwrap();
        let err = Settings::from_serve_args(&serve_args(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PAICHA_JWT_SECRET"), "{err}");
    }

    #[test]
    fn generated_secret_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Settings::from_serve_args(&serve_args(dir.path())).unwrap();
        let b = Settings::from_serve_args(&serve_args(dir.path())).unwrap();
        assert_eq!(a.jwt_secret.expose(), b.jwt_secret.expose());
        assert_eq!(check_jwt_secret(a.jwt_secret.expose()), Ok(()));
        assert!(a.database_url.starts_with("sqlite://"));
        assert!(a.database_url.ends_with("paicha.db?mode=rwc"));
    }

    #[test]
    fn mistakes_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    listen: "8080".into(),
                    ..serve_args(dir.path())
                },
                "PAICHA_LISTEN",
            ),
            (
                ServeArgs {
                    jwt_secret: Some("short".into()),
                    ..serve_args(dir.path())
                },
                "PAICHA_JWT_SECRET",
            ),
            (
                ServeArgs {
                    bootstrap_admin: Some("admin".into()),
                    ..serve_args(dir.path())
                },
                "PAICHA_BOOTSTRAP_ADMIN",
            ),
            (
                ServeArgs {
                    blob_store: "gs://bucket/photos".into(),
                    ..serve_args(dir.path())
                },
                "PAICHA_BLOB_STORE",
            ),
            (
                ServeArgs {
                    blob_store: "s3:///photos".into(),
                    ..serve_args(dir.path())
                },
                "PAICHA_BLOB_STORE",
            ),
            (
                ServeArgs {
                    bootstrap_admin: Some("admin:short".into()),
                    ..serve_args(dir.path())
                },
                "PAICHA_BOOTSTRAP_ADMIN",
            ),
            (
                ServeArgs {
                    database: DatabaseArgs {
                        database_url: Some("mysql://root:pw@localhost/x".into()),
                        data_dir: dir.path().to_path_buf(),
                    },
                    ..serve_args(dir.path())
                },
                "PAICHA_DATABASE_URL",
            ),
            (
                ServeArgs {
                    max_blob_transfers: 0,
                    ..serve_args(dir.path())
                },
                "PAICHA_MAX_BLOB_TRANSFERS",
            ),
            (
                ServeArgs {
                    blob_gc_days: 0,
                    ..serve_args(dir.path())
                },
                "PAICHA_BLOB_GC_DAYS",
            ),
        ];
        for (args, var) in cases {
            let err = Settings::from_serve_args(&args).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
            assert!(!err.contains('\n'), "{err}");
            assert!(!err.contains("pw@"), "password leaked: {err}");
        }
    }

    #[test]
    fn blob_settings_are_taken_from_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::from_serve_args(&ServeArgs {
            blob_quota_bytes: 12345,
            max_blob_transfers: 3,
            blob_gc_days: 2,
            ..serve_args(dir.path())
        })
        .unwrap();
        assert_eq!(s.blob_quota_bytes, 12345);
        assert_eq!(s.max_blob_transfers, 3);
        assert_eq!(s.blob_gc_grace, Duration::from_secs(2 * 24 * 3600));
    }

    #[test]
    fn trusted_proxies_are_addresses_and_blocks() {
        let blocks = parse_trusted_proxies(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8").unwrap();
        assert_eq!(blocks.len(), 3);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted = |s: &str| blocks.iter().any(|b| b.contains(ip(s)));
        assert!(trusted("127.0.0.1"));
        assert!(!trusted("127.0.0.2"));
        assert!(trusted("10.200.3.4"));
        assert!(trusted("::ffff:10.1.1.1"));
        assert!(!trusted("11.0.0.1"));
        assert!(trusted("fd12::1"));
        assert!(!trusted("fe80::1"));
        assert!(parse_trusted_proxies("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.1/x"] {
            let err = parse_trusted_proxies(bad).unwrap_err().to_string();
            assert!(err.contains("PAICHA_TRUSTED_PROXIES"), "{err}");
        }
        let all = parse_trusted_proxies("0.0.0.0/0").unwrap();
        assert!(all[0].contains(ip("203.0.113.9")));
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("sqlite://data/paicha.db"),
            "sqlite://data/paicha.db"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
    }
}
