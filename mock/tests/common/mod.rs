//! Test helpers: fixtures from scripts/make-fixtures.sh, requests signed with the
//! `openssl` CLI (no workspace code), and a raw HTTP/1.1 client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rolesanywhere_mock::{Behaviour, MockConfig, MockServer};
use sha2::{Digest, Sha256};

pub const TA: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f6a1e0b-1111-2222-3333-444455556666";
pub const PROFILE: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/7d0c2b1a-aaaa-bbbb-cccc-ddddeeeeffff";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/demo/MockRole";

/// The decimal serial of fixture certificate `cert` (file stem), from `openssl x509 -serial`.
pub fn serial_of(cert: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(fixtures().join(format!("{cert}.pem")))
        .output()
        .unwrap();
    assert!(out.status.success());
    hex_to_decimal(
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .trim_start_matches("serial="),
    )
}

/// A hex string (as `openssl x509 -serial` prints it) in decimal, by long division.
pub fn hex_to_decimal(hex: &str) -> String {
    let mut digits: Vec<u32> = hex.chars().map(|c| c.to_digit(16).unwrap()).collect();
    let mut out = Vec::new();
    while digits.iter().any(|&d| d != 0) {
        let mut rem = 0;
        for d in &mut digits {
            let cur = rem * 16 + *d;
            *d = cur / 10;
            rem = cur % 10;
        }
        out.push(char::from_digit(rem, 10).unwrap());
    }
    if out.is_empty() {
        out.push('0');
    }
    out.iter().rev().collect()
}

/// The fixture folder, made once per script version under the cargo target tmp dir.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-fixtures.sh");
        let text = std::fs::read(&script).unwrap();
        let tag: String = Sha256::digest(&text)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("mock-fixtures-{tag}"));
        let status = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "make-fixtures.sh failed");
        dir
    })
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// The base64 DER of a PEM certificate: the PEM body lines joined.
pub fn pem_b64(name: &str) -> String {
    let text = String::from_utf8(read(name)).unwrap();
    text.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn scratch() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mock-scratch");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `YYYYMMDDTHHMMSSZ` computed with `date -u` (independent of the mock's own date code).
pub fn amz_date(unix: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{unix}"), "+%Y%m%dT%H%M%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Signs `data` with `openssl dgst -sha256 -sign KEY` (PKCS#1 v1.5 for RSA, DER ECDSA over SHA-256 for EC).
pub fn openssl_sign(key: &str, data: &str) -> Vec<u8> {
    let input = scratch();
    let output = input.with_extension("sig");
    std::fs::write(&input, data).unwrap();
    let status = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(fixtures().join(key))
        .arg("-out")
        .arg(&output)
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success(), "openssl dgst failed");
    let sig = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    sig
}

/// A CreateSession request to sign and send. Fields are public so tests can break one thing.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub method: String,
    pub path: String,
    /// Query as sent on the wire.
    pub query: String,
    /// Canonical query used for signing (defaults to `query`).
    pub canonical_query: Option<String>,
    pub host: String,
    pub content_type: String,
    pub amz_date: String,
    pub scope_date: Option<String>,
    pub region: String,
    pub x509_b64: String,
    pub chain_b64: Option<String>,
    pub sign_chain: bool,
    pub algorithm: String,
    pub serial: String,
    pub key: String,
    pub body: String,
    /// Body actually sent (defaults to `body`; set to tamper after signing).
    pub sent_body: Option<String>,
}

impl SignedRequest {
    /// A correct request for leaf certificate `cert` (file stem) signed with `key`.
    pub fn new(cert: &str, key: &str, port: u16) -> Self {
        let algorithm = if key.starts_with("rsa") {
            "AWS4-X509-RSA-SHA256"
        } else {
            "AWS4-X509-ECDSA-SHA256"
        };
        let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
        Self {
            method: "POST".into(),
            path: "/sessions".into(),
            query: format!(
                "profileArn={}&roleArn={}&trustAnchorArn={}",
                enc(PROFILE),
                enc(ROLE),
                enc(TA)
            ),
            canonical_query: None,
            host: format!("127.0.0.1:{port}"),
            content_type: "application/json".into(),
            amz_date: amz_date(now_unix()),
            scope_date: None,
            region: "us-east-1".into(),
            x509_b64: pem_b64(&format!("{cert}.pem")),
            chain_b64: None,
            sign_chain: true,
            algorithm: algorithm.into(),
            serial: serial_of(cert),
            key: key.into(),
            body: r#"{"durationSeconds":3600}"#.into(),
            sent_body: None,
        }
    }

    pub fn scope(&self) -> String {
        let date = self
            .scope_date
            .clone()
            .unwrap_or_else(|| self.amz_date[..8].to_owned());
        format!("{date}/{}/rolesanywhere/aws4_request", self.region)
    }

    pub fn canonical_request(&self) -> String {
        let mut headers = vec![
            ("content-type", self.content_type.clone()),
            ("host", self.host.clone()),
            ("x-amz-date", self.amz_date.clone()),
            ("x-amz-x509", self.x509_b64.clone()),
        ];
        if let (Some(chain), true) = (&self.chain_b64, self.sign_chain) {
            headers.push(("x-amz-x509-chain", chain.clone()));
        }
        let mut creq = format!(
            "{}\n{}\n{}\n",
            self.method,
            self.path,
            self.canonical_query.as_deref().unwrap_or(&self.query)
        );
        for (n, v) in &headers {
            creq.push_str(&format!("{n}:{v}\n"));
        }
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        creq.push_str(&format!(
            "\n{}\n{}",
            names.join(";"),
            hex(&Sha256::digest(self.body.as_bytes()))
        ));
        creq
    }

    pub fn string_to_sign(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.algorithm,
            self.amz_date,
            self.scope(),
            hex(&Sha256::digest(self.canonical_request().as_bytes()))
        )
    }

    pub fn signed_headers(&self) -> String {
        let mut s = "content-type;host;x-amz-date;x-amz-x509".to_owned();
        if self.chain_b64.is_some() && self.sign_chain {
            s.push_str(";x-amz-x509-chain");
        }
        s
    }

    /// The raw HTTP request bytes, signed with openssl.
    pub fn to_bytes(&self) -> Vec<u8> {
        let sig = hex(&openssl_sign(&self.key, &self.string_to_sign()));
        let body = self.sent_body.as_deref().unwrap_or(&self.body);
        let target = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut out = format!(
            "{} {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nX-Amz-Date: {}\r\nX-Amz-X509: {}\r\n",
            self.method, self.host, self.content_type, self.amz_date, self.x509_b64
        );
        if let Some(chain) = &self.chain_b64 {
            out.push_str(&format!("X-Amz-X509-Chain: {chain}\r\n"));
        }
        out.push_str(&format!(
            "Authorization: {} Credential={}/{}, SignedHeaders={}, Signature={sig}\r\n",
            self.algorithm,
            self.serial,
            self.scope(),
            self.signed_headers()
        ));
        out.push_str(&format!(
            "User-Agent: mock-tests\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        out.into_bytes()
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap().to_owned()
    }
}

pub fn parse_response(raw: &[u8]) -> HttpResponse {
    let pos = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of head");
    let head = std::str::from_utf8(&raw[..pos]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect::<Vec<_>>();
    let body = raw[pos + 4..].to_vec();
    let resp = HttpResponse {
        status,
        headers,
        body,
    };
    let len: usize = resp.header("content-length").unwrap().parse().unwrap();
    assert_eq!(len, resp.body.len(), "Content-Length mismatch");
    resp
}

/// Sends raw bytes over plain TCP and reads the answer to EOF.
pub fn send_raw(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

pub fn send(port: u16, bytes: &[u8]) -> HttpResponse {
    parse_response(&send_raw(port, bytes))
}

pub fn server() -> MockServer {
    MockServer::start(MockConfig::from_fixture_dir(fixtures()).unwrap()).unwrap()
}

pub fn server_with(behaviour: Behaviour) -> MockServer {
    let mut config = MockConfig::from_fixture_dir(fixtures()).unwrap();
    config.behaviour = behaviour;
    MockServer::start(config).unwrap()
}

pub fn assert_rejected(resp: &HttpResponse, status: u16, error_type: &str, message_part: &str) {
    assert_eq!(
        resp.status,
        status,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.header("x-amzn-errortype"), Some(error_type));
    let msg = resp.message();
    assert!(
        msg.contains(message_part),
        "message {msg:?} lacks {message_part:?}"
    );
}

pub fn assert_created(resp: &HttpResponse, duration: u64) -> serde_json::Value {
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let v = resp.json();
    let set = &v["credentialSet"][0];
    let creds = &set["credentials"];
    let akid = creds["accessKeyId"].as_str().unwrap();
    assert!(akid.starts_with("ASIA") && akid.len() == 20, "{akid}");
    assert!(
        akid.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert!(creds["secretAccessKey"].as_str().unwrap().len() >= 40);
    assert!(creds["sessionToken"].as_str().unwrap().len() >= 300);
    // Expiration: now + duration, formatted YYYY-MM-DDTHH:MM:SSZ (checked with `date`).
    let exp = creds["expiration"].as_str().unwrap();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", exp, "+%s"])
        .output()
        .unwrap();
    let exp_unix: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(exp_unix.abs_diff(now_unix() + duration) <= 5, "{exp}");
    assert_eq!(exp.len(), 20);
    assert!(exp.ends_with('Z'));
    assert_eq!(set["roleArn"], ROLE);
    assert_eq!(set["packedPolicySize"], 0);
    assert!(set["sourceIdentity"].as_str().unwrap().starts_with("CN="));
    assert!(
        set["assumedRoleUser"]["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/MockRole/")
    );
    assert!(
        set["assumedRoleUser"]["assumedRoleId"]
            .as_str()
            .unwrap()
            .starts_with("AROA")
    );
    assert!(
        v["subjectArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:rolesanywhere:us-east-1:123456789012:subject/")
    );
    v
}
