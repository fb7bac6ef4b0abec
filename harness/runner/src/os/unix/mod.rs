//! Unix: each run is contained by a supervisor process of its own (`harness supervise`, a
//! child subreaper on Linux) that kills and reaps every process of the run, whatever group or
//! session it moved to; see `supervisor.rs` for what it guarantees on each OS.

mod interrupt;
mod isolate;
pub mod procs;
mod signal_pipe;
mod supervisor;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};

use nix::sys::signal::Signal;

pub use interrupt::on_interrupt;
pub use isolate::{Isolated, start};
pub use supervisor::main as supervise;

/// Starts `cmd` in a new session of its own (a test tool that tries to escape its run).
pub fn spawn_detached(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: runs in the forked child before exec and only calls setsid(2), which is
    // async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
    }
    cmd.spawn()
}

/// The chapter's exit code convention for the executor's status.
pub fn exitcode(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| -status.signal().unwrap_or(0))
}

/// Signal names for failure messages.
pub fn describe_exit(code: i32) -> String {
    if code < 0 {
        match Signal::try_from(-code) {
            Ok(sig) => format!("killed by signal {} ({sig})", -code),
            Err(_) => format!("killed by signal {}", -code),
        }
    } else {
        format!("exit code {code}")
    }
}

pub fn segfault() -> ! {
    // Rust's runtime handles SIGSEGV to detect stack overflows; restore the default action so
    // the signal ends the process as a real segmentation fault would.
    // SAFETY: setting a signal's disposition to its default installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGSEGV, nix::sys::signal::SigHandler::SigDfl) };
    let _ = nix::sys::signal::raise(Signal::SIGSEGV);
    std::process::abort()
}

/// SIGKILL to this process: a crash no handler can catch (a pool worker killed mid-task).
pub fn kill_self() -> ! {
    let _ = nix::sys::signal::raise(Signal::SIGKILL);
    std::process::abort()
}

/// Hosts of a run: network namespaces joined by an emulated link (Linux only).
#[cfg(target_os = "linux")]
pub mod lab;

/// Hosts of a run: only Linux has network namespaces; every host is loopback elsewhere.
#[cfg(not(target_os = "linux"))]
pub mod lab {
    pub use crate::os::no_lab::*;
}
