//! Tests that start processes. This binary has its own `main` (`harness = false`) so that a
//! spawned child dispatches to its entry first thing, and runs its tests on the main thread so
//! that forking happens from a single-threaded process (nextest runs each test in its own process).

#[cfg(unix)]
mod fork_server;
mod hardening;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Failed, Trial};
use procthread::manager::{Client, Manager};
use procthread::subprocess;
use procthread::{
    ChannelError, Entry, ManagerError, PipeEnd, Pool, PoolError, Process, ProcessError, Queue, Registry, StartMethod,
    SubprocessError, Task, pipe,
};

// ---- entries the children run ----

static REPORT_SELF: Entry<(String, Queue)> = Entry::new("report_self", |(name, q)| {
    let line = format!("Run child process {name} ({})...", std::process::id());
    q.put(&(line, procthread::current_process_name(), procthread::parent_pid())).expect("put");
});
static EXIT_WITH: Entry<i32> = Entry::new("exit_with", |code| std::process::exit(code));
static PANIC_WITH: Entry<String> = Entry::new("panic_with", |msg| panic!("{msg}"));
static SLEEP_FOREVER: Entry<()> = Entry::new("sleep_forever", |()| {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
});
static WRITER: Entry<Queue> = Entry::new("writer", |q| {
    for v in ["A", "B", "C"] {
        q.put(v).expect("put");
    }
});
/// Puts more than its small ring holds, so that most values wait in the feeder's backlog,
/// says so on the pipe, and returns while they still wait (nobody reads yet).
static OVERFILL: Entry<(Queue, PipeEnd)> = Entry::new("overfill", |(q, done)| {
    for i in 0..BACKLOGGED {
        q.put(&(i, vec![7u8; 1024])).expect("put");
    }
    done.send(&q.pending()).expect("send");
});
const BACKLOGGED: u32 = 16;
static READER: Entry<(Queue, Queue)> = Entry::new("reader", |(q, out)| {
    loop {
        let v: String = q.get().expect("get");
        out.put(&format!("Get {v} from queue.")).expect("put");
    }
});
static PIPE_SENDER: Entry<PipeEnd> = Entry::new("pipe_sender", |end| {
    end.send(&("hello", [1, 2, 3])).expect("send");
    end.send(&42).expect("send");
});
/// Exits 0 only if it sees EOF, which needs every copy of the peer's write end closed.
static WAIT_FOR_EOF: Entry<PipeEnd> = Entry::new("wait_for_eof", |end| match end.recv::<i32>() {
    Err(ChannelError::Eof) => std::process::exit(0),
    other => {
        eprintln!("expected EOF, got {other:?}");
        std::process::exit(5)
    }
});
static SEND_TOO_BIG: Entry<(PipeEnd, usize)> = Entry::new("send_too_big", |(end, n)| {
    let code = match end.send(&"z".repeat(n)) {
        Err(ChannelError::TooLarge { .. }) => 0,
        _ => 6,
    };
    end.send("after").expect("send");
    std::process::exit(code)
});
static MANAGER_WORKER: Entry<(String, Vec<u8>)> = Entry::new("manager_worker", |(addr, key)| {
    let client = match Client::connect(addr.as_str(), &key) {
        Ok(c) => c,
        Err(ManagerError::AuthRefused) => std::process::exit(7),
        Err(e) => panic!("{e}"),
    };
    loop {
        match client.queue("task").get::<i64>(Some(Duration::from_secs(1))) {
            Ok(n) => client.queue("result").put(&format!("{n} * {n} = {}", n * n)).expect("put"),
            Err(ManagerError::Empty(_)) => return,
            Err(e) => panic!("{e}"),
        }
    }
});

// ---- tasks pool workers run ----

static TIMED_TASK: Task<u64, (u32, u128, u128)> = Task::new("timed_task", |ms| {
    let start = now_us();
    std::thread::sleep(Duration::from_millis(ms));
    (std::process::id(), start, now_us())
});
static SQUARE: Task<i64, i64> = Task::new("square", |n| n * n);
static PANIC_TASK: Task<(), i64> = Task::new("panic_task", |()| panic!("task failed on purpose"));
#[cfg(unix)]
static KILL_SELF: Task<(), i64> = Task::new("kill_self", |()| {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    0
});
/// Deliberately missing from the registry.
static UNREGISTERED: Task<(), ()> = Task::new("unregistered", |()| ());

static REGISTRY: Registry = &[
    &REPORT_SELF,
    &EXIT_WITH,
    &PANIC_WITH,
    &SLEEP_FOREVER,
    &WRITER,
    &OVERFILL,
    &READER,
    &PIPE_SENDER,
    &WAIT_FOR_EOF,
    &SEND_TOO_BIG,
    &MANAGER_WORKER,
    &TIMED_TASK,
    &SQUARE,
    &PANIC_TASK,
    #[cfg(unix)]
    &KILL_SELF,
];

fn now_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0)
}

const TOOL_FLAG: &str = "--test-tool";

/// Small portable programs for the subprocess tests, so they need no `cat` or `sh`.
fn tool(args: &[String]) -> ! {
    use std::io::{Read, Write};
    match args.first().map(String::as_str) {
        Some("upper") => {
            let mut input = String::new();
            let _ = std::io::stdin().read_to_string(&mut input);
            print!("{}", input.to_uppercase());
            eprint!("read {} bytes", input.len());
        }
        Some("exit") => std::process::exit(args.get(1).and_then(|c| c.parse().ok()).unwrap_or(0)),
        Some("sleep") => std::thread::sleep(Duration::from_secs(30)),
        Some("echo-big") => {
            let mut input = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut input);
            let _ = std::io::stdout().write_all(&input);
            let _ = std::io::stderr().write_all(&input);
        }
        _ => std::process::exit(99),
    }
    let _ = std::io::stdout().flush();
    std::process::exit(0)
}

fn tool_argv(args: &[&str]) -> Vec<String> {
    let exe = std::env::current_exe().expect("exe").to_string_lossy().into_owned();
    [exe, TOOL_FLAG.to_string()].into_iter().chain(args.iter().map(|s| s.to_string())).collect()
}

fn main() {
    #[cfg(unix)]
    procthread::dispatch_all(&[REGISTRY, hardening::REGISTRY, fork_server::REGISTRY]);
    #[cfg(not(unix))]
    procthread::dispatch_all(&[REGISTRY, hardening::REGISTRY]);
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(TOOL_FLAG) {
        tool(&argv[2..]);
    }
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut trials = Vec::new();
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        let m = method.as_str();
        let per_method: [(&str, MethodTest); 13] = [
            ("runs_entry_with_args_and_names", runs_entry_with_args_and_names),
            ("exit_code_is_returned", exit_code_is_returned),
            ("panic_gives_exit_1_and_message", panic_gives_exit_1_and_message),
            ("terminate_and_kill_and_join_timeout", terminate_and_kill_and_join_timeout),
            ("queue_writer_reader_terminate", queue_writer_reader_terminate),
            ("queue_backlog_is_written_when_the_child_ends", queue_backlog_is_written_when_the_child_ends),
            ("pipe_values_then_eof", pipe_values_then_eof),
            ("child_sees_eof_when_parent_closes", child_sees_eof_when_parent_closes),
            ("oversize_message_refused_in_child", oversize_message_refused_in_child),
            ("pool_bounds_and_reuses_workers", pool_bounds_and_reuses_workers),
            ("pool_task_panic_is_an_error", pool_task_panic_is_an_error),
            ("pool_replaces_killed_worker", pool_replaces_killed_worker),
            ("pool_terminate_and_unknown_task", pool_terminate_and_unknown_task),
        ];
        for (name, f) in per_method.into_iter().chain(hardening::per_method()) {
            let trial = Trial::test(format!("{name}::{m}"), move || f(method));
            trials.push(trial.with_ignored_flag(!method.is_available()));
        }
    }
    trials.push(Trial::test("forged_child_flag_is_refused", hardening::forged_child_flag_is_refused));
    #[cfg(unix)]
    trials.push(Trial::test(
        "pool_by_fork_from_a_multithreaded_parent",
        fork_server::pool_by_fork_from_a_multithreaded_parent,
    ));
    #[cfg(target_os = "linux")]
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        trials.push(Trial::test(
            format!("killed_program_takes_its_fork_server_and_workers_along::{}", method.as_str()),
            move || fork_server::killed_program_takes_its_fork_server_and_workers_along(method),
        ));
    }
    #[cfg(target_os = "linux")]
    trials.push(Trial::test("forged_boot_channels_are_refused", hardening::forged_boot_channels_are_refused));
    trials.push(Trial::test("manager_master_and_worker_processes", manager_master_and_worker_processes));
    trials.push(Trial::test("subprocess_call_and_exit_codes", subprocess_call_and_exit_codes));
    trials.push(Trial::test("subprocess_communicate", subprocess_communicate));
    trials.push(Trial::test("subprocess_timeout_kills", subprocess_timeout_kills));
    trials.push(Trial::test("subprocess_missing_program", subprocess_missing_program));
    #[cfg(unix)]
    trials.push(Trial::test("fork_returns_twice", fork_returns_twice));
    #[cfg(target_os = "linux")]
    trials.push(Trial::test("fork_refused_when_multithreaded", fork_refused_when_multithreaded));
    #[cfg(windows)]
    trials.push(Trial::test("fork_is_unsupported_on_windows", fork_is_unsupported));
    libtest_mimic::run(&args, trials).exit();
}

type MethodTest = fn(StartMethod) -> Result<(), Failed>;

fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

fn started<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Process, Failed>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(entry, args).start_method(method);
    p.start()?;
    Ok(p)
}

fn runs_entry_with_args_and_names(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut p = Process::new(&REPORT_SELF, ("test".to_string(), q.clone())).name("worker-1").start_method(method);
    check(p.exitcode().is_none() && p.pid().is_none(), "nothing before start")?;
    p.start()?;
    let pid = p.pid().ok_or("no pid")?;
    let (line, name, ppid): (String, String, Option<u32>) = q.get_timeout(Duration::from_secs(20))?;
    check(line == format!("Run child process test ({pid})..."), line)?;
    check(name == "worker-1", name)?;
    check(ppid == Some(std::process::id()), format!("ppid {ppid:?}"))?;
    check(p.join()? == 0, "exit 0")?;
    check(p.exitcode() == Some(0) && !p.is_alive()?, "exitcode after join")?;
    check(matches!(p.start(), Err(ProcessError::AlreadyStarted { .. })), "second start refused")
}

fn exit_code_is_returned(method: StartMethod) -> Result<(), Failed> {
    let p = started(&EXIT_WITH, 3, method)?;
    check(p.join()? == 3, "exit code 3")?;
    check(p.panic_message().is_none(), "no panic")
}

fn panic_gives_exit_1_and_message(method: StartMethod) -> Result<(), Failed> {
    let p = started(&PANIC_WITH, "something broke".to_string(), method)?;
    check(p.join()? == 1, "exit code 1")?;
    check(p.panic_message().as_deref() == Some("something broke"), format!("{:?}", p.panic_message()))
}

fn terminate_and_kill_and_join_timeout(method: StartMethod) -> Result<(), Failed> {
    let p = started(&SLEEP_FOREVER, (), method)?;
    check(p.join_timeout(Duration::from_millis(100))?.is_none(), "still running")?;
    check(p.is_alive()?, "alive")?;
    p.terminate()?;
    let code = p.join_timeout(Duration::from_secs(10))?;
    check(code == Some(-15), format!("terminate gives -15, got {code:?}"))?;
    check(!p.is_alive()?, "dead")?;
    let p = started(&SLEEP_FOREVER, (), method)?;
    p.kill()?;
    let code = p.join()?;
    let expected = if cfg!(windows) { -15 } else { -9 };
    check(code == expected, format!("kill gives {expected}, got {code}"))
}

fn queue_writer_reader_terminate(method: StartMethod) -> Result<(), Failed> {
    let (q, out) = (Queue::new()?, Queue::new()?);
    let writer = started(&WRITER, q.clone(), method)?;
    let reader = started(&READER, (q.clone(), out.clone()), method)?;
    check(writer.join()? == 0, "writer exit 0")?;
    let got: Vec<String> = (0..3).map(|_| out.get_timeout(Duration::from_secs(20))).collect::<Result<_, _>>()?;
    check(got == ["Get A from queue.", "Get B from queue.", "Get C from queue."], format!("{got:?}"))?;
    // The reader is blocked in get: terminate it, as the chapter does.
    reader.terminate()?;
    let code = reader.join()?;
    check(code == -15, format!("reader ends by SIGTERM, got {code}"))?;
    // A process killed while blocked in get leaves the queue usable.
    q.put("D")?;
    let d: String = q.get_timeout(Duration::from_secs(5))?;
    check(d == "D", "queue still works after its reader was killed")
}

/// CPython joins a process's feeder threads when its target returns: what a child put is not
/// lost because it was still in the backlog (the ring was full) when the child ended.
fn queue_backlog_is_written_when_the_child_ends(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::with_buffer_size(4096)?;
    let (done, theirs) = pipe()?;
    let p = started(&OVERFILL, (q.clone(), theirs), method)?;
    let pending: usize = done.recv_timeout(Duration::from_secs(20))?;
    check(pending > 0, "the child's backlog held values when it returned")?;
    // Let the child reach its end before anything is read.
    std::thread::sleep(Duration::from_millis(200));
    for want in 0..BACKLOGGED {
        let (i, body): (u32, Vec<u8>) = q.get_timeout(Duration::from_secs(20))?;
        check(i == want && body.len() == 1024, format!("message {want}: got {i} of {} bytes", body.len()))?;
    }
    check(p.join()? == 0, "exit 0")
}

fn pipe_values_then_eof(method: StartMethod) -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    let p = started(&PIPE_SENDER, theirs, method)?;
    let first: (String, Vec<i32>) = mine.recv_timeout(Duration::from_secs(20))?;
    check(first == ("hello".to_string(), vec![1, 2, 3]), format!("{first:?}"))?;
    check(mine.recv::<i32>()? == 42, "second value")?;
    check(p.join()? == 0, "exit 0")?;
    check(matches!(mine.recv::<i32>(), Err(ChannelError::Eof)), "EOF once the child is gone")
}

fn child_sees_eof_when_parent_closes(method: StartMethod) -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    // Another pipe the child must not keep a copy of (fork copies every descriptor).
    let (_other_a, _other_b) = pipe()?;
    let p = started(&WAIT_FOR_EOF, theirs, method)?;
    drop(mine);
    let code = p.join_timeout(Duration::from_secs(20))?;
    if code.is_none() {
        p.kill()?;
    }
    check(code == Some(0), format!("child saw EOF: {code:?}"))
}

fn oversize_message_refused_in_child(method: StartMethod) -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    let theirs = theirs.with_limit(1000);
    let p = started(&SEND_TOO_BIG, (theirs, 5000), method)?;
    let next: String = mine.recv_timeout(Duration::from_secs(20))?;
    check(next == "after", "the refused message left nothing in the pipe")?;
    check(p.join()? == 0, "child saw TooLarge")
}

fn overlap(spans: &[(u32, u128, u128)]) -> usize {
    spans.iter().map(|&(_, s, _)| spans.iter().filter(|&&(_, s2, e2)| s2 <= s && s < e2).count()).max().unwrap_or(0)
}

fn pool_bounds_and_reuses_workers(method: StartMethod) -> Result<(), Failed> {
    let mut pool = Pool::with_method(4, method)?;
    let handles: Vec<_> = (0..5).map(|_| pool.apply_async(&TIMED_TASK, 300)).collect::<Result<_, _>>()?;
    let spans: Vec<_> =
        handles.iter().map(|h| h.get(Some(Duration::from_secs(30))).copied()).collect::<Result<_, _>>()?;
    pool.close();
    pool.join()?;
    let mut pids: Vec<u32> = spans.iter().map(|s| s.0).collect();
    pids.sort();
    pids.dedup();
    check(pids.len() <= 4, format!("at most 4 workers: {pids:?}"))?;
    check(!pids.contains(&std::process::id()), "tasks ran in other processes")?;
    check(overlap(&spans) <= 4, format!("at most 4 at once: {spans:?}"))?;
    let fifth_start = spans[4].1;
    check(spans[..4].iter().any(|s| s.2 <= fifth_start), "task 4 started after one of the first four ended")
}

fn pool_task_panic_is_an_error(method: StartMethod) -> Result<(), Failed> {
    let mut pool = Pool::with_method(2, method)?;
    let bad = pool.apply_async(&PANIC_TASK, ())?;
    match bad.get(Some(Duration::from_secs(20))) {
        Err(PoolError::Panicked { message, remote }) => {
            check(message == "task failed on purpose", message)?;
            check(remote.contains("panicked at") && remote.contains("processes/main.rs"), remote)?;
        }
        other => return Err(format!("expected a panic, got {other:?}").into()),
    }
    check(pool.map(&SQUARE, 0..6)? == vec![0, 1, 4, 9, 16, 25], "map after a panic")?;
    pool.close();
    Ok(pool.join()?)
}

fn pool_replaces_killed_worker(method: StartMethod) -> Result<(), Failed> {
    let mut pool = Pool::with_method(2, method)?;
    let before = pool.worker_pids();
    #[cfg(unix)]
    {
        let dead = pool.apply(&KILL_SELF, ());
        check(matches!(dead, Err(PoolError::WorkerDied { exitcode: -9, .. })), format!("{dead:?}"))?;
    }
    #[cfg(windows)]
    {
        // No self-SIGKILL on Windows: kill the workers from outside (whichever runs the task).
        let h = pool.apply_async(&TIMED_TASK, 5000)?;
        std::thread::sleep(Duration::from_millis(300));
        for pid in &before {
            let _ = std::process::Command::new("taskkill").args(["/F", "/PID", &pid.to_string()]).status();
        }
        check(matches!(h.get(Some(Duration::from_secs(20))), Err(PoolError::WorkerDied { .. })), "died")?;
    }
    check(pool.map(&SQUARE, 0..8)? == (0..8).map(|n| n * n).collect::<Vec<i64>>(), "pool goes on")?;
    let after = pool.worker_pids();
    check(after.len() == 2 && after != before, format!("a worker was replaced: {before:?} -> {after:?}"))?;
    pool.close();
    Ok(pool.join()?)
}

fn pool_terminate_and_unknown_task(method: StartMethod) -> Result<(), Failed> {
    let mut pool = Pool::with_method(1, method)?;
    let unknown = pool.apply(&UNREGISTERED, ());
    check(unknown == Err(PoolError::UnknownTask("unregistered".into())), format!("{unknown:?}"))?;
    let running = pool.apply_async(&TIMED_TASK, 10_000)?;
    let queued = pool.apply_async(&SQUARE, 3)?;
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    pool.terminate();
    pool.join()?;
    check(t.elapsed() < Duration::from_secs(5), "terminate does not wait for running tasks")?;
    check(running.get(None) == Err(PoolError::Terminated), "running task terminated")?;
    check(queued.get(None) == Err(PoolError::Terminated), "queued task terminated")?;
    check(pool.apply_async(&SQUARE, 1).err() == Some(PoolError::Closed), "closed after terminate")
}

fn manager_master_and_worker_processes() -> Result<(), Failed> {
    let manager = Manager::builder().queue("task").queue("result").authkey(b"abc".to_vec()).start()?;
    let addr = manager.address().to_string();
    let master = Client::connect(manager.address(), b"abc")?;
    for n in 1..=10i64 {
        master.queue("task").put(&n)?;
    }
    let intruder = started(&MANAGER_WORKER, (addr.clone(), b"wrong".to_vec()), StartMethod::Spawn)?;
    check(intruder.join()? == 7, "wrong key refused in the worker")?;
    let worker = started(&MANAGER_WORKER, (addr, b"abc".to_vec()), StartMethod::Spawn)?;
    let mut results = Vec::new();
    for _ in 0..10 {
        results.push(master.queue("result").get::<String>(Some(Duration::from_secs(20)))?);
    }
    check(results.contains(&"7 * 7 = 49".to_string()), format!("{results:?}"))?;
    check(worker.join()? == 0, "worker ends on an empty queue")?;
    master.shutdown()?;
    manager.wait();
    Ok(())
}

fn subprocess_call_and_exit_codes() -> Result<(), Failed> {
    check(subprocess::call(&tool_argv(&["exit", "0"]))? == 0, "exit 0")?;
    check(subprocess::call(&tool_argv(&["exit", "3"]))? == 3, "exit 3")?;
    #[cfg(unix)]
    {
        let mut p = subprocess::Popen::spawn(&tool_argv(&["sleep"]), false)?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid() as i32), nix::sys::signal::Signal::SIGTERM)?;
        check(p.wait()? == -15, "a signal reads as its negative number")?;
    }
    Ok(())
}

fn subprocess_communicate() -> Result<(), Failed> {
    let done = subprocess::run(&tool_argv(&["upper"]), Some(b"python.org\n"), Some(Duration::from_secs(20)))?;
    check(done.code == 0 && done.stdout == b"PYTHON.ORG\n" && done.stderr == b"read 11 bytes", format!("{done:?}"))?;
    // 4 MiB in and 4 MiB back on both stdout and stderr: far past any pipe buffer.
    let big = vec![b'x'; 4 << 20];
    let done = subprocess::run(&tool_argv(&["echo-big"]), Some(&big), Some(Duration::from_secs(60)))?;
    check(done.stdout.len() == big.len() && done.stderr.len() == big.len(), "no pipe deadlock")
}

fn subprocess_timeout_kills() -> Result<(), Failed> {
    let t = Instant::now();
    let err = subprocess::run(&tool_argv(&["sleep"]), None, Some(Duration::from_millis(300))).expect_err("timeout");
    check(matches!(err, SubprocessError::Timeout { .. }), err.to_string())?;
    check(t.elapsed() < Duration::from_secs(10), "killed at the timeout")
}

fn subprocess_missing_program() -> Result<(), Failed> {
    let err = subprocess::call(&["no-such-program-procthread"]).expect_err("missing");
    check(err.to_string() == "program not found: no-such-program-procthread", err.to_string())?;
    let empty: [&str; 0] = [];
    check(matches!(subprocess::call(&empty), Err(SubprocessError::EmptyCommand)), "empty argv")
}

#[cfg(unix)]
fn fork_returns_twice() -> Result<(), Failed> {
    use procthread::Fork;
    let (rx, tx) = procthread::pipe_oneway()?;
    match procthread::fork()? {
        Fork::Child => {
            let _ = tx.send(&(std::process::id(), procthread::parent_pid()));
            procthread::exit_child(3)
        }
        Fork::Parent(mut child) => {
            drop(tx);
            let (pid, ppid): (u32, Option<u32>) = rx.recv()?;
            check(pid == child.pid(), "the parent learns the child's pid")?;
            check(ppid == Some(std::process::id()), "the child learns its parent")?;
            check(child.wait()? == 3, "exit status")?;
        }
    }
    match procthread::fork()? {
        Fork::Child => std::process::abort(),
        Fork::Parent(mut child) => check(child.wait()? == -6, "SIGABRT reads as -6"),
    }
}

#[cfg(target_os = "linux")]
fn fork_refused_when_multithreaded() -> Result<(), Failed> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || rx.recv());
    let r = procthread::fork();
    if let Ok(procthread::Fork::Child) = r {
        procthread::exit_child(0); // the check failed to refuse: never run test code twice
    }
    drop(tx);
    let _ = t.join();
    check(matches!(r, Err(ProcessError::ForkUnsafe { threads: 2 })), format!("{r:?}"))
}

#[cfg(windows)]
fn fork_is_unsupported() -> Result<(), Failed> {
    let mut p = Process::new(&EXIT_WITH, 0).start_method(StartMethod::Fork);
    check(matches!(p.start(), Err(ProcessError::Unsupported { .. })), "fork unsupported")
}
