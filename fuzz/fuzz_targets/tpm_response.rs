//! TPM 2.0 responses as the agent reads them off a device or socket: the
//! frame split (header, handle, parameters, authorization), the parameters
//! of every command the signer sends, public areas, signatures, and the
//! session's response-HMAC check. A TPM, a resource manager or anyone on the
//! bus controls these bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::tpm::{self, HmacSession, PublicArea, Response, Signature, TPM_CC_SIGN};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let handles = usize::from(selector & 1);
    let sessions = selector & 2 != 0;
    if let Ok(Ok(resp)) = Response::parse(frame, handles, sessions) {
        assert!(resp.params.len() <= frame.len());
        assert_eq!(resp.handle.is_some(), handles == 1);
        let _ = Signature::parse(resp.params);
        let _ = tpm::load_response(resp.params);
        let _ = tpm::start_auth_session_response(resp.params);
        if let Ok((public, name)) = tpm::read_public_response(resp.params) {
            assert!(public.len() + name.len() <= resp.params.len());
            let _ = PublicArea::parse(public);
        }
        if let Some(auth) = resp.auth {
            if let Ok(mut s) = HmacSession::new(0x0200_0000, [7; 32], &[9; 32]) {
                let _ = s.authorize([8; 32], 0, TPM_CC_SIGN, &[b"\x00\x0bname"], b"p", b"pw");
                // A forged HMAC must never verify.
                assert!(s.verify(TPM_CC_SIGN, resp.params, &auth, b"pw").is_err());
            }
        }
    }
    // The frame as a public area on its own (key files carry one too).
    if let Ok(area) = PublicArea::parse(frame) {
        let _ = area.scheme_hash;
    }
});
