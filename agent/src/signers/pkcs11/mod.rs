//! Keys on smart cards and HSMs through a PKCS#11 module (cryptoki): the
//! `pkcs11:` URIs of `--certificate` and `--private-key` (spec section 1).
//!
//! Everything is found and checked once, when the identity is built: the
//! certificate (public objects first, then after login), the key (matched to
//! the certificate by its public key, a test signature only when the token
//! does not reveal it), the mechanisms, and the chain. The signer then keeps
//! its session open and logged in for the life of the process.

mod certs;
mod chain;
mod keys;
mod login;
mod module;
mod select;
mod session;
mod signer;
#[cfg(test)]
mod tests;

use cryptoki::context::Pkcs11;
use cryptoki::object::{Attribute, ObjectClass};
use rolesanywhere_core::pkcs11_uri::Pkcs11Uri;
use rolesanywhere_core::signer::{Digest, verify};
use rolesanywhere_core::x509::{Certificate, KeyType};

use self::certs::{PinPolicy, SearchError};
use self::keys::{ecdsa_der_max, rsa_modulus_len};
use self::login::{ContextPins, Pin, uri_pin};
use self::module::{SlotDesc, matching_slots};
use self::select::{Candidate, Verdict};
use self::session::{Sessions, describe, object_uri, template};
use self::signer::{KeyMeta, Mechanisms, Parts, SignJob, TokenId, sign_once};
use crate::error::Error;

pub use self::signer::Pkcs11Signer;

/// Where the certificate comes from.
#[derive(Debug)]
pub enum CertInput<'a> {
    /// No certificate (`sign-string` with a key URI only).
    None,
    /// A `pkcs11:` URI.
    Uri(&'a str),
    /// A certificate read from a file (the "hybrid" form), DER.
    File(Vec<u8>),
}

/// What [`load`] needs from the flags.
#[derive(Debug)]
pub struct LoadRequest<'a> {
    /// `--certificate`.
    pub cert: CertInput<'a>,
    /// `--private-key`, when it is a `pkcs11:` URI.
    pub key_uri: Option<&'a str>,
    /// `--pkcs11-lib`.
    pub lib: Option<&'a str>,
    /// The `--intermediates` bundle, DER.
    pub intermediates: Vec<Vec<u8>>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
    /// `--debug`.
    pub debug: bool,
}

/// A token key with its certificate and chain.
#[derive(Debug)]
pub struct Loaded {
    /// The signer.
    pub signer: Pkcs11Signer,
    /// The leaf certificate, DER.
    pub leaf: Option<Vec<u8>>,
    /// The certificates that chain the leaf, leaf-most first.
    pub chain: Vec<Vec<u8>>,
}

/// The certificate object found on a token.
struct TokenLeaf<'s> {
    /// Its slot.
    slot: &'s SlotDesc,
    /// Its `CKA_ID`.
    id: Vec<u8>,
    /// Its `CKA_LABEL`.
    label: Vec<u8>,
}

/// Finalises the module when the search fails part-way (declared before
/// the sessions, so it runs after they close).
struct FinalizeOnError<'a>(&'a Pkcs11, bool);

impl Drop for FinalizeOnError<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = self.0.clone().finalize();
        }
    }
}

/// Parses a URI flag, naming the flag (never the text: it may hold a PIN).
fn parse_uri<'a>(flag: &'static str, text: &'a str) -> Result<Pkcs11Uri<'a>, Error> {
    Pkcs11Uri::parse(text).map_err(|e| Error::flag(flag, format!("malformed pkcs11 URI: {e}")))
}

/// The module: `--pkcs11-lib`, else a URI's `module-path`, else p11-kit's proxy.
fn module_name(lib: Option<&str>, uris: &[Option<&Pkcs11Uri<'_>>]) -> String {
    if let Some(lib) = lib.filter(|l| !l.is_empty()) {
        return lib.to_owned();
    }
    uris.iter()
        .flatten()
        .find_map(|u| u.query_attr("module-path"))
        .map(|p| String::from_utf8_lossy(&p.to_vec()).into_owned())
        .unwrap_or_else(|| module::DEFAULT_MODULE.to_owned())
}

/// Loads the module named by the flags.
fn open_module(lib: &str) -> Result<Pkcs11, Error> {
    module::load(lib).map_err(|e| Error::flag("--pkcs11-lib", e))
}

/// Finds the certificate and key named by the flags and builds the signer.
pub fn load(req: LoadRequest<'_>) -> Result<Loaded, Error> {
    let debug = req.debug;
    let cert_uri = match &req.cert {
        CertInput::Uri(text) => Some(parse_uri("--certificate", text)?),
        _ => None,
    };
    let key_uri = req
        .key_uri
        .map(|t| parse_uri("--private-key", t))
        .transpose()?;
    let cert_err = |msg: String| match &cert_uri {
        Some(u) => Error::flag("--certificate", format!("{}: {msg}", u.redacted())),
        None => Error::flag("--certificate", msg),
    };
    // With no key URI the key is searched with the certificate's URI.
    let (key_flag, key_named) = match (&key_uri, &cert_uri) {
        (Some(u), _) => ("--private-key", u.redacted().to_string()),
        (None, Some(u)) => ("--certificate", u.redacted().to_string()),
        (None, None) => {
            return Err(Error::flag("--private-key", "a pkcs11: URI is required"));
        }
    };
    let key_err = |msg: String| Error::flag(key_flag, format!("{key_named}: {msg}"));

    let lib = module_name(req.lib, &[key_uri.as_ref(), cert_uri.as_ref()]);
    let ctx = open_module(&lib)?;
    let mut finalize = FinalizeOnError(&ctx, true);
    let all = module::slots(&ctx, debug).map_err(|e| {
        Error::flag(
            "--pkcs11-lib",
            format!("{lib}: listing slots failed ({})", module::ckr(&e)),
        )
    })?;
    let mut sessions = Sessions::new(&ctx, debug);
    // PIN precedence (spec 1.5): the key URI's, else the certificate URI's.
    let mut pin: Option<Pin> = match &key_uri {
        Some(u) => uri_pin(u, key_flag).map_err(|e| Error::flag(key_flag, e))?,
        None => None,
    };
    if pin.is_none()
        && let Some(u) = &cert_uri
    {
        pin = uri_pin(u, "--certificate").map_err(|e| Error::flag("--certificate", e))?;
    }

    // The certificate.
    let mut token_cert: Option<TokenLeaf<'_>> = None;
    let leaf: Option<Vec<u8>> = match (&req.cert, &cert_uri) {
        (CertInput::Uri(_), Some(uri)) => {
            let slots = matching_slots(&ctx, uri, &all).map_err(cert_err)?;
            let found = certs::search(
                &mut sessions,
                &slots,
                uri,
                PinPolicy::PromptIfMissing(&mut pin),
                debug,
            )
            .map_err(|e| cert_err(e.to_string()))?;
            if found.certs.len() > 1 {
                let names: Vec<String> = found
                    .certs
                    .iter()
                    .map(|c| describe(&c.label, &c.id))
                    .collect();
                return Err(cert_err(format!(
                    "multiple matching certificates ({}); add id= or object= to the URI",
                    names.join(", ")
                )));
            }
            let c = found
                .certs
                .into_iter()
                .next()
                .ok_or_else(|| cert_err("no matching certificates".to_owned()))?;
            let desc = slots
                .get(c.slot)
                .copied()
                .ok_or_else(|| cert_err("certificate slot vanished".to_owned()))?;
            token_cert = Some(TokenLeaf {
                slot: desc,
                id: c.id,
                label: c.label,
            });
            Some(c.der)
        }
        (CertInput::File(der), _) => Some(der.clone()),
        _ => None,
    };
    let cert = match &leaf {
        Some(der) => Some(Certificate::from_der(der).map_err(|e| cert_err(e.to_string()))?),
        None => None,
    };

    // The key's token.
    let key_slot: &SlotDesc = match (&key_uri, &token_cert) {
        (Some(uri), tc) => {
            let m = matching_slots(&ctx, uri, &all).map_err(key_err)?;
            match (m.as_slice(), tc) {
                ([one], _) => one,
                (_, Some(tc)) if m.iter().any(|s| s.slot == tc.slot.slot) => tc.slot,
                _ => {
                    let names: Vec<String> = m.iter().map(|s| s.name()).collect();
                    return Err(key_err(format!(
                        "Could not identify unique slot for PKCS#11 key ({} slots match: {}); \
                         add token= or serial= to the URI",
                        m.len(),
                        names.join(", ")
                    )));
                }
            }
        }
        (None, Some(tc)) => tc.slot,
        (None, None) => return Err(key_err("no certificate to find the key with".to_owned())),
    };
    sessions.login(key_slot, &mut pin).map_err(key_err)?;

    // The key.
    let templates: Vec<Vec<Attribute>> = match (&key_uri, &token_cert) {
        (Some(uri), _) => vec![template(ObjectClass::PRIVATE_KEY, Some(uri))],
        (None, Some(tc)) => derived_templates(&tc.id, &tc.label),
        (None, None) => Vec::new(),
    };
    let mut context_pin: Option<Pin> = None;
    let mut raw: Option<crate::ffi::RawSign> = None;
    let chosen = {
        let mut chooser = Chooser {
            ctx: &ctx,
            lib: &lib,
            slot: key_slot,
            cert: cert.as_ref(),
            user_pin: if req.reuse_pin {
                pin.as_ref().map(|p| p.as_slice())
            } else {
                None
            },
            context_pin: &mut context_pin,
            raw: &mut raw,
            debug,
        };
        let session = sessions.get(key_slot.slot).map_err(key_err)?;
        chooser.choose(session, &templates).map_err(key_err)?
    };
    let (cand, key_type) = chosen;
    let meta = key_meta(key_slot, &cand, key_type, cert.as_ref());
    let mechs = Mechanisms::choose(&ctx, key_slot.slot, key_type, debug).map_err(key_err)?;
    if cand.always_auth && raw.is_none() {
        raw = Some(crate::ffi::RawSign::load(&lib).map_err(key_err)?);
    }
    let session = sessions.get(key_slot.slot).map_err(key_err)?;
    let public_key = match &cert {
        Some(c) => Some(c.public_key().to_vec()),
        None => cand
            .public
            .clone()
            .or_else(|| select::ec_point_from_public_object(session, &cand, key_type)),
    };

    // The chain: certificates on the leaf's token and in --intermediates.
    let chain = match &leaf {
        Some(der) => {
            let pool_slot = token_cert.as_ref().map_or(key_slot, |tc| tc.slot);
            let mut pool = req.intermediates.clone();
            if let Ok(s) = sessions.get(pool_slot.slot) {
                pool.extend(certs::all_certs(s, debug));
            }
            chain::build(der, &pool)
        }
        None => Vec::new(),
    };

    let session = sessions
        .take(key_slot.slot)
        .ok_or_else(|| key_err("the key's session vanished".to_owned()))?;
    drop(sessions);
    // From here on the signer finalises the module when it is dropped.
    finalize.1 = false;
    let signer = Pkcs11Signer::new(Parts {
        ctx: ctx.clone(),
        raw,
        token: TokenId::of(&key_slot.token),
        key: meta,
        mechs,
        session,
        handle: cand.handle,
        public_key,
        cert: leaf.clone(),
        user_pin: pin,
        context_pin,
        reuse_pin: req.reuse_pin,
        debug,
    });
    Ok(Loaded {
        signer,
        leaf,
        chain,
    })
}

/// Key templates derived from the certificate's object (spec 1.6): its
/// `CKA_ID` and `CKA_LABEL`, then its `CKA_ID` alone.
fn derived_templates(id: &[u8], label: &[u8]) -> Vec<Vec<Attribute>> {
    let class = Attribute::Class(ObjectClass::PRIVATE_KEY);
    let mut out = Vec::new();
    let with_id = (!id.is_empty()).then(|| Attribute::Id(id.to_vec()));
    let with_label = (!label.is_empty()).then(|| Attribute::Label(label.to_vec()));
    let first: Vec<Attribute> = [Some(class.clone()), with_id.clone(), with_label]
        .into_iter()
        .flatten()
        .collect();
    out.push(first);
    if let Some(id) = with_id {
        out.push(vec![class, id]);
    }
    out.dedup();
    out
}

/// What the signer records about the chosen key.
fn key_meta(
    slot: &SlotDesc,
    c: &Candidate,
    kt: KeyType,
    cert: Option<&Certificate<'_>>,
) -> KeyMeta {
    let max_sig_len = match kt {
        KeyType::Rsa => c
            .modulus_len
            .or_else(|| cert.and_then(|c| rsa_modulus_len(c.public_key())))
            .unwrap_or(512),
        other => ecdsa_der_max(other),
    };
    KeyMeta {
        id: c.id.clone(),
        label: c.label.clone(),
        key_type: kt,
        always_auth: c.always_auth,
        max_sig_len,
        uri: object_uri(slot, &c.id, &c.label, "private"),
    }
}

/// The key search on one token.
struct Chooser<'a> {
    ctx: &'a Pkcs11,
    lib: &'a str,
    slot: &'a SlotDesc,
    cert: Option<&'a Certificate<'a>>,
    user_pin: Option<&'a [u8]>,
    context_pin: &'a mut Option<Pin>,
    raw: &'a mut Option<crate::ffi::RawSign>,
    debug: bool,
}

impl Chooser<'_> {
    /// Runs the templates in order until one yields the key.
    fn choose(
        &mut self,
        session: &cryptoki::session::Session,
        templates: &[Vec<Attribute>],
    ) -> Result<(Candidate, KeyType), String> {
        let mut rejected: Vec<(String, String)> = Vec::new();
        let mut seen = Vec::new();
        for tmpl in templates {
            let mut cands = Vec::new();
            for handle in session::find(session, tmpl)? {
                if seen.contains(&handle) {
                    continue;
                }
                seen.push(handle);
                cands.push(select::read(session, handle)?);
            }
            if let Some(found) = self.pick(session, cands, &mut rejected)? {
                return Ok(found);
            }
        }
        Err(format!(
            "unable to find matching private key ({})",
            select::summary(&rejected)
        ))
    }

    fn pick(
        &mut self,
        session: &cryptoki::session::Session,
        mut cands: Vec<Candidate>,
        rejected: &mut Vec<(String, String)>,
    ) -> Result<Option<(Candidate, KeyType)>, String> {
        let Some(cert) = self.cert else {
            // No certificate: the URI must name exactly one key (spec 1.5).
            return match cands.as_slice() {
                [] => Ok(None),
                [c] => match (select::unusable(c), &c.key_type) {
                    (Some(why), _) => Err(format!("private key {}: {why}", c.name())),
                    (None, Ok(kt)) => Ok(Some((c.clone(), *kt))),
                    (None, Err(why)) => Err(format!("private key {}: {why}", c.name())),
                },
                many => {
                    let names: Vec<String> = many.iter().map(Candidate::name).collect();
                    Err(format!(
                        "multiple matching private keys, but no certificate provided to match with ({})",
                        names.join(", ")
                    ))
                }
            };
        };
        select::preferred_order(&mut cands);
        let mut unknown = Vec::new();
        for c in cands {
            match select::compare(&c, cert) {
                Verdict::Matches => {
                    let kt = c.key_type.clone().map_err(|e| e.to_string())?;
                    return Ok(Some((c, kt)));
                }
                Verdict::Unknown => {
                    // EC private keys rarely carry CKA_EC_POINT; the public
                    // key object with the same CKA_ID usually does. A match
                    // there is taken (the signer verifies its first signature
                    // against the certificate anyway); anything else is
                    // decided by a test signature, not by that object.
                    let from_public = c
                        .key_type
                        .clone()
                        .ok()
                        .and_then(|kt| select::ec_point_from_public_object(session, &c, kt));
                    match (from_public, c.key_type.clone()) {
                        (Some(p), Ok(kt)) if p.as_slice() == cert.public_key() => {
                            return Ok(Some((c, kt)));
                        }
                        _ => unknown.push(c),
                    }
                }
                Verdict::No(why) => rejected.push((c.name(), why)),
            }
        }
        // The token keeps the public half to itself: one test signature each.
        for c in unknown {
            let Ok(kt) = c.key_type.clone() else { continue };
            match self.test_sign(session, &c, kt, cert) {
                Ok(()) => return Ok(Some((c, kt))),
                Err(why) => rejected.push((c.name(), why)),
            }
        }
        Ok(None)
    }

    /// Signs a test message with the candidate and verifies it with the certificate.
    fn test_sign(
        &mut self,
        session: &cryptoki::session::Session,
        c: &Candidate,
        kt: KeyType,
        cert: &Certificate<'_>,
    ) -> Result<(), String> {
        const MESSAGE: &[u8] = b"AWS Roles Anywhere Credential Helper PKCS11 Test1";
        let meta = key_meta(self.slot, c, kt, Some(cert));
        let mechs = Mechanisms::choose(self.ctx, self.slot.slot, kt, self.debug)?;
        if c.always_auth && self.raw.is_none() {
            *self.raw = Some(crate::ffi::RawSign::load(self.lib)?);
        }
        let job = SignJob {
            handle: c.handle,
            key: &meta,
            mechs,
            raw: self.raw.as_ref(),
            pins: ContextPins {
                remembered: self.context_pin,
                user: self.user_pin,
                key_uri: &meta.uri,
                debug: self.debug,
            },
        };
        let sig = sign_once(session, job, MESSAGE, Digest::Sha256)
            .map_err(|e| format!("test signature failed: {e}"))?;
        verify(cert, MESSAGE, Digest::Sha256, &sig)
            .map_err(|_| "a different key than the certificate's (test signature)".to_owned())
    }
}

/// One certificate found by [`list`].
#[derive(Debug)]
pub struct Listed {
    /// DER.
    pub der: Vec<u8>,
    /// A URI naming it on its own token.
    pub uri: String,
}

/// `read-certificate-data --certificate pkcs11:...`: every certificate the
/// URI matches, each with a URI of its own (spec 1.11, its bugs fixed). Logs
/// in only with a PIN from the URI; never prompts.
pub fn list(uri_text: &str, lib: Option<&str>, debug: bool) -> Result<Vec<Listed>, Error> {
    let uri = parse_uri("--certificate", uri_text)?;
    let err = |msg: String| Error::flag("--certificate", format!("{}: {msg}", uri.redacted()));
    let lib = module_name(lib, &[Some(&uri)]);
    let ctx = open_module(&lib)?;
    let _finalize = FinalizeOnError(&ctx, true);
    let all = module::slots(&ctx, debug).map_err(|e| {
        Error::flag(
            "--pkcs11-lib",
            format!("{lib}: listing slots failed ({})", module::ckr(&e)),
        )
    })?;
    let slots = matching_slots(&ctx, &uri, &all).map_err(err)?;
    let mut pin = uri_pin(&uri, "--certificate").map_err(|e| Error::flag("--certificate", e))?;
    let found = {
        let mut sessions = Sessions::new(&ctx, debug);
        certs::search(
            &mut sessions,
            &slots,
            &uri,
            PinPolicy::NoPrompt(&mut pin),
            debug,
        )
    };
    match found {
        Ok(found) => Ok(found
            .certs
            .into_iter()
            .filter_map(|c| {
                let desc = slots.get(c.slot)?;
                let uri = object_uri(desc, &c.id, &c.label, "cert");
                Some(Listed { der: c.der, uri })
            })
            .collect()),
        Err(SearchError::NoMatch(why)) => {
            module::debug_log(debug, format_args!("{why}"));
            Ok(Vec::new())
        }
        Err(SearchError::Failed(why)) => Err(err(why)),
    }
}
