//! Turning `--certificate`, `--private-key` and `--intermediates` into an
//! identity: a signer plus the leaf certificate and chain it proves.
//!
//! The selection follows the original's `GetSigner` (spec 0.2): `pkcs11:`
//! URIs go to the token, `handle:` and `TSS2 PRIVATE KEY` files to the TPM,
//! anything else is a key file. The key is checked against the certificate
//! once, here, so every later signature is known to be usable.

use rolesanywhere_core::key::{KeyFormat, PrivateKey};
use rolesanywhere_core::pem;
use rolesanywhere_core::signer::check_key_matches;
use rolesanywhere_core::x509::Certificate;
use zeroize::Zeroizing;

use crate::cli::KeySourceArgs;
use crate::error::Error;
use crate::signers::BoxSigner;
use crate::signers::file::FileSigner;

/// A signer together with the certificate (and chain) it signs for.
pub struct Identity {
    /// The key.
    pub signer: BoxSigner,
    /// DER of the leaf certificate, if one was given.
    leaf: Option<Vec<u8>>,
    /// DER of the intermediates, leaf-most first.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("key_type", &self.signer.key_type())
            .finish_non_exhaustive()
    }
}

/// Reads a file named by a flag.
pub fn read_file(flag: &'static str, path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

/// Fails for text that starts a PEM block but never ends it (a truncated file).
fn check_complete_pem(flag: &'static str, path: &str, data: &[u8]) -> Result<(), Error> {
    if pem::has_begin_line(data) && !pem::is_pem(data) {
        return Err(Error::file(
            flag,
            path,
            "truncated PEM: a -----BEGIN line has no matching -----END line",
        ));
    }
    Ok(())
}

/// Reads every certificate of a PEM file (only `CERTIFICATE` blocks allowed),
/// or a single DER certificate.
pub fn read_certificates(
    flag: &'static str,
    path: &str,
    data: &[u8],
) -> Result<Vec<Vec<u8>>, Error> {
    check_complete_pem(flag, path, data)?;
    if !pem::is_pem(data) {
        Certificate::from_der(data)
            .map_err(|e| Error::file(flag, path, format!("could not parse certificate: {e}")))?;
        return Ok(vec![data.to_vec()]);
    }
    let mut out = Vec::new();
    for block in pem::blocks(data) {
        if block.label != "CERTIFICATE" {
            return Err(Error::file(
                flag,
                path,
                format!(
                    "invalid certificate chain: unexpected PEM block {}",
                    block.label
                ),
            ));
        }
        let der = block
            .decode_to_vec()
            .map_err(|e| Error::file(flag, path, e))?;
        Certificate::from_der(&der)
            .map_err(|e| Error::file(flag, path, format!("could not parse certificate: {e}")))?;
        out.push(der.to_vec());
    }
    Ok(out)
}

/// Reads the first certificate of a PEM file, or a DER certificate.
fn read_leaf(flag: &'static str, path: &str) -> Result<Vec<u8>, Error> {
    let data = read_file(flag, path)?;
    check_complete_pem(flag, path, &data)?;
    if pem::is_pem(&data) {
        let block = pem::blocks(&data)
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| Error::file(flag, path, "no CERTIFICATE PEM block found"))?;
        let der = block
            .decode_to_vec()
            .map_err(|e| Error::file(flag, path, e))?;
        Certificate::from_der(&der)
            .map_err(|e| Error::file(flag, path, format!("could not parse certificate: {e}")))?;
        return Ok(der.to_vec());
    }
    if Certificate::from_der(&data).is_ok() {
        return Ok(data);
    }
    Err(Error::file(
        flag,
        path,
        "could not parse PEM data (expected a PEM or DER certificate)",
    ))
}

/// Loads a key file as the software signer.
fn load_key_file(path: &str, keys: &KeySourceArgs) -> Result<FileSigner, Error> {
    const FLAG: &str = "--private-key";
    let data = Zeroizing::new(read_file(FLAG, path)?);
    check_complete_pem(FLAG, path, &data)?;
    if pem::blocks(&data).any(|b| b.label == "TSS2 PRIVATE KEY") {
        return Err(Error::NotSupported(
            "TPM 2.0 key files (TSS2 PRIVATE KEY)".into(),
        ));
    }
    if pem::blocks(&data).any(|b| b.label == "ENCRYPTED PRIVATE KEY") {
        let _ = &keys.pkcs8_password;
        return Err(Error::NotSupported(
            "encrypted PKCS#8 keys (--pkcs8-password)".into(),
        ));
    }
    let key = if pem::is_pem(&data) {
        PrivateKey::from_pem(&data)
    } else {
        // DER: PKCS#8 is the standard; PKCS#1 and SEC1 are tried after it.
        PrivateKey::from_pkcs8_der(&data)
            .or_else(|e| PrivateKey::from_der(KeyFormat::Pkcs1, &data).map_err(|_| e))
            .or_else(|e| PrivateKey::from_der(KeyFormat::Sec1, &data).map_err(|_| e))
    }
    .map_err(|e| Error::file(FLAG, path, e))?;
    Ok(FileSigner::new(key))
}

/// Where the key lives, from the flags (spec 0.2, `GetSigner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    /// `--cert-selector` / no certificate and no key: an OS certificate store.
    CertStore,
    /// A `pkcs11:` URI as `--private-key`, or as `--certificate` with no key.
    Pkcs11,
    /// `--private-key handle:0x...`: a persistent TPM key.
    TpmHandle(&'a str),
    /// A key file: PEM (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8, TSS2) or DER.
    KeyFile(&'a str),
    /// `--certificate` alone, not a certificate: a PKCS#12 bundle.
    Pkcs12(&'a str),
}

/// Classifies the key source the way the original does.
pub fn key_source(keys: &KeySourceArgs) -> Result<KeySource<'_>, Error> {
    let cert = keys.certificate.as_deref().filter(|c| !c.is_empty());
    let key = keys.private_key.as_deref().filter(|k| !k.is_empty());
    if keys.cert_selector.is_some()
        || keys.system_store_name.is_some()
        || keys.use_latest_expiring_certificate
    {
        return Ok(KeySource::CertStore);
    }
    Ok(match (cert, key) {
        (None, None) => KeySource::CertStore,
        (_, Some(k)) if k.starts_with("pkcs11:") => KeySource::Pkcs11,
        (Some(c), None) if c.starts_with("pkcs11:") => KeySource::Pkcs11,
        (_, Some(k)) if k.starts_with("handle:") => KeySource::TpmHandle(k),
        (_, Some(k)) => KeySource::KeyFile(k),
        (Some(c), None) => {
            // A lone PEM/DER certificate is not an identity; anything else is
            // read as PKCS#12, as the original does.
            if read_leaf("--certificate", c).is_ok() {
                return Err(Error::flag(
                    "--private-key",
                    "is required with a PEM or DER --certificate",
                ));
            }
            KeySource::Pkcs12(c)
        }
    })
}

/// Rejects flags of signers that `source` does not use, and signers this
/// build does not have, loudly (never silently ignored).
pub fn reject_unsupported(keys: &KeySourceArgs) -> Result<(), Error> {
    match key_source(keys)? {
        KeySource::CertStore => Err(Error::NotSupported(
            "OS certificate stores (--cert-selector, --system-store-name, or no --certificate/--private-key)".into(),
        )),
        KeySource::Pkcs11 => Err(Error::NotSupported("PKCS#11 URIs (pkcs11:)".into())),
        KeySource::TpmHandle(_) => Err(Error::NotSupported("TPM 2.0 persistent handles (handle:)".into())),
        KeySource::Pkcs12(_) => Err(Error::NotSupported("PKCS#12 bundles (--certificate without --private-key)".into())),
        KeySource::KeyFile(_) => {
            if keys.pkcs11_lib.is_some() || keys.reuse_pin {
                return Err(Error::NotSupported("PKCS#11 (--pkcs11-lib, --reuse-pin)".into()));
            }
            if keys.tpm_key_password.is_some() || keys.no_tpm_key_password {
                return Err(Error::NotSupported("TPM 2.0 keys (--tpm-key-password, --no-tpm-key-password)".into()));
            }
            Ok(())
        }
    }
}

/// Reads the `--intermediates` bundle.
fn load_intermediates(intermediates: Option<&str>) -> Result<Vec<Vec<u8>>, Error> {
    let Some(path) = intermediates.filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let data = read_file("--intermediates", path)?;
    let chain = read_certificates("--intermediates", path, &data)?;
    if chain.is_empty() {
        return Err(Error::file(
            "--intermediates",
            path,
            "no certificates found",
        ));
    }
    Ok(chain)
}

impl Identity {
    /// Loads the signer and certificates named by the flags. With
    /// `require_certificate`, a missing certificate is an error (every
    /// command but `sign-string` needs one).
    pub fn load(
        keys: &KeySourceArgs,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        reject_unsupported(keys)?;
        match key_source(keys)? {
            KeySource::KeyFile(key_path) => {
                Self::load_key_file(keys, key_path, intermediates, require_certificate)
            }
            // reject_unsupported() has refused the others.
            other => Err(Error::NotSupported(format!("key source {other:?}"))),
        }
    }

    /// A key file plus `--certificate` (PEM or DER) and `--intermediates`.
    fn load_key_file(
        keys: &KeySourceArgs,
        key_path: &str,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        let signer = load_key_file(key_path, keys)?;
        let leaf = match keys.certificate.as_deref().filter(|c| !c.is_empty()) {
            Some(path) => {
                let der = read_leaf("--certificate", path)?;
                let cert = Certificate::from_der(&der)
                    .map_err(|e| Error::file("--certificate", path, e))?;
                check_key_matches(&signer, &cert).map_err(|e| {
                    Error::KeyMismatch(format!(
                        "--private-key {key_path} and --certificate {path}: {e}"
                    ))
                })?;
                Some(der)
            }
            None if require_certificate => {
                return Err(Error::flag(
                    "--certificate",
                    "undefined certificate value (a certificate is required)",
                ));
            }
            None => None,
        };
        let chain = load_intermediates(intermediates)?;
        Ok(Identity {
            signer: Box::new(signer),
            leaf,
            chain,
        })
    }

    /// The leaf certificate, parsed (cheap: it borrows the DER).
    pub fn leaf(&self) -> Result<Certificate<'_>, Error> {
        let der = self
            .leaf
            .as_deref()
            .ok_or_else(|| Error::flag("--certificate", "unable to find certificate"))?;
        Certificate::from_der(der).map_err(|e| Error::flag("--certificate", e))
    }
}
