//! A TCP proxy on loopback whose link can be cut: bytes stop flowing (in one direction or
//! both) while both sockets stay open, as when a cable is pulled. A connection that lost bytes
//! to a cut stays cut (its stream is out of step); new connections flow once restored.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Default)]
struct Flags {
    cut_up: AtomicBool,
    cut_down: AtomicBool,
    stop: AtomicBool,
}

pub struct Proxy {
    pub address: SocketAddr,
    flags: Arc<Flags>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let flags = Arc::new(Flags::default());
        let f = flags.clone();
        let acceptor = std::thread::spawn(move || {
            let mut pumps = Vec::new();
            while !f.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(upstream) else { continue };
                        let (c2, s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                        let (fu, fd) = (f.clone(), f.clone());
                        pumps.push(std::thread::spawn(move || pump(client, server, &fu, |f| &f.cut_up)));
                        pumps.push(std::thread::spawn(move || pump(s2, c2, &fd, |f| &f.cut_down)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => break,
                }
            }
            for p in pumps {
                let _ = p.join();
            }
        });
        Proxy { address, flags, acceptor: Some(acceptor) }
    }

    /// Cuts the client-to-server direction (`up`), the other (`down`), or both.
    pub fn cut(&self, up: bool, down: bool) {
        self.flags.cut_up.store(up, Ordering::SeqCst);
        self.flags.cut_down.store(down, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.cut(false, false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.flags.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// Copies `from` to `to` until either closes or the proxy stops; once a cut swallowed bytes,
/// it swallows everything.
fn pump(mut from: TcpStream, mut to: TcpStream, flags: &Flags, cut: fn(&Flags) -> &AtomicBool) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut dead = false;
    let mut buf = [0u8; 16 * 1024];
    while !flags.stop.load(Ordering::SeqCst) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                dead |= cut(flags).load(Ordering::SeqCst);
                if !dead && to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}
