//! [`Lock`]: `multiprocessing.Lock`, a plain lock shared by threads and processes.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use std::sync::atomic::{AtomicU64, Ordering};

use super::pid_lock::{PidLock, PidLockCell};
use super::region::{SharedCell, Zeroed};
use super::thread_token;
use crate::deadline;
use crate::error::LockError;
use crate::os::{Parker, RawLock};

/// A lock shared by the threads and processes that hold a clone of it.
///
/// As CPython's `multiprocessing.Lock`: not reentrant, and any thread of any process may
/// release it (a process can hand a locked lock to another, which releases it). Releasing a
/// free lock is [`LockError::NotLocked`].
///
/// Taking and releasing it uncontended costs one atomic instruction each and no system call
/// (the word holds the holder's pid; see the [module documentation](super)).
///
/// # When the holder is killed
/// A process that dies holding the lock does not leave it held for ever: a waiter notices
/// within 50 ms that the process named in the lock is gone (exited, killed, or an unreaped
/// zombie) and takes the lock over. Whatever the dead holder was doing under the lock may be
/// half done.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let lock = procthread::shared::Lock::new()?;
/// {
///     let _held = lock.lock();
///     // ... shared state ...
/// }
/// assert!(lock.acquire_timeout(std::time::Duration::ZERO));
/// lock.release().expect("held");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Lock {
    inner: Arc<Inner>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Inner {
    cell: SharedCell<LockCell>,
    parker: Parker,
}

#[derive(Debug)]
#[repr(C)]
struct LockCell {
    lock: PidLockCell,
    /// The thread that took the lock last ([`thread_token`]), 0 once released: what a
    /// [`Condition`](super::Condition) checks (multiprocessing requires the calling thread
    /// to hold the lock, where `threading` accepts any holder).
    holder: AtomicU64,
}

// SAFETY: atomics only; all zero is a free lock.
unsafe impl Zeroed for LockCell {}

/// Releases its [`Lock`] when dropped (also during a panic).
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Lock {
    pub fn new() -> io::Result<Lock> {
        Ok(Lock { inner: Arc::new(Inner { cell: SharedCell::new()?, parker: Parker::new()? }) })
    }

    fn pid_lock(&self) -> PidLock<'_> {
        PidLock::new(&self.inner.cell.lock, &self.inner.parker)
    }

    fn taken(&self) -> bool {
        self.inner.cell.holder.store(thread_token(), Ordering::Relaxed);
        true
    }

    /// Waits until the lock is free and takes it.
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes the lock if it becomes free within `timeout`; `false` otherwise. A zero timeout is
    /// CPython's `acquire(False)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(deadline::after(timeout))
    }

    pub(crate) fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        self.pid_lock().lock(deadline) != RawLock::TimedOut && self.taken()
    }

    /// Takes the lock if it is free, without waiting.
    pub fn try_acquire(&self) -> bool {
        self.pid_lock().try_lock() && self.taken()
    }

    /// Frees the lock; any thread of any process may. [`LockError::NotLocked`] if it was free.
    pub fn release(&self) -> Result<(), LockError> {
        self.inner.cell.holder.store(0, Ordering::Relaxed);
        if self.pid_lock().unlock() { Ok(()) } else { Err(LockError::NotLocked) }
    }

    /// Whether the calling thread took the lock and it is still held.
    pub(crate) fn is_mine(&self) -> bool {
        self.is_locked() && self.inner.cell.holder.load(Ordering::Relaxed) == thread_token()
    }

    pub fn is_locked(&self) -> bool {
        self.pid_lock().is_locked()
    }

    /// Acquires and returns a guard that releases on drop.
    pub fn lock(&self) -> LockGuard<'_> {
        self.acquire();
        LockGuard { lock: self }
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

impl Serialize for Lock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Lock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lock { inner: Arc::new(Inner::deserialize(d)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_rules_as_multiprocessing() {
        let lock = Lock::new().expect("lock");
        assert_eq!(lock.release(), Err(LockError::NotLocked));
        lock.acquire();
        assert!(!lock.try_acquire());
        assert!(!lock.acquire_timeout(Duration::from_millis(10)));
        let other = lock.clone();
        std::thread::spawn(move || other.release().expect("released by another thread")).join().expect("thread");
        assert!(!lock.is_locked());
        drop(lock.lock());
        assert!(!lock.is_locked(), "the guard released it");
    }

    #[test]
    fn a_timed_acquire_waits_for_a_release() {
        let lock = Lock::new().expect("lock");
        lock.acquire();
        let other = lock.clone();
        let waiter = std::thread::spawn(move || other.acquire_timeout(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        lock.release().expect("held");
        assert!(waiter.join().expect("waiter"), "woken by the release");
        assert!(lock.is_locked(), "now held by the waiter's process");
    }
}
