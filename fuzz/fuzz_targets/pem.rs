//! PEM blocks: finding them in arbitrary text and decoding each.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::pem;

fuzz_target!(|data: &[u8]| {
    let mut buf = [0u8; 4096];
    let _ = pem::has_begin_line(data);
    for block in pem::blocks(data) {
        let _ = block.decoded_len_bound();
        let _ = block.decode(&mut buf);
        let _ = block.decode_to_vec();
    }
});
