//! What can go wrong while canonicalising and signing a request.

use core::fmt;

use super::{MAX_PATH_SEGMENTS, MAX_QUERY_PARAMS, MAX_SIGNED_HEADERS, STRING_TO_SIGN_CAPACITY};

/// How many bytes of an offending name an error keeps.
const SNIPPET_CAPACITY: usize = 32;

/// The first bytes of an offending header name, kept by value so that
/// [`Sigv4Error`] stays `Copy` and never borrows the request.
///
/// `Display` escapes anything that is not printable ASCII (`\x0a`), so an
/// error message can never smuggle a line break into a log.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameSnippet {
    bytes: [u8; SNIPPET_CAPACITY],
    len: u8,
    truncated: bool,
}

impl NameSnippet {
    /// Keeps up to 32 bytes of `name`.
    pub(crate) fn new(name: &str) -> Self {
        let mut bytes = [0u8; SNIPPET_CAPACITY];
        let mut len = 0u8;
        for (slot, b) in bytes.iter_mut().zip(name.bytes()) {
            *slot = b;
            len = len.saturating_add(1);
        }
        NameSnippet {
            bytes,
            len,
            truncated: name.len() > SNIPPET_CAPACITY,
        }
    }

    /// The kept bytes (possibly cut in the middle of a UTF-8 sequence).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Whether the name was longer than what was kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for NameSnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'`' {
                fmt::Write::write_char(f, char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NameSnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Why a request could not be canonicalised, or a string to sign or an
/// `Authorization` header could not be built.
///
/// Every variant's `Display` is one lowercase line that names what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sigv4Error {
    /// More than [`MAX_SIGNED_HEADERS`] header fields would be signed.
    TooManyHeaders,
    /// The query string has more than [`MAX_QUERY_PARAMS`] parameters.
    TooManyQueryParameters,
    /// The normalised path is more than [`MAX_PATH_SEGMENTS`] segments deep.
    TooManyPathSegments,
    /// The HTTP method is empty or not an HTTP token (RFC 9110 `tchar`).
    InvalidMethod,
    /// A header name to sign is empty or not an HTTP token.
    InvalidHeaderName(NameSnippet),
    /// A header value has a CR or LF that is not an obs-fold line continuation
    /// (a line break followed by a space or tab).
    HeaderValueLineBreak(NameSnippet),
    /// [`SignedHeaders::Only`](super::SignedHeaders::Only) names a header the
    /// request does not have.
    SignedHeaderMissing(NameSnippet),
    /// [`PayloadHash::Hex`](super::PayloadHash::Hex) is not 64 hex digits.
    InvalidPayloadHash,
    /// The algorithm name is empty, longer than 32 bytes or not `[A-Z0-9-]`.
    InvalidAlgorithm,
    /// The `X-Amz-Date` value is not a valid `YYYYMMDDTHHMMSSZ` timestamp.
    InvalidAmzDate,
    /// The credential scope date is not a valid `YYYYMMDD` date.
    InvalidScopeDate,
    /// The credential scope date is not the date part of `X-Amz-Date`.
    ScopeDateMismatch,
    /// The region is empty, longer than 32 bytes or not `[a-z0-9-]`.
    InvalidRegion,
    /// The service name is empty, longer than 32 bytes or not `[a-z0-9-]`.
    InvalidService,
    /// The certificate serial is not a decimal number (`-`? digits).
    InvalidSerial,
    /// The signature to put in the `Authorization` header is empty.
    EmptySignature,
    /// The string to sign does not fit in [`STRING_TO_SIGN_CAPACITY`] bytes.
    StringToSignTooLong,
    /// The output sink refused bytes (or accepted none).
    Write,
}

impl fmt::Display for Sigv4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sigv4Error::TooManyHeaders => {
                write!(f, "too many headers to sign (limit {MAX_SIGNED_HEADERS})")
            }
            Sigv4Error::TooManyQueryParameters => {
                write!(f, "too many query parameters (limit {MAX_QUERY_PARAMS})")
            }
            Sigv4Error::TooManyPathSegments => {
                write!(
                    f,
                    "request path too deep (limit {MAX_PATH_SEGMENTS} segments)"
                )
            }
            Sigv4Error::InvalidMethod => f.write_str("HTTP method is empty or not an HTTP token"),
            Sigv4Error::InvalidHeaderName(name) => {
                write!(f, "header name `{name}` is empty or not an HTTP token")
            }
            Sigv4Error::HeaderValueLineBreak(name) => {
                write!(f, "header value of `{name}` contains a line break")
            }
            Sigv4Error::SignedHeaderMissing(name) => {
                write!(f, "signed header `{name}` is not present in the request")
            }
            Sigv4Error::InvalidPayloadHash => {
                f.write_str("payload hash is not 64 hexadecimal digits")
            }
            Sigv4Error::InvalidAlgorithm => f.write_str(
                "signing algorithm name is empty, longer than 32 bytes or not [A-Z0-9-]",
            ),
            Sigv4Error::InvalidAmzDate => {
                f.write_str("X-Amz-Date is not a valid YYYYMMDDTHHMMSSZ timestamp")
            }
            Sigv4Error::InvalidScopeDate => {
                f.write_str("credential scope date is not a valid YYYYMMDD date")
            }
            Sigv4Error::ScopeDateMismatch => {
                f.write_str("credential scope date is not the date of X-Amz-Date")
            }
            Sigv4Error::InvalidRegion => {
                f.write_str("region is empty, longer than 32 bytes or not [a-z0-9-]")
            }
            Sigv4Error::InvalidService => {
                f.write_str("service name is empty, longer than 32 bytes or not [a-z0-9-]")
            }
            Sigv4Error::InvalidSerial => {
                f.write_str("certificate serial number is not a decimal number")
            }
            Sigv4Error::EmptySignature => f.write_str("signature is empty"),
            Sigv4Error::StringToSignTooLong => {
                write!(
                    f,
                    "string to sign longer than {STRING_TO_SIGN_CAPACITY} bytes"
                )
            }
            Sigv4Error::Write => f.write_str("writing the signing output failed"),
        }
    }
}

impl core::error::Error for Sigv4Error {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn display_names_what_is_wrong() {
        assert_eq!(
            Sigv4Error::TooManyHeaders.to_string(),
            "too many headers to sign (limit 32)"
        );
        assert_eq!(
            Sigv4Error::TooManyQueryParameters.to_string(),
            "too many query parameters (limit 32)"
        );
        assert_eq!(
            Sigv4Error::HeaderValueLineBreak(NameSnippet::new("x-amz-date")).to_string(),
            "header value of `x-amz-date` contains a line break"
        );
    }

    #[test]
    fn snippet_escapes_and_truncates() {
        let s = NameSnippet::new("a\nb`c\u{e9}");
        assert_eq!(s.to_string(), "a\\x0ab\\x60c\\xc3\\xa9");
        let long = NameSnippet::new("abcdefghijklmnopqrstuvwxyz0123456789");
        assert!(long.is_truncated());
        assert_eq!(long.to_string(), "abcdefghijklmnopqrstuvwxyz012345...");
        assert_eq!(long.as_bytes().len(), 32);
    }
}
