//! The manager's framing: a 4-byte big-endian length, then that many bytes of JSON.
//!
//! Readers are generic over [`Read`] so that the fuzz tests feed them bytes from memory; on a
//! socket the caller bounds each read with a read timeout (see [`Timed`]), and a timed-out read
//! comes back as [`FrameError::Idle`] (nothing of a frame read: the stream is still in step) or
//! [`FrameError::Stalled`] (inside a frame: out of step, close it).
//!
//! Memory: a body is read in pieces, its buffer growing with what has arrived (at most twice
//! the received bytes plus [`CHUNK`], never over the announced size), so a peer that announces
//! a large frame and sends little makes us hold little.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::Serialize;

pub(crate) const HEADER: usize = 4;

/// The largest piece read into a body at once.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Why no frame came out of a stream.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The peer closed the stream between two frames.
    Eof,
    /// A read timed out before any byte of a frame arrived: nothing is lost, the stream is in step.
    Idle,
    /// The stream ended inside a frame.
    Truncated {
        expected: usize,
        got: usize,
    },
    /// A read timed out inside a frame: the peer stopped sending mid-frame.
    Stalled {
        expected: usize,
        got: usize,
    },
    /// The header announces more than the limit. Nothing of the body was read: the caller
    /// either [`discard`]s it (the stream stays in step) or closes the stream.
    TooLarge {
        size: usize,
        limit: usize,
    },
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Eof => write!(f, "the peer closed the connection"),
            FrameError::Idle => write!(f, "nothing arrived in time"),
            FrameError::Truncated { expected, got } => {
                write!(f, "the connection ended inside a frame ({got} of {expected} bytes)")
            }
            FrameError::Stalled { expected, got } => {
                write!(f, "the peer stalled inside a frame ({got} of {expected} bytes)")
            }
            FrameError::TooLarge { size, limit } => {
                write!(f, "frame of {size} bytes is over the limit of {limit} bytes")
            }
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    // Unix reports a read timeout as WouldBlock, Windows as TimedOut.
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Reads one frame's body of at most `limit` bytes.
pub(crate) fn read_frame(mut r: impl Read, limit: usize) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Eof),
            Ok(0) => return Err(FrameError::Truncated { expected: HEADER, got }),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && got == 0 => return Err(FrameError::Idle),
            Err(e) if is_timeout(&e) => return Err(FrameError::Stalled { expected: HEADER, got }),
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let size = u32::from_be_bytes(header) as usize;
    if size > limit {
        return Err(FrameError::TooLarge { size, limit });
    }
    let mut body: Vec<u8> = Vec::new();
    while body.len() < size {
        let start = body.len();
        let piece = (size - start).min(CHUNK);
        if body.capacity() < start + piece {
            // Double what we hold, but never past the announced size.
            let target = (body.capacity() * 2).max(start + piece).min(size);
            body.reserve_exact(target - start);
        }
        body.resize(start + piece, 0);
        match r.read(&mut body[start..]) {
            Ok(0) => return Err(FrameError::Truncated { expected: size, got: start }),
            Ok(n) => body.truncate(start + n),
            Err(e) => {
                body.truncate(start);
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if is_timeout(&e) {
                    return Err(FrameError::Stalled { expected: size, got: start });
                }
                return Err(FrameError::Io(e));
            }
        }
    }
    Ok(body)
}

/// Reads and drops a body of `size` bytes whose header was refused, so that the stream stays
/// in step and the peer can be told why.
pub(crate) fn discard(mut r: impl Read, size: usize) -> Result<(), FrameError> {
    let mut scratch = [0u8; 8192];
    let mut left = size;
    while left > 0 {
        let want = left.min(scratch.len());
        match r.read(&mut scratch[..want]) {
            Ok(0) => return Err(FrameError::Truncated { expected: size, got: size - left }),
            Ok(n) => left -= n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(FrameError::Stalled { expected: size, got: size - left }),
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(())
}

/// Why a message could not be made into a frame.
#[derive(Debug)]
pub(crate) enum EncodeError {
    TooLarge { size: usize, limit: usize },
    Json(serde_json::Error),
}

/// Encodes `msg` as one frame (header included), refused whole if its body is over `limit`.
pub(crate) fn encode<T: Serialize + ?Sized>(msg: &T, limit: usize) -> Result<Vec<u8>, EncodeError> {
    let mut frame = vec![0u8; HEADER];
    serde_json::to_writer(&mut frame, msg).map_err(EncodeError::Json)?;
    let size = frame.len() - HEADER;
    let Ok(len) = u32::try_from(size) else { return Err(EncodeError::TooLarge { size, limit }) };
    if size > limit {
        return Err(EncodeError::TooLarge { size, limit });
    }
    frame[..HEADER].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// Writes a whole frame with one `write_all` (a frame is never interleaved with another).
pub(crate) fn write_frame(mut w: impl Write, frame: &[u8]) -> io::Result<()> {
    w.write_all(frame)?;
    w.flush()
}

/// How much an [`Inbox`] reads at once.
const INBOX: usize = 4096;

/// Bytes read from a connection ahead of the frame being read, kept for the next: one read
/// system call then brings a small frame's header and body together. One per connection,
/// kept as long as the connection.
#[derive(Debug)]
pub(crate) struct Inbox {
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox { buf: vec![0u8; INBOX].into_boxed_slice(), pos: 0, end: 0 }
    }
}

impl Inbox {
    /// Whether bytes the peer sent are waiting here.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// Reads through this inbox from `inner`.
    pub(crate) fn reader<R: Read>(&mut self, inner: R) -> Buffered<'_, R> {
        Buffered { inbox: self, inner }
    }
}

/// A reader that serves an [`Inbox`]'s bytes first, and refills it with small reads.
#[derive(Debug)]
pub(crate) struct Buffered<'a, R> {
    inbox: &'a mut Inbox,
    inner: R,
}

impl<R: Read> Read for Buffered<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let inbox = &mut *self.inbox;
        if inbox.is_empty() {
            if out.len() >= inbox.buf.len() {
                // Large reads go straight through.
                return self.inner.read(out);
            }
            let n = self.inner.read(&mut inbox.buf)?;
            inbox.pos = 0;
            inbox.end = n;
        }
        let n = out.len().min(inbox.end - inbox.pos);
        out[..n].copy_from_slice(&inbox.buf[inbox.pos..inbox.pos + n]);
        inbox.pos += n;
        Ok(n)
    }
}

/// How far a timed read's socket timeout may run past the deadline before it is set again:
/// re-arming it on every read would cost a system call per read.
const SLACK: Duration = Duration::from_millis(50);

/// A socket whose reads end at a deadline: each read's timeout is the time left, so a peer
/// that sends one byte at a time still cannot keep us past the deadline.
#[derive(Debug)]
pub(crate) struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
    /// The read timeout last set on the socket, if we know it.
    armed: &'a mut Option<Duration>,
}

impl<'a> Timed<'a> {
    /// `armed` remembers the socket's read timeout across calls, so that a call whose bound
    /// matches the last one sets nothing.
    pub(crate) fn new(stream: &'a TcpStream, deadline: Instant, armed: &'a mut Option<Duration>) -> Self {
        Timed { stream, deadline, armed }
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            // A timeout longer than what is left (beyond the slack) would overshoot; one much
            // shorter would wake us for nothing.
            let rearm = match *self.armed {
                None => true,
                Some(t) => t > left + SLACK || t.saturating_mul(2) < left,
            };
            if rearm {
                // A zero timeout means "block for ever" to the OS: never set one.
                let t = left.max(Duration::from_millis(1));
                self.stream.set_read_timeout(Some(t))?;
                *self.armed = Some(t);
            }
            match self.stream.read(buf) {
                Err(e) if is_timeout(&e) && Instant::now() < self.deadline => continue,
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn round_trip_and_big_endian_header() {
        let frame = encode(&("A", 1), 100).expect("encodes");
        assert_eq!(&frame[..HEADER], &[0, 0, 0, 7], "network byte order");
        let mut r = &frame[..];
        assert_eq!(read_frame(&mut r, 100).expect("reads"), b"[\"A\",1]");
        assert!(matches!(read_frame(&mut r, 100), Err(FrameError::Eof)));
    }

    #[test]
    fn cut_frames_are_truncated() {
        let frame = frame_of(b"hello");
        assert!(matches!(read_frame(&frame[..7], 100), Err(FrameError::Truncated { expected: 5, got: 3 })));
        assert!(matches!(read_frame(&frame[..2], 100), Err(FrameError::Truncated { expected: 4, got: 2 })));
    }

    #[test]
    fn over_limit_is_refused_before_the_body_and_can_be_skipped() {
        let mut stream = frame_of(&[b'x'; 20]);
        stream.extend(frame_of(b"next"));
        let mut r = &stream[..];
        assert!(matches!(read_frame(&mut r, 10), Err(FrameError::TooLarge { size: 20, limit: 10 })));
        discard(&mut r, 20).expect("discard");
        assert_eq!(read_frame(&mut r, 10).expect("in step"), b"next");
        assert!(matches!(encode(&"x".repeat(20), 10), Err(EncodeError::TooLarge { size: 22, limit: 10 })));
    }

    #[test]
    fn a_large_announced_frame_holds_only_what_arrived() {
        // 16 MiB announced, 100 bytes sent: the reader's buffer is one chunk, not 16 MiB.
        struct Spy<'a> {
            data: &'a [u8],
            biggest_read: usize,
        }
        impl Read for Spy<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.biggest_read = self.biggest_read.max(buf.len());
                self.data.read(buf)
            }
        }
        let mut data = (16u32 << 20).to_be_bytes().to_vec();
        data.extend_from_slice(&[b'1'; 100]);
        let mut spy = Spy { data: &data, biggest_read: 0 };
        assert!(matches!(read_frame(&mut spy, 32 << 20), Err(FrameError::Truncated { got: 100, .. })));
        assert!(spy.biggest_read <= CHUNK, "asked for {} bytes at once", spy.biggest_read);
    }

    #[test]
    fn an_inbox_keeps_what_follows_a_frame_for_the_next() {
        let mut stream = frame_of(b"one");
        stream.extend(frame_of(&[b'x'; 10_000]));
        stream.extend(frame_of(b"three"));
        let mut inbox = Inbox::default();
        let mut r = &stream[..];
        assert_eq!(read_frame(inbox.reader(&mut r), 100_000).expect("one"), b"one");
        assert!(!inbox.is_empty(), "read ahead");
        assert_eq!(read_frame(inbox.reader(&mut r), 100_000).expect("two").len(), 10_000);
        assert_eq!(read_frame(inbox.reader(&mut r), 100_000).expect("three"), b"three");
        assert!(inbox.is_empty());
        assert!(matches!(read_frame(inbox.reader(&mut r), 100_000), Err(FrameError::Eof)));
    }

    #[test]
    fn timeouts_are_idle_between_frames_and_stalls_inside() {
        struct Then<'a>(&'a [u8]);
        impl Read for Then<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.0.read(buf)
            }
        }
        assert!(matches!(read_frame(Then(b""), 10), Err(FrameError::Idle)));
        assert!(matches!(read_frame(Then(&[0, 0]), 10), Err(FrameError::Stalled { expected: 4, got: 2 })));
        assert!(matches!(read_frame(Then(&[0, 0, 0, 5, b'a']), 10), Err(FrameError::Stalled { expected: 5, got: 1 })));
    }
}
