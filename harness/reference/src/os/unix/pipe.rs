//! Pipes on Unix: message pipes with a larger buffer where Linux allows it, and non-blocking
//! read ends.

use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::AsFd;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// The buffer a message pipe asks for (Linux; other systems keep theirs).
#[cfg(target_os = "linux")]
const MESSAGE_PIPE_SIZE: libc::c_int = 256 << 10;

/// A plain pipe (a [`PipeEnd`](crate::PipeEnd)'s) with the larger buffer where Linux allows it:
/// fewer switches between writer and reader for large messages.
pub(crate) fn message_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    let (reader, writer) = io::pipe()?;
    grow(&writer);
    Ok((reader, writer))
}

#[cfg(target_os = "linux")]
fn grow(writer: &PipeWriter) {
    // A refusal (the user is over the kernel's pipe-buffer quota) keeps the default size.
    let _ = fcntl(writer, FcntlArg::F_SETPIPE_SZ(MESSAGE_PIPE_SIZE));
}

#[cfg(not(target_os = "linux"))]
fn grow(_writer: &PipeWriter) {}

fn set_flag(fd: &impl AsFd, flag: OFlag) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | flag)).map_err(io::Error::from)?;
    Ok(())
}

/// Makes a pipe's read end non-blocking (a read with nothing to read returns `WouldBlock`).
pub(crate) fn set_nonblocking(reader: &PipeReader) -> io::Result<()> {
    set_flag(reader, OFlag::O_NONBLOCK)
}
