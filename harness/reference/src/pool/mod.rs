//! Pools of bounded size: [`Pool`] of worker processes and [`ThreadPool`] of worker threads,
//! with the same API (`apply_async`, `map`, `close`, `join`, `terminate`).

mod jobs;
mod process_pool;
mod result;
mod thread_pool;

pub use process_pool::Pool;
pub(crate) use process_pool::WORKER_ENTRY;
pub use result::AsyncResult;
pub use thread_pool::ThreadPool;
