//! Criterion benchmarks of the same workloads the report measures (shared code in
//! `procthread_bench::workloads`), threads and processes in one group each so they are
//! compared in one run. Spawned children re-execute this binary, so `main` dispatches first.

use criterion::{Criterion, criterion_group};
use procthread::StartMethod;
use procthread_bench::workloads::{self as w, Peer};

fn start(c: &mut Criterion) {
    let mut g = c.benchmark_group("start+join");
    g.sample_size(20);
    g.bench_function("thread/reference", |b| {
        b.iter(|| procthread::thread::Builder::new().spawn(|| ()).expect("spawn").join().expect("join"))
    });
    g.bench_function("thread/floor", |b| b.iter(|| std::thread::spawn(|| ()).join().expect("join")));
    g.bench_function("process-spawn/reference", |b| b.iter(|| w::start_join(StartMethod::Spawn)));
    g.bench_function("process-spawn/floor", |b| b.iter(w::spawn_floor));
    g.finish();
}

/// The same queue and pipe between processes and between two threads of this process.
fn messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("round-trip-16B");
    for (name, peer) in [("process-spawn", Peer::Process(StartMethod::Spawn)), ("threads", Peer::Thread)] {
        let q = w::QueueRoundTrip::start(peer);
        g.bench_function(format!("queue/{name}"), |b| b.iter(|| q.round_trip("0123456789abcdef")));
        drop(q);
        let p = w::PipeRoundTrip::start(peer);
        g.bench_function(format!("pipe/{name}"), |b| b.iter(|| p.round_trip("0123456789abcdef")));
        drop(p);
    }
    g.finish();
}

fn locks(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock-uncontended");
    let lock = procthread::Lock::new();
    let mutex = std::sync::Mutex::new(());
    g.bench_function("reference", |b| {
        b.iter(|| {
            lock.acquire();
            lock.release().expect("held");
        })
    });
    g.bench_function("floor", |b| b.iter(|| drop(std::hint::black_box(mutex.lock()))));
    g.finish();
}

criterion_group!(benches, start, messages, locks);

fn main() {
    procthread::dispatch(procthread_bench::REGISTRY);
    if std::env::args_os().nth(1).is_some_and(|a| a == w::EXIT_NOW) {
        return;
    }
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
