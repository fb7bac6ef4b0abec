//! Property tests: the frame reader, the request parser and both sides of the handshake fed
//! random and mutated bytes must never panic, never hold more than the bytes they were given
//! (nor more than their limit), and always end; a real server fed such bytes over TCP must go
//! on serving. Each runs a bounded number of cases (`PROPTEST_CASES` raises it; see
//! docs/reliability.md).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::raw::{raw_session, recv, send_json};
use crate::manager::frame::{self, FrameError};
use crate::manager::handshake::{self, HANDSHAKE_LIMIT, JoinFailure, ServeFailure};
use crate::manager::wire::{self, Status};
use crate::manager::{Client, Manager, auth};

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(default_cases);
    // No regression files written into the source tree: a failure prints its minimal input.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// A byte stream edited at random: flips, cuts, insertions, and headers set to huge sizes.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Header(usize, u32),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Edit::Flip(i, b)),
            any::<usize>().prop_map(Edit::Cut),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Edit::Insert(i, b)),
            (any::<usize>(), any::<u32>()).prop_map(|(i, n)| Edit::Header(i, n)),
        ],
        0..6,
    )
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        let at = |i: usize| i % bytes.len();
        match e {
            Edit::Flip(i, b) => {
                let i = at(*i);
                bytes[i] ^= b;
            }
            Edit::Cut(i) => {
                let i = at(*i);
                bytes.truncate(i);
            }
            Edit::Insert(i, b) => {
                let i = at(*i);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Header(i, n) => {
                let i = at(*i);
                let end = (i + 4).min(bytes.len());
                bytes.splice(i..end, n.to_be_bytes());
            }
        }
    }
    bytes
}

/// Valid request frames, as a well-behaved client sends them (a shutdown last if asked).
fn valid_requests(shutdown: bool) -> Vec<u8> {
    let mut requests = vec![
        r#"{"op":"put","queue":"q","value":{"a":[1,2,3],"b":null}}"#,
        r#"{"op":"get","queue":"q","timeout_ms":0}"#,
        r#"{"op":"ack"}"#,
        r#"{"op":"get","queue":"q"}"#,
    ];
    if shutdown {
        requests.push(r#"{"op":"shutdown"}"#);
    }
    requests.iter().flat_map(|r| frame_of(r.as_bytes())).collect()
}

/// Reads frames until the stream gives none, checking what the reader holds.
fn read_all(mut input: &[u8], limit: usize) -> usize {
    let total = input.len();
    let mut frames = 0;
    loop {
        let before = input.len();
        match frame::read_frame(&mut input, limit) {
            Ok(body) => {
                assert!(body.len() <= limit, "body over the limit");
                assert!(body.capacity() <= limit.max(1), "holds {} for a limit of {limit}", body.capacity());
                assert!(body.len() <= before, "more than was given");
                let _ = wire::parse_request(&body);
                frames += 1;
            }
            Err(FrameError::TooLarge { size, .. }) => {
                if frame::discard(&mut input, size).is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
        assert!(input.len() < before || before == 0, "no progress");
    }
    assert!(frames <= total / frame::HEADER + 1);
    frames
}

/// Reads from given bytes, collects what is written: one side of a connection in memory.
struct Duplex<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A client's valid answer to `challenge`, as a frame.
fn valid_answer(key: &[u8], challenge: &[u8]) -> Vec<u8> {
    let proof = auth::prove(key, auth::Role::Client, challenge);
    let ours = [7u8; auth::CHALLENGE_LEN];
    let json = format!(r#"{{"op":"answer","response":"{}","challenge":"{}"}}"#, wire::hex(&proof), wire::hex(&ours));
    frame_of(json.as_bytes())
}

fn serve_bytes(input: &[u8], challenge: &[u8; auth::CHALLENGE_LEN]) -> (Result<(), ServeFailure>, usize) {
    let mut d = Duplex { input, output: Vec::new() };
    let r = {
        let Duplex { input, output } = &mut d;
        handshake::serve(input, output, b"key", challenge, 1 << 20)
    };
    (r, d.output.len())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn frame_reader_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), limit in 0usize..1024) {
        read_all(&bytes, limit);
    }

    #[test]
    fn frame_reader_on_mutated_request_streams(edits in edits(), limit in prop_oneof![Just(1usize << 20), 0usize..64]) {
        read_all(&apply(valid_requests(true), &edits), limit);
    }

    #[test]
    fn server_handshake_refuses_random_answers(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let (r, written) = serve_bytes(&bytes, &[1; auth::CHALLENGE_LEN]);
        prop_assert!(r.is_err());
        prop_assert!(written <= 2 * (HANDSHAKE_LIMIT + frame::HEADER), "wrote {written} bytes");
    }

    #[test]
    fn server_handshake_admits_only_the_right_proof(edits in edits()) {
        let challenge = [3u8; auth::CHALLENGE_LEN];
        let valid = valid_answer(b"key", &challenge);
        let mutated = apply(valid.clone(), &edits);
        let (r, _) = serve_bytes(&mutated, &challenge);
        if r.is_ok() {
            // Only edits that leave the request's meaning (the proof) intact may pass.
            let body = &mutated[frame::HEADER..];
            let Ok(wire::Request::Answer { response, .. }) = wire::parse_request(body) else {
                return Err(TestCaseError::fail("admitted without an answer"));
            };
            prop_assert_eq!(wire::unhex(&response, auth::PROOF_LEN), Some(auth::prove(b"key", auth::Role::Client, &challenge)));
        }
        let (unchanged, _) = serve_bytes(&valid, &challenge);
        prop_assert!(unchanged.is_ok());
    }

    #[test]
    fn client_handshake_survives_random_servers(bytes in prop::collection::vec(any::<u8>(), 0..600), edits in edits()) {
        // Random bytes, and a real server hello followed by a mutated welcome.
        let hello = br#"{"status":"challenge","version":1,"challenge":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let welcome = br#"{"status":"welcome","response":"00","max_message":4294967296000}"#;
        let scripted = apply([frame_of(hello), frame_of(welcome)].concat(), &edits);
        for input in [&bytes[..], &scripted[..]] {
            let mut d = Duplex { input, output: Vec::new() };
            let Duplex { input, output } = &mut d;
            let r = handshake::join(input, output, b"key", &[9; auth::CHALLENGE_LEN]);
            prop_assert!(matches!(r, Err(JoinFailure::Refused | JoinFailure::Lost(_) | JoinFailure::Protocol(_) | JoinFailure::Busy(_))), "{r:?}");
        }
    }
}

/// One manager for the TCP cases, with short deadlines so that a case that leaves a frame
/// unfinished costs little. `check` is a queue no mutated request can name.
fn fuzzed_manager() -> Manager {
    Manager::builder()
        .queue("q")
        .queue("check")
        .authkey(b"k".to_vec())
        .max_message(4096)
        .handshake_timeout(Duration::from_millis(300))
        .peer_timeout(Duration::from_millis(300))
        .start()
        .expect("start")
}

/// Writes `bytes`, half-closes, and reads whatever comes back until the server closes; the
/// time that took.
fn throw(stream: &std::net::TcpStream, bytes: &[u8]) -> Duration {
    let t = Instant::now();
    let _ = (&*stream).write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let mut sink = [0u8; 4096];
    while let Ok(n) = (&*stream).read(&mut sink) {
        if n == 0 {
            break;
        }
    }
    t.elapsed()
}

proptest! {
    // Few cases, and a short shrink: each case talks to a real server.
    #![proptest_config(ProptestConfig { max_shrink_iters: 64, ..config(24) })]

    #[test]
    fn server_survives_random_bytes_before_and_after_auth(
        before in prop::collection::vec(any::<u8>(), 0..512),
        edits in edits(),
    ) {
        let m = fuzzed_manager();
        let s = std::net::TcpStream::connect(m.address()).expect("connect");
        let took = throw(&s, &before);
        prop_assert!(took < Duration::from_secs(10), "pre-auth connection held {took:?}");
        let (s, _) = raw_session(m.address(), b"k");
        let took = throw(&s, &apply(valid_requests(false), &edits));
        prop_assert!(took < Duration::from_secs(10), "connection held {took:?}");
        let c = Client::connect(m.address(), b"k").expect("the server goes on");
        c.queue("check").put(&1).expect("put");
        prop_assert_eq!(c.queue("check").get::<i32>(Some(Duration::from_secs(20))).ok(), Some(1));
    }
}

#[test]
fn raw_helpers_speak_the_protocol() {
    let m = fuzzed_manager();
    let (s, _) = raw_session(m.address(), b"k");
    send_json(&s, r#"{"op":"put","queue":"q","value":1}"#);
    assert_eq!(recv(&s).status, Some(Status::Done));
}
