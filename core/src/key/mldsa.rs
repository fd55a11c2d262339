//! ML-DSA (FIPS 204) private keys, as PKCS#8 carries them, and signing with them.
//!
//! The PKCS#8 `privateKey` of an ML-DSA key is (IETF LAMPS
//! draft-ietf-lamps-dilithium-certificates, as OpenSSL 3.5 writes it):
//!
//! ```text
//! ML-DSA-PrivateKey ::= CHOICE {
//!   seed        [0] IMPLICIT OCTET STRING (SIZE (32)),
//!   expandedKey OCTET STRING (SIZE (2560 | 4032 | 4896)),
//!   both        SEQUENCE { seed OCTET STRING (SIZE (32)), expandedKey OCTET STRING } }
//! ```
//!
//! We keep only the 32-byte seed: it is the whole secret, and expanding it
//! again for each signature keeps [`MlDsaKey`] small enough to live on the
//! stack of a `no_std` target (an expanded ML-DSA-87 key with its matrix is
//! over 60 KiB). A signature is rare (one per credential refresh) and the
//! expansion costs well under a millisecond next to the signing itself.
//!
//! `expandedKey`-only keys are refused: without the seed the key cannot be
//! checked, and `ml-dsa` documents that decoding an unchecked expanded key can
//! panic. With `both`, the expanded key must be the one the seed gives.
//!
//! Signing is pure ML-DSA over the message with an empty context, in the
//! deterministic variant (FIPS 204 Algorithm 2 with `rnd` = 0), as the
//! original helper signs the SigV4 string to sign.
//!
//! <div class="warning">ML-DSA needs a deep stack: about 192/280/448 KiB for
//! 44/65/87 (key expansion plus signing). Linux main threads (8 MiB) and Rust's
//! spawned threads (2 MiB) have enough; a thread with a custom stack size may not.</div>

use core::fmt;

use der::{Decode, Reader, SliceReader, Tag, TagNumber};
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams, SigningKey};
use signature::{Keypair, Signer as _};
use zeroize::Zeroizing;

use super::KeyError;
use crate::x509::{KeyType, oid};

/// The three ML-DSA parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MlDsaVariant {
    /// ML-DSA-44 (NIST category 2).
    MlDsa44,
    /// ML-DSA-65 (NIST category 3).
    MlDsa65,
    /// ML-DSA-87 (NIST category 5).
    MlDsa87,
}

impl MlDsaVariant {
    /// The variant named by a PKCS#8 / SPKI algorithm OID.
    pub fn from_oid(algorithm: der::asn1::ObjectIdentifier) -> Option<Self> {
        match algorithm {
            oid::ML_DSA_44 => Some(MlDsaVariant::MlDsa44),
            oid::ML_DSA_65 => Some(MlDsaVariant::MlDsa65),
            oid::ML_DSA_87 => Some(MlDsaVariant::MlDsa87),
            _ => None,
        }
    }

    /// The key type certificates of this variant carry.
    pub fn key_type(self) -> KeyType {
        match self {
            MlDsaVariant::MlDsa44 => KeyType::MlDsa44,
            MlDsaVariant::MlDsa65 => KeyType::MlDsa65,
            MlDsaVariant::MlDsa87 => KeyType::MlDsa87,
        }
    }

    /// Signature length in bytes (FIPS 204 Table 2).
    pub fn signature_len(self) -> usize {
        match self {
            MlDsaVariant::MlDsa44 => 2420,
            MlDsaVariant::MlDsa65 => 3309,
            MlDsaVariant::MlDsa87 => 4627,
        }
    }

    /// Encoded public key length in bytes.
    pub fn public_key_len(self) -> usize {
        match self {
            MlDsaVariant::MlDsa44 => 1312,
            MlDsaVariant::MlDsa65 => 1952,
            MlDsaVariant::MlDsa87 => 2592,
        }
    }

    /// Expanded private key length in bytes.
    pub fn expanded_key_len(self) -> usize {
        match self {
            MlDsaVariant::MlDsa44 => 2560,
            MlDsaVariant::MlDsa65 => 4032,
            MlDsaVariant::MlDsa87 => 4896,
        }
    }
}

impl fmt::Display for MlDsaVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key_type().name())
    }
}

/// An ML-DSA private key: its variant and its 32-byte seed (zeroized on drop).
#[derive(Clone)]
pub struct MlDsaKey {
    variant: MlDsaVariant,
    seed: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for MlDsaKey {
    // Never print the seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MlDsaKey({})", self.variant)
    }
}

/// Why an ML-DSA `privateKey` field is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlDsaKeyError {
    /// Not one of the three encodings of the CHOICE.
    Malformed,
    /// The seed is not 32 bytes long.
    SeedLength(usize),
    /// Only the expanded key is present (no seed).
    ExpandedOnly,
    /// `both`: the expanded key has the wrong length, or is not the one the seed gives.
    Inconsistent,
}

impl fmt::Display for MlDsaKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MlDsaKeyError::Malformed => f.write_str(
                "malformed ML-DSA private key (expected a [0] seed, or a SEQUENCE of seed and expanded key)",
            ),
            MlDsaKeyError::SeedLength(n) => {
                write!(f, "ML-DSA private key seed is {n} bytes; it must be 32")
            }
            MlDsaKeyError::ExpandedOnly => f.write_str(
                "the ML-DSA private key holds only the expanded key, not its seed; export it with the seed (OpenSSL 3.5: -provparam ml-dsa.output_formats=seed-priv)",
            ),
            MlDsaKeyError::Inconsistent => {
                f.write_str("the ML-DSA private key's expanded key does not match its seed")
            }
        }
    }
}

const SEED_TAG: Tag = Tag::ContextSpecific {
    constructed: false,
    number: TagNumber(0),
};

fn seed_array(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, MlDsaKeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(MlDsaKeyError::SeedLength(bytes.len()));
    }
    seed.copy_from_slice(bytes);
    Ok(seed)
}

impl MlDsaKey {
    /// Builds a key from a 32-byte seed.
    pub fn from_seed(variant: MlDsaVariant, seed: &[u8]) -> Result<Self, MlDsaKeyError> {
        Ok(MlDsaKey {
            variant,
            seed: seed_array(seed)?,
        })
    }

    /// Parses the contents of PKCS#8 `privateKey` for `variant`.
    pub fn from_private_key_field(
        variant: MlDsaVariant,
        field: &[u8],
    ) -> Result<Self, MlDsaKeyError> {
        let mut r = SliceReader::new(field).map_err(|_| MlDsaKeyError::Malformed)?;
        let tag = Tag::peek(&r).map_err(|_| MlDsaKeyError::Malformed)?;
        let key = match tag {
            SEED_TAG => {
                let header = der::Header::decode(&mut r).map_err(|_| MlDsaKeyError::Malformed)?;
                let len = usize::try_from(header.length()).map_err(|_| MlDsaKeyError::Malformed)?;
                let seed = r.read_slice(header.length()).map_err(|_| {
                    if len != 32 {
                        MlDsaKeyError::SeedLength(len)
                    } else {
                        MlDsaKeyError::Malformed
                    }
                })?;
                Self::from_seed(variant, seed)?
            }
            Tag::Sequence => {
                let (seed, expanded) = r
                    .sequence(|s| {
                        let seed = <&der::asn1::OctetStringRef>::decode(s)?;
                        let expanded = <&der::asn1::OctetStringRef>::decode(s)?;
                        Ok::<_, der::Error>((seed.as_bytes(), expanded.as_bytes()))
                    })
                    .map_err(|_| MlDsaKeyError::Malformed)?;
                let key = Self::from_seed(variant, seed)?;
                if !key.expanded_key_matches(expanded) {
                    return Err(MlDsaKeyError::Inconsistent);
                }
                key
            }
            Tag::OctetString => {
                let bytes = <&der::asn1::OctetStringRef>::decode(&mut r)
                    .map_err(|_| MlDsaKeyError::Malformed)?;
                return Err(if bytes.as_bytes().len() == variant.expanded_key_len() {
                    MlDsaKeyError::ExpandedOnly
                } else {
                    MlDsaKeyError::Malformed
                });
            }
            _ => return Err(MlDsaKeyError::Malformed),
        };
        r.finish().map_err(|_| MlDsaKeyError::Malformed)?;
        Ok(key)
    }

    /// The parameter set.
    pub fn variant(&self) -> MlDsaVariant {
        self.variant
    }

    /// Signs `message` (pure ML-DSA, empty context, deterministic) into `out`.
    // Never inlined (nor the helpers below): ML-DSA's large stack frames must
    // not become part of a caller that only signs ECDSA, e.g. on a microcontroller.
    #[inline(never)]
    pub fn sign(&self, message: &[u8], out: &mut [u8]) -> Result<usize, KeyError> {
        match self.variant {
            MlDsaVariant::MlDsa44 => sign::<MlDsa44>(&self.seed, message, out),
            MlDsaVariant::MlDsa65 => sign::<MlDsa65>(&self.seed, message, out),
            MlDsaVariant::MlDsa87 => sign::<MlDsa87>(&self.seed, message, out),
        }
    }

    /// True when `encoded` is this key's public key (`pkEncode`, as in a certificate).
    #[inline(never)]
    pub fn public_key_matches(&self, encoded: &[u8]) -> bool {
        match self.variant {
            MlDsaVariant::MlDsa44 => public_key_is::<MlDsa44>(&self.seed, encoded),
            MlDsaVariant::MlDsa65 => public_key_is::<MlDsa65>(&self.seed, encoded),
            MlDsaVariant::MlDsa87 => public_key_is::<MlDsa87>(&self.seed, encoded),
        }
    }

    /// Writes the encoded public key into `out`; `None` if `out` is too small.
    #[inline(never)]
    pub fn write_public_key(&self, out: &mut [u8]) -> Option<usize> {
        match self.variant {
            MlDsaVariant::MlDsa44 => write_public_key::<MlDsa44>(&self.seed, out),
            MlDsaVariant::MlDsa65 => write_public_key::<MlDsa65>(&self.seed, out),
            MlDsaVariant::MlDsa87 => write_public_key::<MlDsa87>(&self.seed, out),
        }
    }

    fn expanded_key_matches(&self, expanded: &[u8]) -> bool {
        match self.variant {
            MlDsaVariant::MlDsa44 => expanded_is::<MlDsa44>(&self.seed, expanded),
            MlDsaVariant::MlDsa65 => expanded_is::<MlDsa65>(&self.seed, expanded),
            MlDsaVariant::MlDsa87 => expanded_is::<MlDsa87>(&self.seed, expanded),
        }
    }
}

#[inline(never)]
fn signing_key<P: MlDsaParams>(seed: &[u8; 32]) -> SigningKey<P> {
    // The Array copy of the seed is wiped when it goes out of scope.
    let seed = Zeroizing::new(ml_dsa::Seed::from(*seed));
    SigningKey::<P>::from_seed(&seed)
}

#[inline(never)]
fn sign<P: MlDsaParams>(
    seed: &[u8; 32],
    message: &[u8],
    out: &mut [u8],
) -> Result<usize, KeyError> {
    let key = signing_key::<P>(seed);
    let sig = key.try_sign(message).map_err(|_| KeyError::SignFailed)?;
    super::put(out, &sig.encode())
}

#[inline(never)]
fn public_key_is<P: MlDsaParams>(seed: &[u8; 32], encoded: &[u8]) -> bool {
    let key = signing_key::<P>(seed);
    key.verifying_key().encode().as_slice() == encoded
}

#[inline(never)]
fn write_public_key<P: MlDsaParams>(seed: &[u8; 32], out: &mut [u8]) -> Option<usize> {
    let key = signing_key::<P>(seed);
    super::put(out, &key.verifying_key().encode()).ok()
}

#[inline(never)]
fn expanded_is<P: MlDsaParams>(seed: &[u8; 32], expanded: &[u8]) -> bool {
    let key = signing_key::<P>(seed);
    // `to_expanded` is deprecated only as a storage format; it is the exact
    // encoding (FIPS 204 skEncode) we compare against.
    #[allow(deprecated)]
    let ours = Zeroizing::new(key.expanded_key().to_expanded());
    // Compare without an early exit: both sides are secret.
    ours.len() == expanded.len()
        && ours
            .iter()
            .zip(expanded)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SEED: [u8; 32] = [7u8; 32];

    fn seed_field() -> [u8; 34] {
        let mut f = [0u8; 34];
        f[0] = 0x80;
        f[1] = 32;
        f[2..].copy_from_slice(&SEED);
        f
    }

    #[test]
    fn seed_form_signs_deterministically_and_verifies() {
        let key = MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa65, &seed_field()).unwrap();
        let mut a = [0u8; 3309];
        let mut b = [0u8; 3309];
        assert_eq!(key.sign(b"msg", &mut a).unwrap(), 3309);
        assert_eq!(key.sign(b"msg", &mut b).unwrap(), 3309);
        assert_eq!(a, b, "deterministic");
        let sk = SigningKey::<MlDsa65>::from_seed(&ml_dsa::Seed::from(SEED));
        let vk = sk.verifying_key();
        let sig = ml_dsa::Signature::<MlDsa65>::try_from(&a[..]).unwrap();
        assert!(vk.verify_with_context(b"msg", &[], &sig));
        let mut pk = [0u8; 1952];
        assert_eq!(key.write_public_key(&mut pk), Some(1952));
        assert!(key.public_key_matches(&pk));
        pk[0] ^= 1;
        assert!(!key.public_key_matches(&pk));
    }

    #[test]
    fn both_form_must_agree_with_the_seed() {
        let sk = SigningKey::<MlDsa44>::from_seed(&ml_dsa::Seed::from(SEED));
        #[allow(deprecated)]
        let expanded = sk.expanded_key().to_expanded();
        let mut field = std::vec::Vec::new();
        // SEQUENCE { OCTET STRING seed, OCTET STRING expanded (2560 bytes) }
        let inner_len = 34 + 4 + expanded.len();
        field.extend_from_slice(&[0x30, 0x82, (inner_len >> 8) as u8, inner_len as u8]);
        field.extend_from_slice(&[0x04, 32]);
        field.extend_from_slice(&SEED);
        field.extend_from_slice(&[0x04, 0x82, 0x0a, 0x00]);
        field.extend_from_slice(&expanded);
        assert!(MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa44, &field).is_ok());
        let last = field.len() - 1;
        field[last] ^= 1;
        assert_eq!(
            MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa44, &field).unwrap_err(),
            MlDsaKeyError::Inconsistent
        );
    }

    #[test]
    fn wrong_seed_length_and_expanded_only_are_named() {
        let mut short = [0u8; 33];
        short[0] = 0x80;
        short[1] = 31;
        assert_eq!(
            MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa44, &short).unwrap_err(),
            MlDsaKeyError::SeedLength(31)
        );
        let mut expanded = std::vec![0x04, 0x82, 0x0a, 0x00];
        expanded.resize(4 + 2560, 0);
        assert_eq!(
            MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa44, &expanded).unwrap_err(),
            MlDsaKeyError::ExpandedOnly
        );
        assert_eq!(
            MlDsaKey::from_private_key_field(MlDsaVariant::MlDsa44, &[]).unwrap_err(),
            MlDsaKeyError::Malformed
        );
    }
}
