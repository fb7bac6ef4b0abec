//! Queue pipes on Windows: anonymous pipes have no non-blocking writes worth relying on, so a
//! queue's `put` writes itself (see the queue's documentation), into a pipe with a large buffer
//! so that it rarely has to wait.

use std::io::{self, PipeReader, PipeWriter};
use std::os::windows::io::FromRawHandle;
use std::time::Duration;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Pipes::CreatePipe;

/// Anonymous pipe writes have no documented atomic size nor a non-blocking mode: a queue's
/// frames are written whole under its writer lock, waiting for room.
pub(crate) const ATOMIC_WRITE: Option<usize> = None;

const QUEUE_PIPE_SIZE: u32 = 1 << 20;

/// A pipe for a queue: `(reader, writer, capacity)`; the writer blocks when the pipe is full.
pub(crate) fn queue_pipe() -> io::Result<(PipeReader, PipeWriter, usize)> {
    let mut read: HANDLE = std::ptr::null_mut();
    let mut write: HANDLE = std::ptr::null_mut();
    // SAFETY: the out-pointers are valid; no security attributes (not inheritable: handles are
    // made inheritable one spawn at a time).
    let ok = unsafe { CreatePipe(&mut read, &mut write, std::ptr::null(), QUEUE_PIPE_SIZE) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh handles that nothing else owns.
    let (reader, writer) = unsafe {
        (
            PipeReader::from(std::os::windows::io::OwnedHandle::from_raw_handle(read as _)),
            PipeWriter::from(std::os::windows::io::OwnedHandle::from_raw_handle(write as _)),
        )
    };
    Ok((reader, writer, 0))
}

/// A plain pipe (a [`PipeEnd`](crate::PipeEnd)'s).
pub(crate) fn message_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    io::pipe()
}

/// Unknown on Windows: callers treat it as "the pipe may be full".
/// Anonymous pipes have no non-blocking mode worth relying on here; callers that drain a pipe
/// on Windows first check what is available.
pub(crate) fn set_nonblocking(_reader: &PipeReader) -> io::Result<()> {
    Ok(())
}

pub(crate) fn unread(_writer: &PipeWriter) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Windows writes block instead; never called there.
pub(crate) fn wait_writable(_writer: &PipeWriter, _timeout: Option<Duration>) -> io::Result<bool> {
    Ok(true)
}
