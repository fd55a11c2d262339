//! AWS Signature Version 4 canonicalisation, and SigV4-X509 (IAM Roles
//! Anywhere) on top of it, without a heap.
//!
//! The steps are separate and testable, as in AWS's own `aws-sigv4`:
//!
//! ```text
//! CanonicalRequest = Method "\n" CanonicalURI "\n" CanonicalQueryString "\n"
//!                    CanonicalHeaders "\n" SignedHeaders "\n" HexEncode(Hash(Payload))
//! StringToSign     = Algorithm "\n" X-Amz-Date "\n" Scope "\n" HexEncode(Hash(CanonicalRequest))
//! Scope            = YYYYMMDD "/" region "/" service "/aws4_request"
//! Authorization    = Algorithm " Credential=" serial "/" Scope ", SignedHeaders=" SignedHeaders
//!                    ", Signature=" HexEncode(signature)
//! ```
//!
//! 1. [`CanonicalRequest`] (or [`canonical_request_sha256`]) streams the
//!    canonical request straight into SHA-256; [`write_canonical_request`]
//!    writes the same bytes to any `embedded_io::Write` (for `--debug` and
//!    tests). Both go through one implementation, a generic sink.
//! 2. [`StringToSign`] holds the string to sign in a fixed 256-byte buffer;
//!    the signer signs [`StringToSign::as_bytes`].
//! 3. [`write_authorization`] writes the `Authorization` header value.
//!
//! Capacities are fixed ([`MAX_SIGNED_HEADERS`], [`MAX_QUERY_PARAMS`],
//! [`MAX_PATH_SEGMENTS`], [`STRING_TO_SIGN_CAPACITY`]); going over one is a
//! [`Sigv4Error`], never a truncation. Values that end up in header bytes
//! (date, region, service, serial, algorithm) are validated, so none can
//! carry a CR or LF.
//!
//! Canonicalisation rules, proven against the public SigV4 test suite
//! (`core/tests/sigv4_suite.rs`):
//! - path: RFC 3986 dot segments removed, empty segments (`//`) dropped, each
//!   segment percent-decoded then URI-encoded once (unreserved bytes kept,
//!   others `%XX` uppercase), so `%20` and a raw space both give `%20`. This
//!   is the single-encoding rule; S3-style "no normalisation" and the
//!   double-encoding some services use are out of scope;
//! - query: split on `&` and the first `=`, each part decoded (`+` is a
//!   space) and re-encoded (space is `%20`), sorted by encoded key then value;
//! - headers: see [`CanonicalHeaders`];
//! - payload: lowercase hex SHA-256.

#![deny(clippy::indexing_slicing)]

mod authorization;
mod canonical_request;
mod encode;
mod error;
mod headers;
mod path;
mod query;
mod string_to_sign;

pub use authorization::write_authorization;
pub use canonical_request::{
    CanonicalRequest, canonical_request_sha256, write_canonical_request, write_signed_headers,
};
pub use error::{NameSnippet, Sigv4Error};
pub use headers::CanonicalHeaders;
pub use string_to_sign::{Scope, SigningAlgorithm, StringToSign};

/// The most header fields (counting repeats of one name) a request may sign.
pub const MAX_SIGNED_HEADERS: usize = 32;
/// The most parameters a query string may have.
pub const MAX_QUERY_PARAMS: usize = 32;
/// The most segments a normalised path may have at any point.
pub const MAX_PATH_SEGMENTS: usize = 64;
/// The size of the [`StringToSign`] buffer. Validated inputs always fit: an
/// algorithm name of at most 32 bytes, a region and a service name of at
/// most 32 bytes each make at most 202 bytes.
pub const STRING_TO_SIGN_CAPACITY: usize = 256;

/// One header field as sent: any case, and a name may repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name, e.g. `X-Amz-Date`.
    pub name: &'a str,
    /// The field value as sent (it is trimmed when canonicalised).
    pub value: &'a str,
}

/// The parts of an HTTP request that SigV4 signs, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    /// The method, e.g. `POST`, written as given.
    pub method: &'a str,
    /// The raw path as on the request line, without the query, e.g. `/sessions`.
    pub path: &'a str,
    /// The raw query after `?` (without the `?`); empty when there is none.
    pub query: &'a str,
    /// The header fields, in the order they are sent.
    pub headers: &'a [Header<'a>],
}

/// The payload hash for the last line of the canonical request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadHash<'a> {
    /// The SHA-256 of the payload, already computed, as 64 hex digits
    /// (either case; written lowercase).
    Hex(&'a str),
    /// The payload itself, hashed here.
    Bytes(&'a [u8]),
}

/// Which headers to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedHeaders<'a> {
    /// Every header of the request (lowercased, deduplicated, sorted).
    AllPresent,
    /// Only the headers with these names (any case); each must be present.
    /// Roles Anywhere: `content-type`, `host`, `x-amz-date`, `x-amz-x509`
    /// and, with a chain, `x-amz-x509-chain`.
    Only(&'a [&'a str]),
}
