//! Distributed processes, like the chapter's `BaseManager`: a TCP server exposing named queues
//! to clients in other processes or on other machines.
//!
//! - Clients authenticate by challenge and response with HMAC-SHA256 over a shared key, in both
//!   directions; the key never crosses the wire, and a client with a wrong key is refused before
//!   any request is read.
//! - The server binds to `127.0.0.1` unless given another address.
//! - Messages are JSON data only (never code), each bounded in size.
//! - Every connection sets `TCP_NODELAY`: the handshake is a few small writes, which otherwise
//!   wait on delayed ACKs (about 40 ms each on Linux).

mod auth;
mod client;
mod server;
mod wire;

pub use client::{Client, RemoteQueue};
pub use server::{Manager, ManagerBuilder};
