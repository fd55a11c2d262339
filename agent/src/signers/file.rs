//! Keys from files (PKCS#8, PKCS#1, SEC1), signing in software with core.

use rolesanywhere_core::key::{KeyError, PrivateKey};
use rolesanywhere_core::signer::{Digest, Signer};
use rolesanywhere_core::x509::{Certificate, KeyType};

use super::SignerError;

/// A private key read from a file. The key zeroizes itself on drop.
pub struct FileSigner {
    key: PrivateKey,
}

impl FileSigner {
    /// Wraps a parsed key.
    pub fn new(key: PrivateKey) -> Self {
        FileSigner { key }
    }
}

impl Signer for FileSigner {
    type Error = SignerError;

    fn key_type(&self) -> KeyType {
        self.key.key_type()
    }

    fn max_signature_len(&self) -> usize {
        self.key.max_signature_len()
    }

    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, SignerError> {
        self.key
            .sign(message, digest, out)
            .map_err(|e: KeyError| SignerError(e.to_string()))
    }

    fn public_key_matches(&self, cert: &Certificate<'_>) -> Option<bool> {
        self.key.public_key_matches(cert)
    }

    fn encoded_public_key(&self, out: &mut [u8]) -> Option<usize> {
        self.key.encoded_public_key(out)
    }
}
