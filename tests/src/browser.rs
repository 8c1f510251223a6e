//! A real headless Chromium for the web faces' tests, driven over WebDriver by fantoccini.
//!
//! Each [`Browser`] starts a `chromedriver` of its own on a free port and one browser session.
//! Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`, with
//! `fonts-noto-cjk` for the Chinese text); `scripts/test.sh` installs them when missing. A test
//! that needs a browser and finds none **fails**, it never passes empty.
//!
//! Nothing of a browser outlives it: chromedriver is a [`Process`] (its group, Chromium and the
//! renderers included, is killed when the browser is dropped, on a panic too), Chromium is
//! started through `setpriv --pdeathsig KILL` as well (so it dies with chromedriver if the test
//! process is killed outright), and everything both write (the profile, unless the test keeps
//! one in a [`Profile`], downloads, Chromium's own temporary files through `TMPDIR`) is in a
//! folder of the kit, removed with the browser.
//!
//! Screenshots go to `target/screenshots/NAME.png`: look at them.
//!
//! The browser's console is part of what a test checks: every message Chromium logs at level
//! SEVERE (an uncaught error, a failed `console.error`, a resource that did not load, an answer
//! of 4xx or 5xx) fails the test, at the next screenshot, at [`Browser::close`] or
//! [`Browser::kill`], unless the test said beforehand that it provokes it
//! ([`Browser::expect_severe`]: an outage, a refusal it asks for). A browser dropped without
//! `close` or `kill` fails the test too (outside a panic), so no test skips the check.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::process::{Process, free_port, processes_naming, send, temp_dir, which};

/// A phone-sized window (a common mid-range Android phone), and an office screen.
pub const PHONE: (u32, u32) = (412, 915);
pub const DESKTOP: (u32, u32) = (1366, 900);

pub struct Browser {
    pub client: Client,
    driver: Process,
    /// The profile the browser runs on (the kit's, or a [`Profile`] the test keeps).
    profile: PathBuf,
    /// Where the browser saves downloads.
    pub downloads: PathBuf,
    /// SEVERE console messages the test provokes on purpose: the parts each holds, and why.
    expected_severe: Mutex<Vec<(Vec<String>, String)>>,
    /// `close` or `kill` ran: the console was checked to the end.
    finished: bool,
    // Declared last: removed once the processes writing to it are gone.
    folder: tempfile::TempDir,
}

/// A browser profile that outlives the browsers started on it (IndexedDB, the service worker's
/// cache, local storage): the same phone, reopened. A folder of the kit, removed when dropped.
pub struct Profile(tempfile::TempDir);

impl Profile {
    pub fn new() -> Self {
        Self(temp_dir())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Default for Profile {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.end();
        if !self.finished && !std::thread::panicking() {
            panic!(
                "a browser was dropped without close() or kill(): end every browser test with \
                 one of them, so that its console is checked to the end"
            );
        }
    }
}

/// The Chromium that chromedriver starts: the browser binary itself, or, where `setpriv` is, a
/// script in `folder` that starts it with SIGKILL as its parent-death signal.
fn chromium_launcher(folder: &Path) -> String {
    let binary = chromium_binary();
    let Some(setpriv) = which("setpriv") else {
        return binary;
    };
    let script = folder.join("chromium");
    let text = format!(
        "#!/bin/sh\nexec {} --pdeathsig KILL -- {binary} \"$@\"\n",
        setpriv.display()
    );
    std::fs::write(&script, text).expect("write the chromium launcher");
    let mode = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&script, mode).expect("make the chromium launcher executable");
    script.display().to_string()
}

/// Where screenshots are written: `target/screenshots/` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a window of `size`, on a fresh profile.
    pub async fn start(size: (u32, u32)) -> Self {
        Self::start_with(size, None).await
    }

    /// As [`Browser::start`], on the profile kept in `profile`: a second start on the same
    /// profile is the same phone reopened after the browser was killed.
    pub async fn start_with(size: (u32, u32), profile: Option<&Profile>) -> Self {
        let folder = temp_dir();
        let tmp = folder.path().join("tmp");
        let downloads = folder.path().join("downloads");
        let own_profile = folder.path().join("profile");
        for dir in [&tmp, &downloads, &own_profile] {
            std::fs::create_dir(dir).expect("a folder of the browser");
        }
        let profile = profile.map_or(own_profile, |p| p.path().to_path_buf());
        let port = free_port();
        let driver = Process::spawn(
            Process::command("chromedriver")
                .arg(format!("--port={port}"))
                // Chromium's own temporary folders (its singleton socket, scoped dirs) go here.
                .env("TMPDIR", &tmp)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "chromedriver",
        )
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver could not be started ({e}): install Debian's chromium, \
                 chromium-driver and fonts-noto-cjk (scripts/test.sh does this when they are missing)"
            )
        });
        let browser_args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--lang=zh-CN".to_owned(),
            format!("--window-size={},{}", size.0, size.1),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        // The console, read back by `check_console`.
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": browser_args,
                "binary": chromium_launcher(folder.path()),
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                // chromedriver takes a moment to listen.
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver: {e}"),
            }
        };
        Self {
            client,
            driver,
            profile,
            downloads,
            expected_severe: Mutex::new(Vec::new()),
            finished: false,
            folder,
        }
    }

    /// Declares that the test provokes SEVERE console messages holding every one of `parts`
    /// (an outage it stages, a refusal it asks the server for: the request's path and its
    /// status), and `why`: those do not fail it.
    pub fn expect_severe(&self, parts: &[&str], why: &str) {
        self.expected_severe
            .lock()
            .expect("expected messages")
            .push((
                parts.iter().map(|p| (*p).to_owned()).collect(),
                why.to_owned(),
            ));
    }

    /// The console messages logged since the last read (chromedriver keeps them until read),
    /// as `(level, message)`.
    pub async fn console(&self) -> Vec<(String, String)> {
        let entries = self
            .chromium_value("se/log", json!({"type": "browser"}))
            .await;
        entries
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
                        (field("level").to_owned(), field("message").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails the test on any SEVERE console message logged since the last check that the test
    /// did not declare with [`Browser::expect_severe`].
    pub async fn check_console(&self) {
        let severe: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|(level, _)| level == "SEVERE")
            .map(|(_, message)| message)
            .collect();
        let unexpected: Vec<String> = {
            let expected = self.expected_severe.lock().expect("expected messages");
            severe
                .into_iter()
                .filter(|m| {
                    !expected
                        .iter()
                        .any(|(parts, _)| parts.iter().all(|p| m.contains(p.as_str())))
                })
                .collect()
        };
        if !unexpected.is_empty() {
            let shot = self.raw_screenshot("FAILED-console").await;
            panic!(
                "the browser logged {} severe console message(s):\n{}\nscreenshot: {}",
                unexpected.len(),
                unexpected.join("\n"),
                shot.display()
            );
        }
    }

    /// Kills chromedriver's process group (Chromium and its renderers are in it) and any process
    /// still running on this browser's profile or folder, then waits (at most 5 s) until none
    /// is left, so that the profile's lock is free for the next browser.
    fn end(&mut self) {
        self.driver.kill();
        let started = Instant::now();
        loop {
            let left: Vec<u32> = [self.profile.as_path(), self.folder.path()]
                .into_iter()
                .flat_map(processes_naming)
                .collect();
            if left.is_empty() || started.elapsed() > Duration::from_secs(5) {
                return;
            }
            for pid in left {
                let _ = send("KILL", &pid.to_string());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Opens the office console at `url` (its base and a `#/…` page, or just the base) and
    /// signs in as `username` with the kit's password.
    pub async fn console_sign_in(&self, url: &str, username: &str) {
        self.goto(url).await;
        self.type_into("#username", username).await;
        self.type_into("#password", crate::PASSWORD).await;
        self.click("button[type=submit]").await;
    }

    /// Moves within the page to `hash` (`#/…`), as a tap on a link would.
    pub async fn goto_hash(&self, hash: &str) {
        self.eval(&format!("location.hash = {}; return true;", json!(hash)))
            .await;
    }

    /// Waits (up to 10 s) for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(el) => el,
            Err(e) => {
                let shot = self.raw_screenshot("FAILED-wait-for").await;
                let body = self.eval("return document.body.innerText;").await;
                panic!(
                    "no element {css}: {e}\npage text: {body}\nscreenshot: {}",
                    shot.display()
                )
            }
        }
    }

    /// Waits (up to `secs`) until `script` (a function body returning a value) returns
    /// something truthy, and returns it.
    pub async fn wait_until(&self, secs: u64, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(script).await;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if started.elapsed() > Duration::from_secs(secs) {
                let shot = self.raw_screenshot("FAILED-wait").await;
                let body = self
                    .eval(
                        "return document.body.innerText + '\\nrequests: ' + \
                         performance.getEntriesByType('resource').map(e => e.name + ' ' + e.responseStatus).join('\\n');",
                    )
                    .await;
                panic!(
                    "timed out after {secs} s waiting for: {script}\npage text: {body}\nscreenshot: {}",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    /// Clicks the element matching `css`, as a finger would: scrolled into the middle of the
    /// screen (clear of bars fixed at the top or bottom) and, while the page is still moving
    /// it (a re-render shifting the layout), tried again for up to 2 s.
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            let el = self.wait_for(css).await;
            let _ = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&el).expect("element")],
                )
                .await;
            match el.click().await {
                Ok(()) => return,
                Err(e) if started.elapsed() < Duration::from_secs(2) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn resize(&self, size: (u32, u32)) {
        self.client
            .set_window_size(size.0, size.1)
            .await
            .expect("resize");
    }

    /// Writes a screenshot to `target/screenshots/NAME.png`, then checks the console
    /// ([`Browser::check_console`]).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.raw_screenshot(name).await;
        self.check_console().await;
        path
    }

    /// Writes a screenshot, without checking the console (on the way to a failure).
    async fn raw_screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Prints the page as the browser would on paper (A4, `landscape` or portrait, the page's
    /// print stylesheet applied) to `target/screenshots/NAME.pdf`.
    pub async fn print_pdf(&self, name: &str, landscape: bool) -> PathBuf {
        use fantoccini::wd::{PrintConfiguration, PrintOrientation};
        let config = PrintConfiguration::builder()
            .orientation(if landscape {
                PrintOrientation::Landscape
            } else {
                PrintOrientation::Portrait
            })
            .build()
            .expect("print configuration");
        let pdf = self.client.print(config).await.expect("print");
        let path = screenshot_dir().join(format!("{name}.pdf"));
        std::fs::write(&path, pdf).expect("write printout");
        path
    }

    /// Every URL the page has requested so far (documents, scripts, styles, images, fetches),
    /// from the browser's own resource timing.
    pub async fn requested_urls(&self) -> Vec<String> {
        let v = self
            .eval(
                "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (up to 10 s) for a finished download whose name ends with `suffix`.
    pub async fn downloaded(&self, suffix: &str) -> PathBuf {
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(&self.downloads)
                .expect("download dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(path) = found {
                return path;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no download ending in {suffix}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks the console one last time and ends the browser.
    pub async fn close(mut self) {
        self.check_console().await;
        self.finished = true;
        let _ = self.client.clone().close().await;
    }

    /// Ends the browser at once, as when a phone's app is killed: chromedriver and the
    /// browser processes it started go, with no chance to finish anything. The console is
    /// checked first, up to the kill.
    pub async fn kill(mut self) {
        self.check_console().await;
        self.finished = true;
        self.end();
    }

    /// Runs `script` as an async function body (it may `await`) and returns its value.
    pub async fn eval_async(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];\n\
             (async () => {{ {script} }})().then(done, (e) => done({{ error: String(e && e.stack || e) }}));"
        );
        let v = self
            .client
            .execute_async(&wrapped, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
        if let Some(err) = v.get("error") {
            panic!("script threw: {err}\n{script}");
        }
        v
    }
}

/// A command of chromedriver's own (beyond W3C WebDriver): `POST session/{id}/{path}` with a
/// JSON body. Used for network conditions (`chromium/network_conditions`: offline, or
/// throughput limits in bytes per second, `-1` for none) and DevTools commands
/// (`goog/cdp/execute`).
#[derive(Debug)]
struct Chromium {
    path: &'static str,
    body: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Chromium {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

impl Browser {
    async fn chromium(&self, path: &'static str, body: Value) {
        self.chromium_value(path, body).await;
    }

    async fn chromium_value(&self, path: &'static str, body: Value) -> Value {
        self.client
            .issue_cmd(Chromium { path, body })
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path}: {e}"))
    }

    async fn network(&self, offline: bool, upload: i64, download: i64) {
        let conditions = json!({"network_conditions": {
            "offline": offline, "latency": 0,
            "upload_throughput": upload, "download_throughput": download,
        }});
        self.chromium("chromium/network_conditions", conditions)
            .await;
    }
}

impl Browser {
    /// Slows the page's CPU `rate` times (4: DevTools' "mid-tier mobile"), for measuring what
    /// a phone would feel.
    pub async fn throttle_cpu(&self, rate: u32) {
        let cmd = json!({"cmd": "Emulation.setCPUThrottlingRate", "params": {"rate": rate}});
        self.chromium("goog/cdp/execute", cmd).await;
    }

    /// Cuts this browser's network (`true`) or gives it back, as when a phone loses its
    /// signal: the server stays up for everyone else.
    pub async fn set_offline(&self, offline: bool) {
        if offline {
            self.expect_severe(
                &["net::ERR_INTERNET_DISCONNECTED"],
                "the test cut the phone's network",
            );
        }
        self.network(offline, -1, -1).await;
    }

    /// Limits this browser's uploads and downloads, in bytes per second (`-1`: no limit), as
    /// on a slow mobile network.
    pub async fn throttle(&self, upload: i64, download: i64) {
        self.network(false, upload, download).await;
    }
}

fn chromium_binary() -> String {
    for candidate in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    "chromium".to_owned()
}
