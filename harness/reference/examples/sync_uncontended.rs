//! Uncontended acquire + release, side by side in one run: `std::sync::Mutex`, the thread
//! `procthread::Lock`, `RLock` and `Semaphore`, and the process-shared `shared::Lock`, `shared::RLock`
//! (the robust mutex under it) and `shared::Semaphore`. Not a test: a measurement for the
//! docs. Pin it to one CPU for stable ratios:
//!
//! ```text
//! cargo run --release -p procthread --example sync_uncontended -- [iterations]
//! taskset -c 0 target/release/examples/sync_uncontended 10000000
//! ```

use std::hint::black_box;
use std::time::Instant;

use procthread::shared;

fn measure(name: &str, iterations: u64, mut op: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        op(); // warm up
    }
    let t = Instant::now();
    for _ in 0..iterations {
        op();
    }
    let ns = t.elapsed().as_nanos() as f64 / iterations as f64;
    println!("{name:<40} {ns:>8.2} ns");
    ns
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5_000_000);
    println!("uncontended acquire + release, {iterations} iterations, mean per pair");

    let m = std::sync::Mutex::new(0u64);
    let base = measure("std::sync::Mutex lock/unlock", iterations, || {
        *black_box(&m).lock().unwrap_or_else(|p| p.into_inner()) += 1;
    });
    let lock = procthread::Lock::new();
    let thread_lock = measure("procthread::Lock acquire/release", iterations, || {
        black_box(&lock).acquire();
        let _ = black_box(&lock).release();
    });
    let rlock = procthread::RLock::new();
    measure("procthread::RLock acquire/release", iterations, || {
        black_box(&rlock).acquire();
        let _ = black_box(&rlock).release();
    });
    let tsem = procthread::Semaphore::new(1);
    measure("procthread::Semaphore acquire/release", iterations, || {
        black_box(&tsem).acquire();
        black_box(&tsem).release();
    });
    let slock = shared::Lock::new()?;
    let shared_lock = measure("shared::Lock acquire/release", iterations, || {
        black_box(&slock).acquire();
        let _ = black_box(&slock).release();
    });
    let srlock = shared::RLock::new()?;
    let shared_rlock = measure("shared::RLock acquire/release", iterations, || {
        black_box(&srlock).acquire();
        let _ = black_box(&srlock).release();
    });
    let sem = shared::Semaphore::new(1)?;
    measure("shared::Semaphore acquire/release", iterations, || {
        black_box(&sem).acquire();
        let _ = black_box(&sem).release();
    });
    println!();
    println!("shared::Lock  / std Mutex        {:>6.2}x", shared_lock / base);
    println!("shared::Lock  / procthread::Lock {:>6.2}x", shared_lock / thread_lock);
    println!("shared::RLock / std Mutex        {:>6.2}x", shared_rlock / base);
    Ok(())
}
