//! What the AWS SDKs read: `credential_process` JSON, IMDS credential JSON,
//! and the fixed string `sign-string` prints.
//!
//! Strings are escaped as Go's `encoding/json` escapes them (including
//! `<`, `>` and `&` as `\u003c` ...), so our output is byte-for-byte what the
//! original helper prints for the same credentials.

pub use crate::buf::{write_base64, write_hex};
use crate::session::Credentials;
use crate::time::UnixTime;

/// Writes `s` as a JSON string, quotes included.
pub fn write_json_str<W: embedded_io::Write>(w: &mut W, s: &str) -> Result<(), W::Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    w.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            b'<' | b'>' | b'&' | 0..=0x1f => None,
            _ => continue,
        };
        w.write_all(bytes.get(start..i).unwrap_or_default())?;
        match escaped {
            Some(e) => w.write_all(e)?,
            None => w.write_all(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ])?,
        }
        start = i + 1;
    }
    w.write_all(bytes.get(start..).unwrap_or_default())?;
    w.write_all(b"\"")
}

/// `{"Version":1,"AccessKeyId":..,"SecretAccessKey":..,"SessionToken":..,"Expiration":..}`
/// with no trailing newline, as `credential_process` consumers expect.
pub fn write_credential_process<W: embedded_io::Write>(
    w: &mut W,
    c: &Credentials,
) -> Result<(), W::Error> {
    w.write_all(b"{\"Version\":1,\"AccessKeyId\":")?;
    write_json_str(w, c.access_key_id())?;
    w.write_all(b",\"SecretAccessKey\":")?;
    write_json_str(w, c.secret_access_key())?;
    w.write_all(b",\"SessionToken\":")?;
    write_json_str(w, c.session_token())?;
    w.write_all(b",\"Expiration\":\"")?;
    w.write_all(&c.expiration().iso8601())?;
    w.write_all(b"\"}")
}

/// The IMDS `security-credentials/<role>` document, followed by `\n`.
pub fn write_imds_credentials<W: embedded_io::Write>(
    w: &mut W,
    c: &Credentials,
    last_updated: UnixTime,
) -> Result<(), W::Error> {
    w.write_all(b"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":")?;
    write_json_str(w, c.access_key_id())?;
    w.write_all(b",\"SecretAccessKey\":")?;
    write_json_str(w, c.secret_access_key())?;
    w.write_all(b",\"Token\":")?;
    write_json_str(w, c.session_token())?;
    w.write_all(b",\"Expiration\":\"")?;
    w.write_all(&c.expiration().iso8601())?;
    w.write_all(b"\",\"LastUpdated\":\"")?;
    w.write_all(&last_updated.iso8601())?;
    w.write_all(b"\"}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;

    fn render(f: impl FnOnce(&mut SliceWriter<'_>)) -> std::string::String {
        let mut buf = [0u8; 1024];
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w);
        let n = w.len();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        let s = render(|w| write_json_str(w, "a\"b\\c<d>&\u{1}\n").unwrap());
        assert_eq!(s, r#""a\"b\\c\u003cd\u003e\u0026\u0001\n""#);
    }

    #[test]
    fn credential_process_shape() {
        let c = Credentials::new("ASIAX", "se/cret", "tok+en=", UnixTime(1_440_938_160)).unwrap();
        let s = render(|w| write_credential_process(w, &c).unwrap());
        assert_eq!(
            s,
            r#"{"Version":1,"AccessKeyId":"ASIAX","SecretAccessKey":"se/cret","SessionToken":"tok+en=","Expiration":"2015-08-30T12:36:00Z"}"#
        );
        let s = render(|w| write_imds_credentials(w, &c, UnixTime(1_440_938_100)).unwrap());
        assert_eq!(
            s,
            "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"se/cret\",\"Token\":\"tok+en=\",\"Expiration\":\"2015-08-30T12:36:00Z\",\"LastUpdated\":\"2015-08-30T12:35:00Z\"}\n"
        );
    }
}
