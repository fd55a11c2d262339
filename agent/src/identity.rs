//! Turning `--certificate`, `--private-key` and `--intermediates` into an
//! identity: a signer plus the leaf certificate and chain it proves.
//!
//! The selection follows the original's `GetSigner` (spec 0.2): `pkcs11:`
//! URIs go to the token, `handle:` and `TSS2 PRIVATE KEY` files to the TPM,
//! anything else is a key file. The key is checked against the certificate
//! once, here, so every later signature is known to be usable.

use rolesanywhere_core::key::{KEY_LABELS, KeyFormat, PrivateKey, encrypted};
use rolesanywhere_core::pem;
use rolesanywhere_core::signer::check_key_matches;
use rolesanywhere_core::x509::Certificate;
use zeroize::Zeroizing;

use crate::cli::KeySourceArgs;
use crate::error::Error;
use crate::signers::BoxSigner;
use crate::signers::file::FileSigner;
use crate::signers::password;

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
fn load_key_file(path: &str, keys: &KeySourceArgs) -> Result<BoxSigner, Error> {
    const FLAG: &str = "--private-key";
    let data = Zeroizing::new(read_file(FLAG, path)?);
    check_complete_pem(FLAG, path, &data)?;
    if pem::blocks(&data).any(|b| b.label == "TSS2 PRIVATE KEY") {
        return load_tss2_key_file(path, &data, keys);
    }
    // The first private key block decides, as PrivateKey::from_pem does.
    let first_key = pem::blocks(&data).find(|b| KEY_LABELS.contains(&b.label));
    if let Some(block) = first_key.filter(|b| b.label == "ENCRYPTED PRIVATE KEY") {
        let der = block
            .decode_to_vec()
            .map_err(|e| Error::file(FLAG, path, e))?;
        let key = password::decrypt_pkcs8(FLAG, path, &der, keys.pkcs8_password.as_deref())?;
        return Ok(Box::new(FileSigner::new(key)));
    }
    if !pem::is_pem(&data) && encrypted::is_encrypted_private_key_info(&data) {
        // `openssl pkcs8 -topk8 -outform DER` with a password.
        let key = password::decrypt_pkcs8(FLAG, path, &data, keys.pkcs8_password.as_deref())?;
        return Ok(Box::new(FileSigner::new(key)));
    }
    if keys.debug
        && keys
            .pkcs8_password
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    {
        eprintln!(
            "aws_signing_helper: debug: --pkcs8-password given but {path} is not encrypted; ignoring it"
        );
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
    Ok(Box::new(FileSigner::new(key)))
}

/// Whether this build has the TPM 2.0 signer.
const TPM_BUILD: bool = cfg!(all(target_os = "linux", feature = "tpm"));

/// Whether `path` holds a `TSS2 PRIVATE KEY` PEM block (a TPM key file,
/// possibly followed by its certificate); `None` when it cannot be read (the
/// read that follows reports why).
fn tss2_key_file(path: &str) -> Option<bool> {
    std::fs::read(path)
        .ok()
        .map(|data| pem::blocks(&data).any(|b| b.label == "TSS2 PRIVATE KEY"))
}

/// PKCS#11 flags mean nothing to a TPM key: refuse them rather than ignore.
fn reject_pkcs11_flags_for_tpm(keys: &KeySourceArgs) -> Result<(), Error> {
    if keys.pkcs11_lib.is_some() || keys.reuse_pin {
        return Err(Error::Invalid(
            "--pkcs11-lib and --reuse-pin do not apply to a TPM key".into(),
        ));
    }
    Ok(())
}

/// A TSS2 key file: the TPM signer (Linux builds with the `tpm` feature).
fn load_tss2_key_file(path: &str, data: &[u8], keys: &KeySourceArgs) -> Result<BoxSigner, Error> {
    #[cfg(all(target_os = "linux", feature = "tpm"))]
    {
        crate::signers::tpm::from_key_file(path, data, keys).map(|s| Box::new(s) as BoxSigner)
    }
    #[cfg(not(all(target_os = "linux", feature = "tpm")))]
    {
        let _ = (path, data, keys);
        Err(Error::NotSupported(
            "TPM 2.0 key files (TSS2 PRIVATE KEY)".into(),
        ))
    }
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
            // A TPM key file with its certificate in it serves as the key
            // too (spec 2.1).
            if tss2_key_file(c) == Some(true) {
                return Ok(KeySource::KeyFile(c));
            }
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
fn reject_unsupported(keys: &KeySourceArgs, source: KeySource<'_>) -> Result<(), Error> {
    match source {
        KeySource::CertStore => Err(Error::NotSupported(
            "OS certificate stores (--cert-selector, --system-store-name, or no --certificate/--private-key)".into(),
        )),
        KeySource::Pkcs11 => check_pkcs11_flags(keys),
        KeySource::TpmHandle(_) if TPM_BUILD => reject_pkcs11_flags_for_tpm(keys),
        KeySource::TpmHandle(_) => Err(Error::NotSupported("TPM 2.0 persistent handles (handle:)".into())),
        KeySource::Pkcs12(_) => reject_other_signer_flags_for_pkcs12(keys),
        KeySource::KeyFile(path) => {
            check_key_file_pkcs11_flags(keys)?;
            if keys.tpm_key_password.is_some() || keys.no_tpm_key_password {
                if !TPM_BUILD {
                    return Err(Error::NotSupported("TPM 2.0 keys (--tpm-key-password, --no-tpm-key-password)".into()));
                }
                if tss2_key_file(path) == Some(false) {
                    return Err(Error::flag(
                        if keys.no_tpm_key_password { "--no-tpm-key-password" } else { "--tpm-key-password" },
                        format!("applies to TPM 2.0 keys only; {path} is not a TSS2 PRIVATE KEY file"),
                    ));
                }
            }
            Ok(())
        }
    }
}

/// A PKCS#12 bundle is a file key: PKCS#11 and TPM flags mean nothing to it.
fn reject_other_signer_flags_for_pkcs12(keys: &KeySourceArgs) -> Result<(), Error> {
    if keys.pkcs11_lib.is_some() || keys.reuse_pin {
        return Err(Error::Invalid(
            "--pkcs11-lib and --reuse-pin only apply to pkcs11: URIs, and --certificate is a PKCS#12 file"
                .into(),
        ));
    }
    if keys.tpm_key_password.is_some() || keys.no_tpm_key_password {
        return Err(Error::Invalid(
            "--tpm-key-password and --no-tpm-key-password do not apply to a PKCS#12 file".into(),
        ));
    }
    Ok(())
}

/// The original's words for `--intermediates` with a PKCS#12 bundle (spec 0.2).
const PKCS12_WITH_INTERMEDIATES: &str = "can't specify certificate chain when using PKCS#12 files; certificate bundle should be provided within the PKCS#12 file";

/// A PKCS#12 bundle as `--certificate`: key, leaf and chain all come from it.
fn load_pkcs12(
    keys: &KeySourceArgs,
    path: &str,
    intermediates: Option<&str>,
) -> Result<Identity, Error> {
    const FLAG: &str = "--certificate";
    if intermediates.is_some_and(|i| !i.is_empty()) {
        return Err(Error::flag("--intermediates", PKCS12_WITH_INTERMEDIATES));
    }
    let data = Zeroizing::new(read_file(FLAG, path)?);
    let bundle = password::open_pkcs12(FLAG, path, &data, keys.pkcs8_password.as_deref())?;
    if keys.debug {
        eprintln!(
            "aws_signing_helper: debug: PKCS#12 {path}: {} key, leaf and {} chain certificate(s)",
            rolesanywhere_core::signer::Signer::key_type(&bundle.key),
            bundle.chain.len()
        );
    }
    Ok(Identity {
        signer: Box::new(FileSigner::new(bundle.key)),
        leaf: Some(bundle.leaf),
        chain: bundle.chain,
    })
}

/// A `pkcs11:` identity: refused when this build has no PKCS#11 signer;
/// flags of other signers are refused rather than ignored.
fn check_pkcs11_flags(keys: &KeySourceArgs) -> Result<(), Error> {
    if !cfg!(feature = "pkcs11") {
        return Err(Error::NotSupported(
            "PKCS#11 URIs (pkcs11:) in this build (feature pkcs11)".into(),
        ));
    }
    if keys.tpm_key_password.is_some() || keys.no_tpm_key_password {
        return Err(Error::Invalid(
            "--tpm-key-password and --no-tpm-key-password do not apply to a pkcs11: key".into(),
        ));
    }
    if keys.pkcs8_password.is_some() {
        return Err(Error::Invalid(
            "--pkcs8-password does not apply to a pkcs11: key".into(),
        ));
    }
    Ok(())
}

/// A key file: `--pkcs11-lib` and `--reuse-pin` mean nothing to it, and a
/// `pkcs11:` certificate cannot go with it (the original silently ignored
/// the URI and failed for want of a certificate).
fn check_key_file_pkcs11_flags(keys: &KeySourceArgs) -> Result<(), Error> {
    if keys
        .certificate
        .as_deref()
        .is_some_and(|c| c.starts_with("pkcs11:"))
    {
        return Err(Error::flag(
            "--certificate",
            "a pkcs11: certificate needs its key on the token: give --private-key as a pkcs11: URI, or leave it out",
        ));
    }
    if keys.pkcs11_lib.is_some() || keys.reuse_pin {
        return Err(Error::Invalid(
            "--pkcs11-lib and --reuse-pin only apply to PKCS#11 keys (pkcs11: URIs), and --private-key is a file"
                .into(),
        ));
    }
    Ok(())
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

/// Classifies the key source and refuses flags and signers that do not fit
/// it, once: callers pass the result to [`Identity::load`], so start-up reads
/// the key and certificate files to classify them only one time.
pub fn checked_key_source(keys: &KeySourceArgs) -> Result<KeySource<'_>, Error> {
    let source = key_source(keys)?;
    reject_unsupported(keys, source)?;
    Ok(source)
}

impl Identity {
    /// Loads the signer and certificates named by the flags, from the source
    /// [`checked_key_source`] returned. With `require_certificate`, a missing
    /// certificate is an error (every command but `sign-string` needs one).
    pub fn load(
        keys: &KeySourceArgs,
        source: KeySource<'_>,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        match source {
            KeySource::KeyFile(key_path) => {
                Self::load_key_file(keys, key_path, intermediates, require_certificate)
            }
            #[cfg(all(target_os = "linux", feature = "tpm"))]
            KeySource::TpmHandle(spec) => {
                // Before the TPM is opened and a password asked for.
                if require_certificate && keys.certificate.as_deref().is_none_or(str::is_empty) {
                    return Err(Error::flag(
                        "--certificate",
                        "undefined certificate value (a certificate is required with a TPM key)",
                    ));
                }
                let signer = Box::new(crate::signers::tpm::from_handle(spec, keys)?);
                Self::with_signer(keys, signer, spec, intermediates, require_certificate)
            }
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11 => Self::load_pkcs11(keys, intermediates, require_certificate),
            KeySource::Pkcs12(path) => load_pkcs12(keys, path, intermediates),
            // checked_key_source() has refused the others.
            other => Err(Error::NotSupported(format!("key source {other:?}"))),
        }
    }

    /// A key on a PKCS#11 token, with its certificate from the token (a
    /// `pkcs11:` `--certificate`) or from a file (the hybrid form).
    #[cfg(feature = "pkcs11")]
    fn load_pkcs11(
        keys: &KeySourceArgs,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        use crate::signers::pkcs11::{CertInput, LoadRequest, load};
        let key_uri = keys
            .private_key
            .as_deref()
            .filter(|k| k.starts_with("pkcs11:"));
        let cert = match keys.certificate.as_deref().filter(|c| !c.is_empty()) {
            Some(uri) if uri.starts_with("pkcs11:") => CertInput::Uri(uri),
            Some(path) => CertInput::File(read_leaf("--certificate", path)?),
            // Fail before touching the token (and asking for its PIN).
            None if require_certificate => {
                return Err(Error::flag(
                    "--certificate",
                    "unable to find certificate: give the certificate as a pkcs11: URI or a file",
                ));
            }
            None => CertInput::None,
        };
        let loaded = load(LoadRequest {
            cert,
            key_uri,
            lib: keys.pkcs11_lib.as_deref(),
            intermediates: load_intermediates(intermediates)?,
            reuse_pin: keys.reuse_pin,
            debug: keys.debug,
        })?;
        Ok(Identity {
            signer: Box::new(loaded.signer),
            leaf: loaded.leaf,
            chain: loaded.chain,
        })
    }

    /// A key file plus `--certificate` (PEM or DER) and `--intermediates`.
    fn load_key_file(
        keys: &KeySourceArgs,
        key_path: &str,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        let signer = load_key_file(key_path, keys)?;
        Self::with_signer(keys, signer, key_path, intermediates, require_certificate)
    }

    /// A loaded signer plus `--certificate` (checked against the key) and
    /// `--intermediates`.
    fn with_signer(
        keys: &KeySourceArgs,
        signer: BoxSigner,
        key_path: &str,
        intermediates: Option<&str>,
        require_certificate: bool,
    ) -> Result<Identity, Error> {
        let leaf = match keys.certificate.as_deref().filter(|c| !c.is_empty()) {
            Some(path) => {
                let der = read_leaf("--certificate", path)?;
                let cert = Certificate::from_der(&der)
                    .map_err(|e| Error::file("--certificate", path, e))?;
                check_key_matches(&*signer, &cert).map_err(|e| {
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
            signer,
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
