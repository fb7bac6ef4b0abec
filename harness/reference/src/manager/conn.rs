//! One connection on the server: the handshake under its deadline, then requests until the
//! client leaves, breaks the protocol, or the manager stops. Any failure ends the connection
//! (never the server), and a value on its way to a client that fails goes back to its queue.

use std::net::TcpStream;
use std::time::Instant;

use super::frame::{self, FrameError, Inbox, Timed};
use super::server::Shared;
use super::store::{Full, Take, Taken};
use super::wire::{self, ErrorCode, Request, ServerFrame, Status, ValueReply};
use super::{auth, handshake, tcp};

/// The largest acknowledgement we read (it is `{"op":"ack"}`).
const ACK_LIMIT: usize = 256;

/// Runs connection `id` to its end.
pub(crate) fn serve(id: u64, stream: &TcpStream, shared: &Shared) {
    let mut exit = Exit { id, shared, handshaking: true };
    session(stream, shared, &mut exit);
}

/// Tells the server the connection is gone, however the thread ends (panics included).
struct Exit<'a> {
    id: u64,
    shared: &'a Shared,
    handshaking: bool,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        self.shared.gone(self.id, self.handshaking);
    }
}

fn session(stream: &TcpStream, shared: &Shared, exit: &mut Exit<'_>) -> Option<()> {
    let limits = &shared.limits;
    tcp::configure(stream, limits.peer_timeout).ok()?;
    // The whole handshake, not each read, is bounded: a peer sending a byte at a time gains nothing.
    let deadline = Instant::now().checked_add(limits.handshake_timeout)?;
    let challenge = auth::random::<{ auth::CHALLENGE_LEN }>().ok()?;
    let mut armed = None;
    let reader = Timed::new(stream, deadline, &mut armed);
    handshake::serve(reader, stream, &shared.key, &challenge, limits.max_message).ok()?;
    shared.authenticated();
    exit.handshaking = false;
    // From here a read that waits longer than this is either an idle client (fine: keep
    // waiting) or a client stalled inside a frame (gone: close).
    stream.set_read_timeout(Some(limits.peer_timeout)).ok()?;
    let mut inbox = Inbox::default();
    loop {
        let body = match frame::read_frame(inbox.reader(stream), limits.max_message) {
            Ok(body) => body,
            Err(FrameError::Idle) if !shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => continue,
            Err(FrameError::TooLarge { size, limit }) => {
                // Skip the body so that the stream stays in step, then say why.
                frame::discard(inbox.reader(stream), size).ok()?;
                let refusal = ServerFrame {
                    size: Some(size as u64),
                    limit: Some(limit as u64),
                    ..ServerFrame::error(
                        ErrorCode::TooLarge,
                        format!("frame of {size} bytes is over the limit of {limit} bytes"),
                    )
                };
                reply(stream, &refusal)?;
                continue;
            }
            Err(_) => return None,
        };
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            reply(stream, &ServerFrame::error(ErrorCode::ShuttingDown, "the manager is shutting down"));
            return None;
        }
        let request = match wire::parse_request(&body) {
            Ok(r) => r,
            Err(why) => {
                reply(stream, &ServerFrame::error(ErrorCode::BadRequest, why))?;
                continue;
            }
        };
        drop(body);
        let answer = match request {
            Request::Put { queue, value } => match shared.store.slot(&queue) {
                None => unknown(shared, &queue),
                Some(slot) => match shared.store.put(slot, value) {
                    Ok(()) => ServerFrame::status(Status::Done),
                    Err(full) => refusal(&queue, full),
                },
            },
            Request::Get { queue, timeout } => match shared.store.slot(&queue) {
                None => unknown(shared, &queue),
                Some(slot) => match shared
                    .store
                    .take(slot, timeout, &shared.stopping, || inbox.is_empty() && tcp::peer_waiting(stream))
                {
                    Take::Got(taken) => {
                        deliver(stream, &mut inbox, taken)?;
                        continue;
                    }
                    Take::Empty => ServerFrame::status(Status::Empty),
                    Take::ShuttingDown => {
                        reply(stream, &ServerFrame::error(ErrorCode::ShuttingDown, "the manager is shutting down"));
                        return None;
                    }
                    Take::Vanished => return None,
                },
            },
            Request::Ack => ServerFrame::error(ErrorCode::BadRequest, "`ack` without a value to acknowledge"),
            Request::Answer { .. } => ServerFrame::error(ErrorCode::BadRequest, "already authenticated"),
            Request::Shutdown => {
                shared.begin_stop();
                reply(stream, &ServerFrame::status(Status::Done));
                shared.cut_everyone();
                return None;
            }
        };
        reply(stream, &answer)?;
    }
}

/// Sends a value and waits for the client's acknowledgement; if either fails, dropping
/// `taken` puts the value back at the head of its queue.
fn deliver(stream: &TcpStream, inbox: &mut Inbox, taken: Taken<'_>) -> Option<()> {
    let bytes = frame::encode(&ValueReply(taken.value()), usize::MAX).ok()?;
    frame::write_frame(stream, &bytes).ok()?;
    drop(bytes);
    let body = frame::read_frame(inbox.reader(stream), ACK_LIMIT).ok()?;
    match wire::parse_request(&body) {
        Ok(Request::Ack) => {
            taken.commit();
            Some(())
        }
        _ => None,
    }
}

fn reply(stream: &TcpStream, answer: &ServerFrame) -> Option<()> {
    let bytes = frame::encode(answer, usize::MAX).ok()?;
    frame::write_frame(stream, &bytes).ok()
}

fn unknown(shared: &Shared, queue: &str) -> ServerFrame {
    let known = shared.store.names();
    ServerFrame {
        queue: Some(wire::clip(queue)),
        message: Some(wire::clip(&format!("unknown queue {queue:?}; the manager serves: {}", known.join(", ")))),
        known: Some(known),
        ..ServerFrame::error(ErrorCode::UnknownQueue, "")
    }
}

fn refusal(queue: &str, full: Full) -> ServerFrame {
    let (code, size, limit, message) = match full {
        Full::Queue { size, limit } => (
            ErrorCode::QueueFull,
            size,
            limit,
            format!("queue {queue:?} is full: {size} more bytes would pass its bound of {limit} bytes"),
        ),
        Full::Total { size, limit } => (
            ErrorCode::ManagerFull,
            size,
            limit,
            format!("the manager is full: {size} more bytes would pass its bound of {limit} bytes for all queues"),
        ),
    };
    ServerFrame {
        queue: Some(wire::clip(queue)),
        size: Some(size as u64),
        limit: Some(limit as u64),
        ..ServerFrame::error(code, wire::clip(&message))
    }
}
