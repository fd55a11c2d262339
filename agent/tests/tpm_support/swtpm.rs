//! Processes for the TPM tests: swtpm on free loopback ports (killed by PID
//! on drop), the TPM tools, and the helper run without a terminal or on a
//! pseudo-terminal.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running swtpm, killed by PID when dropped.
pub struct Swtpm {
    child: Child,
    pub port: u16,
    pub tcti: String,
}

impl Swtpm {
    /// Starts swtpm on `state` (a folder) on Unix sockets in it; the TCTI
    /// is `swtpm:path=...`, which tpm2-tools 5.4 (tpm2-tss 3.2) cannot use.
    pub fn start_unix(state: &Path) -> Swtpm {
        let (data, ctrl) = (state.join("tpm.sock"), state.join("ctrl.sock"));
        let mut child = Command::new("swtpm")
            .args(["socket", "--tpm2"])
            .arg("--server")
            .arg(format!("type=unixio,path={}", data.display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}", ctrl.display()))
            .args(["--flags", "not-need-init,startup-clear"])
            .arg("--tpmstate")
            .arg(format!("dir={}", state.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm is not installed (apt-get install swtpm swtpm-tools; .ci/run does)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::os::unix::net::UnixStream::connect(&ctrl).is_err() {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("swtpm did not listen on {} within 5 s", ctrl.display());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Swtpm {
            child,
            port: 0,
            tcti: format!("swtpm:path={}", data.display()),
        }
    }

    /// Starts swtpm on `state` (a folder) on two free loopback ports.
    pub fn start(state: &Path) -> Swtpm {
        let mut last_error = String::new();
        for _ in 0..20 {
            let (port, ctrl) = free_port_pair();
            let log = state.join("swtpm.log");
            let mut child = Command::new("swtpm")
                .args(["socket", "--tpm2"])
                .arg("--server")
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={ctrl},bindaddr=127.0.0.1"))
                .args(["--flags", "not-need-init,startup-clear"])
                .arg("--tpmstate")
                .arg(format!("dir={}", state.display()))
                .arg("--pid")
                .arg(format!("file={}", state.join("swtpm.pid").display()))
                .arg("--log")
                .arg(format!("file={},level=1", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("swtpm is not installed (apt-get install swtpm swtpm-tools; .ci/run does)");
            // Ready once the control port accepts; gone if a port was taken.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use std::io::Read;
                        let _ = e.read_to_string(&mut err);
                    }
                    last_error = format!("swtpm exited with {status}: {err}");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", ctrl)).is_ok() {
                    return Swtpm {
                        child,
                        port,
                        tcti: format!("swtpm:host=127.0.0.1,port={port}"),
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("swtpm did not start listening within 5 s");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("could not start swtpm: {last_error}");
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two consecutive free loopback ports (swtpm's server and control).
fn free_port_pair() -> (u16, u16) {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port == u16::MAX {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return (port, port + 1);
        }
    }
}

/// Runs a tool against the TPM at `tcti`; panics with its stderr on failure.
pub fn tool(dir: &Path, tcti: &str, program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TPM2TOOLS_TCTI", tcti)
        .env("TPM2OPENSSL_TCTI", tcti)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is not installed ({e}); .ci/run installs tpm2-tools, tpm2-openssl")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub use crate::common::run_detached;

/// Runs the helper on a pseudo-terminal (util-linux `script`) and types one
/// line of `input` after each password prompt appears (and echo is off): for
/// the prompt tests. Returns what the terminal showed and whether it exited 0.
/// Gives up after 30 s.
pub fn run_on_terminal(args: &[&str], env: &[(&str, &str)], input: &str) -> (String, bool) {
    use std::io::{Read, Write};
    let mut line = String::from("exec ");
    line.push_str(&shell_quote(env!("CARGO_BIN_EXE_aws_signing_helper")));
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("util-linux script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = Vec::new();
    let mut stdin = child.stdin.take().unwrap();
    let prompts = |screen: &[u8]| {
        let text = String::from_utf8_lossy(screen);
        text.matches("password:").count() + text.matches("try again:").count()
    };
    for (i, l) in input.split_inclusive('\n').enumerate() {
        // Wait for prompt i+1; stop typing once the helper is gone.
        while prompts(&screen) <= i {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => screen.extend(chunk),
                Err(_) => break,
            }
        }
        if prompts(&screen) <= i {
            break;
        }
        // rpassword turns echo off right after printing the prompt.
        std::thread::sleep(Duration::from_millis(200));
        if stdin
            .write_all(l.as_bytes())
            .and_then(|()| stdin.flush())
            .is_err()
        {
            break;
        }
    }
    drop(stdin);
    while let Ok(chunk) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        screen.extend(chunk);
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let _ = reader.join();
    (
        String::from_utf8_lossy(&screen).into_owned(),
        status.success(),
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
