//! The TLS mode (checked with a rustls client trusting ca.pem) and the `mock-rolesanywhere` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rolesanywhere_mock::{MockConfig, MockServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

fn tls_send(port: u16, server_name: &str, bytes: &[u8]) -> HttpResponse {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixtures().join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(bytes).unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).unwrap();
    parse_response(&out)
}

#[test]
fn tls_mode_answers_over_rustls() {
    let config = MockConfig::from_fixture_dir(fixtures())
        .unwrap()
        .with_fixture_tls(fixtures())
        .unwrap();
    let srv = MockServer::start(config).unwrap();
    let port = srv.port();
    assert_eq!(srv.url(), format!("https://localhost:{port}"));

    let mut req = SignedRequest::new("rsa2048", "rsa2048.pkcs8.pem", port);
    req.host = format!("localhost:{port}");
    let resp = tls_send(port, "localhost", &req.to_bytes());
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert!(
        resp.json()["credentialSet"][0]["credentials"]["accessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );

    // The certificate also names 127.0.0.1.
    let req = SignedRequest::new("p384", "p384.pkcs8.pem", port);
    assert_eq!(tls_send(port, "127.0.0.1", &req.to_bytes()).status, 201);

    // Plain HTTP to the TLS port gets nothing useful, and the server carries on.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut junk = Vec::new();
    let _ = tcp.read_to_end(&mut junk);
    assert!(!junk.starts_with(b"HTTP/1.1"));
    assert_eq!(srv.request_count(), 2);
    srv.stop();
}

/// Kills the child on drop so a failed assertion never leaves it running.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_bin(args: &[&str]) -> (Reaper, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_mock-rolesanywhere"))
        .arg("--fixtures")
        .arg(fixtures())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reaper = Reaper(child);
    let stdout = reaper.0.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .trim()
        .to_owned();
    (reaper, url)
}

fn wait_exit(reaper: &mut Reaper, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = reaper.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "the binary did not exit in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_serves_then_exits_after_max_requests() {
    let (mut child, url) = spawn_bin(&["--max-requests", "2", "--timeout-secs", "60"]);
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    assert_eq!(send(port, &req.to_bytes()).status, 201);
    assert_eq!(
        send(port, b"GET /sessions HTTP/1.1\r\nHost: x\r\n\r\n").status,
        405
    );
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success());
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("POST /sessions -> 201 (accepted)"),
        "{stderr}"
    );
    assert!(stderr.contains("GET /sessions -> 405"), "{stderr}");
    assert!(!stderr.contains("Signature="), "{stderr}");
}

#[test]
fn binary_tls_behaviour_and_timeout() {
    let (mut child, url) = spawn_bin(&["--tls", "--behaviour", "throttle", "--timeout-secs", "1"]);
    let port: u16 = url
        .strip_prefix("https://localhost:")
        .unwrap()
        .parse()
        .unwrap();
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.host = format!("localhost:{port}");
    let resp = tls_send(port, "localhost", &req.to_bytes());
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("x-amzn-errortype"), Some("ThrottlingException"));
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success());
}

#[test]
fn binary_rejects_a_missing_fixture_dir() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-rolesanywhere"))
        .args(["--fixtures", "/nonexistent/fixtures", "--timeout-secs", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ca.pem"), "{err}");
}
