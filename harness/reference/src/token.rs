//! A lock shared by processes: a pipe holding one byte. Acquiring reads the byte, releasing
//! writes it back. It works wherever pipes do, and is passed to children like any pipe.
//!
//! If a process dies holding the byte, the lock is lost for everyone: the queue that uses it
//! then times out (see [`Queue`](crate::Queue) for when that can happen).

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::os;

#[derive(Debug)]
pub(crate) struct TokenLock {
    reader: PipeReader,
    writer: PipeWriter,
    /// Threads of one process take turns here before touching the pipe.
    local: Mutex<()>,
}

impl TokenLock {
    pub(crate) fn new() -> io::Result<Self> {
        let (reader, mut writer) = io::pipe()?;
        os::set_nonblocking(&reader)?;
        writer.write_all(&[1])?;
        Ok(TokenLock { reader, writer, local: Mutex::new(()) })
    }

    /// Takes the token, or gives up after `timeout` (`None`: wait for ever).
    pub(crate) fn acquire(&self, timeout: Option<Duration>) -> io::Result<Option<TokenGuard<'_>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        // Where reads cannot be made non-blocking, threads of one process must not race for
        // the byte (the loser would block in `read` past its timeout).
        let _local = (!os::NONBLOCKING_PIPES).then(|| self.local.lock().unwrap_or_else(|p| p.into_inner()));
        // Where the read end is non-blocking, try the byte first: uncontended, taking the lock
        // is then one `read`, with no `poll` before it.
        let mut first = os::NONBLOCKING_PIPES;
        loop {
            if !std::mem::take(&mut first) && !os::wait_readable(&self.reader, os::remaining(deadline))? {
                return Ok(None);
            }
            let mut byte = [0u8; 1];
            match (&self.reader).read(&mut byte) {
                Ok(1) => return Ok(Some(TokenGuard { lock: self })),
                Ok(_) => {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "lock pipe closed"));
                }
                Err(e) if os::is_would_block(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    // Taken by someone else (before our first try, or between a poll and our read).
                    if os::remaining(deadline).is_some_and(|d| d.is_zero()) {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct TokenGuard<'a> {
    lock: &'a TokenLock,
}

impl Drop for TokenGuard<'_> {
    fn drop(&mut self) {
        // Writing one byte to a pipe with room for it cannot block or fail short.
        let _ = (&self.lock.writer).write_all(&[1]);
    }
}

impl Serialize for TokenLock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&Exported(os::borrow(&self.reader)))?;
        t.serialize_element(&Exported(os::borrow(&self.writer)))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for TokenLock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (r, w) = <(Adopted, Adopted)>::deserialize(d)?;
        Ok(TokenLock { reader: PipeReader::from(r.0), writer: PipeWriter::from(w.0), local: Mutex::new(()) })
    }
}

/// A handle adopted from the parent during deserialization.
pub(crate) struct Adopted(pub(crate) os::OwnedOs);

impl<'de> Deserialize<'de> for Adopted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::handles::deserialize_handle(d).map(Adopted)
    }
}

/// A borrowed handle that serializes as an exported handle number.
pub(crate) struct Exported<'a>(pub(crate) os::BorrowedOs<'a>);

impl Serialize for Exported<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handles::serialize_handle(self.0, s)
    }
}
