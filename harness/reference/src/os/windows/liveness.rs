//! Who we are and whether another process is still there, for locks that record their owner's pid.

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcessId, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, WaitForSingleObject,
};

/// The id of this process (read from the process environment block: no system call).
pub(crate) fn current_pid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { GetCurrentProcessId() }
}

/// Whether process `pid` has ended (its object is signaled once it exits, even while handles
/// to it stay open). Where the answer is uncertain (access denied), it counts as alive.
pub(crate) fn process_gone(pid: u32) -> bool {
    if pid == 0 {
        return true;
    }
    // SAFETY: OpenProcess has no memory preconditions; a null result is checked.
    let h = unsafe { OpenProcess(PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        // SAFETY: no preconditions.
        return unsafe { GetLastError() } == ERROR_INVALID_PARAMETER;
    }
    // SAFETY: `h` is the live process handle just opened, closed right after.
    let ended = unsafe { WaitForSingleObject(h, 0) } == WAIT_OBJECT_0;
    // SAFETY: as above.
    unsafe { CloseHandle(h) };
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert_eq!(current_pid(), std::process::id());
        assert!(!process_gone(current_pid()));
    }
}
