//! What a TPM key's public area says about how it can sign, checked once when
//! the signer is built so that an unusable key fails early with its reason
//! (the original reports these only when signing, as "incorrect password").

use rolesanywhere_core::signer::Digest;
use rolesanywhere_core::tpm::{
    self, ATTR_RESTRICTED, ATTR_SIGN, KeyParameters, PublicArea, TPM_ALG_ECDSA, TPM_ALG_NULL,
    TPM_ALG_RSASSA, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512, TPM_ECC_NIST_P256,
    TPM_ECC_NIST_P384,
};
use rolesanywhere_core::tss2::{ecdsa_signature_der, rsa_public_key_der};
use rolesanywhere_core::x509::KeyType;

use super::connection::TpmSignature;

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
    /// The hash (`TPM_ALG_*`) the key's own scheme is fixed to, if it is
    /// not `TPM_ALG_NULL`.
    pub fixed_hash: Option<u16>,
}

/// A signature the TPM is asked for: the digest, the scheme and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What the TPM signs.
    pub digest: Vec<u8>,
    /// `TPM_ALG_RSASSA` or `TPM_ALG_ECDSA`.
    pub scheme: u16,
    /// The scheme's hash.
    pub hash: u16,
}

fn tpm_hash(d: Digest) -> u16 {
    match d {
        Digest::Sha256 => TPM_ALG_SHA256,
        Digest::Sha384 => TPM_ALG_SHA384,
        Digest::Sha512 => TPM_ALG_SHA512,
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

/// The scheme's hash when the scheme is `wanted`; an error naming the
/// scheme otherwise.
fn fixed_hash(area: &PublicArea<'_>, wanted: u16, needs: &str) -> Result<Option<u16>, String> {
    match (area.scheme, area.scheme_hash) {
        (TPM_ALG_NULL, _) => Ok(None),
        (s, Some(h)) if s == wanted => Ok(Some(h)),
        (s, _) => Err(format!(
            "the TPM key's scheme is 0x{s:04x}; Roles Anywhere needs {needs}"
        )),
    }
}

/// Reads a key's public area (`TPMT_PUBLIC`); fails for keys that cannot
/// make the signatures Roles Anywhere accepts.
pub fn inspect(public: &[u8]) -> Result<KeyInfo, String> {
    let area = PublicArea::parse(public).map_err(|e| match e {
        tpm::Error::UnknownSelector(_) => {
            "unsupported TPMv2 key type (neither RSA nor ECC)".to_owned()
        }
        e => format!("the TPM key's public area: {e}"),
    })?;
    if area.attributes & ATTR_SIGN == 0 {
        return Err("the TPM key cannot sign (its sign attribute is not set)".into());
    }
    if area.attributes & ATTR_RESTRICTED != 0 {
        return Err(
            "the TPM key is a restricted signing key (it signs only digests the TPM made itself)"
                .into(),
        );
    }
    match area.key {
        KeyParameters::Rsa(rsa) => {
            let fixed_hash = fixed_hash(&area, TPM_ALG_RSASSA, "RSASSA (PKCS#1 v1.5)")?;
            let mut der = vec![0u8; rsa.modulus.len() + 32];
            let n = rsa_public_key_der(rsa.modulus, rsa.exponent, &mut der)
                .map_err(|e| format!("the TPM key's RSA public key: {e}"))?;
            der.truncate(n);
            Ok(KeyInfo {
                key_type: KeyType::Rsa,
                public_key: der,
                size: rsa.modulus.len(),
                fixed_hash,
            })
        }
        KeyParameters::Ecc(ecc) => {
            let (key_type, size) = match ecc.curve {
                TPM_ECC_NIST_P256 => (KeyType::P256, 32),
                TPM_ECC_NIST_P384 => (KeyType::P384, 48),
                other => return Err(format!("unsupported curve (0x{other:04x}) for a TPM key")),
            };
            let fixed_hash = fixed_hash(&area, TPM_ALG_ECDSA, "ECDSA")?;
            let mut point = vec![0x04];
            point.extend_from_slice(&pad(ecc.x, size)?);
            point.extend_from_slice(&pad(ecc.y, size)?);
            Ok(KeyInfo {
                key_type,
                public_key: point,
                size,
                fixed_hash,
            })
        }
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
    pub fn plan(&self, message: &[u8], digest: Digest) -> Result<Plan, String> {
        let hash = digest.hash(message);
        let hash = hash.as_bytes();
        let wanted = tpm_hash(digest);
        if self.key_type == KeyType::Rsa {
            if let Some(fixed) = self.fixed_hash.filter(|f| *f != wanted) {
                return Err(format!(
                    "the TPM key only signs RSASSA with {}, not {}",
                    tpm::hash_name(fixed),
                    digest.name()
                ));
            }
            return Ok(Plan {
                digest: hash.to_vec(),
                scheme: TPM_ALG_RSASSA,
                hash: wanted,
            });
        }
        let by_size = match self.size {
            32 => TPM_ALG_SHA256,
            _ => TPM_ALG_SHA384,
        };
        let (tpm_hash, len) = match self.fixed_hash {
            None => (by_size, self.size),
            Some(f) if tpm::hash_len(f) == Some(self.size) => (f, self.size),
            Some(f) if f == wanted => (f, hash.len()),
            Some(f) => {
                return Err(format!(
                    "the TPM key only signs ECDSA with {}, not {}",
                    tpm::hash_name(f),
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
        Ok(Plan {
            digest: adjusted,
            scheme: TPM_ALG_ECDSA,
            hash: tpm_hash,
        })
    }

    /// Writes the TPM's signature as Roles Anywhere expects it: the raw
    /// PKCS#1 v1.5 bytes, or a DER `Ecdsa-Sig-Value`.
    pub fn encode(&self, signature: &TpmSignature, out: &mut [u8]) -> Result<usize, String> {
        match (self.key_type, signature) {
            (KeyType::Rsa, TpmSignature::RsaSsa(bytes)) => {
                // A TPM returns the full modulus length; left-pad if not.
                let bytes = pad(bytes, self.size)?;
                let dst = out
                    .get_mut(..bytes.len())
                    .ok_or("the signature buffer is too small")?;
                dst.copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            (KeyType::P256 | KeyType::P384, TpmSignature::Ecdsa(r, s)) => {
                ecdsa_signature_der(r, s, out)
                    .map_err(|e| format!("the TPM's ECDSA signature: {e}"))
            }
            (_, other) => Err(format!(
                "the TPM returned a {} signature for a {} key",
                match other {
                    TpmSignature::RsaSsa(_) => "RSASSA",
                    TpmSignature::Ecdsa(..) => "ECDSA",
                },
                self.key_type.name()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn ec(size: usize, fixed: Option<u16>) -> KeyInfo {
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

    #[test]
    fn ecdsa_digests_are_fitted_to_the_curve() {
        let msg = b"abc";
        // P-256 with SHA-384: the leftmost 32 bytes, signed as SHA256.
        let p = ec(32, None).plan(msg, Digest::Sha384).unwrap();
        assert_eq!(p.digest, Digest::Sha384.hash(msg).as_bytes()[..32]);
        assert_eq!((p.scheme, p.hash), (TPM_ALG_ECDSA, TPM_ALG_SHA256));
        // P-384 with SHA-256: left-padded to 48 bytes, never a zero digest.
        let p = ec(48, None).plan(msg, Digest::Sha256).unwrap();
        assert_eq!(p.digest[..16], [0u8; 16]);
        assert_eq!(p.digest[16..], *Digest::Sha256.hash(msg).as_bytes());
        assert_eq!(p.hash, TPM_ALG_SHA384);
        // A key fixed to SHA-512 on P-256 signs SHA-512 only.
        let fixed = ec(32, Some(TPM_ALG_SHA512));
        assert_eq!(fixed.plan(msg, Digest::Sha512).unwrap().digest.len(), 64);
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
            let p = rsa.plan(b"m", d).unwrap();
            assert_eq!(p.digest, d.hash(b"m").as_bytes());
            assert_eq!((p.scheme, p.hash), (TPM_ALG_RSASSA, tpm_hash(d)));
        }
        rsa.fixed_hash = Some(TPM_ALG_SHA256);
        assert!(rsa.plan(b"m", Digest::Sha256).is_ok());
        assert_eq!(
            rsa.plan(b"m", Digest::Sha384).unwrap_err(),
            "the TPM key only signs RSASSA with SHA256, not SHA384"
        );
    }

    #[test]
    fn public_areas_are_checked_for_signing() {
        // An RSA-2048 decrypt-only key (sign attribute clear).
        let mut key = vec![
            0x00, 0x01, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x72, 0x00, 0x00, // type..policy
            0x00, 0x10, 0x00, 0x10, // symmetric NULL, scheme NULL
            0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // 2048 bits, exponent 0
            0x00, 0x02, 0xc1, 0x02, // modulus
        ];
        assert_eq!(
            inspect(&key).unwrap_err(),
            "the TPM key cannot sign (its sign attribute is not set)"
        );
        key[5] = 0x04; // sign
        let info = inspect(&key).unwrap();
        assert_eq!(info.key_type, KeyType::Rsa);
        assert_eq!(
            info.public_key,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0xc1, 0x02, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        key[5] = 0x05; // sign | restricted
        assert!(inspect(&key).unwrap_err().contains("restricted"));
        key[5] = 0x04;
        key[13] = 0x15; // RSAES: a scheme that does not sign
        assert!(inspect(&key).unwrap_err().contains("needs RSASSA"));
    }

    #[test]
    fn signature_lengths_bound_what_encode_writes() {
        assert_eq!(ec(32, None).max_signature_len(), 73);
        assert_eq!(ec(48, None).max_signature_len(), 105);
        let mut out = [0u8; 73];
        let n = ec(32, None)
            .encode(&TpmSignature::Ecdsa(vec![1], vec![2]), &mut out)
            .unwrap();
        assert_eq!(out[..n], [0x30, 6, 2, 1, 1, 2, 1, 2]);
        assert!(
            ec(32, None)
                .encode(&TpmSignature::RsaSsa(vec![1]), &mut out)
                .is_err()
        );
    }
}
