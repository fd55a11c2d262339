//! The `Authorization` header value of a SigV4-X509 request.

use embedded_io::Write;

use super::encode::{Chunked, put_hex};
use super::{CanonicalHeaders, HttpRequest, Scope, SignedHeaders, SigningAlgorithm, Sigv4Error};

/// Whether `serial` is a decimal integer as Go's `big.Int.String()` prints a
/// certificate serial: an optional `-`, then digits.
fn is_decimal_serial(serial: &str) -> bool {
    let digits = serial.strip_prefix('-').unwrap_or(serial);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Writes the `Authorization` header value (without the `Authorization: `
/// name) of `req`, signed with `signature`:
///
/// ```text
/// Algorithm " Credential=" serial "/" Scope ", SignedHeaders=" a;b;c ", Signature=" Lowercase(HexEncode(signature))
/// ```
///
/// `serial_decimal` is the certificate serial number in decimal (serial
/// `0x1234ABCD` is `305441741`); `req` and `signed` must be what the
/// canonical request was built from (the `SignedHeaders` list is derived
/// from them again, by the same code); `signature` is the raw signature (DER
/// for ECDSA), written as lowercase hex.
///
/// # Errors
/// [`Sigv4Error::InvalidSerial`], the errors of [`Scope::validate`],
/// [`Sigv4Error::EmptySignature`], the errors of [`CanonicalHeaders::new`],
/// and [`Sigv4Error::Write`] if `out` fails. Inputs are checked before
/// anything is written.
pub fn write_authorization<W: Write + ?Sized>(
    algorithm: SigningAlgorithm,
    serial_decimal: &str,
    scope: &Scope<'_>,
    req: &HttpRequest<'_>,
    signed: &SignedHeaders<'_>,
    signature: &[u8],
    out: &mut W,
) -> Result<(), Sigv4Error> {
    let headers = CanonicalHeaders::new(req.headers, signed)?;
    write_with_headers(algorithm, serial_decimal, scope, &headers, signature, out)
}

/// [`write_authorization`] with the signed headers already chosen (see
/// [`CanonicalRequest::write_authorization`](super::CanonicalRequest::write_authorization)).
pub(crate) fn write_with_headers<W: Write + ?Sized>(
    algorithm: SigningAlgorithm,
    serial_decimal: &str,
    scope: &Scope<'_>,
    signed_headers: &CanonicalHeaders<'_>,
    signature: &[u8],
    out: &mut W,
) -> Result<(), Sigv4Error> {
    if !is_decimal_serial(serial_decimal) {
        return Err(Sigv4Error::InvalidSerial);
    }
    scope.validate()?;
    if signature.is_empty() {
        return Err(Sigv4Error::EmptySignature);
    }
    let mut c = Chunked::new(&mut *out);
    for part in [
        algorithm.as_str(),
        " Credential=",
        serial_decimal,
        "/",
        scope.date,
        "/",
    ] {
        c.bytes(part.as_bytes())?;
    }
    for part in [
        scope.region,
        "/",
        scope.service,
        "/aws4_request, SignedHeaders=",
    ] {
        c.bytes(part.as_bytes())?;
    }
    signed_headers.write_names(&mut c)?;
    c.bytes(b", Signature=")?;
    c.flush()?;
    put_hex(out, signature)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;

    use super::*;
    use crate::sigv4::Header;
    use crate::sigv4::encode::TestBuf;

    const SCOPE: Scope<'static> = Scope {
        date: "20261204",
        region: "us-east-1",
        service: "rolesanywhere",
    };

    const HEADERS: [Header<'static>; 5] = [
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
            value: "aws_signing_helper",
        },
    ];

    const REQ: HttpRequest<'static> = HttpRequest {
        method: "POST",
        path: "/sessions",
        query: "",
        headers: &HEADERS,
    };

    const RA_SIGNED: SignedHeaders<'static> =
        SignedHeaders::Only(&["content-type", "host", "x-amz-date", "x-amz-x509"]);

    #[test]
    fn rsa_authorization_with_known_serial() {
        // Serial 0x1234ABCD, printed in decimal as the Go helper does.
        let serial = u32::from_str_radix("1234ABCD", 16).unwrap();
        assert_eq!(serial, 305_441_741);
        let mut out = TestBuf::new();
        let alg = SigningAlgorithm::RsaSha256;
        let sig = [0x01, 0xab, 0xff];
        write_authorization(alg, "305441741", &SCOPE, &REQ, &RA_SIGNED, &sig, &mut out).unwrap();
        assert_eq!(
            out.as_str(),
            "AWS4-X509-RSA-SHA256 \
             Credential=305441741/20261204/us-east-1/rolesanywhere/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature=01abff"
        );
    }

    #[test]
    fn ecdsa_authorization_signs_all_present_headers() {
        let mut out = TestBuf::new();
        let (alg, all) = (SigningAlgorithm::EcdsaSha256, SignedHeaders::AllPresent);
        write_authorization(alg, "1", &SCOPE, &REQ, &all, &[0x30; 72], &mut out).unwrap();
        let s = out.as_str();
        assert!(s.starts_with("AWS4-X509-ECDSA-SHA256 Credential=1/20261204/"));
        assert!(s.contains(", SignedHeaders=content-type;host;user-agent;x-amz-date;x-amz-x509, "));
        assert!(s.ends_with(&"30".repeat(72)));
    }

    #[test]
    fn bad_inputs_write_nothing() {
        let alg = SigningAlgorithm::MlDsa;
        let us_east = Scope {
            region: "us east",
            ..SCOPE
        };
        let missing = SignedHeaders::Only(&["host", "x-amz-x509-chain"]);
        for (serial, scope, signed, sig, want) in [
            (
                "0x12",
                SCOPE,
                RA_SIGNED,
                &[1u8][..],
                Sigv4Error::InvalidSerial,
            ),
            ("", SCOPE, RA_SIGNED, &[1u8][..], Sigv4Error::InvalidSerial),
            ("-", SCOPE, RA_SIGNED, &[1u8][..], Sigv4Error::InvalidSerial),
            (
                "12\r\n",
                SCOPE,
                RA_SIGNED,
                &[1u8][..],
                Sigv4Error::InvalidSerial,
            ),
            (
                "12",
                us_east,
                RA_SIGNED,
                &[1u8][..],
                Sigv4Error::InvalidRegion,
            ),
            ("12", SCOPE, RA_SIGNED, &[][..], Sigv4Error::EmptySignature),
            (
                "12",
                SCOPE,
                missing,
                &[1u8][..],
                Sigv4Error::SignedHeaderMissing(crate::sigv4::NameSnippet::new("x-amz-x509-chain")),
            ),
        ] {
            let mut out = TestBuf::new();
            let got = write_authorization(alg, serial, &scope, &REQ, &signed, sig, &mut out);
            assert_eq!(got, Err(want));
            assert_eq!(out.as_str(), "");
        }
        let mut out = TestBuf::new();
        write_authorization(alg, "-42", &SCOPE, &REQ, &RA_SIGNED, &[1], &mut out).unwrap();
        assert!(out.as_str().starts_with("AWS4-X509-MLDSA Credential=-42/"));
    }
}
