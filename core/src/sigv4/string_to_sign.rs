//! The credential scope, the SigV4-X509 algorithm names, and the string to sign.

use core::fmt;

use super::encode::hex_lower_64;
use super::{STRING_TO_SIGN_CAPACITY, Sigv4Error};

/// The longest region, service or algorithm name accepted (keeps every
/// validated string to sign within [`STRING_TO_SIGN_CAPACITY`]).
const MAX_NAME_LEN: usize = 32;

/// The SigV4-X509 signing algorithm, named by the key type of the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSA PKCS#1 v1.5 over SHA-256 of the string to sign.
    RsaSha256,
    /// ECDSA (DER `Ecdsa-Sig-Value`) over SHA-256 of the string to sign, for
    /// every curve (P-384 too).
    EcdsaSha256,
    /// ML-DSA over the string to sign itself (no hash, empty context).
    MlDsa,
}

impl SigningAlgorithm {
    /// The name in the string to sign and the `Authorization` header.
    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RsaSha256 => "AWS4-X509-RSA-SHA256",
            SigningAlgorithm::EcdsaSha256 => "AWS4-X509-ECDSA-SHA256",
            SigningAlgorithm::MlDsa => "AWS4-X509-MLDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The credential scope. `Display` gives `DATE/REGION/SERVICE/aws4_request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The date of `X-Amz-Date`, `YYYYMMDD`.
    pub date: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The service: `rolesanywhere` for `CreateSession`.
    pub service: &'a str,
}

impl Scope<'_> {
    /// Checks the parts: the date is a valid `YYYYMMDD`, and the region and
    /// service are 1 to 32 bytes of `[a-z0-9-]` (so none holds a `/`, CR or LF).
    ///
    /// # Errors
    /// [`Sigv4Error::InvalidScopeDate`], [`Sigv4Error::InvalidRegion`] or
    /// [`Sigv4Error::InvalidService`].
    pub fn validate(&self) -> Result<(), Sigv4Error> {
        if !is_valid_date(self.date.as_bytes()) {
            return Err(Sigv4Error::InvalidScopeDate);
        }
        if !is_scope_name(self.region) {
            return Err(Sigv4Error::InvalidRegion);
        }
        if !is_scope_name(self.service) {
            return Err(Sigv4Error::InvalidService);
        }
        Ok(())
    }
}

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// 1 to 32 bytes of `[a-z0-9-]`.
fn is_scope_name(s: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// 1 to 32 bytes of `[A-Z0-9-]`.
fn is_algorithm_name(s: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// The value of a run of ASCII digits, or `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit()
            .then(|| acc.saturating_mul(10).saturating_add(u32::from(b - b'0')))
    })
}

/// `YYYYMMDD` with a month of 01-12 and a day of 01-31.
fn is_valid_date(d: &[u8]) -> bool {
    match d {
        [y @ .., m1, m2, d1, d2] if y.len() == 4 => {
            digits(y).is_some()
                && digits(&[*m1, *m2]).is_some_and(|m| (1..=12).contains(&m))
                && digits(&[*d1, *d2]).is_some_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    }
}

/// `YYYYMMDDTHHMMSSZ` (the `X-Amz-Date` format), with valid ranges.
pub(crate) fn validate_amz_date(amz_date: &str) -> Result<(), Sigv4Error> {
    let ok = match amz_date.as_bytes() {
        [date @ .., b'T', h1, h2, m1, m2, s1, s2, b'Z'] if date.len() == 8 => {
            is_valid_date(date)
                && digits(&[*h1, *h2]).is_some_and(|h| h < 24)
                && digits(&[*m1, *m2]).is_some_and(|m| m < 60)
                && digits(&[*s1, *s2]).is_some_and(|s| s <= 60)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Sigv4Error::InvalidAmzDate)
    }
}

/// The string to sign, in a fixed buffer:
///
/// ```text
/// StringToSign = Algorithm "\n" X-Amz-Date "\n" Scope "\n" Lowercase(HexEncode(SHA256(CanonicalRequest)))
/// ```
///
/// RSA and ECDSA sign SHA-256 of [`Self::as_bytes`]; ML-DSA signs the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct StringToSign {
    text: heapless::String<STRING_TO_SIGN_CAPACITY>,
}

impl StringToSign {
    /// Builds the string to sign. `algorithm` is a `&str` so that the same
    /// code proves the `AWS4-HMAC-SHA256` strings of the SigV4 test suite; pass
    /// [`SigningAlgorithm::as_str`] for Roles Anywhere.
    ///
    /// # Errors
    /// [`Sigv4Error::InvalidAlgorithm`], [`Sigv4Error::InvalidAmzDate`], the
    /// errors of [`Scope::validate`], and [`Sigv4Error::ScopeDateMismatch`]
    /// when the scope date is not the date of `amz_date`.
    pub fn new(
        algorithm: &str,
        amz_date: &str,
        scope: &Scope<'_>,
        canonical_request_sha256: &[u8; 32],
    ) -> Result<Self, Sigv4Error> {
        if !is_algorithm_name(algorithm) {
            return Err(Sigv4Error::InvalidAlgorithm);
        }
        validate_amz_date(amz_date)?;
        scope.validate()?;
        if amz_date.get(..8) != Some(scope.date) {
            return Err(Sigv4Error::ScopeDateMismatch);
        }
        let hash = hex_lower_64(canonical_request_sha256);
        let mut text = heapless::String::new();
        for part in [
            algorithm,
            "\n",
            amz_date,
            "\n",
            scope.date,
            "/",
            scope.region,
            "/",
            scope.service,
            "/aws4_request\n",
            core::str::from_utf8(&hash).map_err(|_| Sigv4Error::InvalidPayloadHash)?,
        ] {
            text.push_str(part)
                .map_err(|_| Sigv4Error::StringToSignTooLong)?;
        }
        Ok(StringToSign { text })
    }

    /// The bytes to sign.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The string to sign as text (for `--debug`; it holds no secret).
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StringToSign").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    const SCOPE: Scope<'static> = Scope {
        date: "20261204",
        region: "us-east-1",
        service: "rolesanywhere",
    };

    #[test]
    fn algorithm_names() {
        assert_eq!(SigningAlgorithm::RsaSha256.as_str(), "AWS4-X509-RSA-SHA256");
        assert_eq!(
            SigningAlgorithm::EcdsaSha256.as_str(),
            "AWS4-X509-ECDSA-SHA256"
        );
        assert_eq!(SigningAlgorithm::MlDsa.to_string(), "AWS4-X509-MLDSA");
    }

    #[test]
    fn scope_display_and_validation() {
        assert_eq!(
            SCOPE.to_string(),
            "20261204/us-east-1/rolesanywhere/aws4_request"
        );
        assert_eq!(SCOPE.validate(), Ok(()));
        let bad = |date, region, service| {
            Scope {
                date,
                region,
                service,
            }
            .validate()
        };
        assert_eq!(
            bad("2026124", "us-east-1", "s"),
            Err(Sigv4Error::InvalidScopeDate)
        );
        assert_eq!(
            bad("20261304", "us-east-1", "s"),
            Err(Sigv4Error::InvalidScopeDate)
        );
        assert_eq!(
            bad("20261200", "us-east-1", "s"),
            Err(Sigv4Error::InvalidScopeDate)
        );
        assert_eq!(
            bad("2026120a", "us-east-1", "s"),
            Err(Sigv4Error::InvalidScopeDate)
        );
        assert_eq!(
            bad("20261204", "US-EAST-1", "s"),
            Err(Sigv4Error::InvalidRegion)
        );
        assert_eq!(
            bad("20261204", "us-east-1\r\n", "s"),
            Err(Sigv4Error::InvalidRegion)
        );
        assert_eq!(bad("20261204", "", "s"), Err(Sigv4Error::InvalidRegion));
        assert_eq!(
            bad("20261204", "us/east", "s"),
            Err(Sigv4Error::InvalidRegion)
        );
        assert_eq!(
            bad("20261204", "us-east-1", ""),
            Err(Sigv4Error::InvalidService)
        );
        assert_eq!(
            bad("20261204", "us-east-1", "abcdefghijklmnopqrstuvwxyz0123456"),
            Err(Sigv4Error::InvalidService)
        );
    }

    #[test]
    fn amz_date_validation() {
        assert_eq!(validate_amz_date("20150830T123600Z"), Ok(()));
        assert_eq!(validate_amz_date("20161231T235960Z"), Ok(()));
        for bad in [
            "",
            "20150830T123600",
            "20150830T123600Z\n",
            "20150830t123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T1236000Z",
            "2015-08-30T12:36:00Z",
            "20150830T12\r\n00Z",
            "２0150830T123600Z",
        ] {
            assert_eq!(
                validate_amz_date(bad),
                Err(Sigv4Error::InvalidAmzDate),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn string_to_sign_layout() {
        let hash = [0xabu8; 32];
        let sts = StringToSign::new(
            SigningAlgorithm::EcdsaSha256.as_str(),
            "20261204T153823Z",
            &SCOPE,
            &hash,
        )
        .unwrap();
        let want = "AWS4-X509-ECDSA-SHA256\n20261204T153823Z\n\
                    20261204/us-east-1/rolesanywhere/aws4_request\n\
                    abababababababababababababababababababababababababababababababab";
        assert_eq!(sts.as_str(), want);
        assert_eq!(sts.as_bytes(), want.as_bytes());
        assert_eq!(sts.to_string(), want);
    }

    #[test]
    fn string_to_sign_rejects_bad_inputs() {
        let hash = [0u8; 32];
        let alg = "AWS4-X509-RSA-SHA256";
        assert_eq!(
            StringToSign::new("aws4-x509", "20261204T153823Z", &SCOPE, &hash),
            Err(Sigv4Error::InvalidAlgorithm)
        );
        assert_eq!(
            StringToSign::new("AWS4\nX", "20261204T153823Z", &SCOPE, &hash),
            Err(Sigv4Error::InvalidAlgorithm)
        );
        assert_eq!(
            StringToSign::new(alg, "20261204T153823", &SCOPE, &hash),
            Err(Sigv4Error::InvalidAmzDate)
        );
        assert_eq!(
            StringToSign::new(alg, "20261205T000000Z", &SCOPE, &hash),
            Err(Sigv4Error::ScopeDateMismatch)
        );
    }

    #[test]
    fn longest_valid_inputs_fit() {
        let name = "abcdefghijklmnopqrstuvwxyz-01234";
        let scope = Scope {
            date: "20261204",
            region: name,
            service: name,
        };
        let alg = "AWS4-X509-ABCDEFGHIJKLMNOPQRSTUV";
        assert_eq!(alg.len(), 32);
        let sts = StringToSign::new(alg, "20261204T153823Z", &scope, &[0; 32]).unwrap();
        assert_eq!(sts.as_bytes().len(), 202);
    }
}
