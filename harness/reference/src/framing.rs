//! Messages on a byte stream: a 4-byte little-endian length, then that many bytes of JSON.
//! A frame is written with one `write_all` by a writer that holds the stream's writer lock,
//! so two frames never interleave.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ChannelError;

/// The default bound on one message's encoded size.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

const HEADER: usize = 4;

/// Encodes `value` as one frame, refusing it whole if it is over `limit`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, limit: usize) -> Result<Vec<u8>, ChannelError> {
    let mut frame = vec![0u8; HEADER];
    serde_json::to_writer(&mut frame, value).map_err(ChannelError::Encode)?;
    let size = frame.len() - HEADER;
    if size > limit || u32::try_from(size).is_err() {
        return Err(ChannelError::TooLarge { size, limit });
    }
    frame[..HEADER].copy_from_slice(&(size as u32).to_le_bytes());
    Ok(frame)
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(ChannelError::Decode)
}

pub(crate) fn write_frame(mut w: impl Write, frame: &[u8]) -> Result<(), ChannelError> {
    w.write_all(frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame's body. EOF before the first byte is [`ChannelError::Eof`]; EOF inside a
/// frame is [`ChannelError::Truncated`]; a length over `limit` is refused before reading the body.
pub(crate) fn read_frame(mut r: impl Read, limit: usize) -> Result<Vec<u8>, ChannelError> {
    let mut header = [0u8; HEADER];
    let got = read_full(&mut r, &mut header)?;
    if got == 0 {
        return Err(ChannelError::Eof);
    }
    if got < HEADER {
        return Err(ChannelError::Truncated { expected: HEADER, got });
    }
    let size = u32::from_le_bytes(header) as usize;
    if size > limit {
        return Err(ChannelError::TooLarge { size, limit });
    }
    let mut body = vec![0u8; size];
    let got = read_full(&mut r, &mut body)?;
    if got < size {
        return Err(ChannelError::Truncated { expected: size, got });
    }
    Ok(body)
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

    #[test]
    fn round_trip() {
        let frame = encode(&("A", 1), 100).expect("encodes");
        let body = read_frame(&frame[..], 100).expect("reads");
        let value: (String, i32) = decode(&body).expect("decodes");
        assert_eq!(value, ("A".to_string(), 1));
    }

    #[test]
    fn empty_stream_is_eof_and_cut_frame_is_truncated() {
        assert!(matches!(read_frame(&[][..], 10), Err(ChannelError::Eof)));
        let frame = encode(&"hello", 100).expect("encodes");
        let cut = &frame[..frame.len() - 2];
        assert!(matches!(read_frame(cut, 100), Err(ChannelError::Truncated { expected: 7, got: 5 })));
        assert!(matches!(read_frame(&frame[..2], 100), Err(ChannelError::Truncated { expected: 4, got: 2 })));
    }

    #[test]
    fn over_limit_is_refused_on_both_sides() {
        let err = encode(&"x".repeat(20), 10).expect_err("too large");
        assert!(matches!(err, ChannelError::TooLarge { size: 22, limit: 10 }));
        let frame = encode(&"x".repeat(20), 100).expect("encodes");
        assert!(matches!(read_frame(&frame[..], 10), Err(ChannelError::TooLarge { size: 22, limit: 10 })));
    }
}
