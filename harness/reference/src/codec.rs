//! The binary encoding of the values that [`Queue`](crate::Queue)s and [`PipeEnd`](crate::PipeEnd)s
//! carry between Rust programs: MessagePack (`rmp-serde`), with structs as maps of field names.
//!
//! Why MessagePack: it is self-describing (a `serde_json::Value`, an internally tagged enum or a
//! struct with skipped fields decodes as it would from JSON), compact, and copies strings and
//! byte buffers as they are instead of escaping them: a string of N bytes is N bytes plus a
//! header of at most 5. A `Vec<u8>` is a sequence of numbers to serde (one or two bytes each);
//! wrap it in `serde_bytes::ByteBuf` (or use [`PipeEnd::send_bytes`](crate::PipeEnd::send_bytes))
//! to carry it as raw bytes.
//!
//! JSON stays where people read it: events, traces, reports, a spawned child's arguments, and
//! the manager's wire.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ChannelError, CodecError};

/// How deeply nested a received value may be: deeper input is refused instead of exhausting
/// the stack (the same bound as `serde_json`'s).
pub(crate) const MAX_DEPTH: usize = 128;

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), ChannelError> {
    encode_to(out, value)
}

/// Writes the encoding of `value` to `out`.
pub(crate) fn encode_to<W: std::io::Write, T: Serialize + ?Sized>(out: W, value: &T) -> Result<(), ChannelError> {
    let mut ser = rmp_serde::Serializer::new(out).with_struct_map();
    value.serialize(&mut ser).map_err(|e| ChannelError::Codec(CodecError::Encode(e)))
}

/// Decodes one value from `bytes` (a message body: the value our encoder wrote, nothing else).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ChannelError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(MAX_DEPTH);
    T::deserialize(&mut de).map_err(|e| ChannelError::Codec(CodecError::Decode(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        name: String,
        n: i64,
        #[serde(default)]
        extra: Option<Vec<u8>>,
    }

    fn round<T: Serialize + DeserializeOwned>(v: &T) -> T {
        let mut buf = Vec::new();
        encode_into(&mut buf, v).expect("encodes");
        decode(&buf).expect("decodes")
    }

    #[test]
    fn values_round_trip_including_json_values() {
        let r = Rec { name: "a".into(), n: -3, extra: Some(vec![1, 2]) };
        assert_eq!(round(&r), r);
        let v = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -7}});
        assert_eq!(round(&v), v);
        // A struct decodes as a JSON object (fields by name), as it would from JSON.
        let mut buf = Vec::new();
        encode_into(&mut buf, &r).expect("encodes");
        let as_json: serde_json::Value = decode(&buf).expect("decodes");
        assert_eq!(as_json["name"], "a");
    }

    #[test]
    fn strings_and_byte_buffers_are_copied_not_escaped() {
        let s = "\"\\\n".repeat(1000);
        let mut buf = Vec::new();
        encode_into(&mut buf, &s).expect("encodes");
        assert_eq!(buf.len(), s.len() + 3, "str16 header, then the bytes");
        let bytes = serde_bytes::ByteBuf::from(vec![0xffu8; 1000]);
        buf.clear();
        encode_into(&mut buf, &bytes).expect("encodes");
        assert_eq!(buf.len(), 1000 + 3);
    }

    #[test]
    fn garbage_and_deep_nesting_are_refused() {
        assert!(decode::<String>(&[0xc1]).is_err(), "0xc1 is never used");
        assert!(decode::<String>(&[0xdb, 0xff, 0xff, 0xff, 0xff]).is_err(), "a 4 GiB string in 5 bytes");
        let deep = vec![0x91u8; 10_000]; // arrays of one array of ...
        assert!(decode::<serde_json::Value>(&deep).is_err());
    }
}

/// The decoder on random bytes: a value or an error, never a panic, and no allocation beyond
/// what the input can fill (lengths are checked against the bytes left). Run longer with
/// `PROPTEST_CASES=100000 cargo nextest run -p procthread fuzz`.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_random_bytes_decode_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = decode::<serde_json::Value>(&bytes);
            let _ = decode::<(String, Vec<u32>, Option<i64>)>(&bytes);
        }

        #[test]
        fn fuzz_encoded_json_values_round_trip(s in ".{0,64}", n in any::<i64>(), f in -1e9f64..1e9) {
            let v = serde_json::json!({"s": s, "n": n, "a": [f, null, true]});
            let mut buf = Vec::new();
            encode_into(&mut buf, &v).expect("encodes");
            prop_assert_eq!(decode::<serde_json::Value>(&buf).expect("decodes"), v);
        }
    }
}
