//! `wait()`: block until any of several processes ends, like CPython's
//! `multiprocessing.connection.wait` over process sentinels.
//!
//! What is waited on, per OS: on Linux each child's pidfd (readable once it exits); on other
//! Unix systems (and Linux before 5.3) each child's status pipe, which reaches end-of-file when
//! the child exits; on Windows each child's process handle, with `WaitForMultipleObjects`.

use std::time::{Duration, Instant};

use super::Process;
use super::children::ChildProcess;
use super::started::{Observed, Started};
use crate::error::ProcessError;
use crate::os;

/// The longest one blocking call lasts when some handle is a status pipe (see `started.rs`).
const PIPE_WAIT_CAP: Duration = Duration::from_millis(50);

mod sealed {
    pub trait Sealed {}
}

/// A started child, as [`Waitable`] hands it to [`wait`] (opaque).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Target<'a>(&'a Started);

/// Something [`wait`] can wait on: a started [`Process`] or a [`ChildProcess`].
pub trait Waitable: sealed::Sealed {
    #[doc(hidden)]
    fn target(&self) -> Result<Target<'_>, ProcessError>;
}

impl sealed::Sealed for Process {}
impl Waitable for Process {
    fn target(&self) -> Result<Target<'_>, ProcessError> {
        self.started_ref().map(Target)
    }
}

impl sealed::Sealed for ChildProcess {}
impl Waitable for ChildProcess {
    fn target(&self) -> Result<Target<'_>, ProcessError> {
        Ok(Target(ChildProcess::started(self)))
    }
}

/// Waits until at least one of `processes` has ended, or `timeout` passes (`None`: for ever;
/// a timeout too long for the clock also waits for ever). Returns those that have ended, in
/// the order given; empty at the timeout. Waiting does not join: call `join` (which returns at
/// once then) for the exit code.
///
/// A process not yet started, or closed, is an error, as CPython's `sentinel` raises.
pub fn wait<'a, W: Waitable + ?Sized>(
    processes: &[&'a W],
    timeout: Option<Duration>,
) -> Result<Vec<&'a W>, ProcessError> {
    let started: Vec<&Started> = processes.iter().map(|p| p.target().map(|t| t.0)).collect::<Result<_, _>>()?;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let forever = deadline.is_none();
    let pick = |ready: Vec<usize>| ready.into_iter().map(|i| processes[i]).collect();
    loop {
        let mut ready = Vec::new();
        for (i, s) in started.iter().enumerate() {
            let ended = s.known_ended() || s.poll().map_err(|e| wait_error(s, e))?.is_some();
            if ended {
                ready.push(i);
            }
        }
        if !ready.is_empty() {
            return Ok(pick(ready));
        }
        let left = if forever { None } else { os::remaining(deadline) };
        if left.is_some_and(|l| l.is_zero()) {
            return Ok(Vec::new());
        }
        let handles: Vec<(os::BorrowedOs<'_>, bool)> = started.iter().map(|s| s.wait_handle()).collect();
        let left =
            if handles.iter().all(|h| h.1) { left } else { Some(left.map_or(PIPE_WAIT_CAP, |l| l.min(PIPE_WAIT_CAP))) };
        let raw: Vec<os::BorrowedOs<'_>> = handles.iter().map(|h| h.0).collect();
        let signaled =
            os::wait_handles(&raw, left).map_err(|e| ProcessError::Wait { name: "wait".into(), source: e })?;
        for i in signaled {
            let ended = handles[i].1 || matches!(started[i].after_readable(), Observed::Ended);
            if ended {
                ready.push(i);
            }
        }
        if !ready.is_empty() {
            return Ok(pick(ready));
        }
    }
}

fn wait_error(s: &Started, source: std::io::Error) -> ProcessError {
    ProcessError::Wait { name: s.name().to_string(), source }
}
