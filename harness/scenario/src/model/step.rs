//! Steps: one verb each, with what it acts on.

use serde::{Deserialize, Serialize};

use super::resource::SyncKind;
use super::value::{Int, NameExpr, ValueExpr};
use crate::template::Template;

/// One step, with the line it starts on (for "the step it was in" in failures).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
    /// The error this step is expected to end with; anything else is a failure.
    pub expect: Option<ErrorKind>,
    /// For a step that sets `{value}`: the value it must set (else the step fails).
    pub equals: Option<ValueExpr>,
    /// For a step that sets `{value}`: the value varies from run to run by nature; the trace
    /// records that, never the value (nor any print of it).
    pub nondeterministic: bool,
}

/// An error a step may be expected to end with (and that `loop ... until` may end a loop on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The other end of a pipe is closed.
    Eof,
    /// Nothing arrived, nothing ended, nothing was acquired within the step's `timeout_ms`.
    Timeout,
    /// The manager refused the auth key.
    AuthRefused,
    /// A `put` found the queue full until its `timeout_ms` passed (CPython's `queue.Full`).
    Full,
    /// The queue, pipe end or pool is closed (CPython's `ValueError: ... is closed`).
    Closed,
    /// A barrier was broken (aborted, or a wait timed out), CPython's `BrokenBarrierError`.
    Broken,
    /// Release of a lock that is not locked.
    NotLocked,
    /// Release (or wait, or notify) by an actor that does not own the lock.
    NotOwner,
    /// A bounded semaphore released above its value, or `task_done` called more often than
    /// items were put (CPython's `ValueError`).
    TooMany,
    /// An instance started a second time (CPython's "can only be started once").
    AlreadyStarted,
    /// A join (or signal) of an instance that was not started yet.
    NotStarted,
    /// An actor joining itself (CPython's "cannot join current thread").
    SelfJoin,
    /// A process joining a process it did not start (CPython's "can only join a child process").
    NotChild,
    /// A pool task ended with an error of its own (a failed step, a panic).
    TaskFailed,
    /// The worker process running a pool task died (killed, crashed, exited).
    WorkerDied,
    /// The connection to a manager broke or stopped answering (a cut link, a server gone): a
    /// put may or may not have arrived (it is never sent twice).
    Lost,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::Eof,
        ErrorKind::Timeout,
        ErrorKind::AuthRefused,
        ErrorKind::Full,
        ErrorKind::Closed,
        ErrorKind::Broken,
        ErrorKind::NotLocked,
        ErrorKind::NotOwner,
        ErrorKind::TooMany,
        ErrorKind::AlreadyStarted,
        ErrorKind::NotStarted,
        ErrorKind::SelfJoin,
        ErrorKind::NotChild,
        ErrorKind::TaskFailed,
        ErrorKind::WorkerDied,
        ErrorKind::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Eof => "eof",
            ErrorKind::Timeout => "timeout",
            ErrorKind::AuthRefused => "auth_refused",
            ErrorKind::Full => "full",
            ErrorKind::Closed => "closed",
            ErrorKind::Broken => "broken",
            ErrorKind::NotLocked => "not_locked",
            ErrorKind::NotOwner => "not_owner",
            ErrorKind::TooMany => "too_many",
            ErrorKind::AlreadyStarted => "already_started",
            ErrorKind::NotStarted => "not_started",
            ErrorKind::SelfJoin => "self_join",
            ErrorKind::NotChild => "not_child",
            ErrorKind::TaskFailed => "task_failed",
            ErrorKind::WorkerDied => "worker_died",
            ErrorKind::Lost => "lost",
        }
    }

    pub fn parse(word: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// Where a queue lives: a queue resource, or a queue served by a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueRef {
    Local(String),
    Remote { manager: String, queue: String },
}

/// One end of a pipe resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeRef {
    pub pipe: String,
    /// `a` or `b`.
    pub end: char,
}

/// How a step crashes its actor, for robustness scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crash {
    Panic,
    Abort,
    Segfault,
    /// SIGKILL to itself (`TerminateProcess` on Windows): a pool worker killed mid-task.
    Kill,
}

/// What a `join` waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinTarget {
    /// An actor instance (a thread or a process).
    Instance(NameExpr),
    /// A pool (after `close`): every task has run.
    Pool(String),
    /// A joinable queue: every item put has been marked `task_done`.
    Queue(String),
}

/// What `terminate` and `kill` stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopTarget {
    Instance(NameExpr),
    /// A pool: its workers stop at once, unfinished tasks are dropped.
    Pool(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseTarget {
    Pipe(PipeRef),
    Pool(String),
    Queue(String),
}

/// A question about a queue's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueQuery {
    Qsize,
    Empty,
    Full,
}

/// A question about an instance's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceQuery {
    IsAlive,
    Exitcode,
}

/// A question about a synchronization primitive's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncQuery {
    /// A lock's `locked()`.
    Locked,
    /// An event's `is_set()`.
    IsSet,
    /// A barrier's `n_waiting`.
    NWaiting,
    /// A barrier's `broken`.
    Broken,
}

/// How a pool's tasks are named and what each runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tasks {
    pub pool: String,
    pub actor: String,
    pub items: Vec<ValueExpr>,
    /// Task instance names (`{item}`, `{n}` the task's index in this step); default
    /// `ACTOR-N` with N counted per pool from 0.
    pub name: Option<Template>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StepKind {
    Print(Template),
    /// Start an instance of an actor definition (a thread or a process, by backend).
    Start {
        actor: String,
        name: NameExpr,
        args: Vec<(String, ValueExpr)>,
        /// The host it runs on (`host = "..."`), if the step names one; else its definition's,
        /// else the starter's.
        host: Option<String>,
    },
    /// Raw `fork()`: the child runs the actor definition, the parent goes on (Unix only).
    Fork {
        actor: String,
        name: NameExpr,
    },
    /// Wait for an instance, a pool or a joinable queue.
    Join {
        target: JoinTarget,
        timeout: Option<Int>,
    },
    Terminate(StopTarget),
    Kill(StopTarget),
    /// `is_alive` or `exitcode` of an instance, into `{value}`.
    Instance {
        query: InstanceQuery,
        target: NameExpr,
    },
    Put {
        queue: QueueRef,
        value: ValueExpr,
        timeout: Option<Int>,
    },
    Get {
        queue: QueueRef,
        timeout: Option<Int>,
    },
    /// `qsize`, `empty` or `full` of a queue, into `{value}`.
    Queue {
        query: QueueQuery,
        queue: String,
    },
    TaskDone(String),
    Send {
        end: PipeRef,
        value: ValueExpr,
    },
    Recv {
        end: PipeRef,
        timeout: Option<Int>,
    },
    /// Close a pipe end, a queue (no more puts or gets from this actor), or a pool (no new tasks).
    Close(CloseTarget),
    /// A lock, rlock, semaphore, bounded semaphore or condition; `timeout_ms` 0 tries once.
    Acquire {
        target: String,
        timeout: Option<Int>,
    },
    Release {
        target: String,
        on: SyncKind,
    },
    /// `locked`, `is_set`, `n_waiting` or `broken`, into `{value}`.
    Sync {
        query: SyncQuery,
        target: String,
    },
    /// Set an event.
    Set(String),
    /// Clear an event.
    Clear(String),
    /// Wait on an event (until set), a condition (until notified; its lock held) or a barrier
    /// (until all parties arrive; `{value}` is this actor's arrival index).
    Wait {
        target: String,
        on: SyncKind,
        timeout: Option<Int>,
    },
    /// Wake `n` waiters of a condition (its lock held).
    Notify {
        condition: String,
        n: Option<Int>,
    },
    NotifyAll(String),
    /// Break a barrier: every waiter, and every later wait, ends with `broken`.
    Abort(String),
    /// Return a barrier to its empty state (waiters end with `broken`).
    Reset(String),
    /// `variable = variable + amount`, as a separate read and write, so that races are real.
    Add {
        variable: String,
        amount: ValueExpr,
    },
    /// Read a variable into `{value}`.
    Read(String),
    SetLocal {
        local: String,
        value: ValueExpr,
    },
    GetLocal(String),
    /// Run one of the harness's portable tools as a subprocess, capturing stdout and exit code.
    Run {
        argv: Vec<Template>,
        stdin: Option<Template>,
        timeout: Option<Int>,
    },
    Repeat {
        times: Int,
        body: Vec<Step>,
    },
    ForEach {
        items: Vec<ValueExpr>,
        body: Vec<Step>,
    },
    /// Repeat the body until one of its steps ends with the `until` error kind, or until one of
    /// its steps sets `{value}` to `until_value` (a sentinel: CPython's `iter(q.get, None)`).
    Loop {
        until: Option<ErrorKind>,
        until_value: Option<ValueExpr>,
        body: Vec<Step>,
    },
    Sleep(Int),
    /// One task per item on a pool (`apply_async` per item); each runs the definition with
    /// `{item}`.
    Submit(Tasks),
    /// One task per item; waits for all and sets `{value}` to their results in order.
    Map {
        tasks: Tasks,
        timeout: Option<Int>,
    },
    /// One task per item; runs the body once per result, in order, with `{value}` the result.
    Imap {
        tasks: Tasks,
        body: Vec<Step>,
    },
    /// Waits for a task's result (`AsyncResult.get`) and sets `{value}` to it.
    Result {
        task: NameExpr,
        timeout: Option<Int>,
    },
    /// Ends the actor here; a pool task's result is this value.
    Return(ValueExpr),
    Serve(String),
    Connect {
        manager: String,
        authkey: Option<Template>,
    },
    Shutdown(String),
    Exit(Int),
    Crash(Crash),
    /// `link`, `cut` or `restore` of a host's link.
    Link {
        host: String,
        change: super::hosts::LinkChange,
    },
}

impl StepKind {
    pub fn body(&self) -> Option<&[Step]> {
        match self {
            StepKind::Repeat { body, .. }
            | StepKind::ForEach { body, .. }
            | StepKind::Loop { body, .. }
            | StepKind::Imap { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The step's verb as written in the file.
    pub fn verb(&self) -> &'static str {
        match self {
            StepKind::Print(_) => "print",
            StepKind::Start { .. } => "start",
            StepKind::Fork { .. } => "fork",
            StepKind::Join { .. } => "join",
            StepKind::Terminate(_) => "terminate",
            StepKind::Kill(_) => "kill",
            StepKind::Instance { query: InstanceQuery::IsAlive, .. } => "is_alive",
            StepKind::Instance { query: InstanceQuery::Exitcode, .. } => "exitcode",
            StepKind::Put { .. } => "put",
            StepKind::Get { .. } => "get",
            StepKind::Queue { query: QueueQuery::Qsize, .. } => "qsize",
            StepKind::Queue { query: QueueQuery::Empty, .. } => "empty",
            StepKind::Queue { query: QueueQuery::Full, .. } => "full",
            StepKind::TaskDone(_) => "task_done",
            StepKind::Send { .. } => "send",
            StepKind::Recv { .. } => "recv",
            StepKind::Close(_) => "close",
            StepKind::Acquire { .. } => "acquire",
            StepKind::Release { .. } => "release",
            StepKind::Sync { query: SyncQuery::Locked, .. } => "locked",
            StepKind::Sync { query: SyncQuery::IsSet, .. } => "is_set",
            StepKind::Sync { query: SyncQuery::NWaiting, .. } => "n_waiting",
            StepKind::Sync { query: SyncQuery::Broken, .. } => "broken",
            StepKind::Set(_) => "set",
            StepKind::Clear(_) => "clear",
            StepKind::Wait { .. } => "wait",
            StepKind::Notify { .. } => "notify",
            StepKind::NotifyAll(_) => "notify_all",
            StepKind::Abort(_) => "abort",
            StepKind::Reset(_) => "reset",
            StepKind::Add { .. } => "add",
            StepKind::Read(_) => "read",
            StepKind::SetLocal { .. } => "set_local",
            StepKind::GetLocal(_) => "get_local",
            StepKind::Run { .. } => "run",
            StepKind::Repeat { .. } => "repeat",
            StepKind::ForEach { .. } => "for_each",
            StepKind::Loop { .. } => "loop",
            StepKind::Sleep(_) => "sleep_ms",
            StepKind::Submit(_) => "submit",
            StepKind::Map { .. } => "map",
            StepKind::Imap { .. } => "imap",
            StepKind::Result { .. } => "result",
            StepKind::Return(_) => "return",
            StepKind::Serve(_) => "serve",
            StepKind::Connect { .. } => "connect",
            StepKind::Shutdown(_) => "shutdown",
            StepKind::Exit(_) => "exit",
            StepKind::Crash(_) => "crash",
            StepKind::Link { change, .. } => change.verb(),
        }
    }

    /// Whether the step sets `{value}` (and so may carry `equals` and `nondeterministic`).
    pub fn sets_value(&self) -> bool {
        matches!(
            self,
            StepKind::Get { .. }
                | StepKind::Recv { .. }
                | StepKind::Read(_)
                | StepKind::GetLocal(_)
                | StepKind::Run { .. }
                | StepKind::Instance { .. }
                | StepKind::Queue { .. }
                | StepKind::Sync { .. }
                | StepKind::Wait { .. }
                | StepKind::Map { .. }
                | StepKind::Result { .. }
        )
    }

    /// The error kinds this step can end with, for checking `expect` (a kind that cannot
    /// happen would make the expectation fail every run).
    pub fn possible_errors(&self) -> &'static [ErrorKind] {
        use ErrorKind::*;
        match self {
            StepKind::Start { .. } => &[AlreadyStarted],
            StepKind::Join { target: JoinTarget::Instance(_), .. } => &[Timeout, NotStarted, SelfJoin, NotChild],
            StepKind::Join { .. } => &[],
            StepKind::Terminate(_) | StepKind::Kill(_) => &[NotStarted],
            StepKind::Put { queue: QueueRef::Local(_), .. } => &[Full, Closed],
            StepKind::Put { queue: QueueRef::Remote { .. }, .. } => &[AuthRefused, Lost],
            StepKind::Get { queue: QueueRef::Local(_), .. } => &[Timeout, Closed],
            StepKind::Get { queue: QueueRef::Remote { .. }, .. } => &[Timeout, AuthRefused, Lost],
            StepKind::Queue { .. } => &[Closed],
            StepKind::TaskDone(_) => &[TooMany],
            StepKind::Send { .. } => &[Eof, Closed],
            StepKind::Recv { .. } => &[Eof, Timeout, Closed],
            StepKind::Acquire { .. } => &[Timeout],
            StepKind::Release { on: SyncKind::Lock, .. } => &[NotLocked],
            StepKind::Release { on: SyncKind::RLock | SyncKind::Condition, .. } => &[NotLocked, NotOwner],
            StepKind::Release { on: SyncKind::BoundedSemaphore, .. } => &[TooMany],
            StepKind::Release { .. } => &[],
            StepKind::Wait { on: SyncKind::Barrier, .. } => &[Broken],
            StepKind::Wait { on: SyncKind::Condition, .. } => &[Timeout, NotOwner],
            StepKind::Wait { .. } => &[Timeout],
            StepKind::Notify { .. } | StepKind::NotifyAll(_) => &[NotOwner],
            StepKind::Run { .. } => &[Timeout],
            StepKind::Submit(_) => &[Closed],
            StepKind::Map { .. } | StepKind::Imap { .. } => &[Timeout, TaskFailed, WorkerDied, Closed],
            StepKind::Result { .. } => &[Timeout, TaskFailed, WorkerDied],
            StepKind::Connect { .. } => &[AuthRefused, Lost],
            StepKind::Shutdown(_) => &[Lost],
            _ => &[],
        }
    }

    /// The step's `timeout_ms`, for steps that wait.
    pub fn timeout(&self) -> Option<&Int> {
        match self {
            StepKind::Join { timeout, .. }
            | StepKind::Put { timeout, .. }
            | StepKind::Get { timeout, .. }
            | StepKind::Recv { timeout, .. }
            | StepKind::Acquire { timeout, .. }
            | StepKind::Wait { timeout, .. }
            | StepKind::Run { timeout, .. }
            | StepKind::Map { timeout, .. }
            | StepKind::Result { timeout, .. } => timeout.as_ref(),
            _ => None,
        }
    }
}
