//! [`Condition`]: `multiprocessing.Condition` over a shared [`Lock`] or [`RLock`].
//!
//! The condition's bookkeeping lives in shared memory and is only touched with its lock held:
//! how many waiters are not yet notified, how many notifications are pending, and a
//! notification count (`epoch`) that each waiter compares with the one it saw when it began,
//! so that a notification goes only to threads already waiting when it was made. Waiters park
//! on a sequence word that every effective `notify` bumps; each woken waiter takes the lock
//! back and claims a pending notification, or parks again. So `notify(n)` wakes exactly
//! `min(n, waiting)` waiters, though not necessarily the longest-waiting ones (CPython's
//! `multiprocessing.Condition` promises no order either).
//!
//! A process killed while waiting stays counted: a later `notify` may be spent on it, and a
//! notification it never claimed may go to a thread that was waiting at the same time (an
//! extra wake-up, which `wait_for` absorbs).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{SharedCell, Zeroed};
use super::wait::Wait;
use super::{Lock, RLock};
use crate::deadline;
use crate::error::LockError;
use crate::os::Parker;

/// A shared lock a [`Condition`] can be built on: [`Lock`] or [`RLock`]. Sealed.
pub trait ConditionLock: sealed::Sealed + Clone + Serialize + DeserializeOwned {}

mod sealed {
    use crate::error::LockError;

    /// What a condition needs of its lock.
    pub trait Sealed {
        fn acquire_until(&self, deadline: Option<std::time::Instant>) -> bool;
        fn release(&self) -> Result<(), LockError>;
        /// Held by the calling thread (multiprocessing's rule, for both kinds of lock).
        fn is_owned(&self) -> bool;
        fn release_save(&self) -> Result<u32, LockError>;
        fn acquire_restore(&self, saved: u32);
    }
}

impl ConditionLock for Lock {}
impl sealed::Sealed for Lock {
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        Lock::acquire_until(self, deadline)
    }
    fn release(&self) -> Result<(), LockError> {
        Lock::release(self)
    }
    fn is_owned(&self) -> bool {
        self.is_mine()
    }
    fn release_save(&self) -> Result<u32, LockError> {
        Lock::release(self).map(|()| 1)
    }
    fn acquire_restore(&self, _saved: u32) {
        Lock::acquire_until(self, None);
    }
}

impl ConditionLock for RLock {}
impl sealed::Sealed for RLock {
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        RLock::acquire_until(self, deadline)
    }
    fn release(&self) -> Result<(), LockError> {
        RLock::release(self)
    }
    fn is_owned(&self) -> bool {
        RLock::is_owned(self)
    }
    fn release_save(&self) -> Result<u32, LockError> {
        RLock::release_save(self)
    }
    fn acquire_restore(&self, saved: u32) {
        RLock::acquire_restore(self, saved)
    }
}

#[derive(Debug)]
#[repr(C)]
struct CondCell {
    /// Bumped by every notify that wakes someone: waiters park on it.
    seq: AtomicU32,
    /// Threads inside `wait` (how many a notify wakes).
    inside: AtomicU32,
    /// Waiting threads not covered by a pending notification.
    unnotified: AtomicU32,
    /// Notifications made and not yet claimed by a waiter.
    pending: AtomicU32,
    /// How many notifies have woken someone; a waiter may claim a notification only if this
    /// moved since it began waiting.
    epoch: AtomicU32,
}

// SAFETY: atomics only; all zero is a condition nobody waits on.
unsafe impl Zeroed for CondCell {}

/// A condition variable shared by threads and processes, with CPython's semantics: `wait` and
/// `notify` need the lock held by the calling thread ([`LockError::NotAcquired`] otherwise),
/// a timed-out `wait` returns `false`, and `wait` returns `true` only when notified.
///
/// The lock is a shared [`RLock`] by default, as in CPython. See the module documentation
/// for how notifications are counted.
#[derive(Debug, Clone)]
pub struct Condition<L: ConditionLock = RLock> {
    lock: L,
    state: Arc<State>,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    cell: SharedCell<CondCell>,
    parker: Parker,
}

/// Releases the condition's lock (one level of it) when dropped.
#[derive(Debug)]
pub struct ConditionGuard<'a, L: ConditionLock> {
    cond: &'a Condition<L>,
}

impl Condition<RLock> {
    /// A condition over a new shared [`RLock`].
    pub fn new() -> io::Result<Condition<RLock>> {
        Condition::with_lock(RLock::new()?)
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over `lock` (which the condition shares with its other clones).
    pub fn with_lock(lock: L) -> io::Result<Condition<L>> {
        Ok(Condition { lock, state: Arc::new(State { cell: SharedCell::new()?, parker: Parker::new()? }) })
    }

    /// The underlying lock.
    pub fn lock_ref(&self) -> &L {
        &self.lock
    }

    pub fn acquire(&self) {
        self.lock.acquire_until(None);
    }

    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.lock.acquire_until(deadline::after(timeout))
    }

    pub fn release(&self) -> Result<(), LockError> {
        self.lock.release()
    }

    /// Acquires the lock and returns a guard that releases it.
    pub fn lock(&self) -> ConditionGuard<'_, L> {
        self.acquire();
        ConditionGuard { cond: self }
    }

    /// Releases the lock, waits until notified, and takes the lock back.
    pub fn wait(&self) -> Result<(), LockError> {
        self.wait_until(None).map(|_| ())
    }

    /// As [`wait`](Self::wait), for at most `timeout`: `false` if not notified by then.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, LockError> {
        self.wait_until(deadline::after(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool, LockError> {
        if !self.lock.is_owned() {
            return Err(LockError::NotAcquired);
        }
        let st = &*self.state.cell;
        // All of this bookkeeping happens with the lock held.
        st.inside.fetch_add(1, Ordering::SeqCst);
        st.unnotified.fetch_add(1, Ordering::SeqCst);
        let began = st.epoch.load(Ordering::SeqCst);
        let mut seen = st.seq.load(Ordering::SeqCst);
        let mut wait = Wait::new(deadline);
        let outcome = loop {
            let saved = match self.lock.release_save() {
                Ok(saved) => saved,
                Err(e) => {
                    st.unnotified.fetch_sub(1, Ordering::SeqCst);
                    break Err(e);
                }
            };
            let timed_out = loop {
                if st.seq.load(Ordering::SeqCst) != seen {
                    break false;
                }
                if !wait.park(&self.state.parker, &st.seq, seen, None) {
                    break true;
                }
            };
            self.lock.acquire_restore(saved);
            let notified_since = st.epoch.load(Ordering::SeqCst).wrapping_sub(began) as i32 > 0;
            if notified_since && claim(&st.pending) {
                break Ok(true);
            }
            if timed_out {
                decrement(&st.unnotified);
                break Ok(false);
            }
            seen = st.seq.load(Ordering::SeqCst);
        };
        decrement(&st.inside);
        outcome
    }

    /// Waits until `predicate` holds, re-checking it after each wake-up, for at most `timeout`
    /// (`None`: for ever). Returns the predicate's last value.
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool, timeout: Option<Duration>) -> Result<bool, LockError> {
        let deadline = timeout.and_then(deadline::after);
        let mut result = predicate();
        while !result {
            if deadline.is_some_and(|d| d <= Instant::now()) {
                break;
            }
            self.wait_until(deadline)?;
            result = predicate();
        }
        Ok(result)
    }

    /// Wakes up `n` waiting threads (fewer if fewer wait).
    pub fn notify(&self, n: u32) -> Result<(), LockError> {
        if !self.lock.is_owned() {
            return Err(LockError::NotAcquired);
        }
        let st = &*self.state.cell;
        let woken = n.min(st.unnotified.load(Ordering::SeqCst));
        if woken == 0 {
            return Ok(());
        }
        st.unnotified.fetch_sub(woken, Ordering::SeqCst);
        st.pending.fetch_add(woken, Ordering::SeqCst);
        st.epoch.fetch_add(1, Ordering::SeqCst);
        st.seq.fetch_add(1, Ordering::SeqCst);
        // Every waiter looks: only those already waiting may claim, so all must wake.
        self.state.parker.unpark(&st.seq, st.inside.load(Ordering::SeqCst));
        Ok(())
    }

    /// Wakes up every waiting thread.
    pub fn notify_all(&self) -> Result<(), LockError> {
        self.notify(u32::MAX)
    }
}

/// Takes one from `counter` if it is not zero.
fn claim(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

fn decrement(counter: &AtomicU32) {
    claim(counter);
}

impl<L: ConditionLock> Drop for ConditionGuard<'_, L> {
    fn drop(&mut self) {
        let _ = self.cond.release();
    }
}

impl<L: ConditionLock> Serialize for Condition<L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.lock, &*self.state).serialize(s)
    }
}

impl<'de, L: ConditionLock> Deserialize<'de> for Condition<L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (lock, state) = <(L, State)>::deserialize(d)?;
        Ok(Condition { lock, state: Arc::new(state) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn wait_and_notify_need_the_lock_held_by_this_thread() {
        let c = Condition::new().expect("condition");
        assert_eq!(c.wait_timeout(Duration::ZERO), Err(LockError::NotAcquired));
        assert_eq!(c.notify(1), Err(LockError::NotAcquired));
        let c = Condition::with_lock(Lock::new().expect("lock")).expect("condition");
        c.acquire();
        let other = c.clone();
        std::thread::spawn(move || assert_eq!(other.notify(1), Err(LockError::NotAcquired), "held by another thread"))
            .join()
            .expect("thread");
        assert_eq!(c.wait_timeout(Duration::from_millis(20)), Ok(false));
        assert!(c.lock_ref().is_locked(), "held again after the timeout");
        c.release().expect("held");
    }

    #[test]
    fn notify_n_wakes_exactly_n_then_the_rest() {
        let c = Condition::new().expect("condition");
        let woken = std::sync::Arc::new(Mutex::new(0));
        let waiting = Semaphore0::new();
        let threads: Vec<_> = (0..5)
            .map(|_| {
                let (c, woken, waiting) = (c.clone(), woken.clone(), waiting.clone());
                std::thread::spawn(move || {
                    let _g = c.lock();
                    waiting.release();
                    let got = c.wait_timeout(Duration::from_secs(60)).expect("held");
                    *woken.lock().expect("count") += 1;
                    got
                })
            })
            .collect();
        for _ in 0..5 {
            waiting.acquire();
        }
        {
            let _g = c.lock(); // every waiter is inside wait once we hold it
            c.notify(2).expect("held");
        }
        let t = Instant::now();
        while *woken.lock().expect("count") < 2 {
            assert!(t.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(*woken.lock().expect("count"), 2, "exactly two");
        {
            let _g = c.lock();
            c.notify_all().expect("held");
        }
        for t in threads {
            assert!(t.join().expect("waiter"), "notified, not timed out");
        }
    }

    #[test]
    fn a_notification_does_not_go_to_a_later_waiter() {
        let c = Condition::with_lock(Lock::new().expect("lock")).expect("condition");
        let _g = c.lock();
        c.notify(1).expect("nobody waits: nothing pending");
        assert_eq!(c.wait_timeout(Duration::from_millis(20)), Ok(false));
    }

    /// Producer and consumers through the condition alone: a lost wake-up leaves a consumer
    /// asleep with work pending, and the bounded wait below fails.
    #[test]
    fn no_wake_up_is_lost_between_a_producer_and_consumers() {
        use std::sync::atomic::AtomicUsize;
        let c = Condition::with_lock(Lock::new().expect("lock")).expect("condition");
        let pending = std::sync::Arc::new(AtomicUsize::new(0));
        let consumed = std::sync::Arc::new(AtomicUsize::new(0));
        const ITEMS: usize = 4_000;
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (c, pending, consumed) = (c.clone(), pending.clone(), consumed.clone());
                std::thread::spawn(move || {
                    loop {
                        let _g = c.lock();
                        let ready = c
                            .wait_for(
                                || pending.load(Ordering::SeqCst) > 0 || consumed.load(Ordering::SeqCst) >= ITEMS,
                                Some(Duration::from_secs(60)),
                            )
                            .expect("held");
                        assert!(ready, "a consumer slept through pending work");
                        if consumed.load(Ordering::SeqCst) >= ITEMS {
                            return;
                        }
                        pending.fetch_sub(1, Ordering::SeqCst);
                        if consumed.fetch_add(1, Ordering::SeqCst) + 1 == ITEMS {
                            c.notify_all().expect("held");
                        }
                    }
                })
            })
            .collect();
        for _ in 0..ITEMS {
            let _g = c.lock();
            pending.fetch_add(1, Ordering::SeqCst);
            c.notify(1).expect("held");
        }
        for t in consumers {
            t.join().expect("consumer");
        }
        assert_eq!(consumed.load(Ordering::SeqCst), ITEMS);
    }

    /// A counting handshake for the tests (a semaphore of this module's own making would
    /// test the thing with itself).
    #[derive(Clone)]
    struct Semaphore0(std::sync::Arc<(Mutex<u32>, std::sync::Condvar)>);

    impl Semaphore0 {
        fn new() -> Self {
            Semaphore0(std::sync::Arc::new((Mutex::new(0), std::sync::Condvar::new())))
        }
        fn release(&self) {
            *self.0.0.lock().expect("count") += 1;
            self.0.1.notify_all();
        }
        fn acquire(&self) {
            let mut n = self.0.0.lock().expect("count");
            while *n == 0 {
                n = self.0.1.wait(n).expect("count");
            }
            *n -= 1;
        }
    }
}
