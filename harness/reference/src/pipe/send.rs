//! Sending a value on a pipe without copying its large parts: the value is encoded twice,
//! first only to count its bytes (so that the header, which comes first, can announce them and
//! the limit can refuse the value before anything is written), then straight into the pipe.
//! Small pieces of the encoding (field names, numbers, short strings) are gathered in a buffer
//! kept between messages; a large one (a long string or byte buffer) goes to the pipe as it
//! is, from the value's own memory.
//!
//! A value whose encoding changes between the two passes (a `Serialize` reading state that
//! another thread changes) still fills exactly the announced bytes, so the stream stays in
//! step: shorter, it is followed by padding that the receiver never reads; longer, it is cut
//! and padded with a byte that no encoding starts with, so the receiver fails to decode that
//! one message, and the sender gets an error.

use std::io::{self, Write};

use serde::Serialize;

use super::frame;
use crate::codec;
use crate::error::ChannelError;

/// Pieces at least this large are written to the pipe as they are.
const DIRECT: usize = 16 << 10;

/// Gathered pieces are written once they reach this size.
const GATHER: usize = 64 << 10;

/// MessagePack's "never used" byte: padding that cannot decode.
const NEVER_USED: u8 = 0xc1;

/// Sends `value` as one frame on `out`, refused whole if its encoding is over `limit`.
/// `buf` is scratch space (kept between messages by the caller).
pub(crate) fn send_value<W: Write, T: Serialize + ?Sized>(
    out: W,
    buf: &mut Vec<u8>,
    value: &T,
    limit: usize,
) -> Result<(), ChannelError> {
    let mut count = Count(0);
    codec::encode_to(&mut count, value)?;
    let size = count.0;
    frame::check_size(size, limit)?;
    crate::faultpoint::hit(crate::faultpoint::Point::PipeSendBegin);
    buf.clear();
    buf.extend_from_slice(&frame::header(size));
    let mut through = Through { out, buf, left: size, longer: false, failed: None };
    let encoded = codec::encode_to(&mut through, value);
    let Through { mut out, buf, left, longer, failed } = through;
    // The pipe failed under the encoder (a peer gone mid-message: a broken pipe): that is the
    // error, not the encoding.
    if let Some(e) = failed {
        return Err(e.into());
    }
    if left > 0 {
        let pad = if longer || encoded.is_err() { NEVER_USED } else { 0 };
        buf.resize(buf.len() + left, pad);
    }
    if !buf.is_empty() {
        out.write_all(buf)?;
    }
    if longer {
        return Err(ChannelError::Corrupt(format!(
            "the value encoded to {size} bytes, then to more: its message was cut and will not decode"
        )));
    }
    encoded
}

/// Counts the bytes written to it.
struct Count(usize);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes at most `left` bytes to `out`: small pieces through `buf`, large ones directly.
struct Through<'a, W: Write> {
    out: W,
    buf: &'a mut Vec<u8>,
    left: usize,
    /// A write went past the announced size.
    longer: bool,
    /// The pipe's own error, if a write to it failed (the encoder sees only its kind).
    failed: Option<io::Error>,
}

impl<W: Write> Through<'_, W> {
    fn write_out(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b).map_err(|e| {
            let kind = e.kind();
            self.failed = Some(e);
            io::Error::from(kind)
        })
    }
}

impl<W: Write> Write for Through<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if b.len() > self.left {
            self.longer = true;
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the value's encoding grew between two passes"));
        }
        self.left -= b.len();
        if b.len() >= DIRECT {
            // The gathered head and the piece in one vectored write (see `write_both`); the
            // pipe's own error is kept, as in `write_out`.
            let written = write_both(&mut self.out, self.buf, b).map_err(|e| {
                let kind = e.kind();
                self.failed = Some(e);
                io::Error::from(kind)
            });
            written?;
            self.buf.clear();
        } else {
            self.buf.extend_from_slice(b);
            if self.buf.len() >= GATHER {
                let gathered = std::mem::take(self.buf);
                let written = self.write_out(&gathered);
                *self.buf = gathered;
                written?;
                self.buf.clear();
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `a` then `b` with as few system calls as the writer allows (`writev` on Unix): the
/// gathered head and a large piece go out together, so that a reader waiting for the head is
/// woken once, with the piece already there, rather than once for a few bytes.
fn write_both(out: &mut impl Write, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
    while !a.is_empty() {
        match out.write_vectored(&[io::IoSlice::new(a), io::IoSlice::new(b)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) if n < a.len() => a = &a[n..],
            Ok(n) => {
                b = &b[n - a.len()..];
                a = &[];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.write_all(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn read_one(stream: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        frame::read_message(stream, usize::MAX, &mut body).expect("a frame");
        body
    }

    #[test]
    fn small_and_large_values_arrive_as_one_frame_each() {
        let big = "q".repeat(100_000);
        let value = (1u8, "small", &big, vec![3u32; 5000]);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        send_value(&mut out, &mut buf, &value, usize::MAX).expect("sent");
        send_value(&mut out, &mut buf, "next", usize::MAX).expect("sent");
        let body = read_one(&out);
        assert_eq!(
            codec::decode::<(u8, String, String, Vec<u32>)>(&body).expect("decodes"),
            (1, "small".into(), big, vec![3; 5000])
        );
        assert_eq!(codec::decode::<String>(&read_one(&out[4 + body.len()..])).expect("decodes"), "next");
        assert!(buf.capacity() < 100_000, "the large string went around the buffer");
    }

    /// A writer that takes at most 5 bytes a call, vectored or not.
    struct Trickle(Vec<u8>);

    impl Write for Trickle {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(5);
            self.0.extend_from_slice(&b[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(5 - n);
                self.0.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_vectored_writes_still_write_everything_in_order() {
        let big = "b".repeat(DIRECT + 3);
        let value = ("head", &big, "tail");
        let mut out = Trickle(Vec::new());
        send_value(&mut out, &mut Vec::new(), &value, usize::MAX).expect("sent");
        let got: (String, String, String) = codec::decode(&read_one(&out.0)).expect("decodes");
        assert_eq!(got, ("head".into(), big, "tail".into()));
    }

    #[test]
    fn over_the_limit_nothing_is_written() {
        let mut out = Vec::new();
        let err = send_value(&mut out, &mut Vec::new(), &"x".repeat(50), 10).expect_err("too large");
        assert!(matches!(err, ChannelError::TooLarge { size: 52, limit: 10 }), "{err}");
        assert!(out.is_empty());
    }

    /// A pipe whose reader is gone fails a write of a large piece under the encoder: the
    /// sender gets that I/O error (a broken pipe), not an encoding error.
    #[test]
    fn a_broken_pipe_under_the_encoder_is_an_io_error() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for len in [10, 100_000] {
            let err = send_value(Broken, &mut Vec::new(), &"b".repeat(len), usize::MAX).expect_err("broken");
            assert!(
                matches!(&err, ChannelError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe),
                "{len} bytes: {err:?}"
            );
        }
    }

    /// A `Serialize` that writes more bytes the second time: the frame keeps its announced
    /// size, the receiver cannot decode it, the next frame reads normally.
    #[test]
    fn a_value_that_grows_between_the_passes_keeps_the_stream_in_step() {
        struct Growing(Cell<usize>);
        impl Serialize for Growing {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.set(self.0.get() + 10);
                s.serialize_str(&"g".repeat(self.0.get()))
            }
        }
        let mut out = Vec::new();
        let mut buf = Vec::new();
        assert!(send_value(&mut out, &mut buf, &Growing(Cell::new(0)), usize::MAX).is_err());
        send_value(&mut out, &mut buf, "after", usize::MAX).expect("sent");
        let first = read_one(&out);
        assert_eq!(first.len(), 11, "as announced");
        assert!(codec::decode::<String>(&first).is_err(), "cut: does not decode");
        assert_eq!(codec::decode::<String>(&read_one(&out[4 + first.len()..])).expect("decodes"), "after");
    }
}
