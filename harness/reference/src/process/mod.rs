//! `Process`: a child running a registered function, like the chapter's `multiprocessing.Process`.

mod children;
mod launch;
mod parent;
mod started;
mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entry::Entry;
use crate::error::ProcessError;
#[cfg(unix)]
pub(crate) use children::forget_inherited as forget_inherited_children;
pub use children::{ChildProcess, active_children};
#[cfg(unix)]
pub(crate) use parent::forget_inherited as forget_inherited_parent;
pub(crate) use parent::set as set_parent;
pub use parent::{ParentProcess, parent_process};
use started::Started;
pub use wait::{Waitable, wait};

/// How a child process is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    /// Copy this process with `fork` (Unix only); the child runs the entry's function directly.
    /// A [`Pool`](crate::Pool) started by fork forks its workers from a fork server instead.
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

type Launch = Box<dyn FnOnce(&str, bool, StartMethod) -> Result<Started, ProcessError> + Send>;

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
/// `exitcode` follows the chapter: `None` while running (it polls, as CPython does: a child
/// that ended shows its code without a join), then the exit status, or minus the signal number
/// on Unix (`-15` after [`terminate`](Self::terminate), `-9` after [`kill`](Self::kill)).
/// On Windows both end the child with `TerminateProcess` and read as `-15`, as in CPython.
/// A panic in the child gives exit code 1, and its message is in [`panic_message`](Self::panic_message).
///
/// Every method but [`start`](Self::start) and [`close`](Self::close) takes `&self`, so a
/// process can be joined in one thread and terminated from another. [`wait`](crate::wait)
/// waits for any of several processes. After [`close`](Self::close), using the process is an
/// error ([`ProcessError::Closed`]).
///
/// Dropping a started process that was not joined waits for it, like CPython joining its
/// non-daemon children at exit; a [`daemon`](Self::daemon) process is killed instead.
pub struct Process {
    name: String,
    method: StartMethod,
    daemon: bool,
    /// Listed by [`active_children`] (pool workers are not).
    listed: bool,
    /// In a mutex only so that `Process` is `Sync` (it is used through `&mut self` alone).
    launch: std::sync::Mutex<Option<Launch>>,
    started: Option<Arc<Started>>,
    closed: bool,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("daemon", &self.daemon)
            .field("pid", &self.pid())
            .field("exitcode", &self.exitcode())
            .field("closed", &self.closed)
            .finish()
    }
}

impl Process {
    /// A process that will run `entry(args)`, named `Process-N`, started by spawn. It is a
    /// daemon if the current process is one (CPython's default).
    pub fn new<A>(entry: &'static Entry<A>, args: A) -> Process
    where
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        let func = entry.func;
        let entry_name = entry.name();
        let launch: Launch = Box::new(move |name, daemon, method| match method {
            StartMethod::Spawn => launch::spawn(entry_name, name, daemon, args),
            StartMethod::Fork => launch::fork(func, name, daemon, args),
        });
        Process {
            name: format!("Process-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            method: StartMethod::Spawn,
            daemon: crate::entry::current_process_is_daemon(),
            listed: true,
            launch: std::sync::Mutex::new(Some(launch)),
            started: None,
            closed: false,
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

    /// Keeps the process out of [`active_children`] (for the workers a pool owns).
    pub(crate) fn unlisted(mut self) -> Self {
        self.listed = false;
        self
    }

    pub fn get_name(&self) -> &str {
        &self.name
    }

    pub fn method(&self) -> StartMethod {
        self.method
    }

    pub fn is_daemon(&self) -> bool {
        self.daemon
    }

    /// Starts the child. Starting twice, or after [`close`](Self::close), is an error.
    pub fn start(&mut self) -> Result<(), ProcessError> {
        if self.closed {
            return Err(ProcessError::Closed { name: self.name.clone() });
        }
        let slot = self.launch.get_mut().unwrap_or_else(|p| p.into_inner());
        let launch = slot.take().ok_or_else(|| ProcessError::AlreadyStarted { name: self.name.clone() })?;
        if !self.method.is_available() {
            return Err(ProcessError::Unsupported { method: "fork", reason: "Windows has no fork; use spawn" });
        }
        let started = Arc::new(launch(&self.name, self.daemon, self.method)?);
        if self.listed {
            children::add(started.clone());
        }
        self.started = Some(started);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.started.as_ref().map(|s| s.pid())
    }

    /// `None` before start and while running; then the exit code. It polls the child, so a
    /// child that ended shows its code without a join.
    pub fn exitcode(&self) -> Option<i32> {
        self.started.as_ref().and_then(|s| s.poll().ok().flatten())
    }

    /// The message of the panic that ended the child, once it ended.
    pub fn panic_message(&self) -> Option<String> {
        self.started.as_ref().and_then(|s| s.panic_message())
    }

    pub(crate) fn started_ref(&self) -> Result<&Started, ProcessError> {
        if self.closed {
            return Err(ProcessError::Closed { name: self.name.clone() });
        }
        self.started.as_deref().ok_or_else(|| ProcessError::NotStarted { name: self.name.clone() })
    }

    /// Waits for the child to end and returns its exit code.
    pub fn join(&self) -> Result<i32, ProcessError> {
        loop {
            if let Some(code) = self.wait(None)? {
                return Ok(code);
            }
        }
    }

    /// Waits at most `timeout`; `None` if the child is still running. `Duration::ZERO` only
    /// polls; a timeout too long for the clock (`Duration::MAX`) waits for ever.
    pub fn join_timeout(&self, timeout: Duration) -> Result<Option<i32>, ProcessError> {
        self.wait(Some(timeout))
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<Option<i32>, ProcessError> {
        let s = self.started_ref()?;
        s.wait(timeout).map_err(|source| ProcessError::Wait { name: self.name.clone(), source })
    }

    /// Whether the child is running: `false` before start and once it ended (it is reaped
    /// then). An error after [`close`](Self::close).
    pub fn is_alive(&self) -> Result<bool, ProcessError> {
        if self.closed {
            return Err(ProcessError::Closed { name: self.name.clone() });
        }
        match self.started.as_ref() {
            None => Ok(false),
            Some(s) => Ok(s.poll().map_err(|source| ProcessError::Wait { name: self.name.clone(), source })?.is_none()),
        }
    }

    /// Asks the child to stop: SIGTERM on Unix, `TerminateProcess` on Windows.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.signal(false)
    }

    /// Stops the child at once: SIGKILL on Unix, `TerminateProcess` on Windows.
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.signal(true)
    }

    fn signal(&self, kill: bool) -> Result<(), ProcessError> {
        let s = self.started_ref()?;
        s.signal(kill).map_err(|source| ProcessError::Signal { name: self.name.clone(), source })
    }

    /// Releases the process's resources (its handles on the child). Closing a process that is
    /// still running is an error ([`ProcessError::StillRunning`]); afterwards every other use
    /// is an error ([`ProcessError::Closed`]). Closing twice is allowed, as in CPython.
    pub fn close(&mut self) -> Result<(), ProcessError> {
        if let Some(s) = self.started.as_ref() {
            let code = s.poll().map_err(|source| ProcessError::Wait { name: self.name.clone(), source })?;
            if code.is_none() {
                return Err(ProcessError::StillRunning { name: self.name.clone(), pid: s.pid() });
            }
            children::forget(s);
        }
        self.started = None;
        *self.launch.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        self.closed = true;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let Some(s) = self.started.as_ref() else { return };
        if matches!(s.poll(), Ok(None)) {
            if self.daemon {
                let _ = s.signal(true);
            }
            let _ = s.wait(None);
        }
    }
}
