//! A lock word holding its holder's pid: the base of [`shared::Lock`](crate::shared::Lock)
//! everywhere, and of the robust mutex on macOS.
//!
//! Free is 0; held is the pid of the holding process. Taking it uncontended is one
//! compare-and-swap and releasing it one swap, with no system call. A waiter counts itself in
//! `sleepers` and parks on the word; a release wakes one waiter only when that count is not zero.
//!
//! Any thread of any process may release it (CPython's `multiprocessing.Lock` allows that), so
//! the kernel cannot track a holder as it does for a robust mutex. Instead a waiter checks,
//! every [`LIVENESS_EVERY`] of waiting, whether the process named in the word still exists (an
//! exited but unreaped process counts as gone); if not, it swaps its own pid in place of the
//! dead one and holds the lock. That is the cost of robustness here: a blocked waiter wakes
//! every `LIVENESS_EVERY` to look (one or two system calls), and a dead holder's lock passes
//! on within that time. A pid reused by a new process before anyone looked would keep the lock
//! held until that process ends; pids are reused slowly on Linux (up to 4 million) and macOS.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::region::Zeroed;
use super::wait::Wait;
use crate::os::{self, Parker, RawLock};

/// How often a blocked waiter checks that the lock's holder is alive.
pub(crate) const LIVENESS_EVERY: Duration = Duration::from_millis(50);

/// Attempts before parking: a holder of a short critical section is often done by then.
const SPINS: u32 = 100;

/// The lock's state in shared memory.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct PidLockCell {
    owner: AtomicU32,
    sleepers: AtomicU32,
}

// SAFETY: two atomics; zero means free with no sleepers.
unsafe impl Zeroed for PidLockCell {}

/// A [`PidLockCell`] with the parker its waiters sleep on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PidLock<'a> {
    cell: &'a PidLockCell,
    parker: &'a Parker,
}

impl<'a> PidLock<'a> {
    pub(crate) fn new(cell: &'a PidLockCell, parker: &'a Parker) -> Self {
        PidLock { cell, parker }
    }

    pub(crate) fn try_lock(&self) -> bool {
        let me = os::current_pid();
        self.cell.owner.compare_exchange(0, me, Ordering::SeqCst, Ordering::Relaxed).is_ok()
    }

    fn spin(&self) -> bool {
        for _ in 0..SPINS {
            if self.cell.owner.load(Ordering::Relaxed) == 0 && self.try_lock() {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Takes the lock, waiting until the deadline (`None`: for ever).
    pub(crate) fn lock(&self, deadline: Option<Instant>) -> RawLock {
        if self.try_lock() {
            return RawLock::Acquired;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return RawLock::TimedOut;
        }
        if self.spin() {
            return RawLock::Acquired;
        }
        let me = os::current_pid();
        let owner = &self.cell.owner;
        // Counted before the last look at the word: a release either sees us or happened
        // before that look, which then finds the lock free.
        self.cell.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut wait = Wait::new(deadline);
        let mut next_check = Instant::now() + LIVENESS_EVERY;
        let outcome = loop {
            let held_by = owner.load(Ordering::SeqCst);
            if held_by == 0 {
                if owner.compare_exchange(0, me, Ordering::SeqCst, Ordering::Relaxed).is_ok() {
                    break RawLock::Acquired;
                }
                continue;
            }
            let now = Instant::now();
            if now >= next_check {
                next_check = now + LIVENESS_EVERY;
                if held_by != me
                    && os::process_gone(held_by)
                    && owner.compare_exchange(held_by, me, Ordering::SeqCst, Ordering::Relaxed).is_ok()
                {
                    break RawLock::OwnerDied;
                }
            }
            if !wait.park(self.parker, owner, held_by, Some(next_check.saturating_duration_since(now))) {
                break RawLock::TimedOut;
            }
        };
        self.cell.sleepers.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Frees the lock, whoever holds it; `false` if it was free.
    pub(crate) fn unlock(&self) -> bool {
        if self.cell.owner.swap(0, Ordering::SeqCst) == 0 {
            return false;
        }
        if self.cell.sleepers.load(Ordering::SeqCst) > 0 {
            self.parker.unpark(&self.cell.owner, 1);
        }
        true
    }

    pub(crate) fn is_locked(&self) -> bool {
        self.cell.owner.load(Ordering::SeqCst) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::region::SharedCell;
    use std::sync::Arc;

    fn fresh() -> (SharedCell<PidLockCell>, Parker) {
        (SharedCell::new().expect("cell"), Parker::new().expect("parker"))
    }

    #[test]
    fn lock_unlock_and_timeout() {
        let (cell, parker) = fresh();
        let l = PidLock::new(&cell, &parker);
        assert_eq!(l.lock(None), RawLock::Acquired);
        assert!(l.is_locked());
        let t = Instant::now();
        assert_eq!(l.lock(Some(Instant::now() + Duration::from_millis(30))), RawLock::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(l.unlock());
        assert!(!l.unlock(), "already free");
        assert!(l.try_lock());
    }

    #[test]
    fn a_dead_holders_lock_is_taken_over() {
        let (cell, parker) = fresh();
        // This test binary, listing its tests: a process that ends at once.
        let exe = std::env::current_exe().expect("exe");
        let mut child =
            std::process::Command::new(exe).arg("--list").stdout(std::process::Stdio::null()).spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("reap");
        cell.owner.store(dead, Ordering::SeqCst);
        let l = PidLock::new(&cell, &parker);
        let t = Instant::now();
        assert_eq!(l.lock(Some(Instant::now() + Duration::from_secs(30))), RawLock::OwnerDied);
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(cell.owner.load(Ordering::SeqCst), os::current_pid());
    }

    #[test]
    fn no_wake_up_is_lost_under_contention() {
        let shared = Arc::new(fresh());
        let count = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (shared, count) = (shared.clone(), count.clone());
                std::thread::spawn(move || {
                    let l = PidLock::new(&shared.0, &shared.1);
                    for i in 0..5_000 {
                        assert_eq!(l.lock(None), RawLock::Acquired);
                        let c = count.load(Ordering::Relaxed);
                        if i % 500 == 0 {
                            std::thread::yield_now();
                        }
                        count.store(c + 1, Ordering::Relaxed);
                        assert!(l.unlock());
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(count.load(Ordering::Relaxed), 20_000);
    }
}
