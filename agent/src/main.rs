//! `aws_signing_helper`: temporary AWS credentials from an X.509 certificate
//! and its private key through IAM Roles Anywhere.
//!
//! A drop-in replacement for AWS's Go helper: same subcommands, flags and
//! output. Errors print as one line on stderr and exit 1; nothing is written
//! to stdout unless the whole command succeeded.

mod cli;
mod commands;
mod error;
mod ffi;
mod identity;
mod prompt;
mod refresh;
mod serve;
mod session;
mod signers;
mod transport;
mod update;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{Error, one_line};

/// The version `version` prints and the User-Agent carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::CredentialProcess(args) => commands::credential_process::run(&args),
        Command::SignString(args) => commands::sign_string::run(&args),
        Command::ReadCertificateData(args) => commands::read_certificate::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Update(args) => update::run(&args),
        Command::Version => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{VERSION}")
                .and_then(|()| out.flush())
                .map_err(Error::Output)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and a bare invocation print usage; both are not errors.
            let help = e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
            let code = if e.use_stderr() && !help { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "aws_signing_helper: {}",
                one_line(&e.to_string())
            );
            ExitCode::FAILURE
        }
    }
}
