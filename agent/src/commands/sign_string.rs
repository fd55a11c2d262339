//! `sign-string`: signs the fixed test string, to check a key works.

use rolesanywhere_core::signer::{Digest, sign_string_message};

use super::write_stdout;
use crate::cli::{DigestArg, SignFormat, SignStringArgs};
use crate::error::Error;
use crate::identity::Identity;

/// Runs the command.
pub fn run(args: &SignStringArgs) -> Result<(), Error> {
    let source = crate::identity::checked_key_source(&args.keys)?;
    let identity = Identity::load(&args.keys, source, None, false)?;
    let signer = &*identity.signer;
    let mut pk = vec![0u8; 2048];
    let pk_len = signer.encoded_public_key(&mut pk);
    let message = sign_string_message(pk_len.and_then(|n| pk.get(..n)));
    let digest = match args.digest {
        DigestArg::Sha256 => Digest::Sha256,
        DigestArg::Sha384 => Digest::Sha384,
        DigestArg::Sha512 => Digest::Sha512,
    };
    let mut sig = vec![0u8; signer.max_signature_len()];
    let n = signer
        .sign(&message, digest, &mut sig)
        .map_err(|e| Error::Invalid(format!("unable to sign the digest: {e}")))?;
    let sig = sig.get(..n).unwrap_or_default();
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    match args.format {
        SignFormat::Json => write_stdout(format!("\"{hex}\"").as_bytes()),
        SignFormat::Text => write_stdout(hex.as_bytes()),
        SignFormat::Bin => write_stdout(sig),
    }
}
