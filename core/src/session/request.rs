//! Building and signing `POST /sessions` (SigV4-X509).
//!
//! As the original helper does, the three ARNs go in the query string and the
//! body is `{"durationSeconds":N[,"roleSessionName":"..."]}`. The signed
//! headers are exactly `content-type;host;x-amz-date;x-amz-x509`, plus
//! `x-amz-x509-chain` when intermediates are sent. Every value is written into
//! one caller buffer, so the ECDSA path needs no heap.

use core::fmt;
use core::fmt::Write as _;

use crate::arn::{Arn, ArnError};
use crate::buf::{Arena, Overflow, SliceWriter, base64_len, write_base64};
use crate::signer::{Digest, Signer};
use crate::sigv4::{self, Header, HttpRequest, PayloadHash, Scope, SignedHeaders, StringToSign};
use crate::time::UnixTime;
use crate::x509::Certificate;

/// The service name in the SigV4 scope.
pub const SERVICE: &str = "rolesanywhere";
/// The content type of the request body.
pub const CONTENT_TYPE: &str = "application/json";
/// Shortest session the service grants, in seconds.
pub const MIN_DURATION: u32 = 900;
/// Longest session the service grants, in seconds.
pub const MAX_DURATION: u32 = 43_200;

/// What the caller asks for.
#[derive(Clone, Copy, Debug)]
pub struct SessionRequest<'a> {
    /// The IAM role to assume.
    pub role_arn: &'a str,
    /// The Roles Anywhere profile.
    pub profile_arn: &'a str,
    /// The trust anchor that vouches for the certificate.
    pub trust_anchor_arn: &'a str,
    /// Requested lifetime of the credentials, 900 to 43200 seconds.
    pub duration_seconds: u32,
    /// Optional role session name (the profile must accept it).
    pub role_session_name: Option<&'a str>,
}

/// Where the request goes.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    /// The `Host` header: the endpoint's host, with `:port` when not the default.
    pub host: &'a str,
    /// The signing region.
    pub region: &'a str,
}

/// A fully signed request; every value borrows the caller's buffer.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'b> {
    /// `/sessions?profileArn=...&roleArn=...&trustAnchorArn=...`
    pub path_and_query: &'b str,
    /// The JSON body.
    pub body: &'b str,
    /// The `Host` header value.
    pub host: &'b str,
    /// `X-Amz-Date`, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'b str,
    /// `X-Amz-X509`: base64 DER of the leaf certificate.
    pub x509: &'b str,
    /// `X-Amz-X509-Chain`: comma-separated base64 DER of the intermediates.
    pub x509_chain: Option<&'b str>,
    /// The `Authorization` header value.
    pub authorization: &'b str,
}

impl<'b> SignedRequest<'b> {
    /// The headers to send, in the order they were signed (plus `Authorization`).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &'b str)> + '_ {
        [
            Some(("Content-Type", CONTENT_TYPE)),
            Some(("Host", self.host)),
            Some(("X-Amz-Date", self.amz_date)),
            Some(("X-Amz-X509", self.x509)),
            self.x509_chain.map(|c| ("X-Amz-X509-Chain", c)),
            Some(("Authorization", self.authorization)),
        ]
        .into_iter()
        .flatten()
    }
}

/// Why a request could not be built.
#[derive(Debug)]
pub enum SessionError<E> {
    /// An ARN flag is malformed.
    Arn {
        /// The flag that holds it.
        flag: &'static str,
        /// What is wrong.
        error: ArnError,
    },
    /// `--session-duration` is outside 900..=43200.
    Duration(u32),
    /// The role session name has characters or a length STS rejects.
    RoleSessionName,
    /// The region or host would not make a valid header.
    Endpoint(sigv4::Sigv4Error),
    /// The certificate's key type cannot sign SigV4-X509.
    UnsupportedKey,
    /// The caller's buffer is too small; [`required_buffer_len`] sizes it.
    BufferTooSmall,
    /// The signer failed.
    Sign(E),
}

impl<E: fmt::Display> fmt::Display for SessionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Arn { flag, error } => write!(f, "{flag}: {error}"),
            SessionError::Duration(d) => write!(
                f,
                "--session-duration {d} is out of range ({MIN_DURATION} to {MAX_DURATION} seconds)"
            ),
            SessionError::RoleSessionName => f.write_str(
                "--role-session-name must be 2 to 64 characters of letters, digits and +=,.@_-",
            ),
            SessionError::Endpoint(e) => write!(f, "endpoint: {e}"),
            SessionError::UnsupportedKey => {
                f.write_str("the certificate's key type cannot sign requests")
            }
            SessionError::BufferTooSmall => f.write_str("request buffer too small"),
            SessionError::Sign(e) => write!(f, "signing the request failed: {e}"),
        }
    }
}

impl<E: fmt::Display + fmt::Debug> core::error::Error for SessionError<E> {}

impl<E> From<Overflow> for SessionError<E> {
    fn from(_: Overflow) -> Self {
        SessionError::BufferTooSmall
    }
}

impl<E> From<sigv4::Sigv4Error> for SessionError<E> {
    fn from(e: sigv4::Sigv4Error) -> Self {
        SessionError::Endpoint(e)
    }
}

impl<'a> SessionRequest<'a> {
    /// Checks the ARNs, duration and session name; returns the trust anchor's
    /// and the profile's ARNs, whose regions the caller compares.
    pub fn validate<E>(&self) -> Result<(Arn<'a>, Arn<'a>), SessionError<E>> {
        let trust_anchor = Arn::parse_rolesanywhere(self.trust_anchor_arn, "trust-anchor")
            .map_err(|error| SessionError::Arn {
                flag: "--trust-anchor-arn",
                error,
            })?;
        let profile = Arn::parse_rolesanywhere(self.profile_arn, "profile").map_err(|error| {
            SessionError::Arn {
                flag: "--profile-arn",
                error,
            }
        })?;
        Arn::parse_role(self.role_arn).map_err(|error| SessionError::Arn {
            flag: "--role-arn",
            error,
        })?;
        if !(MIN_DURATION..=MAX_DURATION).contains(&self.duration_seconds) {
            return Err(SessionError::Duration(self.duration_seconds));
        }
        if let Some(name) = self.role_session_name {
            let ok_char = |c: u8| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c);
            if !(2..=64).contains(&name.len()) || !name.bytes().all(ok_char) {
                return Err(SessionError::RoleSessionName);
            }
        }
        Ok((trust_anchor, profile))
    }
}

/// An upper bound on the buffer [`sign_request`] needs.
pub fn required_buffer_len(
    req: &SessionRequest<'_>,
    host: &str,
    leaf_der_len: usize,
    chain_der_lens: impl Iterator<Item = usize>,
    max_signature_len: usize,
) -> usize {
    let query = 3 * (req.role_arn.len() + req.profile_arn.len() + req.trust_anchor_arn.len()) + 64;
    let body = 64 + req.role_session_name.map_or(0, str::len);
    let chain: usize = chain_der_lens.map(|n| base64_len(n) + 1).sum();
    let authorization = 256 + host.len() + 2 * max_signature_len;
    query
        + body
        + host.len()
        + 16
        + base64_len(leaf_der_len)
        + chain
        + authorization
        + max_signature_len
}

/// SigV4 URI-encoding of a query value: unreserved characters kept.
fn write_query_value(w: &mut SliceWriter<'_>, s: &str) -> Result<(), Overflow> {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            w.put(&[b])?;
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            w.put(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])?;
        }
    }
    Ok(())
}

/// Builds and signs the `CreateSession` request at time `now`.
///
/// `chain` holds the intermediates' DER, leaf-most first. The caller has
/// already checked that `signer` matches `leaf` ([`crate::signer::check_key_matches`]).
pub fn sign_request<'b, S: Signer + ?Sized>(
    req: &SessionRequest<'_>,
    endpoint: &Endpoint<'_>,
    signer: &S,
    leaf: &Certificate<'_>,
    chain: &[&[u8]],
    now: UnixTime,
    buf: &'b mut [u8],
) -> Result<SignedRequest<'b>, SessionError<S::Error>> {
    req.validate::<S::Error>()?;
    let algorithm = leaf
        .key_type()
        .ok_or(SessionError::UnsupportedKey)?
        .signing_algorithm();
    let mut arena = Arena::new(buf);

    let path_and_query = arena.take::<Overflow>(|w| {
        w.put(b"/sessions?profileArn=")?;
        write_query_value(w, req.profile_arn)?;
        w.put(b"&roleArn=")?;
        write_query_value(w, req.role_arn)?;
        w.put(b"&trustAnchorArn=")?;
        write_query_value(w, req.trust_anchor_arn)
    })?;
    let body = arena.take::<Overflow>(|w| {
        write!(w, "{{\"durationSeconds\":{}", req.duration_seconds).map_err(|_| Overflow)?;
        if let Some(name) = req.role_session_name {
            // validate() allows no character that JSON would need to escape.
            w.put(b",\"roleSessionName\":\"")?;
            w.put(name.as_bytes())?;
            w.put(b"\"")?;
        }
        w.put(b"}")
    })?;
    let host = arena.take::<Overflow>(|w| w.put(endpoint.host.as_bytes()))?;
    let amz_date_bytes = now.amz_date();
    let amz_date = arena.take::<Overflow>(|w| w.put(&amz_date_bytes))?;
    let x509 = arena.take::<Overflow>(|w| write_base64(w, leaf.der()))?;
    let x509_chain = if chain.is_empty() {
        None
    } else {
        Some(arena.take::<Overflow>(|w| {
            for (i, der) in chain.iter().enumerate() {
                if i > 0 {
                    w.put(b",")?;
                }
                write_base64(w, der)?;
            }
            Ok(())
        })?)
    };

    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut headers: heapless::Vec<Header<'_>, 5> = heapless::Vec::new();
    for (name, value) in [
        ("content-type", CONTENT_TYPE),
        ("host", host),
        ("x-amz-date", amz_date),
        ("x-amz-x509", x509),
    ]
    .into_iter()
    .chain(x509_chain.map(|c| ("x-amz-x509-chain", c)))
    {
        headers.push(Header { name, value }).map_err(|_| Overflow)?;
    }
    let http = HttpRequest {
        method: "POST",
        path,
        query,
        headers: &headers,
    };
    let creq_hash = sigv4::canonical_request_sha256(
        &http,
        &SignedHeaders::AllPresent,
        &PayloadHash::Bytes(body.as_bytes()),
    )?;
    let date = amz_date.get(..8).ok_or(Overflow)?;
    let scope = Scope {
        date,
        region: endpoint.region,
        service: SERVICE,
    };
    let sts = StringToSign::new(algorithm.as_str(), amz_date, &scope, &creq_hash)?;

    let scratch = arena.take_bytes(signer.max_signature_len())?;
    let sig_len = signer
        .sign(sts.as_bytes(), Digest::Sha256, scratch)
        .map_err(SessionError::Sign)?;
    let signature = scratch.get(..sig_len).ok_or(Overflow)?;
    let serial = leaf.serial_decimal();
    let authorization = arena.take::<SessionError<S::Error>>(|w| {
        sigv4::write_authorization(
            algorithm,
            &serial,
            &scope,
            &http,
            &SignedHeaders::AllPresent,
            signature,
            w,
        )?;
        Ok(())
    })?;
    Ok(SignedRequest {
        path_and_query,
        body,
        host,
        amz_date,
        x509,
        x509_chain,
        authorization,
    })
}
