//! The files of `deploy/`, checked: they name only settings paicha has, nginx and systemd
//! accept them, and (on PostgreSQL) two real `paicha` processes behind the nginx configuration
//! from `deploy/`, with blobs in an S3 server (`moto`), keep their promises while one of them
//! is stopped with SIGTERM (deploy/README.md).
//!
//! Needs: `nginx`, `systemd-analyze`, `python3` with PyYAML, and for the end-to-end test
//! `moto_server` and `PAICHA_TEST_DATABASE_URL` (skipped with a line without it).
//! `scripts/test.sh` installs what is missing when it can.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use paicha_tests::process::{Process, RefusingPort, free_port, temp_dir};
use paicha_tests::{PASSWORD, TestDb, committee_with_branch, pull_everything};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(rest: &str) -> PathBuf {
    repo().join("deploy").join(rest)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tool the test needs, or a clear failure saying how to get it.
fn require(tool: &str, how: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed: {how} (scripts/test.sh installs it when run as root)"
    );
}

/// The YAML documents of a file, as JSON (PyYAML reads them: merge keys and all).
fn yaml_documents(path: &Path) -> Vec<serde_json::Value> {
    require("python3", "apt-get install python3 python3-yaml");
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 could not read {} as YAML (is PyYAML installed? apt-get install python3-yaml): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The variables of README.md's configuration table: every `NAME` in capitals in its rows.
fn readme_settings() -> BTreeSet<String> {
    let readme = read(&repo().join("README.md"));
    let table = readme
        .split("## Configuration")
        .nth(1)
        .expect("README has a Configuration section");
    let mut names = BTreeSet::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        for quoted in line.split('`').skip(1).step_by(2) {
            if quoted.len() > 3
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                names.insert(quoted.to_owned());
            }
        }
    }
    assert!(names.contains("PAICHA_DATABASE_URL"), "{names:?}");
    names
}

fn assert_known(names: impl IntoIterator<Item = String>, known: &BTreeSet<String>, file: &str) {
    let mut seen = 0;
    for name in names {
        seen += 1;
        assert!(
            known.contains(&name),
            "{file} sets {name}, which is not in README.md's configuration table"
        );
    }
    assert!(seen > 0, "{file} sets no settings at all");
}

#[test]
fn the_readme_table_lists_what_paicha_serve_reads() {
    // Every PAICHA_ variable of the table is one `paicha serve` reads (clap's `[env: …]`).
    let help = Command::new(env!("CARGO_BIN_EXE_paicha"))
        .args(["serve", "--help"])
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for name in readme_settings() {
        if name.starts_with("PAICHA_") {
            assert!(
                help.contains(&format!("[env: {name}")),
                "README lists {name}, which paicha serve does not read"
            );
        }
    }
}

#[test]
fn compose_and_kubernetes_name_only_settings_paicha_has() {
    let known = readme_settings();

    let compose = yaml_documents(&deploy("compose.yaml"));
    let services = compose[0]["services"].as_object().expect("services");
    let mut secrets = HashSet::new();
    let mut stores = HashSet::new();
    for name in ["paicha1", "paicha2"] {
        let service = &services[name];
        let env = service["environment"].as_object().expect("environment");
        assert_known(env.keys().cloned(), &known, "compose.yaml");
        secrets.insert(env["PAICHA_JWT_SECRET"].as_str().unwrap().to_owned());
        stores.insert(env["PAICHA_BLOB_STORE"].as_str().unwrap().to_owned());
        assert!(
            env["PAICHA_DATABASE_URL"]
                .as_str()
                .unwrap()
                .starts_with("postgres://")
        );
        assert_eq!(service["build"]["dockerfile"], "deploy/Dockerfile");
        // Longer than a request may take (90 s).
        let grace = service["stop_grace_period"].as_str().unwrap();
        assert!(
            grace.trim_end_matches('s').parse::<u64>().unwrap() > 90,
            "{grace}"
        );
    }
    assert_eq!(
        secrets.len(),
        1,
        "the instances must share one PAICHA_JWT_SECRET"
    );
    // No default credential: every secret is required (`${VAR:?…}`), and the example .env
    // leaves each one empty for the operator to fill in.
    for name in ["paicha1", "paicha2"] {
        let env = services[name]["environment"].as_object().unwrap();
        for key in [
            "PAICHA_JWT_SECRET",
            "PAICHA_BOOTSTRAP_ADMIN",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            let value = env[key].as_str().unwrap();
            assert!(
                value.contains(":?"),
                "{key} in compose.yaml has a default: {value}"
            );
        }
    }
    for line in read(&deploy("compose.env.example")).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap();
        assert!(
            value.is_empty(),
            "compose.env.example ships a value for {key}"
        );
    }
    assert_eq!(
        stores.len(),
        1,
        "the instances must share one PAICHA_BLOB_STORE"
    );
    // Every variable compose.yaml requires is one the example .env names.
    let example = read(&deploy("compose.env.example"));
    let raw_compose = read(&deploy("compose.yaml"));
    for part in raw_compose.split("${").skip(1) {
        let name = part.split([':', '}']).next().unwrap();
        assert!(
            example.lines().any(|l| l == format!("{name}=")),
            "compose.yaml requires {name}, which compose.env.example does not name"
        );
    }
    // paicha reaches the object store with an account of its own, never MinIO's root.
    let minio = services["minio"]["environment"].as_object().unwrap();
    let root_user = minio["MINIO_ROOT_USER"].as_str().unwrap();
    let root_password = minio["MINIO_ROOT_PASSWORD"].as_str().unwrap();
    let init = services["minio-bucket"]["entrypoint"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for name in ["paicha1", "paicha2"] {
        let env = services[name]["environment"].as_object().unwrap();
        let key_id = env["AWS_ACCESS_KEY_ID"].as_str().unwrap();
        let secret = env["AWS_SECRET_ACCESS_KEY"].as_str().unwrap();
        assert_ne!(key_id, root_user, "{name} uses MinIO's root user");
        let var = |v: &str| {
            v.split([':', '}'])
                .next()
                .unwrap()
                .trim_start_matches("${")
                .to_owned()
        };
        assert_ne!(
            var(secret),
            var(root_password),
            "{name} uses MinIO's root password"
        );
        assert!(
            init.contains(&format!("mc admin user add local {key_id} ")),
            "minio-bucket creates {key_id}: {init}"
        );
        assert!(init.contains(&format!(
            "mc admin policy attach local {key_id} --user {key_id}"
        )));
        // /metrics is not open: a token, or an address of its own.
        assert!(
            env.contains_key("PAICHA_METRICS_TOKEN") || env.contains_key("PAICHA_METRICS_LISTEN"),
            "{name}: /metrics open"
        );
        if let Some(token) = env.get("PAICHA_METRICS_TOKEN") {
            assert!(
                token.as_str().unwrap().contains(":?"),
                "a default metrics token"
            );
        }
        // The one proxy, nginx, at its fixed address.
        let trusted = env["PAICHA_TRUSTED_PROXIES"].as_str().unwrap();
        assert_eq!(
            services["nginx"]["networks"]["default"]["ipv4_address"].as_str(),
            Some(trusted),
            "PAICHA_TRUSTED_PROXIES is nginx's address"
        );
    }
    let policy = init
        .split("<<'POLICY'")
        .nth(1)
        .and_then(|p| p.split("POLICY").next())
        .expect("the bucket policy");
    let policy: serde_json::Value = serde_json::from_str(policy.trim()).unwrap();
    for statement in policy["Statement"].as_array().unwrap() {
        for resource in statement["Resource"].as_array().unwrap() {
            let r = resource.as_str().unwrap();
            assert!(
                r == "arn:aws:s3:::paicha" || r == "arn:aws:s3:::paicha/*",
                "the policy reaches beyond paicha's bucket: {r}"
            );
        }
        for action in statement["Action"].as_array().unwrap() {
            assert!(!action.as_str().unwrap().contains('*'), "{action}");
        }
    }
    // The build context leaves data dirs, build output, version control and secrets out.
    let ignore = read(&repo().join(".dockerignore"));
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [
        "**/data",
        "target",
        ".git",
        "**/jwt-secret",
        "**/.env",
        "**/*.db",
    ] {
        assert!(patterns.contains(&needed), ".dockerignore lacks {needed}");
    }
    for kept in [
        "crates",
        "vendor",
        "migrations",
        "Cargo.toml",
        "Cargo.lock",
        "deploy",
    ] {
        assert!(
            !patterns.iter().any(|p| p.trim_start_matches("**/") == kept),
            ".dockerignore leaves out {kept}, which the build needs"
        );
    }
    let dockerfile = read(&deploy("Dockerfile"));
    assert!(
        dockerfile.contains("COPY . ."),
        "the Dockerfile copies the context"
    );
    for mount in services["nginx"]["volumes"].as_array().unwrap() {
        let file = mount.as_str().unwrap().split(':').next().unwrap();
        assert!(
            deploy(file).is_file(),
            "compose.yaml mounts {file}, which is missing"
        );
    }
    assert!(deploy("Dockerfile").is_file());

    let manifests = yaml_documents(&deploy("k8s/paicha.yaml"));
    let kind = |k: &str| {
        manifests
            .iter()
            .find(|m| m["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} in k8s/paicha.yaml"))
    };
    let config = kind("ConfigMap")["data"].as_object().unwrap();
    let secret = kind("Secret")["stringData"].as_object().unwrap();
    assert_known(config.keys().cloned(), &known, "k8s ConfigMap");
    assert_known(secret.keys().cloned(), &known, "k8s Secret");
    assert!(secret.contains_key("PAICHA_JWT_SECRET"));
    // Its placeholders stop start-up until replaced.
    let placeholder = secret["PAICHA_JWT_SECRET"].as_str().unwrap();
    assert!(paicha_server::config::check_jwt_secret(placeholder.as_bytes()).is_err());
    let url = secret["PAICHA_DATABASE_URL"].as_str().unwrap();
    let password = url.split('@').next().unwrap().rsplit(':').next().unwrap();
    assert!(paicha_server::config::is_placeholder(password.as_bytes()));
    let deployment = kind("Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let from: Vec<&str> = container["envFrom"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["configMapRef"]["name"]
                .as_str()
                .or(e["secretRef"]["name"].as_str())
        })
        .collect();
    assert_eq!(from, ["paicha", "paicha"]);
    assert!(container.get("env").is_none_or(|e| e.is_null()));
    // The grace period covers the preStop pause and the longest request (90 s).
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 90 + pre_stop);
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(kind("Service")["spec"]["selector"], *labels);
    // A narrow trusted-proxy range (the ingress controller's pods, not the pod network)...
    let trusted = config["PAICHA_TRUSTED_PROXIES"].as_str().unwrap();
    let blocks = paicha_server::config::parse_trusted_proxies(trusted).unwrap();
    assert!(!blocks.is_empty());
    for block in &blocks {
        let narrow = match block.addr {
            std::net::IpAddr::V4(_) => block.prefix >= 24,
            std::net::IpAddr::V6(_) => block.prefix >= 64,
        };
        assert!(narrow, "PAICHA_TRUSTED_PROXIES is wide: {trusted}");
    }
    // ...and a NetworkPolicy: only named peers reach the pods, each on its port.
    let policy = &kind("NetworkPolicy")["spec"];
    assert_eq!(policy["podSelector"]["matchLabels"], *labels);
    assert!(
        policy["policyTypes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("Ingress"))
    );
    let rules = policy["ingress"].as_array().unwrap();
    assert!(!rules.is_empty());
    let ports: Vec<&str> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut allowed = vec![];
    for rule in rules {
        let from = rule["from"].as_array().expect("a rule names its peers");
        assert!(!from.is_empty(), "a rule open to every pod: {rule}");
        for peer in from {
            assert!(
                peer["podSelector"]["matchLabels"].is_object()
                    && peer["namespaceSelector"]["matchLabels"].is_object(),
                "a peer not narrowed to pods of a namespace: {peer}"
            );
        }
        for port in rule["ports"].as_array().expect("a rule names its ports") {
            let port = port["port"].as_str().unwrap();
            assert!(
                ports.contains(&port),
                "the policy names a port the pod lacks: {port}"
            );
            allowed.push(port);
        }
    }
    assert!(allowed.contains(&"http"));
    // /metrics on a port of its own, which the policy opens to Prometheus alone.
    let metrics = config["PAICHA_METRICS_LISTEN"].as_str().unwrap();
    assert!(metrics.ends_with(":9090"), "{metrics}");
    assert!(allowed.contains(&"metrics"));
    assert_eq!(
        kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        *labels
    );

    // The systemd environment file: set and commented-out settings alike.
    let env_file = read(&deploy("systemd/paicha.env"));
    let names = env_file
        .lines()
        .map(|l| l.trim_start_matches('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_owned);
    assert_known(names, &known, "systemd/paicha.env");
    let unit = read(&deploy("systemd/paicha.service"));
    let names = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()));
    assert_known(names, &known, "systemd/paicha.service");
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    require(
        "systemd-analyze",
        "apt-get install systemd (it brings systemd-analyze)",
    );
    // The unit as shipped, but starting the binary just built (verify checks that it exists).
    let dir = temp_dir();
    let unit = read(&deploy("systemd/paicha.service"));
    assert!(unit.contains("ExecStart=/usr/local/bin/paicha serve"));
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/paicha",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_paicha")),
    );
    let path = dir.path().join("paicha.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    // Complaints about other units of the machine are not ours; none may be about this one.
    assert!(
        !said.lines().any(|l| l.contains("paicha.service")),
        "systemd-analyze verify: {said}"
    );
}

/// nginx, run from a folder of its own with the configuration of `deploy/nginx`: `upstream.conf`
/// with the instances' addresses put in for `paicha1:8080` and `paicha2:8080`, `paicha.conf`
/// as it is but for the port it listens on and where it logs.
struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Process>,
    /// The upstream ports of [`Nginx::without_instances`], held so nothing else answers there.
    _refusing: Vec<RefusingPort>,
}

impl Nginx {
    /// nginx with no instance behind it: both upstream ports refuse every connection.
    fn without_instances() -> Self {
        let refusing = [RefusingPort::new(), RefusingPort::new()];
        let mut nginx = Self::configure([refusing[0].port, refusing[1].port]);
        nginx._refusing = refusing.into();
        nginx
    }

    fn configure(upstreams: [u16; 2]) -> Self {
        require("nginx", "apt-get install nginx");
        let dir = temp_dir();
        let port = free_port();
        let upstream = read(&deploy("nginx/upstream.conf"));
        for host in ["paicha1:8080", "paicha2:8080"] {
            assert!(upstream.contains(host), "upstream.conf names {host}");
        }
        let upstream = upstream
            .replace("paicha1:8080", &format!("127.0.0.1:{}", upstreams[0]))
            .replace("paicha2:8080", &format!("127.0.0.1:{}", upstreams[1]));
        let site = read(&deploy("nginx/paicha.conf"));
        for line in [
            "    listen 80;",
            "    listen [::]:80;",
            "access_log /var/log/nginx/paicha.access.log paicha;",
        ] {
            assert!(site.contains(line), "paicha.conf has {line:?}");
        }
        let site = site
            .replace("    listen 80;", &format!("    listen 127.0.0.1:{port};"))
            .replace("    listen [::]:80;", "")
            .replace(
                "/var/log/nginx/paicha.access.log",
                &dir.path().join("access.log").display().to_string(),
            );
        std::fs::write(dir.path().join("upstream.conf"), upstream).unwrap();
        std::fs::write(dir.path().join("paicha.conf"), site).unwrap();
        // Included by the server blocks, beside nginx.conf.
        std::fs::write(
            dir.path().join("paicha-proxy.conf"),
            read(&deploy("nginx/paicha-proxy.conf")),
        )
        .unwrap();
        let d = dir.path().display();
        // As root, nginx's workers would otherwise run as `nobody`, who may not write here.
        let user = if is_root() { "user root;" } else { "" };
        std::fs::write(
            dir.path().join("nginx.conf"),
            format!(
                "{user}\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n  access_log {d}/other.log;\n  client_body_temp_path {d}/body;\n  \
                 proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
                 uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                 include {d}/upstream.conf;\n  include {d}/paicha.conf;\n}}\n"
            ),
        )
        .unwrap();
        Self {
            dir,
            port,
            child: None,
            _refusing: Vec::new(),
        }
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    fn test_config(&self) -> std::process::Output {
        Command::new("nginx")
            .arg("-t")
            .arg("-c")
            .arg(self.conf())
            .arg("-p")
            .arg(self.dir.path())
            .output()
            .unwrap()
    }

    /// `nginx -t`, which must accept the configuration.
    fn check(&self) {
        let out = self.test_config();
        assert!(
            out.status.success(),
            "nginx -t of {}: {}",
            self.conf().display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&mut self) {
        // Its workers are in its process group, which dropping it kills.
        let child = Process::spawn(
            Process::command("nginx")
                .arg("-c")
                .arg(self.conf())
                .arg("-p")
                .arg(self.dir.path())
                .args(["-g", "daemon off;"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "nginx",
        )
        .unwrap();
        self.child = Some(child);
        wait_for_port(self.port, "nginx");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Waits (at most 5 s) until the access log holds `needle`: nginx writes its line just
    /// after the answer has gone out.
    async fn wait_for_log(&self, needle: &str) {
        let started = Instant::now();
        while !self.access_log().contains(needle) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no {needle:?} in the access log: {}",
                self.access_log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Waits until something listens on `port` (a service starting), at most 30 s.
fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} does not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn nginx_accepts_the_proxy_configuration() {
    let nginx = Nginx::without_instances();
    nginx.check();
}

/// The HTTPS sample: its http-level lines are paicha.conf's; with a self-signed certificate
/// (made here with openssl) in place of the operator's, `nginx -t` accepts it, and run for real
/// it redirects port 80 to HTTPS and answers over TLS with HSTS, nginx's own answers included
/// (no instance behind it: 503 in paicha's error shape), while the plain sample sends none.
#[tokio::test]
async fn nginx_accepts_the_tls_configuration_and_sends_hsts() {
    require("openssl", "apt-get install openssl");
    let plain = read(&deploy("nginx/paicha.conf"));
    let tls = read(&deploy("nginx/paicha-tls.conf"));
    let http_level = |text: &str| -> String {
        let start = text.find("# A request id:").expect("the request-id map");
        let end = text.find("server {").expect("a server block");
        text[start..end].to_owned()
    };
    assert_eq!(
        http_level(&tls),
        http_level(&plain),
        "paicha-tls.conf's maps and log format must be paicha.conf's"
    );
    for line in [
        "ssl_certificate     /etc/nginx/tls/fullchain.pem;",
        "ssl_certificate_key /etc/nginx/tls/privkey.pem;",
        "return 301 https://$host$request_uri;",
        "include paicha-proxy.conf;",
        "    listen 443 ssl http2;",
        "    listen [::]:443 ssl http2;",
        "    listen 80;",
        "    listen [::]:80;",
    ] {
        assert!(tls.contains(line), "paicha-tls.conf has {line:?}");
    }
    let proxy = read(&deploy("nginx/paicha-proxy.conf"));
    assert!(proxy.contains("add_header Strict-Transport-Security $paicha_hsts always;"));
    // A location with an add_header of its own must repeat HSTS (nginx does not inherit it).
    for block in proxy.split("location ").skip(1) {
        let block = block.split("\n}").next().unwrap_or_default();
        if block.contains("add_header") {
            assert!(
                block.contains("Strict-Transport-Security"),
                "a location without HSTS: {block}"
            );
        }
    }

    let mut nginx = Nginx::without_instances();
    let dir = nginx.dir.path().to_path_buf();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(dir.join("privkey.pem"))
        .arg("-out")
        .arg(dir.join("fullchain.pem"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let https_port = free_port();
    let site = tls
        .replace(
            "    listen 80;",
            &format!("    listen 127.0.0.1:{};", nginx.port),
        )
        .replace("    listen [::]:80;", "")
        .replace(
            "    listen 443 ssl http2;",
            &format!("    listen 127.0.0.1:{https_port} ssl http2;"),
        )
        .replace("    listen [::]:443 ssl http2;", "")
        .replace("/etc/nginx/tls/", &format!("{}/", dir.display()))
        .replace(
            "/var/log/nginx/paicha.access.log",
            &dir.join("access.log").display().to_string(),
        );
    std::fs::write(dir.join("paicha.conf"), site).unwrap();
    // paicha-tls.conf, in place of paicha.conf.
    nginx.check();
    nginx.start();
    wait_for_port(https_port, "nginx over TLS");
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = http
        .get(format!("{}/v1/members?limit=1", nginx.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 301);
    assert!(
        redirect.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://"),
        "{:?}",
        redirect.headers()
    );
    assert!(!redirect.headers().contains_key("strict-transport-security"));
    for path in ["/readyz", "/metrics"] {
        let answer = http
            .get(format!("https://127.0.0.1:{https_port}{path}"))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let hsts = answer
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = answer.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: {status} not JSON ({e}): {text}"));
        // No instance behind: nginx answers 503 itself; /metrics is never passed on (404).
        assert_eq!(
            status,
            if path == "/metrics" { 404 } else { 503 },
            "{path}: {body}"
        );
        assert!(body["error"]["code"].is_string(), "{body}");
        assert_eq!(
            hsts.as_deref(),
            Some("max-age=63072000; includeSubDomains"),
            "{path}"
        );
    }
}

/// The plain sample sends no HSTS (a browser ignores it over HTTP anyway) and never passes
/// `/metrics` on.
#[tokio::test]
async fn the_plain_sample_sends_no_hsts_and_keeps_metrics_in() {
    let mut nginx = Nginx::without_instances();
    nginx.start();
    for (path, status) in [("/readyz", 503), ("/metrics", 404)] {
        let answer = reqwest::get(format!("{}{path}", nginx.url()))
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{path}");
        assert!(!answer.headers().contains_key("strict-transport-security"));
    }
}

/// A run of 18 characters that could be a 公民身份号码 (17 digits, then a digit or `X`),
/// outside the hexadecimal tokens of 32 characters or more the log holds by design (request ids,
/// a blob's SHA-256 in its path): one of those holds 18 decimal digits in a row now and then
/// (a 64-character hash about one time in a hundred), and is no ID number.
fn eighteen_digit_numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    // Whether each character lies in a run of 32 or more hexadecimal digits.
    let mut in_hex = vec![false; chars.len()];
    let mut start = 0;
    while start < chars.len() {
        let end = (start..chars.len())
            .find(|&i| !chars[i].is_ascii_hexdigit())
            .unwrap_or(chars.len());
        if end - start >= 32 {
            in_hex[start..end].fill(true);
        }
        start = end + 1;
    }
    let mut out = vec![];
    for start in 0..chars.len().saturating_sub(17) {
        let run = &chars[start..start + 18];
        if !in_hex[start]
            && run[..17].iter().all(char::is_ascii_digit)
            && (run[17].is_ascii_digit() || run[17] == 'X' || run[17] == 'x')
        {
            out.push(run.iter().collect());
        }
    }
    out
}

/// The check finds an ID number wherever the log could hold one, and not in a hash or request
/// id that happens to hold 18 digits in a row.
#[test]
fn an_id_number_is_found_in_a_log_line_and_a_hash_is_not() {
    let number = "11010519491231002X";
    for line in [
        format!("GET /v1/members?q={number} HTTP/1.1"),
        format!("GET /v1/members/{number}"),
        format!("q%3D{number}&limit=5"),
        format!("rid={number}"),
    ] {
        assert_eq!(
            eighteen_digit_numbers(&line),
            vec![number.to_owned()],
            "{line}"
        );
    }
    let hash = format!("ab{}cd{}", "916029952387894168", "e".repeat(42));
    assert_eq!(hash.len(), 64);
    for line in [
        format!("GET /v1/blobs/{hash} HTTP/1.1 rid=e2e upstream=127.0.0.1:1"),
        format!("rid={}", &hash[..32]),
    ] {
        assert!(eighteen_digit_numbers(&line).is_empty(), "{line}");
    }
}

/// The access log of the sample holds no query string: a request with an ID number in its URL
/// (an old client's `GET /v1/members?q=…`) leaves its path in the log, not the number. Run for
/// real, with no instance behind nginx (it answers 503 itself and still logs the request).
#[tokio::test]
async fn nginx_access_log_holds_no_query_string() {
    let site = read(&deploy("nginx/paicha.conf"));
    let format: String = site
        .split("log_format paicha")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("paicha.conf defines log_format paicha")
        .to_owned();
    for variable in [
        "$request ",
        "$request\"",
        "$request_uri",
        "$args",
        "$query_string",
        "$arg_",
    ] {
        assert!(
            !format.contains(variable),
            "the access log format logs {variable}: {format}"
        );
    }
    assert!(format.contains("$uri"), "{format}");

    let mut nginx = Nginx::without_instances();
    nginx.check();
    nginx.start();
    let number = "11010519491231002X";
    let http = reqwest::Client::new();
    for (i, path) in [
        format!("/v1/members?q={number}&limit=5"),
        format!("/v1/ledgers/roster?org_unit_id={number}"),
        "/v1/members?q=110105194912310021".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let response = http
            .get(format!("{}{path}", nginx.url()))
            .header("x-request-id", format!("no-number-{i}"))
            .send()
            .await
            .unwrap();
        // No instance: nginx's own answer, in paicha's error shape.
        assert_eq!(response.status(), 503, "{path}");
    }
    nginx.wait_for_log("rid=no-number-2").await;
    let log = nginx.access_log();
    assert!(log.contains("GET /v1/members HTTP/1.1"), "{log}");
    assert!(log.contains("GET /v1/ledgers/roster HTTP/1.1"), "{log}");
    let found = eighteen_digit_numbers(&log);
    assert!(found.is_empty(), "the access log holds {found:?}:\n{log}");
    // The check finds what it looks for.
    assert_eq!(
        eighteen_digit_numbers(&format!("GET /v1/members?q={number}")),
        [number]
    );
}

// ---- The end-to-end test (PostgreSQL, moto, nginx, two paicha processes) ----

const BUCKET: &str = "paicha-e2e";

struct Moto {
    _process: Process,
    port: u16,
}

async fn start_moto() -> Moto {
    require(
        "moto_server",
        "pip install 'moto[server]' (an S3-compatible test server)",
    );
    let port = free_port();
    let process = Process::spawn(
        Process::command("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "moto_server",
    )
    .unwrap();
    let moto = Moto {
        _process: process,
        port,
    };
    wait_for_port(port, "moto_server");
    let created = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}/{BUCKET}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    moto
}

/// One `paicha serve` process of the deployment.
struct Instance {
    port: u16,
    env: Vec<(String, String)>,
    data_dir: tempfile::TempDir,
    log: PathBuf,
    child: Option<Process>,
}

impl Instance {
    fn new(port: u16, env: Vec<(String, String)>, log: PathBuf) -> Self {
        Self {
            port,
            env,
            data_dir: temp_dir(),
            log,
            child: None,
        }
    }

    /// Starts it and returns once it says where it listens.
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = Process::spawn(
            Process::command(env!("CARGO_BIN_EXE_paicha"))
                .arg("serve")
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .env("PAICHA_LISTEN", format!("127.0.0.1:{}", self.port))
                .env("PAICHA_DATA_DIR", self.data_dir.path())
                .stdout(Stdio::piped())
                .stderr(log),
            "paicha serve",
        )
        .unwrap();
        let line = child.first_line();
        assert!(line.contains("PostgreSQL"), "{line}");
        self.child = Some(child);
    }

    fn sigterm(&self) {
        assert!(self.child.as_ref().unwrap().signal("TERM"));
    }

    /// Waits for the process to exit (at most `within`); returns whether it exited cleanly.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let mut child = self.child.take().unwrap();
        let status = child.wait_exit(within);
        let status =
            status.unwrap_or_else(|| panic!("paicha did not exit within {within:?} of SIGTERM"));
        status.success()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn jpeg(len: usize) -> (String, Vec<u8>) {
    use sha2::Digest;
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..len).map(|i| (i * 7 % 251) as u8));
    let hash = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (hash, bytes)
}

/// Sends the head and part of the body of an upload, then drops the connection.
fn upload_cut_short(
    proxy_port: u16,
    token: &str,
    sha256: &str,
    first: u64,
    chunk: &[u8],
    total: u64,
) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", proxy_port)).unwrap();
    let last = first + chunk.len() as u64 - 1;
    write!(
        stream,
        "PUT /v1/blobs/{sha256} HTTP/1.1\r\nHost: paicha\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Range: bytes {first}-{last}/{total}\r\n\
         Content-Length: {}\r\nX-Request-Id: e2e-cut-short\r\n\r\n",
        chunk.len()
    )
    .unwrap();
    stream.write_all(&chunk[..chunk.len() / 2]).unwrap();
    stream.flush().unwrap();
    // Long enough for the bytes to reach paicha through nginx, which streams them.
    std::thread::sleep(Duration::from_millis(300));
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_behind_nginx_with_blobs_in_s3_survive_sigterm() {
    use paicha_client::Client;
    use paicha_domain::api::v1::MutationStatus;

    let Some(base) = std::env::var("PAICHA_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        println!(
            "PostgreSQL skipped: set PAICHA_TEST_DATABASE_URL to run the deployment end-to-end test"
        );
        return;
    };
    let moto = start_moto().await;
    let db = TestDb::create_on(Some(base)).await;
    let logs = temp_dir();
    // Random, as the start-up check wants (a repeated piece is refused).
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let env: Vec<(String, String)> = [
        ("PAICHA_DATABASE_URL", db.url.as_str()),
        ("PAICHA_JWT_SECRET", secret.as_str()),
        ("PAICHA_BOOTSTRAP_ADMIN", "admin:change-this-password"),
        ("PAICHA_BLOB_STORE", &format!("s3://{BUCKET}/deploy-test")),
        ("AWS_ENDPOINT", &format!("http://127.0.0.1:{}", moto.port)),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("PAICHA_TRUSTED_PROXIES", "127.0.0.1"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut a = Instance::new(free_port(), env.clone(), logs.path().join("a.log"));
    let mut b = Instance::new(free_port(), env.clone(), logs.path().join("b.log"));
    // One after the other: the first migrates the empty database.
    a.start();
    b.start();
    let mut nginx = Nginx::configure([a.port, b.port]);
    nginx.check();
    nginx.start();
    let proxy = Client::new(nginx.url());

    // A committee with a branch; its secretary's phone and the committee admin.
    // The bootstrap administrator's first sign-in sets a new password first.
    let bootstrap = ("admin", "change-this-password", "deploy-admin-password");
    let (committee, branch) = committee_with_branch(&proxy, bootstrap, "支部")
        .await
        .unwrap();
    let cadmin = committee.admin.clone();
    let committee = committee.unit;
    let (sec, tokens) = proxy.signed_in("sec", PASSWORD).await.unwrap();
    let mut mutations_sent = 0u64;

    // ---- 1. A photo: half of it, a connection dropped, resumed; another device reads it.
    let (hash, photo) = jpeg(600_000);
    let total = photo.len() as u64;
    let half = total / 2;
    let first = sec
        .put_blob_range(&hash, photo[..half as usize].to_vec(), Some((0, total)))
        .await
        .unwrap();
    assert_eq!((first.received, first.complete), (half, false));
    // Where it stands is the same whichever instance is asked.
    for instance in [&a, &b] {
        let direct = Client::new(instance.url()).with_token(tokens.access_token.clone());
        let status = direct.blob_upload_status(&hash).await.unwrap();
        assert_eq!((status.received, status.complete), (half, false));
    }
    // The rest, cut off midway: nothing of it is kept.
    let rest = photo[half as usize..].to_vec();
    let token = tokens.access_token.clone();
    let port = nginx.port;
    let cut = {
        let (hash, rest) = (hash.clone(), rest.clone());
        tokio::task::spawn_blocking(move || {
            upload_cut_short(port, &token, &hash, half, &rest, total);
        })
    };
    cut.await.unwrap();
    let started = Instant::now();
    let resumed = loop {
        match sec
            .put_blob_range(&hash, rest.clone(), Some((half, total)))
            .await
        {
            Ok(status) => break status,
            // The cut-off request may still hold the blob's lease for a moment, or its bytes
            // be on their way out; the position must never move past `half` meanwhile.
            Err(err) if started.elapsed() < Duration::from_secs(20) => {
                assert_eq!(err.code(), Some("upload_offset_mismatch"), "{err}");
                let status = sec.blob_upload_status(&hash).await.unwrap();
                assert!(status.received <= half, "{status:?}");
            }
            Err(err) => panic!("the upload does not resume: {err}"),
        }
    };
    assert!(resumed.complete, "{resumed:?}");
    let (member, form) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let response = sec
        .push(
            "phone",
            vec![
                serde_json::json!({"mutation_id": 1, "collection": "members", "id": member,
                    "org_unit_id": branch.id, "op": "put", "fields": {"name": "褚十三"}}),
                serde_json::json!({"mutation_id": 2, "collection": "info_forms", "id": form,
                    "org_unit_id": branch.id, "op": "put",
                    "fields": {"member_id": member, "confirmation_mode": "on_site", "photos": [hash]}}),
            ],
        )
        .await
        .unwrap();
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == MutationStatus::Applied)
    );
    mutations_sent += 2;
    // Another device (the committee admin's) downloads it, through either instance.
    assert_eq!(cadmin.get_blob(&hash).await.unwrap(), photo);
    assert_eq!(cadmin.get_blob(&hash).await.unwrap(), photo);
    // The content is in the bucket, not in either data dir.
    let listing = reqwest::get(format!(
        "http://127.0.0.1:{}/{BUCKET}?list-type=2&prefix=deploy-test/",
        moto.port
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        listing.contains(&format!("deploy-test/blobs/{}/{hash}", &hash[..2])),
        "{listing}"
    );
    assert!(!listing.contains("deploy-test/uploads/"), "{listing}");
    for instance in [&a, &b] {
        let blobs = instance.data_dir.path().join("blobs");
        assert!(
            !blobs.exists() || std::fs::read_dir(&blobs).unwrap().next().is_none(),
            "blob files in a data dir"
        );
    }
    // nginx's own refusals have paicha's error shape; request ids are passed on and answered.
    let http = reqwest::Client::new();
    let too_big = http
        .post(format!("{}/v1/sync/push", nginx.url()))
        .bearer_auth(&tokens.access_token)
        .header("content-type", "application/json")
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    let body: serde_json::Value = too_big.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let ready = http
        .get(format!("{}/readyz", nginx.url()))
        .header("x-request-id", "e2e-request-id")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["x-request-id"], "e2e-request-id");
    nginx.wait_for_log("rid=e2e-request-id").await;
    // A search by ID number, the old way (in the URL) and the new (in the body): both answered
    // by the instances, and the access log holds neither number.
    let number = "11010519491231002X";
    let old_way = http
        .get(format!("{}/v1/members?q={number}&limit=5", nginx.url()))
        .bearer_auth(&tokens.access_token)
        .header("x-request-id", "e2e-number-get")
        .send()
        .await
        .unwrap();
    assert_eq!(old_way.status(), 200);
    let new_way = http
        .post(format!("{}/v1/members/search", nginx.url()))
        .bearer_auth(&tokens.access_token)
        .header("x-request-id", "e2e-number-post")
        .json(&serde_json::json!({"q": number, "limit": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(new_way.status(), 200);
    nginx.wait_for_log("rid=e2e-number-post").await;
    let log = nginx.access_log();
    assert!(log.contains("GET /v1/members HTTP/1.1"), "{log}");
    let found = eighteen_digit_numbers(&log);
    assert!(found.is_empty(), "the access log holds {found:?}:\n{log}");
    let used: HashSet<&str> = log
        .lines()
        .filter(|l| l.contains("/v1/blobs/"))
        .filter_map(|l| l.split("upstream=").nth(1)?.split_whitespace().next())
        .collect();
    println!("blob requests went to {used:?}");

    // ---- 2. Long-polls: those on an instance stopped with SIGTERM answer at once and go on
    // on the other.
    let (_, cursor) = pull_everything(&sec).await.unwrap();
    let long_poll = |client: Client, cursor: String| {
        tokio::spawn(async move {
            let page = client
                .pull(&paicha_client::PullQuery {
                    cursor: Some(&cursor),
                    wait: Some(50),
                    ..Default::default()
                })
                .await
                .unwrap();
            (Instant::now(), page)
        })
    };
    // nginx (one worker) hands them to the instances in turn: two each.
    let mut polls: Vec<_> = (0..4)
        .map(|_| long_poll(sec.clone(), cursor.clone()))
        .collect();
    // Time for the requests to reach the instances (they wait there up to 50 s).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = Instant::now();
    a.sigterm();
    let mut answered = Vec::new();
    let deadline = stopped_at + Duration::from_secs(5);
    while Instant::now() < deadline && answered.len() < 2 {
        let mut waiting = Vec::new();
        for poll in polls {
            if poll.is_finished() {
                answered.push(poll.await.unwrap());
            } else {
                waiting.push(poll);
            }
        }
        polls = waiting;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        answered.len(),
        2,
        "the stopped instance's long-polls were not answered at once"
    );
    for (at, page) in &answered {
        assert!(at.duration_since(stopped_at) < Duration::from_secs(3));
        assert!(page.changes.is_empty());
    }
    assert_eq!(polls.len(), 2, "the other instance's long-polls wait on");
    assert!(
        a.wait_exit(Duration::from_secs(15)),
        "paicha exited uncleanly on SIGTERM"
    );
    // The devices ask again, through the proxy: the other instance takes them.
    for (_, page) in &answered {
        polls.push(long_poll(sec.clone(), page.cursor.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woken_by = uuid::Uuid::now_v7();
    let response = sec
        .push(
            "tablet",
            vec![
                serde_json::json!({"mutation_id": 1, "collection": "members", "id": woken_by,
                "org_unit_id": branch.id, "op": "put", "fields": {"name": "卫十四"}}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(response.results[0].status, MutationStatus::Applied);
    mutations_sent += 1;
    let pushed_at = Instant::now();
    for poll in polls {
        let (at, page) = tokio::time::timeout(Duration::from_secs(10), poll)
            .await
            .expect("a long-poll was not woken by the push")
            .unwrap();
        assert!(at.duration_since(pushed_at) < Duration::from_secs(5));
        assert!(page.changes.iter().any(|c| c.id == woken_by));
    }
    a.start();

    // ---- 3. Pushes through the proxy are applied exactly once while an instance is stopped
    // with SIGTERM mid-run and started again. Each device retries a failed push as it is.
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut devices = Vec::new();
    const BATCHES: i64 = 25;
    const PER_BATCH: i64 = 4;
    for device in 0..4 {
        let (sec, acknowledged, branch_id) = (sec.clone(), acknowledged.clone(), branch.id);
        devices.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut retries = 0;
            for n in 0..BATCHES {
                let batch: Vec<uuid::Uuid> = (0..PER_BATCH).map(|_| uuid::Uuid::now_v7()).collect();
                let mutations: Vec<serde_json::Value> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        serde_json::json!({"mutation_id": n * 10 + i as i64 + 1,
                            "collection": "members", "id": id, "org_unit_id": branch_id,
                            "op": "put", "fields": {"name": format!("党员{device}-{n}-{i}")}})
                    })
                    .collect();
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match sec
                        .push(&format!("phone-{device}"), mutations.clone())
                        .await
                    {
                        Ok(response) => {
                            for r in &response.results {
                                // A retry of a push that had arrived gets its first result.
                                assert!(
                                    r.status == MutationStatus::Applied
                                        || (attempt > 1 && r.status == MutationStatus::Duplicate),
                                    "{r:?} on attempt {attempt}"
                                );
                            }
                            break;
                        }
                        Err(err) => {
                            assert!(attempt < 50, "push keeps failing: {err}");
                            if retries < 3 {
                                println!("device {device}: push failed, retried: {err}");
                            }
                            retries += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                ids.extend(batch);
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            (ids, retries)
        }));
    }
    while acknowledged.load(std::sync::atomic::Ordering::Relaxed) < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.sigterm();
    let in_flight = acknowledged.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        b.wait_exit(Duration::from_secs(30)),
        "paicha exited uncleanly on SIGTERM"
    );
    b.start();
    let mut pushed = Vec::new();
    let mut retries = 0;
    for device in devices {
        let (ids, r) = device.await.unwrap();
        pushed.extend(ids);
        retries += r;
    }
    println!(
        "SIGTERM after {in_flight} of {} batches; {retries} pushes retried",
        4 * BATCHES
    );
    assert!(
        in_flight < (4 * BATCHES) as usize,
        "the stop came after the pushes"
    );
    mutations_sent += (4 * BATCHES * PER_BATCH) as u64;
    let (changes, _) = pull_everything(&cadmin).await.unwrap();
    let seen: Vec<uuid::Uuid> = changes.iter().map(|c| c.id).collect();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a record came twice in a pull");
    for id in &pushed {
        assert!(unique.contains(id), "an acknowledged push is missing: {id}");
    }
    // Exactly once: the audit trail has one entry per mutation sent, and its chain holds.
    let verify = Command::new(env!("CARGO_BIN_EXE_paicha"))
        .args(["audit", "verify"])
        .env_clear()
        .env("PAICHA_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "{}：{mutations_sent} 条记录，哈希链完整",
            committee.id
        )),
        "expected {mutations_sent} audit entries: {out}"
    );

    drop(nginx);
    drop(a);
    drop(b);
    drop(db);
}
