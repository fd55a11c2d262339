//! TPM 2.0 keys: `--private-key handle:0x81000001`
//! for a persistent key, or a `-----BEGIN TSS2 PRIVATE KEY-----` file made by
//! tpm2-openssl, tpm2-tss-engine or `tpm2_encodeobject` (spec 2).
//!
//! The key file's ASN.1 and the TPM command frames are core's
//! ([`rolesanywhere_core::tss2`], [`rolesanywhere_core::tpm`]), so they can be
//! fuzzed without a TPM; this module reaches the TPM (a device node or a
//! simulator socket), loads and signs. No libtss2: like the original (go-tpm),
//! the agent writes TPM commands itself, so a process that never touches a
//! TPM key never loads a TPM library or the libcrypto it pulls in.

mod connection;
mod device;
mod key_info;
mod signer;
mod transport;

use rolesanywhere_core::pem;
use rolesanywhere_core::tss2::Tss2Key;
use zeroize::Zeroizing;

use crate::cli::KeySourceArgs;
use crate::error::Error;

pub use connection::KeyLocation;
pub use signer::{Password, TpmSigner};

const FLAG: &str = "--private-key";

/// The PEM label of a TPM key file.
pub const TSS2_LABEL: &str = "TSS2 PRIVATE KEY";

/// Parses `handle:<hex>` as the original does (spec 2.1): exactly one colon,
/// an optional lowercase `0x`, then 32-bit hex.
pub fn parse_handle(spec: &str) -> Result<u32, &'static str> {
    let mut parts = spec.split(':');
    let (Some(_), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("invalid TPM handle format");
    };
    let hex = value.strip_prefix("0x").unwrap_or(value);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("invalid hex TPM handle value");
    }
    u32::from_str_radix(hex, 16).map_err(|_| "invalid hex TPM handle value")
}

fn given_password(keys: &KeySourceArgs) -> Option<Zeroizing<String>> {
    keys.tpm_key_password
        .as_ref()
        .map(|p| Zeroizing::new(p.clone()))
}

fn select_device() -> Result<device::Device, String> {
    device::select(&device::DeviceEnv::from_process())
}

/// A persistent key: `--private-key handle:0x81000001`.
pub fn from_handle(spec: &str, keys: &KeySourceArgs) -> Result<TpmSigner, Error> {
    let handle = parse_handle(spec).map_err(|e| Error::flag(FLAG, format!("{spec}: {e}")))?;
    let password = if keys.no_tpm_key_password {
        Password::Empty
    } else if let Some(p) = given_password(keys) {
        Password::Given(p)
    } else {
        Password::Prompt
    };
    let fail = |e: String| Error::flag(FLAG, format!("{spec}: {e}"));
    let device = select_device().map_err(fail)?;
    let name = format!("handle:0x{handle:08x}");
    let signer =
        TpmSigner::open(device, KeyLocation::Handle(handle), name, password).map_err(fail)?;
    debug_line(keys, &signer);
    Ok(signer)
}

fn debug_line(keys: &KeySourceArgs, signer: &TpmSigner) {
    if keys.debug {
        eprintln!("aws_signing_helper: debug: {}", signer.describe());
    }
}

/// A TSS2 key file (`data` is the whole file; other PEM blocks are skipped,
/// so a key followed by its certificate works).
pub fn from_key_file(path: &str, data: &[u8], keys: &KeySourceArgs) -> Result<TpmSigner, Error> {
    let fail = |e: String| Error::file(FLAG, path, e);
    let block = pem::blocks(data)
        .find(|b| b.label == TSS2_LABEL)
        .ok_or_else(|| fail(format!("no {TSS2_LABEL} PEM block")))?;
    let der = block.decode_to_vec().map_err(|e| fail(e.to_string()))?;
    let key = Tss2Key::parse(&der).map_err(|e| fail(e.to_string()))?;
    // The original checks the password flag before anything else.
    if key.empty_auth && keys.tpm_key_password.is_some() {
        return Err(fail(
            "password is provided but TPM key file indicates that one isn't required".into(),
        ));
    }
    let loadable = key.loadable().map_err(|e| fail(e.to_string()))?;
    let password = if key.empty_auth || keys.no_tpm_key_password {
        // --no-tpm-key-password is honoured for files too (the original
        // ignores it there): tpm2_encodeobject 5.4 writes emptyAuth FALSE
        // for keys that have no password.
        Password::Empty
    } else if let Some(p) = given_password(keys) {
        Password::Given(p)
    } else {
        Password::Prompt
    };
    let file = connection::FileKey::from_loadable(&loadable);
    let device = select_device().map_err(fail)?;
    let signer = TpmSigner::open(
        device,
        KeyLocation::File(Box::new(file)),
        path.to_owned(),
        password,
    )
    .map_err(fail)?;
    debug_line(keys, &signer);
    Ok(signer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn handles_parse_as_the_original_does() {
        assert_eq!(parse_handle("handle:0x81000001"), Ok(0x8100_0001));
        assert_eq!(parse_handle("handle:81000101"), Ok(0x8100_0101));
        assert_eq!(parse_handle("handle:0x1"), Ok(1));
        assert_eq!(parse_handle("handle:0081000001"), Ok(0x8100_0001));
        assert_eq!(
            parse_handle("handle:0x8100:1"),
            Err("invalid TPM handle format")
        );
        assert_eq!(parse_handle("handle"), Err("invalid TPM handle format"));
        for bad in [
            "handle:0X81000001",
            "handle:",
            "handle:0x",
            "handle:+81000001",
            "handle:810000011",
            "handle:xyz",
            "handle: 81000001",
        ] {
            assert_eq!(
                parse_handle(bad),
                Err("invalid hex TPM handle value"),
                "{bad}"
            );
        }
    }
}
