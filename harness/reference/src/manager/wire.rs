//! Messages between manager clients and the server, framed like every channel of this crate.

use std::net::TcpStream;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ManagerError;
use crate::framing;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) challenge: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Answer {
    pub(crate) response: Vec<u8>,
    pub(crate) challenge: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Verdict {
    Welcome { response: Vec<u8> },
    Refused,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    Put { queue: String, value: serde_json::Value },
    Get { queue: String, timeout_ms: Option<u64> },
    Shutdown,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Response {
    Done,
    Value(serde_json::Value),
    Empty,
    UnknownQueue { known: Vec<String> },
    ShuttingDown,
}

pub(crate) fn send<T: Serialize>(stream: &TcpStream, msg: &T, limit: usize) -> Result<(), ManagerError> {
    Ok(framing::write_frame(stream, &framing::encode(msg, limit)?)?)
}

pub(crate) fn recv<T: DeserializeOwned>(stream: &TcpStream, limit: usize) -> Result<T, ManagerError> {
    Ok(framing::decode(&framing::read_frame(stream, limit)?)?)
}
