//! Error types, one enum per area, each carrying what a caller needs to act on it.

use std::io;
use std::time::Duration;

/// Errors of [`Queue`](crate::Queue), [`SimpleQueue`](crate::SimpleQueue),
/// [`JoinableQueue`](crate::JoinableQueue) and [`PipeEnd`](crate::PipeEnd).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// Every writer of the other side is gone: nothing more can arrive.
    #[error("end of file: the other end is closed")]
    Eof,
    /// Nothing arrived before the timeout (zero for the non-blocking forms).
    #[error("empty: nothing arrived within {0:?}")]
    Empty(Duration),
    /// A bounded queue stayed full until the timeout (zero for the non-blocking forms).
    #[error("full: the queue holds its maximum of {maxsize} items")]
    Full { maxsize: usize },
    /// `put` or `get` on a queue that this process closed (CPython's `ValueError`).
    #[error("the queue is closed in this process")]
    Closed,
    /// `join_thread` before `close` (CPython asserts the same).
    #[error("join_thread() is for a closed queue: call close() first")]
    NotClosed,
    /// `task_done` called more times than items were put (CPython's `ValueError`).
    #[error("task_done() called too many times")]
    TaskDoneTooManyTimes,
    /// The message is over the size limit (encoded size). It was refused whole: a sender writes
    /// nothing, a receiver discards the whole message, and the channel stays usable.
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A message ended early: its writer died in the middle of it.
    #[error("truncated message: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    /// The bytes on the channel are not a message of this crate's format: the channel is
    /// unusable from here on (something else wrote to it).
    #[error("corrupt stream: {0}")]
    Corrupt(String),
    /// The offset and size given to [`PipeEnd::send_bytes`](crate::PipeEnd::send_bytes) do not
    /// fit in the buffer (CPython's `ValueError`).
    #[error("offset {offset} and size {size} are out of bounds for a buffer of {len} bytes")]
    Bounds { offset: usize, size: usize, len: usize },
    /// The message did not fit in the buffer given to
    /// [`PipeEnd::recv_bytes_into`](crate::PipeEnd::recv_bytes_into); it is returned here whole
    /// (CPython's `BufferTooShort`).
    #[error("buffer too short: the message has {} bytes, {available} fit", message.len())]
    BufferTooShort { message: Vec<u8>, available: usize },
    /// The value could not be encoded, or a message could not be decoded (binary codec).
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// JSON encoding failed (the manager's wire).
    #[error("cannot encode message: {0}")]
    Encode(#[source] serde_json::Error),
    /// JSON decoding failed (the manager's wire).
    #[error("cannot decode message: {0}")]
    Decode(#[source] serde_json::Error),
    #[error("pipe I/O failed: {0}")]
    Io(#[from] io::Error),
    /// This end cannot do that (`send` on a receive-only end of a one-way pipe).
    #[error("this end of the pipe is {0}-only")]
    WrongDirection(&'static str),
}

/// Errors of the binary encoding that queues and pipes use (MessagePack).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("cannot encode the value: {0}")]
    Encode(#[source] rmp_serde::encode::Error),
    #[error("cannot decode the message: {0}")]
    Decode(#[source] rmp_serde::decode::Error),
}

/// Errors of [`Process`](crate::Process) and [`fork`](crate::fork).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    #[error("process {name:?} was already started")]
    AlreadyStarted { name: String },
    #[error("process {name:?} was not started")]
    NotStarted { name: String },
    /// `fork` from a multi-threaded process: the child could deadlock on a lock another thread held.
    #[error("refusing to fork: this process has {threads} threads (fork only from a single-threaded process)")]
    ForkUnsafe { threads: usize },
    /// The start method does not exist on this OS (fork on Windows).
    #[error("start method {method} is not available on this OS: {reason}")]
    Unsupported { method: &'static str, reason: &'static str },
    #[error("cannot pass the arguments to the child: {0}")]
    Arguments(#[source] serde_json::Error),
    #[error("cannot start process {name:?}: {source}")]
    Start { name: String, source: io::Error },
    #[error("cannot wait for process {name:?}: {source}")]
    Wait { name: String, source: io::Error },
    #[error("cannot signal process {name:?}: {source}")]
    Signal { name: String, source: io::Error },
}

/// Errors of [`Pool`](crate::Pool), [`ThreadPool`](crate::ThreadPool) and their [`AsyncResult`](crate::AsyncResult).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    #[error("no result within {0:?}")]
    Timeout(Duration),
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The worker running the task died (crash, signal, kill): the task is lost, the pool goes on.
    #[error("worker process {pid} died with exit code {exitcode} while running the task")]
    WorkerDied { pid: u32, exitcode: i32 },
    #[error("task {0:?} is not registered in this program")]
    UnknownTask(String),
    #[error("the pool was terminated before the task finished")]
    Terminated,
    #[error("the pool is closed: no new tasks")]
    Closed,
    #[error("the result was already taken by an earlier get")]
    AlreadyTaken,
    #[error("pool failure: {0}")]
    Failed(String),
}

/// Errors of the [`subprocess`](crate::subprocess) functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubprocessError {
    #[error("program not found: {program}")]
    NotFound { program: String },
    #[error("empty command line")]
    EmptyCommand,
    /// The timeout passed: the child (and on Unix its process group) was killed and reaped.
    #[error("{program} timed out after {timeout:?} and was killed")]
    Timeout { program: String, timeout: Duration, stdout: Vec<u8>, stderr: Vec<u8> },
    #[error("{program}: {source}")]
    Io { program: String, source: io::Error },
}

/// Errors of the [`manager`](crate::manager).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// The server refused our key (or we refused the server's answer): nothing was reachable.
    #[error("authentication refused")]
    AuthRefused,
    #[error("unknown queue {name:?}; the manager serves: {known}")]
    UnknownQueue { name: String, known: String },
    #[error("queue {0:?} is empty")]
    Empty(String),
    #[error("the manager is shutting down")]
    ShuttingDown,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("manager I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// Errors of the synchronization primitives: [`Lock`](crate::Lock), [`RLock`](crate::RLock),
/// [`Condition`](crate::Condition), [`Semaphore`](crate::Semaphore),
/// [`BoundedSemaphore`](crate::BoundedSemaphore), [`Barrier`](crate::Barrier), and their
/// process-shared counterparts in [`shared`](crate::shared).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("release of an unlocked lock")]
    NotLocked,
    #[error("release of a reentrant lock by a thread that does not own it")]
    NotOwner,
    /// `wait` or `notify` on a condition whose lock the caller does not hold (CPython's
    /// `RuntimeError`).
    #[error("cannot wait on or notify an un-acquired lock")]
    NotAcquired,
    /// A bounded semaphore released past its initial value (CPython's `ValueError`).
    #[error("semaphore released too many times: its bound is {bound}")]
    TooManyReleases { bound: usize },
    /// `release_n(0)` (CPython's `ValueError: n must be one or more`).
    #[error("the release count must be one or more")]
    ZeroRelease,
    /// The barrier was aborted, reset while this thread waited, or broken by a timeout or a
    /// failed action (CPython's `BrokenBarrierError`).
    #[error("the barrier is broken")]
    BrokenBarrier,
}
