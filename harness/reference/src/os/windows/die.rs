//! Ending this process at once, as a fault point's `kill` does.

use windows_sys::Win32::System::Threading::{GetCurrentProcess, TerminateProcess};

/// `TerminateProcess` on this process, with the code `Process::kill` gives (read back as -15):
/// nothing runs after it, as when another process kills it.
pub(crate) fn kill_self() -> ! {
    // SAFETY: the pseudo-handle of the current process is always valid; terminating it ends
    // this process here, with every thread.
    unsafe {
        TerminateProcess(GetCurrentProcess(), super::TERMINATE_CODE);
    }
    std::process::abort()
}
