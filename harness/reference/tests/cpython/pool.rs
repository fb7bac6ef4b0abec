//! Ported from CPython's `_test_multiprocessing.py` (pools): `_TestPool` with worker processes
//! (once per start method) and with threads (CPython's `WithThreadsTestPool`),
//! `_TestPoolWorkerErrors`, `_TestPoolWorkerLifetime` and `TestInitializers`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{Callbacks, Entry, Pool, PoolError, Registry, StartMethod, Task, ThreadPool};
use serde::{Deserialize, Serialize};

use crate::case::{Case, Run, check, check_eq};

const LONG: Duration = Duration::from_secs(60);

static SQR: Task<i64, i64> = Task::new("cpython::pool::sqr", |x| x * x);
/// CPython's `sqr(x, wait)`.
static SQR_WAIT: Task<(i64, u64), i64> = Task::new("cpython::pool::sqr_wait", |(x, ms)| {
    std::thread::sleep(Duration::from_millis(ms));
    x * x
});
static MUL: Task<(i64, i64), i64> = Task::new("cpython::pool::mul", |(x, y)| x * y);
/// CPython's `int`: fails with the parse error's own type.
static INT: Task<String, i32, std::num::ParseIntError> = Task::fallible("cpython::pool::int", |s| s.parse());
static SLEEP_MS: Task<u64, ()> =
    Task::new("cpython::pool::sleep_ms", |ms| std::thread::sleep(Duration::from_millis(ms)));
/// CPython's `raising`: the counterpart of an exception is a panic.
static RAISING: Task<(), i32> = Task::new("cpython::pool::raising", |()| panic!("key"));
/// CPython's `_test_traceback`.
static TRACEBACK: Task<(), ()> = Task::new("cpython::pool::traceback", |()| panic!("RuntimeError 123 (some comment)"));
/// CPython's `raise_large_valuerror`.
static LARGE_ERROR: Task<u64, (), String> = Task::fallible("cpython::pool::large_error", |secs| {
    std::thread::sleep(Duration::from_secs(secs));
    Err("x".repeat(1 << 20))
});
static UNENCODABLE_RESULT: Task<(), Unencodable> = Task::new("cpython::pool::unencodable_result", |()| Unencodable);
static IDENTITY_BAD: Task<Unencodable, i64> = Task::new("cpython::pool::identity_bad", |_| 0);
static INIT: Entry<(String, i64)> = Entry::new("cpython::pool::init", |(path, value)| {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open");
    writeln!(f, "{}", std::process::id()).expect("write");
    STATE.store(value, Ordering::SeqCst);
});
static STATE: AtomicI64 = AtomicI64::new(0);
static GET_STATE: Task<(), i64> = Task::new("cpython::pool::get_state", |()| STATE.load(Ordering::SeqCst));

/// A value that refuses to be encoded (CPython's unpicklable objects).
#[derive(Debug, Clone)]
pub struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot pickle"))
    }
}

impl<'de> Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| Unencodable)
    }
}

/// Entry points and tasks the children of these cases run.
pub static REGISTRY: Registry = &[
    &SQR,
    &SQR_WAIT,
    &MUL,
    &INT,
    &SLEEP_MS,
    &RAISING,
    &TRACEBACK,
    &LARGE_ERROR,
    &UNENCODABLE_RESULT,
    &IDENTITY_BAD,
    &INIT,
    &GET_STATE,
];

const MP: &str = "_test_multiprocessing.py";
const THREADS: &str = "WithThreadsTestPool";

fn case(class: &'static str, test: &'static str, checks: &'static str, run: Run) -> Case {
    Case { file: MP, class, test, checks, difference: None, run }
}

fn pool(method: StartMethod) -> Result<Pool, Failed> {
    Ok(Pool::with_method(4, method)?)
}

fn squares(n: i64) -> Vec<i64> {
    (0..n).map(|x| x * x).collect()
}

pub fn cases() -> Vec<Case> {
    let tp = "_TestPool";
    let m = Run::PerMethod;
    let o = Run::Once;
    vec![
        // ---- processes ----
        Case {
            difference: Some("no keyword arguments in Rust"),
            ..case(tp, "test_apply", "apply runs the task on a worker and returns its value", m(test_apply))
        },
        case(
            tp,
            "test_map",
            "map returns the values in order, with the default chunks and with chunksize 20",
            m(test_map),
        ),
        Case {
            difference: Some("a Rust task takes its arguments as one value: starmap maps over tuples, as map does"),
            ..case(tp, "test_starmap", "starmap calls the task with each tuple of arguments, in order", m(test_starmap))
        },
        case(tp, "test_starmap_async", "starmap_async's handle gives the whole list", m(test_starmap_async)),
        case(tp, "test_map_async", "map_async's handle gives the whole list", m(test_map_async)),
        Case {
            difference: Some(
                "int('a') fails with the error value's type name (ParseIntError), where CPython keeps the ValueError object",
            ),
            ..case(
                tp,
                "test_map_async_callbacks",
                "callback receives the list; error_callback receives the failure, each exactly once",
                m(test_map_async_callbacks),
            )
        },
        case(
            tp,
            "test_map_unplicklable",
            "arguments that cannot be encoded fail the map with the encoding error, without a hang",
            m(test_map_unplicklable),
        ),
        case(tp, "test_map_chunksize", "map_async of nothing with chunksize 1 is ready at once", m(test_map_chunksize)),
        case(tp, "test_async", "apply_async's get waits for the task and returns its value", m(test_async)),
        case(
            tp,
            "test_async_timeout",
            "get with a timeout shorter than the task fails with a timeout",
            m(test_async_timeout),
        ),
        case(
            tp,
            "test_imap",
            "imap yields the results in order, one by one, then stops; also with chunksize 100",
            m(test_imap),
        ),
        case(
            tp,
            "test_imap_unordered",
            "imap_unordered yields every result once, in any order; also with chunksize 100",
            m(test_imap_unordered),
        ),
        case(tp, "test_make_pool", "a pool of 0 workers is refused; Pool(3) has 3 workers", m(test_make_pool)),
        case(
            tp,
            "test_terminate",
            "terminate with 10,000 long tasks queued returns promptly; they read as terminated",
            m(test_terminate),
        ),
        case(
            tp,
            "test_empty_iterable",
            "map, imap, imap_unordered and map_async of nothing give nothing",
            m(test_empty_iterable),
        ),
        Case {
            difference: Some(
                "Rust has no with-statement: dropping a pool terminates it, and a terminated pool refuses new work",
            ),
            ..case(tp, "test_context", "a pool used then ended refuses map_async", m(test_context))
        },
        Case {
            difference: Some(
                "the remote traceback is the worker's panic report: process, thread, file:line:column and message (the source line itself is not quoted)",
            ),
            ..case(
                tp,
                "test_traceback",
                "a task's panic comes back with its kind, message and the worker's report of where it happened",
                m(test_traceback),
            )
        },
        case(
            tp,
            "test_wrapped_exception",
            "apply of a failing task fails with the task's own failure",
            m(test_wrapped_exception),
        ),
        case(
            tp,
            "test_map_no_failfast",
            "map with a failing item waits for every item before failing (no hang at join)",
            m(test_map_no_failfast),
        ),
        Case {
            difference: Some("no with-statement: a terminated pool refuses work, and joins"),
            ..case(tp, "test_enter", "a pool that was terminated cannot be used again", m(test_enter))
        },
        case(
            "_TestPoolWorkerErrors",
            "test_async_error_callback",
            "error_callback receives the task's failure, and get fails with it",
            m(test_async_error_callback),
        ),
        case(
            "_TestPoolWorkerErrors",
            "test_unpickleable_result",
            "a result that cannot be encoded fails its task (20 times) and the workers stay",
            m(test_unpickleable_result),
        ),
        case(
            "_TestPoolWorkerLifetime",
            "test_pool_worker_lifetime",
            "with maxtasksperchild=10, 100 tasks give correct results and replace every worker",
            m(test_pool_worker_lifetime),
        ),
        case(
            "_TestPoolWorkerLifetime",
            "test_pool_worker_lifetime_early_close",
            "maxtasksperchild=1 and close before the tasks finished: join returns, every result is there",
            m(test_pool_worker_lifetime_early_close),
        ),
        Case {
            difference: Some(
                "the option is an unsigned integer, so CPython's -1, 0.5 and \"12\" cannot be written: 0 is the refused value",
            ),
            ..case(
                "_TestPoolWorkerLifetime",
                "test_pool_maxtasksperchild_invalid",
                "maxtasksperchild=0 is refused",
                m(test_pool_maxtasksperchild_invalid),
            )
        },
        Case {
            difference: Some(
                "the initializer records its run in a file and in the worker's state instead of a manager's namespace",
            ),
            ..case(
                "TestInitializers",
                "test_pool_initializer",
                "the initializer runs once per worker before its tasks",
                m(test_pool_initializer),
            )
        },
        // ---- threads ----
        case(THREADS, "test_apply", "apply on a thread pool returns the closure's value", o(threads_apply)),
        case(
            THREADS,
            "test_map",
            "map returns the values in order, with the default chunks and with chunksize 20",
            o(threads_map),
        ),
        case(THREADS, "test_starmap", "starmap over tuples, in order, also with chunksize 20", o(threads_starmap)),
        case(THREADS, "test_map_async", "map_async's handle gives the whole list", o(threads_map_async)),
        Case {
            difference: Some(
                "a closure fails by panicking (the thread pool has no error-value mode): error_callback receives the panic",
            ),
            ..case(
                THREADS,
                "test_map_async_callbacks",
                "callback receives the list; error_callback the failure",
                o(threads_map_async_callbacks),
            )
        },
        case(
            THREADS,
            "test_map_chunksize",
            "map_async of nothing with chunksize 1 is ready at once",
            o(threads_map_chunksize),
        ),
        case(THREADS, "test_async", "apply_async's get waits for the closure and returns its value", o(threads_async)),
        case(
            THREADS,
            "test_async_timeout",
            "get with a timeout shorter than the task fails with a timeout",
            o(threads_async_timeout),
        ),
        case(
            THREADS,
            "test_imap",
            "imap yields the results in order, then stops; also with chunksize 100",
            o(threads_imap),
        ),
        case(
            THREADS,
            "test_imap_unordered",
            "imap_unordered yields every result once; also with chunksize 100",
            o(threads_imap_unordered),
        ),
        case(
            THREADS,
            "test_make_pool",
            "a thread pool of 0 threads is refused; ThreadPool(3) has 3",
            o(threads_make_pool),
        ),
        Case {
            difference: Some(
                "threads cannot be killed: the three running tasks finish (short sleeps here), the 9,997 queued ones are discarded",
            ),
            ..case(
                THREADS,
                "test_terminate",
                "terminate with 10,000 tasks queued discards them and join returns",
                o(threads_terminate),
            )
        },
        case(
            THREADS,
            "test_empty_iterable",
            "map, imap, imap_unordered and map_async of nothing give nothing",
            o(threads_empty_iterable),
        ),
        case(
            THREADS,
            "test_wrapped_exception",
            "apply of a panicking closure fails with the panic itself",
            o(threads_wrapped_exception),
        ),
        case(
            THREADS,
            "test_map_no_failfast",
            "map with a failing item waits for every item before failing",
            o(threads_map_no_failfast),
        ),
    ]
}

// ---- processes ----

fn test_apply(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    check_eq(pool.apply(&SQR, 5)?, 25, "apply")
}

fn test_map(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    check_eq(pool.map(&SQR, 0..10)?, squares(10), "map")?;
    check_eq(pool.map_chunked(&SQR, 0..100, 20)?, squares(100), "map, chunksize 20")
}

fn tuples(n: i64) -> Vec<(i64, i64)> {
    (0..n).zip((0..n).rev()).collect()
}

fn products(t: &[(i64, i64)]) -> Vec<i64> {
    t.iter().map(|(x, y)| x * y).collect()
}

fn test_starmap(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let t = tuples(10);
    check_eq(pool.starmap(&MUL, t.clone())?, products(&t), "starmap")?;
    let t = tuples(100);
    check_eq(pool.map_chunked(&MUL, t.clone(), 20)?, products(&t), "starmap, chunksize 20")
}

fn test_starmap_async(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let t = tuples(100);
    check_eq(pool.starmap_async(&MUL, t.clone())?.get(Some(LONG))?, &products(&t), "starmap_async")
}

fn test_map_async(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    check_eq(pool.map_async(&SQR, 0..10)?.get(Some(LONG))?, &squares(10), "map_async")
}

#[derive(Debug, PartialEq)]
enum Called {
    Value(Vec<i32>),
    Error(PoolError),
}

fn test_map_async_callbacks(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let callbacks = || {
        let (a, b) = (calls.clone(), calls.clone());
        Callbacks::new()
            .callback(move |v: &Vec<i32>| a.lock().expect("lock").push(Called::Value(v.clone())))
            .error_callback(move |e| b.lock().expect("lock").push(Called::Error(e.clone())))
    };
    pool.map_async_with(&INT, ["1".to_string()], None, callbacks())?.wait(Some(LONG));
    check_eq(calls.lock().expect("lock").len(), 1, "one call")?;
    check_eq(&calls.lock().expect("lock")[0], &Called::Value(vec![1]), "the list")?;
    pool.map_async_with(&INT, ["a".to_string()], None, callbacks())?.wait(Some(LONG));
    let calls = calls.lock().expect("lock");
    check_eq(calls.len(), 2, "two calls")?;
    match &calls[1] {
        Called::Error(PoolError::TaskFailed { type_name, .. }) => {
            check(type_name.ends_with("ParseIntError"), type_name.clone())
        }
        other => Err(format!("expected the parse error, got {other:?}").into()),
    }
}

fn test_map_unplicklable(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let r = pool.map(&IDENTITY_BAD, vec![Unencodable; 10]);
    check(matches!(r, Err(PoolError::Encode { what: "arguments", .. })), format!("{r:?}"))?;
    check_eq(pool.apply(&SQR, 3)?, 9, "the pool goes on")
}

fn test_map_chunksize(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let r = pool.map_async_with(&SQR, Vec::<i64>::new(), Some(1), Callbacks::new())?;
    check_eq(r.get(Some(LONG))?, &Vec::<i64>::new(), "empty map with chunksize 1")
}

fn test_async(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let start = Instant::now();
    let r = pool.apply_async(&SQR_WAIT, (7, 100))?;
    check_eq(r.get(Some(LONG))?, &49, "value")?;
    check(start.elapsed() >= Duration::from_millis(90), "get waited for the task")
}

fn test_async_timeout(method: StartMethod) -> Result<(), Failed> {
    let mut pool = Pool::with_method(3, method)?;
    let r = pool.apply_async(&SQR_WAIT, (6, 5_000))?;
    let start = Instant::now();
    let got = r.get(Some(Duration::from_millis(200)));
    check(matches!(got, Err(PoolError::Timeout(_))), format!("{got:?}"))?;
    check(start.elapsed() >= Duration::from_millis(190), "get waited for its timeout")?;
    pool.terminate();
    Ok(pool.join()?)
}

fn test_imap(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let all: Vec<i64> = pool.imap(&SQR, 0..10)?.collect::<Result<_, _>>()?;
    check_eq(all, squares(10), "imap")?;
    let mut it = pool.imap(&SQR, 0..10)?;
    for i in 0..10 {
        check_eq(it.next().transpose()?, Some(i * i), "next")?;
    }
    check(it.next().is_none(), "then StopIteration")?;
    let mut it = pool.imap_chunked(&SQR, 0..1000, 100)?;
    for i in 0..1000 {
        check_eq(it.next().transpose()?, Some(i * i), "next, chunksize 100")?;
    }
    check(it.next().is_none(), "then StopIteration")
}

fn test_imap_unordered(method: StartMethod) -> Result<(), Failed> {
    let pool = pool(method)?;
    let mut all: Vec<i64> = pool.imap_unordered(&SQR, 0..10)?.collect::<Result<_, _>>()?;
    all.sort();
    check_eq(all, squares(10), "imap_unordered")?;
    let mut all: Vec<i64> = pool.imap_unordered_chunked(&SQR, 0..1000, 100)?.collect::<Result<_, _>>()?;
    all.sort();
    check_eq(all, squares(1000), "imap_unordered, chunksize 100")
}

fn test_make_pool(method: StartMethod) -> Result<(), Failed> {
    check(
        matches!(Pool::with_method(0, method), Err(PoolError::InvalidOption { option: "processes", .. })),
        "Pool(0)",
    )?;
    let mut p = Pool::with_method(3, method)?;
    check_eq(p.size(), 3, "size")?;
    check_eq(p.worker_pids().len(), 3, "workers")?;
    p.close();
    Ok(p.join()?)
}

fn test_terminate(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(3, method)?;
    let result = p.map_async_with(&SLEEP_MS, vec![LONG.as_millis() as u64; 10_000], Some(1), Callbacks::new())?;
    p.terminate();
    p.join()?;
    check_eq(result.get(Some(LONG)), Err(PoolError::Terminated), "the map was terminated")
}

fn test_empty_iterable(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(1, method)?;
    check_eq(p.map(&SQR, Vec::new())?, vec![], "map")?;
    check_eq(p.imap(&SQR, Vec::new())?.count(), 0, "imap")?;
    check_eq(p.imap_unordered(&SQR, Vec::new())?.count(), 0, "imap_unordered")?;
    check_eq(p.map_async(&SQR, Vec::new())?.get(Some(LONG))?, &vec![], "map_async")?;
    p.close();
    Ok(p.join()?)
}

fn test_context(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(2, method)?;
    let r = p.map_async(&SQR, 0..10)?;
    check_eq(r.get(Some(LONG))?, &squares(10), "map_async")?;
    p.terminate();
    p.join()?;
    check(matches!(p.map_async(&SQR, 0..10), Err(PoolError::Closed)), "map_async after the pool ended")
}

fn test_traceback(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(1, method)?;
    match p.apply(&TRACEBACK, ()) {
        Err(PoolError::Panicked { message, remote }) => {
            check_eq(message.as_str(), "RuntimeError 123 (some comment)", "message")?;
            check(remote.contains("cpython/pool.rs:"), format!("the worker's report names the place: {remote}"))?;
            check(remote.contains("RuntimeError 123 (some comment)"), format!("and the message: {remote}"))?;
            check(remote.contains("PoolWorker-"), format!("and the worker: {remote}"))?;
        }
        other => return Err(format!("expected a panic, got {other:?}").into()),
    }
    p.terminate();
    Ok(p.join()?)
}

fn test_wrapped_exception(method: StartMethod) -> Result<(), Failed> {
    let p = Pool::with_method(1, method)?;
    let r = p.apply(&RAISING, ());
    check(matches!(&r, Err(PoolError::Panicked { message, .. }) if message == "key"), format!("{r:?}"))
}

fn test_map_no_failfast(method: StartMethod) -> Result<(), Failed> {
    let start = Instant::now();
    let mut p = Pool::with_method(2, method)?;
    let r = p.map(&LARGE_ERROR, [0, 1]);
    check(matches!(&r, Err(PoolError::TaskFailed { message, .. }) if message.starts_with("xxxx")), "a ValueError")?;
    p.close();
    p.join()?;
    check(start.elapsed() >= Duration::from_millis(900), "map waited for every item")
}

fn test_enter(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(1, method)?;
    p.terminate();
    check(matches!(p.apply_async(&SQR, 1), Err(PoolError::Closed)), "a terminated pool refuses work")?;
    Ok(p.join()?)
}

fn test_async_error_callback(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(2, method)?;
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let r = p.apply_async_with(
        &RAISING,
        (),
        Callbacks::new().error_callback(move |e| *s.lock().expect("lock") = Some(e.clone())),
    )?;
    let got = r.get(Some(LONG));
    check(matches!(&got, Err(PoolError::Panicked { message, .. }) if message == "key"), format!("{got:?}"))?;
    check_eq(seen.lock().expect("lock").clone(), got.err(), "error_callback got the same failure")?;
    p.close();
    Ok(p.join()?)
}

fn test_unpickleable_result(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::with_method(2, method)?;
    let before = p.worker_pids();
    for _ in 0..20 {
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let r = p.apply_async_with(
            &UNENCODABLE_RESULT,
            (),
            Callbacks::new().error_callback(move |e| *s.lock().expect("lock") = Some(e.clone())),
        )?;
        let got = r.get(Some(LONG));
        check(matches!(&got, Err(PoolError::Encode { what: "result", .. })), format!("{got:?}"))?;
        check(seen.lock().expect("lock").is_some(), "error_callback called")?;
    }
    check_eq(p.worker_pids(), before, "no worker was lost")?;
    p.close();
    Ok(p.join()?)
}

fn test_pool_worker_lifetime(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::builder(3).start_method(method).maxtasksperchild(10).start()?;
    let mut before = p.worker_pids();
    check_eq(before.len(), 3, "three workers")?;
    let results: Vec<_> = (0..100).map(|i| p.apply_async(&SQR, i)).collect::<Result<_, _>>()?;
    for (j, r) in results.iter().enumerate() {
        check_eq(r.get(Some(LONG))?, &(j as i64 * j as i64), "result")?;
    }
    // Replacements may still be starting: wait (bounded) until the pool is whole again.
    let deadline = Instant::now() + LONG;
    let mut after = p.worker_pids();
    while after.len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        after = p.worker_pids();
    }
    before.sort();
    after.sort();
    check(before != after, format!("the workers changed: {before:?} -> {after:?}"))?;
    p.close();
    Ok(p.join()?)
}

fn test_pool_worker_lifetime_early_close(method: StartMethod) -> Result<(), Failed> {
    let mut p = Pool::builder(3).start_method(method).maxtasksperchild(1).start()?;
    let results: Vec<_> = (0..6).map(|i| p.apply_async(&SQR_WAIT, (i, 100))).collect::<Result<_, _>>()?;
    p.close();
    p.join()?;
    for (j, r) in results.iter().enumerate() {
        check_eq(r.get(Some(Duration::ZERO))?, &(j as i64 * j as i64), "result")?;
    }
    Ok(())
}

fn test_pool_maxtasksperchild_invalid(method: StartMethod) -> Result<(), Failed> {
    let r = Pool::builder(3).start_method(method).maxtasksperchild(0).start();
    check(matches!(r, Err(PoolError::InvalidOption { option: "maxtasksperchild", .. })), format!("{r:?}"))
}

fn test_pool_initializer(method: StartMethod) -> Result<(), Failed> {
    let path = std::env::temp_dir().join(format!("procthread-init-{}-{}", std::process::id(), method.as_str()));
    let _ = std::fs::remove_file(&path);
    let mut p =
        Pool::builder(1).start_method(method).initializer(&INIT, (path.to_string_lossy().into_owned(), 42)).start()?;
    check_eq(p.map(&GET_STATE, vec![(); 5])?, vec![42; 5], "the tasks see what the initializer set")?;
    p.close();
    p.join()?;
    let runs = std::fs::read_to_string(&path)?.lines().count();
    let _ = std::fs::remove_file(&path);
    check_eq(runs, 1, "the initializer ran once")
}

// ---- threads ----

fn tpool() -> Result<ThreadPool, Failed> {
    Ok(ThreadPool::new(4)?)
}

fn sqr(x: i64) -> i64 {
    x * x
}

fn threads_apply() -> Result<(), Failed> {
    check_eq(tpool()?.apply(|| sqr(5))?, 25, "apply")
}

fn threads_map() -> Result<(), Failed> {
    let pool = tpool()?;
    check_eq(pool.map(sqr, 0..10)?, squares(10), "map")?;
    check_eq(pool.map_chunked(sqr, 0..100, 20)?, squares(100), "map, chunksize 20")
}

fn threads_starmap() -> Result<(), Failed> {
    let pool = tpool()?;
    let t = tuples(10);
    check_eq(pool.starmap(|(x, y): (i64, i64)| x * y, t.clone())?, products(&t), "starmap")?;
    let t = tuples(100);
    check_eq(pool.map_chunked(|(x, y): (i64, i64)| x * y, t.clone(), 20)?, products(&t), "starmap, chunksize 20")
}

fn threads_map_async() -> Result<(), Failed> {
    check_eq(tpool()?.map_async(sqr, 0..10)?.get(Some(LONG))?, &squares(10), "map_async")
}

fn threads_map_async_callbacks() -> Result<(), Failed> {
    let pool = tpool()?;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let callbacks = || {
        let (a, b) = (calls.clone(), calls.clone());
        Callbacks::new()
            .callback(move |v: &Vec<i32>| a.lock().expect("lock").push(Called::Value(v.clone())))
            .error_callback(move |e| b.lock().expect("lock").push(Called::Error(e.clone())))
    };
    let int = |s: &'static str| s.parse::<i32>().expect("invalid literal for int()");
    pool.map_async_with(int, ["1"], None, callbacks())?.wait(Some(LONG));
    check_eq(&calls.lock().expect("lock")[..], &[Called::Value(vec![1])][..], "the list")?;
    pool.map_async_with(int, ["a"], None, callbacks())?.wait(Some(LONG));
    let calls = calls.lock().expect("lock");
    check_eq(calls.len(), 2, "two calls")?;
    check(
        matches!(&calls[1], Called::Error(PoolError::Panicked { message, .. }) if message.contains("invalid literal")),
        format!("{:?}", calls[1]),
    )
}

fn threads_map_chunksize() -> Result<(), Failed> {
    let r = tpool()?.map_async_with(sqr, Vec::new(), Some(1), Callbacks::new())?;
    check_eq(r.get(Some(LONG))?, &Vec::<i64>::new(), "empty map with chunksize 1")
}

fn threads_async() -> Result<(), Failed> {
    let pool = tpool()?;
    let start = Instant::now();
    let r = pool.apply_async(|| {
        std::thread::sleep(Duration::from_millis(100));
        sqr(7)
    })?;
    check_eq(r.get(Some(LONG))?, &49, "value")?;
    check(start.elapsed() >= Duration::from_millis(90), "get waited for the task")
}

fn threads_async_timeout() -> Result<(), Failed> {
    let mut pool = ThreadPool::new(3)?;
    let r = pool.apply_async(|| {
        std::thread::sleep(Duration::from_millis(1_000));
        sqr(6)
    })?;
    let got = r.get(Some(Duration::from_millis(200)));
    check(matches!(got, Err(PoolError::Timeout(_))), format!("{got:?}"))?;
    pool.terminate();
    Ok(pool.join()?)
}

fn threads_imap() -> Result<(), Failed> {
    let pool = tpool()?;
    let all: Vec<i64> = pool.imap(sqr, 0..10)?.collect::<Result<_, _>>()?;
    check_eq(all, squares(10), "imap")?;
    let mut it = pool.imap_chunked(sqr, 0..1000, 100)?;
    for i in 0..1000 {
        check_eq(it.next().transpose()?, Some(i * i), "next, chunksize 100")?;
    }
    check(it.next().is_none(), "then StopIteration")
}

fn threads_imap_unordered() -> Result<(), Failed> {
    let pool = tpool()?;
    let mut all: Vec<i64> = pool.imap_unordered(sqr, 0..10)?.collect::<Result<_, _>>()?;
    all.sort();
    check_eq(all, squares(10), "imap_unordered")?;
    let mut all: Vec<i64> = pool.imap_unordered_chunked(sqr, 0..1000, 100)?.collect::<Result<_, _>>()?;
    all.sort();
    check_eq(all, squares(1000), "imap_unordered, chunksize 100")
}

fn threads_make_pool() -> Result<(), Failed> {
    check(matches!(ThreadPool::new(0), Err(PoolError::InvalidOption { .. })), "ThreadPool(0)")?;
    let mut p = ThreadPool::new(3)?;
    check_eq(p.size(), 3, "size")?;
    p.close();
    Ok(p.join()?)
}

fn threads_terminate() -> Result<(), Failed> {
    let mut p = ThreadPool::new(3)?;
    let result = p.map_async_with(
        |ms: u64| std::thread::sleep(Duration::from_millis(ms)),
        vec![100; 10_000],
        Some(1),
        Callbacks::new(),
    )?;
    p.terminate();
    p.join()?;
    check_eq(result.get(Some(LONG)), Err(PoolError::Terminated), "the map was terminated")
}

fn threads_empty_iterable() -> Result<(), Failed> {
    let mut p = ThreadPool::new(1)?;
    check_eq(p.map(sqr, Vec::new())?, vec![], "map")?;
    check_eq(p.imap(sqr, Vec::new())?.count(), 0, "imap")?;
    check_eq(p.imap_unordered(sqr, Vec::new())?.count(), 0, "imap_unordered")?;
    check_eq(p.map_async(sqr, Vec::new())?.get(Some(LONG))?, &vec![], "map_async")?;
    p.close();
    Ok(p.join()?)
}

fn threads_wrapped_exception() -> Result<(), Failed> {
    let p = ThreadPool::new(1)?;
    let r = p.apply(|| -> i32 { panic!("foo") });
    check(matches!(&r, Err(PoolError::Panicked { message, .. }) if message == "foo"), format!("{r:?}"))
}

fn threads_map_no_failfast() -> Result<(), Failed> {
    let start = Instant::now();
    let mut p = ThreadPool::new(2)?;
    let r = p.map(
        |secs: u64| {
            std::thread::sleep(Duration::from_secs(secs));
            panic!("{}", "x".repeat(1 << 10))
        },
        [0u64, 1],
    );
    check(matches!(r, Err(PoolError::Panicked { .. })), "a failure")?;
    p.close();
    p.join()?;
    check(start.elapsed() >= Duration::from_millis(900), "map waited for every item")
}
