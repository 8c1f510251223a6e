//! Processes and folders the kit starts and makes, and ends and removes again, whatever way the
//! test ends.
//!
//! A [`Process`] runs in a process group of its own, which dropping it kills whole (a server's
//! workers, chromedriver's browser and the browser's renderers). It is also started through
//! util-linux's `setpriv --pdeathsig KILL`, so that when the test process dies without unwinding
//! (nextest ending a test that timed out, an abort, SIGKILL) the kernel kills the child as well.
//! The signal follows the *thread* that started the child: start processes from a test's own
//! thread or a runtime's worker, never from a `spawn_blocking` closure, whose thread may end
//! while the child is still wanted.
//!
//! [`temp_dir`] makes the kit's folders, named `paicha-kit-<pid>-…` after the process that owns
//! them. They go when dropped; the first one a process makes also sweeps away the folders of
//! owners that no longer run (a test that was killed), ending any process that still names
//! such a folder on its command line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// What every folder of the kit is named after, then the owning process id.
const PREFIX: &str = "paicha-kit-";

/// A child process that ends with its owner: see the module's documentation.
pub struct Process {
    child: Child,
    what: String,
    ended: bool,
}

/// Where util-linux's `setpriv` is, if anywhere (Debian: always, it is `essential`).
fn setpriv() -> Option<PathBuf> {
    which("setpriv")
}

/// `program` as found on `PATH` (or as given, when it names a path).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

impl Process {
    /// A command for `program`, made to end with this process: a process group of its own and,
    /// where `setpriv` is, SIGKILL when the thread that starts it ends. Add arguments, the
    /// environment and stdio, then [`Process::spawn`] it.
    pub fn command(program: impl AsRef<Path>) -> Command {
        let program = program.as_ref();
        // Resolved here, so that a command with a cleared environment still finds it.
        let program = program
            .to_str()
            .and_then(which)
            .unwrap_or_else(|| program.to_path_buf());
        let mut command = match setpriv() {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
    }

    /// Starts `command` (from [`Process::command`]); `what` names it in messages.
    pub fn spawn(command: &mut Command, what: &str) -> std::io::Result<Self> {
        Ok(Self {
            child: command.spawn()?,
            what: what.to_owned(),
            ended: false,
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child's standard output, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The first line the child writes to its piped standard output (a server saying where it
    /// listens), read without sleeping. The pipe is closed afterwards.
    pub fn first_line(&mut self) -> String {
        let stdout = self
            .take_stdout()
            .unwrap_or_else(|| panic!("{}: standard output is not piped", self.what));
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        match read {
            Ok(n) if n > 0 => line.trim_end().to_owned(),
            Ok(_) => panic!("{} said nothing before it ended", self.what),
            Err(e) => panic!("{}: reading its output: {e}", self.what),
        }
    }

    /// Sends `signal` (`TERM`, `KILL`, …) to the child alone; returns whether it was sent.
    pub fn signal(&self, signal: &str) -> bool {
        send(signal, &self.child.id().to_string())
    }

    /// Waits for the child to end, at most `within`; returns how it ended, or `None` if it is
    /// still running.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.ended = true;
                return Some(status);
            }
            if started.elapsed() >= within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child and everything in its process group at once (SIGKILL), and reaps it.
    pub fn kill(&mut self) {
        if !self.ended {
            // The group's id is the child's: `process_group(0)`.
            let _ = send("KILL", &format!("-{}", self.child.id()));
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.ended = true;
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `kill -s SIGNAL -- TARGET` (a negative target is a process group); whether it was sent.
pub fn send(signal: &str, target: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A TCP port on 127.0.0.1 that nothing listens on (a moment ago).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A port on 127.0.0.1 bound and held but not listening: a connection to it is refused at once,
/// and no other test can take the port while this lives (a port from [`free_port`] may be
/// handed to another test's server or nginx the next moment, which then answers in its place).
pub struct RefusingPort {
    _socket: socket2::Socket,
    pub port: u16,
}

impl RefusingPort {
    pub fn new() -> Self {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
        socket.bind(&any.into()).expect("a port");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .expect("the bound port");
        Self {
            _socket: socket,
            port,
        }
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh folder of the kit in the system's temporary folder, removed when dropped. The first
/// call in a process sweeps away what dead owners left (see the module's documentation).
pub fn temp_dir() -> tempfile::TempDir {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(sweep);
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir()
        .expect("a temporary folder")
}

/// Removes the kit's folders whose owning process no longer runs, after ending any process that
/// still names one on its command line.
fn sweep() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        let path = entry.path();
        for pid in processes_naming(&path) {
            let _ = send("KILL", &pid.to_string());
        }
        let _ = std::fs::remove_dir_all(&path);
    }
}

/// The processes whose command line names `path` (a browser started on a profile there).
pub fn processes_naming(path: &Path) -> Vec<u32> {
    let needle = path.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}
