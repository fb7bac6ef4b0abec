//! The iterator `imap` and `imap_unordered` return: lazy on both sides. It takes items from its
//! input only a few chunks ahead of its reader (so an endless input works, in bounded memory),
//! and yields each result as soon as it (and, for `imap`, every earlier one) has arrived.

use std::sync::Arc;
use std::time::Duration;

use super::collect::IMapQueue;
use crate::error::PoolError;

/// Submits the next chunk of the input; returns how many more input items it took (`None`:
/// the input is exhausted).
pub(crate) type Submit<'p> = Box<dyn FnMut() -> Result<Option<usize>, PoolError> + 'p>;

/// Results of [`Pool::imap`](crate::Pool::imap) and friends, one per input item: the value, or
/// that item's own failure (the iteration goes on after it).
pub struct IMapIterator<'p, R> {
    queue: Arc<IMapQueue<R>>,
    submit: Submit<'p>,
    release: Option<Box<dyn FnOnce() + 'p>>,
    chunksize: usize,
    window_chunks: usize,
    submitted: usize,
    yielded: usize,
    exhausted: bool,
    /// Why submission stopped early (the pool was terminated), told once.
    stopped: Option<PoolError>,
}

impl<R> std::fmt::Debug for IMapIterator<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMapIterator")
            .field("submitted", &self.submitted)
            .field("yielded", &self.yielded)
            .field("exhausted", &self.exhausted)
            .finish()
    }
}

impl<'p, R> IMapIterator<'p, R> {
    /// `release` is called once, when the input is exhausted or the iterator dropped: it ends
    /// the iterator's standing as a producer of the pool's queue.
    pub(crate) fn new(
        queue: Arc<IMapQueue<R>>,
        submit: Submit<'p>,
        release: Box<dyn FnOnce() + 'p>,
        chunksize: usize,
        workers: usize,
    ) -> Self {
        let mut it = IMapIterator {
            queue,
            submit,
            release: Some(release),
            chunksize: chunksize.max(1),
            window_chunks: 4 * workers.max(1),
            submitted: 0,
            yielded: 0,
            exhausted: false,
            stopped: None,
        };
        it.refill();
        it
    }

    fn refill(&mut self) {
        while !self.exhausted && self.submitted - self.yielded < self.window_chunks * self.chunksize {
            match (self.submit)() {
                Ok(None) => self.finish_input(),
                Ok(Some(n)) => self.submitted += n,
                Err(e) => {
                    self.stopped = Some(e);
                    self.finish_input();
                }
            }
        }
    }

    fn finish_input(&mut self) {
        self.exhausted = true;
        if let Some(release) = self.release.take() {
            release();
        }
    }

    /// The next result, waiting at most `timeout` (`None`: as long as it takes); at the timeout
    /// `Some(Err(PoolError::Timeout))`, and the iterator stays usable (CPython's `next(timeout)`).
    pub fn next_timeout(&mut self, timeout: Option<Duration>) -> Option<Result<R, PoolError>> {
        self.refill();
        if self.yielded == self.submitted {
            if let Some(e) = self.stopped.take() {
                return Some(Err(e));
            }
            if self.exhausted {
                return None;
            }
        }
        match self.queue.take(self.yielded, timeout) {
            None => Some(Err(PoolError::Timeout(timeout.unwrap_or_default()))),
            Some(result) => {
                self.yielded += 1;
                self.refill();
                Some(result)
            }
        }
    }
}

impl<R> Iterator for IMapIterator<'_, R> {
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_timeout(None)
    }
}

impl<R> Drop for IMapIterator<'_, R> {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}
