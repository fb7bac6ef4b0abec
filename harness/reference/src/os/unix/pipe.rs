//! Queue pipes on Unix: a write end that never blocks (the feeder waits for room with `poll`),
//! a larger buffer where Linux allows it, and how much is unread.

use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Writes of at most this many bytes to a pipe are atomic (POSIX `PIPE_BUF`), and a queue's
/// write end is non-blocking.
pub(crate) const ATOMIC_WRITE: Option<usize> = Some(libc::PIPE_BUF);

/// The buffer a queue's pipe asks for (Linux; other systems keep theirs).
const QUEUE_PIPE_SIZE: usize = 256 << 10;

/// A pipe for a queue: `(reader, writer, capacity)`, the writer non-blocking. `capacity` is the
/// buffer size the kernel reports, or 0 where it cannot be known (a frame then never counts as
/// fitting without a try).
pub(crate) fn queue_pipe() -> io::Result<(PipeReader, PipeWriter, usize)> {
    let (reader, writer) = io::pipe()?;
    set_flag(&writer, OFlag::O_NONBLOCK)?;
    let capacity = grow(&writer);
    Ok((reader, writer, capacity))
}

/// A plain pipe (a [`PipeEnd`](crate::PipeEnd)'s) with the larger buffer where Linux allows it:
/// fewer switches between writer and reader for large messages.
pub(crate) fn message_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    let (reader, writer) = io::pipe()?;
    grow(&writer);
    Ok((reader, writer))
}

#[cfg(target_os = "linux")]
fn grow(writer: &PipeWriter) -> usize {
    // A refusal (the user is over the kernel's pipe-buffer quota) keeps the default size.
    let _ = fcntl(writer, FcntlArg::F_SETPIPE_SZ(QUEUE_PIPE_SIZE as libc::c_int));
    fcntl(writer, FcntlArg::F_GETPIPE_SZ).map_or(0, |n| n.max(0) as usize)
}

#[cfg(not(target_os = "linux"))]
fn grow(_writer: &PipeWriter) -> usize {
    let _ = QUEUE_PIPE_SIZE;
    0
}

fn set_flag(fd: &impl AsFd, flag: OFlag) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | flag)).map_err(io::Error::from)?;
    Ok(())
}

/// Makes a pipe's read end non-blocking (a read with nothing to read returns `WouldBlock`).
pub(crate) fn set_nonblocking(reader: &PipeReader) -> io::Result<()> {
    set_flag(reader, OFlag::O_NONBLOCK)
}

/// Bytes written to the pipe and not yet read (`FIONREAD`).
pub(crate) fn unread(writer: &PipeWriter) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for the call.
    let r = unsafe { libc::ioctl(writer.as_raw_fd(), libc::FIONREAD as _, &mut n) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(n.max(0) as usize) }
}

/// Waits until the pipe has room (or no reader is left), at most `timeout` (`None`: for ever).
pub(crate) fn wait_writable(writer: &PipeWriter, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let wait = match super::super::remaining(deadline) {
            None => PollTimeout::NONE,
            Some(left) => {
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(writer.as_fd(), PollFlags::POLLOUT)];
        match poll(&mut fds, wait) {
            Ok(0) => {
                if super::super::remaining(deadline).is_some_and(|d| d.is_zero()) {
                    return Ok(false);
                }
            }
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
