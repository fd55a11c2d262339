//! SoftHSM2 tokens for the PKCS#11 tests: each test gets its own token
//! folder and configuration (never the system's), filled with the fixture
//! keys and certificates through `softhsm2-util` and `pkcs11-tool`; and ways
//! to run the binary with no terminal (`setsid -w`) or on a pseudo-terminal
//! (`script`) that answers PIN prompts; and the flags and fixtures the
//! PKCS#11 test files share.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::io::{Read, Write};

use rolesanywhere_mock::RecordedRequest;

use crate::common::{ANCHOR, PROFILE, ROLE, fx};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "1234";
/// The SO PIN of every test token.
pub const SO_PIN: &str = "5678";

/// One private SoftHSM2 configuration and token folder.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    conf: String,
}

impl SoftHsm {
    /// A fresh configuration with no initialised token. Fails loudly when
    /// SoftHSM2 or OpenSC are missing (`.ci/run` installs them).
    pub fn new() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} is missing: install softhsm2 (scripts/install-deps.sh)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        SoftHsm {
            conf: conf.to_string_lossy().into_owned(),
            dir,
        }
    }

    /// The `SOFTHSM2_CONF` value.
    pub fn conf(&self) -> &str {
        &self.conf
    }

    /// The environment the binary needs.
    pub fn env(&self) -> [(&str, &str); 1] {
        [("SOFTHSM2_CONF", self.conf.as_str())]
    }

    /// A scratch path inside the test's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tool(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("{program} did not run ({e}): install softhsm2 and opensc"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Initialises a token labelled `label` with user PIN [`PIN`]; returns its slot ID.
    pub fn init_token(&self, label: &str) -> u64 {
        let out = self.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                SO_PIN,
            ],
        );
        // "The token has been initialized and is reassigned to slot 513894319"
        out.split_whitespace()
            .last()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no slot in {out:?}"))
    }

    /// Imports a PKCS#8 key (private and public objects) with `softhsm2-util`.
    pub fn import_key(&self, token: &str, pem: &str, label: &str, id_hex: &str) {
        self.tool(
            "softhsm2-util",
            &[
                "--import", pem, "--token", token, "--label", label, "--id", id_hex, "--pin", PIN,
            ],
        );
    }

    fn pkcs11_tool(&self, token: &str, extra: &[&str]) {
        let mut args = vec![
            "--module",
            MODULE,
            "--token-label",
            token,
            "--login",
            "--pin",
            PIN,
        ];
        args.extend_from_slice(extra);
        self.tool("pkcs11-tool", &args);
    }

    /// Writes a certificate object with `pkcs11-tool` (picked by `--id`,
    /// see SPEC.md's field notes).
    pub fn write_cert(&self, token: &str, pem: &str, label: &str, id_hex: &str) {
        self.pkcs11_tool(
            token,
            &[
                "--write-object",
                pem,
                "--type",
                "cert",
                "--label",
                label,
                "--id",
                id_hex,
            ],
        );
    }

    /// Writes a private key with `CKA_ALWAYS_AUTHENTICATE` (no public object).
    pub fn write_always_auth_key(&self, token: &str, pem: &str, label: &str, id_hex: &str) {
        self.pkcs11_tool(
            token,
            &[
                "--write-object",
                pem,
                "--type",
                "privkey",
                "--label",
                label,
                "--id",
                id_hex,
                "--usage-sign",
                "--always-auth",
            ],
        );
    }

    /// Writes a key object (`kind` is `privkey` or `pubkey`) with `pkcs11-tool`.
    pub fn write_key_object(&self, token: &str, pem: &str, kind: &str, label: &str, id_hex: &str) {
        self.pkcs11_tool(
            token,
            &[
                "--write-object",
                pem,
                "--type",
                kind,
                "--label",
                label,
                "--id",
                id_hex,
                "--usage-sign",
            ],
        );
    }

    /// Writes raw bytes as a certificate object (for unparsable-object tests).
    pub fn write_der_cert(&self, token: &str, der: &[u8], label: &str, id_hex: &str) {
        let path = self.path(&format!("{label}.der"));
        std::fs::write(&path, der).unwrap();
        let path = path.to_string_lossy().into_owned();
        self.pkcs11_tool(
            token,
            &[
                "--write-object",
                &path,
                "--type",
                "cert",
                "--label",
                label,
                "--id",
                id_hex,
            ],
        );
    }
}

fn base_command(program: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub use crate::common::run_detached;

/// Kills a child on drop, so a hung test never leaves it behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a run on a pseudo-terminal produced.
pub struct TtyRun {
    /// Exit code of the binary.
    pub code: Option<i32>,
    /// Everything written to the terminal (prompts, stdout and stderr; CRLF).
    pub output: String,
}

/// Runs the binary on a pseudo-terminal (`script`), typing `answers[i]`
/// after the `i`-th prompt ("Please enter" or "Please re-enter") appears.
pub fn run_on_tty(args: &[&str], env: &[(&str, &str)], answers: &[&str]) -> TtyRun {
    let mut line = shell_quote(env!("CARGO_BIN_EXE_aws_signing_helper"));
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let child = base_command("script", env)
        .env("SHELL", "/bin/sh")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (bsdutils) runs the binary on a pseudo-terminal");
    let mut child = KillOnDrop(child);
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.0.stdout.take().unwrap();
    let sink = Arc::clone(&output);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let prompts =
        |s: &str| s.matches("Please enter").count() + s.matches("Please re-enter").count();
    let mut stdin = child.0.stdin.take().unwrap();
    for (i, answer) in answers.iter().enumerate() {
        while prompts(&output.lock().unwrap()) <= i {
            assert!(
                Instant::now() < deadline,
                "prompt #{} never came: {}",
                i + 1,
                output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the binary switch echo off and start reading.
        std::thread::sleep(Duration::from_millis(100));
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not finish: {}",
            output.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = reader.join();
    let output = output.lock().unwrap().clone();
    TtyRun { code, output }
}

/// The fixture keys: (fixture name, token label and id).
pub const KEYS: [(&str, &str, &str); 3] = [
    ("rsa2048", "rsa-2048", "01"),
    ("p256", "ec-p256", "02"),
    ("p384", "ec-p384", "03"),
];

/// A token holding the three fixture keys (imported: private and public
/// objects) and their certificates under the same label and id.
pub fn standard_token(hsm: &SoftHsm, token: &str) {
    hsm.init_token(token);
    for (kind, label, id) in KEYS {
        hsm.import_key(token, &fx(&format!("{kind}.pkcs8.pem")), label, id);
        hsm.write_cert(token, &fx(&format!("{kind}.pem")), label, id);
    }
}

/// `credential-process` flags with an optional certificate and key.
pub fn cp_args(cert: Option<&str>, key: Option<&str>, url: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "credential-process",
        "--role-arn",
        ROLE,
        "--profile-arn",
        PROFILE,
        "--trust-anchor-arn",
        ANCHOR,
        "--endpoint",
        url,
        "--pkcs11-lib",
        MODULE,
    ]
    .map(String::from)
    .to_vec();
    if let Some(c) = cert {
        args.extend(["--certificate".into(), c.into()]);
    }
    if let Some(k) = key {
        args.extend(["--private-key".into(), k.into()]);
    }
    args
}

pub fn run_p11(args: &[String], hsm: &SoftHsm) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_detached(&args, &hsm.env())
}

pub fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

pub fn der_of(pem_file: &str) -> Vec<u8> {
    rolesanywhere_mock::certificates_from_pem(&std::fs::read(pem_file).unwrap())
        .unwrap()
        .remove(0)
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn algorithm(r: &RecordedRequest) -> &str {
    r.header("authorization")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
}
