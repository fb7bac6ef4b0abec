//! `JoinableQueue`: a [`Queue`] that also counts unfinished tasks, as CPython's.

use std::io;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Queue;
use crate::deadline;
use crate::error::ChannelError;

/// A [`Queue`] whose consumers mark each item done ([`task_done`](Self::task_done)), so that a
/// producer can wait until everything put was processed ([`join`](Self::join)). The count is
/// shared by every process of the queue. It derefs to the [`Queue`] for `get`, `qsize`, `close`
/// and the rest.
#[derive(Debug, Clone)]
pub struct JoinableQueue {
    queue: Queue,
}

impl JoinableQueue {
    pub fn new() -> io::Result<JoinableQueue> {
        Ok(JoinableQueue { queue: Queue::new()? })
    }

    /// A joinable queue holding at most `maxsize` items (0: unbounded).
    pub fn with_maxsize(maxsize: usize) -> io::Result<JoinableQueue> {
        Ok(JoinableQueue { queue: Queue::with_maxsize(maxsize)? })
    }

    /// [`Queue::put`], counting one more unfinished task.
    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        self.counted(|q| q.put(value))
    }

    /// [`Queue::put_timeout`], counting one more unfinished task.
    pub fn put_timeout<T: Serialize + ?Sized>(&self, value: &T, timeout: Duration) -> Result<(), ChannelError> {
        self.counted(|q| q.put_timeout(value, timeout))
    }

    /// [`Queue::put_nowait`], counting one more unfinished task.
    pub fn put_nowait<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        self.counted(|q| q.put_nowait(value))
    }

    fn counted(&self, put: impl FnOnce(&Queue) -> Result<(), ChannelError>) -> Result<(), ChannelError> {
        let counters = &self.queue.inner.chan.counters;
        counters.task_added();
        put(&self.queue).inspect_err(|_| {
            counters.task_done();
        })
    }

    /// Takes the oldest value (see [`Queue::get`]); mark it done with
    /// [`task_done`](Self::task_done) once processed.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        self.queue.get()
    }

    /// Marks one item taken from the queue as processed. More calls than items put are
    /// [`ChannelError::TaskDoneTooManyTimes`] (CPython's `ValueError`).
    pub fn task_done(&self) -> Result<(), ChannelError> {
        if self.queue.inner.chan.counters.task_done() { Ok(()) } else { Err(ChannelError::TaskDoneTooManyTimes) }
    }

    /// Waits until every item put (by any process) was marked done.
    pub fn join(&self) {
        self.queue.inner.chan.counters.join(None);
    }

    /// [`join`](Self::join) for at most `timeout`: `false` if tasks were still unfinished.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.queue.inner.chan.counters.join(deadline::after(timeout))
    }
}

impl std::ops::Deref for JoinableQueue {
    type Target = Queue;
    fn deref(&self) -> &Queue {
        &self.queue
    }
}

impl Serialize for JoinableQueue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(s)
    }
}

impl<'de> Deserialize<'de> for JoinableQueue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(JoinableQueue { queue: Queue::deserialize(d)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_waits_for_every_task_done_and_extra_task_done_is_an_error() {
        let q = JoinableQueue::new().expect("queue");
        assert!(q.join_timeout(Duration::ZERO), "nothing put: joined at once");
        for i in 0..10 {
            q.put(&i).expect("put");
        }
        assert!(!q.join_timeout(Duration::from_millis(20)), "ten unfinished");
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let _: i32 = q.get().expect("get");
                    q.task_done().expect("done");
                }
            })
        };
        q.join();
        worker.join().expect("worker");
        assert!(matches!(q.task_done(), Err(ChannelError::TaskDoneTooManyTimes)));
    }
}
