//! The process-shared primitives between real processes, started by fork and by spawn: what
//! happens when a process is killed holding a lock (the others get it within a bound), a lock
//! released by another process, and mutual exclusion across processes.
//!
//! Own `main` (`harness = false`), as `processes.rs`: a spawned child dispatches first thing,
//! and tests run on the main thread so that forking happens single-threaded.

use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use procthread::{Entry, LockError, Process, Registry, StartMethod, shared};

/// Generous: the machine is loaded; recovery normally takes a few milliseconds (RLock on
/// Linux) or up to the 50 ms liveness interval (Lock).
const RECOVERY_BOUND: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(60);

fn sleep_until_killed() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

static HOLD_LOCK: Entry<(shared::Lock, shared::Event)> = Entry::new("hold_lock", |(lock, held)| {
    lock.acquire();
    held.set();
    sleep_until_killed()
});

static HOLD_RLOCK: Entry<(shared::RLock, shared::Event)> = Entry::new("hold_rlock", |(lock, held)| {
    lock.acquire();
    lock.acquire();
    held.set();
    sleep_until_killed()
});

/// Takes the condition's lock and dies in the middle of its critical section.
static HOLD_CONDITION: Entry<(shared::Condition, shared::Event)> = Entry::new("hold_condition", |(cond, held)| {
    cond.acquire();
    held.set();
    sleep_until_killed()
});

static RELEASE_LOCK: Entry<shared::Lock> = Entry::new("release_lock", |lock| {
    let code = match lock.release() {
        Ok(()) => 0,
        Err(LockError::NotLocked) => 3,
        Err(_) => 4,
    };
    std::process::exit(code)
});

/// Each round: inside the lock, take the single `inside` permit (which fails if another
/// process is inside too), yield, give it back.
static EXCLUSIVE: Entry<(shared::Lock, shared::Semaphore, shared::Semaphore, u32)> =
    Entry::new("exclusive", |(lock, inside, violations, rounds)| {
        for _ in 0..rounds {
            let _held = lock.lock();
            if !inside.try_acquire() {
                violations.release().expect("count");
                continue;
            }
            std::thread::yield_now();
            inside.release().expect("give back");
        }
    });

static REGISTRY: Registry = &[&HOLD_LOCK, &HOLD_RLOCK, &HOLD_CONDITION, &RELEASE_LOCK, &EXCLUSIVE];

fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

fn start<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Process, Failed>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(entry, args).start_method(method).daemon(true);
    p.start()?;
    Ok(p)
}

/// Kills the holder, then acquires before reaping it (a zombie still holds nothing).
fn killed_lock_holder(method: StartMethod) -> Result<(), Failed> {
    let (lock, held) = (shared::Lock::new()?, shared::Event::new()?);
    let p = start(&HOLD_LOCK, (lock.clone(), held.clone()), method)?;
    check(held.wait_timeout(LONG), "the child never took the lock")?;
    check(!lock.try_acquire(), "held by the child")?;
    check(!lock.acquire_timeout(Duration::from_millis(100)), "held while the child lives")?;
    p.kill()?;
    let t = Instant::now();
    let got = lock.acquire_timeout(RECOVERY_BOUND);
    let took = t.elapsed();
    check(got, format!("not taken over within {RECOVERY_BOUND:?}"))?;
    check(p.join()? == -9 || cfg!(windows), "killed")?;
    lock.release()?;
    check(lock.try_acquire(), "usable again")?;
    check(took < RECOVERY_BOUND, format!("took {took:?}"))
}

fn killed_rlock_holder(method: StartMethod) -> Result<(), Failed> {
    let (lock, held) = (shared::RLock::new()?, shared::Event::new()?);
    let p = start(&HOLD_RLOCK, (lock.clone(), held.clone()), method)?;
    check(held.wait_timeout(LONG), "the child never took the lock")?;
    check(!lock.try_acquire(), "held by the child")?;
    check(lock.release() == Err(LockError::NotOwner), "only its owner releases it")?;
    p.kill()?;
    check(lock.acquire_timeout(RECOVERY_BOUND), format!("not handed on within {RECOVERY_BOUND:?}"))?;
    check(lock.recursion_count() == 1, "a fresh owner, not the dead one's depth")?;
    lock.release()?;
    check(lock.release() == Err(LockError::NotLocked), "free after one release")?;
    p.join()?;
    Ok(())
}

/// The condition (and its RLock) recovers: a wait and a notify work after the holder died.
fn killed_condition_holder(method: StartMethod) -> Result<(), Failed> {
    let (cond, held) = (shared::Condition::new()?, shared::Event::new()?);
    let p = start(&HOLD_CONDITION, (cond.clone(), held.clone()), method)?;
    check(held.wait_timeout(LONG), "the child never took the lock")?;
    p.kill()?;
    check(cond.acquire_timeout(RECOVERY_BOUND), "the condition's lock was not handed on")?;
    check(!cond.wait_timeout(Duration::from_millis(20))?, "nobody notifies")?;
    cond.notify_all()?;
    cond.release()?;
    p.join()?;
    Ok(())
}

/// CPython's `multiprocessing.Lock` may be released by a process that did not take it.
fn lock_released_by_another_process(method: StartMethod) -> Result<(), Failed> {
    let lock = shared::Lock::new()?;
    lock.acquire();
    let p = start(&RELEASE_LOCK, lock.clone(), method)?;
    check(p.join()? == 0, "the child released the parent's lock")?;
    check(!lock.is_locked(), "free")?;
    let p = start(&RELEASE_LOCK, lock.clone(), method)?;
    check(p.join()? == 3, "releasing a free lock is NotLocked in the child")?;
    Ok(())
}

fn lock_excludes_across_processes(method: StartMethod) -> Result<(), Failed> {
    let lock = shared::Lock::new()?;
    let (inside, violations) = (shared::Semaphore::new(1)?, shared::Semaphore::new(0)?);
    let children: Vec<Process> = (0..3)
        .map(|_| start(&EXCLUSIVE, (lock.clone(), inside.clone(), violations.clone(), 300), method))
        .collect::<Result<_, _>>()?;
    for _ in 0..300 {
        let _held = lock.lock();
        if !inside.try_acquire() {
            violations.release()?;
            continue;
        }
        std::thread::yield_now();
        inside.release()?;
    }
    for c in children {
        check(c.join()? == 0, "child ended normally")?;
    }
    check(violations.get_value() == 0, format!("{} overlapping critical sections", violations.get_value()))?;
    check(inside.get_value() == 1 && !lock.is_locked(), "everything given back")
}

type PerMethod = fn(StartMethod) -> Result<(), Failed>;

fn main() {
    procthread::dispatch(REGISTRY);
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests: [(&str, PerMethod); 5] = [
        ("killed_lock_holder_is_taken_over", killed_lock_holder),
        ("killed_rlock_holder_is_handed_on", killed_rlock_holder),
        ("killed_condition_holder_is_handed_on", killed_condition_holder),
        ("lock_released_by_another_process", lock_released_by_another_process),
        ("lock_excludes_across_processes", lock_excludes_across_processes),
    ];
    let trials = tests
        .into_iter()
        .flat_map(|(name, f)| {
            [StartMethod::Fork, StartMethod::Spawn].into_iter().map(move |m| {
                Trial::test(format!("{name}_{}", m.as_str()), move || f(m)).with_ignored_flag(!m.is_available())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
