//! The host's share of one TPM signature: building `TPM2_StartAuthSession`
//! and `TPM2_Sign` (session HMAC included), then splitting the answer,
//! checking its HMAC and reading the signature. The TPM's own time (tens of
//! milliseconds on a chip) is not here; this is what the agent adds to it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rolesanywhere_core::tpm::{
    self, HmacSession, Response, Signature, TPM_ALG_ECDSA, TPM_ALG_SHA256, TPM_CC_SIGN,
};

/// A `TPM2_Sign` answer with an ECDSA P-256 signature and an auth area.
fn sign_answer() -> Vec<u8> {
    let mut params = vec![0x00, 0x18, 0x00, 0x0b, 0x00, 0x20];
    params.extend_from_slice(&[0x5a; 32]);
    params.extend_from_slice(&[0x00, 0x20]);
    params.extend_from_slice(&[0xa5; 32]);
    let mut auth = vec![0x00, 0x20];
    auth.extend_from_slice(&[0x11; 32]);
    auth.push(0);
    auth.extend_from_slice(&[0x00, 0x20]);
    auth.extend_from_slice(&[0x22; 32]);
    let mut frame = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
    frame.extend_from_slice(&(params.len() as u32).to_be_bytes());
    frame.extend_from_slice(&params);
    frame.extend_from_slice(&auth);
    let len = frame.len() as u32;
    frame[2..6].copy_from_slice(&len.to_be_bytes());
    frame
}

fn tpm_signature_host_side(c: &mut Criterion) {
    let name = [&[0x00u8, 0x0b][..], &[0x77; 32]].concat();
    let digest = [0x42u8; 32];
    let answer = sign_answer();
    let mut buf = [0u8; tpm::MAX_FRAME];
    c.bench_function(
        "TPM: session + Sign commands, answer parsed and checked",
        |b| {
            b.iter(|| {
                tpm::start_auth_session(&mut buf, black_box(&[1; 32])).unwrap();
                let mut session = HmacSession::new(0x0200_0000, [1; 32], &[2; 32]).unwrap();
                let mut params = [0u8; 256];
                let n = tpm::sign_parameters(&mut params, &digest, TPM_ALG_ECDSA, TPM_ALG_SHA256)
                    .unwrap();
                let auth =
                    session.authorize([3; 32], 0, TPM_CC_SIGN, &[&name], &params[..n], b"password");
                tpm::sign(&mut buf, 0x8000_0001, &auth, &params[..n]).unwrap();
                let resp = Response::parse(black_box(&answer), 0, true)
                    .unwrap()
                    .unwrap();
                // The canned answer's HMAC is not valid; checking it costs the same.
                let checked =
                    session.verify(TPM_CC_SIGN, resp.params, &resp.auth.unwrap(), b"password");
                black_box(checked.is_err());
                Signature::parse(resp.params).unwrap()
            })
        },
    );
}

criterion_group!(benches, tpm_signature_host_side);
criterion_main!(benches);
