//! `ThreadPool`: the process pool's API over worker threads (CPython's
//! `multiprocessing.pool.ThreadPool`), for side-by-side comparison.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::collect::{Collector, IMapQueue, MapCollect, Single, default_chunksize};
use super::failure::run_captured;
use super::imap::IMapIterator;
use super::jobs::Jobs;
use super::result::{self, AsyncResult, Callbacks};
use crate::error::PoolError;

/// A unit of work for a worker thread; told the initializer's failure, if any.
trait Run: Send {
    fn run(self: Box<Self>, init_failed: Option<&str>);
}

type Job = Box<dyn Run>;

/// A chunk of items for one function. Items never run (the pool was terminated) are delivered
/// as [`PoolError::Terminated`] when the chunk is dropped.
struct Chunk<T, R> {
    f: Arc<dyn Fn(T) -> R + Send + Sync>,
    items: VecDeque<(usize, T)>,
    collector: Arc<dyn Collector<R>>,
}

impl<T: Send, R: Send> Run for Chunk<T, R> {
    fn run(mut self: Box<Self>, init_failed: Option<&str>) {
        while let Some((index, item)) = self.items.pop_front() {
            let result = match init_failed {
                Some(message) => {
                    Err(PoolError::InitializerFailed { pid: std::process::id(), message: message.to_string() })
                }
                None => {
                    run_captured(|| (self.f)(item)).map_err(|(message, remote)| PoolError::Panicked { message, remote })
                }
            };
            self.collector.deliver(index, result);
        }
    }
}

impl<T, R> Drop for Chunk<T, R> {
    fn drop(&mut self) {
        for (index, _) in self.items.drain(..) {
            self.collector.deliver(index, Err(PoolError::Terminated));
        }
    }
}

type Init = Arc<dyn Fn() + Send + Sync>;

/// Options of a [`ThreadPool`]: its size and an initializer.
pub struct ThreadPoolBuilder {
    threads: usize,
    init: Option<Init>,
}

impl std::fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("threads", &self.threads)
            .field("initializer", &self.init.is_some())
            .finish()
    }
}

impl ThreadPoolBuilder {
    /// Each worker thread runs `f` once before any task (CPython's `initializer`); if it
    /// panics, the tasks that thread takes fail with [`PoolError::InitializerFailed`].
    pub fn initializer(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.init = Some(Arc::new(f));
        self
    }

    pub fn start(self) -> Result<ThreadPool, PoolError> {
        if self.threads == 0 {
            return Err(PoolError::InvalidOption { option: "processes", reason: "a pool needs at least one worker" });
        }
        let jobs = Arc::new(Jobs::<Job>::new());
        let mut threads = Vec::with_capacity(self.threads);
        for i in 1..=self.threads {
            let (jobs2, init) = (jobs.clone(), self.init.clone());
            let spawned = crate::thread::Builder::new().name(format!("PoolWorker-{i}")).spawn(move || {
                let init_failed = init.and_then(|f| run_captured(|| f()).err()).map(|(_, remote)| remote);
                while let Some(job) = jobs2.next() {
                    job.run(init_failed.as_deref());
                }
            });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    drop(jobs.terminate());
                    threads.into_iter().for_each(|t: JoinHandle<()>| drop(t.join()));
                    return Err(PoolError::WorkerStart(e.to_string()));
                }
            }
        }
        Ok(ThreadPool { jobs, threads, size: self.threads })
    }
}

/// A fixed number of worker threads (`PoolWorker-N`) taking tasks in submission order, with
/// [`Pool`](crate::Pool)'s API over closures.
///
/// `terminate` discards the tasks not yet started (they fail with [`PoolError::Terminated`]);
/// a task already running on a thread cannot be stopped and finishes first.
pub struct ThreadPool {
    jobs: Arc<Jobs<Job>>,
    threads: Vec<JoinHandle<()>>,
    size: usize,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool").field("size", &self.size).finish()
    }
}

impl ThreadPool {
    /// `threads` worker threads; `0` is an error (CPython raises `ValueError`).
    pub fn new(threads: usize) -> Result<ThreadPool, PoolError> {
        Self::builder(threads).start()
    }

    pub fn builder(threads: usize) -> ThreadPoolBuilder {
        ThreadPoolBuilder { threads, init: None }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn push_chunks<T, R>(
        &self,
        f: Arc<dyn Fn(T) -> R + Send + Sync>,
        items: Vec<T>,
        chunksize: usize,
        collector: Arc<dyn Collector<R>>,
    ) -> Result<(), PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        if self.jobs.is_closed() {
            return Err(PoolError::Closed);
        }
        let mut items = items.into_iter().enumerate().peekable();
        while items.peek().is_some() {
            let chunk: VecDeque<(usize, T)> = items.by_ref().take(chunksize.max(1)).collect();
            self.jobs.push(Box::new(Chunk { f: f.clone(), items: chunk, collector: collector.clone() }))?;
        }
        Ok(())
    }

    fn call_once<R, F>(&self, f: F, collector: Arc<dyn Collector<R>>) -> Result<(), PoolError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let call: Arc<dyn Fn(F) -> R + Send + Sync> = Arc::new(|g: F| g());
        self.push_chunks(call, vec![f], 1, collector)
    }

    /// Runs `f` on a worker thread and waits for its result.
    pub fn apply<R, F>(&self, f: F) -> Result<R, PoolError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (shot, tx) = result::oneshot();
        self.call_once(f, Arc::new(Single::new(Box::new(tx))))?;
        shot.take()
    }

    /// Queues `f`; a panic in it comes back as [`PoolError::Panicked`] on the handle.
    pub fn apply_async<R, F>(&self, f: F) -> Result<AsyncResult<R>, PoolError>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        self.apply_async_with(f, Callbacks::new())
    }

    /// [`apply_async`](Self::apply_async) with CPython's `callback` and `error_callback`.
    pub fn apply_async_with<R, F>(&self, f: F, callbacks: Callbacks<R>) -> Result<AsyncResult<R>, PoolError>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (handle, completer) = result::pending(callbacks);
        self.call_once(f, Arc::new(Single::new(Box::new(completer))))?;
        Ok(handle)
    }

    /// Applies `f` to every item on the pool and returns the results in order (or the first
    /// failure to arrive, once all are done). Chunks follow CPython's default rule.
    pub fn map<T, R, F>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<Vec<R>, PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.map_inner(f, items, None)
    }

    /// [`map`](Self::map) with chunks of `chunksize` items.
    pub fn map_chunked<T, R, F>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.map_inner(f, items, Some(chunksize))
    }

    fn map_inner<T, R, F>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        let items: Vec<T> = items.into_iter().collect();
        let chunksize = chunksize.unwrap_or_else(|| default_chunksize(items.len(), self.size));
        let (shot, tx) = result::oneshot();
        let collector = Arc::new(MapCollect::new(items.len(), Box::new(tx)));
        self.push_chunks(Arc::new(f), items, chunksize, collector)?;
        shot.take()
    }

    /// CPython's `starmap`: `f` takes the item (a tuple) whole, so this is [`map`](Self::map).
    pub fn starmap<T, R, F>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<Vec<R>, PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.map(f, items)
    }

    /// [`map`](Self::map) without waiting: one handle for the whole list.
    pub fn map_async<T, R, F>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        T: Send + 'static,
        R: Send + Sync + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.map_async_with(f, items, None, Callbacks::new())
    }

    /// [`map_async`](Self::map_async) with a chunk size (`None`: CPython's default) and callbacks.
    pub fn map_async_with<T, R, F>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        T: Send + 'static,
        R: Send + Sync + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        let items: Vec<T> = items.into_iter().collect();
        let chunksize = chunksize.unwrap_or_else(|| default_chunksize(items.len(), self.size));
        let (handle, completer) = result::pending(callbacks);
        let collector = Arc::new(MapCollect::new(items.len(), Box::new(completer)));
        self.push_chunks(Arc::new(f), items, chunksize, collector)?;
        Ok(handle)
    }

    /// Results one by one, in order, as they arrive; items are taken lazily.
    pub fn imap<'p, T, R, F, I>(&'p self, f: F, items: I) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'p,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.imap_inner(f, items, 1, true)
    }

    /// [`imap`](Self::imap) with chunks of `chunksize` items.
    pub fn imap_chunked<'p, T, R, F, I>(
        &'p self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'p,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.imap_inner(f, items, chunksize, true)
    }

    /// [`imap`](Self::imap), but each result as soon as it arrives.
    pub fn imap_unordered<'p, T, R, F, I>(&'p self, f: F, items: I) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'p,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.imap_inner(f, items, 1, false)
    }

    /// [`imap_unordered`](Self::imap_unordered) with chunks of `chunksize` items.
    pub fn imap_unordered_chunked<'p, T, R, F, I>(
        &'p self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'p,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.imap_inner(f, items, chunksize, false)
    }

    fn imap_inner<'p, T, R, F, I>(
        &'p self,
        f: F,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> Result<IMapIterator<'p, R>, PoolError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'p,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        if !self.jobs.add_producer() {
            return Err(PoolError::Closed);
        }
        let queue = Arc::new(IMapQueue::new(ordered));
        let collector: Arc<dyn Collector<R>> = queue.clone();
        let f: Arc<dyn Fn(T) -> R + Send + Sync> = Arc::new(f);
        let mut items = items.into_iter().enumerate();
        let jobs = &*self.jobs;
        let size = chunksize.max(1);
        let submit = Box::new(move || {
            let chunk: VecDeque<(usize, T)> = items.by_ref().take(size).collect();
            if chunk.is_empty() {
                return Ok(None);
            }
            let n = chunk.len();
            jobs.push_produced(Box::new(Chunk { f: f.clone(), items: chunk, collector: collector.clone() }) as Job)?;
            Ok(Some(n))
        });
        let release = Box::new(move || jobs.remove_producer());
        Ok(IMapIterator::new(queue, submit, release, size, self.size))
    }

    /// No more tasks; the workers finish the queued ones, then exit.
    pub fn close(&self) {
        self.jobs.close();
    }

    /// Discards the tasks not started; running ones finish (threads cannot be killed).
    pub fn terminate(&self) {
        drop(self.jobs.terminate());
    }

    /// Waits for the workers to exit; call [`close`](Self::close) or [`terminate`](Self::terminate) first.
    pub fn join(&mut self) -> Result<(), PoolError> {
        if !self.jobs.is_closed() {
            return Err(PoolError::JoinBeforeClose);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        Ok(())
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.terminate();
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn never_more_than_size_at_once_and_threads_are_reused() {
        let pool = ThreadPool::new(4).expect("pool");
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                pool.apply_async(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    running.fetch_sub(1, Ordering::SeqCst);
                    crate::thread::current_name()
                })
                .expect("apply")
            })
            .collect();
        let mut names: Vec<String> = handles.iter().map(|h| h.get(None).expect("result").clone()).collect();
        names.sort();
        names.dedup();
        assert!(names.len() <= 4, "{names:?}");
        assert!(peak.load(Ordering::SeqCst) <= 4);
        assert!(names.iter().all(|n| n.starts_with("PoolWorker-")));
    }

    #[test]
    fn panic_is_an_error_on_its_handle_and_the_pool_goes_on() {
        let mut pool = ThreadPool::new(2).expect("pool");
        let bad = pool.apply_async(|| -> i32 { panic!("task failed") }).expect("apply");
        match bad.get(None) {
            Err(PoolError::Panicked { message, remote }) => {
                assert_eq!(message, "task failed");
                assert!(remote.contains("thread_pool.rs"), "{remote}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pool.map(|x: i32| x * x, 0..5), Ok(vec![0, 1, 4, 9, 16]));
        pool.close();
        assert_eq!(pool.apply_async(|| 1).err(), Some(PoolError::Closed));
        pool.join().expect("join");
    }

    #[test]
    fn terminate_discards_queued_tasks() {
        let mut pool = ThreadPool::new(1).expect("pool");
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let slow = pool
            .apply_async(move || {
                let _ = started_tx.send(());
                std::thread::sleep(Duration::from_millis(50));
            })
            .expect("apply");
        let queued = pool.apply_async(|| 2).expect("apply");
        started_rx.recv_timeout(Duration::from_secs(30)).expect("the first task started");
        pool.terminate();
        assert_eq!(queued.get(None), Err(PoolError::Terminated));
        pool.join().expect("join");
        assert_eq!(slow.get(None), Ok(&()));
    }

    #[test]
    fn join_before_close_is_refused_and_zero_threads_too() {
        let mut pool = ThreadPool::new(1).expect("pool");
        assert_eq!(pool.join(), Err(PoolError::JoinBeforeClose));
        assert!(matches!(ThreadPool::new(0), Err(PoolError::InvalidOption { option: "processes", .. })));
    }

    #[test]
    fn imap_is_lazy_and_ordered_and_survives_close() {
        let mut pool = ThreadPool::new(2).expect("pool");
        let taken = Arc::new(AtomicUsize::new(0));
        let t = taken.clone();
        let endless = (0u64..).inspect(move |_| {
            t.fetch_add(1, Ordering::SeqCst);
        });
        let it = pool.imap(|x: u64| x * 2, endless).expect("imap");
        let first: Vec<u64> = it.take(5).map(|r| r.expect("ok")).collect();
        assert_eq!(first, vec![0, 2, 4, 6, 8]);
        assert!(taken.load(Ordering::SeqCst) < 100, "the input is read only a little ahead");
        let it = pool.imap_unordered_chunked(|x: u64| x, 0..50, 7).expect("imap");
        pool.close();
        let mut all: Vec<u64> = it.map(|r| r.expect("ok")).collect();
        all.sort();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
        pool.join().expect("join");
    }

    #[test]
    fn initializer_runs_once_per_thread() {
        let count = Arc::new(Mutex::new(0));
        let c = count.clone();
        let mut pool = ThreadPool::builder(3).initializer(move || *c.lock().expect("lock") += 1).start().expect("pool");
        assert_eq!(pool.map(|x: i32| x, 0..30).expect("map").len(), 30);
        pool.close();
        pool.join().expect("join");
        assert_eq!(*count.lock().expect("lock"), 3);
    }
}
