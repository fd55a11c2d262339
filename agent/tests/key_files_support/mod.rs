//! Fixtures and helpers for tests/key_files.rs: hand-made ML-DSA keys and
//! certificates (OpenSSL 3.0 cannot make them), the openssl-made key files of
//! scripts/make-key-fixtures.sh, a minimal DER writer, and running the binary
//! without a controlling terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ml_dsa::signature::Keypair as _;

use crate::common::{fixtures, fx};

/// The password of every protected fixture (a space and a `!` on purpose).
pub const PW: &str = "s3cret Pw!";

/// Minimal DER writer for the hand-made ML-DSA files.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    match n {
        0..=127 => out.push(n as u8),
        128..=255 => out.extend([0x81, n as u8]),
        _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub fn oid(dotted: &str) -> Vec<u8> {
    use der::Encode;
    der::asn1::ObjectIdentifier::new(dotted)
        .unwrap()
        .to_der()
        .unwrap()
}

pub fn pem(label: &str, der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

pub fn pem_body(path: &str) -> Vec<u8> {
    let text = std::fs::read(path).unwrap();
    let block = rolesanywhere_core::pem::blocks(&text).next().unwrap();
    block.decode_to_vec().unwrap().to_vec()
}

pub const ML_DSA: [(u8, &str); 3] = [
    (44, "2.16.840.1.101.3.4.3.17"),
    (65, "2.16.840.1.101.3.4.3.18"),
    (87, "2.16.840.1.101.3.4.3.19"),
];

pub fn seed(v: u8) -> [u8; 32] {
    std::array::from_fn(|i| v.wrapping_mul(31).wrapping_add(i as u8))
}

/// The ML-DSA key pair of variant `v`: (encoded public key, expanded key).
pub fn ml_dsa_keys(v: u8) -> (Vec<u8>, Vec<u8>) {
    fn keys<P: ml_dsa::MlDsaParams>(seed: [u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let sk = ml_dsa::SigningKey::<P>::from_seed(&seed.into());
        #[allow(deprecated)]
        let expanded = sk.expanded_key().to_expanded().to_vec();
        (sk.verifying_key().encode().to_vec(), expanded)
    }
    match v {
        44 => keys::<ml_dsa::MlDsa44>(seed(v)),
        65 => keys::<ml_dsa::MlDsa65>(seed(v)),
        _ => keys::<ml_dsa::MlDsa87>(seed(v)),
    }
}

/// PKCS#8 `PrivateKeyInfo` for ML-DSA with the given `privateKey` contents.
pub fn ml_dsa_pkcs8(alg: &str, private_key: &[u8]) -> Vec<u8> {
    tlv(
        0x30,
        &cat(&[&[2, 1, 0], &tlv(0x30, &oid(alg)), &tlv(0x04, private_key)]),
    )
}

/// A leaf certificate for an ML-DSA key, issued by the fixture root (P-256).
pub fn ml_dsa_certificate(v: u8, alg: &str, public_key: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    let fx_dir = fixtures();
    let ca_der = pem_body(&fx("ca.pem"));
    let ca = rolesanywhere_core::x509::Certificate::from_der(&ca_der).unwrap();
    let ecdsa_sha256 = tlv(0x30, &oid("1.2.840.10045.4.3.2"));
    let cn = format!("mldsa{v} leaf");
    let subject = tlv(
        0x30,
        &tlv(
            0x31,
            &tlv(0x30, &cat(&[&oid("2.5.4.3"), &tlv(0x0c, cn.as_bytes())])),
        ),
    );
    let validity = tlv(
        0x30,
        &cat(&[&tlv(0x17, b"250101000000Z"), &tlv(0x17, b"491231235959Z")]),
    );
    let spki = tlv(
        0x30,
        &cat(&[&tlv(0x30, &oid(alg)), &tlv(0x03, &cat(&[&[0], public_key]))]),
    );
    let basic_constraints = tlv(
        0x30,
        &cat(&[
            &oid("2.5.29.19"),
            &[1, 1, 0xff],
            &tlv(0x04, &tlv(0x30, &[])),
        ]),
    );
    let key_usage = tlv(
        0x30,
        &cat(&[
            &oid("2.5.29.15"),
            &[1, 1, 0xff],
            &tlv(0x04, &[3, 2, 7, 0x80]),
        ]),
    );
    let extensions = tlv(0xa3, &tlv(0x30, &cat(&[&basic_constraints, &key_usage])));
    let tbs = tlv(
        0x30,
        &cat(&[
            &tlv(0xa0, &[2, 1, 2]),
            &[2, 6, 0x4d, 0x4c, 0x44, 0x53, 0x41, v],
            &ecdsa_sha256,
            ca.subject_der(),
            &validity,
            &subject,
            &spki,
            &extensions,
        ]),
    );
    let ca_key = p256::ecdsa::SigningKey::from_pkcs8_der(&pem_body(
        &fx_dir.join("ca.key").to_string_lossy(),
    ))
    .unwrap();
    let sig: p256::ecdsa::Signature = ca_key.sign(&tbs);
    tlv(
        0x30,
        &cat(&[
            &tbs,
            &ecdsa_sha256,
            &tlv(0x03, &cat(&[&[0], sig.to_der().as_bytes()])),
        ]),
    )
}

/// The key fixtures: made once per test process in a temp dir.
pub fn key_fixtures() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for (v, alg) in ML_DSA {
            let (public_key, expanded) = ml_dsa_keys(v);
            let seed_only = ml_dsa_pkcs8(alg, &tlv(0x80, &seed(v)));
            let both = ml_dsa_pkcs8(
                alg,
                &tlv(0x30, &cat(&[&tlv(0x04, &seed(v)), &tlv(0x04, &expanded)])),
            );
            let write = |name: String, bytes: &[u8]| {
                std::fs::write(dir.path().join(name), bytes).unwrap();
            };
            write(format!("mldsa{v}.pkcs8.der"), &seed_only);
            write(
                format!("mldsa{v}.pkcs8.pem"),
                pem("PRIVATE KEY", &seed_only).as_bytes(),
            );
            write(
                format!("mldsa{v}-both.pkcs8.pem"),
                pem("PRIVATE KEY", &both).as_bytes(),
            );
            let cert = ml_dsa_certificate(v, alg, &public_key);
            write(
                format!("mldsa{v}.pem"),
                pem("CERTIFICATE", &cert).as_bytes(),
            );
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-key-fixtures.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .arg(fixtures())
            .arg(PW)
            .status()
            .expect("run make-key-fixtures.sh");
        assert!(status.success(), "make-key-fixtures.sh failed");
        dir
    })
    .path()
}

pub fn kf(name: &str) -> String {
    key_fixtures().join(name).to_string_lossy().into_owned()
}

/// Runs the binary in a new session (`setsid -w`): no controlling terminal,
/// so `/dev/tty` cannot be opened, as under an SDK's credential_process.
pub fn run_no_tty(args: &[&str]) -> Output {
    crate::common::run_detached(args, &[])
}

pub fn decode_b64(s: &str) -> Vec<u8> {
    // Through the PEM decoder, which wants 64-character lines.
    let lines: Vec<&str> = s
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let text = format!("-----BEGIN X-----\n{}\n-----END X-----\n", lines.join("\n"));
    let block = rolesanywhere_core::pem::blocks(text.as_bytes())
        .next()
        .unwrap();
    block.decode_to_vec().unwrap().to_vec()
}

pub fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// `EncryptedPrivateKeyInfo` with PBKDF2 parameters we choose (the
/// ciphertext is junk: the limits refuse it before any derivation).
pub fn hostile_pbkdf2(iterations: u32) -> Vec<u8> {
    let mut iter = vec![0u8];
    iter.extend(iterations.to_be_bytes());
    let pbkdf2 = tlv(
        0x30,
        &cat(&[
            &oid("1.2.840.113549.1.5.12"),
            &tlv(0x30, &cat(&[&tlv(4, &[7; 8]), &tlv(2, &iter)])),
        ]),
    );
    let aes = tlv(
        0x30,
        &cat(&[&oid("2.16.840.1.101.3.4.1.42"), &tlv(4, &[9; 16])]),
    );
    let alg = tlv(
        0x30,
        &cat(&[
            &oid("1.2.840.113549.1.5.13"),
            &tlv(0x30, &cat(&[&pbkdf2, &aes])),
        ]),
    );
    tlv(0x30, &cat(&[&alg, &tlv(4, &[0; 32])]))
}
