//! Message pipes on Windows: anonymous pipes as the standard library makes them.

use std::io::{self, PipeReader, PipeWriter};

/// A plain pipe (a [`PipeEnd`](crate::PipeEnd)'s).
pub(crate) fn message_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    io::pipe()
}
