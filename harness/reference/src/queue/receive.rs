//! Taking messages out of a queue's ring.
//!
//! A reader waits for a committed record without holding any lock, then takes the read lock
//! (waiting for it only until its deadline) and takes records until it has a whole message.
//! A whole record is decoded where it lies and only then released to writers, so a reader
//! killed before that leaves it to the next reader. Pieces of a streamed message are copied
//! out and released one by one; the reader keeps the read lock until the last piece, waiting
//! for pieces past its deadline while their writer is alive (the one wait that can outlast a
//! deadline: see the queue's documentation). Pieces with no start (their reader died holding
//! the start) and aborted messages are skipped.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::channel::Channel;
use super::ring::{Kind, Record};
use super::send::LIVENESS;
use crate::error::ChannelError;
use crate::os;

/// A streamed message being put together.
struct Partial {
    buf: Vec<u8>,
    total: u64,
    got: u64,
    /// Over the limit: its pieces are read and dropped, and the message refused whole.
    discard: bool,
}

impl Channel {
    /// Takes the oldest message and returns what `decode` makes of its bytes, or `None` if no
    /// message arrived before the deadline (`None`: wait for ever).
    pub(crate) fn recv<T>(
        &self,
        deadline: Option<Instant>,
        decode: impl Fn(&[u8]) -> Result<T, ChannelError>,
    ) -> Result<Option<T>, ChannelError> {
        loop {
            if !self.wait_for_any(deadline) {
                return Ok(None);
            }
            let Some(turn) = self.read_lock.lock(deadline)? else {
                return Ok(None);
            };
            // Another reader may have taken what we were woken for: then wait again.
            if let Some(value) = self.take_locked(&decode)? {
                return Ok(Some(value));
            }
            drop(turn);
        }
    }

    /// Waits, holding no lock, until something is committed and unread: `false` if the
    /// deadline passed first.
    fn wait_for_any(&self, deadline: Option<Instant>) -> bool {
        let h = self.ring.header();
        let ready = || h.write_pos.load(Ordering::SeqCst) != h.read_pos.load(Ordering::SeqCst);
        if ready() || self.spin.poll(ready) {
            return true;
        }
        let mut round = 0u32;
        loop {
            let w = h.write_pos.load(Ordering::SeqCst);
            if w != h.read_pos.load(Ordering::SeqCst) {
                return true;
            }
            let left = os::remaining(deadline);
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            self.ring.wait_for_data(w, left, round);
            round = round.saturating_add(1);
        }
    }

    /// Holding the read lock: takes records until a whole message is decoded, or returns
    /// `None` when the committed records run out between messages.
    fn take_locked<T>(&self, decode: &impl Fn(&[u8]) -> Result<T, ChannelError>) -> Result<Option<T>, ChannelError> {
        let mut partial: Option<Partial> = None;
        // When the last piece of a streamed message arrived (read only while streaming).
        let mut last_piece = None;
        let mut round = 0u32;
        loop {
            let Some(rec) = self.ring.next_record().map_err(ChannelError::Corrupt)? else {
                if partial.is_none() {
                    return Ok(None);
                }
                // In the middle of a streamed message: wait for its next piece.
                let seen = self.ring.header().write_pos.load(Ordering::SeqCst);
                let since = *last_piece.get_or_insert_with(Instant::now);
                if since.elapsed() >= LIVENESS {
                    self.abort_dead_stream()?;
                    last_piece = Some(Instant::now());
                } else {
                    self.ring.wait_for_data(seen, Some(LIVENESS), round);
                    round = round.saturating_add(1);
                }
                continue;
            };
            match rec.kind {
                Kind::Pad => self.ring.commit_read(rec.end()),
                Kind::Abort => {
                    partial = None;
                    self.ring.commit_read(rec.end());
                }
                // A message left unfinished before a whole one was abandoned without an abort.
                Kind::Whole => return self.deliver_in_place(&rec, decode).map(Some),
                Kind::First => {
                    partial = Some(self.start_partial(&rec)?);
                    last_piece = None;
                    // Mid-message: the first piece is taken, the rest is still in the ring.
                    crate::faultpoint::hit(crate::faultpoint::Point::QueueGetHalf);
                }
                Kind::More | Kind::Last => {
                    let Some(p) = partial.as_mut() else {
                        // Its start was taken by a reader that died: skip the rest.
                        self.ring.commit_read(rec.end());
                        continue;
                    };
                    self.add_piece(p, &rec)?;
                    last_piece = None;
                    if rec.kind == Kind::Last {
                        return self.finish_partial(partial.take(), decode).map(Some);
                    }
                }
            }
        }
    }

    /// Decodes a whole record in the ring, then releases it (also if `decode` fails or panics:
    /// the message is taken either way).
    fn deliver_in_place<T>(
        &self,
        rec: &Record,
        decode: &impl Fn(&[u8]) -> Result<T, ChannelError>,
    ) -> Result<T, ChannelError> {
        struct Taken<'a>(&'a Channel, u64);
        impl Drop for Taken<'_> {
            fn drop(&mut self) {
                self.0.ring.commit_read(self.1);
                self.0.counters.taken();
            }
        }
        let _taken = Taken(self, rec.end());
        if rec.len > self.limit as u64 {
            return Err(ChannelError::TooLarge { size: rec.len as usize, limit: self.limit });
        }
        // SAFETY: we hold the read lock, and `_taken` releases the record only after `decode`
        // is done with the slice.
        let value = decode(unsafe { self.ring.payload(rec) });
        crate::faultpoint::hit(crate::faultpoint::Point::QueueGetHalf);
        value
    }

    fn start_partial(&self, rec: &Record) -> Result<Partial, ChannelError> {
        // SAFETY: we hold the read lock; the slice is dropped before the commit below.
        let payload = unsafe { self.ring.payload(rec) };
        let Some((total, first)) = payload.split_first_chunk::<8>() else {
            return Err(ChannelError::Corrupt(format!("a message's first piece of {} bytes has no length", rec.len)));
        };
        let total = u64::from_le_bytes(*total);
        let discard = total > self.limit as u64;
        let mut buf = Vec::new();
        if !discard {
            buf.reserve_exact(total as usize);
            buf.extend_from_slice(first);
        }
        let p = Partial { buf, total, got: first.len() as u64, discard };
        self.ring.commit_read(rec.end());
        Ok(p)
    }

    fn add_piece(&self, p: &mut Partial, rec: &Record) -> Result<(), ChannelError> {
        p.got += rec.len;
        if p.got > p.total {
            self.ring.commit_read(rec.end());
            return Err(ChannelError::Corrupt(format!("a streamed message runs past its {} bytes", p.total)));
        }
        if !p.discard {
            // SAFETY: we hold the read lock; the slice is dropped before the commit below.
            p.buf.extend_from_slice(unsafe { self.ring.payload(rec) });
        }
        self.ring.commit_read(rec.end());
        Ok(())
    }

    fn finish_partial<T>(
        &self,
        p: Option<Partial>,
        decode: &impl Fn(&[u8]) -> Result<T, ChannelError>,
    ) -> Result<T, ChannelError> {
        self.counters.taken();
        let Some(p) = p else {
            return Err(ChannelError::Corrupt("a message's last piece came without its start".into()));
        };
        if p.got != p.total {
            return Err(ChannelError::Truncated { expected: p.total as usize, got: p.got as usize });
        }
        if p.discard {
            return Err(ChannelError::TooLarge { size: p.total as usize, limit: self.limit });
        }
        decode(&p.buf)
    }
}
