//! [`Semaphore`] and [`BoundedSemaphore`]: `threading`'s counters of permits.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::deadline;
use crate::error::LockError;

/// The counter both semaphores share, with an optional bound on releases.
#[derive(Debug)]
struct Counter {
    value: Mutex<Value>,
    available: Condvar,
    bound: Option<usize>,
}

#[derive(Debug)]
struct Value {
    permits: usize,
    /// Threads waiting for a permit: a release wakes only if there are (a wake is a system call).
    waiters: usize,
}

impl Counter {
    fn new(value: usize, bound: Option<usize>) -> Self {
        Counter { value: Mutex::new(Value { permits: value, waiters: 0 }), available: Condvar::new(), bound }
    }

    fn value(&self) -> MutexGuard<'_, Value> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        let mut value = self.value();
        while value.permits == 0 {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            value.waiters += 1;
            value = match left {
                None => self.available.wait(value).unwrap_or_else(|p| p.into_inner()),
                Some(left) => self.available.wait_timeout(value, left).unwrap_or_else(|p| p.into_inner()).0,
            };
            value.waiters -= 1;
        }
        value.permits -= 1;
        true
    }

    fn release(&self, n: usize) -> Result<(), LockError> {
        if n == 0 {
            return Err(LockError::ZeroRelease);
        }
        let mut value = self.value();
        let limit = self.bound.unwrap_or(usize::MAX);
        match value.permits.checked_add(n) {
            Some(v) if v <= limit => value.permits = v,
            _ => return Err(LockError::TooManyReleases { bound: limit }),
        }
        let waiters = value.waiters;
        drop(value);
        if waiters == 1 || (waiters > 0 && n == 1) {
            self.available.notify_one();
        } else if waiters > 1 {
            self.available.notify_all();
        }
        Ok(())
    }
}

/// A counter of permits: `acquire` takes one, waiting while there are none; `release` gives
/// some back. It has no owner: any thread may release.
#[derive(Debug)]
pub struct Semaphore {
    counter: Counter,
}

/// Gives its permit back when dropped (CPython's `with sem:`).
#[derive(Debug)]
pub struct SemaphoreGuard<'a> {
    counter: &'a Counter,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.counter.release(1);
    }
}

impl Default for Semaphore {
    /// One permit, CPython's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl Semaphore {
    /// A semaphore holding `value` permits.
    pub fn new(value: usize) -> Self {
        Semaphore { counter: Counter::new(value, None) }
    }

    /// Takes a permit, waiting as long as it takes.
    pub fn acquire(&self) {
        self.counter.acquire_until(None);
    }

    /// Takes a permit if one is (or becomes) available within `timeout`; zero: without waiting.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.counter.acquire_until(deadline::after(timeout))
    }

    /// Takes a permit if one is available, without waiting (CPython's `acquire(False)`).
    pub fn try_acquire(&self) -> bool {
        self.counter.acquire_until(Some(Instant::now()))
    }

    /// Gives one permit back (any thread may), waking a waiter.
    pub fn release(&self) {
        // Only a count past usize::MAX could fail, which no program reaches.
        let _ = self.counter.release(1);
    }

    /// Gives `n` permits back, waking as many waiters; [`LockError::ZeroRelease`] if `n` is 0.
    pub fn release_n(&self, n: usize) -> Result<(), LockError> {
        self.counter.release(n)
    }

    /// The permits available now.
    pub fn value(&self) -> usize {
        self.counter.value().permits
    }

    /// Takes a permit and returns a guard that gives it back.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { counter: &self.counter }
    }
}

/// A [`Semaphore`] that refuses to be released past its initial value
/// ([`LockError::TooManyReleases`]): a release without an acquire is a bug it reports.
#[derive(Debug)]
pub struct BoundedSemaphore {
    counter: Counter,
}

impl Default for BoundedSemaphore {
    /// One permit, CPython's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl BoundedSemaphore {
    /// A semaphore holding `value` permits, never more.
    pub fn new(value: usize) -> Self {
        BoundedSemaphore { counter: Counter::new(value, Some(value)) }
    }

    pub fn acquire(&self) {
        self.counter.acquire_until(None);
    }

    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.counter.acquire_until(deadline::after(timeout))
    }

    pub fn try_acquire(&self) -> bool {
        self.counter.acquire_until(Some(Instant::now()))
    }

    /// Gives one permit back; an error, changing nothing, if that would pass the initial value.
    pub fn release(&self) -> Result<(), LockError> {
        self.counter.release(1)
    }

    /// Gives `n` permits back, all or none.
    pub fn release_n(&self, n: usize) -> Result<(), LockError> {
        self.counter.release(n)
    }

    pub fn value(&self) -> usize {
        self.counter.value().permits
    }

    /// The initial value, which releases may not pass.
    pub fn bound(&self) -> usize {
        self.counter.bound.unwrap_or(usize::MAX)
    }

    pub fn guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { counter: &self.counter }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn bounded_release_past_the_initial_value_is_refused_whole() {
        let s = BoundedSemaphore::new(2);
        assert_eq!(s.release(), Err(LockError::TooManyReleases { bound: 2 }));
        assert!(s.try_acquire());
        assert_eq!(s.release_n(2), Err(LockError::TooManyReleases { bound: 2 }));
        assert_eq!(s.value(), 1, "nothing released");
        assert_eq!(s.release_n(0), Err(LockError::ZeroRelease));
        s.release().expect("back to 2");
    }

    #[test]
    fn release_n_wakes_n_waiters_and_no_permit_is_lost() {
        let s = Arc::new(Semaphore::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (s, done) = (s.clone(), done.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        s.acquire();
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for _ in 0..400 {
            s.release_n(3).expect("n > 0");
        }
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(done.load(Ordering::SeqCst), 1200);
        assert_eq!(s.value(), 0);
    }

    #[test]
    fn acquire_timeout_gives_up_with_false() {
        let s = Semaphore::new(0);
        let t = Instant::now();
        assert!(!s.acquire_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        s.release();
        assert!(s.acquire_timeout(Duration::ZERO));
        let _g = {
            s.release();
            s.guard()
        };
        assert_eq!(s.value(), 0);
    }
}
