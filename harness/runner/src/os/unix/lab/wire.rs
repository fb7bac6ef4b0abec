//! The link emulator: forwards each IP packet a host sends on its tun device to the host that
//! has its destination address, holding it for the delay of both hosts' links and dropping it
//! with their loss, or at once when either link is cut. Packets between two hosts keep their
//! order. Everything is bounded: the packets held at once, the bytes held, one read per packet.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::hosts::LinkStats;

/// The most packets held at once (for their delay), over every pair of hosts.
const MAX_HELD: usize = 20_000;
/// The most bytes held at once.
const MAX_HELD_BYTES: usize = 64 << 20;
/// A tun device's packets are at most its MTU (1500); room for more costs nothing.
const MAX_PACKET: usize = 65_536;
/// Packets read from one host per round, so that a busy host cannot starve the others.
const BURST: usize = 64;
/// The longest the forwarder sleeps when nothing is due (it checks whether to stop).
const IDLE: Duration = Duration::from_millis(500);

/// One host's link as the steps left it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Link {
    pub(crate) cut: bool,
    /// Counts the cuts: a packet held across a cut is dropped even if the link was restored.
    pub(crate) cuts: u64,
    pub(crate) delay: Duration,
    pub(crate) loss_percent: u32,
}

/// What the forwarder and the control socket share.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) links: Mutex<Vec<Link>>,
    pub(crate) stats: Mutex<LinkStats>,
    pub(crate) stop: AtomicBool,
}

impl State {
    pub(crate) fn links(&self) -> std::sync::MutexGuard<'_, Vec<Link>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn stats(&self) -> std::sync::MutexGuard<'_, LinkStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Held {
    due: Instant,
    cuts: (u64, u64),
    packet: Vec<u8>,
}

/// A small, fast generator for the loss rolls (xorshift64*); not for anything secret.
struct Rolls(u64);

impl Rolls {
    fn percent(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as u32 % 100
    }
}

/// The destination of an IPv4 packet, if it is one.
fn destination(packet: &[u8]) -> Option<Ipv4Addr> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    Some(Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]))
}

/// Forwards between `tuns` (host `i` has `addresses[i]`) until `state.stop`; `wake` becomes
/// readable when it should look at `stop`.
pub(crate) fn forward(tuns: &[OwnedFd], addresses: &[Ipv4Addr], state: &Arc<State>, wake: &OwnedFd) {
    let n = tuns.len();
    let mut held: Vec<VecDeque<Held>> = (0..n * n).map(|_| VecDeque::new()).collect();
    let (mut count, mut bytes) = (0usize, 0usize);
    let mut rolls = Rolls(0x9e37_79b9_7f4a_7c15);
    let mut buf = vec![0u8; MAX_PACKET];
    while !state.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let next = held.iter().filter_map(|q| q.front().map(|h| h.due)).min();
        let wait = next.map_or(IDLE, |d| d.saturating_duration_since(now).min(IDLE));
        let ms = wait.as_micros().div_ceil(1000).min(60_000) as u16;
        let mut fds: Vec<PollFd<'_>> = tuns.iter().map(|t| PollFd::new(t.as_fd(), PollFlags::POLLIN)).collect();
        fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
        let ready: Vec<bool> = match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => fds.iter().map(|f| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN))).collect(),
            Err(_) => vec![false; n + 1],
        };
        drop(fds);
        for (from, tun) in tuns.iter().enumerate().filter(|(i, _)| ready[*i]) {
            for _ in 0..BURST {
                let got = match nix::unistd::read(tun, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(got) => got,
                };
                let packet = &buf[..got];
                let Some(to) = destination(packet).and_then(|d| addresses.iter().position(|a| *a == d)) else {
                    state.stats().other += 1;
                    continue;
                };
                if to == from {
                    state.stats().other += 1;
                    continue;
                }
                let (a, b) = {
                    let links = state.links();
                    (links[from], links[to])
                };
                if a.cut || b.cut {
                    state.stats().cut += 1;
                    continue;
                }
                if rolls.percent() < a.loss_percent || rolls.percent() < b.loss_percent {
                    state.stats().lost += 1;
                    continue;
                }
                if count >= MAX_HELD || bytes + got > MAX_HELD_BYTES {
                    state.stats().other += 1;
                    continue;
                }
                let queue = &mut held[from * n + to];
                // Never before the packet ahead of it: a link keeps its packets in order.
                let due = (Instant::now() + a.delay + b.delay).max(queue.back().map_or(now, |h| h.due));
                queue.push_back(Held { due, cuts: (a.cuts, b.cuts), packet: packet.to_vec() });
                count += 1;
                bytes += got;
            }
        }
        let now = Instant::now();
        for (path, queue) in held.iter_mut().enumerate() {
            let (from, to) = (path / n, path % n);
            while queue.front().is_some_and(|h| h.due <= now) {
                let Some(h) = queue.pop_front() else { break };
                count -= 1;
                bytes -= h.packet.len();
                let (a, b) = {
                    let links = state.links();
                    (links[from], links[to])
                };
                if a.cut || b.cut || (a.cuts, b.cuts) != h.cuts {
                    state.stats().cut += 1;
                    continue;
                }
                // A host that cannot take it now (its queue is full) loses it, as a busy NIC would.
                match nix::unistd::write(&tuns[to], &h.packet) {
                    Ok(_) => state.stats().forwarded += 1,
                    Err(_) => state.stats().other += 1,
                }
            }
        }
    }
}
