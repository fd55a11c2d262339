//! Private keys: PKCS#8 (RSA, EC, ML-DSA), PKCS#1, SEC1 as DER, and PEM.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::key::{KeyFormat, PrivateKey};
use rolesanywhere_core::signer::{Digest, Signer};

fn exercise(key: &PrivateKey) {
    let mut sig = [0u8; 4627];
    let mut pk = [0u8; 2592];
    let _ = key.encoded_public_key(&mut pk);
    let _ = key.sign(b"fuzz", Digest::Sha256, &mut sig);
}

fuzz_target!(|data: &[u8]| {
    for format in [KeyFormat::Pkcs8, KeyFormat::Pkcs1, KeyFormat::Sec1] {
        if let Ok(key) = PrivateKey::from_der(format, data) {
            exercise(&key);
        }
    }
    if let Ok(key) = PrivateKey::from_pem(data) {
        exercise(&key);
    }
});
