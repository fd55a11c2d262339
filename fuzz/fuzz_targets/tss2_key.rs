//! TPM 2.0 key files (`TSS2 PRIVATE KEY` DER): the ASN.1 parse, the checks a
//! signer makes before loading, and the DER encoders for what a TPM returns.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::tss2::{Tss2Key, ecdsa_signature_der, rsa_public_key_der};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = Tss2Key::parse(data) {
        if let Ok(loadable) = key.loadable() {
            assert!(loadable.public.len() + 2 == key.pubkey.len());
            assert!(loadable.private.len() + 2 == key.privkey.len());
        }
    }
    // r/s or modulus/exponent of any length into a bounded buffer.
    let (a, b) = data.split_at(data.len() / 2);
    let mut out = [0u8; 1100];
    if let Ok(n) = ecdsa_signature_der(a, b, &mut out) {
        assert!(n <= out.len());
    }
    let _ = rsa_public_key_der(a, 65537, &mut out[..data.len().min(1100)]);
});
