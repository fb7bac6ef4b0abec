//! [`Barrier`]: `threading.Barrier`, a meeting point for a fixed number of threads.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::deadline;
use crate::error::LockError;

/// Where the barrier is in its cycle (CPython's `_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Threads arrive and wait.
    Filling,
    /// The last thread arrived: the waiters leave; newcomers wait until all have left.
    Draining,
    /// `reset` while threads waited: they leave with an error; newcomers wait.
    Resetting,
    /// Aborted, timed out or its action failed: every wait fails until `reset`.
    Broken,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Threads inside `wait`.
    count: usize,
}

type Action = Box<dyn Fn() + Send + Sync>;

/// `parties` threads call [`wait`](Self::wait); all block until the last arrives, then all
/// go on, each with a distinct index in `0..parties`. With an action, the last thread to
/// arrive runs it before releasing the others.
///
/// A barrier breaks (every current and later `wait` fails with [`LockError::BrokenBarrier`]
/// until [`reset`](Self::reset)) when [`abort`](Self::abort) is called, when a wait times
/// out, or when the action panics (the panic then goes on in the thread that ran it).
pub struct Barrier {
    parties: usize,
    action: Option<Action>,
    timeout: Option<Duration>,
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}

impl Barrier {
    /// A barrier for `parties` threads. Zero is taken as one, as `std::sync::Barrier` does
    /// (CPython 3.11 would hang; 3.13 raises `ValueError`).
    pub fn new(parties: usize) -> Barrier {
        Barrier {
            parties: parties.max(1),
            action: None,
            timeout: None,
            state: Mutex::new(State { phase: Phase::Filling, count: 0 }),
            changed: Condvar::new(),
        }
    }

    /// A barrier whose last arriving thread runs `action` before the others are released.
    pub fn with_action(parties: usize, action: impl Fn() + Send + Sync + 'static) -> Barrier {
        Barrier { action: Some(Box::new(action)), ..Barrier::new(parties) }
    }

    /// Sets the timeout [`wait`](Self::wait) uses (CPython's `timeout` argument).
    pub fn default_timeout(mut self, timeout: Duration) -> Barrier {
        self.timeout = Some(timeout);
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_change<'a>(&self, state: MutexGuard<'a, State>, deadline: Option<Instant>) -> MutexGuard<'a, State> {
        match deadline {
            None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
            }
        }
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

    fn wait_until(&self, deadline: Option<Instant>) -> Result<usize, LockError> {
        let mut state = self.state();
        // Wait while the previous cycle drains or a reset completes (no timeout: CPython's).
        while matches!(state.phase, Phase::Draining | Phase::Resetting) {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.phase == Phase::Broken {
            return Err(LockError::BrokenBarrier);
        }
        let index = state.count;
        state.count += 1;
        let result = if index + 1 == self.parties {
            if let Some(action) = &self.action
                && let Err(panic) = panic::catch_unwind(AssertUnwindSafe(action))
            {
                self.break_barrier(&mut state);
                self.leave(&mut state);
                drop(state);
                panic::resume_unwind(panic);
            }
            state.phase = Phase::Draining;
            self.changed.notify_all();
            Ok(index)
        } else {
            loop {
                if state.phase != Phase::Filling {
                    break if state.phase == Phase::Draining { Ok(index) } else { Err(LockError::BrokenBarrier) };
                }
                if deadline.is_some_and(|d| d <= Instant::now()) {
                    self.break_barrier(&mut state);
                    break Err(LockError::BrokenBarrier);
                }
                state = self.wait_change(state, deadline);
            }
        };
        self.leave(&mut state);
        result
    }

    /// The last thread out of a draining or resetting barrier makes it ready for a new cycle.
    fn leave(&self, state: &mut State) {
        state.count -= 1;
        if state.count == 0 && matches!(state.phase, Phase::Draining | Phase::Resetting) {
            state.phase = Phase::Filling;
            self.changed.notify_all();
        }
    }

    fn break_barrier(&self, state: &mut State) {
        state.phase = Phase::Broken;
        self.changed.notify_all();
    }

    /// Back to the initial state: threads waiting now fail with [`LockError::BrokenBarrier`];
    /// a broken barrier becomes usable again.
    pub fn reset(&self) {
        let mut state = self.state();
        if state.count == 0 {
            state.phase = Phase::Filling;
        } else if matches!(state.phase, Phase::Filling | Phase::Broken) {
            // Cleared when the last waiter leaves; a draining cycle finishes as it was.
            state.phase = Phase::Resetting;
        }
        self.changed.notify_all();
    }

    /// Breaks the barrier: current and later waits fail until [`reset`](Self::reset).
    pub fn abort(&self) {
        let mut state = self.state();
        self.break_barrier(&mut state);
    }

    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Threads waiting now (0 while the barrier drains, resets or is broken).
    pub fn n_waiting(&self) -> usize {
        let state = self.state();
        if state.phase == Phase::Filling { state.count } else { 0 }
    }

    pub fn broken(&self) -> bool {
        self.state().phase == Phase::Broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn run(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
        let f = Arc::new(f);
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let f = f.clone();
                std::thread::spawn(move || f(i))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
    }

    #[test]
    fn indices_are_distinct_and_the_action_runs_once_per_cycle() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let b = Arc::new(Barrier::with_action(4, move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b2, seen2) = (b.clone(), seen.clone());
        run(4, move |_| {
            for _ in 0..10 {
                let i = b2.wait_timeout(Duration::from_secs(30)).expect("not broken");
                seen2.lock().expect("seen").push(i);
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 10);
        let mut seen = seen.lock().expect("seen").clone();
        seen.sort();
        assert_eq!(seen, (0..4).flat_map(|i| std::iter::repeat_n(i, 10)).collect::<Vec<_>>());
    }

    #[test]
    fn a_timeout_breaks_it_for_everyone_until_reset() {
        let b = Barrier::new(2);
        let t = Instant::now();
        assert_eq!(b.wait_timeout(Duration::from_millis(30)), Err(LockError::BrokenBarrier));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(b.broken());
        assert_eq!(b.wait_timeout(Duration::from_secs(30)), Err(LockError::BrokenBarrier), "at once");
        b.reset();
        assert!(!b.broken());
        std::thread::scope(|s| {
            s.spawn(|| b.wait_timeout(Duration::from_secs(30)).expect("passes"));
            b.wait_timeout(Duration::from_secs(30)).expect("passes");
        });
    }

    #[test]
    fn a_panicking_action_breaks_it_and_the_panic_goes_on() {
        let b = Arc::new(Barrier::with_action(2, || panic!("action failed")));
        let b2 = b.clone();
        let other = std::thread::spawn(move || b2.wait_timeout(Duration::from_secs(30)));
        // Whichever thread arrives last runs the action and panics; the other is broken.
        let here = panic::catch_unwind(AssertUnwindSafe(|| b.wait_timeout(Duration::from_secs(30))));
        let there = other.join();
        let panics = usize::from(here.is_err()) + usize::from(there.is_err());
        assert_eq!(panics, 1);
        let broken = [here.ok(), there.ok()].into_iter().flatten().collect::<Vec<_>>();
        assert_eq!(broken, [Err(LockError::BrokenBarrier)]);
        assert!(b.broken());
    }

    #[test]
    fn zero_parties_is_one() {
        let b = Barrier::new(0);
        assert_eq!(b.parties(), 1);
        assert_eq!(b.wait(), Ok(0));
    }
}
