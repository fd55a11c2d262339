//! Every key source behind core's [`Signer`] trait, as one object type the
//! commands can hold without knowing where the key lives.

pub mod file;
pub mod password;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
#[cfg(all(target_os = "linux", feature = "tpm"))]
pub mod tpm;

use std::fmt;

use rolesanywhere_core::signer::Signer;

/// Why a signer failed; one line, never key material.
#[derive(Debug)]
pub struct SignerError(pub String);

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SignerError {}

/// A signer of any kind, shareable across the threads of `serve`.
pub type BoxSigner = Box<dyn Signer<Error = SignerError> + Send + Sync>;
