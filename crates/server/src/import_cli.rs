//! `paicha import roster|transfers FILE …`: a spreadsheet straight into the database, as a
//! named user, with a progress bar. The same checks and the same one transaction as the HTTP
//! import (`crate::import`); the user must be allowed what the HTTP route would allow them.
//!
//! A server running on the same database sees the import on its devices' next pull (on
//! PostgreSQL at once, through the commit's NOTIFY).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use paicha_auth::Principal;
use paicha_domain::org::OrgUnitKind;
use paicha_storage::{OrgUnitRecord, Store};
use uuid::Uuid;

use crate::config::{DatabaseArgs, ImportCommand, resolve_database};
use crate::import::{Importer, Outcome, Progress};

pub async fn run(command: ImportCommand) -> anyhow::Result<ExitCode> {
    let (database, file, unit_name, user, sheet) = match &command {
        ImportCommand::Roster(a) => (&a.database, &a.file, &a.branch, &a.as_user, "花名册"),
        ImportCommand::Transfers(a) => (&a.database, &a.file, &a.unit, &a.as_user, "转出明细"),
    };
    let body = read_bounded(file)?;
    let store = connect(database).await?;

    let user = store
        .user_by_username(user)
        .await?
        .filter(|u| !u.disabled)
        .with_context(|| format!("没有名为 {user} 的可用账号"))?;
    let (Some(own_id), Some(tenant_id)) = (user.org_unit_id, user.tenant_id) else {
        bail!("平台管理员不能导入党员数据");
    };
    let own = store
        .org_unit(own_id)
        .await?
        .context("账号所属的组织不存在")?;
    let kind = match command {
        ImportCommand::Roster(_) => Some(OrgUnitKind::Branch),
        ImportCommand::Transfers(_) => None,
    };
    let unit = find_unit(&store, &own, unit_name, kind).await?;
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        org_unit_id: Some(own.id),
        tenant_id: Some(tenant_id),
        session_id: None,
    };
    crate::access::actor(&principal, Some(&own))
        .may_read_member_data(&crate::access::unit_ref(&unit))
        .map_err(|d| anyhow::anyhow!("{} 不能导入到 {}：{d}", user.username, unit.name))?;
    let allowed = match &command {
        ImportCommand::Roster(_) => crate::import::roster_allowed(user.role, &unit),
        ImportCommand::Transfers(_) => crate::import::transfers_allowed(user.role, &unit),
    };
    if let Err((_, message)) = allowed {
        bail!("{message}");
    }

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} 行")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("检查{sheet}"));
    let progress_bar = bar.clone();
    let progress: crate::import::ProgressFn = std::sync::Arc::new(move |p: Progress| {
        let bar = &progress_bar;
        match p {
            Progress::Read { rows } => bar.set_length(rows),
            Progress::Checked { row } => bar.set_position(row),
            Progress::Writing { mutations } => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("写入 {mutations} 条变更（一个事务）"));
                bar.enable_steady_tick(Duration::from_millis(100));
            }
        }
    });
    // A process of its own, beside a server perhaps: its lease, should it die, runs out.
    let instance = crate::leases::Instance::transient();
    let importer = Importer {
        store: &store,
        user_id: user.id,
        role: user.role,
        own_path: &own.path,
        device_id: format!("cli-import-{}", Uuid::now_v7().simple()),
        instance: &instance,
        parsing_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let outcome = match &command {
        ImportCommand::Roster(_) => {
            crate::import::roster(&importer, &unit, body.into(), progress).await?
        }
        ImportCommand::Transfers(a) => {
            let list = crate::import::list_name(&a.list_name).map_err(anyhow::Error::msg)?;
            crate::import::transfers(&importer, &unit, &list, body.into(), progress).await?
        }
    };
    bar.finish_and_clear();
    match outcome {
        Outcome::Imported { result, .. } => {
            println!(
                "{sheet}已导入 {}：新增 {}，更新 {}，未变 {}",
                unit.name, result.created, result.updated, result.unchanged
            );
            // A corrected 转出明细: what moved to another branch and what was withdrawn is said,
            // never left to be noticed (docs/domain.md §6.4).
            if result.readdressed > 0 {
                println!(
                    "其中 {} 条改由其他党支部跟进，原支部已收到通知",
                    result.readdressed
                );
            }
            if result.withdrawn > 0 {
                println!(
                    "撤回 {} 条：新文件中已没有这些行，保留并标为已撤回，不再计数",
                    result.withdrawn
                );
            }
            if result.conflicts > 0 {
                println!(
                    "其中 {} 个字段在设备上改过，已用文件中的值覆盖，原值记入冲突记录待审核",
                    result.conflicts
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Busy => bail!("另一个导入正在写入 {}，请稍后再试", unit.name),
        Outcome::Refused(problems) => {
            println!("{sheet}有{}处问题，未导入任何数据：", problems.len());
            for p in &problems {
                let column = p
                    .column
                    .as_deref()
                    .map(|c| format!("「{c}」"))
                    .unwrap_or_default();
                println!("  第{}行{column}：{}（{}）", p.row, p.message, p.code);
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The file, refused when it is larger than any roster (`MAX_FILE_BYTES`) before it is read.
fn read_bounded(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let opened =
        std::fs::File::open(file).with_context(|| format!("无法读取文件 {}", file.display()))?;
    let mut body = Vec::new();
    opened
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("无法读取文件 {}", file.display()))?;
    if body.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "文件 {} 超过 {} MiB，不像花名册或转出明细",
            file.display(),
            MAX_FILE_BYTES >> 20
        );
    }
    Ok(body)
}

/// The largest file `paicha import` reads (the HTTP import is bounded by
/// `PAICHA_MAX_BODY_BYTES`).
const MAX_FILE_BYTES: u64 = crate::import::MAX_INFLATED_BYTES;

async fn connect(args: &DatabaseArgs) -> anyhow::Result<Store> {
    let (url, _) = resolve_database(args)?;
    let store = Store::connect(&url)
        .await
        .map_err(|e| anyhow::Error::new(e).context("无法连接数据库"))?;
    store.migrate().await?;
    Ok(store)
}

/// The unit named by id, code or name, at or below `own`.
async fn find_unit(
    store: &Store,
    own: &OrgUnitRecord,
    named: &str,
    kind: Option<OrgUnitKind>,
) -> anyhow::Result<OrgUnitRecord> {
    let named = named.trim();
    let id = Uuid::parse_str(named).ok();
    let found: Vec<OrgUnitRecord> = store
        .org_subtree(own)
        .await?
        .into_iter()
        .filter(|u| kind.is_none_or(|k| u.kind == k))
        .filter(|u| Some(u.id.uuid()) == id || u.code.as_deref() == Some(named) || u.name == named)
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().context("unit")?),
        0 => bail!("在 {} 之下找不到组织「{named}」", own.name),
        n => bail!("「{named}」对应 {n} 个组织，请改用组织编码或组织标识"),
    }
}
