//! Who we are and whether another process is still there, for locks that record their owner's pid.

use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;
use nix::unistd::Pid;

/// This process's pid, cached (glibc no longer caches `getpid`, and the uncontended lock path
/// must not make a system call). Zero means "not known yet".
static PID: AtomicU32 = AtomicU32::new(0);
static AT_FORK: Once = Once::new();

/// Runs in a forked child (any fork through libc, ours or another library's): the cached pid
/// is the parent's, so forget it.
extern "C" fn forget_pid_in_child() {
    PID.store(0, Ordering::Relaxed);
}

/// The pid of this process, without a system call after the first.
pub(crate) fn current_pid() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => {
            AT_FORK.call_once(|| {
                // SAFETY: registers a handler that only stores to an atomic, which is
                // async-signal-safe as a fork handler must be.
                unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
            });
            // Stored after the handler exists: a fork racing with this store leaves the child
            // either a zero (recomputed) or a value the handler then clears.
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// Whether process `pid` has ended. A process that has exited but was not reaped yet (a
/// zombie) has ended: the parent that killed a lock holder need not join it first.
/// Where the answer is uncertain (no permission, no `/proc`), the process counts as alive.
pub(crate) fn process_gone(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true; // no process has such a pid
    };
    if raw <= 0 {
        return true;
    }
    match nix::sys::signal::kill(Pid::from_raw(raw), None) {
        Err(Errno::ESRCH) => true,
        _ => is_zombie(raw),
    }
}

#[cfg(target_os = "linux")]
fn is_zombie(pid: i32) -> bool {
    // The state is the first field after the parenthesized command name.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|s| s == "Z" || s == "X")
}

#[cfg(target_os = "macos")]
fn is_zombie(pid: i32) -> bool {
    // SAFETY: an all-zero proc_bsdinfo is a valid value for proc_pidinfo to overwrite.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: `info` is a valid buffer of `size` bytes.
    let got = unsafe {
        libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, (&mut info as *mut libc::proc_bsdinfo).cast(), size)
    };
    got == size && info.pbi_status == libc::SZOMB
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn is_zombie(_pid: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_its_pid_is_cached() {
        assert_eq!(current_pid(), std::process::id());
        assert!(!process_gone(current_pid()));
    }

    #[test]
    fn an_exited_unreaped_child_is_gone() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        // Not reaped yet: a zombie once it exits.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !process_gone(pid) {
            assert!(std::time::Instant::now() < deadline, "child {pid} never seen as gone");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().expect("reap");
        assert!(process_gone(pid));
    }
}
