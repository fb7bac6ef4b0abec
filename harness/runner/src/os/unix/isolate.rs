//! The runner's side of a contained run on Unix: it starts `harness supervise` (see
//! `supervisor.rs`), which starts the executor, and reads its report.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::supervise::{Ended, Stopper};

/// How long past the run's timeout the runner waits for its supervisor's report before it kills
/// the supervisor's group itself (the supervisor gives up killing after 10 s).
const REPORT_GRACE: Duration = Duration::from_secs(20);

/// A run under its supervisor.
#[derive(Debug)]
pub struct Isolated {
    supervisor: Child,
    report: ChildStdout,
    /// The supervisor's stdin: closing it (by dying, too) tells the supervisor the runner is gone.
    lifeline: Arc<Mutex<Option<ChildStdin>>>,
    timeout: Duration,
}

/// Starts the `executor` command under a supervisor (`harness supervise`) that ends it at
/// `timeout`; its stderr (and the supervisor's) goes to `stderr`; `dir` is the run's temp dir
/// (removed by the supervisor if the runner dies). The executor's environment and working
/// directory settings are the supervisor's, which the executor inherits.
pub fn start(harness: &Path, executor: Command, stderr: File, timeout: Duration, dir: &Path) -> io::Result<Isolated> {
    let ms = timeout.as_millis().min(u128::from(u64::MAX)) as u64;
    let mut cmd = Command::new(harness);
    cmd.arg("supervise")
        .arg("--timeout-ms")
        .arg(ms.to_string())
        .arg("--run-dir")
        .arg(dir)
        .arg("--parent")
        .arg(std::process::id().to_string())
        .arg("--")
        .arg(executor.get_program())
        .args(executor.get_args());
    for (key, value) in executor.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    if let Some(cwd) = executor.get_current_dir() {
        cmd.current_dir(cwd);
    }
    // A group of its own: the terminal's Ctrl-C reaches the runner alone, which then stops every
    // run in order (instead of each executor dying on its own at a random point).
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr).process_group(0);
    let mut supervisor = spawn_from_lasting_thread(cmd)?;
    let (Some(lifeline), Some(report)) = (supervisor.stdin.take(), supervisor.stdout.take()) else {
        return Err(io::Error::other("the supervisor's pipes are missing"));
    };
    Ok(Isolated { supervisor, report, lifeline: Arc::new(Mutex::new(Some(lifeline))), timeout })
}

impl Isolated {
    /// Stops the run from another thread: the supervisor kills it all and reports.
    pub fn stopper(&self) -> Stopper {
        let lifeline = self.lifeline.clone();
        Box::new(move || {
            if let Some(w) = lifeline.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                let _ = w.write_all(b"stop\n");
            }
        })
    }

    /// Waits until the run is over and every process of it is gone.
    pub fn wait(mut self) -> io::Result<Ended> {
        let deadline = Instant::now().checked_add(self.timeout).and_then(|d| d.checked_add(REPORT_GRACE));
        let mut lines = Lines { buf: Vec::new() };
        let first = lines.next(&mut self.report, deadline)?;
        let executor: Option<i32> = first.as_deref().and_then(|l| l.trim().parse().ok());
        let report = match executor {
            Some(_) => lines.next(&mut self.report, deadline)?,
            None => first,
        };
        let Some(line) = report.filter(|l| !l.trim().is_empty()) else {
            // The supervisor is stuck (no report in time) or died without one (killed outright):
            // stop it, then kill its group and the executor's, with whatever stayed in them.
            (self.stopper())();
            let _ = lines.next(&mut self.report, Some(Instant::now() + Duration::from_secs(5)));
            if let Some(pid) = executor {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = killpg(Pid::from_raw(self.supervisor.id() as i32), Signal::SIGKILL);
            let _ = self.supervisor.kill();
            let status = self.supervisor.wait();
            return Err(io::Error::other(format!(
                "the run's supervisor ended without a report ({status:?}); the run's process groups were killed"
            )));
        };
        self.supervisor.wait()?;
        // The supervisor is gone: nothing reads its stdin any more.
        self.lifeline.lock().unwrap_or_else(|p| p.into_inner()).take();
        let ended: Ended = serde_json::from_str(line.trim())
            .map_err(|e| io::Error::other(format!("unreadable supervisor report {line:?}: {e}")))?;
        if let Some(err) = &ended.error {
            return Err(io::Error::other(err.clone()));
        }
        Ok(ended)
    }
}

/// Lines from the supervisor's stdout, read with a deadline.
struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// The next line (without its newline); what is left at end of file; `None` at end of file
    /// with nothing left, or when `deadline` passes first.
    fn next(&mut self, r: &mut ChildStdout, deadline: Option<Instant>) -> io::Result<Option<String>> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                return Ok(Some(String::from_utf8_lossy(&line[..at]).into_owned()));
            }
            let wait = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    PollTimeout::try_from(left.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, wait) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            let mut chunk = [0u8; 4096];
            match r.read(&mut chunk) {
                Ok(0) => {
                    let rest = std::mem::take(&mut self.buf);
                    return Ok((!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned()));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from a thread that lives as long as the process. The supervisor's
/// `PR_SET_PDEATHSIG` fires when the *thread* that spawned it exits, not the process: spawning
/// from whichever thread runs a scenario would kill runs whose thread ended early.
fn spawn_from_lasting_thread(mut cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        let thread = std::thread::Builder::new().name("supervisor-spawner".into()).spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        thread.ok().map(|_| tx)
    });
    let Some(spawner) = spawner else {
        // No thread could be started: spawn here (PDEATHSIG then follows this thread).
        return cmd.spawn();
    };
    let (reply, answer) = mpsc::channel();
    if let Err(mpsc::SendError((mut cmd, _))) = spawner.send((cmd, reply)) {
        return cmd.spawn();
    }
    answer.recv().map_err(|_| io::Error::other("the supervisor spawner thread is gone"))?
}
