//! Synchronization shared by processes: the layer under `multiprocessing`-style primitives.
//!
//! Everything here lives in shared memory ([`SharedRegion`]) or in kernel objects, is `Clone`
//! (clones share the one object, for the threads of a process) and passes to a child process
//! in its arguments like a [`Queue`](crate::Queue): a forked child inherits it, a spawned child
//! receives its OS handles through [`crate::handles`] (serializing works only while a start
//! collects them).

mod lock;
pub(crate) mod pid_lock;
pub(crate) mod region;
#[cfg_attr(not(test), allow(dead_code, reason = "the queue's reader and writer locks (issue 10) and RLock"))]
mod robust;
mod wait;

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

pub use lock::{Lock, LockGuard};
#[allow(unused_imports, reason = "the shared memory the queue may keep counters in (issue 10)")]
pub(crate) use region::SharedRegion;
#[allow(unused_imports, reason = "the queue's reader and writer locks (issue 10)")]
pub(crate) use robust::{RobustGuard, RobustMutex};

/// Identifies the calling thread among all threads of all processes: the process id in the
/// high half, a per-process thread number in the low half. Cheap (no system call).
pub(crate) fn thread_token() -> u64 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    thread_local! {
        static NUMBER: Cell<u32> = const { Cell::new(0) };
    }
    let n = NUMBER.with(|c| {
        if c.get() == 0 {
            c.set(NEXT.fetch_add(1, Ordering::Relaxed).max(1));
        }
        c.get()
    });
    (u64::from(crate::os::current_pid()) << 32) | u64::from(n)
}
