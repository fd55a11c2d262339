//! One open connection to the TPM and the transient objects made through it.
//!
//! The TPM is opened for each operation and closed after it, as the original
//! does: a long-running `serve` must not hold `/dev/tpm0` (one opener only)
//! for months, and a TPM or simulator restart must not leave it with a dead
//! connection. Every transient object and session created here is flushed
//! when the [`Connection`] drops, newest first, including on error paths:
//! without a resource manager (raw `/dev/tpm0`, swtpm) a leaked object
//! stays in one of the TPM's few slots until the next reset (0x902).

use rolesanywhere_core::tpm::{
    self, AuthCommand, HmacSession, NONCE_LEN, RcKind, Response, ResponseCode, Signature,
};
use rolesanywhere_core::tss2::{TPM_RH_ENDORSEMENT, TPM_RH_NULL, TPM_RH_OWNER, TPM_RH_PLATFORM};

use super::device::Device;
use super::transport::Transport;

/// The largest authorization value a `TPM2B_AUTH` holds.
const MAX_AUTH_LEN: usize = 64;

/// Why a TPM step failed.
#[derive(Debug)]
pub enum Cause {
    /// The TPM answered with an error code.
    Tpm(ResponseCode),
    /// The device or socket failed.
    Transport(String),
    /// The TPM's answer was malformed or did not verify.
    Protocol(tpm::Error),
    /// The agent found the problem itself.
    Agent,
}

/// A failed TPM step: what was being done, and why.
#[derive(Debug)]
pub struct TpmError {
    /// The step, e.g. `loading the key under its parent 0x81000001`.
    pub what: String,
    /// The cause.
    pub cause: Cause,
}

impl TpmError {
    /// A failure found by the agent itself.
    pub fn msg(what: impl Into<String>) -> Self {
        TpmError {
            what: what.into(),
            cause: Cause::Agent,
        }
    }

    fn new(what: impl Into<String>, cause: Cause) -> Self {
        TpmError {
            what: what.into(),
            cause,
        }
    }

    /// What the failure means: wrong password, lockout, busy, other.
    pub fn kind(&self) -> RcKind {
        match self.cause {
            Cause::Tpm(rc) => rc.kind(),
            _ => RcKind::Other,
        }
    }
}

impl std::fmt::Display for TpmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Cause::Tpm(rc) => write!(f, "{}: {rc}", self.what),
            Cause::Transport(e) => write!(f, "{}: TPM transport: {e}", self.what),
            Cause::Protocol(e) => write!(f, "{}: {e}", self.what),
            Cause::Agent => f.write_str(&self.what),
        }
    }
}

/// The public and private parts of a key file, ready for `TPM2_Load`.
#[derive(Clone, Debug)]
pub struct FileKey {
    /// The parent handle from the file.
    pub parent: u32,
    /// A hierarchy parent is the RSA-2048 SRK (`rsaParent`), not the ECC one.
    pub rsa_parent: bool,
    /// The key's public area (`TPMT_PUBLIC`).
    pub public: Vec<u8>,
    /// The key's private blob (wrapped by the parent; not a secret by itself).
    pub private: Vec<u8>,
}

impl FileKey {
    /// Keeps the TPM structures of a checked key file.
    pub fn from_loadable(key: &rolesanywhere_core::tss2::LoadableKey<'_>) -> Self {
        let parent = match key.parent {
            rolesanywhere_core::tss2::Parent::Persistent(h)
            | rolesanywhere_core::tss2::Parent::Hierarchy(h) => h,
        };
        FileKey {
            parent,
            rsa_parent: key.rsa_parent,
            public: key.public.to_vec(),
            private: key.private.to_vec(),
        }
    }
}

/// Where the signing key is.
#[derive(Clone, Debug)]
pub enum KeyLocation {
    /// A persistent (or otherwise already loaded) handle.
    Handle(u32),
    /// A key file, loaded under its parent for each operation.
    File(Box<FileKey>),
}

/// A key ready to sign: its handle, its TPM name (what the session HMAC
/// binds to) and its public area.
#[derive(Clone, Debug)]
pub struct LoadedKey {
    /// The handle to sign with.
    pub handle: u32,
    /// `nameAlg || H(TPMT_PUBLIC)`.
    pub name: Vec<u8>,
    /// `TPMT_PUBLIC`.
    pub public: Vec<u8>,
}

/// A signature as the TPM returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TpmSignature {
    /// RSASSA-PKCS1-v1_5 bytes.
    RsaSsa(Vec<u8>),
    /// ECDSA r and s.
    Ecdsa(Vec<u8>, Vec<u8>),
}

/// An open TPM with the transient objects created through it.
pub struct Connection {
    transport: Transport,
    device: String,
    /// Transient objects and sessions to flush, oldest first.
    transient: Vec<u32>,
    /// The command and response buffers, reused by every command.
    command: Vec<u8>,
    response: Vec<u8>,
}

fn is_hierarchy(handle: u32) -> bool {
    matches!(
        handle,
        TPM_RH_OWNER | TPM_RH_NULL | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM
    )
}

impl Connection {
    /// Opens the TPM.
    pub fn open(device: &Device) -> Result<Self, TpmError> {
        let transport = Transport::open(device).map_err(|e| {
            // The raw device admits one opener; the resource manager shares.
            let hint = if device.name.starts_with("/dev/tpm") && !device.name.contains("tpmrm") {
                " (is another process using it? /dev/tpmrm0 can be shared)"
            } else {
                ""
            };
            TpmError::new(
                format!("cannot open the TPM {}{hint}", device.name),
                Cause::Transport(e.to_string()),
            )
        })?;
        Ok(Connection {
            transport,
            device: device.name.clone(),
            transient: Vec::new(),
            command: vec![0u8; tpm::MAX_FRAME],
            response: vec![0u8; tpm::MAX_FRAME],
        })
    }

    /// Builds a command with `build`, sends it and splits the answer; TPM
    /// error codes become errors.
    fn run(
        &mut self,
        what: &str,
        handles: usize,
        sessions: bool,
        build: impl FnOnce(&mut [u8]) -> Result<usize, tpm::Error>,
    ) -> Result<Response<'_>, TpmError> {
        let n = build(&mut self.command).map_err(|e| TpmError::new(what, Cause::Protocol(e)))?;
        let command = self.command.get(..n).unwrap_or_default();
        let n = self
            .transport
            .transact(command, &mut self.response)
            .map_err(|e| TpmError::new(what, Cause::Transport(format!("{}: {e}", self.device))))?;
        let frame = self.response.get(..n).unwrap_or_default();
        match Response::parse(frame, handles, sessions) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(rc)) => Err(TpmError::new(what, Cause::Tpm(rc))),
            Err(e) => Err(TpmError::new(what, Cause::Protocol(e))),
        }
    }

    /// Flushes one tracked object now (the primary once its child is loaded).
    fn flush(&mut self, handle: u32) -> Result<(), TpmError> {
        self.transient.retain(|h| *h != handle);
        let what = "flushing a transient object";
        self.run(what, 0, false, |b| tpm::flush_context(b, handle))
            .map(|_| ())
    }

    /// Reads an object's public area and name.
    fn read_public(&mut self, handle: u32, name: &str) -> Result<LoadedKey, TpmError> {
        let what = format!("reading the public key of {name}");
        let resp = self.run(&what, 0, false, |b| tpm::read_public(b, handle))?;
        let (public, tpm_name) = tpm::read_public_response(resp.params)
            .map_err(|e| TpmError::new(what.as_str(), Cause::Protocol(e)))?;
        Ok(LoadedKey {
            handle,
            name: tpm_name.to_vec(),
            public: public.to_vec(),
        })
    }

    /// Makes the key usable: a handle as it is, a file's key loaded under its
    /// parent (the primary, if one was derived, is flushed right away).
    pub fn key(&mut self, location: &KeyLocation, name: &str) -> Result<LoadedKey, TpmError> {
        match location {
            KeyLocation::Handle(h) => self.read_public(*h, name),
            KeyLocation::File(file) => self.load(file),
        }
    }

    fn load(&mut self, file: &FileKey) -> Result<LoadedKey, TpmError> {
        let empty = AuthCommand::password(&[]);
        let (parent, primary) = if is_hierarchy(file.parent) {
            let (template, kind) = if file.rsa_parent {
                (tpm::rsa_srk_template(), "RSA")
            } else {
                (tpm::ecc_srk_template(), "ECC")
            };
            let what = format!(
                "creating the {kind} storage key under hierarchy 0x{:08x}",
                file.parent
            );
            let handle = self
                .run(&what, 1, true, |b| {
                    tpm::create_primary(b, file.parent, &empty, &template)
                })?
                .handle;
            let handle = handle
                .ok_or_else(|| TpmError::msg(format!("{what}: the TPM returned no handle")))?;
            self.transient.push(handle);
            (handle, Some(handle))
        } else {
            (file.parent, None)
        };
        let what = format!("loading the key under its parent 0x{:08x}", file.parent);
        let resp = self.run(&what, 1, true, |b| {
            tpm::load(b, parent, &empty, &file.private, &file.public)
        })?;
        let handle = resp.handle;
        let name = tpm::load_response(resp.params)
            .map_err(|e| TpmError::new(what.as_str(), Cause::Protocol(e)))?
            .to_vec();
        let handle =
            handle.ok_or_else(|| TpmError::msg(format!("{what}: the TPM returned no handle")))?;
        self.transient.push(handle);
        if let Some(primary) = primary {
            self.flush(primary)?;
        }
        Ok(LoadedKey {
            handle,
            name,
            public: file.public.clone(),
        })
    }

    /// Starts an HMAC session for one command.
    fn start_session(&mut self) -> Result<HmacSession, TpmError> {
        let what = "starting an authorization session";
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| TpmError::msg(format!("{what}: no random numbers: {e}")))?;
        let resp = self.run(what, 1, false, |b| tpm::start_auth_session(b, &nonce))?;
        let handle = resp
            .handle
            .ok_or_else(|| TpmError::msg(format!("{what}: the TPM returned no handle")))?;
        let nonce_tpm = tpm::start_auth_session_response(resp.params)
            .map_err(|e| TpmError::new(what, Cause::Protocol(e)))
            .and_then(|n| {
                HmacSession::new(handle, nonce, n)
                    .map_err(|e| TpmError::new(what, Cause::Protocol(e)))
            });
        // Tracked whatever the answer said, so it is flushed.
        self.transient.push(handle);
        nonce_tpm
    }

    /// Signs `digest` with `key` under `scheme` and `hash`, authorising with
    /// `password` through an HMAC session (the password itself never
    /// crosses the bus, and the answer is checked to come from the TPM).
    pub fn sign(
        &mut self,
        key: &LoadedKey,
        password: &[u8],
        digest: &[u8],
        scheme: u16,
        hash: u16,
    ) -> Result<TpmSignature, TpmError> {
        if password.len() > MAX_AUTH_LEN {
            return Err(TpmError::msg(format!(
                "the TPM key password is longer than {MAX_AUTH_LEN} bytes"
            )));
        }
        let what = "TPM2_Sign";
        let mut session = self.start_session()?;
        let mut params = [0u8; 256];
        let n = tpm::sign_parameters(&mut params, digest, scheme, hash)
            .map_err(|e| TpmError::new(what, Cause::Protocol(e)))?;
        let params = params.get(..n).unwrap_or_default();
        let mut fresh = [0u8; NONCE_LEN];
        getrandom::fill(&mut fresh)
            .map_err(|e| TpmError::msg(format!("{what}: no random numbers: {e}")))?;
        let session_handle = session.handle;
        // continueSession clear: the TPM ends the session with the command.
        let auth = session.authorize(fresh, 0, tpm::TPM_CC_SIGN, &[&key.name], params, password);
        let resp = self.run(what, 0, true, |b| tpm::sign(b, key.handle, &auth, params))?;
        let checked = match &resp.auth {
            Some(a) => session
                .verify(tpm::TPM_CC_SIGN, resp.params, a, password)
                .map_err(|e| TpmError::new(what, Cause::Protocol(e))),
            None => Err(TpmError::msg(format!(
                "{what}: the TPM's answer has no authorization"
            ))),
        };
        let sig_params = resp.params.to_vec();
        // Succeeded: the TPM ended the session.
        self.transient.retain(|h| *h != session_handle);
        checked?;
        match Signature::parse(&sig_params) {
            Ok(Signature::RsaSsa { sig, .. }) => Ok(TpmSignature::RsaSsa(sig.to_vec())),
            Ok(Signature::Ecdsa { r, s, .. }) => Ok(TpmSignature::Ecdsa(r.to_vec(), s.to_vec())),
            Err(e) => Err(TpmError::new(what, Cause::Protocol(e))),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Newest first: a key before the session that used it. Errors are
        // ignored: a closing connection has nowhere to report to.
        while let Some(handle) = self.transient.pop() {
            let _ = self.run("flush", 0, false, |b| tpm::flush_context(b, handle));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_are_the_four_of_the_spec() {
        for h in [0x4000_0001, 0x4000_0007, 0x4000_000b, 0x4000_000c] {
            assert!(is_hierarchy(h), "{h:x}");
        }
        assert!(!is_hierarchy(0x8100_0001));
    }
}
