//! Stage two: the validated model of a scenario. Everything here has been checked: names refer
//! to defined actors and resources, templates use known placeholders, numbers are in range.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::template::Template;

/// A program of actors (threads or processes) and shared resources, and what must hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// The file's stem: `queue-ipc` for `scenarios/queue-ipc.toml`.
    pub name: String,
    pub path: PathBuf,
    pub title: String,
    /// The chapter example it reproduces (row of the seed table), if any.
    pub chapter: Option<u32>,
    /// How long one run may take before its whole process tree is killed.
    pub timeout: Duration,
    /// Backends the author restricted the scenario to (`None`: every one that applies).
    pub backends: Option<Vec<crate::Backend>>,
    pub resources: Vec<Resource>,
    /// Actor definitions; `main` is always first and is what the run starts with.
    pub actors: Vec<ActorDef>,
    pub expect: Expectations,
    /// Declared differences of other implementations (`[divergence.cpython]`).
    #[serde(default)]
    pub divergences: Vec<crate::divergence::Divergence>,
}

pub const MAIN: &str = "main";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Scenario {
    pub fn actor(&self, name: &str) -> Option<&ActorDef> {
        self.actors.iter().find(|a| a.name == name)
    }

    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// Every step of every actor, depth first, with the actor that owns it.
    pub fn all_steps(&self) -> impl Iterator<Item = (&ActorDef, &Step)> {
        self.actors.iter().flat_map(|a| walk(&a.steps).into_iter().map(move |s| (a, s)))
    }

    pub fn uses_pool(&self) -> bool {
        self.resources.iter().any(|r| matches!(r.kind, ResourceKind::Pool { .. }))
    }
}

/// Steps in order, including those nested in loops.
pub fn walk(steps: &[Step]) -> Vec<&Step> {
    let mut out = Vec::new();
    for s in steps {
        out.push(s);
        if let Some(inner) = s.kind.body() {
            out.extend(walk(inner));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub kind: ResourceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResourceKind {
    /// A multi-producer, multi-consumer FIFO.
    Queue,
    /// Two connected ends `a` and `b`, each owned by the named actor definition.
    Pipe {
        a: String,
        b: String,
    },
    Lock,
    /// An integer shared by threads; each process has its own copy.
    Variable {
        initial: i64,
    },
    /// Per-thread storage.
    Local,
    /// A pool of `size` workers running actor definitions as tasks.
    Pool {
        size: usize,
    },
    /// A TCP manager serving named queues, guarded by an auth key.
    Manager {
        queues: Vec<String>,
        authkey: String,
    },
}

impl ResourceKind {
    pub fn word(&self) -> &'static str {
        match self {
            ResourceKind::Queue => "queue",
            ResourceKind::Pipe { .. } => "pipe",
            ResourceKind::Lock => "lock",
            ResourceKind::Variable { .. } => "variable",
            ResourceKind::Local => "local",
            ResourceKind::Pool { .. } => "pool",
            ResourceKind::Manager { .. } => "manager",
        }
    }
}

/// A named list of steps; started with arguments bound to its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActorDef {
    pub name: String,
    pub params: Vec<String>,
    pub steps: Vec<Step>,
}

/// One step, with the line it starts on (for "the step it was in" in failures).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
    /// The error this step is expected to end with; anything else is a failure.
    pub expect: Option<ErrorKind>,
}

/// An error a step may be expected to end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The other end of a pipe is closed.
    Eof,
    /// Nothing arrived / nothing ended within the step's timeout.
    Timeout,
    /// The manager refused the auth key.
    AuthRefused,
}

impl ErrorKind {
    pub const ALL: [(&'static str, ErrorKind); 3] =
        [("eof", ErrorKind::Eof), ("timeout", ErrorKind::Timeout), ("auth_refused", ErrorKind::AuthRefused)];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Eof => "eof",
            ErrorKind::Timeout => "timeout",
            ErrorKind::AuthRefused => "auth_refused",
        }
    }
}

/// A JSON value whose strings are templates, rendered when the step runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueExpr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Template),
    List(Vec<ValueExpr>),
}

/// Where a queue lives: a local queue resource, or a queue served by a manager.
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StepKind {
    Print(Template),
    /// Start an instance of an actor definition (a thread or a process, by backend).
    Start {
        actor: String,
        name: Template,
        args: Vec<(String, ValueExpr)>,
    },
    /// Raw `fork()`: the child runs the actor definition, the parent goes on (Unix only).
    Fork {
        actor: String,
        name: Template,
    },
    /// Wait for an actor instance (or a pool) to end.
    Join {
        target: String,
        timeout: Option<Duration>,
    },
    Terminate(String),
    Kill(String),
    Put {
        queue: QueueRef,
        value: ValueExpr,
    },
    Get {
        queue: QueueRef,
        timeout: Option<Duration>,
    },
    Send {
        end: PipeRef,
        value: ValueExpr,
    },
    Recv {
        end: PipeRef,
        timeout: Option<Duration>,
    },
    /// Close a pipe end, or close a pool to new tasks.
    Close(CloseTarget),
    Acquire(String),
    Release(String),
    /// `variable = variable + amount`, as a separate read and write, so that races are real.
    Add {
        variable: String,
        amount: ValueExpr,
    },
    /// Read a variable into the last value.
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
        timeout: Option<Duration>,
    },
    Repeat {
        times: u64,
        body: Vec<Step>,
    },
    ForEach {
        items: Vec<ValueExpr>,
        body: Vec<Step>,
    },
    /// Repeat the body until one of its steps ends with the expected error kind.
    Loop {
        until: Option<ErrorKind>,
        body: Vec<Step>,
    },
    Sleep(Duration),
    /// Submit one task per item to a pool; each runs the actor definition with `{item}`.
    Submit {
        pool: String,
        actor: String,
        items: Vec<ValueExpr>,
    },
    Serve(String),
    Connect {
        manager: String,
        authkey: Option<Template>,
    },
    Shutdown(String),
    Exit(i32),
    Crash(Crash),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseTarget {
    Pipe(PipeRef),
    Pool(String),
}

impl StepKind {
    pub fn body(&self) -> Option<&[Step]> {
        match self {
            StepKind::Repeat { body, .. } | StepKind::ForEach { body, .. } | StepKind::Loop { body, .. } => Some(body),
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
            StepKind::Put { .. } => "put",
            StepKind::Get { .. } => "get",
            StepKind::Send { .. } => "send",
            StepKind::Recv { .. } => "recv",
            StepKind::Close(_) => "close",
            StepKind::Acquire(_) => "acquire",
            StepKind::Release(_) => "release",
            StepKind::Add { .. } => "add",
            StepKind::Read(_) => "read",
            StepKind::SetLocal { .. } => "set_local",
            StepKind::GetLocal(_) => "get_local",
            StepKind::Run { .. } => "run",
            StepKind::Repeat { .. } => "repeat",
            StepKind::ForEach { .. } => "for_each",
            StepKind::Loop { .. } => "loop",
            StepKind::Sleep(_) => "sleep_ms",
            StepKind::Submit { .. } => "submit",
            StepKind::Serve(_) => "serve",
            StepKind::Connect { .. } => "connect",
            StepKind::Shutdown(_) => "shutdown",
            StepKind::Exit(_) => "exit",
            StepKind::Crash(_) => "crash",
        }
    }
}

/// How an actor instance must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitExpect {
    Code(i32),
    /// Ended by `terminate`: -15 (SIGTERM) on every OS.
    Terminated,
    /// Ended by `kill`: -9 on Unix, -15 on Windows (one `TerminateProcess` for both).
    Killed,
    /// Ended by a crash: any non-zero code or signal.
    Crashed,
}

impl std::fmt::Display for ExitExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitExpect::Code(c) => write!(f, "{c}"),
            ExitExpect::Terminated => f.write_str("terminated"),
            ExitExpect::Killed => f.write_str("killed"),
            ExitExpect::Crashed => f.write_str("crashed"),
        }
    }
}

/// What a variable must hold at the end, in the main actor's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VarExpect {
    Exactly(i64),
    /// Varies from run to run by nature (a race): only recorded as such.
    Nondeterministic,
}

/// A variable's expectation, possibly different for threads and for processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarExpectation {
    pub variable: String,
    pub threads: VarExpect,
    pub processes: VarExpect,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Expectations {
    /// Per actor instance; instances not listed must exit 0.
    pub exit: Vec<(String, ExitExpect)>,
    pub variables: Vec<VarExpectation>,
    /// Per pool: the most tasks running at once must not exceed this; under the key `actors`,
    /// the most started actor instances (main and pool tasks aside) running at once.
    pub max_concurrent: Vec<(String, usize)>,
    /// Per pool: tasks must run in at most this many distinct processes (workers are reused).
    pub max_distinct_pids: Vec<(String, usize)>,
    /// Per actor instance: the values it received (get, recv, read, get_local), in order.
    pub received: Vec<(String, Vec<serde_json::Value>)>,
}
