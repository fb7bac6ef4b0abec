//! Hosts: named machines the actors of a scenario run on, joined by links that steps can slow,
//! make lossy, cut and restore. On Linux as root each host is a network namespace of its own;
//! elsewhere (and on request) every host is the loopback of one machine, which only a scenario
//! that never touches a link can use (see `docs/scenarios.md`, "Hosts and links").

use serde::{Deserialize, Serialize};

use super::value::Int;

/// The most hosts a scenario declares (each gets an address of 198.51.100.0/24).
pub const MAX_HOSTS: usize = 32;
/// The longest delay a link adds, each way.
pub const MAX_DELAY_MS: i64 = 10_000;

/// A declared host and its link's qualities when the run starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub name: String,
    /// Added to every packet to and from this host, each way.
    pub delay_ms: u32,
    /// The share of packets to and from this host that are dropped, each way, in percent.
    pub loss_percent: u32,
}

/// What a link step does to a host's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkChange {
    /// Nothing crosses the link any more (packets on their way are dropped too); no host is
    /// told, as when a cable is cut somewhere between two machines.
    Cut,
    /// The link carries packets again (its delay and loss stay what they were).
    Restore,
    /// Sets the link's delay (each way) and loss; a quality not given keeps its value.
    Set { delay_ms: Option<Int>, loss_percent: Option<Int> },
}

impl LinkChange {
    pub fn verb(&self) -> &'static str {
        match self {
            LinkChange::Cut => "cut",
            LinkChange::Restore => "restore",
            LinkChange::Set { .. } => "link",
        }
    }
}

/// Where the actors of a scenario run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hosts {
    /// In file order; empty when the scenario declares none (every actor on this machine).
    pub hosts: Vec<Host>,
    /// Actor definitions that name their host (`host = "..."` beside `steps`).
    pub placed: Vec<(String, String)>,
}

impl Hosts {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The host an actor definition names, if it names one.
    pub fn of_actor(&self, def: &str) -> Option<&str> {
        self.placed.iter().find(|(d, _)| d == def).map(|(_, h)| h.as_str())
    }

    /// The address of a host on the link: 198.51.100.N, N counted from 1 in file order (a
    /// documentation range, RFC 5737, so that nothing is ever routed outside).
    pub fn address(&self, name: &str) -> Option<std::net::Ipv4Addr> {
        let at = self.hosts.iter().position(|h| h.name == name)?;
        Some(std::net::Ipv4Addr::new(198, 51, 100, u8::try_from(at + 1).ok()?))
    }
}

impl super::Scenario {
    /// Whether a step slows, cuts or restores a link: such a scenario needs hosts of their own
    /// (on loopback there is no link to act on).
    pub fn touches_links(&self) -> bool {
        self.all_steps().any(|(_, s)| matches!(s.kind, super::StepKind::Link { .. }))
    }
}
