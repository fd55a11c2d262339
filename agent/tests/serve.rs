//! `serve` end to end: the real binary on a loopback port, the mock
//! CreateSession endpoint behind it, and raw HTTP clients in front.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const CREDS: &str = "/latest/meta-data/iam/security-credentials";
const TTL: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN: &str = "x-aws-ec2-metadata-token";

/// A running `serve`, killed (by PID) and reaped on drop.
struct Serve {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = credential_args(
        Box::leak(fx("p256.pem").into_boxed_str()),
        Box::leak(fx("p256.pkcs8.pem").into_boxed_str()),
        url,
    );
    args[0] = "serve";
    args.extend(["--port", "0"]);
    args.extend(extra);
    args
}

/// Starts `serve` and waits for its `export AWS_EC2_METADATA_SERVICE_ENDPOINT=`
/// line; `Err(stderr)` if it exits first.
fn start(args: &[&str]) -> Result<Serve, (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aws_signing_helper"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    {
        let pipe = child.stderr.take().unwrap();
        let stderr = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) =
                    line.strip_prefix("export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:")
                {
                    let _ = tx.send(rest.trim_end_matches('/').parse::<u16>().unwrap());
                }
                let mut s = stderr.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(port) = rx.recv_timeout(Duration::from_millis(20)) {
            return Ok(Serve {
                child,
                port,
                stderr,
            });
        }
        if let Some(status) = child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(100));
            return Err((status.code(), stderr.lock().unwrap().clone()));
        }
        assert!(Instant::now() < deadline, "serve did not start");
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads the answer until the server closes.
fn raw(port: u16, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_reply(&out)
}

fn parse_reply(out: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(out);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap();
    assert_eq!(body.len(), len, "Content-Length matches");
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    raw(port, req.as_bytes())
}

fn token(port: u16, ttl: &str) -> String {
    let r = request(port, "PUT", "/latest/api/token", &[(TTL, ttl)]);
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

fn credentials(port: u16, token: &str) -> serde_json::Value {
    let r = request(
        port,
        "GET",
        &format!("{CREDS}/edge-gateway"),
        &[(TOKEN, token)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    serde_json::from_str(&r.body).unwrap()
}

fn is_imds_time(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[4] == b'-'
}

#[test]
fn serves_credentials_the_way_imds_does() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &["--session-duration", "900"])).unwrap();
    let stderr = s.stderr.lock().unwrap().clone();
    assert!(
        stderr.contains(&format!("Local server started on port: {}", s.port)),
        "{stderr}"
    );

    // The token, with and without the trailing slash; the TTL header comes back.
    for path in ["/latest/api/token", "/latest/api/token/"] {
        let r = request(s.port, "PUT", path, &[]);
        assert_eq!((r.status, r.header(TTL)), (200, Some("21600")), "{r:?}");
        assert_eq!(r.body.len(), 100);
    }
    let t = token(s.port, "300");
    for path in [CREDS.to_owned(), format!("{CREDS}/")] {
        let r = request(s.port, "GET", &path, &[(TOKEN, &t)]);
        assert_eq!((r.status, r.body.as_str()), (200, "edge-gateway"), "{r:?}");
        let left: u32 = r.header(TTL).unwrap().parse().unwrap();
        assert!((298..=300).contains(&left), "{left}");
    }
    let mut seen = Vec::new();
    for path in ["edge-gateway", "edge-gateway/"] {
        let r = request(s.port, "GET", &format!("{CREDS}/{path}"), &[(TOKEN, &t)]);
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.header(TTL).is_some());
        assert!(r.body.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["Code"], "Success");
        assert_eq!(v["Type"], "AWS-HMAC");
        for k in ["AccessKeyId", "SecretAccessKey", "Token"] {
            assert!(!v[k].as_str().unwrap().is_empty(), "{k}");
        }
        assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
        assert!(is_imds_time(v["Expiration"].as_str().unwrap()), "{v}");
        assert!(is_imds_time(v["LastUpdated"].as_str().unwrap()), "{v}");
        seen.push(v["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen[0], seen[1]);
    // One CreateSession at start-up, answered from the cache ever since.
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].verdict.is_accepted());
    assert_eq!(
        String::from_utf8_lossy(&requests[0].body),
        r#"{"durationSeconds":900}"#
    );
}

#[test]
fn status_codes_for_bad_requests() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &[])).unwrap();
    let p = s.port;
    let t = token(p, "60");
    let cases: Vec<(Reply, u16, &str)> = vec![
        (
            request(p, "PUT", "/latest/api/token", &[(TTL, "0")]),
            400,
            "invalid token TTL\n",
        ),
        (
            request(p, "PUT", "/latest/api/token", &[(TTL, "21601")]),
            400,
            "invalid token TTL\n",
        ),
        (
            request(
                p,
                "PUT",
                "/latest/api/token",
                &[(TTL, "99999999999999999999999")],
            ),
            400,
            "invalid token TTL\n",
        ),
        (
            request(p, "PUT", "/latest/api/token", &[(TTL, "-1")]),
            400,
            "invalid token TTL\n",
        ),
        (
            request(
                p,
                "PUT",
                "/latest/api/token",
                &[("X-Forwarded-For", "203.0.113.9")],
            ),
            400,
            "unable to process requests with X-Forwarded-For header\n",
        ),
        (
            request(p, "GET", "/latest/api/token", &[]),
            405,
            "method not allowed\n",
        ),
        (
            request(p, "POST", CREDS, &[(TOKEN, &t)]),
            405,
            "method not allowed\n",
        ),
        (request(p, "GET", CREDS, &[]), 401, "no token provided\n"),
        (
            request(p, "GET", CREDS, &[(TOKEN, "forged")]),
            401,
            "invalid token provided\n",
        ),
        (
            request(p, "GET", &format!("{CREDS}/edge-gateway"), &[]),
            401,
            "no token provided\n",
        ),
        (
            request(p, "GET", &format!("{CREDS}/other-role"), &[(TOKEN, &t)]),
            404,
            "404 page not found\n",
        ),
        (
            request(
                p,
                "GET",
                &format!("{CREDS}/../../api/token"),
                &[(TOKEN, &t)],
            ),
            404,
            "404 page not found\n",
        ),
        (
            request(p, "GET", &format!("{CREDS}/edge-gateway/x"), &[(TOKEN, &t)]),
            404,
            "404 page not found\n",
        ),
        (
            request(p, "GET", "/latest/meta-data/", &[(TOKEN, &t)]),
            404,
            "404 page not found\n",
        ),
        (request(p, "GET", "/", &[]), 404, "404 page not found\n"),
    ];
    for (reply, status, body) in cases {
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (status, body),
            "{reply:?}"
        );
    }
    // A token expires after its TTL (whole seconds; at least the TTL).
    let short = token(p, "1");
    assert_eq!(request(p, "GET", CREDS, &[(TOKEN, &short)]).status, 200);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(request(p, "GET", CREDS, &[(TOKEN, &short)]).status, 401);
    assert_eq!(request(p, "GET", CREDS, &[(TOKEN, &t)]).status, 200);
}

#[test]
fn the_oldest_expiring_token_is_evicted_at_256() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &[])).unwrap();
    let first = token(s.port, "120");
    let mut rest = Vec::new();
    for _ in 0..255 {
        rest.push(token(s.port, "21600"));
    }
    assert_eq!(
        request(s.port, "GET", CREDS, &[(TOKEN, &first)]).status,
        200
    );
    let newest = token(s.port, "21600");
    assert_eq!(
        request(s.port, "GET", CREDS, &[(TOKEN, &first)]).status,
        401
    );
    assert_eq!(
        request(s.port, "GET", CREDS, &[(TOKEN, &newest)]).status,
        200
    );
    assert_eq!(
        request(s.port, "GET", CREDS, &[(TOKEN, &rest[0])]).status,
        200
    );
}

#[test]
fn hostile_requests_get_a_status_and_the_server_keeps_serving() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &["--debug"])).unwrap();
    let p = s.port;
    let mut huge = b"GET / HTTP/1.1\r\nX-Huge: ".to_vec();
    huge.resize(1 << 20, b'a');
    let mut many = String::from("GET / HTTP/1.1\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(),
            400,
        ),
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (b"GET /latest/api/token HTTP/9.9\r\n\r\n".to_vec(), 400),
        (
            b"PUT http://evil.example/latest/api/token HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"PUT /latest/api/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            501,
        ),
        (
            b"PUT /latest/api/token HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n".to_vec(),
            413,
        ),
        (many.into_bytes(), 431),
        (huge, 431),
    ];
    for (req, status) in cases {
        let mut st = TcpStream::connect(("127.0.0.1", p)).unwrap();
        st.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        // The server may answer before the whole request is sent.
        let _ = st.write_all(&req);
        let mut out = Vec::new();
        let _ = st.read_to_end(&mut out);
        let r = parse_reply(&out);
        assert_eq!(
            r.status,
            status,
            "{:?} -> {r:?}",
            String::from_utf8_lossy(&req[..req.len().min(60)])
        );
    }
    // Clients that connect and send nothing, or half a request, are cut off
    // (5 s) and do not stop others from being served meanwhile.
    let silent: Vec<TcpStream> = (0..10)
        .map(|i| {
            let mut c = TcpStream::connect(("127.0.0.1", p)).unwrap();
            if i % 2 == 0 {
                c.write_all(b"PUT /latest/api/tok").unwrap();
            }
            c
        })
        .collect();
    let t0 = Instant::now();
    let t = token(p, "60");
    assert_eq!(credentials(p, &t)["Code"], "Success");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "served while others stall"
    );
    for mut c in silent {
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        assert!(
            out.is_empty() || out.starts_with(b"HTTP/1.1 408 "),
            "{out:?}"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(12));
    // Still serving, and nothing secret or alarming in the log, even with --debug.
    let v = credentials(p, &t);
    let log = s.stderr.lock().unwrap().clone();
    assert!(!log.contains("panicked"), "{log}");
    for secret in [
        t.as_str(),
        v["SecretAccessKey"].as_str().unwrap(),
        v["Token"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "a secret was logged: {log}");
    }
}

#[test]
fn start_up_failures_exit_1_with_the_reason() {
    let denied = mock(Behaviour::Status(
        403,
        "AccessDeniedException".into(),
        "Untrusted signing certificate".into(),
    ));
    let url = denied.url();
    let (code, stderr) = start(&serve_args(&url, &[])).err().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("aws_signing_helper: "), "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");

    let ok = mock(Behaviour::Normal);
    let url = ok.url();
    let mut bad_role = serve_args(&url, &[]);
    let i = bad_role.iter().position(|a| *a == ROLE).unwrap();
    bad_role[i] = "arn:aws:iam::123456789012:user/not-a-role";
    let out = run(&bad_role, &[]);
    expect_failure(&out, "invalid role ARN");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let mut args = serve_args(&url, &[]);
    let i = args.iter().position(|a| *a == "0").unwrap();
    args[i] = &port;
    let out = run(&args, &[]);
    expect_failure(&out, "failed to create listener");
    assert_eq!(
        ok.request_count(),
        0,
        "no CreateSession before the port is bound"
    );

    for bad in ["--hop-limit=0", "--hop-limit=256", "--hop-limit=-1"] {
        let out = run(&serve_args(&url, &[bad]), &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--hop-limit"));
    }
}

#[test]
fn keeps_serving_cached_credentials_when_the_endpoint_goes_away() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &[])).unwrap();
    let t = token(s.port, "60");
    let before = credentials(s.port, &t);
    mock.stop();
    for _ in 0..5 {
        let after = credentials(s.port, &t);
        assert_eq!(after["AccessKeyId"], before["AccessKeyId"]);
        assert_eq!(after["Expiration"], before["Expiration"]);
    }
}

/// Many clients doing PUT token + GET credentials at once, plus stalling
/// clients; bounded in requests and time. Prints the figures (run with
/// `--nocapture` to see them).
#[test]
fn load_many_clients_and_slow_ones() {
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 450;
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let s = start(&serve_args(&url, &[])).unwrap();
    let p = s.port;
    let pid = s.child.id();
    let rss = move |field: &str| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let run_round = |rounds: usize| -> Vec<Duration> {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut lat = Vec::with_capacity(rounds * 2);
                    for _ in 0..rounds {
                        let t0 = Instant::now();
                        let t = token(p, "60");
                        lat.push(t0.elapsed());
                        let t1 = Instant::now();
                        let v = credentials(p, &t);
                        lat.push(t1.elapsed());
                        assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
                    }
                    lat
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    };
    // Stalling clients for the whole run: they hold a worker each until cut off.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow: Vec<_> = (0..8)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let mut c = TcpStream::connect(("127.0.0.1", p)).unwrap();
                    for b in b"PUT /latest/api/" {
                        if stop.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let _ = c.write_all(&[*b]);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let warm = run_round(ROUNDS / 3);
    let rss_warm = rss("VmRSS:");
    let mut lat = run_round(ROUNDS - ROUNDS / 3);
    let elapsed = started.elapsed();
    let rss_end = rss("VmRSS:");
    let peak = rss("VmHWM:");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in slow {
        t.join().unwrap();
    }
    lat.extend(warm);
    lat.sort();
    let n = lat.len();
    let pct = |q: f64| lat[((n as f64 * q) as usize).min(n - 1)];
    println!(
        "serve load: {n} requests by {CLIENTS} clients (+8 stalling) in {:.2} s = {:.0} req/s; \
         latency p50 {:?} p99 {:?} max {:?}; RSS after warm-up {rss_warm} KiB, at end {rss_end} KiB, peak {peak} KiB",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat[n - 1]
    );
    assert_eq!(n, CLIENTS * ROUNDS * 2);
    assert!(elapsed < Duration::from_secs(120), "bounded in time");
    // Memory is flat: the second, larger phase does not grow it materially.
    assert!(
        rss_end <= rss_warm + 4096,
        "RSS grew from {rss_warm} KiB to {rss_end} KiB"
    );
    assert_eq!(mock.request_count(), 1, "one CreateSession for all of it");
}
