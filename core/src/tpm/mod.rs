//! TPM 2.0 commands a signer needs, marshalled and unmarshalled without a
//! heap: `TPM2_CreatePrimary`, `TPM2_Load`, `TPM2_ReadPublic`,
//! `TPM2_StartAuthSession`, `TPM2_Sign` and `TPM2_FlushContext` (TPM 2.0
//! Library, Part 3), the HMAC authorization of an unbound, unsalted session
//! (Part 1, 19.6), public areas (Part 2, 12.2) and response codes (Part 2, 6.6).
//!
//! The bytes go to the TPM through whatever the host has (a `/dev/tpmrm0`
//! file, a simulator socket, an SPI driver on a board); this module never
//! does I/O. That is how the original helper reaches its TPM too (go-tpm
//! writes command frames to the device), and it keeps libtss2 and the
//! libcrypto it loads out of every process that does not use a TPM key.

mod command;
mod public;
mod rc;
mod session;
pub mod wire;

pub use command::{
    AuthCommand, AuthResponse, CONTINUE_SESSION, Parsed, Response, Signature, create_primary,
    flush_context, load, load_response, read_public, read_public_response, sign, sign_parameters,
    start_auth_session, start_auth_session_response,
};
pub use public::{
    ATTR_DECRYPT, ATTR_RESTRICTED, ATTR_SIGN, EccPublic, KeyParameters, PublicArea, RsaPublic,
    ecc_srk_template, rsa_srk_template,
};
pub use rc::{RcKind, ResponseCode};
pub use session::{HmacSession, NONCE_LEN};

use core::fmt;

/// `TPM_ST_NO_SESSIONS`: a command or response without an authorization area.
pub const TPM_ST_NO_SESSIONS: u16 = 0x8001;
/// `TPM_ST_SESSIONS`: a command or response with one.
pub const TPM_ST_SESSIONS: u16 = 0x8002;
/// `TPM_ST_HASHCHECK`: the tag of a hashcheck ticket.
pub const TPM_ST_HASHCHECK: u16 = 0x8024;

/// `TPM_CC_CreatePrimary`.
pub const TPM_CC_CREATE_PRIMARY: u32 = 0x0000_0131;
/// `TPM_CC_Load`.
pub const TPM_CC_LOAD: u32 = 0x0000_0157;
/// `TPM_CC_Sign`.
pub const TPM_CC_SIGN: u32 = 0x0000_015D;
/// `TPM_CC_FlushContext`.
pub const TPM_CC_FLUSH_CONTEXT: u32 = 0x0000_0165;
/// `TPM_CC_ReadPublic`.
pub const TPM_CC_READ_PUBLIC: u32 = 0x0000_0173;
/// `TPM_CC_StartAuthSession`.
pub const TPM_CC_START_AUTH_SESSION: u32 = 0x0000_0176;

/// `TPM_RS_PW`: the password "session" (the authValue sent in clear).
pub const TPM_RS_PW: u32 = 0x4000_0009;
/// `TPM_RH_NULL`.
pub const TPM_RH_NULL: u32 = 0x4000_0007;

/// `TPM_ALG_RSA`.
pub const TPM_ALG_RSA: u16 = 0x0001;
/// `TPM_ALG_SHA1`.
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// `TPM_ALG_AES`.
pub const TPM_ALG_AES: u16 = 0x0006;
/// `TPM_ALG_SHA256`.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// `TPM_ALG_SHA384`.
pub const TPM_ALG_SHA384: u16 = 0x000C;
/// `TPM_ALG_SHA512`.
pub const TPM_ALG_SHA512: u16 = 0x000D;
/// `TPM_ALG_NULL`.
pub const TPM_ALG_NULL: u16 = 0x0010;
/// `TPM_ALG_RSASSA` (PKCS#1 v1.5 signatures).
pub const TPM_ALG_RSASSA: u16 = 0x0014;
/// `TPM_ALG_ECDSA`.
pub const TPM_ALG_ECDSA: u16 = 0x0018;
/// `TPM_ALG_ECDAA` (its scheme carries a count after the hash).
pub const TPM_ALG_ECDAA: u16 = 0x001A;
/// `TPM_ALG_ECC`.
pub const TPM_ALG_ECC: u16 = 0x0023;
/// `TPM_ALG_CFB`.
pub const TPM_ALG_CFB: u16 = 0x0043;

/// `TPM_ECC_NIST_P256`.
pub const TPM_ECC_NIST_P256: u16 = 0x0003;
/// `TPM_ECC_NIST_P384`.
pub const TPM_ECC_NIST_P384: u16 = 0x0004;

/// The largest command or response frame this module builds or accepts
/// (`TPM_PT_MAX_COMMAND_SIZE` is 4096 on every TPM we know).
pub const MAX_FRAME: usize = 4096;

/// The TPM name of a hash algorithm, for messages.
pub fn hash_name(alg: u16) -> &'static str {
    match alg {
        TPM_ALG_SHA1 => "SHA1",
        TPM_ALG_SHA256 => "SHA256",
        TPM_ALG_SHA384 => "SHA384",
        TPM_ALG_SHA512 => "SHA512",
        0x0012 => "SM3_256",
        0x0027 => "SHA3_256",
        0x0028 => "SHA3_384",
        0x0029 => "SHA3_512",
        TPM_ALG_NULL => "NULL",
        _ => "an unknown hash",
    }
}

/// The digest length of a hash algorithm.
pub fn hash_len(alg: u16) -> Option<usize> {
    match alg {
        TPM_ALG_SHA1 => Some(20),
        TPM_ALG_SHA256 | 0x0012 | 0x0027 => Some(32),
        TPM_ALG_SHA384 | 0x0028 => Some(48),
        TPM_ALG_SHA512 | 0x0029 => Some(64),
        _ => None,
    }
}

/// Why a frame could not be built or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The output buffer is too small for the command.
    BufferTooSmall,
    /// A value is longer than a `TPM2B` can say.
    TooLong,
    /// The bytes end inside a field.
    Truncated,
    /// Bytes follow the end of a structure.
    TrailingBytes,
    /// The response's size field is not its length.
    SizeMismatch,
    /// The response's tag is neither `TPM_ST_SESSIONS` nor `TPM_ST_NO_SESSIONS`,
    /// or not the one the command asked for.
    BadTag(u16),
    /// A structure names an algorithm or selector this module does not know.
    UnknownSelector(u16),
    /// A session nonce is not between 16 and 32 bytes.
    NonceLength,
    /// The response's HMAC does not match: the TPM's answer was altered, or
    /// it did not come from the TPM the session was started with.
    ResponseHmac,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall => f.write_str("the TPM command does not fit its buffer"),
            Error::TooLong => f.write_str("a TPM2B value is longer than 65535 bytes"),
            Error::Truncated => f.write_str("the TPM response ends inside a field"),
            Error::TrailingBytes => f.write_str("the TPM response has bytes after its last field"),
            Error::SizeMismatch => f.write_str("the TPM response's size field is not its length"),
            Error::BadTag(t) => write!(f, "the TPM response has the unexpected tag 0x{t:04x}"),
            Error::UnknownSelector(s) => {
                write!(f, "the TPM structure has the unknown algorithm 0x{s:04x}")
            }
            Error::NonceLength => f.write_str("a session nonce must be 16 to 32 bytes"),
            Error::ResponseHmac => f.write_str(
                "the TPM response's HMAC does not verify (altered in transit, or another TPM)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
