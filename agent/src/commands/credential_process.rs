//! `credential-process`: one `CreateSession`, credentials as JSON on stdout.

use rolesanywhere_core::output::write_credential_process;

use super::{VecSink, write_stdout};
use crate::cli::CredentialArgs;
use crate::error::Error;
use crate::session::SessionClient;

/// Runs the command.
pub fn run(args: &CredentialArgs) -> Result<(), Error> {
    let client = SessionClient::from_args(args)?;
    let credentials = client.fetch()?;
    let mut out = VecSink::default();
    let Ok(()) = write_credential_process(&mut out, &credentials);
    write_stdout(&out.0)
}
