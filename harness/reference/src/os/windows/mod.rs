//! Windows: pipes are anonymous pipe handles made inheritable only for the duration of one spawn,
//! children are process handles, and terminate/kill are both `TerminateProcess`.

mod pipe;
pub(crate) use pipe::*;
mod subprocess;
use std::io::{self, PipeReader};
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle, RawHandle};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};
pub(crate) use subprocess::{Pump, stdout_for_child};

use windows_sys::Win32::Foundation::{HANDLE, HANDLE_FLAG_INHERIT, SetHandleInformation, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::Threading::{TerminateProcess, WaitForSingleObject};

pub(crate) use std::os::windows::io::{BorrowedHandle as BorrowedOs, OwnedHandle as OwnedOs};

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

mod process;
pub(crate) use process::*;

/// The exit code given to a terminated or killed child. CPython uses the same value and reports
/// it as `-SIGTERM`; so does this crate, for both `terminate` and `kill` (Windows has one way
/// to end another process).
pub(crate) const TERMINATE_CODE: u32 = 0x10000;
const SIGTERM: i32 = 15;

pub(crate) fn borrow(h: &impl AsHandle) -> BorrowedOs<'_> {
    h.as_handle()
}

pub(crate) fn handle_number(h: BorrowedOs<'_>) -> u64 {
    h.as_raw_handle() as usize as u64
}

/// Takes ownership of a handle inherited from the parent and makes it non-inheritable again.
///
/// # Safety
/// `number` must be an open handle that nothing else in this process owns.
pub(crate) unsafe fn adopt_inherited(number: u64) -> io::Result<OwnedOs> {
    let raw = number as usize as RawHandle;
    // SAFETY: the caller guarantees the handle is open and unowned.
    let owned = unsafe { OwnedOs::from_raw_handle(raw) };
    set_inheritable(owned.as_raw_handle(), false)?;
    Ok(owned)
}

fn set_inheritable(raw: RawHandle, on: bool) -> io::Result<()> {
    let flags = if on { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: `raw` is a live handle borrowed for the duration of the call.
    let ok = unsafe { SetHandleInformation(raw as HANDLE, HANDLE_FLAG_INHERIT, flags) };
    if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Anonymous pipes cannot be waited on with a timeout, so this peeks with a short backoff.
/// A broken pipe (all writers gone) counts as readable: the next read reports EOF.
pub(crate) fn wait_readable(reader: &PipeReader, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pause = Duration::from_micros(50);
    loop {
        let mut available: u32 = 0;
        // SAFETY: the handle is borrowed from a live reader; the out-pointers are valid or null.
        let ok = unsafe {
            PeekNamedPipe(
                reader.as_raw_handle() as HANDLE,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut available,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 || available > 0 {
            return Ok(true);
        }
        match super::remaining(deadline) {
            Some(left) if left.is_zero() => return Ok(false),
            Some(left) => std::thread::sleep(pause.min(left)),
            None => std::thread::sleep(pause),
        }
        pause = super::next_backoff(pause);
    }
}

/// Serializes our own spawns: a handle is inheritable only while the one spawn that needs it runs.
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

/// Spawns `cmd` under the spawn lock. Every spawn of this crate must take it: a spawn made while
/// another holds handles inheritable for its own child would let this child inherit them too.
pub(crate) fn spawn_locked(cmd: &mut Command) -> io::Result<std::process::Child> {
    let _serial = SPAWN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    cmd.spawn()
}

/// Spawns `cmd`, letting the child inherit exactly the listed handles besides stdio.
/// The caller keeps every listed handle open until this returns.
pub(crate) fn spawn_with_handles(cmd: &mut Command, handles: &[u64]) -> io::Result<OsChild> {
    let _serial = SPAWN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    for &h in handles {
        set_inheritable(h as usize as RawHandle, true)?;
    }
    let spawned = cmd.spawn();
    for &h in handles {
        let _ = set_inheritable(h as usize as RawHandle, false);
    }
    Ok(OsChild::from_std(spawned?))
}

#[derive(Debug)]
pub(crate) struct OsChild {
    child: std::process::Child,
    exitcode: Option<i32>,
}

impl OsChild {
    pub(crate) fn from_std(child: std::process::Child) -> Self {
        OsChild { child, exitcode: None }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<i32>> {
        if self.exitcode.is_none() {
            self.exitcode = self.child.try_wait()?.map(exitcode_from_std);
        }
        Ok(self.exitcode)
    }

    pub(crate) fn wait(&mut self) -> io::Result<i32> {
        if let Some(code) = self.exitcode {
            return Ok(code);
        }
        let code = exitcode_from_std(self.child.wait()?);
        self.exitcode = Some(code);
        Ok(code)
    }

    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<i32>> {
        if let Some(code) = self.exitcode {
            return Ok(Some(code));
        }
        let ms = timeout.as_millis().min(u32::MAX as u128 - 1) as u32;
        // SAFETY: the process handle stays open while `self.child` lives.
        let r = unsafe { WaitForSingleObject(self.child.as_raw_handle() as HANDLE, ms) };
        match r {
            WAIT_OBJECT_0 => self.try_wait(),
            WAIT_TIMEOUT => Ok(None),
            _ => Err(io::Error::last_os_error()),
        }
    }

    pub(crate) fn terminate(&self) -> io::Result<()> {
        if self.exitcode.is_some() {
            return Ok(());
        }
        // SAFETY: the process handle stays open while `self.child` lives.
        let ok = unsafe { TerminateProcess(self.child.as_raw_handle() as HANDLE, TERMINATE_CODE) };
        if ok == 0 {
            // Access is denied once the process has already exited: that is not an error here.
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::PermissionDenied {
                return Err(err);
            }
        }
        Ok(())
    }

    pub(crate) fn kill(&self) -> io::Result<()> {
        self.terminate()
    }
}

/// The chapter's convention on Windows: the exit code, with `TERMINATE_CODE` reported as `-15`.
pub(crate) fn exitcode_from_std(status: std::process::ExitStatus) -> i32 {
    exitcode_from_raw(status.code().unwrap_or(-1) as u32)
}

pub(crate) fn exitcode_from_raw(raw: u32) -> i32 {
    if raw == TERMINATE_CODE { -SIGTERM } else { raw as i32 }
}

/// Ends an `accept` blocked on `listener` in another thread; `false`: Windows refuses to shut
/// down a socket that is not connected (WSAENOTCONN), so the caller connects to it instead.
pub(crate) fn wake_accept(_listener: &std::net::TcpListener) -> bool {
    false
}

/// Windows has no process groups to kill as a whole here; a subprocess timeout ends the child.
pub(crate) fn own_process_group(_cmd: &mut Command) {}

pub(crate) fn kill_tree(child: &OsChild) -> io::Result<()> {
    child.kill()
}

pub(crate) fn parent_pid() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminate_code_reads_as_sigterm() {
        assert_eq!(exitcode_from_raw(TERMINATE_CODE), -15);
        assert_eq!(exitcode_from_raw(0), 0);
        assert_eq!(exitcode_from_raw(3), 3);
        assert_eq!(exitcode_from_raw(0xC000_0005), 0xC000_0005_u32 as i32);
    }
}
