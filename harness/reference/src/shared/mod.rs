//! Synchronization shared by processes: CPython's `multiprocessing` primitives.
//!
//! [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Condition`], [`Event`] and
//! [`Barrier`] behave as the crate's thread primitives of the same names ([`crate::Lock`] and
//! the others), but work across processes too. Each is `Clone` (clones share one object, for
//! the threads of a process) and passes to a child process in its arguments like a
//! [`Queue`](crate::Queue): a forked child inherits it, a spawned child receives its OS handles
//! through `crate::handles` (serializing one works only while a start collects handles). Pass
//! them in the arguments: a forked child closes the descriptors its arguments do not name, so
//! an object it reaches another way (a static) still works there but cannot be passed on.
//!
//! ```no_run
//! use procthread::{Entry, Process, Registry, StartMethod, shared};
//!
//! static CHILD: Entry<shared::Lock> = Entry::new("child", |lock| {
//!     let _held = lock.lock();
//!     println!("child {} has the lock", std::process::id());
//! });
//! static REGISTRY: Registry = &[&CHILD];
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! procthread::dispatch(REGISTRY);
//! let lock = shared::Lock::new()?;
//! let mut p = Process::new(&CHILD, lock.clone()).start_method(StartMethod::Spawn);
//! p.start()?;
//! p.join()?;
//! # Ok(()) }
//! ```
//!
//! # What they are made of
//! State lives in a shared memory region (`SharedRegion`: `memfd_create` + `mmap` on Linux,
//! `shm_open` unlinked at once + `mmap` on macOS, an unnamed file mapping on Windows) and is
//! only accessed with atomic instructions, so taking an uncontended lock or semaphore, or
//! setting an event nobody waits for, costs no system call on Linux and macOS. A thread that
//! must wait parks on a word of that state:
//! - Linux: a futex on the word (shared, not private, so other processes' wakes reach it);
//! - macOS: no public futex, so the waiter polls the word, yielding and then sleeping with a
//!   backoff that settles at 2 ms: a wake-up is seen within that time;
//! - Windows: a kernel semaphore per object, released once per thread to wake; a park sleeps at
//!   most 20 ms before looking again, so a wake-up taken by another waiter costs latency, not a
//!   hang. Every wait and wake there is a system call.
//!
//! [`RLock`] (and the crate's robust mutex under it) is an owned lock, and uses the OS's robust
//! mutex where there is one: a `PTHREAD_PROCESS_SHARED` + `PTHREAD_MUTEX_ROBUST` pthread mutex
//! on Linux, a kernel mutex on Windows, a pid word as [`Lock`]'s on macOS (which has neither
//! robust mutexes nor `pthread_mutex_timedlock`).
//!
//! # A process killed while holding a lock
//! Nobody waits for ever:
//! - [`RLock`] (Linux, Windows): the kernel gives a dead holder's mutex to the next waiter at
//!   once, as a new owner (`EOWNERDEAD` / `WAIT_ABANDONED`), even before the dead process is
//!   reaped. On macOS, as a `Lock`.
//! - [`Lock`]: CPython's `multiprocessing.Lock` may be released by a process other than the
//!   one that took it, so the kernel cannot track a holder. The lock word holds the pid of the
//!   process that took it; a waiter checks every 50 ms whether that process still exists
//!   (a zombie counts as gone) and, if not, takes the lock over. The cost of that robustness:
//!   blocked waiters wake every 50 ms (one or two system calls), recovery takes up to 50 ms,
//!   and a pid reused before anyone looked delays it until the new process ends.
//! - [`Condition`] and [`Barrier`] are built on those locks and recover with them; the state
//!   the dead process was changing under the lock may be half done.
//! - [`Semaphore`]s have no owner: permits a dead process held are not returned (as with
//!   CPython's). A process killed while waiting in a [`Condition`] or [`Barrier`] stays
//!   counted (see their docs).
//! - A process killed while waiting (not holding) leaves the object's count of sleepers one
//!   too high: later releases then make a wake-up call nobody needs, which costs a system call
//!   and nothing else.
//!
//! # Differences from CPython
//! - `Event::wait` returns `true` when woken by a `set`, even if the flag was cleared at once
//!   (`threading`'s behaviour; `multiprocessing`'s can miss it).
//! - `Condition::notify(n)` wakes exactly `min(n, waiting)` threads but in no set order.
//! - A `Barrier` action is an [`Entry<()>`](crate::Entry), found by name in a spawned child.
//! - Semaphore counts are `u32`; `get_value` works on every OS (CPython lacks it on macOS).

mod barrier;
mod condition;
mod event;
mod lock;
pub(crate) mod pid_lock;
pub(crate) mod region;
mod rlock;
mod robust;
mod semaphore;
mod wait;

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard, ConditionLock};
pub use event::Event;
pub use lock::{Lock, LockGuard};
#[allow(unused_imports, reason = "the shared memory the queue may keep counters in (issue 10)")]
pub(crate) use region::SharedRegion;
pub use rlock::{RLock, RLockGuard};
pub(crate) use robust::RobustMutex;
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};

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
