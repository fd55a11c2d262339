//! Big-endian TPM 2.0 marshalling over caller buffers (TPM 2.0 Part 1, 18):
//! integers are big-endian, a `TPM2B_*` is a `u16` size then that many bytes.

use super::Error;
use crate::buf::SliceWriter;

/// Writes a TPM structure into a caller's buffer: big-endian integers and
/// `TPM2B`s on top of the crate's [`SliceWriter`].
pub struct Writer<'a> {
    inner: SliceWriter<'a>,
}

impl core::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Lengths only: a command may carry a password.
        f.debug_struct("Writer").field("len", &self.len()).finish()
    }
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            inner: SliceWriter::new(buf),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.inner.written()
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Error> {
        self.inner.put(b).map_err(|_| Error::BufferTooSmall)
    }

    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.bytes(&[v])
    }

    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> Result<(), Error> {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> Result<(), Error> {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a `TPM2B`: the size, then the bytes.
    pub fn tpm2b(&mut self, b: &[u8]) -> Result<(), Error> {
        let size = u16::try_from(b.len()).map_err(|_| Error::TooLong)?;
        self.u16(size)?;
        self.bytes(b)
    }

    /// Overwrites four bytes at `at` (a size field known only at the end).
    pub fn patch_u32(&mut self, at: usize, v: u32) -> Result<(), Error> {
        let end = at.checked_add(4).ok_or(Error::BufferTooSmall)?;
        self.inner
            .written_mut()
            .get_mut(at..end)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(&v.to_be_bytes());
        Ok(())
    }
}

/// Reads a TPM structure from bytes, never past their end.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.rest.len() {
            return Err(Error::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A `u8`.
    pub fn u8(&mut self) -> Result<u8, Error> {
        match self.bytes(1)? {
            [b] => Ok(*b),
            _ => Err(Error::Truncated),
        }
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, Error> {
        match self.bytes(2)? {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(Error::Truncated),
        }
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, Error> {
        match self.bytes(4)? {
            [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => Err(Error::Truncated),
        }
    }

    /// A `TPM2B`'s body.
    pub fn tpm2b(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_big_endian_and_refuses_to_overflow() {
        let mut buf = [0u8; 9];
        let mut w = Writer::new(&mut buf);
        w.u16(0x8001).unwrap();
        w.u32(0).unwrap();
        w.tpm2b(b"a").unwrap();
        assert_eq!(w.written(), [0x80, 0x01, 0, 0, 0, 0, 0, 1, b'a']);
        w.patch_u32(2, 9).unwrap();
        assert_eq!(w.written()[2..6], [0, 0, 0, 9]);
        assert_eq!(w.u8(1), Err(Error::BufferTooSmall));
        assert_eq!(w.patch_u32(6, 1), Err(Error::BufferTooSmall));
    }

    #[test]
    fn reads_never_past_the_end() {
        let mut r = Reader::new(&[0, 3, b'a', b'b']);
        assert_eq!(r.tpm2b(), Err(Error::Truncated));
        let mut r = Reader::new(&[0, 2, b'a', b'b', 7]);
        assert_eq!(r.tpm2b().unwrap(), b"ab");
        assert_eq!(r.finish(), Err(Error::TrailingBytes));
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u32(), Err(Error::Truncated));
        r.finish().unwrap();
    }
}
