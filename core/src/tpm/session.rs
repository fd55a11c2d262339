//! The HMAC authorization of an unbound, unsalted SHA-256 session (TPM 2.0
//! Part 1, 19.6): the key's password never crosses the bus, and the TPM's
//! answer is checked to come from the TPM the session was started with.
//!
//! With neither a bind entity nor a salt the session key is empty, so the
//! HMAC key is the entity's authValue alone (trailing zero bytes removed,
//! Part 1, 19.6.8):
//!
//! ```text
//! cpHash = SHA-256(commandCode || names... || parameters)
//! hmac   = HMAC(authValue, cpHash || nonceCaller || nonceTPM || attributes)
//! rpHash = SHA-256(responseCode || commandCode || parameters)
//! check  = HMAC(authValue, rpHash || nonceTPM' || nonceCaller || attributes)
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroize;

use super::Error;
use super::command::{AuthCommand, AuthResponse};

/// The caller nonce length used: SHA-256's digest size.
pub const NONCE_LEN: usize = 32;

/// The largest nonce a TPM may return (SHA-512's digest size).
const MAX_TPM_NONCE: usize = 64;

/// An HMAC session as the caller tracks it: its handle and both nonces.
#[derive(Clone, Debug)]
pub struct HmacSession {
    /// The session handle `TPM2_StartAuthSession` returned.
    pub handle: u32,
    nonce_caller: [u8; NONCE_LEN],
    nonce_tpm: [u8; MAX_TPM_NONCE],
    nonce_tpm_len: usize,
    attributes: u8,
    hmac: [u8; 32],
}

fn mac(auth_value: &[u8]) -> Hmac<Sha256> {
    // Trailing zeros are not part of an authValue (Part 1, 19.6.8).
    let end = auth_value
        .iter()
        .rposition(|b| *b != 0)
        .map_or(0, |i| i + 1);
    let key = auth_value.get(..end).unwrap_or_default();
    // HMAC takes a key of any length.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => Hmac::<Sha256>::new(&Default::default()),
    }
}

impl HmacSession {
    /// A session started with `nonce_caller`, to which the TPM answered
    /// `handle` and `nonce_tpm`.
    pub fn new(
        handle: u32,
        nonce_caller: [u8; NONCE_LEN],
        nonce_tpm: &[u8],
    ) -> Result<Self, Error> {
        let mut session = HmacSession {
            handle,
            nonce_caller,
            nonce_tpm: [0; MAX_TPM_NONCE],
            nonce_tpm_len: 0,
            attributes: 0,
            hmac: [0; 32],
        };
        session.set_tpm_nonce(nonce_tpm)?;
        Ok(session)
    }

    fn set_tpm_nonce(&mut self, nonce: &[u8]) -> Result<(), Error> {
        if !(16..=MAX_TPM_NONCE).contains(&nonce.len()) {
            return Err(Error::NonceLength);
        }
        self.nonce_tpm
            .get_mut(..nonce.len())
            .ok_or(Error::NonceLength)?
            .copy_from_slice(nonce);
        self.nonce_tpm_len = nonce.len();
        Ok(())
    }

    fn nonce_tpm(&self) -> &[u8] {
        self.nonce_tpm.get(..self.nonce_tpm_len).unwrap_or_default()
    }

    /// Authorizes command `code` on objects named `names` with `params`,
    /// using the entity's `auth_value` and a fresh caller nonce. The
    /// session ends with the command unless `attributes` has
    /// `continueSession`.
    pub fn authorize(
        &mut self,
        fresh_nonce: [u8; NONCE_LEN],
        attributes: u8,
        code: u32,
        names: &[&[u8]],
        params: &[u8],
        auth_value: &[u8],
    ) -> AuthCommand<'_> {
        self.nonce_caller = fresh_nonce;
        self.attributes = attributes;
        let mut cp = Sha256::new();
        cp.update(code.to_be_bytes());
        for n in names {
            cp.update(n);
        }
        cp.update(params);
        let cp_hash = cp.finalize();
        let mut m = mac(auth_value);
        m.update(&cp_hash);
        m.update(&self.nonce_caller);
        m.update(self.nonce_tpm());
        m.update(&[attributes]);
        self.hmac.copy_from_slice(&m.finalize().into_bytes());
        AuthCommand {
            session: self.handle,
            nonce: &self.nonce_caller,
            attributes,
            hmac: &self.hmac,
        }
    }

    /// Checks the response to the command last authorized: its HMAC over
    /// `params` with the TPM's new nonce. Keeps that nonce for the next
    /// command.
    pub fn verify(
        &mut self,
        code: u32,
        params: &[u8],
        auth: &AuthResponse<'_>,
        auth_value: &[u8],
    ) -> Result<(), Error> {
        let mut rp = Sha256::new();
        rp.update(0u32.to_be_bytes());
        rp.update(code.to_be_bytes());
        rp.update(params);
        let rp_hash = rp.finalize();
        let mut m = mac(auth_value);
        m.update(&rp_hash);
        m.update(auth.nonce);
        m.update(&self.nonce_caller);
        m.update(&[auth.attributes]);
        m.verify_slice(auth.hmac).map_err(|_| Error::ResponseHmac)?;
        self.set_tpm_nonce(auth.nonce)
    }
}

impl Drop for HmacSession {
    fn drop(&mut self) {
        // The HMAC is derived from the password.
        self.hmac.zeroize();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The reference computation, spelled out with the spec's concatenation.
    fn reference(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    #[test]
    fn command_and_response_hmacs_follow_part_1() {
        let mut s = HmacSession::new(0x0200_0000, [1; 32], &[2; 32]).unwrap();
        let params = [0xAAu8, 0xBB];
        let name = [0x00u8, 0x0b, 9, 9];
        let auth = s.authorize([3; 32], 0, 0x15d, &[&name], &params, b"pw\0\0");
        let cp: [u8; 32] = Sha256::new()
            .chain_update(0x15du32.to_be_bytes())
            .chain_update(name)
            .chain_update(params)
            .finalize()
            .into();
        let want = reference(b"pw", &[&cp, &[3; 32], &[2; 32], &[0]]);
        assert_eq!(auth.hmac, want);
        assert_eq!(auth.nonce, [3; 32]);
        assert_eq!(auth.session, 0x0200_0000);

        let rp: [u8; 32] = Sha256::new()
            .chain_update([0u8; 4])
            .chain_update(0x15du32.to_be_bytes())
            .chain_update([7u8])
            .finalize()
            .into();
        let good = reference(b"pw", &[&rp, &[4; 32], &[3; 32], &[0]]);
        let response = AuthResponse {
            nonce: &[4; 32],
            attributes: 0,
            hmac: &good,
        };
        s.verify(0x15d, &[7], &response, b"pw").unwrap();
        assert_eq!(s.nonce_tpm(), [4; 32]);
        let forged = AuthResponse {
            hmac: &[0; 32],
            ..response
        };
        assert_eq!(
            s.verify(0x15d, &[7], &forged, b"pw"),
            Err(Error::ResponseHmac)
        );
        // Another password is another key.
        assert_eq!(
            s.verify(0x15d, &[7], &response, b"px"),
            Err(Error::ResponseHmac)
        );
    }

    #[test]
    fn short_tpm_nonces_are_refused() {
        assert_eq!(
            HmacSession::new(1, [0; 32], &[0; 8]).map(|_| ()),
            Err(Error::NonceLength)
        );
    }
}
