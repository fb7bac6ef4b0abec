//! The manager's server: an accept loop, one thread per authenticated connection.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::auth;
use super::wire::{self, Answer, Hello, Request, Response, Verdict};
use crate::error::ManagerError;
use crate::framing::DEFAULT_MAX_MESSAGE;

/// How long a client may take to answer the challenge before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`Manager`]: its queues, key, address and message bound.
#[derive(Debug, Clone)]
pub struct ManagerBuilder {
    queues: Vec<String>,
    key: Vec<u8>,
    address: SocketAddr,
    limit: usize,
}

impl Default for ManagerBuilder {
    fn default() -> Self {
        ManagerBuilder {
            queues: Vec::new(),
            key: Vec::new(),
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            limit: DEFAULT_MAX_MESSAGE,
        }
    }
}

impl ManagerBuilder {
    /// Serves a queue under `name` (the chapter registers `get_task_queue`, `get_result_queue`).
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queues.push(name.into());
        self
    }

    pub fn authkey(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = key.into();
        self
    }

    /// Where to listen; `127.0.0.1` on a free port unless set.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    pub fn max_message(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Binds and starts serving on a background thread.
    pub fn start(self) -> std::io::Result<Manager> {
        let listener = TcpListener::bind(self.address)?;
        let address = listener.local_addr()?;
        let queues = self.queues.iter().map(|q| (q.clone(), Arc::new(ServedQueue::default()))).collect();
        let shared = Arc::new(Shared { queues, key: self.key, limit: self.limit, stopping: AtomicBool::new(false) });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new().name("manager-accept".into()).spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(Manager { address, shared, acceptor: Some(acceptor) })
    }
}

#[derive(Debug, Default)]
struct ServedQueue {
    items: Mutex<VecDeque<serde_json::Value>>,
    arrived: Condvar,
}

#[derive(Debug)]
struct Shared {
    queues: HashMap<String, Arc<ServedQueue>>,
    key: Vec<u8>,
    limit: usize,
    stopping: AtomicBool,
}

/// A running manager server. It stops on [`shutdown`](Self::shutdown), on a client's
/// `shutdown` request, or when dropped.
#[derive(Debug)]
pub struct Manager {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Manager {
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// The address clients connect to (with the real port when bound to port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Waits until a client asks the server to shut down.
    pub fn wait(mut self) {
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }

    pub fn shutdown(self) {}
}

impl Drop for Manager {
    fn drop(&mut self) {
        stop(&self.shared, self.address);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

fn stop(shared: &Shared, address: SocketAddr) {
    if shared.stopping.swap(true, Ordering::SeqCst) {
        return;
    }
    for q in shared.queues.values() {
        let _guard = q.items.lock();
        q.arrived.notify_all();
    }
    // Wake the accept loop so it sees the flag.
    let mut wake = address;
    if wake.ip().is_unspecified() {
        wake.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let address = listener.local_addr().ok();
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        let _ = std::thread::Builder::new().name("manager-conn".into()).spawn(move || {
            if let Ok(Some(())) = serve(&stream, &shared)
                && let Some(a) = address
            {
                stop(&shared, a);
            }
        });
    }
}

/// Serves one connection; `Some(())` when the client asked for a shutdown.
fn serve(stream: &TcpStream, shared: &Shared) -> Result<Option<()>, ManagerError> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let challenge = auth::challenge()?;
    wire::send(stream, &Hello { challenge: challenge.clone() }, shared.limit)?;
    let answer: Answer = wire::recv(stream, 1024)?;
    if !auth::verify(&shared.key, &challenge, &answer.response) {
        let _ = wire::send(stream, &Verdict::Refused, shared.limit);
        return Err(ManagerError::AuthRefused);
    }
    let response = auth::answer(&shared.key, &answer.challenge);
    wire::send(stream, &Verdict::Welcome { response }, shared.limit)?;
    stream.set_read_timeout(None)?;
    loop {
        let request: Request = match wire::recv(stream, shared.limit) {
            Ok(r) => r,
            Err(ManagerError::Channel(crate::ChannelError::Eof)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let response = match request {
            Request::Shutdown => {
                wire::send(stream, &Response::Done, shared.limit)?;
                return Ok(Some(()));
            }
            Request::Put { queue, value } => match shared.queues.get(&queue) {
                None => unknown(shared),
                Some(q) => {
                    q.items.lock().unwrap_or_else(|p| p.into_inner()).push_back(value);
                    q.arrived.notify_one();
                    Response::Done
                }
            },
            Request::Get { queue, timeout_ms } => match shared.queues.get(&queue) {
                None => unknown(shared),
                Some(q) => take(q, timeout_ms.map(Duration::from_millis), &shared.stopping),
            },
        };
        wire::send(stream, &response, shared.limit)?;
    }
}

fn unknown(shared: &Shared) -> Response {
    let mut known: Vec<String> = shared.queues.keys().cloned().collect();
    known.sort();
    Response::UnknownQueue { known }
}

fn take(q: &ServedQueue, timeout: Option<Duration>, stopping: &AtomicBool) -> Response {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut items = q.items.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(v) = items.pop_front() {
            return Response::Value(v);
        }
        if stopping.load(Ordering::SeqCst) {
            return Response::ShuttingDown;
        }
        items = match deadline {
            None => q.arrived.wait(items).unwrap_or_else(|p| p.into_inner()),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Response::Empty;
                }
                q.arrived.wait_timeout(items, left).unwrap_or_else(|p| p.into_inner()).0
            }
        };
    }
}
