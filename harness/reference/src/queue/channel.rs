//! The part of a queue shared by every process: one OS pipe carrying length-prefixed frames,
//! a writer lock so that two frames never interleave, and a reader lock so that one frame is
//! read whole by one consumer. Both locks are [`RobustMutex`]es: in shared memory on Linux (no
//! system call when uncontended), and handed on when a holder dies instead of lost.

use std::io::{self, IoSlice, PipeReader, PipeWriter, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::counters::Counters;
use crate::error::ChannelError;
use crate::os;
use crate::pipe::frame;
use crate::shared::RobustMutex;
use crate::token::{Adopted, Exported};

#[derive(Debug)]
pub(crate) struct Channel {
    reader: PipeReader,
    /// Non-blocking on Unix: a `put` never waits for room; the feeder waits with `poll`.
    writer: PipeWriter,
    /// The pipe's buffer size, where the OS tells it (0: unknown).
    capacity: usize,
    read_lock: RobustMutex,
    write_lock: RobustMutex,
    pub(crate) limit: usize,
    /// 0: unbounded.
    pub(crate) maxsize: usize,
    pub(crate) counters: Counters,
}

/// Most bytes the feeder hands to one vectored write.
const BATCH: usize = 256 << 10;

impl Channel {
    pub(crate) fn new(limit: usize, maxsize: usize) -> io::Result<Channel> {
        let (reader, writer, capacity) = os::queue_pipe()?;
        Ok(Channel {
            reader,
            writer,
            capacity,
            read_lock: RobustMutex::new()?,
            write_lock: RobustMutex::new()?,
            limit,
            maxsize,
            counters: Counters::new()?,
        })
    }

    /// The frame (header and encoded value) for `value`, refused whole over the limit.
    pub(crate) fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, ChannelError> {
        let mut out = vec![0u8; frame::HEADER];
        crate::codec::encode_into(&mut out, value)?;
        let size = out.len() - frame::HEADER;
        frame::check_size(size, self.limit)?;
        out[..frame::HEADER].copy_from_slice(&frame::header(size));
        Ok(out)
    }

    /// Writes `frame` now if that needs no waiting (the writer lock free, room in the pipe):
    /// `true` once written whole, `false` with nothing written.
    pub(crate) fn try_send(&self, frame: &[u8]) -> Result<bool, ChannelError> {
        let Some(atomic) = os::ATOMIC_WRITE else {
            // Windows: no non-blocking writes; `put` writes itself (see the queue's docs).
            self.send_all(&[frame])?;
            return Ok(true);
        };
        let Some(_turn) = self.write_lock.lock(Some(Instant::now()))? else {
            return Ok(false);
        };
        if frame.len() <= atomic {
            // Atomic: all of it or, with the pipe full, nothing (EAGAIN).
            return match (&self.writer).write(frame) {
                Ok(n) if n == frame.len() => Ok(true),
                Ok(n) => Err(ChannelError::Corrupt(format!("an atomic write wrote {n} of {} bytes", frame.len()))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        // Larger: only into an empty pipe it fits in (then no page is taken), else the feeder.
        if self.capacity == 0 || frame.len() > self.capacity || os::unread(&self.writer)? != 0 {
            return Ok(false);
        }
        self.write_all_locked(&[frame])?;
        Ok(true)
    }

    /// Writes every frame in order, waiting for room as long as it takes (the feeder).
    pub(crate) fn send_all(&self, frames: &[&[u8]]) -> Result<(), ChannelError> {
        let Some(_turn) = self.write_lock.lock(None)? else {
            return Err(ChannelError::Corrupt("writer lock refused without a deadline".into()));
        };
        self.write_all_locked(frames)
    }

    fn write_all_locked(&self, frames: &[&[u8]]) -> Result<(), ChannelError> {
        for group in batches(frames) {
            let mut slices: Vec<IoSlice<'_>> = group.iter().map(|f| IoSlice::new(f)).collect();
            let mut left = &mut slices[..];
            while !left.is_empty() {
                match (&self.writer).write_vectored(left) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                    Ok(n) => IoSlice::advance_slices(&mut left, n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        os::wait_writable(&self.writer, None)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Reads the oldest frame's body into `body`: `false` if none arrived before the deadline.
    /// No lock is held while waiting for a frame to arrive.
    pub(crate) fn recv(&self, deadline: Option<Instant>, body: &mut Vec<u8>) -> Result<bool, ChannelError> {
        loop {
            if !os::wait_readable(&self.reader, os::remaining(deadline))? {
                return Ok(false);
            }
            let Some(_turn) = self.read_lock.lock(deadline)? else {
                return Ok(false);
            };
            // Another consumer may have taken the frame we were woken for.
            if os::wait_readable(&self.reader, Some(Duration::ZERO))? {
                let read = frame::read_message(&self.reader, self.limit, body);
                if !matches!(read, Err(ChannelError::Eof)) {
                    self.counters.taken();
                }
                read?;
                return Ok(true);
            }
        }
    }

    /// Whether nothing is waiting in the pipe right now.
    pub(crate) fn is_empty(&self) -> io::Result<bool> {
        Ok(!os::wait_readable(&self.reader, Some(Duration::ZERO))?)
    }
}

/// Splits `frames` into runs of at most [`BATCH`] bytes (a larger frame alone) and at most
/// 512 slices, for one vectored write each.
fn batches<'a, 'b>(frames: &'b [&'a [u8]]) -> impl Iterator<Item = &'b [&'a [u8]]> {
    let mut rest = frames;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && n < 512 && (n == 0 || bytes + rest[n].len() <= BATCH) {
            bytes += rest[n].len();
            n += 1;
        }
        let (group, tail) = rest.split_at(n);
        rest = tail;
        Some(group)
    })
}

#[derive(Serialize)]
struct WireOut<'a> {
    r: Exported<'a>,
    w: Exported<'a>,
    capacity: usize,
    read_lock: &'a RobustMutex,
    write_lock: &'a RobustMutex,
    limit: usize,
    maxsize: usize,
    counters: &'a Counters,
}

#[derive(Deserialize)]
struct WireIn {
    r: Adopted,
    w: Adopted,
    capacity: usize,
    read_lock: RobustMutex,
    write_lock: RobustMutex,
    limit: usize,
    maxsize: usize,
    counters: Counters,
}

impl Serialize for Channel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut {
            r: Exported(os::borrow(&self.reader)),
            w: Exported(os::borrow(&self.writer)),
            capacity: self.capacity,
            read_lock: &self.read_lock,
            write_lock: &self.write_lock,
            limit: self.limit,
            maxsize: self.maxsize,
            counters: &self.counters,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        Ok(Channel {
            reader: PipeReader::from(w.r.0),
            writer: PipeWriter::from(w.w.0),
            capacity: w.capacity,
            read_lock: w.read_lock,
            write_lock: w.write_lock,
            limit: w.limit,
            maxsize: w.maxsize,
            counters: w.counters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_byte_and_slice_bounds() {
        let big = vec![0u8; BATCH + 1];
        let small = [0u8; 10];
        let frames: Vec<&[u8]> = vec![&small, &big, &small, &small];
        let groups: Vec<usize> = batches(&frames).map(<[&[u8]]>::len).collect();
        assert_eq!(groups, [1, 1, 2]);
        let many: Vec<&[u8]> = vec![&small; 1000];
        assert_eq!(batches(&many).map(<[&[u8]]>::len).collect::<Vec<_>>(), [512, 488]);
    }
}
