//! The PKCS#12 password-based encryption schemes (RFC 7292 Appendix C):
//! SHA-1 PKCS#12 KDF, 3DES or RC2 in CBC mode.
use alloc::vec::Vec;

use aes::cipher::{BlockModeDecrypt, InnerIvInit, block_padding::Pkcs7};
use der::asn1::OctetStringRef;
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::kdf::{self, Purpose};
use super::oids;
use crate::key::encrypted::{EncryptedKeyError, KdfLimits};

enum Cipher {
    TripleDes3,
    TripleDes2,
    Rc2 {
        key_len: usize,
        effective_bits: usize,
    },
}

/// Decrypts `ciphertext` with the PBE named by `alg` and the BMP password.
pub(super) fn decrypt(
    alg: AlgorithmIdentifierRef<'_>,
    bmp_password: &[u8],
    ciphertext: &[u8],
    limits: &KdfLimits,
) -> Result<Zeroizing<Vec<u8>>, EncryptedKeyError> {
    let cipher = match alg.oid {
        oids::PBE_SHA_3DES3 => Cipher::TripleDes3,
        oids::PBE_SHA_3DES2 => Cipher::TripleDes2,
        oids::PBE_SHA_RC2_128 => Cipher::Rc2 {
            key_len: 16,
            effective_bits: 128,
        },
        oids::PBE_SHA_RC2_40 => Cipher::Rc2 {
            key_len: 5,
            effective_bits: 40,
        },
        other => return Err(EncryptedKeyError::UnsupportedScheme(other)),
    };
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    let (salt, iterations) = alg
        .parameters
        .ok_or(EncryptedKeyError::Malformed)?
        .sequence(|s| {
            use der::Decode;
            let salt = <&OctetStringRef>::decode(s)?.as_bytes();
            let iterations = u64::decode(s)?;
            Ok::<_, der::Error>((salt, iterations))
        })
        .map_err(|_| EncryptedKeyError::Malformed)?;
    crate::key::encrypted::check_iterations(iterations, limits)?;
    let iterations = u32::try_from(iterations).map_err(|_| EncryptedKeyError::BadParameters)?;
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(8) {
        return Err(EncryptedKeyError::Truncated);
    }
    let key_len = match cipher {
        Cipher::TripleDes3 => 24,
        Cipher::TripleDes2 => 16,
        Cipher::Rc2 { key_len, .. } => key_len,
    };
    let mut key = Zeroizing::new([0u8; 24]);
    let key = key
        .get_mut(..key_len)
        .ok_or(EncryptedKeyError::BadParameters)?;
    kdf::derive::<sha1::Sha1>(64, bmp_password, salt, Purpose::Key, iterations, key);
    let mut iv = [0u8; 8];
    kdf::derive::<sha1::Sha1>(64, bmp_password, salt, Purpose::Iv, iterations, &mut iv);
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let n = match cipher {
        Cipher::TripleDes3 => {
            crate::key::encrypted::cbc_decrypt::<des::TdesEde3>(key, &iv, &mut buf)?
        }
        Cipher::TripleDes2 => {
            crate::key::encrypted::cbc_decrypt::<des::TdesEde2>(key, &iv, &mut buf)?
        }
        Cipher::Rc2 { effective_bits, .. } => {
            let rc2 = rc2::Rc2::new_with_eff_key_len(key, effective_bits);
            cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2, &iv)
                .map_err(|_| EncryptedKeyError::BadParameters)?
                .decrypt_padded::<Pkcs7>(&mut buf)
                .map(<[u8]>::len)
                .map_err(|_| EncryptedKeyError::WrongPassword)?
        }
    };
    buf.truncate(n);
    Ok(buf)
}
