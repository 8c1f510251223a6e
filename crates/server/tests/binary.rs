//! The real `paicha` binary: start-up on SQLite with no configuration but a data dir, the
//! README's curl session run as written, and configuration mistakes as one line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use paicha_tests::process::{Process, temp_dir};
use paicha_tests::{Committee, PASSWORD, committee_with_branch, hostile, pull_everything};

/// The variable that bootstraps the platform administrator of these tests.
const ADMIN_ENV: [(&str, &str); 1] = [("PAICHA_BOOTSTRAP_ADMIN", "admin:change-this-password")];

/// Starts `bin serve` in `dir` on port 0, on SQLite, and returns it with the URL it printed.
fn start_bin(bin: &str, dir: &std::path::Path, envs: &[(&str, &str)]) -> (Process, String) {
    let mut server = Process::spawn(
        Process::command(bin)
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PAICHA_LISTEN", "127.0.0.1:0")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
        "paicha serve",
    )
    .expect("paicha starts");
    // The start-up line says where it listens; no sleeping.
    let line = server.first_line();
    assert!(line.contains("SQLite"), "{line}");
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|rest| {
            format!(
                "http://{}",
                rest.trim_end_matches(|c: char| !c.is_ascii_digit())
            )
        })
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (server, url)
}

/// Starts this build's `paicha serve` in `dir` (see [`start_bin`]).
fn start(dir: &std::path::Path, envs: &[(&str, &str)]) -> (Process, String) {
    start_bin(env!("CARGO_BIN_EXE_paicha"), dir, envs)
}

/// Whether every mutation of a push was applied.
fn all_applied(response: &paicha_domain::api::v1::PushResponse) -> bool {
    use paicha_domain::api::v1::MutationStatus;
    response
        .results
        .iter()
        .all(|r| r.status == MutationStatus::Applied)
}

/// The standard output of a command that must have succeeded (else its stderr is shown too).
fn succeeded(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?}: {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `bin import roster FILE --branch BRANCH --as WHO`, run in `dir` with an empty environment.
fn import_roster(
    bin: &str,
    dir: &std::path::Path,
    file: &std::path::Path,
    branch: &str,
    who: &str,
) -> Command {
    let mut command = Command::new(bin);
    command
        .args(["import", "roster"])
        .arg(file)
        .args(["--branch", branch, "--as", who])
        .current_dir(dir)
        .env_clear();
    command
}

/// `bin serve` in a fresh folder with the platform administrator bootstrapped, and the tenant
/// of [`committee_with_branch`] (its branch secretary `sec` signed in). Bind `server` when
/// taking it apart: the server ends when it is dropped.
struct Started {
    dir: tempfile::TempDir,
    server: Process,
    url: String,
    client: paicha_client::Client,
    committee: Committee,
    branch: paicha_domain::api::v1::OrgUnit,
    sec: paicha_client::Client,
}

async fn started_bin(bin: &str, branch_name: &str) -> Started {
    let dir = temp_dir();
    let (server, url) = start_bin(bin, dir.path(), &ADMIN_ENV);
    let client = paicha_client::Client::new(url.clone());
    let bootstrap = ("admin", "change-this-password", "binary-admin-password");
    let (committee, branch) = committee_with_branch(&client, bootstrap, branch_name)
        .await
        .unwrap();
    let (sec, _) = client.signed_in("sec", PASSWORD).await.unwrap();
    Started {
        dir,
        server,
        url,
        client,
        committee,
        branch,
        sec,
    }
}

async fn started(branch_name: &str) -> Started {
    started_bin(env!("CARGO_BIN_EXE_paicha"), branch_name).await
}

#[test]
fn starts_on_sqlite_in_the_data_dir_and_the_readme_session_works_as_written() {
    let dir = temp_dir();
    let (_server, url) = start(dir.path(), &ADMIN_ENV);
    assert!(dir.path().join("data/paicha.db").exists());
    assert!(dir.path().join("data/jwt-secret").exists());

    let readme = include_str!("../../../README.md");
    let start = readme.find("## A first session with curl").unwrap();
    let block_start = readme[start..].find("```bash\n").unwrap() + start + 8;
    let block_end = readme[block_start..].find("```").unwrap() + block_start;
    let session =
        readme[block_start..block_end].replace("API=http://127.0.0.1:8080", &format!("API={url}"));
    assert_ne!(
        session,
        readme[block_start..block_end],
        "the session no longer sets API"
    );

    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{session}"))
        .output()
        .expect("bash runs");
    let stdout = succeeded(&out);
    // The last answer is the branch secretary's view: exactly one unit, the branch.
    let last = stdout
        .rfind("{\"org_units\"")
        .map(|i| &stdout[i..])
        .unwrap();
    let view: serde_json::Value = serde_json::from_str(last.trim()).unwrap();
    let units = view["org_units"].as_array().unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["name"], "东关社区党支部");
    assert_eq!(units[0]["kind"], "branch");
}

#[test]
fn configuration_mistakes_stop_start_up_with_one_line() {
    let dir = temp_dir();
    let cases: &[(&str, &str, &str)] = &[
        ("PAICHA_LISTEN", "not-an-address", "PAICHA_LISTEN"),
        ("PAICHA_JWT_SECRET", "short", "PAICHA_JWT_SECRET"),
        // deploy/k8s/paicha.yaml's placeholder: long enough, but no secret.
        (
            "PAICHA_JWT_SECRET",
            "CHANGE-ME-TO-AT-LEAST-32-RANDOM-BYTES",
            "PAICHA_JWT_SECRET",
        ),
        (
            "PAICHA_DATABASE_URL",
            "mysql://root:hunter2@localhost/x",
            "PAICHA_DATABASE_URL",
        ),
        ("PAICHA_BOOTSTRAP_ADMIN", "admin", "PAICHA_BOOTSTRAP_ADMIN"),
        (
            "PAICHA_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
            "无法启动",
        ),
    ];
    for (var, value, expected) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_paicha"))
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PAICHA_LISTEN", "127.0.0.1:0")
            .env(var, value)
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{var}={value}: {stderr}"
        );
        assert!(stderr.starts_with("paicha: "), "{stderr}");
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "a password reached the output: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn migrate_applies_and_exits() {
    let dir = temp_dir();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_paicha"))
            .arg("migrate")
            .current_dir(dir.path())
            .env_clear()
            .output()
            .unwrap()
    };
    let first = run();
    let out = succeeded(&first);
    assert!(
        out.contains("本次应用") && !out.contains("本次应用 0 项"),
        "{out}"
    );
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("本次应用 0 项"));
}

/// Pushes batches until `acks` are acknowledged, kills the server with SIGKILL the instant the
/// last acknowledgement arrives (with another push in flight), restarts it on the same data
/// dir, and checks that every acknowledged mutation is there and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pushes_survive_sigkill() {
    use paicha_client::Client;

    let Started {
        dir,
        mut server,
        branch,
        sec,
        ..
    } = started("支部").await;

    let batch = |n: i64| -> (Vec<serde_json::Value>, Vec<uuid::Uuid>) {
        let ids: Vec<uuid::Uuid> = (0..20).map(|_| uuid::Uuid::now_v7()).collect();
        let mutations = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                serde_json::json!({
                    "mutation_id": n * 100 + i as i64 + 1, "collection": "members", "id": id,
                    "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("党员{n}-{i}")},
                })
            })
            .collect();
        (mutations, ids)
    };
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        let (mutations, ids) = batch(n);
        let response = sec.push("phone", mutations).await.unwrap();
        assert!(all_applied(&response));
        acknowledged.extend(ids);
    }
    // One more push in flight, then the kill right after the last acknowledgement.
    let (in_flight, _) = batch(10);
    let pending = {
        let sec = sec.clone();
        tokio::spawn(async move { sec.push("phone", in_flight).await })
    };
    let (mutations, ids) = batch(11);
    let response = sec.push("phone-2", mutations).await.unwrap();
    server.kill();
    assert!(all_applied(&response));
    acknowledged.extend(ids);
    let in_flight_result = pending.await.unwrap();

    let (_server, url) = start(dir.path(), &ADMIN_ENV);
    let client = Client::new(url);
    let (sec, _) = client.signed_in("sec", PASSWORD).await.unwrap();
    let (changes, _) = pull_everything(&sec).await.unwrap();
    let present: std::collections::HashSet<_> = changes.iter().map(|c| c.id).collect();
    for id in &acknowledged {
        assert!(present.contains(id), "acknowledged record {id} lost");
    }
    // The in-flight push is all there or not at all.
    if let Ok(response) = in_flight_result {
        assert!(all_applied(&response));
        assert_eq!(present.len(), acknowledged.len() + 20);
    } else {
        assert!(present.len() == acknowledged.len() || present.len() == acknowledged.len() + 20);
    }

    let verify = Command::new(env!("CARGO_BIN_EXE_paicha"))
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let out = succeeded(&verify);
    assert!(out.contains("哈希链完整"), "{out}");
}

/// A valid 公民身份号码: the check character that the domain's parser accepts.
fn valid_id_number(body17: &str) -> String {
    "0123456789X"
        .chars()
        .map(|c| format!("{body17}{c}"))
        .find(|n| paicha_domain::id_number::IdNumber::parse(n).is_ok())
        .unwrap()
}

#[tokio::test]
async fn paicha_import_roster_writes_a_file_whole_as_a_user_or_refuses_it_whole() {
    use paicha_client::PullQuery;
    use paicha_domain::org::OrgUnitKind;

    let Started {
        dir,
        server: _server,
        committee,
        sec,
        ..
    } = started("东关社区党支部").await;
    let sibling = committee
        .unit(
            committee.unit.id,
            OrgUnitKind::Branch,
            "西关社区党支部",
            Some("B2"),
        )
        .await
        .unwrap();

    let import = |file: &std::path::Path, branch: &str, who: &str| {
        let bin = env!("CARGO_BIN_EXE_paicha");
        import_roster(bin, dir.path(), file, branch, who)
            .output()
            .unwrap()
    };
    let (a, b) = (
        valid_id_number("11010519600307001"),
        valid_id_number("11010519700101002"),
    );
    let good = dir.path().join("花名册.csv");
    std::fs::write(
        &good,
        format!("\u{FEFF}姓名,性别,公民身份号码,入党日期\n张三,男,{a},1985/7/1\n李四,女,{b},1990年7月1日\n"),
    )
    .unwrap();

    // Found by name, made as the secretary; a second run changes nothing.
    let out = import(&good, "东关社区党支部", "sec");
    let stdout = succeeded(&out);
    assert!(stdout.contains("新增 2"), "{stdout}");
    let out = import(&good, "B1", "sec");
    assert!(String::from_utf8_lossy(&out.stdout).contains("未变 2"));

    // A bad row refuses the whole file, with its row and column.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "姓名,公民身份号码\n王五,{}\n赵六,110105196003070010\n",
            valid_id_number("11010519800101003")
        ),
    )
    .unwrap();
    let out = import(&bad, "B1", "sec");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("第3行「公民身份号码」"), "{stdout}");
    // The committee admin may not import a roster; nor may anyone into a unit outside theirs.
    let out = import(&good, "B1", "cadmin");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("只有党支部书记和工作组成员"));
    let out = import(&good, "没有的支部", "sec");
    assert_eq!(out.status.code(), Some(2));
    // A sibling branch is outside the secretary's unit: not found from there, by code or id.
    for named in ["B2".to_owned(), sibling.id.to_string()] {
        let out = import(&good, &named, "sec");
        assert_eq!(out.status.code(), Some(2), "{named}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("找不到组织"));
    }

    // The server sees exactly the two members of the good file.
    let pulled = sec.pull(&PullQuery::default()).await.unwrap();
    let mut names: Vec<String> = pulled
        .changes
        .iter()
        .filter(|c| c.collection == paicha_domain::collection::Collection::Members)
        .filter_map(|c| c.fields.get("name")?.as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, vec!["张三", "李四"]);
}

/// The peak resident memory of a process, in bytes (`VmHWM`).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// The crafted workbook of two cells (`A1`, `XFD1048576`: 1.7·10¹⁰ cells as a dense grid; it
/// made the server abort), a zip bomb and a CSV with a 4 MB line, sent to the real binary's
/// HTTP import and to `paicha import roster`: each is refused (422, exit 1) as unreadable,
/// the server goes on answering, and its peak memory stays under 200 MB.
///
/// `PAICHA_TEST_BIN` points the test at another build of `paicha` (to watch an old one fail).
#[tokio::test]
async fn hostile_spreadsheets_are_refused_over_http_and_by_the_cli_in_bounded_memory() {
    let bin = std::env::var("PAICHA_TEST_BIN").unwrap_or(env!("CARGO_BIN_EXE_paicha").to_owned());
    let Started {
        dir,
        server,
        url,
        branch,
        sec,
        ..
    } = started_bin(&bin, "东关社区党支部").await;
    let pid = server.id();
    let token = sec.access_token().unwrap().to_owned();
    let baseline = peak_memory(pid);

    let files = [
        ("last-cell.xlsx", hostile::last_cell_xlsx(true)),
        ("last-cell-lying.xlsx", hostile::last_cell_xlsx(false)),
        ("bomb.xlsx", hostile::shared_strings_bomb_xlsx()),
        ("long-line.csv", hostile::long_line_csv()),
    ];
    let http = reqwest::Client::new();
    for (name, bytes) in &files {
        let resp = http
            .post(format!("{url}/v1/import/roster?org_unit_id={}", branch.id))
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(bytes.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: the server did not answer: {e}"));
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 422, "{name}: {body}");
        assert_eq!(
            body["problems"][0]["code"], "unreadable_file",
            "{name}: {body}"
        );
        let health = http.get(format!("{url}/healthz")).send().await;
        assert!(
            health.is_ok_and(|r| r.status().is_success()),
            "{name}: the server stopped answering"
        );
    }
    let peak = peak_memory(pid);
    assert!(
        peak < 200 << 20,
        "peak memory {} MiB (at start {} MiB)",
        peak >> 20,
        baseline >> 20
    );

    // The command line shares the reading: a clear message and exit 1 for each.
    for (name, bytes) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = import_roster(&bin, dir.path(), &path, "B1", "sec")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
        assert!(stdout.contains("unreadable_file"), "{name}: {stdout}");
    }
    // A file larger than any roster is not read at all (a sparse file of 1 GiB).
    let huge = dir.path().join("huge.csv");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let out = import_roster(&bin, dir.path(), &huge, "B1", "sec")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("超过 64 MiB"), "{stderr}");
}

/// Two `paicha import roster` processes and the server's HTTP import, at the same moment, of
/// the same 3,000-member roster into one branch: separate processes share no mutex, so only
/// the unit's import lease in the database makes them take turns. Each member is created once.
#[tokio::test]
async fn imports_by_two_processes_and_the_server_at_once_create_each_member_once() {
    let Started {
        dir,
        server: _server,
        url,
        branch,
        sec,
        ..
    } = started("东关社区党支部").await;
    let token = sec.access_token().unwrap().to_owned();

    let mut csv = String::from("姓名,公民身份号码\n");
    for day in 1..=3 {
        for seq in 1..=1000 {
            let id = valid_id_number(&format!("1101051970010{day}{:03}", seq % 1000));
            csv.push_str(&format!("党员{day}-{seq},{id}\n"));
        }
    }
    let path = dir.path().join("花名册.csv");
    std::fs::write(&path, &csv).unwrap();

    let cli = || {
        import_roster(env!("CARGO_BIN_EXE_paicha"), dir.path(), &path, "B1", "sec")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (cli(), cli());
    let http = reqwest::Client::new()
        .post(format!("{url}/v1/import/roster?org_unit_id={}", branch.id))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    let status = http.status();
    let body: serde_json::Value = http.json().await.unwrap();
    assert_eq!(status.as_u16(), 200, "{body}");
    let mut created = body["created"].as_u64().unwrap();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let stdout = succeeded(&out);
        let count = stdout
            .split("新增 ")
            .nth(1)
            .and_then(|rest| rest.split('，').next())
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{stdout}"));
        created += count;
    }
    assert_eq!(created, 3000);

    let (changes, _) = pull_everything(&sec).await.unwrap();
    let members: std::collections::HashSet<_> = changes
        .iter()
        .filter(|c| c.collection == paicha_domain::collection::Collection::Members && !c.deleted)
        .map(|c| c.id)
        .collect();
    assert_eq!(members.len(), 3000);
}

/// `paicha backup` while four devices push: the copy restores into a fresh data dir, holds
/// every push acknowledged before the backup began (and its blobs), and its audit chains verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_four_devices_push_restores_whole() {
    use paicha_client::Client;
    use sha2::Digest;
    use std::sync::{Arc, Mutex};

    let Started {
        dir,
        server,
        branch,
        sec,
        ..
    } = started("支部").await;
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.extend((0..50_000u32).map(|i| (i % 253) as u8));
    let photo_hash: String = sha2::Sha256::digest(&photo)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sec.put_blob(&photo_hash, photo.clone()).await.unwrap();

    // Four devices push batches of 5 members until told to stop; each acknowledged batch is
    // noted with the moment its answer arrived.
    let acknowledged: Arc<Mutex<Vec<(std::time::Instant, uuid::Uuid)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut devices = Vec::new();
    for device in 0..4 {
        let (sec, acknowledged, stop) = (sec.clone(), acknowledged.clone(), stop.clone());
        let branch_id = branch.id;
        devices.push(tokio::spawn(async move {
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ids: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::now_v7()).collect();
                let mutations = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        serde_json::json!({
                            "mutation_id": n * 10 + i as i64 + 1, "collection": "members",
                            "id": id, "org_unit_id": branch_id, "op": "put",
                            "fields": {"name": format!("党员{device}-{n}-{i}")},
                        })
                    })
                    .collect();
                let response = sec
                    .push(&format!("phone-{device}"), mutations)
                    .await
                    .unwrap();
                let at = std::time::Instant::now();
                assert!(all_applied(&response));
                acknowledged
                    .lock()
                    .unwrap()
                    .extend(ids.into_iter().map(|id| (at, id)));
                n += 1;
            }
            n
        }));
    }
    // Let them get going, then back up while they push.
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let file = dir.path().join("backup.db");
    let began = std::time::Instant::now();
    let backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_paicha"))
        .arg("backup")
        .arg(&file)
        .current_dir(dir.path())
        .env_clear()
        .output()
        .await
        .unwrap();
    let ended = std::time::Instant::now();
    let before_backup_ended = acknowledged.lock().unwrap().len();
    // Pushes went on during the backup, and go on a moment after it.
    while acknowledged.lock().unwrap().len() < before_backup_ended + 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for device in devices {
        assert!(device.await.unwrap() > 0);
    }
    let out = succeeded(&backup);
    assert!(out.contains("已备份"), "{out}");
    let listed = std::fs::read_to_string(dir.path().join("backup.db.blobs.txt")).unwrap();
    assert_eq!(listed, format!("{photo_hash} {}\n", photo.len()));

    // Restore into a fresh data dir; a second restore into it is refused.
    let fresh = temp_dir();
    let restore = |target: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_paicha"))
            .arg("restore")
            .arg(&file)
            .arg("--data-dir")
            .arg(target)
            .env_clear()
            .output()
            .unwrap()
    };
    let restored = restore(&fresh.path().join("data"));
    succeeded(&restored);
    let again = restore(&fresh.path().join("data"));
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("不是空的"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let verify = Command::new(env!("CARGO_BIN_EXE_paicha"))
        .args(["audit", "verify"])
        .current_dir(fresh.path())
        .env_clear()
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{out}");
    assert!(out.contains("哈希链完整"), "{out}");

    // Every push acknowledged before the backup began is in the restored copy, and the photo.
    drop(server);
    let (_restored_server, url) = start(fresh.path(), &[]);
    let (sec, _) = Client::new(url).signed_in("sec", PASSWORD).await.unwrap();
    let (changes, _) = pull_everything(&sec).await.unwrap();
    let present: std::collections::HashSet<_> = changes.iter().map(|c| c.id).collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<_> = acknowledged.iter().filter(|(at, _)| *at < began).collect();
    assert!(before.len() >= 200);
    let during = acknowledged
        .iter()
        .filter(|(at, _)| *at > began && *at < ended)
        .count();
    assert!(during > 0, "no push was acknowledged while the backup ran");
    for (_, id) in &before {
        assert!(
            present.contains(id),
            "a push acknowledged before the backup is missing: {id}"
        );
    }
    // Pushes acknowledged after the backup ended are not in it (the copy is of one moment).
    assert!(
        present.len() < acknowledged.len(),
        "{} of {}",
        present.len(),
        acknowledged.len()
    );
    let status = sec.blob_upload_status(&photo_hash).await.unwrap();
    assert!(status.complete);
    assert!(
        fresh
            .path()
            .join("data/blobs")
            .join(&photo_hash[..2])
            .join(&photo_hash)
            .is_file()
    );
}

/// `paicha audit head` prints each tenant's head; `paicha audit verify` checks every signed
/// report (docs/domain.md §8.14): after a change-log row is edited and the chain after it
/// recomputed — a chain consistent in itself — it exits 1 and names the report whose recorded
/// head no longer matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_a_report_whose_chain_was_rebuilt() {
    use paicha_domain::api::v1::{CreateUser, MutationStatus, Report};
    use paicha_domain::role::Role;
    use sqlx::Connection as _;

    let s = started("支部").await;
    let (dir, url, client, branch, sec) = (&s.dir, &s.url, &s.client, &s.branch, &s.sec);
    let (ca, committee) = (&s.committee.admin, &s.committee.unit);
    ca.create_user(&CreateUser {
        username: "office".to_owned(),
        password: PASSWORD.to_owned(),
        org_unit_id: Some(committee.id),
        role: Role::OrgOffice,
        display_name: Some("组织办".to_owned()),
    })
    .await
    .unwrap();
    let (office, _) = client.signed_in("office", PASSWORD).await.unwrap();
    let campaign = uuid::Uuid::now_v7();
    let pushed = ca
        .push("d", vec![serde_json::json!({"mutation_id": 1, "collection": "campaigns", "id": campaign, "org_unit_id": committee.id, "op": "put", "fields": {"name": "集中排查", "start_date": "2026-03-07"}})])
        .await
        .unwrap();
    assert_eq!(pushed.results[0].status, MutationStatus::Applied);
    for n in 0..3 {
        let pushed = sec
            .push("p", vec![serde_json::json!({"mutation_id": n + 1, "collection": "members", "id": uuid::Uuid::now_v7(), "org_unit_id": branch.id, "op": "put", "fields": {"name": format!("党员{n}")}})])
            .await
            .unwrap();
        assert_eq!(pushed.results[0].status, MutationStatus::Applied);
    }
    office.freeze_baseline(campaign).await.unwrap();
    let signing = reqwest::Client::new()
        .post(format!("{url}/v1/reports"))
        .bearer_auth(office.access_token().unwrap())
        .json(&serde_json::json!({}));
    let signed: Report = signing.send().await.unwrap().json().await.unwrap();
    drop(s.server);

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_paicha"))
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, head) = run(&["audit", "head"]);
    assert!(ok, "{head}");
    assert!(head.contains(&committee.id.to_string()), "{head}");
    let (ok, out) = run(&["audit", "verify"]);
    assert!(ok && out.contains("1 份已签发报表"), "{out}");

    // Edit the second entry and recompute every hash after it, as a writer with database
    // access would.
    let db = dir.path().join("data").join("paicha.db");
    let store = paicha_storage::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut entries = store
        .change_log_page(
            paicha_domain::ids::TenantId::new(committee.id),
            0,
            1_000_000,
        )
        .await
        .unwrap();
    drop(store);
    let mut prev = paicha_storage::GENESIS_HASH.to_owned();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for e in entries.iter_mut() {
        if e.version == 2 {
            e.changes = serde_json::json!({"name": [null, "改过的名字"]});
        }
        if e.version >= 2 {
            e.prev_hash = prev.clone();
            e.hash = paicha_sync::audit::entry_hash(e);
            sqlx::query(
                "UPDATE change_log SET changes = ?1, prev_hash = ?2, hash = ?3 WHERE version = ?4",
            )
            .bind(e.changes.to_string())
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(i64::try_from(e.version).unwrap())
            .execute(&mut c)
            .await
            .unwrap();
        }
        prev = e.hash.clone();
    }
    sqlx::query("UPDATE sync_tenants SET last_hash = ?1")
        .bind(&prev)
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let (ok, out) = run(&["audit", "verify"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("哈希链完整"),
        "the rebuilt chain verifies by itself: {out}"
    );
    assert!(
        out.contains(&signed.summary.id.to_string()) && out.contains("审计链头"),
        "{out}"
    );
}

/// A roster of `n` members as a branch would bring it: a CSV with the Chinese headers, one row
/// per member of the kit's real roster rows.
fn roster_csv(n: usize) -> String {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for (header, field) in paicha_domain::roster::HEADERS {
        if !fields.iter().any(|(_, f)| f == field) {
            fields.push((header, field));
        }
    }
    let mut csv = fields.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for i in 0..n {
        let member = paicha_tests::roster::member(i);
        let cells: Vec<String> = fields
            .iter()
            .map(|(_, f)| match (&member[*f], *f) {
                (serde_json::Value::String(s), "gender") => {
                    if s == "male" { "男" } else { "女" }.to_owned()
                }
                (serde_json::Value::String(s), "member_type") => if s == "full" {
                    "正式党员"
                } else {
                    "预备党员"
                }
                .to_owned(),
                (serde_json::Value::String(s), _) => s.clone(),
                (serde_json::Value::Bool(b), _) => if *b { "是" } else { "否" }.to_owned(),
                _ => String::new(),
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    csv
}

/// The holders of the import leases in the SQLite database of the data dir under `dir`.
async fn import_lease_holders(dir: &std::path::Path) -> Vec<String> {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}?mode=ro", dir.join("data/paicha.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let holders: Vec<(String,)> = sqlx::query_as("SELECT holder FROM import_locks")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let _ = db.close().await;
    holders.into_iter().map(|(h,)| h).collect()
}

/// A server killed (SIGKILL) while it imports a large roster leaves its unit's lease behind;
/// started again, it gives that lease back before it serves, so the same import sent right
/// away takes the lease at once (not after the lease runs out), and creates every member once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_with_its_server_holds_nothing_once_the_server_is_back() {
    const ROWS: usize = 10_000;
    let Started {
        dir,
        mut server,
        url,
        branch,
        sec,
        ..
    } = started("东关社区党支部").await;
    let csv = roster_csv(ROWS);
    let send = |url: String, token: String, csv: String| {
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/import/roster?org_unit_id={}", branch.id))
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(csv)
                .send()
                .await
        })
    };
    let first = send(url, sec.access_token().unwrap().to_owned(), csv.clone());
    // Killed the moment the import holds its lease (it reads the branch, then writes).
    let started_at = std::time::Instant::now();
    let dead_holder = loop {
        if let Some(holder) = import_lease_holders(dir.path()).await.pop() {
            break holder;
        }
        assert!(
            started_at.elapsed() < std::time::Duration::from_secs(120),
            "the import never took its lease"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    server.kill();
    assert!(
        first.await.unwrap().is_err(),
        "the killed import was answered"
    );
    assert_eq!(
        import_lease_holders(dir.path()).await,
        std::slice::from_ref(&dead_holder)
    );

    let (_server, url) = start(dir.path(), &ADMIN_ENV);
    // Given back before the server listened.
    assert!(import_lease_holders(dir.path()).await.is_empty());
    let client = paicha_client::Client::new(url.clone());
    let (sec, _) = client.signed_in("sec", PASSWORD).await.unwrap();
    let token = sec.access_token().unwrap().to_owned();
    // What reading and checking this file takes this server, lease aside: the same file with
    // one bad row more is refused once it has been checked, before any lease is asked for.
    let checked = std::time::Instant::now();
    let refused = send(
        url.clone(),
        token.clone(),
        format!("{csv}党员X,男,,,,123\n"),
    );
    let refused = refused.await.unwrap().unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let check_time = checked.elapsed();
    let sent = std::time::Instant::now();
    let again = send(url, token, csv);
    // The time from sending to holding the lease: reading and checking the file, then no wait.
    let took_lease = loop {
        let holders = import_lease_holders(dir.path()).await;
        if holders.iter().any(|h| *h != dead_holder) || again.is_finished() {
            break sent.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let response = again.await.unwrap().unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "the import sent again held its lease {:.0} ms after it was sent (reading and checking the file alone: {:.0} ms); answered after {:.1} s",
        ms(took_lease),
        ms(check_time),
        sent.elapsed().as_secs_f64()
    );
    assert_eq!(status.as_u16(), 200, "{body}");
    assert!(
        took_lease < check_time + std::time::Duration::from_secs(1),
        "the import sent again held its lease {took_lease:?} after it was sent; reading and checking the file takes {check_time:?}"
    );
    assert_eq!(body["created"], ROWS, "{body}");
    let (changes, _) = pull_everything(&sec).await.unwrap();
    let numbers: std::collections::HashSet<_> = changes
        .iter()
        .filter(|c| c.collection == paicha_domain::collection::Collection::Members && !c.deleted)
        .map(|c| c.fields["id_number"].as_str().unwrap().to_owned())
        .collect();
    let members = changes
        .iter()
        .filter(|c| c.collection == paicha_domain::collection::Collection::Members)
        .count();
    assert_eq!(
        (members, numbers.len()),
        (ROWS, ROWS),
        "member records, distinct ID numbers"
    );
}

/// `paicha import transfers` with a corrected list: the second file re-addresses one row and
/// no longer holds another, and the command says both (docs/domain.md §6.4), never silently.
#[tokio::test]
async fn paicha_import_transfers_says_what_a_corrected_list_readdressed_and_withdrew() {
    use paicha_domain::org::OrgUnitKind;

    let Started {
        dir,
        server: _server,
        committee,
        ..
    } = started("东关社区党支部").await;
    committee
        .unit(
            committee.unit.id,
            OrgUnitKind::Branch,
            "西关社区党支部",
            Some("B2"),
        )
        .await
        .unwrap();
    let (a, b) = (
        valid_id_number("11010519600307001"),
        valid_id_number("11010519700101002"),
    );
    let first = dir.path().join("转出明细.csv");
    std::fs::write(
        &first,
        format!("序号,姓名,公民身份号码,负责跟进的党支部\n1,张三,{a},B1\n2,李四,{b},B1\n"),
    )
    .unwrap();
    let corrected = dir.path().join("转出明细（更正）.csv");
    std::fs::write(
        &corrected,
        format!("序号,姓名,公民身份号码,负责跟进的党支部\n1,张三,{a},B2\n"),
    )
    .unwrap();
    let import = |file: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_paicha"))
            .args(["import", "transfers"])
            .arg(file)
            .args(["--unit", &committee.unit.id.to_string(), "--list", "第一批"])
            .args(["--as", &committee.admin_username])
            .current_dir(dir.path())
            .env_clear()
            .output()
            .unwrap();
        succeeded(&out)
    };
    let out = import(&first);
    assert!(out.contains("新增 2"), "{out}");
    assert!(!out.contains("撤回"), "{out}");
    let out = import(&corrected);
    assert!(out.contains("更新 1"), "{out}");
    assert!(out.contains("其中 1 条改由其他党支部跟进"), "{out}");
    assert!(out.contains("撤回 1 条"), "{out}");
}
