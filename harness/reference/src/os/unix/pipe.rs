//! Message pipes on Unix: a larger buffer where Linux allows it.

use std::io::{self, PipeReader, PipeWriter};

#[cfg(target_os = "linux")]
use nix::fcntl::{FcntlArg, fcntl};

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
