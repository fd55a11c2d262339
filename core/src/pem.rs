//! PEM (RFC 7468) blocks: finding them in a file and decoding them.
//!
//! Files in the wild carry text around the blocks (`openssl x509 -text`,
//! `Bag Attributes` from `openssl pkcs12`), several blocks in a row (bundles,
//! key-and-certificate "combo" files) and CRLF line ends. [`blocks`] finds each
//! `-----BEGIN L-----` ... `-----END L-----` pair; [`PemBlock::decode`] decodes
//! one into a caller buffer with `pem-rfc7468`.

use core::fmt;

/// One `-----BEGIN label-----` ... `-----END label-----` block, still encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PemBlock<'a> {
    /// The label, e.g. `CERTIFICATE` or `EC PRIVATE KEY`.
    pub label: &'a str,
    text: &'a [u8],
}

/// Why a PEM block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PemError {
    /// The base64 body or the encapsulation lines are malformed.
    Malformed,
    /// The block has RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): legacy
    /// OpenSSL encryption, which no modern tool should produce.
    LegacyEncrypted,
    /// The caller's buffer is smaller than the decoded data.
    BufferTooSmall,
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemError::Malformed => "malformed PEM block",
            PemError::LegacyEncrypted => {
                "legacy OpenSSL-encrypted PEM (Proc-Type header) is not supported; convert it with `openssl pkcs8 -topk8`"
            }
            PemError::BufferTooSmall => "PEM block larger than the buffer for it",
        })
    }
}

impl core::error::Error for PemError {}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// True when `data` contains at least one PEM block.
pub fn is_pem(data: &[u8]) -> bool {
    blocks(data).next().is_some()
}

/// True when `data` has a `-----BEGIN ` line, complete block or not: a file
/// that does but has no complete block is truncated PEM, not DER.
pub fn has_begin_line(data: &[u8]) -> bool {
    find(data, BEGIN).is_some()
}

/// Iterates over the PEM blocks in `data`, skipping any text between them.
/// A `BEGIN` line without its matching `END` line ends the iteration.
pub fn blocks(data: &[u8]) -> Blocks<'_> {
    Blocks { rest: data }
}

/// Iterator returned by [`blocks`].
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Blocks<'a> {
    type Item = PemBlock<'a>;

    fn next(&mut self) -> Option<PemBlock<'a>> {
        loop {
            let start = find(self.rest, BEGIN)?;
            let from_begin = self.rest.get(start..)?;
            let after = from_begin.get(BEGIN.len()..)?;
            let label_len = find(after, DASHES)?;
            let label_bytes = after.get(..label_len)?;
            let label = match core::str::from_utf8(label_bytes) {
                Ok(l) if !l.contains(['\n', '\r']) => l,
                _ => {
                    self.rest = after;
                    continue;
                }
            };
            // Find "-----END <label>-----" after the BEGIN line.
            let body = after.get(label_len + DASHES.len()..)?;
            let mut search = body;
            let mut consumed = BEGIN.len() + label_len + DASHES.len();
            let end_len = loop {
                let e = find(search, END)?;
                let tail = search.get(e + END.len()..)?;
                if tail.starts_with(label_bytes) && tail.get(label_len..)?.starts_with(DASHES) {
                    break consumed + e + END.len() + label_len + DASHES.len();
                }
                consumed += e + END.len();
                search = tail;
            };
            let text = from_begin.get(..end_len)?;
            self.rest = from_begin.get(end_len..)?;
            return Some(PemBlock { label, text });
        }
    }
}

impl<'a> PemBlock<'a> {
    /// An upper bound on the decoded size, for sizing the buffer.
    pub fn decoded_len_bound(&self) -> usize {
        self.text.len() / 4 * 3 + 3
    }

    /// Decodes the block into `out` and returns the DER bytes.
    pub fn decode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], PemError> {
        if find(self.text, b"Proc-Type:").is_some() {
            return Err(PemError::LegacyEncrypted);
        }
        let capacity = out.len();
        match pem_rfc7468::decode(self.text, out) {
            Ok((_, der)) => Ok(der),
            Err(pem_rfc7468::Error::Base64(base64ct::Error::InvalidLength))
                if self.decoded_len_bound() > capacity =>
            {
                Err(PemError::BufferTooSmall)
            }
            Err(_) => Err(PemError::Malformed),
        }
    }

    /// Decodes the block into a new, zeroize-on-drop buffer.
    #[cfg(feature = "alloc")]
    pub fn decode_to_vec(&self) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>, PemError> {
        let mut buf = zeroize::Zeroizing::new(alloc::vec![0u8; self.decoded_len_bound()]);
        let n = self.decode(&mut buf)?.len();
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "junk before\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\nBag Attributes\r\n-----BEGIN EC PRIVATE KEY-----\r\nAwQF\r\n-----END EC PRIVATE KEY-----\r\n";

    #[test]
    fn finds_blocks_among_text() {
        let found: heapless::Vec<_, 4> = blocks(TWO.as_bytes()).collect();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].label, "CERTIFICATE");
        assert_eq!(found[1].label, "EC PRIVATE KEY");
        let mut buf = [0u8; 8];
        assert_eq!(found[0].decode(&mut buf).unwrap(), &[0, 1, 2]);
        assert_eq!(found[1].decode(&mut buf).unwrap(), &[3, 4, 5]);
    }

    #[test]
    fn unterminated_and_mismatched_blocks_are_not_blocks() {
        assert!(!is_pem(b"-----BEGIN CERTIFICATE-----\nAAEC\n"));
        assert!(!is_pem(
            b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END X509 CRL-----\n"
        ));
        assert!(!is_pem(b"not pem at all"));
    }

    #[test]
    fn reports_legacy_encryption_and_garbage() {
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let b = blocks(legacy.as_bytes()).next().unwrap();
        assert_eq!(b.decode(&mut [0u8; 64]), Err(PemError::LegacyEncrypted));
        let garbage = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let b = blocks(garbage.as_bytes()).next().unwrap();
        assert_eq!(b.decode(&mut [0u8; 64]), Err(PemError::Malformed));
    }
}
