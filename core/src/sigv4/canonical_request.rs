//! The canonical request: written to any sink, or hashed as it is written.

use embedded_io::Write;
use sha2::{Digest, Sha256};

use super::authorization::write_with_headers;
use super::encode::{Chunked, HashSink, hex_lower_64, hex_value, is_token};
use super::headers::CanonicalHeaders;
use super::path::CanonicalPath;
use super::query::CanonicalQuery;
use super::{HttpRequest, PayloadHash, Scope, SignedHeaders, SigningAlgorithm, Sigv4Error};

/// A request in canonical form, validated and ready to write or hash.
///
/// ```text
/// CanonicalRequest = HTTPMethod "\n" CanonicalURI "\n" CanonicalQueryString "\n"
///                    CanonicalHeaders "\n" SignedHeaders "\n" HashedPayload
/// HashedPayload    = Lowercase(HexEncode(SHA256(payload)))
/// ```
///
/// Everything that can be wrong with the request is found by [`Self::new`];
/// writing it fails only when the sink does. It borrows the request and
/// holds index arrays only (under 3 KiB on 64-bit targets, no heap).
#[derive(Clone, Debug)]
pub struct CanonicalRequest<'a> {
    method: &'a str,
    path: CanonicalPath<'a>,
    query: CanonicalQuery<'a>,
    headers: CanonicalHeaders<'a>,
    payload_sha256: [u8; 32],
}

/// Decodes 64 hex digits.
fn parse_sha256_hex(hex: &str) -> Result<[u8; 32], Sigv4Error> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return Err(Sigv4Error::InvalidPayloadHash);
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else {
            return Err(Sigv4Error::InvalidPayloadHash);
        };
        match (hex_value(*hi), hex_value(*lo)) {
            (Some(hi), Some(lo)) => *byte = (hi << 4) | lo,
            _ => return Err(Sigv4Error::InvalidPayloadHash),
        }
    }
    Ok(out)
}

impl<'a> CanonicalRequest<'a> {
    /// Canonicalises `req`, signing the headers `signed` selects, with the
    /// payload hash `payload` (hashed here if given as bytes).
    ///
    /// # Errors
    /// [`Sigv4Error::InvalidMethod`], [`Sigv4Error::TooManyPathSegments`],
    /// [`Sigv4Error::TooManyQueryParameters`],
    /// [`Sigv4Error::InvalidPayloadHash`], and the header errors of
    /// [`CanonicalHeaders::new`].
    pub fn new(
        req: &HttpRequest<'a>,
        signed: &SignedHeaders<'_>,
        payload: &PayloadHash<'_>,
    ) -> Result<Self, Sigv4Error> {
        if !is_token(req.method) {
            return Err(Sigv4Error::InvalidMethod);
        }
        let payload_sha256 = match payload {
            PayloadHash::Hex(hex) => parse_sha256_hex(hex)?,
            PayloadHash::Bytes(bytes) => Sha256::digest(bytes).into(),
        };
        Ok(CanonicalRequest {
            method: req.method,
            path: CanonicalPath::new(req.path)?,
            query: CanonicalQuery::new(req.query)?,
            headers: CanonicalHeaders::new(req.headers, signed)?,
            payload_sha256,
        })
    }

    /// The signed headers, for the `Authorization` header
    /// ([`write_authorization`](super::write_authorization)).
    pub fn signed_headers(&self) -> &CanonicalHeaders<'a> {
        &self.headers
    }

    /// The SHA-256 of the payload, as it appears (hex) on the last line.
    pub fn payload_sha256(&self) -> &[u8; 32] {
        &self.payload_sha256
    }

    /// Writes the canonical request (no trailing line break).
    ///
    /// # Errors
    /// [`Sigv4Error::Write`] if `out` fails.
    pub fn write_to<W: Write + ?Sized>(&self, out: &mut W) -> Result<(), Sigv4Error> {
        let mut out = Chunked::new(out);
        out.bytes(self.method.as_bytes())?;
        out.byte(b'\n')?;
        self.path.write(&mut out)?;
        out.byte(b'\n')?;
        self.query.write(&mut out)?;
        out.byte(b'\n')?;
        self.headers.write_lines(&mut out)?;
        out.byte(b'\n')?;
        self.headers.write_names(&mut out)?;
        out.byte(b'\n')?;
        out.bytes(&hex_lower_64(&self.payload_sha256))?;
        out.flush()
    }

    /// Writes the `Authorization` header value, with exactly the signed
    /// headers of this canonical request (see
    /// [`write_authorization`](super::write_authorization)).
    ///
    /// # Errors
    /// As [`write_authorization`](super::write_authorization).
    pub fn write_authorization<W: Write + ?Sized>(
        &self,
        algorithm: SigningAlgorithm,
        serial_decimal: &str,
        scope: &Scope<'_>,
        signature: &[u8],
        out: &mut W,
    ) -> Result<(), Sigv4Error> {
        write_with_headers(
            algorithm,
            serial_decimal,
            scope,
            &self.headers,
            signature,
            out,
        )
    }

    /// The SHA-256 of the canonical request, computed by writing it into the
    /// hash (nothing is buffered).
    ///
    /// # Errors
    /// None in practice (the hash sink cannot fail); the `Result` keeps the
    /// one shared writer honest instead of hiding an error.
    pub fn sha256(&self) -> Result<[u8; 32], Sigv4Error> {
        let mut sink = HashSink(Sha256::new());
        self.write_to(&mut sink)?;
        Ok(sink.0.finalize().into())
    }
}

/// The SHA-256 of the canonical request of `req` (see [`CanonicalRequest`]).
///
/// # Errors
/// As [`CanonicalRequest::new`].
pub fn canonical_request_sha256(
    req: &HttpRequest<'_>,
    signed: &SignedHeaders<'_>,
    payload: &PayloadHash<'_>,
) -> Result<[u8; 32], Sigv4Error> {
    CanonicalRequest::new(req, signed, payload)?.sha256()
}

/// Writes the canonical request of `req`: the bytes
/// [`canonical_request_sha256`] hashes.
///
/// # Errors
/// As [`CanonicalRequest::new`], and [`Sigv4Error::Write`] if `out` fails.
/// Nothing is written when the request is invalid.
pub fn write_canonical_request<W: Write + ?Sized>(
    req: &HttpRequest<'_>,
    signed: &SignedHeaders<'_>,
    payload: &PayloadHash<'_>,
    out: &mut W,
) -> Result<(), Sigv4Error> {
    CanonicalRequest::new(req, signed, payload)?.write_to(out)
}

/// Writes the `SignedHeaders` list (`a;b;c`) of `req`: the same list
/// [`write_canonical_request`] and [`write_authorization`](super::write_authorization) use.
///
/// # Errors
/// As [`CanonicalHeaders::new`], and [`Sigv4Error::Write`] if `out` fails.
pub fn write_signed_headers<W: Write + ?Sized>(
    req: &HttpRequest<'_>,
    signed: &SignedHeaders<'_>,
    out: &mut W,
) -> Result<(), Sigv4Error> {
    CanonicalHeaders::new(req.headers, signed)?.write_signed_headers(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;

    use super::*;
    use crate::sigv4::Header;
    use crate::sigv4::encode::TestBuf;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn vanilla<'a>(headers: &'a [Header<'a>]) -> HttpRequest<'a> {
        HttpRequest {
            method: "GET",
            path: "/",
            query: "",
            headers,
        }
    }

    const HEADERS: [Header<'static>; 2] = [
        Header {
            name: "Host",
            value: "example.amazonaws.com",
        },
        Header {
            name: "X-Amz-Date",
            value: "20150830T123600Z",
        },
    ];

    #[test]
    fn get_vanilla_bytes_and_hash() {
        let req = vanilla(&HEADERS);
        let mut out = TestBuf::new();
        write_canonical_request(
            &req,
            &SignedHeaders::AllPresent,
            &PayloadHash::Bytes(b""),
            &mut out,
        )
        .unwrap();
        let want = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
                    host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(out.as_str(), want);
        let hash =
            canonical_request_sha256(&req, &SignedHeaders::AllPresent, &PayloadHash::Bytes(b""))
                .unwrap();
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(want.as_bytes())));
        // The suite's get-vanilla.sts hash.
        assert_eq!(
            hex_lower_64(&hash),
            *b"bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
    }

    #[test]
    fn payload_hash_given_as_hex_either_case() {
        let req = vanilla(&HEADERS);
        let upper = EMPTY_SHA256.to_ascii_uppercase();
        let a =
            canonical_request_sha256(&req, &SignedHeaders::AllPresent, &PayloadHash::Bytes(b""));
        let b =
            canonical_request_sha256(&req, &SignedHeaders::AllPresent, &PayloadHash::Hex(&upper));
        assert_eq!(a, b);
        for bad in [
            "",
            "e3b0",
            &EMPTY_SHA256.replace('e', "g"),
            "UNSIGNED-PAYLOAD",
        ] {
            assert_eq!(
                CanonicalRequest::new(&req, &SignedHeaders::AllPresent, &PayloadHash::Hex(bad))
                    .err(),
                Some(Sigv4Error::InvalidPayloadHash)
            );
        }
    }

    #[test]
    fn invalid_method_and_nothing_written() {
        let req = HttpRequest {
            method: "GET /x",
            ..vanilla(&HEADERS)
        };
        let mut out = TestBuf::new();
        let payload = PayloadHash::Bytes(b"");
        assert_eq!(
            write_canonical_request(&req, &SignedHeaders::AllPresent, &payload, &mut out),
            Err(Sigv4Error::InvalidMethod)
        );
        assert_eq!(out.as_str(), "");
    }

    #[test]
    fn roles_anywhere_shape() {
        let headers = [
            Header {
                name: "Content-Type",
                value: "application/json",
            },
            Header {
                name: "Host",
                value: "rolesanywhere.us-east-1.amazonaws.com",
            },
            Header {
                name: "X-Amz-Date",
                value: "20261204T153823Z",
            },
            Header {
                name: "X-Amz-X509",
                value: "MIIB",
            },
            Header {
                name: "User-Agent",
                value: "aws_signing_helper/1.0",
            },
        ];
        let req = HttpRequest {
            method: "POST",
            path: "/sessions",
            query: "profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A1%3Aprofile%2Fp\
                    &roleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr\
                    &trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A1%3Atrust-anchor%2Ft",
            headers: &headers,
        };
        let body = br#"{"durationSeconds":3600}"#;
        let signed = SignedHeaders::Only(&["content-type", "host", "x-amz-date", "x-amz-x509"]);
        let creq = CanonicalRequest::new(&req, &signed, &PayloadHash::Bytes(body)).unwrap();
        let mut out = TestBuf::new();
        creq.write_to(&mut out).unwrap();
        let body_hash = hex_lower_64(&Sha256::digest(body).into());
        let mut want = heapless::String::<1024>::new();
        want.push_str(
            "POST\n/sessions\n\
             profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A1%3Aprofile%2Fp\
             &roleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr\
             &trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A1%3Atrust-anchor%2Ft\n\
             content-type:application/json\nhost:rolesanywhere.us-east-1.amazonaws.com\n\
             x-amz-date:20261204T153823Z\nx-amz-x509:MIIB\n\n\
             content-type;host;x-amz-date;x-amz-x509\n",
        )
        .unwrap();
        want.push_str(core::str::from_utf8(&body_hash).unwrap())
            .unwrap();
        assert_eq!(out.as_str(), want.as_str());
        assert_eq!(
            creq.payload_sha256(),
            &<[u8; 32]>::from(Sha256::digest(body))
        );
        let mut names = TestBuf::new();
        write_signed_headers(&req, &signed, &mut names).unwrap();
        assert_eq!(names.as_str(), "content-type;host;x-amz-date;x-amz-x509");
        let mut names = TestBuf::new();
        creq.signed_headers()
            .write_signed_headers(&mut names)
            .unwrap();
        assert_eq!(names.as_str(), "content-type;host;x-amz-date;x-amz-x509");
        let scope = Scope {
            date: "20261204",
            region: "us-east-1",
            service: "rolesanywhere",
        };
        let (alg, sig) = (SigningAlgorithm::EcdsaSha256, [0xde, 0xad]);
        let mut via_method = TestBuf::new();
        creq.write_authorization(alg, "305441741", &scope, &sig, &mut via_method)
            .unwrap();
        let mut via_fn = TestBuf::new();
        crate::sigv4::write_authorization(
            alg,
            "305441741",
            &scope,
            &req,
            &signed,
            &sig,
            &mut via_fn,
        )
        .unwrap();
        assert_eq!(via_method.as_str(), via_fn.as_str());
        assert!(via_fn.as_str().ends_with("x-amz-x509, Signature=dead"));
    }

    #[test]
    fn failing_sink_is_an_error_not_a_panic() {
        struct Zero;
        impl embedded_io::ErrorType for Zero {
            type Error = core::convert::Infallible;
        }
        impl Write for Zero {
            fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
                Ok(0)
            }
            fn flush(&mut self) -> Result<(), Self::Error> {
                Ok(())
            }
        }
        let req = vanilla(&HEADERS);
        assert_eq!(
            write_canonical_request(
                &req,
                &SignedHeaders::AllPresent,
                &PayloadHash::Bytes(b""),
                &mut Zero
            ),
            Err(Sigv4Error::Write)
        );
    }
}
