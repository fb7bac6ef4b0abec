//! A wake-up word in shared memory that costs a system call only to wake someone who sleeps,
//! and only once per sleep.
//!
//! A sleeper arms the bell, looks at its condition once more, and parks on the bell's word
//! while it is armed. Whoever changes the condition rings: if the bell is armed, the first to
//! ring disarms it and wakes every sleeper; later rings find it disarmed and make no system
//! call, until a sleeper that still has to wait arms it again. (A count of sleepers that
//! wakers read instead would have every change wake again until the woken sleepers got to run
//! and uncount themselves.)
//!
//! Both sides use sequentially consistent operations: a sleeper's arming and its last look, a
//! waker's change and its look at the bell. So either the waker sees the bell armed, or the
//! sleeper's last look sees the change.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::os::Parker;

#[repr(C)]
#[derive(Debug)]
pub(crate) struct Bell {
    /// 1 while someone may be asleep: the word sleepers park on.
    armed: AtomicU32,
    /// Sleepers now (how many a Windows parker releases).
    sleepers: AtomicU32,
}

impl Bell {
    /// Sleeps while `must_wait()` holds, at most `timeout`, or until rung; may return early.
    /// `round` counts the caller's sleeps in this wait (the poller's backoff where there is no
    /// futex).
    pub(crate) fn wait(&self, parker: &Parker, must_wait: impl Fn() -> bool, timeout: Option<Duration>, round: u32) {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        self.armed.store(1, Ordering::SeqCst);
        if must_wait() {
            parker.park(&self.armed, 1, timeout, round);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Wakes every sleeper, if the bell is armed; called after changing what they wait for.
    pub(crate) fn ring(&self, parker: &Parker) {
        self.ring_if(parker, || true);
    }

    /// [`ring`](Self::ring) if `worth_it()` also holds (looked at only when armed).
    pub(crate) fn ring_if(&self, parker: &Parker, worth_it: impl Fn() -> bool) {
        if self.armed.load(Ordering::SeqCst) != 0 && worth_it() && self.armed.swap(0, Ordering::SeqCst) != 0 {
            parker.unpark(&self.armed, self.sleepers.load(Ordering::SeqCst).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    fn bell() -> Bell {
        Bell { armed: AtomicU32::new(0), sleepers: AtomicU32::new(0) }
    }

    #[test]
    fn a_ring_wakes_a_sleeper_and_later_rings_are_free() {
        let (b, p, flag) = (bell(), Parker::new().expect("parker"), AtomicBool::new(false));
        std::thread::scope(|s| {
            s.spawn(|| {
                let t = Instant::now();
                let mut round = 0;
                while !flag.load(Ordering::SeqCst) {
                    b.wait(&p, || !flag.load(Ordering::SeqCst), None, round);
                    round += 1;
                    assert!(t.elapsed() < Duration::from_secs(30), "never woken");
                }
            });
            std::thread::sleep(Duration::from_millis(20));
            flag.store(true, Ordering::SeqCst);
            b.ring(&p);
        });
        assert_eq!(b.armed.load(Ordering::SeqCst), 0, "disarmed by the ring");
        b.ring(&p); // nobody armed it: nothing to do
    }

    #[test]
    fn a_condition_already_met_does_not_sleep() {
        let (b, p) = (bell(), Parker::new().expect("parker"));
        let t = Instant::now();
        b.wait(&p, || false, None, 0);
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(b.sleepers.load(Ordering::SeqCst), 0);
    }
}
