//! `serve`'s IMDS request parser (`agent/src/serve/request.rs`, included by
//! path: the agent is a binary crate, and the parser depends on nothing but
//! httparse). Any bytes: no panic, and an accepted head keeps the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../agent/src/serve/request.rs"]
#[allow(dead_code)]
mod request;

fuzz_target!(|data: &[u8]| {
    match request::parse(data) {
        Ok(r) => {
            assert!(r.head_len <= data.len() && r.head_len <= request::MAX_HEAD);
            assert!(r.content_length <= request::MAX_BODY);
            assert!(r.path.starts_with('/') && !r.path.contains('?'));
            assert!(!r.method.is_empty());
        }
        Err(e) => {
            assert!(matches!(e.status(), 400 | 413 | 431 | 501));
            let _ = e.to_string();
        }
    }
});
