//! Key loading and signing costs: encrypted PKCS#8 with each PBKDF2 PRF at
//! OpenSSL's default 2048 iterations, scrypt at OpenSSL's default N=16384,
//! r=8, p=1, and ML-DSA-44/65/87 signing (key expansion from the seed
//! included: that is what every signature costs, see `key::mldsa`).
//!
//! The fixtures are one throw-away P-256 test key, encrypted with password
//! "bench" by `openssl pkcs8 -topk8 -in p256.pem -v2 aes-256-cbc -v2prf <PRF>`
//! and `openssl pkcs8 -topk8 -in p256.pem -scrypt`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rolesanywhere_core::key::PrivateKey;
use rolesanywhere_core::key::encrypted::KdfLimits;
use rolesanywhere_core::key::mldsa::{MlDsaKey, MlDsaVariant};
use rolesanywhere_core::signer::{Digest, Signer};

const PBKDF2_SHA1: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHeMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAh71zTJJTv0+wICCAAw
HQYJYIZIAWUDBAEqBBDUQOCZPfP20X1sSiOihi49BIGQgD8rXROWPwNj34pkDkUb
/d8qh/lBLKAQAE748hH8hk6r4Q6tohKmrZaTscUhXF6aFiNGZ6QvKtiH5e/6uWty
QImt2Zrs9HUFewoTRwVdrDd3wUp/jxd3LOorHCD+XrB/Naqpd8jE5Zrols23vq/g
KNefZH0Et9N4tAxbX+xcDy1AXd+9AQ8TawUbCHGKzsjd
-----END ENCRYPTED PRIVATE KEY-----
";
const PBKDF2_SHA256: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjrSdBL63pQTwICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEENYcOmT+xfz12TQnX6zN8MIEgZD8
CQGnmHmSSxnLdJuG830zER6pSiNUI4i0iVLCXQ//6YsnUXyMIf9Y/PQcAnzyU0wm
4iSyDZ1xa9tPzX0ak1Gs7BFKX+jGEpBvEXPa9MalM2vBzQc2TxBr/5EKCDtZerfL
yLFL1EjgOtt+zy4YbdBPU65bk5RE3U3FgZI6b4fLG5AN1MtEqeMfYG/WFae9EWI=
-----END ENCRYPTED PRIVATE KEY-----
";
const PBKDF2_SHA384: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAixol2IzsKlewICCAAw
DAYIKoZIhvcNAgoFADAdBglghkgBZQMEASoEEOKXh18K/OwZJAr6AV3OmiEEgZD/
VsaChVD9Cdwar95I2Q5WMa2mDtFVBn1xnir1EpAyuFynWhwBgpM/66XMtZJAuFSe
ae9zBKEpYgjHD7uloMaA6qPH4hsUsJyaZD1phgtSsggwnPQsZYnjeTCiek8hcGil
1daI6geOHn+ROvMPBze2Y6qtt0qrKKqCh5u9L7rEBLn72GgK0foIKWairtY4lGI=
-----END ENCRYPTED PRIVATE KEY-----
";
const PBKDF2_SHA512: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhusOiLjFI8AAICCAAw
DAYIKoZIhvcNAgsFADAdBglghkgBZQMEASoEED/ENrn4uZgJ3Cqve3YZtF0EgZA1
rxm68mlZCbfRvvtu/R9C7o36euREaxLlqb1oMZSIImt8wi/H9Tm2++1X+eNunlQK
ulc7I2YwSe56zCSljQ4zna+vA68J/8zqQEM7n3gpPz/LoP4pfR0vMpZqA8+67vCg
sRoVTvXXpHEC/6Y0bvUkpkHvMxlmS3fvhVNgA3QjPG0qzYr2Jc9zj6Ezw0tDhow=
-----END ENCRYPTED PRIVATE KEY-----
";
const SCRYPT: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHkME8GCSqGSIb3DQEFDTBCMCEGCSsGAQQB2kcECzAUBAjxd7bV5ib/CgICQAAC
AQgCAQEwHQYJYIZIAWUDBAEqBBB/EPcAF8rVdo/H6y0bGQaeBIGQ51+3cYlEoCCg
rTO4mRvQ4u1urBcjYPhZeh2FtPOtFlI5iT76J9KBjIGQ5giEskmwS/1tKi4ZbLcP
Jtt4S5IFtWG3H/n7DrnOvqfaEAQiuJ6iiwZwl6gtbKOcAubvWtiPXp3+9zCDnd7T
F+7tQCI50htXUY1uWy84Pjs6WMvOwS3I71EstRfCDFtGYfttmOz4
-----END ENCRYPTED PRIVATE KEY-----
";

fn encrypted_key_loading(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_encrypted_pkcs8_p256");
    group.sample_size(20);
    for (name, pem) in [
        ("pbkdf2-hmacWithSHA1-2048", PBKDF2_SHA1),
        ("pbkdf2-hmacWithSHA256-2048", PBKDF2_SHA256),
        ("pbkdf2-hmacWithSHA384-2048", PBKDF2_SHA384),
        ("pbkdf2-hmacWithSHA512-2048", PBKDF2_SHA512),
        ("scrypt-N16384-r8-p1", SCRYPT),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                PrivateKey::from_pem_with_password(
                    black_box(pem.as_bytes()),
                    b"bench",
                    &KdfLimits::DEFAULT,
                )
                .expect("decrypts")
            });
        });
    }
    group.finish();
}

fn ml_dsa_signing(c: &mut Criterion) {
    let mut group = c.benchmark_group("mldsa_sign_string_to_sign");
    let message = b"AWS4-X509-MLDSA\n20261204T153823Z\n20261204/us-east-1/rolesanywhere/aws4_request\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for variant in [
        MlDsaVariant::MlDsa44,
        MlDsaVariant::MlDsa65,
        MlDsaVariant::MlDsa87,
    ] {
        let key = PrivateKey::MlDsa(MlDsaKey::from_seed(variant, &[7u8; 32]).unwrap());
        let mut sig = vec![0u8; key.max_signature_len()];
        group.bench_function(variant.to_string(), |b| {
            b.iter(|| {
                key.sign(black_box(message), Digest::Sha256, &mut sig)
                    .unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, encrypted_key_loading, ml_dsa_signing);
criterion_main!(benches);
