//! Windows: each run's executor starts suspended, joins a job object of its own before it runs
//! a single instruction, and everything it starts joins the job too (no breakaway is allowed).
//! The job kills every process in it when its last handle closes, so a runner that dies any way
//! at all takes its runs with it.

mod interrupt;
mod isolate;

use std::process::{Child, Command, ExitStatus};

pub use interrupt::on_interrupt;
pub use isolate::{Isolated, start};

/// Hosts of a run: Windows has no network namespaces; every host is loopback.
pub mod lab {
    pub use crate::os::no_lab::*;
}

/// There is no supervisor process on Windows: the job object does its work.
pub fn supervise(_opts: crate::supervise::Options) -> i32 {
    eprintln!("harness supervise is not used on Windows (runs are contained by job objects)");
    2
}

/// Starts `cmd` trying to leave the job it is in (a test tool that tries to escape its run):
/// breaking away is refused in a run's job, so it then starts as a detached process group.
pub fn spawn_detached(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};
    use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE};
    // Windows children inherit every inheritable handle, and this process's own stdio (pipes
    // from whoever started it) is: a daemon must not keep those open, as it would on Unix after
    // redirecting its stdio.
    for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: plain calls on this process's own standard handles (an invalid or null one
        // makes SetHandleInformation fail harmlessly).
        unsafe { SetHandleInformation(GetStdHandle(which), HANDLE_FLAG_INHERIT, 0) };
    }
    use windows_sys::Win32::System::Threading::{
        CREATE_BREAKAWAY_FROM_JOB, CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS,
    };
    cmd.creation_flags(CREATE_BREAKAWAY_FROM_JOB | CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS);
    match cmd.spawn() {
        Ok(child) => Ok(child),
        Err(_) => {
            cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS);
            cmd.spawn()
        }
    }
}

pub fn exitcode(status: ExitStatus) -> i32 {
    match status.code() {
        Some(0x10000) => -15,
        Some(c) => c,
        None => -1,
    }
}

/// Plain codes as numbers; NTSTATUS-style codes (a crash) in hex as well, as Windows shows them.
pub fn describe_exit(code: i32) -> String {
    if (0..=0xFFFF).contains(&code) || code == -15 {
        format!("exit code {code}")
    } else {
        format!("exit code {code} ({:#010x})", code as u32)
    }
}

pub fn segfault() -> ! {
    std::process::abort()
}

/// `TerminateProcess` on this process, with the code `kill` gives (read back as -15).
pub fn kill_self() -> ! {
    // SAFETY: the pseudo-handle of the current process is always valid; terminating it ends
    // this process here.
    unsafe {
        windows_sys::Win32::System::Threading::TerminateProcess(
            windows_sys::Win32::System::Threading::GetCurrentProcess(),
            0x10000,
        );
    }
    std::process::abort()
}
