//! Synchronization between the threads of one process, with CPython's `threading` semantics:
//! [`Lock`], [`RLock`], [`Condition`], [`Event`], [`Semaphore`], [`BoundedSemaphore`] and
//! [`Barrier`]. Timeouts are `Duration`s and a wait that times out returns `false` (or
//! [`LockError::BrokenBarrier`](crate::LockError::BrokenBarrier) for a barrier, which it
//! breaks) rather than failing. The same primitives shared by processes are in
//! [`shared`](crate::shared).

mod barrier;
mod condition;
mod event;
mod lock;
mod rlock;
mod semaphore;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard, ConditionLock};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
