//! Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, RFC 5958 `EncryptedPrivateKeyInfo`)
//! with PBES2 (RFC 8018): PBKDF2 with HMAC-SHA1 (the default when no PRF is
//! named), HMAC-SHA256/384/512, or scrypt (RFC 7914); AES-128/192/256-CBC.
//! That is every file `openssl pkcs8 -topk8 -v2 <aes> [-v2prf <prf> | -scrypt]`
//! writes.
//!
//! `pkcs5` parses the parameters; we derive and decrypt ourselves so that
//! hostile parameters are refused *before* any work: a key file is input, and
//! scrypt with a large `N` or `r` would allocate gigabytes (neither `pkcs5` nor
//! `scrypt` caps it). The caps are a [`KdfLimits`] argument so fuzzing can use
//! small ones.
//!
//! A wrong password is told apart from a damaged file where CBC allows it: a
//! ciphertext that is not whole cipher blocks is [`EncryptedKeyError::Truncated`];
//! bad padding, or a plaintext that is not a `PrivateKeyInfo`, is
//! [`EncryptedKeyError::WrongPassword`] (CBC has no integrity check, so a
//! tampered ciphertext looks the same as a wrong password).
//!
//! The derived key lives in a zeroize-on-drop array, the cipher key schedules
//! wipe themselves (`aes`/`cbc` feature `zeroize`), and the plaintext buffer is
//! `Zeroizing`.

use core::fmt;

use der::asn1::ObjectIdentifier;

/// Caps on the work a key file may ask of us, checked before deriving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfLimits {
    /// Most PBKDF2 (and PKCS#12 KDF) iterations accepted.
    pub max_iterations: u32,
    /// Most memory scrypt may use, in bytes: `128·r·(N + p + 2)`.
    pub max_scrypt_memory: u64,
    /// Largest scrypt parallelisation `p` (each unit repeats the whole work).
    pub max_scrypt_parallelism: u32,
}

impl KdfLimits {
    /// What the helper accepts by default: 10 million iterations (RFC 8018's
    /// figure for "especially critical keys"; about 10 s of SHA-256 on a
    /// desktop core), 64 MiB of scrypt memory (4× OpenSSL's `-scrypt`
    /// default of N=16384, r=8), and p up to 16.
    pub const DEFAULT: KdfLimits = KdfLimits {
        max_iterations: 10_000_000,
        max_scrypt_memory: 64 * 1024 * 1024,
        max_scrypt_parallelism: 16,
    };
}

impl Default for KdfLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why an encrypted key could not be decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptedKeyError {
    /// Not an `EncryptedPrivateKeyInfo`, or its parameters do not parse.
    Malformed,
    /// Encrypted with a scheme other than PBES2 (e.g. PKCS#5 v1.5 PBES1).
    UnsupportedScheme(ObjectIdentifier),
    /// PBES2 with a KDF, PRF or cipher we do not support.
    UnsupportedAlgorithm(ObjectIdentifier),
    /// The parameters are inconsistent (zero iterations, key length that
    /// does not fit the cipher, scrypt N not a power of two, ...).
    BadParameters,
    /// More PBKDF2 iterations than [`KdfLimits::max_iterations`].
    IterationsTooHigh {
        /// What the file asks for.
        iterations: u64,
        /// The cap.
        max: u32,
    },
    /// scrypt would need more memory than [`KdfLimits::max_scrypt_memory`].
    ScryptMemoryTooHigh {
        /// What the file asks for, in bytes.
        memory: u64,
        /// The cap, in bytes.
        max: u64,
    },
    /// scrypt `p` above [`KdfLimits::max_scrypt_parallelism`].
    ScryptParallelismTooHigh {
        /// What the file asks for.
        parallelism: u32,
        /// The cap.
        max: u32,
    },
    /// The ciphertext is empty or not a whole number of cipher blocks.
    Truncated,
    /// Bad padding after decryption, or the plaintext is not a private key:
    /// the password is wrong (or the ciphertext was altered).
    WrongPassword,
}

/// A readable name for OIDs that turn up in encrypted keys.
pub fn algorithm_name(oid: ObjectIdentifier) -> Option<&'static str> {
    const fn o(dotted: &str) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(dotted)
    }
    // Evaluated at compile time: a typo fails the build, never a run.
    const NAMES: &[(ObjectIdentifier, &str)] = &[
        (o("1.2.840.113549.1.5.13"), "PBES2"),
        (o("1.2.840.113549.1.5.12"), "PBKDF2"),
        (o("1.3.6.1.4.1.11591.4.11"), "scrypt"),
        (o("1.2.840.113549.1.5.3"), "pbeWithMD5AndDES-CBC (PBES1)"),
        (o("1.2.840.113549.1.5.6"), "pbeWithMD5AndRC2-CBC (PBES1)"),
        (o("1.2.840.113549.1.5.10"), "pbeWithSHA1AndDES-CBC (PBES1)"),
        (o("1.2.840.113549.1.5.11"), "pbeWithSHA1AndRC2-CBC (PBES1)"),
        (o("1.2.840.113549.1.12.1.1"), "pbeWithSHAAnd128BitRC4"),
        (o("1.2.840.113549.1.12.1.2"), "pbeWithSHAAnd40BitRC4"),
        (
            o("1.2.840.113549.1.12.1.3"),
            "pbeWithSHAAnd3-KeyTripleDES-CBC",
        ),
        (
            o("1.2.840.113549.1.12.1.4"),
            "pbeWithSHAAnd2-KeyTripleDES-CBC",
        ),
        (o("1.2.840.113549.1.12.1.5"), "pbeWithSHAAnd128BitRC2-CBC"),
        (o("1.2.840.113549.1.12.1.6"), "pbeWithSHAAnd40BitRC2-CBC"),
        (o("1.2.840.113549.2.7"), "hmacWithSHA1"),
        (o("1.2.840.113549.2.8"), "hmacWithSHA224"),
        (o("1.2.840.113549.2.9"), "hmacWithSHA256"),
        (o("1.2.840.113549.2.10"), "hmacWithSHA384"),
        (o("1.2.840.113549.2.11"), "hmacWithSHA512"),
        (o("1.2.840.113549.2.12"), "hmacWithSHA512-224"),
        (o("1.2.840.113549.2.13"), "hmacWithSHA512-256"),
        (o("1.2.840.113549.3.7"), "des-ede3-cbc"),
        (o("1.2.840.113549.3.2"), "rc2-cbc"),
        (o("1.3.14.3.2.7"), "des-cbc"),
        (o("2.16.840.1.101.3.4.1.2"), "aes-128-cbc"),
        (o("2.16.840.1.101.3.4.1.22"), "aes-192-cbc"),
        (o("2.16.840.1.101.3.4.1.42"), "aes-256-cbc"),
        (o("2.16.840.1.101.3.4.1.6"), "aes-128-gcm"),
        (o("2.16.840.1.101.3.4.1.46"), "aes-256-gcm"),
        (o("1.2.156.10197.1.104.2"), "sm4-cbc"),
        (o("1.2.410.200004.1.4"), "seed-cbc"),
        (o("1.2.392.200011.61.1.1.1.2"), "camellia-128-cbc"),
        (o("1.2.392.200011.61.1.1.1.4"), "camellia-256-cbc"),
        (o("1.2.840.113549.1.5.14"), "PBMAC1"),
    ];
    NAMES
        .iter()
        .find(|(known, _)| *known == oid)
        .map(|(_, name)| *name)
}

/// Writes `name (dotted.oid)` or just the OID.
pub(crate) struct OidName(pub(crate) ObjectIdentifier);

impl fmt::Display for OidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match algorithm_name(self.0) {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for EncryptedKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncryptedKeyError::Malformed => {
                f.write_str("malformed encrypted private key (not a PKCS#8 EncryptedPrivateKeyInfo)")
            }
            EncryptedKeyError::UnsupportedScheme(oid) => write!(
                f,
                "unsupported key encryption scheme {}; only PBES2 is supported (re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`)",
                OidName(*oid)
            ),
            EncryptedKeyError::UnsupportedAlgorithm(oid) => write!(
                f,
                "unsupported algorithm {} in the PBES2 parameters (supported: PBKDF2 with hmacWithSHA1/256/384/512, scrypt; aes-128/192/256-cbc)",
                OidName(*oid)
            ),
            EncryptedKeyError::BadParameters => f.write_str("invalid PBES2 parameters"),
            EncryptedKeyError::IterationsTooHigh { iterations, max } => write!(
                f,
                "refusing {iterations} key derivation iterations (the limit is {max})"
            ),
            EncryptedKeyError::ScryptMemoryTooHigh { memory, max } => write!(
                f,
                "refusing scrypt parameters that need {} MiB of memory (the limit is {} MiB)",
                memory.div_ceil(1 << 20),
                max / (1 << 20)
            ),
            EncryptedKeyError::ScryptParallelismTooHigh { parallelism, max } => write!(
                f,
                "refusing scrypt parallelisation p={parallelism} (the limit is {max})"
            ),
            EncryptedKeyError::Truncated => f.write_str(
                "the encrypted key data is truncated (not a whole number of cipher blocks)",
            ),
            EncryptedKeyError::WrongPassword => f.write_str(
                "incorrect PKCS#8 private key password (decryption gave bad padding or no private key)",
            ),
        }
    }
}

impl core::error::Error for EncryptedKeyError {}

/// OID of PBES2 (RFC 8018).
pub const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

/// Splits an `EncryptedPrivateKeyInfo` into its algorithm and ciphertext,
/// without judging the algorithm.
pub fn split_encrypted_private_key_info(
    der: &[u8],
) -> Result<(spki::AlgorithmIdentifierRef<'_>, &[u8]), EncryptedKeyError> {
    use der::{Decode, Reader, SliceReader};
    let mut r = SliceReader::new(der).map_err(|_| EncryptedKeyError::Malformed)?;
    let parts = r
        .sequence(|s| {
            let alg = spki::AlgorithmIdentifierRef::decode(s)?;
            let data = <&der::asn1::OctetStringRef>::decode(s)?;
            Ok::<_, der::Error>((alg, data.as_bytes()))
        })
        .map_err(|_| EncryptedKeyError::Malformed)?;
    r.finish().map_err(|_| EncryptedKeyError::Malformed)?;
    Ok(parts)
}

/// True when `der` has the shape of an `EncryptedPrivateKeyInfo` (any scheme):
/// lets a DER key file be told apart from a plain one.
pub fn is_encrypted_private_key_info(der: &[u8]) -> bool {
    split_encrypted_private_key_info(der).is_ok()
}

// For PKCS#12, which shares the ciphers and the iteration cap.
#[cfg(feature = "pkcs12")]
pub(crate) use decrypt::{cbc_decrypt, check_iterations};
#[cfg(feature = "pkcs8-encrypted")]
pub use decrypt::{decrypt_pkcs8, pbes2_decrypt, pbes2_params};

#[cfg(feature = "pkcs8-encrypted")]
mod decrypt {
    use alloc::vec::Vec;

    use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
    use der::asn1::AnyRef;
    use pkcs5::pbes2::{self, EncryptionScheme, Kdf, Pbkdf2Prf};
    use zeroize::Zeroizing;

    use super::{EncryptedKeyError, KdfLimits, PBES2, split_encrypted_private_key_info};

    /// Parses PBES2 parameters, naming an unknown KDF, PRF or cipher.
    pub fn pbes2_params(
        params: Option<AnyRef<'_>>,
    ) -> Result<pbes2::Parameters, EncryptedKeyError> {
        let params = params.ok_or(EncryptedKeyError::Malformed)?;
        pbes2::Parameters::try_from(params).map_err(|e| match e.kind() {
            der::ErrorKind::OidUnknown { oid } => EncryptedKeyError::UnsupportedAlgorithm(oid),
            _ => EncryptedKeyError::Malformed,
        })
    }

    /// Decrypts an `EncryptedPrivateKeyInfo` (DER) with `password` and returns
    /// the plaintext `PrivateKeyInfo` DER. Zero-length `password` is "no password".
    ///
    /// # Errors
    /// See [`EncryptedKeyError`]; the limits are checked before any derivation.
    pub fn decrypt_pkcs8(
        der: &[u8],
        password: &[u8],
        limits: &KdfLimits,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptedKeyError> {
        let (alg, ciphertext) = split_encrypted_private_key_info(der)?;
        if alg.oid != PBES2 {
            return Err(EncryptedKeyError::UnsupportedScheme(alg.oid));
        }
        let params = pbes2_params(alg.parameters)?;
        let plain = pbes2_decrypt(&params, password, ciphertext, limits)?;
        // Good padding by chance (about 1 in 256 wrong passwords) still leaves
        // bytes that are not a PrivateKeyInfo: that too is a wrong password.
        if <pkcs8::PrivateKeyInfoRef<'_> as der::Decode<'_>>::from_der(&plain).is_err() {
            return Err(EncryptedKeyError::WrongPassword);
        }
        Ok(plain)
    }

    /// Derives the key and decrypts `ciphertext` with PBES2 `params`.
    ///
    /// # Errors
    /// [`EncryptedKeyError::WrongPassword`] on bad padding; the limit errors
    /// before any derivation.
    pub fn pbes2_decrypt(
        params: &pbes2::Parameters,
        password: &[u8],
        ciphertext: &[u8],
        limits: &KdfLimits,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptedKeyError> {
        let (key_len, iv) = match params.encryption {
            EncryptionScheme::Aes128Cbc { iv } => (16, iv),
            EncryptionScheme::Aes192Cbc { iv } => (24, iv),
            EncryptionScheme::Aes256Cbc { iv } => (32, iv),
            other => return Err(EncryptedKeyError::UnsupportedAlgorithm(other.oid())),
        };
        if params
            .kdf
            .key_length()
            .is_some_and(|len| usize::from(len) != key_len)
        {
            return Err(EncryptedKeyError::BadParameters);
        }
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
            return Err(EncryptedKeyError::Truncated);
        }
        let mut key_buf = Zeroizing::new([0u8; 32]);
        let key = key_buf
            .get_mut(..key_len)
            .ok_or(EncryptedKeyError::BadParameters)?;
        derive(&params.kdf, password, limits, key)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let n = match key_len {
            16 => cbc_decrypt::<aes::Aes128>(key, &iv, &mut buf),
            24 => cbc_decrypt::<aes::Aes192>(key, &iv, &mut buf),
            _ => cbc_decrypt::<aes::Aes256>(key, &iv, &mut buf),
        }?;
        buf.truncate(n);
        Ok(buf)
    }

    /// CBC-decrypts `buf` in place and strips PKCS#7 padding; returns the
    /// plaintext length.
    pub(crate) fn cbc_decrypt<C>(
        key: &[u8],
        iv: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, EncryptedKeyError>
    where
        C: aes::cipher::BlockCipherDecrypt + aes::cipher::KeyInit,
    {
        let dec = cbc::Decryptor::<C>::new_from_slices(key, iv)
            .map_err(|_| EncryptedKeyError::BadParameters)?;
        dec.decrypt_padded::<Pkcs7>(buf)
            .map(<[u8]>::len)
            .map_err(|_| EncryptedKeyError::WrongPassword)
    }

    /// Checks the limits, then runs the KDF into `key`.
    fn derive(
        kdf: &Kdf,
        password: &[u8],
        limits: &KdfLimits,
        key: &mut [u8],
    ) -> Result<(), EncryptedKeyError> {
        match kdf {
            Kdf::Pbkdf2(p) => {
                check_iterations(u64::from(p.iteration_count), limits)?;
                let salt = p.salt.as_bytes();
                let n = p.iteration_count;
                let r = match p.prf {
                    Pbkdf2Prf::HmacWithSha1 => {
                        pbkdf2::pbkdf2::<hmac::Hmac<sha1::Sha1>>(password, salt, n, key)
                    }
                    Pbkdf2Prf::HmacWithSha256 => {
                        pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(password, salt, n, key)
                    }
                    Pbkdf2Prf::HmacWithSha384 => {
                        pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha384>>(password, salt, n, key)
                    }
                    Pbkdf2Prf::HmacWithSha512 => {
                        pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha512>>(password, salt, n, key)
                    }
                    other => return Err(EncryptedKeyError::UnsupportedAlgorithm(other.oid())),
                };
                r.map_err(|_| EncryptedKeyError::BadParameters)
            }
            Kdf::Scrypt(p) => {
                let n = p.cost_parameter;
                let r = u32::from(p.block_size);
                let par = u32::from(p.parallelization);
                if n < 2 || !n.is_power_of_two() || r == 0 || par == 0 {
                    return Err(EncryptedKeyError::BadParameters);
                }
                if par > limits.max_scrypt_parallelism {
                    return Err(EncryptedKeyError::ScryptParallelismTooHigh {
                        parallelism: par,
                        max: limits.max_scrypt_parallelism,
                    });
                }
                // The scrypt crate allocates V (128·r·N), B (128·r·p) and XY (256·r).
                let memory = 128u128 * u128::from(r) * (u128::from(n) + u128::from(par) + 2);
                if memory > u128::from(limits.max_scrypt_memory) {
                    return Err(EncryptedKeyError::ScryptMemoryTooHigh {
                        memory: u64::try_from(memory).unwrap_or(u64::MAX),
                        max: limits.max_scrypt_memory,
                    });
                }
                let log_n = u8::try_from(n.trailing_zeros())
                    .map_err(|_| EncryptedKeyError::BadParameters)?;
                let params = scrypt::Params::new(log_n, r, par)
                    .map_err(|_| EncryptedKeyError::BadParameters)?;
                scrypt::scrypt(password, p.salt.as_bytes(), &params, key)
                    .map_err(|_| EncryptedKeyError::BadParameters)
            }
            _ => Err(EncryptedKeyError::UnsupportedAlgorithm(kdf.oid())),
        }
    }

    /// Refuses more iterations than the limit (and zero).
    pub(crate) fn check_iterations(
        iterations: u64,
        limits: &KdfLimits,
    ) -> Result<(), EncryptedKeyError> {
        if iterations == 0 {
            return Err(EncryptedKeyError::BadParameters);
        }
        if iterations > u64::from(limits.max_iterations) {
            return Err(EncryptedKeyError::IterationsTooHigh {
                iterations,
                max: limits.max_iterations,
            });
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "pkcs8-encrypted"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::vec::Vec;

    use super::*;
    use crate::key::{KeyError, PrivateKey};
    use crate::signer::Signer;

    // A throw-away P-256 test key, as `openssl genpkey -algorithm EC
    // -pkeyopt ec_paramgen_curve:P-256` wrote it, and encrypted with password
    // "test" by:
    //   openssl pkcs8 -topk8 -in p256.pem -v2 aes-128-cbc -v2prf hmacWithSHA1 (PRF absent = SHA-1)
    //   openssl pkcs8 -topk8 -in p256.pem -scrypt          (N=16384, r=8, p=1, aes-256-cbc)
    const PLAIN: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmS9VllImvFPi0I9I
nLVO7FWCsZWjoS6Zzjisjg+8euShRANCAARm8fmpkv1LtZ1Ywy15wxpURW1UzTSY
IdW2O2sWGKXOI4UoSewtD8vkfxkTzTYpmJVTZivCrmnnn5I3HfiGOMcb
-----END PRIVATE KEY-----
";
    const SHA1: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHeMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAjIBMclXzpLiQICCAAw
HQYJYIZIAWUDBAECBBDSuQEuYal30EUSY24Y6Ne4BIGQQWW84VsFBWBb2qt1IGFb
5Ebf0wVdZiTwq/OFPKmcGLRFfs9s1CWLT0Pqz0GZju16ZA/DJYZH8s+RusRluvYw
HeJU36zy/dZ5YIxKT94OropmLW4TZYuKN6sVS86mvTIRTnkVtn5EG3jAMK0ODKX3
xLXzhUadWt/Mxt6akrUa0osMsXrLBctkRC4+svqY+gkM
-----END ENCRYPTED PRIVATE KEY-----
";
    const SCRYPT: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHkME8GCSqGSIb3DQEFDTBCMCEGCSsGAQQB2kcECzAUBAjUrMvqDSXI1wICQAAC
AQgCAQEwHQYJYIZIAWUDBAEqBBBAkSFgnySb4dXK+TndgvIwBIGQpGReHWVizGoh
kV2U3cfqqxff50XyERtLMaZJM7PsokZ/1Ab2gFKumRpwE1I+J7K1MQIn6Qo3KD9h
T9SPCNP75YjFeb2Irc+aZWqS0JZfXg1cr/16+teFRqoT5UnOQF/uiQIt0wt4Y+yv
s7m9k+IPUiipKvjE9K6AeUoKmabZV4tIaItK3MbQU+Y851nW288f
-----END ENCRYPTED PRIVATE KEY-----
";

    fn der(pem: &str) -> Vec<u8> {
        crate::pem::blocks(pem.as_bytes())
            .next()
            .unwrap()
            .decode_to_vec()
            .unwrap()
            .to_vec()
    }

    fn public_key(key: &PrivateKey) -> Vec<u8> {
        let mut out = [0u8; 133];
        let n = key.encoded_public_key(&mut out).unwrap();
        out[..n].to_vec()
    }

    /// Re-encodes `EncryptedPrivateKeyInfo` with another ciphertext.
    fn with_ciphertext(der: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        use der::Encode;
        let (alg, _) = split_encrypted_private_key_info(der).unwrap();
        let mut body = alg.to_der().unwrap();
        body.extend(
            der::asn1::OctetString::new(ciphertext)
                .unwrap()
                .to_der()
                .unwrap(),
        );
        let mut out = Vec::new();
        der::Header::new(
            der::Tag::Sequence,
            der::Length::try_from(body.len()).unwrap(),
        )
        .encode_to_vec(&mut out)
        .unwrap();
        out.extend(body);
        out
    }

    #[test]
    fn decrypts_pbkdf2_sha1_default_prf_and_scrypt() {
        let want = public_key(&PrivateKey::from_pem(PLAIN.as_bytes()).unwrap());
        for pem in [SHA1, SCRYPT] {
            let key =
                PrivateKey::from_pem_with_password(pem.as_bytes(), b"test", &KdfLimits::DEFAULT)
                    .unwrap();
            assert_eq!(public_key(&key), want);
        }
        assert_eq!(
            PrivateKey::from_pem(SHA1.as_bytes()).unwrap_err(),
            KeyError::Encrypted
        );
    }

    #[test]
    fn wrong_password_is_its_own_error() {
        for pem in [SHA1, SCRYPT] {
            for pw in [&b"wrong"[..], b"", b"tesT"] {
                assert_eq!(
                    decrypt_pkcs8(&der(pem), pw, &KdfLimits::DEFAULT).unwrap_err(),
                    EncryptedKeyError::WrongPassword,
                    "password {pw:?}"
                );
            }
        }
    }

    #[test]
    fn limits_are_checked_before_deriving() {
        let tight = KdfLimits {
            max_iterations: 2047,
            max_scrypt_memory: 16 * 1024 * 1024,
            max_scrypt_parallelism: 1,
        };
        assert_eq!(
            decrypt_pkcs8(&der(SHA1), b"test", &tight).unwrap_err(),
            EncryptedKeyError::IterationsTooHigh {
                iterations: 2048,
                max: 2047
            }
        );
        assert_eq!(
            decrypt_pkcs8(&der(SCRYPT), b"test", &tight).unwrap_err(),
            EncryptedKeyError::ScryptMemoryTooHigh {
                memory: 128 * 8 * (16384 + 1 + 2),
                max: 16 * 1024 * 1024
            }
        );
        let no_parallelism = KdfLimits {
            max_scrypt_parallelism: 0,
            ..KdfLimits::DEFAULT
        };
        assert!(matches!(
            decrypt_pkcs8(&der(SCRYPT), b"test", &no_parallelism).unwrap_err(),
            EncryptedKeyError::ScryptParallelismTooHigh { .. }
        ));
    }

    #[test]
    fn damaged_files_are_named() {
        let good = der(SHA1);
        let (_, ct) = split_encrypted_private_key_info(&good).unwrap();
        let truncated = with_ciphertext(&good, &ct[..ct.len() - 5]);
        assert_eq!(
            decrypt_pkcs8(&truncated, b"test", &KdfLimits::DEFAULT).unwrap_err(),
            EncryptedKeyError::Truncated
        );
        let empty = with_ciphertext(&good, &[]);
        assert_eq!(
            decrypt_pkcs8(&empty, b"test", &KdfLimits::DEFAULT).unwrap_err(),
            EncryptedKeyError::Truncated
        );
        // Flipping a bit in the last block breaks the padding.
        let mut tampered = ct.to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x55;
        assert_eq!(
            decrypt_pkcs8(
                &with_ciphertext(&good, &tampered),
                b"test",
                &KdfLimits::DEFAULT
            )
            .unwrap_err(),
            EncryptedKeyError::WrongPassword
        );
        assert_eq!(
            decrypt_pkcs8(&good[..good.len() - 1], b"test", &KdfLimits::DEFAULT).unwrap_err(),
            EncryptedKeyError::Malformed
        );
        // scrypt N = 0x4001: not a power of two.
        let mut odd_n = der(SCRYPT);
        let at = odd_n.windows(4).position(|w| w == [2, 2, 0x40, 0]).unwrap();
        odd_n[at + 3] = 1;
        assert_eq!(
            decrypt_pkcs8(&odd_n, b"test", &KdfLimits::DEFAULT).unwrap_err(),
            EncryptedKeyError::BadParameters
        );
    }

    #[test]
    fn unknown_algorithms_are_named() {
        // aes-128-cbc's OID ...1.2 patched to ...1.3 (aes-128-ofb).
        let mut cipher = der(SHA1);
        let aes = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
        let at = cipher.windows(9).position(|w| w == aes).unwrap();
        cipher[at + 8] = 3;
        let err = decrypt_pkcs8(&cipher, b"test", &KdfLimits::DEFAULT).unwrap_err();
        assert!(
            matches!(err, EncryptedKeyError::UnsupportedAlgorithm(_)),
            "{err:?}"
        );
        assert!(std::format!("{err}").contains("2.16.840.1.101.3.4.1.3"));
        // PBES2's OID ...5.13 patched to ...5.3 (pbeWithMD5AndDES-CBC).
        let mut scheme = der(SHA1);
        let pbes2 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
        let at = scheme.windows(9).position(|w| w == pbes2).unwrap();
        scheme[at + 8] = 3;
        let err = decrypt_pkcs8(&scheme, b"test", &KdfLimits::DEFAULT).unwrap_err();
        assert_eq!(
            std::format!("{err}"),
            "unsupported key encryption scheme pbeWithMD5AndDES-CBC (PBES1) (1.2.840.113549.1.5.3); only PBES2 is supported (re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`)"
        );
    }
}
