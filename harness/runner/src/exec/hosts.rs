//! Hosts in the executor: which host this process runs on, entering it, the address a manager
//! binds to there, and the link steps (`link`, `cut`, `restore`), which ask the run's link
//! emulator. Without a lab (every host on loopback) a process only remembers its host's name.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, OnceLock};

use procthread_scenario::{ErrorKind, Int, LinkChange, Scenario};

use super::actor::{Actor, StepErr};
use crate::hosts::{Command, LabInfo};

/// The host this process runs on (a forked child starts with its parent's).
static CURRENT: Mutex<Option<String>> = Mutex::new(None);

fn lab() -> Option<&'static LabInfo> {
    static LAB: OnceLock<Option<LabInfo>> = OnceLock::new();
    LAB.get_or_init(LabInfo::from_env).as_ref()
}

/// The host of this process, if the scenario has hosts.
pub(crate) fn current() -> Option<String> {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Puts the calling thread (and what it starts from now on) on `host`: into its network
/// namespace when the run made one, else only by name. A process's actor calls this on its
/// own thread before it makes any socket.
pub(crate) fn enter(host: Option<&str>) -> Result<(), String> {
    let Some(host) = host else { return Ok(()) };
    if current().as_deref() == Some(host) {
        return Ok(());
    }
    if let Some(lab) = lab() {
        let Some(made) = lab.host(host) else {
            return Err(format!("the run made no host `{host}`"));
        };
        crate::os::lab::enter(made).map_err(|e| format!("cannot enter host `{host}`: {e}"))?;
    }
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some(host.to_string());
    Ok(())
}

/// Where a manager served from this process listens: its host's address, or loopback.
pub(crate) fn bind_address() -> IpAddr {
    let here = current();
    lab()
        .zip(here.as_deref())
        .and_then(|(lab, h)| lab.host(h))
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |h| IpAddr::V4(h.address))
}

/// The host an instance of `def` runs on: the `start` step's, else the definition's, else its
/// starter's.
pub(crate) fn of_child(scenario: &Scenario, def: &str, named: Option<&str>) -> Option<String> {
    named.or_else(|| scenario.hosts.of_actor(def)).map(str::to_string).or_else(current)
}

impl Actor {
    pub(crate) fn link(&mut self, host: &str, change: &LinkChange) -> Result<(), StepErr> {
        let Some(lab) = lab() else {
            return Err(StepErr::other(format!(
                "`{}` needs hosts of their own: every host of this run is on loopback",
                change.verb()
            )));
        };
        let percent = |i: &Option<Int>| -> Result<Option<u32>, StepErr> {
            i.as_ref().map(|i| self.int(i).map(|v| v.clamp(0, i64::from(u32::MAX)) as u32)).transpose()
        };
        let host = host.to_string();
        let command = match change {
            LinkChange::Cut => Command::Cut { host },
            LinkChange::Restore => Command::Restore { host },
            LinkChange::Set { delay_ms, loss_percent } => {
                Command::Set { host, delay_ms: percent(delay_ms)?, loss_percent: percent(loss_percent)? }
            }
        };
        crate::os::lab::send(&lab.control, &command).map(drop).map_err(StepErr::other)
    }
}

/// A manager error as a step's error kind: `auth_refused`; `timeout` for a `get` with a timeout
/// that got nothing within its bound, whether no reply came or the connection was given up on
/// the way (on a cut link either can come first: TCP's user timeout is the peer timeout);
/// `lost` when the connection broke or stopped answering otherwise (a put may or may not have
/// arrived), and when no server is there to connect to at all.
pub(crate) fn manager_error_kind(e: &procthread::ManagerError, timed_get: bool) -> Option<ErrorKind> {
    use procthread::ManagerError as E;
    match e {
        E::AuthRefused => Some(ErrorKind::AuthRefused),
        E::Empty(_) => Some(ErrorKind::Timeout),
        E::NoReply { .. } | E::ConnectionLost { .. } | E::ConnectTimeout { .. } if timed_get => {
            Some(ErrorKind::Timeout)
        }
        E::NoReply { .. } | E::ConnectionLost { .. } | E::ConnectTimeout { .. } | E::Connect { .. } => {
            Some(ErrorKind::Lost)
        }
        _ => None,
    }
}
