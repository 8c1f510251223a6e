//! The command line: `paicha serve`, `import`, `backup`, `restore`, `audit`, each flag with its
//! `PAICHA_*` variable (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// paicha: 党员组织关系集中排查 sync server.
#[derive(Debug, Parser)]
#[command(name = "paicha", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (SQLite under ./data unless PAICHA_DATABASE_URL says otherwise).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Take a consistent backup of a SQLite database while the server runs, with its blobs
    /// (copied beside it from the data dir, or listed when they are in object storage).
    Backup(BackupArgs),
    /// Restore a backup into an empty data dir, and check it (audit chains, blobs).
    Restore(RestoreArgs),
    /// Import a spreadsheet straight into the database, as a given user, with a progress bar.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A branch's 花名册 (.xlsx or .csv with Chinese headers); idempotent by 公民身份号码.
    Roster(ImportRosterArgs),
    /// A street's 转出明细, each row addressed to the branch it names.
    Transfers(ImportTransfersArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportRosterArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The .xlsx or .csv file.
    pub file: PathBuf,
    /// The branch: its id, code or name.
    #[arg(long)]
    pub branch: String,
    /// The user the import is made as (a branch secretary or group member of that branch or
    /// above it); the audit trail names them.
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
}

#[derive(Debug, Clone, Args)]
pub struct ImportTransfersArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The .xlsx or .csv file.
    pub file: PathBuf,
    /// The street (or the committee) the list is from: its id, code or name.
    #[arg(long)]
    pub unit: String,
    /// The list's name (转出批次).
    #[arg(long = "list")]
    pub list_name: String,
    /// The user the import is made as (street staff or a committee admin).
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Where blob content is kept (as for `paicha serve`): empty for the data dir.
    #[arg(long, env = "PAICHA_BLOB_STORE", default_value = "")]
    pub blob_store: String,
    /// The backup file to write (must not exist). Beside it: FILE.blobs.txt (every blob's
    /// SHA-256 and size) and, for blobs in the data dir, FILE.blobs/ (their content).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A file written by `paicha backup`.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every tenant's hash chain and check every signed report against it; exit 1
    /// if any is broken.
    Verify(DatabaseArgs),
    /// Print each tenant's current audit chain head (version and hash), to record outside the
    /// database.
    Head(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://path/to/file.db or postgres://user@host/db. Default: SQLite in the
    /// data dir.
    #[arg(long, env = "PAICHA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the SQLite database, the generated JWT secret and blobs.
    #[arg(long, env = "PAICHA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "PAICHA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Secret for signing access tokens (at least 32 bytes). Default: generated once and kept
    /// in the data dir. Every instance behind one load balancer needs the same secret.
    #[arg(long, env = "PAICHA_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// user:password of a system_admin to create when the database has no users yet.
    #[arg(long, env = "PAICHA_BOOTSTRAP_ADMIN", hide_env_values = true)]
    pub bootstrap_admin: Option<String>,
    /// Largest accepted blob (photo, signature, scan), in bytes.
    #[arg(long, env = "PAICHA_MAX_BLOB_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_blob_bytes: u64,
    /// Blob bytes one tenant may store (its recorded blobs plus its unfinished uploads).
    #[arg(long, env = "PAICHA_BLOB_QUOTA_BYTES", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub blob_quota_bytes: u64,
    /// Blob bytes one user may hold that no record names yet: the blobs it uploaded that no
    /// live record names, plus the announced size of its unfinished uploads.
    #[arg(long, env = "PAICHA_USER_BLOB_QUOTA_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub user_blob_quota_bytes: u64,
    /// Chunked uploads one user may have started and not finished; one device, half as many
    /// (at least one).
    #[arg(long, env = "PAICHA_MAX_UNFINISHED_UPLOADS", default_value_t = 16)]
    pub max_unfinished_uploads: u64,
    /// Blob uploads and downloads in progress at once on this instance; more wait a moment,
    /// then get 503 too_many_transfers.
    #[arg(long, env = "PAICHA_MAX_BLOB_TRANSFERS", default_value_t = 16)]
    pub max_blob_transfers: usize,
    /// Where blob content is kept: empty for the data dir (`blobs/`), or an S3-compatible
    /// object store as `s3://bucket/prefix`, reached with the usual `AWS_*` variables
    /// (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`, …). Every instance behind one load balancer needs the same.
    #[arg(long, env = "PAICHA_BLOB_STORE", default_value = "")]
    pub blob_store: String,
    /// Days a tenant's blob may stay unreferenced by any live record before it is deleted.
    #[arg(long, env = "PAICHA_BLOB_GC_DAYS", default_value_t = 7)]
    pub blob_gc_days: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PAICHA_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How many spreadsheet imports may parse a file at once; more wait their turn.
    #[arg(long, env = "PAICHA_IMPORT_CONCURRENCY", default_value_t = 2)]
    pub import_concurrency: usize,
    /// Longest time a deletion (tombstone) is kept for devices to catch up, in days. Devices
    /// that have not pulled for longer must resync from the start.
    #[arg(long, env = "PAICHA_TOMBSTONE_MAX_DAYS", default_value_t = 90)]
    pub tombstone_max_days: u64,
    /// Reverse proxies whose client-address header is believed: comma-separated addresses or
    /// CIDR blocks (e.g. `127.0.0.1,10.0.0.0/8`). A request from one of them is attributed to
    /// the address in `X-Forwarded-For` (the right-most entry not itself a trusted proxy) or
    /// `X-Real-IP`; every other request to its socket's peer address. Default: none.
    #[arg(long, env = "PAICHA_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// How long a refresh token just rotated away may be presented again and get the same
    /// successor back (a response lost on a field network), in seconds; 0 turns this off.
    #[arg(long, env = "PAICHA_REFRESH_GRACE_SECS", default_value_t = 30)]
    pub refresh_grace_secs: u64,
    /// Bearer token `/metrics` requires (`Authorization: Bearer <token>`), at least 32
    /// characters. Default: none; then `/metrics` answers only where `PAICHA_METRICS_LISTEN`
    /// serves it, or, without that, only to this machine (a loopback peer not forwarded by a
    /// proxy).
    #[arg(long, env = "PAICHA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` alone (e.g. `10.0.0.5:9090`, reached by the
    /// Prometheus network only); with it, the main address answers `/metrics` with 404.
    #[arg(long, env = "PAICHA_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Log format.
    #[arg(long, env = "PAICHA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
