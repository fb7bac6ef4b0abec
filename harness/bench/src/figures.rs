//! The catalogue of figures: what each measures, its unit, its ratios and their targets, and
//! whether the CI gate compares it. The measurements themselves are in `measure`.

use crate::model::Unit;

/// Where a ratio is taken: on plain series, at one `x` of a sweep, or at every `x` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Plain,
    X(f64),
    EachX,
}

/// A ratio of two series' medians (or one median alone, `den: None`), and the bound it should
/// meet.
#[derive(Debug, Clone, Copy)]
pub struct RatioSpec {
    pub num: &'static str,
    pub den: Option<&'static str>,
    pub at: At,
    /// The target: the ratio must be at most this (`at_least` false) or at least this.
    pub target: Option<f64>,
    pub at_least: bool,
}

const fn ratio(num: &'static str, den: &'static str) -> RatioSpec {
    RatioSpec { num, den: Some(den), at: At::Plain, target: None, at_least: false }
}
const fn at_most(num: &'static str, den: &'static str, t: f64) -> RatioSpec {
    RatioSpec { num, den: Some(den), at: At::Plain, target: Some(t), at_least: false }
}
const fn at_least(num: &'static str, den: &'static str, t: f64) -> RatioSpec {
    RatioSpec { num, den: Some(den), at: At::Plain, target: Some(t), at_least: true }
}
/// One sweep point's median on its own (a relative time, say).
const fn value_at(label: &'static str, x: f64) -> RatioSpec {
    RatioSpec { num: label, den: None, at: At::X(x), target: None, at_least: false }
}

impl RatioSpec {
    const fn at(self, x: f64) -> RatioSpec {
        RatioSpec { at: At::X(x), ..self }
    }
    const fn each_x(self) -> RatioSpec {
        RatioSpec { at: At::EachX, ..self }
    }
    const fn target(self, t: f64) -> RatioSpec {
        RatioSpec { target: Some(t), ..self }
    }
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub id: &'static str,
    pub group: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub ratios: &'static [RatioSpec],
    /// Both ends pinned to CPU 0 (Linux), so the figure shows the software's own cost.
    pub pinned: bool,
    /// Stable from run to run: the CI gate compares its ratios with the baseline's. (Ratios with
    /// a target are in the gate whatever this says: a target met in the baseline must stay met.)
    pub gated: bool,
    /// The operation `reports/cpython/bench.py` measures for the CPython columns, if any.
    pub cpython: Option<&'static str>,
    pub note: &'static str,
}

const R_FLOOR: &[RatioSpec] = &[ratio("reference", "floor"), ratio("cpython", "reference")];

/// Messaging between processes and between two threads of one process, over the same
/// primitive: the processes-versus-threads question for messages.
const R_MESSAGES: &[RatioSpec] = &[
    ratio("process-spawn", "floor"),
    ratio("process-fork", "floor"),
    ratio("threads", "floor-threads"),
    ratio("process-spawn", "threads"),
    ratio("cpython", "process-spawn"),
    ratio("cpython-threads", "threads"),
];

pub const SPECS: &[Spec] = &[
    Spec {
        id: "thread.start_join",
        group: "start",
        title: "Thread: start + join",
        unit: Unit::Nanos,
        ratios: &[at_most("reference", "floor", 1.1), ratio("cpython", "reference")],
        pinned: false,
        gated: true,
        cpython: Some("thread_start_join"),
        note: "floor: std::thread::spawn + join",
    },
    Spec {
        id: "fork.start_join",
        group: "start",
        title: "Process by fork: start + join",
        unit: Unit::Nanos,
        ratios: &[at_most("reference", "floor", 1.2), ratio("cpython", "reference")],
        pinned: false,
        gated: true,
        cpython: Some("process_fork"),
        note: "floor: fork + _exit + waitpid",
    },
    Spec {
        id: "spawn.start_join",
        group: "start",
        title: "Process by spawn: start + join",
        unit: Unit::Nanos,
        ratios: &[at_most("reference", "floor", 1.3), ratio("cpython", "reference")],
        pinned: false,
        gated: true,
        cpython: Some("process_spawn"),
        note: "floor: std::process::Command of the same binary, exiting at once",
    },
    Spec {
        id: "subprocess.trivial",
        group: "start",
        title: "subprocess: call a trivial program",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
        pinned: false,
        gated: true,
        cpython: Some("subprocess_trivial"),
        note: "floor: std::process::Command::status of the same program",
    },
    Spec {
        id: "pool.chapter",
        group: "start",
        title: "Pool(4): create + 5 tasks + close/join",
        unit: Unit::Nanos,
        ratios: &[
            at_least("cpython-spawn", "process-spawn", 20.0),
            // Issue 9: a fork server makes the fork pool at least 20x faster than CPython's.
            at_least("cpython-fork", "process-fork", 20.0),
            ratio("process-spawn", "thread-pool"),
            ratio("process-fork", "thread-pool"),
        ],
        pinned: false,
        gated: true,
        cpython: Some("pool_chapter"),
        note: "the chapter's Pool example with trivial tasks",
    },
    Spec {
        id: "queue.rtt.pinned",
        group: "ipc",
        title: "Queue round trip, processes and threads (pinned to one CPU)",
        unit: Unit::Nanos,
        ratios: &[
            // Issue 10: the queue within 1.5x of a raw pipe.
            at_most("process-spawn", "floor", 1.5),
            ratio("process-fork", "floor"),
            ratio("threads", "floor-threads"),
            ratio("process-spawn", "threads"),
            ratio("cpython", "process-spawn"),
            ratio("cpython-threads", "threads"),
        ],
        pinned: true,
        gated: true,
        cpython: Some("queue_rtt"),
        note: "16-byte message; process-*: an echo process started by fork or spawn; threads: an echo \
               thread in this process; floor: raw bytes over two pipes to a forked echo, floor-threads: \
               the same to an echo thread",
    },
    Spec {
        id: "queue.rtt.free",
        group: "ipc",
        title: "Queue round trip, processes and threads (free placement)",
        unit: Unit::Nanos,
        ratios: R_MESSAGES,
        pinned: false,
        gated: false,
        cpython: Some("queue_rtt"),
        note: "16-byte message; what a user sees, which swings with cross-CPU wake-ups",
    },
    Spec {
        id: "pipe.rtt.pinned",
        group: "ipc",
        title: "Pipe round trip, processes and threads (pinned to one CPU)",
        unit: Unit::Nanos,
        ratios: R_MESSAGES,
        pinned: true,
        gated: true,
        cpython: Some("pipe_rtt"),
        note: "16-byte message; series as for the queue",
    },
    Spec {
        id: "pipe.rtt.free",
        group: "ipc",
        title: "Pipe round trip, processes and threads (free placement)",
        unit: Unit::Nanos,
        ratios: R_MESSAGES,
        pinned: false,
        gated: false,
        cpython: Some("pipe_rtt"),
        note: "",
    },
    Spec {
        id: "queue.throughput",
        group: "ipc",
        title: "Queue one-way throughput, 16-byte messages",
        unit: Unit::PerSecond,
        // Issue 10: at least half a raw pipe's throughput.
        ratios: &[at_least("reference", "floor", 0.5), ratio("reference", "cpython")],
        pinned: false,
        gated: false,
        cpython: Some("queue_throughput"),
        note: "floor: 20-byte frames over a raw pipe",
    },
    Spec {
        id: "ipc.size_sweep",
        group: "ipc",
        title: "Round trip by message size, between processes (pinned)",
        unit: Unit::Nanos,
        // Issue 10: large messages within 1.5x of a raw pipe of the same size, and both
        // primitives at least twice as fast as CPython's at every size.
        ratios: &[
            at_most("queue", "floor", 1.5).at(65536.0),
            at_most("queue", "floor", 1.5).at(1048576.0),
            at_most("pipe", "floor", 1.5).at(65536.0),
            at_most("pipe", "floor", 1.5).at(1048576.0),
            at_least("cpython-queue", "queue", 2.0).each_x(),
            at_least("cpython-pipe", "pipe", 2.0).each_x(),
        ],
        pinned: true,
        gated: true,
        cpython: Some("size_sweep"),
        note: "x: message size; echo processes started by spawn (CPython's by fork); floor: raw bytes \
               over two pipes",
    },
    Spec {
        id: "lock.uncontended",
        group: "sync",
        title: "Lock: uncontended acquire + release",
        unit: Unit::Nanos,
        ratios: &[ratio("reference", "floor"), ratio("cpython", "reference"), ratio("process-shared", "reference")],
        pinned: false,
        gated: true,
        cpython: Some("lock_uncontended"),
        note: "floor: std::sync::Mutex; process-shared: the lock processes share (`procthread::shared::Lock`)",
    },
    Spec {
        id: "lock.contended",
        group: "sync",
        title: "Lock: 2 threads or 2 processes contending, per acquisition",
        unit: Unit::Nanos,
        ratios: &[
            at_most("reference", "floor", 1.2),
            ratio("cpython", "reference"),
            ratio("process-fork", "reference"),
            ratio("process-spawn", "reference"),
        ],
        pinned: false,
        gated: false,
        cpython: Some("lock_contended"),
        note: "reference: 2 threads on `procthread::Lock`; process-*: 2 processes started by fork or spawn on \
               `procthread::shared::Lock`, timed from a barrier on; floor: std::sync::Mutex",
    },
    Spec {
        id: "lock.contended.threads",
        group: "sync",
        title: "Lock: 2 to 8 threads contending, per acquisition",
        unit: Unit::Nanos,
        ratios: &[ratio("reference", "floor").each_x()],
        pinned: false,
        gated: false,
        cpython: Some("lock_contended_threads"),
        note: "x: threads (on 2 CPUs); floor: std::sync::Mutex",
    },
    Spec {
        id: "balance.race",
        group: "sync",
        title: "The balance race without a lock: runs that lost updates",
        unit: Unit::Percent,
        ratios: &[],
        pinned: false,
        gated: false,
        cpython: Some("balance_race"),
        note: "2 threads x 100,000 changes per run",
    },
    Spec {
        id: "balance.loop",
        group: "sync",
        title: "The balance loop: one change_it, 2 threads, with and without the lock",
        unit: Unit::Nanos,
        ratios: &[ratio("locked", "unlocked"), ratio("cpython-locked", "locked")],
        pinned: false,
        gated: false,
        cpython: Some("balance_loop"),
        note: "per iteration: balance += n; balance -= n",
    },
    Spec {
        id: "local.rw",
        group: "sync",
        title: "Thread-local: set + get",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
        pinned: false,
        gated: true,
        cpython: Some("local_rw"),
        note: "floor: thread_local! with a Cell",
    },
    Spec {
        id: "cpu.split",
        group: "cpu",
        title: "CPU-bound work split over workers, relative to sequential",
        unit: Unit::Relative,
        ratios: &[
            value_at("thread-pool", 2.0).target(0.55),
            value_at("process-pool", 2.0),
            value_at("cpython-threads", 2.0),
            value_at("cpython-processes", 2.0),
        ],
        pinned: false,
        gated: false,
        cpython: Some("cpu_split"),
        note: "8 equal chunks; x: workers; process-pool by spawn, CPython's processes by fork",
    },
    Spec {
        id: "pool.tiny_tasks",
        group: "cpu",
        title: "Per-task overhead of tiny tasks (map of 200)",
        unit: Unit::Nanos,
        ratios: &[
            // Issue 9: the pool's per-task overhead below CPython's.
            at_least("cpython-pool", "process-fork", 1.0),
            at_least("cpython-pool", "process-spawn", 1.0),
            ratio("process-spawn", "thread-pool"),
            ratio("thread-pool", "rayon"),
        ],
        pinned: false,
        gated: false,
        cpython: Some("pool_tiny_tasks"),
        note: "pools of 2 workers; process-fork and process-spawn: the start method of the workers \
               (CPython's pool by fork)",
    },
    Spec {
        id: "manager.rtt",
        group: "manager",
        title: "Manager: remote put + get over TCP loopback",
        unit: Unit::Nanos,
        ratios: &[ratio("cpython", "reference")],
        pinned: false,
        gated: false,
        cpython: Some("manager_rtt"),
        note: "",
    },
    Spec {
        id: "manager.connect",
        group: "manager",
        title: "Manager: connect + authenticate",
        unit: Unit::Nanos,
        ratios: &[ratio("cpython", "reference")],
        pinned: false,
        gated: false,
        cpython: Some("manager_connect"),
        note: "",
    },
    Spec {
        id: "manager.master_worker",
        group: "manager",
        title: "Manager: the chapter's master and worker, tasks per second",
        unit: Unit::PerSecond,
        ratios: &[ratio("reference", "cpython")],
        pinned: false,
        gated: false,
        cpython: Some("manager_master_worker"),
        note: "master puts tasks, a worker process squares them, master reads the results",
    },
    Spec {
        id: "manager.delay_sweep",
        group: "manager",
        title: "Manager: the chapter's master and worker over a slow link, tasks per second",
        unit: Unit::PerSecond,
        ratios: &[value_at("reference", 0.0), value_at("reference", 10.0), value_at("reference", 50.0)],
        pinned: false,
        gated: false,
        cpython: None,
        note: "x: the link's delay each way, in ms, between the worker and the manager (a loopback proxy \
               holding every chunk that long; the master is beside the manager); the worker makes a get \
               and a put per task, each a request and its reply",
    },
    Spec {
        id: "manager.e2e",
        group: "manager",
        title: "Manager: start + connect + put + shutdown",
        unit: Unit::Nanos,
        ratios: &[ratio("cpython", "reference"), ratio("cpython", "cpython-nodelay")],
        pinned: false,
        gated: false,
        cpython: Some("manager_e2e"),
        note: "CPython leaves Nagle on; cpython-nodelay forces TCP_NODELAY",
    },
];

pub fn spec(id: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.id == id)
}
