//! `Pool`: a fixed number of worker processes, like the chapter's `multiprocessing.Pool`.
//!
//! Each worker has its own pair of pipes to the parent and one parent thread that feeds it one
//! chunk of items at a time (see `feeder`), so no more than `processes` chunks ever run at
//! once and the parent always knows which chunk a worker holds. When a worker dies (a crash,
//! even SIGKILL), that thread fails the chunk's unfinished items with
//! [`PoolError::WorkerDied`], starts a replacement, and the pool goes on; CPython's pool hangs
//! for ever in that case.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::collect::{Collector, IMapQueue, MapCollect, Single, default_chunksize};
use super::feeder::{self, Config, Job, Shared, Sink, Worker};
use super::imap::IMapIterator;
use super::jobs::Jobs;
use super::protocol::{self, Request, SLACK};
use super::result::{self, AsyncResult, Callbacks};
use super::worker::Init;
use crate::codec;
use crate::entry::{Entry, Task};
use crate::error::PoolError;
use crate::framing::DEFAULT_MAX_MESSAGE;
use crate::process::StartMethod;

/// Options of a [`Pool`], CPython's `Pool(processes, initializer, initargs, maxtasksperchild)`
/// plus the start method and the message limit.
#[derive(Debug)]
pub struct PoolBuilder {
    processes: usize,
    method: StartMethod,
    maxtasks: Option<usize>,
    init: Option<Result<Init, PoolError>>,
    limit: usize,
}

impl PoolBuilder {
    /// How workers are made: spawned (the default), or forked from the fork server.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// Each worker exits after `n` tasks (a chunk of a `map` counts as one) and a fresh one
    /// takes its place. `0` is refused when the pool starts, as CPython refuses it.
    pub fn maxtasksperchild(mut self, n: usize) -> Self {
        self.maxtasks = Some(n);
        self
    }

    /// Each worker runs `entry(args)` once before any task (CPython's `initializer` and
    /// `initargs`); `entry` must be registered with [`dispatch`](crate::dispatch). If it
    /// panics, the tasks given to that worker fail with [`PoolError::InitializerFailed`].
    pub fn initializer<I: Serialize>(mut self, entry: &'static Entry<I>, args: I) -> Self {
        let init = serde_json::to_string(&args)
            .map(|args| Init { entry: entry.name().to_string(), args })
            .map_err(|e| PoolError::Encode { what: "arguments", reason: e.to_string() });
        self.init = Some(init);
        self
    }

    /// The largest encoded arguments or result of one item (default
    /// [`DEFAULT_MAX_MESSAGE`], 16 MiB); over it, that item fails with [`PoolError::TooLarge`].
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// Starts the workers. A worker that cannot be started fails the whole pool (the ones
    /// already started are killed).
    pub fn start(self) -> Result<Pool, PoolError> {
        if self.processes == 0 {
            return Err(PoolError::InvalidOption { option: "processes", reason: "a pool needs at least one worker" });
        }
        if self.maxtasks == Some(0) {
            return Err(PoolError::InvalidOption { option: "maxtasksperchild", reason: "must be at least 1" });
        }
        if !self.method.is_available() {
            return Err(PoolError::WorkerStart(format!(
                "start method {} is not available on this OS",
                self.method.as_str()
            )));
        }
        let init = self.init.transpose()?;
        let n = self.processes;
        let cfg = Config { method: self.method, limit: self.limit, maxtasks: self.maxtasks, init };
        let starting = feeder::start_workers(&cfg, n);
        let slots = (0..n).map(|_| Mutex::new(None)).collect();
        let shared = Arc::new(Shared { jobs: Jobs::new(), slots, cfg });
        // The feeder threads start while the workers are made (the fork server forks meanwhile);
        // each receives its worker once all are there.
        let mut feeders = Vec::with_capacity(n);
        let mut handoffs = Vec::with_capacity(n);
        let mut thread_error = None;
        for slot in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Worker>(1);
            let shared2 = shared.clone();
            let spawned = std::thread::Builder::new().name(format!("pool-feeder-{}", slot + 1)).spawn(move || {
                if let Ok(w) = rx.recv() {
                    feeder::feed(&shared2, slot, w);
                }
            });
            match spawned {
                Ok(h) => {
                    feeders.push(h);
                    handoffs.push(tx);
                }
                Err(e) => {
                    thread_error = Some(PoolError::WorkerStart(format!("cannot start a feeder thread: {e}")));
                    break;
                }
            }
        }
        let workers = starting.finish();
        let failure = thread_error.or_else(|| workers.iter().find_map(|w| w.as_ref().err().cloned()));
        if let Some(e) = failure {
            drop(handoffs); // the feeders see no worker coming and return
            feeders.into_iter().for_each(|f| drop(f.join()));
            workers.into_iter().flatten().for_each(Worker::abandon);
            return Err(e);
        }
        for (slot, (w, tx)) in workers.into_iter().flatten().zip(handoffs).enumerate() {
            *feeder::lock(&shared.slots[slot]) = Some(w.proc());
            if let Err(std::sync::mpsc::SendError(w)) = tx.send(w) {
                w.abandon();
            }
        }
        Ok(Pool { shared, feeders, size: n })
    }
}

/// A pool of worker processes running registered [`Task`]s.
///
/// ```no_run
/// # use procthread::{Pool, Task};
/// static SQUARE: Task<i64, i64> = Task::new("square", |x| x * x);
/// let mut pool = Pool::new(4)?;
/// assert_eq!(pool.map(&SQUARE, 0..10)?, (0..10).map(|x| x * x).collect::<Vec<_>>());
/// assert_eq!(*pool.apply_async(&SQUARE, 7)?.get(None)?, 49);
/// pool.close();
/// pool.join()?;
/// # Ok::<(), procthread::PoolError>(())
/// ```
///
/// `map` splits its items into chunks (CPython's rule: four chunks per worker), so that many
/// tiny tasks cost one round trip per chunk, not per item. A task's failure fails its own item
/// only, keeping its kind (see [`PoolError`]).
///
/// With [`StartMethod::Fork`] (Unix), workers are forked from a fork server: a small process
/// started once per program (spawned, like CPython's `forkserver`), so the pool can start and
/// replace workers from a multi-threaded parent, cheaply. Workers see the program as freshly
/// started plus what the initializer sets up, not the parent's state at the time of the pool.
///
/// Dropping a pool that was not joined terminates it (CPython's `with Pool(...)` does the same).
pub struct Pool {
    shared: Arc<Shared>,
    feeders: Vec<JoinHandle<()>>,
    size: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("size", &self.size).field("method", &self.shared.cfg.method).finish()
    }
}

/// The typed side of a chunk: decodes each item's outcome as `R` and delivers it.
struct TypedSink<R> {
    indices: Vec<usize>,
    resolved: Vec<bool>,
    collector: Arc<dyn Collector<R>>,
}

impl<R: DeserializeOwned + Send> Sink for TypedSink<R> {
    fn item(&mut self, position: usize, tag: u8, bytes: &[u8]) {
        self.resolve(position, protocol::decode_item(tag, bytes));
    }

    fn fail(&mut self, position: usize, error: PoolError) {
        self.resolve(position, Err(error));
    }
}

impl<R> TypedSink<R> {
    fn resolve(&mut self, position: usize, result: Result<R, PoolError>) {
        if let (Some(done), Some(&index)) = (self.resolved.get_mut(position), self.indices.get(position))
            && !*done
        {
            *done = true;
            self.collector.deliver(index, result);
        }
    }
}

impl<R> Drop for TypedSink<R> {
    fn drop(&mut self) {
        for position in 0..self.indices.len() {
            self.resolve(position, Err(PoolError::Terminated));
        }
    }
}

/// Cuts a submission's items into jobs of at most `chunksize` items, each job's frame within
/// what a worker accepts. An item that cannot be encoded, or is over the limit, fails at once,
/// alone (it never reaches a worker).
struct Chunker<R> {
    task: &'static str,
    chunksize: usize,
    limit: usize,
    collector: Arc<dyn Collector<R>>,
    scratch: Vec<u8>,
    /// An encoded item that did not fit in the previous job.
    carry: Option<(usize, Vec<u8>)>,
}

impl<R: DeserializeOwned + Send + 'static> Chunker<R> {
    /// The next job, and how many items it consumed from `items` (including items that failed
    /// at once); `(None, 0)` when the input is exhausted.
    fn next<A: Serialize>(&mut self, items: &mut impl Iterator<Item = (usize, A)>) -> (Option<Job>, usize) {
        let mut request = Request::new(self.task);
        let mut indices = Vec::new();
        let mut consumed = 0;
        if let Some((index, bytes)) = self.carry.take() {
            request.push(&bytes);
            indices.push(index);
        }
        while indices.len() < self.chunksize {
            let Some((index, item)) = items.next() else { break };
            consumed += 1;
            self.scratch.clear();
            if let Err(e) = codec::encode_into(&mut self.scratch, &item) {
                self.collector.deliver(index, Err(PoolError::Encode { what: "arguments", reason: e.to_string() }));
                continue;
            }
            let size = self.scratch.len();
            if size > self.limit {
                self.collector.deliver(index, Err(PoolError::TooLarge { what: "arguments", size, limit: self.limit }));
                continue;
            }
            if !indices.is_empty() && request.len() + size + 4 > self.limit + SLACK / 2 {
                self.carry = Some((index, std::mem::take(&mut self.scratch)));
                break;
            }
            request.push(&self.scratch);
            indices.push(index);
        }
        if indices.is_empty() {
            return (None, consumed);
        }
        let count = request.count();
        let sink = TypedSink { resolved: vec![false; indices.len()], indices, collector: self.collector.clone() };
        (Some(Job { frame: request.finish(), count, sink: Box::new(sink) }), consumed)
    }
}

impl Pool {
    /// A pool of `processes` spawned workers; `0` is an error (CPython raises `ValueError`).
    pub fn new(processes: usize) -> Result<Pool, PoolError> {
        Self::builder(processes).start()
    }

    pub fn with_method(processes: usize, method: StartMethod) -> Result<Pool, PoolError> {
        Self::builder(processes).start_method(method).start()
    }

    /// A pool with more options (initializer, `maxtasksperchild`, start method, message limit).
    pub fn builder(processes: usize) -> PoolBuilder {
        PoolBuilder { processes, method: StartMethod::Spawn, maxtasks: None, init: None, limit: DEFAULT_MAX_MESSAGE }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn method(&self) -> StartMethod {
        self.shared.cfg.method
    }

    /// Pids of the live workers.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.slots.iter().filter_map(|s| feeder::lock(s).as_ref().map(|w| w.pid())).collect()
    }

    fn chunker<R>(&self, task: &'static str, chunksize: usize, collector: Arc<dyn Collector<R>>) -> Chunker<R> {
        Chunker {
            task,
            chunksize: chunksize.max(1),
            limit: self.shared.cfg.limit,
            collector,
            scratch: Vec::new(),
            carry: None,
        }
    }

    /// Submits every item, in chunks; the results go to `collector`.
    fn submit<A, R>(
        &self,
        task: &'static str,
        items: Vec<A>,
        chunksize: Option<usize>,
        collector: Arc<dyn Collector<R>>,
    ) -> Result<(), PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        if self.shared.jobs.is_closed() {
            return Err(PoolError::Closed);
        }
        let chunksize = chunksize.unwrap_or_else(|| default_chunksize(items.len(), self.size));
        let mut chunker = self.chunker(task, chunksize, collector);
        let mut items = items.into_iter().enumerate();
        loop {
            match chunker.next(&mut items) {
                (Some(job), _) => self.shared.jobs.push(job)?,
                (None, 0) => return Ok(()),
                (None, _) => {}
            }
        }
    }

    /// Runs `task(args)` on a worker and waits for its result (CPython's `apply`).
    pub fn apply<A, R, E>(&self, task: &'static Task<A, R, E>, args: A) -> Result<R, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let (shot, tx) = result::oneshot();
        self.submit(task.name(), vec![args], Some(1), Arc::new(Single::new(Box::new(tx))))?;
        shot.take()
    }

    /// Queues `task(args)` for the next free worker.
    pub fn apply_async<A, R, E>(&self, task: &'static Task<A, R, E>, args: A) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        self.apply_async_with(task, args, Callbacks::new())
    }

    /// [`apply_async`](Self::apply_async) with CPython's `callback` and `error_callback`.
    pub fn apply_async_with<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        args: A,
        callbacks: Callbacks<R>,
    ) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        let (handle, completer) = result::pending(callbacks);
        self.submit(task.name(), vec![args], Some(1), Arc::new(Single::new(Box::new(completer))))?;
        Ok(handle)
    }

    /// Runs `task` on every item and returns the results in order, or the first failure to
    /// arrive once all items are done. Chunks follow CPython's default rule.
    pub fn map<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.map_inner(task, items, None)
    }

    /// [`map`](Self::map) with chunks of `chunksize` items.
    pub fn map_chunked<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.map_inner(task, items, Some(chunksize))
    }

    fn map_inner<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let (shot, tx) = result::oneshot();
        let collector = Arc::new(MapCollect::new(items.len(), Box::new(tx)));
        self.submit(task.name(), items, chunksize, collector)?;
        shot.take()
    }

    /// CPython's `starmap`: the task's arguments are a tuple, one per item. In Rust a task
    /// already takes its arguments as one value, so this is [`map`](Self::map).
    pub fn starmap<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.map(task, items)
    }

    /// [`map`](Self::map) without waiting: one handle for the whole list.
    pub fn map_async<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        self.map_async_with(task, items, None, Callbacks::new())
    }

    /// [`map_async`](Self::map_async) with a chunk size (`None`: CPython's default) and
    /// callbacks: `callback` gets the whole list, `error_callback` the first failure.
    pub fn map_async_with<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let (handle, completer) = result::pending(callbacks);
        let collector = Arc::new(MapCollect::new(items.len(), Box::new(completer)));
        self.submit(task.name(), items, chunksize, collector)?;
        Ok(handle)
    }

    /// CPython's `starmap_async`: [`map_async`](Self::map_async) (see [`starmap`](Self::starmap)).
    pub fn starmap_async<A, R, E>(
        &self,
        task: &'static Task<A, R, E>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
    {
        self.map_async(task, items)
    }

    /// Results one by one, in order, as they arrive; items are taken from `items` lazily, a few
    /// chunks ahead of the reader. One item per chunk (CPython's default for `imap`).
    pub fn imap<'p, A, R, E, I>(
        &'p self,
        task: &'static Task<A, R, E>,
        items: I,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.imap_inner(task, items, 1, true)
    }

    /// [`imap`](Self::imap) with chunks of `chunksize` items.
    pub fn imap_chunked<'p, A, R, E, I>(
        &'p self,
        task: &'static Task<A, R, E>,
        items: I,
        chunksize: usize,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.imap_inner(task, items, chunksize, true)
    }

    /// [`imap`](Self::imap), but each result as soon as it arrives, whatever its position.
    pub fn imap_unordered<'p, A, R, E, I>(
        &'p self,
        task: &'static Task<A, R, E>,
        items: I,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.imap_inner(task, items, 1, false)
    }

    /// [`imap_unordered`](Self::imap_unordered) with chunks of `chunksize` items.
    pub fn imap_unordered_chunked<'p, A, R, E, I>(
        &'p self,
        task: &'static Task<A, R, E>,
        items: I,
        chunksize: usize,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.imap_inner(task, items, chunksize, false)
    }

    fn imap_inner<'p, A, R, E, I>(
        &'p self,
        task: &'static Task<A, R, E>,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        if !self.shared.jobs.add_producer() {
            return Err(PoolError::Closed);
        }
        let queue = Arc::new(IMapQueue::new(ordered));
        let mut chunker = self.chunker(task.name(), chunksize, queue.clone() as Arc<dyn Collector<R>>);
        let mut items = items.into_iter().enumerate();
        let jobs = &self.shared.jobs;
        let submit = Box::new(move || match chunker.next(&mut items) {
            (Some(job), consumed) => jobs.push_produced(job).map(|()| Some(consumed)),
            (None, 0) => Ok(None),
            (None, consumed) => Ok(Some(consumed)),
        });
        let release = Box::new(move || jobs.remove_producer());
        Ok(IMapIterator::new(queue, submit, release, chunksize, self.size))
    }

    /// No more tasks; workers finish the queued ones, then exit.
    pub fn close(&self) {
        self.shared.jobs.close();
    }

    /// Discards queued tasks and kills every worker at once; unfinished tasks read as
    /// [`PoolError::Terminated`].
    pub fn terminate(&self) {
        drop(self.shared.jobs.terminate());
        for slot in &self.shared.slots {
            if let Some(w) = feeder::lock(slot).as_ref() {
                w.kill();
            }
        }
    }

    /// Waits for every worker to exit; call [`close`](Self::close) or [`terminate`](Self::terminate) first.
    pub fn join(&mut self) -> Result<(), PoolError> {
        if !self.shared.jobs.is_closed() {
            return Err(PoolError::JoinBeforeClose);
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
