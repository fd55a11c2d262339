//! Harness for the workspace's end-to-end tests: the built
//! `aws_signing_helper`, the fixture PKI, helper processes that are always
//! stopped, and [`FaultProxy`], which sits between the helper and the mock
//! CreateSession endpoint to inject failures and shorten credential lifetimes.
//!
//! The tests in `tests/` use real clients (the AWS SDK for Rust) against
//! what the helper serves or writes; see `tests/aws_config.rs` and
//! `tests/faults.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use proxy::{Fault, FaultProxy, Issued};
pub use rolesanywhere_mock::{Behaviour, MockConfig, MockServer};

/// The role the tests assume; its IMDS name is `edge-gateway`.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/edge-gateway";
/// The Roles Anywhere profile.
pub const PROFILE: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666";
/// The trust anchor.
pub const ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666";

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `target/<profile>/`, found from the running test executable
/// (`target/<profile>/deps/<test>-<hash>`).
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    assert_eq!(
        deps.file_name().unwrap(),
        "deps",
        "unexpected test location {exe:?}"
    );
    deps.parent().unwrap().to_owned()
}

/// The `aws_signing_helper` built beside this test. A test crate cannot name
/// another package's binary, so `cargo test --workspace` (which builds every
/// member's binaries first) or `cargo build -p rolesanywhere-agent` must run
/// before; a missing binary fails loudly.
pub fn helper_binary() -> PathBuf {
    let bin = target_profile_dir().join(format!(
        "aws_signing_helper{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        bin.is_file(),
        "{bin:?} is missing: run `cargo build -p rolesanywhere-agent` (or `cargo test --workspace`) first"
    );
    bin
}

/// The fixture folder (`scripts/make-fixtures.sh`), made once per target dir
/// and shared with the agent's tests (same place, same race-safe rename).
pub fn fixtures() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = target_profile_dir().parent().unwrap().join("tmp");
        std::fs::create_dir_all(&base).unwrap();
        let dir = base.join("fixtures");
        if dir.join(".complete").exists() {
            return dir;
        }
        let tmp = base.join(format!("fixtures-{}", std::process::id()));
        let status = Command::new("bash")
            .arg(workspace_root().join("scripts/make-fixtures.sh"))
            .arg(&tmp)
            .status()
            .expect("run make-fixtures.sh");
        assert!(status.success(), "make-fixtures.sh failed");
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        dir
    })
}

/// A fixture file's path.
pub fn fx(name: &str) -> String {
    fixtures().join(name).to_string_lossy().into_owned()
}

/// A mock CreateSession endpoint for the fixture CA.
pub fn mock(behaviour: Behaviour) -> MockServer {
    let mut config = MockConfig::from_fixture_dir(fixtures()).unwrap();
    config.behaviour = behaviour;
    MockServer::start(config).unwrap()
}

/// `--certificate ... --endpoint url` for the P-256 fixture identity.
pub fn credential_flags(url: &str) -> Vec<String> {
    [
        "--certificate",
        &fx("p256.pem"),
        "--private-key",
        &fx("p256.pkcs8.pem"),
        "--role-arn",
        ROLE,
        "--profile-arn",
        PROFILE,
        "--trust-anchor-arn",
        ANCHOR,
        "--endpoint",
        url,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A helper process with a clean environment; stderr is collected; killed
/// (by PID) and reaped on drop.
pub struct Helper {
    child: Child,
    stderr: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Helper {
    /// Starts `aws_signing_helper ARGS` with only PATH and `env` set.
    pub fn spawn(args: &[String], env: &[(&str, &str)]) -> Helper {
        let mut cmd = Command::new(helper_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
                let _ = tx.send(line);
            }
        });
        Helper {
            child,
            stderr,
            lines,
        }
    }

    /// Starts `serve --port 0` and returns it with its port, once it prints
    /// the `export AWS_EC2_METADATA_SERVICE_ENDPOINT=` line.
    pub fn serve(url: &str, extra: &[&str]) -> (Helper, u16) {
        let mut args = vec!["serve".to_owned(), "--port".to_owned(), "0".to_owned()];
        args.extend(credential_flags(url));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut h = Helper::spawn(&args, &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = h
                .lines
                .recv_timeout(Duration::from_millis(50))
                .unwrap_or_default();
            if let Some(rest) =
                line.strip_prefix("export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:")
            {
                let port = rest.trim_end_matches('/').parse().unwrap();
                return (h, port);
            }
            assert!(h.running(), "serve exited: {}", h.stderr());
            assert!(
                Instant::now() < deadline,
                "serve did not start: {}",
                h.stderr()
            );
        }
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// True while the process has not exited.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// One answer from the IMDS endpoint: the status and the body.
#[derive(Debug, Clone)]
pub struct ImdsReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

fn http(port: u16, request: &str) -> ImdsReply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    ImdsReply {
        status,
        body: body.to_owned(),
    }
}

/// PUT a token, then GET the role's credentials, with a raw HTTP client.
pub fn imds_credentials(port: u16) -> ImdsReply {
    let t = http(
        port,
        "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(t.status, 200, "{t:?}");
    http(
        port,
        &format!(
            "GET /latest/meta-data/iam/security-credentials/edge-gateway HTTP/1.1\r\nHost: x\r\nx-aws-ec2-metadata-token: {}\r\n\r\n",
            t.body
        ),
    )
}

/// Seconds since the epoch now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (the mock's formatter).
pub fn iso8601(t: u64) -> String {
    rolesanywhere_mock::format_iso8601(t)
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` back to seconds since the epoch.
pub fn parse_iso8601(s: &str) -> u64 {
    rolesanywhere_mock::parse_iso8601(s).unwrap_or_else(|| panic!("not YYYY-MM-DDTHH:MM:SSZ: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_round_trips() {
        assert_eq!(iso8601(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        for t in [0u64, 951_782_399, 1_709_164_800, 4_102_444_799] {
            assert_eq!(parse_iso8601(&iso8601(t)), t);
        }
    }
}
