//! Parsing the head of one HTTP/1.x request to the IMDS endpoint.
//!
//! [`parse`] is pure (bytes in, a borrowed [`Request`] or a [`ParseError`]
//! out) and never panics, so it can be fuzzed on its own: this file depends on
//! nothing but `httparse` (hyper's parser) and `core`, and a fuzz crate can
//! include it with `#[path]`. The tokenising is httparse's; this module adds
//! the limits and the few headers IMDS cares about.
//!
//! In scope: origin-form targets (`/path?query`), `Content-Length` bodies
//! (which the caller reads and discards), HTTP/1.0 and 1.1.
//! Out of scope: `Transfer-Encoding` (no IMDS client sends a body), absolute
//! or authority-form targets, keep-alive (every answer closes the connection).

use core::fmt;

/// Largest request head accepted, in bytes (request line and headers).
pub const MAX_HEAD: usize = 8192;
/// Most header fields accepted.
pub const MAX_HEADERS: usize = 32;
/// Largest body accepted (and discarded); IMDS requests have none.
pub const MAX_BODY: usize = 1024;

/// `x-aws-ec2-metadata-token`: the session token of a GET.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// `x-aws-ec2-metadata-token-ttl-seconds`: the TTL asked for in a token PUT.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";

/// The parts of a request the endpoint looks at; everything borrows the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, e.g. `GET` (case-sensitive, as HTTP says).
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    /// Bytes of the head, including the blank line that ends it.
    pub head_len: usize,
    /// The `Content-Length`, 0 when absent.
    pub content_length: usize,
    /// The value of `x-aws-ec2-metadata-token`, if present.
    pub token: Option<&'a [u8]>,
    /// The value of `x-aws-ec2-metadata-token-ttl-seconds`, if present.
    pub ttl: Option<&'a [u8]>,
    /// An `X-Forwarded-For` header is present (the request came through a proxy).
    pub forwarded: bool,
}

/// Why a head was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed (the head is not complete yet).
    Incomplete,
    /// The head is longer than [`MAX_HEAD`] (431).
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields (431).
    TooManyHeaders,
    /// Not HTTP/1.x syntax (400).
    Malformed(&'static str),
    /// A header that must appear at most once appears twice (400).
    Duplicate(&'static str),
    /// `Content-Length` is not a number, or the body is larger than [`MAX_BODY`] (400 / 413).
    BadContentLength,
    /// The body is larger than [`MAX_BODY`] (413).
    BodyTooLarge,
    /// `Transfer-Encoding` is not supported (501).
    TransferEncoding,
}

impl ParseError {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            ParseError::Incomplete
            | ParseError::Malformed(_)
            | ParseError::Duplicate(_)
            | ParseError::BadContentLength => 400,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::BodyTooLarge => 413,
            ParseError::TransferEncoding => 501,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete => f.write_str("incomplete request"),
            ParseError::HeadTooLarge => write!(f, "request head larger than {MAX_HEAD} bytes"),
            ParseError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} header fields"),
            ParseError::Malformed(why) => write!(f, "malformed request: {why}"),
            ParseError::Duplicate(name) => write!(f, "duplicate {name} header"),
            ParseError::BadContentLength => f.write_str("invalid Content-Length"),
            ParseError::BodyTooLarge => write!(f, "request body larger than {MAX_BODY} bytes"),
            ParseError::TransferEncoding => f.write_str("Transfer-Encoding is not supported"),
        }
    }
}

fn malformed(e: httparse::Error) -> ParseError {
    match e {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::HeaderName => ParseError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("invalid header value"),
        httparse::Error::NewLine => ParseError::Malformed("invalid line ending"),
        httparse::Error::Status => ParseError::Malformed("invalid status"),
        httparse::Error::Token => ParseError::Malformed("invalid method or target"),
        httparse::Error::Version => ParseError::Malformed("not HTTP/1.0 or HTTP/1.1"),
    }
}

/// Stores `value` in `slot`, failing if the header was already seen.
fn once<'a>(
    slot: &mut Option<&'a [u8]>,
    value: &'a [u8],
    name: &'static str,
) -> Result<(), ParseError> {
    if slot.replace(value).is_some() {
        return Err(ParseError::Duplicate(name));
    }
    Ok(())
}

fn content_length(value: &[u8]) -> Result<usize, ParseError> {
    let trimmed = value.trim_ascii();
    if trimmed.is_empty() || trimmed.len() > 10 || !trimmed.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadContentLength);
    }
    let n = trimmed.iter().fold(0usize, |n, d| {
        n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
    });
    if n > MAX_BODY {
        return Err(ParseError::BodyTooLarge);
    }
    Ok(n)
}

/// Parses the head at the start of `buf` (which may hold more bytes after it).
///
/// # Errors
/// [`ParseError::Incomplete`] until the blank line that ends the head has
/// arrived (or [`ParseError::HeadTooLarge`] once `buf` is past [`MAX_HEAD`]);
/// any other variant is final.
pub fn parse(buf: &[u8]) -> Result<Request<'_>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf).map_err(malformed)? {
        httparse::Status::Complete(n) if n <= MAX_HEAD => n,
        httparse::Status::Complete(_) => return Err(ParseError::HeadTooLarge),
        httparse::Status::Partial if buf.len() >= MAX_HEAD => {
            return Err(ParseError::HeadTooLarge);
        }
        httparse::Status::Partial => return Err(ParseError::Incomplete),
    };
    let method = req.method.ok_or(ParseError::Incomplete)?;
    let target = req.path.ok_or(ParseError::Incomplete)?;
    if !target.starts_with('/') {
        return Err(ParseError::Malformed("the target is not an absolute path"));
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let mut token = None;
    let mut ttl = None;
    let mut length = None;
    let mut forwarded = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case(TOKEN_HEADER) {
            once(&mut token, h.value, TOKEN_HEADER)?;
        } else if name.eq_ignore_ascii_case(TTL_HEADER) {
            once(&mut ttl, h.value, TTL_HEADER)?;
        } else if name.eq_ignore_ascii_case("content-length") {
            once(&mut length, h.value, "Content-Length")?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ParseError::TransferEncoding);
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            forwarded = true;
        }
    }
    let content_length = match length {
        Some(v) => content_length(v)?,
        None => 0,
    };
    Ok(Request {
        method,
        path,
        head_len,
        content_length,
        token,
        ttl,
        forwarded,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn parses_what_clients_send() {
        // botocore's token request (spec 2b).
        let raw = b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:9911\r\nUser-Agent: Botocore/1.44\r\nAccept-Encoding: identity\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!((r.method, r.path), ("PUT", "/latest/api/token"));
        assert_eq!(r.ttl, Some(&b"21600"[..]));
        assert_eq!((r.token, r.forwarded, r.content_length), (None, false, 0));
        assert_eq!(r.head_len, raw.len());
        // Header names are case-insensitive; the query is not part of the path.
        let r = parse(b"GET /latest/meta-data/iam/security-credentials/?x=1 HTTP/1.0\r\nX-AWS-EC2-Metadata-Token: abc\r\nx-forwarded-for: 1.2.3.4\r\n\r\nextra").unwrap();
        assert_eq!(r.path, "/latest/meta-data/iam/security-credentials/");
        assert_eq!(r.token, Some(&b"abc"[..]));
        assert!(r.forwarded);
        // Bare LF line endings are tolerated (httparse).
        assert!(parse(b"GET / HTTP/1.1\nHost: x\n\n").is_ok());
    }

    #[test]
    fn incomplete_until_the_blank_line() {
        let raw = b"GET /latest/api/token HTTP/1.1\r\nHost: x\r\n\r\n";
        for n in 0..raw.len() {
            assert_eq!(parse(&raw[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert!(parse(raw).is_ok());
    }

    #[test]
    fn limits() {
        let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert_eq!(parse(&big), Err(ParseError::HeadTooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many), Err(ParseError::TooManyHeaders));
        let body = |v: &str| {
            let raw = format!("PUT / HTTP/1.1\r\nContent-Length: {v}\r\n\r\n");
            parse(raw.as_bytes()).map(|r| r.content_length)
        };
        assert_eq!(body("1024"), Ok(1024));
        assert_eq!(body("1025"), Err(ParseError::BodyTooLarge));
        assert_eq!(
            body("99999999999999999999"),
            Err(ParseError::BadContentLength)
        );
        assert_eq!(body("-1"), Err(ParseError::BadContentLength));
        assert_eq!(body(""), Err(ParseError::BadContentLength));
    }

    #[test]
    fn rejects_what_is_not_a_plain_request() {
        for raw in [
            &b"\x00\x01\x02\r\n\r\n"[..],
            b"GET http://169.254.169.254/latest/api/token HTTP/1.1\r\n\r\n",
            b"GET * HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nx-aws-ec2-metadata-token: a\r\nX-Aws-Ec2-Metadata-Token: b\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
        ] {
            let e = parse(raw).unwrap_err();
            assert_ne!(e, ParseError::Incomplete, "{raw:?}");
            assert!(matches!(e.status(), 400 | 501), "{raw:?}: {e}");
        }
    }

    /// A cheap stand-in for the fuzz target: random and mutated inputs never
    /// panic, and an accepted head never claims more bytes than it was given.
    #[test]
    fn never_panics_on_noise() {
        let seed = b"PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut buf = seed.to_vec();
            for _ in 0..(next() % 8) {
                let i = (next() as usize) % buf.len();
                match next() % 3 {
                    0 => buf[i] = next() as u8,
                    1 => {
                        buf.remove(i);
                    }
                    _ => buf.insert(i, next() as u8),
                }
            }
            if let Ok(r) = parse(&buf) {
                assert!(r.head_len <= buf.len());
            }
        }
    }
}
