//! What CPython's `lock_tests.py` and `_test_multiprocessing.py` build their cases with:
//! a bunch of threads, "eventually" loops, timing checks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libtest_mimic::Failed;

/// CPython's `support.SHORT_TIMEOUT`: how long an "eventually" may take.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(30);
/// CPython's `support.LONG_TIMEOUT`, and what stands for "no timeout" where a result is needed.
pub const LONG_TIMEOUT: Duration = Duration::from_secs(300);

/// CPython's `Bunch`: `n` threads running the same function, counted as they start and finish.
pub struct Bunch {
    threads: Vec<JoinHandle<()>>,
    finished: Arc<AtomicUsize>,
}

impl Bunch {
    /// Starts the threads and waits until all have started.
    pub fn start(n: usize, f: impl Fn() + Send + Sync + 'static) -> Result<Bunch, Failed> {
        let f = Arc::new(f);
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let threads = (0..n)
            .map(|_| {
                let (f, started, finished) = (f.clone(), started.clone(), finished.clone());
                std::thread::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    // Counted as finished even if `f` panics, as CPython's `finally:`.
                    struct Done(Arc<AtomicUsize>);
                    impl Drop for Done {
                        fn drop(&mut self) {
                            self.0.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    let _done = Done(finished);
                    f();
                })
            })
            .collect();
        wait_until("every thread of the bunch started", || started.load(Ordering::SeqCst) >= n)?;
        Ok(Bunch { threads, finished })
    }

    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Waits for every thread; a thread's panic (a failed assertion in it) fails the case.
    pub fn join(self) -> Result<(), Failed> {
        let mut failures = Vec::new();
        for t in self.threads {
            if let Err(panic) = t.join() {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a thread panicked".into());
                failures.push(msg);
            }
        }
        if failures.is_empty() { Ok(()) } else { Err(failures.join("; ").into()) }
    }
}

/// Runs `f` in a bunch of `n` threads and waits for them all.
pub fn run_threads(n: usize, f: impl Fn() + Send + Sync + 'static) -> Result<(), Failed> {
    Bunch::start(n, f)?.join()
}

/// Waits until `cond` holds (CPython's `sleeping_retry(SHORT_TIMEOUT)` loops).
pub fn wait_until(what: &str, cond: impl Fn() -> bool) -> Result<(), Failed> {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > SHORT_TIMEOUT {
            return Err(format!("timed out waiting until {what}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// CPython's `wait_threads_blocked`: an arbitrary pause for `n` threads to block.
pub fn wait_threads_blocked(n: u32) {
    std::thread::sleep(Duration::from_millis(10) * n);
}

/// CPython's `assertTimeout`: at least 0.6 of the timeout, and nothing insane (its "less than
/// 10 times" widened by 5 s, for a loaded machine).
pub fn check_timeout(actual: Duration, expected: Duration) -> Result<(), Failed> {
    if actual < expected.mul_f64(0.6) {
        return Err(format!("returned after {actual:?}, before the {expected:?} timeout").into());
    }
    if actual >= expected * 10 + Duration::from_secs(5) {
        return Err(format!("took {actual:?} for a {expected:?} timeout").into());
    }
    Ok(())
}

/// A list threads append to (CPython's plain lists shared by the threads of a case).
pub struct Results<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Results<T> {
    fn clone(&self) -> Self {
        Results(self.0.clone())
    }
}

impl<T: Clone> Results<T> {
    pub fn new() -> Self {
        Results(Arc::new(Mutex::new(Vec::new())))
    }
    pub fn push(&self, v: T) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    }
    pub fn get(&self) -> Vec<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
