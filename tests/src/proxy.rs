//! A fault-injecting proxy in front of the mock CreateSession endpoint.
//!
//! The helper signs for the proxy's `Host` and the proxy forwards the bytes
//! unchanged, so the mock still verifies every signature. On the way back the
//! proxy can shorten the credentials' lifetime (rewriting `expiration`), and
//! instead of forwarding it can answer 500, reset the connection, or answer
//! slowly. It records every credential set it relays, so a test can compare
//! what a client finally got with what the endpoint issued.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to the mock and relay its answer.
    Pass,
    /// Answer this status with an `InternalServerException`-shaped body.
    Status(u16),
    /// Close the connection with a TCP reset, no answer.
    Reset,
    /// Wait this long, then forward.
    Slow(Duration),
}

/// Credentials the endpoint issued (as relayed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// `accessKeyId`.
    pub access_key_id: String,
    /// `secretAccessKey`.
    pub secret_access_key: String,
    /// `sessionToken`.
    pub session_token: String,
    /// `expiration`, as sent to the client.
    pub expiration: String,
}

struct Plan {
    queue: VecDeque<Fault>,
    default: Fault,
    lifetime: Option<u64>,
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<Plan>,
    issued: Mutex<Vec<Issued>>,
    faults: AtomicUsize,
    stop: AtomicBool,
}

/// The running proxy on 127.0.0.1; stops on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream.strip_prefix("http://").unwrap().parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(Plan {
                queue: VecDeque::new(),
                default: Fault::Pass,
                lifetime: None,
            }),
            issued: Mutex::new(Vec::new()),
            faults: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || handle(&s, conn));
            }
        });
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next requests get these faults, in order (then the default).
    pub fn fail_next(&self, faults: &[Fault]) {
        self.shared.plan.lock().unwrap().queue.extend(faults);
    }

    /// What requests get when no queued fault is left.
    pub fn set_default(&self, fault: Fault) {
        self.shared.plan.lock().unwrap().default = fault;
    }

    /// Rewrites the expiration of issued credentials to now + `secs`.
    pub fn set_lifetime(&self, secs: Option<u64>) {
        self.shared.plan.lock().unwrap().lifetime = secs;
    }

    /// Every credential set relayed so far.
    pub fn issued(&self) -> Vec<Issued> {
        self.shared.issued.lock().unwrap().clone()
    }

    /// How many requests got a fault instead of the mock's answer.
    pub fn faults(&self) -> usize {
        self.shared.faults.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Reads one HTTP message (head + Content-Length body), bounded in size and time.
fn read_message(s: &mut TcpStream, until_eof: bool) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
        if let (false, Some(end)) = (until_eof, head_end) {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if buf.len() >= end + 4 + len {
                return Some(buf);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || buf.len() > 1 << 20 {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        match s.read(&mut chunk) {
            Ok(0) => return until_eof.then_some(buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return None,
        }
    }
}

fn handle(shared: &Shared, mut client: TcpStream) {
    let Some(request) = read_message(&mut client, false) else {
        return;
    };
    let (fault, lifetime) = {
        let mut plan = shared.plan.lock().unwrap();
        let f = plan.queue.pop_front().unwrap_or(plan.default);
        (f, plan.lifetime)
    };
    match fault {
        Fault::Status(code) => {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            let body = r#"{"message":"fault injected by the test proxy"}"#;
            let answer = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\nX-Amzn-ErrorType: InternalServerException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes());
            let _ = client.shutdown(Shutdown::Write);
            let mut sink = [0u8; 256];
            let _ = client.set_read_timeout(Some(Duration::from_millis(200)));
            while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
        }
        Fault::Reset => {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
            drop(client);
        }
        Fault::Slow(d) => {
            std::thread::sleep(d);
            forward(shared, client, &request, lifetime);
        }
        Fault::Pass => forward(shared, client, &request, lifetime),
    }
}

fn forward(shared: &Shared, mut client: TcpStream, request: &[u8], lifetime: Option<u64>) {
    let Ok(mut up) = TcpStream::connect(shared.upstream) else {
        return;
    };
    if up.write_all(request).is_err() {
        return;
    }
    let Some(answer) = read_message(&mut up, true) else {
        return;
    };
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        let _ = client.write_all(&answer);
        return;
    };
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let body = &answer[end + 4..];
    let created = head.starts_with("HTTP/1.1 201");
    let body = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) if created => {
            let c = &mut v["credentialSet"][0]["credentials"];
            if let Some(secs) = lifetime {
                c["expiration"] = crate::iso8601(crate::unix_now() + secs).into();
            }
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            shared.issued.lock().unwrap().push(Issued {
                access_key_id: text("accessKeyId"),
                secret_access_key: text("secretAccessKey"),
                session_token: text("sessionToken"),
                expiration: text("expiration"),
            });
            serde_json::to_vec(&v).unwrap()
        }
        _ => body.to_vec(),
    };
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    let _ = client.write_all(&bytes);
    let _ = client.shutdown(Shutdown::Write);
}
