//! [`Lock`]: `threading.Lock` with the chapter's (CPython's) semantics.
//!
//! Unlike `std::sync::Mutex`, a [`Lock`] is not tied to the thread that acquired it (any thread
//! may release it, as in CPython), guards no data, and never poisons: a thread that panics
//! holding a guard releases the lock as the guard drops. Releasing an unlocked lock is an error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::deadline;
use crate::error::LockError;

/// A plain lock: `acquire`/`release` for the chapter's `try`/`finally` shape, or a guard.
///
/// Uncontended, acquiring and releasing are one atomic operation each; a thread that finds the
/// lock taken spins briefly, then sleeps on a condition variable that a release signals only
/// when someone is waiting.
#[derive(Debug, Default)]
pub struct Lock {
    locked: AtomicBool,
    waiters: AtomicUsize,
    sleep: Mutex<()>,
    freed: Condvar,
}

/// Releases its [`Lock`] when dropped (also during a panic).
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

const SPINS: u32 = 100;

impl Lock {
    pub fn new() -> Self {
        Self::default()
    }

    fn try_take(&self) -> bool {
        self.locked.compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed).is_ok()
    }

    fn spin(&self) -> bool {
        for _ in 0..SPINS {
            if !self.locked.load(Ordering::Relaxed) && self.try_take() {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Waits until the lock is free and takes it.
    pub fn acquire(&self) {
        if self.try_take() || self.spin() {
            return;
        }
        self.acquire_slow(None);
    }

    /// Sleeps until the lock is taken or the deadline passes. The waiter count is raised before
    /// the last attempt, so a release either sees it (and signals) or happened before that
    /// attempt (which then succeeds): no wake-up is lost.
    fn acquire_slow(&self, deadline: Option<Instant>) -> bool {
        let mut guard = self.sleep.lock().unwrap_or_else(|p| p.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let taken = loop {
            if self.try_take() {
                break true;
            }
            guard = match deadline {
                None => self.freed.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break false;
                    }
                    self.freed.wait_timeout(guard, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        taken
    }

    /// Takes the lock if it becomes free within `timeout`; `false` otherwise.
    /// A zero timeout is CPython's `acquire(blocking=False)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        if self.try_take() {
            return true;
        }
        if timeout.is_zero() {
            return false;
        }
        self.spin() || self.acquire_slow(deadline::after(timeout))
    }

    /// Frees the lock; any thread may do it. [`LockError::NotLocked`] if it was free.
    pub fn release(&self) -> Result<(), LockError> {
        if !self.locked.swap(false, Ordering::SeqCst) {
            return Err(LockError::NotLocked);
        }
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taking the mutex orders this signal after a waiter's last attempt.
            let _guard = self.sleep.lock().unwrap_or_else(|p| p.into_inner());
            self.freed.notify_one();
        }
        Ok(())
    }

    /// Takes the lock if it is free, without waiting (CPython's `acquire(False)`).
    pub fn try_acquire(&self) -> bool {
        self.try_take()
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    /// The chapter's balance with the lock: separate load and store inside acquire/release.
    #[test]
    fn balance_under_lock_always_ends_zero() {
        let balance = Arc::new(AtomicI64::new(0));
        let lock = Arc::new(Lock::new());
        let threads: Vec<_> = [5, 8]
            .into_iter()
            .map(|n| {
                let (balance, lock) = (balance.clone(), lock.clone());
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        lock.acquire();
                        let b = balance.load(Ordering::Relaxed);
                        balance.store(b + n, Ordering::Relaxed);
                        let b = balance.load(Ordering::Relaxed);
                        balance.store(b - n, Ordering::Relaxed);
                        lock.release().expect("held");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(balance.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn many_threads_contending_lose_nothing_and_wake_up() {
        let lock = Arc::new(Lock::new());
        let count = Arc::new(AtomicI64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (lock, count) = (lock.clone(), count.clone());
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        lock.acquire();
                        let c = count.load(Ordering::Relaxed);
                        if i % 1000 == 0 {
                            std::thread::yield_now(); // holders sometimes sleep: waiters must park
                        }
                        count.store(c + 1, Ordering::Relaxed);
                        lock.release().expect("held");
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(count.load(Ordering::Relaxed), 80_000);
    }

    #[test]
    fn release_rules() {
        let lock = Lock::new();
        assert_eq!(lock.release(), Err(LockError::NotLocked));
        lock.acquire();
        assert!(!lock.acquire_timeout(Duration::from_millis(5)), "already held");
        // Another thread may release it, as in CPython.
        std::thread::scope(|s| {
            s.spawn(|| lock.release().expect("released by another thread"));
        });
        assert!(lock.acquire_timeout(Duration::ZERO));
        lock.release().expect("held");
    }

    #[test]
    fn a_timeout_too_large_for_an_instant_waits_for_ever() {
        let lock = Lock::new();
        lock.acquire();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                lock.release().expect("held");
            });
            assert!(lock.acquire_timeout(Duration::MAX), "no overflow, woken by the release");
        });
    }

    #[test]
    fn a_panic_under_the_guard_releases_and_does_not_poison() {
        let lock = Lock::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = lock.lock();
            panic!("boom");
        }));
        assert!(r.is_err());
        assert!(!lock.is_locked());
        drop(lock.lock());
    }
}
