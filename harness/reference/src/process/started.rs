//! The shared state of a started child: how to wait for it, signal it, and what it reported.
//!
//! Several holders may look at one child at once (its [`Process`](crate::Process), the handles
//! [`active_children`](crate::active_children) gives out, a [`wait`](crate::wait) over several
//! processes), from several threads. The state lock is never held while blocking: a waiter
//! blocks on the child's exit handle (a pidfd on Linux, the process handle on Windows) or on its
//! status pipe, then takes the lock only to reap.

use std::io::{self, PipeReader, Read};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::entry::Report;
use crate::framing;
use crate::os::{self, ChildProc};

/// The longest a waiter blocks on a status pipe before checking the pid itself: a status pipe
/// reaches end-of-file at exit unless a process the child forked behind our back holds a copy.
const PIPE_WAIT_CAP: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub(crate) struct Started {
    name: String,
    daemon: bool,
    child: ChildProc,
    /// The child's end writes a [`Report`] here if its entry panics; end-of-file at its exit.
    status: PipeReader,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    exitcode: Option<i32>,
    /// What arrived on the status pipe so far.
    report: Vec<u8>,
    /// The status pipe reached end-of-file: the child is gone or about to be.
    status_eof: bool,
    panic: Option<String>,
}

/// What a wait observed on a child's handle.
pub(crate) enum Observed {
    /// The child has ended: join it.
    Ended,
    /// Not yet.
    Running,
}

impl Started {
    pub(crate) fn new(name: String, daemon: bool, child: ChildProc, status: PipeReader) -> Started {
        // The pipe is drained without blocking (a child's grandchild may hold a copy of it).
        let _ = os::set_nonblocking(&status);
        Started { name, daemon, child, status, state: Mutex::new(State::default()) }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn daemon(&self) -> bool {
        self.daemon
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.pid()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn panic_message(&self) -> Option<String> {
        self.lock().panic.clone()
    }

    /// The exit code if the child has ended (reaping it then), without blocking.
    pub(crate) fn poll(&self) -> io::Result<Option<i32>> {
        let mut s = self.lock();
        if s.exitcode.is_some() {
            return Ok(s.exitcode);
        }
        let Some(code) = self.child.try_reap()? else {
            return Ok(None);
        };
        s.exitcode = Some(code);
        self.drain(&mut s);
        if let Ok(body) = framing::read_frame(&s.report[..], 1 << 16) {
            s.panic = framing::decode::<Report>(&body).ok().and_then(|r| r.panic);
        }
        drop(s);
        super::children::forget(self);
        Ok(Some(code))
    }

    /// Reads what the status pipe holds now, without blocking.
    fn drain(&self, s: &mut State) {
        let mut buf = [0u8; 4096];
        loop {
            match (&self.status).read(&mut buf) {
                Ok(0) => {
                    s.status_eof = true;
                    return;
                }
                // A report is a few kilobytes at most; more is not ours to keep.
                Ok(n) if s.report.len() < 1 << 17 => s.report.extend_from_slice(&buf[..n]),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return, // would block (nothing more yet), or a broken pipe
            }
        }
    }

    /// Waits until the child ends or the timeout passes (`None`: for ever); its exit code or
    /// `None` at the timeout. A timeout too large to add to the clock waits for ever.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> io::Result<Option<i32>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let forever = deadline.is_none();
        let mut pause = Duration::from_micros(50);
        loop {
            if let Some(code) = self.poll()? {
                return Ok(Some(code));
            }
            let left = os::remaining(deadline);
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(None);
            }
            if self.lock().status_eof {
                // The child is exiting: the pid is reapable in a moment.
                std::thread::sleep(left.map_or(pause, |l| l.min(pause)));
                pause = os::next_backoff(pause);
                continue;
            }
            let _ = self.block(if forever { None } else { left })?;
        }
    }

    /// Blocks on the child's waitable handle until it may have ended or `left` passes.
    fn block(&self, left: Option<Duration>) -> io::Result<Observed> {
        match self.child.exit_handle() {
            Some(h) => {
                let ready = os::wait_handles(&[h], left)?;
                Ok(if ready.is_empty() { Observed::Running } else { Observed::Ended })
            }
            None => {
                let cap = left.map_or(PIPE_WAIT_CAP, |l| l.min(PIPE_WAIT_CAP));
                let ready = os::wait_handles(&[os::borrow(&self.status)], Some(cap))?;
                if ready.is_empty() {
                    return Ok(Observed::Running);
                }
                Ok(self.after_readable())
            }
        }
    }

    /// The handle to block on in a wait over several children, and whether readiness of that
    /// handle means the child ended (an exit handle) or only that its status pipe has news.
    pub(crate) fn wait_handle(&self) -> (os::BorrowedOs<'_>, bool) {
        match self.child.exit_handle() {
            Some(h) => (h, true),
            None => (os::borrow(&self.status), false),
        }
    }

    /// After the status pipe polled readable: keeps what arrived and says whether it ended.
    pub(crate) fn after_readable(&self) -> Observed {
        let mut s = self.lock();
        self.drain(&mut s);
        if s.status_eof || s.exitcode.is_some() { Observed::Ended } else { Observed::Running }
    }

    /// Whether the child is known to have ended (or to be ending), without a system call.
    pub(crate) fn known_ended(&self) -> bool {
        let s = self.lock();
        s.exitcode.is_some() || s.status_eof
    }

    /// Signals the child unless it was already reaped (its pid may be someone else's then).
    pub(crate) fn signal(&self, kill: bool) -> io::Result<()> {
        let s = self.lock();
        if s.exitcode.is_some() {
            return Ok(());
        }
        // The lock is held: nobody reaps the child while we signal it.
        if kill { self.child.kill() } else { self.child.terminate() }
    }
}
