//! The manager's server: its configuration, the accept loop with its connection cap, and
//! shutdown. Each admitted connection is served on a thread of its own (see `conn`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::store::Store;
use super::wire::{ErrorCode, ServerFrame};
use super::{auth, conn, frame};
use crate::error::ManagerError;

/// Defaults, documented in the module docs.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub(crate) const DEFAULT_MAX_HANDSHAKES: usize = 16;
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX_QUEUE_BYTES: usize = 64 << 20;
pub(crate) const DEFAULT_MAX_TOTAL_BYTES: usize = 256 << 20;

/// The longest timeout a builder accepts: beyond it an `Instant` could overflow, and nobody
/// means it.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The longest pause of the accept loop after an error (out of descriptors, for instance).
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A connection thread's stack: requests are shallow (serde_json stops at 128 levels), and a
/// full house of connections should not reserve 2 MiB each.
const CONN_STACK: usize = 512 * 1024;

/// Configures a [`Manager`]: its queues, key, address and limits.
#[derive(Debug, Clone)]
pub struct ManagerBuilder {
    queues: Vec<String>,
    key: Option<Vec<u8>>,
    address: SocketAddr,
    limits: Limits,
}

/// The limits a server enforces (see the module docs for what each bounds).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_message: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_handshakes: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) peer_timeout: Duration,
    pub(crate) max_queue_bytes: usize,
    pub(crate) max_total_bytes: usize,
}

impl Default for ManagerBuilder {
    fn default() -> Self {
        ManagerBuilder {
            queues: Vec::new(),
            key: None,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            limits: Limits {
                max_message: crate::DEFAULT_MAX_MESSAGE,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                max_handshakes: DEFAULT_MAX_HANDSHAKES,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                peer_timeout: DEFAULT_PEER_TIMEOUT,
                max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
                max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            },
        }
    }
}

impl ManagerBuilder {
    /// Serves a queue under `name` (the chapter registers `get_task_queue`, `get_result_queue`).
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queues.push(name.into());
        self
    }

    /// The shared key clients must prove they know. Without one, the manager generates a random
    /// 32-byte key (read it with [`Manager::authkey`]); an empty key is refused at
    /// [`start`](Self::start).
    pub fn authkey(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Where to listen; `127.0.0.1` on a free port unless set.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// The largest frame the server reads (default [`DEFAULT_MAX_MESSAGE`](crate::DEFAULT_MAX_MESSAGE));
    /// a larger one is skipped and refused with [`ManagerError::TooLarge`].
    pub fn max_message(mut self, limit: usize) -> Self {
        self.limits.max_message = limit.min(u32::MAX as usize);
        self
    }

    /// Connections served at once, authenticated or not (default 64); one more is refused at
    /// once with [`ManagerError::Busy`].
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n.max(1);
        self
    }

    /// Handshakes under way at once (default 16), so that unauthenticated peers cannot take
    /// every connection; one more is refused with [`ManagerError::Busy`].
    pub fn max_handshakes(mut self, n: usize) -> Self {
        self.limits.max_handshakes = n.max(1);
        self
    }

    /// How long a whole handshake may take, from accept to welcome (default 10 s; at most a day).
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.limits.handshake_timeout = t.min(MAX_TIMEOUT);
        self
    }

    /// How long a peer may be silent when it owes us bytes (mid-frame, or the acknowledgement
    /// of a value) and the keep-alive bound of an idle connection (default 10 s; from 1 ms to a
    /// day).
    pub fn peer_timeout(mut self, t: Duration) -> Self {
        self.limits.peer_timeout = t.clamp(Duration::from_millis(1), MAX_TIMEOUT);
        self
    }

    /// Bytes one queue may hold (default 64 MiB); a put past it gets [`ManagerError::QueueFull`].
    pub fn max_queue_bytes(mut self, n: usize) -> Self {
        self.limits.max_queue_bytes = n;
        self
    }

    /// Bytes all queues may hold together (default 256 MiB); a put past it gets
    /// [`ManagerError::ManagerFull`].
    pub fn max_total_bytes(mut self, n: usize) -> Self {
        self.limits.max_total_bytes = n;
        self
    }

    /// Binds and starts serving on a background thread.
    pub fn start(self) -> Result<Manager, ManagerError> {
        let key = match self.key {
            Some(k) if k.is_empty() => return Err(ManagerError::EmptyKey),
            Some(k) => k,
            None => auth::random::<{ auth::KEY_LEN }>()?.to_vec(),
        };
        let bind = |source| ManagerError::Bind { address: self.address, source };
        let listener = Arc::new(TcpListener::bind(self.address).map_err(bind)?);
        let address = listener.local_addr().map_err(bind)?;
        let shared = Arc::new(Shared {
            store: Store::new(&self.queues, self.limits.max_queue_bytes, self.limits.max_total_bytes),
            key,
            limits: self.limits,
            stopping: AtomicBool::new(false),
            live: Mutex::new(Live::default()),
            all_gone: Condvar::new(),
            refused: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            listener: Arc::downgrade(&listener),
            address,
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new().name("manager-accept".into()).spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(Manager { shared, acceptor: Some(acceptor) })
    }
}

/// The connections being served.
#[derive(Debug, Default)]
pub(crate) struct Live {
    next_id: u64,
    /// Each connection's socket, so that a shutdown can cut it.
    streams: HashMap<u64, Arc<TcpStream>>,
    handshaking: usize,
}

/// What the accept loop and the connection threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) key: Vec<u8>,
    pub(crate) limits: Limits,
    pub(crate) stopping: AtomicBool,
    live: Mutex<Live>,
    all_gone: Condvar,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    /// The accept loop's listener, to wake it: the loop owns it, and closes it as it ends.
    listener: Weak<TcpListener>,
    address: SocketAddr,
}

impl Shared {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection finished its handshake.
    pub(crate) fn authenticated(&self) {
        self.live().handshaking -= 1;
    }

    /// A connection thread is done (`handshaking`: it never finished its handshake).
    pub(crate) fn gone(&self, id: u64, handshaking: bool) {
        let mut live = self.live();
        live.streams.remove(&id);
        if handshaking {
            live.handshaking -= 1;
        }
        if live.streams.is_empty() {
            self.all_gone.notify_all();
        }
    }

    /// Stops serving: from now on no request is served. Callers then
    /// [`cut_everyone`](Self::cut_everyone) (after answering the one that asked, if any).
    pub(crate) fn begin_stop(&self) -> bool {
        !self.stopping.swap(true, Ordering::SeqCst)
    }

    /// Ends every connection, wakes every blocked `get` and the accept loop.
    pub(crate) fn cut_everyone(&self) {
        for stream in self.live().streams.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        self.store.wake_all();
        self.wake_acceptor();
    }

    /// Wakes the accept loop so that it sees the flag: through the OS where it can end a blocked
    /// `accept` from any thread, even one that cannot reach the address (a thread in another
    /// network namespace); elsewhere by a connection to ourselves.
    fn wake_acceptor(&self) {
        let Some(listener) = self.listener.upgrade() else { return };
        if crate::os::wake_accept(&listener) {
            return;
        }
        let mut wake = self.address;
        if wake.ip().is_unspecified() {
            wake.set_ip(if wake.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
        }
        for _ in 0..3 {
            if TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok() {
                break;
            }
        }
    }

    fn stop(&self) {
        if self.begin_stop() {
            self.cut_everyone();
        }
    }
}

/// What a running manager is doing, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// Connections being served (handshaking or authenticated).
    pub connections: usize,
    /// Of those, the ones still in their handshake.
    pub handshaking: usize,
    /// `get`s blocked on an empty queue.
    pub waiting: usize,
    /// Bytes held by the queues, as they count against the byte bounds.
    pub queued_bytes: usize,
    /// Connections refused at the cap (or for want of a thread or a descriptor).
    pub refused: u64,
    /// Failed `accept` calls (for instance out of file descriptors).
    pub accept_errors: u64,
}

/// A running manager server. It stops on [`shutdown`](Self::shutdown), on a client's
/// `shutdown` request, or when dropped; once stopped it serves no request and has closed
/// every connection.
#[derive(Debug)]
pub struct Manager {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Manager {
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// The address clients connect to (with the real port when bound to port 0).
    pub fn address(&self) -> SocketAddr {
        self.shared.address
    }

    /// The key clients must prove: the one given to the builder, or the one generated.
    pub fn authkey(&self) -> &[u8] {
        &self.shared.key
    }

    pub fn stats(&self) -> ManagerStats {
        let (connections, handshaking) = {
            let live = self.shared.live();
            (live.streams.len(), live.handshaking)
        };
        ManagerStats {
            connections,
            handshaking,
            waiting: self.shared.store.waiting(),
            queued_bytes: self.shared.store.bytes(),
            refused: self.shared.refused.load(Ordering::SeqCst),
            accept_errors: self.shared.accept_errors.load(Ordering::SeqCst),
        }
    }

    /// Waits until a client asks the server to shut down, and for its connections to close.
    pub fn wait(mut self) {
        self.finish();
    }

    /// Stops serving and closes every connection.
    pub fn shutdown(self) {}

    fn finish(&mut self) {
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        // Every connection was cut: their threads end at once. The bound only guards against
        // a thread stuck in the OS.
        let deadline = Instant::now() + self.shared.limits.peer_timeout + Duration::from_secs(1);
        let mut live = self.shared.live();
        while !live.streams.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            live = self.shared.all_gone.wait_timeout(live, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.shared.stop();
        self.finish();
    }
}

/// Doubling pauses after accept errors, from 1 ms to [`MAX_BACKOFF`].
#[derive(Debug, Default)]
struct Backoff(Option<Duration>);

impl Backoff {
    fn next(&mut self) -> Duration {
        let d = self.0.map_or(Duration::from_millis(1), |d| (d * 2).min(MAX_BACKOFF));
        self.0 = Some(d);
        d
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    // (`listener` is the one `Shared::listener` points to: it closes as this loop ends.)
    // A descriptor held in reserve: when the process runs out, we free it to accept and refuse
    // one waiting client, which then learns at once instead of waiting in the backlog.
    let mut spare = reserve();
    let mut backoff = Backoff::default();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                backoff = Backoff::default();
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                admit(stream, shared);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                // The peer gave up before we accepted: nothing to do with us.
            }
            Err(_) => {
                // A listener shut down to wake us fails its accept: no error of the loop's.
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                shared.accept_errors.fetch_add(1, Ordering::SeqCst);
                drop(spare.take());
                shed_one(listener, shared);
                spare = reserve();
                // Without this pause a listener whose backlog we cannot drain spins a CPU.
                std::thread::sleep(backoff.next());
            }
        }
    }
}

fn reserve() -> Option<UdpSocket> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()
}

/// Accepts one waiting connection, if any, only to refuse it.
fn shed_one(listener: &TcpListener, shared: &Shared) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    if let Ok((stream, _)) = listener.accept() {
        refuse(stream, shared, "the manager is out of resources (file descriptors); try again later");
    }
    let _ = listener.set_nonblocking(false);
}

/// Tells a connection we will not serve it why, without waiting on it, and closes it.
fn refuse(stream: TcpStream, shared: &Shared, why: &str) {
    shared.refused.fetch_add(1, Ordering::SeqCst);
    if let Ok(bytes) = frame::encode(&ServerFrame::error(ErrorCode::Busy, why), 1024) {
        // A fresh socket's send buffer takes a few hundred bytes without blocking.
        let _ = stream.set_nonblocking(true);
        let _ = frame::write_frame(&stream, &bytes);
    }
}

fn admit(stream: TcpStream, shared: &Arc<Shared>) {
    let stream = Arc::new(stream);
    let id = {
        let mut live = shared.live();
        let limits = &shared.limits;
        if live.streams.len() >= limits.max_connections {
            drop(live);
            let why = format!("the manager serves at most {} connections at once", limits.max_connections);
            return refuse_arc(stream, shared, &why);
        }
        if live.handshaking >= limits.max_handshakes {
            drop(live);
            let why = format!("the manager runs at most {} handshakes at once", limits.max_handshakes);
            return refuse_arc(stream, shared, &why);
        }
        let id = live.next_id;
        live.next_id += 1;
        live.streams.insert(id, stream.clone());
        live.handshaking += 1;
        id
    };
    let started = {
        let (shared, stream) = (shared.clone(), stream.clone());
        std::thread::Builder::new()
            .name("manager-conn".into())
            .stack_size(CONN_STACK)
            .spawn(move || conn::serve(id, &stream, &shared))
    };
    if started.is_err() {
        shared.gone(id, true);
        refuse_arc(stream, shared, "the manager cannot start a thread for this connection");
    }
}

fn refuse_arc(stream: Arc<TcpStream>, shared: &Shared, why: &str) {
    match Arc::try_unwrap(stream) {
        Ok(s) => refuse(s, shared, why),
        Err(s) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
