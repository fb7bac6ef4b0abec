//! `fork()`: one call, two returns (Unix only).

use std::io::{self, Write};

use nix::unistd::ForkResult;

use crate::error::ProcessError;
use crate::os::{self, OsChild};

/// Where [`fork`] returned.
#[derive(Debug)]
pub enum Fork {
    /// In the parent, with the new child.
    Parent(ForkedChild),
    /// In the child.
    Child,
}

/// A child made by [`fork`]: wait for it to learn its exit code (or minus its signal).
#[derive(Debug)]
pub struct ForkedChild {
    child: OsChild,
}

impl ForkedChild {
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Waits for the child and returns its exit code, or minus the signal that ended it.
    pub fn wait(&mut self) -> io::Result<i32> {
        self.child.wait()
    }

    /// The exit code if the child has ended, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<i32>> {
        self.child.try_wait()
    }

    /// Sends SIGTERM (nothing once the child was waited for: its pid may be reused).
    pub fn terminate(&self) -> io::Result<()> {
        self.child.terminate()
    }

    /// Sends SIGKILL (nothing once the child was waited for).
    pub fn kill(&self) -> io::Result<()> {
        self.child.kill()
    }
}

/// Forks the current process: returns [`Fork::Parent`] in the parent and [`Fork::Child`] in the child.
///
/// # Fork safety
/// Fork only from a single-threaded process. A child forked from a multi-threaded process holds
/// copies of every lock as it was at that instant, including locks that other threads held
/// (the allocator's, stdout's); the child may deadlock on the first `println!` or allocation.
/// Thread pools (rayon's included) are dead in the child: their threads were not copied.
/// Where the OS tells the thread count cheaply (Linux), this function checks it and returns
/// [`ProcessError::ForkUnsafe`] instead of forking; elsewhere the caller must ensure it.
///
/// Stdout and stderr are flushed before forking, so buffered text is not printed twice.
/// End the child with [`exit_child`] so that the parent's `atexit` handlers do not run in it.
pub fn fork() -> Result<Fork, ProcessError> {
    ensure_single_threaded()?;
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: the process is single-threaded (checked above where the OS allows), so the child
    // inherits no lock held by another thread.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Fork::Parent(ForkedChild { child: OsChild::from_pid(child.as_raw()) })),
        Ok(ForkResult::Child) => Ok(Fork::Child),
        Err(e) => Err(ProcessError::Start { name: "fork".into(), source: e.into() }),
    }
}

/// Ends a forked child at once with `code`, after flushing stdout and stderr; runs no `atexit`
/// handler and no destructor of the parent's objects.
pub fn exit_child(code: i32) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: `_exit` ends the process at once; it is async-signal-safe and has no preconditions.
    unsafe { libc::_exit(code) }
}

pub(crate) fn ensure_single_threaded() -> Result<(), ProcessError> {
    // A thread just joined can still be counted for a few microseconds: joining returns when
    // the thread's stack is released, a little before the kernel drops it from the count. A
    // live thread stays counted, so a short grace period refuses it all the same.
    let mut threads = 0;
    for attempt in 0..50 {
        match os::thread_count() {
            Some(n) if n > 1 => threads = n,
            _ => return Ok(()),
        }
        if attempt < 49 {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }
    Err(ProcessError::ForkUnsafe { threads })
}

/// Forks a child that runs `body` and exits with the code it returns; stray descriptors other
/// than stdio and `keep` are closed in the child first, and the process-wide records that
/// held them are forgotten ([`after_fork_in_child`]).
pub(crate) fn fork_running(keep: &[u64], body: impl FnOnce() -> i32) -> Result<OsChild, ProcessError> {
    match fork()? {
        Fork::Parent(child) => Ok(child.child),
        Fork::Child => {
            os::close_fds_except(keep);
            after_fork_in_child();
            let code = body();
            // `_exit` runs no `atexit` handler: what the child put waits here to reach its
            // queues, as CPython's child joins its feeder threads before `os._exit`.
            crate::queue::flush_feeders();
            exit_child(code)
        }
    }
}

/// In a freshly forked child: forgets (without closing) every process-wide record that holds
/// the parent's handles: its children, its own parent, its liveness pipe, its fork server
/// connection. Those descriptors were closed by the fork's clean-up or are reused for a new
/// purpose; dropping the records would close numbers that may belong to someone else now.
pub(crate) fn after_fork_in_child() {
    crate::process::forget_inherited_children();
    crate::process::forget_inherited_parent();
    os::forget_inherited_statics();
    crate::pool::forget_inherited();
}
