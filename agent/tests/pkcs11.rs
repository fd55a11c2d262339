//! The PKCS#11 signer end to end, the working paths: the real binary
//! against SoftHSM2 tokens (each test its own token folder) and the mock
//! endpoint, which verifies every signature independently of core. Error
//! paths and PINs are in `pkcs11_errors.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/softhsm.rs"]
mod softhsm;

use common::*;
use rolesanywhere_core::signer::sign_string_message;
use rolesanywhere_core::x509::Certificate;
use sha1::Digest as _;
use softhsm::*;

#[test]
fn token_keys_get_credentials_in_every_form() {
    let hsm = SoftHsm::new();
    standard_token(&hsm, "rolesanywhere");
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let base = "pkcs11:token=rolesanywhere?pin-value=1234";
    let mut expected_algorithms = Vec::new();
    for (kind, label, _) in KEYS {
        let cert_uri = format!("pkcs11:token=rolesanywhere;object={label}?pin-value=1234");
        let cert_file = fx(&format!("{kind}.pem"));
        let cases: [(&str, Option<&str>); 4] = [
            // Certificate on the token, key found through it.
            (&cert_uri, None),
            // Both as URIs.
            (&cert_uri, Some(&cert_uri)),
            // Hybrid: certificate file, key on the token.
            (&cert_file, Some(&cert_uri)),
            // A URI that matches all three keys: the certificate picks one.
            (&cert_file, Some(base)),
        ];
        for (cert, key) in cases {
            let out = run_p11(&cp_args(Some(cert), key, &url), &hsm);
            expect_credentials(&out);
            expected_algorithms.push(if kind == "rsa2048" {
                "AWS4-X509-RSA-SHA256"
            } else {
                "AWS4-X509-ECDSA-SHA256"
            });
        }
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 12);
    for (r, alg) in requests.iter().zip(expected_algorithms) {
        assert!(r.verdict.is_accepted(), "{:?}", r.verdict);
        assert_eq!(algorithm(r), alg);
        // The token holds three unrelated leaves and no CA: no chain (the
        // original sent the leaf again and the other leaves).
        assert_eq!(r.header("x-amz-x509-chain"), None);
    }
}

#[test]
fn sign_string_with_token_keys() {
    let hsm = SoftHsm::new();
    standard_token(&hsm, "sign");
    for (kind, label, _) in KEYS {
        let cert_pem = fx(&format!("{kind}.pem"));
        let der = der_of(&cert_pem);
        let message = sign_string_message(Some(Certificate::from_der(&der).unwrap().public_key()));
        let key_uri = format!("pkcs11:token=sign;object={label}?pin-value=1234");
        for digest in ["SHA256", "SHA384", "SHA512"] {
            let mut outputs = Vec::new();
            for cert in [None, Some(key_uri.as_str()), Some(cert_pem.as_str())] {
                let mut args = vec![
                    "sign-string",
                    "--pkcs11-lib",
                    MODULE,
                    "--private-key",
                    &key_uri,
                    "--digest",
                    digest,
                    "--format",
                    "bin",
                ];
                if let Some(c) = cert {
                    args.extend(["--certificate", c]);
                }
                let out = run_detached(&args, &hsm.env());
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    openssl_verifies(
                        &hsm,
                        &cert_pem,
                        &digest.to_lowercase(),
                        &message,
                        &out.stdout
                    ),
                    "{kind} {digest} {cert:?}: signature does not verify"
                );
                outputs.push(out.stdout);
            }
            if kind == "rsa2048" {
                // PKCS#1 v1.5 is deterministic: the same bytes however the
                // certificate is given, and the same as the key file gives.
                let file = run(
                    &[
                        "sign-string",
                        "--private-key",
                        &fx("rsa2048.pkcs8.pem"),
                        "--digest",
                        digest,
                        "--format",
                        "bin",
                    ],
                    &[],
                );
                assert!(file.status.success());
                assert!(outputs.iter().all(|o| *o == file.stdout), "{digest}");
            }
        }
    }
}

/// Verifies `signature` over `message` with the public key of `cert_pem`
/// through openssl, independently of our code.
fn openssl_verifies(
    dir: &SoftHsm,
    cert_pem: &str,
    digest: &str,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let (msg, sig, key) = (
        dir.path("msg.bin"),
        dir.path("sig.bin"),
        dir.path("pub.pem"),
    );
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let status = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in", cert_pem, "-out"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    std::process::Command::new("openssl")
        .args(["dgst", &format!("-{digest}"), "-verify"])
        .arg(&key)
        .arg("-signature")
        .arg(&sig)
        .arg(&msg)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn chain_holds_only_the_issuers_of_the_leaf() {
    let hsm = SoftHsm::new();
    hsm.init_token("chain");
    hsm.import_key("chain", &fx("p256.pkcs8.pem"), "leaf", "21");
    hsm.write_cert("chain", &fx("p256-via-int.pem"), "leaf", "21");
    hsm.write_cert("chain", &fx("int.pem"), "intermediate", "22");
    hsm.write_cert("chain", &fx("ca.pem"), "root", "23");
    hsm.write_cert("chain", &fx("untrusted-ca.pem"), "other-root", "24");
    hsm.write_cert("chain", &fx("p384.pem"), "unrelated", "25");
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let uri = "pkcs11:token=chain;object=leaf?pin-value=1234";
    expect_credentials(&run_p11(&cp_args(Some(uri), None, &url), &hsm));
    expect_credentials(&run_p11(
        &cp_args(Some(&fx("p256-via-int.pem")), Some(uri), &url),
        &hsm,
    ));
    let args = with(
        cp_args(Some(uri), None, &url),
        &["--intermediates", &fx("chain.pem")],
    );
    expect_credentials(&run_p11(&args, &hsm));
    let int = base64(&der_of(&fx("int.pem")));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert!(r.verdict.is_accepted(), "{:?}", r.verdict);
        assert_eq!(r.header("x-amz-x509-chain"), Some(int.as_str()));
    }
}

#[test]
fn read_certificate_data_lists_token_certificates() {
    let hsm = SoftHsm::new();
    hsm.init_token("first");
    hsm.write_cert("first", &fx("rsa2048.pem"), "rsa", "01");
    hsm.import_key("first", &fx("rsa2048.pkcs8.pem"), "rsa", "01");
    hsm.init_token("second token");
    hsm.write_cert("second token", &fx("p256.pem"), "ec;1 50%", "0a02");
    hsm.import_key("second token", &fx("p256.pkcs8.pem"), "ec;1 50%", "0a02");
    let list = |uri: &str| {
        run_detached(
            &[
                "read-certificate-data",
                "--pkcs11-lib",
                MODULE,
                "--certificate",
                uri,
            ],
            &hsm.env(),
        )
    };
    let out = list("pkcs11:");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Matching identities\n1) Hex Fingerprint: "),
        "{text}"
    );
    assert!(text.ends_with("\n\n"), "{text}");
    let records: Vec<&str> = text
        .trim_start_matches("Matching identities\n")
        .split_terminator("\n\n")
        .collect();
    assert_eq!(records.len(), 2, "{text}");
    let expect = [
        (
            "rsa2048.pem",
            "CN=rsa2048 leaf",
            "8A3F5C7E9B1D2F4608",
            "token=first;",
        ),
        (
            "p256.pem",
            "CN=p256 leaf",
            "1234ABCD",
            "token=second%20token;",
        ),
    ];
    let server = mock(Behaviour::Normal);
    // Slots come in the module's order; match records by subject.
    let mut records = records;
    records.sort_by_key(|r| !r.contains("Subject: CN=rsa2048 leaf"));
    let record_number = |r: &str| r.split(')').next().unwrap().parse::<usize>().unwrap();
    let mut numbers: Vec<usize> = records.iter().map(|r| record_number(r)).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
    for (record, (file, subject, serial, token)) in records.iter().zip(expect) {
        let lines: Vec<&str> = record.lines().collect();
        let sha1: String = sha1::Sha1::digest(der_of(&fx(file)))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            lines[0],
            format!("{}) Hex Fingerprint: {sha1}", record_number(record))
        );
        assert_eq!(lines[1], format!("Subject: {subject}"));
        assert_eq!(lines[2], "Issuer: CN=Test Roles Anywhere Root CA");
        assert_eq!(lines[3], format!("Serial Number: {serial}"));
        let uri = lines[4].strip_prefix("URI: ").unwrap();
        assert_eq!(lines.len(), 5);
        // Each URI names its own token, in a fixed order, and ends with type=cert.
        assert!(
            uri.starts_with(&format!(
                "pkcs11:{token}manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial="
            )),
            "{uri}"
        );
        assert!(uri.ends_with(";type=cert"), "{uri}");
        // ...and selects exactly that certificate again.
        let again = list(uri);
        let again = String::from_utf8(again.stdout).unwrap();
        assert_eq!(again.matches("Hex Fingerprint").count(), 1, "{again}");
        assert!(again.contains(&sha1));
        let with_pin = format!("{uri}?pin-value=1234");
        expect_credentials(&run_p11(
            &cp_args(Some(&with_pin), None, &server.url()),
            &hsm,
        ));
    }
    assert!(
        records[1].contains("id=%0A%02;object=ec%3B1%2050%25;type=cert"),
        "{}",
        records[1]
    );
    let none = list("pkcs11:token=first;object=nothing?pin-value=1234");
    assert!(none.status.success());
    assert_eq!(none.stdout, b"No matching identities\n");
    assert!(server.requests().iter().all(|r| r.verdict.is_accepted()));
}
