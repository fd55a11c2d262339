//! What a TPM key's public area says about how it can sign, checked once when
//! the signer is built so that an unusable key fails early with its reason
//! (the original reports these only when signing, as "incorrect password").

use rolesanywhere_core::signer::Digest;
use rolesanywhere_core::tss2::{ecdsa_signature_der, rsa_public_key_der};
use rolesanywhere_core::x509::KeyType;
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::structures::{EccScheme, HashScheme, Public, RsaScheme, Signature, SignatureScheme};

/// A signing key's type, public key and scheme constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// RSA, P-256 or P-384.
    pub key_type: KeyType,
    /// The public key as certificates hold it: the uncompressed EC point, or
    /// the PKCS#1 `RSAPublicKey` DER.
    pub public_key: Vec<u8>,
    /// RSA: modulus bytes; EC: field bytes.
    pub size: usize,
    /// The hash the key's own scheme is fixed to, if it is not `TPM_ALG_NULL`.
    pub fixed_hash: Option<HashingAlgorithm>,
}

/// The TPM name of a hash.
fn hash_name(h: HashingAlgorithm) -> &'static str {
    match h {
        HashingAlgorithm::Sha1 => "SHA1",
        HashingAlgorithm::Sha256 => "SHA256",
        HashingAlgorithm::Sha384 => "SHA384",
        HashingAlgorithm::Sha512 => "SHA512",
        HashingAlgorithm::Sm3_256 => "SM3_256",
        HashingAlgorithm::Sha3_256 => "SHA3_256",
        HashingAlgorithm::Sha3_384 => "SHA3_384",
        HashingAlgorithm::Sha3_512 => "SHA3_512",
        HashingAlgorithm::Null => "NULL",
    }
}

fn tpm_hash(d: Digest) -> HashingAlgorithm {
    match d {
        Digest::Sha256 => HashingAlgorithm::Sha256,
        Digest::Sha384 => HashingAlgorithm::Sha384,
        Digest::Sha512 => HashingAlgorithm::Sha512,
    }
}

fn hash_len(h: HashingAlgorithm) -> Option<usize> {
    match h {
        HashingAlgorithm::Sha1 => Some(20),
        HashingAlgorithm::Sha256 | HashingAlgorithm::Sm3_256 | HashingAlgorithm::Sha3_256 => {
            Some(32)
        }
        HashingAlgorithm::Sha384 | HashingAlgorithm::Sha3_384 => Some(48),
        HashingAlgorithm::Sha512 | HashingAlgorithm::Sha3_512 => Some(64),
        HashingAlgorithm::Null => None,
    }
}

/// Left-pads `v` with zeros to `len` bytes (TPM ECC coordinates may come
/// without their leading zero bytes).
fn pad(v: &[u8], len: usize) -> Result<Vec<u8>, String> {
    let zeros = len
        .checked_sub(v.len())
        .ok_or_else(|| format!("an EC coordinate of {} bytes is too long", v.len()))?;
    let mut out = vec![0u8; zeros];
    out.extend_from_slice(v);
    Ok(out)
}

/// Reads a key's public area; fails for keys that cannot make the
/// signatures Roles Anywhere accepts.
pub fn inspect(public: &Public) -> Result<KeyInfo, String> {
    let attrs = public.object_attributes();
    if !attrs.sign_encrypt() {
        return Err("the TPM key cannot sign (its sign attribute is not set)".into());
    }
    if attrs.restricted() {
        return Err(
            "the TPM key is a restricted signing key (it signs only digests the TPM made itself)"
                .into(),
        );
    }
    match public {
        Public::Rsa {
            parameters, unique, ..
        } => {
            let fixed_hash = match parameters.rsa_scheme() {
                RsaScheme::Null => None,
                RsaScheme::RsaSsa(h) => Some(h.hashing_algorithm()),
                other => {
                    return Err(format!(
                        "the TPM key's scheme is {other:?}; Roles Anywhere needs RSASSA (PKCS#1 v1.5)"
                    ));
                }
            };
            let modulus = unique.value();
            let mut der = vec![0u8; modulus.len() + 32];
            let n = rsa_public_key_der(modulus, parameters.exponent().value(), &mut der)
                .map_err(|e| format!("the TPM key's RSA public key: {e}"))?;
            der.truncate(n);
            Ok(KeyInfo {
                key_type: KeyType::Rsa,
                public_key: der,
                size: modulus.len(),
                fixed_hash,
            })
        }
        Public::Ecc {
            parameters, unique, ..
        } => {
            let (key_type, size) = match parameters.ecc_curve() {
                EccCurve::NistP256 => (KeyType::P256, 32),
                EccCurve::NistP384 => (KeyType::P384, 48),
                other => return Err(format!("unsupported curve ({other:?}) for a TPM key")),
            };
            let fixed_hash = match parameters.ecc_scheme() {
                EccScheme::Null => None,
                EccScheme::EcDsa(h) => Some(h.hashing_algorithm()),
                other => {
                    return Err(format!(
                        "the TPM key's scheme is {other:?}; Roles Anywhere needs ECDSA"
                    ));
                }
            };
            let mut point = vec![0x04];
            point.extend_from_slice(&pad(unique.x().value(), size)?);
            point.extend_from_slice(&pad(unique.y().value(), size)?);
            Ok(KeyInfo {
                key_type,
                public_key: point,
                size,
                fixed_hash,
            })
        }
        _ => Err("unsupported TPMv2 key type (neither RSA nor ECC)".into()),
    }
}

impl KeyInfo {
    /// The largest signature: the modulus, or a DER ECDSA signature.
    pub fn max_signature_len(&self) -> usize {
        match self.key_type {
            KeyType::Rsa => self.size,
            _ => 2 * (self.size + 3) + 3,
        }
    }

    /// The digest to hand the TPM and the scheme to sign it with, for
    /// `message` hashed with `digest` on the host.
    ///
    /// RSA signs the digest as asked (RSASSA-PKCS1-v1_5). ECDSA signs the
    /// digest truncated or left-padded to the curve size under the hash of
    /// that size, as the original does: ECDSA uses the leftmost curve-size
    /// bits of any hash, so the signature is the standard one for `digest`,
    /// and a key whose scheme is fixed to the curve's hash still works.
    pub fn plan(
        &self,
        message: &[u8],
        digest: Digest,
    ) -> Result<(Vec<u8>, SignatureScheme), String> {
        let hash = digest.hash(message);
        let hash = hash.as_bytes();
        let wanted = tpm_hash(digest);
        if self.key_type == KeyType::Rsa {
            if let Some(fixed) = self.fixed_hash.filter(|f| *f != wanted) {
                return Err(format!(
                    "the TPM key only signs RSASSA with {}, not {}",
                    hash_name(fixed),
                    digest.name()
                ));
            }
            let scheme = SignatureScheme::RsaSsa {
                hash_scheme: HashScheme::new(wanted),
            };
            return Ok((hash.to_vec(), scheme));
        }
        let by_size = match self.size {
            32 => HashingAlgorithm::Sha256,
            _ => HashingAlgorithm::Sha384,
        };
        let (tpm_hash, len) = match self.fixed_hash {
            None => (by_size, self.size),
            Some(f) if hash_len(f) == Some(self.size) => (f, self.size),
            Some(f) if f == wanted => (f, hash.len()),
            Some(f) => {
                return Err(format!(
                    "the TPM key only signs ECDSA with {}, not {}",
                    hash_name(f),
                    digest.name()
                ));
            }
        };
        let adjusted = match hash.len().checked_sub(len) {
            // Longer: keep the leftmost bytes.
            Some(_) => hash.get(..len).unwrap_or(hash).to_vec(),
            // Shorter: left-pad with zeros (the same integer).
            None => pad(hash, len)?,
        };
        let scheme = SignatureScheme::EcDsa {
            hash_scheme: HashScheme::new(tpm_hash),
        };
        Ok((adjusted, scheme))
    }

    /// Writes the TPM's signature as Roles Anywhere expects it: the raw
    /// PKCS#1 v1.5 bytes, or a DER `Ecdsa-Sig-Value`.
    pub fn encode(&self, signature: &Signature, out: &mut [u8]) -> Result<usize, String> {
        match (self.key_type, signature) {
            (KeyType::Rsa, Signature::RsaSsa(sig)) => {
                let bytes = sig.signature().value();
                // A TPM returns the full modulus length; left-pad if not.
                let bytes = pad(bytes, self.size)?;
                let dst = out
                    .get_mut(..bytes.len())
                    .ok_or("the signature buffer is too small")?;
                dst.copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            (KeyType::P256 | KeyType::P384, Signature::EcDsa(sig)) => {
                ecdsa_signature_der(sig.signature_r().value(), sig.signature_s().value(), out)
                    .map_err(|e| format!("the TPM's ECDSA signature: {e}"))
            }
            (_, other) => Err(format!(
                "the TPM returned a {:?} signature",
                other.algorithm()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn ec(size: usize, fixed: Option<HashingAlgorithm>) -> KeyInfo {
        KeyInfo {
            key_type: if size == 32 {
                KeyType::P256
            } else {
                KeyType::P384
            },
            public_key: vec![4],
            size,
            fixed_hash: fixed,
        }
    }

    fn hash_of(s: &SignatureScheme) -> HashingAlgorithm {
        s.signing_scheme().unwrap()
    }

    #[test]
    fn ecdsa_digests_are_fitted_to_the_curve() {
        let msg = b"abc";
        // P-256 with SHA-384: the leftmost 32 bytes, signed as SHA256.
        let (d, s) = ec(32, None).plan(msg, Digest::Sha384).unwrap();
        assert_eq!(d, Digest::Sha384.hash(msg).as_bytes()[..32]);
        assert_eq!(hash_of(&s), HashingAlgorithm::Sha256);
        // P-384 with SHA-256: left-padded to 48 bytes, never a zero digest.
        let (d, s) = ec(48, None).plan(msg, Digest::Sha256).unwrap();
        assert_eq!(d[..16], [0u8; 16]);
        assert_eq!(d[16..], *Digest::Sha256.hash(msg).as_bytes());
        assert_eq!(hash_of(&s), HashingAlgorithm::Sha384);
        // A key fixed to SHA-512 on P-256 signs SHA-512 only.
        let fixed = ec(32, Some(HashingAlgorithm::Sha512));
        let (d, _) = fixed.plan(msg, Digest::Sha512).unwrap();
        assert_eq!(d.len(), 64);
        assert!(
            fixed
                .plan(msg, Digest::Sha256)
                .unwrap_err()
                .contains("only signs ECDSA with SHA512")
        );
    }

    #[test]
    fn rsa_signs_the_requested_digest_unless_the_key_is_fixed() {
        let mut rsa = KeyInfo {
            key_type: KeyType::Rsa,
            public_key: vec![],
            size: 256,
            fixed_hash: None,
        };
        for d in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
            let (digest, s) = rsa.plan(b"m", d).unwrap();
            assert_eq!(digest, d.hash(b"m").as_bytes());
            assert_eq!(hash_of(&s), tpm_hash(d));
        }
        rsa.fixed_hash = Some(HashingAlgorithm::Sha256);
        assert!(rsa.plan(b"m", Digest::Sha256).is_ok());
        assert_eq!(
            rsa.plan(b"m", Digest::Sha384).unwrap_err(),
            "the TPM key only signs RSASSA with SHA256, not SHA384"
        );
    }

    #[test]
    fn signature_lengths_bound_what_encode_writes() {
        assert_eq!(ec(32, None).max_signature_len(), 73);
        assert_eq!(ec(48, None).max_signature_len(), 105);
    }
}
