//! TPM 2.0 response codes (Part 2, 6.6) as one readable line, so an operator
//! can tell a wrong password from a missing key or a busy chip.

use core::fmt;

/// What a failed command means to a signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcKind {
    /// `TPM_RC_BAD_AUTH` / `TPM_RC_AUTH_FAIL`: the key's password is wrong.
    WrongPassword,
    /// `TPM_RC_LOCKOUT`: dictionary-attack lockout; retrying makes it worse.
    Lockout,
    /// `TPM_RC_RETRY`, `_YIELDED`, `_TESTING`: the TPM is busy; the same
    /// command may work in a moment.
    Busy,
    /// Anything else.
    Other,
}

/// A non-zero `TPM_RC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseCode(pub u32);

impl ResponseCode {
    /// The code with the handle/session/parameter number removed:
    /// `TPM_RC_BAD_AUTH` is 0x0A2 whichever session it is. `None` for codes
    /// outside the TPM's own range (a TSS layer above bit 16).
    fn tpm_code(self) -> Option<u32> {
        if self.0 >> 16 != 0 {
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

    /// What the code means for a signer.
    pub fn kind(self) -> RcKind {
        match self.tpm_code() {
            Some(0x0a2 | 0x08e) => RcKind::WrongPassword,
            Some(0x921) => RcKind::Lockout,
            Some(0x922 | 0x908 | 0x90a) => RcKind::Busy,
            _ => RcKind::Other,
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
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.tpm_name(), self.hint()) {
            (Some(name), Some(hint)) => write!(f, "{hint} ({name}, 0x{:x})", self.0),
            (Some(name), None) => write!(f, "{name} (0x{:x})", self.0),
            (None, _) => write!(f, "TPM error 0x{:x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn wrong_passwords_are_recognised_in_any_session() {
        // BAD_AUTH (noDA keys) and AUTH_FAIL (DA keys), session 1 and 2.
        for rc in [0x9a2, 0xaa2, 0x98e, 0xa8e] {
            assert_eq!(ResponseCode(rc).kind(), RcKind::WrongPassword, "{rc:x}");
        }
        assert_eq!(ResponseCode(0x921).kind(), RcKind::Lockout);
        assert_eq!(ResponseCode(0x922).kind(), RcKind::Busy);
        // A bad handle is not a password problem.
        assert_eq!(ResponseCode(0x18b).kind(), RcKind::Other);
        // A TSS layer's code whose low bits look like a TPM code is not one.
        assert_eq!(ResponseCode(0xa0922).kind(), RcKind::Other);
    }

    #[test]
    fn codes_print_with_their_name_and_hint() {
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
            ResponseCode(0x143).to_string(),
            "TPM_RC_COMMAND_CODE (0x143)"
        );
        assert_eq!(ResponseCode(0xa000a).to_string(), "TPM error 0xa000a");
    }
}
