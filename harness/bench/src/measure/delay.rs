//! A link with a delay, for `manager.delay_sweep`: a loopback TCP proxy that holds every chunk
//! it forwards for a fixed time in each direction, keeping the order. It is what a slow link
//! does to the chapter's request and reply traffic (one small frame after another), and it runs
//! anywhere, without root: the scenarios' emulated link between network namespaces
//! (`scenarios/hosts/slow-link.toml`) is Linux-as-root only.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the accept loop looks whether to stop.
const POLL: Duration = Duration::from_millis(5);

/// A proxy to `upstream` whose connections carry `delay` each way; stopped (every connection
/// closed, every thread joined) when dropped.
#[derive(Debug)]
pub struct DelayProxy {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Every stream the proxy holds, so that dropping it can close them all.
    streams: Arc<Mutex<Vec<TcpStream>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl DelayProxy {
    pub fn start(upstream: SocketAddr, delay: Duration) -> io::Result<DelayProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (s, st, th) = (stop.clone(), streams.clone(), threads.clone());
        let accept = std::thread::Builder::new().name("delay-accept".into()).spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if let Err(e) = join(client, upstream, delay, &st, &th) {
                            eprintln!("delay proxy: {e}");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
                    Err(_) => std::thread::sleep(POLL),
                }
            }
        })?;
        Ok(DelayProxy { address, stop, streams, threads, accept: Some(accept) })
    }

    /// Where clients connect to reach `upstream` over the slow link.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        for s in self.streams.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Connects `client` to `upstream` through two delayed directions.
fn join(
    client: TcpStream,
    upstream: SocketAddr,
    delay: Duration,
    streams: &Mutex<Vec<TcpStream>>,
    threads: &Mutex<Vec<JoinHandle<()>>>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(upstream)?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
    }
    streams.lock().unwrap_or_else(|p| p.into_inner()).extend([client.try_clone()?, server.try_clone()?]);
    let mut handles = Vec::new();
    for (from, to) in [(client.try_clone()?, server.try_clone()?), (server, client)] {
        handles.extend(direction(from, to, delay)?);
    }
    threads.lock().unwrap_or_else(|p| p.into_inner()).extend(handles);
    Ok(())
}

/// One direction: a reader stamps each chunk with when it may go on, a writer sends it then.
/// At the end of `from` the writer closes `to`'s sending side after the chunks held.
fn direction(mut from: TcpStream, mut to: TcpStream, delay: Duration) -> io::Result<[JoinHandle<()>; 2]> {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = std::thread::Builder::new().name("delay-read".into()).spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    })?;
    let writer = std::thread::Builder::new().name("delay-write".into()).spawn(move || {
        for (due, chunk) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    })?;
    Ok([reader, writer])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_order_and_no_sooner_than_the_delay() {
        let echo = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let at = echo.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let (mut s, _) = echo.accept().expect("accept");
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = s.read(&mut buf) {
                s.write_all(&buf[..n]).expect("echo");
            }
        });
        let delay = Duration::from_millis(30);
        let proxy = DelayProxy::start(at, delay).expect("proxy");
        let mut c = TcpStream::connect(proxy.address()).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let t = Instant::now();
        c.write_all(b"hello, ").expect("write");
        c.write_all(b"world").expect("write");
        let mut got = vec![0u8; 12];
        c.read_exact(&mut got).expect("read");
        assert_eq!(got, b"hello, world");
        // Two crossings of the link, each held at least `delay`.
        assert!(t.elapsed() >= delay * 2, "{:?}", t.elapsed());
        drop(c);
        server.join().expect("echo server");
        drop(proxy);
    }
}
