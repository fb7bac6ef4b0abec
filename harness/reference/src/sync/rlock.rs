//! [`RLock`]: `threading.RLock`, a reentrant lock owned by the thread that holds it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::deadline;
use crate::error::LockError;
use crate::shared::thread_token;

/// A reentrant lock: its owner may acquire it again; it is free after as many releases.
/// Only the owner may release it ([`LockError::NotOwner`] otherwise).
#[derive(Debug, Default)]
pub struct RLock {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The owner (its [`thread_token`]) and its recursion count; `None` when free.
    held: Option<(u64, usize)>,
    /// Threads waiting for it: a release wakes one only if there are (a wake is a system call).
    waiters: usize,
}

/// Releases one level of its [`RLock`] when dropped.
#[derive(Debug)]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl RLock {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lock (again, if this thread owns it), waiting as long as it takes.
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes the lock if this thread owns it or it becomes free within `timeout`; `false`
    /// otherwise. A zero timeout is CPython's `acquire(False)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(deadline::after(timeout))
    }

    /// Takes the lock if this thread owns it or it is free, without waiting.
    pub fn try_acquire(&self) -> bool {
        self.acquire_until(Some(Instant::now()))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        self.acquire_count(1, deadline)
    }

    /// Takes the lock `count` levels deep (or `count` more levels if this thread owns it).
    fn acquire_count(&self, count: usize, deadline: Option<Instant>) -> bool {
        let me = thread_token();
        let mut state = self.state();
        loop {
            match state.held {
                None => {
                    state.held = Some((me, count));
                    return true;
                }
                Some((owner, n)) if owner == me => {
                    state.held = Some((me, n + count));
                    return true;
                }
                Some(_) => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left.is_some_and(|l| l.is_zero()) {
                        return false;
                    }
                    state.waiters += 1;
                    state = match left {
                        None => self.freed.wait(state).unwrap_or_else(|p| p.into_inner()),
                        Some(left) => self.freed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0,
                    };
                    state.waiters -= 1;
                }
            }
        }
    }

    /// Releases one level. [`LockError::NotOwner`] if another thread owns it,
    /// [`LockError::NotLocked`] if nobody does.
    pub fn release(&self) -> Result<(), LockError> {
        self.release_levels(false).map(|_| ())
    }

    /// Releases one level, or all of them (`all`): returns how many were released.
    fn release_levels(&self, all: bool) -> Result<usize, LockError> {
        let me = thread_token();
        let mut state = self.state();
        match state.held {
            Some((owner, n)) if owner == me => {
                let released = if all { n } else { 1 };
                state.held = if n > released { Some((me, n - released)) } else { None };
                if state.held.is_none() && state.waiters > 0 {
                    drop(state);
                    self.freed.notify_one();
                }
                Ok(released)
            }
            Some(_) => Err(LockError::NotOwner),
            None => Err(LockError::NotLocked),
        }
    }

    /// Whether the calling thread owns the lock (CPython's `_is_owned`).
    pub fn is_owned(&self) -> bool {
        matches!(self.state().held, Some((owner, _)) if owner == thread_token())
    }

    /// How many times the calling thread holds the lock; 0 if it does not own it (CPython's
    /// `_recursion_count`).
    pub fn recursion_count(&self) -> usize {
        match self.state().held {
            Some((owner, n)) if owner == thread_token() => n,
            _ => 0,
        }
    }

    /// Acquires one level and returns a guard that releases it on drop.
    pub fn lock(&self) -> RLockGuard<'_> {
        self.acquire();
        RLockGuard { lock: self }
    }

    /// Releases every level this thread holds, for a condition's wait (CPython's `_release_save`).
    pub(crate) fn release_save(&self) -> Result<usize, LockError> {
        self.release_levels(true)
    }

    /// Takes the lock back `count` levels deep after a wait (CPython's `_acquire_restore`).
    pub(crate) fn acquire_restore(&self, count: usize) {
        self.acquire_count(count, None);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlock_reenters_and_only_its_owner_releases() {
        let lock = RLock::new();
        lock.acquire();
        lock.acquire();
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(lock.release(), Err(LockError::NotOwner)));
        });
        lock.release().expect("first");
        lock.release().expect("second");
        assert_eq!(lock.release(), Err(LockError::NotLocked));
    }

    #[test]
    fn timed_and_non_blocking_acquire() {
        let lock = RLock::new();
        assert!(lock.try_acquire());
        assert!(lock.acquire_timeout(Duration::ZERO), "the owner re-enters without waiting");
        assert_eq!(lock.recursion_count(), 2);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(!lock.try_acquire());
                let t = Instant::now();
                assert!(!lock.acquire_timeout(Duration::from_millis(30)));
                assert!(t.elapsed() >= Duration::from_millis(30));
                assert_eq!(lock.recursion_count(), 0, "not the owner");
            });
        });
        lock.release().expect("one");
        lock.release().expect("two");
        std::thread::scope(|s| {
            s.spawn(|| assert!(lock.acquire_timeout(Duration::from_millis(30)), "free now"));
        });
    }

    #[test]
    fn a_waiter_is_woken_by_the_last_release_only() {
        let lock = RLock::new();
        lock.acquire();
        lock.acquire();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let got = lock.acquire_timeout(Duration::from_secs(30));
                lock.release().expect("the waiter holds it");
                got
            });
            std::thread::sleep(Duration::from_millis(20));
            lock.release().expect("one level");
            assert!(lock.is_owned(), "still held once");
            lock.release().expect("last level");
            assert!(waiter.join().expect("waiter"));
        });
    }

    #[test]
    fn release_save_and_restore_keep_the_depth() {
        let lock = RLock::new();
        assert_eq!(lock.release_save(), Err(LockError::NotLocked));
        lock.acquire();
        lock.acquire();
        lock.acquire();
        assert_eq!(lock.release_save(), Ok(3));
        assert!(!lock.is_owned());
        lock.acquire_restore(3);
        assert_eq!(lock.recursion_count(), 3);
    }
}
