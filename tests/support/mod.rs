//! Running the real `oms` binary in tests.

#![allow(dead_code, unreachable_pub)]

pub mod platform;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `oms` with a clean environment: JSON logs, no DATABASE_URL unless a test sets one.
pub fn oms(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oms"));
    command.env_remove("DATABASE_URL");
    for auth in [
        "OMS_AUTH",
        "OMS_JWT_SECRET",
        "OMS_JWT_PUBLIC_KEY_FILE",
        "OMS_JWT_PRIVATE_KEY_FILE",
        "OMS_JWKS_URL",
        "OMS_JWT_ISSUER",
        "OMS_JWT_AUDIENCE",
        "OMS_JWT_ROLES_CLAIM",
        "OMS_ALLOWED_ORIGINS",
        "OMS_HTTP_ADDR",
        "OMS_NATS_URL",
        "OMS_NATS_STREAM",
    ] {
        command.env_remove(auth);
    }
    command
        .env("OMS_DATA_DIR", data_dir)
        .env("OMS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    command
}

/// A temporary OMS_DATA_DIR that the postgres OS user can reach (tempdirs are 0700).
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("oms-cli-test-")
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod tempdir");
    dir
}

/// A running `oms serve` and the address it listens on.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `oms serve` on a free port and waits until it listens.
    #[track_caller]
    pub fn start(command: Command) -> Self {
        Self::start_role(command, "all")
    }

    /// Starts `oms serve --role <role>` on a free port and waits until it listens.
    #[track_caller]
    // The child is reaped by `Drop` (or `kill_9`), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn start_role(mut command: Command, role: &str) -> Self {
        let mut child = command
            .args(["serve", "--role", role, "--http-addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning oms serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "oms serve did not start listening; its log:\n{}",
                        seen.join("\n")
                    )
                });
            if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) {
                if entry["fields"]["message"] == "listening" {
                    let addr = entry["fields"]["addr"]
                        .as_str()
                        .expect("addr")
                        .parse()
                        .expect("socket addr");
                    return Self {
                        child,
                        addr,
                        log: rx,
                    };
                }
            }
            seen.push(line);
        }
    }

    /// The status code of `GET path`.
    pub fn get_status(&self, path: &str) -> u16 {
        http_get(self.addr, path).0
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, signal).expect("signalling oms");
    }

    /// Kills with SIGKILL and reaps the process.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaping oms");
    }
}

impl Drop for Server {
    /// A failing test must not leave `oms` running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET: (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "GET", path, &[], "");
    (status, body)
}

/// A minimal HTTP/1.1 request: (status, the head's text, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").expect("writing request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    (status, head, body)
}

/// The pid of the live postmaster of the embedded cluster in `data_dir`, if any.
pub fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(data_dir.join("pg/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    (state != 'Z').then_some(pid)
}
