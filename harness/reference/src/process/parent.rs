//! `parent_process()`: a child's view of the process that started it.
//!
//! Every process that starts children keeps one liveness token for them: on Unix a pipe whose
//! write end only it holds (a child sees end-of-file when the parent is gone), on Windows a
//! handle to itself (signaled when it exits). A child inherits the token and waits on it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::os::ParentWatch;

/// The process that started this one, as CPython's `multiprocessing.parent_process()`.
#[derive(Debug)]
pub struct ParentProcess {
    pid: u32,
    name: String,
    watch: ParentWatch,
}

impl ParentProcess {
    pub(crate) fn new(pid: u32, name: String, watch: ParentWatch) -> Self {
        ParentProcess { pid, name, watch }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The parent's process name (`MainProcess`, or the name it was started with).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the parent is still running.
    pub fn is_alive(&self) -> bool {
        matches!(self.watch.wait_gone(Some(Duration::ZERO)), Ok(false))
    }

    /// Waits until the parent ends or `timeout` passes (`None`: for ever); `true` if it ended.
    /// A timeout too long for the clock waits for ever.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        self.watch.wait_gone(timeout).unwrap_or(true)
    }
}

/// `(owner pid, parent)`: a forked child finds its parent's entry here and replaces it.
static PARENT: Mutex<(u32, Option<Arc<ParentProcess>>)> = Mutex::new((0, None));

fn lock() -> MutexGuard<'static, (u32, Option<Arc<ParentProcess>>)> {
    let mut p = PARENT.lock().unwrap_or_else(|e| e.into_inner());
    if p.0 != std::process::id() {
        // Inherited through fork: the watch handle was closed by the fork (or numbers
        // something else now), so it is forgotten, not dropped.
        std::mem::forget(p.1.take());
        p.0 = std::process::id();
    }
    p
}

/// Records this process's parent (in a child, at start-up).
pub(crate) fn set(parent: ParentProcess) {
    lock().1 = Some(Arc::new(parent));
}

/// The process that started this one, or `None` in a process not started by this crate (the
/// main process). Holding it does not keep the parent alive.
pub fn parent_process() -> Option<Arc<ParentProcess>> {
    lock().1.clone()
}

/// In a forked child, first thing: forget the inherited parent record (see [`lock`]).
#[cfg(unix)]
pub(crate) fn forget_inherited() {
    drop(lock());
}
