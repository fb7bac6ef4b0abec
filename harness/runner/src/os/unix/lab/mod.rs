//! The hosts of a run (Linux): a network namespace per host, each with a tun device as its
//! link, and the link emulator between them (`wire`) with its control socket (`control`).
//! The run's supervisor makes one `Lab` before it starts the executor and drops it after
//! every process of the run is gone. It holds every namespace and device by descriptor only,
//! so that they vanish with it even if it is killed outright: nothing is named, mounted or
//! left in the machine's own namespace (`docs/scenarios.md`, "Hosts and links").

mod control;
mod netns;
mod wire;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use control::send;

use crate::hosts::{LabHost, LabInfo, LinkStats, Spec};
use wire::{Link, State};

/// The hosts and links of one run, live until dropped.
#[derive(Debug)]
pub struct Lab {
    info: LabInfo,
    /// The namespaces, held open: `info` names them by these descriptors.
    _namespaces: Vec<std::fs::File>,
    state: Arc<State>,
    /// Write ends of the threads' wake pipes.
    wakes: Vec<OwnedFd>,
    threads: Vec<JoinHandle<()>>,
}

impl Lab {
    /// Makes the hosts of `spec` and starts their links; the control socket goes in `dir`.
    pub fn start(spec: &Spec, dir: &Path) -> io::Result<Lab> {
        let mut namespaces = Vec::new();
        let mut tuns = Vec::new();
        let mut hosts = Vec::new();
        let pid = std::process::id();
        for h in &spec.hosts {
            let made = netns::make_host(h.address)
                .map_err(|e| io::Error::new(e.kind(), format!("making host `{}`: {e}", h.name)))?;
            let netns = PathBuf::from(format!("/proc/{pid}/fd/{}", made.ns.as_raw_fd()));
            hosts.push(LabHost { name: h.name.clone(), address: h.address, netns });
            namespaces.push(made.ns);
            tuns.push(made.tun);
        }
        let links = spec
            .hosts
            .iter()
            .map(|h| Link {
                delay: Duration::from_millis(u64::from(h.delay_ms)),
                loss_percent: h.loss_percent.min(100),
                ..Link::default()
            })
            .collect();
        let state = Arc::new(State {
            links: Mutex::new(links),
            stats: Mutex::new(LinkStats::default()),
            stop: AtomicBool::new(false),
        });
        let control = dir.join("lab.sock");
        let _ = std::fs::remove_file(&control);
        let listener = UnixListener::bind(&control)?;
        let names: Vec<String> = spec.hosts.iter().map(|h| h.name.clone()).collect();
        let addresses: Vec<Ipv4Addr> = spec.hosts.iter().map(|h| h.address).collect();
        let mut lab = Lab {
            info: LabInfo { control, hosts },
            _namespaces: namespaces,
            state: state.clone(),
            wakes: Vec::new(),
            threads: Vec::new(),
        };
        let (wake, woken) = pipe()?;
        lab.wakes.push(wake);
        let s = state.clone();
        lab.threads.push(
            std::thread::Builder::new()
                .name("lab-wire".into())
                .spawn(move || wire::forward(&tuns, &addresses, &s, &woken))?,
        );
        let (wake, woken) = pipe()?;
        lab.wakes.push(wake);
        lab.threads.push(
            std::thread::Builder::new()
                .name("lab-control".into())
                .spawn(move || control::serve(&listener, &names, &state, &woken))?,
        );
        Ok(lab)
    }

    /// What the processes of the run need to know (handed on in `PROCTHREAD_LAB`).
    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    pub fn stats(&self) -> LinkStats {
        *self.state.stats()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        for w in &self.wakes {
            let _ = nix::unistd::write(w, b"x");
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.info.control);
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    Ok((w, r))
}

/// Whether hosts can be made here: tries to make one (and lets it go).
pub fn available() -> Result<(), String> {
    match netns::make_host(Ipv4Addr::new(198, 51, 100, 1)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(format!(
            "making a network namespace and its tun device is not permitted here (it needs root, or \
             CAP_SYS_ADMIN and CAP_NET_ADMIN): {e}"
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(format!("no tun device driver (/dev/net/tun): {e}")),
        Err(e) => Err(format!("a network namespace with a tun device cannot be made here: {e}")),
    }
}

/// Moves the calling thread (and what it starts from now on) onto a host of the lab.
pub fn enter(host: &LabHost) -> io::Result<()> {
    netns::enter(&host.netns)
}
