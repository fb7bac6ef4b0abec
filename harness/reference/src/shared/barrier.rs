//! [`Barrier`]: `multiprocessing.Barrier`, a meeting point for threads and processes.
//!
//! As CPython builds it: `threading.Barrier`'s algorithm over a shared [`Condition`] on a
//! shared [`Lock`], with its phase and count in shared memory.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{SharedCell, Zeroed};
use super::{Condition, Lock};
use crate::deadline;
use crate::entry::{Entry, Registered};
use crate::error::LockError;

// The phases, as numbers in shared memory (CPython's 0, 1, -1, -2).
const FILLING: u32 = 0;
const DRAINING: u32 = 1;
const RESETTING: u32 = 2;
const BROKEN: u32 = 3;

#[derive(Debug)]
#[repr(C)]
struct BarrierCell {
    phase: AtomicU32,
    /// Threads inside `wait`.
    count: AtomicU32,
}

// SAFETY: atomics only; all zero is an empty barrier, filling.
unsafe impl Zeroed for BarrierCell {}

/// `parties` threads or processes call [`wait`](Self::wait); all block until the last
/// arrives, then all go on, each with a distinct index in `0..parties`.
///
/// The action, if any, is an [`Entry<()>`](crate::Entry) that the last thread to arrive runs
/// before releasing the others, in whichever process it is: a spawned child finds it by name,
/// so list it in the registry given to [`dispatch`](crate::dispatch).
///
/// It breaks (every current and later `wait` fails with [`LockError::BrokenBarrier`] until
/// [`reset`](Self::reset)) on [`abort`](Self::abort), when a wait times out, or when the
/// action panics (the panic goes on in the thread that ran it). A process killed while
/// waiting leaves its place taken: the others then break at their timeout, if they have one.
#[derive(Clone)]
pub struct Barrier {
    cond: Condition<Lock>,
    cell: SharedCell<BarrierCell>,
    parties: u32,
    timeout: Option<Duration>,
    action: Option<&'static dyn Registered>,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .field("action", &self.action.map(|a| a.name()))
            .finish()
    }
}

impl Barrier {
    /// A barrier for `parties` threads or processes (zero is taken as one).
    pub fn new(parties: u32) -> io::Result<Barrier> {
        Ok(Barrier {
            cond: Condition::with_lock(Lock::new()?)?,
            cell: SharedCell::new()?,
            parties: parties.max(1),
            timeout: None,
            action: None,
        })
    }

    /// A barrier whose last arriving thread runs `action` before the others are released.
    pub fn with_action(parties: u32, action: &'static Entry<()>) -> io::Result<Barrier> {
        Ok(Barrier { action: Some(action), ..Barrier::new(parties)? })
    }

    /// Sets the timeout [`wait`](Self::wait) uses (CPython's `timeout` argument). It travels
    /// with the barrier to children.
    pub fn default_timeout(mut self, timeout: Duration) -> Barrier {
        self.timeout = Some(timeout);
        self
    }

    /// Waits for all parties, with the default timeout if one was set. Returns this thread's
    /// arrival index.
    pub fn wait(&self) -> Result<usize, LockError> {
        self.wait_until(self.timeout.and_then(deadline::after))
    }

    /// Waits for all parties at most `timeout`; past it, the barrier breaks.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, LockError> {
        self.wait_until(deadline::after(timeout))
    }

    fn phase(&self) -> u32 {
        self.cell.phase.load(Ordering::SeqCst)
    }

    fn set_phase(&self, phase: u32) {
        self.cell.phase.store(phase, Ordering::SeqCst);
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<usize, LockError> {
        let held = self.cond.lock();
        // Wait while the previous cycle drains or a reset completes (no timeout, as CPython).
        while matches!(self.phase(), DRAINING | RESETTING) {
            self.cond.wait()?;
        }
        if self.phase() == BROKEN {
            return Err(LockError::BrokenBarrier);
        }
        let index = self.cell.count.fetch_add(1, Ordering::SeqCst);
        let result = if index + 1 == self.parties {
            if let Some(action) = self.action {
                match panic::catch_unwind(AssertUnwindSafe(|| action.call_json("null"))) {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => {
                        self.break_barrier()?;
                        self.leave()?;
                        return Err(LockError::BrokenBarrier);
                    }
                    Err(panic) => {
                        self.break_barrier()?;
                        self.leave()?;
                        drop(held);
                        panic::resume_unwind(panic);
                    }
                }
            }
            self.set_phase(DRAINING);
            self.cond.notify_all()?;
            Ok(index as usize)
        } else {
            match self
                .cond
                .wait_for(|| self.phase() != FILLING, deadline.map(|d| d.saturating_duration_since(Instant::now())))
            {
                Ok(true) if self.phase() == DRAINING => Ok(index as usize),
                Ok(true) => Err(LockError::BrokenBarrier),
                Ok(false) => {
                    self.break_barrier()?;
                    Err(LockError::BrokenBarrier)
                }
                Err(e) => Err(e),
            }
        };
        self.leave()?;
        drop(held);
        result
    }

    /// The last thread out of a draining or resetting barrier makes it ready for a new cycle.
    fn leave(&self) -> Result<(), LockError> {
        let left = self.cell.count.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && matches!(self.phase(), DRAINING | RESETTING) {
            self.set_phase(FILLING);
            self.cond.notify_all()?;
        }
        Ok(())
    }

    fn break_barrier(&self) -> Result<(), LockError> {
        self.set_phase(BROKEN);
        self.cond.notify_all()
    }

    /// Back to the initial state: threads waiting now fail with [`LockError::BrokenBarrier`];
    /// a broken barrier becomes usable again.
    pub fn reset(&self) {
        let _held = self.cond.lock();
        if self.cell.count.load(Ordering::SeqCst) == 0 {
            self.set_phase(FILLING);
        } else if matches!(self.phase(), FILLING | BROKEN) {
            self.set_phase(RESETTING);
        }
        let _ = self.cond.notify_all();
    }

    /// Breaks the barrier: current and later waits fail until [`reset`](Self::reset).
    pub fn abort(&self) {
        let _held = self.cond.lock();
        let _ = self.break_barrier();
    }

    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// Threads waiting now (0 while the barrier drains, resets or is broken).
    pub fn n_waiting(&self) -> u32 {
        if self.phase() == FILLING { self.cell.count.load(Ordering::SeqCst) } else { 0 }
    }

    pub fn broken(&self) -> bool {
        self.phase() == BROKEN
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    cond: &'a Condition<Lock>,
    cell: &'a SharedCell<BarrierCell>,
    parties: u32,
    timeout: Option<Duration>,
    action: Option<&'static str>,
}

#[derive(Deserialize)]
struct WireIn {
    cond: Condition<Lock>,
    cell: SharedCell<BarrierCell>,
    parties: u32,
    timeout: Option<Duration>,
    action: Option<String>,
}

impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut {
            cond: &self.cond,
            cell: &self.cell,
            parties: self.parties,
            timeout: self.timeout,
            action: self.action.map(|a| a.name()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        let action = match w.action {
            None => None,
            Some(name) => Some(crate::entry::lookup(&name).ok_or_else(|| {
                D::Error::custom(format!("barrier action {name:?} is not registered in this program (see dispatch)"))
            })?),
        };
        Ok(Barrier { cond: w.cond, cell: w.cell, parties: w.parties, timeout: w.timeout, action })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static COUNT_RUN: Entry<()> = Entry::new("shared::barrier::tests::count_run", |()| {
        RUNS.fetch_add(1, Ordering::SeqCst);
    });
    static FAIL: Entry<()> = Entry::new("shared::barrier::tests::fail", |()| panic!("action failed"));

    #[test]
    fn lockstep_with_an_action_run_once_per_cycle() {
        let b = Barrier::with_action(3, &COUNT_RUN).expect("barrier");
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..5).map(|_| b.wait_timeout(Duration::from_secs(60))).collect::<Vec<_>>())
            })
            .collect();
        let mut indices: Vec<usize> =
            threads.into_iter().flat_map(|t| t.join().expect("thread")).map(|r| r.expect("not broken")).collect();
        indices.sort();
        assert_eq!(indices, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
        assert_eq!(RUNS.load(Ordering::SeqCst), 5);
        assert_eq!(b.n_waiting(), 0);
        assert!(!b.broken());
    }

    #[test]
    fn timeout_abort_and_reset() {
        let b = Barrier::new(2).expect("barrier").default_timeout(Duration::from_millis(30));
        let t = Instant::now();
        assert_eq!(b.wait(), Err(LockError::BrokenBarrier));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(b.broken());
        b.reset();
        assert!(!b.broken());
        let other = b.clone();
        let t = std::thread::spawn(move || other.wait_timeout(Duration::from_secs(60)));
        assert!(b.wait_timeout(Duration::from_secs(60)).is_ok());
        assert!(t.join().expect("thread").is_ok());
        b.abort();
        assert_eq!(b.wait_timeout(Duration::from_secs(60)), Err(LockError::BrokenBarrier));
    }

    #[test]
    fn a_panicking_action_breaks_it() {
        let b = Barrier::with_action(1, &FAIL).expect("barrier");
        let r = panic::catch_unwind(AssertUnwindSafe(|| b.wait()));
        assert!(r.is_err(), "the action's panic goes on");
        assert!(b.broken());
        assert!(!b.cond.lock_ref().is_locked(), "the lock was released on the way out");
    }
}
