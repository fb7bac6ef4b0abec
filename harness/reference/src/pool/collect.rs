//! Where the results of a submission's items go as they arrive, in any order: one item's
//! result, a whole map's list, or the queue an `imap` iterator reads. Shared by both pools.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::result::{Finish, wait_until};
use crate::error::PoolError;

/// Receives the result of item `index` of a submission. Every index is delivered exactly once
/// (a task discarded by `terminate` is delivered as [`PoolError::Terminated`]).
pub(crate) trait Collector<R>: Send + Sync {
    fn deliver(&self, index: usize, result: Result<R, PoolError>);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// CPython's default chunk size for `map`: the items spread over four chunks per worker.
pub(crate) fn default_chunksize(items: usize, workers: usize) -> usize {
    let per = workers.max(1) * 4;
    items.div_ceil(per)
}

/// One task's result.
pub(crate) struct Single<R> {
    out: Mutex<Option<Box<dyn Finish<R>>>>,
}

impl<R> Single<R> {
    pub(crate) fn new(out: Box<dyn Finish<R>>) -> Self {
        Single { out: Mutex::new(Some(out)) }
    }
}

impl<R: Send> Collector<R> for Single<R> {
    fn deliver(&self, _index: usize, result: Result<R, PoolError>) {
        let out = lock(&self.out).take();
        if let Some(out) = out {
            out.finish(result);
        }
    }
}

/// A map's results, in order. It is ready only once every item is done; if any failed, the
/// result is the first failure to arrive (CPython's `map` does the same: no fail-fast, so the
/// pool never holds results nobody will read).
pub(crate) struct MapCollect<R> {
    state: Mutex<MapState<R>>,
}

struct MapState<R> {
    values: Vec<Option<R>>,
    first_error: Option<PoolError>,
    left: usize,
    out: Option<Box<dyn Finish<Vec<R>>>>,
}

impl<R> MapCollect<R> {
    /// A map of `len` items; an empty map finishes at once.
    pub(crate) fn new(len: usize, out: Box<dyn Finish<Vec<R>>>) -> Self {
        let mut values = Vec::with_capacity(len);
        values.resize_with(len, || None);
        let state = MapState { values, first_error: None, left: len, out: Some(out) };
        let me = MapCollect { state: Mutex::new(state) };
        if len == 0 {
            me.finish_if_done(&mut lock(&me.state));
        }
        me
    }

    fn finish_if_done(&self, s: &mut MapState<R>) {
        if s.left > 0 {
            return;
        }
        let Some(out) = s.out.take() else { return };
        let result = match s.first_error.take() {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut s.values).into_iter().flatten().collect()),
        };
        out.finish(result);
    }
}

impl<R: Send> Collector<R> for MapCollect<R> {
    fn deliver(&self, index: usize, result: Result<R, PoolError>) {
        let mut s = lock(&self.state);
        let Some(slot) = s.values.get_mut(index) else { return };
        if slot.is_some() {
            return;
        }
        match result {
            Ok(v) => *slot = Some(v),
            Err(e) => {
                if s.first_error.is_none() {
                    s.first_error = Some(e);
                }
            }
        }
        s.left = s.left.saturating_sub(1);
        self.finish_if_done(&mut s);
    }
}

/// The queue behind an `imap` iterator: results in submission order, or as they come.
pub(crate) struct IMapQueue<R> {
    state: Mutex<IMapState<R>>,
    changed: Condvar,
}

struct IMapState<R> {
    ordered: bool,
    /// Ordered: results by index, waiting for their turn.
    by_index: BTreeMap<usize, Result<R, PoolError>>,
    /// Unordered: results as they came.
    arrived: VecDeque<Result<R, PoolError>>,
}

impl<R> IMapQueue<R> {
    pub(crate) fn new(ordered: bool) -> Self {
        IMapQueue {
            state: Mutex::new(IMapState { ordered, by_index: BTreeMap::new(), arrived: VecDeque::new() }),
            changed: Condvar::new(),
        }
    }

    /// The next result (item `next` when ordered, any when not), waiting at most `timeout`
    /// (`None`: as long as it takes); `None` at the timeout.
    pub(crate) fn take(&self, next: usize, timeout: Option<Duration>) -> Option<Result<R, PoolError>> {
        let (mut s, ready) = wait_until(&self.state, &self.changed, timeout, |s| {
            if s.ordered { s.by_index.contains_key(&next) } else { !s.arrived.is_empty() }
        });
        if !ready {
            return None;
        }
        if s.ordered { s.by_index.remove(&next) } else { s.arrived.pop_front() }
    }
}

impl<R: Send> Collector<R> for IMapQueue<R> {
    fn deliver(&self, index: usize, result: Result<R, PoolError>) {
        let mut s = lock(&self.state);
        if s.ordered {
            s.by_index.insert(index, result);
        } else {
            s.arrived.push_back(result);
        }
        drop(s);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::super::result::oneshot;
    use super::*;

    #[test]
    fn cpython_chunksize_rule() {
        assert_eq!(default_chunksize(0, 4), 0);
        assert_eq!(default_chunksize(10, 4), 1);
        assert_eq!(default_chunksize(200, 2), 25);
        assert_eq!(default_chunksize(201, 2), 26);
        assert_eq!(default_chunksize(100, 1), 25);
    }

    #[test]
    fn map_is_ready_after_all_items_with_the_first_error() {
        let (shot, tx) = oneshot::<Vec<i32>>();
        let m = MapCollect::new(3, Box::new(tx));
        m.deliver(2, Err(PoolError::Closed));
        m.deliver(0, Ok(1));
        m.deliver(1, Err(PoolError::Terminated));
        assert_eq!(shot.take(), Err(PoolError::Closed));
        let (shot, tx) = oneshot::<Vec<i32>>();
        let m = MapCollect::new(2, Box::new(tx));
        m.deliver(1, Ok(2));
        m.deliver(0, Ok(1));
        assert_eq!(shot.take(), Ok(vec![1, 2]));
        let (shot, tx) = oneshot::<Vec<i32>>();
        drop(MapCollect::new(0, Box::new(tx)));
        assert_eq!(shot.take(), Ok(vec![]));
    }

    #[test]
    fn imap_queue_orders_or_not() {
        let q = IMapQueue::new(true);
        q.deliver(1, Ok(1));
        assert!(q.take(0, Some(Duration::from_millis(5))).is_none());
        q.deliver(0, Ok(0));
        assert_eq!(q.take(0, None), Some(Ok(0)));
        assert_eq!(q.take(1, None), Some(Ok(1)));
        let q = IMapQueue::new(false);
        q.deliver(5, Ok(5));
        assert_eq!(q.take(0, Some(Duration::MAX)), Some(Ok(5)));
    }
}
