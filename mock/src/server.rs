//! The listener, the connection threads, TLS, and the behaviour overrides.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::chain::Cert;
use crate::http::{ReadError, Request, Response, read_request, write_response};
use crate::response::{DEFAULT_TOKEN_LEN, Rejection, created, session_body};
use crate::verify::{Context, Outcome, verify};
use crate::{Behaviour, MockConfig, MockError, RecordedRequest, Verdict};

/// Most connections served at once; the accept loop waits for a free slot beyond that.
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request, and the write timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Socket read timeout; between reads the connection checks the deadline and the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// State shared by the accept loop and the connection threads.
struct Shared {
    stop: AtomicBool,
    records: Mutex<Vec<RecordedRequest>>,
    /// Requests fully read so far (drives `FailFirst` and the session values).
    counter: AtomicU64,
    behaviour: Behaviour,
    region: String,
    max_skew: u64,
    log: bool,
    anchors: Vec<Cert>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// A running mock CreateSession server on 127.0.0.1. Stops on [`MockServer::stop`] or drop.
pub struct MockServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds 127.0.0.1 on an ephemeral port and starts serving in a background thread.
    /// Returns once the socket is listening.
    ///
    /// # Errors
    /// [`MockError::Config`] for an unparsable trust anchor, [`MockError::Pem`] /
    /// [`MockError::Tls`] for unusable TLS material, [`MockError::Io`] if binding fails.
    pub fn start(config: MockConfig) -> Result<MockServer, MockError> {
        Self::start_on(config, 0)
    }

    /// Like [`MockServer::start`], on a given port (0 picks a free one).
    ///
    /// # Errors
    /// As [`MockServer::start`].
    pub fn start_on(config: MockConfig, port: u16) -> Result<MockServer, MockError> {
        let anchors = config
            .trust_anchors
            .iter()
            .map(|der| {
                Cert::from_der(der).map_err(|e| MockError::Config(format!("trust anchor: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if anchors.is_empty() {
            return Err(MockError::Config("no trust anchor".to_owned()));
        }
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls_config(cert, key)?),
            None => None,
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| MockError::Io("bind 127.0.0.1".to_owned(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| MockError::Io("local_addr".to_owned(), e))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            records: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            behaviour: config.behaviour,
            region: config.region,
            max_skew: config.max_clock_skew_secs,
            log: config.log_to_stderr,
            anchors,
            tls: tls.clone(),
        });
        let loop_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("mock-accept".to_owned())
            .spawn(move || accept_loop(&listener, &loop_shared))
            .map_err(|e| MockError::Io("spawn the accept thread".to_owned(), e))?;
        Ok(MockServer {
            addr,
            tls: tls.is_some(),
            shared,
            accept: Some(accept),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS (the fixture
    /// server certificate names both `localhost` and `127.0.0.1`).
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.port())
        } else {
            format!("http://127.0.0.1:{}", self.port())
        }
    }

    /// Every request received so far, in the order answered, with its verdict.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests have been answered (or deliberately dropped) so far.
    pub fn request_count(&self) -> usize {
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Stops accepting, waits for the connections in flight, and joins every thread.
    pub fn stop(self) {
        drop(self);
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, MockError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MockError::Pem(format!("TLS certificate: {e}")))?;
    if certs.is_empty() {
        return Err(MockError::Pem(
            "TLS certificate: no CERTIFICATE block".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| MockError::Pem(format!("TLS key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MockError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| MockError::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            // e.g. out of file descriptors: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        workers.retain(|w| !w.is_finished());
        while workers.len() >= MAX_CONNECTIONS && !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            workers.retain(|w| !w.is_finished());
        }
        let s = Arc::clone(shared);
        match std::thread::Builder::new()
            .name("mock-conn".to_owned())
            .spawn(move || serve_connection(&s, stream))
        {
            Ok(handle) => workers.push(handle),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    for w in workers {
        let _ = w.join();
    }
}

fn serve_connection(shared: &Shared, tcp: TcpStream) {
    let _ = tcp.set_read_timeout(Some(POLL));
    let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
    let _ = tcp.set_nodelay(true);
    match &shared.tls {
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            handle(shared, &mut tls);
            tls.conn.send_close_notify();
            let _ = tls.flush();
            linger(&tls.sock);
        }
        None => {
            let mut tcp = tcp;
            handle(shared, &mut tcp);
            linger(&tcp);
        }
    }
}

/// Half-closes and drains what the client still sends, so that unread request bytes
/// do not turn the close into a reset that destroys the answer in flight.
fn linger(tcp: &TcpStream) {
    let _ = tcp.shutdown(Shutdown::Write);
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(200)));
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut sink = [0u8; 4096];
    let mut reader = tcp;
    let mut total = 0usize;
    while Instant::now() < deadline && total < 1 << 20 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

fn handle<S: Read + Write>(shared: &Shared, stream: &mut S) {
    let started = Instant::now();
    let keep_waiting = || !shared.stop.load(Ordering::SeqCst) && started.elapsed() < IO_TIMEOUT;
    let req = match read_request(stream, &keep_waiting) {
        Ok(r) => r,
        Err(ReadError::Silent) => return,
        Err(ReadError::Reject(boxed)) => {
            let (rejection, partial) = *boxed;
            let resp = rejection.to_response(&request_id(u64::MAX));
            let verdict = verdict_of::<()>(&Err(rejection));
            // Recorded before answering: a client that has its answer must
            // find its request in `requests()`.
            record(shared, partial, verdict, resp.status, None, None);
            let _ = write_response(stream, &resp);
            return;
        }
    };
    let n = shared.counter.fetch_add(1, Ordering::SeqCst);
    let now = crate::time::now_unix();
    let ctx = Context {
        anchors: &shared.anchors,
        region: &shared.region,
        max_skew: shared.max_skew,
        now,
    };
    let outcome = verify(&req, &ctx);
    let verdict = verdict_of(&outcome.result);
    let rid = request_id(n);
    let response = choose_response(shared, &outcome, n, now, &rid);
    let status = response.as_ref().map_or(0, |r| r.status);
    // Recorded before answering: a client that has its answer must find its
    // request in `requests()`.
    record(
        shared,
        req,
        verdict,
        status,
        outcome.canonical_request,
        outcome.string_to_sign,
    );
    if let Some(resp) = &response {
        let _ = write_response(stream, resp);
    }
}

/// Applies the configured [`Behaviour`] to a verification outcome.
fn choose_response(
    shared: &Shared,
    outcome: &Outcome,
    n: u64,
    now: u64,
    rid: &str,
) -> Option<Response> {
    let normal = |token_len: usize| match &outcome.result {
        Ok(session) => created(
            session_body(session, n + 1, now, token_len).into_bytes(),
            rid,
        ),
        Err(rejection) => rejection.to_response(rid),
    };
    let accepted = outcome.result.is_ok();
    Some(match &shared.behaviour {
        Behaviour::Normal => normal(DEFAULT_TOKEN_LEN),
        Behaviour::Status(status, error_type, message) => Rejection {
            status: *status,
            error_type: error_type.clone(),
            message: message.clone(),
        }
        .to_response(rid),
        Behaviour::GarbageJson if accepted => {
            created(b"<html><body>this is not JSON".to_vec(), rid)
        }
        Behaviour::OversizedToken(len) if accepted => normal(*len),
        Behaviour::GarbageJson | Behaviour::OversizedToken(_) => normal(DEFAULT_TOKEN_LEN),
        Behaviour::FailFirst(k) if n < u64::from(*k) => Rejection::internal().to_response(rid),
        Behaviour::FailFirst(_) => normal(DEFAULT_TOKEN_LEN),
        Behaviour::Throttle => Rejection::throttled().to_response(rid),
        Behaviour::Slow(delay) => {
            sleep_unless_stopped(shared, *delay);
            normal(DEFAULT_TOKEN_LEN)
        }
        Behaviour::Disconnect => return None,
    })
}

fn sleep_unless_stopped(shared: &Shared, delay: Duration) {
    let end = Instant::now() + delay;
    while !shared.stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

fn verdict_of<T>(result: &Result<T, Rejection>) -> Verdict {
    match result {
        Ok(_) => Verdict::Accepted,
        Err(r) => Verdict::Rejected {
            status: r.status,
            error_type: r.error_type.clone(),
            message: r.message.clone(),
        },
    }
}

fn request_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
}

fn record(
    shared: &Shared,
    req: Request,
    verdict: Verdict,
    status: u16,
    canonical_request: Option<String>,
    string_to_sign: Option<String>,
) {
    if shared.log {
        let what = match &verdict {
            Verdict::Accepted => "accepted".to_owned(),
            Verdict::Rejected {
                error_type,
                message,
                ..
            } => format!("rejected: {error_type}: {message}"),
        };
        eprintln!(
            "mock-rolesanywhere: {} {} -> {status} ({what})",
            req.method, req.path
        );
    }
    let rec = RecordedRequest {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
        verdict,
        status,
        canonical_request,
        string_to_sign,
    };
    shared
        .records
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(rec);
}
