//! The PKCS#11 signer: one session, opened and logged in once, kept for the
//! life of the process (`serve` and `update` sign through it again and
//! again), and re-opened on the next signature when the token or module
//! lost it. Signing is serialised by a mutex: PKCS#11 sessions must not be
//! used by two threads at once, and login state is per token.
//!
//! Mechanisms (spec 1.8): RSA with `CKM_SHA{256,384,512}_RSA_PKCS`, or
//! `CKM_RSA_PKCS` over a DigestInfo when the token lacks the combined
//! mechanism (PIV cards); EC with `CKM_ECDSA` over a digest computed here,
//! the raw `r||s` turned into DER.

use std::sync::{Mutex, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, TokenInfo};
use rolesanywhere_core::signer::{Digest, Signer, verify};
use rolesanywhere_core::x509::{Certificate, KeyType};

use super::keys::{digest_info, ecdsa_der, ecdsa_input};
use super::login::{ContextPins, Pin, login_context, login_user};
use super::module::{self, ckr, debug_log, rv_of};
use crate::ffi::RawSign;
use crate::signers::SignerError;

/// How RSA signs for one digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaMech {
    /// `CKM_SHA*_RSA_PKCS`: the token hashes the message.
    HashAndSign,
    /// `CKM_RSA_PKCS` over `DigestInfo(hash)` built here.
    DigestInfo,
}

/// The mechanisms chosen for a key, once, from the token's list.
#[derive(Clone, Copy, Debug)]
pub struct Mechanisms {
    /// For SHA-256, SHA-384, SHA-512.
    rsa: [RsaMech; 3],
}

fn digest_index(d: Digest) -> usize {
    match d {
        Digest::Sha256 => 0,
        Digest::Sha384 => 1,
        Digest::Sha512 => 2,
    }
}

impl Mechanisms {
    /// Picks mechanisms from `C_GetMechanismList`. A token that lists
    /// nothing (or fails to) gets the combined mechanisms, as the original uses.
    pub fn choose(ctx: &Pkcs11, slot: Slot, key: KeyType, debug: bool) -> Result<Self, String> {
        let list = ctx.get_mechanism_list(slot).unwrap_or_default();
        let has = |m: MechanismType| list.is_empty() || list.contains(&m);
        let mut rsa = [RsaMech::HashAndSign; 3];
        match key {
            KeyType::Rsa => {
                let combined = [
                    MechanismType::SHA256_RSA_PKCS,
                    MechanismType::SHA384_RSA_PKCS,
                    MechanismType::SHA512_RSA_PKCS,
                ];
                for (slot_mech, m) in rsa.iter_mut().zip(combined) {
                    if !has(m) {
                        if !has(MechanismType::RSA_PKCS) {
                            return Err(format!(
                                "the token offers neither {m} nor CKM_RSA_PKCS for RSA signatures"
                            ));
                        }
                        debug_log(
                            debug,
                            format_args!("token lacks {m}; using CKM_RSA_PKCS with a DigestInfo"),
                        );
                        *slot_mech = RsaMech::DigestInfo;
                    }
                }
            }
            KeyType::P256 | KeyType::P384 => {
                if !has(MechanismType::ECDSA) {
                    return Err("the token does not offer CKM_ECDSA".to_owned());
                }
            }
            other => return Err(format!("{other} keys are not supported on PKCS#11 tokens")),
        }
        Ok(Mechanisms { rsa })
    }

    /// Every digest through `CKM_RSA_PKCS` (tests of the fallback path).
    #[cfg(test)]
    pub fn digest_info_only() -> Self {
        Mechanisms {
            rsa: [RsaMech::DigestInfo; 3],
        }
    }
}

/// The key as the signer knows it.
#[derive(Debug, Clone)]
pub struct KeyMeta {
    /// `CKA_ID`, to find the key again after a lost session.
    pub id: Vec<u8>,
    /// `CKA_LABEL`, likewise.
    pub label: Vec<u8>,
    /// RSA, P-256 or P-384.
    pub key_type: KeyType,
    /// `CKA_ALWAYS_AUTHENTICATE`.
    pub always_auth: bool,
    /// Largest signature (DER for EC).
    pub max_sig_len: usize,
    /// A URI naming the key, for prompts (no PIN).
    pub uri: String,
}

/// A failed signature: the PKCS#11 error (to tell a lost session) or a message.
#[derive(Debug)]
pub enum SignFailure {
    /// `C_SignInit` or `C_Sign` failed.
    Token {
        /// Which call.
        step: &'static str,
        /// The error.
        error: CkError,
    },
    /// Anything else (login, encoding).
    Other(String),
}

impl SignFailure {
    /// True when opening a new session could help.
    fn session_lost(&self) -> bool {
        let SignFailure::Token { error, .. } = self else {
            return false;
        };
        matches!(
            rv_of(error),
            Some(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::DeviceError
                    | RvError::TokenNotPresent
                    | RvError::TokenNotRecognized
                    | RvError::CryptokiNotInitialized
                    | RvError::KeyHandleInvalid
                    | RvError::ObjectHandleInvalid
                    | RvError::UserNotLoggedIn
            )
        )
    }
}

impl std::fmt::Display for SignFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignFailure::Token { step, error } => write!(f, "{step} failed ({})", ckr(error)),
            SignFailure::Other(s) => f.write_str(s),
        }
    }
}

/// Everything one signature needs besides the session.
pub struct SignJob<'a> {
    /// The key object.
    pub handle: ObjectHandle,
    /// What we know of it.
    pub key: &'a KeyMeta,
    /// The chosen mechanisms.
    pub mechs: Mechanisms,
    /// `C_Sign` for always-authenticate keys.
    pub raw: Option<&'a RawSign>,
    /// PINs for the context-specific login.
    pub pins: ContextPins<'a>,
}

/// One signature over `message` with `digest`: the PKCS#1 v1.5 signature
/// for RSA, a DER `Ecdsa-Sig-Value` for EC.
pub fn sign_once(
    session: &Session,
    job: SignJob<'_>,
    message: &[u8],
    digest: Digest,
) -> Result<Vec<u8>, SignFailure> {
    let key = job.key;
    let (mechanism, input): (Mechanism<'_>, Vec<u8>) = match key.key_type {
        KeyType::Rsa => match job.mechs.rsa.get(digest_index(digest)) {
            Some(RsaMech::DigestInfo) => (Mechanism::RsaPkcs, digest_info(digest, message)),
            _ => (
                match digest {
                    Digest::Sha256 => Mechanism::Sha256RsaPkcs,
                    Digest::Sha384 => Mechanism::Sha384RsaPkcs,
                    Digest::Sha512 => Mechanism::Sha512RsaPkcs,
                },
                message.to_vec(),
            ),
        },
        kt => (
            Mechanism::Ecdsa,
            ecdsa_input(digest.hash(message).as_bytes(), kt).to_vec(),
        ),
    };
    let raw = if key.always_auth {
        let raw = job
            .raw
            .ok_or_else(|| SignFailure::Other("C_Sign is not available".to_owned()))?;
        session
            .sign_init(&mechanism, job.handle)
            .map_err(|error| SignFailure::Token {
                step: "signing initiation",
                error,
            })?;
        if let Err(e) = login_context(session, job.pins) {
            // End the operation C_SignInit started, or the session stays
            // busy (CKR_OPERATION_ACTIVE): without the context login, C_Sign
            // fails and terminates it.
            let _ = raw.sign(session, &input, key.max_sig_len.max(512));
            return Err(SignFailure::Other(e));
        }
        raw.sign(session, &input, key.max_sig_len.max(512))
            .map_err(|error| SignFailure::Token {
                step: "signing",
                error,
            })?
    } else {
        session
            .sign(&mechanism, job.handle, &input)
            .map_err(|error| SignFailure::Token {
                step: "signing",
                error,
            })?
    };
    match key.key_type {
        KeyType::Rsa => Ok(raw),
        kt => {
            let mut der = vec![0u8; key.max_sig_len];
            let n = ecdsa_der(&raw, kt, &mut der).map_err(SignFailure::Other)?;
            der.truncate(n);
            Ok(der)
        }
    }
}

/// Which token holds the key, to find it again when slot numbers change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    label: String,
    manufacturer: String,
    model: String,
    serial: String,
}

impl TokenId {
    /// The identity of a token.
    pub fn of(t: &TokenInfo) -> Self {
        TokenId {
            label: t.label().to_owned(),
            manufacturer: t.manufacturer_id().to_owned(),
            model: t.model().to_owned(),
            serial: t.serial_number().to_owned(),
        }
    }
}

/// The live connection: a logged-in session and the key's handle in it.
struct Conn {
    session: Session,
    handle: ObjectHandle,
}

/// State behind the lock.
struct State {
    conn: Option<Conn>,
    user_pin: Option<Pin>,
    context_pin: Option<Pin>,
    /// Check the next signature against the certificate (the first one,
    /// and the first after a reconnect).
    verify_next: bool,
}

/// A key on a PKCS#11 token, behind core's [`Signer`].
pub struct Pkcs11Signer {
    ctx: Pkcs11,
    raw: Option<RawSign>,
    token: TokenId,
    key: KeyMeta,
    mechs: Mechanisms,
    public_key: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    reuse_pin: bool,
    debug: bool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token.label)
            .field("key", &self.key.uri)
            .finish_non_exhaustive()
    }
}

/// What [`Pkcs11Signer::new`] takes.
pub struct Parts {
    /// The module.
    pub ctx: Pkcs11,
    /// `C_Sign`, for always-authenticate keys.
    pub raw: Option<RawSign>,
    /// The token.
    pub token: TokenId,
    /// The key.
    pub key: KeyMeta,
    /// Its mechanisms.
    pub mechs: Mechanisms,
    /// The open, logged-in session.
    pub session: Session,
    /// The key object in it.
    pub handle: ObjectHandle,
    /// The public key as `sign-string` hashes it, when known.
    pub public_key: Option<Vec<u8>>,
    /// The certificate the key was matched with.
    pub cert: Option<Vec<u8>>,
    /// The user PIN (for logging in again).
    pub user_pin: Option<Pin>,
    /// A context PIN that worked during the search.
    pub context_pin: Option<Pin>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
    /// `--debug`.
    pub debug: bool,
}

impl Pkcs11Signer {
    /// A signer over an open session whose key was already checked.
    pub fn new(p: Parts) -> Self {
        Pkcs11Signer {
            ctx: p.ctx,
            raw: p.raw,
            token: p.token,
            key: p.key,
            mechs: p.mechs,
            public_key: p.public_key,
            cert: p.cert,
            reuse_pin: p.reuse_pin,
            debug: p.debug,
            state: Mutex::new(State {
                conn: Some(Conn {
                    session: p.session,
                    handle: p.handle,
                }),
                user_pin: p.user_pin,
                context_pin: p.context_pin,
                // The key was matched to the certificate, possibly through
                // token metadata: the first signature is checked too.
                verify_next: true,
            }),
        }
    }

    /// Replaces the mechanisms (tests of the `CKM_RSA_PKCS` fallback).
    #[cfg(test)]
    pub fn with_mechanisms(mut self, mechs: Mechanisms) -> Self {
        self.mechs = mechs;
        self
    }

    /// The module, for tests that disturb it.
    #[cfg(test)]
    pub fn module(&self) -> &Pkcs11 {
        &self.ctx
    }

    /// Finds the token again, opens a session, logs in and finds the key.
    fn connect(&self, user_pin: &mut Option<Pin>) -> Result<Conn, String> {
        let slots = match module::slots(&self.ctx, self.debug) {
            Err(e) if rv_of(&e) == Some(RvError::CryptokiNotInitialized) => {
                module::initialize(&self.ctx)
                    .map_err(|e| format!("re-initialising the module failed ({})", ckr(&e)))?;
                module::slots(&self.ctx, self.debug)
            }
            other => other,
        }
        .map_err(|e| format!("listing slots failed ({})", ckr(&e)))?;
        let desc = slots
            .iter()
            .find(|s| TokenId::of(&s.token) == self.token)
            .ok_or_else(|| format!("token \"{}\" is no longer present", self.token.label))?;
        let session = self
            .ctx
            .open_ro_session(desc.slot)
            .map_err(|e| format!("opening a session failed ({})", ckr(&e)))?;
        login_user(&session, &desc.token, user_pin, self.debug)?;
        let mut tmpl = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if !self.key.id.is_empty() {
            tmpl.push(Attribute::Id(self.key.id.clone()));
        }
        if !self.key.label.is_empty() {
            tmpl.push(Attribute::Label(self.key.label.clone()));
        }
        let handle = session
            .find_objects(&tmpl)
            .map_err(|e| format!("searching the key failed ({})", ckr(&e)))?
            .into_iter()
            .next()
            .ok_or_else(|| format!("the private key {} is no longer on the token", self.key.uri))?;
        debug_log(
            self.debug,
            format_args!("re-opened the session on {}", desc.name()),
        );
        Ok(Conn { session, handle })
    }

    fn sign_vec(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>, String> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut *guard;
        for attempt in 0..2 {
            if st.conn.is_none() {
                st.conn = Some(self.connect(&mut st.user_pin)?);
                st.verify_next = true;
            }
            let Some(conn) = st.conn.as_ref() else {
                continue;
            };
            let user = if self.reuse_pin {
                st.user_pin.as_ref().map(|p| p.as_slice())
            } else {
                None
            };
            let job = SignJob {
                handle: conn.handle,
                key: &self.key,
                mechs: self.mechs,
                raw: self.raw.as_ref(),
                pins: ContextPins {
                    remembered: &mut st.context_pin,
                    user,
                    key_uri: &self.key.uri,
                    debug: self.debug,
                },
            };
            match sign_once(&conn.session, job, message, digest) {
                Ok(sig) => {
                    if st.verify_next {
                        self.check(message, digest, &sig)
                            .inspect_err(|_| st.conn = None)?;
                        st.verify_next = false;
                    }
                    return Ok(sig);
                }
                Err(e) if attempt == 0 && e.session_lost() => {
                    debug_log(self.debug, format_args!("{e}; opening a new session"));
                    st.conn = None;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the token lost the session twice in a row".to_owned())
    }

    /// The first signature (and the first after a reconnect) must verify
    /// with the certificate's key: a token whose metadata misleads, or
    /// whose key changed, fails here with a clear error instead of at the service.
    fn check(&self, message: &[u8], digest: Digest, sig: &[u8]) -> Result<(), String> {
        let Some(der) = &self.cert else {
            return Ok(());
        };
        let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
        verify(&cert, message, digest, sig).map_err(|_| {
            format!(
                "the signature of the private key {} does not verify with the certificate's public key",
                self.key.uri
            )
        })
    }
}

impl Signer for Pkcs11Signer {
    type Error = SignerError;

    fn key_type(&self) -> KeyType {
        self.key.key_type
    }

    fn max_signature_len(&self) -> usize {
        self.key.max_sig_len
    }

    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, SignerError> {
        let sig = self.sign_vec(message, digest).map_err(SignerError)?;
        let dst = out
            .get_mut(..sig.len())
            .ok_or_else(|| SignerError("signature buffer too small".to_owned()))?;
        dst.copy_from_slice(&sig);
        Ok(sig.len())
    }

    fn public_key_matches(&self, cert: &Certificate<'_>) -> Option<bool> {
        let pk = self.public_key.as_deref()?;
        Some(cert.key_type() == Some(self.key.key_type) && cert.public_key() == pk)
    }

    fn encoded_public_key(&self, out: &mut [u8]) -> Option<usize> {
        let pk = self.public_key.as_deref()?;
        out.get_mut(..pk.len())?.copy_from_slice(pk);
        Some(pk.len())
    }
}

impl Drop for Pkcs11Signer {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = state.conn.take() {
            // Logging out ends the login for every session of this process
            // on the token; ours is the last one.
            let _ = conn.session.logout();
            drop(conn);
        }
        let _ = self.ctx.clone().finalize();
    }
}
