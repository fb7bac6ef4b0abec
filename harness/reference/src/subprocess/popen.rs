//! A running program: CPython's `Popen`.

use std::ffi::OsStr;
use std::io::{self, PipeReader, PipeWriter};
use std::time::{Duration, Instant};

use super::{Command, Group, Redirect};
use crate::deadline;
use crate::error::SubprocessError;
use crate::os::{self, OsChild, Pump};

/// What [`Popen::communicate`] collected: `None` for a stream that was not a pipe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Option<Vec<u8>>,
    pub stderr: Option<Vec<u8>>,
}

/// A running program (`subprocess.Popen`). Its piped streams are public, to write and read
/// directly, or left to [`communicate`](Self::communicate). Dropping a `Popen` neither waits for
/// the program nor kills it.
#[derive(Debug)]
pub struct Popen {
    program: String,
    group: Group,
    child: OsChild,
    returncode: Option<i32>,
    /// The write end of the program's stdin, if it is a pipe.
    pub stdin: Option<PipeWriter>,
    /// The read end of the program's stdout, if it is a pipe.
    pub stdout: Option<PipeReader>,
    /// The read end of the program's stderr, if it is a pipe of its own.
    pub stderr: Option<PipeReader>,
    /// Started by the first `communicate`, kept for the next one after a timeout.
    pump: Option<Pump>,
}

impl Popen {
    /// Starts `argv`; with `piped`, its stdin, stdout and stderr are pipes.
    pub fn spawn<S: AsRef<OsStr>>(argv: &[S], piped: bool) -> Result<Popen, SubprocessError> {
        Self::spawn_in(Group::Own, argv, piped)
    }

    /// [`spawn`](Self::spawn), choosing the program's process group.
    pub fn spawn_in<S: AsRef<OsStr>>(group: Group, argv: &[S], piped: bool) -> Result<Popen, SubprocessError> {
        let cmd = Command::new(argv).group(group);
        let cmd = if piped { cmd.stdin(Redirect::Pipe).capture_output() } else { cmd };
        cmd.popen()
    }

    pub(super) fn start(cmd: Command) -> Result<Popen, SubprocessError> {
        let (first, rest) = cmd.argv.split_first().ok_or(SubprocessError::EmptyCommand)?;
        let program = first.to_string_lossy().into_owned();
        let io_err = |source: io::Error| match source.kind() {
            io::ErrorKind::NotFound => SubprocessError::NotFound { program: program.clone() },
            _ => SubprocessError::Io { program: program.clone(), source },
        };
        let mut c = std::process::Command::new(first);
        c.args(rest);
        if let Some(dir) = &cmd.cwd {
            c.current_dir(dir);
        }
        for (k, v) in &cmd.env {
            c.env(k, v);
        }
        // Our own pipes (close-on-exec, not inheritable): the same types on every OS, and a pipe
        // that stdout and stderr can share.
        let (mut stdin, mut stdout, mut stderr) = (None, None, None);
        match cmd.stdin {
            Redirect::Pipe => {
                let (r, w) = io::pipe().map_err(io_err)?;
                c.stdin(r);
                stdin = Some(w);
            }
            other => {
                c.stdin(other.stdio());
            }
        }
        let shared_stderr = match cmd.stdout {
            Redirect::Pipe => {
                let (r, w) = io::pipe().map_err(io_err)?;
                let second = if cmd.stderr_to_stdout { Some(w.try_clone().map_err(io_err)?.into()) } else { None };
                c.stdout(w);
                stdout = Some(r);
                second
            }
            Redirect::File(f) => {
                let second = if cmd.stderr_to_stdout { Some(f.try_clone().map_err(io_err)?.into()) } else { None };
                c.stdout(f);
                second
            }
            Redirect::Null => {
                c.stdout(std::process::Stdio::null());
                cmd.stderr_to_stdout.then(std::process::Stdio::null)
            }
            Redirect::Inherit => {
                c.stdout(std::process::Stdio::inherit());
                if cmd.stderr_to_stdout { Some(os::stdout_for_child().map_err(io_err)?) } else { None }
            }
        };
        match (shared_stderr, cmd.stderr) {
            (Some(same), _) => {
                c.stderr(same);
            }
            (None, Redirect::Pipe) => {
                let (r, w) = io::pipe().map_err(io_err)?;
                c.stderr(w);
                stderr = Some(r);
            }
            (None, other) => {
                c.stderr(other.stdio());
            }
        }
        if cmd.group == Group::Own {
            os::own_process_group(&mut c);
        }
        let child = os::spawn_locked(&mut c).map_err(io_err)?;
        // The command holds our copies of the child's pipe ends: they must close now, or the
        // read ends would never see end of file.
        drop(c);
        Ok(Popen {
            program,
            group: cmd.group,
            child: OsChild::from_std(child),
            returncode: None,
            stdin,
            stdout,
            stderr,
            pump: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The exit code once known (by `poll`, `wait` or `communicate`), else `None`.
    pub fn returncode(&self) -> Option<i32> {
        self.returncode
    }

    fn io(&self, source: io::Error) -> SubprocessError {
        SubprocessError::Io { program: self.program.clone(), source }
    }

    fn timeout(&self, timeout: Duration) -> SubprocessError {
        let (stdout, stderr) = self.pump.as_ref().map(Pump::output).unwrap_or_default();
        SubprocessError::Timeout {
            program: self.program.clone(),
            timeout,
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
        }
    }

    /// The exit code if the program has ended, else `None` (`Popen.poll`); never blocks.
    pub fn poll(&mut self) -> Result<Option<i32>, SubprocessError> {
        if self.returncode.is_none() {
            self.returncode = self.child.try_wait().map_err(|e| self.io(e))?;
        }
        Ok(self.returncode)
    }

    /// Waits for the end and returns the exit code (`Popen.wait()`).
    pub fn wait(&mut self) -> Result<i32, SubprocessError> {
        if let Some(code) = self.returncode {
            return Ok(code);
        }
        let code = self.child.wait().map_err(|e| self.io(e))?;
        self.returncode = Some(code);
        Ok(code)
    }

    /// `Popen.wait(timeout)`: [`SubprocessError::Timeout`] if the program is still running at
    /// the timeout; it is left running (wait again, or kill it).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<i32, SubprocessError> {
        match deadline::after(timeout) {
            None => self.wait(),
            Some(d) => self.wait_until(d).and_then(|c| c.ok_or_else(|| self.timeout(timeout))),
        }
    }

    fn wait_until(&mut self, deadline: Instant) -> Result<Option<i32>, SubprocessError> {
        if self.returncode.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            self.returncode = self.child.wait_timeout(left).map_err(|e| self.io(e))?;
        }
        Ok(self.returncode)
    }

    /// `Popen.communicate(input, timeout)`: writes `input` to stdin and closes it, reads stdout
    /// and stderr to their ends, and waits for the program. At the timeout the result is
    /// [`SubprocessError::Timeout`] (with the output so far) and the program keeps running:
    /// call `communicate` again (CPython's pattern: kill it first) to get *all* of its output.
    /// `input` is taken on the first call only.
    pub fn communicate(&mut self, input: Option<&[u8]>, timeout: Option<Duration>) -> Result<Output, SubprocessError> {
        let deadline = timeout.and_then(deadline::after);
        if self.pump.is_none() {
            let pump = Pump::new(
                self.stdin.take(),
                input.unwrap_or_default().to_vec(),
                self.stdout.take(),
                self.stderr.take(),
            );
            self.pump = Some(pump.map_err(|e| self.io(e))?);
        }
        let at_end = match self.pump.as_mut() {
            Some(pump) => pump.run(deadline),
            None => Ok(true),
        };
        if !at_end.map_err(|e| self.io(e))? {
            return Err(self.timeout(timeout.unwrap_or_default()));
        }
        let code = match deadline {
            None => Some(self.wait()?),
            Some(d) => self.wait_until(d)?,
        };
        if code.is_none() {
            return Err(self.timeout(timeout.unwrap_or_default()));
        }
        let (stdout, stderr) = self.pump.as_mut().map(Pump::take).unwrap_or_default();
        Ok(Output { stdout, stderr })
    }

    /// Asks the program to end: SIGTERM on Unix, `TerminateProcess` on Windows.
    pub fn terminate(&self) -> Result<(), SubprocessError> {
        self.child.terminate().map_err(|e| self.io(e))
    }

    /// Ends the program: SIGKILL on Unix, `TerminateProcess` on Windows.
    pub fn kill(&self) -> Result<(), SubprocessError> {
        self.child.kill().map_err(|e| self.io(e))
    }

    /// After a timeout: kills the program (with its group, if it leads one), reaps it, and
    /// collects what its pipes still give within `grace`; a pipe still open then (held by a
    /// process that left the group) is closed on our side, not waited for.
    pub(super) fn kill_and_collect(&mut self, grace: Duration) -> (Vec<u8>, Vec<u8>) {
        let _ = match self.group {
            Group::Own => os::kill_tree(&self.child),
            Group::Inherit => self.child.kill(),
        };
        let until = Instant::now() + grace;
        if self.pump.is_none() && (self.stdin.is_some() || self.stdout.is_some() || self.stderr.is_some()) {
            self.pump = Pump::new(self.stdin.take(), Vec::new(), self.stdout.take(), self.stderr.take()).ok();
        }
        if let Some(pump) = self.pump.as_mut()
            && !pump.run(Some(until)).unwrap_or(false)
        {
            pump.abandon();
        }
        let _ = self.wait();
        let (stdout, stderr) = self.pump.as_mut().map(Pump::take).unwrap_or_default();
        (stdout.unwrap_or_default(), stderr.unwrap_or_default())
    }
}
