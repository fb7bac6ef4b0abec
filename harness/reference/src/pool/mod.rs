//! Pools of bounded size: [`Pool`] of worker processes and [`ThreadPool`] of worker threads,
//! with the same API (CPython's `Pool` and `ThreadPool`): `apply`, `apply_async`, `map`,
//! `map_async`, `starmap`, `imap`, `imap_unordered`, callbacks, chunks, `close`, `join`,
//! `terminate`.

mod collect;
mod failure;
mod feeder;
#[cfg(unix)]
mod fork_server;
mod imap;
mod jobs;
mod process_pool;
mod protocol;
mod result;
mod thread_pool;
mod worker;

use crate::entry::Registered;

pub use imap::IMapIterator;
pub use process_pool::{Pool, PoolBuilder};
pub(crate) use protocol::{not_a_task, run_task_item};
pub use result::{AsyncResult, Callbacks};
pub use thread_pool::{ThreadPool, ThreadPoolBuilder};

/// The entry points the crate itself registers: the pool worker and the fork server.
pub(crate) static BUILTIN_ENTRIES: &[&dyn Registered] = &[
    &worker::WORKER_ENTRY,
    #[cfg(unix)]
    &fork_server::SERVER_ENTRY,
];

/// In a freshly forked child: forget the parent's fork server connection (see
/// `fork::after_fork_in_child`).
#[cfg(unix)]
pub(crate) fn forget_inherited() {
    fork_server::forget_inherited();
}

/// Starts this program's fork server now, rather than at the first pool started by fork.
/// Call it early (after [`dispatch`](crate::dispatch)) to take its start-up off the first
/// pool's time; it is started once per process either way.
#[cfg(unix)]
pub fn start_fork_server() -> Result<(), crate::PoolError> {
    fork_server::client().map(drop)
}
