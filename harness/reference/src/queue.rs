//! `Queue`: a FIFO of serde values shared by any number of producer and consumer threads and
//! processes, like the chapter's `multiprocessing.Queue`.

use std::io::{self, PipeReader, PipeWriter};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ChannelError;
use crate::framing::{self, DEFAULT_MAX_MESSAGE};
use crate::os;
use crate::token::{Adopted, Exported, TokenLock};

/// A multi-producer, multi-consumer FIFO over one OS pipe.
///
/// Clone it to share it between threads; pass it (or a clone) in a [`Process`](crate::Process)'s
/// arguments to share it with a child. Each message is one frame written whole under a writer
/// lock, so two `put`s never interleave, and read whole under a reader lock.
///
/// # Differences from CPython
/// - `put` writes to the pipe directly instead of through a feeder thread: it returns once the
///   message is in the pipe, and blocks while the pipe is full (64 KiB of unread messages on
///   Linux) until a consumer reads.
/// - A consumer waiting in `get` holds no lock while it waits: the reader lock is held only while
///   one frame is read. So terminating a process blocked in `get` (the chapter's reader) leaves
///   the queue fully usable by everyone else.
///
/// # When a process is killed while using the queue
/// Killing a process *in the middle of* reading or writing a frame (a window of one `read` or
/// `write_all`) loses its lock token: further `get`s (or `put`s) then wait for ever, or give
/// [`ChannelError::Empty`] at their timeout, and a half-written frame reads as
/// [`ChannelError::Truncated`]. CPython's queue has the same hazard; a process killed while
/// idle or blocked in `get` does no harm (tested).
#[derive(Debug, Clone)]
pub struct Queue {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    reader: PipeReader,
    writer: PipeWriter,
    read_lock: TokenLock,
    write_lock: TokenLock,
    limit: usize,
}

impl Queue {
    pub fn new() -> io::Result<Queue> {
        Self::with_limit(DEFAULT_MAX_MESSAGE)
    }

    /// A queue whose messages may be at most `limit` bytes once encoded.
    pub fn with_limit(limit: usize) -> io::Result<Queue> {
        let (reader, writer) = io::pipe()?;
        let shared = Shared { reader, writer, read_lock: TokenLock::new()?, write_lock: TokenLock::new()?, limit };
        Ok(Queue { shared: Arc::new(shared) })
    }

    /// Appends one value. A value over the limit is refused whole: nothing is written.
    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        let frame = framing::encode(value, self.shared.limit)?;
        let _turn = self.shared.write_lock.acquire(None)?;
        framing::write_frame(&self.shared.writer, &frame)
    }

    /// Takes the oldest value, waiting as long as it takes.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        self.get_until(None)
    }

    /// Takes the oldest value, or [`ChannelError::Empty`] if none arrives within `timeout`.
    pub fn get_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T, ChannelError> {
        self.get_until(Some(Instant::now() + timeout)).map_err(|e| match e {
            ChannelError::Empty(_) => ChannelError::Empty(timeout),
            other => other,
        })
    }

    fn get_until<T: DeserializeOwned>(&self, deadline: Option<Instant>) -> Result<T, ChannelError> {
        let s = &*self.shared;
        loop {
            let empty = || ChannelError::Empty(os::remaining(deadline).unwrap_or_default());
            if !os::wait_readable(&s.reader, os::remaining(deadline))? {
                return Err(empty());
            }
            let Some(_turn) = s.read_lock.acquire(os::remaining(deadline))? else {
                return Err(empty());
            };
            // Another consumer may have taken the message we were woken for.
            if os::wait_readable(&s.reader, Some(Duration::ZERO))? {
                return framing::decode(&framing::read_frame(&s.reader, s.limit)?);
            }
        }
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    r: Exported<'a>,
    w: Exported<'a>,
    read_lock: &'a TokenLock,
    write_lock: &'a TokenLock,
    limit: usize,
}

#[derive(Deserialize)]
struct WireIn {
    r: Adopted,
    w: Adopted,
    read_lock: TokenLock,
    write_lock: TokenLock,
    limit: usize,
}

impl Serialize for Queue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = &*self.shared;
        WireOut {
            r: Exported(os::borrow(&q.reader)),
            w: Exported(os::borrow(&q.writer)),
            read_lock: &q.read_lock,
            write_lock: &q.write_lock,
            limit: q.limit,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        let shared = Shared {
            reader: PipeReader::from(w.r.0),
            writer: PipeWriter::from(w.w.0),
            read_lock: w.read_lock,
            write_lock: w.write_lock,
            limit: w.limit,
        };
        Ok(Queue { shared: Arc::new(shared) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_many_producers_and_consumers_loses_and_mixes_nothing() {
        let q = Queue::new().expect("queue");
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        // Messages bigger than PIPE_BUF would tear without the writer lock.
                        q.put(&(p, i, "x".repeat(5000))).expect("put");
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok((p, i, pad)) = q.get_timeout::<(u32, u32, String)>(Duration::from_millis(500)) {
                        assert_eq!(pad.len(), 5000);
                        got.push((p, i));
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().expect("producer");
        }
        let mut all: Vec<(u32, u32)> = consumers.into_iter().flat_map(|c| c.join().expect("consumer")).collect();
        assert_eq!(all.len(), 800);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 800, "no message delivered twice");
    }

    #[test]
    fn single_consumer_sees_each_producers_order() {
        let q = Queue::new().expect("queue");
        for c in ["A", "B", "C"] {
            q.put(c).expect("put");
        }
        let got: Vec<String> = (0..3).map(|_| q.get().expect("get")).collect();
        assert_eq!(got, ["A", "B", "C"]);
    }

    #[test]
    fn get_timeout_on_empty_queue_is_empty_error() {
        let q = Queue::new().expect("queue");
        let started = Instant::now();
        let err = q.get_timeout::<String>(Duration::from_millis(50)).expect_err("empty");
        assert!(matches!(err, ChannelError::Empty(d) if d == Duration::from_millis(50)), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn oversize_put_is_refused_whole() {
        let q = Queue::with_limit(16).expect("queue");
        assert!(matches!(q.put(&"y".repeat(100)), Err(ChannelError::TooLarge { .. })));
        q.put("small").expect("put");
        assert_eq!(q.get::<String>().expect("get"), "small");
    }
}
