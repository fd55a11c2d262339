//! Certificates: parsing, key types, signature checks and chain building to a trust anchor.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ML_DSA_44: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17");
const ML_DSA_65: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18");
const ML_DSA_87: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.19");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The longest chain (intermediates) the mock follows.
const MAX_DEPTH: usize = 8;

/// The public key types the mock verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA (any size the `rsa` crate accepts).
    Rsa,
    /// ECDSA on P-256.
    P256,
    /// ECDSA on P-384.
    P384,
    /// ML-DSA-44 (FIPS 204).
    MlDsa44,
    /// ML-DSA-65 (FIPS 204).
    MlDsa65,
    /// ML-DSA-87 (FIPS 204).
    MlDsa87,
}

impl KeyKind {
    /// The SigV4-X509 algorithm name for this key type.
    pub(crate) fn algorithm(self) -> &'static str {
        match self {
            Self::Rsa => "AWS4-X509-RSA-SHA256",
            Self::P256 | Self::P384 => "AWS4-X509-ECDSA-SHA256",
            Self::MlDsa44 | Self::MlDsa65 | Self::MlDsa87 => "AWS4-X509-MLDSA",
        }
    }
}

/// A decoded certificate with its exact TBS bytes.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    /// The whole certificate DER.
    pub(crate) der: Vec<u8>,
    /// The decoded certificate.
    pub(crate) cert: Certificate,
    /// The `tbsCertificate` TLV exactly as received (what the issuer signed).
    tbs: Vec<u8>,
}

impl Cert {
    /// Decodes a DER certificate.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert = Certificate::from_der(der).map_err(|e| format!("bad certificate: {e}"))?;
        let tbs = first_inner_tlv(der).ok_or("bad certificate: no tbsCertificate")?;
        Ok(Self {
            der: der.to_vec(),
            cert,
            tbs: tbs.to_vec(),
        })
    }

    fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        self.cert.tbs_certificate().subject_public_key_info()
    }

    /// The key type of the subject public key, if supported.
    pub(crate) fn key_kind(&self) -> Option<KeyKind> {
        let alg = &self.spki().algorithm;
        if alg.oid == RSA_ENCRYPTION {
            return Some(KeyKind::Rsa);
        }
        // ML-DSA AlgorithmIdentifiers carry no parameters.
        let ml_dsa = match alg.oid {
            ML_DSA_44 => Some(KeyKind::MlDsa44),
            ML_DSA_65 => Some(KeyKind::MlDsa65),
            ML_DSA_87 => Some(KeyKind::MlDsa87),
            _ => None,
        };
        if ml_dsa.is_some() {
            return ml_dsa.filter(|_| alg.parameters.is_none());
        }
        if alg.oid != EC_PUBLIC_KEY {
            return None;
        }
        match curve_oid(&self.spki().algorithm)? {
            SECP256R1 => Some(KeyKind::P256),
            SECP384R1 => Some(KeyKind::P384),
            _ => None,
        }
    }

    /// The serial number in decimal, as `Credential=` must carry it.
    pub(crate) fn serial_decimal(&self) -> String {
        serial_decimal(self.cert.tbs_certificate().serial_number().as_bytes())
    }

    /// The serial number in lowercase hex without leading zeros.
    pub(crate) fn serial_hex(&self) -> String {
        let b = self.cert.tbs_certificate().serial_number().as_bytes();
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let trimmed = hex.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        }
    }

    /// `CN=<common name>` of the subject, or the whole subject when it has no CN.
    pub(crate) fn source_identity(&self) -> String {
        let subject = self.cert.tbs_certificate().subject();
        match subject.common_name() {
            Ok(Some(cn)) => format!("CN={}", cn.value()),
            _ => subject.to_string(),
        }
    }

    /// Verifies a SigV4-X509 signature over `string_to_sign` with this certificate's key:
    /// RSA PKCS#1 v1.5 with SHA-256, a DER ECDSA signature over SHA-256 (for every curve),
    /// or pure ML-DSA over the string itself with an empty context.
    pub(crate) fn verify_sigv4(&self, string_to_sign: &[u8], signature: &[u8]) -> bool {
        let Some(kind) = self.key_kind() else {
            return false;
        };
        let digest = Sha256::digest(string_to_sign);
        match kind {
            KeyKind::Rsa => verify_rsa::<Sha256>(self.spki(), string_to_sign, signature),
            KeyKind::P256 => verify_p256(self.spki(), &digest, signature),
            KeyKind::P384 => verify_p384(self.spki(), &digest, signature),
            KeyKind::MlDsa44 => {
                verify_ml_dsa::<ml_dsa::MlDsa44>(self.spki(), string_to_sign, signature)
            }
            KeyKind::MlDsa65 => {
                verify_ml_dsa::<ml_dsa::MlDsa65>(self.spki(), string_to_sign, signature)
            }
            KeyKind::MlDsa87 => {
                verify_ml_dsa::<ml_dsa::MlDsa87>(self.spki(), string_to_sign, signature)
            }
        }
    }

    /// Whether `issuer` signed this certificate (names match and the signature verifies).
    fn issued_by(&self, issuer: &Cert) -> bool {
        let tbs = self.cert.tbs_certificate();
        let (Ok(want), Ok(have)) = (
            tbs.issuer().to_der(),
            issuer.cert.tbs_certificate().subject().to_der(),
        ) else {
            return false;
        };
        if want != have || tbs.signature().oid != self.cert.signature_algorithm().oid {
            return false;
        }
        let Some(sig) = self.cert.signature().as_bytes() else {
            return false;
        };
        let spki = issuer.spki();
        match self.cert.signature_algorithm().oid {
            SHA256_WITH_RSA => verify_rsa::<Sha256>(spki, &self.tbs, sig),
            SHA384_WITH_RSA => verify_rsa::<Sha384>(spki, &self.tbs, sig),
            SHA512_WITH_RSA => verify_rsa::<Sha512>(spki, &self.tbs, sig),
            ECDSA_WITH_SHA256 => verify_ec_any(spki, &Sha256::digest(&self.tbs), sig),
            ECDSA_WITH_SHA384 => verify_ec_any(spki, &Sha384::digest(&self.tbs), sig),
            _ => false,
        }
    }

    /// Whether the certificate may issue others (basicConstraints cA, or a v1 certificate).
    fn is_ca(&self) -> bool {
        let tbs = self.cert.tbs_certificate();
        if tbs.extensions().is_none() {
            return true;
        }
        matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    }

    /// Whether `now` (Unix seconds) lies inside the validity window.
    fn valid_at(&self, now: u64) -> bool {
        let v = self.cert.tbs_certificate().validity();
        v.not_before.to_unix_duration().as_secs() <= now
            && now <= v.not_after.to_unix_duration().as_secs()
    }
}

/// Why a certificate does not chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainError {
    /// No path to a trust anchor.
    Untrusted,
    /// A path exists, but a certificate on it is outside its validity window.
    Expired,
}

/// Builds a path from `leaf` through `intermediates` (any order) to one of `anchors`,
/// checking names, signatures and, last, every validity window on the path.
pub(crate) fn verify_chain(
    leaf: &Cert,
    intermediates: &[Cert],
    anchors: &[Cert],
    now: u64,
) -> Result<(), ChainError> {
    let mut path: Vec<&Cert> = vec![leaf];
    let mut used = vec![false; intermediates.len()];
    let mut current = leaf;
    for _ in 0..=MAX_DEPTH.min(intermediates.len()) {
        if let Some(anchor) = anchors.iter().find(|a| a.is_ca() && current.issued_by(a)) {
            path.push(anchor);
            return if path.iter().all(|c| c.valid_at(now)) {
                Ok(())
            } else {
                Err(ChainError::Expired)
            };
        }
        let next = intermediates.iter().enumerate().find(|(i, c)| {
            !used.get(*i).copied().unwrap_or(true) && c.is_ca() && current.issued_by(c)
        });
        let Some((i, next)) = next else {
            return Err(ChainError::Untrusted);
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        path.push(next);
        current = next;
    }
    Err(ChainError::Untrusted)
}

/// The named curve in an id-ecPublicKey algorithm's parameters.
fn curve_oid(alg: &x509_cert::spki::AlgorithmIdentifierOwned) -> Option<ObjectIdentifier> {
    alg.parameters.as_ref()?.decode_as().ok()
}

fn spki_der(spki: &SubjectPublicKeyInfoOwned) -> Option<Vec<u8>> {
    spki.to_der().ok()
}

fn verify_rsa<D>(spki: &SubjectPublicKeyInfoOwned, msg: &[u8], sig: &[u8]) -> bool
where
    D: Digest
        + der::oid::AssociatedOid
        + sha2::digest::FixedOutput
        + sha2::digest::HashMarker
        + Default
        + sha2::digest::Update,
{
    use rsa::pkcs8::DecodePublicKey as _;
    let Some(der) = spki_der(spki) else {
        return false;
    };
    let Ok(key) = rsa::PublicKey::from_public_key_der(&der) else {
        return false;
    };
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<D>::new(key)
        .verify(msg, &sig)
        .is_ok()
}

/// Pure ML-DSA (FIPS 204 Algorithm 3) with an empty context, as AWS4-X509-MLDSA signs.
fn verify_ml_dsa<P: ml_dsa::MlDsaParams>(
    spki: &SubjectPublicKeyInfoOwned,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let Some(encoded) = spki
        .subject_public_key
        .as_bytes()
        .and_then(|b| ml_dsa::EncodedVerifyingKey::<P>::try_from(b).ok())
    else {
        return false;
    };
    let Ok(sig) = ml_dsa::Signature::<P>::try_from(sig) else {
        return false;
    };
    ml_dsa::VerifyingKey::<P>::decode(&encoded).verify_with_context(msg, &[], &sig)
}

fn ec_point(spki: &SubjectPublicKeyInfoOwned) -> Option<&[u8]> {
    spki.subject_public_key.as_bytes()
}

/// ECDSA P-256: DER signature over an already computed digest (any length).
fn verify_p256(spki: &SubjectPublicKeyInfoOwned, prehash: &[u8], sig: &[u8]) -> bool {
    let Some(point) = ec_point(spki) else {
        return false;
    };
    let (Ok(key), Ok(sig)) = (
        p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
        p256::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    key.verify_prehash(prehash, &sig).is_ok()
}

/// ECDSA P-384: DER signature over an already computed digest (any length).
fn verify_p384(spki: &SubjectPublicKeyInfoOwned, prehash: &[u8], sig: &[u8]) -> bool {
    let Some(point) = ec_point(spki) else {
        return false;
    };
    let (Ok(key), Ok(sig)) = (
        p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
        p384::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    key.verify_prehash(prehash, &sig).is_ok()
}

fn verify_ec_any(spki: &SubjectPublicKeyInfoOwned, prehash: &[u8], sig: &[u8]) -> bool {
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return false;
    }
    match curve_oid(&spki.algorithm) {
        Some(SECP256R1) => verify_p256(spki, prehash, sig),
        Some(SECP384R1) => verify_p384(spki, prehash, sig),
        _ => false,
    }
}

/// Reads one DER TLV header: (header length, content length).
fn tlv_header(input: &[u8]) -> Option<(usize, usize)> {
    let first = *input.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*input.get(2 + i)?);
    }
    Some((2 + n, len))
}

/// The first element (whole TLV) inside the outer SEQUENCE of `der`.
fn first_inner_tlv(der: &[u8]) -> Option<&[u8]> {
    if *der.first()? != 0x30 {
        return None;
    }
    let (hl, cl) = tlv_header(der)?;
    let content = der.get(hl..hl.checked_add(cl)?)?;
    let (ihl, icl) = tlv_header(content)?;
    content.get(..ihl.checked_add(icl)?)
}

/// A DER INTEGER's content bytes (two's complement, big-endian) in decimal.
pub(crate) fn serial_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        // Two's complement magnitude: invert and add one.
        for b in &mut mag {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    // Repeated division by 10 on the big-endian magnitude.
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in &mut mag {
            let cur = (rem << 8) | u32::from(*b);
            *b = u8::try_from(cur / 10).unwrap_or(0);
            rem = cur % 10;
        }
        digits.push(char::from(b'0' + u8::try_from(rem).unwrap_or(0)));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn serial_to_decimal() {
        assert_eq!(serial_decimal(&[]), "0");
        assert_eq!(serial_decimal(&[0]), "0");
        assert_eq!(serial_decimal(&[0x12, 0x34, 0xAB, 0xCD]), "305441741");
        assert_eq!(
            serial_decimal(&[0x00, 0x8A, 0x3F, 0x5C, 0x7E, 0x9B, 0x1D, 0x2F, 0x46, 0x08]),
            "2550216345498839631368"
        );
        assert_eq!(serial_decimal(&[0x00, 0xFF]), "255");
        assert_eq!(serial_decimal(&[0xFF]), "-1");
        assert_eq!(serial_decimal(&[0x80, 0x00]), "-32768");
        assert_eq!(
            serial_decimal(&[
                0x00, 0xF0, 0x0D, 0xFA, 0xCE, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF
            ]),
            "74293302784509788797906177519"
        );
    }

    #[test]
    fn tlv_walk() {
        assert_eq!(
            first_inner_tlv(&[0x30, 0x05, 0x02, 0x01, 0x07, 0x05, 0x00]),
            Some(&[0x02, 0x01, 0x07][..])
        );
        assert_eq!(first_inner_tlv(&[0x31, 0x03, 0x02, 0x01, 0x07]), None);
        assert_eq!(first_inner_tlv(&[0x30, 0x03, 0x02, 0x05, 0x07]), None);
        assert_eq!(first_inner_tlv(&[0x30, 0x81]), None);
    }
}
