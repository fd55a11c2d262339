//! The protocol work around the signature: the canonical request and string
//! to sign for a real `CreateSession` request (with the certificate header),
//! parsing the service's answer, and writing the `credential_process` JSON.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rolesanywhere_benches::{fixtures, read};
use rolesanywhere_core::output::{write_base64, write_credential_process};
use rolesanywhere_core::pem;
use rolesanywhere_core::session::parse_response;
use rolesanywhere_core::sigv4::{
    Header, HttpRequest, PayloadHash, Scope, SignedHeaders, StringToSign, canonical_request_sha256,
};

const PATH: &str = "/sessions";
const QUERY: &str = "profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Aprofile%2F6f4a3c2e-1111-2222-3333-444455556666&roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fedge-gateway&trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Atrust-anchor%2F0d8b0a0b-1111-2222-3333-444455556666";
const BODY: &[u8] = br#"{"durationSeconds":3600}"#;

/// The base64 DER of the P-256 fixture leaf: the `X-Amz-X509` value.
fn x509_header() -> String {
    let dir = fixtures(std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap();
    let pem_text = read(&dir.join("p256.pem")).unwrap();
    let block = pem::blocks(&pem_text).next().unwrap();
    let mut der = vec![0u8; block.decoded_len_bound()];
    let der = block.decode(&mut der).unwrap().to_vec();
    let mut out = vec![0u8; der.len() * 2];
    let total = out.len();
    let mut w: &mut [u8] = &mut out;
    write_base64(&mut w, &der).unwrap();
    let n = total - w.len();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn canonical_request_and_string_to_sign(c: &mut Criterion) {
    let x509 = x509_header();
    let headers = [
        Header {
            name: "Content-Type",
            value: "application/json",
        },
        Header {
            name: "Host",
            value: "rolesanywhere.us-east-1.amazonaws.com",
        },
        Header {
            name: "X-Amz-Date",
            value: "20261204T173000Z",
        },
        Header {
            name: "X-Amz-X509",
            value: &x509,
        },
    ];
    let request = HttpRequest {
        method: "POST",
        path: PATH,
        query: QUERY,
        headers: &headers,
    };
    let scope = Scope {
        date: "20261204",
        region: "us-east-1",
        service: "rolesanywhere",
    };
    c.bench_function("canonical request + string to sign (CreateSession)", |b| {
        b.iter(|| {
            let hash = canonical_request_sha256(
                black_box(&request),
                &SignedHeaders::AllPresent,
                &PayloadHash::Bytes(BODY),
            )
            .unwrap();
            StringToSign::new("AWS4-X509-ECDSA-SHA256", "20261204T173000Z", &scope, &hash).unwrap()
        })
    });
}

/// A 201 answer shaped like the service's, with a session token of 1,100
/// characters (real ones run from about 600 to 2,500).
fn answer() -> String {
    let token: String = (0..1100)
        .map(|i| {
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64])
        })
        .collect();
    format!(
        r#"{{"credentialSet":[{{"assumedRoleUser":{{"arn":"arn:aws:sts::123456789012:assumed-role/edge-gateway/305441741","assumedRoleId":"AROAEXAMPLEROLEID:305441741"}},"credentials":{{"accessKeyId":"ASIAEXAMPLEKEYID0001","expiration":"2026-12-04T18:30:00Z","secretAccessKey":"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY","sessionToken":"{token}"}},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/edge-gateway","sourceIdentity":"CN=p256 leaf"}}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/41cl0bae-6783-40d4-ab20-65dc5d922e45"}}"#
    )
}

fn response_and_output(c: &mut Criterion) {
    let body = answer();
    c.bench_function("parse CreateSession response (1.1 KB token)", |b| {
        b.iter(|| parse_response(black_box(body.as_bytes())).unwrap())
    });
    let credentials = parse_response(body.as_bytes()).unwrap();
    let mut out = vec![0u8; 4096];
    c.bench_function("write credential_process JSON", |b| {
        b.iter(|| {
            let mut w: &mut [u8] = &mut out;
            write_credential_process(&mut w, black_box(&credentials)).unwrap();
        })
    });
}

criterion_group!(
    benches,
    canonical_request_and_string_to_sign,
    response_and_output
);
criterion_main!(benches);
