//! TPM 2.0 key files: the `-----BEGIN TSS2 PRIVATE KEY-----` ASN.1 of
//! draft-bottomley-tpm2-keys, as written by tpm2-openssl, tpm2-tss-engine,
//! the IBM/James Bottomley engine and `tpm2_encodeobject`.
//!
//! ```text
//! TPMKey ::= SEQUENCE {
//!     type        OBJECT IDENTIFIER,          -- 2.23.133.10.1.3 loadable key
//!     emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
//!     policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//!     secret      [2] EXPLICIT OCTET STRING OPTIONAL,
//!     authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//!     description [4] EXPLICIT UTF8String OPTIONAL,
//!     rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,
//!     parent      INTEGER,                     -- a TPM handle
//!     pubkey      OCTET STRING,                -- TPM2B_PUBLIC
//!     privkey     OCTET STRING }               -- TPM2B_PRIVATE
//! ```
//!
//! Parsing borrows the DER and needs no heap, so the parser runs anywhere and
//! can be fuzzed on its own. [`Tss2Key::parse`] is the ASN.1 step;
//! [`Tss2Key::loadable`] then checks what a signer needs, in the original
//! helper's order and with its error strings, so the agent can put its
//! password check between the two as the original does.
//!
//! Deliberate differences from the original helper: a BOOLEAN is true for any
//! non-zero byte (tpm2-openssl 1.1.1 and old engines write `0x01`, which strict
//! DER rejects), and the newer `description` and `rsaParent` fields are read
//! instead of failing the whole file.

use core::fmt;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag};

/// `id-loadablekey`: a key wrapped by its parent, loadable with `TPM2_Load`.
pub const OID_LOADABLE_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.10.1.3");

/// `TPM_RH_OWNER`: the storage hierarchy.
pub const TPM_RH_OWNER: u32 = 0x4000_0001;
/// `TPM_RH_NULL`: the null hierarchy (its seed changes on every reset).
pub const TPM_RH_NULL: u32 = 0x4000_0007;
/// `TPM_RH_ENDORSEMENT`: the endorsement hierarchy.
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;
/// `TPM_RH_PLATFORM`: the platform hierarchy.
pub const TPM_RH_PLATFORM: u32 = 0x4000_000C;

/// `TPM_ALG_RSA`.
pub const TPM_ALG_RSA: u16 = 0x0001;
/// `TPM_ALG_ECC`.
pub const TPM_ALG_ECC: u16 = 0x0023;

/// Why a TSS2 key file cannot be used. The messages start with the original
/// helper's strings (spec 2.7) so scripts matching them keep working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tss2Error {
    /// The ASN.1 does not decode.
    Asn1(der::Error),
    /// A BOOLEAN that is not one byte long.
    Boolean,
    /// The parent INTEGER is negative or longer than 32 bits.
    ParentRange,
    /// Data after `privkey` inside the SEQUENCE.
    TrailingField,
    /// `type` is not `id-loadablekey` (importable and sealed keys are refused).
    InvalidOid(ObjectIdentifier),
    /// `policy` or `authPolicy` is present: policy sessions are not supported.
    Policy,
    /// `secret` is present: that field belongs to importable keys.
    Secret,
    /// The parent is neither a persistent handle nor a hierarchy.
    InvalidParent(u32),
    /// `pubkey` is not a TPM2B whose size matches.
    PublicLength,
    /// `privkey` is not a TPM2B whose size matches.
    PrivateLength,
    /// The public area is neither RSA nor ECC.
    UnsupportedType(u16),
}

impl fmt::Display for Tss2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tss2Error::Asn1(e) => write!(f, "malformed TSS2 key file: {e}"),
            Tss2Error::Boolean => f.write_str("malformed TSS2 key file: a BOOLEAN is not one byte"),
            Tss2Error::ParentRange => {
                f.write_str("malformed TSS2 key file: the parent is not a 32-bit TPM handle")
            }
            Tss2Error::TrailingField => {
                f.write_str("malformed TSS2 key file: unexpected data after privkey")
            }
            Tss2Error::InvalidOid(oid) => write!(f, "invalid OID for TPMv2 key:{oid}"),
            Tss2Error::Policy => f.write_str("TPMv2 policy not implemented yet"),
            Tss2Error::Secret => {
                f.write_str("TPMv2 key has 'secret' field which should not be set")
            }
            Tss2Error::InvalidParent(h) => write!(f, "invalid parent for TPMv2 key (0x{h:08x})"),
            Tss2Error::PublicLength => f.write_str("invalid length for TPMv2 PUBLIC blob"),
            Tss2Error::PrivateLength => f.write_str("invalid length for TPMv2 PRIVATE blob"),
            Tss2Error::UnsupportedType(t) => {
                write!(f, "unsupported TPMv2 key type (TPM_ALG 0x{t:04x})")
            }
        }
    }
}

impl core::error::Error for Tss2Error {}

impl From<der::Error> for Tss2Error {
    fn from(e: der::Error) -> Self {
        Tss2Error::Asn1(e)
    }
}

/// A TSS2 key file as decoded, before any check of what it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tss2Key<'a> {
    /// The key's `type` OID.
    pub oid: ObjectIdentifier,
    /// `emptyAuth`: the key has no password.
    pub empty_auth: bool,
    /// A `policy` field is present.
    pub has_policy: bool,
    /// A `secret` field is present.
    pub has_secret: bool,
    /// An `authPolicy` field is present.
    pub has_auth_policy: bool,
    /// The `description`, if any.
    pub description: Option<&'a str>,
    /// `rsaParent`: a hierarchy parent is the RSA-2048 SRK, not the ECC one.
    pub rsa_parent: bool,
    /// The parent handle.
    pub parent: u32,
    /// `pubkey`: a `TPM2B_PUBLIC`, size included.
    pub pubkey: &'a [u8],
    /// `privkey`: a `TPM2B_PRIVATE`, size included.
    pub privkey: &'a [u8],
}

/// The parent a key file's key is loaded under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent {
    /// A persistent key (`0x81xxxxxx`), used as it is.
    Persistent(u32),
    /// A hierarchy (`TPM_RH_OWNER`, `_NULL`, `_ENDORSEMENT`, `_PLATFORM`):
    /// the parent is the primary key derived from the standard SRK template.
    Hierarchy(u32),
}

/// The public key algorithm of a key file's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// `TPM_ALG_RSA`.
    Rsa,
    /// `TPM_ALG_ECC`.
    Ecc,
}

/// A key file that passed every check: what `TPM2_Load` needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadableKey<'a> {
    /// Where to load it.
    pub parent: Parent,
    /// A hierarchy parent is the RSA-2048 SRK (`rsaParent`).
    pub rsa_parent: bool,
    /// The key has no password.
    pub empty_auth: bool,
    /// The public area, `TPMT_PUBLIC` (the TPM2B size removed).
    pub public: &'a [u8],
    /// The private blob (the TPM2B size removed).
    pub private: &'a [u8],
    /// RSA or ECC.
    pub algorithm: KeyAlgorithm,
}

/// Reads one TLV and returns its header and value.
fn read_tlv<'a>(r: &mut SliceReader<'a>) -> Result<(Header, &'a [u8]), der::Error> {
    let header = Header::decode(r)?;
    let value = r.read_slice(header.length())?;
    Ok((header, value))
}

/// A BOOLEAN, lenient: any non-zero byte is true (see the module docs).
fn lenient_bool(tlv: &[u8]) -> Result<bool, Tss2Error> {
    let mut r = SliceReader::new(tlv)?;
    let (header, value) = read_tlv(&mut r)?;
    header.tag().assert_eq(Tag::Boolean)?;
    r.finish()?;
    match value {
        [b] => Ok(*b != 0),
        _ => Err(Tss2Error::Boolean),
    }
}

/// The `[n]` EXPLICIT tag number of a constructed context-specific header.
fn explicit_number(header: &Header) -> Option<u32> {
    match header.tag() {
        Tag::ContextSpecific {
            constructed: true,
            number,
        } => Some(number.value()),
        _ => None,
    }
}

impl<'a> Tss2Key<'a> {
    /// Decodes the DER of a TSS2 key file (the PEM body). Bytes after the
    /// outer SEQUENCE are ignored, as the original does.
    pub fn parse(der: &'a [u8]) -> Result<Self, Tss2Error> {
        let mut outer = SliceReader::new(der)?;
        let (header, body) = read_tlv(&mut outer)?;
        header.tag().assert_eq(Tag::Sequence)?;
        let mut r = SliceReader::new(body)?;

        let oid = ObjectIdentifier::decode(&mut r)?;
        let mut key = Tss2Key {
            oid,
            empty_auth: false,
            has_policy: false,
            has_secret: false,
            has_auth_policy: false,
            description: None,
            rsa_parent: false,
            parent: 0,
            pubkey: &[],
            privkey: &[],
        };

        // The optional [0]..[5] fields, each at most once and in order.
        let mut next_allowed = 0u32;
        loop {
            let header = Header::peek(&r)?;
            let Some(number) = explicit_number(&header) else {
                break;
            };
            if number < next_allowed || number > 5 {
                return Err(der::Error::from(header.tag().unexpected_error(None)).into());
            }
            next_allowed = number + 1;
            let (_, inner) = read_tlv(&mut r)?;
            match number {
                0 => key.empty_auth = lenient_bool(inner)?,
                1 => key.has_policy = true,
                2 => key.has_secret = true,
                3 => key.has_auth_policy = true,
                4 => {
                    let s = der::asn1::Utf8StringRef::from_der(inner)?;
                    key.description = Some(s.as_str());
                }
                _ => key.rsa_parent = lenient_bool(inner)?,
            }
        }

        let parent = der::asn1::UintRef::decode(&mut r)?;
        let bytes = parent.as_bytes();
        if bytes.len() > 4 {
            return Err(Tss2Error::ParentRange);
        }
        key.parent = bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));

        key.pubkey = <&der::asn1::OctetStringRef>::decode(&mut r)?.as_bytes();
        key.privkey = <&der::asn1::OctetStringRef>::decode(&mut r)?.as_bytes();
        if !r.is_finished() {
            return Err(Tss2Error::TrailingField);
        }
        Ok(key)
    }

    /// Checks the key in the original's order (after its ASN.1 step and its
    /// password check): type, policy, secret, parent, blob lengths, key type.
    pub fn loadable(&self) -> Result<LoadableKey<'a>, Tss2Error> {
        if self.oid != OID_LOADABLE_KEY {
            return Err(Tss2Error::InvalidOid(self.oid));
        }
        if self.has_policy || self.has_auth_policy {
            return Err(Tss2Error::Policy);
        }
        if self.has_secret {
            return Err(Tss2Error::Secret);
        }
        let parent = match self.parent {
            p if p >> 24 == 0x81 => Parent::Persistent(p),
            p @ (TPM_RH_OWNER | TPM_RH_NULL | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM) => {
                Parent::Hierarchy(p)
            }
            p => return Err(Tss2Error::InvalidParent(p)),
        };
        let public = tpm2b_body(self.pubkey).ok_or(Tss2Error::PublicLength)?;
        let private = tpm2b_body(self.privkey).ok_or(Tss2Error::PrivateLength)?;
        // TPMT_PUBLIC starts with its TPMI_ALG_PUBLIC type.
        let algorithm = match public {
            [hi, lo, ..] => match u16::from_be_bytes([*hi, *lo]) {
                TPM_ALG_RSA => KeyAlgorithm::Rsa,
                TPM_ALG_ECC => KeyAlgorithm::Ecc,
                other => return Err(Tss2Error::UnsupportedType(other)),
            },
            _ => return Err(Tss2Error::UnsupportedType(0)),
        };
        Ok(LoadableKey {
            parent,
            rsa_parent: self.rsa_parent,
            empty_auth: self.empty_auth,
            public,
            private,
            algorithm,
        })
    }
}

/// The body of a TPM2B: a 2-byte big-endian size that must equal the rest.
fn tpm2b_body(blob: &[u8]) -> Option<&[u8]> {
    match blob {
        [hi, lo, rest @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() => {
            Some(rest)
        }
        _ => None,
    }
}

/// Why a TPM value could not be re-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError;

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TPM value does not fit the output buffer or is not a valid integer")
    }
}

impl core::error::Error for EncodeError {}

impl From<der::Error> for EncodeError {
    fn from(_: der::Error) -> Self {
        EncodeError
    }
}

/// `SEQUENCE { INTEGER a, INTEGER b }` of two unsigned big-endian values,
/// into `out`; returns the length. This is both an `Ecdsa-Sig-Value` (r, s)
/// and a PKCS#1 `RSAPublicKey` (modulus, exponent).
pub fn encode_uint_pair(a: &[u8], b: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let a = der::asn1::UintRef::new(a)?;
    let b = der::asn1::UintRef::new(b)?;
    let body = (a.encoded_len()? + b.encoded_len()?)?;
    let mut w = der::SliceWriter::new(out);
    Header::new(Tag::Sequence, body).encode(&mut w)?;
    a.encode(&mut w)?;
    b.encode(&mut w)?;
    let len: Length = w.finish()?.len().try_into()?;
    Ok(usize::try_from(len)?)
}

/// An ECDSA signature from a TPM (r and s, big-endian, any length) as DER.
pub fn ecdsa_signature_der(r: &[u8], s: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    if is_zero(r) || is_zero(s) {
        return Err(EncodeError);
    }
    encode_uint_pair(r, s, out)
}

/// A PKCS#1 `RSAPublicKey` from a TPM's modulus and exponent (`0` in a TPM
/// public area means the default 65537).
pub fn rsa_public_key_der(
    modulus: &[u8],
    exponent: u32,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let e = if exponent == 0 { 65537 } else { exponent };
    encode_uint_pair(modulus, &e.to_be_bytes(), out)
}

fn is_zero(v: &[u8]) -> bool {
    v.iter().all(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::string::ToString;

    /// Builds a TLV (short or long form length).
    fn tlv(tag: u8, value: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec![tag];
        let n = value.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend_from_slice(&[0x81, n as u8]);
        } else {
            v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(value);
        v
    }

    const OID: &[u8] = &[0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03];

    fn tpm2b(body: &[u8]) -> std::vec::Vec<u8> {
        let mut v = (body.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn key(fields: &[&[u8]], parent: &[u8], public: &[u8], private: &[u8]) -> std::vec::Vec<u8> {
        let mut body = OID.to_vec();
        for f in fields {
            body.extend_from_slice(f);
        }
        body.extend_from_slice(&tlv(0x02, parent));
        body.extend_from_slice(&tlv(0x04, public));
        body.extend_from_slice(&tlv(0x04, private));
        tlv(0x30, &body)
    }

    fn ecc_public() -> std::vec::Vec<u8> {
        tpm2b(&[0x00, 0x23, 0x00, 0x0b, 0, 0, 0, 0])
    }

    #[test]
    fn the_spec_example_decodes() {
        // Shape of spec 2.2: emptyAuth 0xff, owner parent, RSA public.
        let der = key(
            &[&[0xa0, 0x03, 0x01, 0x01, 0xff]],
            &[0x40, 0, 0, 1],
            &tpm2b(&[0x00, 0x01, 0x00, 0x0b]),
            &tpm2b(&[0xde, 0xad]),
        );
        let k = Tss2Key::parse(&der).unwrap();
        assert!(k.empty_auth);
        assert_eq!(k.parent, TPM_RH_OWNER);
        let l = k.loadable().unwrap();
        assert_eq!(l.parent, Parent::Hierarchy(TPM_RH_OWNER));
        assert_eq!(l.algorithm, KeyAlgorithm::Rsa);
        assert_eq!(l.public, &[0x00, 0x01, 0x00, 0x0b]);
        assert_eq!(l.private, &[0xde, 0xad]);
    }

    #[test]
    fn empty_auth_0x01_is_true_and_0x00_false() {
        for (byte, want) in [(0x01u8, true), (0x00, false), (0xff, true)] {
            let der = key(
                &[&[0xa0, 0x03, 0x01, 0x01, byte]],
                &[0x40, 0, 0, 1],
                &ecc_public(),
                &tpm2b(&[1]),
            );
            assert_eq!(Tss2Key::parse(&der).unwrap().empty_auth, want);
        }
    }

    #[test]
    fn persistent_parent_with_a_leading_zero_and_trailing_bytes_after_the_sequence() {
        let mut der = key(
            &[],
            &[0x00, 0x81, 0x00, 0x00, 0x01],
            &ecc_public(),
            &tpm2b(&[1]),
        );
        der.extend_from_slice(b"trailing junk is ignored");
        let k = Tss2Key::parse(&der).unwrap();
        assert!(!k.empty_auth);
        let l = k.loadable().unwrap();
        assert_eq!(l.parent, Parent::Persistent(0x8100_0001));
        assert_eq!(l.algorithm, KeyAlgorithm::Ecc);
    }

    #[test]
    fn description_and_rsa_parent_are_read() {
        let desc = tlv(0xa4, &tlv(0x0c, b"gateway key"));
        let rsa = tlv(0xa5, &[0x01, 0x01, 0xff]);
        let der = key(
            &[&desc, &rsa],
            &[0x40, 0, 0, 1],
            &ecc_public(),
            &tpm2b(&[1]),
        );
        let k = Tss2Key::parse(&der).unwrap();
        assert_eq!(k.description, Some("gateway key"));
        assert!(k.loadable().unwrap().rsa_parent);
    }

    #[test]
    fn checks_come_in_the_original_order_with_its_strings() {
        let importable = {
            let mut d = key(&[&tlv(0xa1, &tlv(0x30, &[]))], &[0x12], &[], &[]);
            // Swap the OID for 2.23.133.10.1.4 (importable).
            let pos = d.iter().position(|b| *b == 0x03).unwrap();
            d[pos] = 0x04;
            d
        };
        let e = Tss2Key::parse(&importable).unwrap().loadable().unwrap_err();
        assert_eq!(e.to_string(), "invalid OID for TPMv2 key:2.23.133.10.1.4");

        let policy = key(&[&tlv(0xa1, &tlv(0x30, &[]))], &[0x12], &[], &[]);
        assert_eq!(
            Tss2Key::parse(&policy).unwrap().loadable(),
            Err(Tss2Error::Policy)
        );
        let auth_policy = key(&[&tlv(0xa3, &tlv(0x30, &[]))], &[0x12], &[], &[]);
        assert_eq!(
            Tss2Key::parse(&auth_policy).unwrap().loadable(),
            Err(Tss2Error::Policy)
        );
        let secret = key(&[&tlv(0xa2, &tlv(0x04, &[1]))], &[0x12], &[], &[]);
        let e = Tss2Key::parse(&secret).unwrap().loadable().unwrap_err();
        assert_eq!(
            e.to_string(),
            "TPMv2 key has 'secret' field which should not be set"
        );
        let parent = key(&[], &[0x40, 0, 0, 2], &[], &[]);
        let e = Tss2Key::parse(&parent).unwrap().loadable().unwrap_err();
        assert!(e.to_string().starts_with("invalid parent for TPMv2 key"));
        let public = key(&[], &[0x40, 0, 0, 1], &[0, 5, 1], &[]);
        let e = Tss2Key::parse(&public).unwrap().loadable().unwrap_err();
        assert_eq!(e.to_string(), "invalid length for TPMv2 PUBLIC blob");
        let private = key(&[], &[0x40, 0, 0, 1], &ecc_public(), &[0, 2, 1]);
        let e = Tss2Key::parse(&private).unwrap().loadable().unwrap_err();
        assert_eq!(e.to_string(), "invalid length for TPMv2 PRIVATE blob");
        let keyed_hash = key(&[], &[0x40, 0, 0, 1], &tpm2b(&[0x00, 0x08]), &tpm2b(&[]));
        let e = Tss2Key::parse(&keyed_hash).unwrap().loadable().unwrap_err();
        assert!(e.to_string().starts_with("unsupported TPMv2 key type"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = key(
            &[&[0xa0, 0x03, 0x01, 0x01, 0x01]],
            &[0x40, 0, 0, 1],
            &ecc_public(),
            &tpm2b(&[1]),
        );
        for n in 0..good.len() {
            assert!(Tss2Key::parse(&good[..n]).is_err(), "prefix {n}");
        }
        // Fields out of order, repeated, or unknown.
        let twice = key(
            &[
                &[0xa0, 0x03, 0x01, 0x01, 0x01],
                &[0xa0, 0x03, 0x01, 0x01, 0x01],
            ],
            &[1],
            &[],
            &[],
        );
        assert!(Tss2Key::parse(&twice).is_err());
        let unknown = key(&[&tlv(0xa6, &[0x05, 0x00])], &[1], &[], &[]);
        assert!(Tss2Key::parse(&unknown).is_err());
        // A two-byte BOOLEAN, a negative or too-wide parent, a field after privkey.
        let long_bool = key(&[&[0xa0, 0x04, 0x01, 0x02, 0x01, 0x01]], &[1], &[], &[]);
        assert_eq!(Tss2Key::parse(&long_bool), Err(Tss2Error::Boolean));
        assert!(Tss2Key::parse(&key(&[], &[0x81], &[], &[])).is_err());
        assert_eq!(
            Tss2Key::parse(&key(&[], &[0x01, 0, 0, 0, 0], &[], &[])),
            Err(Tss2Error::ParentRange)
        );
        let mut extra = key(&[], &[1], &[], &[]);
        extra.extend_from_slice(&[0x05, 0x00]);
        let len = extra.len() - 2;
        extra[1] = len as u8;
        assert_eq!(Tss2Key::parse(&extra), Err(Tss2Error::TrailingField));
    }

    #[test]
    fn ecdsa_signatures_and_rsa_keys_encode_as_der() {
        let mut out = [0u8; 80];
        // A high bit gains a 0x00; leading zeros are dropped.
        let n = ecdsa_signature_der(&[0x00, 0x00, 0x80, 0x01], &[0x7f], &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f]
        );
        assert!(ecdsa_signature_der(&[0, 0], &[1], &mut out).is_err());
        let n = rsa_public_key_der(&[0xc1, 0x02], 0, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                0x30, 0x0a, 0x02, 0x03, 0x00, 0xc1, 0x02, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        assert!(rsa_public_key_der(&[0xc1; 100], 3, &mut [0u8; 50]).is_err());
    }
}
