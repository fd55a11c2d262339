//! Byte-level helpers: output sinks, RFC 3986 percent-decoding and SigV4
//! URI-encoding as iterators (so nothing is buffered), and lowercase hex.

use core::convert::Infallible;

use embedded_io::{ErrorType, Write};
use sha2::{Digest, Sha256};

use super::Sigv4Error;

/// An `embedded_io::Write` sink that feeds SHA-256, so the canonical request
/// is hashed as it is written, never held in memory.
pub(crate) struct HashSink(pub(crate) Sha256);

impl ErrorType for HashSink {
    type Error = Infallible;
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Writes all of `bytes` to `out`. Unlike `Write::write_all` this never
/// panics: a sink that accepts zero bytes is an error like any other.
pub(crate) fn put<W: Write + ?Sized>(out: &mut W, mut bytes: &[u8]) -> Result<(), Sigv4Error> {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).ok_or(Sigv4Error::Write)?,
            _ => return Err(Sigv4Error::Write),
        }
    }
    Ok(())
}

/// Collects single bytes in a small stack buffer and hands them to the sink
/// in chunks (SHA-256 and most writers are slow one byte at a time).
pub(crate) struct Chunked<'w, W: Write + ?Sized> {
    out: &'w mut W,
    buf: [u8; 64],
    len: usize,
}

impl<'w, W: Write + ?Sized> Chunked<'w, W> {
    /// An empty buffer in front of `out`.
    pub(crate) fn new(out: &'w mut W) -> Self {
        Chunked {
            out,
            buf: [0; 64],
            len: 0,
        }
    }

    /// Queues one byte.
    pub(crate) fn byte(&mut self, b: u8) -> Result<(), Sigv4Error> {
        if self.len >= self.buf.len() {
            self.flush()?;
        }
        let slot = self.buf.get_mut(self.len).ok_or(Sigv4Error::Write)?;
        *slot = b;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Queues a run of bytes (written straight through when long).
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), Sigv4Error> {
        if bytes.len() > self.buf.len() {
            self.flush()?;
            return put(self.out, bytes);
        }
        bytes.iter().try_for_each(|&b| self.byte(b))
    }

    /// Passes the queued bytes to the sink. Must be called before dropping.
    pub(crate) fn flush(&mut self) -> Result<(), Sigv4Error> {
        let pending = self.buf.get(..self.len).ok_or(Sigv4Error::Write)?;
        put(self.out, pending)?;
        self.len = 0;
        Ok(())
    }
}

/// The value of one hex digit (either case).
pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The digit for a nibble (`n` is masked to 4 bits).
fn hex_digit(n: u8, upper: bool) -> u8 {
    let n = n & 0x0f;
    match (n, upper) {
        (0..=9, _) => b'0' + n,
        (_, true) => b'A' + (n - 10),
        (_, false) => b'a' + (n - 10),
    }
}

/// Writes `bytes` as lowercase hex.
pub(crate) fn put_hex<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> Result<(), Sigv4Error> {
    let mut chunked = Chunked::new(out);
    for &b in bytes {
        chunked.byte(hex_digit(b >> 4, false))?;
        chunked.byte(hex_digit(b, false))?;
    }
    chunked.flush()
}

/// Writes `bytes` as lowercase hex into a fixed array of twice the size.
pub(crate) fn hex_lower_64(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes.iter()) {
        if let [hi, lo] = pair {
            *hi = hex_digit(b >> 4, false);
            *lo = hex_digit(b, false);
        }
    }
    out
}

/// Whether `b` is an RFC 3986 unreserved character, the only bytes SigV4
/// leaves unencoded.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Whether `s` is a non-empty HTTP token (RFC 9110 `1*tchar`).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// The bytes of a URI component with `%XX` escapes decoded. A `%` that does
/// not start a valid escape stands for itself. With `plus_is_space` (query
/// strings, as `application/x-www-form-urlencoded` and Go's `url.ParseQuery`
/// read them) `+` decodes to a space.
#[derive(Clone)]
pub(crate) struct Decoded<'a> {
    rest: &'a [u8],
    plus_is_space: bool,
}

impl<'a> Decoded<'a> {
    pub(crate) fn new(raw: &'a str, plus_is_space: bool) -> Self {
        Decoded {
            rest: raw.as_bytes(),
            plus_is_space,
        }
    }
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (b, rest) = match self.rest {
            [b'%', hi, lo, tail @ ..] => match (hex_value(*hi), hex_value(*lo)) {
                (Some(hi), Some(lo)) => ((hi << 4) | lo, tail),
                _ => (b'%', self.rest.get(1..).unwrap_or(&[])),
            },
            [b'+', tail @ ..] if self.plus_is_space => (b' ', tail),
            [b, tail @ ..] => (*b, tail),
            [] => return None,
        };
        self.rest = rest;
        Some(b)
    }
}

/// The SigV4 URI-encoding of a decoded component: unreserved bytes as they
/// are, every other byte as `%XX` with uppercase hex.
#[derive(Clone)]
pub(crate) struct Encoded<'a> {
    inner: Decoded<'a>,
    hi: Option<u8>,
    lo: Option<u8>,
}

impl<'a> Encoded<'a> {
    /// Decodes `raw` and re-encodes it, so `%20`, a raw space and (with
    /// `plus_is_space`) `+` all come out as `%20`.
    pub(crate) fn new(raw: &'a str, plus_is_space: bool) -> Self {
        Encoded {
            inner: Decoded::new(raw, plus_is_space),
            hi: None,
            lo: None,
        }
    }
}

impl Iterator for Encoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if let Some(h) = self.hi.take() {
            return Some(h);
        }
        if let Some(l) = self.lo.take() {
            return Some(l);
        }
        let b = self.inner.next()?;
        if is_unreserved(b) {
            Some(b)
        } else {
            self.hi = Some(hex_digit(b >> 4, true));
            self.lo = Some(hex_digit(b, true));
            Some(b'%')
        }
    }
}

/// Writes the SigV4 encoding of `raw` (see [`Encoded`]).
pub(crate) fn put_encoded<W: Write + ?Sized>(
    out: &mut Chunked<'_, W>,
    raw: &str,
    plus_is_space: bool,
) -> Result<(), Sigv4Error> {
    Encoded::new(raw, plus_is_space).try_for_each(|b| out.byte(b))
}

/// A fixed-size byte sink for unit tests.
#[cfg(test)]
pub(crate) struct TestBuf {
    buf: [u8; 2048],
    len: usize,
}

#[cfg(test)]
impl TestBuf {
    pub(crate) fn new() -> Self {
        TestBuf {
            buf: [0; 2048],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("<not utf-8>")
    }
}

#[cfg(test)]
impl ErrorType for TestBuf {
    type Error = embedded_io::ErrorKind;
}

#[cfg(test)]
impl Write for TestBuf {
    fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
        let end = self.len + buf.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(embedded_io::ErrorKind::OutOfMemory)?;
        dst.copy_from_slice(buf);
        self.len = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn enc(raw: &str, plus: bool) -> std::string::String {
        let v: Vec<u8> = Encoded::new(raw, plus).collect();
        std::string::String::from_utf8(v).unwrap()
    }

    #[test]
    fn unreserved_kept_everything_else_uppercase_escaped() {
        assert_eq!(enc("AZaz09-._~", false), "AZaz09-._~");
        assert_eq!(enc("a b/c?d#e&f=g", false), "a%20b%2Fc%3Fd%23e%26f%3Dg");
        assert_eq!(enc("\u{1234}", false), "%E1%88%B4");
        assert_eq!(enc(":@!$'()*,;", false), "%3A%40%21%24%27%28%29%2A%2C%3B");
    }

    #[test]
    fn already_encoded_input_is_not_double_encoded() {
        assert_eq!(enc("a%20b", false), "a%20b");
        assert_eq!(enc("a%2fb", false), "a%2Fb");
        assert_eq!(enc("%41%7e", false), "A~");
        assert_eq!(enc("%E1%88%b4", false), "%E1%88%B4");
    }

    #[test]
    fn stray_percent_is_encoded_literally() {
        assert_eq!(enc("100%", false), "100%25");
        assert_eq!(enc("%zz", false), "%25zz");
        assert_eq!(enc("%4", false), "%254");
        assert_eq!(enc("%%41", false), "%25A");
    }

    #[test]
    fn plus_is_space_only_in_queries() {
        assert_eq!(enc("a+b", true), "a%20b");
        assert_eq!(enc("a+b", false), "a%2Bb");
        assert_eq!(enc("a%2Bb", true), "a%2Bb");
    }

    #[test]
    fn hex_and_tokens() {
        assert_eq!(&hex_lower_64(&[0xab; 32])[..4], b"abab");
        assert_eq!(hex_value(b'F'), Some(15));
        assert_eq!(hex_value(b'g'), None);
        assert!(is_token("X-Amz-Date"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a:b"));
        let mut out = TestBuf::new();
        put_hex(&mut out, &[0x00, 0x0f, 0xa5]).unwrap();
        assert_eq!(out.as_str(), "000fa5");
    }

    #[test]
    fn chunked_long_and_short_writes_keep_order() {
        let mut out = TestBuf::new();
        let mut c = Chunked::new(&mut out);
        c.bytes(b"ab").unwrap();
        c.bytes(&[b'x'; 100]).unwrap();
        for _ in 0..70 {
            c.byte(b'y').unwrap();
        }
        c.flush().unwrap();
        let s = out.as_str();
        assert_eq!(s.len(), 172);
        assert!(s.starts_with("abx"));
        assert!(s.contains("xy"));
        assert!(s.ends_with("yy"));
    }
}
