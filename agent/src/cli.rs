//! The command line, flag for flag the original `aws_signing_helper`'s
//! (cobra) surface, so existing `credential_process` lines keep working.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Help text shared by every `--pkcs11-lib`.
const PKCS11_LIB_HELP: &str =
    "Library for smart card / cryptographic device (OpenSC or vendor specific)";
const CERT_SELECTOR_HELP: &str = "JSON structure to identify a certificate from a certificate store. Can be passed in either as string or a file name (prefixed by \"file://\")";
const SYSTEM_STORE_HELP: &str = "Name of the system store to search for within the CERT_SYSTEM_STORE_CURRENT_USER context. Note that this flag is only relevant for Windows certificate stores and will be ignored otherwise";
const LATEST_EXPIRING_HELP: &str = "If multiple certificates match a given certificate selector, the one that expires the latest will be chosen (if more than one still fits this criteria, an arbitrary one is chosen from those that meet the criteria)";
const REUSE_PIN_HELP: &str = "Use the CKU_USER PIN as the CKU_CONTEXT_SPECIFIC PIN for private key objects, when they are first used to sign. If the CKU_USER PIN doesn't work as the CKU_CONTEXT_SPECIFIC PIN for a given private key object, fall back to prompting the user";

/// The credential helper is a tool to retrieve temporary AWS credentials.
#[derive(Debug, Parser)]
#[command(
    name = "aws_signing_helper",
    about = "The credential helper is a tool to retrieve temporary AWS credentials",
    long_about = "A tool that utilizes certificates and their associated private keys to\nsign requests to AWS IAM Roles Anywhere's CreateSession API and retrieve temporary\nAWS security credentials. This tool exposes multiple commands to make credential\nretrieval and rotation more convenient.",
    arg_required_else_help = true,
    disable_version_flag = true
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of the original tool.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Retrieve AWS credentials in the appropriate format for external credential processes
    CredentialProcess(CredentialArgs),
    /// Serve AWS credentials through a local endpoint that is compatible with IMDSv2
    Serve(ServeArgs),
    /// Updates a profile in the AWS credentials file with new AWS credentials
    Update(UpdateArgs),
    /// Signs a fixed string using the passed-in private key (or reference to private key)
    SignString(SignStringArgs),
    /// Diagnostic command to read certificate data
    ReadCertificateData(ReadCertificateArgs),
    /// Prints the version number of the credential helper
    Version,
}

/// Where the certificate and key come from (shared by every command that signs).
#[derive(Debug, Args, Clone, Default)]
pub struct KeySourceArgs {
    /// Path to certificate file
    #[arg(long, value_name = "FILE|URI", conflicts_with_all = ["cert_selector", "system_store_name"])]
    pub certificate: Option<String>,
    /// Path to private key file
    #[arg(long, value_name = "FILE|URI", conflicts_with_all = ["cert_selector", "system_store_name", "use_latest_expiring_certificate"])]
    pub private_key: Option<String>,
    #[arg(long, help = CERT_SELECTOR_HELP, conflicts_with_all = ["reuse_pin"])]
    #[allow(missing_docs)]
    pub cert_selector: Option<String>,
    #[arg(long, help = SYSTEM_STORE_HELP, conflicts_with_all = ["reuse_pin"])]
    #[allow(missing_docs)]
    pub system_store_name: Option<String>,
    #[arg(long, help = LATEST_EXPIRING_HELP, conflicts_with_all = ["reuse_pin"])]
    #[allow(missing_docs)]
    pub use_latest_expiring_certificate: bool,
    #[arg(long, help = PKCS11_LIB_HELP, value_name = "PATH")]
    #[allow(missing_docs)]
    pub pkcs11_lib: Option<String>,
    #[arg(long, help = REUSE_PIN_HELP)]
    #[allow(missing_docs)]
    pub reuse_pin: bool,
    /// Password for TPM key, if applicable
    #[arg(long, conflicts_with_all = ["cert_selector", "reuse_pin"])]
    pub tpm_key_password: Option<String>,
    /// Required if the TPM key has no password anda handle is used to refer to the key
    #[arg(long, conflicts_with_all = ["cert_selector", "tpm_key_password"])]
    pub no_tpm_key_password: bool,
    /// Password for PKCS#8 key, if applicable
    #[arg(long, conflicts_with_all = ["tpm_key_password"])]
    pub pkcs8_password: Option<String>,
    /// To print debug output
    #[arg(long)]
    pub debug: bool,
}

/// Flags of `credential-process`, and of `serve` and `update` around their own.
#[derive(Debug, Args, Clone, Default)]
pub struct CredentialArgs {
    /// Certificate and key.
    #[command(flatten)]
    pub keys: KeySourceArgs,
    /// Path to intermediate certificate bundle file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["use_latest_expiring_certificate", "cert_selector"])]
    pub intermediates: Option<String>,
    /// Target role to assume
    #[arg(long, default_value = "")]
    pub role_arn: String,
    /// Profile to pull policies from
    #[arg(long, default_value = "")]
    pub profile_arn: String,
    /// Trust anchor to use for authentication
    #[arg(long, default_value = "")]
    pub trust_anchor_arn: String,
    /// Duration, in seconds, for the resulting session
    #[arg(
        long,
        default_value_t = 3600,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub session_duration: i64,
    /// Signing region
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint used to call CreateSession
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// To disable SSL verification
    #[arg(long)]
    pub no_verify_ssl: bool,
    /// To make the CreateSession call with a proxy
    #[arg(long)]
    pub with_proxy: bool,
    /// An identifier of a role session
    #[arg(long)]
    pub role_session_name: Option<String>,
}

/// Flags of `serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Credential flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// The port used to run the local server
    #[arg(long, default_value_t = 9911)]
    pub port: u16,
    /// The IP TTL to set on responses
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub hop_limit: u32,
}

/// Flags of `update`.
#[derive(Debug, Args, Clone)]
pub struct UpdateArgs {
    /// Credential flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// profile to update
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// to update the profile just once
    #[arg(long)]
    pub once: bool,
}

/// Output encodings of `sign-string`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum SignFormat {
    /// A JSON string of lower-case hex.
    #[default]
    Json,
    /// Bare lower-case hex.
    Text,
    /// Raw signature bytes.
    Bin,
}

/// Digests `sign-string` offers (case-sensitive, as the original).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum DigestArg {
    /// SHA-256.
    #[default]
    #[value(name = "SHA256")]
    Sha256,
    /// SHA-384.
    #[value(name = "SHA384")]
    Sha384,
    /// SHA-512.
    #[value(name = "SHA512")]
    Sha512,
}

/// Flags of `sign-string`.
#[derive(Debug, Args, Clone)]
pub struct SignStringArgs {
    /// Certificate and key.
    #[command(flatten)]
    pub keys: KeySourceArgs,
    /// Output format. One of json, text, and bin
    #[arg(long, value_enum, default_value_t = SignFormat::Json)]
    pub format: SignFormat,
    /// One of SHA256, SHA384, and SHA512
    #[arg(long, value_enum, default_value_t = DigestArg::Sha256)]
    pub digest: DigestArg,
}

/// Flags of `read-certificate-data`.
#[derive(Debug, Args, Clone)]
pub struct ReadCertificateArgs {
    /// Path to certificate file
    #[arg(long, value_name = "FILE|URI", conflicts_with_all = ["cert_selector", "system_store_name"])]
    pub certificate: Option<String>,
    #[arg(long, help = CERT_SELECTOR_HELP)]
    #[allow(missing_docs)]
    pub cert_selector: Option<String>,
    #[arg(long, help = SYSTEM_STORE_HELP)]
    #[allow(missing_docs)]
    pub system_store_name: Option<String>,
    #[arg(long, help = PKCS11_LIB_HELP, value_name = "PATH")]
    #[allow(missing_docs)]
    pub pkcs11_lib: Option<String>,
    /// To print debug output
    #[arg(long)]
    pub debug: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
