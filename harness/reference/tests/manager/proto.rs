//! The manager's wire protocol written from its module docs alone, as a client in another
//! language would write it: frames of a 4-byte big-endian length and a JSON object, and the
//! HMAC-SHA256 handshake.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub fn frame(json: &str) -> Vec<u8> {
    let mut f = (json.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(json.as_bytes());
    f
}

pub fn send(mut stream: &TcpStream, msg: &Value) -> io::Result<()> {
    stream.write_all(&frame(&msg.to_string()))
}

pub fn recv(mut stream: &TcpStream) -> io::Result<Value> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut body)?;
    serde_json::from_slice(&body).map_err(io::Error::other)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn proof(key: &[u8], label: &str, challenge: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(label.as_bytes());
    mac.update(challenge);
    mac.finalize().into_bytes().to_vec()
}

/// Connects and reads the server's first message.
pub fn connect(address: SocketAddr) -> io::Result<(TcpStream, Value)> {
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let hello = recv(&stream)?;
    Ok((stream, hello))
}

/// Connects and authenticates; the stream is ready for requests.
pub fn session(address: SocketAddr, key: &[u8]) -> io::Result<TcpStream> {
    let (stream, hello) = connect(address)?;
    let theirs = unhex(hello["challenge"].as_str().ok_or_else(|| io::Error::other(format!("{hello}")))?);
    let ours = [0x5au8; 32];
    let answer = json!({
        "op": "answer",
        "response": hex(&proof(key, "procthread-manager client proof\0", &theirs)),
        "challenge": hex(&ours),
    });
    send(&stream, &answer)?;
    let welcome = recv(&stream)?;
    let expected = hex(&proof(key, "procthread-manager server proof\0", &ours));
    if welcome["status"] != "welcome" || welcome["response"] != expected.as_str() {
        return Err(io::Error::other(format!("not welcome: {welcome}")));
    }
    Ok(stream)
}
