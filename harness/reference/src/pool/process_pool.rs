//! `Pool`: a fixed number of worker processes, like the chapter's `multiprocessing.Pool`.
//!
//! Each worker has its own duplex pipe to the parent and one parent thread that feeds it one
//! task at a time, so no more than `size` tasks ever run at once and the parent always knows
//! which task a worker holds. When a worker dies (a crash, even SIGKILL), that thread reports
//! its task as [`PoolError::WorkerDied`], starts a replacement, and the pool goes on; CPython's
//! pool hangs for ever in that case.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::jobs::Jobs;
use super::result::{self, AsyncResult};
use crate::entry::{self, Entry, Task};
use crate::error::{PoolError, ProcessError};
use crate::pipe::{PipeEnd, pipe};
use crate::process::{Process, StartMethod};

/// The entry every worker process runs (registered by the crate itself).
pub(crate) static WORKER_ENTRY: Entry<PipeEnd> = Entry::new("procthread::pool-worker", worker_main);

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    task: String,
    args: String,
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Value(serde_json::Value),
    Panicked(String),
    Failed(String),
    Unknown(String),
}

fn worker_main(conn: PipeEnd) {
    while let Ok(req) = conn.recv::<Request>() {
        let reply = match entry::lookup(&req.task) {
            None => Reply::Unknown(req.task),
            Some(task) => match entry::run_caught(|| task.call_json(&req.args)) {
                Ok(Ok(value)) => Reply::Value(value),
                Ok(Err(msg)) => Reply::Failed(msg),
                Err(panic) => Reply::Panicked(panic),
            },
        };
        if conn.send(&reply).is_err() {
            return;
        }
    }
}

struct Job {
    request: Request,
    done: Box<dyn FnOnce(Result<serde_json::Value, PoolError>) + Send>,
}

struct Worker {
    process: Process,
    conn: PipeEnd,
}

struct Shared {
    jobs: Jobs<Job>,
    /// One entry per worker slot: the live worker process, for `terminate` to kill.
    processes: Vec<Mutex<Option<Process>>>,
}

fn lock(m: &Mutex<Option<Process>>) -> MutexGuard<'_, Option<Process>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A pool of `size` worker processes running registered [`Task`]s.
///
/// With [`StartMethod::Fork`], the first workers are forked before the pool starts any thread
/// (so the parent must be single-threaded, see [`fork`](crate::fork)); a replacement for a dead
/// worker is always spawned, since the parent is multi-threaded by then.
pub struct Pool {
    shared: Arc<Shared>,
    feeders: Vec<JoinHandle<()>>,
    method: StartMethod,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("size", &self.size()).field("method", &self.method).finish()
    }
}

fn start_worker(slot: usize, method: StartMethod) -> Result<Worker, ProcessError> {
    let (conn, child_end) =
        pipe().map_err(|source| ProcessError::Start { name: format!("PoolWorker-{slot}"), source })?;
    let mut process =
        Process::new(&WORKER_ENTRY, child_end).name(format!("PoolWorker-{slot}")).start_method(method).daemon(true);
    process.start()?;
    Ok(Worker { process, conn })
}

impl Pool {
    /// A pool of `size` spawned workers.
    pub fn new(size: usize) -> Result<Pool, ProcessError> {
        Self::with_method(size, StartMethod::Spawn)
    }

    pub fn with_method(size: usize, method: StartMethod) -> Result<Pool, ProcessError> {
        let size = size.max(1);
        // Every worker first, then the feeder threads: forks happen while single-threaded.
        let workers = (1..=size).map(|slot| start_worker(slot, method)).collect::<Result<Vec<_>, _>>()?;
        let mut conns = Vec::with_capacity(size);
        let mut processes = Vec::with_capacity(size);
        for w in workers {
            conns.push(w.conn);
            processes.push(Mutex::new(Some(w.process)));
        }
        let shared = Arc::new(Shared { jobs: Jobs::new(), processes });
        let feeders = conns
            .into_iter()
            .enumerate()
            .map(|(slot, conn)| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("pool-feeder-{}", slot + 1))
                    .spawn(move || feed(&shared, slot, conn))
                    .map_err(|source| ProcessError::Start { name: "pool feeder".into(), source })
            })
            .collect::<Result<_, _>>()?;
        Ok(Pool { shared, feeders, method })
    }

    pub fn size(&self) -> usize {
        self.shared.processes.len()
    }

    /// Pids of the live workers.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.processes.iter().filter_map(|p| lock(p).as_ref().and_then(Process::pid)).collect()
    }

    /// Queues `task(args)` for the next free worker.
    pub fn apply_async<A, R>(&self, task: &'static Task<A, R>, args: A) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let args =
            serde_json::to_string(&args).map_err(|e| PoolError::Failed(format!("cannot encode arguments: {e}")))?;
        let (handle, completer) = result::pending::<R>();
        let done = Box::new(move |outcome: Result<serde_json::Value, PoolError>| {
            completer.complete(outcome.and_then(|v| {
                serde_json::from_value(v).map_err(|e| PoolError::Failed(format!("cannot decode the result: {e}")))
            }))
        });
        self.shared.jobs.push(Job { request: Request { task: task.name().to_string(), args }, done })?;
        Ok(handle)
    }

    /// Runs `task` on every item and returns the results in order (the first error, if any).
    pub fn map<A, R>(&self, task: &'static Task<A, R>, items: impl IntoIterator<Item = A>) -> Result<Vec<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let handles = items.into_iter().map(|a| self.apply_async(task, a)).collect::<Result<Vec<_>, _>>()?;
        handles.into_iter().map(|h| h.get(None)).collect()
    }

    /// No more tasks; workers finish the queued ones, then exit.
    pub fn close(&self) {
        self.shared.jobs.close();
    }

    /// Discards queued tasks and kills every worker at once; running tasks read as terminated.
    pub fn terminate(&self) {
        drop(self.shared.jobs.terminate());
        for p in &self.shared.processes {
            if let Some(p) = lock(p).as_ref() {
                let _ = p.kill();
            }
        }
    }

    /// Waits for every worker to exit; call [`close`](Self::close) or [`terminate`](Self::terminate) first.
    pub fn join(&mut self) -> Result<(), PoolError> {
        if !self.shared.jobs.is_closed() {
            return Err(PoolError::Failed("join before close or terminate".into()));
        }
        for f in self.feeders.drain(..) {
            let _ = f.join();
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if !self.feeders.is_empty() {
            self.terminate();
            let _ = self.join();
        }
    }
}

/// One worker slot's thread: hands the worker one task at a time and replaces it if it dies.
fn feed(shared: &Shared, slot: usize, mut conn: PipeEnd) {
    while let Some(job) = shared.jobs.next() {
        let reply = conn.send(&job.request).map_err(drop).and_then(|()| conn.recv::<Reply>().map_err(drop));
        match reply {
            Ok(reply) => (job.done)(match reply {
                Reply::Value(v) => Ok(v),
                Reply::Panicked(msg) => Err(PoolError::Panicked(msg)),
                Reply::Failed(msg) => Err(PoolError::Failed(msg)),
                Reply::Unknown(name) => Err(PoolError::UnknownTask(name)),
            }),
            Err(()) => {
                let died = reap(&shared.processes[slot]);
                if shared.jobs.is_terminated() {
                    (job.done)(Err(PoolError::Terminated));
                    return;
                }
                // Replace first, then report: whoever reads the error finds the pool whole.
                match start_worker(slot + 1, StartMethod::Spawn) {
                    Ok(w) => {
                        conn = w.conn;
                        *lock(&shared.processes[slot]) = Some(w.process);
                        (job.done)(Err(died));
                    }
                    Err(e) => {
                        // Without a worker this slot can do nothing more; its queued tasks go
                        // to the other slots, or fail when the pool is dropped.
                        (job.done)(Err(died));
                        eprintln!("procthread: cannot replace pool worker {}: {e}", slot + 1);
                        return;
                    }
                }
            }
        }
    }
    drop(conn); // EOF: the worker leaves its loop and exits
    reap(&shared.processes[slot]);
}

/// Waits for the slot's worker to exit and says how it ended.
fn reap(slot: &Mutex<Option<Process>>) -> PoolError {
    let Some(mut p) = lock(slot).take() else {
        return PoolError::Failed("no worker".into());
    };
    let pid = p.pid().unwrap_or(0);
    match p.join() {
        Ok(exitcode) => PoolError::WorkerDied { pid, exitcode },
        Err(e) => PoolError::Failed(e.to_string()),
    }
}
