//! `ThreadPool`: the process pool's API over worker threads, for side-by-side comparison.

use std::sync::Arc;
use std::thread::JoinHandle;

use super::jobs::Jobs;
use super::result::{self, AsyncResult};
use crate::entry::run_caught;
use crate::error::PoolError;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed number of worker threads (`PoolWorker-N`) taking tasks in submission order.
///
/// `terminate` discards the tasks not yet started (their handles give [`PoolError::Terminated`]);
/// a task already running on a thread cannot be stopped and finishes first.
pub struct ThreadPool {
    jobs: Arc<Jobs<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool").field("size", &self.threads.len()).finish()
    }
}

impl ThreadPool {
    pub fn new(size: usize) -> std::io::Result<ThreadPool> {
        let jobs = Arc::new(Jobs::<Job>::new());
        let threads = (1..=size.max(1))
            .map(|i| {
                let jobs = jobs.clone();
                crate::thread::Builder::new().name(format!("PoolWorker-{i}")).spawn(move || {
                    while let Some(job) = jobs.next() {
                        job();
                    }
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(ThreadPool { jobs, threads })
    }

    pub fn size(&self) -> usize {
        self.threads.len()
    }

    /// Queues `f`; a panic in it comes back as [`PoolError::Panicked`] on the handle.
    pub fn apply_async<R, F>(&self, f: F) -> Result<AsyncResult<R>, PoolError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (handle, done) = result::pending();
        self.jobs.push(Box::new(move || done.complete(run_caught(f).map_err(PoolError::Panicked))))?;
        Ok(handle)
    }

    /// Applies `f` to every item on the pool and returns the results in order.
    pub fn map<T, R, F>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<Vec<R>, PoolError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let handles = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.apply_async(move || f(item))
            })
            .collect::<Result<Vec<_>, _>>()?;
        handles.into_iter().map(|h| h.get(None)).collect()
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
            return Err(PoolError::Failed("join before close or terminate".into()));
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
        let mut names: Vec<String> = handles.iter().map(|h| h.get(None).expect("result")).collect();
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
        assert_eq!(bad.get(None), Err(PoolError::Panicked("task failed".into())));
        assert_eq!(pool.map(|x: i32| x * x, 0..5), Ok(vec![0, 1, 4, 9, 16]));
        pool.close();
        assert_eq!(pool.apply_async(|| 1).err(), Some(PoolError::Closed));
        pool.join().expect("join");
    }

    #[test]
    fn terminate_discards_queued_tasks() {
        let mut pool = ThreadPool::new(1).expect("pool");
        let slow = pool.apply_async(|| std::thread::sleep(Duration::from_millis(50))).expect("apply");
        let queued = pool.apply_async(|| 2).expect("apply");
        std::thread::sleep(Duration::from_millis(10));
        pool.terminate();
        assert_eq!(queued.get(None), Err(PoolError::Terminated));
        pool.join().expect("join");
        assert_eq!(slow.get(None), Ok(()));
    }

    #[test]
    fn join_before_close_is_refused() {
        let mut pool = ThreadPool::new(1).expect("pool");
        assert!(pool.join().is_err());
    }
}
