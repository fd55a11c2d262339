//! A whole `credential-process` call in one process: read the certificate
//! and key PEM, check that they match, build and sign the request, POST it to
//! the mock endpoint on 127.0.0.1 (started in-process: it verifies every
//! signature and the chain to its CA, as the service does), parse the answer
//! and write the JSON the SDKs read. Over HTTP (the helper's own work), and
//! over HTTPS as in production (a fresh TLS handshake per call, as each
//! `credential-process` run makes).
//!
//! The mock's verification runs on the same machine, so these are upper
//! bounds for the client's share; `benches/footprint.sh` times the real
//! binary, process start included.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use rolesanywhere_benches::{arns, fixtures, read};
use rolesanywhere_core::key::PrivateKey;
use rolesanywhere_core::output::write_credential_process;
use rolesanywhere_core::pem;
use rolesanywhere_core::session::request::required_buffer_len;
use rolesanywhere_core::session::{Endpoint, SessionRequest, parse_response, sign_request};
use rolesanywhere_core::signer::{Signer, check_key_matches};
use rolesanywhere_core::time::UnixTime;
use rolesanywhere_core::x509::Certificate;
use rolesanywhere_mock::{MockConfig, MockServer};

const REQUEST: SessionRequest<'static> = SessionRequest {
    role_arn: arns::ROLE,
    profile_arn: arns::PROFILE,
    trust_anchor_arn: arns::TRUST_ANCHOR,
    duration_seconds: 3600,
    role_session_name: None,
};

/// One credential-process call; returns the length of the JSON written.
fn credential_process(
    agent: &ureq::Agent,
    url: &str,
    cert_pem: &[u8],
    key_pem: &[u8],
    out: &mut [u8],
) -> usize {
    let block = pem::blocks(cert_pem)
        .find(|b| b.label == "CERTIFICATE")
        .unwrap();
    let mut der = vec![0u8; block.decoded_len_bound()];
    let der = block.decode(&mut der).unwrap();
    let leaf = Certificate::from_der(der).unwrap();
    let key = PrivateKey::from_pem(key_pem).unwrap();
    check_key_matches(&key, &leaf).unwrap();

    let host = url.split_once("://").unwrap().1;
    let endpoint = Endpoint {
        host,
        region: "us-east-1",
    };
    let now = UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let mut buf = vec![
        0u8;
        required_buffer_len(
            &REQUEST,
            host,
            der.len(),
            std::iter::empty(),
            key.max_signature_len()
        )
    ];
    let signed = sign_request(&REQUEST, &endpoint, &key, &leaf, &[], now, &mut buf).unwrap();

    let mut req = agent.post(format!("{url}{}", signed.path_and_query));
    for (name, value) in signed.headers() {
        req = req.header(name, value);
    }
    let mut resp = req.send(signed.body.as_bytes()).unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body = resp.body_mut().read_to_vec().unwrap();
    let credentials = parse_response(&body).unwrap();
    let total = out.len();
    let mut w: &mut [u8] = out;
    write_credential_process(&mut w, &credentials).unwrap();
    total - w.len()
}

fn round_trip(c: &mut Criterion) {
    let dir = fixtures(Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap();
    let http = MockServer::start(MockConfig::from_fixture_dir(&dir).unwrap()).unwrap();
    let https = MockServer::start(
        MockConfig::from_fixture_dir(&dir)
            .unwrap()
            .with_fixture_tls(&dir)
            .unwrap(),
    )
    .unwrap();

    let plain: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let ca = read(&dir.join("ca.pem")).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[
            ureq::tls::Certificate::from_pem(&ca).unwrap().to_owned(),
        ]))
        .build();
    let secure: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();

    let mut group = c.benchmark_group("credential-process round trip (in-process mock)");
    group.sample_size(30);
    let mut out = vec![0u8; 16 * 1024];
    for (name, agent, url, key) in [
        ("P-256, HTTP", &plain, http.url(), "p256"),
        ("P-256, HTTPS", &secure, https.url(), "p256"),
        ("RSA-2048, HTTPS", &secure, https.url(), "rsa2048"),
    ] {
        let cert_pem = read(&dir.join(format!("{key}.pem"))).unwrap();
        let key_pem = read(&dir.join(format!("{key}.pkcs8.pem"))).unwrap();
        // Sanity: the mock accepts the request and credentials come back.
        assert!(credential_process(agent, &url, &cert_pem, &key_pem, &mut out) > 100);
        group.bench_function(name, |b| {
            b.iter(|| credential_process(agent, black_box(&url), &cert_pem, &key_pem, &mut out))
        });
    }
    group.finish();
    http.stop();
    https.stop();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
