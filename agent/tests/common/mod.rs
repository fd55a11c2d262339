//! Shared set-up for the end-to-end tests: fixtures made by openssl, the
//! mock endpoint, and running the real binary in a clean environment.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub use rolesanywhere_mock::{Behaviour, MockConfig, MockServer};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/edge-gateway";
pub const PROFILE: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666";
pub const ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666";

/// The fixture folder, made once per machine by `scripts/make-fixtures.sh`
/// (into a private folder, then renamed, so parallel test processes agree).
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join("fixtures");
        if dir.join(".complete").exists() {
            return dir;
        }
        let tmp = base.join(format!("fixtures-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-fixtures.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(&tmp)
            .status()
            .expect("run make-fixtures.sh");
        assert!(status.success(), "make-fixtures.sh failed");
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another process won the race; its folder is complete.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        dir
    })
}

pub fn fx(name: &str) -> String {
    fixtures().join(name).to_string_lossy().into_owned()
}

pub fn mock(behaviour: Behaviour) -> MockServer {
    let mut config = MockConfig::from_fixture_dir(fixtures()).unwrap();
    config.behaviour = behaviour;
    MockServer::start(config).unwrap()
}

pub fn mock_tls() -> MockServer {
    let config = MockConfig::from_fixture_dir(fixtures())
        .unwrap()
        .with_fixture_tls(fixtures())
        .unwrap();
    MockServer::start(config).unwrap()
}

/// Runs the binary with only the environment we choose: machines here may
/// export AWS_CA_BUNDLE, SSL_CERT_FILE, proxies or AWS_* variables.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws_signing_helper"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run aws_signing_helper")
}

/// The common credential-process flags for a cert/key pair against `url`.
pub fn credential_args<'a>(cert: &'a str, key: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![
        "credential-process",
        "--certificate",
        cert,
        "--private-key",
        key,
        "--role-arn",
        ROLE,
        "--profile-arn",
        PROFILE,
        "--trust-anchor-arn",
        ANCHOR,
        "--endpoint",
        url,
    ]
}

/// Asserts success and returns the parsed credential_process JSON.
pub fn expect_credentials(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {stderr}",
        out.status
    );
    let text = std::str::from_utf8(&out.stdout).unwrap();
    assert!(
        !text.ends_with('\n'),
        "credential_process output has no trailing newline"
    );
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 5);
    let order: Vec<usize> = [
        "\"Version\"",
        "\"AccessKeyId\"",
        "\"SecretAccessKey\"",
        "\"SessionToken\"",
        "\"Expiration\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "key order as the original: {text}"
    );
    assert_eq!(v["Version"], 1);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let exp = v["Expiration"].as_str().unwrap();
    assert_eq!(exp.len(), 20, "Expiration {exp} is YYYY-MM-DDTHH:MM:SSZ");
    assert!(exp.ends_with('Z') && exp.as_bytes()[10] == b'T');
    v
}

/// Asserts the failure contract: exit 1, nothing on stdout, one stderr line
/// `aws_signing_helper: ...` containing `needle`, no panic.
pub fn expect_failure(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty on failure, got {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line of stderr, got: {stderr}");
    assert!(lines[0].starts_with("aws_signing_helper: "), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    stderr
}

/// Runs the binary in a new session (`setsid -w`) with no controlling
/// terminal, so a password or PIN prompt fails instead of waiting for a
/// person (as under an SDK's credential_process), with only `PATH` and
/// `env` in its environment.
pub fn run_detached(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(env!("CARGO_BIN_EXE_aws_signing_helper"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("setsid (util-linux) runs the binary")
}
