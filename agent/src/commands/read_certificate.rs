//! `read-certificate-data`: what the helper sees in a certificate file.

use rolesanywhere_core::output::write_json_str;
use rolesanywhere_core::x509::{Certificate, KeyType};

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
    if path.starts_with("pkcs11:") || args.pkcs11_lib.is_some() {
        return Err(Error::NotSupported(
            "PKCS#11 (pkcs11: URIs, --pkcs11-lib)".into(),
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

fn base64(der: &[u8]) -> String {
    let mut out = VecSink::default();
    let Ok(()) = rolesanywhere_core::output::write_base64(&mut out, der);
    String::from_utf8_lossy(&out.0).into_owned()
}
