//! The pending-task queue shared by a pool's workers: FIFO, closable, terminable.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::PoolError;

#[derive(Debug)]
struct State<J> {
    pending: VecDeque<J>,
    closed: bool,
    terminated: bool,
}

#[derive(Debug)]
pub(crate) struct Jobs<J> {
    state: Mutex<State<J>>,
    changed: Condvar,
}

impl<J> Jobs<J> {
    pub(crate) fn new() -> Self {
        Jobs {
            state: Mutex::new(State { pending: VecDeque::new(), closed: false, terminated: false }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<J>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn push(&self, job: J) -> Result<(), PoolError> {
        let mut s = self.lock();
        if s.closed || s.terminated {
            return Err(PoolError::Closed);
        }
        s.pending.push_back(job);
        drop(s);
        self.changed.notify_one();
        Ok(())
    }

    /// The next job, waiting for one; `None` once the queue is closed and drained, or terminated.
    pub(crate) fn next(&self) -> Option<J> {
        let mut s = self.lock();
        loop {
            if s.terminated {
                return None;
            }
            if let Some(job) = s.pending.pop_front() {
                return Some(job);
            }
            if s.closed {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        let s = self.lock();
        s.closed || s.terminated
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.lock().terminated
    }

    /// Stops handing out jobs and returns the ones never started (the caller drops them).
    pub(crate) fn terminate(&self) -> Vec<J> {
        let mut s = self.lock();
        s.terminated = true;
        let left = s.pending.drain(..).collect();
        drop(s);
        self.changed.notify_all();
        left
    }
}
