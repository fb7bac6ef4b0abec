//! Hosts of a scenario: where they come from and how the pieces of a run talk about them.
//!
//! On Linux as root each host is a network namespace of its own (made by the run's supervisor,
//! see `os::unix::lab`), joined to the others by a link the supervisor emulates: it forwards
//! every packet between the hosts' tun devices, with the delay and loss each host's link has,
//! and nothing at all across a cut link. Elsewhere every host is this machine's loopback: a
//! scenario that only places actors on hosts runs there as well; one whose steps act on a link
//! is skipped with the reason.
//!
//! `PROCTHREAD_HOSTS` chooses: `auto` (the default: namespaces where they can be made, else
//! loopback), `namespaces` (a scenario with hosts that cannot have them is skipped) or
//! `loopback` (every host on loopback; scenarios that act on a link are skipped).
//!
//! The runner hands the supervisor the hosts to make ([`SPEC_ENV`], a [`Spec`]); the
//! supervisor hands every process of the run what it made ([`LAB_ENV`], a [`LabInfo`]):
//! each host's address and namespace, and the socket that takes [`Command`]s for the links.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use procthread_scenario::{Applicability, Backend, Host, Scenario};
use serde::{Deserialize, Serialize};

/// The user's choice: `auto`, `namespaces` or `loopback`.
pub const MODE_ENV: &str = "PROCTHREAD_HOSTS";
/// The hosts a run needs, from the runner to the run's supervisor (JSON, a [`Spec`]).
pub const SPEC_ENV: &str = "PROCTHREAD_HOSTS_SPEC";
/// What the supervisor made, for every process of the run (JSON, a [`LabInfo`]).
pub const LAB_ENV: &str = "PROCTHREAD_LAB";

/// How a run's hosts are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A network namespace per host, joined by an emulated link.
    Namespaces,
    /// Every host is this machine's loopback (`127.0.0.1`).
    Loopback,
}

/// The hosts to make, with their links' qualities at the start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub hosts: Vec<SpecHost>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecHost {
    pub name: String,
    pub address: Ipv4Addr,
    pub delay_ms: u32,
    pub loss_percent: u32,
}

/// The hosts as made, for the processes of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    /// A Unix socket that takes one [`Command`] per connection and answers `ok` or an error.
    pub control: PathBuf,
    pub hosts: Vec<LabHost>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabHost {
    pub name: String,
    pub address: Ipv4Addr,
    /// Opening this gives the host's network namespace (`setns`).
    pub netns: PathBuf,
}

/// What a link step asks of the link emulator (one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    Cut {
        host: String,
    },
    Restore {
        host: String,
    },
    Set {
        host: String,
        delay_ms: Option<u32>,
        loss_percent: Option<u32>,
    },
    /// Packets forwarded and dropped so far (for tests and measurements).
    Stats,
}

/// What the emulator has done, as [`Command::Stats`] answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    pub forwarded: u64,
    /// Dropped at a cut link, or on its way when the link was cut.
    pub cut: u64,
    /// Dropped by a link's loss.
    pub lost: u64,
    /// Dropped because no host has the destination address, or the queue was full.
    pub other: u64,
}

impl Spec {
    pub fn of(scenario: &Scenario) -> Spec {
        let hosts = &scenario.hosts;
        Spec {
            hosts: hosts
                .hosts
                .iter()
                .filter_map(|h: &Host| {
                    Some(SpecHost {
                        name: h.name.clone(),
                        address: hosts.address(&h.name)?,
                        delay_ms: h.delay_ms,
                        loss_percent: h.loss_percent,
                    })
                })
                .collect(),
        }
    }
}

impl LabInfo {
    /// The lab of this run, if the supervisor made one.
    pub fn from_env() -> Option<LabInfo> {
        let text = std::env::var(LAB_ENV).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn host(&self, name: &str) -> Option<&LabHost> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// Whether this machine can make hosts of their own (cached: probed once per process).
pub fn namespaces_here() -> Result<(), String> {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    PROBE.get_or_init(crate::os::lab::available).clone()
}

/// How `scenario`'s hosts are made here, or why they cannot be (the scenario is then skipped).
/// `Loopback` for a scenario without hosts.
pub fn placement(scenario: &Scenario) -> Result<Placement, String> {
    if scenario.hosts.is_empty() {
        return Ok(Placement::Loopback);
    }
    let mode = std::env::var(MODE_ENV).unwrap_or_default();
    let links = scenario.touches_links();
    let on_loopback = |why: String| {
        if links {
            Err(format!("its steps act on a link, which needs hosts of their own, and {why}"))
        } else {
            Ok(Placement::Loopback)
        }
    };
    match mode.as_str() {
        "loopback" => on_loopback(format!("{MODE_ENV}=loopback puts every host on loopback")),
        "namespaces" => namespaces_here()
            .map(|()| Placement::Namespaces)
            .map_err(|why| format!("its hosts need network namespaces ({MODE_ENV}=namespaces): {why}")),
        _ => match namespaces_here() {
            Ok(()) => Ok(Placement::Namespaces),
            Err(why) => on_loopback(format!("network namespaces cannot be made here: {why}")),
        },
    }
}

/// Every backend with its applicability to `scenario` on this machine: the scenario's own
/// (`procthread_scenario::applicability`), and skipped where its hosts cannot be made here.
pub fn applicability(scenario: &Scenario) -> Vec<(Backend, Applicability)> {
    let mut all = procthread_scenario::applicability(scenario, cfg!(unix));
    if !scenario.hosts.is_empty()
        && let Err(why) = placement(scenario)
    {
        for (_, a) in &mut all {
            if *a == Applicability::Runs {
                *a = Applicability::SkippedOnThisOs(why.clone());
            }
        }
    }
    all
}

/// Backends that apply to the scenario (running here or skipped here).
pub fn applicable(scenario: &Scenario) -> Vec<(Backend, Applicability)> {
    applicability(scenario).into_iter().filter(|(_, a)| !matches!(a, Applicability::NotApplicable(_))).collect()
}

/// For `harness list`: where a scenario's hosts are made here, if it has any.
pub fn note(scenario: &Scenario) -> Option<String> {
    if scenario.hosts.is_empty() {
        return None;
    }
    Some(match placement(scenario) {
        Ok(Placement::Namespaces) => "hosts: a network namespace each, on an emulated link".to_string(),
        Ok(Placement::Loopback) => match namespaces_here() {
            Ok(()) => format!("hosts: every one on loopback ({MODE_ENV}=loopback)"),
            Err(why) => format!("hosts: every one on loopback (network namespaces cannot be made here: {why})"),
        },
        Err(why) => format!("hosts: {why}"),
    })
}

/// For the run's supervisor: makes the hosts the runner asked for ([`SPEC_ENV`]), if it asked;
/// with what to hand the executor in [`LAB_ENV`]. The control socket goes in `dir`.
pub fn start_lab(dir: Option<&std::path::Path>) -> Result<Option<(crate::os::lab::Lab, String)>, String> {
    let Ok(text) = std::env::var(SPEC_ENV) else { return Ok(None) };
    let spec: Spec = serde_json::from_str(&text).map_err(|e| format!("unreadable {SPEC_ENV}: {e}"))?;
    let dir = dir.ok_or("no run directory for the link's control socket")?;
    let lab = crate::os::lab::Lab::start(&spec, dir).map_err(|e| e.to_string())?;
    let info = serde_json::to_string(lab.info()).map_err(|e| e.to_string())?;
    Ok(Some((lab, info)))
}
