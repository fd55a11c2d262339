//! Password-protected key files: encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`)
//! and PKCS#12 bundles, with the password from `--pkcs8-password` or typed
//! on the terminal.
//!
//! The original uses `--pkcs8-password` for PKCS#8 only and opens PKCS#12
//! files with the empty password alone (it cannot open a protected bundle).
//! We keep its behaviour for what it could open and go further: a PKCS#12
//! bundle opens with `--pkcs8-password` (the one password flag a file key
//! has) or, failing that, the empty password (so the original's files need
//! nothing new); with no flag, the empty password, then the terminal.
//!
//! Prompts go to `/dev/tty` (never stdin/stdout, which an SDK owns), at most
//! three tries (`prompt::prompt_until`). With no terminal, as under an SDK's
//! `credential_process`, the error says which flag to pass. Passwords are
//! `Zeroizing` and appear in no message and no `--debug` line.

use rolesanywhere_core::key::KeyError;
use rolesanywhere_core::key::PrivateKey;
use rolesanywhere_core::key::encrypted::{EncryptedKeyError, KdfLimits};
use rolesanywhere_core::pkcs12::{Pkcs12Error, Pkcs12Identity};

use crate::error::Error;
use crate::prompt::{Attempt, PromptError, prompt_until};

/// The original's PKCS#8 prompt (sic: "PKC8").
pub const PKCS8_PROMPT: &str = "Please enter your PKC8 private key password:";
/// The original's PKCS#8 retry prompt.
pub const PKCS8_RETRY: &str = "Incorrect PKCS#8 private key password. Please try again:";
/// Our PKCS#12 prompt (the original never asks).
pub const PKCS12_PROMPT: &str = "Please enter your PKCS#12 password:";
/// Our PKCS#12 retry prompt.
pub const PKCS12_RETRY: &str = "Incorrect PKCS#12 password. Please try again:";

/// The caps on key-derivation work a file may ask for.
const LIMITS: KdfLimits = KdfLimits::DEFAULT;

/// The password flag's value, if one was given (empty counts as none).
fn given(password: Option<&str>) -> Option<&str> {
    password.filter(|p| !p.is_empty())
}

/// Decrypts an `EncryptedPrivateKeyInfo` read from `flag`'s `path`.
pub fn decrypt_pkcs8(
    flag: &'static str,
    path: &str,
    der: &[u8],
    password: Option<&str>,
) -> Result<PrivateKey, Error> {
    let attempt = |pw: &str| PrivateKey::from_encrypted_der(der, pw.as_bytes(), &LIMITS);
    let is_wrong = |e: &KeyError| matches!(e, KeyError::Decrypt(EncryptedKeyError::WrongPassword));
    if let Some(pw) = given(password) {
        return attempt(pw).map_err(|e| {
            if is_wrong(&e) {
                Error::file(
                    flag,
                    path,
                    "incorrect PKCS#8 private key password (from --pkcs8-password)",
                )
            } else {
                Error::file(flag, path, e)
            }
        });
    }
    prompt_until(PKCS8_PROMPT, PKCS8_RETRY, |pw| match attempt(pw) {
        Ok(key) => Attempt::Accepted(key),
        Err(e) if is_wrong(&e) => Attempt::Wrong,
        Err(e) => Attempt::Failed(e.to_string()),
    })
    .map_err(|e| match e {
        PromptError::NoTerminal => Error::file(
            flag,
            path,
            "the private key is encrypted and there is no terminal to ask for its password on \
             (unable to read your PKCS#8 private key password): pass it with --pkcs8-password",
        ),
        PromptError::TooManyTries => Error::file(
            flag,
            path,
            format!(
                "incorrect PKCS#8 private key password ({} tries)",
                crate::prompt::MAX_TRIES
            ),
        ),
        PromptError::Other(why) => Error::file(flag, path, why),
    })
}

/// Opens a PKCS#12 bundle: `--pkcs8-password` (or, if that is wrong, the
/// empty password); with no flag, the empty password, then the terminal.
pub fn open_pkcs12(
    flag: &'static str,
    path: &str,
    der: &[u8],
    password: Option<&str>,
) -> Result<Pkcs12Identity, Error> {
    let describe = |e: Pkcs12Error| match e {
        Pkcs12Error::Malformed("PFX") => Error::file(
            flag,
            path,
            "could not parse the file as a certificate (PEM or DER) or as a PKCS#12 bundle",
        ),
        other => Error::file(flag, path, other),
    };
    if let Some(pw) = given(password) {
        return match Pkcs12Identity::from_der(der, pw, &LIMITS) {
            // An unprotected bundle opens whatever password was passed, as
            // an unencrypted key file does.
            Err(Pkcs12Error::WrongPassword) => {
                Pkcs12Identity::from_der(der, "", &LIMITS).map_err(|e| match e {
                    Pkcs12Error::WrongPassword => Error::file(
                        flag,
                        path,
                        "incorrect PKCS#12 password (from --pkcs8-password)",
                    ),
                    other => describe(other),
                })
            }
            other => other.map_err(describe),
        };
    }
    match Pkcs12Identity::from_der(der, "", &LIMITS) {
        Err(Pkcs12Error::WrongPassword) => {}
        other => return other.map_err(describe),
    }
    prompt_until(
        PKCS12_PROMPT,
        PKCS12_RETRY,
        |pw| match Pkcs12Identity::from_der(der, pw, &LIMITS) {
            Ok(id) => Attempt::Accepted(id),
            Err(Pkcs12Error::WrongPassword) => Attempt::Wrong,
            Err(e) => Attempt::Failed(e.to_string()),
        },
    )
    .map_err(|e| match e {
        PromptError::NoTerminal => Error::file(
            flag,
            path,
            "the PKCS#12 file is password-protected and there is no terminal to ask for the \
             password on: pass it with --pkcs8-password",
        ),
        PromptError::TooManyTries => Error::file(
            flag,
            path,
            format!(
                "incorrect PKCS#12 password ({} tries)",
                crate::prompt::MAX_TRIES
            ),
        ),
        PromptError::Other(why) => Error::file(flag, path, why),
    })
}
