//! Every figure of the report: what it measures, its unit, its ratios and its target, and the
//! measurement itself (run by `harness measure ID` in a fresh, single-threaded process).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use procthread::{Pool, StartMethod, ThreadPool};
use serde::Serialize;

impl Unit {
    pub fn higher_is_better(self) -> bool {
        self == Unit::PerSecond
    }
}

use super::stats::{Budget, paired, time_per_op};
use super::workloads::{self as w, Series};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Unit {
    /// Nanoseconds per operation (lower is better).
    Nanos,
    /// Messages per second (higher is better).
    PerSecond,
    /// Wall time relative to sequential (lower is better).
    Relative,
    /// Percentage of runs.
    Percent,
}

/// A ratio of two series' medians, and the bound it should meet.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratio {
    pub num: &'static str,
    pub den: &'static str,
    /// The target: the ratio must be at most this (`at_least` false) or at least this.
    pub target: Option<f64>,
    pub at_least: bool,
}

const fn ratio(num: &'static str, den: &'static str) -> Ratio {
    Ratio { num, den, target: None, at_least: false }
}
const fn at_most(num: &'static str, den: &'static str, t: f64) -> Ratio {
    Ratio { num, den, target: Some(t), at_least: false }
}
const fn at_least(num: &'static str, den: &'static str, t: f64) -> Ratio {
    Ratio { num, den, target: Some(t), at_least: true }
}

#[derive(Debug, Clone, Serialize)]
pub struct Spec {
    pub id: &'static str,
    pub group: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub ratios: &'static [Ratio],
    /// Both ends pinned to CPU 0 (Linux), so the figure shows the software's own cost.
    pub pinned: bool,
    /// Stable from run to run: the CI gate compares its ratios.
    pub gated: bool,
    /// The operation `reports/cpython/bench.py` measures for the CPython column, if any.
    pub cpython: Option<&'static str>,
    pub note: &'static str,
}

const R_FLOOR: &[Ratio] = &[ratio("reference", "floor"), ratio("cpython", "reference")];

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
            at_least("cpython-fork", "process-fork", 20.0),
            ratio("process-spawn", "thread-pool"),
        ],
        pinned: false,
        gated: true,
        cpython: Some("pool_chapter"),
        note: "the chapter's Pool example with trivial tasks",
    },
    Spec {
        id: "queue.rtt.pinned",
        group: "ipc",
        title: "Queue round trip between processes (pinned to one CPU)",
        unit: Unit::Nanos,
        ratios: &[at_most("reference", "floor", 1.5), ratio("cpython", "reference")],
        pinned: true,
        gated: true,
        cpython: Some("queue_rtt"),
        note: "16-byte message; floor: raw bytes over two pipes",
    },
    Spec {
        id: "queue.rtt.free",
        group: "ipc",
        title: "Queue round trip between processes (free placement)",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
        pinned: false,
        gated: false,
        cpython: Some("queue_rtt"),
        note: "what a user sees; swings with cross-CPU wake-ups",
    },
    Spec {
        id: "pipe.rtt.pinned",
        group: "ipc",
        title: "Pipe round trip between processes (pinned to one CPU)",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
        pinned: true,
        gated: true,
        cpython: Some("pipe_rtt"),
        note: "16-byte message",
    },
    Spec {
        id: "pipe.rtt.free",
        group: "ipc",
        title: "Pipe round trip between processes (free placement)",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
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
        ratios: &[at_least("reference", "floor", 0.5), ratio("reference", "cpython")],
        pinned: false,
        gated: false,
        cpython: Some("queue_throughput"),
        note: "floor: 20-byte frames over a raw pipe",
    },
    Spec {
        id: "ipc.size_sweep",
        group: "ipc",
        title: "Round trip by message size (pinned)",
        unit: Unit::Nanos,
        ratios: &[],
        pinned: true,
        gated: false,
        cpython: Some("queue_size_sweep"),
        note: "x: message size in bytes",
    },
    Spec {
        id: "lock.uncontended",
        group: "sync",
        title: "Lock: uncontended acquire + release",
        unit: Unit::Nanos,
        ratios: R_FLOOR,
        pinned: false,
        gated: true,
        cpython: Some("lock_uncontended"),
        note: "floor: std::sync::Mutex",
    },
    Spec {
        id: "lock.contended",
        group: "sync",
        title: "Lock: 2 threads contending, per acquisition",
        unit: Unit::Nanos,
        ratios: &[at_most("reference", "floor", 1.2), ratio("cpython", "reference")],
        pinned: false,
        gated: false,
        cpython: Some("lock_contended"),
        note: "floor: std::sync::Mutex",
    },
    Spec {
        id: "lock.contended.threads",
        group: "sync",
        title: "Lock: 2 to 8 threads contending, per acquisition",
        unit: Unit::Nanos,
        ratios: &[],
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
        ratios: &[],
        pinned: false,
        gated: false,
        cpython: Some("cpu_split"),
        note: "x: workers; target: 2 threads at most 0.55",
    },
    Spec {
        id: "pool.tiny_tasks",
        group: "cpu",
        title: "Per-task overhead of tiny tasks (map of 200)",
        unit: Unit::Nanos,
        ratios: &[ratio("process-pool", "thread-pool"), ratio("thread-pool", "rayon")],
        pinned: false,
        gated: false,
        cpython: Some("pool_tiny_tasks"),
        note: "",
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

fn s(label: &str, samples: Vec<f64>) -> Series {
    Series { label: label.to_string(), x: None, samples }
}

fn sx(label: &str, x: f64, samples: Vec<f64>) -> Series {
    Series { label: label.to_string(), x: Some(x), samples }
}

const MSG16: &str = "0123456789abcdef";

/// Measures one figure in this process. Fork-based parts run first, while the process is
/// still single-threaded.
pub fn measure(id: &str, quick: bool) -> Result<Vec<Series>, String> {
    let b = Budget::new(quick);
    let out = match id {
        "thread.start_join" => {
            let (r, f) = paired(
                b,
                || procthread::thread::Builder::new().spawn(|| ()).expect("spawn").join().expect("join"),
                || std::thread::spawn(|| ()).join().expect("join"),
            );
            vec![s("reference", r), s("floor", f)]
        }
        #[cfg(unix)]
        "fork.start_join" => {
            let (r, f) = paired(b, || w::start_join(StartMethod::Fork), w::fork_floor);
            vec![s("reference", r), s("floor", f)]
        }
        "spawn.start_join" => {
            let (r, f) = paired(b, || w::start_join(StartMethod::Spawn), w::spawn_floor);
            vec![s("reference", r), s("floor", f)]
        }
        "subprocess.trivial" => {
            let argv = [w::exe().to_string_lossy().into_owned(), w::EXIT_NOW.to_string()];
            let (r, f) = paired(
                b,
                || {
                    procthread::subprocess::call(&argv).expect("call");
                },
                w::spawn_floor,
            );
            vec![s("reference", r), s("floor", f)]
        }
        "pool.chapter" => {
            let chapter = |method: StartMethod| {
                let mut pool = Pool::with_method(4, method).expect("pool");
                let hs: Vec<_> = (0..5).map(|i| pool.apply_async(&w::NOOP_TASK, i).expect("apply")).collect();
                pool.close();
                pool.join().expect("join");
                hs.iter().for_each(|h| drop(h.get(None)));
            };
            let few = Budget { samples: b.samples, sample_time: b.sample_time * 2 };
            let mut out = Vec::new();
            if cfg!(unix) {
                out.push(s("process-fork", time_per_op(few, || chapter(StartMethod::Fork))));
            }
            out.push(s("process-spawn", time_per_op(few, || chapter(StartMethod::Spawn))));
            out.push(s(
                "thread-pool",
                time_per_op(b, || {
                    let mut pool = ThreadPool::new(4).expect("pool");
                    let hs: Vec<_> = (0..5u64).map(|i| pool.apply_async(move || i).expect("apply")).collect();
                    pool.close();
                    pool.join().expect("join");
                    hs.iter().for_each(|h| drop(h.get(None)));
                }),
            ));
            out
        }
        "queue.rtt.pinned" | "queue.rtt.free" => rtt(b, |size| {
            let q = w::QueueRoundTrip::start(StartMethod::Spawn);
            let msg = "x".repeat(size);
            Box::new(move || q.round_trip(&msg))
        }),
        "pipe.rtt.pinned" | "pipe.rtt.free" => rtt(b, |size| {
            let p = w::PipeRoundTrip::start(StartMethod::Spawn);
            let msg = "x".repeat(size);
            Box::new(move || p.round_trip(&msg))
        }),
        "queue.throughput" => {
            let count = if quick { 20_000 } else { 100_000 };
            let runs = if quick { 5 } else { 11 };
            let (mut r, mut f) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                f.extend(floor_throughput(count));
                r.push(w::queue_throughput(count, StartMethod::Spawn));
            }
            let mut out = vec![s("reference", r)];
            if !f.is_empty() {
                out.push(s("floor", f));
            }
            out
        }
        "ipc.size_sweep" => {
            let sizes: &[usize] = if quick { &[16, 4096, 65536] } else { &[16, 256, 4096, 65536, 1 << 20] };
            let mut out = Vec::new();
            #[cfg(unix)]
            for &size in sizes {
                let mut raw = w::RawPipeRoundTrip::start(size + 6);
                out.push(sx("floor", size as f64, time_per_op(b, || raw.round_trip())));
            }
            let q = w::QueueRoundTrip::start(StartMethod::Spawn);
            let p = w::PipeRoundTrip::start(StartMethod::Spawn);
            for &size in sizes {
                let msg = "x".repeat(size);
                out.push(sx("queue", size as f64, time_per_op(b, || q.round_trip(&msg))));
                out.push(sx("pipe", size as f64, time_per_op(b, || p.round_trip(&msg))));
            }
            out
        }
        "lock.uncontended" => {
            let lock = procthread::Lock::new();
            let mutex = std::sync::Mutex::new(());
            let (r, f) = paired(
                b,
                || {
                    lock.acquire();
                    lock.release().expect("held");
                },
                || drop(std::hint::black_box(mutex.lock())),
            );
            vec![s("reference", r), s("floor", f)]
        }
        "lock.contended" => {
            let per = if quick { 20_000 } else { 100_000 };
            let runs = b.samples;
            let mut r = Vec::new();
            let mut f = Vec::new();
            for _ in 0..runs {
                r.push(contend(2, per, lock_op));
                f.push(contend(2, per, mutex_op));
            }
            vec![s("reference", r), s("floor", f)]
        }
        "lock.contended.threads" => {
            let per = if quick { 20_000 } else { 100_000 };
            let mut out = Vec::new();
            for threads in [2u64, 4, 8] {
                let (mut r, mut f) = (Vec::new(), Vec::new());
                for _ in 0..b.samples.min(9) {
                    r.push(contend(threads, per, lock_op));
                    f.push(contend(threads, per, mutex_op));
                }
                out.push(sx("reference", threads as f64, r));
                out.push(sx("floor", threads as f64, f));
            }
            out
        }
        "balance.race" => {
            let runs = if quick { 20 } else { 80 };
            let lost = (0..runs).filter(|_| race_once(100_000) != 0).count();
            vec![s("reference", vec![100.0 * lost as f64 / runs as f64])]
        }
        "balance.loop" => {
            let per = if quick { 100_000 } else { 400_000 };
            let (mut locked, mut unlocked) = (Vec::new(), Vec::new());
            for _ in 0..b.samples {
                locked.push(balance_loop(per, true));
                unlocked.push(balance_loop(per, false));
            }
            vec![s("locked", locked), s("unlocked", unlocked)]
        }
        "local.rw" => {
            thread_local! { static CELL: std::cell::Cell<u64> = const { std::cell::Cell::new(0) }; }
            let local = procthread::Local::<u64>::new();
            let mut i = 0u64;
            let mut j = 0u64;
            let (r, f) = paired(
                b,
                || {
                    i += 1;
                    local.set(i);
                    std::hint::black_box(local.get());
                },
                || {
                    j += 1;
                    CELL.with(|c| c.set(j));
                    std::hint::black_box(CELL.with(|c| c.get()));
                },
            );
            vec![s("reference", r), s("floor", f)]
        }
        "cpu.split" => cpu_split(quick),
        "pool.tiny_tasks" => {
            let n = 200u64;
            let pool = Pool::new(2).expect("pool");
            let tpool = ThreadPool::new(2).expect("pool");
            let rayon = rayon::ThreadPoolBuilder::new().num_threads(2).build().map_err(|e| e.to_string())?;
            let per_task = |t: f64| t / n as f64;
            let p = time_per_op(b, || drop(pool.map(&w::NOOP_TASK, 0..n).expect("map")));
            let t = time_per_op(b, || drop(tpool.map(|x: u64| x, 0..n).expect("map")));
            let r = time_per_op(b, || {
                use rayon::prelude::*;
                rayon.install(|| drop((0..n).into_par_iter().map(std::hint::black_box).collect::<Vec<_>>()));
            });
            vec![
                s("process-pool", p.into_iter().map(per_task).collect()),
                s("thread-pool", t.into_iter().map(per_task).collect()),
                s("rayon", r.into_iter().map(per_task).collect()),
            ]
        }
        "manager.rtt" => {
            let m = manager();
            let c = procthread::manager::Client::connect(m.address(), b"abc").map_err(|e| e.to_string())?;
            let q = c.queue("q");
            vec![s(
                "reference",
                time_per_op(b, || {
                    q.put(&1).expect("put");
                    let _: i32 = q.get(None).expect("get");
                }),
            )]
        }
        "manager.master_worker" => {
            let count = if quick { 2_000 } else { 10_000 };
            let runs = if quick { 3 } else { 7 };
            vec![s("reference", (0..runs).map(|_| w::manager_master_worker(count)).collect())]
        }
        "manager.connect" => {
            let m = manager();
            let addr = m.address();
            vec![s(
                "reference",
                time_per_op(b, || drop(procthread::manager::Client::connect(addr, b"abc").expect("connect"))),
            )]
        }
        "manager.e2e" => vec![s(
            "reference",
            time_per_op(b, || {
                let m = manager();
                let c = procthread::manager::Client::connect(m.address(), b"abc").expect("connect");
                c.queue("q").put(&1).expect("put");
                c.shutdown().expect("shutdown");
                m.wait();
            }),
        )],
        other => return Err(format!("figure `{other}` is not measured on this OS")),
    };
    Ok(out)
}

fn manager() -> procthread::manager::Manager {
    procthread::manager::Manager::builder().queue("q").authkey(b"abc".to_vec()).start().expect("manager")
}

type Op = Box<dyn FnMut()>;

/// The raw pipe's throughput, where there is a raw floor to measure (Unix).
fn floor_throughput(count: u64) -> Option<f64> {
    #[cfg(unix)]
    return Some(w::raw_pipe_throughput(count));
    #[cfg(not(unix))]
    {
        let _ = count;
        None
    }
}

/// Round trips of 16-byte messages over raw pipes to a forked echo (Unix).
fn floor_rtt(b: Budget) -> Option<Vec<f64>> {
    #[cfg(unix)]
    {
        let mut raw = w::RawPipeRoundTrip::start(MSG16.len() + 6);
        Some(time_per_op(b, || raw.round_trip()))
    }
    #[cfg(not(unix))]
    {
        let _ = b;
        None
    }
}

/// Round trips of 16-byte messages: the reference's, and the raw floor's where there is one.
fn rtt(b: Budget, make: impl Fn(usize) -> Op) -> Vec<Series> {
    let floor = floor_rtt(b);
    let mut op = make(MSG16.len());
    let mut out = vec![s("reference", time_per_op(b, &mut op))];
    out.extend(floor.map(|f| s("floor", f)));
    out
}

/// Nanoseconds per acquisition with two threads each acquiring `per` times.
fn contend<L: Send + Sync + Default + 'static>(threads: u64, per: u64, op: fn(&L, &AtomicI64)) -> f64 {
    let lock = Arc::new(L::default());
    let n = Arc::new(AtomicI64::new(0));
    let start = Arc::new(std::sync::Barrier::new(threads as usize));
    let t = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, n, start) = (lock.clone(), n.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..per {
                    op(&lock, &n);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().expect("join"));
    t.elapsed().as_nanos() as f64 / (threads * per) as f64
}

fn lock_op(lock: &procthread::Lock, n: &AtomicI64) {
    lock.acquire();
    n.fetch_add(1, Ordering::Relaxed);
    lock.release().expect("held");
}

fn mutex_op(m: &std::sync::Mutex<()>, n: &AtomicI64) {
    let _g = m.lock();
    n.fetch_add(1, Ordering::Relaxed);
}

/// Nanoseconds per `change_it` with two threads (5 and 8), with the lock around each or not.
fn balance_loop(per: u64, locked: bool) -> f64 {
    let balance = Arc::new(AtomicI64::new(0));
    let lock = Arc::new(procthread::Lock::new());
    let t = Instant::now();
    let hs: Vec<_> = [5, 8]
        .into_iter()
        .map(|n| {
            let (b, lock) = (balance.clone(), lock.clone());
            std::thread::spawn(move || {
                for _ in 0..per {
                    if locked {
                        lock.acquire();
                    }
                    let v = b.load(Ordering::Relaxed);
                    b.store(v + n, Ordering::Relaxed);
                    let v = b.load(Ordering::Relaxed);
                    b.store(v - n, Ordering::Relaxed);
                    if locked {
                        lock.release().expect("held");
                    }
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().expect("join"));
    t.elapsed().as_nanos() as f64 / (2 * per) as f64
}

/// The chapter's unlocked balance: returns the final balance (0 if no update was lost).
pub fn race_once(iterations: u64) -> i64 {
    let balance = Arc::new(AtomicI64::new(0));
    let hs: Vec<_> = [5, 8]
        .into_iter()
        .map(|n| {
            let b = balance.clone();
            std::thread::spawn(move || {
                for _ in 0..iterations {
                    let v = b.load(Ordering::Relaxed);
                    b.store(v + n, Ordering::Relaxed);
                    let v = b.load(Ordering::Relaxed);
                    b.store(v - n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().expect("join"));
    balance.load(Ordering::SeqCst)
}

/// Total work split into 8 chunks over 1, 2 and 4 workers, relative to doing it sequentially.
fn cpu_split(quick: bool) -> Vec<Series> {
    let chunk: u64 = if quick { 2_000_000 } else { 8_000_000 };
    let runs = if quick { 3 } else { 7 };
    let chunks = 8u64;
    let seq = || {
        let t = Instant::now();
        for _ in 0..chunks {
            w::burn(chunk);
        }
        t.elapsed().as_secs_f64()
    };
    let mut out = Vec::new();
    for workers in [1usize, 2, 4] {
        let pool = Pool::new(workers).expect("pool");
        let tpool = ThreadPool::new(workers).expect("pool");
        let rayon = rayon::ThreadPoolBuilder::new().num_threads(workers).build().expect("rayon");
        let (mut p, mut t, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let base = seq();
            let rel = |f: &mut dyn FnMut()| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64() / base
            };
            p.push(rel(&mut || drop(pool.map(&w::BURN_TASK, (0..chunks).map(|_| chunk)).expect("map"))));
            t.push(rel(&mut || drop(tpool.map(w::burn, (0..chunks).map(|_| chunk)).expect("map"))));
            r.push(rel(&mut || {
                use rayon::prelude::*;
                rayon.install(|| drop((0..chunks).into_par_iter().map(|_| w::burn(chunk)).collect::<Vec<_>>()));
            }));
        }
        out.push(sx("process-pool", workers as f64, p));
        out.push(sx("thread-pool", workers as f64, t));
        out.push(sx("rayon", workers as f64, r));
    }
    out
}
