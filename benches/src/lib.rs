//! Shared set-up for the criterion benchmarks in `benches/benches/`: the test
//! PKI made by `scripts/make-fixtures.sh`, and RSA keys of the sizes the
//! fixtures do not have, both made with the `openssl` CLI at bench time (so
//! no key material is committed).
//!
//! Run the benches with
//! `cargo bench -p rolesanywhere-benches -- --warm-up-time 1 --measurement-time 3`;
//! `benches/footprint.sh` measures the shipped binary (size, peak RSS, latency).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixture folder under `tmp` (the bench's `CARGO_TARGET_TMPDIR`), made
/// once and reused: `ca.pem`, and for each of `rsa2048`, `p256`, `p384` the
/// leaf `K.pem` and its key `K.pkcs8.pem` (see the script's header).
///
/// # Errors
/// A message naming what failed (the script, or openssl inside it).
pub fn fixtures(tmp: &Path) -> Result<PathBuf, String> {
    let dir = tmp.join("bench-fixtures");
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-fixtures.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .status()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} failed: {status}", script.display()));
    }
    Ok(dir)
}

/// A PKCS#8 PEM RSA key of `bits` bits in `dir` (`rsa<bits>.bench.pem`),
/// made by `openssl genpkey` the first time.
///
/// # Errors
/// A message naming what failed.
pub fn rsa_key(dir: &Path, bits: u32) -> Result<PathBuf, String> {
    let path = dir.join(format!("rsa{bits}.bench.pem"));
    if path.exists() {
        return Ok(path);
    }
    let partial = dir.join(format!("rsa{bits}.bench.pem.{}", std::process::id()));
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .arg("-out")
        .arg(&partial)
        .output()
        .map_err(|e| format!("running openssl genpkey: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl genpkey rsa {bits} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // Rename, so a concurrent or interrupted run never sees half a key.
    std::fs::rename(&partial, &path).map_err(|e| format!("renaming {}: {e}", partial.display()))?;
    Ok(path)
}

/// Reads a file, naming it on failure.
///
/// # Errors
/// A message naming the file.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// A string to sign of the shape `CreateSession` signs (algorithm, date,
/// scope, hex hash): what every signature in the benches covers.
pub const STRING_TO_SIGN: &[u8] = b"AWS4-X509-ECDSA-SHA256\n20261204T173000Z\n20261204/us-east-1/rolesanywhere/aws4_request\n3b7e4c2a1d0f9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a";

/// The ARNs the mock accepts (any well-formed ones in its region).
pub mod arns {
    /// The role.
    pub const ROLE: &str = "arn:aws:iam::123456789012:role/edge-gateway";
    /// The profile.
    pub const PROFILE: &str =
        "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666";
    /// The trust anchor.
    pub const TRUST_ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666";
}
