//! The fork server behind pools started by fork (Unix): it serves a multi-threaded parent
//! (where `fork` itself is refused), and it goes, with its workers, when its program goes.

use std::time::Duration;

use libtest_mimic::Failed;
use procthread::{Entry, Pool, ProcessError, Queue, StartMethod, Task};

use super::check;

#[cfg(target_os = "linux")]
const LONG: Duration = Duration::from_secs(60);

pub static TRIPLE: Task<i64, i64> = Task::new("fork_server::triple", |x| 3 * x);
/// Starts a fork pool, reports its pid and its workers' pids, then waits to be killed.
pub static POOL_OWNER: Entry<Queue> = Entry::new("fork_server::pool_owner", |q| {
    let pool = Pool::with_method(2, StartMethod::Fork).expect("pool");
    assert_eq!(pool.map(&TRIPLE, [1, 2]).expect("map"), vec![3, 6]);
    q.put(&(std::process::id(), pool.worker_pids())).expect("put");
    std::thread::sleep(Duration::from_secs(300));
});

pub static REGISTRY: procthread::Registry = &[&TRIPLE, &POOL_OWNER];

/// With another thread running, `fork` is refused, and a pool started by fork still works: its
/// workers come from the fork server, a single-threaded process of its own.
pub fn pool_by_fork_from_a_multithreaded_parent() -> Result<(), Failed> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let busy = std::thread::spawn(move || rx.recv());
    let refused = procthread::fork();
    if let Ok(procthread::Fork::Child) = refused {
        procthread::exit_child(0); // the check failed to refuse: never run test code twice
    }
    let mut pool = Pool::with_method(2, StartMethod::Fork)?;
    let got = pool.map(&TRIPLE, 0..10)?;
    pool.close();
    pool.join()?;
    drop(tx);
    let _ = busy.join();
    if cfg!(target_os = "linux") {
        check(matches!(refused, Err(ProcessError::ForkUnsafe { .. })), format!("fork refused: {refused:?}"))?;
    }
    check(got == (0..10).map(|x| 3 * x).collect::<Vec<_>>(), format!("{got:?}"))
}

/// Gone, or a zombie about to be reaped: no longer running.
#[cfg(target_os = "linux")]
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// The pids of the processes whose parent is `ppid`.
#[cfg(target_os = "linux")]
fn children_of(ppid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(ppid)
            })
        })
        .collect()
}

/// A program killed while its fork pool runs leaves nothing behind: its fork server sees the
/// program's end of the socket close and kills its workers (and spares), then exits.
#[cfg(target_os = "linux")]
pub fn killed_program_takes_its_fork_server_and_workers_along(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut owner = procthread::Process::new(&POOL_OWNER, q.clone()).start_method(method);
    owner.start()?;
    let (owner_pid, workers): (u32, Vec<u32>) = q.get_timeout(LONG)?;
    let server = children_of(owner_pid);
    check(server.len() == 1, format!("the owner has one child, its fork server: {server:?}"))?;
    let mut watched = workers.clone();
    watched.extend(children_of(server[0]));
    watched.extend(&server);
    check(workers.iter().all(|&w| running(w)), "the workers run")?;
    owner.kill()?;
    owner.join()?;
    let deadline = std::time::Instant::now() + LONG;
    while watched.iter().any(|&p| running(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<u32> = watched.into_iter().filter(|&p| running(p)).collect();
    check(left.is_empty(), format!("still running: {left:?}"))
}
