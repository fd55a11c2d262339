//! Which TPM to talk to: the original's `TPM_DEVICE` (a device node, or a Unix
//! socket that takes raw commands), then a tpm2-tools style
//! TCTI string from `TPM2TOOLS_TCTI`, then `/dev/tpmrm0` (the kernel's
//! resource manager), then `/dev/tpm0` (spec 2.3).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// The simulator protocols: both frame commands the same way on the command
/// port (`TPM_SEND_COMMAND`); `mssim` also has a platform port we never need
/// (the simulator must already be powered on and started up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimKind {
    /// swtpm's TCP or Unix-socket server.
    Swtpm,
    /// The Microsoft/IBM reference simulator.
    Mssim,
}

/// How to reach the TPM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tcti {
    /// A character device: `/dev/tpmrm0`, `/dev/tpm0`.
    Device(PathBuf),
    /// A simulator on TCP.
    Tcp {
        /// The protocol.
        kind: SimKind,
        /// Host name or address.
        host: String,
        /// Command port.
        port: u16,
    },
    /// A Unix socket that takes raw TPM commands, as the original's
    /// `TPM_DEVICE` socket does (go-tpm; swtpm's data socket answers both).
    RawUnix(PathBuf),
    /// A simulator on a Unix socket (`swtpm:path=...`).
    Unix {
        /// The protocol.
        kind: SimKind,
        /// The socket.
        path: PathBuf,
    },
}

/// A TPM to open, and how to name it in errors.
#[derive(Clone, Debug)]
pub struct Device {
    /// How to reach it.
    pub tcti: Tcti,
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

/// The TCTI names this build opens.
const TCTI_NAMES: [&str; 3] = ["device", "swtpm", "mssim"];

/// The simulators' default command port.
const DEFAULT_PORT: u16 = 2321;

/// Parses a TCTI string as tpm2-tss does: `name[:conf]`, where `conf` is
/// a path for `device` and `key=value` pairs (`host`, `port`, `path`) for
/// the simulators.
fn parse_tcti(source: &str, value: &str) -> Result<Tcti, String> {
    let (name, conf) = value.split_once(':').unwrap_or((value, ""));
    let bad = |why: String| format!("{source} {value:?}: invalid TCTI string: {why}");
    match name {
        "device" => Ok(Tcti::Device(PathBuf::from(if conf.is_empty() {
            "/dev/tpm0"
        } else {
            conf
        }))),
        "swtpm" | "mssim" => {
            let kind = if name == "swtpm" {
                SimKind::Swtpm
            } else {
                SimKind::Mssim
            };
            let (mut host, mut port, mut path) = ("localhost".to_owned(), DEFAULT_PORT, None);
            for pair in conf.split(',').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("host", h)) if !h.is_empty() => host = h.to_owned(),
                    Some(("port", p)) => {
                        port = p
                            .parse()
                            .map_err(|_| bad(format!("port {p:?} is not a port number")))?;
                    }
                    Some(("path", p)) if !p.is_empty() => path = Some(PathBuf::from(p)),
                    _ => {
                        return Err(bad(format!(
                            "unknown option {pair:?} (host=, port=, path=)"
                        )));
                    }
                }
            }
            Ok(match path {
                Some(path) => Tcti::Unix { kind, path },
                None => Tcti::Tcp { kind, host, port },
            })
        }
        "tabrmd" => Err(format!(
            "{source} {value:?}: the tabrmd resource manager is not supported; use the kernel's, /dev/tpmrm0"
        )),
        _ => Err(format!(
            "{source} {value:?}: unknown TCTI {name:?} (this build opens device:, swtpm: and mssim:)"
        )),
    }
}

/// A device node.
fn device(path: &str) -> Device {
    Device {
        tcti: Tcti::Device(PathBuf::from(path)),
        name: path.to_owned(),
    }
}

/// Chooses the TPM (spec 2.3, plus `TPM2TOOLS_TCTI`).
pub fn select(env: &DeviceEnv) -> Result<Device, String> {
    if let Some(path) = &env.tpm_device {
        // Not in the original, but harmless: a TCTI string here too.
        if TCTI_NAMES
            .iter()
            .chain(&["tabrmd"])
            .any(|n| path.starts_with(&format!("{n}:")) || path == n)
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
            // As the original: raw TPM commands on the socket (the Go
            // helper's own tests run swtpm this way).
            return Ok(Device {
                tcti: Tcti::RawUnix(PathBuf::from(path)),
                name: path.clone(),
            });
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
        assert_eq!(d.tcti, Tcti::Device("/dev/null".into()));
    }

    #[test]
    fn tcti_strings_are_parsed_as_tpm2_tss_does() {
        let d = select(&env(None, Some("swtpm:host=127.0.0.1,port=2999"))).unwrap();
        assert_eq!(
            d.tcti,
            Tcti::Tcp {
                kind: SimKind::Swtpm,
                host: "127.0.0.1".into(),
                port: 2999
            }
        );
        let d = select(&env(Some("mssim:port=3000"), None)).unwrap();
        assert_eq!(
            d.tcti,
            Tcti::Tcp {
                kind: SimKind::Mssim,
                host: "localhost".into(),
                port: 3000
            }
        );
        let d = select(&env(None, Some("swtpm"))).unwrap();
        assert!(matches!(d.tcti, Tcti::Tcp { port: 2321, .. }));
        let d = select(&env(None, Some("swtpm:path=/run/swtpm.sock"))).unwrap();
        assert_eq!(
            d.tcti,
            Tcti::Unix {
                kind: SimKind::Swtpm,
                path: "/run/swtpm.sock".into()
            }
        );
        let d = select(&env(None, Some("device:/dev/tpmrm0"))).unwrap();
        assert_eq!(d.tcti, Tcti::Device("/dev/tpmrm0".into()));
    }

    #[test]
    fn unusable_devices_say_why() {
        let e = select(&env(Some("/nonexistent/tpm"), None)).unwrap_err();
        assert!(e.starts_with("TPM_DEVICE /nonexistent/tpm: "), "{e}");
        let e = select(&env(Some("/etc/hostname"), None)).unwrap_err();
        assert!(e.contains("unsupported TPM file mode"), "{e}");
        let e = select(&env(None, Some("bogus:x"))).unwrap_err();
        assert!(e.contains("unknown TCTI \"bogus\""), "{e}");
        let e = select(&env(None, Some("swtpm:port=notanumber"))).unwrap_err();
        assert!(e.contains("invalid TCTI string"), "{e}");
        let e = select(&env(None, Some("swtpm:host=a,colour=blue"))).unwrap_err();
        assert!(e.contains("unknown option \"colour=blue\""), "{e}");
        let e = select(&env(None, Some("tabrmd:bus_type=session"))).unwrap_err();
        assert!(e.contains("/dev/tpmrm0"), "{e}");
    }

    #[test]
    fn a_unix_socket_in_tpm_device_takes_raw_commands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swtpm.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let d = select(&env(Some(path.to_str().unwrap()), None)).unwrap();
        assert_eq!(d.tcti, Tcti::RawUnix(path));
    }
}
