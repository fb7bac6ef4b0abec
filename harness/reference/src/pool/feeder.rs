//! One thread per worker slot feeds its worker one chunk at a time, reads the results back and
//! hands them to the submission they belong to. It always knows which chunk its worker holds,
//! so a worker that dies fails exactly that chunk's unfinished items, and a worker found dead
//! *before* it was given a chunk (killed while idle) is replaced and the chunk given to the
//! new one, since it never started.

use std::io::{self, BufReader, PipeReader, PipeWriter, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::jobs::Jobs;
use super::protocol::{self, INIT_FAILED, ITEMS, SLACK};
use super::worker::{Init, WORKER_ENTRY, WorkerBoot, WorkerConn};
use crate::error::PoolError;
use crate::framing;
use crate::os;
use crate::process::{Process, StartMethod};

/// How many times in a row a chunk is offered to fresh workers that die before taking it.
const MAX_HANDOVERS: usize = 3;

/// The results of a chunk's items, in chunk order: each position gets `item` (the worker's
/// encoded outcome) or `fail`. Positions left unresolved when the sink is dropped (the pool was
/// terminated) read as [`PoolError::Terminated`].
pub(crate) trait Sink: Send {
    fn item(&mut self, position: usize, tag: u8, bytes: &[u8]);
    fn fail(&mut self, position: usize, error: PoolError);
}

/// One chunk of a submission: the request frame, ready to write, and where its results go.
pub(crate) struct Job {
    pub(crate) frame: Vec<u8>,
    pub(crate) count: usize,
    pub(crate) sink: Box<dyn Sink>,
}

impl Job {
    fn fail_from(&mut self, from: usize, error: &PoolError) {
        for position in from..self.count {
            self.sink.fail(position, error.clone());
        }
    }
}

/// How the pool's workers are made and fed.
pub(crate) struct Config {
    pub(crate) method: StartMethod,
    pub(crate) limit: usize,
    pub(crate) maxtasks: Option<usize>,
    pub(crate) init: Option<Init>,
}

/// A worker process, however it was made.
pub(crate) enum WorkerProc {
    Spawned(Process),
    #[cfg(unix)]
    Served(super::fork_server::Served),
}

impl WorkerProc {
    pub(crate) fn pid(&self) -> u32 {
        match self {
            WorkerProc::Spawned(p) => p.pid().unwrap_or(0),
            #[cfg(unix)]
            WorkerProc::Served(s) => s.pid(),
        }
    }

    pub(crate) fn kill(&self) {
        match self {
            WorkerProc::Spawned(p) => drop(p.kill()),
            #[cfg(unix)]
            WorkerProc::Served(s) => s.kill(),
        }
    }

    /// Waits for the worker to exit (it has closed its pipes, or was told to) and returns
    /// its exit code; a worker that does not exit within the grace period is killed.
    fn wait(&self) -> i32 {
        let grace = Duration::from_secs(10);
        match self {
            WorkerProc::Spawned(p) => match p.join_timeout(grace) {
                Ok(Some(code)) => code,
                _ => {
                    let _ = p.kill();
                    p.join().unwrap_or(-1)
                }
            },
            #[cfg(unix)]
            WorkerProc::Served(s) => s.wait(grace).unwrap_or_else(|| {
                s.kill();
                s.wait(Duration::MAX).unwrap_or(-1)
            }),
        }
    }
}

/// A worker as its feeder sees it: the process and the pool's ends of its pipes.
pub(crate) struct Worker {
    proc: Arc<WorkerProc>,
    reader: BufReader<PipeReader>,
    writer: PipeWriter,
    tasks: usize,
}

impl Worker {
    fn new(proc: WorkerProc, reader: PipeReader, writer: PipeWriter) -> Self {
        Worker { proc: Arc::new(proc), reader: BufReader::with_capacity(64 << 10, reader), writer, tasks: 0 }
    }

    pub(crate) fn proc(&self) -> Arc<WorkerProc> {
        self.proc.clone()
    }

    /// Kills and reaps a worker that will never be used (the pool failed to start).
    pub(crate) fn abandon(self) {
        self.proc.kill();
        self.proc.wait();
    }
}

static NEXT_WORKER: AtomicUsize = AtomicUsize::new(1);

/// Workers being started for a new pool: spawned ones are started already; those of the fork
/// server are asked for together, and come when [`finish`](Self::finish) reads the answers.
pub(crate) enum Starting {
    Ready(Vec<Result<Worker, PoolError>>),
    #[cfg(unix)]
    Served(super::fork_server::Pending, Vec<(PipeReader, PipeWriter)>),
}

impl Starting {
    pub(crate) fn finish(self) -> Vec<Result<Worker, PoolError>> {
        match self {
            Starting::Ready(workers) => workers,
            #[cfg(unix)]
            Starting::Served(pending, ours) => pending
                .collect()
                .into_iter()
                .zip(ours)
                .map(|(s, (reader, writer))| s.map(|s| Worker::new(WorkerProc::Served(s), reader, writer)))
                .collect(),
        }
    }
}

/// Starts `n` workers for a new pool (see [`Starting`]).
pub(crate) fn start_workers(cfg: &Config, n: usize) -> Starting {
    #[cfg(unix)]
    if cfg.method == StartMethod::Fork {
        return request_served(cfg, n);
    }
    Starting::Ready((0..n).map(|_| start_worker(cfg)).collect())
}

fn worker_name() -> String {
    format!("PoolWorker-{}", NEXT_WORKER.fetch_add(1, Ordering::Relaxed))
}

fn start_error(e: io::Error) -> PoolError {
    PoolError::WorkerStart(e.to_string())
}

/// Starts a worker for a pool of `cfg`.
pub(crate) fn start_worker(cfg: &Config) -> Result<Worker, PoolError> {
    #[cfg(unix)]
    if cfg.method == StartMethod::Fork {
        return request_served(cfg, 1).finish().pop().unwrap_or(Err(PoolError::WorkerStart("no worker".into())));
    }
    if !cfg.method.is_available() {
        return Err(PoolError::WorkerStart(format!(
            "start method {} is not available on this OS",
            cfg.method.as_str()
        )));
    }
    let (req_r, req_w) = io::pipe().map_err(start_error)?;
    let (rep_r, rep_w) = io::pipe().map_err(start_error)?;
    let boot =
        WorkerBoot { conn: WorkerConn { reader: req_r, writer: rep_w }, init: cfg.init.clone(), limit: cfg.limit };
    let mut p = Process::new(&WORKER_ENTRY, boot).name(worker_name()).daemon(true).unlisted();
    p.start().map_err(|e| PoolError::WorkerStart(e.to_string()))?;
    Ok(Worker::new(WorkerProc::Spawned(p), rep_r, req_w))
}

#[cfg(unix)]
fn request_served(cfg: &Config, n: usize) -> Starting {
    use super::fork_server::{self, Order};
    let mut orders = Vec::with_capacity(n);
    let mut ours = Vec::with_capacity(n);
    for _ in 0..n {
        let pipes = io::pipe().and_then(|(req_r, req_w)| io::pipe().map(|(rep_r, rep_w)| (req_r, req_w, rep_r, rep_w)));
        match pipes {
            Ok((req_r, req_w, rep_r, rep_w)) => {
                orders.push(Order { name: worker_name(), reader: req_r, writer: rep_w });
                ours.push((rep_r, req_w));
            }
            Err(e) => {
                let reason = e.to_string();
                return Starting::Ready((0..n).map(|_| Err(PoolError::WorkerStart(reason.clone()))).collect());
            }
        }
    }
    Starting::Served(fork_server::request_workers(orders, cfg.init.as_ref(), cfg.limit), ours)
}

/// What a pool shares with its feeders.
pub(crate) struct Shared {
    pub(crate) jobs: Jobs<Job>,
    /// One entry per worker slot: the live worker, for `terminate` to kill.
    pub(crate) slots: Vec<Mutex<Option<Arc<WorkerProc>>>>,
    pub(crate) cfg: Config,
}

pub(crate) fn lock(m: &Mutex<Option<Arc<WorkerProc>>>) -> MutexGuard<'_, Option<Arc<WorkerProc>>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn install(&self, slot: usize, w: &Worker) {
        *lock(&self.slots[slot]) = Some(w.proc.clone());
    }

    fn vacate(&self, slot: usize) {
        *lock(&self.slots[slot]) = None;
    }

    /// Starts a worker for `slot`; if the pool was terminated meanwhile, kills it again.
    fn replace(&self, slot: usize) -> Result<Worker, PoolError> {
        let w = start_worker(&self.cfg)?;
        self.install(slot, &w);
        if self.jobs.is_terminated() {
            w.proc.kill();
        }
        Ok(w)
    }
}

/// Why reading a chunk's results stopped early.
enum Stop {
    /// End-of-file or a broken pipe: the worker is gone.
    Died,
    /// The worker's initializer failed (it exits next).
    InitFailed(String),
    /// The worker sent something that is not a reply.
    Protocol(String),
}

/// The slot's thread: gives the worker one chunk at a time; replaces it when it dies or has
/// done `maxtasksperchild` chunks.
pub(crate) fn feed(shared: &Shared, slot: usize, first: Worker) {
    let mut worker = Some(first);
    while let Some(job) = shared.jobs.next() {
        run_job(shared, slot, &mut worker, job);
    }
    if let Some(w) = worker.take() {
        retire(w);
    }
    shared.vacate(slot);
}

/// Closes the pool's end of a worker's pipes (it leaves its loop and exits) and reaps it.
///
/// A worker of the fork server is gone once its end of the pipe reaches end-of-file: a process's
/// descriptors close as it exits, after its memory is released. Its exit status, which only
/// the server (its parent) learns, is then not waited for: nobody needs it.
fn retire(w: Worker) {
    let Worker { proc, reader, writer, .. } = w;
    drop(writer);
    match &*proc {
        #[cfg(unix)]
        WorkerProc::Served(s) => {
            let mut reader = reader;
            if reached_eof(&mut reader, Duration::from_secs(10)) {
                s.dismiss();
            } else {
                proc.kill();
                proc.wait();
            }
        }
        _ => {
            proc.wait();
            drop(reader);
        }
    }
}

/// Reads (and drops) what is left on a retired worker's pipe until end-of-file, at most `grace`.
#[cfg(unix)]
fn reached_eof(reader: &mut BufReader<PipeReader>, grace: Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + grace;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if !matches!(os::wait_readable(reader.get_ref(), Some(left)), Ok(true)) {
            return false;
        }
        match reader.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// The worker to give a chunk to: the slot's current one if it is still there and idle, else
/// a new one. `Err` when none can be had; the chunk then fails with it.
fn ready_worker<'w>(shared: &Shared, slot: usize, worker: &'w mut Option<Worker>) -> Result<&'w mut Worker, PoolError> {
    if let Some(w) = worker.as_mut() {
        // An idle worker sends nothing: anything readable now is end-of-file (it died while
        // idle) or its initializer's failure.
        if matches!(os::wait_readable(w.reader.get_ref(), Some(Duration::ZERO)), Ok(false)) {
            return worker.as_mut().ok_or(PoolError::Terminated);
        }
        if let Some(Worker { proc, mut reader, .. }) = worker.take() {
            let stop = read_stop(&mut reader);
            proc.wait();
            shared.vacate(slot);
            if let Stop::InitFailed(message) = stop {
                return Err(PoolError::InitializerFailed { pid: proc.pid(), message });
            }
        }
    }
    *worker = Some(shared.replace(slot)?);
    worker.as_mut().ok_or(PoolError::Terminated)
}

/// What an idle worker's pipe says when it polled readable.
fn read_stop(reader: &mut BufReader<PipeReader>) -> Stop {
    match framing::read_frame(reader, 1 << 20) {
        Ok(body) if body.first() == Some(&INIT_FAILED) => {
            Stop::InitFailed(String::from_utf8_lossy(&body[1..]).into_owned())
        }
        Ok(_) => Stop::Protocol("a reply nobody asked for".into()),
        Err(_) => Stop::Died,
    }
}

fn run_job(shared: &Shared, slot: usize, worker: &mut Option<Worker>, mut job: Job) {
    let mut handovers = 0;
    loop {
        if shared.jobs.is_terminated() {
            return; // the job's unresolved items read as terminated
        }
        let w = match ready_worker(shared, slot, worker) {
            Ok(w) => w,
            Err(e) => {
                job.fail_from(0, &e);
                return;
            }
        };
        if w.writer.write_all(&job.frame).is_err() {
            // The worker was gone before it read a byte of the chunk: the chunk never started.
            if let Some(dead) = worker.take() {
                dead.proc.wait();
                shared.vacate(slot);
            }
            handovers += 1;
            if handovers >= MAX_HANDOVERS {
                job.fail_from(0, &PoolError::WorkerStart("fresh workers keep dying before taking a task".into()));
                return;
            }
            continue;
        }
        let mut done = 0;
        let stop = read_results(w, &mut job, &mut done, shared.cfg.limit);
        match stop {
            None => {
                w.tasks += 1;
                if shared.cfg.maxtasks.is_some_and(|max| w.tasks >= max)
                    && let Some(w) = worker.take()
                {
                    shared.vacate(slot);
                    retire(w);
                    // As CPython repopulates at once: the pool stays whole. A closed pool gets
                    // a worker only if a queued task needs one (see `ready_worker`).
                    if !shared.jobs.is_closed() {
                        *worker = shared.replace(slot).ok();
                    }
                }
                return;
            }
            Some(stop) => {
                let Some(dead) = worker.take() else { return };
                let pid = dead.proc.pid();
                if matches!(stop, Stop::Protocol(_)) {
                    dead.proc.kill();
                }
                let exitcode = dead.proc.wait();
                shared.vacate(slot);
                if shared.jobs.is_terminated() {
                    return;
                }
                let error = match stop {
                    Stop::Died => PoolError::WorkerDied { pid, exitcode },
                    Stop::InitFailed(message) => PoolError::InitializerFailed { pid, message },
                    Stop::Protocol(reason) => PoolError::Decode { what: "reply", reason },
                };
                // Replace first, then report: whoever reads the error finds the pool whole.
                if !matches!(error, PoolError::InitializerFailed { .. }) {
                    *worker = shared.replace(slot).ok();
                }
                job.fail_from(done, &error);
                return;
            }
        }
    }
}

/// Reads the results of the chunk just sent, delivering each; `None` once all arrived.
fn read_results(w: &mut Worker, job: &mut Job, done: &mut usize, limit: usize) -> Option<Stop> {
    while *done < job.count {
        let body = match framing::read_frame(&mut w.reader, limit + SLACK) {
            Ok(b) => b,
            Err(crate::ChannelError::TooLarge { size, limit }) => {
                return Some(Stop::Protocol(format!("a reply frame of {size} bytes is over {limit}")));
            }
            Err(_) => return Some(Stop::Died),
        };
        match body.first() {
            Some(&ITEMS) => {}
            Some(&INIT_FAILED) => return Some(Stop::InitFailed(String::from_utf8_lossy(&body[1..]).into_owned())),
            _ => return Some(Stop::Protocol("not a reply".into())),
        }
        let (first, items) = match protocol::parse_items(&body) {
            Ok(parsed) => parsed,
            Err(e) => return Some(Stop::Protocol(e)),
        };
        if first != *done {
            return Some(Stop::Protocol(format!("results for item {first}, expected {done}")));
        }
        for (tag, bytes) in items {
            if *done >= job.count {
                return Some(Stop::Protocol("more results than items".into()));
            }
            job.sink.item(*done, tag, bytes);
            *done += 1;
        }
    }
    None
}
