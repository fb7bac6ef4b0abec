//! The self-pipe trick: a signal handler writes the signal's number into a non-blocking pipe,
//! and ordinary code reads it (polling it, or blocking on it on a thread of its own), free of
//! the limits on what a handler may do. One per process.

use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The write end, for the handler (which may only make async-signal-safe calls).
static WRITE_END: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let saved = Errno::last_raw();
    let fd = WRITE_END.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: write(2) is async-signal-safe and the buffer is one live byte. A full pipe
        // drops the byte; a wake-up is pending then anyway.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    Errno::set_raw(saved);
}

/// Routes `signals` into a new pipe; returns its read end (non-blocking, close-on-exec), where
/// each delivery reads as one byte holding the signal's number.
pub fn install(signals: &[Signal]) -> std::io::Result<OwnedFd> {
    let (read, write) = nix::unistd::pipe()?;
    for fd in [read.as_fd(), write.as_fd()] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    }
    // The write end lives as long as the process: a handler may run at any time.
    WRITE_END.store(write.into_raw_fd(), Ordering::Relaxed);
    let action =
        SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_NOCLDSTOP | SaFlags::SA_RESTART, SigSet::empty());
    for &sig in signals {
        // SAFETY: the handler only reads an atomic and calls write(2), both async-signal-safe,
        // and it restores errno.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(read)
}
