//! The measurements: `harness measure ID` runs one figure's in a fresh, single-threaded
//! process and prints its raw series as JSON. Fork-based parts run first in each, while the
//! process is still single-threaded; threads come last.

pub mod delay;
pub mod pin;
pub mod sampling;
pub mod workloads;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use procthread::{Pool, StartMethod, ThreadPool};

use crate::model::RawSeries;
use sampling::{Budget, interleaved, paired, time_per_op};
use workloads::{self as w, Peer};

fn s(label: &str, samples: Vec<f64>) -> RawSeries {
    RawSeries { label: label.to_string(), x: None, samples }
}

fn sx(label: &str, x: f64, samples: Vec<f64>) -> RawSeries {
    RawSeries { label: label.to_string(), x: Some(x), samples }
}

const MSG16: &str = "0123456789abcdef";

/// Measures one figure in this process. Fork-based parts run first, while the process is
/// still single-threaded.
pub fn measure(id: &str, quick: bool) -> Result<Vec<RawSeries>, String> {
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
            // Each fork pool is created while no other pool's threads run (fork needs that).
            let chapter = |method: StartMethod| {
                let mut pool = Pool::with_method(4, method).expect("pool");
                let hs: Vec<_> = (0..5).map(|i| pool.apply_async(&w::NOOP_TASK, i).expect("apply")).collect();
                pool.close();
                pool.join().expect("join");
                hs.iter().for_each(|h| drop(h.get(None)));
            };
            let few = Budget { sample_time: b.sample_time * 2, ..b };
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
        "queue.rtt.pinned" | "queue.rtt.free" => rtt(b, |peer| {
            let q = w::QueueRoundTrip::start(peer);
            Box::new(move || q.round_trip(MSG16))
        }),
        "pipe.rtt.pinned" | "pipe.rtt.free" => rtt(b, |peer| {
            let p = w::PipeRoundTrip::start(peer);
            Box::new(move || p.round_trip(MSG16))
        }),
        "queue.throughput" => {
            let count = if quick { 20_000 } else { 100_000 };
            let runs = b.runs(9, 15);
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
            let mut out = Vec::new();
            // The raw floors are forked first, while this process is single-threaded.
            #[cfg(unix)]
            let mut raws: Vec<w::RawPipeRoundTrip> =
                SIZES.iter().map(|&size| w::RawPipeRoundTrip::start(size + 6)).collect();
            let q = w::QueueRoundTrip::start(Peer::Process(StartMethod::Spawn));
            let p = w::PipeRoundTrip::start(Peer::Process(StartMethod::Spawn));
            for (_i, &size) in SIZES.iter().enumerate().filter(|(_, size)| !quick || **size != 256) {
                let msg = "x".repeat(size);
                let (mut qop, mut pop) = (|| q.round_trip(&msg), || p.round_trip(&msg));
                let mut ops: Vec<&mut dyn FnMut()> = vec![&mut qop, &mut pop];
                #[cfg(unix)]
                let mut floor = || raws[_i].round_trip();
                #[cfg(unix)]
                ops.push(&mut floor);
                let mut samples = interleaved(b, &mut ops).into_iter();
                out.push(sx("queue", size as f64, samples.next().unwrap_or_default()));
                out.push(sx("pipe", size as f64, samples.next().unwrap_or_default()));
                out.extend(samples.next().map(|f| sx("floor", size as f64, f)));
            }
            // Each raw echo holds copies of the pipes of those forked before it: the last one
            // must see its EOF first, so that it lets go of the earlier ones' pipes.
            #[cfg(unix)]
            while let Some(raw) = raws.pop() {
                drop(raw);
            }
            out
        }
        "lock.uncontended" => {
            let lock = procthread::Lock::new();
            let mutex = std::sync::Mutex::new(());
            let shared = procthread::shared::Lock::new().map_err(|e| e.to_string())?;
            let mut samples = interleaved(
                b,
                &mut [
                    &mut || {
                        lock.acquire();
                        lock.release().expect("held");
                    },
                    &mut || drop(std::hint::black_box(mutex.lock())),
                    &mut || {
                        shared.acquire();
                        shared.release().expect("held");
                    },
                ],
            )
            .into_iter();
            let mut next = || samples.next().unwrap_or_default();
            vec![s("reference", next()), s("floor", next()), s("process-shared", next())]
        }
        "lock.contended" => {
            let per = if quick { 20_000 } else { 100_000 };
            let (mut r, mut f, mut pf, mut ps) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Fifteen rounds at most: four contended runs each, two of them starting processes
            // (31 rounds took over the measurement's 5 minutes on a machine loaded to 15).
            for _ in 0..b.samples.min(15) {
                // Processes first in each round: fork wants no other thread running.
                if cfg!(unix) {
                    pf.push(w::shared_lock_contended(StartMethod::Fork, per));
                }
                ps.push(w::shared_lock_contended(StartMethod::Spawn, per));
                r.push(contend(2, per, lock_op));
                f.push(contend(2, per, mutex_op));
            }
            let mut out = vec![s("reference", r), s("floor", f), s("process-spawn", ps)];
            if !pf.is_empty() {
                out.push(s("process-fork", pf));
            }
            out
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
            let runs = b.runs(20, 80);
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
        "cpu.split" => cpu_split(b),
        "pool.tiny_tasks" => {
            let n = 200u64;
            // The fork pool first: its workers are forked before any other pool starts threads.
            let fork = if cfg!(unix) {
                Some(Pool::with_method(2, StartMethod::Fork).map_err(|e| e.to_string())?)
            } else {
                None
            };
            let spawn = Pool::with_method(2, StartMethod::Spawn).map_err(|e| e.to_string())?;
            let tpool = ThreadPool::new(2).map_err(|e| e.to_string())?;
            let rayon = rayon::ThreadPoolBuilder::new().num_threads(2).build().map_err(|e| e.to_string())?;
            let per_task = |v: Vec<f64>| v.into_iter().map(|t| t / n as f64).collect::<Vec<_>>();
            let mut sp = || drop(spawn.map(&w::NOOP_TASK, 0..n).expect("map"));
            let mut tp = || drop(tpool.map(|x: u64| x, 0..n).expect("map"));
            let mut ry = || {
                use rayon::prelude::*;
                rayon.install(|| drop((0..n).into_par_iter().map(std::hint::black_box).collect::<Vec<_>>()));
            };
            let mut fk = || {
                if let Some(pool) = &fork {
                    drop(pool.map(&w::NOOP_TASK, 0..n).expect("map"));
                }
            };
            let mut ops: Vec<&mut dyn FnMut()> = vec![&mut sp, &mut tp, &mut ry];
            if fork.is_some() {
                ops.push(&mut fk);
            }
            let mut samples = interleaved(b, &mut ops).into_iter().map(per_task);
            let mut out = vec![
                s("process-spawn", samples.next().unwrap_or_default()),
                s("thread-pool", samples.next().unwrap_or_default()),
                s("rayon", samples.next().unwrap_or_default()),
            ];
            out.extend(samples.next().map(|f| s("process-fork", f)));
            out
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
            let runs = b.runs(5, 9);
            vec![s("reference", (0..runs).map(|_| w::manager_master_worker(count)).collect())]
        }
        "manager.delay_sweep" => {
            let delays: &[u64] = if quick { &[0, 10, 50] } else { &[0, 1, 5, 10, 20, 50] };
            let runs = b.runs(3, 5);
            let mut out = Vec::new();
            for &ms in delays {
                // About a second a run: a task costs the worker four crossings of the link (its
                // get and its put, each a request and a reply).
                let count =
                    if ms == 0 { if quick { 500 } else { 2_000 } } else { (1_000 / (4 * ms as i64)).clamp(5, 500) };
                let delay = std::time::Duration::from_millis(ms);
                let rates = (0..runs).map(|_| w::manager_master_worker_delayed(count, delay)).collect();
                out.push(sx("reference", ms as f64, rates));
            }
            out
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

/// The message sizes of the size sweep (the quick run leaves out 256 bytes).
const SIZES: [usize; 5] = [16, 256, 4096, 65536, 1 << 20];

/// Round trips of 16-byte messages, all taken in turn: to an echo process started by fork
/// (Unix) and by spawn, to an echo thread, and the raw floors for both (raw pipes to a forked
/// process, where there is fork, and to a thread).
fn rtt(b: Budget, make: impl Fn(Peer) -> Op) -> Vec<RawSeries> {
    let frame = MSG16.len() + 6;
    let mut labels = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    // Everything that forks first, while this process is single-threaded.
    #[cfg(unix)]
    {
        let mut raw = w::RawPipeRoundTrip::start(frame);
        ops.push(Box::new(move || raw.round_trip()));
        labels.push("floor");
        ops.push(make(Peer::Process(StartMethod::Fork)));
        labels.push("process-fork");
    }
    ops.push(make(Peer::Process(StartMethod::Spawn)));
    labels.push("process-spawn");
    let mut raw_threads = w::RawPipeThreadRoundTrip::start(frame);
    ops.push(Box::new(move || raw_threads.round_trip()));
    labels.push("floor-threads");
    ops.push(make(Peer::Thread));
    labels.push("threads");
    let mut refs: Vec<&mut dyn FnMut()> = ops.iter_mut().map(|op| &mut **op as &mut dyn FnMut()).collect();
    let samples = interleaved(b, &mut refs);
    drop(refs);
    // Ended last first: a forked echo holds copies of the pipes of those forked before it.
    while let Some(op) = ops.pop() {
        drop(op);
    }
    labels.into_iter().zip(samples).map(|(l, v)| s(l, v)).collect()
}

/// Nanoseconds per acquisition with two threads each acquiring `per` times.
/// Nanoseconds per acquisition with `threads` threads each acquiring `per` times, timed from
/// the first to pass the start barrier to the last to finish (thread start-up not counted, as
/// for the processes of `shared_lock_contended`).
fn contend<L: Send + Sync + Default + 'static>(threads: u64, per: u64, op: fn(&L, &AtomicI64)) -> f64 {
    let lock = Arc::new(L::default());
    let n = Arc::new(AtomicI64::new(0));
    let start = Arc::new(std::sync::Barrier::new(threads as usize));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, n, start) = (lock.clone(), n.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let t = Instant::now();
                for _ in 0..per {
                    op(&lock, &n);
                }
                (t, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = hs.into_iter().map(|h| h.join().expect("join")).collect();
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    match (first, last) {
        (Some(a), Some(z)) => z.duration_since(a).as_nanos() as f64 / (threads * per) as f64,
        _ => f64::NAN,
    }
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
fn cpu_split(b: Budget) -> Vec<RawSeries> {
    let chunk: u64 = if b.quick { 2_000_000 } else { 8_000_000 };
    let runs = b.runs(5, 11);
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
