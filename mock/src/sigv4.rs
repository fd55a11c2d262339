//! SigV4 canonicalisation, rebuilt from the received request (independently of
//! `rolesanywhere-core`).
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
//!                    (name:value \n for each signed header) \n SignedHeaders \n hex(SHA256(body))
//! StringToSign     = Algorithm \n X-Amz-Date \n Scope \n hex(SHA256(CanonicalRequest))
//! Authorization    = Algorithm Credential=<serial>/<scope>, SignedHeaders=a;b, Signature=<hex>
//! ```

use sha2::{Digest, Sha256};

use crate::response::Rejection;

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes lowercase hex; `None` on odd length or any other character.
pub(crate) fn unhex_lower(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| match p {
            [h, l] => Some((nibble(*h)? << 4) | nibble(*l)?),
            _ => None,
        })
        .collect()
}

/// Hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SigV4 URI encoding: `A-Z a-z 0-9 - _ . ~` kept, every other byte `%XX` (uppercase).
/// With `keep_slash`, `/` is kept too (for paths).
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes `s`; `+` becomes a space (form encoding, as Go's `url.Values` sends it).
/// `None` on a malformed escape.
pub(crate) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hi = char::from(*b.get(i + 1)?).to_digit(16)?;
                let lo = char::from(*b.get(i + 2)?).to_digit(16)?;
                out.push(u8::try_from((hi << 4) | lo).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Decoded (key, value) query parameters.
pub(crate) type QueryParams = Vec<(Vec<u8>, Vec<u8>)>;

/// The query parameters, decoded, in the order received.
pub(crate) fn parse_query(raw: &str) -> Result<QueryParams, Rejection> {
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (Some(k), Some(v)) = (percent_decode(k), percent_decode(v)) else {
            return Err(Rejection::validation(
                "malformed percent-encoding in the query string",
            ));
        };
        out.push((k, v));
    }
    Ok(out)
}

/// The canonical query string: each key and value URI-encoded, sorted by key then value.
pub(crate) fn canonical_query(params: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut enc: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value for the canonical request: trimmed, inner runs of spaces collapsed.
pub(crate) fn canonical_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut prev_space = false;
    for c in v.trim_matches([' ', '\t']).chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

/// Builds the canonical request from the received parts.
///
/// `headers` are all received headers (name, value); a repeated header's values are
/// joined with `,` in the order received. Every name in `signed` must be present.
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    signed: &[String],
    body: &[u8],
) -> Result<String, Rejection> {
    let mut out = format!("{method}\n{}\n", uri_encode(path.as_bytes(), true));
    out.push_str(&canonical_query(&parse_query(raw_query)?));
    out.push('\n');
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| canonical_header_value(v))
            .collect();
        if values.is_empty() {
            return Err(Rejection::access_denied(format!(
                "Invalid signature: signed header {name} is not in the request"
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    out.push_str(&sha256_hex(body));
    Ok(out)
}

/// The string to sign.
pub(crate) fn string_to_sign(
    algorithm: &str,
    amz_date: &str,
    scope: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    /// e.g. `AWS4-X509-ECDSA-SHA256`.
    pub(crate) algorithm: String,
    /// The certificate serial in decimal, as sent.
    pub(crate) serial: String,
    /// `YYYYMMDD`.
    pub(crate) date: String,
    /// The scope region.
    pub(crate) region: String,
    /// The scope service (must be `rolesanywhere`).
    pub(crate) service: String,
    /// The scope terminator (must be `aws4_request`).
    pub(crate) terminator: String,
    /// The signed header names, as sent.
    pub(crate) signed_headers: Vec<String>,
    /// The signature bytes.
    pub(crate) signature: Vec<u8>,
}

impl Authorization {
    /// `DATE/REGION/SERVICE/aws4_request`.
    pub(crate) fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// Parses `ALG Credential=S/D/R/rolesanywhere/aws4_request, SignedHeaders=a;b, Signature=hex`.
pub(crate) fn parse_authorization(value: &str) -> Result<Authorization, Rejection> {
    let bad =
        |why: &str| Rejection::access_denied(format!("Malformed Authorization header: {why}"));
    let (algorithm, rest) = value
        .split_once(' ')
        .ok_or_else(|| bad("no credential part"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| bad("a part without '='"))?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(bad("unknown part")),
        };
        if slot.replace(v).is_some() {
            return Err(bad("a repeated part"));
        }
    }
    let credential = credential.ok_or_else(|| bad("no Credential"))?;
    let signed = signed.ok_or_else(|| bad("no SignedHeaders"))?;
    let signature = signature.ok_or_else(|| bad("no Signature"))?;
    let fields: Vec<&str> = credential.split('/').collect();
    let [serial, date, region, service, terminator] = fields.as_slice() else {
        return Err(bad(
            "Credential must be SERIAL/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    let signature = unhex_lower(signature).ok_or_else(|| bad("Signature must be lowercase hex"))?;
    if signature.is_empty() {
        return Err(bad("empty Signature"));
    }
    Ok(Authorization {
        algorithm: algorithm.to_owned(),
        serial: (*serial).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        terminator: (*terminator).to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature,
    })
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
