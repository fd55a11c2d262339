//! Parsing the `CreateSession` answer into fixed-capacity buffers.
//!
//! The JSON is read once with `serde-json-core`, borrowing each string still
//! escaped; then each of the four fields we use is unescaped into its own
//! bounded buffer, so an error names the field that is missing or too long.
//! Unknown fields are ignored, and only the first credential set is used, as
//! the original helper does.

use core::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde_json_core::str::{EscapedStr, EscapedStringFragment};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::time::UnixTime;

/// Capacity of `accessKeyId`, in bytes (AWS documents at most 128).
pub const ACCESS_KEY_ID_CAPACITY: usize = 128;
/// Capacity of `secretAccessKey`, in bytes.
pub const SECRET_ACCESS_KEY_CAPACITY: usize = 128;
/// Capacity of `sessionToken`, in bytes. STS does not promise a size; tokens
/// seen in practice are 600 to 2,500 bytes, so this leaves ample room.
pub const SESSION_TOKEN_CAPACITY: usize = 8192;

/// Temporary AWS credentials. Zeroized on drop; `Debug` shows only the key id.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Credentials {
    access_key_id: heapless::String<ACCESS_KEY_ID_CAPACITY>,
    secret_access_key: heapless::String<SECRET_ACCESS_KEY_CAPACITY>,
    session_token: heapless::String<SESSION_TOKEN_CAPACITY>,
    #[zeroize(skip)]
    expiration: UnixTime,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id.as_str())
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Builds credentials from parts (used by tests and by callers that
    /// obtained them elsewhere). Fails if a part exceeds its capacity.
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
        expiration: UnixTime,
    ) -> Result<Self, ResponseError> {
        let mut c = Credentials {
            access_key_id: heapless::String::new(),
            secret_access_key: heapless::String::new(),
            session_token: heapless::String::new(),
            expiration,
        };
        c.access_key_id
            .push_str(access_key_id)
            .map_err(|_| ResponseError::TooLong("accessKeyId", ACCESS_KEY_ID_CAPACITY))?;
        c.secret_access_key
            .push_str(secret_access_key)
            .map_err(|_| ResponseError::TooLong("secretAccessKey", SECRET_ACCESS_KEY_CAPACITY))?;
        c.session_token
            .push_str(session_token)
            .map_err(|_| ResponseError::TooLong("sessionToken", SESSION_TOKEN_CAPACITY))?;
        Ok(c)
    }

    /// The access key id (`ASIA...`).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key. Never log it.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token. Never log it.
    pub fn session_token(&self) -> &str {
        &self.session_token
    }

    /// When the credentials expire.
    pub fn expiration(&self) -> UnixTime {
        self.expiration
    }
}

/// Why an answer could not be turned into credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The body is not JSON of the expected shape.
    Malformed,
    /// `credentialSet` is missing or empty.
    NoCredentials,
    /// A field we need is missing.
    Missing(&'static str),
    /// A field is longer than its buffer (field, capacity).
    TooLong(&'static str, usize),
    /// A field holds an invalid JSON escape or is empty.
    Invalid(&'static str),
    /// `expiration` is not an RFC 3339 timestamp.
    BadExpiration,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed => {
                f.write_str("CreateSession response is not valid JSON of the expected shape")
            }
            ResponseError::NoCredentials => {
                f.write_str("unable to obtain temporary security credentials from CreateSession")
            }
            ResponseError::Missing(field) => write!(f, "CreateSession response has no `{field}`"),
            ResponseError::TooLong(field, cap) => {
                write!(
                    f,
                    "CreateSession response field `{field}` is longer than {cap} bytes"
                )
            }
            ResponseError::Invalid(field) => write!(
                f,
                "CreateSession response field `{field}` is empty or badly escaped"
            ),
            ResponseError::BadExpiration => f.write_str(
                "CreateSession response field `expiration` is not an RFC 3339 timestamp",
            ),
        }
    }
}

impl core::error::Error for ResponseError {}

#[derive(Deserialize)]
struct RawResponse<'a> {
    #[serde(rename = "credentialSet", borrow, default)]
    credential_set: Option<FirstOf<RawCredentialSet<'a>>>,
}

#[derive(Deserialize)]
struct RawCredentialSet<'a> {
    #[serde(borrow, default)]
    credentials: Option<RawCredentials<'a>>,
}

#[derive(Deserialize)]
struct RawCredentials<'a> {
    #[serde(rename = "accessKeyId", borrow, default)]
    access_key_id: Option<EscapedStr<'a>>,
    #[serde(rename = "secretAccessKey", borrow, default)]
    secret_access_key: Option<EscapedStr<'a>>,
    #[serde(rename = "sessionToken", borrow, default)]
    session_token: Option<EscapedStr<'a>>,
    #[serde(borrow, default)]
    expiration: Option<EscapedStr<'a>>,
}

/// The first element of a JSON array; the rest are skipped.
struct FirstOf<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstOf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(core::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = FirstOf<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstOf<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstOf(first))
            }
        }
        d.deserialize_seq(V(core::marker::PhantomData))
    }
}

fn unescape<const N: usize>(
    out: &mut heapless::String<N>,
    raw: Option<EscapedStr<'_>>,
    field: &'static str,
) -> Result<(), ResponseError> {
    let raw = raw.ok_or(ResponseError::Missing(field))?;
    for fragment in raw.fragments() {
        let res = match fragment.map_err(|_| ResponseError::Invalid(field))? {
            EscapedStringFragment::NotEscaped(s) => out.push_str(s),
            EscapedStringFragment::Escaped(c) => out.push(c),
        };
        res.map_err(|_| ResponseError::TooLong(field, N))?;
    }
    if out.is_empty() {
        return Err(ResponseError::Invalid(field));
    }
    Ok(())
}

/// Parses a successful (2xx) `CreateSession` body.
pub fn parse_response(body: &[u8]) -> Result<Credentials, ResponseError> {
    let (raw, _) = serde_json_core::from_slice::<RawResponse<'_>>(body)
        .map_err(|_| ResponseError::Malformed)?;
    let set = raw
        .credential_set
        .and_then(|s| s.0)
        .ok_or(ResponseError::NoCredentials)?;
    let c = set
        .credentials
        .ok_or(ResponseError::Missing("credentials"))?;
    let mut out = Credentials {
        access_key_id: heapless::String::new(),
        secret_access_key: heapless::String::new(),
        session_token: heapless::String::new(),
        expiration: UnixTime(0),
    };
    unescape(&mut out.access_key_id, c.access_key_id, "accessKeyId")?;
    unescape(
        &mut out.secret_access_key,
        c.secret_access_key,
        "secretAccessKey",
    )?;
    unescape(&mut out.session_token, c.session_token, "sessionToken")?;
    let mut expiration = heapless::String::<40>::new();
    unescape(&mut expiration, c.expiration, "expiration").map_err(|e| match e {
        ResponseError::TooLong(..) => ResponseError::BadExpiration,
        other => other,
    })?;
    out.expiration =
        UnixTime::parse_rfc3339(&expiration).map_err(|_| ResponseError::BadExpiration)?;
    Ok(out)
}

/// The service's error message, from `{"message":"..."}` (or `Message`).
pub fn parse_error_message(body: &[u8]) -> Option<heapless::String<256>> {
    #[derive(Deserialize)]
    struct RawError<'a> {
        #[serde(borrow, default)]
        message: Option<EscapedStr<'a>>,
        #[serde(rename = "Message", borrow, default)]
        message_upper: Option<EscapedStr<'a>>,
    }
    let (raw, _) = serde_json_core::from_slice::<RawError<'_>>(body).ok()?;
    let mut out = heapless::String::<256>::new();
    let msg = raw.message.or(raw.message_upper)?;
    for fragment in msg.fragments() {
        let ok = match fragment.ok()? {
            EscapedStringFragment::NotEscaped(s) => {
                s.chars().all(|c| out.push(sanitize(c)).is_ok())
            }
            EscapedStringFragment::Escaped(c) => out.push(sanitize(c)).is_ok(),
        };
        if !ok {
            break;
        }
    }
    Some(out)
}

// Error messages end up on one line of stderr.
fn sanitize(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    const FULL: &str = r#"{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/r/s","assumedRoleId":"AROA:s"},"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"2026-12-04T18:00:00.000Z","secretAccessKey":"c2VjcmV0\/key","sessionToken":"FwoGZXIvYXdzE\u0041=="},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/r","sourceIdentity":"CN=x"},{"credentials":{}}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/x","enrichedServerAttributes":{"a":[1,2,{"b":null}]}}"#;

    #[test]
    fn parses_the_full_shape_and_unescapes() {
        let c = parse_response(FULL.as_bytes()).unwrap();
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key(), "c2VjcmV0/key");
        assert_eq!(c.session_token(), "FwoGZXIvYXdzEA==");
        assert_eq!(&c.expiration().iso8601(), b"2026-12-04T18:00:00Z");
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(
            parse_response(b"<html>").unwrap_err(),
            ResponseError::Malformed
        );
        assert_eq!(
            parse_response(b"{}").unwrap_err(),
            ResponseError::NoCredentials
        );
        assert_eq!(
            parse_response(br#"{"credentialSet":[]}"#).unwrap_err(),
            ResponseError::NoCredentials
        );
        assert_eq!(
            parse_response(br#"{"credentialSet":[{}]}"#).unwrap_err(),
            ResponseError::Missing("credentials")
        );
        let no_secret = br#"{"credentialSet":[{"credentials":{"accessKeyId":"A","sessionToken":"t","expiration":"2026-12-04T18:00:00Z"}}]}"#;
        assert_eq!(
            parse_response(no_secret).unwrap_err(),
            ResponseError::Missing("secretAccessKey")
        );
        let bad_exp = br#"{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"s","sessionToken":"t","expiration":"tomorrow"}}]}"#;
        assert_eq!(
            parse_response(bad_exp).unwrap_err(),
            ResponseError::BadExpiration
        );
    }

    #[test]
    fn refuses_a_token_longer_than_its_buffer() {
        let token = "A".repeat(SESSION_TOKEN_CAPACITY + 1);
        let body = format!(
            r#"{{"credentialSet":[{{"credentials":{{"accessKeyId":"A","secretAccessKey":"s","sessionToken":"{token}","expiration":"2026-12-04T18:00:00Z"}}}}]}}"#
        );
        assert_eq!(
            parse_response(body.as_bytes()).unwrap_err(),
            ResponseError::TooLong("sessionToken", SESSION_TOKEN_CAPACITY)
        );
    }

    #[test]
    fn reads_error_messages() {
        assert_eq!(
            parse_error_message(br#"{"message":"Invalid signature"}"#)
                .unwrap()
                .as_str(),
            "Invalid signature"
        );
        assert_eq!(
            parse_error_message(br#"{"Message":"a\nb"}"#)
                .unwrap()
                .as_str(),
            "a b"
        );
        assert!(parse_error_message(b"<html>").is_none());
    }
}
