//! The signer in-process against SoftHSM2: session reuse (with the figures
//! the issue asks for), the `CKM_RSA_PKCS` fallback, a module that loses
//! its state under the signer, concurrent signing, and chain building.
//!
//! SoftHSM reads `SOFTHSM2_CONF` from the process environment, which tests
//! running in parallel threads cannot share (and setting it is `unsafe`).
//! So the test sets up a token, then runs itself again as a child process
//! with that environment; the child does the work and prints the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rolesanywhere_core::pem;
use rolesanywhere_core::signer::{Digest, Signer, verify};
use rolesanywhere_core::x509::Certificate;

use super::signer::Mechanisms;
use super::{CertInput, LoadRequest, Loaded, chain, load};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const CHILD: &str = "RA_UNIT_PKCS11_FIXTURES";
const TEST_NAME: &str = "signers::pkcs11::tests::signer_on_softhsm";

/// The openssl fixtures (scripts/make-fixtures.sh) in a fresh folder.
fn make_fixtures(dir: &Path) -> PathBuf {
    let out = dir.join("fx");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-fixtures.sh");
    let status = Command::new("bash").arg(script).arg(&out).status().unwrap();
    assert!(status.success(), "make-fixtures.sh failed");
    out
}

fn der(fixtures: &Path, name: &str) -> Vec<u8> {
    let data = std::fs::read(fixtures.join(name)).unwrap();
    let block = pem::blocks(&data).next().unwrap();
    block.decode_to_vec().unwrap().to_vec()
}

fn tool(conf: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install softhsm2)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn signer_on_softhsm() {
    if let Some(dir) = std::env::var_os(CHILD) {
        return child(Path::new(&dir));
    }
    assert!(
        Path::new(MODULE).exists(),
        "{MODULE} missing: install softhsm2"
    );
    let dir = tempfile::tempdir().unwrap();
    let fixtures = make_fixtures(dir.path());
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    tool(
        &conf,
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            "unit",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ],
    );
    for (file, label, id) in [
        ("p256.pkcs8.pem", "ec-p256", "02"),
        ("rsa2048.pkcs8.pem", "rsa-2048", "01"),
    ] {
        let key = fixtures.join(file);
        let key = key.to_str().unwrap();
        tool(
            &conf,
            "softhsm2-util",
            &[
                "--import", key, "--token", "unit", "--label", label, "--id", id, "--pin", "1234",
            ],
        );
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, &fixtures)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The child ran exactly one test (this one), which did the work.
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    // (The harness prints "test ... " before the child's first line.)
    for line in stdout
        .lines()
        .filter_map(|l| l.find("pkcs11 figures").map(|i| &l[i..]))
    {
        println!("{line}");
    }
    assert!(stdout.contains("pkcs11 figures"), "{stdout}");
}

fn load_key(fixtures: &Path, label: &str, cert: &str) -> Loaded {
    let uri = format!("pkcs11:token=unit;object={label}?pin-value=1234");
    load(LoadRequest {
        cert: CertInput::File(der(fixtures, cert)),
        key_uri: Some(&uri),
        lib: Some(MODULE),
        intermediates: Vec::new(),
        reuse_pin: false,
        debug: false,
    })
    .unwrap()
}

fn sign(
    signer: &dyn Signer<Error = crate::signers::SignerError>,
    msg: &[u8],
    digest: Digest,
) -> Vec<u8> {
    let mut out = vec![0u8; signer.max_signature_len()];
    let n = signer.sign(msg, digest, &mut out).unwrap();
    out.truncate(n);
    out
}

/// 100 signatures on one signer, then 100 full loads (module, search,
/// login, key check) each followed by one signature, as the original does
/// on every `Sign`.
fn figures(fixtures: &Path, label: &str, cert_file: &str) {
    let cert_der = der(fixtures, cert_file);
    let cert = Certificate::from_der(&cert_der).unwrap();
    let loaded = load_key(fixtures, label, cert_file);
    let messages: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("string to sign {i}").into_bytes())
        .collect();
    let start = Instant::now();
    let sigs: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| sign(&loaded.signer, m, Digest::Sha256))
        .collect();
    let reused = start.elapsed();
    for (m, s) in messages.iter().zip(&sigs) {
        verify(&cert, m, Digest::Sha256, s).unwrap();
    }
    drop(loaded);
    let start = Instant::now();
    for m in &messages {
        let fresh = load_key(fixtures, label, cert_file);
        let s = sign(&fresh.signer, m, Digest::Sha256);
        verify(&cert, m, Digest::Sha256, &s).unwrap();
    }
    let fresh = start.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "pkcs11 figures ({label}): 100 signatures on one session {:.1} ms ({:.2} ms each); \
         100 x (load module, find, log in, check key, sign) {:.1} ms",
        ms(reused),
        ms(reused) / 100.0,
        ms(fresh)
    );
}

fn child(fixtures: &Path) {
    figures(fixtures, "ec-p256", "p256.pem");
    figures(fixtures, "rsa-2048", "rsa2048.pem");

    // CKM_RSA_PKCS over a DigestInfo gives the very bytes the combined
    // mechanism gives (PKCS#1 v1.5 is deterministic), for every digest.
    let cert_der = der(fixtures, "rsa2048.pem");
    let cert = Certificate::from_der(&cert_der).unwrap();
    let combined = load_key(fixtures, "rsa-2048", "rsa2048.pem").signer;
    let fallback = load_key(fixtures, "rsa-2048", "rsa2048.pem")
        .signer
        .with_mechanisms(Mechanisms::digest_info_only());
    for digest in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
        let a = sign(&combined, b"fallback", digest);
        let b = sign(&fallback, b"fallback", digest);
        assert_eq!(a, b, "{digest:?}");
        verify(&cert, b"fallback", digest, &b).unwrap();
    }
    drop((combined, fallback));

    // The module loses its state (as when a remote module restarts): the
    // next signature initialises it again, logs in, finds the key, and is
    // checked against the certificate before it is returned.
    let ec_der = der(fixtures, "p256.pem");
    let ec_cert = Certificate::from_der(&ec_der).unwrap();
    let loaded = load_key(fixtures, "ec-p256", "p256.pem");
    let before = sign(&loaded.signer, b"before", Digest::Sha256);
    verify(&ec_cert, b"before", Digest::Sha256, &before).unwrap();
    loaded.signer.module().clone().finalize().unwrap();
    for digest in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
        let after = sign(&loaded.signer, b"after", digest);
        verify(&ec_cert, b"after", digest, &after).unwrap();
    }

    // One signer, four threads (serve signs from several): serialised by
    // its lock, every signature good.
    let signer = Arc::new(loaded.signer);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let signer = Arc::clone(&signer);
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let m = format!("thread {t} message {i}").into_bytes();
                        let s = sign(&*signer, &m, Digest::Sha256);
                        (m, s)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for (m, s) in t.join().unwrap() {
            verify(&ec_cert, &m, Digest::Sha256, &s).unwrap();
        }
    }
}

#[test]
fn chains_hold_only_issuers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let fx = make_fixtures(dir.path());
    let d = |n: &str| der(&fx, n);
    let (leaf, int, ca) = (d("p256-via-int.pem"), d("int.pem"), d("ca.pem"));
    let pool = vec![
        leaf.clone(),
        d("untrusted-ca.pem"),
        d("p384.pem"),
        ca.clone(),
        int.clone(),
        int.clone(),
    ];
    // The leaf is left out, the intermediate sent once, the root not at all.
    assert_eq!(chain::build(&leaf, &pool), vec![int.clone()]);
    // A leaf signed by the root needs nothing.
    assert!(chain::build(&d("p256.pem"), &pool).is_empty());
    // Without its issuer in the pool, nothing (not unrelated certificates).
    assert!(chain::build(&leaf, &[d("untrusted-ca.pem"), ca.clone()]).is_empty());
    // A self-signed leaf has no chain.
    assert!(chain::build(&ca, &pool).is_empty());
}
