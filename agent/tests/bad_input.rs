//! Bad input of every kind ends with exit 1, one line on stderr naming the
//! problem, nothing on stdout, and no panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// An endpoint that must never be reached: bad input fails before any call.
const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn unreadable_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));

    let out = run(
        &credential_args("/nonexistent/cert.pem", &key, NOWHERE),
        &[],
    );
    expect_failure(&out, "--certificate /nonexistent/cert.pem: No such file");
    let out = run(
        &credential_args(&cert, "/nonexistent/key.pem", NOWHERE),
        &[],
    );
    expect_failure(&out, "--private-key /nonexistent/key.pem: No such file");

    let pem = std::fs::read_to_string(&cert).unwrap();
    let truncated = write_temp(&dir, "truncated.pem", &pem.as_bytes()[..pem.len() / 2]);
    expect_failure(
        &run(&credential_args(&truncated, &key, NOWHERE), &[]),
        "--certificate",
    );

    let broken = pem.replacen("MII", "M!I", 1);
    let broken = write_temp(&dir, "broken.pem", broken.as_bytes());
    expect_failure(
        &run(&credential_args(&broken, &key, NOWHERE), &[]),
        "malformed PEM",
    );

    let garbage = write_temp(&dir, "garbage.der", &[0x30, 0x82, 0x01, 0x00, 1, 2, 3]);
    expect_failure(
        &run(&credential_args(&garbage, &key, NOWHERE), &[]),
        "could not parse",
    );
    expect_failure(
        &run(&credential_args(&cert, &garbage, NOWHERE), &[]),
        "--private-key",
    );

    let key_pem = std::fs::read_to_string(&key).unwrap();
    let truncated_key = write_temp(
        &dir,
        "truncated-key.pem",
        &key_pem.as_bytes()[..key_pem.len() - 40],
    );
    expect_failure(
        &run(&credential_args(&cert, &truncated_key, NOWHERE), &[]),
        "truncated PEM",
    );

    let cert_as_key = run(&credential_args(&cert, &cert, NOWHERE), &[]);
    expect_failure(&cert_as_key, "no private key found");

    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
    let legacy = write_temp(&dir, "legacy.pem", legacy.as_bytes());
    expect_failure(
        &run(&credential_args(&cert, &legacy, NOWHERE), &[]),
        "legacy OpenSSL-encrypted PEM",
    );

    let bundle = write_temp(&dir, "bundle.pem", format!("{pem}{key_pem}").as_bytes());
    let mut args = credential_args(&cert, &key, NOWHERE);
    args.extend(["--intermediates", &bundle]);
    expect_failure(&run(&args, &[]), "invalid certificate chain");
}

#[test]
fn key_must_match_certificate() {
    let pairs = [
        (
            "p256.pem",
            "p384.pkcs8.pem",
            "does not match the certificate (EC P-256)",
        ),
        (
            "p256.pem",
            "rsa2048.pkcs1.pem",
            "does not match the certificate (EC P-256)",
        ),
        (
            "rsa2048.pem",
            "p256.sec1.pem",
            "does not match the certificate (RSA)",
        ),
        (
            "p384.pem",
            "p256.pkcs8.pem",
            "does not match the certificate (EC P-384)",
        ),
    ];
    for (cert, key, needle) in pairs {
        let out = run(&credential_args(&fx(cert), &fx(key), NOWHERE), &[]);
        expect_failure(&out, needle);
    }
    // Same type, different key: a fresh P-256 key.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    let other = other.to_string_lossy().into_owned();
    let out = run(&credential_args(&fx("p256.pem"), &other, NOWHERE), &[]);
    expect_failure(&out, "does not match the certificate's public key");
}

#[test]
fn arns_regions_and_durations() {
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));
    let base = credential_args(&cert, &key, NOWHERE);
    let with = |flag: &'static str, value: &'static str| {
        let mut args = base.clone();
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = value;
        run(&args, &[])
    };
    expect_failure(
        &with("--trust-anchor-arn", "not-an-arn"),
        "--trust-anchor-arn: not an ARN",
    );
    expect_failure(&with("--trust-anchor-arn", ""), "--trust-anchor-arn");
    expect_failure(
        &with(
            "--profile-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
        ),
        "--profile-arn: ARN resource is not a profile",
    );
    expect_failure(
        &with("--role-arn", "arn:aws:iam::123456789012:user/bob"),
        "--role-arn: ARN resource is not a role",
    );
    expect_failure(
        &with(
            "--profile-arn",
            "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p",
        ),
        "trust anchor and profile regions don't match",
    );
    for bad in ["100", "43201", "-5"] {
        let mut args = base.clone();
        args.extend(["--session-duration", bad]);
        expect_failure(&run(&args, &[]), "--session-duration");
    }
    let mut args = base.clone();
    args.extend(["--role-session-name", "bad name"]);
    expect_failure(&run(&args, &[]), "--role-session-name");
    let mut args = base.clone();
    args.extend(["--region", "US East"]);
    expect_failure(&run(&args, &[]), "--region");
    let mut args = base;
    let last = args.len() - 1;
    args[last] = "ftp://127.0.0.1";
    expect_failure(&run(&args, &[]), "--endpoint");
}

#[test]
fn flags_for_another_key_source_fail_loudly() {
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));
    let cases: [(&[&str], &str); 5] = [
        (
            &["--pkcs11-lib", "/usr/lib/softhsm/libsofthsm2.so"],
            "--pkcs11-lib and --reuse-pin only apply to PKCS#11 keys",
        ),
        (
            &["--reuse-pin"],
            "--pkcs11-lib and --reuse-pin only apply to PKCS#11 keys",
        ),
        (&["--tpm-key-password", "x"], "--tpm-key-password"),
        (&["--no-tpm-key-password"], "--no-tpm-key-password"),
        (
            &["--intermediates", "/nonexistent"],
            "--intermediates /nonexistent",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = credential_args(&cert, &key, NOWHERE);
        args.extend(extra);
        expect_failure(&run(&args, &[]), needle);
    }
    let out = run(
        &credential_args("pkcs11:token=x;object=y", &key, NOWHERE),
        &[],
    );
    expect_failure(&out, "a pkcs11: certificate needs its key on the token");
    // No OS certificate store on Linux: a clear error, never a silent fallback.
    let out = run(
        &[
            "credential-process",
            "--cert-selector",
            "Key=x,Value=y",
            "--role-arn",
            ROLE,
        ],
        &[],
    );
    expect_failure(&out, "OS certificate stores");
    let out = run(&["credential-process", "--role-arn", ROLE], &[]);
    expect_failure(&out, "OS certificate stores");
}

#[test]
fn clap_errors_exit_one_and_help_exits_zero() {
    let out = run(&["credential-process", "--no-such-flag"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = run(&["sign-string", "--digest", "sha256"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("credential-process"));
    let out = run(
        &[
            "credential-process",
            "--certificate",
            "a",
            "--cert-selector",
            "b",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}
