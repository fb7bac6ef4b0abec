//! Running external programs, like the chapter's `subprocess`.
//!
//! The short forms take CPython's names: [`call`], [`check_call`], [`check_output`] and [`run`]
//! (input, captured output and a timeout). [`Command`] is the builder for everything else; its
//! methods are CPython's keyword arguments and its terminal methods CPython's functions:
//!
//! ```no_run
//! use std::time::Duration;
//! use procthread::subprocess::{Command, Redirect};
//!
//! # fn main() -> Result<(), procthread::SubprocessError> {
//! // subprocess.run(["sort"], input=b"b\na\n", capture_output=True, timeout=5, check=True)
//! let done = Command::new(&["sort"]).input(*b"b\na\n").capture_output().timeout(Duration::from_secs(5)).check().run()?;
//! assert_eq!(done.stdout, b"a\nb\n");
//!
//! // subprocess.Popen(["cat"], stdin=PIPE, stdout=PIPE, stderr=DEVNULL)
//! let mut p = Command::new(&["cat"]).stdin(Redirect::Pipe).stdout(Redirect::Pipe).stderr(Redirect::Null).popen()?;
//! // communicate(timeout=...) can time out, and be called again to get all of the output.
//! let out = match p.communicate(Some(b"hello"), Some(Duration::from_millis(10))) {
//!     Err(procthread::SubprocessError::Timeout { .. }) => p.communicate(None, None)?,
//!     other => other?,
//! };
//! assert_eq!(out.stdout.as_deref(), Some(&b"hello"[..]));
//! assert_eq!(p.returncode(), Some(0));
//! # Ok(())
//! # }
//! ```
//!
//! Exit codes follow the chapter's convention: the exit status, or minus the signal that ended
//! the program on Unix (`-9` after a kill); on Windows a terminated program reads `-15`.
//!
//! **Timeouts bound the whole call.** When `run`, `call`, `check_call` or `check_output` time
//! out, the program is killed (on Unix with its process group, see [`Group`]) and its output is
//! collected for at most [`KILL_GRACE`] more: a process that left the group (a `setsid`
//! grandchild) and still holds the pipes is not waited for. That process is *not* killed (it is
//! no longer in the group); our ends of its pipes are closed, so its next write fails with a
//! broken pipe (on Windows, where a blocked read cannot always be cancelled, a reader thread may
//! stay until it closes them). Within a harness run, the run's supervisor kills it at the end of
//! the run. `Duration::MAX` (or any timeout too large for a deadline) means no timeout.
//!
//! **Streams.** Each of stdin, stdout and stderr is inherited, a pipe, the null device or a file
//! ([`Redirect`]); stderr can also go where stdout goes ([`Command::stderr_to_stdout`]). Pipes
//! are fed and drained together (no pipe-buffer deadlock): on Unix by `poll` on the calling
//! thread, on Windows by a thread per pipe.
//!
//! On Windows every spawn takes the crate's spawn lock, so that a child never inherits handles
//! made inheritable for a concurrent spawn of this crate.

mod popen;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

pub use popen::{Output, Popen};

use crate::error::SubprocessError;

/// After a timeout has killed a program, how long its output is still collected.
pub const KILL_GRACE: Duration = Duration::from_millis(250);

/// What a finished program left: its exit code (minus the signal on Unix) and captured output
/// (empty for a stream that was not captured). CPython's `CompletedProcess`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Completed {
    /// `Err(CalledProcess)` unless the code is 0 (CPython's `check_returncode`).
    pub fn check_returncode(self, program: &str) -> Result<Completed, SubprocessError> {
        if self.code == 0 {
            Ok(self)
        } else {
            Err(SubprocessError::CalledProcess {
                program: program.to_string(),
                code: self.code,
                stdout: self.stdout,
                stderr: self.stderr,
            })
        }
    }
}

/// Which process group a program runs in (Unix; Windows has one behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// A group of its own, led by the program: a timeout kills whatever it started too (unless
    /// that left the group).
    #[default]
    Own,
    /// The caller's group, so that whoever kills the caller's group kills the program too.
    Inherit,
}

/// Where one of a program's standard streams goes (CPython's `None`, `PIPE`, `DEVNULL`, a file).
#[derive(Debug, Default)]
pub enum Redirect {
    /// This process's own stream.
    #[default]
    Inherit,
    /// A pipe: [`Popen`]'s `stdin`/`stdout`/`stderr`, or what `communicate` feeds and collects.
    Pipe,
    /// The null device.
    Null,
    /// An open file (read from for stdin, written to for stdout and stderr).
    File(std::fs::File),
}

impl Redirect {
    fn is_pipe(&self) -> bool {
        matches!(self, Redirect::Pipe)
    }

    fn stdio(self) -> Stdio {
        match self {
            Redirect::Inherit => Stdio::inherit(),
            Redirect::Pipe => Stdio::piped(),
            Redirect::Null => Stdio::null(),
            Redirect::File(f) => Stdio::from(f),
        }
    }
}

/// A program to run, configured as CPython's keyword arguments configure `Popen` and `run`;
/// it runs by one of CPython's functions: [`run`](Self::run), [`call`](Self::call),
/// [`check_call`](Self::check_call), [`check_output`](Self::check_output), or
/// [`popen`](Self::popen).
#[derive(Debug)]
pub struct Command {
    argv: Vec<OsString>,
    stdin: Redirect,
    stdout: Redirect,
    stderr: Redirect,
    stderr_to_stdout: bool,
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
    check: bool,
    group: Group,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
}

impl Command {
    /// `argv[0]` is the program (looked up in `PATH`), the rest its arguments. Streams are
    /// inherited, there is no timeout, and the program leads a process group of its own.
    pub fn new<S: AsRef<OsStr>>(argv: &[S]) -> Command {
        Command {
            argv: argv.iter().map(|a| a.as_ref().to_os_string()).collect(),
            stdin: Redirect::Inherit,
            stdout: Redirect::Inherit,
            stderr: Redirect::Inherit,
            stderr_to_stdout: false,
            input: None,
            timeout: None,
            check: false,
            group: Group::Own,
            cwd: None,
            env: Vec::new(),
        }
    }

    /// `stdin=`.
    pub fn stdin(mut self, r: Redirect) -> Command {
        self.stdin = r;
        self
    }

    /// `stdout=`.
    pub fn stdout(mut self, r: Redirect) -> Command {
        self.stdout = r;
        self
    }

    /// `stderr=`.
    pub fn stderr(mut self, r: Redirect) -> Command {
        self.stderr = r;
        self.stderr_to_stdout = false;
        self
    }

    /// `stderr=STDOUT`: stderr goes where stdout goes (into the same pipe, file or device).
    pub fn stderr_to_stdout(mut self) -> Command {
        self.stderr_to_stdout = true;
        self
    }

    /// `input=`: written to the program's stdin (a pipe), which is then closed.
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> Command {
        self.input = Some(bytes.into());
        self.stdin = Redirect::Pipe;
        self
    }

    /// `capture_output=True`: stdout and stderr are pipes.
    pub fn capture_output(mut self) -> Command {
        self.stdout = Redirect::Pipe;
        self.stderr = Redirect::Pipe;
        self.stderr_to_stdout = false;
        self
    }

    /// `timeout=`: for `run`, `call`, `check_call` and `check_output` (the program is killed at
    /// it); `Duration::MAX` means none.
    pub fn timeout(mut self, timeout: Duration) -> Command {
        self.timeout = Some(timeout);
        self
    }

    /// `check=True`: a non-zero exit code is [`SubprocessError::CalledProcess`].
    pub fn check(mut self) -> Command {
        self.check = true;
        self
    }

    /// The program's process group (Unix): its own (the default) or the caller's.
    pub fn group(mut self, group: Group) -> Command {
        self.group = group;
        self
    }

    /// `cwd=`.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Command {
        self.cwd = Some(dir.into());
        self
    }

    /// One variable added to (or changed in) the inherited environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Command {
        self.env.push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    fn program(&self) -> String {
        self.argv.first().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Starts the program (`subprocess.Popen(...)`); `input`, `timeout` and `check` are for the
    /// one-shot functions and are ignored here.
    pub fn popen(self) -> Result<Popen, SubprocessError> {
        Popen::start(self)
    }

    /// `subprocess.run(...)`: runs to the end, feeding `input` and collecting what is piped.
    pub fn run(mut self) -> Result<Completed, SubprocessError> {
        let program = self.program();
        if self.input.is_some() && !self.stdin.is_pipe() {
            return Err(SubprocessError::Invalid { program, reason: "stdin and input cannot both be given" });
        }
        let (input, timeout, check) = (self.input.take(), self.timeout, self.check);
        let mut p = self.popen()?;
        let out = match p.communicate(input.as_deref(), timeout) {
            Ok(out) => out,
            Err(SubprocessError::Timeout { timeout, .. }) => {
                let (stdout, stderr) = p.kill_and_collect(KILL_GRACE);
                return Err(SubprocessError::Timeout { program, timeout, stdout, stderr });
            }
            Err(e) => {
                let _ = p.kill_and_collect(KILL_GRACE);
                return Err(e);
            }
        };
        let code = p.returncode().unwrap_or(-1);
        let done = Completed { code, stdout: out.stdout.unwrap_or_default(), stderr: out.stderr.unwrap_or_default() };
        if check { done.check_returncode(&program) } else { Ok(done) }
    }

    /// `subprocess.call(...)`: runs to the end and returns the exit code; at the timeout the
    /// program is killed and reaped, and the result is [`SubprocessError::Timeout`].
    pub fn call(self) -> Result<i32, SubprocessError> {
        let timeout = self.timeout;
        let mut p = self.popen()?;
        match timeout {
            None => p.wait(),
            Some(t) => match p.wait_timeout(t) {
                Err(SubprocessError::Timeout { program, timeout, .. }) => {
                    let (stdout, stderr) = p.kill_and_collect(KILL_GRACE);
                    Err(SubprocessError::Timeout { program, timeout, stdout, stderr })
                }
                other => other,
            },
        }
    }

    /// `subprocess.check_call(...)`: [`call`](Self::call), with a non-zero exit code an error.
    pub fn check_call(self) -> Result<(), SubprocessError> {
        let program = self.program();
        match self.call()? {
            0 => Ok(()),
            code => Err(SubprocessError::CalledProcess { program, code, stdout: Vec::new(), stderr: Vec::new() }),
        }
    }

    /// `subprocess.check_output(...)`: stdout captured and returned; a non-zero exit code is an
    /// error carrying the output.
    pub fn check_output(mut self) -> Result<Vec<u8>, SubprocessError> {
        self.stdout = Redirect::Pipe;
        self.check = true;
        Ok(self.run()?.stdout)
    }
}

/// Runs `argv` with inherited stdio and returns its exit code (`subprocess.call`).
pub fn call<S: AsRef<OsStr>>(argv: &[S]) -> Result<i32, SubprocessError> {
    Command::new(argv).call()
}

/// `subprocess.check_call`: [`call`], with a non-zero exit code an error.
pub fn check_call<S: AsRef<OsStr>>(argv: &[S]) -> Result<(), SubprocessError> {
    Command::new(argv).check_call()
}

/// `subprocess.check_output`: runs `argv` and returns its stdout; a non-zero exit code is an
/// error carrying the output.
pub fn check_output<S: AsRef<OsStr>>(argv: &[S]) -> Result<Vec<u8>, SubprocessError> {
    Command::new(argv).check_output()
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
    let mut cmd = Command::new(argv).group(group).capture_output().stdin(Redirect::Pipe);
    cmd.input = Some(input.unwrap_or_default().to_vec());
    if let Some(t) = timeout {
        cmd = cmd.timeout(t);
    }
    cmd.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary, asked only to list its tests: a quick program that exits 0 on any OS.
    fn quick() -> Vec<OsString> {
        let exe = std::env::current_exe().map(OsString::from).unwrap_or_default();
        vec![exe, "--list".into()]
    }

    #[test]
    fn a_timeout_of_duration_max_means_none_and_never_panics() {
        let done = Command::new(&quick()).capture_output().timeout(Duration::MAX).run().expect("run");
        assert_eq!(done.code, 0);
        assert!(!done.stdout.is_empty());
        assert_eq!(Command::new(&quick()).stdout(Redirect::Null).timeout(Duration::MAX).call().expect("call"), 0);
        let mut p = Command::new(&quick()).stdout(Redirect::Null).popen().expect("popen");
        assert_eq!(p.wait_timeout(Duration::MAX).expect("wait"), 0);
        let mut p = Command::new(&quick()).stdout(Redirect::Pipe).popen().expect("popen");
        let out = p.communicate(None, Some(Duration::MAX)).expect("communicate");
        assert!(out.stdout.is_some_and(|o| !o.is_empty()));
        assert!(run(&quick(), None, Some(Duration::MAX)).is_ok());
    }

    #[test]
    fn an_empty_command_and_a_missing_program_are_errors() {
        let empty: [&str; 0] = [];
        assert!(matches!(Command::new(&empty).run(), Err(SubprocessError::EmptyCommand)));
        let missing = Command::new(&["no-such-program-procthread"]).call();
        assert!(matches!(missing, Err(SubprocessError::NotFound { .. })), "{missing:?}");
    }
}
