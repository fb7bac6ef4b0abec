//! Ported from CPython's `_test_multiprocessing.py` (processes): `_TestProcess`,
//! `_TestSubclassingProcess` and `TestWait`.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{
    ChildProcess, Entry, PipeEnd, Process, ProcessError, Queue, Registry, StartMethod, active_children,
    current_process_is_daemon, current_process_name, parent_process, pipe, pipe_oneway, wait,
};

use crate::case::{Case, Run, check, check_eq};

/// Generous: the machine running the tests may be loaded.
const LONG: Duration = Duration::from_secs(60);

static SLEEP_SOME: Entry<()> =
    Entry::new("cpython::process::sleep_some", |()| std::thread::sleep(Duration::from_secs(100)));
static SLEEP_MS: Entry<u64> =
    Entry::new("cpython::process::sleep_ms", |ms| std::thread::sleep(Duration::from_millis(ms)));
static ECHO_I32: Entry<(Queue, i32)> = Entry::new("cpython::process::echo_i32", |(q, v)| q.put(&v).expect("put"));
static ECHO_STR: Entry<(Queue, String)> = Entry::new("cpython::process::echo_str", |(q, v)| q.put(&v).expect("put"));
static ECHO_LIST: Entry<(Queue, Vec<i32>)> =
    Entry::new("cpython::process::echo_list", |(q, v)| q.put(&v).expect("put"));
static ECHO_TUPLE: Entry<(Queue, (i32,))> =
    Entry::new("cpython::process::echo_tuple", |(q, v)| q.put(&v).expect("put"));
/// CPython's `_test`: puts its arguments, its name and its pid (once told to go: a child that
/// ended at once would race the parent's checks of a running process).
static REPORT: Entry<(Queue, Queue, (i32, i32))> = Entry::new("cpython::process::report", |(go, q, args)| {
    let _: () = go.get_timeout(LONG).expect("go");
    q.put(&args).expect("put");
    q.put(&current_process_name()).expect("put");
    q.put(&std::process::id()).expect("put");
});
static SEND_PARENT: Entry<PipeEnd> = Entry::new("cpython::process::send_parent", |w| {
    let parent = parent_process().expect("a started child has a parent");
    w.send(&(parent.pid(), parent.name().to_string())).expect("send");
});
/// Starts a grandchild that reports on this process, then sleeps until killed.
static CREATE_GRANDCHILD: Entry<(PipeEnd, StartMethod)> =
    Entry::new("cpython::process::create_grandchild", |(w, m)| {
        let mut p = Process::new(&REPORT_PARENT_STATUS, w).start_method(m);
        p.start().expect("start grandchild");
        std::thread::sleep(Duration::from_secs(300));
    });
static REPORT_PARENT_STATUS: Entry<PipeEnd> = Entry::new("cpython::process::report_parent_status", |w| {
    let parent = parent_process().expect("parent");
    w.send(if parent.is_alive() { "alive" } else { "not alive" }).expect("send");
    parent.join(Some(LONG));
    w.send(if parent.is_alive() { "alive" } else { "not alive" }).expect("send");
});
static RECURSE: Entry<(Queue, Vec<i32>, StartMethod)> =
    Entry::new("cpython::process::recurse", |(q, id, m)| recursion(&q, id, m));
static WAIT_FOR_ITEM: Entry<Queue> = Entry::new("cpython::process::wait_for_item", |q| {
    let _: i32 = q.get_timeout(LONG).expect("an item");
});
static EXIT_WITH: Entry<i32> = Entry::new("cpython::process::exit_with", |code| std::process::exit(code));
static UPPERCASER: Entry<PipeEnd> = Entry::new("cpython::process::uppercaser", |conn| {
    while let Ok(Some(s)) = conn.recv::<Option<String>>() {
        conn.send(&s.to_uppercase()).expect("send");
    }
});

/// Entry points and tasks the children of these cases run.
pub static REGISTRY: Registry = &[
    &SLEEP_SOME,
    &SLEEP_MS,
    &ECHO_I32,
    &ECHO_STR,
    &ECHO_LIST,
    &ECHO_TUPLE,
    &REPORT,
    &SEND_PARENT,
    &CREATE_GRANDCHILD,
    &REPORT_PARENT_STATUS,
    &RECURSE,
    &WAIT_FOR_ITEM,
    &EXIT_WITH,
    &UPPERCASER,
];

const MP: &str = "_test_multiprocessing.py";

fn case(class: &'static str, test: &'static str, checks: &'static str, run: Run) -> Case {
    Case { file: MP, class, test, checks, difference: None, run }
}

pub fn cases() -> Vec<Case> {
    let tp = "_TestProcess";
    vec![
        case(
            tp,
            "test_current",
            "the main process: named MainProcess, not a daemon, alive, no parent",
            Run::Once(test_current),
        ),
        Case {
            difference: Some(
                "a Rust entry takes one typed value, so the args containers (list or tuple) collapse to the value's own type",
            ),
            ..case(
                tp,
                "test_args_argument",
                "arguments of several types reach the child unchanged",
                Run::PerMethod(test_args_argument),
            )
        },
        case(
            tp,
            "test_daemon_argument",
            "daemon defaults to the current process's flag and can be set either way",
            Run::Once(test_daemon_argument),
        ),
        case(
            tp,
            "test_parent_process_attributes",
            "no parent in the main process; a child sees our pid and name as its parent's",
            Run::PerMethod(test_parent_process_attributes),
        ),
        case(
            tp,
            "test_parent_process",
            "a grandchild sees its parent alive, then (once it is terminated) not alive",
            Run::PerMethod(test_parent_process),
        ),
        Case {
            difference: Some("no keyword arguments in Rust: the child reports its positional arguments, name and pid"),
            ..case(
                tp,
                "test_process",
                "before start: not alive, no exit code, not an active child; running: alive and listed; the child reports args, name, pid; joined: exit 0, gone from the list",
                Run::PerMethod(test_process),
            )
        },
        case(
            tp,
            "test_terminate",
            "a sleeping child: alive, listed, join(0) returns at once; terminate ends it with -SIGTERM and it leaves active_children",
            Run::PerMethod(test_terminate),
        ),
        case(tp, "test_kill", "as test_terminate with kill: -SIGKILL (-SIGTERM on Windows)", Run::PerMethod(test_kill)),
        case(
            tp,
            "test_active_children",
            "a child is listed from start until joined",
            Run::PerMethod(test_active_children),
        ),
        case(
            tp,
            "test_recursion",
            "children start children: the tree reports in depth-first order",
            Run::PerMethod(test_recursion),
        ),
        case(
            tp,
            "test_sentinel",
            "no waiting on a process before start; wait(0) on a running child is empty; once it ended, wait returns it",
            Run::PerMethod(test_sentinel),
        ),
        case(
            tp,
            "test_close",
            "closing a running process fails; once joined it closes, and is_alive, join and terminate then fail; closing twice is fine",
            Run::PerMethod(test_close),
        ),
        case(
            tp,
            "test_many_processes",
            "many children (100 by fork, 5 by spawn) exit 0; as many terminated at once all read -SIGTERM",
            Run::PerMethod(test_many_processes),
        ),
        Case {
            difference: Some(
                "a Rust entry is a function, not a subclass's run method: the uppercaser is an entry with a duplex pipe",
            ),
            ..case(
                "_TestSubclassingProcess",
                "test_subclassing",
                "a process serving requests over a duplex pipe until told to stop",
                Run::PerMethod(test_subclassing),
            )
        },
        Case {
            difference: Some(
                "Rust's exit takes an integer only: CPython's non-integer exit reasons (printed to stderr, exit 1) have no counterpart",
            ),
            ..case(
                "_TestSubclassingProcess",
                "test_sys_exit",
                "a child's exit status is its exit code (1, 0, 8)",
                Run::PerMethod(test_sys_exit),
            )
        },
        Case {
            difference: Some(
                "waits on process sentinels only (pipes and sockets are not waitable objects here); timings are checked only from below",
            ),
            ..case(
                "TestWait",
                "test_wait_integer",
                "wait returns exactly the children that ended, and waits for one to end",
                Run::PerMethod(test_wait_integer),
            )
        },
        Case {
            difference: Some("a Duration cannot be negative: a zero timeout is the counterpart of CPython's -1"),
            ..case(
                "TestWait",
                "test_neg_timeout",
                "wait with no time to wait returns at once, empty",
                Run::PerMethod(test_neg_timeout),
            )
        },
    ]
}

fn started<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Process, Failed>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(entry, args).start_method(method);
    p.start()?;
    Ok(p)
}

fn listed(p: &Process) -> bool {
    let pid = p.pid();
    active_children().iter().any(|c: &ChildProcess| Some(c.pid()) == pid)
}

fn test_current() -> Result<(), Failed> {
    check_eq(current_process_name(), "MainProcess".to_string(), "name")?;
    check(!current_process_is_daemon(), "the main process is not a daemon")?;
    check(parent_process().is_none(), "the main process has no parent")
}

fn test_args_argument(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut p = started(&ECHO_I32, (q.clone(), 1), method)?;
    check_eq(q.get_timeout::<i32>(LONG)?, 1, "int")?;
    p.join()?;
    p = started(&ECHO_STR, (q.clone(), "str".into()), method)?;
    check_eq(q.get_timeout::<String>(LONG)?, "str".to_string(), "str")?;
    p.join()?;
    p = started(&ECHO_LIST, (q.clone(), vec![1]), method)?;
    check_eq(q.get_timeout::<Vec<i32>>(LONG)?, vec![1], "list")?;
    p.join()?;
    p = started(&ECHO_TUPLE, (q.clone(), (1,)), method)?;
    check_eq(q.get_timeout::<(i32,)>(LONG)?, (1,), "tuple")?;
    p.join()?;
    Ok(())
}

fn test_daemon_argument() -> Result<(), Failed> {
    let p0 = Process::new(&SLEEP_SOME, ());
    check_eq(p0.is_daemon(), current_process_is_daemon(), "default")?;
    check(Process::new(&SLEEP_SOME, ()).daemon(true).is_daemon(), "daemon=True")?;
    check(!Process::new(&SLEEP_SOME, ()).daemon(false).is_daemon(), "daemon=False")
}

fn test_parent_process_attributes(method: StartMethod) -> Result<(), Failed> {
    check(parent_process().is_none(), "no parent in the main process")?;
    let (r, w) = pipe_oneway()?;
    let p = started(&SEND_PARENT, w, method)?;
    p.join()?;
    let (pid, name): (u32, String) = r.recv_timeout(LONG)?;
    check_eq(pid, std::process::id(), "parent pid")?;
    check_eq(name, current_process_name(), "parent name")
}

fn test_parent_process(method: StartMethod) -> Result<(), Failed> {
    let (r, w) = pipe_oneway()?;
    let p = started(&CREATE_GRANDCHILD, (w, method), method)?;
    let status: String = r.recv_timeout(LONG)?;
    check_eq(status.as_str(), "alive", "the grandchild sees its parent alive")?;
    p.terminate()?;
    p.join()?;
    let status: String = r.recv_timeout(LONG)?;
    check_eq(status.as_str(), "not alive", "the grandchild sees its parent die")
}

fn test_process(method: StartMethod) -> Result<(), Failed> {
    let (go, q) = (Queue::new()?, Queue::new()?);
    let mut p =
        Process::new(&REPORT, (go.clone(), q.clone(), (1, 2))).name("SomeProcess").daemon(true).start_method(method);
    check(!p.is_alive()?, "not alive before start")?;
    check(p.is_daemon(), "daemon")?;
    check(!listed(&p), "not an active child before start")?;
    check_eq(p.exitcode(), None, "no exit code before start")?;
    p.start()?;
    check_eq(p.exitcode(), None, "no exit code while running")?;
    check(p.is_alive()?, "alive once started")?;
    check(listed(&p), "an active child once started")?;
    go.put(&())?;
    check_eq(q.get_timeout::<(i32, i32)>(LONG)?, (1, 2), "args")?;
    check_eq(q.get_timeout::<String>(LONG)?, "SomeProcess".to_string(), "name")?;
    check_eq(Some(q.get_timeout::<u32>(LONG)?), p.pid(), "pid")?;
    p.join()?;
    check_eq(p.exitcode(), Some(0), "exit code")?;
    check(!p.is_alive()?, "not alive once joined")?;
    check(!listed(&p), "not an active child once joined")
}

/// CPython's `_kill_process`.
fn kill_process(method: StartMethod, kill: bool) -> Result<Option<i32>, Failed> {
    let mut p = Process::new(&SLEEP_SOME, ()).start_method(method).daemon(true);
    p.start()?;
    check(p.is_alive()?, "alive after start")?;
    check(listed(&p), "an active child")?;
    check_eq(p.exitcode(), None, "exit code while running")?;
    check_eq(p.join_timeout(Duration::ZERO)?, None, "join(0) of a running child")?;
    check(p.is_alive()?, "still alive after join(0)")?;
    if kill {
        p.kill()?
    } else {
        p.terminate()?
    };
    p.join_timeout(LONG)?;
    check(!p.is_alive()?, "not alive once joined")?;
    check(!listed(&p), "not an active child once joined")?;
    p.join()?;
    Ok(p.exitcode())
}

fn test_terminate(method: StartMethod) -> Result<(), Failed> {
    check_eq(kill_process(method, false)?, Some(-15), "exit code after terminate")
}

fn test_kill(method: StartMethod) -> Result<(), Failed> {
    let expected = if cfg!(windows) { -15 } else { -9 };
    check_eq(kill_process(method, true)?, Some(expected), "exit code after kill")
}

fn test_active_children(method: StartMethod) -> Result<(), Failed> {
    let mut p = Process::new(&SLEEP_MS, 100).daemon(true).start_method(method);
    check(!listed(&p), "not listed before start")?;
    p.start()?;
    check(listed(&p), "listed once started")?;
    p.join()?;
    check(!listed(&p), "not listed once joined")
}

/// CPython's `_test_recursion`: report, then start two children one after the other. (A queue
/// rather than CPython's pipe: a queue handle can be handed to any number of children.)
fn recursion(q: &Queue, id: Vec<i32>, method: StartMethod) {
    q.put(&id).expect("put");
    if id.len() < 2 {
        for i in 0..2 {
            let mut next = id.clone();
            next.push(i);
            let mut p = Process::new(&RECURSE, (q.clone(), next, method)).start_method(method);
            p.start().expect("start");
            p.join().expect("join");
        }
    }
}

fn test_recursion(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    recursion(&q, vec![], method);
    let mut result: Vec<Vec<i32>> = Vec::new();
    while let Ok(v) = q.get_timeout::<Vec<i32>>(Duration::from_millis(500)) {
        result.push(v);
    }
    let expected: Vec<Vec<i32>> = vec![vec![], vec![0], vec![0, 0], vec![0, 1], vec![1], vec![1, 0], vec![1, 1]];
    check_eq(result, expected, "the tree's reports")
}

fn test_sentinel(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut p = Process::new(&WAIT_FOR_ITEM, q.clone()).start_method(method);
    check(
        matches!(wait(&[&p], Some(Duration::ZERO)), Err(ProcessError::NotStarted { .. })),
        "no sentinel before start",
    )?;
    p.start()?;
    check(wait(&[&p], Some(Duration::ZERO))?.is_empty(), "not ready while running")?;
    q.put(&1)?;
    p.join()?;
    check_eq(wait(&[&p], Some(Duration::from_secs(1)))?.len(), 1, "ready once ended")
}

fn test_close(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut p = Process::new(&WAIT_FOR_ITEM, q.clone()).daemon(true).start_method(method);
    p.start()?;
    check(p.is_alive()?, "alive")?;
    check(matches!(p.close(), Err(ProcessError::StillRunning { .. })), "a running process cannot be closed")?;
    q.put(&1)?;
    p.join()?;
    check(!p.is_alive()?, "not alive once joined")?;
    check_eq(p.exitcode(), Some(0), "exit code")?;
    p.close()?;
    check(matches!(p.is_alive(), Err(ProcessError::Closed { .. })), "is_alive after close")?;
    check(matches!(p.join(), Err(ProcessError::Closed { .. })), "join after close")?;
    check(matches!(p.terminate(), Err(ProcessError::Closed { .. })), "terminate after close")?;
    p.close()?;
    Ok(())
}

fn test_many_processes(method: StartMethod) -> Result<(), Failed> {
    let n = if method == StartMethod::Spawn { 5 } else { 100 };
    let procs: Vec<Process> = (0..n).map(|_| started(&SLEEP_MS, 10, method)).collect::<Result<_, _>>()?;
    for p in &procs {
        check_eq(p.join_timeout(LONG)?, Some(0), "exit code")?;
    }
    let procs: Vec<Process> = (0..n).map(|_| started(&SLEEP_SOME, (), method)).collect::<Result<_, _>>()?;
    std::thread::sleep(Duration::from_millis(1));
    for p in &procs {
        p.terminate()?;
    }
    // On macOS a freshly started process killed with SIGTERM sometimes reads as SIGKILL (bpo-31510).
    let allowed: &[i32] = if cfg!(target_os = "macos") { &[-15, -9] } else { &[-15] };
    for p in &procs {
        let code = p.join_timeout(LONG)?;
        check(code.is_some_and(|c| allowed.contains(&c)), format!("exit code {code:?}"))?;
    }
    Ok(())
}

fn test_subclassing(method: StartMethod) -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    let mut p = Process::new(&UPPERCASER, theirs).daemon(true).start_method(method);
    p.start()?;
    for (word, upper) in [("hello", "HELLO"), ("world", "WORLD")] {
        mine.send(&Some(word))?;
        check_eq(mine.recv_timeout::<String>(LONG)?, upper.to_string(), "uppercased")?;
    }
    mine.send(&None::<String>)?;
    check_eq(p.join()?, 0, "exit code")
}

fn test_sys_exit(method: StartMethod) -> Result<(), Failed> {
    for code in [1, 0, 8] {
        let p = started(&EXIT_WITH, code, method)?;
        check_eq(p.join_timeout(LONG)?, Some(code), "exit code")?;
    }
    Ok(())
}

fn test_wait_integer(method: StartMethod) -> Result<(), Failed> {
    let mut long = Process::new(&SLEEP_SOME, ()).daemon(true).start_method(method);
    let mut short = Process::new(&SLEEP_MS, 500).start_method(method);
    long.start()?;
    short.start()?;
    let start = Instant::now();
    let ready = wait(&[&long, &short], Some(LONG))?;
    check(start.elapsed() >= Duration::from_millis(400), "wait waited for the child to end")?;
    check(ready.len() == 1 && ready[0].pid() == short.pid(), "only the child that ended")?;
    check_eq(wait(&[&long, &short], Some(LONG))?.len(), 1, "the same one again, at once")?;
    long.terminate()?;
    long.join()?;
    check_eq(wait(&[&long, &short], Some(LONG))?.len(), 2, "both ended")?;
    short.join()?;
    Ok(())
}

fn test_neg_timeout(method: StartMethod) -> Result<(), Failed> {
    let p = started(&SLEEP_SOME, (), method)?;
    let ready = wait(&[&p], Some(Duration::ZERO))?;
    p.kill()?;
    p.join()?;
    check(ready.is_empty(), "nothing ready")
}
