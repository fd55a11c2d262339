//! One IAM Roles Anywhere `CreateSession` call on a microcontroller, with no
//! heap: what a bare-metal gateway does with `rolesanywhere-core`.
//!
//! The board supplies two things the core deliberately does not have:
//! - a [`Clock`] (an RTC set by NTP or GNSS; SigV4 rejects a request whose
//!   date is more than five minutes off);
//! - a transport: any [`embedded_io::Read`] + [`embedded_io::Write`] byte
//!   stream to the endpoint. On a real device that is a TLS session (for
//!   example `embedded-tls` over an `embedded-nal` TCP socket); the
//!   Roles Anywhere endpoint only speaks HTTPS. This crate stays out of TLS:
//!   the example feeds it a canned transport ([`CannedTransport`]).
//!
//! [`create_session`] parses the certificate and the P-256 key, checks that
//! they match, builds and signs the request into a caller buffer, writes it
//! as HTTP/1.1, reads the answer into a second caller buffer and parses the
//! credentials into fixed-capacity strings. Every buffer is the caller's, so
//! the RAM it needs is visible in the caller's stack frame.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

use core::fmt;

use embedded_io::{Read, Write};
use rolesanywhere_core::key::{KeyError, PrivateKey};
use rolesanywhere_core::session::response::parse_error_message;
use rolesanywhere_core::session::{
    Credentials, Endpoint, ResponseError, SessionError, SessionRequest, parse_response,
    sign_request,
};
use rolesanywhere_core::signer::{MismatchError, check_key_matches};
use rolesanywhere_core::time::UnixTime;
use rolesanywhere_core::x509::{Certificate, X509Error};

/// The test certificate compiled into the example (P-256, serial 0x0E5B0A4D,
/// `CN=embedded example leaf`, self-signed, valid 100 years). Made with:
/// ```text
/// openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out p256.sec1.der
/// openssl pkcs8 -topk8 -nocrypt -inform DER -in p256.sec1.der -outform DER -out p256.pkcs8.der
/// openssl req -new -x509 -key p256.sec1.der -keyform DER -subj "/CN=embedded example leaf" \
///   -days 36500 -set_serial 0x0E5B0A4D -sha256 -outform DER -out p256.cert.der
/// ```
/// A throwaway identity: a real device keeps its key in a secure element
/// or in protected flash, never in the firmware image.
pub const TEST_CERT_DER: &[u8] = include_bytes!("../testkey/p256.cert.der");
/// The PKCS#8 DER private key of [`TEST_CERT_DER`] (see there).
pub const TEST_KEY_DER: &[u8] = include_bytes!("../testkey/p256.pkcs8.der");

/// Where the time comes from: the board's RTC.
pub trait Clock {
    /// Seconds since the Unix epoch, UTC.
    fn now(&self) -> UnixTime;
}

/// A clock stuck at one instant (tests, and the canned example).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// Why a `CreateSession` call failed.
#[derive(Debug)]
pub enum Error<E> {
    /// The certificate is not DER X.509 we can use.
    Certificate(X509Error),
    /// The private key could not be parsed.
    Key(KeyError),
    /// The key does not belong to the certificate.
    KeyMismatch(MismatchError<KeyError>),
    /// The request could not be built or signed.
    Request(SessionError<KeyError>),
    /// The transport failed.
    Transport(E),
    /// The answer is larger than the response buffer.
    ResponseTooLarge,
    /// The answer is not HTTP/1.x.
    BadHttp,
    /// The service refused with this HTTP status; [`Buffers::error_message`]
    /// has its message.
    Status(u16),
    /// The 2xx answer does not hold credentials.
    Response(ResponseError),
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Certificate(e) => write!(f, "certificate: {e}"),
            Error::Key(e) => write!(f, "private key: {e}"),
            Error::KeyMismatch(e) => write!(f, "{e}"),
            Error::Request(e) => write!(f, "request: {e}"),
            Error::Transport(e) => write!(f, "transport: {e:?}"),
            Error::ResponseTooLarge => f.write_str("the answer is larger than the response buffer"),
            Error::BadHttp => f.write_str("the answer is not HTTP/1.x"),
            Error::Status(code) => write!(f, "CreateSession answered HTTP {code}"),
            Error::Response(e) => write!(f, "{e}"),
        }
    }
}

/// The buffers one call needs. 4 KiB each covers a P-256 leaf, one
/// intermediate and the longest session tokens seen in practice.
pub struct Buffers<const REQ: usize, const RESP: usize> {
    /// The signed request's header values and body.
    request: [u8; REQ],
    /// The HTTP answer, head and body.
    response: [u8; RESP],
    /// How much of `response` the answer fills.
    response_len: usize,
}

impl<const REQ: usize, const RESP: usize> Buffers<REQ, RESP> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            request: [0; REQ],
            response: [0; RESP],
            response_len: 0,
        }
    }

    /// The last answer, head and body.
    pub fn answer(&self) -> &[u8] {
        self.response.get(..self.response_len).unwrap_or_default()
    }

    /// The service's message in the last answer (after [`Error::Status`]).
    pub fn error_message(&self) -> Option<heapless::String<256>> {
        let (_, body) = split_http(self.answer())?;
        parse_error_message(body)
    }
}

impl<const REQ: usize, const RESP: usize> Default for Buffers<REQ, RESP> {
    fn default() -> Self {
        Self::new()
    }
}

/// Who the device is: DER, as stored in flash or read from a secure element.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    /// The leaf certificate.
    pub cert_der: &'a [u8],
    /// Its private key, PKCS#8.
    pub key_der: &'a [u8],
    /// The intermediates, leaf-most first (often none).
    pub chain: &'a [&'a [u8]],
}

/// What to ask for and where.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// Role, profile, trust anchor, duration.
    pub request: SessionRequest<'a>,
    /// Host and signing region.
    pub endpoint: Endpoint<'a>,
}

/// Calls `CreateSession` over `transport` and returns the credentials.
///
/// The transport is written one request and read until it ends
/// (`Connection: close`).
///
/// # Errors
/// Every step names itself through [`Error`].
pub fn create_session<T: Read + Write, const REQ: usize, const RESP: usize>(
    transport: &mut T,
    clock: &impl Clock,
    identity: &Identity<'_>,
    call: &Call<'_>,
    buffers: &mut Buffers<REQ, RESP>,
) -> Result<Credentials, Error<T::Error>> {
    let leaf = Certificate::from_der(identity.cert_der).map_err(Error::Certificate)?;
    let key = PrivateKey::from_pkcs8_der(identity.key_der).map_err(Error::Key)?;
    check_key_matches(&key, &leaf).map_err(Error::KeyMismatch)?;

    let signed = sign_request(
        &call.request,
        &call.endpoint,
        &key,
        &leaf,
        identity.chain,
        clock.now(),
        &mut buffers.request,
    )
    .map_err(Error::Request)?;

    write_http(transport, &signed).map_err(Error::Transport)?;
    buffers.response_len = 0;
    buffers.response_len = read_all(transport, &mut buffers.response)?;
    let (status, body) = split_http(buffers.answer()).ok_or(Error::BadHttp)?;
    if !(200..300).contains(&status) {
        return Err(Error::Status(status));
    }
    parse_response(body).map_err(Error::Response)
}

/// Writes the request as HTTP/1.1, header by header (no second buffer).
fn write_http<W: Write>(
    w: &mut W,
    signed: &rolesanywhere_core::session::SignedRequest<'_>,
) -> Result<(), W::Error> {
    w.write_all(b"POST ")?;
    w.write_all(signed.path_and_query.as_bytes())?;
    w.write_all(b" HTTP/1.1\r\n")?;
    for (name, value) in signed.headers() {
        w.write_all(name.as_bytes())?;
        w.write_all(b": ")?;
        w.write_all(value.as_bytes())?;
        w.write_all(b"\r\n")?;
    }
    let mut digits = [0u8; 20];
    w.write_all(b"Content-Length: ")?;
    w.write_all(decimal(signed.body.len(), &mut digits))?;
    w.write_all(b"\r\nConnection: close\r\n\r\n")?;
    w.write_all(signed.body.as_bytes())?;
    w.flush()
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// Reads until the stream ends; an answer that does not fit is an error,
/// never a truncation.
fn read_all<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, Error<R::Error>> {
    let mut len = 0;
    loop {
        let free = buf.get_mut(len..).unwrap_or_default();
        if free.is_empty() {
            // Full: it fits only if the stream ends right here.
            let mut probe = [0u8; 1];
            return match r.read(&mut probe).map_err(Error::Transport)? {
                0 => Ok(len),
                _ => Err(Error::ResponseTooLarge),
            };
        }
        match r.read(free).map_err(Error::Transport)? {
            0 => return Ok(len),
            n => len += n,
        }
    }
}

/// The status code and the body of an HTTP/1.x answer.
fn split_http(answer: &[u8]) -> Option<(u16, &[u8])> {
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = answer.get(..head_end)?;
    let body = answer.get(head_end + 4..)?;
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Some((status, body))
}

/// A transport that records the request and plays back a canned answer:
/// the stand-in for a TLS socket in the example and the tests.
pub struct CannedTransport<'a, const N: usize> {
    sent: heapless::Vec<u8, N>,
    answer: &'a [u8],
}

/// The request did not fit the recording buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFull;

impl fmt::Display for RecordFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request is larger than the recording buffer")
    }
}

impl core::error::Error for RecordFull {}

impl embedded_io::Error for RecordFull {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::OutOfMemory
    }
}

impl<'a, const N: usize> CannedTransport<'a, N> {
    /// A transport that will answer `answer`.
    pub fn new(answer: &'a [u8]) -> Self {
        CannedTransport {
            sent: heapless::Vec::new(),
            answer,
        }
    }

    /// What was written to it.
    pub fn sent(&self) -> &[u8] {
        &self.sent
    }
}

impl<const N: usize> embedded_io::ErrorType for CannedTransport<'_, N> {
    type Error = RecordFull;
}

impl<const N: usize> Write for CannedTransport<'_, N> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, RecordFull> {
        self.sent.extend_from_slice(buf).map_err(|_| RecordFull)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), RecordFull> {
        Ok(())
    }
}

impl<const N: usize> Read for CannedTransport<'_, N> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, RecordFull> {
        self.answer.read(buf).map_err(|_| RecordFull)
    }
}

/// A `201 Created` answer as the service sends it (trimmed identifiers).
pub const CANNED_ANSWER: &[u8] = b"HTTP/1.1 201 Created\r\n\
Content-Type: application/json\r\n\
Content-Length: 549\r\n\
Connection: close\r\n\
\r\n\
{\"credentialSet\":[{\"assumedRoleUser\":{\"arn\":\"arn:aws:sts::123456789012:assumed-role/edge-gateway/240847437\",\"assumedRoleId\":\"AROAEXAMPLE:240847437\"},\"credentials\":{\"accessKeyId\":\"ASIAEMBEDDEDEXAMPLE1\",\"expiration\":\"2026-12-04T18:30:00Z\",\"secretAccessKey\":\"wJalrXUtnFEMI\\/K7MDENG\\/bPxRfiCYEXAMPLEKEY\",\"sessionToken\":\"IQoJb3JpZ2luX2VjEEXAMPLETOKEN==\"},\"packedPolicySize\":0,\"roleArn\":\"arn:aws:iam::123456789012:role/edge-gateway\",\"sourceIdentity\":\"CN=embedded example leaf\"}],\"subjectArn\":\"arn:aws:rolesanywhere:us-east-1:123456789012:subject/example\"}";

/// The compiled-in test identity.
pub const TEST_IDENTITY: Identity<'static> = Identity {
    cert_der: TEST_CERT_DER,
    key_der: TEST_KEY_DER,
    chain: &[],
};

/// The call the example makes.
pub const EXAMPLE_CALL: Call<'static> = Call {
    request: SessionRequest {
        role_arn: "arn:aws:iam::123456789012:role/edge-gateway",
        profile_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666",
        trust_anchor_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666",
        duration_seconds: 3600,
        role_session_name: None,
    },
    endpoint: Endpoint {
        host: "rolesanywhere.us-east-1.amazonaws.com",
        region: "us-east-1",
    },
};

/// 2026-12-04T17:30:00Z, the example's "now".
pub const EXAMPLE_NOW: UnixTime = UnixTime(1_796_405_400);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn canned_call_signs_and_parses() {
        let mut transport = CannedTransport::<4096>::new(CANNED_ANSWER);
        let mut buffers = Buffers::<4096, 4096>::new();
        let creds = create_session(
            &mut transport,
            &FixedClock(EXAMPLE_NOW),
            &TEST_IDENTITY,
            &EXAMPLE_CALL,
            &mut buffers,
        )
        .unwrap();
        assert_eq!(creds.access_key_id(), "ASIAEMBEDDEDEXAMPLE1");
        assert_eq!(
            creds.secret_access_key(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(creds.expiration(), UnixTime(1_796_409_000));

        let sent = std::str::from_utf8(transport.sent()).unwrap();
        assert!(sent.starts_with("POST /sessions?profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Aprofile%2F6f4a3c2e-1111-2222-3333-444455556666&roleArn="), "{sent}");
        assert!(
            sent.contains("\r\nX-Amz-Date: 20261204T173000Z\r\n"),
            "{sent}"
        );
        assert!(sent.contains("\r\nAuthorization: AWS4-X509-ECDSA-SHA256 Credential=240847437/20261204/us-east-1/rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature="), "{sent}");
        assert!(
            sent.ends_with(
                "\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"durationSeconds\":3600}"
            ),
            "{sent}"
        );
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        let call = |answer: &[u8]| {
            let mut transport = CannedTransport::<4096>::new(answer);
            let mut buffers = Buffers::<4096, 256>::new();
            create_session(
                &mut transport,
                &FixedClock(EXAMPLE_NOW),
                &TEST_IDENTITY,
                &EXAMPLE_CALL,
                &mut buffers,
            )
            .map(|_| ())
            .map_err(|e| {
                let message = buffers
                    .error_message()
                    .map(|m| std::string::String::from(m.as_str()));
                (e, message)
            })
        };
        match call(b"HTTP/1.1 403 Forbidden\r\n\r\n{\"message\":\"Untrusted signing certificate\"}")
        {
            Err((Error::Status(403), Some(m))) => {
                assert_eq!(m.as_str(), "Untrusted signing certificate")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(call(b"garbage"), Err((Error::BadHttp, _))));
        assert!(matches!(
            call(CANNED_ANSWER),
            Err((Error::ResponseTooLarge, _))
        ));
        assert!(matches!(
            call(b"HTTP/1.1 201 Created\r\n\r\n{}"),
            Err((Error::Response(ResponseError::NoCredentials), _))
        ));
    }

    #[test]
    fn decimal_and_http_helpers() {
        let mut d = [0u8; 20];
        assert_eq!(decimal(0, &mut d), b"0");
        assert_eq!(decimal(545, &mut d), b"545");
        assert_eq!(
            split_http(b"HTTP/1.0 200 OK\r\n\r\nx"),
            Some((200, &b"x"[..]))
        );
        assert_eq!(split_http(b"HTTP/2 200\r\n\r\n"), None);
        let (_, body) = split_http(CANNED_ANSWER).unwrap();
        let head = std::str::from_utf8(CANNED_ANSWER).unwrap();
        assert!(head.contains(&std::format!("\r\nContent-Length: {}\r\n", body.len())));
    }
}
