//! Writing into caller-provided byte buffers without a heap.

use core::fmt;

/// The buffer the caller passed is too small for what had to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow;

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output buffer too small")
    }
}

impl core::error::Error for Overflow {}

impl embedded_io::Error for Overflow {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::OutOfMemory
    }
}

/// A cursor over a mutable byte slice; implements both `fmt::Write` and
/// `embedded_io::Write`, failing (not truncating) when the slice is full.
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer that starts at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes written so far.
    #[cfg(feature = "tpm")]
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The bytes written so far, to fix up a field known only at the end.
    #[cfg(feature = "tpm")]
    pub fn written_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }

    /// Appends `bytes`, or fails without writing anything.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), Overflow> {
        let end = self.len.checked_add(bytes.len()).ok_or(Overflow)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Overflow)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl embedded_io::ErrorType for SliceWriter<'_> {
    type Error = Overflow;
}

impl embedded_io::Write for SliceWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Overflow> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.put(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Overflow> {
        Ok(())
    }
}

/// Hands out consecutive, disjoint pieces of one buffer as `&str`s, so that a
/// request's header values can all live in one caller-owned allocation.
pub struct Arena<'a> {
    rest: &'a mut [u8],
}

impl<'a> Arena<'a> {
    /// An arena over all of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Arena { rest: buf }
    }

    /// Takes `len` bytes as scratch space (e.g. for a signature).
    pub fn take_bytes(&mut self, len: usize) -> Result<&'a mut [u8], Overflow> {
        let rest = core::mem::take(&mut self.rest);
        if rest.len() < len {
            self.rest = rest;
            return Err(Overflow);
        }
        let (head, tail) = rest.split_at_mut(len);
        self.rest = tail;
        Ok(head)
    }

    /// Runs `fill` on a writer over the free space and keeps what it wrote.
    /// The writer must produce UTF-8 (every caller writes ASCII).
    pub fn take<E: From<Overflow>>(
        &mut self,
        fill: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), E>,
    ) -> Result<&'a str, E> {
        let rest = core::mem::take(&mut self.rest);
        let mut w = SliceWriter::new(rest);
        let outcome = fill(&mut w);
        let n = w.len();
        let SliceWriter { buf, .. } = w;
        let (head, tail) = buf.split_at_mut(n);
        self.rest = tail;
        outcome?;
        core::str::from_utf8(head).map_err(|_| E::from(Overflow))
    }
}

/// Writes `bytes` as lower-case hex.
pub fn write_hex<W: embedded_io::Write>(w: &mut W, bytes: &[u8]) -> Result<(), W::Error> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut chunk = [0u8; 64];
    for part in bytes.chunks(32) {
        let mut n = 0;
        for &b in part {
            chunk[n] = DIGITS[usize::from(b >> 4)];
            chunk[n + 1] = DIGITS[usize::from(b & 15)];
            n += 2;
        }
        w.write_all(&chunk[..n])?;
    }
    Ok(())
}

/// Streams `bytes` as standard, padded base64 (RFC 4648) into `w`.
///
/// Only public data goes through here (certificates), so a table lookup is fine.
pub fn write_base64<W: embedded_io::Write>(w: &mut W, bytes: &[u8]) -> Result<(), W::Error> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    let mut out = [0u8; 64];
    for part in bytes.chunks(48) {
        let mut n = 0;
        for group in part.chunks(3) {
            let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
            let v = (b(0) << 16) | (b(1) << 8) | b(2);
            out[n] = sym(v >> 18);
            out[n + 1] = sym(v >> 12);
            out[n + 2] = if group.len() > 1 { sym(v >> 6) } else { b'=' };
            out[n + 3] = if group.len() > 2 { sym(v) } else { b'=' };
            n += 4;
        }
        w.write_all(&out[..n])?;
    }
    Ok(())
}

/// Length of the base64 encoding of `n` bytes, with padding.
pub const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::Encoding;

    #[test]
    fn base64_streams_in_chunks() {
        let data: [u8; 200] = core::array::from_fn(|i| i as u8);
        let mut buf = [0u8; 400];
        let mut w = SliceWriter::new(&mut buf);
        write_base64(&mut w, &data).unwrap();
        let n = w.len();
        let mut one = [0u8; 400];
        let expected = base64ct::Base64::encode(&data, &mut one).unwrap();
        assert_eq!(&buf[..n], expected.as_bytes());
        assert_eq!(n, base64_len(200));
    }

    #[test]
    fn arena_hands_out_disjoint_strs() {
        let mut buf = [0u8; 16];
        let mut arena = Arena::new(&mut buf);
        let a = arena.take::<Overflow>(|w| w.put(b"abc")).unwrap();
        let b = arena.take::<Overflow>(|w| w.put(b"defg")).unwrap();
        assert_eq!((a, b), ("abc", "defg"));
        assert_eq!(
            arena.take::<Overflow>(|w| w.put(&[b'x'; 10])),
            Err(Overflow)
        );
    }
}
