//! The scenario's queues and synchronization primitives, over the reference crate's types.
//!
//! A primitive of `process` scope is `threading`'s: made fresh in each process, shared by its
//! threads. One of `shared` scope is `multiprocessing`'s: made once by the executor and handed
//! to every process it starts. What the reference crate does not offer yet fails the step with
//! a "not available yet" error naming what is missing, so the rest of a scenario still runs.

use std::sync::Arc;
use std::time::Duration;

use procthread::{ChannelError, Lock, Queue, RLock};
use procthread_scenario::{ErrorKind, ResourceKind, Scope, SyncKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::actor::StepErr;

/// A step that needs what the reference crate lacks.
pub(crate) fn not_available(what: &str) -> StepErr {
    StepErr::other(format!("not available yet: {what} (the reference crate `procthread` does not provide it yet)"))
}

/// A queue resource as one process holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueueRt {
    queue: Queue,
    maxsize: usize,
    joinable: bool,
}

impl QueueRt {
    pub(crate) fn new(kind: &ResourceKind) -> std::io::Result<Option<QueueRt>> {
        let ResourceKind::Queue { maxsize, joinable, .. } = kind else { return Ok(None) };
        Ok(Some(QueueRt { queue: Queue::new()?, maxsize: *maxsize, joinable: *joinable }))
    }

    pub(crate) fn put(&self, v: &Value, timeout: Option<Duration>) -> Result<(), StepErr> {
        if self.maxsize > 0 {
            return Err(not_available("a queue with `maxsize` (Queue::with_maxsize, put with a timeout, Full)"));
        }
        if self.joinable {
            return Err(not_available("a joinable queue (JoinableQueue)"));
        }
        let _ = timeout; // an unbounded queue is never full
        self.queue.put(v).map_err(channel)
    }

    pub(crate) fn get(&self, timeout: Option<Duration>) -> Result<Value, StepErr> {
        if self.joinable {
            return Err(not_available("a joinable queue (JoinableQueue)"));
        }
        match timeout {
            Some(t) => self.queue.get_timeout(t),
            None => self.queue.get(),
        }
        .map_err(channel)
    }

    pub(crate) fn qsize(&self) -> Result<Value, StepErr> {
        Err(not_available("Queue::qsize"))
    }

    pub(crate) fn empty(&self) -> Result<Value, StepErr> {
        Err(not_available("Queue::empty"))
    }

    pub(crate) fn full(&self) -> Result<Value, StepErr> {
        Err(not_available("Queue::full"))
    }

    pub(crate) fn close(&self) -> Result<(), StepErr> {
        Err(not_available("Queue::close"))
    }

    pub(crate) fn task_done(&self) -> Result<(), StepErr> {
        Err(not_available("JoinableQueue::task_done"))
    }

    pub(crate) fn join(&self) -> Result<(), StepErr> {
        Err(not_available("JoinableQueue::join"))
    }
}

/// A lock, semaphore, event, condition or barrier as one process holds it.
#[derive(Debug, Clone)]
pub(crate) enum Prim {
    Lock(Arc<Lock>),
    RLock(Arc<RLock>),
    /// A kind (and scope) the reference crate does not offer yet.
    Missing(&'static str),
}

impl Prim {
    /// A fresh primitive of `process` scope, or `None` for other resources.
    pub(crate) fn new(kind: &ResourceKind) -> Option<Prim> {
        let ResourceKind::Sync { kind, scope, .. } = kind else { return None };
        Some(match (kind, scope) {
            (SyncKind::Lock, Scope::Process) => Prim::Lock(Arc::new(Lock::new())),
            (SyncKind::RLock, Scope::Process) => Prim::RLock(Arc::new(RLock::new())),
            (SyncKind::Lock, Scope::Shared) => Prim::Missing("a lock shared by processes (procthread::shared::Lock)"),
            (SyncKind::RLock, Scope::Shared) => {
                Prim::Missing("an rlock shared by processes (procthread::shared::RLock)")
            }
            (SyncKind::Semaphore, _) => Prim::Missing("Semaphore"),
            (SyncKind::BoundedSemaphore, _) => Prim::Missing("BoundedSemaphore"),
            (SyncKind::Event, _) => Prim::Missing("Event"),
            (SyncKind::Condition, _) => Prim::Missing("Condition"),
            (SyncKind::Barrier, _) => Prim::Missing("Barrier"),
        })
    }

    fn missing(&self) -> StepErr {
        match self {
            Prim::Missing(what) => not_available(what),
            _ => StepErr::other("this primitive does not do that"),
        }
    }

    /// Takes it, waiting at most `timeout` (`Some(0)`: try once); `timeout` if it did not.
    pub(crate) fn acquire(&self, timeout: Option<Duration>) -> Result<(), StepErr> {
        let taken = match (self, timeout) {
            (Prim::Lock(l), None) => {
                l.acquire();
                true
            }
            (Prim::Lock(l), Some(t)) => l.acquire_timeout(t),
            (Prim::RLock(l), None) => {
                l.acquire();
                true
            }
            (Prim::RLock(_), Some(_)) => return Err(not_available("RLock::acquire_timeout")),
            _ => return Err(self.missing()),
        };
        if taken {
            Ok(())
        } else {
            let t = timeout.unwrap_or_default();
            Err(StepErr::kind(ErrorKind::Timeout, format!("not acquired within {} ms", t.as_millis())))
        }
    }

    pub(crate) fn release(&self) -> Result<(), StepErr> {
        let r = match self {
            Prim::Lock(l) => l.release(),
            Prim::RLock(l) => l.release(),
            _ => return Err(self.missing()),
        };
        r.map_err(|e| match e {
            procthread::LockError::NotLocked => StepErr::kind(ErrorKind::NotLocked, e.to_string()),
            procthread::LockError::NotOwner => StepErr::kind(ErrorKind::NotOwner, e.to_string()),
            other => StepErr::other(other.to_string()),
        })
    }

    pub(crate) fn locked(&self) -> Result<Value, StepErr> {
        match self {
            Prim::Lock(l) => Ok(Value::from(l.is_locked())),
            _ => Err(self.missing()),
        }
    }

    pub(crate) fn is_set(&self) -> Result<Value, StepErr> {
        Err(self.missing())
    }

    pub(crate) fn set(&self) -> Result<(), StepErr> {
        Err(self.missing())
    }

    pub(crate) fn clear(&self) -> Result<(), StepErr> {
        Err(self.missing())
    }

    /// Event: until set; condition: until notified; barrier: until all arrive (its index).
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<Value, StepErr> {
        let _ = timeout;
        Err(self.missing())
    }

    pub(crate) fn notify(&self, n: usize) -> Result<(), StepErr> {
        let _ = n;
        Err(self.missing())
    }

    pub(crate) fn notify_all(&self) -> Result<(), StepErr> {
        Err(self.missing())
    }

    pub(crate) fn n_waiting(&self) -> Result<Value, StepErr> {
        Err(self.missing())
    }

    pub(crate) fn broken(&self) -> Result<Value, StepErr> {
        Err(self.missing())
    }

    pub(crate) fn abort(&self) -> Result<(), StepErr> {
        Err(self.missing())
    }

    pub(crate) fn reset(&self) -> Result<(), StepErr> {
        Err(self.missing())
    }
}

/// A channel error as a step error of the kind the language names.
pub(crate) fn channel(e: ChannelError) -> StepErr {
    match e {
        ChannelError::Eof => StepErr::kind(ErrorKind::Eof, e.to_string()),
        ChannelError::Empty(_) => StepErr::kind(ErrorKind::Timeout, e.to_string()),
        other => StepErr::other(other.to_string()),
    }
}
