//! `Pipe`: two connected ends carrying serde values, like the chapter's `multiprocessing.Pipe`.

pub(crate) mod frame;
mod reused;
mod send;

use std::io::{self, PipeReader, PipeWriter};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ChannelError;
use crate::faultpoint::{self, Point};
use crate::framing::DEFAULT_MAX_MESSAGE;
use crate::token::{Adopted, Exported};
use crate::{codec, deadline, os};
use reused::Reused;

/// One end of a [`pipe`]. It can be kept, moved to a thread, or passed to a [`Process`](crate::Process)
/// as (part of) its arguments: the child then owns it, and the parent's copy is closed when the
/// process starts, so that end-of-file reaches the other side when the child is done. To hand
/// one end to several processes (as CPython can), pass each a [`try_clone`](Self::try_clone).
///
/// `recv` on an end whose peer is closed (every copy dropped, or their processes exited) gives
/// [`ChannelError::Eof`]. Like CPython's `Connection`, an end is meant for one user at a time:
/// two processes sending on copies of one end at the same moment may interleave messages
/// larger than the OS's atomic pipe write (4 KiB on Linux), and two receiving at once may split
/// one message between them.
///
/// # Messages and limits
/// [`send`](Self::send) and [`recv`](Self::recv) carry any serde value in the binary encoding
/// of the crate's codec (MessagePack); [`send_bytes`](Self::send_bytes) and
/// [`recv_bytes`](Self::recv_bytes) carry raw bytes, as CPython's methods of the same names.
/// Either way a message is a 4-byte length and its bytes, and the limit
/// ([`with_limit`](Self::with_limit), default [`DEFAULT_MAX_MESSAGE`], at most 4 GiB - 1)
/// bounds those bytes: a raw message of N bytes needs a limit of N, a `String` of N bytes N + 5
/// at most. A sender refuses a message over its limit whole (nothing is written); a receiver
/// reads a message over its own limit and throws it away whole, returning
/// [`ChannelError::TooLarge`], and the next message reads normally.
#[derive(Debug)]
pub struct PipeEnd {
    reader: Option<PipeReader>,
    writer: Option<PipeWriter>,
    limit: usize,
    /// Kept between messages: the small pieces `send` gathers, the bodies `recv` decodes.
    sending: Reused,
    receiving: Reused,
}

/// Two connected duplex ends: what one sends, the other receives.
pub fn pipe() -> io::Result<(PipeEnd, PipeEnd)> {
    let (r1, w1) = os::message_pipe()?;
    let (r2, w2) = os::message_pipe()?;
    Ok((PipeEnd::new(Some(r1), Some(w2)), PipeEnd::new(Some(r2), Some(w1))))
}

/// A one-way pipe: `(receiving end, sending end)`, the order of CPython's `Pipe(duplex=False)`.
pub fn pipe_oneway() -> io::Result<(PipeEnd, PipeEnd)> {
    let (r, w) = os::message_pipe()?;
    Ok((PipeEnd::new(Some(r), None), PipeEnd::new(None, Some(w))))
}

impl PipeEnd {
    fn new(reader: Option<PipeReader>, writer: Option<PipeWriter>) -> PipeEnd {
        PipeEnd { reader, writer, limit: DEFAULT_MAX_MESSAGE, sending: Reused::default(), receiving: Reused::default() }
    }

    /// Sets the largest message this end sends or accepts (default [`DEFAULT_MAX_MESSAGE`]).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The largest message this end sends or accepts, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether this end can receive (`false` for the sending end of a [`pipe_oneway`]).
    pub fn readable(&self) -> bool {
        self.reader.is_some()
    }

    /// Whether this end can send (`false` for the receiving end of a [`pipe_oneway`]).
    pub fn writable(&self) -> bool {
        self.writer.is_some()
    }

    /// Another handle on the same end (the OS handles duplicated), for another thread or
    /// process. The peer sees end-of-file only once every copy is closed.
    pub fn try_clone(&self) -> io::Result<PipeEnd> {
        let reader = self.reader.as_ref().map(PipeReader::try_clone).transpose()?;
        let writer = self.writer.as_ref().map(PipeWriter::try_clone).transpose()?;
        Ok(PipeEnd::new(reader, writer).with_limit(self.limit))
    }

    /// Closes this end (dropping it does the same).
    pub fn close(self) {}

    /// Sends one value. A value over the limit once encoded is refused whole: nothing is written.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        let writer = self.writer()?;
        // `send_value` hits `pipe.send.begin` once the value is within its limit.
        let writer = faultpoint::split_write(writer, Point::PipeSendHalf);
        self.sending.with(|buf| send::send_value(writer, buf, value, self.limit))
    }

    /// Sends `buf[offset..offset + size]` (`size` `None`: to the end) as one raw message, as
    /// CPython's `send_bytes(buf, offset, size)`. Out-of-range bounds are
    /// [`ChannelError::Bounds`]; over the limit, [`ChannelError::TooLarge`]; nothing is written
    /// then.
    pub fn send_bytes(&self, buf: &[u8], offset: usize, size: Option<usize>) -> Result<(), ChannelError> {
        let writer = self.writer()?;
        let len = buf.len();
        let size = size.unwrap_or(len.saturating_sub(offset));
        let bounds = ChannelError::Bounds { offset, size, len };
        let end = offset.checked_add(size).ok_or(bounds)?;
        let Some(part) = buf.get(offset..end) else {
            return Err(ChannelError::Bounds { offset, size, len });
        };
        frame::check_size(part.len(), self.limit)?;
        faultpoint::hit(Point::PipeSendBegin);
        let writer = faultpoint::split_write(writer, Point::PipeSendHalf);
        Ok(frame::write_message(writer, part)?)
    }

    /// Receives one value, waiting as long as it takes; EOF once the peer is closed.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        let reader = faultpoint::split_read(self.reader()?, Point::PipeRecvHalf);
        self.receiving.with(|buf| {
            let size = frame::read_message_reusing(reader, self.limit, buf)?;
            codec::decode(&buf[..size])
        })
    }

    /// Receives one value, or [`ChannelError::Empty`] if none arrives within `timeout`
    /// (`Duration::MAX`: wait for ever).
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T, ChannelError> {
        if !self.poll(Some(timeout))? {
            return Err(ChannelError::Empty(timeout));
        }
        self.recv()
    }

    /// Receives one raw message (sent by [`send_bytes`](Self::send_bytes)), at most
    /// `maxlength` bytes (`None`: this end's limit). A longer message is read and discarded
    /// whole, and refused with [`ChannelError::TooLarge`]; the pipe stays usable.
    pub fn recv_bytes(&self, maxlength: Option<usize>) -> Result<Vec<u8>, ChannelError> {
        let reader = faultpoint::split_read(self.reader()?, Point::PipeRecvHalf);
        let limit = maxlength.map_or(self.limit, |m| m.min(self.limit));
        let mut body = Vec::new();
        frame::read_message(reader, limit, &mut body)?;
        Ok(body)
    }

    /// Receives one raw message into `buf` from `offset` on, returning its length. A message
    /// that does not fit is returned in [`ChannelError::BufferTooShort`], as CPython's
    /// `recv_bytes_into`; an `offset` past the buffer is [`ChannelError::Bounds`] and reads
    /// nothing.
    pub fn recv_bytes_into(&self, buf: &mut [u8], offset: usize) -> Result<usize, ChannelError> {
        let len = buf.len();
        let Some(room) = buf.get_mut(offset..) else {
            return Err(ChannelError::Bounds { offset, size: 0, len });
        };
        let message = self.recv_bytes(None)?;
        match room.get_mut(..message.len()) {
            Some(dst) => {
                dst.copy_from_slice(&message);
                Ok(message.len())
            }
            None => {
                let available = room.len();
                Err(ChannelError::BufferTooShort { message, available })
            }
        }
    }

    /// Whether a message (or EOF) is ready to be received, waiting up to `timeout`; `None`
    /// (or zero) answers at once, as CPython's `poll()` without an argument.
    /// `Some(Duration::MAX)` waits for ever, as does [`wait_readable`](Self::wait_readable).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, ChannelError> {
        let reader = self.reader()?;
        let timeout = timeout.unwrap_or(Duration::ZERO);
        let bounded = deadline::after(timeout).map(|_| timeout);
        Ok(os::wait_readable(reader, bounded)?)
    }

    /// Waits for ever until a message (or EOF) is ready to be received.
    pub fn wait_readable(&self) -> Result<(), ChannelError> {
        os::wait_readable(self.reader()?, None)?;
        Ok(())
    }

    fn reader(&self) -> Result<&PipeReader, ChannelError> {
        self.reader.as_ref().ok_or(ChannelError::WrongDirection("send"))
    }

    fn writer(&self) -> Result<&PipeWriter, ChannelError> {
        self.writer.as_ref().ok_or(ChannelError::WrongDirection("receive"))
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    r: Option<Exported<'a>>,
    w: Option<Exported<'a>>,
    limit: usize,
}

#[derive(Deserialize)]
struct WireIn {
    r: Option<Adopted>,
    w: Option<Adopted>,
    limit: usize,
}

impl Serialize for PipeEnd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut {
            r: self.reader.as_ref().map(|r| Exported(os::borrow(r))),
            w: self.writer.as_ref().map(|w| Exported(os::borrow(w))),
            limit: self.limit,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PipeEnd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        let end = PipeEnd::new(w.r.map(|h| PipeReader::from(h.0)), w.w.map(|h| PipeWriter::from(h.0)));
        Ok(end.with_limit(w.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cross_between_threads_and_eof_follows_close() {
        let (a, b) = pipe().expect("pipe");
        let t = std::thread::spawn(move || {
            b.send(&vec![1, 2, 3]).expect("send");
            let reply: String = b.recv().expect("recv");
            assert_eq!(reply, "thanks");
        });
        let got: Vec<i32> = a.recv().expect("recv");
        assert_eq!(got, vec![1, 2, 3]);
        a.send("thanks").expect("send");
        t.join().expect("thread");
        assert!(matches!(a.recv::<i32>(), Err(ChannelError::Eof)));
    }

    #[test]
    fn recv_timeout_is_empty_and_oversize_is_refused_whole() {
        let (a, b) = pipe().expect("pipe");
        let b = b.with_limit(8);
        assert!(matches!(a.recv_timeout::<i32>(Duration::from_millis(20)), Err(ChannelError::Empty(_))));
        assert!(matches!(b.send("far too long a message"), Err(ChannelError::TooLarge { .. })));
        b.send("ok").expect("small one passes");
        let got: String = a.recv().expect("the refused one left nothing behind");
        assert_eq!(got, "ok");
    }

    #[test]
    fn oneway_ends_refuse_the_wrong_direction() {
        let (rx, tx) = pipe_oneway().expect("pipe");
        assert!(matches!(rx.send(&1), Err(ChannelError::WrongDirection("receive"))));
        assert!(matches!(tx.recv::<i32>(), Err(ChannelError::WrongDirection("send"))));
        tx.send(&5).expect("send");
        assert_eq!(rx.recv::<i32>().expect("recv"), 5);
    }

    #[test]
    fn poll_without_timeout_answers_at_once() {
        let (a, b) = pipe().expect("pipe");
        let t = std::time::Instant::now();
        assert!(!a.poll(None).expect("poll"));
        assert!(!a.poll(Some(Duration::ZERO)).expect("poll"));
        assert!(t.elapsed() < Duration::from_secs(5));
        b.send(&1).expect("send");
        assert!(a.poll(None).expect("poll"));
        a.wait_readable().expect("readable");
        assert_eq!(a.recv::<i32>().expect("recv"), 1);
    }

    /// Issue 8, point 9: `Duration::MAX` used to overflow `Instant + Duration`.
    #[test]
    fn duration_max_waits_instead_of_panicking() {
        let (a, b) = pipe().expect("pipe");
        b.send("x").expect("send");
        assert!(a.poll(Some(Duration::MAX)).expect("poll"));
        assert_eq!(a.recv_timeout::<String>(Duration::MAX).expect("recv"), "x");
    }

    #[test]
    fn raw_bytes_with_offset_and_size_and_their_bounds() {
        let (a, b) = pipe().expect("pipe");
        let buf = b"0123456789";
        b.send_bytes(buf, 0, None).expect("whole");
        b.send_bytes(buf, 2, Some(3)).expect("part");
        b.send_bytes(buf, 10, None).expect("empty tail");
        assert_eq!(a.recv_bytes(None).expect("recv"), buf);
        assert_eq!(a.recv_bytes(None).expect("recv"), b"234");
        assert_eq!(a.recv_bytes(None).expect("recv"), b"");
        for (offset, size) in [(11, None), (5, Some(6)), (usize::MAX, Some(2))] {
            let err = b.send_bytes(buf, offset, size).expect_err("out of bounds");
            assert!(matches!(err, ChannelError::Bounds { len: 10, .. }), "{err}");
        }
        assert!(!a.poll(None).expect("poll"), "nothing written by the refused sends");
    }

    #[test]
    fn recv_bytes_into_fills_from_offset_or_hands_back_the_message() {
        let (a, b) = pipe().expect("pipe");
        b.send_bytes(b"abc", 0, None).expect("send");
        let mut buf = [0u8; 6];
        assert_eq!(a.recv_bytes_into(&mut buf, 2).expect("fits"), 3);
        assert_eq!(&buf, b"\0\0abc\0");
        b.send_bytes(b"abcdef", 0, None).expect("send");
        match a.recv_bytes_into(&mut buf, 2) {
            Err(ChannelError::BufferTooShort { message, available: 4 }) => assert_eq!(message, b"abcdef"),
            other => panic!("expected BufferTooShort, got {other:?}"),
        }
        assert!(matches!(a.recv_bytes_into(&mut buf, 7), Err(ChannelError::Bounds { offset: 7, .. })));
    }

    /// Issue 8, point 8: the receiver's refusal used to leave the body in the pipe, read next
    /// as a length.
    #[test]
    fn a_message_over_the_receivers_limit_is_discarded_and_the_pipe_goes_on() {
        let (a, b) = pipe().expect("pipe");
        let a = a.with_limit(100);
        let t = std::thread::spawn(move || {
            b.send(&"y".repeat(300_000)).expect("send big");
            b.send("after").expect("send small");
            b
        });
        assert!(matches!(a.recv::<String>(), Err(ChannelError::TooLarge { limit: 100, .. })));
        assert_eq!(a.recv::<String>().expect("next"), "after");
        drop(t.join().expect("sender"));
        assert!(matches!(a.recv_bytes(Some(3)), Err(ChannelError::Eof)));
    }

    #[test]
    fn clones_share_the_end_and_eof_waits_for_every_copy() {
        let (a, b) = pipe().expect("pipe");
        let b2 = b.try_clone().expect("clone");
        b.send(&1).expect("send");
        b2.send(&2).expect("send");
        drop(b);
        assert_eq!(a.recv::<i32>().expect("recv"), 1);
        assert_eq!(a.recv::<i32>().expect("recv"), 2);
        assert!(!a.poll(None).expect("poll"), "a copy is still open: no EOF yet");
        b2.close();
        assert!(matches!(a.recv::<i32>(), Err(ChannelError::Eof)));
    }

    #[test]
    fn serializing_outside_a_start_is_an_error() {
        let (a, _b) = pipe().expect("pipe");
        let err = serde_json::to_string(&a).expect_err("refused");
        assert!(err.to_string().contains("process being started"), "{err}");
    }
}
