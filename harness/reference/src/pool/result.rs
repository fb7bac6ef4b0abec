//! The handle `apply_async` returns, and the one-shot slot behind it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::PoolError;

#[derive(Debug)]
enum State<R> {
    Pending,
    Done(Result<R, PoolError>),
    Taken,
}

#[derive(Debug)]
struct Slot<R> {
    state: Mutex<State<R>>,
    changed: Condvar,
}

/// The future result of one task. [`get`](Self::get) waits for it, with an optional timeout;
/// a timeout leaves the task running and the handle usable, and the value can be taken once.
#[derive(Debug)]
pub struct AsyncResult<R> {
    slot: Arc<Slot<R>>,
}

/// The pool's side of an [`AsyncResult`]. Dropping it unfulfilled (a task discarded by
/// `terminate`) completes the handle with [`PoolError::Terminated`].
#[derive(Debug)]
pub(crate) struct Completer<R> {
    slot: Option<Arc<Slot<R>>>,
}

pub(crate) fn pending<R>() -> (AsyncResult<R>, Completer<R>) {
    let slot = Arc::new(Slot { state: Mutex::new(State::Pending), changed: Condvar::new() });
    (AsyncResult { slot: slot.clone() }, Completer { slot: Some(slot) })
}

impl<R> Completer<R> {
    pub(crate) fn complete(mut self, result: Result<R, PoolError>) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, result);
        }
    }
}

impl<R> Drop for Completer<R> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, Err(PoolError::Terminated));
        }
    }
}

fn fill<R>(slot: &Slot<R>, result: Result<R, PoolError>) {
    *lock(slot) = State::Done(result);
    slot.changed.notify_all();
}

fn lock<R>(slot: &Slot<R>) -> MutexGuard<'_, State<R>> {
    slot.state.lock().unwrap_or_else(|p| p.into_inner())
}

impl<R> AsyncResult<R> {
    /// Whether the task has finished (successfully or not).
    pub fn ready(&self) -> bool {
        !matches!(*lock(&self.slot), State::Pending)
    }

    /// Waits until the task has finished or `timeout` passes; returns [`ready`](Self::ready).
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = lock(&self.slot);
        while matches!(*state, State::Pending) {
            state = match deadline {
                None => self.slot.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.slot.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
        true
    }

    /// The task's value, or its error (panic, dead worker, terminated pool), waiting at most
    /// `timeout` (`None`: as long as it takes) before [`PoolError::Timeout`].
    pub fn get(&self, timeout: Option<Duration>) -> Result<R, PoolError> {
        if !self.wait(timeout) {
            return Err(PoolError::Timeout(timeout.unwrap_or_default()));
        }
        match std::mem::replace(&mut *lock(&self.slot), State::Taken) {
            State::Done(result) => result,
            State::Taken => Err(PoolError::AlreadyTaken),
            State::Pending => unreachable!("wait returned true"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_times_out_then_succeeds_once() {
        let (result, completer) = pending::<i32>();
        assert_eq!(result.get(Some(Duration::from_millis(10))), Err(PoolError::Timeout(Duration::from_millis(10))));
        completer.complete(Ok(7));
        assert_eq!(result.get(None), Ok(7));
        assert_eq!(result.get(None), Err(PoolError::AlreadyTaken));
    }

    #[test]
    fn a_dropped_completer_reads_as_terminated() {
        let (result, completer) = pending::<i32>();
        drop(completer);
        assert_eq!(result.get(None), Err(PoolError::Terminated));
    }
}
