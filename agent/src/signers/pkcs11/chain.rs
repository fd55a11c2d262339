//! The certificate chain sent with a token's certificate: only certificates
//! that really chain the leaf, in order, without the leaf itself and
//! without the self-signed root (spec 1.10, where the original inverts its
//! issuance test and sends the leaf twice plus unrelated certificates).
//!
//! Issuance is decided by name (the issuer DN of one equals the subject DN
//! of the next, compared as DER); the service checks the signatures.

use rolesanywhere_core::x509::Certificate;

/// Longest chain we build; real PKIs are far shorter.
const MAX_DEPTH: usize = 8;

/// Orders the certificates of `pool` that chain `leaf`, leaf-most first.
pub fn build(leaf: &[u8], pool: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let Ok(mut current) = Certificate::from_der(leaf) else {
        return Vec::new();
    };
    let candidates: Vec<(usize, Certificate<'_>)> = pool
        .iter()
        .enumerate()
        .filter(|(_, der)| der.as_slice() != leaf)
        .filter_map(|(i, der)| Certificate::from_der(der).ok().map(|c| (i, c)))
        .collect();
    let mut used: Vec<usize> = Vec::new();
    let mut chain: Vec<Vec<u8>> = Vec::new();
    while chain.len() < MAX_DEPTH && current.issuer_der() != current.subject_der() {
        let next = candidates.iter().find(|(i, c)| {
            current.is_issued_by(c)
                && !used.contains(i)
                && c.issuer_der() != c.subject_der()
                && !chain.iter().any(|d| d.as_slice() == c.der())
        });
        let Some((i, c)) = next else { break };
        used.push(*i);
        chain.push(c.der().to_vec());
        current = *c;
    }
    chain
}
