//! Unix side of [`Process`](crate::Process): children reaped by pid and watched through a pidfd
//! (Linux) or their status pipe, the parent-liveness pipe a child watches, the boot channel of a
//! spawned child and the checks on what a spawned child adopts.

use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::{SFlag, fstat};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::exitcode_from_wait;

/// A started child, reaped with `waitpid` on its own pid. Every method takes `&self`: the
/// caller serializes reaping (a pid is reaped once, and signalled only before that).
#[derive(Debug)]
pub(crate) struct ChildProc {
    pid: Pid,
    /// Readable once the child has exited (Linux 5.3+); `None` where the kernel has none.
    pidfd: Option<OwnedFd>,
}

impl ChildProc {
    /// Wraps a child just started by this process (not yet reaped, so its pid is still ours).
    pub(crate) fn new(pid: u32) -> Self {
        let pid = Pid::from_raw(pid as i32);
        ChildProc { pid, pidfd: pidfd_open(pid) }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// The exit code if the child has ended (it is reaped then); `None` while it runs.
    pub(crate) fn try_reap(&self) -> io::Result<Option<i32>> {
        loop {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(status) => {
                    if let Some(code) = exitcode_from_wait(status) {
                        return Ok(Some(code));
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends SIGTERM. Call only while the child is not reaped (its pid cannot be reused yet).
    pub(crate) fn terminate(&self) -> io::Result<()> {
        self.signal(Signal::SIGTERM)
    }

    /// Sends SIGKILL. Call only while the child is not reaped.
    pub(crate) fn kill(&self) -> io::Result<()> {
        self.signal(Signal::SIGKILL)
    }

    fn signal(&self, sig: Signal) -> io::Result<()> {
        match kill(self.pid, sig) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A descriptor that becomes readable when the child exits, where the OS has one.
    pub(crate) fn exit_handle(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|fd| fd.as_fd())
    }
}

impl From<super::OsChild> for ChildProc {
    /// Takes over a child just spawned or forked (not yet reaped).
    fn from(child: super::OsChild) -> Self {
        ChildProc::new(child.pid())
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; no memory
    // is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None; // ENOSYS on kernels before 5.3: the status pipe serves instead
    }
    // SAFETY: the kernel just returned this new descriptor (close-on-exec by default); we own it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pidfd_open(_pid: Pid) -> Option<OwnedFd> {
    None
}

/// Waits until at least one of `handles` is readable (or hung up), or the timeout passes;
/// returns the indices of the ready ones (empty at the timeout).
pub(crate) fn wait_handles(handles: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let forever = timeout.is_some() && deadline.is_none();
    loop {
        let wait = match (forever, super::super::remaining(deadline)) {
            (true, _) | (_, None) => PollTimeout::NONE,
            // Round up, so that a sub-millisecond remainder waits instead of spinning.
            (false, Some(left)) => {
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds: Vec<PollFd<'_>> = handles.iter().map(|h| PollFd::new(*h, PollFlags::POLLIN)).collect();
        match poll(&mut fds, wait) {
            Ok(0) => {
                if super::super::remaining(deadline).is_some_and(|d| d.is_zero()) && !forever {
                    return Ok(Vec::new());
                }
            }
            Ok(_) => {
                return Ok(fds
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
                    .map(|(i, _)| i)
                    .collect());
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

// ---- the parent's liveness, as its children see it ----

/// A pipe whose write end only this process holds (never written): a child holding the read
/// end sees end-of-file when this process is gone. Keyed by pid: a forked child finds its
/// parent's pipe here and makes its own.
struct Liveness {
    pid: u32,
    reader: PipeReader,
    _writer: PipeWriter,
}

static LIVENESS: Mutex<Option<Liveness>> = Mutex::new(None);

/// The handle number of this process's liveness pipe's read end, for a child to inherit.
/// The pipe lives as long as this process.
pub(crate) fn liveness_handle() -> io::Result<u64> {
    let mut slot = LIVENESS.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if slot.as_ref().is_some_and(|l| l.pid != me) {
        // Inherited through fork from the parent: `close_fds_except` closed these numbers in
        // this child (or they belong to someone else now), so they must not be closed again.
        if let Some(stale) = slot.take() {
            std::mem::forget(stale);
        }
    }
    if slot.is_none() {
        let (reader, writer) = io::pipe()?;
        *slot = Some(Liveness { pid: me, reader, _writer: writer });
    }
    Ok(slot.as_ref().map(|l| l.reader.as_raw_fd() as u64).unwrap_or_default())
}

/// Forgets (without closing) every process-wide handle a forked child inherited from its
/// parent's statics: those descriptors were closed by `close_fds_except` or are kept for a
/// new purpose, and closing them again could close someone else's descriptor.
pub(crate) fn forget_inherited_statics() {
    let mut slot = LIVENESS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(stale) = slot.take() {
        std::mem::forget(stale);
    }
}

/// A child's view of its parent: the read end of the parent's liveness pipe.
#[derive(Debug)]
pub(crate) struct ParentWatch(OwnedFd);

impl ParentWatch {
    pub(crate) fn from_owned(fd: OwnedFd) -> Self {
        ParentWatch(fd)
    }

    /// Waits until the parent is gone or the timeout passes; `true` if it is gone.
    pub(crate) fn wait_gone(&self, timeout: Option<Duration>) -> io::Result<bool> {
        Ok(!wait_handles(&[self.0.as_fd()], timeout)?.is_empty())
    }
}

/// Checks that `number` is a pipe (the parent's liveness pipe), then adopts it.
///
/// # Safety
/// Takes ownership of the descriptor: call once, before anything else could own it.
pub(crate) unsafe fn adopt_parent_watch(number: u64, _ppid: u32) -> Result<ParentWatch, String> {
    let fd = check_number(number)?;
    // SAFETY: open (checked); borrowed for the call only.
    if file_kind(unsafe { BorrowedFd::borrow_raw(fd) })? != SFlag::S_IFIFO {
        return Err(format!("descriptor {fd} is not the parent's liveness pipe"));
    }
    // SAFETY: the caller guarantees single ownership.
    let owned = unsafe { super::adopt_inherited(number) }.map_err(|e| e.to_string())?;
    Ok(ParentWatch(owned))
}

// ---- the boot channel of a spawned child ----

/// A connected pair for the boot record: the parent writes into the first, the child reads the
/// second. A socket pair rather than a pipe, so that the child can ask the kernel who made it.
pub(crate) fn boot_channel() -> io::Result<(UnixStream, OwnedFd)> {
    let (mine, theirs) = UnixStream::pair()?;
    Ok((mine, OwnedFd::from(theirs)))
}

pub(crate) type BootReader = UnixStream;

/// Checks that `number` is the boot channel a parent made for this process, then adopts it.
/// Refused: stdio, anything but a socket, and (on Linux) a socket not made by our parent
/// process, which is what a forged command line would give.
///
/// # Safety
/// Takes ownership of the descriptor: call once, before anything else could own it.
pub(crate) unsafe fn adopt_boot_channel(number: u64) -> Result<BootReader, String> {
    let fd = check_number(number)?;
    // SAFETY: `fd` is open (fstat succeeded in check_number) and the caller guarantees that
    // nothing else in this fresh child owns it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let kind = file_kind(borrowed)?;
    if kind != SFlag::S_IFSOCK {
        return Err(format!("descriptor {fd} is not the boot channel (not a socket)"));
    }
    check_peer_is_parent(borrowed)?;
    // SAFETY: as above; the caller guarantees single ownership.
    let owned = unsafe { super::adopt_inherited(number) }.map_err(|e| e.to_string())?;
    Ok(UnixStream::from(owned))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn check_peer_is_parent(fd: BorrowedFd<'_>) -> Result<(), String> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let creds = getsockopt(&fd, PeerCredentials).map_err(|e| format!("boot channel: {e}"))?;
    let parent = nix::unistd::getppid().as_raw();
    if creds.pid() != parent {
        return Err(format!("the boot channel was made by process {}, not by our parent {parent}", creds.pid()));
    }
    Ok(())
}

/// Elsewhere the kernel's answer for a socket pair is not documented well enough to rely on;
/// the type checks remain.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn check_peer_is_parent(_fd: BorrowedFd<'_>) -> Result<(), String> {
    Ok(())
}

/// Checks a handle number a spawned child was told to adopt: not stdio, open, and of a kind
/// this crate passes: a pipe, a socket, or shared memory (`crate::shared`'s regions).
pub(crate) fn check_inherited(number: u64) -> Result<(), String> {
    let fd = check_number(number)?;
    // SAFETY: fstat in check_number showed `fd` open; the borrow lasts only for this call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let kind = file_kind(borrowed)?;
    if kind != SFlag::S_IFIFO && kind != SFlag::S_IFSOCK && !super::shm::is_shared_memory(borrowed, kind) {
        return Err(format!("descriptor {fd} is not a pipe, socket or shared memory"));
    }
    Ok(())
}

fn check_number(number: u64) -> Result<RawFd, String> {
    let fd = RawFd::try_from(number).map_err(|_| format!("descriptor {number} out of range"))?;
    if fd <= 2 {
        return Err(format!("descriptor {fd} is standard I/O, never a handle passed by the parent"));
    }
    // SAFETY: borrowed for the call only; fstat fails cleanly (EBADF) on a closed number.
    fstat(unsafe { BorrowedFd::borrow_raw(fd) }).map_err(|e| format!("descriptor {fd} is not open: {e}"))?;
    Ok(fd)
}

fn file_kind(fd: BorrowedFd<'_>) -> Result<SFlag, String> {
    let st = fstat(fd).map_err(|e| format!("descriptor {}: {e}", fd.as_raw_fd()))?;
    Ok(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdio_and_closed_numbers_are_refused() {
        assert!(check_inherited(0).expect_err("stdin").contains("standard I/O"));
        assert!(check_inherited(2).expect_err("stderr").contains("standard I/O"));
        assert!(check_inherited(1_000_000).expect_err("closed").contains("not open"));
        let file = std::fs::File::open("/dev/null").expect("open");
        let err = check_inherited(file.as_raw_fd() as u64).expect_err("not a pipe");
        assert!(err.contains("not a pipe"), "{err}");
        let (r, _w) = io::pipe().expect("pipe");
        check_inherited(r.as_raw_fd() as u64).expect("a pipe passes");
    }

    #[test]
    fn wait_handles_reports_the_ready_ones_and_times_out() {
        let (r1, _w1) = io::pipe().expect("pipe");
        let (r2, w2) = io::pipe().expect("pipe");
        let none = wait_handles(&[r1.as_fd(), r2.as_fd()], Some(Duration::from_millis(5))).expect("wait");
        assert!(none.is_empty());
        drop(w2);
        let ready = wait_handles(&[r1.as_fd(), r2.as_fd()], Some(Duration::MAX)).expect("wait");
        assert_eq!(ready, vec![1]);
    }
}
