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
    /// [`Process::close`](crate::Process::close) was called: the process object is spent.
    #[error("process {name:?} is closed")]
    Closed { name: String },
    /// A running process cannot be closed (join, terminate or kill it first).
    #[error("cannot close process {name:?} (pid {pid}): it is still running")]
    StillRunning { name: String, pid: u32 },
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

/// Errors of [`Pool`](crate::Pool), [`ThreadPool`](crate::ThreadPool) and their
/// [`AsyncResult`](crate::AsyncResult). A task's own failure keeps its kind: a panic, an error
/// value (with its type name), or the death of the worker running it (with the signal), each
/// with the text the worker saw (CPython's remote traceback).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    #[error("no result within {0:?}")]
    Timeout(Duration),
    /// The task panicked. `remote` is what the worker saw: thread, location, message and, when
    /// `RUST_BACKTRACE` is set in the worker, the stack.
    #[error("task panicked: {message}")]
    Panicked { message: String, remote: String },
    /// The task returned `Err` (a task made with [`Task::fallible`](crate::Task::fallible)).
    /// `type_name` is the error's Rust type, `message` its `Display` text, `remote` its
    /// `Debug` text with the worker that returned it.
    #[error("task failed with {type_name}: {message}")]
    TaskFailed { type_name: String, message: String, remote: String },
    /// The worker running the task died (crash, signal, kill): the task is lost, the pool goes
    /// on. `exitcode` is the exit status or minus the signal number (see [`signal`](Self::signal)).
    #[error("worker process {pid} {} while running the task", describe_exit(*.exitcode))]
    WorkerDied { pid: u32, exitcode: i32 },
    /// The worker's initializer panicked: the worker could take no task.
    #[error("the pool's initializer failed in worker process {pid}: {message}")]
    InitializerFailed { pid: u32, message: String },
    #[error("task {0:?} is not registered in this program")]
    UnknownTask(String),
    /// The task's arguments or result could not be encoded; the task failed, the pool goes on.
    #[error("cannot encode the {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// The task's arguments or result could not be decoded (for example nested deeper than the
    /// decoder allows); the task failed, the pool goes on.
    #[error("cannot decode the {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    /// The task's arguments or result are over the message limit; the task failed, the pool goes on.
    #[error("the {what} of {size} bytes are over the limit of {limit} bytes")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    #[error("the pool was terminated before the task finished")]
    Terminated,
    #[error("the pool is closed: no new tasks")]
    Closed,
    /// [`AsyncResult::successful`](crate::AsyncResult::successful) before the task finished.
    #[error("the result is not ready yet")]
    NotReady,
    /// A pool option out of range (CPython raises `ValueError` for these).
    #[error("invalid pool option {option}: {reason}")]
    InvalidOption { option: &'static str, reason: &'static str },
    #[error("cannot start a pool worker: {0}")]
    WorkerStart(String),
    #[error("join before close or terminate")]
    JoinBeforeClose,
}

impl PoolError {
    /// The signal that killed the worker, for [`PoolError::WorkerDied`] on Unix.
    pub fn signal(&self) -> Option<i32> {
        match self {
            PoolError::WorkerDied { exitcode, .. } if cfg!(unix) && *exitcode < 0 => Some(-exitcode),
            _ => None,
        }
    }
}

fn describe_exit(code: i32) -> String {
    if cfg!(unix) && code < 0 {
        format!("was killed by signal {}", -code)
    } else {
        format!("died with exit code {code}")
    }
}

/// Errors of the [`subprocess`](crate::subprocess) functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubprocessError {
    #[error("program not found: {program}")]
    NotFound { program: String },
    #[error("empty command line")]
    EmptyCommand,
    /// The timeout passed (CPython's `TimeoutExpired`), with the output read until then. From
    /// `run`, `call` and the other one-shot functions the child (and on Unix its process group)
    /// was killed and reaped; from `Popen::wait_timeout` and `Popen::communicate` it still runs.
    #[error("{program} timed out after {timeout:?}")]
    Timeout { program: String, timeout: Duration, stdout: Vec<u8>, stderr: Vec<u8> },
    /// The program ended with a non-zero exit code where success was required (CPython's
    /// `CalledProcessError`), with the output it captured.
    #[error("{program} ended with exit code {code}")]
    CalledProcess { program: String, code: i32, stdout: Vec<u8>, stderr: Vec<u8> },
    /// Arguments that contradict each other (CPython's `ValueError`).
    #[error("{program}: {reason}")]
    Invalid { program: String, reason: &'static str },
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
    /// A manager was given an empty key, which proves nothing.
    #[error("an empty key proves nothing: give the manager a key, or none to have one generated")]
    EmptyKey,
    #[error("unknown queue {name:?}; the manager serves: {known}")]
    UnknownQueue { name: String, known: String },
    /// Nothing arrived within the `get`'s timeout.
    #[error("queue {0:?} is empty")]
    Empty(String),
    /// The put would take the queue past its byte bound; nothing was queued.
    #[error("queue {queue:?} is full: {size} more bytes would pass its bound of {limit} bytes")]
    QueueFull { queue: String, size: usize, limit: usize },
    /// The put would take all queues together past the manager's byte bound; nothing was queued.
    #[error("the manager is full: {size} more bytes would pass its bound of {limit} bytes for all queues")]
    ManagerFull { size: usize, limit: usize },
    /// A message over a side's frame limit, refused whole: nothing of it was kept.
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The server is at one of its connection limits (its reason says which); try again later.
    #[error("the manager refused the connection: {0}")]
    Busy(String),
    #[error("the manager is shutting down")]
    ShuttingDown,
    #[error("cannot serve on {address}: {source}")]
    Bind { address: std::net::SocketAddr, source: io::Error },
    #[error("cannot connect to the manager at {address}: {source}")]
    Connect { address: String, source: io::Error },
    /// The connection and handshake did not finish within the client's connect timeout.
    #[error("no connection to the manager at {address} within {after:?} (connect and handshake)")]
    ConnectTimeout { address: String, after: Duration },
    /// The reply did not come within the call's bound (its wait plus the peer timeout): the
    /// connection was dropped; the next call makes a new one. A put is never sent again.
    #[error(
        "no reply from the manager within {waited:?} during {during}; the connection was dropped{}",
        unsure(during)
    )]
    NoReply { during: &'static str, waited: Duration },
    /// The connection broke during a call; the next call makes a new one. A put is never sent again.
    #[error("lost the connection to the manager during {during}: {reason}{}", unsure(during))]
    ConnectionLost { during: &'static str, reason: String },
    #[error("cannot encode the value: {0}")]
    Encode(#[source] serde_json::Error),
    /// The value taken from the queue is not of the type asked for (it is quoted, clipped).
    #[error("cannot decode the value {value}: {source}")]
    Decode { value: String, source: serde_json::Error },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("manager I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// What a failed call leaves unknown.
fn unsure(during: &str) -> &'static str {
    if during == "put" { " (the value may or may not have been queued; it was not sent again)" } else { "" }
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
