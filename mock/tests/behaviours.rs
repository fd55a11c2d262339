//! The behaviour overrides and the connection limits of the mock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rolesanywhere_mock::Behaviour;

#[test]
fn throttle() {
    let srv = server_with(Behaviour::Throttle);
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    assert_rejected(
        &send(srv.port(), &req.to_bytes()),
        429,
        "ThrottlingException",
        "Rate exceeded",
    );
    assert!(
        srv.requests()[0].verdict.is_accepted(),
        "verified even when throttled"
    );
    srv.stop();
}

#[test]
fn fail_first_then_normal() {
    let srv = server_with(Behaviour::FailFirst(2));
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    let bytes = req.to_bytes();
    assert_rejected(
        &send(srv.port(), &bytes),
        500,
        "InternalServerException",
        "",
    );
    assert_rejected(
        &send(srv.port(), &bytes),
        500,
        "InternalServerException",
        "",
    );
    assert_created(&send(srv.port(), &bytes), 3600);
    srv.stop();
}

#[test]
fn garbage_json_only_for_good_requests() {
    let srv = server_with(Behaviour::GarbageJson);
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    let resp = send(srv.port(), &req.to_bytes());
    assert_eq!(resp.status, 201);
    assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());
    // ... but a bad request still gets its real error.
    let mut bad = req.clone();
    bad.sent_body = Some("{}".into());
    assert_eq!(send(srv.port(), &bad.to_bytes()).status, 403);
    srv.stop();
}

#[test]
fn oversized_token() {
    let srv = server_with(Behaviour::OversizedToken(20_000));
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    let v = send(srv.port(), &req.to_bytes()).json();
    assert_eq!(
        v["credentialSet"][0]["credentials"]["sessionToken"]
            .as_str()
            .unwrap()
            .len(),
        20_000
    );
    srv.stop();
}

#[test]
fn fixed_status() {
    let srv = server_with(Behaviour::Status(
        503,
        "ServiceUnavailableException".into(),
        "down".into(),
    ));
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    assert_rejected(
        &send(srv.port(), &req.to_bytes()),
        503,
        "ServiceUnavailableException",
        "down",
    );
    srv.stop();
}

#[test]
fn disconnect_sends_nothing() {
    let srv = server_with(Behaviour::Disconnect);
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    assert!(send_raw(srv.port(), &req.to_bytes()).is_empty());
    assert_eq!(srv.requests()[0].status, 0);
    srv.stop();
}

#[test]
fn slow() {
    let srv = server_with(Behaviour::Slow(Duration::from_millis(300)));
    let req = SignedRequest::new("p256", "p256.pkcs8.pem", srv.port());
    let started = Instant::now();
    assert_created(&send(srv.port(), &req.to_bytes()), 3600);
    assert!(started.elapsed() >= Duration::from_millis(300));
    srv.stop();
}

#[test]
fn concurrent_requests_are_all_served() {
    let srv = server();
    let port = srv.port();
    let requests: Vec<Vec<u8>> = (0..4)
        .map(|_| SignedRequest::new("p256", "p256.pkcs8.pem", port).to_bytes())
        .collect();
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let bytes = requests[i % requests.len()].clone();
            std::thread::spawn(move || send(port, &bytes).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 201);
    }
    assert_eq!(srv.request_count(), 24);
    // Idle connections do not stop the server from stopping.
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = Instant::now();
    srv.stop();
    assert!(started.elapsed() < Duration::from_secs(2));
}
