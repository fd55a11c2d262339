//! Choosing the private key (spec 1.6): every private key object the URI
//! matches is a candidate; with a certificate, a candidate must hold the
//! certificate's public key. The check reads the public half from the key
//! object (`CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`, or `CKA_EC_POINT`) and
//! signs a test message only when the token does not tell, once, at start.

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use rolesanywhere_core::x509::{Certificate, KeyType};

use super::keys::{ec_key_type, ec_point, rsa_public_key_der};
use super::module::ckr;
use super::session::describe;

/// What the token says about one private key object.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The object.
    pub handle: ObjectHandle,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_LABEL`.
    pub label: Vec<u8>,
    /// The key type, or why we cannot sign with it.
    pub key_type: Result<KeyType, String>,
    /// `CKA_ALWAYS_AUTHENTICATE`.
    pub always_auth: bool,
    /// `CKA_SIGN` (true when the token does not say).
    pub can_sign: bool,
    /// The public key as certificates hold it (PKCS#1 `RSAPublicKey` DER or
    /// the uncompressed EC point), when the key object reveals it.
    pub public: Option<Vec<u8>>,
    /// RSA modulus length in bytes, when known.
    pub modulus_len: Option<usize>,
}

impl Candidate {
    /// How messages name the key.
    pub fn name(&self) -> String {
        describe(&self.label, &self.id)
    }
}

/// Reads a private key object's attributes.
pub fn read(session: &Session, handle: ObjectHandle) -> Result<Candidate, String> {
    let attrs = session
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::AlwaysAuthenticate,
                AttributeType::Id,
                AttributeType::Label,
                AttributeType::Sign,
                AttributeType::EcParams,
                AttributeType::EcPoint,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
            ],
        )
        .map_err(|e| format!("reading a private key object failed ({})", ckr(&e)))?;
    let mut c = Candidate {
        handle,
        id: Vec::new(),
        label: Vec::new(),
        key_type: Err("no CKA_KEY_TYPE".to_owned()),
        always_auth: false,
        can_sign: true,
        public: None,
        modulus_len: None,
    };
    let (mut raw_type, mut params, mut point, mut modulus, mut exponent) =
        (None, None, None, None, None);
    for a in attrs {
        match a {
            Attribute::KeyType(t) => raw_type = Some(t),
            Attribute::AlwaysAuthenticate(b) => c.always_auth = b,
            Attribute::Id(v) => c.id = v,
            Attribute::Label(v) => c.label = v,
            Attribute::Sign(b) => c.can_sign = b,
            Attribute::EcParams(v) => params = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            _ => {}
        }
    }
    c.key_type = match raw_type {
        Some(t) if t == cryptoki::object::KeyType::RSA => Ok(KeyType::Rsa),
        Some(t) if t == cryptoki::object::KeyType::EC => match params.as_deref() {
            Some(p) => ec_key_type(p).ok_or_else(|| {
                let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
                format!("unsupported EC curve (CKA_EC_PARAMS {hex}; P-256 and P-384 are supported)")
            }),
            None => Err("EC key without CKA_EC_PARAMS".to_owned()),
        },
        Some(t) => Err(format!("unsupported algorithm (CKA_KEY_TYPE {t})")),
        None => Err("unsupported algorithm (no CKA_KEY_TYPE)".to_owned()),
    };
    match (&c.key_type, modulus, exponent, point) {
        (Ok(KeyType::Rsa), Some(n), Some(e), _) if !n.is_empty() && !e.is_empty() => {
            c.modulus_len = Some(n.iter().skip_while(|&&b| b == 0).count());
            c.public = Some(rsa_public_key_der(&n, &e));
        }
        (Ok(kt @ (KeyType::P256 | KeyType::P384)), _, _, Some(p)) => {
            c.public = ec_point(&p, *kt).map(<[u8]>::to_vec);
        }
        _ => {}
    }
    Ok(c)
}

/// Why a candidate is no good before any signing, if it is not.
pub fn unusable(c: &Candidate) -> Option<String> {
    match &c.key_type {
        Err(why) => Some(why.clone()),
        Ok(_) if !c.can_sign => Some("CKA_SIGN is false".to_owned()),
        Ok(_) => None,
    }
}

/// How one candidate compares with the certificate without signing.
#[derive(Debug)]
pub enum Verdict {
    /// The key object holds the certificate's public key.
    Matches,
    /// The token does not reveal the public key: a test signature decides.
    Unknown,
    /// Not the certificate's key, and why.
    No(String),
}

/// Compares a candidate with the certificate.
pub fn compare(c: &Candidate, cert: &Certificate<'_>) -> Verdict {
    if let Some(why) = unusable(c) {
        return Verdict::No(why);
    }
    let Ok(kt) = c.key_type else {
        return Verdict::No("unsupported key".to_owned());
    };
    match cert.key_type() {
        Some(ct) if ct == kt => {}
        Some(ct) => return Verdict::No(format!("{kt} key, {ct} certificate")),
        None => return Verdict::No(format!("{kt} key, certificate of an unsupported key type")),
    }
    match &c.public {
        Some(pk) if pk.as_slice() == cert.public_key() => Verdict::Matches,
        Some(_) => Verdict::No("a different key than the certificate's".to_owned()),
        None => Verdict::Unknown,
    }
}

/// Candidates in the order to try them: keys that need no extra PIN per
/// signature first, then token order. Two objects holding the same key (as
/// a token may keep an always-authenticate copy) then resolve to the one
/// that does not prompt.
pub fn preferred_order(cands: &mut [Candidate]) {
    cands.sort_by_key(|c| c.always_auth);
}

/// One-line summary of why every candidate was rejected.
pub fn summary(rejected: &[(String, String)]) -> String {
    if rejected.is_empty() {
        return "no private key object matches the URI".to_owned();
    }
    let parts: Vec<String> = rejected
        .iter()
        .map(|(name, why)| format!("{name}: {why}"))
        .collect();
    format!("{} candidates: {}", rejected.len(), parts.join("; "))
}

/// Finds a public key object with the same `CKA_ID` and reads its EC point
/// (for `sign-string` without a certificate, when the private key object
/// does not reveal it).
pub fn ec_point_from_public_object(
    session: &Session,
    c: &Candidate,
    kt: KeyType,
) -> Option<Vec<u8>> {
    if c.id.is_empty() {
        return None;
    }
    let tmpl = [
        Attribute::Class(cryptoki::object::ObjectClass::PUBLIC_KEY),
        Attribute::Id(c.id.clone()),
    ];
    let handles = session.find_objects(&tmpl).ok()?;
    let [handle] = handles.as_slice() else {
        return None;
    };
    let attrs = session
        .get_attributes(*handle, &[AttributeType::EcPoint])
        .ok()?;
    attrs.into_iter().find_map(|a| match a {
        Attribute::EcPoint(p) => ec_point(&p, kt).map(<[u8]>::to_vec),
        _ => None,
    })
}
