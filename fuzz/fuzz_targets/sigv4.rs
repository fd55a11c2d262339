//! SigV4 canonicalisation of arbitrary requests. Input: the request line
//! `METHOD PATH[?QUERY]`, header lines `name:value`, a blank line, the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::sigv4::{
    Header, HttpRequest, PayloadHash, SignedHeaders, canonical_request_sha256,
    write_canonical_request,
};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.split('\n');
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<Header<'_>> = lines
        .take(40)
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| Header { name, value })
        .collect();
    let req = HttpRequest {
        method,
        path,
        query,
        headers: &headers,
    };
    let names: Vec<&str> = headers.iter().map(|h| h.name).collect();
    for signed in [SignedHeaders::AllPresent, SignedHeaders::Only(&names)] {
        for payload in [PayloadHash::Bytes(body.as_bytes()), PayloadHash::Hex(body)] {
            let hash = canonical_request_sha256(&req, &signed, &payload);
            let mut buf = vec![0u8; 64 * 1024];
            let mut out: &mut [u8] = &mut buf;
            let written = write_canonical_request(&req, &signed, &payload, &mut out);
            let left = out.len();
            // The streamed hash is the hash of the written bytes.
            if let (Ok(hash), Ok(())) = (hash, written) {
                let len = buf.len() - left;
                assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&buf[..len])));
            }
        }
    }
});
