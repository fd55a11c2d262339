//! Choosing the signing identity in a PKCS#12 bundle, as the original
//! helper does: the end-entity certificate is the one that issues no other
//! certificate in the bundle; the key must match it; the other certificates
//! follow leaf-most first.

use alloc::vec::Vec;
use core::fmt;

use super::{Pkcs12Contents, Pkcs12Error, parse};
use crate::key::PrivateKey;
use crate::key::encrypted::KdfLimits;
use crate::signer::check_key_matches;
use crate::x509::Certificate;

/// A signing identity out of a PKCS#12 file.
pub struct Pkcs12Identity {
    /// The private key that matches [`Pkcs12Identity::leaf`].
    pub key: PrivateKey,
    /// DER of the end-entity certificate.
    pub leaf: Vec<u8>,
    /// DER of the other certificates, leaf-most first: the issuers of the
    /// leaf in chain order, then any others in file order.
    pub chain: Vec<Vec<u8>>,
}

impl fmt::Debug for Pkcs12Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs12Identity")
            .field("key", &self.key)
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs12Identity {
    /// Parses and decrypts `der`, then selects the leaf, key and chain.
    ///
    /// # Errors
    /// Those of [`parse`], and [`Pkcs12Error::NoKey`],
    /// [`Pkcs12Error::NoCertificate`], [`Pkcs12Error::NoMatchingCertificate`].
    pub fn from_der(der: &[u8], password: &str, limits: &KdfLimits) -> Result<Self, Pkcs12Error> {
        Self::from_contents(parse(der, password, limits)?)
    }

    /// Selects the leaf, key and chain from parsed contents.
    ///
    /// # Errors
    /// See [`Pkcs12Identity::from_der`].
    pub fn from_contents(contents: Pkcs12Contents) -> Result<Self, Pkcs12Error> {
        if contents.certificates.is_empty() {
            return Err(Pkcs12Error::NoCertificate);
        }
        if contents.keys.is_empty() {
            return Err(Pkcs12Error::NoKey);
        }
        let certs = contents
            .certificates
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Pkcs12Error::Malformed("certificate"))?;
        let keys = contents
            .keys
            .iter()
            .map(|der| PrivateKey::from_pkcs8_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Pkcs12Error::Key)?;
        // The end-entity certificate issues no other certificate in the bundle.
        let issues_none = |i: usize, c: &Certificate<'_>| {
            certs
                .iter()
                .enumerate()
                .all(|(j, other)| j == i || !other.is_issued_by(c))
        };
        let mut found = None;
        'outer: for (i, cert) in certs.iter().enumerate() {
            if !issues_none(i, cert) {
                continue;
            }
            for (k, key) in keys.iter().enumerate() {
                if check_key_matches(key, cert).is_ok() {
                    found = Some((i, k));
                    break 'outer;
                }
            }
        }
        let (leaf_index, key_index) = found.ok_or(Pkcs12Error::NoMatchingCertificate)?;
        let mut keys = keys;
        if key_index >= keys.len() {
            return Err(Pkcs12Error::NoKey);
        }
        let key = keys.swap_remove(key_index);

        // Walk issuers from the leaf, then append whatever is left.
        let mut used = alloc::vec![false; certs.len()];
        let mut order = Vec::with_capacity(certs.len());
        if let Some(u) = used.get_mut(leaf_index) {
            *u = true;
        }
        let mut current = leaf_index;
        while let Some(next) = certs.iter().enumerate().position(|(j, c)| {
            !used.get(j).copied().unwrap_or(true)
                && certs.get(current).is_some_and(|cur| cur.is_issued_by(c))
        }) {
            if let Some(u) = used.get_mut(next) {
                *u = true;
            }
            order.push(next);
            current = next;
        }
        order.extend((0..certs.len()).filter(|j| !used.get(*j).copied().unwrap_or(true)));

        let mut ders = contents.certificates;
        let leaf = ders
            .get(leaf_index)
            .cloned()
            .ok_or(Pkcs12Error::NoCertificate)?;
        let chain = order
            .iter()
            .filter_map(|&j| ders.get_mut(j).map(core::mem::take))
            .collect();
        Ok(Pkcs12Identity { key, leaf, chain })
    }
}
