//! Finding certificates on tokens (spec 1.4): public objects first, then,
//! when nothing is visible and the URI selects one token, again after login.
//!
//! Unlike the original, one unparsable certificate object does not hide the
//! whole token (it is skipped and counted), a failed login is an error
//! instead of an empty result, and "no matching certificates" is reported.

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::Session;
use rolesanywhere_core::pkcs11_uri::Pkcs11Uri;
use rolesanywhere_core::x509::Certificate;

use super::login::Pin;
use super::module::{SlotDesc, ckr, debug_log};
use super::session::{Sessions, find, template};

/// A certificate object found on a token.
#[derive(Debug, Clone)]
pub struct TokenCert {
    /// Index of its slot in the slot list the search was given.
    pub slot: usize,
    /// DER (`CKA_VALUE`), known to parse.
    pub der: Vec<u8>,
    /// `CKA_ID` (empty when absent).
    pub id: Vec<u8>,
    /// `CKA_LABEL` (empty when absent).
    pub label: Vec<u8>,
}

/// What a search saw.
#[derive(Debug, Default)]
pub struct Found {
    /// The certificates, in slot and token order.
    pub certs: Vec<TokenCert>,
    /// Certificate objects whose value is not an X.509 certificate we can parse.
    pub unparsable: usize,
}

/// Reads the certificate objects matching `tmpl` in one session.
pub fn read_certs(
    session: &Session,
    tmpl: &[Attribute],
    slot: usize,
    found: &mut Found,
    debug: bool,
) -> Result<(), String> {
    for handle in find(session, tmpl)? {
        let attrs = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Value,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(|e| format!("reading a certificate object failed ({})", ckr(&e)))?;
        let (mut der, mut id, mut label) = (None, Vec::new(), Vec::new());
        for a in attrs {
            match a {
                Attribute::Value(v) => der = Some(v),
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                _ => {}
            }
        }
        match der {
            Some(der) if Certificate::from_der(&der).is_ok() => {
                found.certs.push(TokenCert {
                    slot,
                    der,
                    id,
                    label,
                });
            }
            _ => {
                debug_log(
                    debug,
                    format_args!(
                        "skipping certificate object {} (not a parsable X.509 certificate)",
                        super::session::describe(&label, &id)
                    ),
                );
                found.unparsable += 1;
            }
        }
    }
    Ok(())
}

/// How the certificate search may get a PIN when it must log in.
pub enum PinPolicy<'p> {
    /// Use this PIN (from a URI), or ask on the terminal when there is none.
    PromptIfMissing(&'p mut Option<Pin>),
    /// Use this PIN if there is one; never ask (`read-certificate-data`).
    NoPrompt(&'p mut Option<Pin>),
}

/// Why a search found nothing.
#[derive(Debug)]
pub enum SearchError {
    /// Nothing matches (the message says where we looked).
    NoMatch(String),
    /// The search could not be done (login, token errors, no PIN).
    Failed(String),
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchError::NoMatch(s) | SearchError::Failed(s) => f.write_str(s),
        }
    }
}

/// Looks for the certificates `uri` names on `slots` (those the URI selects).
pub fn search(
    sessions: &mut Sessions<'_>,
    slots: &[&SlotDesc],
    uri: &Pkcs11Uri<'_>,
    pin: PinPolicy<'_>,
    debug: bool,
) -> Result<Found, SearchError> {
    let tmpl = template(ObjectClass::CERTIFICATE, Some(uri));
    let mut found = Found::default();
    for (i, desc) in slots.iter().enumerate() {
        // A token that fails here is skipped, as the original does; the
        // error shows with --debug.
        let result = sessions
            .get(desc.slot)
            .and_then(|session| read_certs(session, &tmpl, i, &mut found, debug));
        if let Err(e) = result {
            debug_log(debug, format_args!("{}: {e}", desc.name()));
        }
    }
    if !found.certs.is_empty() {
        return Ok(found);
    }
    // Private certificate objects: only visible after login, and only tried
    // when the URI selects one token (we never send PINs to several).
    let [desc] = slots else {
        return Err(SearchError::NoMatch(format!(
            "no matching certificates among the public objects of {} matching slots \
             (to search private objects, select one token with token= or serial=)",
            slots.len()
        )));
    };
    if !desc.token.login_required() || sessions.logged_in(desc.slot) {
        return Err(SearchError::NoMatch(no_certs(&found)));
    }
    let login = match pin {
        PinPolicy::PromptIfMissing(pin) => sessions.login(desc, pin),
        PinPolicy::NoPrompt(pin) if pin.is_none() => Err(
            "one matching slot, but no user PIN provided (add ?pin-value= to the URI)".to_owned(),
        ),
        PinPolicy::NoPrompt(pin) => sessions.login(desc, pin),
    };
    login.map_err(|e| {
        SearchError::Failed(format!(
            "{} among the public objects of {}; logging in to search private ones: {e}",
            no_certs(&found),
            desc.name()
        ))
    })?;
    let session = sessions.get(desc.slot).map_err(SearchError::Failed)?;
    // The public objects are seen again: count from scratch.
    found.unparsable = 0;
    read_certs(session, &tmpl, 0, &mut found, debug).map_err(SearchError::Failed)?;
    if found.certs.is_empty() {
        return Err(SearchError::NoMatch(no_certs(&found)));
    }
    Ok(found)
}

fn no_certs(found: &Found) -> String {
    match found.unparsable {
        0 => "no matching certificates".to_owned(),
        n => format!(
            "no matching certificates ({n} matching objects are not parsable X.509 certificates)"
        ),
    }
}

/// Every parsable certificate on the token of `session` (the chain pool).
pub fn all_certs(session: &Session, debug: bool) -> Vec<Vec<u8>> {
    let mut found = Found::default();
    let tmpl = template(ObjectClass::CERTIFICATE, None);
    if let Err(e) = read_certs(session, &tmpl, 0, &mut found, debug) {
        debug_log(
            debug,
            format_args!("listing certificates for the chain: {e}"),
        );
    }
    found.certs.into_iter().map(|c| c.der).collect()
}
