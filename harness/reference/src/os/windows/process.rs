//! Windows side of [`Process`](crate::Process): children are process handles (waitable, so
//! several can be waited on at once), a child watches its parent through an inherited handle
//! to the parent process, and the boot record comes through an inherited anonymous pipe.

use std::io::{self, PipeReader, PipeWriter};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    DuplicateHandle, FALSE, GetHandleInformation, HANDLE, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_PIPE, FILE_TYPE_UNKNOWN, GetFileType};
use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetExitCodeProcess, GetProcessId, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    TerminateProcess, WaitForMultipleObjects, WaitForSingleObject,
};

use super::{TERMINATE_CODE, exitcode_from_raw};

/// `WaitForMultipleObjects` takes at most this many handles at once.
const MAX_WAIT: usize = 64;

/// A started child: its process handle, waitable and readable after exit.
#[derive(Debug)]
pub(crate) struct ChildProc {
    pid: u32,
    handle: OwnedHandle,
}

impl ChildProc {
    pub(crate) fn from_std(child: std::process::Child) -> Self {
        let pid = child.id();
        ChildProc { pid, handle: OwnedHandle::from(child) }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit code if the child has ended; `None` while it runs.
    pub(crate) fn try_reap(&self) -> io::Result<Option<i32>> {
        if !signaled(self.handle.as_handle(), 0)? {
            return Ok(None);
        }
        let mut raw: u32 = 0;
        // SAFETY: the handle is live for the call; `raw` is a valid out-pointer.
        if unsafe { GetExitCodeProcess(self.handle.as_raw_handle() as HANDLE, &mut raw) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Some(exitcode_from_raw(raw)))
    }

    pub(crate) fn terminate(&self) -> io::Result<()> {
        // SAFETY: the handle is live for the call.
        let ok = unsafe { TerminateProcess(self.handle.as_raw_handle() as HANDLE, TERMINATE_CODE) };
        if ok == 0 {
            // Access is denied once the process has already exited: not an error here.
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::PermissionDenied {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Windows has one way to end another process.
    pub(crate) fn kill(&self) -> io::Result<()> {
        self.terminate()
    }

    pub(crate) fn exit_handle(&self) -> Option<BorrowedHandle<'_>> {
        Some(self.handle.as_handle())
    }
}

impl From<super::OsChild> for ChildProc {
    /// Takes over a child just spawned.
    fn from(child: super::OsChild) -> Self {
        ChildProc::from_std(child.child)
    }
}

fn signaled(h: BorrowedHandle<'_>, ms: u32) -> io::Result<bool> {
    // SAFETY: the handle is borrowed from a live owner for the call.
    match unsafe { WaitForSingleObject(h.as_raw_handle() as HANDLE, ms) } {
        WAIT_OBJECT_0 => Ok(true),
        WAIT_TIMEOUT => Ok(false),
        _ => Err(io::Error::last_os_error()),
    }
}

fn millis(left: Option<Duration>) -> u32 {
    match left {
        None => u32::MAX, // INFINITE
        // Round up so that a sub-millisecond remainder waits; stay below INFINITE.
        Some(d) => d.as_micros().div_ceil(1000).min(u128::from(u32::MAX - 1)) as u32,
    }
}

/// Waits until at least one of the (waitable) handles is signaled or the timeout passes;
/// returns the indices of the signaled ones (empty at the timeout).
pub(crate) fn wait_handles(handles: &[BorrowedHandle<'_>], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let ready = |hs: &[BorrowedHandle<'_>]| -> io::Result<Vec<usize>> {
        let mut out = Vec::new();
        for (i, h) in hs.iter().enumerate() {
            if signaled(*h, 0)? {
                out.push(i);
            }
        }
        Ok(out)
    };
    if handles.is_empty() {
        if let Some(left) = super::super::remaining(deadline) {
            std::thread::sleep(left);
        }
        return Ok(Vec::new());
    }
    if handles.len() <= MAX_WAIT {
        let raw: Vec<HANDLE> = handles.iter().map(|h| h.as_raw_handle() as HANDLE).collect();
        let forever = deadline.is_none();
        loop {
            let ms = if forever { u32::MAX } else { millis(super::super::remaining(deadline)) };
            // SAFETY: `raw` holds `raw.len()` (≤ 64) live handles borrowed for the call.
            let r = unsafe { WaitForMultipleObjects(raw.len() as u32, raw.as_ptr(), FALSE, ms) };
            if r == WAIT_FAILED {
                return Err(io::Error::last_os_error());
            }
            if r == WAIT_TIMEOUT {
                if super::super::remaining(deadline).is_some_and(|d| d.is_zero()) {
                    return Ok(Vec::new());
                }
                continue;
            }
            return ready(handles);
        }
    }
    // More than one call can take: poll them in turn with a short backoff.
    let mut pause = Duration::from_micros(50);
    loop {
        let now = ready(handles)?;
        if !now.is_empty() {
            return Ok(now);
        }
        match super::super::remaining(deadline) {
            Some(left) if left.is_zero() => return Ok(Vec::new()),
            Some(left) => std::thread::sleep(pause.min(left)),
            None => std::thread::sleep(pause),
        }
        pause = super::super::next_backoff(pause);
    }
}

// ---- the parent's liveness, as its children see it ----

/// A handle to this very process with just the rights to wait on it and read its pid, for
/// children to inherit.
static SELF_HANDLE: OnceLock<Option<OwnedHandle>> = OnceLock::new();

/// The number of a handle to this process that a child can inherit and wait on.
pub(crate) fn liveness_handle() -> io::Result<u64> {
    let h = SELF_HANDLE.get_or_init(|| {
        let mut out: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle valid in this process; `out`
        // receives a new real handle that we then own.
        let ok = unsafe {
            DuplicateHandle(
                GetCurrentProcess(),
                GetCurrentProcess(),
                GetCurrentProcess(),
                &mut out,
                PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                FALSE,
                0,
            )
        };
        // SAFETY: on success `out` is a fresh handle nothing else owns.
        (ok != 0).then(|| unsafe { OwnedHandle::from_raw_handle(out as RawHandle) })
    });
    match h {
        Some(h) => Ok(h.as_raw_handle() as usize as u64),
        None => Err(io::Error::other("cannot duplicate this process's handle")),
    }
}

/// A child's view of its parent: an inherited handle to the parent process.
#[derive(Debug)]
pub(crate) struct ParentWatch(OwnedHandle);

impl ParentWatch {
    pub(crate) fn wait_gone(&self, timeout: Option<Duration>) -> io::Result<bool> {
        Ok(!wait_handles(&[self.0.as_handle()], timeout)?.is_empty())
    }
}

// ---- the boot channel of a spawned child ----

pub(crate) type BootReader = PipeReader;

/// An anonymous pipe for the boot record: the parent writes the first, the child reads the second.
pub(crate) fn boot_channel() -> io::Result<(PipeWriter, OwnedHandle)> {
    let (r, w) = io::pipe()?;
    Ok((w, OwnedHandle::from(r)))
}

/// Checks that `number` is a pipe and not one of our standard handles, then adopts it.
///
/// # Safety
/// Takes ownership of the handle: call once, before anything else could own it.
pub(crate) unsafe fn adopt_boot_channel(number: u64) -> Result<BootReader, String> {
    check_inherited(number)?;
    // SAFETY: checked open and a pipe; the caller guarantees single ownership.
    let owned = unsafe { super::adopt_inherited(number) }.map_err(|e| e.to_string())?;
    Ok(PipeReader::from(owned))
}

/// Checks a handle number a spawned child was told to adopt: not a standard handle, and a pipe
/// or a kernel object that is no file (`crate::shared`'s file mappings, semaphores, mutexes).
pub(crate) fn check_inherited(number: u64) -> Result<(), String> {
    let raw = number as usize as HANDLE;
    for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: GetStdHandle only reads this process's standard handle table.
        if unsafe { GetStdHandle(which) } == raw {
            return Err(format!("handle {number} is a standard handle, never one passed by the parent"));
        }
    }
    // SAFETY: GetFileType only inspects the handle.
    match unsafe { GetFileType(raw) } {
        FILE_TYPE_PIPE => Ok(()),
        // No file: an object, if the handle is valid at all (an invalid one reads the same).
        FILE_TYPE_UNKNOWN if is_open_handle(raw) => Ok(()),
        // Shared memory (Wine reports a file mapping as a disk file).
        _ if super::shm::is_file_mapping(raw) => Ok(()),
        _ => Err(format!("handle {number} is not a pipe, a file mapping or another kernel object")),
    }
}

fn is_open_handle(raw: HANDLE) -> bool {
    let mut flags = 0u32;
    // SAFETY: GetHandleInformation only reads the handle table; `flags` is a valid out-pointer.
    unsafe { GetHandleInformation(raw, &mut flags) != 0 }
}

/// Checks that `number` is a waitable handle that is not a file, pipe or standard handle, and
/// names the process `ppid` (our parent) where the OS says (Wine refuses to tell), then adopts it.
///
/// # Safety
/// Takes ownership of the handle: call once, before anything else could own it.
pub(crate) unsafe fn adopt_parent_watch(number: u64, ppid: u32) -> Result<ParentWatch, String> {
    let raw = number as usize as HANDLE;
    // SAFETY: GetFileType only inspects the handle.
    if unsafe { GetFileType(raw) } == FILE_TYPE_PIPE {
        return Err(format!("handle {number} is a pipe, not a handle to the parent process"));
    }
    // SAFETY: GetFileType only inspects the handle.
    if unsafe { GetFileType(raw) } != FILE_TYPE_UNKNOWN {
        return Err(format!("handle {number} is a file, not a handle to the parent process"));
    }
    // SAFETY: a zero-timeout wait only inspects the handle; an invalid one gives WAIT_FAILED.
    if unsafe { WaitForSingleObject(raw, 0) } == WAIT_FAILED {
        return Err(format!("handle {number} is not a waitable handle: {}", io::Error::last_os_error()));
    }
    // SAFETY: GetProcessId only reads the handle; it gives 0 when it cannot tell.
    let pid = unsafe { GetProcessId(raw) };
    if pid != 0 && pid != ppid {
        return Err(format!("handle {number} is process {pid}, not our parent {ppid}"));
    }
    // SAFETY: checked above; the caller guarantees single ownership.
    let owned = unsafe { super::adopt_inherited(number) }.map_err(|e| e.to_string())?;
    Ok(ParentWatch(owned))
}
