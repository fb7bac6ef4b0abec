//! Ported from CPython's `_test_multiprocessing.py`: `_TestLock`, `_TestSemaphore`,
//! `_TestCondition`, `_TestEvent`, `_TestBarrier`, with the process-shared primitives of
//! `procthread::shared`, once per start method.
//!
//! CPython's `_DummyList` (a counter in shared memory under a lock) is a shared semaphore
//! here: `append` releases it, `len` is its value. CPython does not look at its children's
//! exit codes in these tests; here a failed assertion in a child ends it with code 1 and the
//! case checks that every child ended with 0.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::shared::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};
use procthread::{Entry, LockError, Process, Queue, Registry, StartMethod};

use super::support::{LONG_TIMEOUT, SHORT_TIMEOUT};
use crate::case::{Case, Run, check, check_eq};

const TIMEOUT1: Duration = Duration::from_millis(100);
const TIMEOUT2: Duration = Duration::from_millis(100);
const TIMEOUT3: Duration = Duration::from_millis(100);
const DELTA: Duration = Duration::from_millis(100);
const CLOCK_RES: Duration = Duration::from_millis(100);

fn case(
    class: &'static str,
    test: &'static str,
    checks: &'static str,
    f: fn(StartMethod) -> Result<(), Failed>,
) -> Case {
    Case { file: "_test_multiprocessing.py", class, test, checks, difference: None, run: Run::PerMethod(f) }
}

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "_TestLock",
            "test_lock",
            "acquire, a refused non-blocking acquire, release; releasing a free lock is an error",
            lock_test_lock,
        ),
        case(
            "_TestLock",
            "test_rlock",
            "three acquires, three releases; a fourth release is an error",
            lock_test_rlock,
        ),
        case("_TestLock", "test_lock_context", "the guard takes and releases a lock", lock_test_lock_context),
        case(
            "_TestSemaphore",
            "test_semaphore",
            "the value follows acquires, a refused try, and releases past the initial value",
            sem_test_semaphore,
        ),
        case(
            "_TestSemaphore",
            "test_bounded_semaphore",
            "the value follows acquires, a refused try, and releases",
            sem_test_bounded_semaphore,
        ),
        case(
            "_TestSemaphore",
            "test_timeout",
            "acquires of an empty semaphore, non-blocking or timed, return false",
            sem_test_timeout,
        ),
        case(
            "_TestCondition",
            "test_notify",
            "a child process and a thread wait; each notify wakes exactly one",
            cond_test_notify,
        ),
        case(
            "_TestCondition",
            "test_notify_all",
            "six timed waits time out; six more are all woken by notify_all",
            cond_test_notify_all,
        ),
        case(
            "_TestCondition",
            "test_notify_n",
            "notify(2) wakes two of six, notify(4) the rest, notify(3) nobody",
            cond_test_notify_n,
        ),
        case("_TestCondition", "test_timeout", "a wait nobody notifies returns false", cond_test_timeout),
        case(
            "_TestCondition",
            "test_waitfor",
            "wait_for in parent and child, each until the other's state change",
            cond_test_waitfor,
        ),
        case(
            "_TestCondition",
            "test_waitfor_timeout",
            "a child's wait_for returns false after its timeout",
            cond_test_waitfor_timeout,
        ),
        case(
            "_TestCondition",
            "test_wait_result",
            "wait(0) and wait(0.1) return false; a child's notify makes wait true (the KeyboardInterrupt half has no counterpart)",
            cond_test_wait_result,
        ),
        case(
            "_TestEvent",
            "test_event",
            "is_set and timed waits before and after set; a child's set wakes the parent",
            event_test_event,
        ),
        case("_TestBarrier", "test_barrier", "five processes pass the barrier in lockstep", |m| barrier_passes(m, 1)),
        case("_TestBarrier", "test_barrier_10", "five processes pass the barrier in lockstep ten times", |m| {
            barrier_passes(m, 10)
        }),
        case("_TestBarrier", "test_wait_return", "exactly one process gets index 0", barrier_wait_return),
        Case {
            difference: Some(
                "the action is an Entry<()> run by whichever process arrives last, found by name in a spawned child; CPython pickles any callable with the state it captures, here the shared counter the action increments is reached through a static each process sets",
            ),
            ..case(
                "_TestBarrier",
                "test_action",
                "the action runs once in all, before any process is released",
                barrier_action,
            )
        },
        case(
            "_TestBarrier",
            "test_abort",
            "abort in one process breaks the barrier for the four others",
            barrier_abort,
        ),
        case("_TestBarrier", "test_reset", "a reset breaks the four waiting processes; then all pass", barrier_reset),
        case(
            "_TestBarrier",
            "test_abort_and_reset",
            "a barrier broken by abort works again after reset",
            barrier_abort_and_reset,
        ),
        case(
            "_TestBarrier",
            "test_timeout",
            "a late process makes the others' timed waits break the barrier for all five",
            barrier_timeout,
        ),
        case(
            "_TestBarrier",
            "test_default_timeout",
            "the default timeout breaks the barrier for all five",
            barrier_default_timeout,
        ),
        case(
            "_TestBarrier",
            "test_single_thread",
            "a one-party barrier passes at once, repeatedly",
            barrier_single_thread,
        ),
        case(
            "_TestBarrier",
            "test_thousand",
            "five processes pass a barrier a thousand times, reporting each pass in order",
            barrier_thousand,
        ),
    ]
}

// ---- helpers ----

fn start<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Process, Failed>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(entry, args).start_method(method).daemon(true);
    p.start()?;
    Ok(p)
}

fn join_all(children: Vec<Process>) -> Result<(), Failed> {
    for c in children {
        let code = c.join()?;
        if code != 0 {
            return Err(format!("{} ended with {code}: {:?}", c.get_name(), c.panic_message()).into());
        }
    }
    Ok(())
}

/// CPython's `assertReachesEventually`: the value gets there, and stays there a moment.
fn reaches(sem: &Semaphore, value: u32) -> Result<(), Failed> {
    let t = Instant::now();
    while sem.get_value() != value && t.elapsed() < SHORT_TIMEOUT {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(DELTA);
    check_eq(sem.get_value(), value, "woken count")
}

// ---- _TestLock ----

fn lock_test_lock(_: StartMethod) -> Result<(), Failed> {
    let lock = Lock::new()?;
    check(lock.acquire_timeout(LONG_TIMEOUT), "acquire() is True")?;
    check(!lock.try_acquire(), "acquire(False) is False")?;
    lock.release()?;
    check_eq(lock.release(), Err(LockError::NotLocked), "releasing a free lock")
}

fn lock_test_rlock(_: StartMethod) -> Result<(), Failed> {
    let lock = RLock::new()?;
    for _ in 0..3 {
        check(lock.acquire_timeout(LONG_TIMEOUT), "acquire() is True")?;
    }
    for _ in 0..3 {
        lock.release()?;
    }
    check_eq(lock.release(), Err(LockError::NotLocked), "one release too many")
}

fn lock_test_lock_context(_: StartMethod) -> Result<(), Failed> {
    let lock = Lock::new()?;
    drop(lock.lock());
    check(!lock.is_locked(), "released by the guard")
}

// ---- _TestSemaphore ----

/// `_test_semaphore`: a semaphore of value 2.
fn check_semaphore(
    acquire: &dyn Fn() -> bool,
    try_acquire: &dyn Fn() -> bool,
    release: &dyn Fn() -> Result<(), LockError>,
    value: &dyn Fn() -> u32,
) -> Result<(), Failed> {
    check_eq(value(), 2, "initial")?;
    check(acquire(), "acquire")?;
    check_eq(value(), 1, "after one acquire")?;
    check(acquire(), "acquire")?;
    check_eq(value(), 0, "after two")?;
    check(!try_acquire(), "acquire(False) of an empty semaphore")?;
    check_eq(value(), 0, "after the refused try")?;
    release()?;
    check_eq(value(), 1, "after a release")?;
    release()?;
    check_eq(value(), 2, "after two")
}

fn sem_test_semaphore(_: StartMethod) -> Result<(), Failed> {
    let sem = Semaphore::new(2)?;
    check_semaphore(&|| sem.acquire_timeout(LONG_TIMEOUT), &|| sem.try_acquire(), &|| sem.release(), &|| {
        sem.get_value()
    })?;
    sem.release()?;
    check_eq(sem.get_value(), 3, "past the initial value")?;
    sem.release()?;
    check_eq(sem.get_value(), 4, "further")
}

fn sem_test_bounded_semaphore(_: StartMethod) -> Result<(), Failed> {
    let sem = BoundedSemaphore::new(2)?;
    check_semaphore(&|| sem.acquire_timeout(LONG_TIMEOUT), &|| sem.try_acquire(), &|| sem.release(), &|| {
        sem.get_value()
    })
}

fn sem_test_timeout(_: StartMethod) -> Result<(), Failed> {
    let sem = Semaphore::new(0)?;
    check(!sem.try_acquire(), "acquire(False)")?;
    check(!sem.acquire_timeout(Duration::ZERO), "acquire(False, None)")?;
    check(!sem.acquire_timeout(TIMEOUT2), "acquire(True, TIMEOUT2)")?;
    let t = Instant::now();
    check(!sem.acquire_timeout(TIMEOUT3), "acquire(timeout=TIMEOUT3)")?;
    check(t.elapsed() >= TIMEOUT3, "waited the timeout")
}

// ---- _TestCondition ----

type CondArgs = (Condition, Semaphore, Semaphore, Option<Duration>);

/// CPython's `_TestCondition.f`.
fn cond_f((cond, sleeping, woken, timeout): CondArgs) {
    cond.acquire();
    sleeping.release().expect("sleeping");
    match timeout {
        None => cond.wait().expect("held"),
        Some(t) => {
            cond.wait_timeout(t).expect("held");
        }
    }
    woken.release().expect("woken");
    cond.release().expect("held");
}

static COND_F: Entry<CondArgs> = Entry::new("cpython::sync::cond_f", cond_f);

fn cond_thread(args: CondArgs) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || cond_f(args))
}

fn cond_test_notify(method: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    let (sleeping, woken) = (Semaphore::new(0)?, Semaphore::new(0)?);
    let p = start(&COND_F, (cond.clone(), sleeping.clone(), woken.clone(), None), method)?;
    let t = cond_thread((cond.clone(), sleeping.clone(), woken.clone(), None));
    check(sleeping.acquire_timeout(SHORT_TIMEOUT) && sleeping.acquire_timeout(SHORT_TIMEOUT), "both sleep")?;
    std::thread::sleep(DELTA);
    check_eq(woken.get_value(), 0, "nobody woken yet")?;
    for n in 1..=2 {
        cond.acquire();
        cond.notify(1)?;
        cond.release()?;
        reaches(&woken, n)?;
    }
    t.join().map_err(|_| "thread panicked")?;
    join_all(vec![p])
}

fn cond_test_notify_all(method: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    let (sleeping, woken) = (Semaphore::new(0)?, Semaphore::new(0)?);
    let args = |timeout| (cond.clone(), sleeping.clone(), woken.clone(), timeout);
    // Processes before threads: fork only from a single-threaded process.
    let mut children: Vec<Process> =
        (0..3).map(|_| start(&COND_F, args(Some(TIMEOUT1)), method)).collect::<Result<_, _>>()?;
    let threads: Vec<_> = (0..3).map(|_| cond_thread(args(Some(TIMEOUT1)))).collect();
    for _ in 0..6 {
        check(sleeping.acquire_timeout(SHORT_TIMEOUT), "all sleep")?;
    }
    for _ in 0..6 {
        check(woken.acquire_timeout(SHORT_TIMEOUT), "all time out")?;
    }
    check_eq(woken.get_value(), 0, "counted once each")?;
    threads.into_iter().try_for_each(|t| t.join().map_err(|_| "thread panicked"))?;
    children.extend((0..3).map(|_| start(&COND_F, args(None), method)).collect::<Result<Vec<_>, _>>()?);
    let threads: Vec<_> = (0..3).map(|_| cond_thread(args(None))).collect();
    for _ in 0..6 {
        check(sleeping.acquire_timeout(SHORT_TIMEOUT), "all sleep")?;
    }
    std::thread::sleep(DELTA);
    check_eq(woken.get_value(), 0, "nobody woken yet")?;
    cond.acquire();
    cond.notify_all()?;
    cond.release()?;
    reaches(&woken, 6)?;
    threads.into_iter().try_for_each(|t| t.join().map_err(|_| "thread panicked"))?;
    join_all(children)
}

fn cond_test_notify_n(method: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    let (sleeping, woken) = (Semaphore::new(0)?, Semaphore::new(0)?);
    let args = || (cond.clone(), sleeping.clone(), woken.clone(), None);
    let children: Vec<Process> = (0..3).map(|_| start(&COND_F, args(), method)).collect::<Result<_, _>>()?;
    let threads: Vec<_> = (0..3).map(|_| cond_thread(args())).collect();
    for _ in 0..6 {
        check(sleeping.acquire_timeout(SHORT_TIMEOUT), "all sleep")?;
    }
    std::thread::sleep(DELTA);
    check_eq(woken.get_value(), 0, "nobody woken yet")?;
    for (n, total) in [(2, 2), (4, 6), (3, 6)] {
        cond.acquire();
        cond.notify(n)?;
        cond.release()?;
        reaches(&woken, total)?;
    }
    threads.into_iter().try_for_each(|t| t.join().map_err(|_| "thread panicked"))?;
    join_all(children)
}

fn cond_test_timeout(_: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    cond.acquire();
    let t = Instant::now();
    let res = cond.wait_timeout(TIMEOUT1)?;
    cond.release()?;
    check(!res, "not notified")?;
    check(t.elapsed() >= TIMEOUT1, "waited the timeout")
}

/// `state` counts as CPython's shared value; `ready` stands for its first assignment.
static WAITFOR_F: Entry<(Condition, Semaphore, Event)> =
    Entry::new("cpython::sync::waitfor_f", |(cond, state, ready)| {
        let _g = cond.lock();
        ready.set();
        cond.notify(1).expect("held");
        let result = cond.wait_for(|| state.get_value() == 4, None).expect("held");
        if !result || state.get_value() != 4 {
            std::process::exit(1);
        }
    });

fn cond_test_waitfor(method: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    let (state, ready) = (Semaphore::new(0)?, Event::new()?);
    let p = start(&WAITFOR_F, (cond.clone(), state.clone(), ready.clone()), method)?;
    {
        let _g = cond.lock();
        let result = cond.wait_for(|| ready.is_set(), Some(LONG_TIMEOUT))?;
        check(result, "the child's state change was seen")?;
        check_eq(state.get_value(), 0, "state")?;
    }
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(10));
        let _g = cond.lock();
        state.release()?;
        cond.notify(1)?;
    }
    join_all(vec![p])
}

static WAITFOR_TIMEOUT_F: Entry<(Condition, Semaphore, Event, Semaphore)> =
    Entry::new("cpython::sync::waitfor_timeout_f", |(cond, state, success, sem)| {
        sem.release().expect("sem");
        let _g = cond.lock();
        let expected = Duration::from_millis(100);
        let t = Instant::now();
        let result = cond.wait_for(|| state.get_value() == 4, Some(expected)).expect("held");
        if !result && t.elapsed() >= expected.saturating_sub(CLOCK_RES) {
            success.set();
        }
    });

fn cond_test_waitfor_timeout(method: StartMethod) -> Result<(), Failed> {
    let cond = Condition::new()?;
    let (state, success, sem) = (Semaphore::new(0)?, Event::new()?, Semaphore::new(0)?);
    let p = start(&WAITFOR_TIMEOUT_F, (cond.clone(), state.clone(), success.clone(), sem.clone()), method)?;
    check(sem.acquire_timeout(LONG_TIMEOUT), "the child started")?;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(10));
        let _g = cond.lock();
        state.release()?;
        cond.notify(1)?;
    }
    join_all(vec![p])?;
    check(success.is_set(), "the child's wait_for timed out with false")
}

static WAIT_RESULT_F: Entry<Condition> = Entry::new("cpython::sync::wait_result_f", |c| {
    let _g = c.lock();
    c.notify(1).expect("held");
});

fn cond_test_wait_result(method: StartMethod) -> Result<(), Failed> {
    let c = Condition::new()?;
    let _g = c.lock();
    check(!c.wait_timeout(Duration::ZERO)?, "wait(0)")?;
    check(!c.wait_timeout(Duration::from_millis(100))?, "wait(0.1)")?;
    let p = start(&WAIT_RESULT_F, c.clone(), method)?;
    check(c.wait_timeout(Duration::from_secs(60))?, "notified by the child")?;
    join_all(vec![p])
}

// ---- _TestEvent ----

static EVENT_F: Entry<Event> = Entry::new("cpython::sync::event_f", |event| {
    std::thread::sleep(TIMEOUT2);
    event.set();
});

fn event_test_event(method: StartMethod) -> Result<(), Failed> {
    let event = Event::new()?;
    check(!event.is_set(), "fresh")?;
    check(!event.wait_timeout(Duration::ZERO), "wait(0.0)")?;
    check(!event.wait_timeout(TIMEOUT1), "wait(TIMEOUT1)")?;
    event.set();
    check(event.is_set(), "set")?;
    check(event.wait_timeout(LONG_TIMEOUT), "wait()")?;
    check(event.wait_timeout(TIMEOUT1), "wait(TIMEOUT1)")?;
    event.clear();
    let p = start(&EVENT_F, event.clone(), method)?;
    check(event.wait_timeout(LONG_TIMEOUT), "set by the child")?;
    join_all(vec![p])
}

// ---- _TestBarrier ----

const N: u32 = 5;
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);

fn barrier() -> Result<Barrier, Failed> {
    Ok(Barrier::new(N)?.default_timeout(BARRIER_TIMEOUT))
}

/// CPython's `_DummyList`: a counter shared by processes.
fn dummy_list() -> Result<Semaphore, Failed> {
    Ok(Semaphore::new(0)?)
}

fn append(list: &Semaphore) {
    list.release().expect("counter");
}

/// CPython's `run_threads`: `f` (the function of `entry`) in N-1 processes and in this one;
/// then tear down (abort the barrier).
fn run_processes<A>(
    barrier: &Barrier,
    entry: &'static Entry<A>,
    f: fn(A),
    args: A,
    method: StartMethod,
) -> Result<(), Failed>
where
    A: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let children: Vec<Process> = (0..N - 1).map(|_| start(entry, args.clone(), method)).collect::<Result<_, _>>()?;
    let here = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args)));
    if here.is_err() {
        barrier.abort(); // let the children out before joining them
    }
    let joined = join_all(children);
    barrier.abort();
    here.map_err(|_| "the parent's part failed")?;
    joined
}

type MultipassArgs = (Barrier, Semaphore, Semaphore, u32);

fn multipass((barrier, r0, r1, passes): MultipassArgs) {
    let m = barrier.parties();
    assert_eq!(m, N);
    for i in 0..passes {
        append(&r0);
        assert_eq!(r1.get_value(), i * m);
        barrier.wait().expect("not broken");
        append(&r1);
        assert_eq!(r0.get_value(), (i + 1) * m);
        barrier.wait().expect("not broken");
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

static MULTIPASS: Entry<MultipassArgs> = Entry::new("cpython::sync::multipass", multipass);

fn barrier_passes(method: StartMethod, passes: u32) -> Result<(), Failed> {
    let b = barrier()?;
    run_processes(&b, &MULTIPASS, multipass, (b.clone(), dummy_list()?, dummy_list()?, passes), method)
}

fn wait_return_f((barrier, queue): (Barrier, Queue)) {
    let res = barrier.wait().expect("not broken");
    queue.put(&res).expect("put");
}

static WAIT_RETURN_F: Entry<(Barrier, Queue)> = Entry::new("cpython::sync::wait_return_f", wait_return_f);

fn barrier_wait_return(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let queue = Queue::new()?;
    run_processes(&b, &WAIT_RETURN_F, wait_return_f, (b.clone(), queue.clone()), method)?;
    let results: Vec<usize> = (0..N).map(|_| queue.get_timeout(SHORT_TIMEOUT)).collect::<Result<_, _>>()?;
    check_eq(results.iter().filter(|&&r| r == 0).count(), 1, "processes with index 0")
}

/// Where the action finds the shared list it appends to, in each process.
static ACTION_RESULTS: OnceLock<Semaphore> = OnceLock::new();

static APPEND_TRUE: Entry<()> = Entry::new("cpython::sync::append_true", |()| {
    append(ACTION_RESULTS.get().expect("set before the barrier is used"));
});

fn action_f((barrier, results): (Barrier, Semaphore)) {
    let _ = ACTION_RESULTS.set(results.clone());
    barrier.wait().expect("not broken");
    assert_eq!(results.get_value(), 1, "the action ran once before the release");
}

static ACTION_F: Entry<(Barrier, Semaphore)> = Entry::new("cpython::sync::action_f", action_f);

fn barrier_action(method: StartMethod) -> Result<(), Failed> {
    let results = dummy_list()?;
    let b = Barrier::with_action(N, &APPEND_TRUE)?;
    run_processes(&b, &ACTION_F, action_f, (b.clone(), results.clone()), method)?;
    check_eq(results.get_value(), 1, "action runs")
}

fn abort_f(barrier: &Barrier, results1: &Semaphore, results2: &Semaphore) {
    match barrier.wait() {
        Ok(i) if i == (N / 2) as usize => barrier.abort(), // CPython raises, then aborts
        Ok(_) => match barrier.wait() {
            Ok(_) => append(results1),
            Err(_) => append(results2),
        },
        Err(_) => append(results2),
    }
}

static ABORT_F: Entry<(Barrier, Semaphore, Semaphore)> =
    Entry::new("cpython::sync::abort_f", |(barrier, r1, r2)| abort_f(&barrier, &r1, &r2));

fn barrier_abort(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let (results1, results2) = (dummy_list()?, dummy_list()?);
    let children: Vec<Process> = (0..N - 1)
        .map(|_| start(&ABORT_F, (b.clone(), results1.clone(), results2.clone()), method))
        .collect::<Result<_, _>>()?;
    abort_f(&b, &results1, &results2);
    join_all(children)?;
    check_eq(results1.get_value(), 0, "passed the second wait")?;
    check_eq(results2.get_value(), N - 1, "broken")?;
    check(b.broken(), "the barrier is broken")
}

fn reset_f((barrier, r1, r2, r3): (Barrier, Semaphore, Semaphore, Semaphore)) {
    let i = barrier.wait().expect("first pass");
    if i == (N / 2) as usize {
        let t = Instant::now();
        while barrier.n_waiting() < N - 1 && t.elapsed() < SHORT_TIMEOUT {
            std::thread::sleep(Duration::from_millis(1));
        }
        barrier.reset();
    } else {
        match barrier.wait() {
            Ok(_) => append(&r1),
            Err(_) => append(&r2),
        }
    }
    barrier.wait().expect("passes after the reset");
    append(&r3);
}

static RESET_F: Entry<(Barrier, Semaphore, Semaphore, Semaphore)> = Entry::new("cpython::sync::reset_f", reset_f);

fn barrier_reset(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let (r1, r2, r3) = (dummy_list()?, dummy_list()?, dummy_list()?);
    run_processes(&b, &RESET_F, reset_f, (b.clone(), r1.clone(), r2.clone(), r3.clone()), method)?;
    check_eq(r1.get_value(), 0, "passed the reset wait")?;
    check_eq(r2.get_value(), N - 1, "broken by the reset")?;
    check_eq(r3.get_value(), N, "passed again")
}

fn abort_and_reset_f((barrier, barrier2, r1, r2, r3): (Barrier, Barrier, Semaphore, Semaphore, Semaphore)) {
    abort_f(&barrier, &r1, &r2);
    if barrier2.wait().expect("barrier2") == (N / 2) as usize {
        barrier.reset();
    }
    barrier2.wait().expect("barrier2");
    barrier.wait().expect("passes after the reset");
    append(&r3);
}

static ABORT_AND_RESET_F: Entry<(Barrier, Barrier, Semaphore, Semaphore, Semaphore)> =
    Entry::new("cpython::sync::abort_and_reset_f", abort_and_reset_f);

fn barrier_abort_and_reset(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let b2 = Barrier::new(N)?;
    let (r1, r2, r3) = (dummy_list()?, dummy_list()?, dummy_list()?);
    run_processes(
        &b,
        &ABORT_AND_RESET_F,
        abort_and_reset_f,
        (b.clone(), b2, r1.clone(), r2.clone(), r3.clone()),
        method,
    )?;
    check_eq(r1.get_value(), 0, "passed the aborted wait")?;
    check_eq(r2.get_value(), N - 1, "broken by the abort")?;
    check_eq(r3.get_value(), N, "passed after the reset")
}

fn timeout_f((barrier, results): (Barrier, Semaphore)) {
    let i = barrier.wait().expect("first pass");
    if i == (N / 2) as usize {
        std::thread::sleep(Duration::from_secs(1)); // one process is late
    }
    if barrier.wait_timeout(Duration::from_millis(500)) == Err(LockError::BrokenBarrier) {
        append(&results);
    }
}

static TIMEOUT_F: Entry<(Barrier, Semaphore)> = Entry::new("cpython::sync::timeout_f", timeout_f);

fn barrier_timeout(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let results = dummy_list()?;
    run_processes(&b, &TIMEOUT_F, timeout_f, (b.clone(), results.clone()), method)?;
    check_eq(results.get_value(), b.parties(), "broken for every process")
}

fn default_timeout_f((barrier, results): (Barrier, Semaphore)) {
    let i = barrier.wait_timeout(BARRIER_TIMEOUT).expect("first pass");
    if i == (N / 2) as usize {
        std::thread::sleep(Duration::from_secs(1)); // later than the default timeout
    }
    if barrier.wait() == Err(LockError::BrokenBarrier) {
        append(&results);
    }
}

static DEFAULT_TIMEOUT_F: Entry<(Barrier, Semaphore)> =
    Entry::new("cpython::sync::default_timeout_f", default_timeout_f);

fn barrier_default_timeout(method: StartMethod) -> Result<(), Failed> {
    let b = Barrier::new(N)?.default_timeout(Duration::from_millis(500));
    let results = dummy_list()?;
    run_processes(&b, &DEFAULT_TIMEOUT_F, default_timeout_f, (b.clone(), results.clone()), method)?;
    check_eq(results.get_value(), b.parties(), "broken for every process")
}

fn barrier_single_thread(_: StartMethod) -> Result<(), Failed> {
    let b = Barrier::new(1)?;
    b.wait()?;
    b.wait()?;
    Ok(())
}

static THOUSAND_F: Entry<(Barrier, u32, Queue, Lock)> =
    Entry::new("cpython::sync::thousand_f", |(barrier, passes, conn, lock)| {
        for i in 0..passes {
            barrier.wait().expect("not broken");
            let _g = lock.lock();
            conn.put(&i).expect("send");
        }
    });

fn barrier_thousand(method: StartMethod) -> Result<(), Failed> {
    let b = barrier()?;
    let passes = 1000;
    let lock = Lock::new()?;
    let conn = Queue::new()?;
    let children: Vec<Process> = (0..N)
        .map(|_| start(&THOUSAND_F, (b.clone(), passes, conn.clone(), lock.clone()), method))
        .collect::<Result<_, _>>()?;
    for i in 0..passes {
        for _ in 0..N {
            check_eq(conn.get_timeout::<u32>(SHORT_TIMEOUT)?, i, "pass")?;
        }
    }
    join_all(children)?;
    b.abort();
    Ok(())
}

/// Every entry the children of these cases run.
pub static REGISTRY: Registry = &[
    &COND_F,
    &WAITFOR_F,
    &WAITFOR_TIMEOUT_F,
    &WAIT_RESULT_F,
    &EVENT_F,
    &MULTIPASS,
    &WAIT_RETURN_F,
    &APPEND_TRUE,
    &ACTION_F,
    &ABORT_F,
    &RESET_F,
    &ABORT_AND_RESET_F,
    &TIMEOUT_F,
    &DEFAULT_TIMEOUT_F,
    &THOUSAND_F,
];
