//! The `paicha` binary: loads the configuration, starts logging, and serves or migrates.

use std::process::ExitCode;

use clap::Parser;
use paicha_server::Application;
use paicha_server::config::{
    AuditCommand, Cli, Command, DatabaseArgs, Settings, redact_url, resolve_database,
};
use paicha_storage::{Engine, Store};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            // One clear line, in the shape "paicha: <what is wrong>".
            eprintln!("paicha: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("：")
        .replace('\n', " ")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            paicha_server::telemetry::init_logging(args.log_format);
            let settings = Settings::from_serve_args(&args)?;
            let db = describe_database(&settings.database_url);
            let app = Application::build(settings)
                .await
                .map_err(|e| e.context(format!("无法启动（数据库 {db}）")))?;
            let addr = app.local_addr()?;
            println!("paicha 正在监听 http://{addr}，数据库：{db}");
            tracing::info!(%addr, database = %db, "listening");
            app.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            let (url, _) = resolve_database(&args)?;
            let db = describe_database(&url);
            let store = Store::connect(&url)
                .await
                .map_err(|e| anyhow::Error::new(e).context(format!("无法连接数据库 {db}")))?;
            let pending = store.pending_migrations().await?;
            store.migrate().await?;
            println!(
                "paicha：数据库 {db} 已迁移到最新版本（本次应用 {} 项）",
                pending.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { command } => paicha_server::import_cli::run(command).await,
        Command::Backup(args) => paicha_server::backup::backup(args).await,
        Command::Restore(args) => paicha_server::backup::restore(args).await,
        Command::Audit {
            command: AuditCommand::Head(args),
        } => {
            let store = migrated_store(&args).await?;
            for (tenant, version, hash) in store.sync_tenants().await? {
                println!("{tenant} {version} {hash}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify(args),
        } => {
            let store = migrated_store(&args).await?;
            let reports = paicha_sync::audit::verify_all(&store).await?;
            let mut broken = false;
            for r in &reports {
                match &r.broken_at {
                    None => println!("{}：{} 条记录，哈希链完整", r.tenant_id, r.entries),
                    Some((version, reason)) => {
                        broken = true;
                        println!("{}：哈希链在版本 {version} 处断裂：{reason}", r.tenant_id);
                    }
                }
            }
            let signed = paicha_sync::audit::verify_reports(&store).await?;
            for r in &signed {
                if let Some(problem) = &r.problem {
                    broken = true;
                    println!(
                        "报表 {}（{}，截至{}，北京时间{}签发）：{problem}",
                        r.report_id,
                        r.unit_name,
                        r.as_of,
                        (r.signed_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S")
                    );
                }
            }
            println!(
                "paicha：已校验 {} 个租户的审计记录和 {} 份已签发报表",
                reports.len(),
                signed.len()
            );
            Ok(if broken {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// The store of the database `args` name, connected and migrated: what the audit commands read.
async fn migrated_store(args: &DatabaseArgs) -> anyhow::Result<Store> {
    let (url, _) = resolve_database(args)?;
    let db = describe_database(&url);
    let store = Store::connect(&url)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("无法连接数据库 {db}")))?;
    store.migrate().await?;
    Ok(store)
}

fn describe_database(url: &str) -> String {
    let engine = Engine::of_url(url).map_or("?", Engine::name);
    format!("{engine} {}", redact_url(url))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
