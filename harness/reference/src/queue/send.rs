//! Writing messages into a queue's ring, under its write lock.
//!
//! A message whose record fits in the ring is copied whole and then committed. A larger one is
//! streamed in pieces of a quarter of the ring, each committed as it is written, with the
//! writer's pid in the header's `stream_pid` for the whole message: a writer killed in the
//! middle leaves it set, and whoever takes the write lock next (a writer, or a reader waiting
//! for the rest of that message) appends an `Abort` record, so that readers drop the pieces
//! they hold and go on with the next message.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::channel::Channel;
use super::ring::{self, Kind};
use crate::error::ChannelError;
use crate::os;

/// How a message goes into the ring.
enum Wait {
    /// Only if that needs no waiting (the lock free, room now).
    Never,
    /// Waiting for room as long as it takes.
    Forever,
}

impl Channel {
    /// Writes `body` now if that needs no waiting (the write lock free, room in the ring):
    /// `true` once committed, `false` with nothing written.
    pub(crate) fn try_send(&self, body: &[u8]) -> Result<bool, ChannelError> {
        let Some(_turn) = self.try_write_lock()? else {
            return Ok(false);
        };
        if !self.repair_stream(Wait::Never) {
            return Ok(false);
        }
        let size = ring::size_of_record(body.len() as u64);
        if size > self.ring.capacity() {
            return Ok(false);
        }
        Ok(self.append(Kind::Whole, &[body], Wait::Never))
    }

    /// Encodes `value` straight into the ring and commits it, if that needs no waiting (the
    /// write lock free, and room for the encoding after the write position): `true` once
    /// committed, `false` with nothing committed. No copy of the encoding is made; a value that
    /// does not fit (or is over the limit) is left to the caller to encode on its own.
    ///
    /// The value's `Serialize` runs holding the write lock: if it puts on this same queue,
    /// that inner `put` finds the lock taken by its own thread and goes to the feeder.
    pub(crate) fn try_send_value<T: Serialize + ?Sized>(&self, value: &T) -> Result<bool, ChannelError> {
        let Some(_turn) = self.try_write_lock()? else {
            return Ok(false);
        };
        if !self.repair_stream(Wait::Never) {
            return Ok(false);
        }
        let (w, pad, run) = self.ring.free_run();
        let room = run.saturating_sub(ring::HEAD).min(self.limit as u64);
        let start = w + pad;
        let mut span = self.ring.span(start + ring::HEAD, room);
        if let Err(e) = crate::codec::encode_to(&mut span, value) {
            return if span.overflowed() { Ok(false) } else { Err(e) };
        }
        if pad > 0 {
            self.ring.write_pad(w, pad);
        }
        let end = self.ring.write_head(start, Kind::Whole, span.len());
        crate::faultpoint::hit(crate::faultpoint::Point::QueuePutHalf);
        self.ring.commit_write(end);
        Ok(true)
    }

    /// The write lock if it is free now. Taken by this very thread (a value's `Serialize`
    /// putting on its own queue) counts as busy.
    fn try_write_lock(&self) -> Result<Option<impl Sized + '_>, ChannelError> {
        match self.write_lock.lock(Some(long_ago())) {
            Ok(turn) => Ok(turn),
            Err(e) if e.kind() == io::ErrorKind::Deadlock => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes every message in order, waiting for room as long as it takes (the feeder, and a
    /// `SimpleQueue`'s `put`).
    pub(crate) fn send_all(&self, bodies: &[&[u8]]) -> Result<(), ChannelError> {
        let Some(_turn) = self.write_lock.lock(None)? else {
            return Err(ChannelError::Corrupt("writer lock refused without a deadline".into()));
        };
        self.repair_stream(Wait::Forever);
        for body in bodies {
            if ring::size_of_record(body.len() as u64) <= self.ring.capacity() {
                self.append(Kind::Whole, &[body], Wait::Forever);
            } else {
                self.stream(body);
            }
        }
        Ok(())
    }

    /// Appends one record and commits it; `false` (nothing written) if there is no room and
    /// `wait` says not to wait. Where the record does not fit before the end of the data, a
    /// pad goes first (committed alone when waiting for room past it).
    fn append(&self, kind: Kind, parts: &[&[u8]], wait: Wait) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let size = ring::size_of_record(len as u64);
        loop {
            let (w, room) = self.ring.room(size);
            match room {
                Ok(pad) => {
                    let at = if pad > 0 { self.ring.write_pad(w, pad) } else { w };
                    let end = self.ring.write_record(at, kind, parts);
                    if matches!(kind, Kind::Whole | Kind::First) {
                        crate::faultpoint::hit(crate::faultpoint::Point::QueuePutHalf);
                    }
                    self.ring.commit_write(end);
                    return true;
                }
                Err(_) if matches!(wait, Wait::Never) => return false,
                Err(pad) => {
                    if pad > 0 && self.ring.free() >= pad {
                        // Wrap now: room for the record will come at the start of the data.
                        let end = self.ring.write_pad(w, pad);
                        self.ring.commit_write(end);
                        continue;
                    }
                    self.ring.wait_for_room((pad + size).min(self.ring.capacity()));
                }
            }
        }
    }

    /// Streams a message larger than the ring, holding the write lock throughout.
    fn stream(&self, body: &[u8]) {
        let header = self.ring.header();
        header.stream_pid.store(os::current_pid(), Ordering::SeqCst);
        let piece = (self.ring.capacity() / 4 - ring::HEAD) as usize / 8 * 8;
        let total = (body.len() as u64).to_le_bytes();
        let first = piece - total.len();
        self.append(Kind::First, &[&total, &body[..first]], Wait::Forever);
        let mut rest = body[first..].chunks(piece).peekable();
        while let Some(part) = rest.next() {
            let kind = if rest.peek().is_some() { Kind::More } else { Kind::Last };
            self.append(kind, &[part], Wait::Forever);
        }
        header.stream_pid.store(0, Ordering::SeqCst);
    }

    /// Called holding the write lock: if a streamed message was left unfinished (its writer
    /// died, since a live one holds this lock until the end), appends the `Abort` that tells
    /// readers to drop its pieces. `false` if that needs room there is not and `wait` says not
    /// to wait for it.
    fn repair_stream(&self, wait: Wait) -> bool {
        let header = self.ring.header();
        if header.stream_pid.load(Ordering::SeqCst) == 0 {
            return true;
        }
        if !self.append(Kind::Abort, &[], wait) {
            return false;
        }
        header.stream_pid.store(0, Ordering::SeqCst);
        true
    }

    /// A reader in the middle of a streamed message that has waited `LIVENESS` for its next
    /// piece: if the writer streaming it is gone, finishes the message with an `Abort` (see
    /// [`repair_stream`](Self::repair_stream)). The reader holds the read lock and has taken
    /// everything committed, so there is room for the abort unless a dead writer committed more
    /// meanwhile (the reader then takes that and comes back).
    pub(crate) fn abort_dead_stream(&self) -> Result<(), ChannelError> {
        let pid = self.ring.header().stream_pid.load(Ordering::SeqCst);
        if pid == 0 {
            return Ok(()); // the end of the message is committed: the reader will find it
        }
        // A live streamer holds the write lock for the whole message: getting it at once means
        // the streamer is gone (the robust mutex tells a dead holder on Linux and Windows). A
        // dead process found by its pid is waited for a little longer: the macOS lock notices a
        // dead holder only after a while.
        let deadline = if os::process_gone(pid) { LIVENESS * 4 } else { Duration::ZERO };
        let Some(_turn) = self.write_lock.lock(crate::deadline::after(deadline))? else {
            return Ok(());
        };
        self.repair_stream(Wait::Never);
        Ok(())
    }
}

/// How long a reader waits for the next piece of a streamed message before it checks that the
/// writer is still there.
pub(crate) const LIVENESS: Duration = Duration::from_millis(50);

/// A deadline that has always passed: a lock attempt with it is a try, and reads no clock when
/// the lock is free.
fn long_ago() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}
