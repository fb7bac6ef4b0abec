//! The processes and threads of the classic tutorial chapter, in Rust, with the chapter's
//! semantics: [`fork`] (Unix), [`Process`] with the `fork` and `spawn` start methods, [`Pool`]
//! and [`ThreadPool`], [`subprocess`], [`Queue`] and [`pipe`], named [`thread`]s, `threading`'s
//! [`Lock`], [`RLock`], [`Condition`], [`Event`], [`Semaphore`], [`BoundedSemaphore`] and
//! [`Barrier`], the same shared by processes in [`shared`], [`Local`] storage, and a
//! [`manager`] serving queues over authenticated TCP.
//!
//! A program that starts processes by spawn must call [`dispatch`] first thing in `main`, with
//! the entry points and tasks its children may run:
//! ```no_run
//! use procthread::{Entry, Process, Registry};
//!
//! static RUN_PROC: Entry<String> = Entry::new("run_proc", run_proc);
//! static REGISTRY: Registry = &[&RUN_PROC];
//!
//! fn run_proc(name: String) {
//!     println!("Run child process {name} ({})...", std::process::id());
//! }
//!
//! fn main() {
//!     procthread::dispatch(REGISTRY);
//!     let mut p = Process::new(&RUN_PROC, "test".into());
//!     p.start().expect("start");
//!     p.join().expect("join");
//! }
//! ```
//!
//! # Platform specific behaviour
//! - `fork` exists on Unix only: [`fork`] is absent on Windows, and [`StartMethod::Fork`] gives
//!   [`ProcessError::Unsupported`] there.
//! - Exit codes: the exit status, or minus the signal number on Unix. On Windows, `terminate`
//!   and `kill` both call `TerminateProcess` with code `0x10000`, read back as `-15` (CPython's
//!   mapping).
//! - Handles reach a spawned child by inheritance: on Unix the listed descriptors lose
//!   close-on-exec in the child only; on Windows they are made inheritable for the one spawn
//!   that needs them (our spawns are serialized so that no other child inherits them).
//! - A spawned child trusts nothing on its command line but the number of its boot channel,
//!   through which the parent sends what to run: on Unix a socket pair whose maker the kernel
//!   names (on Linux the child refuses one its parent did not make), on Windows a pipe. Every
//!   handle it adopts must be open, not stdio (nor, on Unix, a device or directory), and listed
//!   once.
//! - [`wait`] over several processes blocks on each child's pidfd on Linux (its status pipe on
//!   older kernels and macOS) and on the process handles on Windows.
//! - A [`Pool`] started by fork (Unix) forks its workers from a fork server, a small process
//!   spawned once per program ([`start_fork_server`] starts it early).

mod codec;
mod deadline;
mod entry;
mod error;
pub mod faultpoint;
#[cfg(unix)]
mod fork;
mod framing;
mod handles;
pub mod manager;
mod os;
mod pipe;
mod pool;
mod process;
mod queue;
pub mod shared;
pub mod subprocess;
mod sync;
pub mod thread;
mod token;

mod local;

pub use entry::{
    Entry, Registered, Registry, Task, current_process_is_daemon, current_process_name, dispatch, dispatch_all,
    parent_pid,
};
pub use error::{ChannelError, CodecError, LockError, ManagerError, PoolError, ProcessError, SubprocessError};
#[cfg(unix)]
pub use fork::{Fork, ForkedChild, exit_child, fork};
pub use framing::DEFAULT_MAX_MESSAGE;
pub use local::Local;
pub use pipe::{PipeEnd, pipe, pipe_oneway};
#[cfg(unix)]
pub use pool::start_fork_server;
pub use pool::{AsyncResult, Callbacks, IMapIterator, Pool, PoolBuilder, ThreadPool, ThreadPoolBuilder};
pub use process::{ChildProcess, ParentProcess, Process, StartMethod, Waitable, active_children, parent_process, wait};
pub use queue::{JoinableQueue, Queue, SimpleQueue};
pub use sync::{
    Barrier, BoundedSemaphore, Condition, ConditionGuard, ConditionLock, Event, Lock, LockGuard, RLock, RLockGuard,
    Semaphore, SemaphoreGuard,
};
