//! [`Condition`]: `threading.Condition` over a [`Lock`] or an [`RLock`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::{Lock, RLock};
use crate::deadline;
use crate::error::LockError;

/// A lock a [`Condition`] can be built on: [`Lock`], [`RLock`], or an `Arc` of one (to share
/// the lock with other code or other conditions). Sealed.
pub trait ConditionLock: sealed::Sealed {}

mod sealed {
    use crate::error::LockError;

    /// What a condition needs of its lock (CPython's `_is_owned`, `_release_save`,
    /// `_acquire_restore`).
    pub trait Sealed {
        fn acquire_until(&self, deadline: Option<std::time::Instant>) -> bool;
        fn release(&self) -> Result<(), LockError>;
        /// For a plain lock: held by anyone (CPython's rule); for a reentrant lock: by the caller.
        fn is_owned(&self) -> bool;
        /// Releases the lock completely; returns what `acquire_restore` needs.
        fn release_save(&self) -> Result<usize, LockError>;
        fn acquire_restore(&self, saved: usize);
    }
}

impl ConditionLock for Lock {}
impl sealed::Sealed for Lock {
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                self.acquire();
                true
            }
            Some(d) => self.acquire_timeout(d.saturating_duration_since(Instant::now())),
        }
    }
    fn release(&self) -> Result<(), LockError> {
        Lock::release(self)
    }
    fn is_owned(&self) -> bool {
        self.is_locked()
    }
    fn release_save(&self) -> Result<usize, LockError> {
        Lock::release(self).map(|()| 1)
    }
    fn acquire_restore(&self, _saved: usize) {
        self.acquire();
    }
}

impl ConditionLock for RLock {}
impl sealed::Sealed for RLock {
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                self.acquire();
                true
            }
            Some(d) => self.acquire_timeout(d.saturating_duration_since(Instant::now())),
        }
    }
    fn release(&self) -> Result<(), LockError> {
        RLock::release(self)
    }
    fn is_owned(&self) -> bool {
        RLock::is_owned(self)
    }
    fn release_save(&self) -> Result<usize, LockError> {
        RLock::release_save(self)
    }
    fn acquire_restore(&self, saved: usize) {
        RLock::acquire_restore(self, saved)
    }
}

impl<L: ConditionLock> ConditionLock for Arc<L> {}
impl<L: ConditionLock> sealed::Sealed for Arc<L> {
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        (**self).acquire_until(deadline)
    }
    fn release(&self) -> Result<(), LockError> {
        (**self).release()
    }
    fn is_owned(&self) -> bool {
        (**self).is_owned()
    }
    fn release_save(&self) -> Result<usize, LockError> {
        (**self).release_save()
    }
    fn acquire_restore(&self, saved: usize) {
        (**self).acquire_restore(saved)
    }
}

/// One thread in [`Condition::wait`].
#[derive(Debug)]
struct Waiter {
    notified: AtomicBool,
    thread: Thread,
}

/// A condition variable with CPython's semantics: `wait` and `notify` need the lock held
/// ([`LockError::NotAcquired`] otherwise), `notify(n)` wakes the `n` longest-waiting threads
/// (first come, first woken), a timed-out `wait` returns `false`, and there are no spurious
/// wake-ups: `wait` returns `true` only when notified.
///
/// The lock is [`RLock`] by default, as in CPython; a wait on an `RLock` held several times
/// releases it completely and takes it back as deep as it was.
#[derive(Debug)]
pub struct Condition<L: ConditionLock = RLock> {
    lock: L,
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
}

/// Releases the condition's lock (one level of it) when dropped.
#[derive(Debug)]
pub struct ConditionGuard<'a, L: ConditionLock> {
    cond: &'a Condition<L>,
}

impl Default for Condition<RLock> {
    fn default() -> Self {
        Self::new()
    }
}

impl Condition<RLock> {
    /// A condition over a new [`RLock`].
    pub fn new() -> Self {
        Self::with_lock(RLock::new())
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over `lock`.
    pub fn with_lock(lock: L) -> Self {
        Condition { lock, waiters: Mutex::new(VecDeque::new()) }
    }

    /// The underlying lock.
    pub fn lock_ref(&self) -> &L {
        &self.lock
    }

    fn waiters(&self) -> MutexGuard<'_, VecDeque<Arc<Waiter>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Acquires the underlying lock.
    pub fn acquire(&self) {
        self.lock.acquire_until(None);
    }

    /// Acquires the underlying lock if it can within `timeout` (zero: without waiting).
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.lock.acquire_until(deadline::after(timeout))
    }

    /// Releases the underlying lock.
    pub fn release(&self) -> Result<(), LockError> {
        self.lock.release()
    }

    /// Acquires the underlying lock and returns a guard that releases it (CPython's `with cond:`).
    pub fn lock(&self) -> ConditionGuard<'_, L> {
        self.acquire();
        ConditionGuard { cond: self }
    }

    /// Releases the lock, waits until notified, and takes the lock back.
    pub fn wait(&self) -> Result<(), LockError> {
        self.wait_until(None).map(|_| ())
    }

    /// As [`wait`](Self::wait), but gives up after `timeout`: `false` if not notified by then
    /// (the lock is held again either way).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, LockError> {
        self.wait_until(deadline::after(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool, LockError> {
        if !self.lock.is_owned() {
            return Err(LockError::NotAcquired);
        }
        let me = Arc::new(Waiter { notified: AtomicBool::new(false), thread: std::thread::current() });
        self.waiters().push_back(me.clone());
        let saved = match self.lock.release_save() {
            Ok(saved) => saved,
            Err(e) => {
                self.forget(&me);
                return Err(e);
            }
        };
        while !me.notified.load(Ordering::Acquire) {
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    std::thread::park_timeout(left);
                }
            }
        }
        self.lock.acquire_restore(saved);
        // Read under the lock: a notify racing with our timeout either marked us before we got
        // the lock back (then we were notified, and say so) or finds us gone from the queue.
        let notified = me.notified.load(Ordering::Acquire);
        if !notified {
            self.forget(&me);
        }
        Ok(notified)
    }

    fn forget(&self, waiter: &Arc<Waiter>) {
        self.waiters().retain(|w| !Arc::ptr_eq(w, waiter));
    }

    /// Waits until `predicate` holds, re-checking it after each wake-up, for at most `timeout`
    /// (`None`: for ever). Returns the predicate's last value.
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool, timeout: Option<Duration>) -> Result<bool, LockError> {
        let deadline = timeout.and_then(deadline::after);
        let mut result = predicate();
        while !result {
            if deadline.is_some_and(|d| d <= Instant::now()) {
                break;
            }
            self.wait_until(deadline)?;
            result = predicate();
        }
        Ok(result)
    }

    /// Wakes up the `n` threads that have waited longest, if any wait.
    pub fn notify(&self, n: usize) -> Result<(), LockError> {
        if !self.lock.is_owned() {
            return Err(LockError::NotAcquired);
        }
        let mut waiters = self.waiters();
        for _ in 0..n {
            let Some(w) = waiters.pop_front() else { break };
            w.notified.store(true, Ordering::Release);
            w.thread.unpark();
        }
        Ok(())
    }

    /// Wakes up every waiting thread.
    pub fn notify_all(&self) -> Result<(), LockError> {
        self.notify(usize::MAX)
    }
}

impl<L: ConditionLock> Drop for ConditionGuard<'_, L> {
    fn drop(&mut self) {
        let _ = self.cond.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn wait_and_notify_need_the_lock() {
        let c = Condition::new();
        assert_eq!(c.wait_timeout(Duration::ZERO), Err(LockError::NotAcquired));
        assert_eq!(c.notify(1), Err(LockError::NotAcquired));
        let c = Condition::with_lock(Lock::new());
        assert_eq!(c.notify_all(), Err(LockError::NotAcquired));
        let _g = c.lock();
        assert_eq!(c.notify_all(), Ok(()));
        assert_eq!(c.wait_timeout(Duration::from_millis(10)), Ok(false));
        assert!(c.lock_ref().is_locked(), "held again after the timeout");
    }

    #[test]
    fn a_wait_on_a_deep_rlock_restores_its_depth() {
        let c = Arc::new(Condition::new());
        c.acquire();
        c.acquire();
        let c2 = c.clone();
        let notifier = std::thread::spawn(move || {
            let _g = c2.lock(); // only possible once the waiter released both levels
            c2.notify(1).expect("held");
        });
        assert_eq!(c.wait_timeout(Duration::from_secs(30)), Ok(true));
        assert_eq!(c.lock_ref().recursion_count(), 2);
        c.release().expect("one");
        c.release().expect("two");
        notifier.join().expect("notifier");
    }

    #[test]
    fn notify_n_wakes_exactly_n_in_arrival_order() {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let waiting = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (c, arrived, woken) = (c.clone(), waiting.clone(), woken.clone());
                let t = std::thread::spawn(move || {
                    let _g = c.lock();
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let got = c.wait_timeout(Duration::from_secs(30)).expect("held");
                    woken.lock().expect("list").push((i, got));
                });
                // One at a time, so that arrival order is known.
                while waiting.load(Ordering::SeqCst) <= i {
                    std::thread::sleep(Duration::from_millis(1));
                }
                t
            })
            .collect();
        {
            let _g = c.lock();
            c.notify(2).expect("held");
        }
        let t = Instant::now();
        while woken.lock().expect("list").len() < 2 {
            assert!(t.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let mut first: Vec<_> = woken.lock().expect("list").clone();
        first.sort();
        assert_eq!(first, [(0, true), (1, true)], "the two oldest, and only them");
        {
            let _g = c.lock();
            c.notify_all().expect("held");
        }
        threads.into_iter().for_each(|t| t.join().expect("waiter"));
        assert_eq!(woken.lock().expect("list").len(), 4);
    }

    #[test]
    fn wait_for_returns_the_predicate_at_the_timeout() {
        let c = Condition::new();
        let _g = c.lock();
        let t = Instant::now();
        assert_eq!(c.wait_for(|| false, Some(Duration::from_millis(30))), Ok(false));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert_eq!(c.wait_for(|| true, Some(Duration::ZERO)), Ok(true));
    }
}
