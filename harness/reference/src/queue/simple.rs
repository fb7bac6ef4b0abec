//! `SimpleQueue`: CPython's minimal queue, with no feeder thread and no counts.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::channel::Channel;
use crate::codec;
use crate::error::ChannelError;
use crate::framing::DEFAULT_MAX_MESSAGE;

/// A FIFO shared by threads and processes like a [`Queue`](super::Queue), but `put` writes to
/// the ring itself (waiting while the ring is full), as CPython's `SimpleQueue` writes to its
/// pipe: no background thread, nothing to join, nothing lost at exit once `put` returned.
#[derive(Debug, Clone)]
pub struct SimpleQueue {
    chan: Arc<Channel>,
    closed: Arc<AtomicBool>,
}

impl SimpleQueue {
    pub fn new() -> io::Result<SimpleQueue> {
        Ok(SimpleQueue { chan: Arc::new(Channel::new(DEFAULT_MAX_MESSAGE, 0)?), closed: Arc::default() })
    }

    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ChannelError> {
        self.check_open()?;
        self.chan.counters.reserve(0, None);
        let sent = match self.chan.try_send_value(value) {
            Ok(true) => Ok(()),
            Ok(false) => self.chan.encode(value).and_then(|frame| self.chan.send_all(&[&frame])),
            Err(e) => Err(e),
        };
        sent.inspect_err(|_| self.chan.counters.unreserve())
    }

    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        self.check_open()?;
        match self.chan.recv(None, codec::decode)? {
            Some(value) => Ok(value),
            None => Err(ChannelError::Corrupt("a get without a deadline came back empty".into())),
        }
    }

    /// Whether nothing is waiting in the ring right now.
    pub fn empty(&self) -> Result<bool, ChannelError> {
        self.check_open()?;
        Ok(self.chan.is_empty())
    }

    /// Ends this process's use of the queue: `put`, `get` and `empty` are then
    /// [`ChannelError::Closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn check_open(&self) -> Result<(), ChannelError> {
        if self.closed.load(Ordering::SeqCst) { Err(ChannelError::Closed) } else { Ok(()) }
    }
}

impl Serialize for SimpleQueue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.chan.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SimpleQueue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SimpleQueue { chan: Arc::new(Channel::deserialize(d)?), closed: Arc::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_empty_close() {
        let q = SimpleQueue::new().expect("queue");
        assert!(q.empty().expect("empty"));
        q.put("a").expect("put");
        assert!(!q.empty().expect("empty"));
        assert_eq!(q.get::<String>().expect("get"), "a");
        q.close();
        assert!(matches!(q.put("b"), Err(ChannelError::Closed)));
        assert!(matches!(q.get::<String>(), Err(ChannelError::Closed)));
    }
}
