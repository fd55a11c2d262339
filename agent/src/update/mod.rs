//! `update`: keeps `[profile]` of the shared credentials file filled with
//! fresh credentials, for tools that read the file (the AWS CLI, SDKs).
//!
//! With `--once` it writes once and exits. Otherwise the shared refresh
//! engine rewrites the profile ahead of every expiry; a failed refresh (the
//! endpoint, the signer, or the file) is logged and retried with backoff, and
//! the file keeps the last good credentials meanwhile. Start-up fails fast:
//! an unusable file, or a first `CreateSession` that fails, exits 1.

pub mod file;
pub mod profile;

use std::path::PathBuf;
use std::sync::Arc;

use rolesanywhere_core::session::Credentials;

use crate::cli::UpdateArgs;
use crate::error::Error;
use crate::refresh::{Clock, Engine, Fetch, Policy, SystemClock, os_random};
use crate::session::SessionClient;

/// `CreateSession`, then the file: a refresh succeeds only once both did.
struct Writer<F> {
    client: F,
    clock: Arc<dyn Clock>,
    path: PathBuf,
    profile: String,
    /// Credentials fetched but not yet written (the write failed): the next
    /// attempt writes them again instead of calling `CreateSession` again,
    /// while they have at least [`REUSE_MARGIN`] seconds left.
    pending: Option<Credentials>,
}

/// Least lifetime left for fetched-but-unwritten credentials to be reused.
const REUSE_MARGIN: i64 = 600;

impl<F: Fetch> Fetch for Writer<F> {
    fn fetch(&mut self) -> Result<Credentials, Error> {
        let now = self.clock.now();
        let creds = match self.pending.take() {
            Some(c) if c.expiration().0 > now.0.saturating_add(REUSE_MARGIN) => c,
            _ => self.client.fetch()?,
        };
        match file::write_profile(&self.path, &self.profile, &creds) {
            Ok(_) => Ok(creds),
            Err(e) => {
                self.pending = Some(creds);
                Err(e)
            }
        }
    }
}

/// Runs the command; without `--once` it returns only on a start-up error.
pub fn run(args: &UpdateArgs) -> Result<(), Error> {
    profile::check_profile(&args.profile).map_err(|e| Error::flag("--profile", e))?;
    let path = file::credentials_path()?;
    let client = SessionClient::from_args(&args.credentials)?;
    file::preflight(&path, &args.profile)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::new(
        Box::new(Writer {
            client,
            clock: Arc::clone(&clock),
            path,
            profile: args.profile.clone(),
            pending: None,
        }),
        clock,
        Policy::default(),
        Box::new(os_random),
        !args.once,
    );
    engine.start()?;
    if !args.once {
        engine.run();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::refresh::testing::{ManualClock, Scripted};

    /// A failed write keeps the fetched credentials and writes them on the
    /// next attempt, without another CreateSession, while they are fresh.
    #[test]
    fn a_failed_write_is_retried_without_a_new_session() {
        let clock = ManualClock::at(1_800_000_000);
        let client = Scripted::new(&clock, &[Ok(3600)]);
        let calls = Arc::clone(&client.calls);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "[gw]\n").unwrap();
        // A folder where the temp file goes makes every write fail.
        let blocker = dir.path().join(".credentials.aws_signing_helper.tmp");
        std::fs::create_dir(&blocker).unwrap();
        let mut w = Writer {
            client,
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
            path: path.clone(),
            profile: "gw".into(),
            pending: None,
        };
        assert!(w.fetch().is_err());
        assert!(w.fetch().is_err());
        assert_eq!(calls.lock().unwrap().len(), 1, "no second CreateSession");
        std::fs::remove_dir(&blocker).unwrap();
        let c = w.fetch().unwrap();
        assert_eq!(c.access_key_id(), "ASIA0001");
        assert_eq!(calls.lock().unwrap().len(), 1);
        assert!(std::fs::read_to_string(&path).unwrap().contains("ASIA0001"));
        // Stale pending credentials are not reused.
        std::fs::create_dir(&blocker).unwrap();
        assert!(w.fetch().is_err());
        assert_eq!(calls.lock().unwrap().len(), 2);
        clock.advance(3600 - REUSE_MARGIN);
        std::fs::remove_dir(&blocker).unwrap();
        assert_eq!(w.fetch().unwrap().access_key_id(), "ASIA0003");
        assert_eq!(calls.lock().unwrap().len(), 3);
    }
}
