//! `Process`: a child running a registered function, like the chapter's `multiprocessing.Process`.

use std::io::{self, PipeReader, Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entry::{Boot, CHILD_FLAG, Entry, Report};
use crate::error::ProcessError;
use crate::framing;
use crate::handles;
use crate::os::{self, OsChild};

/// How a child process is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    /// Copy this process with `fork` (Unix only); the child runs the entry's function directly.
    Fork,
    /// Start this executable again; the child finds the entry by name through [`dispatch`](crate::dispatch)
    /// and receives its arguments as JSON. Works on every OS (it is CPython's only way on Windows).
    Spawn,
}

impl StartMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
        }
    }

    /// Whether this OS has the method.
    pub fn is_available(self) -> bool {
        self == StartMethod::Spawn || cfg!(unix)
    }
}

type Launch = Box<dyn FnOnce(&str, StartMethod) -> Result<Running, ProcessError> + Send>;

#[derive(Debug)]
struct Running {
    child: OsChild,
    status: PipeReader,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A child process running an [`Entry`] with its arguments.
///
/// ```no_run
/// # use procthread::{Entry, Process};
/// static RUN_PROC: Entry<String> = Entry::new("run_proc", |name| println!("Run child process {name}..."));
/// let mut p = Process::new(&RUN_PROC, "test".to_string());
/// p.start()?;
/// assert_eq!(p.join()?, 0);
/// # Ok::<(), procthread::ProcessError>(())
/// ```
///
/// `exitcode` follows the chapter: `None` while running, then the exit status, or minus the
/// signal number on Unix (`-15` after [`terminate`](Self::terminate), `-9` after [`kill`](Self::kill)).
/// On Windows both end the child with `TerminateProcess` and read as `-15`, as in CPython.
/// A panic in the child gives exit code 1, and its message is in [`panic_message`](Self::panic_message).
///
/// Dropping a started process that was not joined waits for it, like CPython joining its
/// non-daemon children at exit; a [`daemon`](Self::daemon) process is killed instead.
pub struct Process {
    name: String,
    method: StartMethod,
    daemon: bool,
    launch: Option<Launch>,
    running: Option<Running>,
    exitcode: Option<i32>,
    panic: Option<String>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("pid", &self.pid())
            .field("exitcode", &self.exitcode)
            .finish()
    }
}

impl Process {
    /// A process that will run `entry(args)`, named `Process-N`, started by spawn.
    pub fn new<A>(entry: &'static Entry<A>, args: A) -> Process
    where
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        let func = entry.func;
        let entry_name = entry.name();
        let launch: Launch = Box::new(move |name, method| match method {
            StartMethod::Spawn => launch_spawn(entry_name, name, args),
            StartMethod::Fork => launch_fork(func, name, args),
        });
        Process {
            name: format!("Process-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            method: StartMethod::Spawn,
            daemon: false,
            launch: Some(launch),
            running: None,
            exitcode: None,
            panic: None,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// A daemon child is killed (not waited for) when its `Process` is dropped unjoined.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    pub fn get_name(&self) -> &str {
        &self.name
    }

    pub fn method(&self) -> StartMethod {
        self.method
    }

    pub fn start(&mut self) -> Result<(), ProcessError> {
        let launch = self.launch.take().ok_or_else(|| ProcessError::AlreadyStarted { name: self.name.clone() })?;
        if !self.method.is_available() {
            return Err(ProcessError::Unsupported { method: "fork", reason: "Windows has no fork; use spawn" });
        }
        self.running = Some(launch(&self.name, self.method)?);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.pid())
    }

    pub fn exitcode(&self) -> Option<i32> {
        self.exitcode
    }

    /// The message of the panic that ended the child, once joined.
    pub fn panic_message(&self) -> Option<&str> {
        self.panic.as_deref()
    }

    /// Waits for the child to end and returns its exit code.
    pub fn join(&mut self) -> Result<i32, ProcessError> {
        let name = self.name.clone();
        let running = self.running_mut()?;
        let code = running.child.wait().map_err(|source| ProcessError::Wait { name, source })?;
        self.finished(code);
        Ok(code)
    }

    /// Waits at most `timeout`; `None` if the child is still running.
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<Option<i32>, ProcessError> {
        let name = self.name.clone();
        let running = self.running_mut()?;
        let code = running.child.wait_timeout(timeout).map_err(|source| ProcessError::Wait { name, source })?;
        if let Some(code) = code {
            self.finished(code);
        }
        Ok(code)
    }

    pub fn is_alive(&mut self) -> bool {
        match self.running.as_mut() {
            Some(r) if self.exitcode.is_none() => match r.child.try_wait() {
                Ok(Some(code)) => {
                    self.finished(code);
                    false
                }
                Ok(None) => true,
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// Asks the child to stop: SIGTERM on Unix, `TerminateProcess` on Windows.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.signal(OsChild::terminate)
    }

    /// Stops the child at once: SIGKILL on Unix, `TerminateProcess` on Windows.
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.signal(OsChild::kill)
    }

    fn signal(&self, f: fn(&OsChild) -> io::Result<()>) -> Result<(), ProcessError> {
        let r = self.running.as_ref().ok_or_else(|| ProcessError::NotStarted { name: self.name.clone() })?;
        f(&r.child).map_err(|source| ProcessError::Signal { name: self.name.clone(), source })
    }

    fn running_mut(&mut self) -> Result<&mut Running, ProcessError> {
        let name = self.name.clone();
        self.running.as_mut().ok_or(ProcessError::NotStarted { name })
    }

    fn finished(&mut self, code: i32) {
        if self.exitcode.is_some() {
            return;
        }
        self.exitcode = Some(code);
        if let Some(r) = self.running.as_mut() {
            let mut bytes = Vec::new();
            let _ = (&r.status).read_to_end(&mut bytes);
            if let Ok(body) = framing::read_frame(&bytes[..], 1 << 16) {
                self.panic = framing::decode::<Report>(&body).ok().and_then(|r| r.panic);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.running.is_some() && self.exitcode.is_none() {
            if self.daemon {
                let _ = self.kill();
            }
            let _ = self.join();
        }
    }
}

fn start_error(name: &str) -> impl FnOnce(io::Error) -> ProcessError + '_ {
    move |source| ProcessError::Start { name: name.to_string(), source }
}

fn launch_spawn<A: Serialize>(entry_name: &str, name: &str, args: A) -> Result<Running, ProcessError> {
    let (json, handles) = handles::collect(&args).map_err(ProcessError::Arguments)?;
    let (status_r, status_w) = io::pipe().map_err(start_error(name))?;
    let (args_r, mut args_w) = io::pipe().map_err(start_error(name))?;
    let (args_no, status_no) = (os::handle_number(os::borrow(&args_r)), os::handle_number(os::borrow(&status_w)));
    let boot = Boot {
        entry: entry_name.to_string(),
        name: name.to_string(),
        args: args_no,
        status: status_no,
        handles: handles.clone(),
        ppid: std::process::id(),
    };
    let boot = serde_json::to_string(&boot).map_err(ProcessError::Arguments)?;
    let exe = std::env::current_exe().map_err(start_error(name))?;
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_FLAG).arg(boot);
    let mut inherit = handles;
    inherit.extend([args_no, status_no]);
    let child = os::spawn_with_handles(&mut cmd, &inherit).map_err(start_error(name))?;
    // The child has its copies now: close ours, so that EOF means what it should.
    drop((args_r, status_w));
    // A child that died at once closed its end: its exit code will tell why, not this write.
    let _ = args_w.write_all(json.as_bytes());
    drop(args_w);
    drop(args);
    Ok(Running { child, status: status_r })
}

#[cfg(unix)]
fn launch_fork<A: Serialize>(func: fn(A), name: &str, args: A) -> Result<Running, ProcessError> {
    let (_, mut keep) = handles::collect(&args).map_err(ProcessError::Arguments)?;
    let (status_r, status_w) = io::pipe().map_err(start_error(name))?;
    keep.push(os::handle_number(os::borrow(&status_w)));
    use crate::entry;
    let child = crate::fork::fork_running(&keep, || {
        entry::set_current_process_name(name);
        let outcome = entry::run_caught(|| func(args));
        let panic = outcome.err();
        let code = if panic.is_some() { entry::PANIC_EXIT } else { 0 };
        entry::send_report(&status_w, panic);
        code
    })?;
    Ok(Running { child, status: status_r })
}

#[cfg(not(unix))]
fn launch_fork<A: Serialize>(_func: fn(A), _name: &str, _args: A) -> Result<Running, ProcessError> {
    Err(ProcessError::Unsupported { method: "fork", reason: "Windows has no fork; use spawn" })
}
