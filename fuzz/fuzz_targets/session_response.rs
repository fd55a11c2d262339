//! The CreateSession response and error bodies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::session::parse_response;
use rolesanywhere_core::session::response::parse_error_message;

fuzz_target!(|data: &[u8]| {
    if let Ok(credentials) = parse_response(data) {
        let _ = credentials.expiration();
    }
    let _ = parse_error_message(data);
});
