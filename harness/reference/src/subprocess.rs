//! Running external programs, like the chapter's `subprocess`: a thin layer over `std::process`
//! that adds the chapter's exit-code convention, stdin feeding with concurrent draining of
//! stdout and stderr (no pipe-buffer deadlock), and a timeout that kills the child.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::SubprocessError;
use crate::os::{self, OsChild};

/// What a finished program left: its exit code (minus the signal on Unix) and captured output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Which process group a program runs in (Unix; Windows has one behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// A group of its own, led by the program: a timeout kills whatever it started too.
    #[default]
    Own,
    /// The caller's group, so that whoever kills the caller's group kills the program too.
    Inherit,
}

/// Runs `argv` with inherited stdio and returns its exit code (`subprocess.call`).
pub fn call<S: AsRef<OsStr>>(argv: &[S]) -> Result<i32, SubprocessError> {
    let mut popen = Popen::spawn(argv, false)?;
    popen.wait()
}

/// Runs `argv`, feeding `input` to its stdin and capturing stdout and stderr, killing it if it
/// outlives `timeout` (`subprocess.run(..., input=..., capture_output=True, timeout=...)`).
pub fn run<S: AsRef<OsStr>>(
    argv: &[S],
    input: Option<&[u8]>,
    timeout: Option<Duration>,
) -> Result<Completed, SubprocessError> {
    run_in(Group::Own, argv, input, timeout)
}

/// [`run`], choosing the program's process group.
pub fn run_in<S: AsRef<OsStr>>(
    group: Group,
    argv: &[S],
    input: Option<&[u8]>,
    timeout: Option<Duration>,
) -> Result<Completed, SubprocessError> {
    Popen::spawn_in(group, argv, true)?.communicate(input, timeout)
}

/// A running program (`subprocess.Popen`). On Unix it leads a process group of its own, so a
/// timeout kills whatever it started too, and no grandchild keeps its pipes open.
#[derive(Debug)]
pub struct Popen {
    program: String,
    group: Group,
    child: OsChild,
    stdin: Option<std::process::ChildStdin>,
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
}

impl Popen {
    /// Starts `argv`; with `piped`, its stdin, stdout and stderr are pipes for [`communicate`](Self::communicate).
    pub fn spawn<S: AsRef<OsStr>>(argv: &[S], piped: bool) -> Result<Popen, SubprocessError> {
        Self::spawn_in(Group::Own, argv, piped)
    }

    /// [`spawn`](Self::spawn), choosing the program's process group.
    pub fn spawn_in<S: AsRef<OsStr>>(group: Group, argv: &[S], piped: bool) -> Result<Popen, SubprocessError> {
        let (first, rest) = argv.split_first().ok_or(SubprocessError::EmptyCommand)?;
        let program = first.as_ref().to_string_lossy().into_owned();
        let mut cmd = Command::new(first);
        cmd.args(rest);
        if piped {
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        if group == Group::Own {
            os::own_process_group(&mut cmd);
        }
        let mut child = cmd.spawn().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => SubprocessError::NotFound { program: program.clone() },
            _ => SubprocessError::Io { program: program.clone(), source },
        })?;
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        Ok(Popen { program, group, child: OsChild::from_std(child), stdin, stdout, stderr })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn wait(&mut self) -> Result<i32, SubprocessError> {
        self.child.wait().map_err(|source| SubprocessError::Io { program: self.program.clone(), source })
    }

    /// Writes `input` to stdin and closes it, while reading stdout and stderr to their ends on
    /// threads of their own; then waits. At `timeout`, kills the child (and its group) and
    /// returns [`SubprocessError::Timeout`] with what it had printed.
    pub fn communicate(
        mut self,
        input: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<Completed, SubprocessError> {
        let out = self.stdout.take().map(drain);
        let err = self.stderr.take().map(drain);
        let feeder = self.stdin.take().map(|mut stdin| {
            let bytes = input.unwrap_or_default().to_vec();
            std::thread::spawn(move || {
                // A child that exits without reading its input closes the pipe: not our error.
                let _ = stdin.write_all(&bytes);
            })
        });
        let io_err = |source| SubprocessError::Io { program: self.program.clone(), source };
        let code = match timeout {
            None => Some(self.child.wait().map_err(io_err)?),
            Some(t) => self.child.wait_timeout(t).map_err(io_err)?,
        };
        let code = match code {
            Some(code) => code,
            None => {
                let _ = match self.group {
                    Group::Own => os::kill_tree(&self.child),
                    Group::Inherit => self.child.kill(),
                };
                let _ = self.child.wait();
                let (stdout, stderr) = (collect(out), collect(err));
                return Err(SubprocessError::Timeout {
                    program: self.program,
                    timeout: timeout.unwrap_or_default(),
                    stdout,
                    stderr,
                });
            }
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        Ok(Completed { code, stdout: collect(out), stderr: collect(err) })
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn collect(h: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    h.and_then(|h| h.join().ok()).unwrap_or_default()
}
