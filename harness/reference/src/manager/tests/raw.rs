//! The protocol spoken by hand (as a client in another language would), and fake servers that
//! misbehave, to check what the API alone cannot reach.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::ManagerError;
use crate::manager::frame::{self, FrameError};
use crate::manager::handshake::{self, Terms};
use crate::manager::wire::{self, ServerFrame, Status};
use crate::manager::{Client, Manager, auth};

/// Generous bound for "promptly" on a loaded machine.
const SLACK: Duration = Duration::from_secs(5);

pub(super) fn raw_session(address: std::net::SocketAddr, key: &[u8]) -> (TcpStream, Terms) {
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let challenge = auth::random::<{ auth::CHALLENGE_LEN }>().expect("random");
    let terms = handshake::join(&stream, &stream, key, &challenge).expect("handshake");
    (stream, terms)
}

pub(super) fn send_json(stream: &TcpStream, json: &str) {
    let mut f = (json.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(json.as_bytes());
    frame::write_frame(stream, &f).expect("write");
}

pub(super) fn recv(stream: &TcpStream) -> ServerFrame {
    let body = frame::read_frame(stream, 1 << 20).expect("a reply");
    serde_json::from_slice(&body).expect("json")
}

fn manager(limit: usize) -> Manager {
    Manager::builder().queue("q").authkey(b"k".to_vec()).max_message(limit).start().expect("start")
}

#[test]
fn welcome_tells_the_limit_and_values_need_an_ack() {
    let m = manager(4096);
    let (s, terms) = raw_session(m.address(), b"k");
    assert_eq!(terms.max_message, 4096);
    send_json(&s, r#"{"op":"put","queue":"q","value":{"n":[1,2]}}"#);
    assert_eq!(recv(&s).status, Some(Status::Done));
    send_json(&s, r#"{"op":"get","queue":"q","timeout_ms":0}"#);
    let got = recv(&s);
    assert_eq!((got.status, got.value.as_deref().map(|v| v.get())), (Some(Status::Value), Some(r#"{"n":[1,2]}"#)));
    send_json(&s, r#"{"op":"ack"}"#);
    send_json(&s, r#"{"op":"get","queue":"q","timeout_ms":0}"#);
    assert_eq!(recv(&s).status, Some(Status::Empty), "acknowledged: gone");
}

#[test]
fn oversize_frame_gets_a_readable_refusal_and_the_connection_goes_on() {
    let m = manager(1024);
    let (s, _) = raw_session(m.address(), b"k");
    let big = format!(r#"{{"op":"put","queue":"q","value":"{}"}}"#, "x".repeat(5000));
    send_json(&s, &big);
    let refusal = recv(&s);
    assert_eq!(refusal.error, Some(wire::ErrorCode::TooLarge), "{refusal:?}");
    assert_eq!((refusal.size, refusal.limit), (Some(big.len() as u64), Some(1024)));
    send_json(&s, r#"{"op":"put","queue":"q","value":1}"#);
    assert_eq!(recv(&s).status, Some(Status::Done), "still in step");
    // Our client knows the server's limit from the handshake and refuses before sending.
    let c = Client::connect(m.address(), b"k").expect("connect");
    let err = c.queue("q").put(&"y".repeat(2000)).expect_err("too large");
    assert!(matches!(err, ManagerError::TooLarge { limit: 1024, .. }), "{err}");
    assert_eq!(c.queue("q").get::<i32>(Some(Duration::from_secs(5))).expect("get"), 1, "connection kept");
}

#[test]
fn malformed_requests_are_refused_and_the_connection_goes_on() {
    let m = manager(4096);
    let (s, _) = raw_session(m.address(), b"k");
    for bad in ["not json", r#"{"op":"put","queue":"q"}"#, r#"{"op":"fly"}"#, r#"{"op":"ack"}"#, "[]"] {
        send_json(&s, bad);
        let r = recv(&s);
        assert_eq!(r.error, Some(wire::ErrorCode::BadRequest), "{bad}: {r:?}");
    }
    send_json(&s, r#"{"op":"put","queue":"q","value":null}"#);
    assert_eq!(recv(&s).status, Some(Status::Done));
    let c = Client::connect(m.address(), b"k").expect("connect");
    c.queue("q").get::<()>(Some(Duration::from_secs(5))).expect("null arrives as ()");
}

#[test]
fn a_value_not_acknowledged_goes_back_to_the_head() {
    let m = Manager::builder()
        .queue("q")
        .authkey(b"k".to_vec())
        .peer_timeout(Duration::from_millis(500))
        .start()
        .expect("start");
    let c = Client::connect(m.address(), b"k").expect("connect");
    for n in 1..=3 {
        c.queue("q").put(&n).expect("put");
    }
    // One client takes the oldest and closes without acknowledging: it is the oldest again.
    let (closer, _) = raw_session(m.address(), b"k");
    send_json(&closer, r#"{"op":"get","queue":"q","timeout_ms":0}"#);
    assert_eq!(recv(&closer).status, Some(Status::Value));
    drop(closer);
    let t = Instant::now();
    while m.stats().connections > 1 && t.elapsed() < SLACK {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(c.queue("q").get::<i32>(Some(Duration::from_secs(20))).expect("back"), 1);
    // Another takes the next and stays silent: back after the peer timeout, still first.
    let (silent, _) = raw_session(m.address(), b"k");
    send_json(&silent, r#"{"op":"get","queue":"q","timeout_ms":0}"#);
    assert_eq!(recv(&silent).status, Some(Status::Value));
    assert_eq!(c.queue("q").get::<i32>(Some(Duration::from_secs(20))).expect("next"), 3);
    assert_eq!(c.queue("q").get::<i32>(Some(Duration::from_secs(20))).expect("back"), 2);
    drop(silent);
}

/// A server that authenticates and then reads requests, counting puts, and answers none of
/// them; `hang_up` closes each connection after its first request instead of staying silent.
struct FakeServer {
    address: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    puts: Arc<AtomicUsize>,
}

impl FakeServer {
    fn start(hang_up: bool) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr");
        let (connections, puts) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (c, p) = (connections.clone(), puts.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(16) {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let p = p.clone();
                std::thread::spawn(move || {
                    let challenge = auth::random::<{ auth::CHALLENGE_LEN }>().expect("random");
                    if handshake::serve(&stream, &stream, b"k", &challenge, 1 << 20).is_err() {
                        return;
                    }
                    while let Ok(body) = frame::read_frame(&stream, 1 << 20) {
                        if matches!(wire::parse_request(&body), Ok(wire::Request::Put { .. })) {
                            p.fetch_add(1, Ordering::SeqCst);
                        }
                        if hang_up {
                            return;
                        }
                    }
                });
            }
        });
        FakeServer { address, connections, puts }
    }
}

fn quick_client(address: std::net::SocketAddr) -> Client {
    Client::builder().peer_timeout(Duration::from_millis(500)).connect(address, b"k").expect("connect")
}

#[test]
fn a_get_returns_within_its_bound_when_the_server_stops_answering() {
    let server = FakeServer::start(false);
    let c = quick_client(server.address);
    let t = Instant::now();
    let err = c.queue("q").get::<i32>(Some(Duration::from_secs(1))).expect_err("no reply");
    let took = t.elapsed();
    assert!(matches!(err, ManagerError::NoReply { during: "get", .. }), "{err}");
    assert!(took >= Duration::from_secs(1), "waited the timeout first: {took:?}");
    assert!(took < Duration::from_millis(1500) + SLACK, "bounded by timeout + grace: {took:?}");
    // A get without timeout is bounded by one round plus the grace.
    let t = Instant::now();
    let err = c.queue("q").get::<i32>(None).expect_err("no reply");
    assert!(matches!(err, ManagerError::NoReply { .. }), "{err}");
    assert!(t.elapsed() < crate::manager::client::ROUND + Duration::from_millis(500) + SLACK, "{:?}", t.elapsed());
    assert_eq!(server.connections.load(Ordering::SeqCst), 2, "the second call connected anew");
}

#[test]
fn a_put_without_reply_fails_clearly_and_is_never_sent_twice() {
    for hang_up in [false, true] {
        let server = FakeServer::start(hang_up);
        let c = quick_client(server.address);
        let err = c.queue("q").put(&1).expect_err("no reply");
        let expected = if hang_up { "lost the connection" } else { "no reply" };
        assert!(err.to_string().starts_with(expected), "{err}");
        assert!(err.to_string().contains("may or may not have been queued; it was not sent again"), "{err}");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(server.puts.load(Ordering::SeqCst), 1, "sent once, not retried");
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn connect_is_bounded_when_the_server_never_speaks() {
    // A listener that never accepts: the OS completes the connection, nobody says hello.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let t = Instant::now();
    let err = Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .connect(listener.local_addr().expect("addr"), b"k")
        .expect_err("times out");
    assert!(matches!(err, ManagerError::ConnectTimeout { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_millis(500) + SLACK, "{:?}", t.elapsed());
}

#[test]
fn a_reply_over_our_limit_breaks_only_that_connection() {
    // The client reads at most its own limit (plus an envelope), whatever the server says.
    let m = manager(1 << 20);
    let c = Client::builder().max_message(2048).connect(m.address(), b"k").expect("connect");
    let big = Client::connect(m.address(), b"k").expect("connect");
    big.queue("q").put(&"z".repeat(100_000)).expect("put");
    let err = c.queue("q").get::<String>(Some(Duration::from_secs(5))).expect_err("too large for us");
    assert!(matches!(err, ManagerError::Protocol(_)), "{err}");
    let back: String = big.queue("q").get(Some(Duration::from_secs(20))).expect("went back");
    assert_eq!(back.len(), 100_000);
}

#[test]
fn frames_stalled_midway_end_the_connection_not_the_server() {
    let m = Manager::builder()
        .queue("q")
        .authkey(b"k".to_vec())
        .peer_timeout(Duration::from_millis(300))
        .start()
        .expect("start");
    let (s, _) = raw_session(m.address(), b"k");
    frame::write_frame(&s, &[0, 0, 0, 50, b'{']).expect("half a frame");
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let end = std::io::Read::read(&mut &s, &mut buf);
    assert!(matches!(end, Ok(0) | Err(_)), "closed: {end:?}");
    assert!(t.elapsed() < Duration::from_millis(300) + SLACK);
    let c = Client::connect(m.address(), b"k").expect("the server goes on");
    c.queue("q").put(&1).expect("put");
    assert!(matches!(frame::read_frame(&s, 10), Err(FrameError::Eof | FrameError::Io(_))));
}

#[test]
fn duration_max_everywhere_saturates() {
    let m = Manager::builder()
        .queue("q")
        .authkey(b"k".to_vec())
        .handshake_timeout(Duration::MAX)
        .peer_timeout(Duration::MAX)
        .start()
        .expect("start");
    let c = Client::builder()
        .connect_timeout(Duration::MAX)
        .peer_timeout(Duration::MAX)
        .connect(m.address(), b"k")
        .expect("connect");
    c.queue("q").put(&5).expect("put");
    assert_eq!(c.queue("q").get::<i32>(Some(Duration::MAX)).expect("get"), 5);
    let err = c.queue("q").get::<i32>(Some(Duration::ZERO)).expect_err("empty");
    assert!(matches!(err, ManagerError::Empty(ref q) if q == "q"), "{err}");
}

#[test]
fn deeply_nested_values_neither_crash_the_server_nor_the_client() {
    let m = manager(1 << 20);
    let (s, _) = raw_session(m.address(), b"k");
    let deep = format!(r#"{{"op":"put","queue":"q","value":{}{}}}"#, "[".repeat(200_000), "]".repeat(200_000));
    send_json(&s, &deep);
    let reply = recv(&s);
    let c = Client::connect(m.address(), b"k").expect("the server goes on");
    if reply.status == Some(Status::Done) {
        // Kept as text; decoding it is the taker's business, and fails cleanly.
        let err = c.queue("q").get::<serde_json::Value>(Some(SLACK)).expect_err("too deep to decode");
        assert!(matches!(err, ManagerError::Decode { .. }), "{err}");
    } else {
        assert_eq!(reply.error, Some(wire::ErrorCode::BadRequest), "{reply:?}");
    }
    c.queue("q").put(&1).expect("put");
}
