//! Distributed processes, like the chapter's `BaseManager`: a TCP server exposing named queues
//! to clients in other processes or on other machines.
//!
//! ```no_run
//! use std::time::Duration;
//! use procthread::manager::{Client, Manager};
//!
//! let manager = Manager::builder().queue("task").queue("result").start()?;
//! // No key given: the manager made a random one; hand it to the workers.
//! let client = Client::connect(manager.address(), manager.authkey())?;
//! client.queue("task").put(&7)?;
//! let n: i64 = client.queue("task").get(Some(Duration::from_secs(1)))?;
//! # Ok::<(), procthread::ManagerError>(())
//! ```
//!
//! # Security
//! - Clients authenticate by challenge and response with HMAC-SHA256 over a shared key, in both
//!   directions; the key never crosses the wire, and a client that fails is refused before any
//!   request is read.
//! - A manager built without a key generates a random 32-byte one (as CPython does), read with
//!   [`Manager::authkey`]; an empty key is refused ([`ManagerError::EmptyKey`](crate::ManagerError::EmptyKey)).
//!   We generate rather than require because the chapter's managers come with a key, and a
//!   program that forgets one should get a safe manager, not an open one or a failure.
//! - The server binds to `127.0.0.1` unless given another address.
//! - Messages are JSON data only (never code), each bounded in size.
//!
//! # Limits and their errors
//! Each is a [`ManagerBuilder`] setting (or a [`ClientBuilder`] one for the client side).
//!
//! | limit | default | beyond it |
//! |---|---|---|
//! | `max_connections`: connections served at once | 64 | refused at once: [`Busy`](crate::ManagerError::Busy) |
//! | `max_handshakes`: of those, handshakes under way | 16 | refused at once: `Busy` |
//! | `handshake_timeout`: a whole handshake, accept to welcome | 10 s | the server closes the connection |
//! | `max_message`: one frame | 16 MiB | the body is skipped, the client gets [`TooLarge`](crate::ManagerError::TooLarge), the connection goes on |
//! | `max_queue_bytes`: one queue's values | 64 MiB | [`QueueFull`](crate::ManagerError::QueueFull), nothing queued |
//! | `max_total_bytes`: all queues' values | 256 MiB | [`ManagerFull`](crate::ManagerError::ManagerFull), nothing queued |
//! | `peer_timeout`: see below | 10 s | the connection is closed |
//! | client `connect_timeout`: connect and handshake | 10 s | [`ConnectTimeout`](crate::ManagerError::ConnectTimeout) |
//!
//! A queued value counts its JSON text plus 64 bytes. So the server holds at most
//! `max_total_bytes` of values, plus, per connection, one frame being read (its buffer grows
//! with the bytes that actually arrived) and one being written.
//! When the process runs out of file descriptors, the accept loop refuses one waiting client
//! (`Busy`) and pauses, doubling from 1 ms to 1 s, instead of spinning.
//!
//! # Delivery
//! - A `put` is queued once or fails. When the reply never comes
//!   ([`NoReply`](crate::ManagerError::NoReply), [`ConnectionLost`](crate::ManagerError::ConnectionLost))
//!   the value may or may not have been queued; it is never sent again.
//! - A `get` takes a value in two steps: the server sends it and keeps it until the client
//!   acknowledges; if the client vanished (the server watches its socket while the `get`
//!   waits) or the send or acknowledgement fails, the value goes back to the head of its
//!   queue, in order. So a client killed at any point loses nothing. Only a link cut after the
//!   client sent its acknowledgement and before it arrived can deliver a value twice (to the
//!   cut-off client and, later, to another).
//! - After a connection failure the [`Client`] connects again on its next call.
//! - After `shutdown` (a client's or [`Manager::shutdown`]) nothing more is served: pending
//!   `get`s get [`ShuttingDown`](crate::ManagerError::ShuttingDown), every connection is
//!   closed, and new ones are refused.
//!
//! # Dead peers
//! With `T` the peer timeout (10 s by default, on both sides):
//! - A client that dies or closes is noticed at once by its connection's thread; while its
//!   `get` waits, within 200 ms (the server looks at the socket that often).
//! - A peer that vanishes without closing (a cut link, a crashed host) is noticed within `T`:
//!   TCP keep-alive on every connection probes an idle peer (first probe after `T/2`, then
//!   5 probes `T/10` apart, in whole seconds, so 6 s for `T` under 10 s); a read inside a
//!   frame, the server's wait for an acknowledgement and any write fail after `T` without
//!   progress (on Linux `TCP_USER_TIMEOUT` also bounds unacknowledged data by `T`). Where the
//!   OS refuses the probe count (older Windows), its default of 10 probes applies.
//! - A client's call returns within what it waits on the server plus `T`, reconnecting
//!   included, even if the server stops answering ([`NoReply`](crate::ManagerError::NoReply)):
//!   a put within `T`; a `get` with a timeout `t` within `t + T`. A `get` waits on the server
//!   in rounds of at most 5 s, so even one without a timeout notices a silent server within
//!   5 s + `T`. (Calls from several threads on one [`Client`] take turns; a call's bound
//!   starts when its turn does.)
//!
//! # Wire format
//! JSON, so that people and programs in other languages can speak it. Each message is a frame:
//! a 4-byte big-endian length, then that many bytes of one UTF-8 JSON object. Handshake:
//!
//! 1. server: `{"status":"challenge","version":1,"challenge":C}`, or
//!    `{"status":"error","error":"busy","message":...}` and it closes.
//! 2. client: `{"op":"answer","response":P,"challenge":D}`
//! 3. server: `{"status":"welcome","response":Q,"max_message":N}`, or
//!    `{"status":"error","error":"auth_refused",...}` and it closes.
//!
//! `C` and `D` are 32 random bytes in lowercase hex; `P` is
//! HMAC-SHA256(key, `"procthread-manager client proof\0"` + C) and `Q` is
//! HMAC-SHA256(key, `"procthread-manager server proof\0"` + D), in hex. Then requests, each
//! answered by one reply:
//!
//! | request | reply |
//! |---|---|
//! | `{"op":"put","queue":Q,"value":V}` | `{"status":"done"}` |
//! | `{"op":"get","queue":Q,"timeout_ms":MS}` (no `timeout_ms`: wait for ever) | `{"status":"value","value":V}`, which the client must answer with `{"op":"ack"}` before anything else; or `{"status":"empty"}` |
//! | `{"op":"shutdown"}` | `{"status":"done"}` |
//!
//! A client sends nothing while its request is outstanding (the server takes bytes that
//! arrive while a `get` waits, like a close, as the client leaving). Any request may instead get `{"status":"error","error":E,"message":M}` with `E` one of
//! `unknown_queue` (and `known`), `queue_full` / `manager_full` / `too_large` (and `size`,
//! `limit`), `shutting_down`, `bad_request`. Unknown fields are ignored.

mod auth;
mod client;
mod conn;
mod frame;
mod handshake;
mod server;
mod store;
mod tcp;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{Client, ClientBuilder, RemoteQueue};
pub use server::{Manager, ManagerBuilder, ManagerStats};
