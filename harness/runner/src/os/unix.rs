//! Unix: the executor leads a process group of its own; everything it starts stays in it.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// A started executor and its process group.
#[derive(Debug)]
pub struct Tree {
    child: Child,
}

pub fn start(cmd: &mut Command) -> io::Result<Tree> {
    cmd.process_group(0);
    Ok(Tree { child: cmd.spawn()? })
}

impl Tree {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }

    fn group(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Whether any process of the tree is still alive (or dead but not yet reaped).
    pub fn anyone_left(&self) -> bool {
        !matches!(killpg(self.group(), None), Err(Errno::ESRCH))
    }

    /// Kills every process of the tree and waits (briefly) until the group is gone: orphans are
    /// reaped by init (or the nearest subreaper) once killed.
    pub fn kill_all(&mut self) -> bool {
        let _ = killpg(self.group(), Signal::SIGKILL);
        let _ = self.child.try_wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.anyone_left() {
            if Instant::now() >= deadline {
                return false;
            }
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// The chapter's exit code convention for the executor's status.
pub fn exitcode(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| -status.signal().unwrap_or(0))
}

/// Signal names for failure messages.
pub fn describe_exit(code: i32) -> String {
    if code < 0 {
        match Signal::try_from(-code) {
            Ok(sig) => format!("killed by signal {} ({sig})", -code),
            Err(_) => format!("killed by signal {}", -code),
        }
    } else {
        format!("exit code {code}")
    }
}

pub fn segfault() -> ! {
    // Rust's runtime handles SIGSEGV to detect stack overflows; restore the default action so
    // the signal ends the process as a real segmentation fault would.
    // SAFETY: setting a signal's disposition to its default installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGSEGV, nix::sys::signal::SigHandler::SigDfl) };
    let _ = nix::sys::signal::raise(Signal::SIGSEGV);
    std::process::abort()
}

/// SIGKILL to this process: a crash no handler can catch (a pool worker killed mid-task).
pub fn kill_self() -> ! {
    let _ = nix::sys::signal::raise(Signal::SIGKILL);
    std::process::abort()
}
