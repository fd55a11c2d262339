//! Which TPM to talk to: the original's `TPM_DEVICE`, then a tpm2-tools style
//! TCTI string from `TPM2TOOLS_TCTI`, then `/dev/tpmrm0` (the kernel's
//! resource manager), then `/dev/tpm0` (spec 2.3).

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::str::FromStr;

use tss_esapi::tcti_ldr::{DeviceConfig, TctiNameConf};

/// The TCTI names tss-esapi can open.
const TCTI_NAMES: [&str; 4] = ["device", "swtpm", "mssim", "tabrmd"];

/// A TPM to open, and how to name it in errors.
#[derive(Clone, Debug)]
pub struct Device {
    /// What libtss2 opens.
    pub tcti: TctiNameConf,
    /// The device path or TCTI string, for messages.
    pub name: String,
}

/// The environment the choice depends on (read once, passed in so the
/// choice is testable).
#[derive(Clone, Debug, Default)]
pub struct DeviceEnv {
    /// `TPM_DEVICE`.
    pub tpm_device: Option<String>,
    /// `TPM2TOOLS_TCTI`.
    pub tpm2tools_tcti: Option<String>,
}

impl DeviceEnv {
    /// Reads the variables of this process.
    pub fn from_process() -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        DeviceEnv {
            tpm_device: get("TPM_DEVICE"),
            tpm2tools_tcti: get("TPM2TOOLS_TCTI"),
        }
    }
}

/// Parses a TCTI string (`swtpm:host=127.0.0.1,port=2321`, `device:/dev/tpmrm0`, ...).
fn parse_tcti(source: &str, value: &str) -> Result<TctiNameConf, String> {
    let name = value.split(':').next().unwrap_or_default();
    if !TCTI_NAMES.contains(&name) {
        return Err(format!(
            "{source} {value:?}: unknown TCTI {name:?} (this build opens device:, swtpm:, mssim: and tabrmd:)"
        ));
    }
    // tss-esapi reads host= and port= only and would silently ignore a Unix
    // socket path, connecting to localhost:2321 instead.
    if matches!(name, "swtpm" | "mssim") && value.contains("path=") {
        return Err(format!(
            "{source} {value:?}: Unix-socket simulators are not supported; run swtpm with --server type=tcp and use host=,port="
        ));
    }
    TctiNameConf::from_str(value)
        .map_err(|e| format!("{source} {value:?}: invalid TCTI string: {e}"))
}

/// A device node as a TCTI.
fn device(path: &str) -> Device {
    Device {
        tcti: TctiNameConf::Device(DeviceConfig::from_str(path).unwrap_or_default()),
        name: path.to_owned(),
    }
}

/// Chooses the TPM (spec 2.3, plus `TPM2TOOLS_TCTI`).
pub fn select(env: &DeviceEnv) -> Result<Device, String> {
    if let Some(path) = &env.tpm_device {
        // Not in the original, but harmless: a TCTI string here too.
        if TCTI_NAMES
            .iter()
            .any(|n| path.starts_with(&format!("{n}:")))
        {
            return Ok(Device {
                tcti: parse_tcti("TPM_DEVICE", path)?,
                name: path.clone(),
            });
        }
        let meta = std::fs::metadata(path).map_err(|e| format!("TPM_DEVICE {path}: {e}"))?;
        let kind = meta.file_type();
        if kind.is_char_device() {
            return Ok(device(path));
        }
        if kind.is_socket() {
            return Err(format!(
                "TPM_DEVICE {path} is a Unix socket: raw swtpm sockets are not supported; run swtpm with --server type=tcp and set TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=PORT"
            ));
        }
        use std::os::unix::fs::PermissionsExt;
        return Err(format!(
            "TPM_DEVICE {path}: unsupported TPM file mode {:o}",
            meta.permissions().mode()
        ));
    }
    if let Some(tcti) = &env.tpm2tools_tcti {
        return Ok(Device {
            tcti: parse_tcti("TPM2TOOLS_TCTI", tcti)?,
            name: tcti.clone(),
        });
    }
    for path in ["/dev/tpmrm0", "/dev/tpm0"] {
        if Path::new(path).exists() {
            return Ok(device(path));
        }
    }
    Err(
        "no TPM found: /dev/tpmrm0 and /dev/tpm0 do not exist (set TPM_DEVICE or TPM2TOOLS_TCTI)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn env(dev: Option<&str>, tcti: Option<&str>) -> DeviceEnv {
        DeviceEnv {
            tpm_device: dev.map(str::to_owned),
            tpm2tools_tcti: tcti.map(str::to_owned),
        }
    }

    #[test]
    fn tpm_device_wins_over_the_tcti_variable() {
        let d = select(&env(Some("/dev/null"), Some("swtpm:port=1"))).unwrap();
        assert_eq!(d.name, "/dev/null");
        assert!(matches!(d.tcti, TctiNameConf::Device(_)));
    }

    #[test]
    fn tcti_strings_are_parsed() {
        let d = select(&env(None, Some("swtpm:host=127.0.0.1,port=2999"))).unwrap();
        assert_eq!(
            d.tcti,
            TctiNameConf::from_str("swtpm:host=127.0.0.1,port=2999").unwrap()
        );
        let d = select(&env(Some("mssim:port=3000"), None)).unwrap();
        assert!(matches!(d.tcti, TctiNameConf::Mssim(_)));
    }

    #[test]
    fn unusable_devices_say_why() {
        let e = select(&env(Some("/nonexistent/tpm"), None)).unwrap_err();
        assert!(e.starts_with("TPM_DEVICE /nonexistent/tpm: "), "{e}");
        let e = select(&env(Some("/etc/hostname"), None)).unwrap_err();
        assert!(e.contains("unsupported TPM file mode"), "{e}");
        let e = select(&env(None, Some("bogus:x"))).unwrap_err();
        assert!(e.contains("unknown TCTI \"bogus\""), "{e}");
        let e = select(&env(None, Some("swtpm:path=/run/swtpm.sock"))).unwrap_err();
        assert!(e.contains("Unix-socket"), "{e}");
        let e = select(&env(None, Some("swtpm:port=notanumber"))).unwrap_err();
        assert!(e.contains("invalid TCTI string"), "{e}");
    }

    #[test]
    fn unix_sockets_are_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swtpm.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let e = select(&env(Some(path.to_str().unwrap()), None)).unwrap_err();
        assert!(e.contains("TPM2TOOLS_TCTI=swtpm:host="), "{e}");
    }
}
