//! Ported from CPython's `lock_tests.py` (run by `test_threading.py`): the thread primitives.
//!
//! CPython's checks of invalid arguments (a negative timeout, a timeout with `blocking=False`,
//! a negative semaphore value) have no counterpart: a `Duration` and a `usize` cannot be
//! negative, and a zero timeout is the non-blocking acquire.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{Barrier, BoundedSemaphore, Condition, Event, Lock, LockError, RLock, Semaphore};

use super::support::{
    Bunch, LONG_TIMEOUT, Results, SHORT_TIMEOUT, check_timeout, run_threads, wait_threads_blocked, wait_until,
};
use crate::case::{Case, Run, check, check_eq};

fn case(class: &'static str, test: &'static str, checks: &'static str, f: fn() -> Result<(), Failed>) -> Case {
    Case { file: "lock_tests.py", class, test, checks, difference: None, run: Run::Once(f) }
}

pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (class, base) in [("LockTests", base_lock_cases::<Lock>()), ("RLockTests", base_lock_cases::<RLock>())] {
        cases.extend(base.into_iter().map(|(test, checks, f)| case(class, test, checks, f)));
    }
    cases.extend([
        case(
            "LockTests",
            "test_reacquire",
            "a second acquire by the holder blocks until another thread releases",
            lock_reacquire,
        ),
        case(
            "LockTests",
            "test_different_thread",
            "a lock taken in one thread is released by another",
            lock_different_thread,
        ),
        case(
            "LockTests",
            "test_state_after_timeout",
            "a timed-out acquire leaves the lock held by its owner, then free after release",
            lock_state_after_timeout,
        ),
        case("RLockTests", "test_reacquire", "the owner acquires again; free after as many releases", rlock_reacquire),
        case(
            "RLockTests",
            "test_release_unacquired",
            "releasing an unacquired reentrant lock is an error, also after balanced use",
            rlock_release_unacquired,
        ),
        case(
            "RLockTests",
            "test_recursion_count",
            "the depth counts acquires less releases, and is 0 for a thread that does not own it",
            rlock_recursion_count,
        ),
        case(
            "RLockTests",
            "test_different_thread",
            "a thread that does not own the lock cannot release it",
            rlock_different_thread,
        ),
        case(
            "RLockTests",
            "test__is_owned",
            "ownership belongs to the acquiring thread until its last release",
            rlock_is_owned,
        ),
        case("EventTests", "test_is_set", "set and clear, repeated, are seen by is_set", event_is_set),
        case(
            "EventTests",
            "test_notify",
            "set wakes every waiter, and later waits return at once; again after clear",
            event_notify,
        ),
        case(
            "EventTests",
            "test_timeout",
            "wait(0) and wait(timeout) return false on a clear event, true on a set one",
            event_timeout,
        ),
        case(
            "EventTests",
            "test_set_and_clear",
            "waiters woken by set return true even though clear follows at once",
            event_set_and_clear,
        ),
        case(
            "ConditionTests",
            "test_acquire",
            "an RLock condition re-enters; a condition over a Lock holds that lock",
            condition_acquire,
        ),
        case("ConditionTests", "test_unacquired_wait", "wait without the lock is an error", condition_unacquired_wait),
        case(
            "ConditionTests",
            "test_unacquired_notify",
            "notify without the lock is an error",
            condition_unacquired_notify,
        ),
        case(
            "ConditionTests",
            "test_notify",
            "notify(3) then notify(5) then notify_all wake exactly the waiting threads, each once",
            condition_notify,
        ),
        case(
            "ConditionTests",
            "test_timeout",
            "a wait nobody notifies returns false after its timeout",
            condition_timeout,
        ),
        case(
            "ConditionTests",
            "test_waitfor",
            "wait_for returns once the predicate holds after notifications",
            condition_waitfor,
        ),
        case(
            "ConditionTests",
            "test_waitfor_timeout",
            "wait_for returns false at its timeout when the predicate never holds",
            condition_waitfor_timeout,
        ),
        case(
            "SemaphoreTests",
            "test_release_unacquired",
            "an unbounded semaphore may be released past its initial value",
            semaphore_release_unacquired,
        ),
        case(
            "BoundedSemaphoreTests",
            "test_release_unacquired",
            "a bounded semaphore refuses a release past its initial value",
            bounded_release_unacquired,
        ),
        case("BarrierTests", "test_barrier", "five threads pass the barrier in lockstep", || barrier_passes(1)),
        case("BarrierTests", "test_barrier_10", "five threads pass the barrier in lockstep ten times", || {
            barrier_passes(10)
        }),
        case("BarrierTests", "test_wait_return", "wait returns each index in 0..parties once", barrier_wait_return),
        case("BarrierTests", "test_action", "the action runs once, before any thread is released", barrier_action),
        case("BarrierTests", "test_abort", "abort breaks the barrier for the waiting and later threads", barrier_abort),
        case(
            "BarrierTests",
            "test_reset",
            "reset breaks the current waiters; the barrier then works again",
            barrier_reset,
        ),
        case(
            "BarrierTests",
            "test_abort_and_reset",
            "a broken barrier works again after reset",
            barrier_abort_and_reset,
        ),
        case("BarrierTests", "test_timeout", "a wait that times out breaks the barrier for all", barrier_timeout),
        case(
            "BarrierTests",
            "test_default_timeout",
            "the barrier's default timeout breaks a lone waiter",
            barrier_default_timeout,
        ),
        case(
            "BarrierTests",
            "test_single_thread",
            "a one-party barrier passes at once, repeatedly",
            barrier_single_thread,
        ),
    ]);
    for (class, base) in [
        ("SemaphoreTests", base_semaphore_cases::<Semaphore>()),
        ("BoundedSemaphoreTests", base_semaphore_cases::<BoundedSemaphore>()),
    ] {
        cases.extend(base.into_iter().map(|(test, checks, f)| case(class, test, checks, f)));
    }
    cases
}

// ---- BaseLockTests, for Lock and RLock ----

/// The operations `BaseLockTests` uses, for both kinds of lock.
trait TestLock: Send + Sync + 'static {
    fn make() -> Self;
    fn acquire(&self);
    fn try_acquire(&self) -> bool;
    fn acquire_timeout(&self, t: Duration) -> bool;
    fn release(&self) -> Result<(), LockError>;
    fn guarded(&self, f: &mut dyn FnMut());
}

impl TestLock for Lock {
    fn make() -> Self {
        Lock::new()
    }
    fn acquire(&self) {
        Lock::acquire(self)
    }
    fn try_acquire(&self) -> bool {
        Lock::try_acquire(self)
    }
    fn acquire_timeout(&self, t: Duration) -> bool {
        Lock::acquire_timeout(self, t)
    }
    fn release(&self) -> Result<(), LockError> {
        Lock::release(self)
    }
    fn guarded(&self, f: &mut dyn FnMut()) {
        let _g = self.lock();
        f()
    }
}

impl TestLock for RLock {
    fn make() -> Self {
        RLock::new()
    }
    fn acquire(&self) {
        RLock::acquire(self)
    }
    fn try_acquire(&self) -> bool {
        RLock::try_acquire(self)
    }
    fn acquire_timeout(&self, t: Duration) -> bool {
        RLock::acquire_timeout(self, t)
    }
    fn release(&self) -> Result<(), LockError> {
        RLock::release(self)
    }
    fn guarded(&self, f: &mut dyn FnMut()) {
        let _g = self.lock();
        f()
    }
}

type Base = (&'static str, &'static str, fn() -> Result<(), Failed>);

fn base_lock_cases<L: TestLock>() -> Vec<Base> {
    vec![
        ("test_try_acquire", "a free lock is taken without waiting", base_try_acquire::<L>),
        (
            "test_try_acquire_contended",
            "another thread cannot take a held lock without waiting",
            base_try_acquire_contended::<L>,
        ),
        (
            "test_acquire_contended",
            "threads blocked on a held lock all get through once it is released",
            base_acquire_contended::<L>,
        ),
        ("test_with", "the guard releases the lock, also when its block panics", base_with::<L>),
        ("test_thread_leak", "fifteen threads take and release the lock", base_thread_leak::<L>),
        (
            "test_timeout",
            "a huge timeout is accepted; a timed acquire of a held lock returns false after the timeout",
            base_timeout::<L>,
        ),
    ]
}

fn base_try_acquire<L: TestLock>() -> Result<(), Failed> {
    let lock = L::make();
    check(lock.try_acquire(), "acquire(False) of a free lock")?;
    lock.release()?;
    Ok(())
}

fn base_try_acquire_contended<L: TestLock>() -> Result<(), Failed> {
    let lock = Arc::new(L::make());
    lock.acquire();
    let result = Results::new();
    let (l, r) = (lock.clone(), result.clone());
    run_threads(1, move || r.push(l.try_acquire()))?;
    check_eq(result.get(), vec![false], "acquire(False) from another thread")?;
    lock.release()?;
    Ok(())
}

fn base_acquire_contended<L: TestLock>() -> Result<(), Failed> {
    let lock = Arc::new(L::make());
    lock.acquire();
    let l = lock.clone();
    let bunch = Bunch::start(5, move || {
        l.acquire();
        l.release().expect("held");
    })?;
    wait_threads_blocked(5);
    check_eq(bunch.finished(), 0, "threads past the held lock")?;
    lock.release()?;
    wait_until("all five threads finished", || bunch.finished() >= 5)?;
    bunch.join()
}

fn base_with<L: TestLock>() -> Result<(), Failed> {
    let lock = Arc::new(L::make());
    let take_and_release = {
        let l = lock.clone();
        move || {
            l.acquire();
            l.release().expect("held");
        }
    };
    lock.guarded(&mut || {});
    run_threads(1, take_and_release.clone())?;
    let raised = panic::catch_unwind(AssertUnwindSafe(|| lock.guarded(&mut || panic!("TypeError"))));
    check(raised.is_err(), "the panic goes through the guard")?;
    run_threads(1, take_and_release)
}

fn base_thread_leak<L: TestLock>() -> Result<(), Failed> {
    let lock = Arc::new(L::make());
    run_threads(15, move || {
        lock.acquire();
        lock.release().expect("held");
    })
}

fn base_timeout<L: TestLock>() -> Result<(), Failed> {
    let lock = Arc::new(L::make());
    check(lock.acquire_timeout(Duration::MAX), "TIMEOUT_MAX is ok")?;
    lock.release()?;
    let t1 = Instant::now();
    check(lock.acquire_timeout(Duration::from_secs(5)), "a free lock within 5 s")?;
    check(t1.elapsed() < Duration::from_secs(5), "did not wait for the timeout")?;
    let results = Results::new();
    let (l, r) = (lock.clone(), results.clone());
    run_threads(1, move || {
        let t1 = Instant::now();
        let got = l.acquire_timeout(Duration::from_millis(500));
        r.push((got, t1.elapsed()));
    })?;
    let (got, took) = results.get()[0];
    check(!got, "a held lock is not taken within 0.5 s")?;
    check_timeout(took, Duration::from_millis(500))?;
    lock.release()?;
    Ok(())
}

// ---- LockTests ----

fn lock_reacquire() -> Result<(), Failed> {
    let lock = Arc::new(Lock::new());
    let phase = Arc::new(AtomicUsize::new(0));
    let (l, p) = (lock.clone(), phase.clone());
    let t = std::thread::spawn(move || {
        l.acquire();
        p.fetch_add(1, Ordering::SeqCst);
        l.acquire();
        p.fetch_add(1, Ordering::SeqCst);
    });
    wait_until("the thread holds the lock", || phase.load(Ordering::SeqCst) >= 1)?;
    wait_threads_blocked(1);
    check_eq(phase.load(Ordering::SeqCst), 1, "the second acquire blocks")?;
    lock.release()?;
    wait_until("the thread took it again", || phase.load(Ordering::SeqCst) >= 2)?;
    t.join().map_err(|_| "thread panicked")?;
    Ok(())
}

fn lock_different_thread() -> Result<(), Failed> {
    let lock = Arc::new(Lock::new());
    lock.acquire();
    let l = lock.clone();
    run_threads(1, move || l.release().expect("released by another thread"))?;
    lock.acquire();
    lock.release()?;
    Ok(())
}

fn lock_state_after_timeout() -> Result<(), Failed> {
    let lock = Lock::new();
    lock.acquire();
    check(!lock.acquire_timeout(Duration::from_millis(10)), "a held lock cannot be taken within 10 ms")?;
    lock.release()?;
    check(!lock.is_locked(), "free after release")?;
    check(lock.acquire_timeout(Duration::ZERO), "a non-blocking acquire of a free lock succeeds")?;
    lock.release()?;
    Ok(())
}

// ---- RLockTests ----

fn rlock_reacquire() -> Result<(), Failed> {
    let lock = RLock::new();
    lock.acquire();
    lock.acquire();
    lock.release()?;
    lock.acquire();
    lock.release()?;
    lock.release()?;
    Ok(())
}

fn rlock_release_unacquired() -> Result<(), Failed> {
    let lock = RLock::new();
    check_eq(lock.release(), Err(LockError::NotLocked), "release of a fresh lock")?;
    lock.acquire();
    lock.acquire();
    lock.release()?;
    lock.acquire();
    lock.release()?;
    lock.release()?;
    check_eq(lock.release(), Err(LockError::NotLocked), "one release too many")
}

fn rlock_recursion_count() -> Result<(), Failed> {
    let lock = Arc::new(RLock::new());
    check_eq(lock.recursion_count(), 0, "fresh")?;
    lock.acquire();
    check_eq(lock.recursion_count(), 1, "once")?;
    lock.acquire();
    lock.acquire();
    check_eq(lock.recursion_count(), 3, "thrice")?;
    lock.release()?;
    check_eq(lock.recursion_count(), 2, "one released")?;
    lock.release()?;
    lock.release()?;
    check_eq(lock.recursion_count(), 0, "all released")?;
    let phase = Arc::new(AtomicUsize::new(0));
    let (l, p) = (lock.clone(), phase.clone());
    let t = std::thread::spawn(move || {
        l.acquire();
        p.fetch_add(1, Ordering::SeqCst);
        while p.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        l.release().expect("owner");
        p.fetch_add(1, Ordering::SeqCst);
    });
    wait_until("the thread owns the lock", || phase.load(Ordering::SeqCst) >= 1)?;
    check_eq(lock.recursion_count(), 0, "owned by another thread")?;
    phase.fetch_add(1, Ordering::SeqCst);
    wait_until("the thread released it", || phase.load(Ordering::SeqCst) >= 3)?;
    check_eq(lock.recursion_count(), 0, "free")?;
    t.join().map_err(|_| "thread panicked")?;
    Ok(())
}

fn rlock_different_thread() -> Result<(), Failed> {
    let lock = Arc::new(RLock::new());
    let held = Arc::new(Event::new());
    let done = Arc::new(Event::new());
    let (l, h, d) = (lock.clone(), held.clone(), done.clone());
    let t = std::thread::spawn(move || {
        l.acquire();
        h.set();
        d.wait(); // CPython's wait_before_exit: hold the lock until the main thread is done
    });
    held.wait();
    let refused = lock.release();
    done.set();
    t.join().map_err(|_| "thread panicked")?;
    check_eq(refused, Err(LockError::NotOwner), "release by a thread that does not own it")
}

fn rlock_is_owned() -> Result<(), Failed> {
    let lock = Arc::new(RLock::new());
    check(!lock.is_owned(), "fresh")?;
    lock.acquire();
    check(lock.is_owned(), "acquired")?;
    lock.acquire();
    check(lock.is_owned(), "acquired twice")?;
    let result = Results::new();
    let (l, r) = (lock.clone(), result.clone());
    run_threads(1, move || r.push(l.is_owned()))?;
    check_eq(result.get(), vec![false], "seen from another thread")?;
    lock.release()?;
    check(lock.is_owned(), "still owned once")?;
    lock.release()?;
    check(!lock.is_owned(), "released")
}

// ---- EventTests ----

fn event_is_set() -> Result<(), Failed> {
    let evt = Event::new();
    check(!evt.is_set(), "fresh")?;
    evt.set();
    check(evt.is_set(), "set")?;
    evt.set();
    check(evt.is_set(), "set twice")?;
    evt.clear();
    check(!evt.is_set(), "cleared")?;
    evt.clear();
    check(!evt.is_set(), "cleared twice")
}

fn check_event_notify(evt: &Arc<Event>) -> Result<(), Failed> {
    let (results1, results2) = (Results::new(), Results::new());
    let (e, r1, r2) = (evt.clone(), results1.clone(), results2.clone());
    let bunch = Bunch::start(5, move || {
        r1.push(e.wait_timeout(LONG_TIMEOUT));
        r2.push(e.wait_timeout(LONG_TIMEOUT));
    })?;
    wait_threads_blocked(5);
    check_eq(results1.len(), 0, "woken before set")?;
    evt.set();
    bunch.join()?;
    check_eq(results1.get(), vec![true; 5], "first waits")?;
    check_eq(results2.get(), vec![true; 5], "second waits")
}

fn event_notify() -> Result<(), Failed> {
    let evt = Arc::new(Event::new());
    check_event_notify(&evt)?;
    evt.set();
    evt.clear();
    check_event_notify(&evt)
}

fn event_timeout() -> Result<(), Failed> {
    let evt = Arc::new(Event::new());
    for expect_set in [false, true] {
        let (results1, results2) = (Results::new(), Results::new());
        let (e, r1, r2) = (evt.clone(), results1.clone(), results2.clone());
        run_threads(5, move || {
            r1.push(e.wait_timeout(Duration::ZERO));
            let t1 = Instant::now();
            let r = e.wait_timeout(Duration::from_millis(500));
            r2.push((r, t1.elapsed()));
        })?;
        check_eq(results1.get(), vec![expect_set; 5], "wait(0.0)")?;
        for (r, dt) in results2.get() {
            check_eq(r, expect_set, "wait(0.5)")?;
            if !expect_set {
                check_timeout(dt, Duration::from_millis(500))?;
            }
        }
        evt.set();
    }
    Ok(())
}

fn event_set_and_clear() -> Result<(), Failed> {
    let event = Arc::new(Event::new());
    let results = Results::new();
    let (e, r) = (event.clone(), results.clone());
    let bunch = Bunch::start(5, move || r.push(e.wait_timeout(LONG_TIMEOUT)))?;
    wait_threads_blocked(5);
    event.set();
    event.clear();
    bunch.join()?;
    check_eq(results.get(), vec![true; 5], "every waiter saw the set")
}

// ---- ConditionTests ----

fn condition_acquire() -> Result<(), Failed> {
    let cond = Condition::new();
    cond.acquire();
    cond.acquire();
    cond.release()?;
    cond.release()?;
    let lock = Arc::new(Lock::new());
    let cond = Condition::with_lock(lock.clone());
    cond.acquire();
    check(!lock.try_acquire(), "the condition holds its lock")?;
    cond.release()?;
    check(lock.try_acquire(), "released by the condition")?;
    check(!cond.acquire_timeout(Duration::ZERO), "held through the lock")?;
    lock.release()?;
    let _g = cond.lock();
    check(!lock.try_acquire(), "held by the guard")
}

fn condition_unacquired_wait() -> Result<(), Failed> {
    check_eq(Condition::new().wait(), Err(LockError::NotAcquired), "wait without the lock")
}

fn condition_unacquired_notify() -> Result<(), Failed> {
    check_eq(Condition::new().notify(1), Err(LockError::NotAcquired), "notify without the lock")
}

fn check_condition_notify(cond: &Arc<Condition>) -> Result<(), Failed> {
    let phase = Arc::new(AtomicUsize::new(0));
    let ready = Results::new();
    let (results1, results2) = (Results::new(), Results::new());
    let (c, p, rd, r1, r2) = (cond.clone(), phase.clone(), ready.clone(), results1.clone(), results2.clone());
    let bunch = Bunch::start(5, move || {
        c.acquire();
        rd.push(p.load(Ordering::SeqCst));
        let result = c.wait_timeout(LONG_TIMEOUT).expect("held");
        c.release().expect("held");
        r1.push((result, p.load(Ordering::SeqCst)));
        c.acquire();
        rd.push(p.load(Ordering::SeqCst));
        let result = c.wait_timeout(LONG_TIMEOUT).expect("held");
        c.release().expect("held");
        r2.push((result, p.load(Ordering::SeqCst)));
    })?;
    wait_until("all five wait", || ready.len() >= 5)?;
    ready.clear();
    check_eq(results1.len(), 0, "nobody woken yet")?;
    cond.acquire();
    cond.notify(3)?;
    wait_threads_blocked(3);
    phase.store(1, Ordering::SeqCst);
    cond.release()?;
    wait_until("three woken", || results1.len() >= 3)?;
    check_eq(results1.get(), vec![(true, 1); 3], "the first three")?;
    check_eq(results2.len(), 0, "no second wake-up")?;
    wait_until("the woken three wait again", || ready.len() >= 3)?;
    cond.acquire();
    cond.notify(5)?;
    wait_threads_blocked(5);
    phase.store(2, Ordering::SeqCst);
    cond.release()?;
    wait_until("all five woken", || results1.len() + results2.len() >= 8)?;
    let want1 = [vec![(true, 1); 3], vec![(true, 2); 2]].concat();
    check_eq(results1.get(), want1.clone(), "first waits")?;
    check_eq(results2.get(), vec![(true, 2); 3], "second waits")?;
    wait_until("all five in their second wait", || ready.len() >= 5)?;
    cond.acquire();
    cond.notify_all()?;
    wait_threads_blocked(5);
    phase.store(3, Ordering::SeqCst);
    cond.release()?;
    wait_until("the last two woken", || results2.len() >= 5)?;
    check_eq(results1.get(), want1, "first waits unchanged")?;
    check_eq(results2.get(), [vec![(true, 2); 3], vec![(true, 3); 2]].concat(), "second waits")?;
    bunch.join()
}

fn condition_notify() -> Result<(), Failed> {
    let cond = Arc::new(Condition::new());
    check_condition_notify(&cond)?;
    check_condition_notify(&cond)
}

fn condition_timeout() -> Result<(), Failed> {
    let cond = Arc::new(Condition::new());
    let results = Results::new();
    let (c, r) = (cond.clone(), results.clone());
    run_threads(5, move || {
        c.acquire();
        let t1 = Instant::now();
        let result = c.wait_timeout(Duration::from_millis(500)).expect("held");
        let dt = t1.elapsed();
        c.release().expect("held");
        r.push((dt, result));
    })?;
    check_eq(results.len(), 5, "every thread returned")?;
    for (dt, result) in results.get() {
        check_timeout(dt, Duration::from_millis(500))?;
        check(!result, "not notified: false")?;
    }
    Ok(())
}

fn condition_waitfor() -> Result<(), Failed> {
    let cond = Arc::new(Condition::new());
    let state = Arc::new(AtomicUsize::new(0));
    let (c, s) = (cond.clone(), state.clone());
    let bunch = Bunch::start(1, move || {
        let _g = c.lock();
        let result = c.wait_for(|| s.load(Ordering::SeqCst) == 4, None).expect("held");
        assert!(result, "wait_for returned false");
        assert_eq!(s.load(Ordering::SeqCst), 4);
    })?;
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(10));
        let _g = cond.lock();
        state.fetch_add(1, Ordering::SeqCst);
        cond.notify(1)?;
    }
    bunch.join()
}

fn condition_waitfor_timeout() -> Result<(), Failed> {
    let cond = Arc::new(Condition::new());
    let state = Arc::new(AtomicUsize::new(0));
    let success = Results::new();
    let (c, s, ok) = (cond.clone(), state.clone(), success.clone());
    let bunch = Bunch::start(1, move || {
        let _g = c.lock();
        let t = Instant::now();
        let result = c.wait_for(|| s.load(Ordering::SeqCst) == 4, Some(Duration::from_millis(100))).expect("held");
        let dt = t.elapsed();
        assert!(!result, "the predicate never holds");
        assert!(check_timeout(dt, Duration::from_millis(100)).is_ok(), "returned after {dt:?}");
        ok.push(());
    })?;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(10));
        let _g = cond.lock();
        state.fetch_add(1, Ordering::SeqCst);
        cond.notify(1)?;
    }
    bunch.join()?;
    check_eq(success.len(), 1, "the waiter checked its result")
}

// ---- BaseSemaphoreTests, for Semaphore and BoundedSemaphore ----

trait TestSemaphore: Send + Sync + 'static {
    fn make(value: usize) -> Self;
    fn make_default() -> Self;
    fn acquire_blocking(&self) -> bool;
    fn try_acquire(&self) -> bool;
    fn acquire_timeout(&self, t: Duration) -> bool;
    fn release(&self) -> Result<(), LockError>;
    fn release_n(&self, n: usize) -> Result<(), LockError>;
    fn guarded(&self, f: &mut dyn FnMut());
}

impl TestSemaphore for Semaphore {
    fn make(value: usize) -> Self {
        Semaphore::new(value)
    }
    fn make_default() -> Self {
        Semaphore::default()
    }
    fn acquire_blocking(&self) -> bool {
        self.acquire_timeout(Duration::MAX)
    }
    fn try_acquire(&self) -> bool {
        Semaphore::try_acquire(self)
    }
    fn acquire_timeout(&self, t: Duration) -> bool {
        Semaphore::acquire_timeout(self, t)
    }
    fn release(&self) -> Result<(), LockError> {
        Semaphore::release(self);
        Ok(())
    }
    fn release_n(&self, n: usize) -> Result<(), LockError> {
        Semaphore::release_n(self, n)
    }
    fn guarded(&self, f: &mut dyn FnMut()) {
        let _g = self.guard();
        f()
    }
}

impl TestSemaphore for BoundedSemaphore {
    fn make(value: usize) -> Self {
        BoundedSemaphore::new(value)
    }
    fn make_default() -> Self {
        BoundedSemaphore::default()
    }
    fn acquire_blocking(&self) -> bool {
        self.acquire_timeout(Duration::MAX)
    }
    fn try_acquire(&self) -> bool {
        BoundedSemaphore::try_acquire(self)
    }
    fn acquire_timeout(&self, t: Duration) -> bool {
        BoundedSemaphore::acquire_timeout(self, t)
    }
    fn release(&self) -> Result<(), LockError> {
        BoundedSemaphore::release(self)
    }
    fn release_n(&self, n: usize) -> Result<(), LockError> {
        BoundedSemaphore::release_n(self, n)
    }
    fn guarded(&self, f: &mut dyn FnMut()) {
        let _g = self.guard();
        f()
    }
}

fn base_semaphore_cases<S: TestSemaphore>() -> Vec<Base> {
    vec![
        ("test_acquire", "permits are taken and given back", sem_acquire::<S>),
        (
            "test_acquire_contended",
            "waiters get exactly as many permits as are released, phase by phase",
            sem_acquire_contended::<S>,
        ),
        ("test_multirelease", "release(n) lets exactly n waiters through, phase by phase", sem_multirelease::<S>),
        ("test_try_acquire", "acquire(False) takes what is available and no more", sem_try_acquire::<S>),
        (
            "test_try_acquire_contended",
            "ten non-blocking tries from five threads get exactly the three permits",
            sem_try_acquire_contended::<S>,
        ),
        (
            "test_acquire_timeout",
            "a timed acquire gets a free permit at once and returns false after the timeout",
            sem_acquire_timeout::<S>,
        ),
        ("test_default_value", "the default value is one", sem_default_value::<S>),
        ("test_with", "the guard gives its permit back, also when its block panics", sem_with::<S>),
    ]
}

fn sem_acquire<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = S::make(1);
    sem.acquire_blocking();
    sem.release()?;
    let sem = S::make(2);
    sem.acquire_blocking();
    sem.acquire_blocking();
    sem.release()?;
    sem.release()?;
    Ok(())
}

/// The phases of `test_acquire_contended` and `test_multirelease`: ten threads each take two
/// permits of a 7-permit semaphore the main thread holds one of; `release` gives `count`
/// permits back in one go or one at a time.
fn sem_phases<S: TestSemaphore>(release: fn(&S, usize) -> Result<(), LockError>) -> Result<(), Failed> {
    let sem_value = 7;
    let sem = Arc::new(S::make(sem_value));
    sem.acquire_blocking();
    let phase = Arc::new(AtomicUsize::new(0));
    let (sem_results, results1, results2) = (Results::new(), Results::new(), Results::new());
    let (s, p, sr, r1, r2) = (sem.clone(), phase.clone(), sem_results.clone(), results1.clone(), results2.clone());
    let bunch = Bunch::start(10, move || {
        sr.push(s.acquire_blocking());
        r1.push(p.load(Ordering::SeqCst));
        sr.push(s.acquire_blocking());
        r2.push(p.load(Ordering::SeqCst));
    })?;
    let both = || {
        let mut all = [results1.get(), results2.get()].concat();
        all.sort();
        all
    };
    let wait_count = |count: usize| wait_until("the permits were taken", || results1.len() + results2.len() >= count);
    let count1 = sem_value - 1;
    wait_count(count1)?;
    check_eq(both(), vec![0; count1], "phase 0")?;
    phase.store(1, Ordering::SeqCst);
    release(&sem, sem_value)?;
    let count2 = sem_value;
    wait_count(count1 + count2)?;
    check_eq(both(), [vec![0; count1], vec![1; count2]].concat(), "phase 1")?;
    phase.store(2, Ordering::SeqCst);
    let count3 = sem_value - 1;
    release(&sem, count3)?;
    wait_count(count1 + count2 + count3)?;
    check_eq(both(), [vec![0; count1], vec![1; count2], vec![2; count3]].concat(), "phase 2")?;
    check(!sem.try_acquire(), "the semaphore is still locked")?;
    sem.release()?;
    bunch.join()?;
    check_eq(sem_results.get(), vec![true; count1 + count2 + count3 + 1], "every acquire returned true")
}

fn sem_acquire_contended<S: TestSemaphore>() -> Result<(), Failed> {
    sem_phases::<S>(|s, n| (0..n).try_for_each(|_| s.release()))
}

fn sem_multirelease<S: TestSemaphore>() -> Result<(), Failed> {
    sem_phases::<S>(|s, n| s.release_n(n))
}

fn sem_try_acquire<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = S::make(2);
    check(sem.try_acquire(), "first")?;
    check(sem.try_acquire(), "second")?;
    check(!sem.try_acquire(), "third")?;
    sem.release()?;
    check(sem.try_acquire(), "after a release")
}

fn sem_try_acquire_contended<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = Arc::new(S::make(4));
    sem.acquire_blocking();
    let results = Results::new();
    let (s, r) = (sem.clone(), results.clone());
    run_threads(5, move || {
        r.push(s.try_acquire());
        r.push(s.try_acquire());
    })?;
    let mut got = results.get();
    got.sort();
    check_eq(got, [vec![false; 7], vec![true; 3]].concat(), "ten tries for three permits")
}

fn sem_acquire_timeout<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = S::make(2);
    check(sem.acquire_timeout(Duration::from_millis(5)), "first")?;
    check(sem.acquire_timeout(Duration::from_millis(5)), "second")?;
    check(!sem.acquire_timeout(Duration::from_millis(5)), "third")?;
    sem.release()?;
    check(sem.acquire_timeout(Duration::from_millis(5)), "after a release")?;
    let t = Instant::now();
    check(!sem.acquire_timeout(Duration::from_millis(500)), "none left within 0.5 s")?;
    check_timeout(t.elapsed(), Duration::from_millis(500))
}

fn sem_default_value<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = Arc::new(S::make_default());
    sem.acquire_blocking();
    let s = sem.clone();
    let bunch = Bunch::start(1, move || {
        s.acquire_blocking();
        s.release().expect("given back");
    })?;
    wait_threads_blocked(1);
    check_eq(bunch.finished(), 0, "blocked: the single permit is taken")?;
    sem.release()?;
    bunch.join()
}

fn sem_with<S: TestSemaphore>() -> Result<(), Failed> {
    let sem = S::make(2);
    let with = |fail: bool| {
        sem.guarded(&mut || {
            assert!(sem.try_acquire());
            sem.release().expect("given back");
            sem.guarded(&mut || {
                assert!(!sem.try_acquire());
                if fail {
                    panic!("TypeError");
                }
            });
        })
    };
    with(false);
    check(sem.try_acquire(), "both permits back")?;
    sem.release()?;
    check(panic::catch_unwind(AssertUnwindSafe(|| with(true))).is_err(), "the panic goes through")?;
    check(sem.try_acquire(), "both permits back after the panic")?;
    sem.release()?;
    Ok(())
}

fn semaphore_release_unacquired() -> Result<(), Failed> {
    let sem = Semaphore::new(1);
    sem.release();
    check(sem.try_acquire(), "first")?;
    check(sem.try_acquire(), "second, from the extra release")?;
    sem.release();
    Ok(())
}

fn bounded_release_unacquired() -> Result<(), Failed> {
    let sem = BoundedSemaphore::default();
    check_eq(sem.release(), Err(LockError::TooManyReleases { bound: 1 }), "release past the initial value")?;
    sem.acquire();
    sem.release()?;
    check_eq(sem.release(), Err(LockError::TooManyReleases { bound: 1 }), "again")
}

// ---- BarrierTests ----

const N: usize = 5;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn barrier() -> Arc<Barrier> {
    Arc::new(Barrier::new(N).default_timeout(DEFAULT_TIMEOUT))
}

/// Runs `f` in N threads, then aborts the barrier (CPython's `tearDown`).
fn run_barrier_threads(b: &Arc<Barrier>, f: impl Fn() + Send + Sync + 'static) -> Result<(), Failed> {
    let outcome = run_threads(N, f);
    b.abort();
    outcome
}

fn barrier_passes(passes: usize) -> Result<(), Failed> {
    let b = barrier();
    let results = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let (b2, r) = (b.clone(), results.clone());
    run_barrier_threads(&b, move || {
        let m = b2.parties();
        assert_eq!(m, N);
        for i in 0..passes {
            r[0].fetch_add(1, Ordering::SeqCst);
            assert_eq!(r[1].load(Ordering::SeqCst), i * m);
            b2.wait().expect("not broken");
            r[1].fetch_add(1, Ordering::SeqCst);
            assert_eq!(r[0].load(Ordering::SeqCst), (i + 1) * m);
            b2.wait().expect("not broken");
        }
        assert_eq!(b2.n_waiting(), 0);
        assert!(!b2.broken());
    })
}

fn barrier_wait_return() -> Result<(), Failed> {
    let b = barrier();
    let results = Results::new();
    let (b2, r) = (b.clone(), results.clone());
    run_barrier_threads(&b, move || r.push(b2.wait().expect("not broken")))?;
    check_eq(results.get().iter().sum::<usize>(), (0..N).sum(), "the sum of the indices")
}

fn barrier_action() -> Result<(), Failed> {
    let results = Results::new();
    let r = results.clone();
    let b = Arc::new(Barrier::with_action(N, move || r.push(true)));
    let (b2, r) = (b.clone(), results.clone());
    run_barrier_threads(&b, move || {
        b2.wait().expect("not broken");
        assert_eq!(r.len(), 1);
    })
}

fn barrier_abort() -> Result<(), Failed> {
    let b = barrier();
    let (results1, results2) = (Results::new(), Results::new());
    let (b2, r1, r2) = (b.clone(), results1.clone(), results2.clone());
    run_barrier_threads(&b, move || match b2.wait() {
        Ok(i) if i == N / 2 => b2.abort(), // CPython raises RuntimeError here, then aborts
        Ok(_) => match b2.wait() {
            Ok(_) => r1.push(true),
            Err(_) => r2.push(true),
        },
        Err(_) => r2.push(true),
    })?;
    check_eq(results1.len(), 0, "passed the second wait")?;
    check_eq(results2.len(), N - 1, "broken")?;
    check(b.broken(), "the barrier is broken")
}

fn barrier_reset() -> Result<(), Failed> {
    let b = barrier();
    let (results1, results2, results3) = (Results::new(), Results::new(), Results::new());
    let (b2, r1, r2, r3) = (b.clone(), results1.clone(), results2.clone(), results3.clone());
    run_barrier_threads(&b, move || {
        let i = b2.wait().expect("first pass");
        if i == N / 2 {
            let t = Instant::now();
            while b2.n_waiting() < N - 1 && t.elapsed() < SHORT_TIMEOUT {
                std::thread::sleep(Duration::from_millis(1));
            }
            b2.reset();
        } else {
            match b2.wait() {
                Ok(_) => r1.push(true),
                Err(_) => r2.push(true),
            }
        }
        b2.wait().expect("passes again after the reset");
        r3.push(true);
    })?;
    check_eq(results1.len(), 0, "passed the reset wait")?;
    check_eq(results2.len(), N - 1, "broken by the reset")?;
    check_eq(results3.len(), N, "passed again")
}

fn barrier_abort_and_reset() -> Result<(), Failed> {
    let b = barrier();
    let b_two = Arc::new(Barrier::new(N));
    let (results1, results2, results3) = (Results::new(), Results::new(), Results::new());
    let (b2, bb, r1, r2, r3) = (b.clone(), b_two.clone(), results1.clone(), results2.clone(), results3.clone());
    run_barrier_threads(&b, move || {
        match b2.wait() {
            Ok(i) if i == N / 2 => b2.abort(),
            Ok(_) => match b2.wait() {
                Ok(_) => r1.push(true),
                Err(_) => r2.push(true),
            },
            Err(_) => r2.push(true),
        }
        // Everyone has left the barrier when it is reset, and nobody enters before.
        if bb.wait().expect("barrier2") == N / 2 {
            b2.reset();
        }
        bb.wait().expect("barrier2");
        b2.wait().expect("passes after the reset");
        r3.push(true);
    })?;
    check_eq(results1.len(), 0, "passed the aborted wait")?;
    check_eq(results2.len(), N - 1, "broken by the abort")?;
    check_eq(results3.len(), N, "passed after the reset")
}

fn barrier_timeout() -> Result<(), Failed> {
    let b = barrier();
    let b2 = b.clone();
    run_barrier_threads(&b, move || {
        let i = b2.wait().expect("first pass");
        if i == N / 2 {
            std::thread::sleep(DEFAULT_TIMEOUT / 2); // one thread is late
        }
        assert_eq!(b2.wait_timeout(DEFAULT_TIMEOUT / 4), Err(LockError::BrokenBarrier));
    })
}

fn barrier_default_timeout() -> Result<(), Failed> {
    let timeout = Duration::from_millis(100);
    let b = Arc::new(Barrier::new(2).default_timeout(timeout));
    let start = Instant::now();
    let b2 = b.clone();
    run_threads(1, move || assert_eq!(b2.wait(), Err(LockError::BrokenBarrier)))?;
    check(start.elapsed() >= timeout, "waited the default timeout")
}

fn barrier_single_thread() -> Result<(), Failed> {
    let b = Barrier::new(1);
    b.wait()?;
    b.wait()?;
    Ok(())
}
