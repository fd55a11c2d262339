//! A local mock of the IAM Roles Anywhere `CreateSession` endpoint.
//!
//! The mock verifies every request on its own, without any code from
//! `rolesanywhere-core` or the agent: it rebuilds the SigV4-X509 canonical
//! request from the bytes it received, checks the signature with the public
//! key of the `X-Amz-X509` certificate (`rsa`, `p256`, `p384`), and checks that
//! the certificate chains to one of the configured trust anchors. It then
//! answers like the real service (201 with a full credential set, or an error
//! with `X-Amzn-ErrorType`), unless a [`Behaviour`] says otherwise.
//!
//! # What is checked, in order (first failure wins)
//!
//! | check | answer on failure |
//! |---|---|
//! | path is `/sessions`, method is `POST` | 404 `UnknownOperationException`, 405 `MethodNotAllowedException` |
//! | well-formed HTTP/1.1, head and body at most 64 KiB, `Content-Length` present | 400 / 413 / 431 / 411 `ValidationException` |
//! | `Host`, `X-Amz-Date`, `X-Amz-X509`, `Content-Type` present once | 400 `ValidationException` "Missing required header ..." |
//! | `Authorization` present and `ALG Credential=SERIAL/DATE/REGION/rolesanywhere/aws4_request, SignedHeaders=..., Signature=<lowercase hex>` | 403 `AccessDeniedException` |
//! | `Content-Type` is `application/json` (or the Python peer's `application/x-amz-json-1.0`) | 400 |
//! | `X-Amz-Date` is `YYYYMMDDTHHMMSSZ` within `max_clock_skew_secs` of now | 403 "Signature expired: ..." |
//! | scope date = first 8 chars of `X-Amz-Date`; region = [`MockConfig::region`] | 403 "Credential should be scoped to ..." |
//! | `X-Amz-X509` is base64 DER of an RSA, P-256 or P-384 certificate | 400 / 403 |
//! | `ALG` is `AWS4-X509-RSA-SHA256` (RSA) or `AWS4-X509-ECDSA-SHA256` (EC) | 403 "Algorithm ... does not match ..." |
//! | `SERIAL` is the certificate serial in decimal, no leading zeros | 403 "Credential serial ... does not match ..." |
//! | `SignedHeaders` lowercase, sorted, unique, includes `content-type;host;x-amz-date;x-amz-x509` (+ `x-amz-x509-chain` when sent), all present | 403 |
//! | signature over the rebuilt string to sign (RSA PKCS#1 v1.5 SHA-256; ECDSA DER over SHA-256 for P-256 and P-384) | 403 "Invalid signature" |
//! | leaf chains to a trust anchor, directly or via `X-Amz-X509-Chain` (names, signatures, CA flag) | 403 "Untrusted signing certificate" |
//! | every certificate on that path is valid now | 403 "Certificate expired" |
//! | body is a JSON object; `durationSeconds` 900..=43200 (default 3600); `roleSessionName` 2..=64 of `[A-Za-z0-9+=,.@_-]` | 400 |
//! | `profileArn`, `roleArn`, `trustAnchorArn` in the query (or else the JSON body), well-formed, in the configured region | 400 |
//!
//! The canonical query is rebuilt by percent-decoding what was received (`+` is a
//! space) and re-encoding per SigV4; header values are trimmed and inner runs of
//! spaces collapsed; a repeated header's values are joined with `,`.
//! [`RecordedRequest::canonical_request`] and [`RecordedRequest::string_to_sign`]
//! keep what the mock rebuilt, to debug a signer that disagrees.
//!
//! In scope: `POST /sessions` over HTTP/1.1 on 127.0.0.1, optionally over TLS
//! (rustls with the ring provider), one request per connection.
//! Out of scope: anything but `CreateSession`, keep-alive, chunked bodies.
//!
//! ```no_run
//! # fn main() -> Result<(), rolesanywhere_mock::MockError> {
//! use rolesanywhere_mock::{MockConfig, MockServer};
//! let config = MockConfig::from_fixture_dir(std::path::Path::new("/tmp/fixtures"))?;
//! let server = MockServer::start(config)?;
//! println!("endpoint: {}", server.url());
//! // ... run the client against server.url() ...
//! for r in server.requests() {
//!     println!("{} {} -> {}", r.method, r.path, r.status);
//! }
//! server.stop();
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod chain;
mod error;
mod http;
mod response;
mod server;
mod sigv4;
mod time;
mod verify;

use std::path::Path;
use std::time::Duration;

pub use error::MockError;
pub use server::MockServer;
pub use time::{format_iso8601, parse_iso8601};

/// How the mock answers a request.
///
/// Every request is verified and recorded whatever the behaviour. Overrides
/// that simulate a service failure ([`Behaviour::Status`], [`Behaviour::Throttle`],
/// the first requests under [`Behaviour::FailFirst`], [`Behaviour::Disconnect`])
/// apply to every request. Overrides that shape a success
/// ([`Behaviour::GarbageJson`], [`Behaviour::OversizedToken`]) apply only to
/// requests that verified; a bad request still gets its real error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Behaviour {
    /// Answer like the real service: 201 for a verified request, an error otherwise.
    #[default]
    Normal,
    /// Always answer with this status, `X-Amzn-ErrorType` (omitted when empty)
    /// and `{"message": ...}`: `(status, error type, message)`.
    Status(u16, String, String),
    /// A verified request gets 201 with a body that is not JSON.
    GarbageJson,
    /// A verified request gets a valid 201 whose `sessionToken` is this many characters long.
    OversizedToken(usize),
    /// The first `n` requests get 500 `InternalServerException`; later ones are [`Behaviour::Normal`].
    FailFirst(u32),
    /// Always 429 `ThrottlingException`.
    Throttle,
    /// Wait this long before answering, then answer like [`Behaviour::Normal`].
    Slow(Duration),
    /// Read the request, then close the connection without sending a response.
    Disconnect,
}

/// Configuration of a [`MockServer`].
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// DER of the trusted root CA certificates.
    pub trust_anchors: Vec<Vec<u8>>,
    /// The region the signing scope and the ARNs must name, e.g. `us-east-1`.
    pub region: String,
    /// Serve HTTPS with this (certificate chain PEM, private key PEM); plain HTTP when `None`.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// What to answer.
    pub behaviour: Behaviour,
    /// How far `X-Amz-Date` may be from the mock's clock, in seconds (300 by default).
    pub max_clock_skew_secs: u64,
    /// Write one line per request (method, path, verdict) to stderr. Off by default.
    pub log_to_stderr: bool,
}

impl MockConfig {
    /// A configuration for the fixtures made by `scripts/make-fixtures.sh`:
    /// `DIR/ca.pem` as the only trust anchor, region `us-east-1`, no TLS,
    /// [`Behaviour::Normal`], 300 s clock skew, no logging.
    ///
    /// # Errors
    /// [`MockError::Io`] if `ca.pem` cannot be read, [`MockError::Pem`] if it
    /// holds no certificate.
    pub fn from_fixture_dir(dir: &Path) -> Result<Self, MockError> {
        let pem = read_file(&dir.join("ca.pem"))?;
        let trust_anchors = certificates_from_pem(&pem)?;
        Ok(Self {
            trust_anchors,
            region: "us-east-1".to_owned(),
            tls: None,
            behaviour: Behaviour::Normal,
            max_clock_skew_secs: 300,
            log_to_stderr: false,
        })
    }

    /// Turns on TLS with `DIR/server.pem` and `DIR/server.key` (made by
    /// `scripts/make-fixtures.sh` for `localhost` and `127.0.0.1`).
    ///
    /// # Errors
    /// [`MockError::Io`] if either file cannot be read.
    pub fn with_fixture_tls(mut self, dir: &Path) -> Result<Self, MockError> {
        let cert = read_file(&dir.join("server.pem"))?;
        let key = read_file(&dir.join("server.key"))?;
        self.tls = Some((cert, key));
        Ok(self)
    }
}

/// The outcome of verifying one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The request was well formed, correctly signed, and chained to a trust anchor.
    Accepted,
    /// The request was refused; this is the error the real service would give.
    Rejected {
        /// HTTP status, e.g. 403.
        status: u16,
        /// The `X-Amzn-ErrorType`, e.g. `AccessDeniedException`.
        error_type: String,
        /// The message, e.g. `Invalid signature`.
        message: String,
    },
}

impl Verdict {
    /// Whether the request was accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted)
    }

    /// The rejection message, or `None` when accepted.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Accepted => None,
            Self::Rejected { message, .. } => Some(message),
        }
    }
}

/// One request the mock received, with its verdict and the answer it sent.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request method, e.g. `POST`.
    pub method: String,
    /// The path part of the request target, e.g. `/sessions`.
    pub path: String,
    /// The raw query string (without `?`), as received.
    pub query: String,
    /// The headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The verification outcome.
    pub verdict: Verdict,
    /// The status the mock answered with (0 when it closed the connection without an answer).
    pub status: u16,
    /// The canonical request the mock rebuilt, when it got that far (for debugging signers).
    pub canonical_request: Option<String>,
    /// The string to sign the mock rebuilt, when it got that far.
    pub string_to_sign: Option<String>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a whole file, naming it in the error.
fn read_file(path: &Path) -> Result<Vec<u8>, MockError> {
    std::fs::read(path).map_err(|e| MockError::Io(format!("read {}", path.display()), e))
}

/// Every `CERTIFICATE` block of a PEM file, as DER.
///
/// # Errors
/// [`MockError::Pem`] if a block is malformed or there is none.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, MockError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| MockError::Pem(e.to_string()))?;
        out.push(cert.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(MockError::Pem("no CERTIFICATE block".to_owned()));
    }
    Ok(out)
}
