//! Moving command frames to the TPM and responses back: a character device
//! (one `write`, one `read`, as the kernel driver expects), a Unix socket
//! taking raw frames (the original's `TPM_DEVICE` socket: the response is
//! read by its header's size), or a simulator socket with the mssim/swtpm
//! framing (`TPM_SEND_COMMAND`, locality, size, command; then size, response,
//! and a zero acknowledgement).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::device::{Device, Tcti};

/// `TPM_SEND_COMMAND` of the simulator protocol.
const TPM_SEND_COMMAND: u32 = 8;
/// `TPM_SESSION_END`: tells the simulator this client is done.
const TPM_SESSION_END: u32 = 20;

/// How long a simulator may take to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one command may take. Generous: a hardware TPM creating an RSA
/// storage key can take tens of seconds; a hung simulator must still end.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A stream to a simulator.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(b),
            Stream::Unix(s) => s.write_all(b),
        }
    }

    fn read_exact(&mut self, b: &mut [u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.read_exact(b),
            Stream::Unix(s) => s.read_exact(b),
        }
    }
}

/// An open path to the TPM.
pub struct Transport {
    inner: Inner,
}

enum Inner {
    Device(File),
    Raw(Stream),
    Simulator(Stream),
}

fn unix(path: &std::path::Path) -> io::Result<Stream> {
    let s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    s.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    Ok(Stream::Unix(s))
}

fn u32_at(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

impl Transport {
    /// Opens the device or connects to the simulator.
    pub fn open(device: &Device) -> io::Result<Self> {
        let inner = match &device.tcti {
            Tcti::Device(path) => {
                Inner::Device(OpenOptions::new().read(true).write(true).open(path)?)
            }
            Tcti::Tcp { host, port, .. } => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                let mut connected = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            connected = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = connected.ok_or(last)?;
                s.set_read_timeout(Some(COMMAND_TIMEOUT))?;
                s.set_write_timeout(Some(COMMAND_TIMEOUT))?;
                s.set_nodelay(true)?;
                Inner::Simulator(Stream::Tcp(s))
            }
            Tcti::Unix { path, .. } => Inner::Simulator(unix(path)?),
            Tcti::RawUnix(path) => Inner::Raw(unix(path)?),
        };
        Ok(Transport { inner })
    }

    /// Sends one command and reads its response into `response`, returning
    /// the response's length.
    pub fn transact(&mut self, command: &[u8], response: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Device(f) => {
                f.write_all(command)?;
                // The driver hands the whole response to one read.
                let n = f.read(response)?;
                if n < 10 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the device answered {n} bytes, not a TPM response (is it a TPM?)"),
                    ));
                }
                Ok(n)
            }
            Inner::Raw(s) => {
                s.write_all(command)?;
                // tag (2), responseSize (4), responseCode (4), then the rest.
                let head = response.get_mut(..10).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "response buffer too small")
                })?;
                s.read_exact(head)?;
                let len = usize::try_from(u32_at([head[2], head[3], head[4], head[5]]))
                    .unwrap_or(usize::MAX);
                let rest = response.get_mut(10..len).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the TPM announced a {len}-byte response"),
                    )
                })?;
                s.read_exact(rest)?;
                Ok(len)
            }
            Inner::Simulator(s) => {
                let size = u32::try_from(command.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "command too long"))?;
                let mut head = [0u8; 9];
                head[..4].copy_from_slice(&TPM_SEND_COMMAND.to_be_bytes());
                head[4] = 0; // locality 0
                head[5..].copy_from_slice(&size.to_be_bytes());
                let mut frame = Vec::with_capacity(9 + command.len());
                frame.extend_from_slice(&head);
                frame.extend_from_slice(command);
                s.write_all(&frame)?;
                let mut word = [0u8; 4];
                s.read_exact(&mut word)?;
                let len = usize::try_from(u32_at(word)).unwrap_or(usize::MAX);
                let dst = response.get_mut(..len).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the simulator announced a {len}-byte response"),
                    )
                })?;
                s.read_exact(dst)?;
                s.read_exact(&mut word)?;
                if u32_at(word) != 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the simulator acknowledged with {}", u32_at(word)),
                    ));
                }
                Ok(len)
            }
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Inner::Simulator(s) = &mut self.inner {
            // Best effort: the simulator drops the connection either way.
            let _ = s.write_all(&TPM_SESSION_END.to_be_bytes());
        }
    }
}
