//! The pending-task queue shared by a pool's workers: FIFO, closable, terminable.
//!
//! An `imap` iterator submits its items lazily, a few chunks ahead of its reader; while it
//! lives it is a *producer*, and workers wait for its chunks even after `close`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::PoolError;

#[derive(Debug)]
struct State<J> {
    pending: VecDeque<J>,
    closed: bool,
    terminated: bool,
    producers: usize,
}

#[derive(Debug)]
pub(crate) struct Jobs<J> {
    state: Mutex<State<J>>,
    changed: Condvar,
}

impl<J> Jobs<J> {
    pub(crate) fn new() -> Self {
        Jobs {
            state: Mutex::new(State { pending: VecDeque::new(), closed: false, terminated: false, producers: 0 }),
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

    /// Pushes a job for a live producer: allowed after `close`, not after `terminate`.
    pub(crate) fn push_produced(&self, job: J) -> Result<(), PoolError> {
        let mut s = self.lock();
        if s.terminated {
            return Err(PoolError::Terminated);
        }
        s.pending.push_back(job);
        drop(s);
        self.changed.notify_one();
        Ok(())
    }

    /// Registers a producer; `false` (not registered) if the queue is closed or terminated.
    pub(crate) fn add_producer(&self) -> bool {
        let mut s = self.lock();
        if s.closed || s.terminated {
            return false;
        }
        s.producers += 1;
        true
    }

    pub(crate) fn remove_producer(&self) {
        let mut s = self.lock();
        s.producers = s.producers.saturating_sub(1);
        drop(s);
        self.changed.notify_all();
    }

    /// The next job, waiting for one; `None` once the queue is closed, drained and without
    /// producers, or terminated.
    pub(crate) fn next(&self) -> Option<J> {
        let mut s = self.lock();
        loop {
            if s.terminated {
                return None;
            }
            if let Some(job) = s.pending.pop_front() {
                return Some(job);
            }
            if s.closed && s.producers == 0 {
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
