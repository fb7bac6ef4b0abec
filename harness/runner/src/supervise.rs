//! Keeping every process of a run inside the run: what the platform layer reports when a run
//! ends, and what the runner does when it is interrupted.
//!
//! How a run is contained is per OS (see `os`): on Unix a per-run supervisor process
//! (`harness supervise`, a child subreaper on Linux) starts the executor, ends the run at its
//! timeout and kills whatever of it is left; on Windows a job object that kills everything in it
//! when its last handle closes. Either way, [`Ended`] is what the runner learns.
//!
//! SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on Windows) to the runner stop every live run,
//! wait for its processes to be gone, remove its temp dir and end the runner as the signal would
//! have ([`interrupted`]). A runner killed outright (SIGKILL) cannot do that: each supervisor
//! notices (its lifeline pipe closes and `PR_SET_PDEATHSIG` fires) and cleans up its run and its
//! temp dir by itself; on Windows the job's kill-on-close does it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How a contained run ended, as the platform layer saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// The executor's exit code (minus the signal on Unix); `None` if it had to be killed.
    pub executor_code: Option<i32>,
    /// The run reached its timeout and was killed whole.
    pub timed_out: bool,
    /// The run was stopped from outside (the runner was interrupted or went away).
    pub stopped: bool,
    /// Processes of the run still alive after its executor ended (`pid N (name)`); killed since.
    pub leftovers: Vec<String>,
    /// Every process of the run is gone (false only if one could not be killed in time).
    pub clean: bool,
    /// What went wrong in the containment itself (the executor could not be started...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The prefix of every run's temp dir: the only directories a supervisor ever removes.
pub const RUN_DIR_PREFIX: &str = "procthread-run-";

/// Whether `dir` is a run's temp dir (a supervisor refuses to remove anything else).
pub fn is_run_dir(dir: &Path) -> bool {
    dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(RUN_DIR_PREFIX))
}

/// What `harness supervise` is given (Unix).
#[derive(Debug, Clone)]
pub struct Options {
    /// The run's timeout, from the executor's start.
    pub timeout: Duration,
    /// The run's temp dir: removed by the supervisor if the runner goes away.
    pub dir: Option<PathBuf>,
    /// The runner's pid: if the supervisor's parent is already someone else, the runner is gone.
    pub parent: u32,
    /// The executor's command line.
    pub argv: Vec<std::ffi::OsString>,
}

/// A way to stop a live run from another thread (the interrupt handler).
pub type Stopper = Box<dyn Fn() + Send + Sync>;

struct LiveRun {
    dir: PathBuf,
    stop: Option<Stopper>,
    done: bool,
}

#[derive(Default)]
struct Registry {
    runs: std::collections::HashMap<u64, LiveRun>,
}

static LIVE: Mutex<Option<Registry>> = Mutex::new(None);
static CHANGED: Condvar = Condvar::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn live() -> std::sync::MutexGuard<'static, Option<Registry>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run the interrupt handler knows about, from before its processes start until they are all
/// gone. Dropping it (or [`Live::done`]) tells the handler the run's processes are gone.
#[derive(Debug)]
pub struct Live {
    id: u64,
}

impl Live {
    /// Registers a run whose temp dir is `dir`.
    pub fn new(dir: &Path) -> Live {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let run = LiveRun { dir: dir.to_path_buf(), stop: None, done: false };
        live().get_or_insert_with(Registry::default).runs.insert(id, run);
        Live { id }
    }

    /// Gives the handler the way to stop this run; stops it at once if an interrupt came first.
    pub fn set_stopper(&self, stop: Stopper) {
        let mut reg = live();
        if INTERRUPTED.load(Ordering::SeqCst) {
            drop(reg);
            stop();
            return;
        }
        if let Some(run) = reg.as_mut().and_then(|r| r.runs.get_mut(&self.id)) {
            run.stop = Some(stop);
        }
    }

    /// Every process of the run is gone.
    pub fn done(&self) {
        if let Some(run) = live().as_mut().and_then(|r| r.runs.get_mut(&self.id)) {
            run.done = true;
        }
        CHANGED.notify_all();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.done();
        // An interrupted runner still has to remove the run's temp dir: keep its entry.
        if !is_interrupted()
            && let Some(reg) = live().as_mut()
        {
            reg.runs.remove(&self.id);
        }
        CHANGED.notify_all();
    }
}

/// Whether the runner is being interrupted: a run that ends now is not reported; the thread
/// that ran it should wait for the end of the process ([`park_if_interrupted`]).
pub fn is_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Blocks for ever if the runner is being interrupted (the handler is about to end the process
/// and nothing this thread would report is wanted any more).
pub fn park_if_interrupted() {
    while is_interrupted() {
        std::thread::park();
    }
}

/// How long an interrupted runner waits for its runs to be gone before it leaves anyway (each
/// supervisor then still finishes the cleanup on its own).
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What the runner does on SIGINT/SIGTERM (called once, on a thread of its own, by the OS
/// layer's handler): stops every live run, waits until their processes are gone, removes their
/// temp dirs. The caller then ends the process as the signal would have.
pub fn interrupted() {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        return;
    }
    {
        let reg = live();
        for run in reg.iter().flat_map(|r| r.runs.values()) {
            if let Some(stop) = &run.stop {
                stop();
            }
        }
    }
    let until = Instant::now() + STOP_WAIT;
    let mut reg = live();
    loop {
        let pending = reg.iter().flat_map(|r| r.runs.values()).any(|r| !r.done);
        let now = Instant::now();
        if !pending || now >= until {
            break;
        }
        reg = CHANGED.wait_timeout(reg, until - now).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
    }
    for run in reg.iter().flat_map(|r| r.runs.values()) {
        let _ = std::fs::remove_dir_all(&run.dir);
    }
}

/// Installs the runner's SIGINT/SIGTERM handling (once; later calls do nothing).
pub fn install_interrupt_handler() -> std::io::Result<()> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| result = crate::os::on_interrupt(Arc::new(interrupted)));
    result
}
