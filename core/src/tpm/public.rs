//! Public areas (`TPMT_PUBLIC`, TPM 2.0 Part 2, 12.2): what a key is and how
//! it may sign, and the storage-key templates parents are derived from.

use super::wire::Reader;
use super::*;

/// `TPMA_OBJECT.restricted`.
pub const ATTR_RESTRICTED: u32 = 1 << 16;
/// `TPMA_OBJECT.decrypt`.
pub const ATTR_DECRYPT: u32 = 1 << 17;
/// `TPMA_OBJECT.sign`.
pub const ATTR_SIGN: u32 = 1 << 18;

/// An RSA key's parameters and modulus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaPublic<'a> {
    /// `keyBits`.
    pub bits: u16,
    /// The public exponent; 0 means 65537.
    pub exponent: u32,
    /// The modulus, big-endian.
    pub modulus: &'a [u8],
}

/// An ECC key's curve and point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EccPublic<'a> {
    /// `TPM_ECC_CURVE`.
    pub curve: u16,
    /// X, big-endian, possibly without leading zeros.
    pub x: &'a [u8],
    /// Y, likewise.
    pub y: &'a [u8],
}

/// The type-specific part of a public area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyParameters<'a> {
    /// `TPM_ALG_RSA`.
    Rsa(RsaPublic<'a>),
    /// `TPM_ALG_ECC`.
    Ecc(EccPublic<'a>),
}

/// A decoded `TPMT_PUBLIC` of an RSA or ECC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicArea<'a> {
    /// `nameAlg`.
    pub name_alg: u16,
    /// `objectAttributes`.
    pub attributes: u32,
    /// The key's own signing scheme (`TPM_ALG_NULL`: any, chosen per call).
    pub scheme: u16,
    /// The hash the scheme is fixed to, when the scheme is not NULL.
    pub scheme_hash: Option<u16>,
    /// The key.
    pub key: KeyParameters<'a>,
}

/// Skips a `TPMT_SYM_DEF_OBJECT`: the algorithm, then key bits and mode
/// unless it is NULL.
fn skip_symmetric(r: &mut Reader<'_>) -> Result<(), Error> {
    if r.u16()? != TPM_ALG_NULL {
        r.u16()?;
        r.u16()?;
    }
    Ok(())
}

/// Reads a `TPMT_*_SCHEME`: the scheme, then its details (a hash, and a
/// count for ECDAA) unless it is NULL.
fn scheme(r: &mut Reader<'_>) -> Result<(u16, Option<u16>), Error> {
    let scheme = r.u16()?;
    if scheme == TPM_ALG_NULL {
        return Ok((scheme, None));
    }
    // RSAES has no details; every other scheme starts with its hash.
    if scheme == 0x0015 {
        return Ok((scheme, None));
    }
    let hash = r.u16()?;
    if scheme == TPM_ALG_ECDAA {
        r.u16()?;
    }
    Ok((scheme, Some(hash)))
}

impl<'a> PublicArea<'a> {
    /// Decodes a `TPMT_PUBLIC` (without its `TPM2B` size).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let kind = r.u16()?;
        let name_alg = r.u16()?;
        let attributes = r.u32()?;
        let _policy = r.tpm2b()?;
        skip_symmetric(&mut r)?;
        let (scheme, scheme_hash) = scheme(&mut r)?;
        let key = match kind {
            TPM_ALG_RSA => {
                let bits = r.u16()?;
                let exponent = r.u32()?;
                KeyParameters::Rsa(RsaPublic {
                    bits,
                    exponent,
                    modulus: r.tpm2b()?,
                })
            }
            TPM_ALG_ECC => {
                let curve = r.u16()?;
                // kdf: a TPMT_KDF_SCHEME, the scheme and, unless NULL, a hash.
                if r.u16()? != TPM_ALG_NULL {
                    r.u16()?;
                }
                KeyParameters::Ecc(EccPublic {
                    curve,
                    x: r.tpm2b()?,
                    y: r.tpm2b()?,
                })
            }
            other => return Err(Error::UnknownSelector(other)),
        };
        r.finish()?;
        Ok(PublicArea {
            name_alg,
            attributes,
            scheme,
            scheme_hash,
            key,
        })
    }
}

/// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | noDA |
/// restricted | decrypt.
const SRK_ATTRIBUTES: u32 = 0x0003_0472;

/// The storage primary key template that tpm2-tools, tpm2-openssl,
/// tpm2-tss-engine and the IBM engine derive under a hierarchy (spec 2.4):
/// ECC P-256, AES-128-CFB, restricted decrypt, X and Y empty.
pub fn ecc_srk_template() -> [u8; 26] {
    let mut t = [0u8; 26];
    let fields: [&[u8]; 9] = [
        &TPM_ALG_ECC.to_be_bytes(),
        &TPM_ALG_SHA256.to_be_bytes(),
        &SRK_ATTRIBUTES.to_be_bytes(),
        &[0, 0],                               // authPolicy
        &[0x00, 0x06, 0x00, 0x80, 0x00, 0x43], // AES, 128, CFB
        &TPM_ALG_NULL.to_be_bytes(),           // scheme
        &TPM_ECC_NIST_P256.to_be_bytes(),
        &TPM_ALG_NULL.to_be_bytes(), // kdf
        &[0, 0, 0, 0],               // unique: X and Y empty
    ];
    fill(&mut t, &fields);
    t
}

/// The RSA-2048 storage primary key template for `rsaParent` files:
/// AES-128-CFB, restricted decrypt, exponent 65537 (0), unique empty.
pub fn rsa_srk_template() -> [u8; 26] {
    let mut t = [0u8; 26];
    let fields: [&[u8]; 9] = [
        &TPM_ALG_RSA.to_be_bytes(),
        &TPM_ALG_SHA256.to_be_bytes(),
        &SRK_ATTRIBUTES.to_be_bytes(),
        &[0, 0],
        &[0x00, 0x06, 0x00, 0x80, 0x00, 0x43],
        &TPM_ALG_NULL.to_be_bytes(),
        &2048u16.to_be_bytes(),
        &[0, 0, 0, 0], // exponent: default
        &[0, 0],       // unique: empty modulus
    ];
    fill(&mut t, &fields);
    t
}

fn fill(out: &mut [u8], fields: &[&[u8]]) {
    let mut at = 0;
    for f in fields {
        if let Some(dst) = out.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_ecc_srk_template_is_the_one_tpm2_tools_uses() {
        // The bytes tss-esapi's builder produced for the same template.
        assert_eq!(
            ecc_srk_template(),
            [
                0x00, 0x23, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00, 0x00, 0x06, 0x00, 0x80,
                0x00, 0x43, 0x00, 0x10, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00
            ]
        );
        let template = ecc_srk_template();
        let srk = PublicArea::parse(&template).unwrap();
        assert_eq!(srk.attributes & ATTR_RESTRICTED, ATTR_RESTRICTED);
        assert!(matches!(srk.key, KeyParameters::Ecc(e) if e.curve == TPM_ECC_NIST_P256));
    }

    #[test]
    fn the_rsa_srk_template_parses_back() {
        let template = rsa_srk_template();
        let srk = PublicArea::parse(&template).unwrap();
        assert_eq!(
            srk.key,
            KeyParameters::Rsa(RsaPublic {
                bits: 2048,
                exponent: 0,
                modulus: &[]
            })
        );
        assert_eq!(srk.scheme, TPM_ALG_NULL);
    }

    #[test]
    fn a_signing_key_with_a_fixed_scheme_parses() {
        // ECC P-384 signing key, ECDSA-SHA384, X and Y of one byte each.
        let key = [
            0x00, 0x23, 0x00, 0x0b, 0x00, 0x04, 0x00, 0x72, 0x00, 0x00, // type..policy
            0x00, 0x10, // symmetric NULL
            0x00, 0x18, 0x00, 0x0c, // ECDSA SHA384
            0x00, 0x04, 0x00, 0x10, // P-384, kdf NULL
            0x00, 0x01, 0x07, 0x00, 0x01, 0x08,
        ];
        let p = PublicArea::parse(&key).unwrap();
        assert_eq!(p.attributes & ATTR_SIGN, ATTR_SIGN);
        assert_eq!(
            (p.scheme, p.scheme_hash),
            (TPM_ALG_ECDSA, Some(TPM_ALG_SHA384))
        );
        assert_eq!(
            p.key,
            KeyParameters::Ecc(EccPublic {
                curve: TPM_ECC_NIST_P384,
                x: &[7],
                y: &[8]
            })
        );
        assert_eq!(PublicArea::parse(&key[..25]), Err(Error::Truncated));
        let mut other = key;
        other[1] = 0x08; // TPM_ALG_KEYEDHASH
        assert_eq!(PublicArea::parse(&other), Err(Error::UnknownSelector(8)));
    }
}
