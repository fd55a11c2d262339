//! Secrets typed on the terminal: PKCS#8 passwords, PKCS#11 PINs, TPM key
//! passwords. Read from the controlling terminal (`/dev/tty`) without echo,
//! never from stdin or stdout (an SDK owns those), at most three tries.
//!
//! `rpassword` does the terminal handling (termios) so this crate needs no
//! `unsafe` for it.

use std::fmt;

use zeroize::Zeroizing;

/// How many times a secret is asked for before giving up: tokens lock after
/// a few wrong PINs, so we never loop.
pub const MAX_TRIES: u32 = 3;

/// Why no usable secret was obtained.
#[derive(Debug)]
pub enum PromptError {
    /// There is no terminal to ask on (as under an SDK's credential_process).
    NoTerminal,
    /// Every try was refused.
    TooManyTries,
    /// The caller's check failed for a reason other than a wrong secret.
    Other(String),
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptError::NoTerminal => f.write_str("no terminal to prompt on"),
            PromptError::TooManyTries => write!(f, "giving up after {MAX_TRIES} tries"),
            PromptError::Other(e) => f.write_str(e),
        }
    }
}

/// The outcome of trying one secret.
pub enum Attempt<T> {
    /// It worked.
    Accepted(T),
    /// Wrong secret: ask again.
    Wrong,
    /// Another failure: stop asking.
    Failed(String),
}

/// Reads one secret from the terminal without echo. The prompt goes to the
/// terminal too, followed by a newline after the input.
pub fn read_secret(prompt: &str) -> Result<Zeroizing<String>, PromptError> {
    // rpassword opens /dev/tty itself; failing to open it means no terminal.
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|_| PromptError::NoTerminal)
}

/// Asks for a secret up to [`MAX_TRIES`] times: `first` the first time,
/// `retry` after a wrong one; `try_secret` says whether it worked.
pub fn prompt_until<T>(
    first: &str,
    retry: &str,
    mut try_secret: impl FnMut(&str) -> Attempt<T>,
) -> Result<T, PromptError> {
    let mut prompt = first;
    for _ in 0..MAX_TRIES {
        let secret = read_secret(prompt)?;
        match try_secret(&secret) {
            Attempt::Accepted(v) => return Ok(v),
            Attempt::Wrong => prompt = retry,
            Attempt::Failed(e) => return Err(PromptError::Other(e)),
        }
    }
    Err(PromptError::TooManyTries)
}
