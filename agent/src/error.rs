//! The agent's errors: each names the flag, file or field at fault and
//! prints as one line (`aws_signing_helper: <what failed>: <why>`).

use std::fmt;

/// Everything that can end a command.
#[derive(Debug)]
pub enum Error {
    /// A flag's value is unusable.
    Flag {
        /// The flag, e.g. `--session-duration`.
        flag: &'static str,
        /// Why.
        reason: String,
    },
    /// Flags that are wrong together or in a way that names its own flag.
    Invalid(String),
    /// A file could not be read.
    Read {
        /// The flag that named the file.
        flag: &'static str,
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file's content is unusable.
    File {
        /// The flag that named the file.
        flag: &'static str,
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A feature that exists in the original tool but not in this build yet.
    NotSupported(String),
    /// The private key and the certificate do not belong together.
    KeyMismatch(String),
    /// Signing failed.
    Sign(String),
    /// The HTTPS call failed before an answer arrived.
    Transport(String),
    /// The service answered with an error status.
    Service {
        /// HTTP status.
        status: u16,
        /// `X-Amzn-ErrorType`, or a generic name.
        error_type: String,
        /// The service's message.
        message: String,
    },
    /// The service's answer could not be used.
    Response(String),
    /// Writing the output failed.
    Output(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Flag { flag, reason } => write!(f, "{flag}: {reason}"),
            Error::Invalid(why) => f.write_str(why),
            Error::Read { flag, path, source } => write!(f, "{flag} {path}: {source}"),
            Error::File { flag, path, reason } => write!(f, "{flag} {path}: {reason}"),
            Error::NotSupported(what) => write!(f, "{what} is not supported yet"),
            Error::KeyMismatch(why) => write!(f, "{why}"),
            Error::Sign(why) => write!(f, "unable to sign the request: {why}"),
            Error::Transport(why) => write!(f, "CreateSession request failed: {why}"),
            Error::Service {
                status,
                error_type,
                message,
            } => {
                write!(f, "CreateSession failed: {status} {error_type}: {message}")
            }
            Error::Response(why) => write!(f, "{why}"),
            Error::Output(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A flag error.
    pub fn flag(flag: &'static str, reason: impl fmt::Display) -> Self {
        Error::Flag {
            flag,
            reason: reason.to_string(),
        }
    }

    /// A file-content error.
    pub fn file(flag: &'static str, path: &str, reason: impl fmt::Display) -> Self {
        Error::File {
            flag,
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// True for failures worth another attempt (network, 5xx, throttling).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Service {
                status, error_type, ..
            } => {
                *status >= 500
                    || *status == 429
                    || error_type.to_ascii_lowercase().contains("throttl")
            }
            _ => false,
        }
    }
}

/// Collapses a message to one printable line (errors go to one stderr line).
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}
