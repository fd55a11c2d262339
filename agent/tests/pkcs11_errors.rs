//! The PKCS#11 signer's error paths and PINs, through the real binary
//! against SoftHSM2 tokens (each test its own token folder): mismatched
//! keys, wrong PINs (in the URI and typed on a pseudo-terminal), URIs that
//! match nothing or too much, bad input, and objects a token may hold that
//! we cannot use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/softhsm.rs"]
mod softhsm;

use common::*;
use softhsm::*;

#[test]
fn always_authenticate_keys_sign_with_the_context_pin() {
    let hsm = SoftHsm::new();
    hsm.init_token("aa");
    for (kind, label, id) in [("rsa2048", "rsa-aa", "11"), ("p256", "ec-aa", "12")] {
        hsm.write_always_auth_key("aa", &fx(&format!("{kind}.pkcs8.pem")), label, id);
        hsm.write_cert("aa", &fx(&format!("{kind}.pem")), label, id);
    }
    let server = mock(Behaviour::Normal);
    let url = server.url();
    for (kind, label) in [("rsa2048", "rsa-aa"), ("p256", "ec-aa")] {
        let uri = format!("pkcs11:token=aa;object={label}?pin-value=1234");
        let file = fx(&format!("{kind}.pem"));
        for (cert, key) in [(&uri, None), (&uri, Some(&uri)), (&file, Some(&uri))] {
            let args = with(
                cp_args(Some(cert), key.map(String::as_str), &url),
                &["--reuse-pin"],
            );
            expect_credentials(&run_p11(&args, &hsm));
        }
        // Without --reuse-pin the context PIN must be typed, and there is no terminal.
        let out = run_p11(&cp_args(Some(&uri), None, &url), &hsm);
        let err = expect_failure(
            &out,
            "unable to read PKCS#11 context-specific PIN for private key object (pkcs11:token=aa;",
        );
        assert!(
            err.contains(&format!("object={label};type=private)")),
            "{err}"
        );
        // On a terminal: a wrong context PIN is asked again, the right one signs.
        let sign = [
            "sign-string",
            "--pkcs11-lib",
            MODULE,
            "--private-key",
            uri.as_str(),
        ];
        let run = run_on_tty(&sign, &hsm.env(), &["9999", PIN]);
        assert_eq!(run.code, Some(0), "{}", run.output);
        let name = "context-specific PIN for private key object (pkcs11:token=aa;";
        assert!(
            run.output.contains(&format!("Please enter your {name}")),
            "{}",
            run.output
        );
        assert!(
            run.output.contains(&format!("Incorrect {name}")),
            "{}",
            run.output
        );
        assert!(
            !run.output.contains("9999\r\n") && !run.output.contains("1234\r\n"),
            "echoed: {}",
            run.output
        );
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().all(|r| r.verdict.is_accepted()));
}

#[test]
fn the_eight_mismatched_pairs_fail_clearly() {
    let hsm = SoftHsm::new();
    hsm.init_token("mix");
    hsm.import_key("mix", &fx("rsa2048.pkcs8.pem"), "rsa", "01");
    hsm.write_cert("mix", &fx("rsa2048.pem"), "rsa", "01");
    hsm.import_key("mix", &fx("p256.pkcs8.pem"), "ec", "02");
    hsm.write_cert("mix", &fx("p256.pem"), "ec", "02");
    hsm.write_always_auth_key("mix", &fx("rsa2048.pkcs8.pem"), "rsa-aa", "03");
    hsm.write_always_auth_key("mix", &fx("p256.pkcs8.pem"), "ec-aa", "04");
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let uri = |o: &str| format!("pkcs11:token=mix;object={o}?pin-value=1234");
    let (rsa_file, ec_file) = (fx("rsa2048.pem"), fx("p256.pem"));
    let cases = [
        (
            uri("rsa"),
            uri("ec"),
            false,
            "EC P-256 key, RSA certificate",
        ),
        (
            uri("ec"),
            uri("rsa"),
            false,
            "RSA key, EC P-256 certificate",
        ),
        (
            rsa_file.clone(),
            uri("ec"),
            false,
            "EC P-256 key, RSA certificate",
        ),
        (
            ec_file.clone(),
            uri("rsa"),
            false,
            "RSA key, EC P-256 certificate",
        ),
        (
            uri("rsa"),
            uri("ec-aa"),
            true,
            "EC P-256 key, RSA certificate",
        ),
        (
            uri("ec"),
            uri("rsa-aa"),
            true,
            "RSA key, EC P-256 certificate",
        ),
        (
            rsa_file,
            uri("ec-aa"),
            true,
            "EC P-256 key, RSA certificate",
        ),
        (
            ec_file,
            uri("rsa-aa"),
            true,
            "RSA key, EC P-256 certificate",
        ),
    ];
    for (cert, key, reuse, why) in cases {
        let mut args = cp_args(Some(&cert), Some(&key), &url);
        if reuse {
            args.push("--reuse-pin".into());
        }
        let err = expect_failure(&run_p11(&args, &hsm), "unable to find matching private key");
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("1234"), "the PIN leaked: {err}");
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn same_type_but_different_key_is_refused() {
    let hsm = SoftHsm::new();
    hsm.init_token("other");
    for (name, algorithm) in [("ec", "EC"), ("rsa", "RSA")] {
        let key = hsm.path(&format!("{name}.pem"));
        let mut cmd = std::process::Command::new("openssl");
        cmd.args(["genpkey", "-algorithm", algorithm, "-out"])
            .arg(&key);
        if name == "ec" {
            cmd.args(["-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = if name == "ec" { "02" } else { "01" };
        hsm.import_key("other", key.to_str().unwrap(), name, id);
    }
    let url = "http://127.0.0.1:9";
    // EC private keys do not reveal their point on SoftHSM: a test signature decides.
    let out = run_p11(
        &cp_args(
            Some(&fx("p256.pem")),
            Some("pkcs11:token=other;object=ec?pin-value=1234"),
            url,
        ),
        &hsm,
    );
    let err = expect_failure(&out, "unable to find matching private key");
    assert!(
        err.contains("a different key than the certificate's (test signature)"),
        "{err}"
    );
    // RSA keys reveal their modulus: compared without signing.
    let out = run_p11(
        &cp_args(
            Some(&fx("rsa2048.pem")),
            Some("pkcs11:token=other;object=rsa?pin-value=1234"),
            url,
        ),
        &hsm,
    );
    let err = expect_failure(&out, "unable to find matching private key");
    assert!(
        err.contains("\"rsa\" (id 01): a different key than the certificate's"),
        "{err}"
    );
    // A public key object that misleads: it holds the certificate's key, the
    // private key with the same CKA_ID does not. The first signature is
    // checked against the certificate before anything is sent.
    let public = hsm.path("cert-public.pem");
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in", &fx("p256.pem"), "-out"])
        .arg(&public)
        .output()
        .unwrap();
    assert!(out.status.success());
    hsm.write_key_object("other", public.to_str().unwrap(), "pubkey", "liar", "06");
    hsm.write_key_object(
        "other",
        hsm.path("ec.pem").to_str().unwrap(),
        "privkey",
        "liar",
        "06",
    );
    let out = run_p11(
        &cp_args(
            Some(&fx("p256.pem")),
            Some("pkcs11:token=other;object=liar?pin-value=1234"),
            url,
        ),
        &hsm,
    );
    expect_failure(&out, "does not verify with the certificate's public key");
}

#[test]
fn wrong_pins_fail_after_three_tries_without_locking() {
    let hsm = SoftHsm::new();
    standard_token(&hsm, "pins");
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let cert = "pkcs11:token=pins;object=ec-p256";
    // A wrong PIN in the URI: one try, the token's answer.
    let out = run_p11(
        &cp_args(Some(&format!("{cert}?pin-value=0000")), None, &url),
        &hsm,
    );
    expect_failure(
        &out,
        "user authentication failed (pkcs11: 0xA0: CKR_PIN_INCORRECT)",
    );
    // No PIN and no terminal.
    let out = run_p11(&cp_args(Some(cert), Some(cert), &url), &hsm);
    expect_failure(
        &out,
        "unable to read PKCS#11 user PIN: no terminal to prompt on",
    );
    // On a terminal: three wrong PINs, then the end.
    let args = cp_args(Some(&fx("p256.pem")), Some(cert), &url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_on_tty(&args, &hsm.env(), &["0000", "1111", "2222"]);
    assert_eq!(run.code, Some(1), "{}", run.output);
    assert_eq!(
        run.output.matches("Please enter your user PIN:").count(),
        1,
        "{}",
        run.output
    );
    assert_eq!(
        run.output
            .matches("Incorrect user PIN. Please re-enter your user PIN:")
            .count(),
        2,
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("user authentication failed: giving up after 3 tries"),
        "{}",
        run.output
    );
    for typed in ["0000", "1111", "2222"] {
        assert!(
            !run.output.contains(&format!("{typed}\r\n")),
            "echoed: {}",
            run.output
        );
    }
    // SoftHSM never locks: a wrong PIN then the right one works.
    let run = run_on_tty(&args, &hsm.env(), &["0000", PIN]);
    assert_eq!(run.code, Some(0), "{}", run.output);
    assert!(run.output.contains("\"AccessKeyId\""), "{}", run.output);
    expect_credentials(&run_p11(
        &cp_args(Some(&format!("{cert}?pin-value=1234")), None, &url),
        &hsm,
    ));
    assert_eq!(server.request_count(), 2);
}

#[test]
fn uris_that_match_nothing_or_too_much() {
    let hsm = SoftHsm::new();
    let slot = hsm.init_token("many");
    for (kind, label, id) in KEYS {
        hsm.import_key("many", &fx(&format!("{kind}.pkcs8.pem")), label, id);
        hsm.write_cert("many", &fx(&format!("{kind}.pem")), label, id);
    }
    let url = "http://127.0.0.1:9";
    let p11 = |cert: Option<&str>, key: Option<&str>| run_p11(&cp_args(cert, key, url), &hsm);
    expect_failure(
        &p11(
            Some("pkcs11:token=many;object=nothing?pin-value=1234"),
            None,
        ),
        "no matching certificates",
    );
    let err = expect_failure(
        &p11(Some("pkcs11:token=many?pin-value=1234"), None),
        "multiple matching certificates (",
    );
    for name in [
        "\"rsa-2048\" (id 01)",
        "\"ec-p256\" (id 02)",
        "\"ec-p384\" (id 03)",
    ] {
        assert!(err.contains(name), "{err}");
    }
    expect_failure(
        &p11(
            Some(&fx("p256.pem")),
            Some("pkcs11:token=many;object=nothing?pin-value=1234"),
        ),
        "unable to find matching private key (no private key object matches the URI)",
    );
    expect_failure(
        &p11(
            Some("pkcs11:token=absent;object=ec-p256?pin-value=1234"),
            None,
        ),
        "no matching slots (tokens present: \"many\")",
    );
    // sign-string without a certificate: the key URI must name one key.
    let out = run_detached(
        &[
            "sign-string",
            "--pkcs11-lib",
            MODULE,
            "--private-key",
            "pkcs11:token=many?pin-value=1234",
        ],
        &hsm.env(),
    );
    expect_failure(
        &out,
        "multiple matching private keys, but no certificate provided to match with",
    );
    // slot-id is decimal and slot 0 is a slot like any other (here SoftHSM's
    // free, uninitialised one, which holds nothing).
    expect_failure(
        &p11(Some("pkcs11:slot-id=0;object=ec-p256?pin-value=1234"), None),
        "no matching slots",
    );
    // The library attributes must hold too (the original ignored them).
    expect_failure(
        &p11(
            Some("pkcs11:library-manufacturer=Other;object=ec-p256?pin-value=1234"),
            None,
        ),
        "no matching slots",
    );
    let server = mock(Behaviour::Normal);
    for uri in [
        format!("pkcs11:slot-id={slot};object=ec-p256?pin-value=1234"),
        "pkcs11:library-manufacturer=SoftHSM;library-version=2.6;object=ec-p256?pin-value=1234"
            .to_owned(),
    ] {
        expect_credentials(&run_p11(&cp_args(Some(&uri), None, &server.url()), &hsm));
    }
}

#[test]
fn bad_input_gives_one_line_naming_the_part() {
    let hsm = SoftHsm::new();
    let sign = |key: &str, lib: &str| {
        run_detached(
            &["sign-string", "--pkcs11-lib", lib, "--private-key", key],
            &hsm.env(),
        )
    };
    for (uri, needle) in [
        (
            "pkcs11:token",
            "malformed pkcs11 URI: malformed path attribute #1",
        ),
        ("pkcs11:token=a;", "malformed path attribute #2"),
        (
            "pkcs11:objet=a?pin-value=s3cr3t",
            "unknown path attribute objet",
        ),
        (
            "pkcs11:id=%zz?pin-value=s3cr3t",
            "invalid percent escape in id",
        ),
        ("pkcs11:token=a;token=b", "duplicate path attribute token"),
        (
            "pkcs11:?pin-value=s3cr3t&pin-value=s3cr3t",
            "duplicate query attribute pin-value",
        ),
        (
            "pkcs11:?pin-value=s3cr3t&pin-source=file:/x",
            "must not contain pin-source and pin-value",
        ),
        ("pkcs11:slot-id=0x1", "slot-id must be a decimal number"),
        ("pkcs11:type=key", "type must be one of"),
    ] {
        let err = expect_failure(&sign(uri, MODULE), needle);
        assert!(err.contains("--private-key"), "{err}");
        assert!(!err.contains("s3cr3t"), "the PIN leaked: {err}");
    }
    let key = "pkcs11:token=t;object=k?pin-value=s3cr3t";
    let err = expect_failure(
        &sign(key, "/nonexistent/module.so"),
        "--pkcs11-lib: Failed to load provider library /nonexistent/module.so",
    );
    assert!(!err.contains("s3cr3t"));
    let text = hsm.path("not-a-module.so");
    std::fs::write(&text, "not a shared object\n").unwrap();
    let text = text.to_str().unwrap();
    expect_failure(
        &sign(key, text),
        &format!("Failed to load provider library {text}"),
    );
    // A real shared library that is not a PKCS#11 module.
    expect_failure(
        &sign(key, "libm.so.6"),
        "Failed to load provider library libm.so.6: not a PKCS#11 module (no C_GetFunctionList)",
    );
    // The module has no initialised token.
    expect_failure(
        &sign(key, MODULE),
        "no matching slots (no initialised token is present)",
    );
    // An EC key on a curve we cannot sign with.
    hsm.init_token("curves");
    let k1 = hsm.path("k1.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
            "-out",
        ])
        .arg(&k1)
        .output()
        .unwrap();
    assert!(status.status.success());
    hsm.import_key("curves", k1.to_str().unwrap(), "k1", "0b");
    expect_failure(
        &sign("pkcs11:token=curves;object=k1?pin-value=1234", MODULE),
        "private key \"k1\" (id 0b): unsupported EC curve (CKA_EC_PARAMS 06052b8104000a",
    );
    // Flags that cannot go together.
    let url = "http://127.0.0.1:9";
    let out = run_p11(
        &cp_args(
            Some("pkcs11:token=curves;object=c"),
            Some(&fx("p256.pkcs8.pem")),
            url,
        ),
        &hsm,
    );
    expect_failure(&out, "a pkcs11: certificate needs its key on the token");
    let out = run_p11(
        &cp_args(Some(&fx("p256.pem")), Some(&fx("p256.pkcs8.pem")), url),
        &hsm,
    );
    expect_failure(
        &out,
        "--pkcs11-lib and --reuse-pin only apply to PKCS#11 keys (pkcs11: URIs)",
    );
    let out = run_p11(
        &cp_args(
            None,
            Some("pkcs11:token=curves;object=k1?pin-value=1234"),
            url,
        ),
        &hsm,
    );
    expect_failure(&out, "--certificate: unable to find certificate");
}

/// Objects `pkcs11-tool` cannot make (an unparsable certificate, a private
/// certificate, a key without `CKA_SIGN`) are written through cryptoki by
/// this test binary itself, re-run as a child process: SoftHSM reads
/// `SOFTHSM2_CONF` from the process environment, which tests running in
/// parallel cannot share.
const CHILD_TASK: &str = "RA_TEST_PKCS11_WRITE_OBJECTS";

/// The child's work: writes the odd objects into the token "odd".
fn write_odd_objects() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, CertificateType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    let ctx = Pkcs11::new(MODULE).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == "odd")
        .expect("token odd");
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(PIN)))
        .unwrap();
    let cert = |label: &str, id: u8, value: Vec<u8>, private: bool| {
        session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(vec![id]),
                Attribute::Subject(vec![0x30, 0x00]),
                Attribute::Value(value),
            ])
            .unwrap();
    };
    cert("junk", 0x09, vec![0x30, 0x03, 0x02, 0x01, 0x01], false);
    cert("private", 0x01, der_of(&fx("rsa2048.pem")), true);
    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(p256),
                Attribute::Verify(true),
                Attribute::Label(b"nosign".to_vec()),
                Attribute::Id(vec![0x0c]),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Sign(false),
                Attribute::Label(b"nosign".to_vec()),
                Attribute::Id(vec![0x0c]),
            ],
        )
        .unwrap();
}

#[test]
fn unparsable_private_and_unusable_objects() {
    if std::env::var_os(CHILD_TASK).is_some() {
        return write_odd_objects();
    }
    let hsm = SoftHsm::new();
    hsm.init_token("odd");
    hsm.import_key("odd", &fx("p256.pkcs8.pem"), "ec", "02");
    hsm.import_key("odd", &fx("rsa2048.pkcs8.pem"), "private", "01");
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "unparsable_private_and_unusable_objects",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOFTHSM2_CONF", hsm.conf())
        .env(CHILD_TASK, "1")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "writing objects failed: {}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let url = "http://127.0.0.1:9";
    let out = run_p11(
        &cp_args(
            Some("pkcs11:token=odd;object=junk?pin-value=1234"),
            None,
            url,
        ),
        &hsm,
    );
    expect_failure(
        &out,
        "no matching certificates (1 matching objects are not parsable X.509 certificates)",
    );
    // One bad object does not hide the good one (the original skipped the token).
    hsm.write_cert("odd", &fx("p256.pem"), "ec", "02");
    let server = mock(Behaviour::Normal);
    expect_credentials(&run_p11(
        &cp_args(
            Some("pkcs11:token=odd;object=ec?pin-value=1234"),
            None,
            &server.url(),
        ),
        &hsm,
    ));
    // A private certificate object is found after login, and only then.
    expect_credentials(&run_p11(
        &cp_args(
            Some("pkcs11:token=odd;object=private?pin-value=1234"),
            None,
            &server.url(),
        ),
        &hsm,
    ));
    let out = run_p11(
        &cp_args(Some("pkcs11:token=odd;object=private"), None, &server.url()),
        &hsm,
    );
    expect_failure(
        &out,
        "logging in to search private ones: unable to read PKCS#11 user PIN",
    );
    let listing = run_detached(
        &[
            "read-certificate-data",
            "--pkcs11-lib",
            MODULE,
            "--certificate",
            "pkcs11:token=odd;object=private",
        ],
        &hsm.env(),
    );
    expect_failure(&listing, "one matching slot, but no user PIN provided");
    // A key the token will not sign with.
    let out = run_detached(
        &[
            "sign-string",
            "--pkcs11-lib",
            MODULE,
            "--private-key",
            "pkcs11:token=odd;object=nosign?pin-value=1234",
        ],
        &hsm.env(),
    );
    expect_failure(&out, "private key \"nosign\" (id 0c): CKA_SIGN is false");
    assert_eq!(server.request_count(), 2);
    assert!(server.requests().iter().all(|r| r.verdict.is_accepted()));
}
