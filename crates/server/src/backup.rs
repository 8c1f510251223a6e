//! `paicha backup FILE` and `paicha restore FILE` (README.md, "Backups").
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so pushes go on while it is taken
//! and the copy holds exactly the commits made before it began, with every audit chain whole.
//! Beside the file, `FILE.blobs.txt` lists every blob the copy knows (SHA-256 and size), and for
//! blobs kept in the data dir `FILE.blobs/` holds their content (hard links when on the same
//! file system: a blob's content never changes under its name). Blobs in object storage are
//! listed only: the bucket is backed up (or versioned) by its own means.
//!
//! PostgreSQL is backed up with `pg_dump` (and point-in-time recovery with WAL archiving);
//! `paicha backup` says so instead of doing half of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use paicha_storage::{BlobFiles, Engine, Store};

use crate::config::{BackupArgs, RestoreArgs, object_store_settings, resolve_database};

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The list of blobs beside a backup file.
pub fn blob_list_path(file: &Path) -> PathBuf {
    with_suffix(file, ".blobs.txt")
}

/// The folder of blob content beside a backup file.
pub fn blob_dir_path(file: &Path) -> PathBuf {
    with_suffix(file, ".blobs")
}

/// Links `from` to `to`, or copies it when a link is not possible; then syncs it.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)?;
    }
    std::fs::File::open(to)?.sync_all()
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let (url, data_dir) = resolve_database(&args.database)?;
    if Engine::of_url(&url) != Some(Engine::Sqlite) {
        anyhow::bail!(
            "paicha backup 只用于 SQLite；PostgreSQL 请用 pg_dump 备份（见 README 的 Backups 一节）"
        );
    }
    let file = &args.file;
    if file.exists() {
        anyhow::bail!("备份文件 {} 已存在", file.display());
    }
    let blob_dir = blob_dir_path(file);
    if blob_dir.exists() {
        anyhow::bail!("{} 已存在", blob_dir.display());
    }
    let objects = object_store_settings(&args.blob_store, std::env::vars())?;
    let store = Store::connect(&url).await.context("无法连接数据库")?;
    let started = std::time::Instant::now();
    store
        .backup_into(file)
        .await
        .with_context(|| format!("无法写入备份 {}", file.display()))?;
    std::fs::File::open(file)?.sync_all()?;

    // The blobs the copy knows, read from the copy itself.
    let copy = Store::connect(&crate::config::sqlite_url(file)).await?;
    let blobs = copy.all_blob_contents().await?;
    drop(copy);
    let mut list = String::new();
    for (sha256, size) in &blobs {
        list.push_str(&format!("{sha256} {size}\n"));
    }
    std::fs::write(blob_list_path(file), list)?;
    let mut missing = Vec::new();
    if objects.is_none() {
        let files = BlobFiles::new(&data_dir);
        for (sha256, _) in &blobs {
            let from = files.path(sha256);
            let to = blob_dir.join(&sha256[..2.min(sha256.len())]).join(sha256);
            match link_or_copy(&from, &to) {
                Ok(()) => {}
                // Collected since the copy was taken (unreferenced for the grace period).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(sha256),
                Err(e) => return Err(e).context(format!("无法复制文件 {sha256}")),
            }
        }
        std::fs::create_dir_all(&blob_dir)?;
    }
    println!(
        "paicha：已备份到 {}（{} 个文件{}，用时 {:.1} 秒）",
        file.display(),
        blobs.len(),
        if objects.is_some() {
            "，在对象存储中，仅列出"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
    for sha256 in &missing {
        println!("注意：文件 {sha256} 在备份期间已被清理，未包含在备份中");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    if args.database.database_url.is_some() {
        anyhow::bail!(
            "paicha restore 只恢复到数据目录中的 SQLite（不设 PAICHA_DATABASE_URL）；PostgreSQL 请用 pg_restore"
        );
    }
    let (url, data_dir) = resolve_database(&args.database)?;
    let target = data_dir.join("paicha.db");
    let blobs_dir = BlobFiles::new(&data_dir).root().to_path_buf();
    let occupied = target.exists()
        || std::fs::read_dir(&blobs_dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        anyhow::bail!(
            "数据目录 {} 不是空的（已有数据库或文件），只能恢复到空的数据目录",
            data_dir.display()
        );
    }
    let file = &args.file;
    if !file.is_file() {
        anyhow::bail!("找不到备份文件 {}", file.display());
    }
    std::fs::create_dir_all(&data_dir)?;
    std::fs::copy(file, &target)?;
    std::fs::File::open(&target)?.sync_all()?;

    // Blob content kept beside the backup goes back into the data dir.
    let files = BlobFiles::new(&data_dir);
    let listed: Vec<(String, u64)> = std::fs::read_to_string(blob_list_path(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (sha256, size) = line.split_once(' ')?;
            Some((sha256.to_owned(), size.parse().ok()?))
        })
        .collect();
    let source = blob_dir_path(file);
    let mut missing = 0usize;
    if source.is_dir() {
        for (sha256, size) in &listed {
            let from = source.join(&sha256[..2.min(sha256.len())]).join(sha256);
            match std::fs::metadata(&from) {
                Ok(meta) if meta.len() == *size => link_or_copy(&from, &files.path(sha256))?,
                _ => {
                    missing += 1;
                    println!("缺少文件 {sha256}");
                }
            }
        }
    }

    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let reports = paicha_sync::audit::verify_all(&store).await?;
    let broken = reports.iter().filter(|r| r.broken_at.is_some()).count();
    for r in reports.iter().filter(|r| r.broken_at.is_some()) {
        if let Some((version, reason)) = &r.broken_at {
            println!("{}：哈希链在版本 {version} 处断裂：{reason}", r.tenant_id);
        }
    }
    println!(
        "paicha：已恢复到 {}（{} 个租户的审计记录{}，{} 个文件{}）",
        data_dir.display(),
        reports.len(),
        if broken == 0 { "完整" } else { "有断裂" },
        listed.len(),
        if !source.is_dir() {
            "在对象存储中，未复制".to_owned()
        } else if missing == 0 {
            "已复制".to_owned()
        } else {
            format!("，缺少 {missing} 个")
        }
    );
    Ok(if broken == 0 && missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
