//! `harness supervise`: one per run, started by the runner; starts the executor, ends the run at
//! its timeout, notices processes left behind, and kills and reaps every process of the run,
//! whatever process group or session it moved to.
//!
//! On Linux the supervisor is a child subreaper (`PR_SET_CHILD_SUBREAPER`): every orphan of the
//! run is reparented to it instead of init, so "no child left" means "no process of the run
//! left", and it kills a tree top-down by killing its own children until it has none (each dead
//! child hands its children over). It only ever signals its own unreaped children (a pid that
//! cannot be reused meanwhile) and the executor's group while the executor is unreaped.
//!
//! Elsewhere (macOS) there is no subreaper: orphans go to launchd. The supervisor then samples
//! the process table while the run runs and remembers every descendant and member of the
//! executor's group it has seen (pid and start time), and kills those. A process that is started
//! and orphaned between two samples (50 ms) and has left the executor's group escapes it.
//!
//! The supervisor ends the run when its runner goes away, however that happens: its stdin is a
//! pipe from the runner (the lifeline: end of file once the runner is dead, whichever of its
//! threads started the supervisor) and, on Linux, `PR_SET_PDEATHSIG` sends it SIGTERM as well.
//! It then also removes the run's temp dir, which nobody will read.
//!
//! Protocol: the runner may write `stop` on stdin (stop the run now); the supervisor writes the
//! executor's pid on stdout once it started it, and one JSON line (an [`Ended`]) when every
//! process of the run is gone, then exits 0.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};

use super::procs::{self, ProcInfo};
use super::signal_pipe;
use crate::supervise::{Ended, Options};

/// How long processes that are already exiting when the executor ends get before they count as
/// left behind.
const SETTLE: Duration = Duration::from_millis(100);
/// How long killing may take before the supervisor reports that it could not finish.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// How often the process table is re-read while killing (SIGCHLD wakes the loop sooner).
const KILL_POLL: Duration = Duration::from_millis(10);

pub fn main(opts: Options) -> i32 {
    let me = getpid();
    // Failing to become a subreaper (an old kernel) still leaves the group and the table walk.
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    }
    let signals = match signal_pipe::install(&[Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP]) {
        Ok(fd) => fd,
        Err(e) => return report_and_exit(&opts, &failed(format!("cannot watch signals: {e}")), false),
    };
    // The runner died before PDEATHSIG was armed: our parent is already someone else.
    let runner_gone = getppid().as_raw() as u32 != opts.parent;
    let Some((program, args)) = opts.argv.split_first() else {
        return report_and_exit(&opts, &failed("no executor command".into()), runner_gone);
    };
    // The run's hosts, if it has any: they live as long as this process holds them.
    let lab = match crate::hosts::start_lab(opts.dir.as_deref()) {
        Ok(lab) => lab,
        Err(e) => return report_and_exit(&opts, &failed(format!("cannot make the run's hosts: {e}")), runner_gone),
    };
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).process_group(0);
    cmd.env_remove(crate::hosts::SPEC_ENV);
    if let Some((_, info)) = &lab {
        cmd.env(crate::hosts::LAB_ENV, info);
    }
    let executor = match cmd.spawn() {
        Ok(child) => Pid::from_raw(child.id() as i32),
        Err(e) => return report_and_exit(&opts, &failed(format!("cannot start the executor: {e}")), runner_gone),
    };
    let started = Instant::now();
    // The executor's pid (and group) first, for a runner whose supervisor would die unreported.
    if !runner_gone {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", executor.as_raw()).and_then(|()| out.flush());
    }
    let mut sup = Supervisor {
        executor,
        executor_reaped: false,
        no_children: false,
        deadline: started.checked_add(opts.timeout),
        phase: Phase::Running,
        ended: Ended::default(),
        tracker: Tracker::new(me.as_raw(), executor.as_raw()),
        runner_gone,
        stdin_open: true,
    };
    if runner_gone {
        sup.stop();
    }
    sup.run(signals.as_fd());
    // Every process of the run is gone: its namespaces and links go with the lab.
    drop(lab);
    let gone = sup.runner_gone || getppid().as_raw() as u32 != opts.parent;
    report_and_exit(&opts, &sup.ended, gone)
}

fn failed(error: String) -> Ended {
    Ended { error: Some(error), clean: true, ..Ended::default() }
}

/// Writes the report for the runner; if the runner is gone, removes the run's temp dir instead.
fn report_and_exit(opts: &Options, ended: &Ended, runner_gone: bool) -> i32 {
    if runner_gone {
        // Only ever a run's temp dir, whatever the command line says.
        if let Some(dir) = opts.dir.as_deref().filter(|d| crate::supervise::is_run_dir(d)) {
            let _ = std::fs::remove_dir_all(dir);
        }
        return 0;
    }
    let mut line = serde_json::to_vec(ended).unwrap_or_default();
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&line).and_then(|()| out.flush());
    0
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// The executor runs.
    Running,
    /// The executor ended; what it left has until then to end too.
    Settling {
        until: Instant,
    },
    /// Killing every process of the run, giving up at `until`.
    Killing {
        until: Instant,
    },
    Done,
}

struct Supervisor {
    executor: Pid,
    executor_reaped: bool,
    /// `waitpid` said ECHILD: this process has no child at all.
    no_children: bool,
    deadline: Option<Instant>,
    phase: Phase,
    ended: Ended,
    tracker: Tracker,
    runner_gone: bool,
    stdin_open: bool,
}

impl Supervisor {
    fn run(&mut self, signals: BorrowedFd<'_>) {
        loop {
            self.reap();
            let now = Instant::now();
            match self.phase {
                Phase::Running if self.executor_reaped => {
                    self.phase = Phase::Settling { until: now + SETTLE };
                    continue;
                }
                Phase::Running if self.deadline.is_some_and(|d| now >= d) => {
                    self.ended.timed_out = true;
                    self.kill_now();
                    continue;
                }
                Phase::Running => self.tracker.sample(),
                Phase::Settling { until } => {
                    let alive = self.alive();
                    if alive.is_empty() {
                        self.ended.clean = true;
                        self.phase = Phase::Done;
                        continue;
                    }
                    if now >= until {
                        self.ended.leftovers = alive.iter().map(procs::describe).collect();
                        self.kill_now();
                        continue;
                    }
                }
                Phase::Killing { until } => {
                    self.tracker.kill_round(!self.executor_reaped);
                    self.reap();
                    if self.executor_reaped && self.no_children && self.alive().is_empty() {
                        self.ended.clean = true;
                        self.phase = Phase::Done;
                        continue;
                    }
                    if now >= until {
                        self.phase = Phase::Done;
                        continue;
                    }
                }
                Phase::Done => return,
            }
            let wait = match self.phase {
                Phase::Running => {
                    let left = self.deadline.map(|d| d.saturating_duration_since(now));
                    match (left, Tracker::SAMPLE) {
                        (Some(l), Some(s)) => Some(l.min(s)),
                        (l, s) => l.or(s),
                    }
                }
                Phase::Settling { until } => Some(until.saturating_duration_since(now).min(KILL_POLL)),
                Phase::Killing { .. } => Some(KILL_POLL),
                Phase::Done => Some(Duration::ZERO),
            };
            self.wait_for_news(signals, wait);
        }
    }

    /// Live processes of the run other than the supervisor.
    fn alive(&mut self) -> Vec<ProcInfo> {
        // A subreaper without children has no descendants at all: no need to read the table.
        if Tracker::SUBREAPER && self.no_children && self.executor_reaped {
            return Vec::new();
        }
        let mut alive = self.tracker.alive();
        if !self.executor_reaped && !alive.iter().any(|p| p.pid == self.executor.as_raw()) {
            // Not in the table (no /proc?): the unreaped executor still counts.
            alive.push(ProcInfo {
                pid: self.executor.as_raw(),
                ppid: 0,
                pgid: self.executor.as_raw(),
                start: 0,
                zombie: false,
                name: "executor".into(),
            });
        }
        alive
    }

    fn kill_now(&mut self) {
        if !matches!(self.phase, Phase::Killing { .. } | Phase::Done) {
            self.phase = Phase::Killing { until: Instant::now() + KILL_WAIT };
        }
    }

    /// Stop the run from outside: whatever it is doing, kill it all now.
    fn stop(&mut self) {
        if matches!(self.phase, Phase::Running | Phase::Settling { .. }) {
            self.ended.stopped = true;
            self.kill_now();
        }
    }

    /// Reaps every child that has ended: the executor (whose code is the run's if it ended on its
    /// own) and orphans of the run handed to this subreaper.
    fn reap(&mut self) {
        loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    self.no_children = false;
                    return;
                }
                Ok(status) => {
                    if status.pid() == Some(self.executor) {
                        self.executor_reaped = true;
                        if matches!(self.phase, Phase::Running) {
                            self.ended.executor_code = exitcode(status);
                        }
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => {
                    self.no_children = true;
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Sleeps until a signal (SIGCHLD included), a message from the runner, or `wait` passes.
    fn wait_for_news(&mut self, signals: BorrowedFd<'_>, wait: Option<Duration>) {
        let timeout = match wait {
            None => PollTimeout::NONE,
            Some(w) => PollTimeout::try_from(w.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::MAX),
        };
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(signals, PollFlags::POLLIN)];
        if self.stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let (sig_ready, stdin_ready) = (ready(&fds[0]), fds.get(1).is_some_and(ready));
        drop(fds);
        if sig_ready {
            let mut buf = [0u8; 64];
            let n = nix::unistd::read(signals, &mut buf).unwrap_or(0);
            let stop_signals = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP].map(|s| s as i32 as u8);
            if buf[..n].iter().any(|b| stop_signals.contains(b)) {
                self.stop();
            }
        }
        if stdin_ready {
            let mut buf = [0u8; 64];
            match stdin.lock().read(&mut buf) {
                Ok(0) | Err(_) => {
                    self.stdin_open = false;
                    self.runner_gone = true;
                    self.stop();
                }
                Ok(n) => {
                    if buf[..n].windows(4).any(|w| w == b"stop") {
                        self.stop();
                    }
                }
            }
        }
    }
}

fn exitcode(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(-(sig as i32)),
        _ => None,
    }
}

/// Finds the processes of the run (see the module's documentation for each OS).
struct Tracker {
    me: i32,
    group: i32,
    /// Every descendant seen so far, by pid, with its start time (not on Linux: orphans come to
    /// the subreaper there).
    #[cfg(not(target_os = "linux"))]
    seen: std::collections::HashMap<i32, u64>,
}

impl Tracker {
    fn new(me: i32, group: i32) -> Tracker {
        Tracker {
            me,
            group,
            #[cfg(not(target_os = "linux"))]
            seen: std::collections::HashMap::new(),
        }
    }

    #[cfg(target_os = "linux")]
    const SAMPLE: Option<Duration> = None;
    #[cfg(target_os = "linux")]
    const SUBREAPER: bool = true;

    #[cfg(target_os = "linux")]
    fn sample(&mut self) {}

    #[cfg(target_os = "linux")]
    fn alive(&mut self) -> Vec<ProcInfo> {
        procs::descendants(&procs::all(), self.me)
    }

    /// Kills the executor's group (while the executor is unreaped, its pid names its group) and
    /// every child of the supervisor: killed children hand theirs over, killed next round.
    #[cfg(target_os = "linux")]
    fn kill_round(&mut self, group_is_ours: bool) {
        if group_is_ours {
            let _ = killpg(Pid::from_raw(self.group), Signal::SIGKILL);
        }
        for p in procs::all().into_iter().filter(|p| p.ppid == self.me && !p.zombie) {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
    }

    #[cfg(not(target_os = "linux"))]
    const SAMPLE: Option<Duration> = Some(Duration::from_millis(50));
    #[cfg(not(target_os = "linux"))]
    const SUBREAPER: bool = false;

    /// Remembers every live descendant of the supervisor or of a process seen before, and every
    /// member of the executor's group; forgets the ones that are gone.
    #[cfg(not(target_os = "linux"))]
    fn sample(&mut self) {
        let table = procs::all();
        let live: std::collections::HashMap<i32, &ProcInfo> = table.iter().map(|p| (p.pid, p)).collect();
        self.seen.retain(|pid, start| live.get(pid).is_some_and(|p| p.start == *start && !p.zombie));
        let mut roots: Vec<i32> = self.seen.keys().copied().collect();
        roots.push(self.me);
        let mut found: Vec<ProcInfo> = roots.iter().flat_map(|&r| procs::descendants(&table, r)).collect();
        found.extend(table.iter().filter(|p| p.pgid == self.group && !p.zombie).cloned());
        for p in found {
            self.seen.insert(p.pid, p.start);
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn alive(&mut self) -> Vec<ProcInfo> {
        self.sample();
        self.seen
            .keys()
            .filter_map(|&pid| procs::one(pid))
            .filter(|p| self.seen.get(&p.pid) == Some(&p.start))
            .collect()
    }

    #[cfg(not(target_os = "linux"))]
    fn kill_round(&mut self, group_is_ours: bool) {
        if group_is_ours {
            let _ = killpg(Pid::from_raw(self.group), Signal::SIGKILL);
        }
        for p in self.alive() {
            // The start time was checked just now: the pid is still that process.
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
    }
}
