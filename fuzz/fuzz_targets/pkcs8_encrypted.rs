//! Encrypted PKCS#8 (PBES2: PBKDF2 / scrypt, AES-CBC), with small KDF caps so
//! each input stays fast. The password is "fuzz" (what the seeds use).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_core::key::PrivateKey;
use rolesanywhere_core::key::encrypted::{KdfLimits, decrypt_pkcs8, is_encrypted_private_key_info};

const LIMITS: KdfLimits = KdfLimits {
    max_iterations: 64,
    max_scrypt_memory: 256 * 1024,
    max_scrypt_parallelism: 2,
};

fuzz_target!(|data: &[u8]| {
    let _ = is_encrypted_private_key_info(data);
    let _ = decrypt_pkcs8(data, b"fuzz", &LIMITS);
    let _ = PrivateKey::from_pem_with_password(data, b"fuzz", &LIMITS);
});
