//! RFC 7512 `pkcs11:` URIs as `--certificate` / `--private-key` take them:
//! parse, every accessor, decoding, the redacted form (which must parse
//! again, with the PIN hidden), and formatting round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::pkcs11_uri::{Pkcs11Uri, write_path_attr};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = Pkcs11Uri::parse(text) else {
        return;
    };
    let _ = uri.slot_id();
    let _ = uri.pin_value().map(|v| v.decoded_len());
    for name in ["pin-source", "module-path", "module-name", "x-vendor"] {
        let _ = uri.query_attr(name).map(|v| v.to_vec());
    }
    let mut buf = [0u8; 64];
    for (name, value) in uri.path_attrs() {
        let bytes = value.to_vec();
        assert_eq!(bytes.len(), value.decoded_len());
        assert!(value.eq_bytes(&bytes));
        assert_eq!(
            value.decode_into(&mut buf).is_some(),
            bytes.len() <= buf.len()
        );
        // What we print parses back to the same bytes.
        if name == "pin-value" {
            continue;
        }
        for encode_all in [false, true] {
            let mut out = String::from("pkcs11:");
            write_path_attr(&mut out, true, "object", &bytes, encode_all).unwrap();
            let again = Pkcs11Uri::parse(&out).unwrap();
            assert!(again.path_attr("object").unwrap().eq_bytes(&bytes));
        }
    }
    let redacted = uri.redacted().to_string();
    let again = Pkcs11Uri::parse(&redacted).unwrap();
    if uri.pin_value().is_some() {
        assert!(again.pin_value().unwrap().eq_bytes(b"***"));
    }
});
