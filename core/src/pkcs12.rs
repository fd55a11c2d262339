//! PKCS#12 bundles (RFC 7292), as `--certificate bundle.p12` with no
//! `--private-key`: the private key, the end-entity certificate and the rest
//! of the chain in one password-protected file.
//!
//! Supported, which is what `openssl pkcs12 -export` writes today and what
//! older tooling (`-legacy`, Windows, Java) writes:
//! - integrity: HMAC with SHA-1/256/384/512 keyed by the PKCS#12 KDF, or none;
//! - privacy: PBES2 (PBKDF2 or scrypt with AES-CBC, see [`crate::key::encrypted`])
//!   and the PKCS#12 PBEs `pbeWithSHAAnd3-KeyTripleDES-CBC`,
//!   `pbeWithSHAAnd2-KeyTripleDES-CBC`, `pbeWithSHAAnd128BitRC2-CBC` and
//!   `pbeWithSHAAnd40BitRC2-CBC`;
//! - bags: `keyBag`, `pkcs8ShroudedKeyBag` and X.509 `certBag`s (others are skipped).
//!
//! Not supported, each with a clear error: public-key integrity/privacy
//! modes (`signedData`, `envelopedData`), RC4 PBEs, PBMAC1, and BER
//! (indefinite-length) encodings.
//!
//! Every iteration count (MAC, legacy PBE, PBKDF2) and scrypt's memory are
//! checked against [`KdfLimits`] before any derivation. Decrypted key bytes
//! are `Zeroizing`.
//!
//! [`Pkcs12Identity::from_der`] then picks the end-entity certificate as the
//! original helper does (the one certificate that issues no other in the
//! bundle), matches the key to it, and orders the rest leaf-most first.

mod identity;
mod kdf;
mod legacy;
#[cfg(test)]
mod tests;

pub use identity::Pkcs12Identity;

use alloc::vec::Vec;
use core::fmt;

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use crate::key::KeyError;
use crate::key::encrypted::{EncryptedKeyError, KdfLimits, OidName, PBES2};

use self::kdf::Purpose;

pub(crate) mod oids {
    use der::asn1::ObjectIdentifier as O;
    pub(crate) const DATA: O = O::new_unwrap("1.2.840.113549.1.7.1");
    pub(crate) const ENCRYPTED_DATA: O = O::new_unwrap("1.2.840.113549.1.7.6");
    pub(crate) const KEY_BAG: O = O::new_unwrap("1.2.840.113549.1.12.10.1.1");
    pub(crate) const SHROUDED_KEY_BAG: O = O::new_unwrap("1.2.840.113549.1.12.10.1.2");
    pub(crate) const CERT_BAG: O = O::new_unwrap("1.2.840.113549.1.12.10.1.3");
    pub(crate) const X509_CERTIFICATE: O = O::new_unwrap("1.2.840.113549.1.9.22.1");
    pub(crate) const SHA1: O = O::new_unwrap("1.3.14.3.2.26");
    pub(crate) const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub(crate) const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub(crate) const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub(crate) const PBE_SHA_3DES3: O = O::new_unwrap("1.2.840.113549.1.12.1.3");
    pub(crate) const PBE_SHA_3DES2: O = O::new_unwrap("1.2.840.113549.1.12.1.4");
    pub(crate) const PBE_SHA_RC2_128: O = O::new_unwrap("1.2.840.113549.1.12.1.5");
    pub(crate) const PBE_SHA_RC2_40: O = O::new_unwrap("1.2.840.113549.1.12.1.6");
}

/// Most certificates and keys a bundle may hold (a real one has a handful).
const MAX_ITEMS: usize = 64;
/// Most encrypted parts (encrypted SafeContents and shrouded keys) a bundle
/// may hold: each costs a key derivation, which [`KdfLimits`] caps one at a
/// time. A real bundle has two.
const MAX_DECRYPTIONS: usize = 8;

/// Why a PKCS#12 file could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkcs12Error {
    /// The DER does not have the PKCS#12 shape; names the structure at fault.
    Malformed(&'static str),
    /// An algorithm or content type we do not support.
    Unsupported(ObjectIdentifier),
    /// The MAC does not verify, or decryption failed: wrong password.
    WrongPassword,
    /// Hostile or invalid encryption parameters (limits, truncated data, ...).
    Encryption(EncryptedKeyError),
    /// The bundle holds no private key.
    NoKey,
    /// The bundle holds no certificate.
    NoCertificate,
    /// More than [`MAX_ITEMS`] keys or certificates, or more than
    /// [`MAX_DECRYPTIONS`] encrypted parts.
    TooManyItems,
    /// A key inside is unusable.
    Key(KeyError),
    /// No certificate that issues no other matches the private key.
    NoMatchingCertificate,
}

impl fmt::Display for Pkcs12Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkcs12Error::Malformed(what) => write!(f, "malformed PKCS#12 file: bad {what}"),
            Pkcs12Error::Unsupported(oid) => {
                write!(
                    f,
                    "unsupported algorithm or content {} in the PKCS#12 file",
                    OidName(*oid)
                )
            }
            Pkcs12Error::WrongPassword => f.write_str("incorrect PKCS#12 password"),
            Pkcs12Error::Encryption(e) => write!(f, "PKCS#12 encryption: {e}"),
            Pkcs12Error::NoKey => f.write_str("the PKCS#12 file holds no private key"),
            Pkcs12Error::NoCertificate => f.write_str("the PKCS#12 file holds no certificate"),
            Pkcs12Error::TooManyItems => {
                write!(
                    f,
                    "the PKCS#12 file holds more than {MAX_ITEMS} keys or certificates, or more than {MAX_DECRYPTIONS} encrypted parts"
                )
            }
            Pkcs12Error::Key(e) => write!(f, "private key in the PKCS#12 file: {e}"),
            Pkcs12Error::NoMatchingCertificate => {
                f.write_str("no end-entity certificate in the PKCS#12 file matches its private key")
            }
        }
    }
}

impl core::error::Error for Pkcs12Error {}

impl From<EncryptedKeyError> for Pkcs12Error {
    fn from(e: EncryptedKeyError) -> Self {
        match e {
            EncryptedKeyError::WrongPassword => Pkcs12Error::WrongPassword,
            EncryptedKeyError::UnsupportedScheme(oid)
            | EncryptedKeyError::UnsupportedAlgorithm(oid) => Pkcs12Error::Unsupported(oid),
            other => Pkcs12Error::Encryption(other),
        }
    }
}

/// Everything a PKCS#12 file holds that we use.
#[derive(Default)]
pub struct Pkcs12Contents {
    /// PKCS#8 `PrivateKeyInfo` DER of each key, decrypted (zeroized on drop).
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// DER of each X.509 certificate, in file order.
    pub certificates: Vec<Vec<u8>>,
}

impl fmt::Debug for Pkcs12Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs12Contents")
            .field("keys", &self.keys.len())
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

/// The password in the encodings PKCS#12 uses: UTF-8 for PBES2, BMPString
/// for the MAC and the legacy PBEs.
struct Password<'p> {
    utf8: &'p [u8],
    /// BMP encodings to try, in order (two for an empty password).
    bmp: Vec<Zeroizing<Vec<u8>>>,
    /// Decryptions so far (see [`MAX_DECRYPTIONS`]).
    decryptions: core::cell::Cell<usize>,
}

const fn ctx(n: u32) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(n),
    }
}

/// The contents of a `[0] EXPLICIT` wrapper.
fn explicit0<'a>(any: AnyRef<'a>, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
    if any.tag() != ctx(0) {
        return Err(Pkcs12Error::Malformed(what));
    }
    Ok(any.value())
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> Pkcs12Error {
    move |_| Pkcs12Error::Malformed(what)
}

/// Reads a whole DER value of type `T` from `bytes`, rejecting trailing data.
fn whole<'a, T: Decode<'a>>(bytes: &'a [u8], what: &'static str) -> Result<T, Pkcs12Error> {
    let mut r = SliceReader::new(bytes).map_err(malformed(what))?;
    let v = T::decode(&mut r).map_err(|_| Pkcs12Error::Malformed(what))?;
    r.finish().map_err(malformed(what))?;
    Ok(v)
}

/// Splits `SEQUENCE OF X` into its elements' encodings.
fn sequence_of<'a>(bytes: &'a [u8], what: &'static str) -> Result<Vec<AnyRef<'a>>, Pkcs12Error> {
    let mut r = SliceReader::new(bytes).map_err(malformed(what))?;
    let items = r
        .sequence(|s| {
            let mut items = Vec::new();
            while !s.is_finished() {
                items.push(AnyRef::decode(s)?);
            }
            Ok::<_, der::Error>(items)
        })
        .map_err(malformed(what))?;
    r.finish().map_err(malformed(what))?;
    Ok(items)
}

/// Parses a PKCS#12 file (DER) and decrypts what it holds with `password`
/// (empty = no password).
///
/// # Errors
/// [`Pkcs12Error::WrongPassword`] when the MAC (or, without a MAC, the
/// decryption) fails; the other variants name what is malformed or unsupported.
pub fn parse(
    der: &[u8],
    password: &str,
    limits: &KdfLimits,
) -> Result<Pkcs12Contents, Pkcs12Error> {
    // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
    let mut r = SliceReader::new(der).map_err(malformed("PFX"))?;
    let (version, auth_safe, mac_data) = r
        .sequence(|s| {
            let version = u8::decode(s)?;
            let auth_safe = AnyRef::decode(s)?;
            let mac = if s.is_finished() {
                None
            } else {
                Some(AnyRef::decode(s)?)
            };
            Ok::<_, der::Error>((version, auth_safe, mac))
        })
        .map_err(malformed("PFX"))?;
    r.finish().map_err(malformed("PFX"))?;
    if version != 3 {
        return Err(Pkcs12Error::Malformed("PFX version"));
    }
    let (content_type, content) = content_info(auth_safe)?;
    if content_type != oids::DATA {
        // signedData: public-key integrity mode.
        return Err(Pkcs12Error::Unsupported(content_type));
    }
    let auth_safe_bytes = whole::<&OctetStringRef>(content, "authSafe")?.as_bytes();

    let mut bmp = alloc::vec![kdf::bmp_password(password)];
    if password.is_empty() {
        bmp.push(Zeroizing::new(Vec::new()));
    }
    let mut pw = Password {
        utf8: password.as_bytes(),
        bmp,
        decryptions: core::cell::Cell::new(0),
    };
    let mac_verified = match mac_data {
        Some(mac) => {
            let good = verify_mac(mac, auth_safe_bytes, &pw, limits)?;
            // Keep only the BMP form that the MAC proved right.
            let proven = pw.bmp.swap_remove(good);
            pw.bmp = alloc::vec![proven];
            true
        }
        None => false,
    };

    let mut out = Pkcs12Contents::default();
    for info in sequence_of(auth_safe_bytes, "AuthenticatedSafe")? {
        let (content_type, content) = content_info(info)?;
        match content_type {
            oids::DATA => {
                let safe_contents = whole::<&OctetStringRef>(content, "SafeContents")?.as_bytes();
                read_safe_contents(safe_contents, &pw, limits, &mut out)?;
            }
            oids::ENCRYPTED_DATA => {
                let plain = decrypt_encrypted_data(content, &pw, limits)?;
                match read_safe_contents(&plain, &pw, limits, &mut out) {
                    // Without a MAC, garbage after decryption means a wrong password.
                    Err(Pkcs12Error::Malformed(_)) if !mac_verified => {
                        return Err(Pkcs12Error::WrongPassword);
                    }
                    other => other?,
                }
            }
            other => return Err(Pkcs12Error::Unsupported(other)),
        }
    }
    Ok(out)
}

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }`.
fn content_info(any: AnyRef<'_>) -> Result<(ObjectIdentifier, &[u8]), Pkcs12Error> {
    any.sequence(|s| {
        let oid = ObjectIdentifier::decode(s)?;
        let content = AnyRef::decode(s)?;
        Ok::<_, der::Error>((oid, content))
    })
    .map_err(malformed("ContentInfo"))
    .and_then(|(oid, content)| Ok((oid, explicit0(content, "ContentInfo")?)))
}

/// Checks `MacData` and returns the index of the BMP password form that verified it.
fn verify_mac(
    mac: AnyRef<'_>,
    data: &[u8],
    pw: &Password<'_>,
    limits: &KdfLimits,
) -> Result<usize, Pkcs12Error> {
    // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
    let (alg, digest, salt, iterations) = mac
        .sequence(|s| {
            let (alg, digest) = s.sequence(|d| {
                let alg = AlgorithmIdentifierRef::decode(d)?;
                let digest = <&OctetStringRef>::decode(d)?;
                Ok::<_, der::Error>((alg, digest.as_bytes()))
            })?;
            let salt = <&OctetStringRef>::decode(s)?.as_bytes();
            let iterations = Option::<u64>::decode(s)?.unwrap_or(1);
            Ok::<_, der::Error>((alg, digest, salt, iterations))
        })
        .map_err(malformed("MacData"))?;
    // A hash AlgorithmIdentifier has absent or NULL parameters.
    if alg.parameters.is_some_and(|p| !p.is_null()) {
        return Err(Pkcs12Error::Malformed("MacData"));
    }
    crate::key::encrypted::check_iterations(iterations, limits)?;
    let iterations = u32::try_from(iterations).map_err(|_| Pkcs12Error::Malformed("MacData"))?;
    for (index, bmp) in pw.bmp.iter().enumerate() {
        let ok = match alg.oid {
            oids::SHA1 => mac_matches::<sha1::Sha1>(64, bmp, salt, iterations, data, digest),
            oids::SHA256 => mac_matches::<sha2::Sha256>(64, bmp, salt, iterations, data, digest),
            oids::SHA384 => mac_matches::<sha2::Sha384>(128, bmp, salt, iterations, data, digest),
            oids::SHA512 => mac_matches::<sha2::Sha512>(128, bmp, salt, iterations, data, digest),
            other => return Err(Pkcs12Error::Unsupported(other)),
        };
        if ok {
            return Ok(index);
        }
    }
    Err(Pkcs12Error::WrongPassword)
}

fn mac_matches<D>(
    v: usize,
    bmp: &[u8],
    salt: &[u8],
    iterations: u32,
    data: &[u8],
    expected: &[u8],
) -> bool
where
    D: sha2::Digest + hmac::EagerHash,
    hmac::Hmac<D>: hmac::KeyInit + hmac::Mac,
{
    use hmac::{KeyInit, Mac};
    let mut key = Zeroizing::new(alloc::vec![0u8; <D as sha2::Digest>::output_size()]);
    kdf::derive::<D>(v, bmp, salt, Purpose::Mac, iterations, &mut key);
    let Ok(mut mac) = <hmac::Hmac<D> as KeyInit>::new_from_slice(&key) else {
        return false;
    };
    mac.update(data);
    // Constant-time comparison.
    mac.verify_slice(expected).is_ok()
}

/// `EncryptedData ::= SEQUENCE { version, EncryptedContentInfo, ... }`, decrypted.
fn decrypt_encrypted_data(
    content: &[u8],
    pw: &Password<'_>,
    limits: &KdfLimits,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let mut r = SliceReader::new(content).map_err(malformed("EncryptedData"))?;
    let (alg, ciphertext) = r
        .sequence(|s| {
            let _version = u8::decode(s)?;
            let eci = s.sequence(|e| {
                let _content_type: ObjectIdentifier = ObjectIdentifier::decode(e)?;
                let alg = AlgorithmIdentifierRef::decode(e)?;
                // encryptedContent [0] IMPLICIT OCTET STRING: primitive in DER.
                let data = AnyRef::decode(e)?;
                Ok::<_, der::Error>((alg, data))
            })?;
            // unprotectedAttrs [1] IMPLICIT: ignored.
            while !s.is_finished() {
                AnyRef::decode(s)?;
            }
            Ok::<_, der::Error>(eci)
        })
        .map_err(malformed("EncryptedData"))?;
    r.finish().map_err(malformed("EncryptedData"))?;
    let primitive0 = Tag::ContextSpecific {
        constructed: false,
        number: TagNumber(0),
    };
    if ciphertext.tag() != primitive0 {
        return Err(Pkcs12Error::Malformed(
            "EncryptedData content (constructed BER encodings are not supported)",
        ));
    }
    decrypt(alg, ciphertext.value(), pw, limits)
}

/// Decrypts with PBES2 or a PKCS#12 PBE.
fn decrypt(
    alg: AlgorithmIdentifierRef<'_>,
    ciphertext: &[u8],
    pw: &Password<'_>,
    limits: &KdfLimits,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    pw.decryptions.set(pw.decryptions.get() + 1);
    if pw.decryptions.get() > MAX_DECRYPTIONS {
        return Err(Pkcs12Error::TooManyItems);
    }
    if alg.oid == PBES2 {
        let params = crate::key::encrypted::pbes2_params(alg.parameters)?;
        return Ok(crate::key::encrypted::pbes2_decrypt(
            &params, pw.utf8, ciphertext, limits,
        )?);
    }
    let mut last = Pkcs12Error::WrongPassword;
    for bmp in &pw.bmp {
        match legacy::decrypt(alg, bmp, ciphertext, limits) {
            Ok(plain) => return Ok(plain),
            Err(EncryptedKeyError::WrongPassword) => last = Pkcs12Error::WrongPassword,
            Err(e) => return Err(e.into()),
        }
    }
    Err(last)
}

/// `SafeContents ::= SEQUENCE OF SafeBag`.
fn read_safe_contents(
    bytes: &[u8],
    pw: &Password<'_>,
    limits: &KdfLimits,
    out: &mut Pkcs12Contents,
) -> Result<(), Pkcs12Error> {
    for bag in sequence_of(bytes, "SafeContents")? {
        // SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF OPTIONAL }
        let (bag_id, value) = bag
            .sequence(|s| {
                let id = ObjectIdentifier::decode(s)?;
                let value = AnyRef::decode(s)?;
                while !s.is_finished() {
                    AnyRef::decode(s)?;
                }
                Ok::<_, der::Error>((id, value))
            })
            .map_err(malformed("SafeBag"))?;
        let value = explicit0(value, "SafeBag")?;
        if out.keys.len() + out.certificates.len() >= MAX_ITEMS {
            return Err(Pkcs12Error::TooManyItems);
        }
        match bag_id {
            oids::KEY_BAG => out.keys.push(Zeroizing::new(value.to_vec())),
            oids::SHROUDED_KEY_BAG => {
                let (alg, ciphertext) =
                    crate::key::encrypted::split_encrypted_private_key_info(value)
                        .map_err(|_| Pkcs12Error::Malformed("pkcs8ShroudedKeyBag"))?;
                let plain = decrypt(alg, ciphertext, pw, limits)?;
                if <pkcs8::PrivateKeyInfoRef<'_> as Decode<'_>>::from_der(&plain).is_err() {
                    return Err(Pkcs12Error::WrongPassword);
                }
                out.keys.push(plain);
            }
            oids::CERT_BAG => {
                // CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING }
                let mut r = SliceReader::new(value).map_err(malformed("certBag"))?;
                let (cert_type, cert) = r
                    .sequence(|s| {
                        let id = ObjectIdentifier::decode(s)?;
                        let v = AnyRef::decode(s)?;
                        Ok::<_, der::Error>((id, v))
                    })
                    .map_err(malformed("certBag"))?;
                r.finish().map_err(malformed("certBag"))?;
                if cert_type == oids::X509_CERTIFICATE {
                    let der = whole::<&OctetStringRef>(explicit0(cert, "certBag")?, "certBag")?;
                    out.certificates.push(der.as_bytes().to_vec());
                }
                // sdsiCertificate and others: not X.509, skipped.
            }
            // crlBag, secretBag, nested safeContentsBag: nothing we use.
            _ => {}
        }
    }
    Ok(())
}
