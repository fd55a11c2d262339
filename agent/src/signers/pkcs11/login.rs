//! PINs: where they come from (the URI, a `pin-source` file, the terminal),
//! the user login, and the context-specific login that keys with
//! `CKA_ALWAYS_AUTHENTICATE` need before every signature (spec 1.7).
//!
//! Differences from the original on purpose: at most three tries at the
//! terminal (tokens lock), a clear error without a terminal, no login on
//! tokens that do not require one, `CKR_USER_ALREADY_LOGGED_IN` is success,
//! and every PIN is zeroized.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::TokenInfo;
use cryptoki::types::RawAuthPin;
use rolesanywhere_core::pkcs11_uri::Pkcs11Uri;
use zeroize::Zeroizing;

use super::module::{ckr, debug_log, rv_of};
use crate::prompt::{Attempt, PromptError, prompt_until};

/// A PIN, wiped from memory when dropped.
pub type Pin = Zeroizing<Vec<u8>>;

fn auth(pin: &[u8]) -> RawAuthPin {
    RawAuthPin::new(Box::new(pin.to_vec()))
}

/// The user PIN a URI carries: `pin-value`, or the contents of a
/// `pin-source` file (`file:/path` or `/path`; one trailing newline is
/// dropped). `what` names the URI in errors.
pub fn uri_pin(uri: &Pkcs11Uri<'_>, what: &str) -> Result<Option<Pin>, String> {
    if let Some(v) = uri.pin_value() {
        return Ok(Some(Zeroizing::new(v.to_vec())));
    }
    let Some(source) = uri.query_attr("pin-source") else {
        return Ok(None);
    };
    let source = String::from_utf8(source.to_vec())
        .map_err(|_| format!("{what}: pin-source is not UTF-8"))?;
    let path = source.strip_prefix("file:").unwrap_or(&source);
    // file:///path and file:/path both name /path.
    let path = path.strip_prefix("//").unwrap_or(path);
    if !path.starts_with('/') {
        return Err(format!(
            "{what}: pin-source must be a file: URI or an absolute path"
        ));
    }
    let mut data =
        Zeroizing::new(std::fs::read(path).map_err(|e| format!("{what}: pin-source {path}: {e}"))?);
    if data.ends_with(b"\n") {
        data.pop();
        if data.ends_with(b"\r") {
            data.pop();
        }
    }
    Ok(Some(data))
}

/// Logs the user in on `session` when the token asks for it. With no PIN
/// known, asks on the terminal (at most three tries); a PIN typed there is
/// returned so a lost session can log in again without asking.
pub fn login_user(
    session: &Session,
    token: &TokenInfo,
    pin: &mut Option<Pin>,
    debug: bool,
) -> Result<(), String> {
    if !token.login_required() {
        debug_log(
            debug,
            format_args!("token \"{}\" needs no login", token.label()),
        );
        return Ok(());
    }
    let login = |secret: Option<&[u8]>| -> Result<(), CkError> {
        let result = match secret {
            Some(p) => session.login_with_raw(UserType::User, &auth(p)),
            // A PIN pad or biometric reader: the token asks by itself.
            None => session.login(UserType::User, None),
        };
        match result {
            Err(e) if rv_of(&e) == Some(RvError::UserAlreadyLoggedIn) => Ok(()),
            other => other,
        }
    };
    if let Some(p) = pin.as_ref() {
        return login(Some(p)).map_err(|e| format!("user authentication failed ({})", ckr(&e)));
    }
    if token.protected_authentication_path() {
        return login(None).map_err(|e| format!("user authentication failed ({})", ckr(&e)));
    }
    let typed = prompt_until(
        "Please enter your user PIN:",
        "Incorrect user PIN. Please re-enter your user PIN:",
        |secret| match login(Some(secret.as_bytes())) {
            Ok(()) => Attempt::Accepted(Zeroizing::new(secret.as_bytes().to_vec())),
            Err(e) if rv_of(&e) == Some(RvError::PinIncorrect) => Attempt::Wrong,
            Err(e) => Attempt::Failed(format!("user authentication failed ({})", ckr(&e))),
        },
    )
    .map_err(|e| match e {
        PromptError::NoTerminal => "unable to read PKCS#11 user PIN: no terminal to prompt on \
             (give it as ?pin-value= or ?pin-source= in the URI)"
            .to_owned(),
        PromptError::TooManyTries => format!("user authentication failed: {e}"),
        PromptError::Other(e) => e,
    })?;
    *pin = Some(typed);
    Ok(())
}

/// What the context-specific login may try before asking.
pub struct ContextPins<'a> {
    /// The PIN that worked last time for this key.
    pub remembered: &'a mut Option<Pin>,
    /// The user PIN, when `--reuse-pin` allows trying it.
    pub user: Option<&'a [u8]>,
    /// The key's URI, for the prompt.
    pub key_uri: &'a str,
    /// `--debug`.
    pub debug: bool,
}

/// `C_Login(CKU_CONTEXT_SPECIFIC)` right after `C_SignInit`: the remembered
/// PIN, then the user PIN with `--reuse-pin`, then the terminal.
pub fn login_context(session: &Session, pins: ContextPins<'_>) -> Result<(), String> {
    let login = |p: &[u8]| session.login_with_raw(UserType::ContextSpecific, &auth(p));
    let candidates: Vec<Pin> = [pins.remembered.as_ref().map(|p| p.as_slice()), pins.user]
        .into_iter()
        .flatten()
        .map(|p| Zeroizing::new(p.to_vec()))
        .collect();
    for candidate in candidates {
        match login(&candidate) {
            Ok(()) => {
                *pins.remembered = Some(candidate);
                return Ok(());
            }
            Err(e) => debug_log(
                pins.debug,
                format_args!("user re-authentication attempt failed ({})", ckr(&e)),
            ),
        }
    }
    let name = format!(
        "context-specific PIN for private key object ({})",
        pins.key_uri
    );
    let typed = prompt_until(
        &format!("Please enter your {name}:"),
        &format!("Incorrect {name}. Please re-enter your {name}:"),
        |secret| match login(secret.as_bytes()) {
            Ok(()) => Attempt::Accepted(Zeroizing::new(secret.as_bytes().to_vec())),
            Err(e) if rv_of(&e) == Some(RvError::PinIncorrect) => Attempt::Wrong,
            Err(e) => Attempt::Failed(format!("user re-authentication failed ({})", ckr(&e))),
        },
    )
    .map_err(|e| match e {
        PromptError::NoTerminal => format!(
            "unable to read PKCS#11 {name}: no terminal to prompt on \
             (--reuse-pin tries the user PIN first)"
        ),
        PromptError::TooManyTries => format!("user re-authentication failed: {e}"),
        PromptError::Other(e) => e,
    })?;
    *pins.remembered = Some(typed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_from_value_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pin");
        std::fs::write(&file, b"12 34\r\n").unwrap();
        let text = format!("pkcs11:token=a?pin-source=file:{}", file.display());
        let uri = Pkcs11Uri::parse(&text).unwrap();
        assert_eq!(uri_pin(&uri, "x").unwrap().unwrap().as_slice(), b"12 34");
        let text = format!("pkcs11:token=a?pin-source={}", file.display());
        let uri = Pkcs11Uri::parse(&text).unwrap();
        assert_eq!(uri_pin(&uri, "x").unwrap().unwrap().as_slice(), b"12 34");
        let uri = Pkcs11Uri::parse("pkcs11:token=a?pin-value=%31%32").unwrap();
        assert_eq!(uri_pin(&uri, "x").unwrap().unwrap().as_slice(), b"12");
        let uri = Pkcs11Uri::parse("pkcs11:token=a").unwrap();
        assert!(uri_pin(&uri, "x").unwrap().is_none());
        let uri = Pkcs11Uri::parse("pkcs11:?pin-source=relative").unwrap();
        assert!(uri_pin(&uri, "x").unwrap_err().contains("absolute path"));
        let uri = Pkcs11Uri::parse("pkcs11:?pin-source=/nonexistent/pin").unwrap();
        assert!(uri_pin(&uri, "x").unwrap_err().contains("/nonexistent/pin"));
    }
}
