//! [`Event`]: `threading.Event`, a flag threads wait for.

use crate::deadline;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A flag, initially false, that threads can wait to become true.
///
/// As in CPython, a `wait` that was woken by [`set`](Self::set) returns `true` even if the flag
/// was cleared again before the waiter ran (gh-57711).
#[derive(Debug, Default)]
struct State {
    flag: bool,
    /// How many times it was set, so that a waiter knows it was set since it began.
    generation: u64,
    /// Threads waiting: `set` wakes only if there are (a wake is a system call).
    waiters: usize,
}

#[derive(Debug, Default)]
pub struct Event {
    state: Mutex<State>,
    changed: Condvar,
}

impl Event {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_set(&self) -> bool {
        self.state().flag
    }

    /// Sets the flag and wakes every waiting thread.
    pub fn set(&self) {
        let mut state = self.state();
        state.flag = true;
        state.generation = state.generation.wrapping_add(1);
        let waiters = state.waiters;
        drop(state);
        if waiters > 0 {
            self.changed.notify_all();
        }
    }

    pub fn clear(&self) {
        self.state().flag = false;
    }

    /// Waits until the flag is set.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout` for the flag: `true` if it was set (or is), `false` on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline::after(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.state();
        if state.flag {
            return true;
        }
        let generation = state.generation;
        while state.generation == generation {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            state.waiters += 1;
            state = match left {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(left) => self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0,
            };
            state.waiters -= 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn set_wakes_every_waiter_even_if_cleared_at_once() {
        let e = Arc::new(Event::new());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let e = e.clone();
                std::thread::spawn(move || e.wait_timeout(Duration::from_secs(30)))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30));
        e.set();
        e.clear();
        for w in waiters {
            assert!(w.join().expect("waiter"));
        }
        assert!(!e.is_set());
    }

    #[test]
    fn a_timeout_is_false_and_a_set_flag_returns_at_once() {
        let e = Event::new();
        let t = Instant::now();
        assert!(!e.wait_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        e.set();
        assert!(e.wait_timeout(Duration::ZERO));
        e.wait();
    }
}
