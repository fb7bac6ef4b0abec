//! The manager's client: connect, authenticate, then put and get on named queues.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth;
use super::wire::{self, Answer, Hello, Request, Response, Verdict};
use crate::error::ManagerError;
use crate::framing::DEFAULT_MAX_MESSAGE;

/// An authenticated connection to a [`Manager`](super::Manager). Requests from several threads
/// take turns on the one connection.
#[derive(Debug)]
pub struct Client {
    stream: Mutex<TcpStream>,
    limit: usize,
}

/// A named queue on the manager, as the chapter's `manager.get_task_queue()` returns it.
#[derive(Debug)]
pub struct RemoteQueue<'a> {
    client: &'a Client,
    name: String,
}

impl Client {
    /// Connects and authenticates with `key`; [`ManagerError::AuthRefused`] if either side's
    /// proof fails.
    pub fn connect(address: impl ToSocketAddrs, key: &[u8]) -> Result<Client, ManagerError> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        let limit = DEFAULT_MAX_MESSAGE;
        let hello: Hello = wire::recv(&stream, 1024)?;
        let challenge = auth::challenge()?;
        let response = auth::answer(key, &hello.challenge);
        wire::send(&stream, &Answer { response, challenge: challenge.clone() }, limit)?;
        match wire::recv::<Verdict>(&stream, 1024) {
            Ok(Verdict::Welcome { response }) if auth::verify(key, &challenge, &response) => {}
            Ok(_) | Err(ManagerError::Channel(crate::ChannelError::Eof)) => {
                return Err(ManagerError::AuthRefused);
            }
            Err(e) => return Err(e),
        }
        Ok(Client { stream: Mutex::new(stream), limit })
    }

    pub fn queue(&self, name: impl Into<String>) -> RemoteQueue<'_> {
        RemoteQueue { client: self, name: name.into() }
    }

    fn call(&self, request: &Request) -> Result<Response, ManagerError> {
        let stream = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        wire::send(&stream, request, self.limit)?;
        wire::recv(&stream, self.limit)
    }

    /// Asks the server to stop serving.
    pub fn shutdown(&self) -> Result<(), ManagerError> {
        match self.call(&Request::Shutdown)? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(r: Response) -> ManagerError {
    ManagerError::Protocol(format!("unexpected response {r:?}"))
}

impl RemoteQueue<'_> {
    pub fn put<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ManagerError> {
        let value = serde_json::to_value(value).map_err(|e| ManagerError::Channel(crate::ChannelError::Encode(e)))?;
        match self.client.call(&Request::Put { queue: self.name.clone(), value })? {
            Response::Done => Ok(()),
            other => Err(self.refusal(other)),
        }
    }

    /// Takes the oldest value, waiting up to `timeout` (`None`: for ever); [`ManagerError::Empty`] then.
    pub fn get<T: DeserializeOwned>(&self, timeout: Option<Duration>) -> Result<T, ManagerError> {
        let timeout_ms = timeout.map(|t| t.as_millis().min(u64::MAX as u128) as u64);
        match self.client.call(&Request::Get { queue: self.name.clone(), timeout_ms })? {
            Response::Value(v) => {
                serde_json::from_value(v).map_err(|e| ManagerError::Channel(crate::ChannelError::Decode(e)))
            }
            other => Err(self.refusal(other)),
        }
    }

    fn refusal(&self, r: Response) -> ManagerError {
        match r {
            Response::Empty => ManagerError::Empty(self.name.clone()),
            Response::ShuttingDown => ManagerError::ShuttingDown,
            Response::UnknownQueue { known } => {
                ManagerError::UnknownQueue { name: self.name.clone(), known: known.join(", ") }
            }
            other => unexpected(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::Manager;

    fn manager() -> Manager {
        Manager::builder().queue("task").queue("result").authkey(b"abc".to_vec()).start().expect("start")
    }

    #[test]
    fn binds_to_loopback_by_default() {
        assert!(manager().address().ip().is_loopback());
    }

    #[test]
    fn master_and_worker_round_trip() {
        let m = manager();
        let master = Client::connect(m.address(), b"abc").expect("connect");
        let addr = m.address();
        for n in 0..10 {
            master.queue("task").put(&n).expect("put");
        }
        let worker = std::thread::spawn(move || {
            let c = Client::connect(addr, b"abc").expect("connect");
            let mut done = 0;
            loop {
                match c.queue("task").get::<i64>(Some(Duration::from_millis(200))) {
                    Ok(n) => {
                        c.queue("result").put(&format!("{n} * {n} = {}", n * n)).expect("put");
                        done += 1;
                    }
                    Err(ManagerError::Empty(q)) => {
                        assert_eq!(q, "task");
                        return done;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let results: Vec<String> =
            (0..10).map(|_| master.queue("result").get(Some(Duration::from_secs(10))).expect("result")).collect();
        assert_eq!(results[3], "3 * 3 = 9");
        assert_eq!(worker.join().expect("worker"), 10);
        master.shutdown().expect("shutdown");
        m.wait();
    }

    #[test]
    fn wrong_key_is_refused_before_any_queue() {
        let m = manager();
        let err = Client::connect(m.address(), b"abd").expect_err("refused");
        assert!(matches!(err, ManagerError::AuthRefused), "{err}");
    }

    #[test]
    fn unknown_queue_names_the_known_ones() {
        let m = manager();
        let c = Client::connect(m.address(), b"abc").expect("connect");
        let err = c.queue("nope").put(&1).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown queue \"nope\"; the manager serves: result, task");
    }

    #[test]
    fn oversize_message_is_refused_and_connection_goes_on() {
        let m = Manager::builder().queue("q").authkey(b"k".to_vec()).max_message(1 << 20).start().expect("start");
        let c = Client::connect(m.address(), b"k").expect("connect");
        let err = c.queue("q").put(&"x".repeat(DEFAULT_MAX_MESSAGE + 1)).expect_err("too large");
        assert!(matches!(err, ManagerError::Channel(crate::ChannelError::TooLarge { .. })), "{err}");
        c.queue("q").put(&1).expect("small put still works");
        assert_eq!(c.queue("q").get::<i32>(Some(Duration::from_secs(1))).expect("get"), 1);
    }
}
