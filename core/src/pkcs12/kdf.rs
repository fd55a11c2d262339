//! The PKCS#12 key derivation function (RFC 7292 Appendix B.2) and the
//! password encoding it takes.
//!
//! PKCS#12 derives its MAC key, and the legacy PBE ciphers their key and IV,
//! from the password as a `BMPString` (UTF-16BE) with two trailing zero
//! bytes. OpenSSL writes an empty password that way (`00 00`), but other
//! tools (and OpenSSL given no password at all) use zero bytes: both are tried.

use alloc::vec::Vec;

use sha2::Digest;
use zeroize::{Zeroize, Zeroizing};

/// What the derived bytes are for (RFC 7292 B.3, the "ID" byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Cipher key.
    Key = 1,
    /// Cipher IV.
    Iv = 2,
    /// MAC key.
    Mac = 3,
}

/// The password as RFC 7292 B.1 wants it: UTF-16BE plus a `00 00` terminator.
pub(crate) fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Fills `out` with key material (RFC 7292 B.2) using hash `D`, whose input
/// block size is `v` bytes. `iterations` must already have been checked
/// against the caller's limit.
pub(crate) fn derive<D: Digest>(
    v: usize,
    password: &[u8],
    salt: &[u8],
    purpose: Purpose,
    iterations: u32,
    out: &mut [u8],
) {
    // I = S || P, each repeated to a whole number of v-byte blocks.
    let fill = |src: &[u8]| -> Zeroizing<Vec<u8>> {
        let len = src.len().div_ceil(v) * v;
        Zeroizing::new(src.iter().copied().cycle().take(len).collect())
    };
    let mut i_buf = fill(salt);
    i_buf.extend_from_slice(&fill(password));
    let d = Zeroizing::new(alloc::vec![purpose as u8; v]);

    for chunk in out.chunks_mut(<D as Digest>::output_size()) {
        let mut h = D::new();
        h.update(&*d);
        h.update(&*i_buf);
        let mut out = h.finalize();
        let mut a = Zeroizing::new(out.to_vec());
        for _ in 1..iterations {
            out = D::digest(&*a);
            a.copy_from_slice(&out);
        }
        // The hash outputs are key material too.
        out.as_mut_slice().zeroize();
        let take = chunk.len().min(a.len());
        if let (Some(dst), Some(src)) = (chunk.get_mut(..take), a.get(..take)) {
            dst.copy_from_slice(src);
        }
        // I_j = (I_j + B + 1) mod 2^(8v), with B = A repeated to v bytes.
        let b: Zeroizing<Vec<u8>> = Zeroizing::new(a.iter().copied().cycle().take(v).collect());
        for block in i_buf.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum.to_le_bytes()[0];
                carry = sum >> 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> std::string::String {
        b.iter().map(|x| std::format!("{x:02x}")).collect()
    }

    // Vectors from the RustCrypto `pkcs12` crate's tests/kdf.rs, which were
    // checked against OpenSSL's PKCS12_key_gen_utf8.
    const PASS: &str = "ge@äheim";
    const SALT: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn run<D: Digest>(
        v: usize,
        purpose: Purpose,
        iterations: u32,
        len: usize,
    ) -> std::string::String {
        let mut out = std::vec![0u8; len];
        derive::<D>(v, &bmp_password(PASS), &SALT, purpose, iterations, &mut out);
        hex(&out)
    }

    #[test]
    fn sha256_vectors() {
        use sha2::Sha256;
        assert_eq!(
            run::<Sha256>(64, Purpose::Key, 100, 32),
            "fae4d4957a3cc781e1180b9d4fb79c1e0c8579b746a3177e5b0768a3118bf863"
        );
        assert_eq!(
            run::<Sha256>(64, Purpose::Iv, 100, 20),
            "e5ff813bc6547de5155b14d2fada85b3201a9773"
        );
        assert_eq!(
            run::<Sha256>(64, Purpose::Mac, 1000, 32),
            "3f9113f05c30a996c4a516409bdac9d065f44296ccd52bb75de3fcfdbe2bf130"
        );
        // Several output blocks: exercises the I_j update.
        assert_eq!(
            run::<Sha256>(64, Purpose::Key, 1000, 100),
            "2b95a0569b63f641fae1efca32e84db3699ab74540628ba66283b58cf5400527d8d0ebe2ccbf768c51c4d8fbd1bb156be06c1c59cbb69e44052ffc37376fdb47b2de7f9e543de9d096d8e5474b220410ff1c5d8bb7e5bc0f61baeaa12fd0da1d7a970172"
        );
    }

    #[test]
    fn sha512_vector() {
        assert_eq!(
            run::<sha2::Sha512>(128, Purpose::Key, 100, 32),
            "b14a9f01bfd9dce4c9d66d2fe9937e5fd9f1afa59e370a6fa4fc81c1cc8ec8ee"
        );
    }

    #[test]
    fn bmp_encoding_has_terminator() {
        assert_eq!(&*bmp_password(""), &[0, 0]);
        assert_eq!(&*bmp_password("a"), &[0, 0x61, 0, 0]);
    }
}
