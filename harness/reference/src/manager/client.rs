//! The manager's client: connect and authenticate within a deadline, then put and get on named
//! queues, each call bounded in time (see the module docs for the bounds).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::frame::{self, EncodeError, FrameError, Inbox, Timed};
use super::handshake::{self, JoinFailure, Terms};
use super::server::MAX_TIMEOUT;
use super::wire::{self, ErrorCode, Op, Outgoing, ServerFrame, Status};
use super::{auth, tcp};
use crate::error::ManagerError;

/// The longest a `get` waits on the server in one request: a longer (or endless) `get` is a
/// series of such rounds, so that a silent server is noticed within a round plus the peer
/// timeout.
pub(crate) const ROUND: Duration = Duration::from_secs(5);

/// Room for a reply's envelope around a value of the largest frame.
const ENVELOPE: usize = 1024;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of a [`Client`]: [`Client::builder`], then [`connect`](Self::connect).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    peer_timeout: Duration,
    max_message: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            peer_timeout: DEFAULT_PEER_TIMEOUT,
            max_message: crate::DEFAULT_MAX_MESSAGE,
        }
    }
}

impl ClientBuilder {
    /// Bounds connecting and the handshake together (default 10 s; at most a day); then
    /// [`ManagerError::ConnectTimeout`].
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t.min(MAX_TIMEOUT);
        self
    }

    /// How long past what a call waits on the server its reply may take (default 10 s); then
    /// [`ManagerError::NoReply`]. Also the keep-alive bound of the connection. From 1 ms to a day.
    pub fn peer_timeout(mut self, t: Duration) -> Self {
        self.peer_timeout = t.clamp(Duration::from_millis(1), MAX_TIMEOUT);
        self
    }

    /// The largest frame this client sends or reads (default
    /// [`DEFAULT_MAX_MESSAGE`](crate::DEFAULT_MAX_MESSAGE)); the server's own limit, learnt in
    /// the handshake, applies too.
    pub fn max_message(mut self, limit: usize) -> Self {
        self.max_message = limit;
        self
    }

    /// Connects and authenticates with `key`.
    pub fn connect(self, address: impl ToSocketAddrs, key: &[u8]) -> Result<Client, ManagerError> {
        let addresses: Vec<SocketAddr> = address
            .to_socket_addrs()
            .map_err(|source| ManagerError::Connect { address: "the given address".into(), source })?
            .collect();
        let target = Target { addresses, key: key.to_vec(), options: self };
        let conn = target.open(target.connect_deadline()?)?;
        Ok(Client { target, session: Mutex::new(Some(conn)) })
    }
}

/// An authenticated connection to a [`Manager`](super::Manager). Requests from several
/// threads take turns on the one connection. After a connection failure the next call
/// connects again (the failed call itself is never repeated).
pub struct Client {
    target: Target,
    session: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Client").field("addresses", &self.target.addresses).finish_non_exhaustive()
    }
}

/// Where and how to (re)connect.
struct Target {
    addresses: Vec<SocketAddr>,
    key: Vec<u8>,
    options: ClientBuilder,
}

/// One authenticated connection.
struct Conn {
    stream: TcpStream,
    terms: Terms,
    /// The socket's read timeout as last set (see [`Timed`]).
    armed: Option<Duration>,
    inbox: Inbox,
}

/// A named queue on the manager, as the chapter's `manager.get_task_queue()` returns it.
#[derive(Debug)]
pub struct RemoteQueue<'a> {
    client: &'a Client,
    name: String,
}

impl Target {
    fn shown(&self) -> String {
        self.addresses.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ")
    }

    fn connect_deadline(&self) -> Result<Instant, ManagerError> {
        Instant::now()
            .checked_add(self.options.connect_timeout)
            .ok_or_else(|| ManagerError::Protocol("connect timeout too large".into()))
    }

    /// Connects to the first address that answers and runs the handshake, all before
    /// `deadline`.
    fn open(&self, deadline: Instant) -> Result<Conn, ManagerError> {
        let opts = &self.options;
        let timed_out = |address: String| ManagerError::ConnectTimeout { address, after: opts.connect_timeout };
        let mut last = None;
        for address in &self.addresses {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let stream = match TcpStream::connect_timeout(address, left) {
                Ok(s) => s,
                Err(e) => {
                    last = Some((address, e));
                    continue;
                }
            };
            tcp::configure(&stream, opts.peer_timeout)?;
            let challenge = auth::random::<{ auth::CHALLENGE_LEN }>()?;
            let mut armed = None;
            let joined = handshake::join(Timed::new(&stream, deadline, &mut armed), &stream, &self.key, &challenge);
            return match joined {
                Ok(terms) => Ok(Conn { stream, terms, armed, inbox: Inbox::default() }),
                Err(JoinFailure::Busy(why)) => Err(ManagerError::Busy(why)),
                Err(JoinFailure::Refused) => Err(ManagerError::AuthRefused),
                Err(JoinFailure::TimedOut) => Err(timed_out(address.to_string())),
                Err(JoinFailure::Lost(reason)) => Err(ManagerError::ConnectionLost { during: "handshake", reason }),
                Err(JoinFailure::Protocol(m)) => Err(ManagerError::Protocol(m)),
            };
        }
        Err(match last {
            Some((address, e)) if is_timeout(&e) => timed_out(address.to_string()),
            Some((address, source)) => ManagerError::Connect { address: address.to_string(), source },
            None => timed_out(self.shown()),
        })
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
}

/// `{"op":"ack"}` as a frame.
fn ack_frame() -> Vec<u8> {
    frame::encode(&Outgoing::op(Op::Ack), 64).unwrap_or_default()
}

impl Conn {
    /// Sends one request and reads its reply before `deadline`; a value reply is acknowledged
    /// before anything else is sent.
    fn exchange(
        &mut self,
        during: &'static str,
        request: &[u8],
        deadline: Instant,
        bound: Duration,
        opts: &ClientBuilder,
    ) -> Result<ServerFrame, ManagerError> {
        let lost = |e: std::io::Error| {
            if is_timeout(&e) {
                ManagerError::NoReply { during, waited: opts.peer_timeout }
            } else {
                ManagerError::ConnectionLost { during, reason: e.to_string() }
            }
        };
        frame::write_frame(&self.stream, request).map_err(lost)?;
        let limit = self.terms.max_message.min(opts.max_message).saturating_add(ENVELOPE);
        let timed = Timed::new(&self.stream, deadline, &mut self.armed);
        let body = match frame::read_frame(self.inbox.reader(timed), limit) {
            Ok(body) => body,
            Err(FrameError::Idle | FrameError::Stalled { .. }) => {
                return Err(ManagerError::NoReply { during, waited: bound });
            }
            Err(FrameError::Io(e)) if is_timeout(&e) => return Err(ManagerError::NoReply { during, waited: bound }),
            Err(FrameError::TooLarge { size, limit }) => {
                return Err(ManagerError::Protocol(format!(
                    "reply of {size} bytes is over our limit of {limit} bytes"
                )));
            }
            Err(e) => return Err(ManagerError::ConnectionLost { during, reason: e.to_string() }),
        };
        let reply: ServerFrame = serde_json::from_slice(&body)
            .map_err(|e| ManagerError::Protocol(wire::clip(&format!("not a manager's reply: {e}"))))?;
        if reply.status == Some(Status::Value) {
            // Until the server reads this it keeps the value, and puts it back if we vanish.
            frame::write_frame(&self.stream, &ack_frame()).map_err(lost)?;
        }
        Ok(reply)
    }
}

impl Client {
    /// Connects and authenticates with `key`, with the default options ([`Client::builder`]);
    /// [`ManagerError::AuthRefused`] if either side's proof fails.
    pub fn connect(address: impl ToSocketAddrs, key: &[u8]) -> Result<Client, ManagerError> {
        ClientBuilder::default().connect(address, key)
    }

    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn queue(&self, name: impl Into<String>) -> RemoteQueue<'_> {
        RemoteQueue { client: self, name: name.into() }
    }

    fn session(&self) -> MutexGuard<'_, Option<Conn>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One call on the connection (made anew if the last one broke), all of it, reconnecting
    /// included, within `wait` plus the peer timeout. `encode` makes the request under the
    /// server's frame limit and with the time the server may wait (`wait`, less what
    /// reconnecting took); a refusal there sends nothing.
    fn call(
        &self,
        during: &'static str,
        wait: Duration,
        encode: impl FnOnce(usize, Duration) -> Result<Vec<u8>, ManagerError>,
    ) -> Result<ServerFrame, ManagerError> {
        let opts = &self.target.options;
        // Other threads' calls take turns first: the bound starts when ours does.
        let mut session = self.session();
        let bound = wait.saturating_add(opts.peer_timeout);
        let deadline =
            Instant::now().checked_add(bound).ok_or_else(|| ManagerError::Protocol("call bound too large".into()))?;
        let conn = match session.as_mut() {
            Some(conn) => conn,
            None => {
                let opened = self.target.open(deadline.min(self.target.connect_deadline()?));
                match opened {
                    Ok(conn) => session.insert(conn),
                    Err(ManagerError::ConnectTimeout { .. }) => {
                        return Err(ManagerError::NoReply { during, waited: bound });
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let left = deadline.saturating_duration_since(Instant::now()).saturating_sub(opts.peer_timeout);
        let request = encode(conn.terms.max_message.min(opts.max_message), wait.min(left))?;
        let reply = conn.exchange(during, &request, deadline, bound, opts);
        let keep = match &reply {
            Ok(r) => !(r.status == Some(Status::Error) && r.error == Some(ErrorCode::ShuttingDown)),
            Err(_) => false,
        };
        if !keep {
            // Out of step or closing: the next call connects again.
            *session = None;
        }
        reply
    }

    /// Asks the server to stop serving.
    pub fn shutdown(&self) -> Result<(), ManagerError> {
        let reply = self.call("shutdown", Duration::ZERO, |limit, _| encode(&Outgoing::op(Op::Shutdown), limit))?;
        *self.session() = None;
        match reply.status {
            Some(Status::Done) => Ok(()),
            _ => Err(refusal(reply, "")),
        }
    }
}

fn encode<T: Serialize + ?Sized>(msg: &T, limit: usize) -> Result<Vec<u8>, ManagerError> {
    frame::encode(msg, limit).map_err(|e| match e {
        EncodeError::TooLarge { size, limit } => ManagerError::TooLarge { size, limit },
        EncodeError::Json(e) => ManagerError::Encode(e),
    })
}

/// The error a non-success reply stands for.
fn refusal(reply: ServerFrame, queue: &str) -> ManagerError {
    let message = reply.message.clone().unwrap_or_default();
    let size = reply.size.map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
    let limit = reply.limit.map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
    match (reply.status, reply.error) {
        (Some(Status::Empty), _) => ManagerError::Empty(queue.to_string()),
        (Some(Status::Error), Some(code)) => match code {
            ErrorCode::UnknownQueue => ManagerError::UnknownQueue {
                name: queue.to_string(),
                known: reply.known.unwrap_or_default().join(", "),
            },
            ErrorCode::QueueFull => ManagerError::QueueFull { queue: queue.to_string(), size, limit },
            ErrorCode::ManagerFull => ManagerError::ManagerFull { size, limit },
            ErrorCode::TooLarge => ManagerError::TooLarge { size, limit },
            ErrorCode::ShuttingDown => ManagerError::ShuttingDown,
            ErrorCode::Busy => ManagerError::Busy(message),
            ErrorCode::AuthRefused => ManagerError::AuthRefused,
            ErrorCode::BadRequest | ErrorCode::Other => ManagerError::Protocol(message),
        },
        (status, _) => ManagerError::Protocol(format!("unexpected reply {status:?}")),
    }
}

/// A timeout in whole milliseconds, rounded up (a round of 0.4 ms must not become a poll).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

impl RemoteQueue<'_> {
    /// Queues `value`. It arrives once, or the call fails: on [`ManagerError::NoReply`] or
    /// [`ManagerError::ConnectionLost`] it may or may not have been queued, and it is never
    /// sent again.
    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ManagerError> {
        let request = Outgoing {
            op: Op::Put,
            queue: Some(self.name.as_str()),
            value: Some(value),
            timeout_ms: None,
            response: None,
            challenge: None,
        };
        let reply = self.client.call("put", Duration::ZERO, |limit, _| encode(&request, limit))?;
        match reply.status {
            Some(Status::Done) => Ok(()),
            _ => Err(refusal(reply, &self.name)),
        }
    }

    /// Takes the oldest value, waiting up to `timeout` (`None`: for ever); [`ManagerError::Empty`]
    /// then. Returns within `timeout` plus the peer timeout even if the server stops answering
    /// ([`ManagerError::NoReply`]).
    pub fn get<T: DeserializeOwned>(&self, timeout: Option<Duration>) -> Result<T, ManagerError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let round = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(ROUND),
                // For ever (or further than an Instant reaches).
                None => ROUND,
            };
            let reply = self.client.call("get", round, |limit, wait| {
                let request = Outgoing {
                    queue: Some(self.name.as_str()),
                    timeout_ms: Some(millis(wait)),
                    ..Outgoing::op(Op::Get)
                };
                encode(&request, limit)
            })?;
            match (reply.status, reply.value) {
                (Some(Status::Value), Some(value)) => {
                    return serde_json::from_str(value.get())
                        .map_err(|source| ManagerError::Decode { value: wire::clip(value.get()), source });
                }
                (Some(Status::Empty), _) if deadline.is_none_or(|d| Instant::now() < d) => continue,
                (status, value) => return Err(refusal(ServerFrame { status, value, ..reply }, &self.name)),
            }
        }
    }
}
