//! `credential-process` end to end: the real binary against the mock
//! endpoint, which verifies every signature independently of core.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;

#[test]
fn every_key_type_and_encoding_gets_credentials() {
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let cases = [
        ("rsa2048.pem", "rsa2048.pkcs1.pem"),
        ("rsa2048.pem", "rsa2048.pkcs8.pem"),
        ("rsa2048.der", "rsa2048.pkcs8.der"),
        ("p256.pem", "p256.sec1.pem"),
        ("p256.pem", "p256.pkcs8.pem"),
        ("p256.der", "p256.pkcs8.der"),
        ("p384.pem", "p384.sec1.pem"),
        ("p384.pem", "p384.pkcs8.pem"),
        ("p384.der", "p384.pkcs8.der"),
    ];
    for (cert, key) in cases {
        let (cert, key) = (fx(cert), fx(key));
        let out = run(&credential_args(&cert, &key, &url), &[]);
        expect_credentials(&out);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), cases.len());
    for r in &requests {
        assert!(r.verdict.is_accepted(), "{:?}", r.verdict);
        assert_eq!(r.header("x-amz-x509-chain"), None);
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            r#"{"durationSeconds":3600}"#
        );
    }
    let algorithms: Vec<&str> = requests
        .iter()
        .map(|r| {
            r.header("authorization")
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(&algorithms[..3], ["AWS4-X509-RSA-SHA256"; 3]);
    assert_eq!(&algorithms[3..], ["AWS4-X509-ECDSA-SHA256"; 6]);
}

#[test]
fn intermediates_are_sent_and_needed() {
    let server = mock(Behaviour::Normal);
    let url = server.url();
    for kind in ["rsa2048", "p256", "p384"] {
        let (cert, key, chain) = (
            fx(&format!("{kind}-via-int.pem")),
            fx(&format!("{kind}.pkcs8.pem")),
            fx("chain.pem"),
        );
        let mut args = credential_args(&cert, &key, &url);
        args.extend(["--intermediates", &chain]);
        expect_credentials(&run(&args, &[]));
        let out = run(&credential_args(&cert, &key, &url), &[]);
        expect_failure(&out, "403 AccessDeniedException");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    for pair in requests.chunks(2) {
        assert!(pair[0].verdict.is_accepted());
        assert!(pair[0].header("x-amz-x509-chain").is_some());
        assert!(
            pair[0]
                .header("authorization")
                .unwrap()
                .contains("x-amz-x509;x-amz-x509-chain")
        );
        assert!(!pair[1].verdict.is_accepted());
    }
}

#[test]
fn session_options_reach_the_body() {
    let server = mock(Behaviour::Normal);
    let (cert, key, url) = (fx("p256.pem"), fx("p256.pkcs8.pem"), server.url());
    let mut args = credential_args(&cert, &key, &url);
    args.extend([
        "--session-duration",
        "900",
        "--role-session-name",
        "gw-17@site.example",
    ]);
    expect_credentials(&run(&args, &[]));
    let r = &server.requests()[0];
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"durationSeconds":900,"roleSessionName":"gw-17@site.example"}"#
    );
}

#[test]
fn https_with_ca_bundle_or_no_verify() {
    let server = mock_tls();
    let url = server.url();
    assert!(url.starts_with("https://"));
    let (cert, key, ca) = (fx("p256.pem"), fx("p256.pkcs8.pem"), fx("ca.pem"));
    expect_credentials(&run(
        &credential_args(&cert, &key, &url),
        &[("AWS_CA_BUNDLE", ca.as_str())],
    ));
    let mut args = credential_args(&cert, &key, &url);
    args.push("--no-verify-ssl");
    expect_credentials(&run(&args, &[]));
    // Neither: the test CA is in no trust store, so TLS must fail.
    let out = run(
        &credential_args(&cert, &key, &url),
        &[("SSL_CERT_FILE", "/nonexistent")],
    );
    expect_failure(&out, "CreateSession request failed");
    // A CA bundle of the wrong CA fails too.
    let wrong = fx("untrusted-ca.pem");
    let out = run(
        &credential_args(&cert, &key, &url),
        &[("AWS_CA_BUNDLE", wrong.as_str())],
    );
    expect_failure(&out, "CreateSession request failed");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn retries_transient_failures_but_not_client_errors() {
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));
    let server = mock(Behaviour::FailFirst(2));
    expect_credentials(&run(&credential_args(&cert, &key, &server.url()), &[]));
    assert_eq!(server.request_count(), 3);

    let server = mock(Behaviour::Throttle);
    let out = run(&credential_args(&cert, &key, &server.url()), &[]);
    expect_failure(&out, "429 ThrottlingException");
    assert_eq!(server.request_count(), 3, "at most three attempts");

    let server = mock(Behaviour::Status(
        403,
        "AccessDeniedException".into(),
        "Unable to assume role".into(),
    ));
    let out = run(&credential_args(&cert, &key, &server.url()), &[]);
    expect_failure(
        &out,
        "CreateSession failed: 403 AccessDeniedException: Unable to assume role",
    );
    assert_eq!(server.request_count(), 1, "4xx is never retried");
}

#[test]
fn service_answers_that_are_not_credentials() {
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));
    let server = mock(Behaviour::GarbageJson);
    expect_failure(
        &run(&credential_args(&cert, &key, &server.url()), &[]),
        "not valid JSON",
    );
    let server = mock(Behaviour::OversizedToken(9000));
    expect_failure(
        &run(&credential_args(&cert, &key, &server.url()), &[]),
        "`sessionToken` is longer than 8192 bytes",
    );
    let server = mock(Behaviour::Status(
        500,
        String::new(),
        "<html>oops</html>".into(),
    ));
    expect_failure(
        &run(&credential_args(&cert, &key, &server.url()), &[]),
        "500 UnknownError",
    );
}

#[test]
fn closed_port_fails_cleanly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let (cert, key) = (fx("p256.pem"), fx("p256.pkcs8.pem"));
    expect_failure(
        &run(&credential_args(&cert, &key, &url), &[]),
        "Connection refused",
    );
}

#[test]
fn debug_output_never_holds_secrets() {
    let server = mock(Behaviour::Normal);
    let (cert, key, url) = (fx("rsa2048.pem"), fx("rsa2048.pkcs1.pem"), server.url());
    let mut args = credential_args(&cert, &key, &url);
    args.push("--debug");
    let out = run(&args, &[]);
    let creds = expect_credentials(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("debug: POST"), "{stderr}");
    for secret in ["SecretAccessKey", "SessionToken"] {
        assert!(
            !stderr.contains(creds[secret].as_str().unwrap()),
            "{secret} leaked into --debug output"
        );
    }
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let key_line = key_pem.lines().nth(1).unwrap();
    assert!(!stderr.contains(key_line));
}

#[test]
fn expired_and_untrusted_certificates_are_refused_by_the_service() {
    let server = mock(Behaviour::Normal);
    let url = server.url();
    let key = fx("p256.pkcs8.pem");
    expect_failure(
        &run(&credential_args(&fx("expired.pem"), &key, &url), &[]),
        "403 AccessDeniedException",
    );
    expect_failure(
        &run(&credential_args(&fx("untrusted.pem"), &key, &url), &[]),
        "403 AccessDeniedException",
    );
}

#[test]
fn slow_endpoint_still_answers() {
    let server = mock(Behaviour::Slow(Duration::from_millis(300)));
    let (cert, key) = (fx("p384.pem"), fx("p384.sec1.pem"));
    expect_credentials(&run(&credential_args(&cert, &key, &server.url()), &[]));
}
