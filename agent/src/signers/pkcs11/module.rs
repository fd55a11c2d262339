//! Loading a PKCS#11 module, naming its errors the way the original does,
//! and listing and matching its slots against a URI (spec 1.1-1.3).

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Info, Pkcs11};
use cryptoki::error::{Error as CkError, Rv, RvError};
use cryptoki::slot::{Slot, SlotInfo, TokenInfo};
use rolesanywhere_core::pkcs11_uri::{Pkcs11Uri, Value};

/// The module used when `--pkcs11-lib` is not given: p11-kit's proxy, which
/// exposes every module registered with p11-kit. A bare name, so the dynamic
/// loader's search rules find it, as with the original.
pub const DEFAULT_MODULE: &str = if cfg!(target_os = "macos") {
    "p11-kit-proxy.dylib"
} else if cfg!(windows) {
    "p11-kit-proxy.dll"
} else {
    "p11-kit-proxy.so"
};

/// Renders a cryptoki error as the original prints PKCS#11 errors:
/// `pkcs11: 0xA0: CKR_PIN_INCORRECT`.
pub fn ckr(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, _) => rv_text(*rv),
        other => other.to_string(),
    }
}

/// `pkcs11: 0x<HEX>: CKR_<NAME>` for one return value.
pub fn rv_text(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("pkcs11: 0x{code:X}: CKR_VENDOR_DEFINED"),
        RvError::UnknownErrorCode(code) => format!("pkcs11: 0x{code:X}: unknown error"),
        known => {
            // cryptoki maps codes to variants but not back; the standard
            // codes all sit below 0x300, so search them.
            let code = (0..0x300u32)
                .find(|&c| Rv::from(cryptoki_sys::CK_RV::from(c)) == Rv::Error(known))
                .unwrap_or_default();
            format!(
                "pkcs11: 0x{code:X}: CKR_{}",
                snake_upper(&format!("{known:?}"))
            )
        }
    }
}

/// `PinIncorrect` -> `PIN_INCORRECT`.
fn snake_upper(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The PKCS#11 return value inside a cryptoki error, if it is one.
pub fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// Loads and initialises the module at `lib` (a path, or a bare name for
/// the loader to search).
pub fn load(lib: &str) -> Result<Pkcs11, String> {
    let ctx = Pkcs11::new(lib).map_err(|e| match e {
        CkError::LibraryLoading(e) => {
            format!(
                "Failed to load provider library {lib}: {}",
                crate::error::one_line(&e.to_string())
            )
        }
        CkError::MissingSymbol(_) => format!(
            "Failed to load provider library {lib}: not a PKCS#11 module (no C_GetFunctionList)"
        ),
        other => format!("Failed to load provider library {lib}: {}", ckr(&other)),
    })?;
    initialize(&ctx).map_err(|e| format!("{lib}: C_Initialize failed ({})", ckr(&e)))?;
    Ok(ctx)
}

/// `C_Initialize` with OS locking (the signer is shared between threads);
/// a module that is already initialised (by us, earlier) is fine.
pub fn initialize(ctx: &Pkcs11) -> Result<(), CkError> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Err(e) if rv_of(&e) == Some(RvError::CryptokiAlreadyInitialized) => Ok(()),
        other => other,
    }
}

/// One slot with a token, as the module describes it.
#[derive(Debug, Clone)]
pub struct SlotDesc {
    /// The slot.
    pub slot: Slot,
    /// `C_GetSlotInfo`.
    pub info: SlotInfo,
    /// `C_GetTokenInfo`.
    pub token: TokenInfo,
}

impl SlotDesc {
    /// How messages name the token: its label and slot.
    pub fn name(&self) -> String {
        format!("token \"{}\" (slot {})", self.token.label(), self.slot.id())
    }
}

/// Every slot with a token present. Slots whose information cannot be read
/// are skipped, as the original does (logged with `--debug`).
pub fn slots(ctx: &Pkcs11, debug: bool) -> Result<Vec<SlotDesc>, CkError> {
    let mut out = Vec::new();
    for slot in ctx.get_slots_with_token()? {
        let info = match ctx.get_slot_info(slot) {
            Ok(i) => i,
            Err(e) => {
                debug_log(
                    debug,
                    format_args!(
                        "unable to get slot info for slot {} ({})",
                        slot.id(),
                        ckr(&e)
                    ),
                );
                continue;
            }
        };
        let token = match ctx.get_token_info(slot) {
            Ok(t) => t,
            Err(e) => {
                debug_log(
                    debug,
                    format_args!(
                        "unable to get token info for slot {} ({})",
                        slot.id(),
                        ckr(&e)
                    ),
                );
                continue;
            }
        };
        out.push(SlotDesc { slot, info, token });
    }
    Ok(out)
}

/// `--debug` output of the PKCS#11 code (never PINs).
pub fn debug_log(debug: bool, what: std::fmt::Arguments<'_>) {
    if debug {
        eprintln!("aws_signing_helper: debug: pkcs11: {what}");
    }
}

fn attr_is(uri: &Pkcs11Uri<'_>, name: &str, actual: &str) -> bool {
    uri.path_attr(name)
        .is_none_or(|v: Value<'_>| v.eq_bytes(actual.as_bytes()))
}

/// True when every token and slot attribute of `uri` holds for `slot`
/// (spec 1.3; `slot-id=0` selects slot 0).
pub fn slot_matches(uri: &Pkcs11Uri<'_>, s: &SlotDesc) -> bool {
    attr_is(uri, "token", s.token.label())
        && attr_is(uri, "manufacturer", s.token.manufacturer_id())
        && attr_is(uri, "model", s.token.model())
        && attr_is(uri, "serial", s.token.serial_number())
        && attr_is(uri, "slot-description", s.info.slot_description())
        && attr_is(uri, "slot-manufacturer", s.info.manufacturer_id())
        && uri.slot_id().is_none_or(|id| id == s.slot.id())
}

/// True when the `library-*` attributes of `uri` hold for the module (the
/// original ignores them; a URI that names another library must not match).
pub fn library_matches(uri: &Pkcs11Uri<'_>, info: &Info) -> bool {
    let version_ok = uri.path_attr("library-version").is_none_or(|v| {
        let text: String = v.bytes().map(char::from).collect();
        let (major, minor) = text.split_once('.').unwrap_or((&text, "0"));
        let v = info.library_version();
        major.parse::<u8>().ok() == Some(v.major()) && minor.parse::<u8>().ok() == Some(v.minor())
    });
    version_ok
        && attr_is(uri, "library-manufacturer", info.manufacturer_id())
        && attr_is(uri, "library-description", info.library_description())
}

/// The slots `uri` selects, or an error naming what is there instead.
pub fn matching_slots<'s>(
    ctx: &Pkcs11,
    uri: &Pkcs11Uri<'_>,
    all: &'s [SlotDesc],
) -> Result<Vec<&'s SlotDesc>, String> {
    let library_ok = match ctx.get_library_info() {
        Ok(info) => library_matches(uri, &info),
        Err(_) => {
            uri.path_attr("library-manufacturer").is_none()
                && uri.path_attr("library-description").is_none()
                && uri.path_attr("library-version").is_none()
        }
    };
    // An uninitialised token (SoftHSM keeps a free one) holds nothing and
    // refuses sessions.
    let found: Vec<&SlotDesc> = all
        .iter()
        .filter(|s| library_ok && s.token.token_initialized() && slot_matches(uri, s))
        .collect();
    if found.is_empty() {
        let present: Vec<String> = all
            .iter()
            .filter(|s| s.token.token_initialized())
            .map(|s| format!("\"{}\"", s.token.label()))
            .collect();
        return Err(if present.is_empty() {
            "no matching slots (no initialised token is present)".to_owned()
        } else {
            format!("no matching slots (tokens present: {})", present.join(", "))
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_the_original() {
        assert_eq!(
            rv_text(RvError::PinIncorrect),
            "pkcs11: 0xA0: CKR_PIN_INCORRECT"
        );
        assert_eq!(
            rv_text(RvError::SlotIdInvalid),
            "pkcs11: 0x3: CKR_SLOT_ID_INVALID"
        );
        assert_eq!(
            rv_text(RvError::UserAlreadyLoggedIn),
            "pkcs11: 0x100: CKR_USER_ALREADY_LOGGED_IN"
        );
        assert_eq!(
            rv_text(RvError::VendorDefined(0x8000_0001)),
            "pkcs11: 0x80000001: CKR_VENDOR_DEFINED"
        );
    }
}
