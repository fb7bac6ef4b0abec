//! Counts every process of a queue shares, in shared memory: items put and not yet taken
//! (`qsize`, and what bounds a queue with a `maxsize`), and tasks put and not yet done (a
//! [`JoinableQueue`](super::JoinableQueue)'s `join`). Waiting is on the words themselves
//! (`os::Parker`: a futex on Linux), and a waker makes a system call only when someone waits.
//!
//! A process killed between counting an item and committing it to the ring (or between taking
//! one and counting it), or killed with items in its feeder's backlog, leaves the count that
//! many too high, as CPython's semaphore does: `qsize` is a snapshot anyway, and a bounded
//! queue then holds that many items fewer.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::os::{self, Parker};
use crate::shared::region::{SharedCell, Zeroed};

#[repr(C)]
#[derive(Debug)]
pub(crate) struct Words {
    /// Items put (counted before the write) and not yet taken.
    items: AtomicU64,
    /// Bumped when an item is taken: what a bounded `put` parks on.
    taken_seq: AtomicU32,
    put_waiters: AtomicU32,
    /// Tasks put and not yet marked done.
    unfinished: AtomicU64,
    /// Bumped when `unfinished` reaches zero: what `join` parks on.
    done_seq: AtomicU32,
    join_waiters: AtomicU32,
}

// SAFETY: atomics only, all-zero is the empty state, no pointers or Drop.
unsafe impl Zeroed for Words {}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Counters {
    words: SharedCell<Words>,
    parker: Parker,
}

/// The outcome of waiting for room in a bounded queue.
pub(crate) enum Room {
    Taken,
    Full,
}

impl Counters {
    pub(crate) fn new() -> io::Result<Counters> {
        Ok(Counters { words: SharedCell::new()?, parker: Parker::new()? })
    }

    pub(crate) fn items(&self) -> u64 {
        self.words.items.load(Ordering::SeqCst)
    }

    /// Counts one more item, waiting until the deadline while `maxsize` are in (0: no bound).
    pub(crate) fn reserve(&self, maxsize: usize, deadline: Option<Instant>) -> Room {
        let w = &*self.words;
        if maxsize == 0 {
            w.items.fetch_add(1, Ordering::SeqCst);
            return Room::Taken;
        }
        let mut round = 0;
        loop {
            let seq = w.taken_seq.load(Ordering::SeqCst);
            let n = w.items.load(Ordering::SeqCst);
            if n < maxsize as u64 {
                if w.items.compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    return Room::Taken;
                }
                continue;
            }
            let left = os::remaining(deadline);
            if left.is_some_and(|l| l.is_zero()) {
                return Room::Full;
            }
            w.put_waiters.fetch_add(1, Ordering::SeqCst);
            if w.items.load(Ordering::SeqCst) >= maxsize as u64 {
                self.parker.park(&w.taken_seq, seq, left, round);
            }
            w.put_waiters.fetch_sub(1, Ordering::SeqCst);
            round = round.saturating_add(1);
        }
    }

    /// Gives back a count taken by [`reserve`](Self::reserve) whose item was never sent.
    pub(crate) fn unreserve(&self) {
        self.taken();
    }

    /// One item was taken out of the pipe.
    pub(crate) fn taken(&self) {
        let w = &*self.words;
        let _ = w.items.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        // A waiter counts itself before its last look at `items`: either it sees the new count
        // or we see it here (both SeqCst), so the sequence moves only when someone sleeps.
        let sleepers = w.put_waiters.load(Ordering::SeqCst);
        if sleepers > 0 {
            w.taken_seq.fetch_add(1, Ordering::SeqCst);
            self.parker.unpark(&w.taken_seq, sleepers);
        }
    }

    pub(crate) fn task_added(&self) {
        self.words.unfinished.fetch_add(1, Ordering::SeqCst);
    }

    /// One task done; `false` if none was unfinished (called too many times).
    pub(crate) fn task_done(&self) -> bool {
        let w = &*self.words;
        match w.unfinished.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
            Err(_) => false,
            Ok(1) => {
                w.done_seq.fetch_add(1, Ordering::SeqCst);
                // As many as sleep: on Windows each wake is a unit of a kernel semaphore, and
                // spare units would make later parks return at once.
                let sleepers = w.join_waiters.load(Ordering::SeqCst);
                if sleepers > 0 {
                    self.parker.unpark(&w.done_seq, sleepers);
                }
                true
            }
            Ok(_) => true,
        }
    }

    /// Waits until every task put is done, or the deadline (`false` then).
    pub(crate) fn join(&self, deadline: Option<Instant>) -> bool {
        let w = &*self.words;
        let mut round = 0;
        loop {
            let seq = w.done_seq.load(Ordering::SeqCst);
            if w.unfinished.load(Ordering::SeqCst) == 0 {
                return true;
            }
            let left = os::remaining(deadline);
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            w.join_waiters.fetch_add(1, Ordering::SeqCst);
            if w.unfinished.load(Ordering::SeqCst) != 0 {
                self.parker.park(&w.done_seq, seq, left, round);
            }
            w.join_waiters.fetch_sub(1, Ordering::SeqCst);
            round = round.saturating_add(1);
        }
    }
}
