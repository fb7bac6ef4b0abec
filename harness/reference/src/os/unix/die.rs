//! Ending this process at once, as a fault point's `kill` does.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// SIGKILL to this whole process (not only this thread): nothing runs after it, no handler,
/// no destructor, no flush, as when another process kills it.
pub(crate) fn kill_self() -> ! {
    let _ = kill(Pid::this(), Signal::SIGKILL);
    // SIGKILL cannot be caught or ignored; should the signal not be delivered at once, end
    // anyway without running anything of this process.
    std::process::abort()
}
