//! [`RobustMutex`]: a mutex shared by threads and processes that the death of its holder does
//! not wedge. The next locker gets it, told that the previous holder died
//! ([`RobustGuard::previous_owner_died`]): the state it protects may be half-updated.
//!
//! Per OS (see `os::RawRobust`): Linux, a robust process-shared pthread mutex in shared memory
//! (uncontended lock and unlock with no system call; the kernel hands a dead holder's mutex to
//! a waiter at once); macOS, a pid word polled with backoff whose waiters check the holder's
//! liveness every [`LIVENESS_EVERY`](super::pid_lock::LIVENESS_EVERY); Windows, a kernel mutex
//! (abandoned when its holder ends; a system call per lock and unlock).
//!
//! Only the thread that locked it unlocks it (the guard is not `Send`), and a thread that
//! locks it again while holding it gets an error (`ErrorKind::Deadlock`) rather than a hang.

use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::thread_token;
use crate::os::{RawLock, RawRobust};

/// Process-shared; `Clone` shares it between threads; passes to a child process in its
/// arguments like a [`Queue`](crate::Queue).
#[derive(Debug, Clone)]
pub(crate) struct RobustMutex {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    raw: RawRobust,
    /// The thread of this process holding the mutex (its [`thread_token`]), 0 if none: catches
    /// a thread locking twice, which Windows would allow (its mutexes are recursive).
    holder: AtomicU64,
}

/// Holds the mutex; unlocks it when dropped (by the thread that locked it: not `Send`).
#[derive(Debug)]
pub(crate) struct RobustGuard<'a> {
    mutex: &'a RobustMutex,
    #[cfg_attr(not(test), allow(dead_code, reason = "in the contract of issue 10; the queue does not read it yet"))]
    previous_owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl RobustMutex {
    pub(crate) fn new() -> io::Result<RobustMutex> {
        Ok(RobustMutex { inner: Arc::new(Inner { raw: RawRobust::new()?, holder: AtomicU64::new(0) }) })
    }

    /// Waits until the deadline (None: for ever); Ok(None) if it passed first.
    pub(crate) fn lock(&self, deadline: Option<Instant>) -> io::Result<Option<RobustGuard<'_>>> {
        Ok(self.lock_raw(deadline)?.map(|previous_owner_died| RobustGuard {
            mutex: self,
            previous_owner_died,
            _not_send: PhantomData,
        }))
    }

    /// Locks without a guard: `Some(previous_owner_died)`, or `None` at the deadline. The
    /// caller must [`unlock_raw`](Self::unlock_raw) from this same thread.
    pub(crate) fn lock_raw(&self, deadline: Option<Instant>) -> io::Result<Option<bool>> {
        let me = thread_token();
        if self.inner.holder.load(Ordering::Relaxed) == me {
            return Err(io::Error::new(io::ErrorKind::Deadlock, "this thread already holds the robust mutex"));
        }
        let died = match self.inner.raw.lock(deadline)? {
            RawLock::Acquired => false,
            RawLock::OwnerDied => true,
            RawLock::TimedOut => return Ok(None),
        };
        self.inner.holder.store(me, Ordering::Relaxed);
        Ok(Some(died))
    }

    /// Unlocks a mutex this thread locked with [`lock_raw`](Self::lock_raw).
    pub(crate) fn unlock_raw(&self) {
        self.inner.holder.store(0, Ordering::Relaxed);
        self.inner.raw.unlock();
    }
}

impl RobustGuard<'_> {
    /// The previous holder died holding the mutex (its protected state may be torn).
    #[cfg_attr(not(test), allow(dead_code, reason = "in the contract of issue 10; the queue does not read it yet"))]
    pub(crate) fn previous_owner_died(&self) -> bool {
        self.previous_owner_died
    }
}

impl Drop for RobustGuard<'_> {
    fn drop(&mut self) {
        self.mutex.unlock_raw();
    }
}

impl Serialize for RobustMutex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RobustMutex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRobust::deserialize(d)?;
        Ok(RobustMutex { inner: Arc::new(Inner { raw, holder: AtomicU64::new(0) }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    #[test]
    fn lock_times_out_while_another_thread_holds_it() {
        let m = RobustMutex::new().expect("mutex");
        let g = m.lock(None).expect("lock").expect("no deadline");
        assert!(!g.previous_owner_died());
        std::thread::scope(|s| {
            s.spawn(|| {
                let t = Instant::now();
                let got = m.lock(Some(Instant::now() + Duration::from_millis(50))).expect("lock");
                assert!(got.is_none(), "held by the main thread");
                assert!(t.elapsed() >= Duration::from_millis(45), "{:?}", t.elapsed());
            });
        });
        drop(g);
        let g = m.lock(Some(Instant::now())).expect("lock");
        assert!(g.is_some(), "free again, taken even at a deadline already reached");
    }

    #[test]
    fn locking_twice_from_one_thread_is_an_error() {
        let m = RobustMutex::new().expect("mutex");
        let _g = m.lock(None).expect("lock").expect("taken");
        let err = m.lock(Some(Instant::now())).expect_err("relock");
        assert_eq!(err.kind(), io::ErrorKind::Deadlock);
    }

    #[test]
    fn serializes_only_while_a_start_collects_handles() {
        let m = RobustMutex::new().expect("mutex");
        assert!(serde_json::to_string(&m).is_err());
        let (_json, handles) = crate::handles::collect(&m).expect("collect");
        assert!(!handles.is_empty());
    }

    #[test]
    fn clones_exclude_each_other_and_lose_no_wake_up() {
        let m = RobustMutex::new().expect("mutex");
        let count = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (m, count) = (m.clone(), count.clone());
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        let g = m.lock(None).expect("lock").expect("no deadline");
                        let c = count.load(Ordering::Relaxed);
                        if i % 500 == 0 {
                            std::thread::yield_now();
                        }
                        count.store(c + 1, Ordering::Relaxed);
                        drop(g);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(count.load(Ordering::Relaxed), 20_000);
    }

    /// A thread that ends holding the mutex (its guard leaked) is a dead holder too.
    #[test]
    fn a_thread_that_exits_holding_it_hands_it_on_marked() {
        let m = RobustMutex::new().expect("mutex");
        let m2 = m.clone();
        std::thread::spawn(move || {
            let g = m2.lock(None).expect("lock").expect("taken");
            std::mem::forget(g);
        })
        .join()
        .expect("thread");
        if cfg!(target_os = "macos") {
            return; // the pid word cannot see a thread of a live process end
        }
        // The dead thread's token still sits in `holder`; we are a different thread.
        let g = m.lock(Some(Instant::now() + Duration::from_secs(30))).expect("lock").expect("handed on");
        assert!(g.previous_owner_died());
        drop(g);
        let g = m.lock(None).expect("lock").expect("taken");
        assert!(!g.previous_owner_died(), "consistent again");
    }

    /// SIGKILL a process holding the mutex, without reaping it: the next locker gets it at once
    /// (Linux: the kernel's robust list; macOS: the pid word's liveness check), marked.
    #[cfg(unix)]
    #[test]
    fn a_killed_process_holding_it_hands_it_on_marked() {
        use super::super::region::{SharedCell, Zeroed};
        #[repr(C)]
        struct Flag(AtomicU32);
        // SAFETY: one atomic; zero is valid.
        unsafe impl Zeroed for Flag {}

        let m = RobustMutex::new().expect("mutex");
        let held = SharedCell::<Flag>::new().expect("flag");
        // SAFETY: the child only locks the mutex (no allocation on that path), stores to shared
        // memory and waits to be killed: it touches no lock another thread of ours may hold.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            if let Ok(Some(g)) = m.lock(None) {
                std::mem::forget(g);
                held.0.store(1, Ordering::SeqCst);
            }
            loop {
                // SAFETY: pause has no preconditions.
                unsafe { libc::pause() };
            }
        }
        let t = Instant::now();
        while held.0.load(Ordering::SeqCst) == 0 {
            assert!(t.elapsed() < Duration::from_secs(30), "the child never took the mutex");
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: kill and waitpid on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let t = Instant::now();
        let g = m.lock(Some(Instant::now() + Duration::from_secs(30))).expect("lock").expect("handed on");
        let waited = t.elapsed();
        assert!(g.previous_owner_died());
        drop(g);
        let mut status = 0;
        // SAFETY: as above; `status` is a valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(waited < Duration::from_secs(10), "took {waited:?}");
        let g = m.lock(None).expect("lock").expect("taken");
        assert!(!g.previous_owner_died());
    }
}
