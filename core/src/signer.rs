//! The one trait every key source implements, and signature verification for
//! checking that a key belongs to its certificate.
//!
//! A signer is handed the *message* and a digest choice, not a digest: the
//! SigV4-X509 request always asks for SHA-256, `sign-string` may ask for
//! SHA-384 or SHA-512, and ML-DSA signs the message itself. A backend whose
//! mechanism wants a digest (a TPM, `CKM_ECDSA`) hashes first with [`Digest::hash`].

use core::fmt;

use sha2::Digest as _;

use crate::x509::{Certificate, KeyType};

/// The hash a signature is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Digest {
    /// SHA-256, what SigV4-X509 uses.
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// A digest value, sized for the largest hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestValue {
    bytes: [u8; 64],
    len: usize,
}

impl DigestValue {
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

impl Digest {
    /// The name `sign-string --digest` uses.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha256 => "SHA256",
            Digest::Sha384 => "SHA384",
            Digest::Sha512 => "SHA512",
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }

    /// Hashes `message`.
    pub fn hash(self, message: &[u8]) -> DigestValue {
        let mut bytes = [0u8; 64];
        let len = self.output_len();
        match self {
            Digest::Sha256 => bytes[..32].copy_from_slice(&sha2::Sha256::digest(message)),
            Digest::Sha384 => bytes[..48].copy_from_slice(&sha2::Sha384::digest(message)),
            Digest::Sha512 => bytes.copy_from_slice(&sha2::Sha512::digest(message)),
        }
        DigestValue { bytes, len }
    }

    /// The DER `DigestInfo` prefix for PKCS#1 v1.5 (RFC 8017 9.2, note 1), for
    /// backends that only offer raw `CKM_RSA_PKCS`-style signing.
    pub fn pkcs1_digest_info_prefix(self) -> &'static [u8] {
        match self {
            Digest::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Digest::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Digest::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

impl core::str::FromStr for Digest {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "SHA256" => Ok(Digest::Sha256),
            "SHA384" => Ok(Digest::Sha384),
            "SHA512" => Ok(Digest::Sha512),
            _ => Err(()),
        }
    }
}

/// Something that holds a private key and signs with it: a key file, a
/// PKCS#11 token, a TPM, an OS key store.
pub trait Signer {
    /// The error a signing attempt can end with.
    type Error: fmt::Display + fmt::Debug;

    /// The type of the key.
    fn key_type(&self) -> KeyType;

    /// The largest signature [`Signer::sign`] can write.
    fn max_signature_len(&self) -> usize;

    /// Signs `message` hashed with `digest` (ML-DSA: the message itself) and
    /// writes the signature into `out`: PKCS#1 v1.5 bytes for RSA, a DER
    /// `Ecdsa-Sig-Value` for ECDSA. Returns the signature length.
    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, Self::Error>;

    /// Compares the signer's public key with a certificate's subjectPublicKey
    /// bits, when the signer can do so without signing. `None` means "can't
    /// tell cheaply": [`check_key_matches`] then signs a challenge instead.
    fn public_key_matches(&self, _cert: &Certificate<'_>) -> Option<bool> {
        None
    }

    /// Writes the public key as `sign-string` hashes it (the uncompressed EC
    /// point, or the PKCS#1 `RSAPublicKey` DER) and returns its length;
    /// `None` when the signer does not know it or `out` is too small.
    fn encoded_public_key(&self, _out: &mut [u8]) -> Option<usize> {
        None
    }
}

impl<S: Signer + ?Sized> Signer for &S {
    type Error = S::Error;
    fn key_type(&self) -> KeyType {
        (**self).key_type()
    }
    fn max_signature_len(&self) -> usize {
        (**self).max_signature_len()
    }
    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, S::Error> {
        (**self).sign(message, digest, out)
    }
    fn public_key_matches(&self, cert: &Certificate<'_>) -> Option<bool> {
        (**self).public_key_matches(cert)
    }
    fn encoded_public_key(&self, out: &mut [u8]) -> Option<usize> {
        (**self).encoded_public_key(out)
    }
}

/// Why a key and a certificate do not go together.
#[derive(Debug)]
pub enum MismatchError<E> {
    /// The certificate holds a different key type than the signer.
    KeyType {
        /// The key type in the certificate, if known.
        certificate: Option<KeyType>,
        /// The signer's key type.
        key: KeyType,
    },
    /// Same type, different key.
    DifferentKey,
    /// The signer failed while signing the challenge.
    Sign(E),
}

impl<E: fmt::Display> fmt::Display for MismatchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MismatchError::KeyType {
                certificate: Some(c),
                key,
            } => {
                write!(
                    f,
                    "the private key ({key}) does not match the certificate ({c})"
                )
            }
            MismatchError::KeyType {
                certificate: None,
                key,
            } => {
                write!(
                    f,
                    "the private key ({key}) does not match the certificate (unsupported key type)"
                )
            }
            MismatchError::DifferentKey => {
                f.write_str("the private key does not match the certificate's public key")
            }
            MismatchError::Sign(e) => write!(
                f,
                "signing a test message to match key and certificate failed: {e}"
            ),
        }
    }
}

impl<E: fmt::Display + fmt::Debug> core::error::Error for MismatchError<E> {}

/// Checks that `signer` holds the private half of `cert`'s public key: by
/// comparing keys when the signer can, else by signing a challenge and
/// verifying it with the certificate's key.
pub fn check_key_matches<S: Signer + ?Sized>(
    signer: &S,
    cert: &Certificate<'_>,
) -> Result<(), MismatchError<S::Error>> {
    let key = signer.key_type();
    if cert.key_type() != Some(key) {
        return Err(MismatchError::KeyType {
            certificate: cert.key_type(),
            key,
        });
    }
    match signer.public_key_matches(cert) {
        Some(true) => return Ok(()),
        Some(false) => return Err(MismatchError::DifferentKey),
        None => {}
    }
    const CHALLENGE: &[u8] = b"rolesanywhere key check";
    let mut sig = [0u8; 1024];
    let n = signer
        .sign(CHALLENGE, Digest::Sha256, &mut sig)
        .map_err(MismatchError::Sign)?;
    match verify(
        cert,
        CHALLENGE,
        Digest::Sha256,
        sig.get(..n).unwrap_or_default(),
    ) {
        Ok(()) => Ok(()),
        Err(_) => Err(MismatchError::DifferentKey),
    }
}

/// A signature that does not verify, or a key this build cannot verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The signature is wrong for this key and message.
    BadSignature,
    /// The key type cannot be verified here (RSA without `alloc`, ML-DSA).
    Unsupported,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::BadSignature => "signature does not verify",
            VerifyError::Unsupported => "cannot verify signatures of this key type",
        })
    }
}

/// Verifies `signature` over `message` with the certificate's public key.
pub fn verify(
    cert: &Certificate<'_>,
    message: &[u8],
    digest: Digest,
    signature: &[u8],
) -> Result<(), VerifyError> {
    use signature::hazmat::PrehashVerifier;
    let hash = digest.hash(message);
    match cert.key_type() {
        Some(KeyType::P256) => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(cert.public_key())
                .map_err(|_| VerifyError::BadSignature)?;
            let sig = p256::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            vk.verify_prehash(hash.as_bytes(), &sig)
                .map_err(|_| VerifyError::BadSignature)
        }
        Some(KeyType::P384) => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(cert.public_key())
                .map_err(|_| VerifyError::BadSignature)?;
            let sig = p384::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            vk.verify_prehash(hash.as_bytes(), &sig)
                .map_err(|_| VerifyError::BadSignature)
        }
        #[cfg(feature = "alloc")]
        Some(KeyType::Rsa) => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            let pk = rsa::PublicKey::from_pkcs1_der(cert.public_key())
                .map_err(|_| VerifyError::BadSignature)?;
            let scheme = match digest {
                Digest::Sha256 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(),
                Digest::Sha384 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha384>(),
                Digest::Sha512 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            pk.verify(scheme, hash.as_bytes(), signature)
                .map_err(|_| VerifyError::BadSignature)
        }
        _ => Err(VerifyError::Unsupported),
    }
}

/// The fixed message `sign-string` signs: the test phrase, `"1"`, then
/// SHA-256(`"IAM RA"` || public key) when the public key is known (the EC
/// point uncompressed, or the PKCS#1 `RSAPublicKey` DER).
pub fn sign_string_message(public_key: Option<&[u8]>) -> heapless::Vec<u8, 82> {
    const PHRASE: &[u8] = b"AWS Roles Anywhere Credential Helper Signing Test1";
    let mut out = heapless::Vec::new();
    let _ = out.extend_from_slice(PHRASE);
    if let Some(pk) = public_key {
        let mut h = sha2::Sha256::new();
        h.update(b"IAM RA");
        h.update(pk);
        let _ = out.extend_from_slice(&h.finalize());
    }
    out
}
