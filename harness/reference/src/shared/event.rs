//! [`Event`]: `multiprocessing.Event`, a flag threads and processes wait for.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{SharedCell, Zeroed};
use super::wait::Wait;
use crate::deadline;
use crate::os::Parker;

#[derive(Debug)]
#[repr(C)]
struct EventCell {
    /// Bit 0: the flag. Above it: how many times it was set, so that a waiter knows it was set
    /// since it began waiting even if it was cleared again before the waiter looked.
    word: AtomicU32,
    sleepers: AtomicU32,
}

// SAFETY: atomics only; all zero is a clear flag nobody waits on.
unsafe impl Zeroed for EventCell {}

const FLAG: u32 = 1;

/// A flag shared by threads and processes, initially false, that they can wait to become true.
///
/// As `threading.Event`, a wait woken by [`set`](Self::set) returns `true` even if the flag
/// was cleared again at once. (CPython's `multiprocessing.Event.wait` returns the flag as it
/// is when the waiter wakes, so it misses a `set` followed at once by a `clear`.)
/// Setting, clearing and testing it are single atomic operations; `set` makes a system call
/// only when someone waits.
#[derive(Debug, Clone)]
pub struct Event {
    inner: Arc<Inner>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Inner {
    cell: SharedCell<EventCell>,
    parker: Parker,
}

impl Event {
    pub fn new() -> io::Result<Event> {
        Ok(Event { inner: Arc::new(Inner { cell: SharedCell::new()?, parker: Parker::new()? }) })
    }

    pub fn is_set(&self) -> bool {
        self.inner.cell.word.load(Ordering::SeqCst) & FLAG != 0
    }

    /// Sets the flag and wakes every waiting thread and process.
    pub fn set(&self) {
        let cell = &self.inner.cell;
        // Count one more setting (wrapping), flag on.
        let _ = cell.word.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| Some((w | FLAG).wrapping_add(2)));
        let sleepers = cell.sleepers.load(Ordering::SeqCst);
        if sleepers > 0 {
            self.inner.parker.unpark(&cell.word, sleepers);
        }
    }

    pub fn clear(&self) {
        self.inner.cell.word.fetch_and(!FLAG, Ordering::SeqCst);
    }

    /// Waits until the flag is set.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`: `true` if the flag was set (or is), `false` on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline::after(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let cell = &self.inner.cell;
        let start = cell.word.load(Ordering::SeqCst);
        if start & FLAG != 0 {
            return true;
        }
        let was_set = |w: u32| w & FLAG != 0 || w >> 1 != start >> 1;
        cell.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut wait = Wait::new(deadline);
        let set = loop {
            let w = cell.word.load(Ordering::SeqCst);
            if was_set(w) {
                break true;
            }
            if !wait.park(&self.inner.parker, &cell.word, w, None) {
                break was_set(cell.word.load(Ordering::SeqCst));
            }
        };
        cell.sleepers.fetch_sub(1, Ordering::SeqCst);
        set
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Event { inner: Arc::new(Inner::deserialize(d)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clear_and_timeouts() {
        let e = Event::new().expect("event");
        assert!(!e.is_set());
        let t = Instant::now();
        assert!(!e.wait_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        e.set();
        e.set();
        assert!(e.is_set());
        assert!(e.wait_timeout(Duration::ZERO));
        e.clear();
        assert!(!e.is_set());
    }

    /// Two threads hand a turn back and forth through two events: a lost wake-up stalls the
    /// exchange and a bounded wait fails.
    #[test]
    fn ping_pong_loses_no_wake_up() {
        let (ping, pong) = (Event::new().expect("event"), Event::new().expect("event"));
        let (p2, q2) = (ping.clone(), pong.clone());
        let other = std::thread::spawn(move || {
            for _ in 0..2_000 {
                assert!(p2.wait_timeout(Duration::from_secs(60)), "ping lost");
                p2.clear();
                q2.set();
            }
        });
        for _ in 0..2_000 {
            ping.set();
            assert!(pong.wait_timeout(Duration::from_secs(60)), "pong lost");
            pong.clear();
        }
        other.join().expect("other");
    }

    #[test]
    fn every_waiter_wakes_even_if_cleared_at_once() {
        let e = Event::new().expect("event");
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let e = e.clone();
                std::thread::spawn(move || e.wait_timeout(Duration::from_secs(30)))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30));
        e.set();
        e.clear();
        for w in waiters {
            assert!(w.join().expect("waiter"));
        }
    }
}
