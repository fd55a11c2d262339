//! PKCS#12 bundles: MAC, PBES2 and legacy PBEs, bags, then leaf, key and
//! chain selection; small KDF caps. The password is "fuzz" (what the seeds
//! use); the empty password is tried too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::key::encrypted::KdfLimits;
use rolesanywhere_core::pkcs12::Pkcs12Identity;

const LIMITS: KdfLimits = KdfLimits {
    max_iterations: 64,
    max_scrypt_memory: 256 * 1024,
    max_scrypt_parallelism: 2,
};

fuzz_target!(|data: &[u8]| {
    for password in ["fuzz", ""] {
        let _ = Pkcs12Identity::from_der(data, password, &LIMITS);
    }
});
