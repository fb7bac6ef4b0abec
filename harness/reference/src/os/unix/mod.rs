//! Unix: pipes are file descriptors, children are pids reaped with `waitpid`, signals are real.

mod pipe;
pub(crate) use pipe::*;
mod subprocess;
use std::io::{self, PipeReader};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};
pub(crate) use subprocess::{Pump, spawn_locked, stdout_for_child};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

pub(crate) use std::os::fd::{BorrowedFd as BorrowedOs, OwnedFd as OwnedOs};

mod die;
mod liveness;
mod park;
mod robust;
mod shm;

pub(crate) use die::kill_self;
pub(crate) use liveness::{current_pid, process_gone};
pub(crate) use park::Parker;
pub(crate) use robust::{RawLock, RawRobust};
pub(crate) use shm::SharedMemory;

pub(crate) mod fdpass;
mod process;
pub(crate) use process::*;

pub(crate) fn borrow(h: &impl AsFd) -> BorrowedOs<'_> {
    h.as_fd()
}

pub(crate) fn handle_number(h: BorrowedOs<'_>) -> u64 {
    h.as_raw_fd() as u64
}

/// Takes ownership of a descriptor this process inherited from its parent, and marks it
/// close-on-exec again so that it does not leak into this process's own children.
///
/// # Safety
/// `number` must be an open descriptor that nothing else in this process owns.
pub(crate) unsafe fn adopt_inherited(number: u64) -> io::Result<OwnedOs> {
    let fd = RawFd::try_from(number).map_err(|_| io::Error::other("descriptor out of range"))?;
    // SAFETY: the caller guarantees the descriptor is open and unowned.
    let owned = unsafe { OwnedOs::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
    Ok(owned)
}

/// Waits until `reader` has data or its writers are all gone (EOF), or the timeout passes.
pub(crate) fn wait_readable(reader: &PipeReader, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let wait = match super::remaining(deadline) {
            None => PollTimeout::NONE,
            Some(left) => {
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            Ok(0) => {
                // poll rounds down to milliseconds: finish a sub-millisecond remainder by
                // one more zero-wait poll rather than report a timeout early.
                if super::remaining(deadline).is_some_and(|d| d.is_zero()) {
                    return Ok(false);
                }
            }
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Spawns `cmd`, letting the child inherit exactly the listed handles besides stdio.
/// The caller keeps every listed handle open until this returns.
pub(crate) fn spawn_with_handles(cmd: &mut Command, handles: &[u64]) -> io::Result<OsChild> {
    let raw: Vec<RawFd> = handles.iter().map(|&h| h as RawFd).collect();
    if !raw.is_empty() {
        // SAFETY: the closure runs in the forked child before exec; it only calls fcntl,
        // which is async-signal-safe, and allocates nothing (`raw` was built before fork).
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &raw {
                    let borrowed = std::os::fd::BorrowedFd::borrow_raw(fd);
                    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::empty())).map_err(io::Error::from)?;
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn()?;
    Ok(OsChild::from_pid(child.id() as i32))
}

/// A child process started by this process, reaped exactly once with `waitpid` on its own pid
/// (never `waitpid(-1)`, which would steal other code's children).
#[derive(Debug)]
pub(crate) struct OsChild {
    pid: Pid,
    exitcode: Option<i32>,
}

impl OsChild {
    pub(crate) fn from_pid(pid: i32) -> Self {
        OsChild { pid: Pid::from_raw(pid), exitcode: None }
    }

    pub(crate) fn from_std(child: std::process::Child) -> Self {
        Self::from_pid(child.id() as i32)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    fn reap(&mut self, flags: Option<WaitPidFlag>) -> io::Result<Option<i32>> {
        if let Some(code) = self.exitcode {
            return Ok(Some(code));
        }
        loop {
            match waitpid(self.pid, flags) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(status) => {
                    if let Some(code) = exitcode_from_wait(status) {
                        self.exitcode = Some(code);
                        return Ok(Some(code));
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<i32>> {
        self.reap(Some(WaitPidFlag::WNOHANG))
    }

    pub(crate) fn wait(&mut self) -> io::Result<i32> {
        loop {
            if let Some(code) = self.reap(None)? {
                return Ok(code);
            }
        }
    }

    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<i32>> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(50);
        loop {
            if let Some(code) = self.try_wait()? {
                return Ok(Some(code));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = super::next_backoff(pause);
        }
    }

    pub(crate) fn terminate(&self) -> io::Result<()> {
        self.signal(Signal::SIGTERM)
    }

    pub(crate) fn kill(&self) -> io::Result<()> {
        self.signal(Signal::SIGKILL)
    }

    fn signal(&self, sig: Signal) -> io::Result<()> {
        if self.exitcode.is_some() {
            return Ok(()); // already reaped: the pid may belong to someone else now
        }
        match kill(self.pid, sig) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The chapter's convention: the exit status, or minus the signal number.
/// Stopped/continued states are not exits and give `None`.
pub(crate) fn exitcode_from_wait(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(-(sig as i32)),
        _ => None,
    }
}

/// Puts a subprocess in a process group of its own, so that a timeout kills its descendants too.
pub(crate) fn own_process_group(cmd: &mut Command) {
    cmd.process_group(0);
}

/// Kills the process group led by `child` (set up by [`own_process_group`]).
pub(crate) fn kill_tree(child: &OsChild) -> io::Result<()> {
    if child.exitcode.is_some() {
        return Ok(());
    }
    match nix::sys::signal::killpg(child.pid, Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn parent_pid() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

/// Closes every descriptor above stdio except `keep`: a forked child must not hold stray copies
/// of pipe ends that belong to its parent, or their readers would never see EOF.
///
/// Called only in a freshly forked child, which never returns to the code that owns those
/// descriptors (it runs its entry and `_exit`s), so no owner will use or close them again.
pub(crate) fn close_fds_except(keep: &[u64]) {
    #[cfg(target_os = "linux")]
    if close_ranges_except(keep) {
        return;
    }
    let Ok(dir) = std::fs::read_dir("/dev/fd") else {
        return;
    };
    // The listing includes the directory's own descriptor, closed by the time we close the
    // others: `close` then fails with EBADF, which is harmless and ignored.
    let open: Vec<RawFd> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in open {
        if fd > 2 && !keep.contains(&(fd as u64)) {
            // SAFETY: see the function's contract: nothing in this child will use `fd` again.
            unsafe { libc::close(fd) };
        }
    }
}

/// Linux 5.9+: closes everything above stdio but `keep` in a few `close_range` calls instead of
/// listing `/dev/fd`. `false` if the kernel lacks the call.
#[cfg(target_os = "linux")]
fn close_ranges_except(keep: &[u64]) -> bool {
    let mut kept: Vec<u64> = keep.iter().copied().filter(|&fd| fd > 2).collect();
    kept.sort_unstable();
    let mut from: u64 = 3;
    for fd in kept.into_iter().chain(std::iter::once(u64::from(u32::MAX) + 1)) {
        if fd > from {
            let last = (fd - 1).min(u64::from(u32::MAX));
            // SAFETY: see `close_fds_except`: nothing in this child uses these descriptors again.
            let r = unsafe { libc::syscall(libc::SYS_close_range, from as libc::c_uint, last as libc::c_uint, 0) };
            if r != 0 {
                return false;
            }
        }
        from = fd + 1;
    }
    true
}

/// Ends an `accept` blocked on `listener` in another thread, whatever the calling thread can
/// reach; `true` if done. Linux does it when the listener is shut down (the `accept` fails);
/// macOS refuses to shut down a socket that is not connected, so it is not tried there.
pub(crate) fn wake_accept(listener: &std::net::TcpListener) -> bool {
    cfg!(target_os = "linux") && socket2::SockRef::from(listener).shutdown(std::net::Shutdown::Read).is_ok()
}

/// Number of threads in this process, where the OS tells it cheaply (Linux); `None` elsewhere.
pub(crate) fn thread_count() -> Option<usize> {
    if cfg!(target_os = "linux") {
        // Field 20 of /proc/self/stat, after the parenthesized command name.
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(17)?.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_maps_to_code_or_negative_signal() {
        let pid = Pid::from_raw(1);
        assert_eq!(exitcode_from_wait(WaitStatus::Exited(pid, 0)), Some(0));
        assert_eq!(exitcode_from_wait(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(exitcode_from_wait(WaitStatus::Signaled(pid, Signal::SIGTERM, false)), Some(-15));
        assert_eq!(exitcode_from_wait(WaitStatus::Signaled(pid, Signal::SIGKILL, true)), Some(-9));
        assert_eq!(exitcode_from_wait(WaitStatus::StillAlive), None);
    }
}
