//! Message pipes on Windows: anonymous pipes as the standard library makes them.

use std::io::{self, PipeReader, PipeWriter};

/// A plain pipe (a [`PipeEnd`](crate::PipeEnd)'s).
pub(crate) fn message_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    io::pipe()
}

/// Anonymous pipes have no non-blocking mode worth relying on here; callers that drain a pipe
/// on Windows first check what is available.
pub(crate) fn set_nonblocking(_reader: &PipeReader) -> io::Result<()> {
    Ok(())
}
