//! A small, strict HTTP/1.1 request reader and response writer.
//!
//! One request per connection; the answer always carries `Connection: close`.

use std::io::{self, Read, Write};

use crate::response::Rejection;

/// Largest request head (request line plus headers) accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// Method, e.g. `POST`.
    pub(crate) method: String,
    /// Path part of the target, e.g. `/sessions`.
    pub(crate) path: String,
    /// Raw query string without `?` (empty when absent).
    pub(crate) query: String,
    /// Headers in the order received; names as sent, values with surrounding blanks removed.
    pub(crate) headers: Vec<(String, String)>,
    /// Body bytes (exactly Content-Length of them).
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// All values of header `name` (case-insensitive), in order.
    pub(crate) fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The only value of header `name`; `Err` if it appears more than once.
    pub(crate) fn single_header(&self, name: &str) -> Result<Option<&str>, Rejection> {
        let mut it = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = it.next();
        if it.next().is_some() {
            return Err(Rejection::validation(format!(
                "header {name} appears more than once"
            )));
        }
        Ok(first)
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer went away (or timed out) before sending anything: answer nothing.
    Silent,
    /// The request is malformed: answer with this error (and record what was read).
    Reject(Box<(Rejection, Request)>),
}

fn reject(status: u16, error_type: &str, message: &str, partial: Request) -> ReadError {
    ReadError::Reject(Box::new((
        Rejection {
            status,
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        },
        partial,
    )))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Reads one request from `stream`, answering `Expect: 100-continue` when asked.
///
/// The stream should have a short read timeout: each time a read times out,
/// `keep_waiting` decides whether to try again (it returns false once the
/// overall deadline has passed or the server is stopping).
pub(crate) fn read_request<S: Read + Write>(
    stream: &mut S,
    keep_waiting: &dyn Fn() -> bool,
) -> Result<Request, ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(reject(
                431,
                "ValidationException",
                "request head too large",
                Request::default(),
            ));
        }
        match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(ReadError::Silent),
            Ok(0) => {
                return Err(reject(
                    400,
                    "ValidationException",
                    "incomplete request head",
                    Request::default(),
                ));
            }
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && keep_waiting() => {}
            Err(e) if is_timeout(&e) && !buf.is_empty() => {
                return Err(reject(
                    408,
                    "RequestTimeout",
                    "timed out reading the request",
                    Request::default(),
                ));
            }
            Err(_) => return Err(ReadError::Silent),
        }
    };
    if head_end > MAX_HEAD {
        return Err(reject(
            431,
            "ValidationException",
            "request head too large",
            Request::default(),
        ));
    }
    let head = buf.get(..head_end).unwrap_or_default();
    let mut req = parse_head(head)?;
    let mut body: Vec<u8> = buf.get(head_end + 4..).unwrap_or_default().to_vec();

    if req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(reject(
            501,
            "NotImplemented",
            "Transfer-Encoding is not supported",
            req,
        ));
    }
    let length = match content_length(&req) {
        Ok(l) => l,
        Err(msg) => return Err(reject(400, "ValidationException", msg, req)),
    };
    let length = match length {
        Some(l) => l,
        None if req.method == "POST" || req.method == "PUT" => {
            return Err(reject(
                411,
                "ValidationException",
                "Content-Length is required",
                req,
            ));
        }
        None => 0,
    };
    if length > MAX_BODY {
        return Err(reject(
            413,
            "ValidationException",
            "request body too large",
            req,
        ));
    }
    let expects_continue = req
        .header_values("expect")
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && body.len() < length {
        // Best effort: a client that waits for it would otherwise stall until its timeout.
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = stream.flush();
    }
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(reject(
                    400,
                    "ValidationException",
                    "body shorter than Content-Length",
                    req,
                ));
            }
            Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && keep_waiting() => {}
            Err(e) if is_timeout(&e) => {
                return Err(reject(
                    408,
                    "RequestTimeout",
                    "timed out reading the body",
                    req,
                ));
            }
            Err(_) => return Err(ReadError::Silent),
        }
    }
    body.truncate(length);
    req.body = body;
    Ok(req)
}

fn content_length(req: &Request) -> Result<Option<usize>, &'static str> {
    let mut found: Option<usize> = None;
    for v in req.header_values("content-length") {
        if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) || v.len() > 12 {
            return Err("bad Content-Length");
        }
        let n: usize = v.parse().map_err(|_| "bad Content-Length")?;
        if found.is_some_and(|f| f != n) {
            return Err("conflicting Content-Length headers");
        }
        found = Some(n);
    }
    Ok(found)
}

fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let Ok(text) = std::str::from_utf8(head) else {
        return Err(reject(
            400,
            "ValidationException",
            "request head is not UTF-8",
            Request::default(),
        ));
    };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(reject(
            400,
            "ValidationException",
            "malformed request line",
            Request::default(),
        ));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(reject(
            400,
            "ValidationException",
            "malformed method",
            Request::default(),
        ));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(reject(
            505,
            "ValidationException",
            "only HTTP/1.0 and HTTP/1.1 are supported",
            Request::default(),
        ));
    }
    if !target.starts_with('/') || target.bytes().any(|c| c <= b' ' || c == 0x7f) {
        return Err(reject(
            400,
            "ValidationException",
            "request target must be in origin form",
            Request::default(),
        ));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let mut req = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(reject(
                400,
                "ValidationException",
                "obsolete header line folding",
                req,
            ));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(reject(
                400,
                "ValidationException",
                "malformed header line",
                req,
            ));
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(reject(
                400,
                "ValidationException",
                "malformed header name",
                req,
            ));
        }
        if value.bytes().any(|c| (c < b' ' && c != b'\t') || c == 0x7f) {
            return Err(reject(
                400,
                "ValidationException",
                "control character in header value",
                req,
            ));
        }
        req.headers
            .push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    Ok(req)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A response to send.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Extra headers (Content-Length and Connection are added when writing).
    pub(crate) headers: Vec<(String, String)>,
    /// Body bytes.
    pub(crate) body: Vec<u8>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Writes `resp` with `Content-Length` and `Connection: close`, then flushes.
pub(crate) fn write_response<W: Write>(w: &mut W, resp: &Response) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (n, v) in &resp.headers {
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&resp.body);
    w.write_all(&bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// An in-memory duplex stream: reads from `input`, collects writes.
    struct Duplex {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    fn read(raw: &[u8]) -> Result<Request, ReadError> {
        let mut d = Duplex {
            input: io::Cursor::new(raw.to_vec()),
            output: Vec::new(),
        };
        read_request(&mut d, &|| false)
    }
    fn status_of(raw: &[u8]) -> u16 {
        match read(raw) {
            Err(ReadError::Reject(r)) => r.0.status,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_post() {
        let r = read(b"POST /sessions?a=b HTTP/1.1\r\nHost: x\r\nX-A:  v  v \r\nContent-Length: 4\r\n\r\nbodyEXTRA").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/sessions");
        assert_eq!(r.query, "a=b");
        assert_eq!(r.headers[1], ("X-A".to_owned(), "v  v".to_owned()));
        assert_eq!(r.body, b"body");
    }

    #[test]
    fn rejects_bad_requests() {
        assert_eq!(
            status_of(b"POST /sessions HTTP/1.1\r\nHost: x\r\n\r\n"),
            411
        );
        assert_eq!(
            status_of(b"POST /s HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            413
        );
        assert_eq!(
            status_of(b"POST /s HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501
        );
        assert_eq!(status_of(b"POST /s HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), 400);
        assert_eq!(status_of(b"POST /s HTTP/2\r\n\r\n"), 505);
        assert_eq!(status_of(b"POST http://x/s HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"POST /s HTTP/1.1\r\nBad Name: v\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"POST /s HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"),
            400
        );
        assert_eq!(status_of(b"POST /s HTTP/1.1\r\nHost: x"), 400);
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status_of(&big), 431);
        assert!(matches!(read(b""), Err(ReadError::Silent)));
    }

    #[test]
    fn answers_expect_continue() {
        let mut d = Duplex {
            input: io::Cursor::new(
                b"POST /s HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            ),
            output: Vec::new(),
        };
        // The body is already buffered, so no 100 Continue is needed.
        let r = read_request(&mut d, &|| false).unwrap();
        assert_eq!(r.body, b"hi");
        assert!(d.output.is_empty());
    }

    #[test]
    fn writes_a_response() {
        let mut out = Vec::new();
        let resp = Response {
            status: 201,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        write_response(&mut out, &resp).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }
}
