//! `Pipe`: two connected ends carrying serde values, like the chapter's `multiprocessing.Pipe`.

use std::io::{self, PipeReader, PipeWriter};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ChannelError;
use crate::framing::{self, DEFAULT_MAX_MESSAGE};
use crate::os;
use crate::token::{Adopted, Exported};

/// One end of a [`pipe`]. It can be kept, moved to a thread, or passed to a [`Process`](crate::Process)
/// as (part of) its arguments: the child then owns it, and the parent's copy is closed when the
/// process starts, so that end-of-file reaches the other side when the child is done.
///
/// `recv` on an end whose peer is closed (dropped, or its process exited) gives
/// [`ChannelError::Eof`]. An end is meant for one user at a time, like CPython's `Connection`.
#[derive(Debug)]
pub struct PipeEnd {
    reader: Option<PipeReader>,
    writer: Option<PipeWriter>,
    limit: usize,
}

/// Two connected duplex ends: what one sends, the other receives.
pub fn pipe() -> io::Result<(PipeEnd, PipeEnd)> {
    let (r1, w1) = io::pipe()?;
    let (r2, w2) = io::pipe()?;
    let a = PipeEnd { reader: Some(r1), writer: Some(w2), limit: DEFAULT_MAX_MESSAGE };
    let b = PipeEnd { reader: Some(r2), writer: Some(w1), limit: DEFAULT_MAX_MESSAGE };
    Ok((a, b))
}

/// A one-way pipe: `(receiving end, sending end)`, the order of CPython's `Pipe(duplex=False)`.
pub fn pipe_oneway() -> io::Result<(PipeEnd, PipeEnd)> {
    let (r, w) = io::pipe()?;
    let rx = PipeEnd { reader: Some(r), writer: None, limit: DEFAULT_MAX_MESSAGE };
    let tx = PipeEnd { reader: None, writer: Some(w), limit: DEFAULT_MAX_MESSAGE };
    Ok((rx, tx))
}

impl PipeEnd {
    /// Sets the largest message this end sends or accepts (default [`DEFAULT_MAX_MESSAGE`]).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Sends one value. A value over the limit is refused whole: nothing is written.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        let writer = self.writer.as_ref().ok_or(ChannelError::WrongDirection("receive"))?;
        let frame = framing::encode(value, self.limit)?;
        framing::write_frame(writer, &frame)
    }

    /// Receives one value, waiting as long as it takes; EOF once the peer is closed.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        let reader = self.reader()?;
        framing::decode(&framing::read_frame(reader, self.limit)?)
    }

    /// Receives one value, or [`ChannelError::Empty`] if none arrives within `timeout`.
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T, ChannelError> {
        if !self.poll(Some(timeout))? {
            return Err(ChannelError::Empty(timeout));
        }
        self.recv()
    }

    /// Whether a value (or EOF) is ready to be received, waiting up to `timeout` (`None`: for ever).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, ChannelError> {
        Ok(os::wait_readable(self.reader()?, timeout)?)
    }

    fn reader(&self) -> Result<&PipeReader, ChannelError> {
        self.reader.as_ref().ok_or(ChannelError::WrongDirection("send"))
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
        Ok(PipeEnd {
            reader: w.r.map(|h| PipeReader::from(h.0)),
            writer: w.w.map(|h| PipeWriter::from(h.0)),
            limit: w.limit,
        })
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
    fn serializing_outside_a_start_is_an_error() {
        let (a, _b) = pipe().expect("pipe");
        let err = serde_json::to_string(&a).expect_err("refused");
        assert!(err.to_string().contains("process being started"), "{err}");
    }
}
