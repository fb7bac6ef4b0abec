//! [`Semaphore`] and [`BoundedSemaphore`]: `multiprocessing`'s counters of permits.
//!
//! The count is a word in shared memory: taking a permit while one is available is one
//! compare-and-swap, and giving one back one atomic add (plus a wake-up only when a thread
//! waits). A semaphore has no owner, so a process that dies holding permits does not give
//! them back (as with CPython's, which are POSIX or Windows semaphores).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{SharedCell, Zeroed};
use super::wait::Wait;
use crate::deadline;
use crate::error::LockError;
use crate::os::Parker;

#[derive(Debug)]
#[repr(C)]
struct SemCell {
    value: AtomicU32,
    /// Threads parked waiting for a permit.
    sleepers: AtomicU32,
}

// SAFETY: atomics only; all zero is an empty semaphore nobody waits on.
unsafe impl Zeroed for SemCell {}

/// The state both semaphores share, with an optional bound on releases.
#[derive(Debug, Serialize, Deserialize)]
struct Counter {
    cell: SharedCell<SemCell>,
    parker: Parker,
    bound: Option<u32>,
}

impl Counter {
    fn new(value: u32, bound: Option<u32>) -> io::Result<Counter> {
        let counter = Counter { cell: SharedCell::new()?, parker: Parker::new()?, bound };
        counter.cell.value.store(value, Ordering::SeqCst);
        Ok(counter)
    }

    fn try_take(&self) -> bool {
        let value = &self.cell.value;
        let mut v = value.load(Ordering::SeqCst);
        while v > 0 {
            match value.compare_exchange_weak(v, v - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        if self.try_take() {
            return true;
        }
        // Counted before the last look: a release sees us or left a permit that look finds.
        self.cell.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut wait = Wait::new(deadline);
        let got = loop {
            if self.try_take() {
                break true;
            }
            if !wait.park(&self.parker, &self.cell.value, 0, None) {
                break false;
            }
        };
        self.cell.sleepers.fetch_sub(1, Ordering::SeqCst);
        got
    }

    fn release(&self, n: u32) -> Result<(), LockError> {
        if n == 0 {
            return Err(LockError::ZeroRelease);
        }
        let limit = self.bound.unwrap_or(u32::MAX);
        let value = &self.cell.value;
        let mut v = value.load(Ordering::SeqCst);
        loop {
            let next = match v.checked_add(n) {
                Some(next) if next <= limit => next,
                _ => return Err(LockError::TooManyReleases { bound: limit as usize }),
            };
            match value.compare_exchange_weak(v, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
        let sleepers = self.cell.sleepers.load(Ordering::SeqCst);
        if sleepers > 0 {
            self.parker.unpark(&self.cell.value, n.min(sleepers));
        }
        Ok(())
    }

    fn value(&self) -> u32 {
        self.cell.value.load(Ordering::SeqCst)
    }
}

/// A counter of permits shared by threads and processes: `acquire` takes one, waiting while
/// there are none; `release` gives some back. Any thread of any process may release.
#[derive(Debug, Clone)]
pub struct Semaphore {
    counter: Arc<Counter>,
}

/// Gives its permit back when dropped.
#[derive(Debug)]
pub struct SemaphoreGuard<'a> {
    counter: &'a Counter,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.counter.release(1);
    }
}

impl Semaphore {
    /// A semaphore holding `value` permits.
    pub fn new(value: u32) -> io::Result<Semaphore> {
        Ok(Semaphore { counter: Arc::new(Counter::new(value, None)?) })
    }

    /// Takes a permit, waiting as long as it takes.
    pub fn acquire(&self) {
        self.counter.acquire_until(None);
    }

    /// Takes a permit if one is (or becomes) available within `timeout`; zero: without waiting.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.counter.acquire_until(deadline::after(timeout))
    }

    /// Takes a permit if one is available, without waiting.
    pub fn try_acquire(&self) -> bool {
        self.counter.try_take()
    }

    /// Gives one permit back. [`LockError::TooManyReleases`] only past `u32::MAX` permits.
    pub fn release(&self) -> Result<(), LockError> {
        self.counter.release(1)
    }

    /// Gives `n` permits back; [`LockError::ZeroRelease`] if `n` is 0.
    pub fn release_n(&self, n: u32) -> Result<(), LockError> {
        self.counter.release(n)
    }

    /// The permits available now (CPython's `get_value`, which works here on every OS).
    pub fn get_value(&self) -> u32 {
        self.counter.value()
    }

    /// Takes a permit and returns a guard that gives it back.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { counter: &self.counter }
    }
}

/// A [`Semaphore`] that refuses to be released past its initial value
/// ([`LockError::TooManyReleases`], changing nothing).
#[derive(Debug, Clone)]
pub struct BoundedSemaphore {
    counter: Arc<Counter>,
}

impl BoundedSemaphore {
    /// A semaphore holding `value` permits, never more.
    pub fn new(value: u32) -> io::Result<BoundedSemaphore> {
        Ok(BoundedSemaphore { counter: Arc::new(Counter::new(value, Some(value))?) })
    }

    pub fn acquire(&self) {
        self.counter.acquire_until(None);
    }

    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.counter.acquire_until(deadline::after(timeout))
    }

    pub fn try_acquire(&self) -> bool {
        self.counter.try_take()
    }

    /// Gives one permit back; an error, changing nothing, if that would pass the initial value.
    pub fn release(&self) -> Result<(), LockError> {
        self.counter.release(1)
    }

    /// Gives `n` permits back, all or none.
    pub fn release_n(&self, n: u32) -> Result<(), LockError> {
        self.counter.release(n)
    }

    pub fn get_value(&self) -> u32 {
        self.counter.value()
    }

    pub fn guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { counter: &self.counter }
    }
}

macro_rules! serde_via_counter {
    ($t:ident) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.counter.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($t { counter: Arc::new(Counter::deserialize(d)?) })
            }
        }
    };
}

serde_via_counter!(Semaphore);
serde_via_counter!(BoundedSemaphore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bounds() {
        let s = BoundedSemaphore::new(2).expect("sem");
        assert_eq!(s.release(), Err(LockError::TooManyReleases { bound: 2 }));
        assert!(s.try_acquire() && s.try_acquire());
        assert!(!s.try_acquire());
        assert_eq!(s.release_n(3), Err(LockError::TooManyReleases { bound: 2 }));
        assert_eq!(s.get_value(), 0, "refused whole");
        assert_eq!(s.release_n(0), Err(LockError::ZeroRelease));
        s.release_n(2).expect("back to the bound");
        let u = Semaphore::new(0).expect("sem");
        u.release_n(5).expect("unbounded");
        assert_eq!(u.get_value(), 5);
    }

    #[test]
    fn no_permit_or_wake_up_is_lost_under_contention() {
        let s = Semaphore::new(0).expect("sem");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        assert!(s.acquire_timeout(Duration::from_secs(60)), "a permit was lost");
                    }
                })
            })
            .collect();
        for i in 0..4_000 {
            s.release_n(if i % 2 == 0 { 1 } else { 3 }).expect("release");
        }
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(s.get_value(), 0);
    }

    #[test]
    fn a_timeout_too_large_for_an_instant_waits_for_ever() {
        let s = Semaphore::new(0).expect("sem");
        let other = s.clone();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.release().expect("release");
        });
        assert!(s.acquire_timeout(Duration::MAX));
        releaser.join().expect("releaser");
    }

    #[test]
    fn a_timeout_returns_false() {
        let s = Semaphore::new(0).expect("sem");
        let t = Instant::now();
        assert!(!s.acquire_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        s.release().expect("release");
        drop(s.guard());
        assert_eq!(s.get_value(), 1);
    }
}
