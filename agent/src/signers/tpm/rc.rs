//! TSS2 response codes as one readable line: which layer failed (the TPM,
//! the ESAPI library, the transport) and the TPM 2.0 name of the code, so an
//! operator can tell a wrong password from a missing key or a dead socket.
//!
//! tss-esapi 7's own `Display` looks at the low bits only and ignores the
//! layer, so a transport error can print as an unrelated TPM error; this
//! module decodes the raw code instead (TPM 2.0 Part 2, 6.6; TSS2 RC layers
//! from `tss2_common.h`).

use std::fmt;

use tss_esapi::Error as TssError;
use tss_esapi::constants::response_code::Tss2ResponseCode;

/// The layer field of a TSS2 response code (bits 16..24).
const LAYER_TPM: u32 = 0;
const LAYER_ESAPI: u32 = 7;
const LAYER_SYS: u32 = 8;
const LAYER_MU: u32 = 9;
const LAYER_TCTI: u32 = 10;
const LAYER_RESMGR: u32 = 11;
const LAYER_RESMGR_TPM: u32 = 12;

/// What a failed TPM call means to the signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `TPM_RC_BAD_AUTH` / `TPM_RC_AUTH_FAIL`: the key's password is wrong.
    WrongPassword,
    /// `TPM_RC_LOCKOUT`: dictionary-attack lockout; retrying makes it worse.
    Lockout,
    /// `TPM_RC_RETRY`, `_YIELDED`, `_TESTING`, or the transport's "try
    /// again": the TPM is busy; the same command may work in a moment.
    Busy,
    /// Anything else.
    Other,
}

/// A TSS2 response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseCode(pub u32);

impl ResponseCode {
    /// The raw code of a tss-esapi error, or `None` for errors of the Rust
    /// wrapper itself (those carry no code).
    pub fn of(e: &TssError) -> Option<Self> {
        match e {
            TssError::Tss2Error(Tss2ResponseCode::FormatZero(rc)) => Some(ResponseCode(rc.0)),
            TssError::Tss2Error(Tss2ResponseCode::FormatOne(rc)) => Some(ResponseCode(rc.0)),
            TssError::Tss2Error(Tss2ResponseCode::Success) | TssError::WrapperError(_) => None,
        }
    }

    fn layer(self) -> u32 {
        (self.0 >> 16) & 0xff
    }

    /// The TPM's own code with the handle/session/parameter number removed
    /// (TPM layers only): `TPM_RC_BAD_AUTH` is 0x0A2 whichever session it is.
    fn tpm_code(self) -> Option<u32> {
        if !matches!(self.layer(), LAYER_TPM | LAYER_RESMGR_TPM) {
            return None;
        }
        let rc = self.0 & 0xffff;
        if rc & 0x080 != 0 {
            // Format one: error number in bits 0..6, plus RC_FMT1.
            Some(0x080 | (rc & 0x03f))
        } else {
            // Format zero: keep version, severity (warning) and the number.
            Some(rc & 0x97f)
        }
    }

    /// What the code means for the signer.
    pub fn kind(self) -> Kind {
        match self.tpm_code() {
            Some(0x0a2 | 0x08e) => Kind::WrongPassword,
            Some(0x921) => Kind::Lockout,
            Some(0x922 | 0x908 | 0x90a) => Kind::Busy,
            Some(_) => Kind::Other,
            None if self.layer() != LAYER_TPM && self.0 & 0xffff == 9 => Kind::Busy,
            None => Kind::Other,
        }
    }

    /// The code as a TPM 2.0 constant name, when it is a TPM code.
    pub fn tpm_name(self) -> Option<&'static str> {
        Some(match self.tpm_code()? {
            0x100 => "TPM_RC_INITIALIZE",
            0x101 => "TPM_RC_FAILURE",
            0x124 => "TPM_RC_AUTH_MISSING",
            0x126 => "TPM_RC_POLICY",
            0x128 => "TPM_RC_PCR_CHANGED",
            0x12f => "TPM_RC_AUTH_UNAVAILABLE",
            0x130 => "TPM_RC_REBOOT",
            0x143 => "TPM_RC_COMMAND_CODE",
            0x150 => "TPM_RC_NV_RANGE",
            0x164 => "TPM_RC_BAD_CONTEXT",
            0x081 => "TPM_RC_ASYMMETRIC",
            0x082 => "TPM_RC_ATTRIBUTES",
            0x083 => "TPM_RC_HASH",
            0x084 => "TPM_RC_VALUE",
            0x085 => "TPM_RC_HIERARCHY",
            0x087 => "TPM_RC_KEY_SIZE",
            0x089 => "TPM_RC_MODE",
            0x08a => "TPM_RC_TYPE",
            0x08b => "TPM_RC_HANDLE",
            0x08c => "TPM_RC_KDF",
            0x08d => "TPM_RC_RANGE",
            0x08e => "TPM_RC_AUTH_FAIL",
            0x08f => "TPM_RC_NONCE",
            0x092 => "TPM_RC_SCHEME",
            0x095 => "TPM_RC_SIZE",
            0x096 => "TPM_RC_SYMMETRIC",
            0x097 => "TPM_RC_TAG",
            0x098 => "TPM_RC_SELECTOR",
            0x09a => "TPM_RC_INSUFFICIENT",
            0x09b => "TPM_RC_SIGNATURE",
            0x09c => "TPM_RC_KEY",
            0x09d => "TPM_RC_POLICY_FAIL",
            0x09f => "TPM_RC_INTEGRITY",
            0x0a0 => "TPM_RC_TICKET",
            0x0a2 => "TPM_RC_BAD_AUTH",
            0x0a3 => "TPM_RC_EXPIRED",
            0x0a6 => "TPM_RC_CURVE",
            0x0a7 => "TPM_RC_ECC_POINT",
            0x901 => "TPM_RC_CONTEXT_GAP",
            0x902 => "TPM_RC_OBJECT_MEMORY",
            0x903 => "TPM_RC_SESSION_MEMORY",
            0x904 => "TPM_RC_MEMORY",
            0x905 => "TPM_RC_SESSION_HANDLES",
            0x906 => "TPM_RC_OBJECT_HANDLES",
            0x907 => "TPM_RC_LOCALITY",
            0x908 => "TPM_RC_YIELDED",
            0x909 => "TPM_RC_CANCELED",
            0x90a => "TPM_RC_TESTING",
            0x920 => "TPM_RC_NV_RATE",
            0x921 => "TPM_RC_LOCKOUT",
            0x922 => "TPM_RC_RETRY",
            0x923 => "TPM_RC_NV_UNAVAILABLE",
            _ => return None,
        })
    }

    /// A short explanation of the TPM codes an operator is likely to meet.
    fn hint(self) -> Option<&'static str> {
        Some(match self.tpm_code()? {
            0x0a2 | 0x08e => "wrong key password",
            0x921 => "the TPM is in dictionary-attack lockout; wait or reset the lockout",
            0x08b => "no such object in the TPM",
            0x09f => "the key was not made by this TPM or under this parent",
            0x092 => "the key does not allow this signature scheme",
            0x082 => "the key's attributes do not allow this use",
            0x902 | 0x906 => "the TPM is out of object slots (transient objects were leaked)",
            0x922 | 0x908 | 0x90a => "the TPM is busy",
            0x101 => "the TPM is in failure mode",
            0x100 => "the TPM has not been started up",
            _ => return None,
        })
    }

    /// The TSS library's name for a code of its own layers (`tss2_common.h`).
    fn tss_name(self) -> &'static str {
        match self.0 & 0xffff {
            1 => "general failure",
            2 => "not implemented",
            3 => "bad context",
            4 => "ABI mismatch",
            5 => "bad reference",
            6 => "insufficient buffer",
            7 => "bad sequence",
            8 => "no connection",
            9 => "try again",
            10 => "I/O error",
            11 => "bad value",
            12 => "not permitted",
            13 => "invalid sessions",
            16 => "bad size",
            17 => "malformed response",
            18 => "insufficient context",
            19 => "insufficient response",
            20 => "incompatible TCTI",
            21 => "not supported",
            22 => "bad TCTI structure",
            23 => "out of memory",
            24 => "bad ESYS_TR",
            27 => "response authorization check failed",
            _ => "error",
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layer = self.layer();
        if matches!(layer, LAYER_TPM | LAYER_RESMGR_TPM) {
            match (self.tpm_name(), self.hint()) {
                (Some(name), Some(hint)) => write!(f, "{hint} ({name}, 0x{:x})", self.0),
                (Some(name), None) => write!(f, "{name} (0x{:x})", self.0),
                (None, _) => write!(f, "TPM error 0x{:x}", self.0),
            }
        } else {
            let who = match layer {
                LAYER_ESAPI => "ESAPI",
                LAYER_SYS => "SAPI",
                LAYER_MU => "marshalling",
                LAYER_TCTI => "TPM transport (TCTI)",
                LAYER_RESMGR => "resource manager",
                _ => "TSS",
            };
            write!(f, "{who}: {} (0x{:x})", self.tss_name(), self.0)
        }
    }
}

/// One line for any tss-esapi error.
pub fn describe(e: &TssError) -> String {
    match ResponseCode::of(e) {
        Some(rc) => rc.to_string(),
        None => format!("tss-esapi: {e}"),
    }
}

/// What a tss-esapi error means for the signer.
pub fn kind(e: &TssError) -> Kind {
    ResponseCode::of(e).map_or(Kind::Other, ResponseCode::kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_passwords_are_recognised_in_any_session() {
        // BAD_AUTH (noDA keys) and AUTH_FAIL (DA keys), session 1 and 2.
        for rc in [0x9a2, 0xaa2, 0x98e, 0xa8e] {
            assert_eq!(ResponseCode(rc).kind(), Kind::WrongPassword, "{rc:x}");
        }
        assert_eq!(ResponseCode(0x921).kind(), Kind::Lockout);
        assert_eq!(ResponseCode(0x922).kind(), Kind::Busy);
        // The transport's TRY_AGAIN, not a TPM code.
        assert_eq!(ResponseCode(0xa0009).kind(), Kind::Busy);
        // A bad handle is not a password problem.
        assert_eq!(ResponseCode(0x18b).kind(), Kind::Other);
    }

    #[test]
    fn codes_print_with_their_layer_and_name() {
        assert_eq!(
            ResponseCode(0x9a2).to_string(),
            "wrong key password (TPM_RC_BAD_AUTH, 0x9a2)"
        );
        assert_eq!(
            ResponseCode(0x18b).to_string(),
            "no such object in the TPM (TPM_RC_HANDLE, 0x18b)"
        );
        assert_eq!(
            ResponseCode(0x1df).to_string(),
            "the key was not made by this TPM or under this parent (TPM_RC_INTEGRITY, 0x1df)"
        );
        assert_eq!(
            ResponseCode(0xa000a).to_string(),
            "TPM transport (TCTI): I/O error (0xa000a)"
        );
        // A TCTI code whose low bits look like a TPM code is not one.
        assert_eq!(ResponseCode(0xa0008).kind(), Kind::Other);
        assert_eq!(
            ResponseCode(0x7001b).to_string(),
            "ESAPI: response authorization check failed (0x7001b)"
        );
    }
}
