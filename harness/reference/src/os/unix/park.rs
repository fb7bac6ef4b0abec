//! Sleeping until a 32-bit word in shared memory changes, across processes.
//!
//! Linux: a futex on the word itself (not `FUTEX_PRIVATE_FLAG`, so that the kernel keys it by
//! the shared page and processes mapping it wake each other). A parker then needs no handle.
//!
//! macOS has no public futex (its `__ulock` calls are private API): a parked thread polls the
//! word, yielding first and then sleeping with a growing pause capped at [`POLL_CAP`]. Waking
//! is then implicit, and costs the waker nothing; a waiter sees a change within `POLL_CAP`.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest a macOS poller sleeps between two looks at the word.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) const POLL_CAP: Duration = Duration::from_millis(2);

/// The wake-up channel of one shared object. On Unix it holds nothing: the word is the channel.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Parker;

impl Parker {
    pub(crate) fn new() -> std::io::Result<Parker> {
        Ok(Parker)
    }

    /// Sleeps while `word` holds `expected`, at most `timeout` (`None`: no limit), returning
    /// early when woken or spuriously: the caller re-checks its condition. `round` counts the
    /// caller's parks in this wait (the poller's backoff).
    pub(crate) fn park(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>, round: u32) {
        imp::park(word, expected, timeout, round)
    }

    /// Wakes up to `n` threads parked on `word`.
    pub(crate) fn unpark(&self, word: &AtomicU32, n: u32) {
        imp::unpark(word, n)
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    pub(super) fn park(word: &AtomicU32, expected: u32, timeout: Option<Duration>, _round: u32) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a valid, aligned 32-bit atomic for the duration of the call; the
        // timeout pointer is null or points to a live timespec. FUTEX_WAIT only reads them.
        // Every outcome (woken, value changed, timed out, interrupted) is a return to the
        // caller's loop, so the result is not inspected.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, ts_ptr) };
    }

    pub(super) fn unpark(word: &AtomicU32, n: u32) {
        let n = n.min(i32::MAX as u32) as libc::c_int;
        // SAFETY: FUTEX_WAKE only uses the word's address as a key.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n) };
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    pub(super) fn park(word: &AtomicU32, expected: u32, timeout: Option<Duration>, round: u32) {
        if word.load(Ordering::SeqCst) != expected {
            return;
        }
        if round < 4 {
            std::thread::yield_now();
            return;
        }
        let pause = Duration::from_micros(20 << (round - 4).min(7)).min(super::POLL_CAP);
        std::thread::sleep(timeout.map_or(pause, |t| t.min(pause)));
    }

    pub(super) fn unpark(_word: &AtomicU32, _n: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    #[test]
    fn park_returns_at_once_when_the_word_differs_and_after_the_timeout_otherwise() {
        let p = Parker::new().expect("parker");
        let word = AtomicU32::new(1);
        let t = Instant::now();
        p.park(&word, 0, None, 10);
        assert!(t.elapsed() < Duration::from_secs(5));
        let t = Instant::now();
        p.park(&word, 1, Some(Duration::from_millis(20)), 10);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn unpark_wakes_a_parked_thread() {
        let p = Parker::new().expect("parker");
        let word = AtomicU32::new(0);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let mut round = 0;
                while word.load(Ordering::SeqCst) == 0 {
                    p.park(&word, 0, None, round);
                    round += 1;
                }
            });
            std::thread::sleep(Duration::from_millis(20));
            word.store(1, Ordering::SeqCst);
            p.unpark(&word, 1);
            waiter.join().expect("waiter");
        });
    }
}
