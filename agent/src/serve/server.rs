//! The loopback HTTP server: one short-lived thread per connection, bounded
//! in number, in bytes read and in time.
//!
//! Every connection carries one request and is closed after the answer
//! (`Connection: close`), so an idle client can never pin a worker: the whole
//! request must arrive within [`Limits::request_timeout`]. When all
//! [`Limits::max_connections`] workers are busy, a new connection waits up to
//! [`Limits::slot_wait`] for one and is otherwise answered 503 at once.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::request::{MAX_HEAD, ParseError, parse};
use super::routes::{Endpoint, Response};

/// The bounds of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections handled at once.
    pub max_connections: usize,
    /// Time for a client to send its whole request.
    pub request_timeout: Duration,
    /// Time for the answer to be written.
    pub write_timeout: Duration,
    /// How long a new connection may wait for a free worker.
    pub slot_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            request_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            slot_wait: Duration::from_millis(500),
        }
    }
}

/// Stack of a connection thread: the buffers live on the heap.
const WORKER_STACK: usize = 256 * 1024;

/// Counts busy workers.
#[derive(Default)]
struct Slots {
    busy: Mutex<usize>,
    freed: Condvar,
}

/// A taken worker slot, given back on drop.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(PoisonError::into_inner);
        *busy = busy.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

impl Slots {
    fn take(self: &Arc<Self>, max: usize, wait: Duration) -> Option<Slot> {
        let busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, wait, |b| *b >= max)
            .unwrap_or_else(PoisonError::into_inner);
        if *busy >= max {
            return None;
        }
        *busy += 1;
        Some(Slot(Arc::clone(self)))
    }
}

/// Binds `127.0.0.1:port` (0 picks a free port). Never any other address:
/// the endpoint hands out credentials to whoever can connect.
///
/// # Errors
/// The OS refused the bind (port in use, no permission).
pub fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
}

/// Reason phrases for the statuses we send.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Serialises a response, headers and body, into one buffer (one write).
fn render(resp: &Response) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(256 + resp.body.len()));
    let head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    out.extend_from_slice(head.as_bytes());
    for (name, value) in &resp.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let tail = format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    );
    out.extend_from_slice(tail.as_bytes());
    out.extend_from_slice(&resp.body);
    out
}

/// Sends the answer, then closes gracefully: half-close and drain what the
/// client still sends (briefly), so that unread bytes do not turn the close
/// into a reset that destroys the answer in flight.
fn finish(stream: &mut TcpStream, resp: &Response) {
    let bytes = render(resp);
    if stream
        .write_all(&bytes)
        .and_then(|()| stream.flush())
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let deadline = Instant::now() + Duration::from_millis(300);
    let mut sink = [0u8; 1024];
    let mut total = 0usize;
    while Instant::now() < deadline && total < 64 * 1024 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// What reading a request ended with.
enum Read1 {
    /// A complete head (and body, discarded) of this many bytes.
    Ok,
    /// Answer with this error.
    Reject(ParseError),
    /// The client stalled past the deadline after sending something.
    TimedOut,
    /// The client went away or sent nothing in time: just close.
    Gone,
}

/// Reads until the head parses (or fails), then reads and discards the body.
fn read_request(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> (Read1, usize) {
    let mut filled = 0usize;
    let (head_len, body_len) = loop {
        match parse(buf.get(..filled).unwrap_or_default()) {
            Ok(r) => break (r.head_len, r.content_length),
            Err(ParseError::Incomplete) => {}
            Err(e) => return (Read1::Reject(e), filled),
        }
        let Some(free) = buf.get_mut(filled..).filter(|f| !f.is_empty()) else {
            return (Read1::Reject(ParseError::HeadTooLarge), filled);
        };
        match read_some(stream, free, deadline) {
            Some(0) => return (Read1::Gone, filled),
            Some(n) => filled += n,
            None if filled == 0 => return (Read1::Gone, filled),
            None => return (Read1::TimedOut, filled),
        }
    };
    // The body (at most MAX_BODY) is read so the close is clean, then dropped.
    let mut left = (head_len + body_len).saturating_sub(filled);
    let mut sink = [0u8; 512];
    while left > 0 {
        let want = left.min(sink.len());
        match read_some(stream, sink.get_mut(..want).unwrap_or_default(), deadline) {
            Some(0) => return (Read1::Gone, filled),
            Some(n) => left = left.saturating_sub(n),
            None => return (Read1::TimedOut, filled),
        }
    }
    (Read1::Ok, filled)
}

/// One read with the time left before `deadline`; `None` on timeout or error.
fn read_some(stream: &mut TcpStream, into: &mut [u8], deadline: Instant) -> Option<usize> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        match stream.read(into) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Handles one connection from first byte to close.
fn handle(mut stream: TcpStream, app: &Endpoint, limits: &Limits) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.write_timeout));
    let deadline = Instant::now() + limits.request_timeout;
    // The head may carry a token: zeroized when dropped.
    let mut buf = Zeroizing::new(vec![0u8; MAX_HEAD]);
    let (outcome, filled) = read_request(&mut stream, &mut buf, deadline);
    let resp = match outcome {
        Read1::Gone => return,
        Read1::TimedOut => Response::text(408, "request timeout"),
        Read1::Reject(e) => Response::text(e.status(), &e.to_string()),
        Read1::Ok => match parse(buf.get(..filled).unwrap_or_default()) {
            Ok(req) => app.respond(&req),
            Err(e) => Response::text(e.status(), &e.to_string()),
        },
    };
    finish(&mut stream, &resp);
}

/// A running server; stops (and joins its accept thread) on drop. The
/// command serves from its main thread with [`serve`]; tests use this.
#[cfg_attr(not(test), allow(dead_code))]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(not(test), allow(dead_code))]
impl Server {
    /// Serves `app` on `listener` from a background thread.
    ///
    /// # Errors
    /// The listener has no address, or the thread could not be started.
    pub fn start(
        listener: TcpListener,
        app: Arc<Endpoint>,
        hop_limit: u32,
        limits: Limits,
    ) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name("imds-accept".to_owned())
            .spawn(move || serve(&listener, &app, hop_limit, limits, &flag))?;
        Ok(Server {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Answers 503 from the accept thread without ever blocking it: what the
/// client already sent is consumed first (without waiting), so the close is
/// not a reset that would destroy the answer.
fn turn_away(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    if stream.set_nonblocking(true).is_ok() {
        for _ in 0..(MAX_HEAD / sink.len()) {
            match stream.read(&mut sink) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
    let busy = render(&Response::text(503, "too many connections"));
    let _ = stream.write_all(&busy);
    let _ = stream.shutdown(Shutdown::Write);
}

/// Sets the IP TTL of an accepted connection's packets (the original's
/// `--hop-limit`; 1 keeps the answers from leaving the host).
///
/// # Errors
/// The OS refused the socket option.
pub fn configure(stream: &TcpStream, hop_limit: u32) -> std::io::Result<()> {
    stream.set_ttl(hop_limit)
}

/// The accept loop; returns when `stop` is set (checked after each accept).
pub fn serve(
    listener: &TcpListener,
    app: &Arc<Endpoint>,
    hop_limit: u32,
    limits: Limits,
    stop: &AtomicBool,
) {
    let slots = Arc::new(Slots::default());
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            // e.g. out of file descriptors: back off instead of spinning.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if configure(&stream, hop_limit).is_err() {
            continue;
        }
        let Some(slot) = slots.take(limits.max_connections, limits.slot_wait) else {
            turn_away(stream);
            continue;
        };
        let app = Arc::clone(app);
        let spawned = std::thread::Builder::new()
            .name("imds-conn".to_owned())
            .stack_size(WORKER_STACK)
            .spawn(move || {
                let _slot = slot;
                handle(stream, &app, &limits);
            });
        if spawned.is_err() {
            // The closure (stream and slot) is dropped: the client sees a close.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::refresh::testing::{ManualClock, Scripted};
    use crate::refresh::{Clock, Engine, Policy};
    use crate::serve::tokens::TokenStore;

    fn start(limits: Limits, hop_limit: u32) -> Server {
        let clock = ManualClock::at(1_800_000_000);
        let engine = Engine::new(
            Box::new(Scripted::new(&clock, &[Ok(3600)])),
            Arc::clone(&clock) as Arc<dyn Clock>,
            Policy::default(),
            Box::new(|_| 0),
            false,
        );
        engine.start().unwrap();
        let app = Arc::new(Endpoint {
            engine: Arc::new(engine),
            tokens: TokenStore::new(),
            role_name: "r".to_owned(),
        });
        Server::start(bind(0).unwrap(), app, hop_limit, limits).unwrap()
    }

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn binds_loopback_only_and_answers() {
        let server = start(Limits::default(), 1);
        assert!(server.addr().ip().is_loopback());
        let out = exchange(
            server.addr(),
            b"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"));
        assert!(out.contains("\r\nConnection: close\r\n"));
        assert!(out.contains("\r\nContent-Length: 100\r\n"));
    }

    #[test]
    fn hop_limit_is_set_on_accepted_sockets() {
        let listener = bind(0).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        configure(&accepted, 3).unwrap();
        assert_eq!(accepted.ttl().unwrap(), 3);
        assert!(configure(&accepted, 0).is_err(), "0 is not a TTL");
        drop(client);
    }

    #[test]
    fn bad_requests_get_clear_statuses() {
        let server = start(Limits::default(), 64);
        let cases: [(&[u8], &str); 5] = [
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
                "400",
            ),
            (
                b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                "501",
            ),
            (
                b"PUT /latest/api/token HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
                "413",
            ),
            (b"DELETE /latest/api/token HTTP/1.1\r\n\r\n", "405"),
            (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", "404"),
        ];
        for (raw, status) in cases {
            let out = exchange(server.addr(), raw);
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status} ")),
                "{raw:?}: {out}"
            );
        }
        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.resize(MAX_HEAD * 4, b'a');
        let mut s = TcpStream::connect(server.addr()).unwrap();
        let _ = s.write_all(&huge);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        // A body within the limit is read and ignored.
        let out = exchange(
            server.addr(),
            b"PUT /latest/api/token HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        );
        assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    }

    #[test]
    fn silent_and_slow_clients_are_cut_off_and_do_not_block_others() {
        let limits = Limits {
            max_connections: 4,
            request_timeout: Duration::from_millis(400),
            write_timeout: Duration::from_secs(1),
            slot_wait: Duration::from_millis(100),
        };
        let server = start(limits, 64);
        // Four clients take every worker: two silent, two that stall mid-head.
        let mut idle: Vec<TcpStream> = (0..4)
            .map(|i| {
                let mut s = TcpStream::connect(server.addr()).unwrap();
                if i % 2 == 1 {
                    s.write_all(b"GET /latest/api/tok").unwrap();
                }
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        // A fifth is turned away quickly rather than queued forever.
        let t = Instant::now();
        let out = exchange(server.addr(), b"PUT /latest/api/token HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
        assert!(t.elapsed() < Duration::from_secs(2));
        // The stalled ones are cut off at the deadline: silent ones closed,
        // partial ones told 408.
        for (i, s) in idle.iter_mut().enumerate() {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if i % 2 == 1 {
                assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
            } else {
                assert!(out.is_empty(), "{out}");
            }
        }
        // And the server serves again.
        let out = exchange(server.addr(), b"PUT /latest/api/token HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    }
}
