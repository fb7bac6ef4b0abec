//! `Queue`: a FIFO of serde values shared by any number of producer and consumer threads and
//! processes, like the chapter's `multiprocessing.Queue`.

mod bell;
mod channel;
mod counters;
mod feeder;
mod joinable;
mod receive;
mod ring;
mod send;
mod simple;
mod spin;

/// Used where a forked child ends (Unix only).
#[cfg(unix)]
pub(crate) use feeder::flush_all as flush_feeders;
pub use joinable::JoinableQueue;
pub use simple::SimpleQueue;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ChannelError;
use crate::framing::DEFAULT_MAX_MESSAGE;
use crate::{codec, deadline};
use channel::Channel;
use feeder::Feeder;

/// A multi-producer, multi-consumer FIFO with CPython's semantics, carried in a ring buffer in
/// shared memory.
///
/// Clone it to share it between threads; pass it (or a clone) in a [`Process`](crate::Process)'s
/// arguments to share it with a child. Values travel in the binary encoding of
/// the crate's codec (MessagePack), one message each: two `put`s never interleave, and one
/// message is taken whole by one consumer. Each producer's values arrive in the order it put them.
///
/// # How it is made
/// Messages sit in a ring of [`buffer_size`](Self::buffer_size) bytes (2 MiB) of shared
/// memory, with a writer lock and a reader lock ([robust](crate::shared) mutexes: a holder that
/// dies hands them on). A writer copies a message in and only then publishes it; a reader
/// decodes it and only then frees its room; a sleeping reader or writer is woken by a futex on
/// Linux. So while the other side is awake, `put` and `get` make no system call at all.
/// A message larger than the ring streams through it in pieces (see "A process killed").
///
/// # `put` never waits
/// As in CPython, [`put`](Self::put) on a queue returns at once: the value goes into the ring
/// there and then when the ring has room and nothing of this process is waiting before it,
/// and otherwise joins a backlog that a feeder thread of this process writes in order (in
/// batches), started when needed and ended when the backlog is empty. So "put everything, then
/// get it all" works in one thread. The feeder is joined, so that nothing put is lost, when the
/// process drops its last handle of the queue, when a child [`Process`](crate::Process)'s entry
/// returns (also a forked one, which then ends without running `atexit` handlers), and when a
/// process exits through `exit` (returning from `main`; on Unix also [`std::process::exit`],
/// which on Windows ends the feeder without waiting); [`cancel_join_thread`](Self::cancel_join_thread) lifts that wait, at the price of
/// losing what is still in the backlog. As in CPython, a process that exits holding a backlog
/// that nobody reads therefore waits at exit.
///
/// # A process killed
/// A process killed (SIGKILL) anywhere in `put` or `get` leaves the queue usable by the
/// others, and no message is ever delivered torn: a message whose copy into the ring was not
/// finished is never seen, and one whose reader died before it was decoded is taken by the
/// next reader. What a killed process loses: the message it was writing, its feeder's
/// backlog (as in CPython), and the message it had taken but not yet returned from `get`. A
/// message larger than the ring is written and read in pieces: the reader drops the pieces
/// of one whose writer died, and a reader killed in the middle of one loses that message.
/// `get` never waits past its timeout, with one exception: a reader in the middle of such a
/// large message waits for its remaining pieces while their writer is alive, and checks that
/// it is every 50 ms.
///
/// # Limits
/// A value is refused whole ([`ChannelError::TooLarge`]) when its encoding is over the limit
/// ([`with_limit`](Self::with_limit), default [`DEFAULT_MAX_MESSAGE`]): a `String` of N bytes
/// needs N + 5 bytes at most, a `serde_bytes::ByteBuf` of N bytes the same; a `Vec<u8>` is a
/// sequence of numbers (one or two bytes each).
///
/// # Closing
/// [`close`](Self::close) ends this process's use of the queue (for every clone in the
/// process): later `put`s and `get`s are [`ChannelError::Closed`], and the feeder finishes
/// writing the backlog; [`join_thread`](Self::join_thread) waits for that.
///
/// # Platforms
/// macOS has no futex that other processes can wake: a sleeping reader or writer there looks
/// at the ring again after a pause growing to 2 ms, so a wake-up can take that long, and the
/// locks are pid words polled the same way. On Windows every lock, unlock, sleep and wake-up
/// is a system call on a kernel object (the ring itself is plain shared memory).
#[derive(Debug, Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    chan: Arc<Channel>,
    feeder: Arc<Feeder>,
    closed: AtomicBool,
}

impl Drop for Inner {
    /// The last handle in this process: what it put reaches the ring first (CPython joins the
    /// feeder at exit).
    fn drop(&mut self) {
        self.feeder.flush();
    }
}

impl Queue {
    pub fn new() -> io::Result<Queue> {
        Self::with_limit(DEFAULT_MAX_MESSAGE)
    }

    /// A queue whose messages may be at most `limit` bytes once encoded.
    pub fn with_limit(limit: usize) -> io::Result<Queue> {
        Ok(Self::from_channel(Channel::new(limit, 0)?))
    }

    /// A queue holding at most `maxsize` items (0: unbounded), as CPython's `Queue(maxsize)`:
    /// `put` waits for room, `put_nowait` and `put_timeout` give [`ChannelError::Full`].
    pub fn with_maxsize(maxsize: usize) -> io::Result<Queue> {
        Ok(Self::from_channel(Channel::new(DEFAULT_MAX_MESSAGE, maxsize)?))
    }

    /// [`with_maxsize`](Self::with_maxsize) and [`with_limit`](Self::with_limit) together.
    pub fn with_maxsize_and_limit(maxsize: usize, limit: usize) -> io::Result<Queue> {
        Ok(Self::from_channel(Channel::new(limit, maxsize)?))
    }

    /// A queue whose ring holds `bytes` bytes of messages (rounded up to a multiple of 8, at
    /// least 4 KiB; the default is 2 MiB). Pages of the ring take memory once used, so a
    /// smaller ring suits many queues of small messages; a larger one lets larger messages
    /// travel whole (an encoded value larger than the ring streams through it in pieces).
    pub fn with_buffer_size(bytes: usize) -> io::Result<Queue> {
        Ok(Self::from_channel(Channel::with_capacity(DEFAULT_MAX_MESSAGE, 0, bytes)?))
    }

    /// The bound given to [`with_maxsize`](Self::with_maxsize) (0: unbounded).
    pub fn maxsize(&self) -> usize {
        self.inner.chan.maxsize
    }

    /// Items put (by any process) and not yet taken: a snapshot, as in CPython. It counts
    /// items still in a feeder's backlog.
    pub fn qsize(&self) -> usize {
        usize::try_from(self.inner.chan.counters.items()).unwrap_or(usize::MAX)
    }

    /// Whether a bounded queue holds `maxsize` items now (never for an unbounded one).
    pub fn full(&self) -> bool {
        self.maxsize() > 0 && self.qsize() >= self.maxsize()
    }

    fn from_channel(chan: Channel) -> Queue {
        let inner = Inner { chan: Arc::new(chan), feeder: Arc::default(), closed: AtomicBool::new(false) };
        Queue { inner: Arc::new(inner) }
    }

    /// The largest encoded value the queue carries, in bytes.
    pub fn limit(&self) -> usize {
        self.inner.chan.limit
    }

    /// Appends one value. On an unbounded queue it never waits (see the type's
    /// documentation); on a bounded one it waits for room. A value over the limit is refused
    /// whole: nothing is written.
    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        self.put_within(value, None)
    }

    /// [`put`](Self::put), or [`ChannelError::Full`] if a bounded queue has no room within
    /// `timeout` (`Duration::MAX`: wait for ever).
    pub fn put_timeout<T: Serialize + ?Sized>(&self, value: &T, timeout: Duration) -> Result<(), ChannelError> {
        self.put_within(value, Some(timeout))
    }

    /// [`put`](Self::put) if there is room now, else [`ChannelError::Full`] (CPython's
    /// `put_nowait`).
    pub fn put_nowait<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        self.put_within(value, Some(Duration::ZERO))
    }

    fn put_within<T: Serialize + ?Sized>(&self, value: &T, timeout: Option<Duration>) -> Result<(), ChannelError> {
        self.check_open()?;
        crate::faultpoint::hit(crate::faultpoint::Point::QueuePutBegin);
        let chan = &self.inner.chan;
        let deadline = timeout.and_then(deadline::after);
        if let counters::Room::Full = chan.counters.reserve(chan.maxsize, deadline) {
            return Err(ChannelError::Full { maxsize: chan.maxsize });
        }
        self.inner.feeder.put_value(chan, &self.inner.feeder, value).inspect_err(|_| chan.counters.unreserve())
    }

    /// Takes the oldest value, waiting as long as it takes.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        self.get_within(None)
    }

    /// Takes the oldest value, or [`ChannelError::Empty`] if none arrives within `timeout`
    /// (`Duration::MAX`: wait for ever).
    pub fn get_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T, ChannelError> {
        self.get_within(Some(timeout))
    }

    /// Takes the oldest value if one is there now, else [`ChannelError::Empty`] (CPython's
    /// `get_nowait`).
    pub fn get_nowait<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        self.get_within(Some(Duration::ZERO))
    }

    fn get_within<T: DeserializeOwned>(&self, timeout: Option<Duration>) -> Result<T, ChannelError> {
        self.check_open()?;
        let deadline = timeout.and_then(deadline::after);
        match self.inner.chan.recv(deadline, codec::decode)? {
            Some(value) => Ok(value),
            None => Err(ChannelError::Empty(timeout.unwrap_or_default())),
        }
    }

    /// Whether the queue looks empty right now (another process may put or get the next
    /// moment, as CPython warns). Values still in this process's backlog count as not empty.
    pub fn empty(&self) -> Result<bool, ChannelError> {
        self.check_open()?;
        Ok(self.inner.chan.is_empty() && self.inner.feeder.pending() == 0)
    }

    /// Ends this process's use of the queue: `put` and `get` are [`ChannelError::Closed`] from
    /// now on (in every clone of this process); the backlog is still written.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Waits until the feeder has written everything this process put (after
    /// [`close`](Self::close), else [`ChannelError::NotClosed`], as CPython).
    pub fn join_thread(&self) -> Result<(), ChannelError> {
        if !self.is_closed() {
            return Err(ChannelError::NotClosed);
        }
        self.inner.feeder.flush();
        Ok(())
    }

    /// Values this process put that are not in the shared ring yet: waiting in its feeder's
    /// backlog or being written by the feeder. Zero means everything this process put is in
    /// the ring (or taken), where its death cannot lose it.
    pub fn pending(&self) -> usize {
        self.inner.feeder.pending()
    }

    /// Bytes of the ring the queue's messages travel through: an encoded value larger than
    /// this streams through in pieces.
    pub fn buffer_size(&self) -> usize {
        self.inner.chan.capacity()
    }

    /// Lets this process drop the queue and exit without waiting for its feeder: values still
    /// in the backlog (put while the ring was full) may then be lost. Use it where nobody will
    /// read them, so that exiting does not wait for ever.
    pub fn cancel_join_thread(&self) {
        self.inner.feeder.cancel_join();
    }

    fn check_open(&self) -> Result<(), ChannelError> {
        if self.is_closed() { Err(ChannelError::Closed) } else { Ok(()) }
    }
}

impl Serialize for Queue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.chan.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_channel(Channel::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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

    /// Issue 10: `put` used to block once about 64 KiB sat unread.
    #[test]
    fn put_never_waits_so_one_thread_can_put_everything_then_get_it() {
        let q = Queue::new().expect("queue");
        let chunk = "z".repeat(10_000);
        for i in 0..300u32 {
            q.put(&(i, &chunk)).expect("put");
        }
        for i in 0..300u32 {
            let (j, c): (u32, String) = q.get_timeout(Duration::from_secs(30)).expect("get");
            assert_eq!((j, c.len()), (i, chunk.len()), "in order, whole");
        }
        assert!(q.empty().expect("empty"));
    }

    #[test]
    fn get_nowait_and_duration_max() {
        let q = Queue::new().expect("queue");
        assert!(matches!(q.get_nowait::<i32>(), Err(ChannelError::Empty(d)) if d.is_zero()));
        q.put(&7).expect("put");
        assert!(!q.empty().expect("empty"));
        assert_eq!(q.get_timeout::<i32>(Duration::MAX).expect("get"), 7);
        assert!(q.empty().expect("empty"));
    }

    #[test]
    fn close_refuses_put_and_get_and_join_thread_needs_it() {
        let q = Queue::new().expect("queue");
        let other = q.clone();
        assert!(matches!(q.join_thread(), Err(ChannelError::NotClosed)));
        q.put(&1).expect("put");
        q.close();
        assert!(other.is_closed(), "clones of one process share it");
        assert!(matches!(other.put(&2), Err(ChannelError::Closed)));
        assert!(matches!(q.get::<i32>(), Err(ChannelError::Closed)));
        q.join_thread().expect("joined");
    }

    #[test]
    fn a_bounded_queue_is_full_at_maxsize_and_put_waits_for_room() {
        let q = Queue::with_maxsize(2).expect("queue");
        assert_eq!((q.maxsize(), q.qsize(), q.full()), (2, 0, false));
        q.put(&1).expect("put");
        q.put_nowait(&2).expect("room for a second");
        assert_eq!((q.qsize(), q.full()), (2, true));
        assert!(matches!(q.put_nowait(&3), Err(ChannelError::Full { maxsize: 2 })));
        let t = Instant::now();
        assert!(matches!(q.put_timeout(&3, Duration::from_millis(30)), Err(ChannelError::Full { .. })));
        assert!(t.elapsed() >= Duration::from_millis(30));
        let taker = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.get::<i32>().expect("get")
            })
        };
        q.put(&3).expect("waits for the taker");
        assert_eq!(taker.join().expect("taker"), 1);
        assert_eq!(q.qsize(), 2);
        assert_eq!((q.get::<i32>().expect("get"), q.get::<i32>().expect("get")), (2, 3));
        assert_eq!(q.qsize(), 0);
        assert!(matches!(q.put_timeout(&4, Duration::MAX), Ok(())));
    }

    /// A value whose `Serialize` puts on the same queue: the inner `put` runs while the outer
    /// one holds the write lock (encoding in place), and goes to the feeder instead of
    /// deadlocking.
    #[test]
    fn a_value_that_puts_while_being_serialized_does_not_deadlock() {
        struct Nested(Queue);
        impl Serialize for Nested {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.put("inner").map_err(serde::ser::Error::custom)?;
                s.serialize_str("outer")
            }
        }
        let q = Queue::new().expect("queue");
        q.put(&Nested(q.clone())).expect("put");
        let mut got = [q.get::<String>().expect("get"), q.get::<String>().expect("get")];
        got.sort();
        assert_eq!(got, ["inner", "outer"]);
    }

    #[test]
    fn oversize_put_is_refused_whole() {
        let q = Queue::with_limit(16).expect("queue");
        assert!(matches!(q.put(&"y".repeat(100)), Err(ChannelError::TooLarge { .. })));
        q.put("small").expect("put");
        assert_eq!(q.get::<String>().expect("get"), "small");
    }
}
