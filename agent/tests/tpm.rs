//! TPM 2.0 keys end to end: the real binary against swtpm (keys made by
//! tpm2-tools and tpm2-openssl, certificates from the test CA) and the mock
//! endpoint, which verifies every signature independently.
//!
//! Each test starts its own swtpm on a copy of the fixture TPM's state (see
//! `tpm_support`), so tests run in parallel and never share TPM slots. The
//! binary always runs without a controlling terminal (`setsid -w`) unless a
//! test types a password into a pseudo-terminal on purpose.
#![cfg(all(target_os = "linux", feature = "tpm"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod tpm_support;

use std::process::Output;

use common::{
    Behaviour, MockServer, credential_args, expect_credentials, expect_failure, fixtures, mock,
};
use rolesanywhere_core::signer::sign_string_message;
use rolesanywhere_core::x509::Certificate;
use tpm_support::*;

fn fx() -> &'static Fixtures {
    tpm_support::fixtures(fixtures())
}

/// credential-process with `key` and the certificate `cert` (fixture names)
/// plus `extra` flags, against a fresh TPM A and `server`.
fn credential_process(
    tpm: &Swtpm,
    server: &MockServer,
    cert: &str,
    key: &str,
    extra: &[&str],
) -> Output {
    let url = server.url();
    let cert = fx().path(cert);
    let mut args = credential_args(&cert, key, &url);
    args.extend_from_slice(extra);
    run_detached(&args, &[("TPM2TOOLS_TCTI", &tpm.tcti)])
}

fn key_file(name: &str) -> String {
    fx().path(&format!("{name}.pem"))
}

/// Transient objects and sessions left in the TPM (must stay empty: swtpm has
/// no resource manager, so leaks accumulate until 0x902).
fn leftovers(tpm: &Swtpm) -> String {
    let mut all = String::new();
    for cap in [
        "handles-transient",
        "handles-loaded-session",
        "handles-saved-session",
    ] {
        let out = tool(&fx().dir, &tpm.tcti, "tpm2_getcap", &[cap]);
        all.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    all
}

fn assert_accepted(server: &MockServer, n: usize) {
    let requests = server.requests();
    assert_eq!(requests.len(), n);
    for r in &requests {
        assert!(r.verdict.is_accepted(), "{:?}", r.verdict);
    }
}

#[test]
fn persistent_handles_get_credentials() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let cases: [(&str, String, &[&str]); 4] = [
        (
            "h-rsa.cert.pem",
            format!("handle:{H_RSA}"),
            &["--no-tpm-key-password"],
        ),
        // The 0x is optional, as in the original.
        (
            "h-p384.cert.pem",
            "handle:81000103".to_owned(),
            &["--no-tpm-key-password"],
        ),
        (
            "h-ec-pw.cert.pem",
            format!("handle:{H_EC_PW}"),
            &["--tpm-key-password", HANDLE_PASSWORD],
        ),
        (
            "h-rsa.cert.pem",
            format!("handle:{H_RSA}"),
            &["--tpm-key-password", ""],
        ),
    ];
    for (cert, key, extra) in &cases {
        let out = credential_process(&tpm, &server, cert, key, extra);
        expect_credentials(&out);
    }
    assert_accepted(&server, cases.len());
    let algorithms: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.header("authorization")
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        algorithms,
        [
            "AWS4-X509-RSA-SHA256",
            "AWS4-X509-ECDSA-SHA256",
            "AWS4-X509-ECDSA-SHA256",
            "AWS4-X509-RSA-SHA256"
        ]
    );
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn key_files_from_tpm2_tools_get_credentials() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    // tpm2_encodeobject 5.4 writes emptyAuth FALSE for keys without a
    // password, so those need --no-tpm-key-password.
    let cases: [(&str, &[&str]); 3] = [
        ("tools-ec", &["--no-tpm-key-password"]),
        ("tools-rsa-pw", &["--tpm-key-password", TOOLS_PASSWORD]),
        // Parent: the persistent SRK 0x81000001.
        ("tools-p384-persistent", &["--no-tpm-key-password"]),
    ];
    for (name, extra) in cases {
        let out = credential_process(
            &tpm,
            &server,
            &format!("{name}.cert.pem"),
            &key_file(name),
            extra,
        );
        expect_credentials(&out);
    }
    assert_accepted(&server, cases.len());
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn key_files_from_tpm2_openssl_get_credentials() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let cases: [(&str, &[&str]); 3] = [
        // emptyAuth written as BOOLEAN 0x01; parent: the owner hierarchy.
        ("ossl-ec", &[]),
        ("ossl-p384-pw", &["--tpm-key-password", OSSL_PASSWORD]),
        // Parent: the persistent SRK 0x81000001.
        ("ossl-rsa", &[]),
    ];
    for (name, extra) in cases {
        let out = credential_process(
            &tpm,
            &server,
            &format!("{name}.cert.pem"),
            &key_file(name),
            extra,
        );
        expect_credentials(&out);
    }
    assert_accepted(&server, cases.len());
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn a_key_file_with_its_certificate_appended_serves_as_both() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let combo = dir.path().join("combo.pem");
    let mut data = std::fs::read(key_file("ossl-ec")).unwrap();
    data.extend(std::fs::read(fx().path("ossl-ec.cert.pem")).unwrap());
    std::fs::write(&combo, data).unwrap();
    let combo = combo.to_str().unwrap();
    let url = server.url();
    let base = [
        "credential-process",
        "--role-arn",
        common::ROLE,
        "--profile-arn",
        common::PROFILE,
        "--trust-anchor-arn",
        common::ANCHOR,
        "--endpoint",
        &url,
    ];
    let env = [("TPM2TOOLS_TCTI", tpm.tcti.as_str())];
    // --certificate alone, then both flags naming the same file.
    let mut alone = base.to_vec();
    alone.extend(["--certificate", combo]);
    expect_credentials(&run_detached(&alone, &env));
    let mut both = base.to_vec();
    both.extend(["--certificate", combo, "--private-key", combo]);
    expect_credentials(&run_detached(&both, &env));
    assert_accepted(&server, 2);
}

/// The digest flag, the openssl name of the digest.
const DIGESTS: [(&str, &str); 3] = [
    ("SHA256", "-sha256"),
    ("SHA384", "-sha384"),
    ("SHA512", "-sha512"),
];

#[test]
fn sign_string_signatures_verify_with_openssl() {
    let (_state, tpm) = fx().tpm_a();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, &[&str]); 5] = [
        (
            "h-rsa",
            format!("handle:{H_RSA}"),
            &["--no-tpm-key-password"],
        ),
        (
            "h-p384",
            format!("handle:{H_P384}"),
            &["--no-tpm-key-password"],
        ),
        ("ossl-ec", key_file("ossl-ec"), &[]),
        (
            "ossl-p384-pw",
            key_file("ossl-p384-pw"),
            &["--tpm-key-password", OSSL_PASSWORD],
        ),
        (
            "tools-rsa-pw",
            key_file("tools-rsa-pw"),
            &["--tpm-key-password", TOOLS_PASSWORD],
        ),
    ];
    for (name, key, extra) in &cases {
        // The message: the fixed phrase plus a hash of the public key.
        let cert_pem = std::fs::read(fx().path(&format!("{name}.cert.pem"))).unwrap();
        let der = rolesanywhere_core::pem::blocks(&cert_pem)
            .next()
            .unwrap()
            .decode_to_vec()
            .unwrap();
        let cert = Certificate::from_der(&der).unwrap();
        let message = sign_string_message(Some(cert.public_key()));
        let msg_path = dir.path().join("msg");
        std::fs::write(&msg_path, &message).unwrap();
        for (digest, flag) in DIGESTS {
            let mut args = vec![
                "sign-string",
                "--private-key",
                key,
                "--format",
                "bin",
                "--digest",
                digest,
            ];
            args.extend_from_slice(extra);
            let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &tpm.tcti)]);
            assert!(
                out.status.success(),
                "{name} {digest}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let sig_path = dir.path().join("sig");
            std::fs::write(&sig_path, &out.stdout).unwrap();
            let verify = std::process::Command::new("openssl")
                .args(["dgst", flag, "-verify"])
                .arg(fx().path(&format!("{name}.pub.pem")))
                .arg("-signature")
                .arg(&sig_path)
                .arg(&msg_path)
                .output()
                .unwrap();
            assert!(
                verify.status.success(),
                "{name} {digest}: openssl: {}{}",
                String::from_utf8_lossy(&verify.stdout),
                String::from_utf8_lossy(&verify.stderr)
            );
        }
    }
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn wrong_passwords_are_reported_as_such_and_leak_nothing() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    // A DA-protected handle (TPM_RC_AUTH_FAIL), a noDA file (TPM_RC_BAD_AUTH).
    let out = credential_process(
        &tpm,
        &server,
        "h-ec-pw.cert.pem",
        &format!("handle:{H_EC_PW}"),
        &["--tpm-key-password", "not-the-password"],
    );
    let err = expect_failure(&out, "incorrect TPM key password");
    assert!(err.contains("TPM_RC_AUTH_FAIL"), "{err}");
    let out = credential_process(
        &tpm,
        &server,
        "tools-rsa-pw.cert.pem",
        &key_file("tools-rsa-pw"),
        &["--tpm-key-password", "not-the-password"],
    );
    let err = expect_failure(&out, "incorrect TPM key password");
    assert!(
        err.contains("TPM_RC_BAD_AUTH") && err.contains("tools-rsa-pw.pem"),
        "{err}"
    );
    // Nothing was sent: the signature failed before any request.
    assert_eq!(server.requests().len(), 0);
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn a_password_is_prompted_for_on_the_terminal_at_most_three_times() {
    let (_state, tpm) = fx().tpm_a();
    let env = [("TPM2TOOLS_TCTI", tpm.tcti.as_str())];
    let key = format!("handle:{H_EC_PW}");
    let args = [
        "sign-string",
        "--private-key",
        key.as_str(),
        "--format",
        "text",
    ];
    let (screen, ok) = run_on_terminal(&args, &env, &format!("wrong\n{HANDLE_PASSWORD}\n"));
    assert!(ok, "{screen}");
    assert!(
        screen.contains("Please enter your TPM key password:"),
        "{screen}"
    );
    assert!(
        screen.contains("Incorrect TPM key password. Please try again:"),
        "{screen}"
    );
    assert!(
        !screen.contains(HANDLE_PASSWORD),
        "the password is not echoed: {screen}"
    );
    // The signature (hex) is the last line.
    let hex = screen.lines().last().unwrap().trim();
    assert!(
        hex.len() > 100 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{screen}"
    );

    let (screen, ok) = run_on_terminal(&args, &env, "one\ntwo\nthree\nfour\n");
    assert!(!ok, "{screen}");
    assert_eq!(
        screen
            .matches("Incorrect TPM key password. Please try again:")
            .count(),
        2,
        "{screen}"
    );
    assert!(screen.contains("giving up after 3 tries"), "{screen}");
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn no_terminal_and_no_password_flag_is_a_clear_error() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let out = credential_process(
        &tpm,
        &server,
        "h-ec-pw.cert.pem",
        &format!("handle:{H_EC_PW}"),
        &[],
    );
    expect_failure(&out, "unable to read your TPM key password");
    let out = credential_process(
        &tpm,
        &server,
        "ossl-p384-pw.cert.pem",
        &key_file("ossl-p384-pw"),
        &[],
    );
    expect_failure(&out, "unable to read your TPM key password");
}

#[test]
fn unusable_keys_fail_with_the_reason() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let cases: [(&str, String, Vec<&str>, &str); 6] = [
        (
            "h-rsa.cert.pem",
            "handle:0x81000999".to_owned(),
            vec!["--no-tpm-key-password"],
            "no such object in the TPM (TPM_RC_HANDLE",
        ),
        (
            "tools-decrypt.cert.pem",
            key_file("tools-decrypt"),
            vec!["--no-tpm-key-password"],
            "the TPM key cannot sign (its sign attribute is not set)",
        ),
        (
            "other-tpm-ec.cert.pem",
            key_file("other-tpm-ec"),
            vec![],
            "the key was not made by this TPM or under this parent (TPM_RC_INTEGRITY",
        ),
        (
            "ossl-ec.cert.pem",
            key_file("ossl-ec"),
            vec!["--tpm-key-password", "unneeded"],
            "password is provided but TPM key file indicates that one isn't required",
        ),
        (
            "tools-ec.cert.pem",
            key_file("ossl-ec"),
            vec![],
            "does not match the certificate",
        ),
        (
            "h-rsa.cert.pem",
            "handle:0X81000101".to_owned(),
            vec!["--no-tpm-key-password"],
            "invalid hex TPM handle value",
        ),
    ];
    for (cert, key, extra, needle) in &cases {
        let out = credential_process(&tpm, &server, cert, key, extra);
        let err = expect_failure(&out, needle);
        assert!(err.contains("--private-key"), "names the flag: {err}");
    }
    assert_eq!(server.requests().len(), 0);
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn a_tpm_key_without_a_certificate_is_a_clear_error() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let key = key_file("ossl-ec");
    let args = [
        "credential-process",
        "--private-key",
        &key,
        "--role-arn",
        common::ROLE,
        "--profile-arn",
        common::PROFILE,
        "--trust-anchor-arn",
        common::ANCHOR,
        "--endpoint",
        &url,
    ];
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &tpm.tcti)]);
    expect_failure(&out, "--certificate");
    // A handle without a certificate fails before the TPM is even opened.
    let handle = format!("handle:{H_RSA}");
    let mut args = args.to_vec();
    args[2] = &handle;
    let out = run_detached(&args, &[("TPM_DEVICE", "/nonexistent/tpm0")]);
    expect_failure(&out, "a certificate is required with a TPM key");
    // sign-string needs no certificate.
    let out = run_detached(
        &["sign-string", "--private-key", &key],
        &[("TPM2TOOLS_TCTI", &tpm.tcti)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_or_unreachable_tpm_is_a_clear_error() {
    let server = mock(Behaviour::Normal);
    let key = format!("handle:{H_RSA}");
    let url = server.url();
    let cert = fx().path("h-rsa.cert.pem");
    let mut args = credential_args(&cert, &key, &url);
    args.push("--no-tpm-key-password");
    let out = run_detached(&args, &[("TPM_DEVICE", "/nonexistent/tpm0")]);
    expect_failure(
        &out,
        "TPM_DEVICE /nonexistent/tpm0: No such file or directory",
    );
    // A character device that is not a TPM (the device TCTI's path).
    let out = run_detached(&args, &[("TPM_DEVICE", "/dev/null")]);
    expect_failure(
        &out,
        "TPM transport: /dev/null: the device answered 0 bytes, not a TPM response",
    );
    // No TPM anywhere: nothing set, and this machine has no /dev/tpm*.
    if !std::path::Path::new("/dev/tpmrm0").exists() && !std::path::Path::new("/dev/tpm0").exists()
    {
        expect_failure(
            &run_detached(&args, &[]),
            "no TPM found: /dev/tpmrm0 and /dev/tpm0 do not exist",
        );
    }
    // A port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tcti = format!("swtpm:host=127.0.0.1,port={port}");
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &tcti)]);
    let err = expect_failure(&out, "cannot open the TPM swtpm:host=127.0.0.1");
    assert!(
        !err.contains("WARNING") && !err.contains("ERROR:tcti"),
        "one line, no library chatter: {err}"
    );
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", "bogus:x")]);
    expect_failure(&out, "unknown TCTI");
}

#[test]
fn malformed_key_files_fail_without_touching_the_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let cert = fx().path("ossl-ec.cert.pem");
    let cases = [
        (
            "junk",
            "-----BEGIN TSS2 PRIVATE KEY-----\nMIIBAgMEBQ==\n-----END TSS2 PRIVATE KEY-----\n",
            "malformed TSS2 key file",
        ),
        // SEQUENCE { OID 2.23.133.10.1.5 (sealed), INTEGER 0x40000001, OCTET STRING {}, OCTET STRING {} }
        (
            "sealed",
            "-----BEGIN TSS2 PRIVATE KEY-----\nMBIGBmeBBQoBBQIEQAAAAQQABAA=\n-----END TSS2 PRIVATE KEY-----\n",
            "invalid OID for TPMv2 key:2.23.133.10.1.5",
        ),
        // The same loadable key with an unknown parent 0x40000002.
        (
            "parent",
            "-----BEGIN TSS2 PRIVATE KEY-----\nMBIGBmeBBQoBAwIEQAAAAgQABAA=\n-----END TSS2 PRIVATE KEY-----\n",
            "invalid parent for TPMv2 key",
        ),
        // Parent fine, empty public blob.
        (
            "public",
            "-----BEGIN TSS2 PRIVATE KEY-----\nMBIGBmeBBQoBAwIEQAAAAQQABAA=\n-----END TSS2 PRIVATE KEY-----\n",
            "invalid length for TPMv2 PUBLIC blob",
        ),
    ];
    for (name, pem, needle) in cases {
        let path = dir.path().join(format!("{name}.pem"));
        std::fs::write(&path, pem).unwrap();
        let path = path.to_str().unwrap();
        let mut args = credential_args(&cert, path, &url);
        args.push("--no-tpm-key-password");
        // No TPM at all: the file is refused before one is looked for.
        let out = run_detached(&args, &[("TPM_DEVICE", "/nonexistent/tpm0")]);
        let err = expect_failure(&out, needle);
        assert!(err.contains(path), "names the file: {err}");
    }
}

#[test]
fn rsa_parent_files_load_under_the_rsa_srk() {
    let (_state, tpm) = fx().tpm_a();
    let server = mock(Behaviour::Normal);
    // rsaParent TRUE: the parent is the RSA-2048 SRK, the one tpm2-tools
    // makes with `tpm2_createprimary -G rsa2048:aes128cfb`.
    let out = credential_process(
        &tpm,
        &server,
        "rsa-parent.cert.pem",
        &key_file("rsa-parent"),
        &[],
    );
    expect_credentials(&out);
    assert_accepted(&server, 1);
    // The same key without the flag is looked for under the ECC SRK: refused.
    let out = credential_process(
        &tpm,
        &server,
        "rsa-parent.cert.pem",
        &key_file("rsa-parent-unflagged"),
        &[],
    );
    expect_failure(&out, "TPM_RC_INTEGRITY");
    assert_eq!(leftovers(&tpm), "");
}

#[test]
fn debug_names_the_tpm_and_key_but_never_the_password() {
    let (_state, tpm) = fx().tpm_a();
    let key = key_file("ossl-p384-pw");
    let args = [
        "sign-string",
        "--private-key",
        &key,
        "--tpm-key-password",
        OSSL_PASSWORD,
        "--debug",
    ];
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &tpm.tcti)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let want = format!(
        "aws_signing_helper: debug: TPM {}: {key} is a EC key, with a password",
        tpm.tcti
    );
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!stderr.contains(OSSL_PASSWORD), "{stderr}");
}

#[test]
fn swtpm_on_a_unix_socket_works_both_ways() {
    let (_state, tpm) = fx().tpm_a_unix();
    let server = mock(Behaviour::Normal);
    let out = credential_process(
        &tpm,
        &server,
        "h-ec-pw.cert.pem",
        &format!("handle:{H_EC_PW}"),
        &["--tpm-key-password", HANDLE_PASSWORD],
    );
    expect_credentials(&out);
    let out = credential_process(&tpm, &server, "ossl-ec.cert.pem", &key_file("ossl-ec"), &[]);
    expect_credentials(&out);
    // The original's way (its own tests run swtpm like this): TPM_DEVICE
    // names the socket, which takes raw TPM commands.
    let socket = tpm.tcti.strip_prefix("swtpm:path=").unwrap();
    let url = server.url();
    let cert = fx().path("h-rsa.cert.pem");
    let handle = format!("handle:{H_RSA}");
    let mut args = credential_args(&cert, &handle, &url);
    args.push("--no-tpm-key-password");
    expect_credentials(&run_detached(&args, &[("TPM_DEVICE", socket)]));
    let cert = fx().path("tools-rsa-pw.cert.pem");
    let key = key_file("tools-rsa-pw");
    let mut args = credential_args(&cert, &key, &url);
    args.extend(["--tpm-key-password", TOOLS_PASSWORD]);
    expect_credentials(&run_detached(&args, &[("TPM_DEVICE", socket)]));
    assert_accepted(&server, 4);
}

/// A man in the middle between the helper and swtpm that flips one byte of
/// every successful `TPM2_Sign` answer (inside the signature), as an attacker
/// on the bus could. Serves one connection at a time, for 60 s at most.
struct TamperingProxy {
    tcti: String,
    tampered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TamperingProxy {
    fn start(upstream_port: u16) -> TamperingProxy {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tampered = Arc::new(AtomicUsize::new(0));
        let count = tampered.clone();
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        std::thread::spawn(move || {
            while std::time::Instant::now() < deadline {
                let mut client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let mut tpm = TcpStream::connect(("127.0.0.1", upstream_port)).unwrap();
                loop {
                    // TPM_SEND_COMMAND, locality, size, command; or SESSION_END.
                    let mut word = [0u8; 4];
                    if client.read_exact(&mut word).is_err() || word != [0, 0, 0, 8] {
                        let _ = tpm.write_all(&word);
                        break;
                    }
                    let mut head = [0u8; 5];
                    client.read_exact(&mut head).unwrap();
                    let len = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
                    let mut command = vec![0u8; len];
                    client.read_exact(&mut command).unwrap();
                    tpm.write_all(&word).unwrap();
                    tpm.write_all(&head).unwrap();
                    tpm.write_all(&command).unwrap();
                    tpm.read_exact(&mut word).unwrap();
                    let mut response = vec![0u8; u32::from_be_bytes(word) as usize];
                    tpm.read_exact(&mut response).unwrap();
                    let mut ack = [0u8; 4];
                    tpm.read_exact(&mut ack).unwrap();
                    let is_sign = command[6..10] == [0, 0, 1, 0x5d];
                    if is_sign && response[6..10] == [0, 0, 0, 0] {
                        // Header 10, parameterSize 4, sigAlg 2, hash 2, size 2:
                        // the first byte of the signature (or of r).
                        response[20] ^= 0x01;
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    client.write_all(&word).unwrap();
                    client.write_all(&response).unwrap();
                    client.write_all(&ack).unwrap();
                }
            }
        });
        TamperingProxy {
            tcti: format!("swtpm:host=127.0.0.1,port={port}"),
            tampered,
        }
    }
}

#[test]
fn an_altered_tpm_answer_is_refused() {
    let (_state, tpm) = fx().tpm_a();
    let proxy = TamperingProxy::start(tpm.port);
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let cert = fx().path("h-rsa.cert.pem");
    let handle = format!("handle:{H_RSA}");
    let mut args = credential_args(&cert, &handle, &url);
    args.push("--no-tpm-key-password");
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &proxy.tcti)]);
    expect_failure(&out, "TPM2_Sign: the TPM response's HMAC does not verify");
    assert_eq!(proxy.tampered.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Nothing was sent with a signature the TPM did not make.
    assert_eq!(server.requests().len(), 0);
    // Straight to the TPM, the same key signs and is accepted.
    let out = run_detached(&args, &[("TPM2TOOLS_TCTI", &tpm.tcti)]);
    expect_credentials(&out);
    assert_eq!(leftovers(&tpm), "");
}
