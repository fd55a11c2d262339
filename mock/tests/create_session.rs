//! End-to-end checks of the mock: requests signed with the `openssl` CLI over raw TCP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use rolesanywhere_mock::Verdict;

#[test]
fn accepts_every_key_type_and_encoding() {
    let srv = server();
    let cases = [
        ("rsa2048", "rsa2048.pkcs8.pem"),
        ("rsa2048", "rsa2048.pkcs1.pem"),
        ("p256", "p256.pkcs8.pem"),
        ("p256", "p256.sec1.pem"),
        ("p384", "p384.pkcs8.pem"),
        ("p384", "p384.sec1.pem"),
    ];
    let mut keys = Vec::new();
    for (cert, key) in cases {
        let req = SignedRequest::new(cert, key, srv.port());
        let resp = send(srv.port(), &req.to_bytes());
        let v = assert_created(&resp, 3600);
        assert_eq!(
            v["credentialSet"][0]["sourceIdentity"],
            format!("CN={cert} leaf")
        );
        keys.push(
            v["credentialSet"][0]["credentials"]["accessKeyId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), cases.len(), "every session differs");
    let recs = srv.requests();
    assert_eq!(recs.len(), cases.len());
    assert!(
        recs.iter()
            .all(|r| r.verdict == Verdict::Accepted && r.status == 201)
    );
    // The mock's own canonical request matches the one the test signed.
    let last = SignedRequest::new("p384", "p384.sec1.pem", srv.port());
    assert_eq!(
        recs[5]
            .canonical_request
            .as_deref()
            .unwrap()
            .split('\n')
            .count(),
        last.canonical_request().split('\n').count()
    );
    srv.stop();
}

#[test]
fn role_session_name_and_duration_are_honoured() {
    let srv = server();
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    req.body = r#"{"durationSeconds":900,"roleSessionName":"my-session"}"#.into();
    let v = assert_created(&send(srv.port(), &req.to_bytes()), 900);
    assert_eq!(
        v["credentialSet"][0]["assumedRoleUser"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/MockRole/my-session"
    );
    // Without a session name, the serial in hex is used.
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    let v = assert_created(&send(srv.port(), &req.to_bytes()), 3600);
    assert!(
        v["credentialSet"][0]["assumedRoleUser"]["arn"]
            .as_str()
            .unwrap()
            .ends_with("/1234abcd")
    );
}

#[test]
fn tampered_body_is_an_invalid_signature() {
    let srv = server();
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    req.sent_body = Some(r#"{"durationSeconds":3601}"#.into());
    assert_rejected(
        &send(srv.port(), &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
    let rec = &srv.requests()[0];
    assert_eq!(rec.verdict.message(), Some("Invalid signature"));
    assert!(
        rec.string_to_sign
            .as_deref()
            .unwrap()
            .starts_with("AWS4-X509-ECDSA-SHA256\n")
    );
}

#[test]
fn tampered_header_or_key_is_an_invalid_signature() {
    let srv = server();
    // Signed for one host, sent with another.
    let mut req = SignedRequest::new("rsa2048", "rsa2048.pkcs8.pem", srv.port());
    let bytes = String::from_utf8(req.to_bytes())
        .unwrap()
        .replace("Host: 127.0.0.1", "Host: localhost");
    assert_rejected(
        &send(srv.port(), bytes.as_bytes()),
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
    // Signed with another key of the same type.
    req.key = "server.key".into();
    req.x509_b64 = pem_b64("p256.pem");
    req.algorithm = "AWS4-X509-ECDSA-SHA256".into();
    req.serial = serial_of("p256");
    assert_rejected(
        &send(srv.port(), &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
}

#[test]
fn wrong_serial_algorithm_scope_or_date_is_denied() {
    let srv = server();
    let port = srv.port();
    let base = SignedRequest::new("rsa2048", "rsa2048.pkcs8.pem", port);

    let mut r = base.clone();
    r.serial = "8A3F5C7E9B1D2F4608".into(); // hex instead of decimal
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "serial",
    );
    let mut r = base.clone();
    r.serial = format!("0{}", base.serial); // leading zero
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "serial",
    );

    let mut r = base.clone();
    r.algorithm = "AWS4-X509-ECDSA-SHA256".into();
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "Algorithm",
    );

    let mut r = base.clone();
    r.region = "us-west-2".into();
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "scoped",
    );

    let mut r = base.clone();
    r.scope_date = Some("20200101".into());
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "date",
    );

    let mut r = base.clone();
    r.amz_date = amz_date(now_unix() - 3600);
    assert_rejected(
        &send(port, &r.to_bytes()),
        403,
        "AccessDeniedException",
        "Signature expired",
    );
}

#[test]
fn intermediate_needs_the_chain_header() {
    let srv = server();
    let port = srv.port();
    for kind in ["rsa2048", "p256", "p384"] {
        let key = format!("{kind}.pkcs8.pem");
        let mut req = SignedRequest::new(&format!("{kind}-via-int"), &key, port);
        assert_rejected(
            &send(port, &req.to_bytes()),
            403,
            "AccessDeniedException",
            "Untrusted signing certificate",
        );

        req.chain_b64 = Some(pem_b64("chain.pem"));
        assert_created(&send(port, &req.to_bytes()), 3600);

        // The chain header must be signed when sent.
        req.sign_chain = false;
        assert_rejected(
            &send(port, &req.to_bytes()),
            403,
            "AccessDeniedException",
            "x-amz-x509-chain",
        );
    }
    // An unrelated certificate in the chain does not help.
    let mut req = SignedRequest::new("p256-via-int", "p256.pkcs8.pem", port);
    req.chain_b64 = Some(pem_b64("untrusted-ca.pem"));
    assert_rejected(
        &send(port, &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Untrusted signing certificate",
    );
    // Extra certificates around the right one are fine.
    req.chain_b64 = Some(format!(
        "{},{}",
        pem_b64("untrusted-ca.pem"),
        pem_b64("chain.pem")
    ));
    assert_created(&send(port, &req.to_bytes()), 3600);
}

#[test]
fn expired_and_untrusted_certificates_are_denied() {
    let srv = server();
    let port = srv.port();
    let req = SignedRequest::new("expired", "p256.pkcs8.pem", port);
    assert_rejected(
        &send(port, &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Certificate expired",
    );
    let req = SignedRequest::new("untrusted", "p256.pkcs8.pem", port);
    assert_rejected(
        &send(port, &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Untrusted signing certificate",
    );
    // An unrelated self-signed root used directly as the signing certificate.
    let mut req = SignedRequest::new("untrusted-ca", "untrusted-ca.key", port);
    req.serial = serial_of("untrusted-ca");
    assert_rejected(
        &send(port, &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Untrusted signing certificate",
    );
}

#[test]
fn body_and_parameter_validation() {
    let srv = server();
    let port = srv.port();
    for body in [
        r#"{"durationSeconds":100}"#,
        r#"{"durationSeconds":43201}"#,
        r#"{"durationSeconds":"3600"}"#,
        "not json",
        r#"{"bogus":1}"#,
    ] {
        let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
        req.body = body.into();
        assert_rejected(&send(port, &req.to_bytes()), 400, "ValidationException", "");
    }
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.body = r#"{"durationSeconds":3600,"roleSessionName":"bad name!"}"#.into();
    assert_rejected(
        &send(port, &req.to_bytes()),
        400,
        "ValidationException",
        "roleSessionName",
    );

    // A missing ARN.
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.query = req
        .query
        .split('&')
        .filter(|p| !p.starts_with("roleArn"))
        .collect::<Vec<_>>()
        .join("&");
    assert_rejected(
        &send(port, &req.to_bytes()),
        400,
        "ValidationException",
        "roleArn",
    );
    // A malformed ARN.
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.query = req.query.replace("trust-anchor%2F", "anchor%2F");
    assert_rejected(
        &send(port, &req.to_bytes()),
        400,
        "ValidationException",
        "trustAnchorArn",
    );
    // ARNs in the JSON body instead of the query (the Python peer's way) are accepted.
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.query = String::new();
    req.content_type = "application/x-amz-json-1.0".into();
    req.body = format!(
        r#"{{"durationSeconds":1000,"profileArn":"{PROFILE}","roleArn":"{ROLE}","trustAnchorArn":"{TA}"}}"#
    );
    assert_created(&send(port, &req.to_bytes()), 1000);
    // A wrong Content-Type.
    let mut req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    req.content_type = "text/plain".into();
    assert_rejected(
        &send(port, &req.to_bytes()),
        400,
        "ValidationException",
        "Content-Type",
    );
}

#[test]
fn query_is_recanonicalised_from_what_was_received() {
    let srv = server();
    let port = srv.port();
    let mut req = SignedRequest::new("p384", "p384.pkcs8.pem", port);
    let canonical = req.query.clone();
    // Unsorted, with raw ':' and '/' on the wire; signed over the canonical form.
    req.query = format!("trustAnchorArn={TA}&roleArn={ROLE}&profileArn={PROFILE}");
    req.canonical_query = Some(canonical);
    assert_created(&send(port, &req.to_bytes()), 3600);
    // Signed over the raw (non-canonical) form: the mock does not accept that.
    let raw = req.query.clone();
    req.canonical_query = Some(raw);
    assert_rejected(
        &send(port, &req.to_bytes()),
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
}

#[test]
fn missing_headers_paths_and_methods() {
    let srv = server();
    let port = srv.port();
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", port);
    let full = String::from_utf8(req.to_bytes()).unwrap();
    let without = |name: &str| -> String {
        full.split("\r\n")
            .filter(|l| !l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    assert_rejected(
        &send(port, without("Authorization:").as_bytes()),
        403,
        "AccessDeniedException",
        "Authorization",
    );
    assert_rejected(
        &send(port, without("X-Amz-X509:").as_bytes()),
        400,
        "ValidationException",
        "X-Amz-X509",
    );
    assert_rejected(
        &send(port, without("X-Amz-Date:").as_bytes()),
        400,
        "ValidationException",
        "X-Amz-Date",
    );
    assert_rejected(
        &send(port, without("Host:").as_bytes()),
        400,
        "ValidationException",
        "Host",
    );

    let other = full.replacen("POST /sessions?", "POST /other?", 1);
    assert_rejected(
        &send(port, other.as_bytes()),
        404,
        "UnknownOperationException",
        "/other",
    );
    let get = send(port, b"GET /sessions HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(get.status, 405);
    let no_length = send(port, b"POST /sessions HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(no_length.status, 411);
    let mut big = b"POST /sessions HTTP/1.1\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 70 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(send(port, &big).status, 431);
    let huge_body = send(
        port,
        b"POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n",
    );
    assert_eq!(huge_body.status, 413);
    assert!(srv.requests().iter().all(|r| !r.verdict.is_accepted()));
}
