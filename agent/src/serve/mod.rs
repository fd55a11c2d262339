//! `serve`: an IMDSv2-compatible endpoint on 127.0.0.1 that AWS SDKs reach
//! through `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
//!
//! Start-up fails fast (exit 1 with the reason) when the role ARN is invalid,
//! the port cannot be bound, or the first `CreateSession` fails. After that
//! nothing ends the process: refresh failures are logged and retried by the
//! shared [`Engine`](crate::refresh::Engine), the last good credentials are
//! served until they expire, and a 500 explains why when none are valid.

pub mod request;
pub mod routes;
pub mod server;
pub mod tokens;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rolesanywhere_core::arn::Arn;

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::refresh::{Engine, Policy, SystemClock, os_random};
use crate::session::SessionClient;

/// Runs the command; returns only on a start-up error.
pub fn run(args: &ServeArgs) -> Result<(), Error> {
    let role_name = Arn::parse_role(&args.credentials.role_arn)
        .map_err(|e| {
            Error::flag(
                "--role-arn",
                format!("invalid role ARN {:?}: {e}", args.credentials.role_arn),
            )
        })?
        .role_name()
        .to_owned();
    let client = SessionClient::from_args(&args.credentials)?;
    let listener = server::bind(args.port).map_err(|e| {
        Error::Invalid(format!(
            "failed to create listener on 127.0.0.1:{}: {e}",
            args.port
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Invalid(format!("failed to create listener: {e}")))?
        .port();
    let engine = Arc::new(Engine::new(
        Box::new(client),
        Arc::new(SystemClock),
        Policy::default(),
        Box::new(os_random),
        args.credentials.keys.debug,
    ));
    engine.start()?;
    {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "aws_signing_helper: Local server started on port: {port}\naws_signing_helper: Make it available to the sdk by running:\nexport AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:{port}/"
        );
    }
    let refresher = Arc::clone(&engine);
    std::thread::Builder::new()
        .name("refresh".to_owned())
        .spawn(move || refresher.run())
        .map_err(|e| Error::Invalid(format!("unable to start the refresh thread: {e}")))?;
    let app = Arc::new(routes::Endpoint {
        engine,
        tokens: tokens::TokenStore::new(),
        role_name,
    });
    let never = AtomicBool::new(false);
    server::serve(
        &listener,
        &app,
        args.hop_limit,
        server::Limits::default(),
        &never,
    );
    Ok(())
}
