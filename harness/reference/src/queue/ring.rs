//! The memory a queue's messages travel through: a ring of bytes in a shared region, with
//! committed positions.
//!
//! The region starts with a header page (positions, wait words), then `cap` bytes of data.
//! Positions count bytes since the queue was made (they never wrap; the offset in the data is
//! the position modulo `cap`). Everything in `[read_pos, write_pos)` is committed and unread;
//! everything else is free. A writer (holding the queue's write lock) copies a record into free
//! space and only then moves `write_pos` past it; a reader (holding the read lock) copies or
//! decodes a record and only then moves `read_pos` past it. A process killed in the middle of
//! either has moved nothing: its half-written record is never seen, its half-read one is read
//! again by the next reader.
//!
//! A record is an 8-byte head (payload length, kind) and its payload, padded to 8 bytes, and
//! always contiguous in the data: where one does not fit before the end, a pad record fills the
//! rest and the record starts again at offset 0. When the ring is empty and the write offset is
//! far from the start, the next record wraps early, so that a queue carrying small messages
//! keeps touching the same few pages (those of a memfd are allocated only when first touched).
//!
//! Waiting is on words of the header through [`Parker`] (a futex on Linux): readers wait for
//! `write_pos` to move, writers for `read_pos` to move, and each side counts its sleepers so
//! that a commit makes a system call only when someone sleeps.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::bell::Bell;
use crate::os::Parker;
use crate::shared::SharedRegion;
use crate::shared::region::Zeroed;

/// The data bytes of a new queue's ring: a 1 MiB message fits whole.
pub(crate) const DEFAULT_CAPACITY: usize = 2 << 20;

/// The header's share of the region: one page, so that the data starts page-aligned.
const HEADER_BYTES: usize = 4096;

/// Bytes of a record's head: payload length (u32) and kind (u32).
pub(crate) const HEAD: u64 = 8;

/// An empty ring whose write offset is at least this far into the data wraps to the start.
const EARLY_WRAP: u64 = 64 << 10;

/// How often a writer waiting for a little room looks again without being woken.
const ROOM_RECHECK: Duration = Duration::from_millis(5);

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole message.
    Whole = 1,
    /// The start of a message streamed in pieces: its total length (u64), then its first bytes.
    First = 2,
    /// A middle piece of a streamed message.
    More = 3,
    /// The last piece of a streamed message.
    Last = 4,
    /// Nothing: skip to the start of the data.
    Pad = 5,
    /// The streamed message in flight was abandoned (its writer died): drop what was read of it.
    Abort = 6,
}

impl Kind {
    fn from_u32(k: u32) -> Option<Kind> {
        Some(match k {
            1 => Kind::Whole,
            2 => Kind::First,
            3 => Kind::More,
            4 => Kind::Last,
            5 => Kind::Pad,
            6 => Kind::Abort,
            _ => return None,
        })
    }
}

/// The start of the region. Writers' and readers' words sit on separate cache lines.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    /// End of the committed records (changed under the write lock).
    pub(crate) write_pos: AtomicU64,
    /// The pid of the process streaming a message in pieces, 0 if none (under the write lock).
    /// Left set by a writer that died mid-message: the next holder of the lock repairs that.
    pub(crate) stream_pid: AtomicU32,
    _w: [u32; 13],
    /// End of the records taken (changed under the read lock).
    pub(crate) read_pos: AtomicU64,
    _r: [u64; 7],
    /// Readers asleep until `write_pos` moves.
    data: Bell,
    _d: [u64; 7],
    /// The writer asleep until `space_wanted` bytes are free.
    space: Bell,
    /// The free bytes the sleeping writer wants before it is woken (see `wait_for_room`).
    space_wanted: AtomicU64,
    _s: [u64; 6],
    /// The data size, written once by the creator and checked by every process that attaches.
    capacity: AtomicU64,
}

// SAFETY: atomics and padding that is never read; all-zero is "empty, nobody waiting"; no
// pointers, no Drop; far smaller and less aligned than a page.
unsafe impl Zeroed for Header {}

const _: () = assert!(std::mem::size_of::<Header>() <= HEADER_BYTES);

/// A record read from the ring: where it starts, its kind and payload length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) pos: u64,
    pub(crate) kind: Kind,
    pub(crate) len: u64,
}

impl Record {
    /// The position just past the record.
    pub(crate) fn end(&self) -> u64 {
        self.pos + size_of_record(self.len)
    }
}

/// Bytes a record with `len` bytes of payload takes in the ring.
pub(crate) fn size_of_record(len: u64) -> u64 {
    HEAD + len.div_ceil(8) * 8
}

/// The ring of one queue: its shared region and the parkers its waiters sleep on.
#[derive(Debug)]
pub(crate) struct Ring {
    region: SharedRegion,
    cap: u64,
    data_parker: Parker,
    space_parker: Parker,
}

impl Ring {
    /// A new empty ring of `cap` data bytes (rounded up to a multiple of 8, at least 4 KiB).
    pub(crate) fn new(cap: usize) -> io::Result<Ring> {
        let cap = cap.max(4096).div_ceil(8) * 8;
        let region = SharedRegion::new(HEADER_BYTES + cap)?;
        let ring = Ring { region, cap: cap as u64, data_parker: Parker::new()?, space_parker: Parker::new()? };
        ring.header().capacity.store(cap as u64, Ordering::SeqCst);
        Ok(ring)
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.cap
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the region is at least HEADER_BYTES long (checked when made or attached),
        // page-aligned, mapped while `self.region` lives, and starts as zeroes, a valid Header
        // (see `Zeroed`), which is only accessed through shared references to atomics.
        unsafe { &*self.region.as_ptr().cast::<Header>() }
    }

    /// The data byte at `pos`'s offset.
    fn at(&self, pos: u64) -> *mut u8 {
        // SAFETY: the offset is below `cap`, and the region is HEADER_BYTES + cap bytes long.
        unsafe { self.region.as_ptr().add(HEADER_BYTES + (pos % self.cap) as usize) }
    }

    // ---- writer side: the caller holds the write lock ----

    /// Where a record of `size` bytes goes if appended now, as the pad to write before it:
    /// `Ok(pad)` if it fits in the free space now (pad 0: at the write position), or
    /// `Err(pad)` if it does not.
    pub(crate) fn room(&self, size: u64) -> (u64, Result<u64, u64>) {
        let h = self.header();
        let w = h.write_pos.load(Ordering::SeqCst);
        let r = h.read_pos.load(Ordering::SeqCst);
        let free = self.cap.saturating_sub(w.wrapping_sub(r));
        let off = w % self.cap;
        let wrap_early = r == w && off >= EARLY_WRAP && size <= off;
        let pad = if off != 0 && (off + size > self.cap || wrap_early) { self.cap - off } else { 0 };
        (w, if pad + size <= free { Ok(pad) } else { Err(pad) })
    }

    /// Free bytes now.
    pub(crate) fn free(&self) -> u64 {
        let h = self.header();
        let w = h.write_pos.load(Ordering::SeqCst);
        self.cap.saturating_sub(w.wrapping_sub(h.read_pos.load(Ordering::SeqCst)))
    }

    /// The longest run of free bytes a new record could take now: `(write position, pad to
    /// write before it, bytes for the record)`. The run starts at the write position, or after
    /// a pad at the start of the data when that is longer (or when the ring is empty and far
    /// into its data, as [`room`](Self::room) wraps early).
    pub(crate) fn free_run(&self) -> (u64, u64, u64) {
        let h = self.header();
        let w = h.write_pos.load(Ordering::SeqCst);
        let r = h.read_pos.load(Ordering::SeqCst);
        let free = self.cap.saturating_sub(w.wrapping_sub(r));
        let off = w % self.cap;
        let to_end = self.cap - off;
        if r == w && off >= EARLY_WRAP {
            // After the pad, the start of the data up to the read position is free.
            return (w, to_end, off);
        }
        let here = free.min(to_end);
        let after_pad = free.saturating_sub(to_end);
        if off != 0 && after_pad > here { (w, to_end, after_pad) } else { (w, 0, here) }
    }

    /// A writer into the free bytes `[pos, pos + room)`, for encoding a record's payload in
    /// place (at `pos`, the record's position plus [`HEAD`]).
    ///
    /// The caller holds the write lock and took `pos` and `room` from
    /// [`free_run`](Self::free_run): the bytes are free, contiguous, and inside the data.
    pub(crate) fn span(&self, pos: u64, room: u64) -> Span<'_> {
        debug_assert!(pos % self.cap + room <= self.cap);
        Span { start: self.at(pos), room: room as usize, len: 0, overflow: false, _ring: std::marker::PhantomData }
    }

    /// Writes a record's head at `pos` (uncommitted), for a payload already in place.
    pub(crate) fn write_head(&self, pos: u64, kind: Kind, len: u64) -> u64 {
        debug_assert!(pos % self.cap + size_of_record(len) <= self.cap);
        let head = self.at(pos);
        // SAFETY: as in `write_record`: the head lies in free space inside the data, aligned.
        unsafe {
            head.cast::<u32>().write_volatile((len as u32).to_le());
            head.cast::<u32>().add(1).write_volatile((kind as u32).to_le());
        }
        pos + size_of_record(len)
    }

    /// Writes a record at `pos` (uncommitted): `kind` and the concatenation of `parts` as its
    /// payload. Returns the position after it.
    ///
    /// The caller holds the write lock and has checked with [`room`](Self::room) that the
    /// record fits contiguously in free space at `pos`.
    pub(crate) fn write_record(&self, pos: u64, kind: Kind, parts: &[&[u8]]) -> u64 {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        debug_assert!(pos % self.cap + size_of_record(len as u64) <= self.cap);
        let head = self.at(pos);
        // SAFETY: the record's bytes [pos, pos + size) lie inside the data (contiguous, as the
        // caller checked) and in free space, which no reader looks at and no other writer
        // touches while we hold the write lock. Positions are multiples of 8, so the head is
        // aligned for u32.
        unsafe {
            head.cast::<u32>().write_volatile((len as u32).to_le());
            head.cast::<u32>().add(1).write_volatile((kind as u32).to_le());
            let mut dst = head.add(HEAD as usize);
            for part in parts {
                std::ptr::copy_nonoverlapping(part.as_ptr(), dst, part.len());
                dst = dst.add(part.len());
            }
        }
        pos + size_of_record(len as u64)
    }

    /// Writes a pad record of `pad` bytes at `pos` (the rest of the data). Returns `pos + pad`.
    pub(crate) fn write_pad(&self, pos: u64, pad: u64) -> u64 {
        debug_assert!(pad >= HEAD && pos % self.cap + pad == self.cap);
        let head = self.at(pos);
        // SAFETY: as in `write_record`: the head lies in free space inside the data.
        unsafe {
            head.cast::<u32>().write_volatile(((pad - HEAD) as u32).to_le());
            head.cast::<u32>().add(1).write_volatile((Kind::Pad as u32).to_le());
        }
        pos + pad
    }

    /// Makes everything written up to `end` visible to readers, waking any that sleep.
    pub(crate) fn commit_write(&self, end: u64) {
        let h = self.header();
        h.write_pos.store(end, Ordering::SeqCst);
        h.data.ring(&self.data_parker);
    }

    /// Sleeps while fewer than `need` bytes are free. Readers wake the writer only once a
    /// quarter of the ring is free (or `need`, if more), so that a writer that keeps the ring
    /// full is woken once per many messages rather than once per message; a writer that needs
    /// less looks again every [`ROOM_RECHECK`], in case the readers stop short of that.
    /// Returns at once if `need` bytes are free, and may return early: the caller looks again.
    pub(crate) fn wait_for_room(&self, need: u64) {
        let h = self.header();
        let wanted = need.max(self.cap / 4).min(self.cap);
        // Only the holder of the write lock waits for room: one waiter at a time.
        h.space_wanted.store(wanted, Ordering::SeqCst);
        let timeout = (wanted > need).then_some(ROOM_RECHECK);
        h.space.wait(&self.space_parker, || self.free() < need, timeout, u32::MAX);
    }

    // ---- reader side: the caller holds the read lock (except for the waits) ----

    /// The record at the read position, if one is committed. `Err` describes a ring that does
    /// not hold records of this format there (written by something else, or a bug).
    pub(crate) fn next_record(&self) -> Result<Option<Record>, String> {
        let h = self.header();
        let r = h.read_pos.load(Ordering::SeqCst);
        let w = h.write_pos.load(Ordering::SeqCst);
        if r == w {
            return Ok(None);
        }
        let unread = w.wrapping_sub(r);
        let off = r % self.cap;
        if unread > self.cap || !off.is_multiple_of(8) || unread < HEAD {
            return Err(format!("positions out of step: read {r}, write {w}, capacity {}", self.cap));
        }
        let head = self.at(r);
        // SAFETY: [r, r + HEAD) is committed (r + 8 <= w), inside the data (offsets are
        // multiples of 8 below cap, itself a multiple of 8) and aligned for u32; a committed
        // record is not written again until a reader moves past it.
        let (len, kind) = unsafe {
            (u32::from_le(head.cast::<u32>().read_volatile()), u32::from_le(head.cast::<u32>().add(1).read_volatile()))
        };
        let kind = Kind::from_u32(kind).ok_or_else(|| format!("unknown record kind {kind} at {r}"))?;
        let rec = Record { pos: r, kind, len: u64::from(len) };
        let size = size_of_record(rec.len);
        if size > unread || off + size > self.cap {
            return Err(format!("record of {len} bytes at {r} runs past the committed data or the ring"));
        }
        Ok(Some(rec))
    }

    /// The payload of `rec`, as returned by [`next_record`](Self::next_record).
    ///
    /// # Safety
    /// The caller holds the read lock and does not move `read_pos` past `rec` while the slice
    /// lives: until then no writer writes those bytes.
    pub(crate) unsafe fn payload(&self, rec: &Record) -> &[u8] {
        // SAFETY: `next_record` checked that the payload is committed and contiguous inside the
        // data; the caller keeps it from being reused while borrowed.
        unsafe { std::slice::from_raw_parts(self.at(rec.pos + HEAD), rec.len as usize) }
    }

    /// Hands everything before `end` back to writers, waking any that wait for room.
    pub(crate) fn commit_read(&self, end: u64) {
        let h = self.header();
        h.read_pos.store(end, Ordering::SeqCst);
        h.space.ring_if(&self.space_parker, || self.free() >= h.space_wanted.load(Ordering::SeqCst));
    }

    /// Whether nothing is committed and unread.
    pub(crate) fn is_empty(&self) -> bool {
        let h = self.header();
        h.read_pos.load(Ordering::SeqCst) == h.write_pos.load(Ordering::SeqCst)
    }

    /// Sleeps until `write_pos` moves from `seen`, at most `timeout` (`None`: no limit), or
    /// spuriously; `round` counts the caller's sleeps in this wait (the poller's backoff where
    /// there is no futex).
    pub(crate) fn wait_for_data(&self, seen: u64, timeout: Option<Duration>, round: u32) {
        let h = self.header();
        h.data.wait(&self.data_parker, || h.write_pos.load(Ordering::SeqCst) == seen, timeout, round);
    }
}

/// Free bytes of the ring being filled in place (see [`Ring::span`]); a write past the room
/// fails and marks the span as overflowed.
#[derive(Debug)]
pub(crate) struct Span<'a> {
    start: *mut u8,
    room: usize,
    len: usize,
    overflow: bool,
    _ring: std::marker::PhantomData<&'a Ring>,
}

impl Span<'_> {
    pub(crate) fn len(&self) -> u64 {
        self.len as u64
    }

    /// A write did not fit.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }
}

impl io::Write for Span<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.room - self.len {
            self.overflow = true;
            return Err(io::Error::new(io::ErrorKind::WriteZero, "no more room in the ring"));
        }
        // SAFETY: [start, start + room) is free space of the ring inside its data, which only
        // the holder of the write lock (our caller, see `Ring::span`) writes; the bound was
        // checked above.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.start.add(self.len), buf.len()) };
        self.len += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    region: &'a SharedRegion,
    data: &'a Parker,
    space: &'a Parker,
}

#[derive(Deserialize)]
struct WireIn {
    region: SharedRegion,
    data: Parker,
    space: Parker,
}

impl Serialize for Ring {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut { region: &self.region, data: &self.data_parker, space: &self.space_parker }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ring {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        let len = w.region.len();
        if len <= HEADER_BYTES || !(len - HEADER_BYTES).is_multiple_of(8) {
            return Err(D::Error::custom(format!("a queue's shared region of {len} bytes has no room for its ring")));
        }
        let ring =
            Ring { cap: (len - HEADER_BYTES) as u64, region: w.region, data_parker: w.data, space_parker: w.space };
        let recorded = ring.header().capacity.load(Ordering::SeqCst);
        if recorded != ring.cap {
            return Err(D::Error::custom(format!(
                "a queue's ring records {recorded} bytes of data but its region holds {}",
                ring.cap
            )));
        }
        Ok(ring)
    }
}
