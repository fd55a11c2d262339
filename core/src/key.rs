//! Private keys from files: PKCS#8 (`PRIVATE KEY`, RSA, EC and ML-DSA), SEC1
//! (`EC PRIVATE KEY`), with `alloc` PKCS#1 (`RSA PRIVATE KEY`), with
//! `pkcs8-encrypted` encrypted PKCS#8 ([`encrypted`]); and the software
//! signer that uses them.
//!
//! Key material is zeroized on drop: the RustCrypto key types do it
//! themselves, the ML-DSA seed is `Zeroizing` ([`mldsa`]), and every
//! intermediate DER buffer is wrapped in `Zeroizing`.

pub mod encrypted;
pub mod mldsa;

use core::fmt;

use der::asn1::ObjectIdentifier;
use pkcs8::PrivateKeyInfoRef;
use signature::hazmat::PrehashSigner;
use zeroize::Zeroizing;

use self::encrypted::EncryptedKeyError;
use self::mldsa::{MlDsaKey, MlDsaKeyError, MlDsaVariant};
use crate::pem::{self, PemError};
use crate::signer::{Digest, Signer};
use crate::x509::{Certificate, KeyType, oid};

/// Why a key file could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No PEM block with a private key label was found.
    NoKey,
    /// The PEM wrapping is broken.
    Pem(PemError),
    /// The DER inside is not a key of the format its label says.
    Malformed(KeyFormat),
    /// The key algorithm is not RSA, P-256, P-384 or ML-DSA.
    UnsupportedAlgorithm,
    /// The EC key is on a curve other than P-256 or P-384.
    UnsupportedCurve,
    /// The key is encrypted (`ENCRYPTED PRIVATE KEY`) and this build or call
    /// has no way to decrypt it.
    Encrypted,
    /// The encrypted key could not be decrypted (wrong password, hostile
    /// or unsupported parameters, damaged data).
    Decrypt(EncryptedKeyError),
    /// The ML-DSA key encoding is unusable.
    MlDsa(MlDsaKeyError),
    /// RSA keys need the `alloc` feature.
    RsaNeedsAlloc,
    /// The signature buffer is too small.
    BufferTooSmall,
    /// The cryptographic operation failed.
    SignFailed,
}

/// The encodings a private key comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (`-----BEGIN PRIVATE KEY-----`).
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (`-----BEGIN RSA PRIVATE KEY-----`).
    Pkcs1,
    /// SEC1 `ECPrivateKey` (`-----BEGIN EC PRIVATE KEY-----`).
    Sec1,
}

impl KeyFormat {
    /// The PEM label of this format.
    pub fn label(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "PRIVATE KEY",
            KeyFormat::Pkcs1 => "RSA PRIVATE KEY",
            KeyFormat::Sec1 => "EC PRIVATE KEY",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NoKey => f.write_str(
                "no private key found (expected a PEM block PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)",
            ),
            KeyError::Pem(e) => write!(f, "{e}"),
            KeyError::Malformed(fmt) => write!(f, "unable to parse private key: malformed {} DER", fmt.label()),
            KeyError::UnsupportedAlgorithm => f.write_str(
                "unsupported private key algorithm (supported: RSA, EC P-256, EC P-384, ML-DSA-44/65/87)",
            ),
            KeyError::UnsupportedCurve => f.write_str("unsupported EC curve (supported: P-256, P-384)"),
            KeyError::Encrypted => f.write_str("the private key is encrypted and cannot be decrypted here"),
            KeyError::Decrypt(e) => write!(f, "{e}"),
            KeyError::MlDsa(e) => write!(f, "{e}"),
            KeyError::RsaNeedsAlloc => f.write_str("RSA keys need the `alloc` feature of rolesanywhere-core"),
            KeyError::BufferTooSmall => f.write_str("signature buffer too small"),
            KeyError::SignFailed => f.write_str("signing failed"),
        }
    }
}

impl core::error::Error for KeyError {}

impl From<PemError> for KeyError {
    fn from(e: PemError) -> Self {
        KeyError::Pem(e)
    }
}

impl From<EncryptedKeyError> for KeyError {
    fn from(e: EncryptedKeyError) -> Self {
        KeyError::Decrypt(e)
    }
}

impl From<MlDsaKeyError> for KeyError {
    fn from(e: MlDsaKeyError) -> Self {
        KeyError::MlDsa(e)
    }
}

/// A private key held in memory: the software signer.
pub enum PrivateKey {
    /// RSA (boxed: the key is large).
    #[cfg(feature = "alloc")]
    Rsa(alloc::boxed::Box<rsa::PrivateKey>),
    /// ECDSA P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::SigningKey),
    /// ML-DSA-44/65/87 (FIPS 204), kept as its seed.
    MlDsa(MlDsaKey),
}

impl fmt::Debug for PrivateKey {
    // Never print key material, even under `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.key_type())
    }
}

/// Labels that hold a private key, in the order we look for them.
pub const KEY_LABELS: [&str; 4] = [
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
];

impl PrivateKey {
    /// Reads the first private key block of a PEM file (other blocks, such as
    /// certificates in a combined file, are skipped). An `ENCRYPTED PRIVATE
    /// KEY` gives [`KeyError::Encrypted`]: see [`PrivateKey::from_pem_with_password`].
    pub fn from_pem(data: &[u8]) -> Result<Self, KeyError> {
        let block = pem::blocks(data)
            .find(|b| KEY_LABELS.contains(&b.label))
            .ok_or(KeyError::NoKey)?;
        let format = match block.label {
            "PRIVATE KEY" => KeyFormat::Pkcs8,
            "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
            "EC PRIVATE KEY" => KeyFormat::Sec1,
            _ => return Err(KeyError::Encrypted),
        };
        #[cfg(feature = "alloc")]
        {
            let der = block.decode_to_vec()?;
            Self::from_der(format, &der)
        }
        #[cfg(not(feature = "alloc"))]
        {
            // Without a heap only EC keys are possible, and they are small.
            let mut buf = Zeroizing::new([0u8; 1024]);
            let der = block.decode(&mut buf[..])?;
            Self::from_der(format, der)
        }
    }

    /// Reads the first private key block of a PEM file, decrypting an
    /// `ENCRYPTED PRIVATE KEY` with `password` (unencrypted blocks ignore it).
    #[cfg(feature = "pkcs8-encrypted")]
    pub fn from_pem_with_password(
        data: &[u8],
        password: &[u8],
        limits: &encrypted::KdfLimits,
    ) -> Result<Self, KeyError> {
        let block = pem::blocks(data)
            .find(|b| KEY_LABELS.contains(&b.label))
            .ok_or(KeyError::NoKey)?;
        if block.label != "ENCRYPTED PRIVATE KEY" {
            return Self::from_pem(data);
        }
        let der = block.decode_to_vec()?;
        Self::from_encrypted_der(&der, password, limits)
    }

    /// Decrypts an `EncryptedPrivateKeyInfo` (DER) and parses the key inside.
    ///
    /// # Errors
    /// [`KeyError::Decrypt`] for everything about the encryption
    /// ([`EncryptedKeyError::WrongPassword`] for a wrong password), else the
    /// errors of [`PrivateKey::from_pkcs8_der`].
    #[cfg(feature = "pkcs8-encrypted")]
    pub fn from_encrypted_der(
        der: &[u8],
        password: &[u8],
        limits: &encrypted::KdfLimits,
    ) -> Result<Self, KeyError> {
        let plain = encrypted::decrypt_pkcs8(der, password, limits)?;
        Self::from_pkcs8_der(&plain)
    }

    /// Parses DER in the given format.
    pub fn from_der(format: KeyFormat, der: &[u8]) -> Result<Self, KeyError> {
        match format {
            KeyFormat::Pkcs8 => Self::from_pkcs8_der(der),
            KeyFormat::Sec1 => Self::from_sec1_der(der),
            #[cfg(feature = "alloc")]
            KeyFormat::Pkcs1 => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                let key = rsa::PrivateKey::from_pkcs1_der(der)
                    .map_err(|_| KeyError::Malformed(KeyFormat::Pkcs1))?;
                Ok(PrivateKey::Rsa(alloc::boxed::Box::new(key)))
            }
            #[cfg(not(feature = "alloc"))]
            KeyFormat::Pkcs1 => Err(KeyError::RsaNeedsAlloc),
        }
    }

    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        use der::Decode;
        let info =
            PrivateKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed(KeyFormat::Pkcs8))?;
        let algorithm = info.algorithm.oid;
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match algorithm {
            oid::EC_PUBLIC_KEY => {
                let inner = info.private_key.as_bytes();
                let ec = sec1::EcPrivateKey::from_der(inner)
                    .map_err(|_| KeyError::Malformed(KeyFormat::Pkcs8))?;
                // The curve may sit in the algorithm parameters, the SEC1 parameters, or both.
                let curve = curve.or_else(|| ec.parameters.and_then(|p| p.named_curve()));
                ec_key(curve, ec.private_key, KeyFormat::Pkcs8)
            }
            #[cfg(feature = "alloc")]
            oid::RSA => {
                use rsa::pkcs8::DecodePrivateKey;
                let key = rsa::PrivateKey::from_pkcs8_der(der)
                    .map_err(|_| KeyError::Malformed(KeyFormat::Pkcs8))?;
                Ok(PrivateKey::Rsa(alloc::boxed::Box::new(key)))
            }
            #[cfg(not(feature = "alloc"))]
            oid::RSA => Err(KeyError::RsaNeedsAlloc),
            other => match MlDsaVariant::from_oid(other) {
                // ML-DSA AlgorithmIdentifiers have absent parameters.
                Some(variant) if info.algorithm.parameters.is_none() => Ok(PrivateKey::MlDsa(
                    MlDsaKey::from_private_key_field(variant, info.private_key.as_bytes())?,
                )),
                Some(_) => Err(KeyError::Malformed(KeyFormat::Pkcs8)),
                None => Err(KeyError::UnsupportedAlgorithm),
            },
        }
    }

    /// Parses a SEC1 `ECPrivateKey` (its parameters must name the curve).
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        use der::Decode;
        let ec =
            sec1::EcPrivateKey::from_der(der).map_err(|_| KeyError::Malformed(KeyFormat::Sec1))?;
        let curve = ec.parameters.and_then(|p| p.named_curve());
        ec_key(curve, ec.private_key, KeyFormat::Sec1)
    }
}

fn ec_key(
    curve: Option<ObjectIdentifier>,
    scalar: &[u8],
    format: KeyFormat,
) -> Result<PrivateKey, KeyError> {
    match curve {
        Some(oid::P256) => p256::ecdsa::SigningKey::from_slice(scalar)
            .map(PrivateKey::P256)
            .map_err(|_| KeyError::Malformed(format)),
        Some(oid::P384) => p384::ecdsa::SigningKey::from_slice(scalar)
            .map(PrivateKey::P384)
            .map_err(|_| KeyError::Malformed(format)),
        Some(_) => Err(KeyError::UnsupportedCurve),
        None => Err(KeyError::Malformed(format)),
    }
}

fn put(out: &mut [u8], sig: &[u8]) -> Result<usize, KeyError> {
    out.get_mut(..sig.len())
        .ok_or(KeyError::BufferTooSmall)?
        .copy_from_slice(sig);
    Ok(sig.len())
}

impl Signer for PrivateKey {
    type Error = KeyError;

    fn key_type(&self) -> KeyType {
        match self {
            #[cfg(feature = "alloc")]
            PrivateKey::Rsa(_) => KeyType::Rsa,
            PrivateKey::P256(_) => KeyType::P256,
            PrivateKey::P384(_) => KeyType::P384,
            PrivateKey::MlDsa(k) => k.variant().key_type(),
        }
    }

    fn max_signature_len(&self) -> usize {
        match self {
            #[cfg(feature = "alloc")]
            PrivateKey::Rsa(k) => rsa::traits::PublicKeyParts::size(k.as_ref()),
            PrivateKey::P256(_) => 72,
            PrivateKey::P384(_) => 104,
            PrivateKey::MlDsa(k) => k.variant().signature_len(),
        }
    }

    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, KeyError> {
        // ML-DSA signs the message itself ("pure" ML-DSA): no digest.
        if let PrivateKey::MlDsa(k) = self {
            return k.sign(message, out);
        }
        let hash = digest.hash(message);
        match self {
            #[cfg(feature = "alloc")]
            PrivateKey::Rsa(k) => {
                let scheme = match digest {
                    Digest::Sha256 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    Digest::Sha384 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    Digest::Sha512 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                let sig = Zeroizing::new(
                    k.sign(scheme, hash.as_bytes())
                        .map_err(|_| KeyError::SignFailed)?,
                );
                put(out, &sig)
            }
            PrivateKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(hash.as_bytes())
                    .map_err(|_| KeyError::SignFailed)?;
                put(out, sig.to_der().as_bytes())
            }
            PrivateKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash(hash.as_bytes())
                    .map_err(|_| KeyError::SignFailed)?;
                put(out, sig.to_der().as_bytes())
            }
            PrivateKey::MlDsa(k) => k.sign(message, out),
        }
    }

    fn public_key_matches(&self, cert: &Certificate<'_>) -> Option<bool> {
        let theirs = cert.public_key();
        Some(match self {
            #[cfg(feature = "alloc")]
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                rsa::PublicKey::from_pkcs1_der(theirs).is_ok_and(|pk| pk == k.to_public_key())
            }
            PrivateKey::P256(k) => p256::ecdsa::VerifyingKey::from_sec1_bytes(theirs)
                .is_ok_and(|pk| &pk == k.verifying_key()),
            PrivateKey::P384(k) => p384::ecdsa::VerifyingKey::from_sec1_bytes(theirs)
                .is_ok_and(|pk| &pk == k.verifying_key()),
            PrivateKey::MlDsa(k) => {
                cert.key_type() == Some(k.variant().key_type()) && k.public_key_matches(theirs)
            }
        })
    }

    fn encoded_public_key(&self, out: &mut [u8]) -> Option<usize> {
        match self {
            #[cfg(feature = "alloc")]
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPublicKey;
                let der = k.to_public_key().to_pkcs1_der().ok()?;
                put(out, der.as_bytes()).ok()
            }
            PrivateKey::P256(k) => put(out, k.verifying_key().to_sec1_point(false).as_bytes()).ok(),
            PrivateKey::P384(k) => put(out, k.verifying_key().to_sec1_point(false).as_bytes()).ok(),
            // The original hashes no public key into sign-string's message
            // for ML-DSA (its `Public()` is neither RSA nor EC): nor do we.
            PrivateKey::MlDsa(_) => None,
        }
    }
}
