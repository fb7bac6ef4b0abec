//! Platform layer: one module per OS family, exporting the same names.
//!
//! Everything above this module is OS-free. Each OS module provides:
//! `OwnedOs`/`BorrowedOs` (an owned/borrowed pipe handle), `borrow`, `handle_number`,
//! `adopt_inherited`, `wait_readable`, `spawn_with_handles`, `OsChild` (wait, wait with
//! timeout, terminate, kill) and the exit-status mapping to the chapter's `exitcode`; for the
//! process-shared primitives (`crate::shared`): `SharedMemory`, `Parker` (sleep until a shared
//! word changes), `RawRobust` and `RawLock` (a robust mutex), `current_pid`, `process_gone`.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

/// Backoff used by the few places that must poll (a child's exit on Unix, a pipe on Windows):
/// start fine-grained so short waits stay cheap, then settle at a few milliseconds.
pub(crate) fn next_backoff(current: std::time::Duration) -> std::time::Duration {
    (current * 2).min(std::time::Duration::from_millis(5))
}

pub(crate) fn remaining(deadline: Option<std::time::Instant>) -> Option<std::time::Duration> {
    deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()))
}
