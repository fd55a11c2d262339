//! The mock's error type.

use std::fmt;

/// Why the mock could not be configured or started.
#[derive(Debug)]
#[non_exhaustive]
pub enum MockError {
    /// An I/O operation failed: (what was being done, the error).
    Io(String, std::io::Error),
    /// A PEM file held no usable certificate or key.
    Pem(String),
    /// The TLS configuration was refused by rustls.
    Tls(String),
    /// A configuration value is unusable.
    Config(String),
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(what, e) => write!(f, "{what}: {e}"),
            Self::Pem(why) => write!(f, "bad PEM: {why}"),
            Self::Tls(why) => write!(f, "TLS setup failed: {why}"),
            Self::Config(why) => write!(f, "bad configuration: {why}"),
        }
    }
}

impl std::error::Error for MockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(_, e) => Some(e),
            Self::Pem(_) | Self::Tls(_) | Self::Config(_) => None,
        }
    }
}
