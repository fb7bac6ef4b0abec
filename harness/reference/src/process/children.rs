//! `active_children()`: the processes this process started and has not yet seen end.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::started::Started;
use crate::error::ProcessError;

/// The children started by the process whose pid is `owner` (a forked child finds its
/// parent's list here and must not treat it as its own).
struct Registry {
    owner: u32,
    children: Vec<Arc<Started>>,
}

static CHILDREN: Mutex<Registry> = Mutex::new(Registry { owner: 0, children: Vec::new() });

fn lock() -> MutexGuard<'static, Registry> {
    let mut r = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if r.owner != me {
        // Inherited through fork: those children are the parent's, and their handles were
        // closed by the fork (or now number something else), so they are forgotten, not dropped.
        std::mem::forget(std::mem::take(&mut r.children));
        r.owner = me;
    }
    r
}

pub(crate) fn add(child: Arc<Started>) {
    lock().children.push(child);
}

/// Drops `child` from the list (it ended, or its process object was closed).
pub(crate) fn forget(child: &Started) {
    lock().children.retain(|c| !std::ptr::eq(Arc::as_ptr(c), child));
}

/// In a forked child, first thing: forget the parent's children (see [`lock`]).
#[cfg(unix)]
pub(crate) fn forget_inherited() {
    drop(lock());
}

/// The processes this process started that are still running, as CPython's
/// `multiprocessing.active_children()`: each child is polled, and those that ended are reaped
/// (their exit code is then known to their [`Process`](crate::Process)) and left out.
///
/// Pool workers are not listed: the pool owns them.
pub fn active_children() -> Vec<ChildProcess> {
    let list: Vec<Arc<Started>> = lock().children.clone();
    list.into_iter().filter(|c| matches!(c.poll(), Ok(None))).map(|started| ChildProcess { started }).collect()
}

/// A running child as listed by [`active_children`]: a second handle on a started
/// [`Process`](crate::Process), with the same operations.
#[derive(Debug, Clone)]
pub struct ChildProcess {
    started: Arc<Started>,
}

impl ChildProcess {
    pub fn pid(&self) -> u32 {
        self.started.pid()
    }

    pub fn name(&self) -> &str {
        self.started.name()
    }

    pub fn is_daemon(&self) -> bool {
        self.started.daemon()
    }

    /// `None` while running, then the exit code (minus the signal number on Unix).
    pub fn exitcode(&self) -> Option<i32> {
        self.started.poll().ok().flatten()
    }

    pub fn is_alive(&self) -> bool {
        matches!(self.started.poll(), Ok(None))
    }

    /// Waits for the child to end and returns its exit code.
    pub fn join(&self) -> Result<i32, ProcessError> {
        loop {
            if let Some(code) = self.wait(None)? {
                return Ok(code);
            }
        }
    }

    /// Waits at most `timeout`; `None` if the child is still running. A timeout too long for
    /// the clock (`Duration::MAX`) waits for ever.
    pub fn join_timeout(&self, timeout: Duration) -> Result<Option<i32>, ProcessError> {
        self.wait(Some(timeout))
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<Option<i32>, ProcessError> {
        self.started.wait(timeout).map_err(|source| ProcessError::Wait { name: self.name().to_string(), source })
    }

    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.started.signal(false).map_err(|source| ProcessError::Signal { name: self.name().to_string(), source })
    }

    pub fn kill(&self) -> Result<(), ProcessError> {
        self.started.signal(true).map_err(|source| ProcessError::Signal { name: self.name().to_string(), source })
    }

    pub(crate) fn started(&self) -> &Started {
        &self.started
    }
}
