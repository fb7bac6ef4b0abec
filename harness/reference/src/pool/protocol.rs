//! What the pool and a worker process say to each other, as frames (a 4-byte length, then the
//! body; see `framing`). Each item of a chunk travels in its own encoding (MessagePack, see
//! `codec`: the channels' encoding, which carries bytes and strings as they are), so one item's
//! failure (undecodable, too large, a panic) is that item's alone, and nothing is encoded twice.
//!
//! - Request (pool to worker): `[RUN] [name length: u16] [name] [count: u32]`, then per item
//!   `[length: u32] [encoded arguments]`.
//! - Items (worker to pool): `[ITEMS] [first: u32] [count: u32]`, then per item `[tag: u8]
//!   [length: u32] [bytes]`, the tag saying whether the bytes are the encoded value or a
//!   [`WireFailure`]'s. A chunk's results come in one frame or, when they are large, several,
//!   none over the limit.
//! - Initializer failure (worker to pool, then the worker exits): `[INIT_FAILED] [message]`.
//!
//! All integers are little-endian.

use std::io::Write;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::failure::{self, WireFailure};
use crate::codec;
use crate::entry::TaskFn;
use crate::error::PoolError;

pub(crate) const RUN: u8 = 1;
pub(crate) const ITEMS: u8 = 2;
pub(crate) const INIT_FAILED: u8 = 3;

pub(crate) const TAG_VALUE: u8 = 0;
pub(crate) const TAG_FAILURE: u8 = 1;

/// Room for the frame and item headers beyond the items themselves.
pub(crate) const SLACK: usize = 64 << 10;

const HEADER: usize = 4;

/// Builds one request frame, item by item.
pub(crate) struct Request {
    frame: Vec<u8>,
    count: u32,
    count_at: usize,
}

impl Request {
    pub(crate) fn new(task: &str) -> Request {
        let name = task.as_bytes();
        let name_len = name.len().min(u16::MAX as usize);
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(&[0; HEADER]);
        frame.push(RUN);
        frame.extend_from_slice(&(name_len as u16).to_le_bytes());
        frame.extend_from_slice(&name[..name_len]);
        let count_at = frame.len();
        frame.extend_from_slice(&0u32.to_le_bytes());
        Request { frame, count: 0, count_at }
    }

    /// Appends one item's encoded arguments.
    pub(crate) fn push(&mut self, item: &[u8]) {
        self.frame.extend_from_slice(&(item.len() as u32).to_le_bytes());
        self.frame.extend_from_slice(item);
        self.count += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.frame.len()
    }

    pub(crate) fn count(&self) -> usize {
        self.count as usize
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let body = (self.frame.len() - HEADER) as u32;
        self.frame[..HEADER].copy_from_slice(&body.to_le_bytes());
        self.frame[self.count_at..self.count_at + 4].copy_from_slice(&self.count.to_le_bytes());
        self.frame
    }
}

/// A little-endian reader over a frame body.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err(format!("frame cut short: wanted {n} more bytes, {} left", self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// A request's task name and items, as the worker reads it.
pub(crate) fn parse_request(body: &[u8]) -> Result<(&str, Vec<&[u8]>), String> {
    let mut c = Cursor::new(body);
    if c.u8()? != RUN {
        return Err("not a request".into());
    }
    let name_len = c.u16()? as usize;
    let name = std::str::from_utf8(c.take(name_len)?).map_err(|e| format!("task name: {e}"))?;
    let count = c.u32()? as usize;
    let mut items = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let len = c.u32()? as usize;
        items.push(c.take(len)?);
    }
    Ok((name, items))
}

/// Writes a worker's results for one chunk, in frames no larger than the limit.
pub(crate) struct Reply<W: Write> {
    out: W,
    frame: Vec<u8>,
    limit: usize,
    next: u32,
    first: u32,
    count: u32,
}

impl<W: Write> Reply<W> {
    pub(crate) fn new(out: W, limit: usize) -> Self {
        let mut r = Reply { out, frame: Vec::with_capacity(256), limit, next: 0, first: 0, count: 0 };
        r.start_frame();
        r
    }

    fn start_frame(&mut self) {
        self.frame.clear();
        self.frame.extend_from_slice(&[0; HEADER]);
        self.frame.push(ITEMS);
        self.frame.extend_from_slice(&[0; 8]);
        self.first = self.next;
        self.count = 0;
    }

    /// Adds one item's outcome; sends the frame first if the item would not fit in it.
    pub(crate) fn item(&mut self, tag: u8, bytes: &[u8]) -> std::io::Result<()> {
        if self.count > 0 && self.frame.len() + 5 + bytes.len() > self.limit + SLACK {
            self.flush()?;
        }
        self.frame.push(tag);
        self.frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.frame.extend_from_slice(bytes);
        self.count += 1;
        self.next += 1;
        Ok(())
    }

    /// Sends what is pending (nothing if empty).
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let body = (self.frame.len() - HEADER) as u32;
        self.frame[..HEADER].copy_from_slice(&body.to_le_bytes());
        self.frame[HEADER + 1..HEADER + 5].copy_from_slice(&self.first.to_le_bytes());
        self.frame[HEADER + 5..HEADER + 9].copy_from_slice(&self.count.to_le_bytes());
        self.out.write_all(&self.frame)?;
        self.out.flush()?;
        self.start_frame();
        Ok(())
    }
}

/// One item's outcome as it arrived: its tag and bytes.
pub(crate) type Outcome<'a> = (u8, &'a [u8]);

/// One reply frame's items, as the pool reads it: the first item's index and the outcomes.
pub(crate) fn parse_items(body: &[u8]) -> Result<(usize, Vec<Outcome<'_>>), String> {
    let mut c = Cursor::new(body);
    if c.u8()? != ITEMS {
        return Err("not an items frame".into());
    }
    let first = c.u32()? as usize;
    let count = c.u32()? as usize;
    let mut items = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let tag = c.u8()?;
        let len = c.u32()? as usize;
        items.push((tag, c.take(len)?));
    }
    Ok((first, items))
}

/// Writes `failure` as an item's outcome.
pub(crate) fn failure(out: &mut Vec<u8>, failure: &WireFailure) -> u8 {
    out.clear();
    // A failure is a few strings: encoding it cannot fail.
    let _ = codec::encode_into(out, failure);
    TAG_FAILURE
}

/// The outcome of asking for a pool item from something that is not a [`Task`](crate::Task).
pub(crate) fn not_a_task(name: &str, out: &mut Vec<u8>) -> u8 {
    failure(out, &WireFailure::UnknownTask(name.to_string()))
}

/// Runs one item of a task in a worker: decodes the arguments, runs the function (catching a
/// panic), encodes the value into `out`. Every failure becomes the item's own outcome.
pub(crate) fn run_task_item<A, R, E>(func: &TaskFn<A, R, E>, args: &[u8], out: &mut Vec<u8>, limit: usize) -> u8
where
    A: DeserializeOwned,
    R: Serialize,
    E: std::fmt::Display + std::fmt::Debug,
{
    let args: A = match codec::decode(args) {
        Ok(a) => a,
        Err(e) => return failure(out, &WireFailure::Decode { what: "arguments".into(), reason: e.to_string() }),
    };
    let value = match failure::run_captured(|| func.call(args)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return failure(out, &failure::error_value(&e)),
        Err((message, remote)) => return failure(out, &WireFailure::Panicked { message, remote }),
    };
    out.clear();
    if let Err(e) = codec::encode_into(out, &value) {
        return failure(out, &WireFailure::Encode { what: "result".into(), reason: e.to_string() });
    }
    if out.len() > limit {
        let size = out.len();
        return failure(out, &WireFailure::TooLarge { what: "result".into(), size, limit });
    }
    TAG_VALUE
}

/// The pool's reading of one item's outcome, as the task's result type.
pub(crate) fn decode_item<R: DeserializeOwned>(tag: u8, bytes: &[u8]) -> Result<R, PoolError> {
    match tag {
        TAG_VALUE => codec::decode(bytes).map_err(|e| PoolError::Decode { what: "result", reason: e.to_string() }),
        _ => match codec::decode::<WireFailure>(bytes) {
            Ok(f) => Err(f.into()),
            Err(e) => Err(PoolError::Decode { what: "failure", reason: e.to_string() }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let mut r = Request::new("square");
        for v in [&b"1"[..], b"22", b"333"] {
            r.push(v);
        }
        let frame = r.finish();
        let body = crate::framing::read_frame(&frame[..], 1 << 20).expect("frame");
        let (name, items) = parse_request(&body).expect("parses");
        assert_eq!(name, "square");
        assert_eq!(items, vec![&b"1"[..], b"22", b"333"]);
    }

    #[test]
    fn replies_split_into_frames_under_the_limit() {
        let mut out = Vec::new();
        let mut reply = Reply::new(&mut out, 10);
        let big = vec![b'x'; SLACK];
        for _ in 0..3 {
            reply.item(TAG_VALUE, &big).expect("write");
        }
        reply.flush().expect("flush");
        let mut rest = &out[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let body = crate::framing::read_frame(&mut rest, 10 + 2 * SLACK).expect("frame");
            let (first, items) = parse_items(&body).expect("items");
            seen.push((first, items.len()));
        }
        assert_eq!(seen, vec![(0, 1), (1, 1), (2, 1)]);
    }

    #[test]
    fn a_failure_decodes_as_its_kind() {
        let mut out = Vec::new();
        let tag = failure(&mut out, &WireFailure::TooLarge { what: "result".into(), size: 9, limit: 4 });
        assert_eq!(decode_item::<i32>(tag, &out), Err(PoolError::TooLarge { what: "result", size: 9, limit: 4 }));
        assert!(matches!(decode_item::<i32>(TAG_VALUE, &[0xc1]), Err(PoolError::Decode { what: "result", .. })));
    }
}
