//! Platform code of the runner: isolating an executor in a process group (Unix) or a job
//! object (Windows), killing the whole tree, and checking that nothing of it is left.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(not(target_os = "linux"))]
mod no_lab;
