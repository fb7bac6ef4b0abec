//! The manager's socket options, in one place (the only platform-dependent code of the
//! manager, through `socket2`).

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Keep-alive probes sent before a silent peer is declared gone.
const PROBES: u32 = 5;

/// The keep-alive schedule for a peer timeout `t`: first probe after `idle`, then one each
/// `interval`; the OS drops the connection after [`PROBES`] unanswered ones. Both are whole
/// seconds of at least 1 s (the OS counts in seconds), so the bound is `t` when `t` ≥ 10 s
/// and at most 6 s below that.
pub(crate) fn keepalive_schedule(t: Duration) -> (Duration, Duration) {
    let interval = Duration::from_secs((t.as_secs() / 10).max(1));
    let idle = Duration::from_secs(t.saturating_sub(interval * PROBES).as_secs().max(1));
    (idle, interval)
}

/// The longest a dead peer can go unnoticed on an idle connection under `t`.
#[cfg(test)]
pub(crate) fn keepalive_bound(t: Duration) -> Duration {
    let (idle, interval) = keepalive_schedule(t);
    idle + interval * PROBES
}

/// Sets what every manager connection needs, on both sides: no Nagle delay (the handshake is a
/// few small writes, which would otherwise wait on delayed ACKs, about 40 ms each on Linux), a
/// write that makes no progress for `peer_timeout` fails, and the OS checks an idle peer is
/// still there ([`keepalive_bound`]). Keep-alive tuning is best effort: where the OS refuses a
/// setting we keep its defaults (documented in the module docs).
pub(crate) fn configure(stream: &TcpStream, peer_timeout: Duration) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(peer_timeout.max(Duration::from_millis(1))))?;
    let sock = SockRef::from(stream);
    let (idle, interval) = keepalive_schedule(peer_timeout);
    let keepalive = TcpKeepalive::new().with_time(idle).with_interval(interval);
    if sock.set_tcp_keepalive(&keepalive.clone().with_retries(PROBES)).is_err() {
        let _ = sock.set_tcp_keepalive(&keepalive);
    }
    user_timeout(&sock, peer_timeout);
    Ok(())
}

/// Linux also bounds how long sent data may stay unacknowledged (a cut link while we write).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn user_timeout(sock: &SockRef<'_>, t: Duration) {
    let _ = sock.set_tcp_user_timeout(Some(t.max(Duration::from_millis(1))));
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn user_timeout(_: &SockRef<'_>, _: Duration) {}

/// Whether the peer still waits for our reply, without reading anything: `false` once it
/// closed (or half-closed) or reset the connection, or the OS gave up on it (keep-alive), and
/// also when it sent bytes: a client sends nothing while its request is outstanding, and
/// pending bytes would hide a close behind them.
pub(crate) fn peer_waiting(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let seen = stream.peek(&mut byte);
    let restored = stream.set_nonblocking(false).is_ok();
    restored && matches!(seen, Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_notices_within_the_peer_timeout() {
        for secs in [10, 11, 30, 60, 600] {
            let t = Duration::from_secs(secs);
            assert!(keepalive_bound(t) <= t, "{t:?} -> {:?}", keepalive_bound(t));
        }
        assert_eq!(keepalive_bound(Duration::from_secs(10)), Duration::from_secs(10));
        assert_eq!(keepalive_bound(Duration::from_millis(200)), Duration::from_secs(6));
    }

    #[test]
    fn a_closed_or_talking_peer_no_longer_waits() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut near = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut far, _) = listener.accept().expect("accept");
        configure(&far, Duration::from_secs(10)).expect("configure");
        assert!(peer_waiting(&far));
        near.write_all(b"x").expect("write");
        let t = std::time::Instant::now();
        while peer_waiting(&far) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!peer_waiting(&far), "it talks out of turn");
        let mut b = [0u8; 1];
        far.read_exact(&mut b).expect("the byte is still there");
        assert!(peer_waiting(&far));
        drop(near);
        let t = std::time::Instant::now();
        while peer_waiting(&far) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!peer_waiting(&far), "a closed peer is gone");
    }
}
