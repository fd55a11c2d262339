//! The verification of one `CreateSession` request, step by step.

use base64ct::{Base64, Encoding as _};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::chain::{Cert, ChainError, verify_chain};
use crate::http::Request;
use crate::response::{Rejection, Session};
use crate::sigv4::{
    Authorization, canonical_request, parse_authorization, parse_query, string_to_sign,
};

/// What the verifier needs besides the request.
pub(crate) struct Context<'a> {
    /// The trust anchors.
    pub(crate) anchors: &'a [Cert],
    /// The expected region.
    pub(crate) region: &'a str,
    /// Allowed distance between X-Amz-Date and `now`, in seconds.
    pub(crate) max_skew: u64,
    /// The current time, Unix seconds.
    pub(crate) now: u64,
}

/// The result of verifying a request, with the intermediate strings for debugging.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The session to grant, or the error to answer.
    pub(crate) result: Result<Session, Rejection>,
    /// The rebuilt canonical request, when verification got that far.
    pub(crate) canonical_request: Option<String>,
    /// The rebuilt string to sign, when verification got that far.
    pub(crate) string_to_sign: Option<String>,
}

/// Headers a request must sign (plus `x-amz-x509-chain` when sent).
const MUST_SIGN: [&str; 4] = ["content-type", "host", "x-amz-date", "x-amz-x509"];
/// The only path served.
pub(crate) const SESSIONS_PATH: &str = "/sessions";

/// Verifies `req` completely; see the crate docs for the rules.
pub(crate) fn verify(req: &Request, ctx: &Context<'_>) -> Outcome {
    let mut out = Outcome {
        result: Err(Rejection::internal()),
        canonical_request: None,
        string_to_sign: None,
    };
    out.result = verify_inner(req, ctx, &mut out);
    out
}

fn required<'a>(req: &'a Request, name: &str) -> Result<&'a str, Rejection> {
    match req.single_header(name)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ if name.eq_ignore_ascii_case("authorization") => {
            Err(Rejection::access_denied("Missing Authorization header"))
        }
        _ => Err(Rejection::validation(format!(
            "Missing required header {name}"
        ))),
    }
}

fn verify_inner(req: &Request, ctx: &Context<'_>, out: &mut Outcome) -> Result<Session, Rejection> {
    if req.path != SESSIONS_PATH {
        return Err(Rejection::not_found(&req.path));
    }
    if req.method != "POST" {
        return Err(Rejection::method_not_allowed(&req.method));
    }
    // 1. Required headers.
    required(req, "Host")?;
    let amz_date = required(req, "X-Amz-Date")?;
    let x509 = required(req, "X-Amz-X509")?;
    let authorization = required(req, "Authorization")?;
    let content_type = required(req, "Content-Type")?;
    let chain_header = req.single_header("X-Amz-X509-Chain")?;
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json")
        && !media_type.eq_ignore_ascii_case("application/x-amz-json-1.0")
    {
        return Err(Rejection::validation(format!(
            "Unsupported Content-Type {content_type}"
        )));
    }

    // 2. Authorization, date and scope.
    let auth = parse_authorization(authorization)?;
    let Some(signed_at) = crate::time::parse_amz_date(amz_date) else {
        return Err(Rejection::access_denied(
            "X-Amz-Date must be YYYYMMDDTHHMMSSZ",
        ));
    };
    if signed_at.abs_diff(ctx.now) > ctx.max_skew {
        return Err(Rejection::access_denied(format!(
            "Signature expired: X-Amz-Date {amz_date} is more than {} s from the server time {}",
            ctx.max_skew,
            crate::time::format_iso8601(ctx.now)
        )));
    }
    check_scope(&auth, amz_date, ctx.region)?;

    // The leaf: key type, algorithm, serial.
    let leaf = decode_cert(x509, "X-Amz-X509")?;
    let Some(kind) = leaf.key_kind() else {
        return Err(Rejection::access_denied("Unsupported certificate key type"));
    };
    if auth.algorithm != kind.algorithm() {
        return Err(Rejection::access_denied(format!(
            "Algorithm {} does not match the certificate key (expected {})",
            auth.algorithm,
            kind.algorithm()
        )));
    }
    let serial = leaf.serial_decimal();
    if auth.serial != serial {
        return Err(Rejection::access_denied(format!(
            "Credential serial {} does not match the X-Amz-X509 certificate serial {serial}",
            auth.serial
        )));
    }
    check_signed_headers(&auth.signed_headers, chain_header.is_some())?;

    // 3. Canonical request, string to sign, signature.
    let creq = canonical_request(
        &req.method,
        &req.path,
        &req.query,
        &req.headers,
        &auth.signed_headers,
        &req.body,
    )?;
    let sts = string_to_sign(&auth.algorithm, amz_date, &auth.scope(), &creq);
    out.canonical_request = Some(creq);
    out.string_to_sign = Some(sts.clone());
    if !leaf.verify_sigv4(sts.as_bytes(), &auth.signature) {
        return Err(Rejection::access_denied("Invalid signature"));
    }

    // 4. Chain to a trust anchor.
    let intermediates = match chain_header {
        Some(v) => v
            .split(',')
            .map(|part| decode_cert(part.trim(), "X-Amz-X509-Chain"))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    match verify_chain(&leaf, &intermediates, ctx.anchors, ctx.now) {
        Ok(()) => {}
        Err(ChainError::Untrusted) => {
            return Err(Rejection::access_denied("Untrusted signing certificate"));
        }
        Err(ChainError::Expired) => return Err(Rejection::access_denied("Certificate expired")),
    }

    // 5. Parameters and body.
    let body = parse_body(&req.body)?;
    let params = Params::collect(req, &body)?;
    let anchor = parse_rolesanywhere_arn(
        &params.trust_anchor,
        "trustAnchorArn",
        "trust-anchor/",
        ctx.region,
    )?;
    let profile = parse_rolesanywhere_arn(&params.profile, "profileArn", "profile/", ctx.region)?;
    if anchor.account != profile.account || anchor.partition != profile.partition {
        return Err(Rejection::validation(
            "trustAnchorArn and profileArn must be in the same account",
        ));
    }
    let (role_account, role_name) = parse_role_arn(&params.role)?;
    let duration = duration_of(&body)?;
    let session_name = match body.get("roleSessionName") {
        None => leaf.serial_hex(),
        Some(Value::String(s)) if valid_session_name(s) => s.clone(),
        Some(_) => {
            return Err(Rejection::validation(
                "roleSessionName must be 2 to 64 characters of letters, digits and +=,.@_-",
            ));
        }
    };
    Ok(Session {
        partition: anchor.partition,
        region: anchor.region,
        anchor_account: anchor.account,
        role_arn: params.role.clone(),
        role_account,
        role_name,
        session_name,
        source_identity: leaf.source_identity(),
        cert_digest: Sha256::digest(&leaf.der).into(),
        duration,
    })
}

fn check_scope(auth: &Authorization, amz_date: &str, region: &str) -> Result<(), Rejection> {
    let want_date = amz_date.get(..8).unwrap_or_default();
    if auth.date != want_date {
        return Err(Rejection::access_denied(format!(
            "Credential date {} does not match X-Amz-Date {amz_date}",
            auth.date
        )));
    }
    if auth.region != region || auth.service != "rolesanywhere" || auth.terminator != "aws4_request"
    {
        return Err(Rejection::access_denied(format!(
            "Credential should be scoped to {want_date}/{region}/rolesanywhere/aws4_request, not {}",
            auth.scope()
        )));
    }
    Ok(())
}

fn check_signed_headers(signed: &[String], chain_sent: bool) -> Result<(), Rejection> {
    for name in signed {
        if name.is_empty() || name.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(Rejection::access_denied(
                "SignedHeaders must be lowercase header names",
            ));
        }
    }
    if signed.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(Rejection::access_denied(
            "SignedHeaders must be sorted and without duplicates",
        ));
    }
    let chain = chain_sent.then_some("x-amz-x509-chain");
    for must in MUST_SIGN.iter().copied().chain(chain) {
        if !signed.iter().any(|s| s == must) {
            return Err(Rejection::access_denied(format!(
                "SignedHeaders must include {must}"
            )));
        }
    }
    Ok(())
}

fn decode_cert(b64: &str, header: &str) -> Result<Cert, Rejection> {
    let der = Base64::decode_vec(b64)
        .map_err(|_| Rejection::validation(format!("{header} is not valid base64")))?;
    Cert::from_der(&der).map_err(|e| Rejection::validation(format!("{header}: {e}")))
}

fn parse_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, Rejection> {
    const KNOWN: [&str; 7] = [
        "durationSeconds",
        "roleSessionName",
        "instanceProperties",
        "sessionName",
        "profileArn",
        "roleArn",
        "trustAnchorArn",
    ];
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::validation(format!("Request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Rejection::validation("Request body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(Rejection::validation(format!(
            "Unknown body member {unknown}"
        )));
    }
    if let Some(props) = map.get("instanceProperties") {
        let ok = matches!(props, Value::Object(m) if m.values().all(Value::is_string));
        if !ok {
            return Err(Rejection::validation(
                "instanceProperties must map strings to strings",
            ));
        }
    }
    Ok(map)
}

fn duration_of(body: &serde_json::Map<String, Value>) -> Result<u64, Rejection> {
    let Some(v) = body.get("durationSeconds") else {
        return Ok(3600);
    };
    match v.as_u64() {
        Some(n) if (900..=43_200).contains(&n) => Ok(n),
        _ => Err(Rejection::validation(format!(
            "durationSeconds must be an integer from 900 to 43200, got {v}"
        ))),
    }
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

/// The three ARNs, from the query string or else from the JSON body.
struct Params {
    trust_anchor: String,
    profile: String,
    role: String,
}

impl Params {
    fn collect(req: &Request, body: &serde_json::Map<String, Value>) -> Result<Self, Rejection> {
        let query = parse_query(&req.query)?;
        let get = |name: &str| -> Result<String, Rejection> {
            let mut found = query.iter().filter(|(k, _)| k == name.as_bytes());
            match (found.next(), found.next()) {
                (Some(_), Some(_)) => Err(Rejection::validation(format!(
                    "Parameter {name} given more than once"
                ))),
                (Some((_, v)), None) => String::from_utf8(v.clone())
                    .map_err(|_| Rejection::validation(format!("Parameter {name} is not UTF-8"))),
                (None, _) => match body.get(name) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(Rejection::validation(format!(
                        "Parameter {name} must be a string"
                    ))),
                    None => Err(Rejection::validation(format!(
                        "Missing required parameter {name}"
                    ))),
                },
            }
        };
        Ok(Self {
            profile: get("profileArn")?,
            role: get("roleArn")?,
            trust_anchor: get("trustAnchorArn")?,
        })
    }
}

/// The parts of a Roles Anywhere ARN the answer needs.
struct RaArn {
    partition: String,
    region: String,
    account: String,
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

fn is_partition(s: &str) -> bool {
    s == "aws" || s.strip_prefix("aws-").is_some_and(|rest| !rest.is_empty())
}

/// `arn:aws[-x]:rolesanywhere:REGION:ACCOUNT:<kind>ID`, with REGION equal to `region`.
fn parse_rolesanywhere_arn(
    arn: &str,
    name: &str,
    kind: &str,
    region: &str,
) -> Result<RaArn, Rejection> {
    let bad = || Rejection::validation(format!("{name} is not a valid ARN: {arn}"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [
        "arn",
        partition,
        "rolesanywhere",
        arn_region,
        account,
        resource,
    ] = parts.as_slice()
    else {
        return Err(bad());
    };
    let id = resource.strip_prefix(kind).ok_or_else(bad)?;
    if !is_partition(partition)
        || arn_region.is_empty()
        || !is_account(account)
        || id.is_empty()
        || arn.len() > 1011
    {
        return Err(bad());
    }
    if *arn_region != region {
        return Err(Rejection::validation(format!(
            "{name} region {arn_region} does not match the endpoint region {region}"
        )));
    }
    Ok(RaArn {
        partition: (*partition).to_owned(),
        region: (*arn_region).to_owned(),
        account: (*account).to_owned(),
    })
}

/// `arn:aws[-x]:iam::ACCOUNT:role/[PATH/]NAME` into (account, name).
fn parse_role_arn(arn: &str) -> Result<(String, String), Rejection> {
    let bad = || Rejection::validation(format!("roleArn is not a valid role ARN: {arn}"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "iam", "", account, resource] = parts.as_slice() else {
        return Err(bad());
    };
    let path = resource.strip_prefix("role/").ok_or_else(bad)?;
    let name = path.rsplit('/').next().unwrap_or_default();
    if !is_partition(partition) || !is_account(account) || name.is_empty() {
        return Err(bad());
    }
    Ok(((*account).to_owned(), name.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn arn_shapes() {
        let ok = parse_rolesanywhere_arn(
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/abc",
            "trustAnchorArn",
            "trust-anchor/",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            (ok.partition.as_str(), ok.account.as_str()),
            ("aws", "123456789012")
        );
        for bad in [
            "arn:aws:rolesanywhere:us-east-1:123456789012:profile/abc",
            "arn:aws:rolesanywhere:us-east-1:12345678901:trust-anchor/abc",
            "arn:aws:rolesanywhere:us-west-2:123456789012:trust-anchor/abc",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/",
            "arn:awsx:rolesanywhere:us-east-1:123456789012:trust-anchor/abc",
            "arn:aws:iam:us-east-1:123456789012:trust-anchor/abc",
            "nonsense",
        ] {
            assert!(
                parse_rolesanywhere_arn(bad, "t", "trust-anchor/", "us-east-1").is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::123456789012:role/a/b/Name").unwrap(),
            ("123456789012".to_owned(), "Name".to_owned())
        );
        for bad in [
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:role/x",
        ] {
            assert!(parse_role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signed_header_rules() {
        let v = |s: &str| s.split(';').map(str::to_owned).collect::<Vec<_>>();
        assert!(check_signed_headers(&v("content-type;host;x-amz-date;x-amz-x509"), false).is_ok());
        assert!(check_signed_headers(&v("content-type;host;x-amz-date;x-amz-x509"), true).is_err());
        assert!(
            check_signed_headers(
                &v("content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain"),
                true
            )
            .is_ok()
        );
        assert!(
            check_signed_headers(&v("host;content-type;x-amz-date;x-amz-x509"), false).is_err()
        );
        assert!(
            check_signed_headers(&v("content-type;Host;x-amz-date;x-amz-x509"), false).is_err()
        );
        assert!(
            check_signed_headers(&v("content-type;host;host;x-amz-date;x-amz-x509"), false)
                .is_err()
        );
        assert!(check_signed_headers(&v("content-type;x-amz-date;x-amz-x509"), false).is_err());
        assert!(
            check_signed_headers(&v("a;content-type;host;x-amz-date;x-amz-x509"), false).is_ok()
        );
    }

    #[test]
    fn body_rules() {
        assert_eq!(
            duration_of(&parse_body(br#"{"durationSeconds":900}"#).unwrap()).unwrap(),
            900
        );
        assert_eq!(duration_of(&parse_body(br"{}").unwrap()).unwrap(), 3600);
        for bad in [
            r#"{"durationSeconds":899}"#,
            r#"{"durationSeconds":43201}"#,
            r#"{"durationSeconds":"3600"}"#,
            r#"{"durationSeconds":1.5}"#,
        ] {
            assert!(
                duration_of(&parse_body(bad.as_bytes()).unwrap()).is_err(),
                "{bad}"
            );
        }
        assert!(parse_body(b"").is_err());
        assert!(parse_body(b"[]").is_err());
        assert!(parse_body(br#"{"extra":1}"#).is_err());
        assert!(parse_body(br#"{"instanceProperties":{"a":1}}"#).is_err());
        assert!(parse_body(br#"{"instanceProperties":{"a":"b"}}"#).is_ok());
        assert!(valid_session_name("my-session@x.y"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("has space"));
    }
}
