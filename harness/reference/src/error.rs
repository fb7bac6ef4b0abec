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

/// Errors of [`Lock`](crate::Lock) and [`RLock`](crate::RLock).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("release of an unlocked lock")]
    NotLocked,
    #[error("release of a reentrant lock by a thread that does not own it")]
    NotOwner,
}
