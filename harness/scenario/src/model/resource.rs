//! Resources: what actors share.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub kind: ResourceKind,
}

/// Who shares a synchronization or communication primitive: `threading`'s kind, one per process
/// and shared by its threads, or `multiprocessing`'s kind, one shared by every process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `threading.Lock`, `queue.Queue`...: each process has its own, its threads share it.
    Process,
    /// `multiprocessing.Lock`, `multiprocessing.Queue`...: one, shared by every process.
    Shared,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Process => "process",
            Scope::Shared => "shared",
        }
    }
}

/// The primitives that wait and count: a lock and its relatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Lock,
    /// Reentrant: its owner may acquire it again; only its owner may release it.
    RLock,
    /// A counter: `acquire` takes one (waiting at zero), `release` gives one back.
    Semaphore,
    /// A semaphore that refuses to be released above its initial value.
    BoundedSemaphore,
    /// A flag: `set`, `clear`, `wait` until set.
    Event,
    /// A lock (its own reentrant one) with `wait`, `notify` and `notify_all`.
    Condition,
    /// `parties` actors `wait` until all have arrived; `abort` breaks it.
    Barrier,
}

impl SyncKind {
    pub fn word(self) -> &'static str {
        match self {
            SyncKind::Lock => "lock",
            SyncKind::RLock => "rlock",
            SyncKind::Semaphore => "semaphore",
            SyncKind::BoundedSemaphore => "bounded_semaphore",
            SyncKind::Event => "event",
            SyncKind::Condition => "condition",
            SyncKind::Barrier => "barrier",
        }
    }

    /// Whether `acquire` / `release` apply.
    pub fn is_lockable(self) -> bool {
        !matches!(self, SyncKind::Event | SyncKind::Barrier)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResourceKind {
    /// A multi-producer, multi-consumer FIFO; `maxsize` 0 is unbounded. A joinable queue also
    /// counts unfinished items (`task_done`, `join`).
    Queue { maxsize: usize, joinable: bool, scope: Scope },
    /// Two connected ends `a` and `b`, each owned by the named actor definition.
    Pipe { a: String, b: String },
    /// A lock, semaphore, event, condition or barrier. `value`: a semaphore's initial count;
    /// `parties`: a barrier's size.
    Sync { kind: SyncKind, scope: Scope, value: u32, parties: u32 },
    /// An integer shared by threads; each process has its own copy.
    Variable { initial: i64 },
    /// Per-thread storage.
    Local,
    /// A pool of `size` workers running actor definitions as tasks.
    Pool { size: usize },
    /// A TCP manager serving named queues, guarded by an auth key. `peer_timeout_ms`: how long
    /// its server and clients wait on a silent peer (the reference's default, 10 s, if `None`).
    Manager {
        queues: Vec<String>,
        authkey: String,
        #[serde(default)]
        peer_timeout_ms: Option<u32>,
    },
}

impl ResourceKind {
    pub fn word(&self) -> &'static str {
        match self {
            ResourceKind::Queue { joinable: false, .. } => "queue",
            ResourceKind::Queue { joinable: true, .. } => "joinable_queue",
            ResourceKind::Pipe { .. } => "pipe",
            ResourceKind::Sync { kind, .. } => kind.word(),
            ResourceKind::Variable { .. } => "variable",
            ResourceKind::Local => "local",
            ResourceKind::Pool { .. } => "pool",
            ResourceKind::Manager { .. } => "manager",
        }
    }

    pub fn scope(&self) -> Option<Scope> {
        match self {
            ResourceKind::Queue { scope, .. } | ResourceKind::Sync { scope, .. } => Some(*scope),
            _ => None,
        }
    }

    pub fn sync(&self) -> Option<SyncKind> {
        match self {
            ResourceKind::Sync { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
