//! The answers: CreateSession's 201 body and the error shape.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::http::Response;
use crate::time::format_iso8601;

/// An error answer: status, `X-Amzn-ErrorType`, `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    /// HTTP status.
    pub(crate) status: u16,
    /// The `X-Amzn-ErrorType` header (omitted when empty).
    pub(crate) error_type: String,
    /// The `message` of the JSON body.
    pub(crate) message: String,
}

impl Rejection {
    fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }
    /// 403 AccessDeniedException.
    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDeniedException", message)
    }
    /// 400 ValidationException.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }
    /// 404 for paths other than `/sessions`.
    pub(crate) fn not_found(path: &str) -> Self {
        Self::new(
            404,
            "UnknownOperationException",
            format!("no operation at {path}"),
        )
    }
    /// 405 for methods other than POST on `/sessions`.
    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowedException",
            format!("method {method} is not allowed on /sessions"),
        )
    }
    /// 429 ThrottlingException.
    pub(crate) fn throttled() -> Self {
        Self::new(429, "ThrottlingException", "Rate exceeded")
    }
    /// 500 InternalServerException.
    pub(crate) fn internal() -> Self {
        Self::new(
            500,
            "InternalServerException",
            "Internal server error (simulated by the mock)",
        )
    }

    /// The HTTP response for this error.
    pub(crate) fn to_response(&self, request_id: &str) -> Response {
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("x-amzn-RequestId".to_owned(), request_id.to_owned()),
        ];
        if !self.error_type.is_empty() {
            headers.push(("X-Amzn-ErrorType".to_owned(), self.error_type.clone()));
        }
        Response {
            status: self.status,
            headers,
            body: json!({ "message": self.message }).to_string().into_bytes(),
        }
    }
}

/// What a verified request asked for, as needed to build the answer.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The ARN partition, e.g. `aws`.
    pub(crate) partition: String,
    /// The region of the ARNs.
    pub(crate) region: String,
    /// The account of the trust anchor.
    pub(crate) anchor_account: String,
    /// The role ARN as requested.
    pub(crate) role_arn: String,
    /// The account of the role.
    pub(crate) role_account: String,
    /// The role name (last path segment of the role resource).
    pub(crate) role_name: String,
    /// `roleSessionName` if given, otherwise the certificate serial in hex.
    pub(crate) session_name: String,
    /// `CN=...` of the leaf subject.
    pub(crate) source_identity: String,
    /// SHA-256 of the leaf certificate DER, to derive the subject id.
    pub(crate) cert_digest: [u8; 32],
    /// The granted duration in seconds.
    pub(crate) duration: u64,
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters from `alphabet`, derived from (counter, label) with SHA-256.
pub(crate) fn derive(counter: u64, label: &str, len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    let mut block = 0u64;
    while out.len() < len {
        let digest = Sha256::new()
            .chain_update(b"mock-rolesanywhere\0")
            .chain_update(label.as_bytes())
            .chain_update(counter.to_be_bytes())
            .chain_update(block.to_be_bytes())
            .finalize();
        for b in digest {
            if out.len() == len {
                break;
            }
            let idx = usize::from(b) % alphabet.len();
            out.push(char::from(alphabet.get(idx).copied().unwrap_or(b'A')));
        }
        block += 1;
    }
    out
}

fn uuid_from(d: &[u8; 32]) -> String {
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// The JSON body of a successful CreateSession (spec section 1.4).
///
/// `counter` makes every session different; `token_len` is the `sessionToken` length.
pub(crate) fn session_body(s: &Session, counter: u64, now: u64, token_len: usize) -> String {
    let access_key_id = format!("ASIA{}", derive(counter, "akid", 16, UPPER_ALNUM));
    let secret = derive(counter, "secret", 40, B64);
    // Real tokens start with a base64 protobuf-ish prefix; the rest is opaque.
    let prefix = "IQoJb3JpZ2luX2VjE";
    let token = if token_len > prefix.len() {
        format!(
            "{prefix}{}",
            derive(counter, "token", token_len - prefix.len(), B64)
        )
    } else {
        derive(counter, "token", token_len, B64)
    };
    let role_id = format!("AROA{}", derive(0, &s.role_arn, 17, UPPER_ALNUM));
    let body = json!({
        "credentialSet": [{
            "assumedRoleUser": {
                "arn": format!("arn:{}:sts::{}:assumed-role/{}/{}", s.partition, s.role_account, s.role_name, s.session_name),
                "assumedRoleId": format!("{role_id}:{}", s.session_name),
            },
            "credentials": {
                "accessKeyId": access_key_id,
                "expiration": format_iso8601(now.saturating_add(s.duration)),
                "secretAccessKey": secret,
                "sessionToken": token,
            },
            "packedPolicySize": 0,
            "roleArn": s.role_arn,
            "sourceIdentity": s.source_identity,
        }],
        "subjectArn": format!(
            "arn:{}:rolesanywhere:{}:{}:subject/{}",
            s.partition, s.region, s.anchor_account, uuid_from(&s.cert_digest)
        ),
    });
    body.to_string()
}

/// A 201 response with `body` as JSON.
pub(crate) fn created(body: Vec<u8>, request_id: &str) -> Response {
    Response {
        status: 201,
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("x-amzn-RequestId".to_owned(), request_id.to_owned()),
        ],
        body,
    }
}

/// The default `sessionToken` length (real ones are several hundred characters).
pub(crate) const DEFAULT_TOKEN_LEN: usize = 412;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn session() -> Session {
        Session {
            partition: "aws".into(),
            region: "us-east-1".into(),
            anchor_account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/path/Demo".into(),
            role_account: "123456789012".into(),
            role_name: "Demo".into(),
            session_name: "1234abcd".into(),
            source_identity: "CN=p256 leaf".into(),
            cert_digest: [7; 32],
            duration: 3600,
        }
    }

    #[test]
    fn body_has_the_full_shape() {
        let body = session_body(&session(), 1, 1_700_000_000, DEFAULT_TOKEN_LEN);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let set = &v["credentialSet"][0];
        let creds = &set["credentials"];
        let akid = creds["accessKeyId"].as_str().unwrap();
        assert!(akid.starts_with("ASIA") && akid.len() == 20);
        assert!(
            akid.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(creds["expiration"], "2023-11-14T23:13:20Z");
        assert_eq!(creds["secretAccessKey"].as_str().unwrap().len(), 40);
        assert_eq!(
            creds["sessionToken"].as_str().unwrap().len(),
            DEFAULT_TOKEN_LEN
        );
        assert_eq!(set["packedPolicySize"], 0);
        assert_eq!(set["roleArn"], "arn:aws:iam::123456789012:role/path/Demo");
        assert_eq!(set["sourceIdentity"], "CN=p256 leaf");
        assert_eq!(
            set["assumedRoleUser"]["arn"],
            "arn:aws:sts::123456789012:assumed-role/Demo/1234abcd"
        );
        assert!(
            set["assumedRoleUser"]["assumedRoleId"]
                .as_str()
                .unwrap()
                .starts_with("AROA")
        );
        assert!(
            v["subjectArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:rolesanywhere:us-east-1:123456789012:subject/")
        );
    }

    #[test]
    fn sessions_differ_and_are_deterministic() {
        let a = session_body(&session(), 1, 0, 100);
        let b = session_body(&session(), 2, 0, 100);
        assert_ne!(a, b);
        assert_eq!(a, session_body(&session(), 1, 0, 100));
        let big = session_body(&session(), 3, 0, 70_000);
        let v: serde_json::Value = serde_json::from_str(&big).unwrap();
        assert_eq!(
            v["credentialSet"][0]["credentials"]["sessionToken"]
                .as_str()
                .unwrap()
                .len(),
            70_000
        );
    }

    #[test]
    fn error_shape() {
        let r = Rejection::access_denied("Invalid signature").to_response("rid");
        assert_eq!(r.status, 403);
        assert!(
            r.headers
                .contains(&("X-Amzn-ErrorType".into(), "AccessDeniedException".into()))
        );
        assert_eq!(r.body, br#"{"message":"Invalid signature"}"#);
    }
}
