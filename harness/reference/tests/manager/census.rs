//! This process's threads and open descriptors (Linux: /proc/self/task and /proc/self/fd).

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    pub threads: usize,
    pub fds: usize,
}

impl Census {
    /// No more threads and no more descriptors than `other`.
    pub fn within(self, other: Census) -> bool {
        self.threads <= other.threads && self.fds <= other.fds
    }
}

pub fn now() -> Census {
    let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(usize::MAX);
    Census { threads: count("/proc/self/task"), fds: count("/proc/self/fd") }
}

/// Waits (at most `bound`) until the census is back to `baseline` or below; the last one seen.
/// Below counts: the baseline may include a thread that was already ending (a connection's
/// thread drops out of the server's count just before it returns).
pub fn settle(baseline: Census, bound: Duration) -> Census {
    let t = Instant::now();
    loop {
        let c = now();
        if c.within(baseline) || t.elapsed() > bound {
            return c;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
