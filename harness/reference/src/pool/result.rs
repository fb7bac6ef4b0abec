//! The handle `apply_async`/`map_async` return ([`AsyncResult`]), its callbacks, and the
//! one-shot slot behind the blocking calls (`apply`, `map`).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::error::PoolError;

type OnSuccess<R> = Box<dyn FnOnce(&R) + Send>;
type OnError = Box<dyn FnOnce(&PoolError) + Send>;

/// What to call when a task finishes, like CPython's `callback` and `error_callback`. They run
/// in the pool's thread that received the result, before [`AsyncResult::get`] returns; a
/// panic in one is caught (and printed), so it cannot stop the pool.
pub struct Callbacks<R> {
    on_success: Option<OnSuccess<R>>,
    on_error: Option<OnError>,
}

impl<R> std::fmt::Debug for Callbacks<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("callback", &self.on_success.is_some())
            .field("error_callback", &self.on_error.is_some())
            .finish()
    }
}

impl<R> Default for Callbacks<R> {
    fn default() -> Self {
        Callbacks { on_success: None, on_error: None }
    }
}

impl<R> Callbacks<R> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called with the value when the task succeeds.
    pub fn callback(mut self, f: impl FnOnce(&R) + Send + 'static) -> Self {
        self.on_success = Some(Box::new(f));
        self
    }

    /// Called with the error when the task fails.
    pub fn error_callback(mut self, f: impl FnOnce(&PoolError) + Send + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    fn run(self, result: &Result<R, PoolError>) {
        let outcome = match result {
            Ok(v) => self.on_success.map(|f| crate::entry::run_caught(|| f(v))),
            Err(e) => self.on_error.map(|f| crate::entry::run_caught(|| f(e))),
        };
        if let Some(Err(panic)) = outcome {
            eprintln!("procthread: a pool callback panicked: {panic}");
        }
    }
}

/// Where a finished task's result goes: an [`AsyncResult`] or a blocking call's one-shot.
/// Dropping it unfinished (a task discarded by `terminate`) finishes it with
/// [`PoolError::Terminated`].
pub(crate) trait Finish<T>: Send {
    fn finish(self: Box<Self>, result: Result<T, PoolError>);
}

#[derive(Debug)]
struct Slot<R> {
    value: OnceLock<Result<R, PoolError>>,
    ready: Mutex<bool>,
    changed: Condvar,
}

/// The future result of a task (or of a whole `map_async`). [`get`](Self::get) waits for it,
/// with an optional timeout, and can be called any number of times: it returns the same value
/// each time (by reference; the result stays in the handle). A timeout leaves the task running
/// and the handle usable.
#[derive(Debug)]
pub struct AsyncResult<R> {
    slot: Arc<Slot<R>>,
}

/// The pool's side of an [`AsyncResult`].
pub(crate) struct Completer<R> {
    slot: Option<Arc<Slot<R>>>,
    callbacks: Option<Callbacks<R>>,
}

pub(crate) fn pending<R>(callbacks: Callbacks<R>) -> (AsyncResult<R>, Completer<R>) {
    let slot = Arc::new(Slot { value: OnceLock::new(), ready: Mutex::new(false), changed: Condvar::new() });
    (AsyncResult { slot: slot.clone() }, Completer { slot: Some(slot), callbacks: Some(callbacks) })
}

impl<R> Completer<R> {
    pub(crate) fn complete(mut self, result: Result<R, PoolError>) {
        self.fill(result);
    }

    fn fill(&mut self, result: Result<R, PoolError>) {
        let Some(slot) = self.slot.take() else { return };
        let _ = slot.value.set(result);
        // CPython runs the callback before the result reads as ready.
        if let (Some(cb), Some(value)) = (self.callbacks.take(), slot.value.get()) {
            cb.run(value);
        }
        *lock(&slot.ready) = true;
        slot.changed.notify_all();
    }
}

impl<R: Send + Sync> Finish<R> for Completer<R> {
    fn finish(self: Box<Self>, result: Result<R, PoolError>) {
        self.complete(result);
    }
}

impl<R> Drop for Completer<R> {
    fn drop(&mut self) {
        self.fill(Err(PoolError::Terminated));
    }
}

fn lock(m: &Mutex<bool>) -> MutexGuard<'_, bool> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits on `changed` until `done(state)` or the deadline; a deadline too far for the clock
/// (`None` from `checked_add`) waits for ever.
pub(crate) fn wait_until<'a, T>(
    m: &'a Mutex<T>,
    changed: &Condvar,
    timeout: Option<Duration>,
    mut done: impl FnMut(&T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if done(&g) {
            return (g, true);
        }
        g = match deadline {
            None => changed.wait(g).unwrap_or_else(|p| p.into_inner()),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (g, false);
                }
                changed.wait_timeout(g, left).unwrap_or_else(|p| p.into_inner()).0
            }
        };
    }
}

impl<R> AsyncResult<R> {
    /// Whether the task has finished (successfully or not).
    pub fn ready(&self) -> bool {
        *lock(&self.slot.ready)
    }

    /// Waits until the task has finished or `timeout` passes (`None`: as long as it takes);
    /// returns [`ready`](Self::ready). A timeout too long for the clock waits for ever.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        wait_until(&self.slot.ready, &self.slot.changed, timeout, |r| *r).1
    }

    /// Whether the task succeeded; [`PoolError::NotReady`] before it finished (CPython raises
    /// `ValueError` then).
    pub fn successful(&self) -> Result<bool, PoolError> {
        match (self.ready(), self.slot.value.get()) {
            (true, Some(r)) => Ok(r.is_ok()),
            _ => Err(PoolError::NotReady),
        }
    }

    /// The task's value, or its error (panic, error value, dead worker, terminated pool),
    /// waiting at most `timeout` (`None`: as long as it takes) before [`PoolError::Timeout`].
    /// Every call returns the same result.
    pub fn get(&self, timeout: Option<Duration>) -> Result<&R, PoolError> {
        if !self.wait(timeout) {
            return Err(PoolError::Timeout(timeout.unwrap_or_default()));
        }
        match self.slot.value.get() {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(PoolError::Terminated),
        }
    }
}

/// The slot behind a blocking call: the value is taken (moved out) once.
#[derive(Debug)]
pub(crate) struct OneShot<T> {
    state: Mutex<Option<Result<T, PoolError>>>,
    changed: Condvar,
}

/// The sending side of a [`OneShot`]; dropped unfinished, it finishes with `Terminated`.
pub(crate) struct OneShotTx<T> {
    shot: Option<Arc<OneShot<T>>>,
}

pub(crate) fn oneshot<T>() -> (Arc<OneShot<T>>, OneShotTx<T>) {
    let shot = Arc::new(OneShot { state: Mutex::new(None), changed: Condvar::new() });
    (shot.clone(), OneShotTx { shot: Some(shot) })
}

impl<T> OneShot<T> {
    /// Waits for the result and takes it.
    pub(crate) fn take(&self) -> Result<T, PoolError> {
        let (mut g, _) = wait_until(&self.state, &self.changed, None, |s| s.is_some());
        g.take().unwrap_or(Err(PoolError::Terminated))
    }
}

impl<T> OneShotTx<T> {
    fn fill(&mut self, result: Result<T, PoolError>) {
        if let Some(shot) = self.shot.take() {
            *shot.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            shot.changed.notify_all();
        }
    }
}

impl<T: Send> Finish<T> for OneShotTx<T> {
    fn finish(mut self: Box<Self>, result: Result<T, PoolError>) {
        self.fill(result);
    }
}

impl<T> Drop for OneShotTx<T> {
    fn drop(&mut self) {
        self.fill(Err(PoolError::Terminated));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_times_out_then_returns_the_same_value_every_time() {
        let (result, completer) = pending::<i32>(Callbacks::new());
        assert_eq!(result.get(Some(Duration::from_millis(10))), Err(PoolError::Timeout(Duration::from_millis(10))));
        assert_eq!(result.successful(), Err(PoolError::NotReady));
        completer.complete(Ok(7));
        assert_eq!(result.get(None), Ok(&7));
        assert_eq!(result.get(Some(Duration::MAX)), Ok(&7));
        assert_eq!(result.successful(), Ok(true));
    }

    #[test]
    fn a_dropped_completer_reads_as_terminated() {
        let (result, completer) = pending::<i32>(Callbacks::new());
        drop(completer);
        assert_eq!(result.get(None), Err(PoolError::Terminated));
        assert_eq!(result.successful(), Ok(false));
    }

    #[test]
    fn callbacks_run_before_ready_and_a_panicking_one_is_contained() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let (ok, c) = pending::<i32>(Callbacks::new().callback(move |v| s.lock().expect("lock").push(*v)));
        c.complete(Ok(3));
        assert!(ok.ready());
        assert_eq!(*seen.lock().expect("lock"), vec![3]);
        let (bad, c) = pending::<i32>(Callbacks::new().error_callback(|_| panic!("callback broke")));
        c.complete(Err(PoolError::Closed));
        assert_eq!(bad.get(None), Err(PoolError::Closed));
    }

    #[test]
    fn wait_with_duration_max_does_not_panic() {
        let (result, completer) = pending::<()>(Callbacks::new());
        let t = std::thread::spawn(move || completer.complete(Ok(())));
        assert!(result.wait(Some(Duration::MAX)));
        t.join().expect("thread");
    }
}
