//! [`RLock`]: `multiprocessing.RLock`, a reentrant lock owned by one thread of one process.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{SharedCell, Zeroed};
use super::robust::RobustMutex;
use super::thread_token;
use crate::deadline;
use crate::error::LockError;

/// A reentrant lock shared by threads and processes: its owner thread may acquire it again,
/// and it is free after as many releases. Only the owner may release it
/// ([`LockError::NotOwner`]).
///
/// It is built on the crate's robust mutex (see [`shared`](super)), held for as long as the
/// lock is owned. When the owning process is killed, the next acquirer gets the lock (at once
/// on Linux and Windows, within the liveness-check interval on macOS), as its sole owner.
///
/// # Panics
/// Acquiring panics only if the OS reports an error on a valid mutex, which does not happen
/// in practice (as `std::sync::Mutex` panics on such errors).
#[derive(Debug, Clone)]
pub struct RLock {
    inner: Arc<Inner>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Inner {
    mutex: RobustMutex,
    cell: SharedCell<RLockCell>,
}

#[derive(Debug)]
#[repr(C)]
struct RLockCell {
    /// The owning thread's [`thread_token`], 0 when free. Written only by the owner.
    owner: AtomicU64,
    count: AtomicU32,
}

// SAFETY: atomics only; all zero is a free lock.
unsafe impl Zeroed for RLockCell {}

/// Releases one level of its [`RLock`] when dropped.
#[derive(Debug)]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl RLock {
    pub fn new() -> io::Result<RLock> {
        Ok(RLock { inner: Arc::new(Inner { mutex: RobustMutex::new()?, cell: SharedCell::new()? }) })
    }

    /// Takes the lock (again, if this thread owns it), waiting as long as it takes.
    pub fn acquire(&self) {
        self.acquire_count(1, None);
    }

    /// Takes the lock if this thread owns it or it becomes free within `timeout`; `false`
    /// otherwise. A zero timeout is CPython's `acquire(False)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_count(1, deadline::after(timeout))
    }

    /// Takes the lock if this thread owns it or it is free, without waiting.
    pub fn try_acquire(&self) -> bool {
        self.acquire_count(1, Some(Instant::now()))
    }

    pub(crate) fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        self.acquire_count(1, deadline)
    }

    fn acquire_count(&self, count: u32, deadline: Option<Instant>) -> bool {
        let me = thread_token();
        let cell = &self.inner.cell;
        if cell.owner.load(Ordering::Relaxed) == me {
            cell.count.fetch_add(count, Ordering::Relaxed);
            return true;
        }
        match self.inner.mutex.lock_raw(deadline) {
            // A dead owner's count and token are simply replaced.
            Ok(Some(_previous_owner_died)) => {
                cell.count.store(count, Ordering::Relaxed);
                cell.owner.store(me, Ordering::Relaxed);
                true
            }
            Ok(None) => false,
            Err(e) => panic!("process-shared RLock: the OS failed to lock its mutex: {e}"),
        }
    }

    /// Releases one level. [`LockError::NotOwner`] if another thread owns it,
    /// [`LockError::NotLocked`] if nobody does.
    pub fn release(&self) -> Result<(), LockError> {
        self.release_levels(false).map(|_| ())
    }

    fn release_levels(&self, all: bool) -> Result<u32, LockError> {
        let cell = &self.inner.cell;
        match cell.owner.load(Ordering::Relaxed) {
            0 => return Err(LockError::NotLocked),
            owner if owner != thread_token() => return Err(LockError::NotOwner),
            _ => {}
        }
        let n = cell.count.load(Ordering::Relaxed);
        let released = if all { n } else { 1 };
        if n > released {
            cell.count.store(n - released, Ordering::Relaxed);
        } else {
            cell.count.store(0, Ordering::Relaxed);
            cell.owner.store(0, Ordering::Relaxed);
            self.inner.mutex.unlock_raw();
        }
        Ok(released)
    }

    /// Whether the calling thread owns the lock.
    pub fn is_owned(&self) -> bool {
        self.inner.cell.owner.load(Ordering::Relaxed) == thread_token()
    }

    /// How many times the calling thread holds the lock; 0 if it does not own it.
    pub fn recursion_count(&self) -> u32 {
        if self.is_owned() { self.inner.cell.count.load(Ordering::Relaxed) } else { 0 }
    }

    /// Acquires one level and returns a guard that releases it on drop.
    pub fn lock(&self) -> RLockGuard<'_> {
        self.acquire();
        RLockGuard { lock: self, _not_send: std::marker::PhantomData }
    }

    /// Releases every level this thread holds, for a condition's wait.
    pub(crate) fn release_save(&self) -> Result<u32, LockError> {
        self.release_levels(true)
    }

    /// Takes the lock back `count` levels deep after a wait.
    pub(crate) fn acquire_restore(&self, count: u32) {
        self.acquire_count(count, None);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

impl Serialize for RLock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RLock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(RLock { inner: Arc::new(Inner::deserialize(d)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reentry_ownership_and_release_rules() {
        let lock = RLock::new().expect("rlock");
        assert_eq!(lock.release(), Err(LockError::NotLocked));
        assert!(lock.try_acquire());
        lock.acquire();
        assert_eq!(lock.recursion_count(), 2);
        let other = lock.clone();
        std::thread::spawn(move || {
            assert_eq!(other.release(), Err(LockError::NotOwner));
            assert!(!other.is_owned());
            assert!(!other.acquire_timeout(Duration::from_millis(20)));
        })
        .join()
        .expect("thread");
        lock.release().expect("one");
        assert!(lock.is_owned());
        lock.release().expect("two");
        assert!(!lock.is_owned());
        assert_eq!(lock.release(), Err(LockError::NotLocked));
    }

    #[test]
    fn a_waiter_gets_it_after_the_last_release() {
        let lock = RLock::new().expect("rlock");
        let g1 = lock.lock();
        let g2 = lock.lock();
        let other = lock.clone();
        let waiter = std::thread::spawn(move || {
            let got = other.acquire_timeout(Duration::from_secs(30));
            let depth = other.recursion_count();
            other.release().expect("held");
            (got, depth)
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(g2);
        std::thread::sleep(Duration::from_millis(20));
        assert!(lock.is_owned(), "one level still held");
        drop(g1);
        assert_eq!(waiter.join().expect("waiter"), (true, 1));
    }

    #[test]
    fn release_save_and_restore_keep_the_depth() {
        let lock = RLock::new().expect("rlock");
        lock.acquire();
        lock.acquire();
        assert_eq!(lock.release_save(), Ok(2));
        assert!(!lock.is_owned());
        let other = lock.clone();
        std::thread::spawn(move || {
            assert!(other.try_acquire(), "free while saved");
            other.release().expect("held");
        })
        .join()
        .expect("thread");
        lock.acquire_restore(2);
        assert_eq!(lock.recursion_count(), 2);
    }
}
