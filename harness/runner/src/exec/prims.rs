//! The scenario's queues and synchronization primitives, over the reference crate's types.
//!
//! A primitive of `process` scope is `threading`'s (`procthread::Lock`, `Event`...): made fresh
//! in each process, shared by its threads. One of `shared` scope is `multiprocessing`'s
//! (`procthread::shared::*`): made once by the executor and handed to every process it starts.
//! Each maps the reference's errors to the language's error kinds.

use std::sync::Arc;
use std::time::Duration;

use procthread::{ChannelError, JoinableQueue, LockError, Queue, shared};
use procthread_scenario::{ErrorKind, ResourceKind, Scope, SyncKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::actor::StepErr;

/// A queue resource as one process holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum QueueRt {
    Plain(Queue),
    Joinable(JoinableQueue),
}

impl QueueRt {
    pub(crate) fn new(kind: &ResourceKind) -> std::io::Result<Option<QueueRt>> {
        let ResourceKind::Queue { maxsize, joinable, .. } = kind else { return Ok(None) };
        Ok(Some(if *joinable {
            QueueRt::Joinable(JoinableQueue::with_maxsize(*maxsize)?)
        } else {
            QueueRt::Plain(Queue::with_maxsize(*maxsize)?)
        }))
    }

    fn queue(&self) -> &Queue {
        match self {
            QueueRt::Plain(q) => q,
            QueueRt::Joinable(q) => q,
        }
    }

    /// Waits for room as long as it takes, or at most `timeout` (0: not at all): then `full`.
    pub(crate) fn put(&self, v: &Value, timeout: Option<Duration>) -> Result<(), StepErr> {
        match (self, timeout) {
            (QueueRt::Plain(q), None) => q.put(v),
            (QueueRt::Plain(q), Some(t)) => q.put_timeout(v, t),
            (QueueRt::Joinable(q), None) => q.put(v),
            (QueueRt::Joinable(q), Some(t)) => q.put_timeout(v, t),
        }
        .map_err(channel)
    }

    pub(crate) fn get(&self, timeout: Option<Duration>) -> Result<Value, StepErr> {
        match timeout {
            Some(t) => self.queue().get_timeout(t),
            None => self.queue().get(),
        }
        .map_err(channel)
    }

    pub(crate) fn qsize(&self) -> Result<Value, StepErr> {
        self.check_open()?;
        Ok(Value::from(self.queue().qsize()))
    }

    pub(crate) fn empty(&self) -> Result<Value, StepErr> {
        self.queue().empty().map(Value::from).map_err(channel)
    }

    pub(crate) fn full(&self) -> Result<Value, StepErr> {
        self.check_open()?;
        Ok(Value::from(self.queue().full()))
    }

    fn check_open(&self) -> Result<(), StepErr> {
        if self.queue().is_closed() { Err(channel(ChannelError::Closed)) } else { Ok(()) }
    }

    /// This process puts and gets no more (CPython's `close`).
    pub(crate) fn close(&self) {
        self.queue().close();
    }

    pub(crate) fn task_done(&self) -> Result<(), StepErr> {
        match self {
            QueueRt::Joinable(q) => q.task_done().map_err(channel),
            QueueRt::Plain(_) => Err(StepErr::other("only a joinable queue counts tasks")),
        }
    }

    pub(crate) fn join(&self) -> Result<(), StepErr> {
        match self {
            QueueRt::Joinable(q) => {
                q.join();
                Ok(())
            }
            QueueRt::Plain(_) => Err(StepErr::other("only a joinable queue can be joined")),
        }
    }
}

/// What the language asks of a lock, semaphore, event, condition or barrier. Each reference type
/// implements what applies to it; the parser sends no other verb its way.
pub(crate) trait Primitive: Send + Sync + std::fmt::Debug {
    /// `Ok(false)`: not acquired within `timeout`.
    fn acquire(&self, timeout: Option<Duration>) -> Result<bool, LockError> {
        let _ = timeout;
        Ok(false)
    }
    fn release(&self) -> Result<(), LockError> {
        Ok(())
    }
    fn locked(&self) -> bool {
        false
    }
    /// Event: set, until `timeout` (`Ok(None)` if not). Condition: notified. Barrier: this
    /// waiter's index.
    fn wait(&self, timeout: Option<Duration>) -> Result<Option<Value>, LockError> {
        let _ = timeout;
        Ok(None)
    }
    fn is_set(&self) -> bool {
        false
    }
    fn set(&self) {}
    fn clear(&self) {}
    fn notify(&self, n: usize) -> Result<(), LockError> {
        let _ = n;
        Ok(())
    }
    fn notify_all(&self) -> Result<(), LockError> {
        Ok(())
    }
    fn n_waiting(&self) -> usize {
        0
    }
    fn broken(&self) -> bool {
        false
    }
    fn abort(&self) {}
    fn reset(&self) {}
}

/// `acquire` with an optional timeout, for every type that has `acquire` and `acquire_timeout`.
macro_rules! lockable {
    ($t:ty, release: $release:expr $(, locked: $locked:expr)?) => {
        impl Primitive for $t {
            fn acquire(&self, timeout: Option<Duration>) -> Result<bool, LockError> {
                Ok(match timeout {
                    None => {
                        self.acquire();
                        true
                    }
                    Some(t) => self.acquire_timeout(t),
                })
            }
            fn release(&self) -> Result<(), LockError> {
                let release: fn(&$t) -> Result<(), LockError> = $release;
                release(self)
            }
            $(fn locked(&self) -> bool {
                let locked: fn(&$t) -> bool = $locked;
                locked(self)
            })?
        }
    };
}

lockable!(procthread::Lock, release: |l| l.release(), locked: |l| l.is_locked());
lockable!(procthread::RLock, release: |l| l.release());
lockable!(procthread::Semaphore, release: |s| {
    s.release();
    Ok(())
});
lockable!(procthread::BoundedSemaphore, release: |s| s.release());
lockable!(shared::Lock, release: |l| l.release(), locked: |l| l.is_locked());
lockable!(shared::RLock, release: |l| l.release());
lockable!(shared::Semaphore, release: |s| s.release());
lockable!(shared::BoundedSemaphore, release: |s| s.release());

macro_rules! event {
    ($t:ty) => {
        impl Primitive for $t {
            fn wait(&self, timeout: Option<Duration>) -> Result<Option<Value>, LockError> {
                let set = match timeout {
                    None => {
                        self.wait();
                        true
                    }
                    Some(t) => self.wait_timeout(t),
                };
                Ok(set.then_some(Value::Bool(true)))
            }
            fn is_set(&self) -> bool {
                self.is_set()
            }
            fn set(&self) {
                self.set()
            }
            fn clear(&self) {
                self.clear()
            }
        }
    };
}

event!(procthread::Event);
event!(shared::Event);

macro_rules! condition {
    ($t:ty, $n:ty) => {
        impl Primitive for $t {
            fn acquire(&self, timeout: Option<Duration>) -> Result<bool, LockError> {
                Ok(match timeout {
                    None => {
                        self.acquire();
                        true
                    }
                    Some(t) => self.acquire_timeout(t),
                })
            }
            fn release(&self) -> Result<(), LockError> {
                self.release()
            }
            fn wait(&self, timeout: Option<Duration>) -> Result<Option<Value>, LockError> {
                match timeout {
                    None => self.wait().map(|()| Some(Value::Bool(true))),
                    Some(t) => self.wait_timeout(t).map(|woken| woken.then_some(Value::Bool(true))),
                }
            }
            fn notify(&self, n: usize) -> Result<(), LockError> {
                self.notify(<$n>::try_from(n).unwrap_or(<$n>::MAX))
            }
            fn notify_all(&self) -> Result<(), LockError> {
                self.notify_all()
            }
        }
    };
}

condition!(procthread::Condition, usize);
condition!(shared::Condition, u32);

macro_rules! barrier {
    ($t:ty) => {
        impl Primitive for $t {
            fn wait(&self, timeout: Option<Duration>) -> Result<Option<Value>, LockError> {
                match timeout {
                    None => self.wait(),
                    Some(t) => self.wait_timeout(t),
                }
                .map(|index| Some(Value::from(index)))
            }
            fn n_waiting(&self) -> usize {
                self.n_waiting() as usize
            }
            fn broken(&self) -> bool {
                self.broken()
            }
            fn abort(&self) {
                self.abort()
            }
            fn reset(&self) {
                self.reset()
            }
        }
    };
}

barrier!(procthread::Barrier);
barrier!(shared::Barrier);

/// A primitive of `shared` scope as it travels to a child process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum SharedPrim {
    Lock(shared::Lock),
    RLock(shared::RLock),
    Semaphore(shared::Semaphore),
    BoundedSemaphore(shared::BoundedSemaphore),
    Event(shared::Event),
    Condition(shared::Condition),
    Barrier(shared::Barrier),
}

impl SharedPrim {
    /// A fresh primitive shared by processes, or `None` for other resources.
    pub(crate) fn new(kind: &ResourceKind) -> std::io::Result<Option<SharedPrim>> {
        let ResourceKind::Sync { kind, scope: Scope::Shared, value, parties } = kind else { return Ok(None) };
        Ok(Some(match kind {
            SyncKind::Lock => SharedPrim::Lock(shared::Lock::new()?),
            SyncKind::RLock => SharedPrim::RLock(shared::RLock::new()?),
            SyncKind::Semaphore => SharedPrim::Semaphore(shared::Semaphore::new(*value)?),
            SyncKind::BoundedSemaphore => SharedPrim::BoundedSemaphore(shared::BoundedSemaphore::new(*value)?),
            SyncKind::Event => SharedPrim::Event(shared::Event::new()?),
            SyncKind::Condition => SharedPrim::Condition(shared::Condition::new()?),
            SyncKind::Barrier => SharedPrim::Barrier(shared::Barrier::new(*parties)?),
        }))
    }

    pub(crate) fn prim(&self) -> Prim {
        Prim(match self.clone() {
            SharedPrim::Lock(p) => Arc::new(p),
            SharedPrim::RLock(p) => Arc::new(p),
            SharedPrim::Semaphore(p) => Arc::new(p),
            SharedPrim::BoundedSemaphore(p) => Arc::new(p),
            SharedPrim::Event(p) => Arc::new(p),
            SharedPrim::Condition(p) => Arc::new(p),
            SharedPrim::Barrier(p) => Arc::new(p),
        })
    }
}

/// A lock, semaphore, event, condition or barrier as one process (and its threads) holds it.
#[derive(Debug, Clone)]
pub(crate) struct Prim(Arc<dyn Primitive>);

impl Prim {
    /// A fresh primitive of `process` scope (`threading`'s), or `None` for other resources.
    pub(crate) fn new(kind: &ResourceKind) -> Option<Prim> {
        let ResourceKind::Sync { kind, scope: Scope::Process, value, parties } = kind else { return None };
        let value = *value as usize;
        Some(Prim(match kind {
            SyncKind::Lock => Arc::new(procthread::Lock::new()),
            SyncKind::RLock => Arc::new(procthread::RLock::new()),
            SyncKind::Semaphore => Arc::new(procthread::Semaphore::new(value)),
            SyncKind::BoundedSemaphore => Arc::new(procthread::BoundedSemaphore::new(value)),
            SyncKind::Event => Arc::new(procthread::Event::new()),
            SyncKind::Condition => Arc::new(procthread::Condition::new()),
            SyncKind::Barrier => Arc::new(procthread::Barrier::new(*parties as usize)),
        }))
    }

    /// Takes it, waiting at most `timeout` (`Some(0)`: try once); `timeout` if it did not.
    pub(crate) fn acquire(&self, timeout: Option<Duration>) -> Result<(), StepErr> {
        if self.0.acquire(timeout).map_err(lock)? {
            return Ok(());
        }
        let t = timeout.unwrap_or_default();
        Err(StepErr::kind(ErrorKind::Timeout, format!("not acquired within {} ms", t.as_millis())))
    }

    pub(crate) fn release(&self) -> Result<(), StepErr> {
        self.0.release().map_err(lock)
    }

    pub(crate) fn locked(&self) -> Value {
        Value::from(self.0.locked())
    }

    pub(crate) fn is_set(&self) -> Value {
        Value::from(self.0.is_set())
    }

    pub(crate) fn set(&self) {
        self.0.set()
    }

    pub(crate) fn clear(&self) {
        self.0.clear()
    }

    /// `{value}` once it returns: `true` (event, condition) or the arrival index (barrier).
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<Value, StepErr> {
        match self.0.wait(timeout).map_err(lock)? {
            Some(v) => Ok(v),
            None => {
                let t = timeout.unwrap_or_default();
                Err(StepErr::kind(ErrorKind::Timeout, format!("not woken within {} ms", t.as_millis())))
            }
        }
    }

    pub(crate) fn notify(&self, n: usize) -> Result<(), StepErr> {
        self.0.notify(n).map_err(lock)
    }

    pub(crate) fn notify_all(&self) -> Result<(), StepErr> {
        self.0.notify_all().map_err(lock)
    }

    pub(crate) fn n_waiting(&self) -> Value {
        Value::from(self.0.n_waiting())
    }

    pub(crate) fn broken(&self) -> Value {
        Value::from(self.0.broken())
    }

    pub(crate) fn abort(&self) {
        self.0.abort()
    }

    pub(crate) fn reset(&self) {
        self.0.reset()
    }
}

/// A lock error as a step error of the kind the language names.
fn lock(e: LockError) -> StepErr {
    let kind = match e {
        LockError::NotLocked => Some(ErrorKind::NotLocked),
        LockError::NotOwner | LockError::NotAcquired => Some(ErrorKind::NotOwner),
        LockError::TooManyReleases { .. } => Some(ErrorKind::TooMany),
        LockError::BrokenBarrier => Some(ErrorKind::Broken),
        _ => None,
    };
    StepErr { kind, message: e.to_string() }
}

/// A channel error as a step error of the kind the language names.
pub(crate) fn channel(e: ChannelError) -> StepErr {
    let kind = match e {
        ChannelError::Eof => Some(ErrorKind::Eof),
        // The peer closed in the middle of a message (it died writing it): CPython's EOFError.
        ChannelError::Truncated { .. } => Some(ErrorKind::Eof),
        ChannelError::Empty(_) => Some(ErrorKind::Timeout),
        ChannelError::Full { .. } => Some(ErrorKind::Full),
        ChannelError::Closed => Some(ErrorKind::Closed),
        ChannelError::TaskDoneTooManyTimes => Some(ErrorKind::TooMany),
        // A send to a pipe whose other end is closed (CPython's BrokenPipeError).
        ChannelError::Io(ref io) if io.kind() == std::io::ErrorKind::BrokenPipe => Some(ErrorKind::Eof),
        _ => None,
    };
    StepErr { kind, message: e.to_string() }
}
