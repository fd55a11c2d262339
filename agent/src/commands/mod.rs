//! One module per subcommand.

pub mod credential_process;
pub mod read_certificate;
pub mod sign_string;

use std::io::Write;

use crate::error::Error;

/// Writes `bytes` to stdout in one go and flushes; only called once a
/// command has fully succeeded, so stdout never holds partial output.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// An `embedded_io::Write` sink over a `Vec`, for core's output writers.
#[derive(Default)]
pub struct VecSink(pub zeroize::Zeroizing<Vec<u8>>);

impl embedded_io::ErrorType for VecSink {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for VecSink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
