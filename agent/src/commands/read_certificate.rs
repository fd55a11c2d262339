//! `read-certificate-data`: what the helper sees in a certificate file.

use rolesanywhere_core::output::write_json_str;
use rolesanywhere_core::x509::{Certificate, KeyType};

// Used by the PKCS#11 listing today, by the OS certificate stores next.
#[cfg_attr(not(feature = "pkcs11"), allow(dead_code))]
mod dn;

use super::{VecSink, write_stdout};
use crate::cli::ReadCertificateArgs;
use crate::error::Error;
use crate::identity::{read_certificates, read_file};

fn supported_algorithms(key: Option<KeyType>) -> &'static [&'static str] {
    match key {
        Some(KeyType::Rsa) => &["RSASHA256", "RSASHA384", "RSASHA512"],
        Some(KeyType::P256 | KeyType::P384) => &["ECDSASHA256", "ECDSASHA384", "ECDSASHA512"],
        Some(KeyType::MlDsa44) => &["ML-DSA-44"],
        Some(KeyType::MlDsa65) => &["ML-DSA-65"],
        Some(KeyType::MlDsa87) => &["ML-DSA-87"],
        None => &["SHA256", "SHA384", "SHA512"],
    }
}

/// Runs the command.
pub fn run(args: &ReadCertificateArgs) -> Result<(), Error> {
    if args.cert_selector.is_some() || args.system_store_name.is_some() {
        return Err(Error::NotSupported(
            "OS certificate stores (--cert-selector, --system-store-name)".into(),
        ));
    }
    let path = args
        .certificate
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Error::flag(
                "--certificate",
                "is required (OS certificate stores are not supported yet)",
            )
        })?;
    if path.starts_with("pkcs11:") {
        return pkcs11_listing(path, args);
    }
    if args.pkcs11_lib.is_some() {
        return Err(Error::flag(
            "--pkcs11-lib",
            "only applies to a pkcs11: --certificate",
        ));
    }
    let data = read_file("--certificate", path)?;
    let certs = read_certificates("--certificate", path, &data)?;
    let der = certs
        .first()
        .ok_or_else(|| Error::file("--certificate", path, "no certificate found"))?;
    let cert = Certificate::from_der(der).map_err(|e| Error::file("--certificate", path, e))?;
    let mut out = VecSink::default();
    let key = cert.key_type();
    let body = format!(
        "{{\"keyType\":\"{}\",\"certificateData\":\"{}\",\"serialNumber\":\"{}\",\"supportedAlgorithms\":[",
        key.map_or("", KeyType::name),
        base64(der),
        cert.serial_decimal()
    );
    out.0.extend_from_slice(body.as_bytes());
    for (i, alg) in supported_algorithms(key).iter().enumerate() {
        if i > 0 {
            out.0.push(b',');
        }
        let Ok(()) = write_json_str(&mut out, alg);
    }
    out.0.extend_from_slice(b"]}");
    write_stdout(&out.0)
}

/// `--certificate pkcs11:...`: the certificates the URI matches, listed
/// in the original's text format, each with a URI naming it on its token.
#[cfg(feature = "pkcs11")]
fn pkcs11_listing(uri: &str, args: &ReadCertificateArgs) -> Result<(), Error> {
    let found = crate::signers::pkcs11::list(uri, args.pkcs11_lib.as_deref(), args.debug)?;
    let items: Vec<(&[u8], Option<&str>)> = found
        .iter()
        .map(|c| (c.der.as_slice(), Some(c.uri.as_str())))
        .collect();
    write_stdout(identity_listing(&items).as_bytes())
}

#[cfg(not(feature = "pkcs11"))]
fn pkcs11_listing(_uri: &str, _args: &ReadCertificateArgs) -> Result<(), Error> {
    Err(Error::NotSupported(
        "PKCS#11 URIs (pkcs11:) in this build (feature pkcs11)".into(),
    ))
}

/// The original's text listing of identities (spec 5.3): `No matching
/// identities`, or `Matching identities` and one record per certificate
/// (SHA-1 fingerprint, subject, issuer, serial in hex, the URI if any),
/// each ending with a blank line.
#[cfg_attr(not(feature = "pkcs11"), allow(dead_code))]
pub fn identity_listing(items: &[(&[u8], Option<&str>)]) -> String {
    use sha1::Digest as _;
    use std::fmt::Write as _;
    if items.is_empty() {
        return "No matching identities\n".to_owned();
    }
    let mut out = String::from("Matching identities\n");
    for (i, (der, uri)) in items.iter().enumerate() {
        let fingerprint: String = sha1::Sha1::digest(der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cert = Certificate::from_der(der).ok();
        let name = |n: Option<&[u8]>| n.and_then(dn::format).unwrap_or_default();
        let _ = writeln!(out, "{}) Hex Fingerprint: {fingerprint}", i + 1);
        let _ = writeln!(out, "Subject: {}", name(cert.map(|c| c.subject_der())));
        let _ = writeln!(out, "Issuer: {}", name(cert.map(|c| c.issuer_der())));
        let _ = writeln!(
            out,
            "Serial Number: {}",
            cert.map(|c| c.serial_hex()).unwrap_or_default()
        );
        if let Some(uri) = uri {
            let _ = writeln!(out, "URI: {uri}");
        }
        out.push('\n');
    }
    out
}

fn base64(der: &[u8]) -> String {
    let mut out = VecSink::default();
    let Ok(()) = rolesanywhere_core::output::write_base64(&mut out, der);
    String::from_utf8_lossy(&out.0).into_owned()
}
