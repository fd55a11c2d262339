//! `sign-string`, `read-certificate-data` and `version` through the binary,
//! checked with openssl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::process::Command;

use common::*;
use sha2::Digest as _;

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The message sign-string signs, rebuilt from the certificate with openssl.
fn expected_message(cert: &str, rsa: bool) -> Vec<u8> {
    let der = openssl(&["x509", "-in", cert, "-noout", "-pubkey"]);
    let dir = tempfile::tempdir().unwrap();
    let spki = dir.path().join("pub.pem");
    std::fs::write(&spki, der).unwrap();
    let spki = spki.to_string_lossy().into_owned();
    let key_bytes = if rsa {
        openssl(&[
            "rsa",
            "-pubin",
            "-in",
            &spki,
            "-RSAPublicKey_out",
            "-outform",
            "DER",
        ])
    } else {
        // The uncompressed point is the tail of the SPKI DER.
        let der = openssl(&["pkey", "-pubin", "-in", &spki, "-outform", "DER"]);
        let n = if cert.contains("p384") { 97 } else { 65 };
        der[der.len() - n..].to_vec()
    };
    let mut h = sha2::Sha256::new();
    h.update(b"IAM RA");
    h.update(&key_bytes);
    let mut m = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    m.extend_from_slice(&h.finalize());
    m
}

#[test]
fn sign_string_verifies_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, key, rsa) in [
        ("rsa2048", "rsa2048.pkcs1.pem", true),
        ("p256", "p256.sec1.pem", false),
        ("p384", "p384.pkcs8.pem", false),
    ] {
        let cert = fx(&format!("{kind}.pem"));
        let msg = dir.path().join("msg");
        std::fs::write(&msg, expected_message(&cert, rsa)).unwrap();
        for digest in ["SHA256", "SHA384", "SHA512"] {
            let out = run(
                &[
                    "sign-string",
                    "--private-key",
                    &fx(key),
                    "--digest",
                    digest,
                    "--format",
                    "bin",
                ],
                &[],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let sig = dir.path().join("sig");
            std::fs::write(&sig, &out.stdout).unwrap();
            let pubkey = dir.path().join("pub.pem");
            std::fs::write(
                &pubkey,
                openssl(&["x509", "-in", &cert, "-noout", "-pubkey"]),
            )
            .unwrap();
            let dgst = format!("-{}", digest.to_lowercase());
            let verified = Command::new("openssl")
                .args(["dgst", &dgst, "-verify"])
                .arg(&pubkey)
                .arg("-signature")
                .arg(&sig)
                .arg(&msg)
                .output()
                .unwrap();
            assert!(
                verified.status.success(),
                "{kind} {digest}: {}",
                String::from_utf8_lossy(&verified.stdout)
            );
        }
        // json (the default) and text carry the same hex.
        let json = run(&["sign-string", "--private-key", &fx(key)], &[]);
        let text = run(
            &["sign-string", "--private-key", &fx(key), "--format", "text"],
            &[],
        );
        let json = String::from_utf8(json.stdout).unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()) && !text.is_empty());
        if !rsa {
            // ECDSA here is deterministic (RFC 6979): same bytes every time.
            assert_eq!(json, format!("\"{text}\""));
        }
    }
}

#[test]
fn read_certificate_data_matches_openssl() {
    for (kind, key_type, algs) in [
        ("rsa2048", "RSA", r#"["RSASHA256","RSASHA384","RSASHA512"]"#),
        (
            "p256",
            "EC",
            r#"["ECDSASHA256","ECDSASHA384","ECDSASHA512"]"#,
        ),
        (
            "p384",
            "EC",
            r#"["ECDSASHA256","ECDSASHA384","ECDSASHA512"]"#,
        ),
    ] {
        let cert = fx(&format!("{kind}.pem"));
        let out = run(&["read-certificate-data", "--certificate", &cert], &[]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["keyType"], key_type);
        assert_eq!(v["supportedAlgorithms"].to_string(), algs);
        let serial_hex =
            String::from_utf8(openssl(&["x509", "-in", &cert, "-noout", "-serial"])).unwrap();
        let serial_hex = serial_hex.trim().trim_start_matches("serial=");
        let decimal = hex_to_decimal(serial_hex);
        assert_eq!(v["serialNumber"], decimal.as_str());
        let der = openssl(&["x509", "-in", &cert, "-outform", "DER"]);
        let b64 = v["certificateData"].as_str().unwrap();
        assert_eq!(b64, base64(&der));
    }
    let out = run(
        &["read-certificate-data", "--certificate", "/nonexistent"],
        &[],
    );
    expect_failure(&out, "--certificate /nonexistent");
}

#[test]
fn version_prints_a_line() {
    let out = run(&["version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
}

fn hex_to_decimal(hex: &str) -> String {
    let mut digits = vec![0u32]; // little-endian base 10
    for c in hex.chars() {
        let mut carry = c.to_digit(16).unwrap();
        for d in digits.iter_mut() {
            let v = *d * 16 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push(carry % 10);
            carry /= 10;
        }
    }
    let s: String = digits
        .iter()
        .rev()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect();
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
