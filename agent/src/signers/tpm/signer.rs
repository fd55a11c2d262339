//! The TPM signer: a key that never leaves the chip, behind core's
//! [`Signer`] trait.

use std::sync::Mutex;
use std::time::Duration;

use rolesanywhere_core::signer::{Digest, Signer};
use rolesanywhere_core::x509::{Certificate, KeyType};
use zeroize::Zeroizing;

use rolesanywhere_core::tpm::RcKind as Kind;

use super::connection::{Connection, KeyLocation, TpmError};
use super::device::Device;
use super::key_info::{self, KeyInfo};
use crate::prompt::{self, Attempt, PromptError};
use crate::signers::SignerError;

/// The original's prompts (spec 2.5).
const PROMPT: &str = "Please enter your TPM key password:";
const PROMPT_AGAIN: &str = "Incorrect TPM key password. Please try again:";

/// How often a busy TPM (`TPM_RC_RETRY`, `_YIELDED`, `_TESTING`) is asked again.
const BUSY_TRIES: u32 = 3;

/// Where the key's password comes from.
pub enum Password {
    /// The key has none (`--no-tpm-key-password`, or the file's emptyAuth).
    Empty,
    /// `--tpm-key-password`.
    Given(Zeroizing<String>),
    /// Ask on the terminal, checking each answer with a test signature.
    Prompt,
}

/// A TPM key: a persistent handle or a key file, with its password.
pub struct TpmSigner {
    device: Device,
    location: KeyLocation,
    /// `handle:0x81000001` or the key file's path, for messages.
    name: String,
    info: KeyInfo,
    password: Zeroizing<Vec<u8>>,
    /// One TPM operation at a time: `serve` signs from several threads, and
    /// raw `/dev/tpm0` and swtpm serve one connection at a time.
    lock: Mutex<()>,
}

impl TpmSigner {
    /// One line for `--debug`: where the key is and what it is (no secret).
    pub fn describe(&self) -> String {
        format!(
            "TPM {}: {} is a {} key{}",
            self.device.name,
            self.name,
            self.info.key_type.name(),
            if self.password.is_empty() {
                ", no password"
            } else {
                ", with a password"
            }
        )
    }
}

impl std::fmt::Debug for TpmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmSigner")
            .field("name", &self.name)
            .field("device", &self.device.name)
            .field("key_type", &self.info.key_type)
            .finish_non_exhaustive()
    }
}

impl TpmSigner {
    /// Opens the TPM, reaches the key (loading a key file under its parent,
    /// which proves the file belongs to this TPM), checks that it can sign,
    /// and settles its password (prompting if need be).
    pub fn open(
        device: Device,
        location: KeyLocation,
        name: String,
        password: Password,
    ) -> Result<Self, String> {
        let info = {
            let mut conn = Connection::open(&device).map_err(|e| e.to_string())?;
            let key = conn.key(&location, &name).map_err(|e| e.to_string())?;
            key_info::inspect(&key.public)?
            // The connection closes here, before any prompt: nothing holds
            // the TPM while a person types.
        };
        let mut signer = TpmSigner {
            device,
            location,
            name,
            info,
            password: Zeroizing::new(Vec::new()),
            lock: Mutex::new(()),
        };
        match password {
            Password::Empty => {}
            Password::Given(p) => signer.password = Zeroizing::new(p.as_bytes().to_vec()),
            Password::Prompt => {
                let pw = prompt::prompt_until(PROMPT, PROMPT_AGAIN, |typed| {
                    let typed = Zeroizing::new(typed.as_bytes().to_vec());
                    match signer.test_signature(&typed) {
                        Ok(()) => Attempt::Accepted(typed),
                        Err(e) if e.kind() == Kind::WrongPassword => Attempt::Wrong,
                        Err(e) => Attempt::Failed(e.to_string()),
                    }
                })
                .map_err(|e| match e {
                    PromptError::NoTerminal => "unable to read your TPM key password: no terminal to prompt on (use --tpm-key-password, or --no-tpm-key-password for a key without one)".to_owned(),
                    PromptError::TooManyTries => format!("incorrect TPM key password: {e}"),
                    PromptError::Other(e) => e,
                })?;
                signer.password = pw;
            }
        }
        Ok(signer)
    }

    /// Signs a fixed message to find out whether `password` is right.
    fn test_signature(&self, password: &[u8]) -> Result<(), TpmError> {
        let mut out = vec![0u8; self.info.max_signature_len()];
        self.sign_with(
            password,
            b"TPM key password check",
            Digest::Sha256,
            &mut out,
        )
        .map(|_| ())
    }

    /// One signature, retried while the TPM says it is busy.
    fn sign_with(
        &self,
        password: &[u8],
        message: &[u8],
        digest: Digest,
        out: &mut [u8],
    ) -> Result<usize, TpmError> {
        let plan = self.info.plan(message, digest).map_err(TpmError::msg)?;
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = (|| {
                let mut conn = Connection::open(&self.device)?;
                let key = conn.key(&self.location, &self.name)?;
                conn.sign(&key, password, &plan.digest, plan.scheme, plan.hash)
            })();
            match attempt {
                Ok(signature) => return self.info.encode(&signature, out).map_err(TpmError::msg),
                Err(e) if e.kind() == Kind::Busy && tries < BUSY_TRIES => {
                    std::thread::sleep(Duration::from_millis(50 << tries));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Signer for TpmSigner {
    type Error = SignerError;

    fn key_type(&self) -> KeyType {
        self.info.key_type
    }

    fn max_signature_len(&self) -> usize {
        self.info.max_signature_len()
    }

    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, SignerError> {
        self.sign_with(&self.password, message, digest, out)
            .map_err(|e| match e.kind() {
                // The original's string, but only for a wrong password (its
                // bug 15 said this for every failure).
                Kind::WrongPassword => {
                    SignerError(format!("{}: incorrect TPM key password ({e})", self.name))
                }
                _ => SignerError(format!("{}: {e}", self.name)),
            })
    }

    fn public_key_matches(&self, cert: &Certificate<'_>) -> Option<bool> {
        Some(
            cert.key_type() == Some(self.info.key_type)
                && cert.public_key() == self.info.public_key,
        )
    }

    fn encoded_public_key(&self, out: &mut [u8]) -> Option<usize> {
        let key = &self.info.public_key;
        out.get_mut(..key.len())?.copy_from_slice(key);
        Some(key.len())
    }
}
