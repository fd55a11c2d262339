//! Every key file users have, end to end through the binary and the mock:
//! RSA-2048, P-256, P-384 and ML-DSA-44/65/87 keys, plain and encrypted
//! (PBKDF2 with HMAC-SHA1/256/384/512 and AES-128/192/256-CBC, scrypt),
//! through `credential-process` and `sign-string`; PKCS#12 bundles, modern
//! and legacy; passwords from the flag, the terminal, or missing; and every
//! bad file the issue lists.
//!
//! The RSA/EC encrypted keys and the PKCS#12 files are made by openssl at
//! test time (`scripts/make-key-fixtures.sh`). OpenSSL 3.0 cannot make ML-DSA
//! keys, so the test makes them here (from fixed seeds) with a certificate
//! signed by the fixture CA, and the script encrypts them from OpenSSL
//! primitives. The mock verifies every signature independently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod key_files_support;

use std::process::{Command, Output, Stdio};

use common::*;
use key_files_support::*;
use ml_dsa::signature::Keypair as _;

const PRFS: [&str; 4] = ["sha1", "sha256", "sha384", "sha512"];
const CIPHERS: [&str; 3] = ["aes128", "aes192", "aes256"];

/// The certificate and plain key of each key type.
fn identity(key_type: &str) -> (String, String) {
    if key_type.starts_with("mldsa") {
        (
            kf(&format!("{key_type}.pem")),
            kf(&format!("{key_type}.pkcs8.pem")),
        )
    } else {
        (
            fx(&format!("{key_type}.pem")),
            fx(&format!("{key_type}.pkcs8.pem")),
        )
    }
}

/// Every encrypted variant of `key_type`'s key.
fn encrypted_variants(key_type: &str) -> Vec<String> {
    let mut out: Vec<String> = PRFS
        .iter()
        .flat_map(|p| {
            CIPHERS
                .iter()
                .map(move |c| format!("{key_type}.enc-{p}-{c}.pem"))
        })
        .collect();
    out.push(format!("{key_type}.enc-scrypt.pem"));
    out.into_iter().map(|n| kf(&n)).collect()
}

fn sign_string(key: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["sign-string", "--private-key", key, "--format", "bin"];
    args.extend_from_slice(extra);
    let out = run_no_tty(&args);
    assert!(
        out.status.success(),
        "sign-string {key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// credential-process and sign-string with the plain key and every encrypted
/// variant: the mock verifies each request; sign-string signatures (all
/// deterministic: PKCS#1 v1.5, RFC 6979, ML-DSA with rnd = 0) must equal the
/// plain key's.
fn every_encryption(key_type: &str, algorithm: &str) {
    let mock = mock(Behaviour::default());
    let url = mock.url();
    let (cert, plain) = identity(key_type);
    let baseline = sign_string(&plain, &[]);
    let mut keys = vec![plain];
    keys.extend(encrypted_variants(key_type));
    for key in &keys {
        let mut args = credential_args(&cert, key, &url);
        args.extend(["--pkcs8-password", PW]);
        let out = run_no_tty(&args);
        expect_credentials(&out);
        let last = mock.requests().pop().unwrap();
        assert!(last.verdict.is_accepted(), "{key}: {:?}", last.verdict);
        let auth = last.header("Authorization").unwrap();
        assert!(auth.starts_with(&format!("{algorithm} ")), "{key}: {auth}");
        assert_eq!(
            sign_string(key, &["--pkcs8-password", PW]),
            baseline,
            "sign-string with {key}"
        );
    }
    assert_eq!(mock.request_count(), keys.len());
}

#[test]
fn rsa2048_every_encryption() {
    every_encryption("rsa2048", "AWS4-X509-RSA-SHA256");
}

#[test]
fn p256_every_encryption() {
    every_encryption("p256", "AWS4-X509-ECDSA-SHA256");
}

#[test]
fn p384_every_encryption() {
    every_encryption("p384", "AWS4-X509-ECDSA-SHA256");
}

#[test]
fn mldsa44_every_encryption() {
    every_encryption("mldsa44", "AWS4-X509-MLDSA");
}

#[test]
fn mldsa65_every_encryption() {
    every_encryption("mldsa65", "AWS4-X509-MLDSA");
}

#[test]
fn mldsa87_every_encryption() {
    every_encryption("mldsa87", "AWS4-X509-MLDSA");
}

/// sign-string with ML-DSA signs the fixed phrase alone (as the original:
/// its public key is neither RSA nor EC), pure ML-DSA with an empty context.
#[test]
fn ml_dsa_sign_string_verifies_and_both_form_loads() {
    fn verify<P: ml_dsa::MlDsaParams>(v: u8, sig: &[u8]) -> bool {
        let sk = ml_dsa::SigningKey::<P>::from_seed(&seed(v).into());
        let sig = ml_dsa::Signature::<P>::try_from(sig).unwrap();
        sk.verifying_key().verify_with_context(
            b"AWS Roles Anywhere Credential Helper Signing Test1",
            &[],
            &sig,
        )
    }
    for (v, _) in ML_DSA {
        let sig = sign_string(&kf(&format!("mldsa{v}.pkcs8.pem")), &[]);
        let ok = match v {
            44 => verify::<ml_dsa::MlDsa44>(v, &sig),
            65 => verify::<ml_dsa::MlDsa65>(v, &sig),
            _ => verify::<ml_dsa::MlDsa87>(v, &sig),
        };
        assert!(ok, "ML-DSA-{v} sign-string signature verifies");
        assert_eq!(
            sign_string(&kf(&format!("mldsa{v}-both.pkcs8.pem")), &[]),
            sig
        );
        // DER PKCS#8 works too.
        assert_eq!(sign_string(&kf(&format!("mldsa{v}.pkcs8.der")), &[]), sig);
    }
}

#[test]
fn read_certificate_data_names_the_ml_dsa_variant() {
    for (v, _) in ML_DSA {
        let cert = kf(&format!("mldsa{v}.pem"));
        let out = run(&["read-certificate-data", "--certificate", &cert], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let name = format!("ML-DSA-{v}");
        assert_eq!(json["keyType"], name.as_str());
        assert_eq!(json["supportedAlgorithms"], serde_json::json!([name]));
        assert_eq!(
            json["serialNumber"],
            u64::from_be_bytes([0, 0, 0x4d, 0x4c, 0x44, 0x53, 0x41, v]).to_string()
        );
    }
}

#[test]
fn encrypted_der_key_file() {
    let plain = sign_string(&fx("p256.pkcs8.pem"), &[]);
    assert_eq!(
        sign_string(&kf("p256.enc.der"), &["--pkcs8-password", PW]),
        plain
    );
}

/// The chain header the mock received, as DER certificates.
fn chain_sent(mock: &MockServer) -> Vec<Vec<u8>> {
    let req = mock.requests().pop().unwrap();
    match req.header("X-Amz-X509-Chain") {
        None => Vec::new(),
        Some(v) => v.split(',').map(decode_b64).collect(),
    }
}

#[test]
fn pkcs12_modern_legacy_and_unprotected() {
    let mock = mock(Behaviour::default());
    let url = mock.url();
    let p12 = |name: &str, password: Option<&str>| {
        let path = kf(name);
        let mut args = vec![
            "credential-process".to_owned(),
            "--certificate".to_owned(),
            path,
        ];
        for a in credential_args("x", "x", &url).into_iter().skip(5) {
            args.push(a.to_owned());
        }
        if let Some(pw) = password {
            args.extend(["--pkcs8-password".to_owned(), pw.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_credentials(&run_no_tty(&args));
    };
    let (int, root) = (pem_body(&fx("int.pem")), pem_body(&fx("ca.pem")));

    // Modern (PBES2/AES-256, HMAC-SHA256): leaf via the intermediate, the
    // bundle lists root, intermediate, leaf; the chain goes leaf-most first.
    p12("p256-modern.p12", Some(PW));
    assert_eq!(chain_sent(&mock), vec![int.clone(), root]);
    // Legacy (3DES key, RC2-40 certificates, SHA-1 MAC).
    p12("rsa2048-legacy.p12", Some(PW));
    assert_eq!(chain_sent(&mock), vec![int]);
    // No password at all: needs no flag and no terminal, as in the original.
    p12("p384-nopass.p12", None);
    assert!(chain_sent(&mock).is_empty());
    // A password passed for an unprotected bundle does no harm.
    p12("p384-nopass.p12", Some(PW));
    p12("p384-modern.p12", Some(PW));

    // sign-string takes the key from the bundle.
    let out = run_no_tty(&[
        "sign-string",
        "--certificate",
        &kf("p256-modern.p12"),
        "--pkcs8-password",
        PW,
        "--format",
        "bin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, sign_string(&fx("p256.pkcs8.pem"), &[]));
}

/// Bad PKCS#12 input: one line naming the file and the reason.
#[test]
fn pkcs12_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = "http://127.0.0.1:9";
    let run_p12 = |path: &str, extra: &[&str]| {
        let mut args = vec!["credential-process", "--certificate", path];
        args.extend(credential_args("x", "x", nowhere).into_iter().skip(5));
        args.extend_from_slice(extra);
        run_no_tty(&args)
    };
    let bundle = kf("p256-modern.p12");
    let with_pw = ["--pkcs8-password", PW];
    expect_failure(
        &run_p12(&kf("nokey.p12"), &with_pw),
        &format!(
            "--certificate {}: the PKCS#12 file holds no private key",
            kf("nokey.p12")
        ),
    );
    expect_failure(
        &run_p12(&kf("nocert.p12"), &with_pw),
        &format!(
            "--certificate {}: the PKCS#12 file holds no certificate",
            kf("nocert.p12")
        ),
    );
    expect_failure(
        &run_p12(
            &bundle,
            &["--pkcs8-password", PW, "--intermediates", &fx("int.pem")],
        ),
        "can't specify certificate chain when using PKCS#12 files; certificate bundle should be provided within the PKCS#12 file",
    );
    expect_failure(
        &run_p12(&bundle, &["--pkcs8-password", "wrong"]),
        &format!("--certificate {bundle}: incorrect PKCS#12 password"),
    );
    expect_failure(
        &run_p12(&bundle, &[]),
        "password-protected and there is no terminal to ask for the password on: pass it with --pkcs8-password",
    );
    let data = std::fs::read(&bundle).unwrap();
    let truncated = write_temp(&dir, "truncated.p12", &data[..data.len() / 2]);
    expect_failure(
        &run_p12(&truncated, &with_pw),
        "could not parse the file as a certificate (PEM or DER) or as a PKCS#12 bundle",
    );
    // A flipped byte inside the MAC'd content: the MAC no longer verifies.
    let mut tampered = data.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x01;
    let tampered = write_temp(&dir, "tampered.p12", &tampered);
    let out = run_p12(&tampered, &with_pw);
    let stderr = expect_failure(&out, &format!("--certificate {tampered}: "));
    assert!(
        stderr.contains("incorrect PKCS#12 password") || stderr.contains("malformed PKCS#12"),
        "{stderr}"
    );
}

/// Bad encrypted PKCS#8 input: exit 1, one line naming the file and the reason.
#[test]
fn encrypted_pkcs8_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = "http://127.0.0.1:9";
    let cert = fx("p256.pem");
    let try_key = |key: &str, pw: Option<&str>| {
        let mut args = credential_args(&cert, key, nowhere);
        if let Some(pw) = pw {
            args.extend(["--pkcs8-password", pw]);
        }
        run_no_tty(&args)
    };
    let good = kf("p256.enc-sha256-aes256.pem");
    expect_failure(
        &try_key(&good, Some("wrong")),
        &format!("--private-key {good}: incorrect PKCS#8 private key password"),
    );
    // No password and no terminal: say which flag to pass.
    expect_failure(&try_key(&good, None), "pass it with --pkcs8-password");
    // An empty --pkcs8-password is no password.
    expect_failure(&try_key(&good, Some("")), "pass it with --pkcs8-password");

    let der = pem_body(&good);
    // Truncated ciphertext: re-encode with 5 bytes fewer (not whole AES blocks).
    let (alg, ct) =
        rolesanywhere_core::key::encrypted::split_encrypted_private_key_info(&der).unwrap();
    let alg_der = {
        use der::Encode;
        alg.to_der().unwrap()
    };
    let rebuild = |ct: &[u8]| {
        pem(
            "ENCRYPTED PRIVATE KEY",
            &tlv(0x30, &cat(&[&alg_der, &tlv(4, ct)])),
        )
    };
    let truncated = write_temp(
        &dir,
        "truncated.pem",
        rebuild(&ct[..ct.len() - 5]).as_bytes(),
    );
    expect_failure(
        &try_key(&truncated, Some(PW)),
        &format!("--private-key {truncated}: the encrypted key data is truncated"),
    );
    // Tampered last block: bad padding, reported as a wrong password.
    let mut bad = ct.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x5a;
    let tampered = write_temp(&dir, "tampered.pem", rebuild(&bad).as_bytes());
    expect_failure(
        &try_key(&tampered, Some(PW)),
        &format!("--private-key {tampered}: incorrect PKCS#8 private key password"),
    );
    // A truncated PEM (the END line lost).
    let text = std::fs::read_to_string(&good).unwrap();
    let cut = write_temp(&dir, "cut.pem", &text.as_bytes()[..text.len() - 20]);
    expect_failure(&try_key(&cut, Some(PW)), "truncated PEM");

    // Unsupported cipher and scheme, named.
    expect_failure(
        &try_key(&kf("p256.enc-des3.pem"), Some(PW)),
        "unsupported algorithm des-ede3-cbc (1.2.840.113549.3.7)",
    );
    expect_failure(
        &try_key(&kf("p256.enc-pbes1.pem"), Some(PW)),
        "unsupported key encryption scheme pbeWithSHAAnd3-KeyTripleDES-CBC",
    );
    // Absurd scrypt: r = 127 (and N = 16384) needs 254 MiB.
    let scrypt = pem_body(&kf("p256.enc-scrypt.pem"));
    let at = scrypt
        .windows(6)
        .position(|w| w == [2, 1, 8, 2, 1, 1])
        .expect("r=8, p=1 in the scrypt parameters");
    let mut hostile = scrypt.clone();
    hostile[at + 2] = 127;
    let hostile = write_temp(
        &dir,
        "scrypt.pem",
        pem("ENCRYPTED PRIVATE KEY", &hostile).as_bytes(),
    );
    expect_failure(
        &try_key(&hostile, Some(PW)),
        "refusing scrypt parameters that need 255 MiB of memory (the limit is 64 MiB)",
    );
    // Absurd PBKDF2 iteration count.
    let iterations = write_temp(
        &dir,
        "iterations.pem",
        pem("ENCRYPTED PRIVATE KEY", &hostile_pbkdf2(4_000_000_000)).as_bytes(),
    );
    expect_failure(
        &try_key(&iterations, Some(PW)),
        "refusing 4000000000 key derivation iterations (the limit is 10000000)",
    );
}

#[test]
fn ml_dsa_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (v, alg) = ML_DSA[1];
    let (_, expanded) = ml_dsa_keys(v);
    let sign = |name: &str, der: &[u8]| {
        let path = write_temp(&dir, name, pem("PRIVATE KEY", der).as_bytes());
        (run_no_tty(&["sign-string", "--private-key", &path]), path)
    };
    let (out, path) = sign("short.pem", &ml_dsa_pkcs8(alg, &tlv(0x80, &seed(v)[..31])));
    expect_failure(
        &out,
        &format!("--private-key {path}: ML-DSA private key seed is 31 bytes; it must be 32"),
    );
    let (out, _) = sign("expanded.pem", &ml_dsa_pkcs8(alg, &tlv(0x04, &expanded)));
    expect_failure(&out, "holds only the expanded key, not its seed");
    let mut wrong = expanded.clone();
    wrong[100] ^= 1;
    let both = tlv(0x30, &cat(&[&tlv(0x04, &seed(v)), &tlv(0x04, &wrong)]));
    let (out, _) = sign("inconsistent.pem", &ml_dsa_pkcs8(alg, &both));
    expect_failure(&out, "expanded key does not match its seed");
    // The right key type with another key's certificate.
    let (cert44, key65) = (kf("mldsa44.pem"), kf("mldsa65.pkcs8.pem"));
    let mut args = credential_args(&cert44, &key65, "http://127.0.0.1:9");
    args.push("--debug");
    expect_failure(&run_no_tty(&args), "does not match the certificate");
}

/// Neither the password nor key material shows in --debug output.
#[test]
fn debug_output_holds_no_secrets() {
    let mock = mock(Behaviour::default());
    let url = mock.url();
    let secret_lines: Vec<String> = std::fs::read_to_string(fx("p256.pkcs8.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    let check = |out: &Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(PW), "password in stderr: {stderr}");
        assert!(!stderr.contains("s3cret"), "password in stderr: {stderr}");
        for line in &secret_lines {
            assert!(
                !stderr.contains(line.as_str()),
                "key material in stderr: {stderr}"
            );
        }
    };
    let (cert, key) = (fx("p256.pem"), kf("p256.enc-scrypt.pem"));
    let mut args = credential_args(&cert, &key, &url);
    args.extend(["--pkcs8-password", PW, "--debug"]);
    let out = run_no_tty(&args);
    expect_credentials(&out);
    assert!(!out.stderr.is_empty(), "--debug prints something");
    check(&out);
    let mut p12 = vec!["credential-process", "--certificate"];
    let bundle = kf("p256-modern.p12");
    p12.push(&bundle);
    p12.extend(credential_args("x", "x", &url).into_iter().skip(5));
    p12.extend(["--pkcs8-password", PW, "--debug"]);
    let out = run_no_tty(&p12);
    expect_credentials(&out);
    check(&out);
    // Failures too.
    let mut bad = credential_args(&cert, &key, &url);
    bad.extend(["--pkcs8-password", "s3cret wrong", "--debug"]);
    let out = run_no_tty(&bad);
    expect_failure(&out, "incorrect PKCS#8 private key password");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
}

/// Prompts on the terminal: `script` (util-linux) gives the binary a pty as
/// its controlling terminal and types into it.
fn with_terminal(input: &str, args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_aws_signing_helper");
    let quoted: Vec<String> = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut child = Command::new("timeout")
        .args(["30", "script", "-qec", &quoted.join(" "), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn prompts_on_the_terminal_at_most_three_times() {
    let key = kf("p256.enc-sha384-aes192.pem");
    let args = [
        "sign-string",
        "--private-key",
        key.as_str(),
        "--format",
        "text",
    ];
    let out = with_terminal(&format!("wrong\n{PW}\n"), &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Please enter your PKC8 private key password:"),
        "{text}"
    );
    assert!(
        text.contains("Incorrect PKCS#8 private key password. Please try again:"),
        "{text}"
    );
    let want: String = sign_string(&fx("p256.pkcs8.pem"), &[])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(text.contains(&want), "{text}");

    let out = with_terminal("a\nb\nc\nd\n", &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("Please try again:").count(), 2, "{text}");
    assert!(
        text.contains("incorrect PKCS#8 private key password (3 tries)"),
        "{text}"
    );

    // PKCS#12 asks too.
    let bundle = kf("p256-modern.p12");
    let out = with_terminal(
        &format!("{PW}\n"),
        &["sign-string", "--certificate", &bundle, "--format", "text"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Please enter your PKCS#12 password:"),
        "{text}"
    );
    assert!(text.contains(&want), "{text}");
}
