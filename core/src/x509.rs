//! X.509 certificates, read without a heap: serial, names, validity and the
//! subject public key, which is all SigV4-X509 needs.
//!
//! `x509-cert` allocates unconditionally, so the few fields we need are read
//! with `der` directly. The certificate is borrowed, never copied.

use core::fmt;

use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, IntRef, ObjectIdentifier, UtcTime};
use der::{Decode, Reader, SliceReader, Tag, TagNumber};

/// OIDs of the public key algorithms we know.
pub mod oid {
    use der::asn1::ObjectIdentifier;
    /// rsaEncryption (PKCS#1).
    pub const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    /// id-ecPublicKey.
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    /// secp256r1 / prime256v1.
    pub const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1.
    pub const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    /// id-ml-dsa-44 (FIPS 204).
    pub const ML_DSA_44: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17");
    /// id-ml-dsa-65 (FIPS 204).
    pub const ML_DSA_65: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18");
    /// id-ml-dsa-87 (FIPS 204).
    pub const ML_DSA_87: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.19");
}

/// The kind of key in a certificate or behind a signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA, any modulus size.
    Rsa,
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// ML-DSA-44 (FIPS 204).
    MlDsa44,
    /// ML-DSA-65 (FIPS 204).
    MlDsa65,
    /// ML-DSA-87 (FIPS 204).
    MlDsa87,
}

impl KeyType {
    /// The name `read-certificate-data` prints as `keyType`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::P256 | KeyType::P384 => "EC",
            KeyType::MlDsa44 => "ML-DSA-44",
            KeyType::MlDsa65 => "ML-DSA-65",
            KeyType::MlDsa87 => "ML-DSA-87",
        }
    }

    /// The SigV4-X509 algorithm that keys of this type sign with.
    pub fn signing_algorithm(self) -> crate::sigv4::SigningAlgorithm {
        use crate::sigv4::SigningAlgorithm;
        match self {
            KeyType::Rsa => SigningAlgorithm::RsaSha256,
            KeyType::P256 | KeyType::P384 => SigningAlgorithm::EcdsaSha256,
            KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87 => SigningAlgorithm::MlDsa,
        }
    }

    /// Reads the key type from a SubjectPublicKeyInfo's algorithm identifier.
    pub fn from_algorithm(
        algorithm: ObjectIdentifier,
        parameters: Option<AnyRef<'_>>,
    ) -> Option<KeyType> {
        match algorithm {
            oid::RSA => Some(KeyType::Rsa),
            oid::EC_PUBLIC_KEY => {
                match parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok())? {
                    oid::P256 => Some(KeyType::P256),
                    oid::P384 => Some(KeyType::P384),
                    _ => None,
                }
            }
            oid::ML_DSA_44 => Some(KeyType::MlDsa44),
            oid::ML_DSA_65 => Some(KeyType::MlDsa65),
            oid::ML_DSA_87 => Some(KeyType::MlDsa87),
            _ => None,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa => "RSA",
            KeyType::P256 => "EC P-256",
            KeyType::P384 => "EC P-384",
            other => other.name(),
        })
    }
}

/// Why bytes are not a certificate we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X509Error {
    /// Not DER, or not the shape of an X.509 certificate.
    Malformed,
    /// The serial number is negative or longer than 20 octets (RFC 5280 4.1.2.2).
    BadSerial,
}

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            X509Error::Malformed => "not a DER X.509 certificate",
            X509Error::BadSerial => {
                "certificate serial number is negative or longer than 20 octets"
            }
        })
    }
}

impl core::error::Error for X509Error {}

impl From<der::Error> for X509Error {
    fn from(_: der::Error) -> Self {
        X509Error::Malformed
    }
}

/// A parsed, borrowed X.509 certificate.
#[derive(Clone, Copy, Debug)]
pub struct Certificate<'a> {
    der: &'a [u8],
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    algorithm: ObjectIdentifier,
    key_type: Option<KeyType>,
    public_key: &'a [u8],
    not_before: i64,
    not_after: i64,
}

/// Reads one TLV and returns its full encoding (tag, length and value).
fn raw_tlv<'a>(r: &mut SliceReader<'a>) -> der::Result<&'a [u8]> {
    r.tlv_bytes()
}

fn read_time(r: &mut SliceReader<'_>) -> der::Result<i64> {
    let secs = match Tag::peek(r)? {
        Tag::UtcTime => UtcTime::decode(r)?.to_unix_duration().as_secs(),
        _ => GeneralizedTime::decode(r)?.to_unix_duration().as_secs(),
    };
    i64::try_from(secs).map_err(|_| der::ErrorKind::Overflow.into())
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate. Extensions and the outer signature are not
    /// checked: the service (or the mock) verifies the chain.
    pub fn from_der(der: &'a [u8]) -> Result<Self, X509Error> {
        let mut outer = SliceReader::new(der)?;
        let cert = outer.sequence(|r| {
            let tbs = r.sequence(|t| {
                if Tag::peek(t)?
                    == (Tag::ContextSpecific {
                        constructed: true,
                        number: TagNumber(0),
                    })
                {
                    AnyRef::decode(t)?;
                }
                let serial = IntRef::decode(t)?;
                AnyRef::decode(t)?; // signature algorithm
                let issuer = raw_tlv(t)?;
                let (not_before, not_after) =
                    t.sequence(|v| Ok::<_, der::Error>((read_time(v)?, read_time(v)?)))?;
                let subject = raw_tlv(t)?;
                let spki = raw_tlv(t)?;
                // issuerUniqueID, subjectUniqueID, extensions: not needed.
                while !t.is_finished() {
                    AnyRef::decode(t)?;
                }
                Ok::<_, der::Error>((serial, issuer, not_before, not_after, subject, spki))
            })?;
            AnyRef::decode(r)?; // signatureAlgorithm
            BitStringRef::decode(r)?; // signatureValue
            Ok::<_, der::Error>(tbs)
        })?;
        outer.finish()?;
        let (serial, issuer, not_before, not_after, subject, spki) = cert;
        let (algorithm, parameters, public_key) = parse_spki(spki)?;
        let serial = serial.as_bytes();
        if serial.first().is_some_and(|b| b & 0x80 != 0) || serial.len() > 21 {
            return Err(X509Error::BadSerial);
        }
        Ok(Certificate {
            der,
            serial,
            issuer,
            subject,
            spki,
            algorithm,
            key_type: KeyType::from_algorithm(algorithm, parameters),
            public_key,
            not_before,
            not_after,
        })
    }

    /// The whole certificate, DER.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// The serial number's big-endian magnitude (no sign octet).
    pub fn serial_bytes(&self) -> &'a [u8] {
        let s = self.serial;
        match s {
            [0, rest @ ..] if !rest.is_empty() => rest,
            _ => s,
        }
    }

    /// The serial number in decimal, as the `Credential=` of SigV4-X509 wants it.
    pub fn serial_decimal(&self) -> heapless::String<52> {
        decimal(self.serial_bytes())
    }

    /// The serial in upper-case hex without leading zeros, as
    /// `read-certificate-data` lists it.
    pub fn serial_hex(&self) -> heapless::String<44> {
        let mut out = heapless::String::new();
        let mut started = false;
        for &b in self.serial_bytes() {
            for nibble in [b >> 4, b & 15] {
                if nibble != 0 || started {
                    started = true;
                    let _ = out.push(char::from(b"0123456789ABCDEF"[usize::from(nibble)]));
                }
            }
        }
        if out.is_empty() {
            let _ = out.push('0');
        }
        out
    }

    /// The issuer Name, DER.
    pub fn issuer_der(&self) -> &'a [u8] {
        self.issuer
    }

    /// The subject Name, DER.
    pub fn subject_der(&self) -> &'a [u8] {
        self.subject
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> &'a [u8] {
        self.spki
    }

    /// The public key algorithm OID.
    pub fn algorithm(&self) -> ObjectIdentifier {
        self.algorithm
    }

    /// The key type, or `None` for algorithms this tool cannot sign with.
    pub fn key_type(&self) -> Option<KeyType> {
        self.key_type
    }

    /// The subjectPublicKey bits: the PKCS#1 `RSAPublicKey` for RSA, the SEC1
    /// point for EC, the raw key for ML-DSA.
    pub fn public_key(&self) -> &'a [u8] {
        self.public_key
    }

    /// Start of the validity window, seconds since the epoch.
    pub fn not_before(&self) -> crate::time::UnixTime {
        crate::time::UnixTime(self.not_before)
    }

    /// End of the validity window, seconds since the epoch.
    pub fn not_after(&self) -> crate::time::UnixTime {
        crate::time::UnixTime(self.not_after)
    }

    /// True when `self` names `other` as its issuer (by DER equality of the names).
    pub fn is_issued_by(&self, other: &Certificate<'_>) -> bool {
        self.issuer == other.subject
    }
}

/// Splits a SubjectPublicKeyInfo into algorithm, parameters and key bits.
pub fn parse_spki(spki: &[u8]) -> Result<(ObjectIdentifier, Option<AnyRef<'_>>, &[u8]), X509Error> {
    let mut r = SliceReader::new(spki)?;
    let parts = r.sequence(|s| {
        let (alg, params) = s.sequence(|a| {
            let oid = ObjectIdentifier::decode(a)?;
            let params = if a.is_finished() {
                None
            } else {
                Some(AnyRef::decode(a)?)
            };
            Ok::<_, der::Error>((oid, params))
        })?;
        let bits = BitStringRef::decode(s)?;
        Ok::<_, der::Error>((alg, params, bits))
    })?;
    r.finish()?;
    let (alg, params, bits) = parts;
    let key = bits.as_bytes().ok_or(X509Error::Malformed)?;
    Ok((alg, params, key))
}

/// Big-endian unsigned bytes to decimal digits (at most 21 bytes: 51 digits).
fn decimal(be: &[u8]) -> heapless::String<52> {
    let mut n = [0u8; 21];
    let take = be.len().min(21);
    let skip = be.len() - take;
    n[21 - take..].copy_from_slice(be.get(skip..).unwrap_or_default());
    let mut digits = [0u8; 52];
    let mut count = 0;
    loop {
        // Divide n by 10 in place; the remainder is the next digit.
        let mut rem = 0u32;
        let mut nonzero = false;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
            nonzero |= *b != 0;
        }
        digits[count] = b'0' + rem as u8;
        count += 1;
        if !nonzero || count == digits.len() {
            break;
        }
    }
    let mut out = heapless::String::new();
    for &d in digits[..count].iter().rev() {
        let _ = out.push(char::from(d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_serials() {
        assert_eq!(decimal(&[0x12, 0x34, 0xAB, 0xCD]).as_str(), "305441741");
        assert_eq!(decimal(&[0]).as_str(), "0");
        assert_eq!(decimal(&[]).as_str(), "0");
        assert_eq!(
            decimal(&[0xff; 20]).as_str(),
            "1461501637330902918203684832716283019655932542975"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(
            Certificate::from_der(b"").unwrap_err(),
            X509Error::Malformed
        );
        assert_eq!(
            Certificate::from_der(&[0x30, 0x03, 1, 1, 1]).unwrap_err(),
            X509Error::Malformed
        );
        assert_eq!(
            Certificate::from_der(&[0x30, 0x82, 0xff]).unwrap_err(),
            X509Error::Malformed
        );
    }
}
