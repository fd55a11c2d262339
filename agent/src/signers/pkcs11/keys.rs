//! What a token says about a key, turned into what core compares and signs
//! with: the curve from `CKA_EC_PARAMS`, the point from `CKA_EC_POINT`, the
//! PKCS#1 `RSAPublicKey` from `CKA_MODULUS`/`CKA_PUBLIC_EXPONENT`, and raw
//! `r||s` ECDSA output re-encoded as DER.

use rolesanywhere_core::signer::Digest;
use rolesanywhere_core::x509::KeyType;

/// DER of the named-curve OID of P-256 (1.2.840.10045.3.1.7), as `CKA_EC_PARAMS` holds it.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the named-curve OID of P-384 (1.3.132.0.34).
const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// The key type of an EC key from its `CKA_EC_PARAMS`; `None` for curves we
/// cannot sign with.
pub fn ec_key_type(params: &[u8]) -> Option<KeyType> {
    match params {
        P256_PARAMS => Some(KeyType::P256),
        P384_PARAMS => Some(KeyType::P384),
        _ => None,
    }
}

/// Bytes of one field element (and of `r` and `s`) on the curve.
pub fn field_len(key: KeyType) -> usize {
    match key {
        KeyType::P384 => 48,
        _ => 32,
    }
}

/// The uncompressed SEC1 point from `CKA_EC_POINT`: PKCS#11 wants it
/// wrapped in a DER OCTET STRING, but some tokens give the bare point.
pub fn ec_point(value: &[u8], key: KeyType) -> Option<&[u8]> {
    let point_len = 1 + 2 * field_len(key);
    match value {
        [0x04, rest @ ..] if value.len() == point_len && rest.len() == point_len - 1 => Some(value),
        [0x04, len, point @ ..] if usize::from(*len) == point_len && point.len() == point_len => {
            Some(point)
        }
        [0x04, 0x81, len, point @ ..]
            if usize::from(*len) == point_len && point.len() == point_len =>
        {
            Some(point)
        }
        _ => None,
    }
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    if len < 0x80 {
        out.extend_from_slice(significant);
        if significant.is_empty() {
            out.push(0);
        }
    } else {
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Appends an unsigned big-endian integer as a DER INTEGER.
fn push_uint(out: &mut Vec<u8>, be: &[u8]) {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let digits = be.get(skip..).unwrap_or_default();
    let pad = digits.first().is_none_or(|&b| b & 0x80 != 0);
    out.push(0x02);
    push_len(out, digits.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// The PKCS#1 `RSAPublicKey` DER, as certificates carry it and `sign-string`
/// hashes it.
pub fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(modulus.len() + exponent.len() + 12);
    push_uint(&mut body, modulus);
    push_uint(&mut body, exponent);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// The modulus length in bytes of an RSA key whose `RSAPublicKey` DER is `der`.
pub fn rsa_modulus_len(der: &[u8]) -> Option<usize> {
    // SEQUENCE { INTEGER n, ... }: skip the SEQUENCE header, read n's length.
    let rest = skip_header(der, 0x30)?.0;
    let (_, value) = skip_header(rest, 0x02)?;
    let n = value.iter().take_while(|&&b| b == 0).count();
    Some(value.len().saturating_sub(n))
}

/// Returns (contents-and-after, contents) of the TLV with `tag` at the start of `der`.
fn skip_header(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = der.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(n..)?)
    };
    Some((rest, rest.get(..len)?))
}

/// What `CKM_ECDSA` signs: the digest, cut to the curve's order length
/// (FIPS 186-4 6.4; some tokens refuse longer input instead of cutting).
pub fn ecdsa_input(digest: &[u8], key: KeyType) -> &[u8] {
    digest.get(..field_len(key)).unwrap_or(digest)
}

/// What `CKM_RSA_PKCS` signs when the token lacks the hash-and-sign
/// mechanism: the DER `DigestInfo` of the message's hash.
pub fn digest_info(digest: Digest, message: &[u8]) -> Vec<u8> {
    let mut out = digest.pkcs1_digest_info_prefix().to_vec();
    out.extend_from_slice(digest.hash(message).as_bytes());
    out
}

/// Raw `r||s` from `CKM_ECDSA` as a DER `Ecdsa-Sig-Value`, written into `out`.
pub fn ecdsa_der(raw: &[u8], key: KeyType, out: &mut [u8]) -> Result<usize, String> {
    let bad =
        |e: p256::ecdsa::Error| format!("the token returned an invalid ECDSA signature ({e})");
    let der_bytes: Vec<u8> = match key {
        KeyType::P256 => p256::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec(),
        KeyType::P384 => p384::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec(),
        other => return Err(format!("{other} keys do not sign with CKM_ECDSA")),
    };
    let dst = out
        .get_mut(..der_bytes.len())
        .ok_or("signature buffer too small")?;
    dst.copy_from_slice(&der_bytes);
    Ok(der_bytes.len())
}

/// Largest DER ECDSA signature on the curve.
pub fn ecdsa_der_max(key: KeyType) -> usize {
    // SEQUENCE header (2-3) + two INTEGERs of field_len + 1 pad byte + 2 header.
    2 * (field_len(key) + 3) + 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_from_params() {
        assert_eq!(ec_key_type(P256_PARAMS), Some(KeyType::P256));
        assert_eq!(ec_key_type(P384_PARAMS), Some(KeyType::P384));
        // secp256k1
        assert_eq!(
            ec_key_type(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]),
            None
        );
    }

    #[test]
    fn ec_points_wrapped_or_bare() {
        let mut bare = vec![0x04];
        bare.extend([7u8; 64]);
        assert_eq!(ec_point(&bare, KeyType::P256), Some(&bare[..]));
        let mut wrapped = vec![0x04, 65];
        wrapped.extend(&bare);
        assert_eq!(ec_point(&wrapped, KeyType::P256), Some(&bare[..]));
        let mut p384 = vec![0x04];
        p384.extend([9u8; 96]);
        let mut wrapped384 = vec![0x04, 97];
        wrapped384.extend(&p384);
        assert_eq!(ec_point(&wrapped384, KeyType::P384), Some(&p384[..]));
        assert_eq!(ec_point(&wrapped384, KeyType::P256), None);
        assert_eq!(ec_point(&[0x04, 0x01], KeyType::P256), None);
    }

    #[test]
    fn rsa_public_key_encoding() {
        // n = 0x00C5... (high bit set: a 0 pad byte), e = 65537.
        let n = [0x00, 0xC5, 0x01];
        let der = rsa_public_key_der(&n, &[0x01, 0x00, 0x01]);
        assert_eq!(
            der,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0xC5, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        assert_eq!(rsa_modulus_len(&der), Some(2));
        let big = vec![0xff; 256];
        let der = rsa_public_key_der(&big, &[3]);
        assert_eq!(&der[..4], [0x30, 0x82, 0x01, 0x08]);
        assert_eq!(&der[4..8], [0x02, 0x82, 0x01, 0x01]);
        assert_eq!(rsa_modulus_len(&der), Some(256));
    }

    #[test]
    fn ecdsa_input_is_cut_to_the_order() {
        let d = [1u8; 64];
        assert_eq!(ecdsa_input(&d, KeyType::P256).len(), 32);
        assert_eq!(ecdsa_input(&d, KeyType::P384).len(), 48);
        assert_eq!(ecdsa_input(&d[..32], KeyType::P384).len(), 32);
    }

    #[test]
    fn raw_signatures_become_der() {
        let mut raw = [0u8; 64];
        raw[31] = 1;
        raw[32] = 0x80;
        raw[63] = 2;
        let mut out = [0u8; 80];
        let n = ecdsa_der(&raw, KeyType::P256, &mut out).unwrap();
        assert_eq!(&out[..6], [0x30, n as u8 - 2, 0x02, 0x01, 0x01, 0x02]);
        assert!(n <= ecdsa_der_max(KeyType::P256));
        assert!(ecdsa_der(&[0u8; 64], KeyType::P256, &mut out).is_err());
        assert!(ecdsa_der(&raw[..63], KeyType::P256, &mut out).is_err());
    }
}
