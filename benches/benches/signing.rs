//! Signing the string to sign with each software key type the helper
//! supports (PKCS#1 v1.5 for RSA, DER ECDSA for P-256 and P-384, both over
//! SHA-256 as SigV4-X509 wants). One signature per `credential-process`, and
//! the part of it that grows with the key.
//!
//! Compare with `openssl speed rsa2048 rsa3072 rsa4096 ecdsap256 ecdsap384`
//! on the same machine (benches/footprint.sh prints both).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use rolesanywhere_benches::{STRING_TO_SIGN, fixtures, read, rsa_key};
use rolesanywhere_core::key::PrivateKey;
use rolesanywhere_core::signer::{Digest, Signer};

fn keys() -> Vec<(&'static str, PrivateKey)> {
    let dir = fixtures(std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap();
    let files: [(&str, PathBuf); 5] = [
        ("RSA-2048", dir.join("rsa2048.pkcs8.pem")),
        ("RSA-3072", rsa_key(&dir, 3072).unwrap()),
        ("RSA-4096", rsa_key(&dir, 4096).unwrap()),
        ("P-256", dir.join("p256.pkcs8.pem")),
        ("P-384", dir.join("p384.pkcs8.pem")),
    ];
    files
        .into_iter()
        .map(|(name, path)| (name, PrivateKey::from_pem(&read(&path).unwrap()).unwrap()))
        .collect()
}

fn signing(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign string to sign (SHA-256)");
    for (name, key) in keys() {
        let mut out = vec![0u8; key.max_signature_len()];
        // Sanity: a signature comes out (so the loop measures real work).
        assert!(key.sign(STRING_TO_SIGN, Digest::Sha256, &mut out).unwrap() > 0);
        group.bench_function(name, |b| {
            b.iter(|| {
                key.sign(black_box(STRING_TO_SIGN), Digest::Sha256, &mut out)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
