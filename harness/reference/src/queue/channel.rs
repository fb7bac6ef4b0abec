//! The part of a queue shared by every process: a [`Ring`] of messages in shared memory, a
//! writer lock so that two messages never interleave, a reader lock so that one message is
//! taken whole by one consumer, and the counts. Both locks are [`RobustMutex`]es: in shared
//! memory on Linux (no system call when uncontended), and handed on when a holder dies instead
//! of lost. Writing is in [`super::send`], reading in [`super::receive`].

use std::io;

use serde::{Deserialize, Serialize};

use super::counters::Counters;
use super::ring::{self, Ring};
use super::spin::Spin;
use crate::error::ChannelError;
use crate::pipe::frame;
use crate::shared::RobustMutex;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Channel {
    pub(super) ring: Ring,
    pub(super) read_lock: RobustMutex,
    pub(super) write_lock: RobustMutex,
    pub(crate) limit: usize,
    /// 0: unbounded.
    pub(crate) maxsize: usize,
    pub(crate) counters: Counters,
    /// How long this process's readers poll before sleeping.
    #[serde(skip)]
    pub(super) spin: Spin,
}

impl Channel {
    pub(crate) fn new(limit: usize, maxsize: usize) -> io::Result<Channel> {
        Self::with_capacity(limit, maxsize, ring::DEFAULT_CAPACITY)
    }

    pub(crate) fn with_capacity(limit: usize, maxsize: usize, capacity: usize) -> io::Result<Channel> {
        Ok(Channel {
            ring: Ring::new(capacity)?,
            read_lock: RobustMutex::new()?,
            write_lock: RobustMutex::new()?,
            limit,
            maxsize,
            counters: Counters::new()?,
            spin: Spin::default(),
        })
    }

    /// The encoding of `value`, refused whole over the limit.
    pub(crate) fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, ChannelError> {
        let mut out = Vec::new();
        crate::codec::encode_into(&mut out, value)?;
        frame::check_size(out.len(), self.limit)?;
        Ok(out)
    }

    /// Whether nothing is waiting in the ring right now.
    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Data bytes of the ring: a message whose encoding is larger travels in pieces.
    pub(crate) fn capacity(&self) -> usize {
        usize::try_from(self.ring.capacity()).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::ring::Kind;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    fn bytes_of(seed: u32, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed) as u8).collect()
    }

    fn get(chan: &Channel, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        chan.recv(Some(deadline), |b| Ok(b.to_vec())).expect("recv")
    }

    /// Messages from empty to many times the ring, whole or streamed, padded at the end of
    /// the data or not: each arrives whole and in order.
    #[test]
    fn messages_of_every_size_cross_a_small_ring_whole_and_in_order() {
        let chan = Arc::new(Channel::with_capacity(1 << 20, 0, 4096).expect("channel"));
        let sizes = [0usize, 1, 7, 8, 9, 100, 2000, 4000, 4088, 4089, 5000, 20_000, 100_000, 3, 4096, 12_345];
        let producer = {
            let chan = chan.clone();
            std::thread::spawn(move || {
                for (i, &n) in sizes.iter().enumerate() {
                    chan.send_all(&[&bytes_of(i as u32, n)]).expect("send");
                }
            })
        };
        for (i, &n) in sizes.iter().enumerate() {
            let got = get(&chan, Duration::from_secs(30)).expect("a message");
            assert_eq!(got.len(), n, "message {i}");
            assert!(got == bytes_of(i as u32, n), "message {i} intact");
        }
        producer.join().expect("producer");
        assert!(chan.is_empty());
        assert!(get(&chan, Duration::ZERO).is_none());
    }

    #[test]
    fn many_producers_and_consumers_of_streamed_messages_lose_and_mix_nothing() {
        let chan = Arc::new(Channel::with_capacity(1 << 20, 0, 8192).expect("channel"));
        let producers: Vec<_> = (0..3u32)
            .map(|p| {
                let chan = chan.clone();
                std::thread::spawn(move || {
                    for i in 0..40u32 {
                        let n = [10, 3000, 9000, 30_000][(i % 4) as usize];
                        let mut body = bytes_of(p * 1000 + i, n);
                        body.extend_from_slice(&p.to_le_bytes());
                        body.extend_from_slice(&i.to_le_bytes());
                        chan.send_all(&[&body]).expect("send");
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let chan = chan.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(m) = get(&chan, Duration::from_secs(2)) {
                        let (body, tail) = m.split_at(m.len() - 8);
                        let p = u32::from_le_bytes(tail[..4].try_into().expect("4"));
                        let i = u32::from_le_bytes(tail[4..].try_into().expect("4"));
                        assert!(body == bytes_of(p * 1000 + i, body.len()), "({p}, {i}) intact");
                        got.push((p, i));
                    }
                    got
                })
            })
            .collect();
        producers.into_iter().for_each(|p| p.join().expect("producer"));
        let per: Vec<Vec<(u32, u32)>> = consumers.into_iter().map(|c| c.join().expect("consumer")).collect();
        for got in &per {
            for p in 0..3 {
                let mine: Vec<u32> = got.iter().filter(|m| m.0 == p).map(|m| m.1).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "each producer's order kept");
            }
        }
        let mut all: Vec<_> = per.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 120);
    }

    /// A streamed message whose writer died: pieces in the ring, `stream_pid` still set, the
    /// write lock free. A reader drops the pieces within about `LIVENESS`, returns at its
    /// deadline, and the next message reads normally.
    #[test]
    fn a_reader_drops_a_dead_writers_pieces_and_returns_by_its_deadline() {
        let chan = Channel::with_capacity(1 << 20, 0, 4096).expect("channel");
        {
            let _w = chan.write_lock.lock(None).expect("lock").expect("taken");
            chan.ring.header().stream_pid.store(crate::os::current_pid(), Ordering::SeqCst);
            let total = 10_000u64.to_le_bytes();
            let (w, room) = chan.ring.room(crate::queue::ring::size_of_record(1000));
            assert!(room.is_ok());
            let end = chan.ring.write_record(w, Kind::First, &[&total, &[1u8; 992]]);
            let end = chan.ring.write_record(end, Kind::More, &[&[2u8; 1000]]);
            chan.ring.commit_write(end);
        }
        let t = Instant::now();
        assert!(get(&chan, Duration::from_millis(200)).is_none(), "the torn message is not delivered");
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(10), "{waited:?}");
        assert_eq!(chan.ring.header().stream_pid.load(Ordering::SeqCst), 0, "repaired");
        chan.send_all(&[b"after"]).expect("send");
        assert_eq!(get(&chan, Duration::from_secs(10)).as_deref(), Some(&b"after"[..]));
    }

    /// A writer that finds a dead streamer's `stream_pid` appends the abort first.
    #[test]
    fn the_next_writer_aborts_a_dead_writers_message() {
        let chan = Channel::with_capacity(1 << 20, 0, 4096).expect("channel");
        chan.ring.header().stream_pid.store(12345, Ordering::SeqCst);
        {
            let _w = chan.write_lock.lock(None).expect("lock").expect("taken");
            let total = 10_000u64.to_le_bytes();
            let (w, _) = chan.ring.room(crate::queue::ring::size_of_record(1000));
            let end = chan.ring.write_record(w, Kind::First, &[&total, &[1u8; 992]]);
            chan.ring.commit_write(end);
        }
        assert!(chan.try_send(b"next").expect("send"));
        assert_eq!(chan.ring.header().stream_pid.load(Ordering::SeqCst), 0);
        assert_eq!(get(&chan, Duration::from_secs(10)).as_deref(), Some(&b"next"[..]));
    }

    /// Pieces whose start was taken by a reader that died are skipped.
    #[test]
    fn pieces_without_their_start_are_skipped() {
        let chan = Channel::with_capacity(1 << 20, 0, 4096).expect("channel");
        {
            let _w = chan.write_lock.lock(None).expect("lock").expect("taken");
            let (w, _) = chan.ring.room(64);
            let end = chan.ring.write_record(w, Kind::More, &[&[2u8; 40]]);
            let end = chan.ring.write_record(end, Kind::Last, &[&[3u8; 40]]);
            let end = chan.ring.write_record(end, Kind::Whole, &[b"whole"]);
            chan.ring.commit_write(end);
        }
        assert_eq!(get(&chan, Duration::from_secs(10)).as_deref(), Some(&b"whole"[..]));
        assert!(chan.is_empty());
    }

    /// An empty ring far into its data wraps early: small messages keep to the first pages.
    #[test]
    fn an_empty_ring_wraps_early() {
        let chan = Channel::with_capacity(1 << 20, 0, 1 << 20).expect("channel");
        let big = vec![5u8; 100_000];
        assert!(chan.try_send(&big).expect("send"));
        assert_eq!(get(&chan, Duration::from_secs(10)).map(|m| m.len()), Some(100_000));
        assert!(chan.try_send(b"small").expect("send"));
        let w = chan.ring.header().write_pos.load(Ordering::SeqCst);
        assert_eq!(w % chan.ring.capacity(), crate::queue::ring::size_of_record(5), "written at the start");
        assert_eq!(get(&chan, Duration::from_secs(10)).as_deref(), Some(&b"small"[..]));
    }

    /// `try_send` never waits: a full ring, a message larger than the ring, or a busy writer
    /// lock all give `false` with nothing written.
    #[test]
    fn try_send_refuses_rather_than_waits() {
        let chan = Channel::with_capacity(1 << 20, 0, 4096).expect("channel");
        assert!(!chan.try_send(&[0u8; 5000]).expect("send"), "larger than the ring");
        assert!(chan.try_send(&[1u8; 3000]).expect("send"));
        assert!(!chan.try_send(&[2u8; 2000]).expect("send"), "no room");
        let held = chan.write_lock.lock(None).expect("lock").expect("taken");
        std::thread::scope(|s| {
            s.spawn(|| assert!(!chan.try_send(b"x").expect("send"), "lock busy"));
        });
        drop(held);
        assert_eq!(get(&chan, Duration::from_secs(10)).map(|m| m.len()), Some(3000));
        assert!(chan.is_empty());
    }

    /// `try_send_value` encodes in place: before the end of the data, after a pad at its start
    /// when that run is longer, or not at all when nothing fits (leaving nothing behind).
    #[test]
    fn values_are_encoded_in_place_where_they_fit() {
        let chan = Channel::with_capacity(1 << 20, 0, 4096).expect("channel");
        let decode = |b: &[u8]| crate::codec::decode::<String>(b);
        let take = |chan: &Channel| chan.recv(Some(Instant::now()), decode).expect("recv");
        // Move the write position near the end of the data, with the ring empty again.
        assert!(chan.try_send(&[0u8; 3000]).expect("send"));
        assert!(chan.recv(Some(Instant::now()), |b| Ok(b.len())).expect("recv") == Some(3000));
        let long = "y".repeat(2000); // 1088 bytes left before the end: goes after a pad
        assert!(chan.try_send_value(&long).expect("send"));
        let w = chan.ring.header().write_pos.load(Ordering::SeqCst);
        assert_eq!(w % 4096, crate::queue::ring::size_of_record(2003), "placed at the start");
        assert!(!chan.try_send_value(&"z".repeat(3000)).expect("send"), "no room");
        assert_eq!(chan.ring.header().write_pos.load(Ordering::SeqCst), w, "nothing committed");
        assert_eq!(take(&chan), Some(long));
        assert!(chan.try_send_value("small").expect("send"));
        assert_eq!(take(&chan).as_deref(), Some("small"));
        let over = Channel::with_capacity(10, 0, 4096).expect("channel");
        assert!(!over.try_send_value(&"x".repeat(20)).expect("send"), "over the limit: left to the caller");
        assert!(matches!(over.encode(&"x".repeat(20)), Err(ChannelError::TooLarge { .. })));
    }

    /// Found by `queue_kill`: after an early wrap the run at the start of the data ends at the
    /// read position, not a whole ring further.
    #[test]
    fn a_value_encoded_after_an_early_wrap_stays_inside_the_ring() {
        let chan = Channel::with_capacity(1 << 20, 0, 256 << 10).expect("channel");
        assert!(chan.try_send(&[0u8; 100 << 10]).expect("send"));
        assert!(chan.recv(Some(Instant::now()), |b| Ok(b.len())).expect("recv") == Some(100 << 10));
        let big = "b".repeat(200 << 10);
        let sent = chan.try_send_value(&big).expect("send");
        let h = chan.ring.header();
        let unread = h.write_pos.load(Ordering::SeqCst) - h.read_pos.load(Ordering::SeqCst);
        assert!(unread <= chan.ring.capacity(), "{unread} bytes unread in a ring of {}", chan.ring.capacity());
        std::thread::scope(|s| {
            if !sent {
                // Waits for the reader below to take the pad it writes first.
                s.spawn(|| chan.send_all(&[&chan.encode(&big).expect("encode")]).expect("send"));
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            let got = chan.recv(Some(deadline), crate::codec::decode::<String>).expect("recv");
            assert_eq!(got.map(|s| s.len()), Some(big.len()));
        });
    }
}
