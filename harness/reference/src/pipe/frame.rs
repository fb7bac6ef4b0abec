//! A pipe's messages on its byte stream: a 4-byte little-endian length, then that many bytes.
//!
//! A message over the receiver's limit is read and thrown away whole (in bounded pieces), so
//! the next message is read from its own header: a refused message does not poison the stream.

use std::io::{self, IoSlice, Read, Write};

use crate::error::ChannelError;

pub(crate) const HEADER: usize = 4;

/// The largest body a header can announce.
pub(crate) const MAX_BODY: usize = u32::MAX as usize;

/// Checks `size` against `limit` (and the header's range) before anything is written.
pub(crate) fn check_size(size: usize, limit: usize) -> Result<(), ChannelError> {
    if size > limit || size > MAX_BODY {
        return Err(ChannelError::TooLarge { size, limit: limit.min(MAX_BODY) });
    }
    Ok(())
}

/// The header announcing a body of `size` bytes (checked by [`check_size`]).
pub(crate) fn header(size: usize) -> [u8; HEADER] {
    (size as u32).to_le_bytes()
}

/// Writes the header and `body` with vectored writes: no copy of the body to join them.
pub(crate) fn write_message(mut w: impl Write, body: &[u8]) -> io::Result<()> {
    let head = header(body.len());
    let mut bufs = [IoSlice::new(&head), IoSlice::new(body)];
    let mut bufs = &mut bufs[..];
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one message into `body` (made exactly its size). EOF before the first byte is
/// [`ChannelError::Eof`]; EOF inside a message is [`ChannelError::Truncated`]; a message over
/// `limit` is read and discarded, then refused with [`ChannelError::TooLarge`].
pub(crate) fn read_message(r: impl Read, limit: usize, body: &mut Vec<u8>) -> Result<(), ChannelError> {
    body.clear();
    let size = read_message_reusing(r, limit, body)?;
    body.truncate(size);
    Ok(())
}

/// [`read_message`] into the first bytes of `buf`, returning the message's size. `buf` only
/// grows (its bytes past the message are left as they were), so a buffer kept between
/// messages is neither reallocated nor cleared for each.
pub(crate) fn read_message_reusing(mut r: impl Read, limit: usize, buf: &mut Vec<u8>) -> Result<usize, ChannelError> {
    let mut head = [0u8; HEADER];
    let got = read_full(&mut r, &mut head)?;
    if got == 0 {
        return Err(ChannelError::Eof);
    }
    if got < HEADER {
        return Err(ChannelError::Truncated { expected: HEADER, got });
    }
    let size = u32::from_le_bytes(head) as usize;
    if size > limit {
        let got = discard(&mut r, size)?;
        if got < size {
            return Err(ChannelError::Truncated { expected: size, got });
        }
        return Err(ChannelError::TooLarge { size, limit });
    }
    if buf.len() < size {
        buf.resize(size, 0);
    }
    let got = read_full(&mut r, &mut buf[..size])?;
    if got < size {
        return Err(ChannelError::Truncated { expected: size, got });
    }
    Ok(size)
}

/// Reads and drops `size` bytes in bounded pieces; returns how many arrived before EOF.
fn discard(r: &mut impl Read, size: usize) -> io::Result<usize> {
    let mut scratch = vec![0u8; size.min(64 << 10)];
    let mut done = 0;
    while done < size {
        let want = (size - done).min(scratch.len());
        match r.read(&mut scratch[..want]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Like `read_exact`, but says how much arrived before EOF instead of failing.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_message(&mut out, body).expect("writes");
        out
    }

    #[test]
    fn round_trip_and_eof() {
        let stream = [message(b"hello"), message(b"")].concat();
        let mut r = &stream[..];
        let mut body = Vec::new();
        read_message(&mut r, 100, &mut body).expect("first");
        assert_eq!(body, b"hello");
        read_message(&mut r, 100, &mut body).expect("empty body");
        assert!(body.is_empty());
        assert!(matches!(read_message(&mut r, 100, &mut body), Err(ChannelError::Eof)));
    }

    #[test]
    fn a_cut_message_is_truncated() {
        let m = message(b"hello");
        let mut body = Vec::new();
        let err = read_message(&m[..m.len() - 2], 100, &mut body).expect_err("cut");
        assert!(matches!(err, ChannelError::Truncated { expected: 5, got: 3 }), "{err}");
        let err = read_message(&m[..2], 100, &mut body).expect_err("cut header");
        assert!(matches!(err, ChannelError::Truncated { expected: 4, got: 2 }), "{err}");
    }

    /// Issue 8, point 8: the refused message's body used to stay in the stream and be read as
    /// the next header.
    #[test]
    fn an_oversize_message_is_discarded_whole_and_the_next_one_reads() {
        let stream = [message(&[7u8; 200_000]), message(b"next")].concat();
        let mut r = &stream[..];
        let mut body = Vec::new();
        let err = read_message(&mut r, 1000, &mut body).expect_err("too large");
        assert!(matches!(err, ChannelError::TooLarge { size: 200_000, limit: 1000 }), "{err}");
        read_message(&mut r, 1000, &mut body).expect("the next message");
        assert_eq!(body, b"next");
    }

    #[test]
    fn sizes_over_the_limit_or_the_header_are_refused_before_writing() {
        assert!(check_size(10, 10).is_ok());
        assert!(matches!(check_size(11, 10), Err(ChannelError::TooLarge { size: 11, limit: 10 })));
        assert!(check_size(MAX_BODY + 1, usize::MAX).is_err());
    }
}

/// Property tests of the reader on untrusted streams: random, truncated and oversized. No
/// input panics, and memory stays bounded by the input and the limit (a header announcing
/// 4 GiB allocates nothing). Bounded in time under `cargo nextest run`; run longer with
/// `PROPTEST_CASES=100000 cargo nextest run -p procthread fuzz`.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn messages(bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in bodies {
            write_message(&mut out, b).expect("writes");
        }
        out
    }

    proptest! {
        /// Any byte stream reads as whole messages until an error: never a panic, never a
        /// body over the limit, never more allocated than the limit or the input allows.
        #[test]
        fn fuzz_any_stream_reads_as_messages_or_errors(
            stream in proptest::collection::vec(any::<u8>(), 0..4096),
            limit in 0usize..1024,
        ) {
            let mut r = &stream[..];
            let mut body = Vec::new();
            for _ in 0..=stream.len() {
                match read_message(&mut r, limit, &mut body) {
                    Ok(()) => {
                        prop_assert!(body.len() <= limit);
                        prop_assert!(body.capacity() <= limit.max(stream.len()) + 64);
                    }
                    Err(ChannelError::TooLarge { size, limit: l }) => prop_assert!(size > l),
                    Err(ChannelError::Eof | ChannelError::Truncated { .. }) => break,
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
        }

        /// A stream of messages cut anywhere: every message before the cut reads whole, then
        /// EOF at a boundary or `Truncated` inside one.
        #[test]
        fn fuzz_a_cut_stream_gives_whole_messages_then_truncated(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let stream = messages(&bodies);
            let cut = cut.index(stream.len() + 1);
            let mut r = &stream[..cut];
            let mut body = Vec::new();
            let mut whole = 0;
            loop {
                match read_message(&mut r, 1 << 20, &mut body) {
                    Ok(()) => {
                        prop_assert_eq!(&body, &bodies[whole]);
                        whole += 1;
                    }
                    Err(ChannelError::Eof) => {
                        prop_assert_eq!(messages(&bodies[..whole]).len(), cut);
                        break;
                    }
                    Err(ChannelError::Truncated { .. }) => {
                        prop_assert!(messages(&bodies[..whole]).len() < cut);
                        break;
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
        }

        /// Oversized messages among others are refused whole and the next one reads.
        #[test]
        fn fuzz_oversized_messages_are_skipped_whole(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..8),
            limit in 0usize..400,
        ) {
            let stream = messages(&bodies);
            let mut r = &stream[..];
            let mut body = Vec::new();
            for b in &bodies {
                match read_message(&mut r, limit, &mut body) {
                    Ok(()) => prop_assert_eq!(&body, b),
                    Err(ChannelError::TooLarge { size, .. }) => prop_assert!(size == b.len() && size > limit),
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
            prop_assert!(matches!(read_message(&mut r, limit, &mut body), Err(ChannelError::Eof)));
        }
    }
}
