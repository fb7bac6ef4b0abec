//! Error types, one enum per area, each carrying what a caller needs to act on it.

use std::io;
use std::time::Duration;

/// Errors of [`Queue`](crate::Queue) and [`PipeEnd`](crate::PipeEnd).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// Every writer of the other side is gone: nothing more can arrive.
    #[error("end of file: the other end is closed")]
    Eof,
    /// Nothing arrived before the timeout.
    #[error("empty: nothing arrived within {0:?}")]
    Empty(Duration),
    /// The message is over the size limit; it was refused whole and nothing was written.
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A frame ended early: the writer died in the middle of a message.
    #[error("truncated message: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    #[error("cannot encode message: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("cannot decode message: {0}")]
    Decode(#[source] serde_json::Error),
    #[error("pipe I/O failed: {0}")]
    Io(#[from] io::Error),
    /// This end cannot do that (`send` on a receive-only end of a one-way pipe).
    #[error("this end of the pipe is {0}-only")]
    WrongDirection(&'static str),
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

/// Errors of [`Lock`](crate::Lock) and [`RLock`](crate::RLock).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("release of an unlocked lock")]
    NotLocked,
    #[error("release of a reentrant lock by a thread that does not own it")]
    NotOwner,
}
