//! The handshake, both sides, over any reader and writer (a socket with a deadline, or bytes
//! in memory for the fuzz tests).
//!
//! 1. server: `{"status":"challenge","version":1,"challenge":HEX}`
//! 2. client: `{"op":"answer","response":HEX,"challenge":HEX}` — its proof for the server's
//!    challenge, and a challenge of its own
//! 3. server: `{"status":"welcome","response":HEX,"max_message":N}` — its proof, and the largest
//!    frame it reads; or `{"status":"error","error":"auth_refused",...}` and it closes.

use std::io::{Read, Write};

use super::auth::{self, CHALLENGE_LEN, PROOF_LEN, Role};
use super::frame::{self, FrameError};
use super::wire::{self, ErrorCode, Outgoing, Request, ServerFrame, Status, VERSION};

/// The largest handshake frame either side reads: an answer is about 200 bytes.
pub(crate) const HANDSHAKE_LIMIT: usize = 1024;

/// Why the server ended a handshake without a session.
#[derive(Debug)]
pub(crate) enum ServeFailure {
    /// No answer came (closed, cut, too large or too slow).
    Frame,
    /// The answer was not one.
    Malformed,
    WrongKey,
    /// We could not write to the peer.
    Write,
}

/// Runs the server's side; `Ok` once the client proved the key and got our proof.
pub(crate) fn serve(
    mut reader: impl Read,
    mut writer: impl Write,
    key: &[u8],
    challenge: &[u8; CHALLENGE_LEN],
    max_message: usize,
) -> Result<(), ServeFailure> {
    let hello = ServerFrame {
        version: Some(VERSION),
        challenge: Some(wire::hex(challenge)),
        ..ServerFrame::status(Status::Challenge)
    };
    send(&mut writer, &hello)?;
    let body = frame::read_frame(&mut reader, HANDSHAKE_LIMIT).map_err(|_| ServeFailure::Frame)?;
    let (response, theirs) = match wire::parse_request(&body) {
        Ok(Request::Answer { response, challenge }) => (response, challenge),
        Ok(other) => {
            return Err(refuse(&mut writer, wire::clip(&format!("expected the handshake's answer, got {other:?}"))));
        }
        Err(e) => return Err(refuse(&mut writer, e)),
    };
    let (Some(proof), Some(theirs)) = (wire::unhex(&response, PROOF_LEN), wire::unhex(&theirs, CHALLENGE_LEN)) else {
        return Err(refuse(&mut writer, "`response` and `challenge` must be 32 bytes in hex".into()));
    };
    if !auth::verify(key, Role::Client, challenge, &proof) {
        let _ = send(&mut writer, &ServerFrame::error(ErrorCode::AuthRefused, "authentication refused"));
        return Err(ServeFailure::WrongKey);
    }
    let welcome = ServerFrame {
        response: Some(wire::hex(&auth::prove(key, Role::Server, &theirs))),
        max_message: Some(max_message as u64),
        ..ServerFrame::status(Status::Welcome)
    };
    send(&mut writer, &welcome)
}

fn send(writer: &mut impl Write, msg: &ServerFrame) -> Result<(), ServeFailure> {
    let bytes = frame::encode(msg, HANDSHAKE_LIMIT).map_err(|_| ServeFailure::Write)?;
    frame::write_frame(writer, &bytes).map_err(|_| ServeFailure::Write)
}

/// Tells the peer why (best effort: it may not be listening) and gives the failure.
fn refuse(writer: &mut impl Write, why: String) -> ServeFailure {
    let _ = send(writer, &ServerFrame::error(ErrorCode::AuthRefused, format!("authentication refused: {why}")));
    ServeFailure::Malformed
}

/// What the client learns from a successful handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Terms {
    /// The largest frame the server reads.
    pub(crate) max_message: usize,
}

/// Why the client's side of a handshake failed.
#[derive(Debug)]
pub(crate) enum JoinFailure {
    /// The server is at its connection limit (its message says which).
    Busy(String),
    /// The server refused our proof, or its proof was wrong.
    Refused,
    /// The deadline passed.
    TimedOut,
    /// The connection broke.
    Lost(String),
    /// The server said something that is not this protocol.
    Protocol(String),
}

/// Runs the client's side with our fresh `challenge`.
pub(crate) fn join(
    mut reader: impl Read,
    mut writer: impl Write,
    key: &[u8],
    challenge: &[u8; CHALLENGE_LEN],
) -> Result<Terms, JoinFailure> {
    let hello = receive(&mut reader)?;
    let theirs = match (hello.status, &hello.challenge) {
        (Some(Status::Challenge), Some(c)) if hello.version == Some(VERSION) => {
            wire::unhex(c, CHALLENGE_LEN).ok_or_else(|| JoinFailure::Protocol("malformed challenge".into()))?
        }
        (Some(Status::Challenge), _) => {
            return Err(JoinFailure::Protocol(format!(
                "the server speaks protocol version {:?}, we speak {VERSION}",
                hello.version
            )));
        }
        _ => return Err(server_error(hello)),
    };
    let answer = Outgoing {
        response: Some(wire::hex(&auth::prove(key, Role::Client, &theirs))),
        challenge: Some(wire::hex(challenge)),
        ..Outgoing::op(wire::Op::Answer)
    };
    let bytes = frame::encode(&answer, HANDSHAKE_LIMIT).map_err(|e| JoinFailure::Protocol(format!("{e:?}")))?;
    frame::write_frame(&mut writer, &bytes).map_err(|e| JoinFailure::Lost(e.to_string()))?;
    let verdict = match receive(&mut reader) {
        // A server that refuses may close before we read its refusal.
        Err(JoinFailure::Lost(_)) => return Err(JoinFailure::Refused),
        other => other?,
    };
    match (verdict.status, &verdict.response, verdict.max_message) {
        (Some(Status::Welcome), Some(proof), Some(max)) => {
            let proof = wire::unhex(proof, PROOF_LEN).ok_or(JoinFailure::Refused)?;
            if !auth::verify(key, Role::Server, challenge, &proof) {
                return Err(JoinFailure::Refused);
            }
            Ok(Terms { max_message: usize::try_from(max).unwrap_or(usize::MAX) })
        }
        (Some(Status::Welcome), ..) => Err(JoinFailure::Protocol("incomplete welcome".into())),
        _ => Err(server_error(verdict)),
    }
}

fn receive(reader: &mut impl Read) -> Result<ServerFrame, JoinFailure> {
    match frame::read_frame(reader, HANDSHAKE_LIMIT) {
        Ok(body) => serde_json::from_slice(&body)
            .map_err(|e| JoinFailure::Protocol(wire::clip(&format!("not a manager's message: {e}")))),
        Err(FrameError::Idle | FrameError::Stalled { .. }) => Err(JoinFailure::TimedOut),
        Err(FrameError::TooLarge { size, limit }) => {
            Err(JoinFailure::Protocol(format!("handshake frame of {size} bytes, over {limit}")))
        }
        Err(e @ (FrameError::Eof | FrameError::Truncated { .. })) => Err(JoinFailure::Lost(e.to_string())),
        Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => Err(JoinFailure::TimedOut),
        Err(FrameError::Io(e)) => Err(JoinFailure::Lost(e.to_string())),
    }
}

fn server_error(f: ServerFrame) -> JoinFailure {
    let message = f.message.map(|m| wire::clip(&m)).unwrap_or_default();
    match (f.status, f.error) {
        (Some(Status::Error), Some(ErrorCode::Busy)) => JoinFailure::Busy(message),
        (Some(Status::Error), Some(ErrorCode::AuthRefused)) => JoinFailure::Refused,
        (Some(Status::Error), _) => JoinFailure::Protocol(message),
        (status, _) => JoinFailure::Protocol(format!("unexpected {status:?} during the handshake")),
    }
}
