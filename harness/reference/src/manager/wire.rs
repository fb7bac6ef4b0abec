//! The manager's messages, as JSON objects (the protocol is described in the module docs of
//! [`manager`](super)). Every field but `op` / `status` is optional on the wire, so that a
//! malformed message is a clear refusal rather than a parse failure deep inside serde.

use std::time::Duration;

use serde::de::{Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// The protocol version the handshake announces.
pub(crate) const VERSION: u32 = 1;

/// What a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    /// The handshake's answer to the server's challenge.
    Answer,
    Put,
    Get,
    /// The client has the value the last `get` returned: the server may forget it.
    Ack,
    Shutdown,
}

/// A client's message as it arrives (every field but `op` optional).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ClientFrame {
    pub(crate) op: Op,
    #[serde(default)]
    pub(crate) queue: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) value: Option<Box<RawValue>>,
    #[serde(default)]
    pub(crate) timeout_ms: Option<u64>,
    #[serde(default)]
    pub(crate) response: Option<String>,
    #[serde(default)]
    pub(crate) challenge: Option<String>,
}

/// A field that is there, even as `null` (a plain `Option` would read `null` as absent, and
/// `put(&())` sends `null`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// A client's request once checked.
#[derive(Debug)]
pub(crate) enum Request {
    Put {
        queue: String,
        value: Box<RawValue>,
    },
    /// `timeout` `None`: wait for ever.
    Get {
        queue: String,
        timeout: Option<Duration>,
    },
    Ack,
    Shutdown,
    Answer {
        response: String,
        challenge: String,
    },
}

/// Parses one client frame; `Err` carries a message for a `bad_request` refusal.
pub(crate) fn parse_request(body: &[u8]) -> Result<Request, String> {
    let frame: ClientFrame = serde_json::from_slice(body).map_err(|e| clip(&format!("not a request: {e}")))?;
    let queue = |f: Option<String>| f.ok_or_else(|| format!("`{:?}` needs a `queue`", frame.op));
    match frame.op {
        Op::Put => Ok(Request::Put { queue: queue(frame.queue)?, value: frame.value.ok_or("`put` needs a `value`")? }),
        Op::Get => {
            Ok(Request::Get { queue: queue(frame.queue)?, timeout: frame.timeout_ms.map(Duration::from_millis) })
        }
        Op::Ack => Ok(Request::Ack),
        Op::Shutdown => Ok(Request::Shutdown),
        Op::Answer => Ok(Request::Answer {
            response: frame.response.ok_or("`answer` needs a `response`")?,
            challenge: frame.challenge.ok_or("`answer` needs a `challenge`")?,
        }),
    }
}

/// Error messages may quote the peer's input: keep them short.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A client's messages as it sends them (borrowing, so that a value is serialized once, into
/// the frame).
#[derive(Debug, Serialize)]
pub(crate) struct Outgoing<'a, T: ?Sized + Serialize> {
    pub(crate) op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) challenge: Option<String>,
}

impl<'a> Outgoing<'a, ()> {
    pub(crate) fn op(op: Op) -> Self {
        Outgoing { op, queue: None, value: None, timeout_ms: None, response: None, challenge: None }
    }
}

/// How a server message begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Challenge,
    Welcome,
    Done,
    Value,
    Empty,
    Error,
}

/// Why the server refused something (`status: "error"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    Busy,
    AuthRefused,
    UnknownQueue,
    QueueFull,
    ManagerFull,
    TooLarge,
    ShuttingDown,
    BadRequest,
    /// A code from a newer server.
    #[serde(other)]
    Other,
}

/// A server message (every field but `status` optional).
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub(crate) struct ServerFrame {
    pub(crate) status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_message: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub(crate) value: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) known: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<u64>,
}

impl ServerFrame {
    pub(crate) fn status(status: Status) -> Self {
        ServerFrame { status: Some(status), ..ServerFrame::default() }
    }

    pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame {
            status: Some(Status::Error),
            error: Some(code),
            message: Some(message.into()),
            ..Default::default()
        }
    }
}

/// The reply to a `get` that found a value, borrowing the value so that it is not copied
/// before it is written.
#[derive(Debug)]
pub(crate) struct ValueReply<'a>(pub(crate) &'a RawValue);

impl Serialize for ValueReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ValueReply", 2)?;
        st.serialize_field("status", &Status::Value)?;
        st.serialize_field("value", self.0)?;
        st.end()
    }
}

/// Bytes as lowercase hex, as the handshake carries them.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The bytes of a hex string of exactly `len` bytes, or `None`.
pub(crate) fn unhex(s: &str, len: usize) -> Option<Vec<u8>> {
    if s.len() != len * 2 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let put = parse_request(br#"{"op":"put","queue":"task","value":null}"#).expect("put");
        assert!(matches!(put, Request::Put { ref queue, ref value } if queue == "task" && value.get() == "null"));
        let get = parse_request(br#"{"op":"get","queue":"task","timeout_ms":1500}"#).expect("get");
        assert!(matches!(get, Request::Get { timeout: Some(t), .. } if t == Duration::from_millis(1500)));
        let forever = parse_request(br#"{"op":"get","queue":"task"}"#).expect("get");
        assert!(matches!(forever, Request::Get { timeout: None, .. }));
        assert!(matches!(parse_request(br#"{"op":"ack"}"#), Ok(Request::Ack)));
        assert_eq!(parse_request(br#"{"op":"put","queue":"q"}"#).expect_err("no value"), "`put` needs a `value`");
        assert!(parse_request(br#"{"op":"fly"}"#).expect_err("unknown op").starts_with("not a request"));
        let long = format!(r#"{{"op":"{}"}}"#, "x".repeat(10_000));
        assert!(parse_request(long.as_bytes()).expect_err("clipped").len() < 300);
    }

    #[test]
    fn replies_are_flat_objects() {
        let v = RawValue::from_string("[1,2]".into()).expect("raw");
        assert_eq!(serde_json::to_string(&ValueReply(&v)).expect("json"), r#"{"status":"value","value":[1,2]}"#);
        let e = ServerFrame::error(ErrorCode::UnknownQueue, "no");
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            r#"{"status":"error","error":"unknown_queue","message":"no"}"#
        );
        let back: ServerFrame =
            serde_json::from_str(r#"{"status":"error","error":"from_the_future"}"#).expect("tolerant");
        assert_eq!(back.error, Some(ErrorCode::Other));
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes), 256), Some(bytes));
        assert_eq!(unhex("0g", 1), None);
        assert_eq!(unhex("00", 2), None);
        assert_eq!(unhex("é0", 1), None, "a multi-byte char is not a digit");
    }
}
