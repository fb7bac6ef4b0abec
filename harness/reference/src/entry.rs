//! Entry points a child process can run, found by name, and the dispatch that runs them.
//!
//! A spawned child is this same executable started again with a marker argument. Its `main`
//! must call [`dispatch`] first thing, before any other set-up, so that the child goes straight
//! to its entry point instead of running the parent's program a second time.

use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::framing;
use crate::os;

/// The argument that marks a re-executed child.
pub(crate) const CHILD_FLAG: &str = "--procthread-child";

/// A function a [`Process`](crate::Process) can run, with its arguments of type `A`.
///
/// Declare it as a `static` and list it in the registry given to [`dispatch`]:
/// ```
/// static RUN_PROC: procthread::Entry<String> = procthread::Entry::new("run_proc", run_proc);
/// fn run_proc(name: String) {
///     println!("Run child process {name} ({})...", std::process::id());
/// }
/// ```
/// To end the child with a particular exit code, call [`std::process::exit`].
#[derive(Debug)]
pub struct Entry<A: 'static> {
    name: &'static str,
    pub(crate) func: fn(A),
}

impl<A> Entry<A> {
    pub const fn new(name: &'static str, func: fn(A)) -> Self {
        Entry { name, func }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A function a [`Pool`](crate::Pool) worker can run: arguments `A`, result `R`.
///
/// Made with [`Task::new`] for a function that returns its value, or [`Task::fallible`] for
/// one that returns `Result<R, E>`: its `Err` then fails the task as
/// [`PoolError::TaskFailed`](crate::PoolError::TaskFailed), keeping the error's type name and
/// text (CPython keeps the exception's type). A task whose value is itself a `Result` can
/// also be made with `new`: the `Result` then comes back whole as the value.
pub struct Task<A: 'static, R: 'static, E: 'static = std::convert::Infallible> {
    name: &'static str,
    pub(crate) func: TaskFn<A, R, E>,
}

impl<A, R, E> std::fmt::Debug for Task<A, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("name", &self.name).finish()
    }
}

/// The two shapes of task function.
pub(crate) enum TaskFn<A, R, E> {
    Plain(fn(A) -> R),
    Fallible(fn(A) -> Result<R, E>),
}

impl<A, R, E> TaskFn<A, R, E> {
    pub(crate) fn call(&self, args: A) -> Result<R, E> {
        match self {
            TaskFn::Plain(f) => Ok(f(args)),
            TaskFn::Fallible(f) => f(args),
        }
    }
}

impl<A, R> Task<A, R> {
    pub const fn new(name: &'static str, func: fn(A) -> R) -> Self {
        Task { name, func: TaskFn::Plain(func) }
    }
}

impl<A, R, E> Task<A, R, E> {
    /// A task whose `Err(e)` fails it with `e`'s type name, `Display` and `Debug` text.
    pub const fn fallible(name: &'static str, func: fn(A) -> Result<R, E>) -> Self {
        Task { name, func: TaskFn::Fallible(func) }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Anything that can be found by name in a child and called with JSON arguments.
pub trait Registered: Sync {
    fn name(&self) -> &'static str;
    /// Decodes the arguments, runs, and encodes the result (`null` for an [`Entry`]).
    fn call_json(&self, args: &str) -> Result<serde_json::Value, String>;
    /// Runs one item of a pool task in a worker: decodes `args`, runs, and writes the encoded
    /// outcome to `out`, returning its tag (see the pool's protocol). Only [`Task`]s can.
    #[doc(hidden)]
    fn run_pool_item(&self, args: &[u8], out: &mut Vec<u8>, limit: usize) -> u8 {
        let _ = (args, limit);
        crate::pool::not_a_task(self.name(), out)
    }
}

impl<A: DeserializeOwned> Registered for Entry<A> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn call_json(&self, args: &str) -> Result<serde_json::Value, String> {
        let args: A = serde_json::from_str(args).map_err(|e| format!("bad arguments for {}: {e}", self.name))?;
        (self.func)(args);
        Ok(serde_json::Value::Null)
    }
}

impl<A, R, E> Registered for Task<A, R, E>
where
    A: DeserializeOwned,
    R: Serialize,
    E: std::fmt::Display + std::fmt::Debug,
{
    fn name(&self) -> &'static str {
        self.name
    }
    fn call_json(&self, args: &str) -> Result<serde_json::Value, String> {
        let args: A = serde_json::from_str(args).map_err(|e| format!("bad arguments for {}: {e}", self.name))?;
        match self.func.call(args) {
            Ok(v) => serde_json::to_value(v).map_err(|e| format!("cannot encode the result of {}: {e}", self.name)),
            Err(e) => Err(format!("{} failed: {e}", self.name)),
        }
    }
    fn run_pool_item(&self, args: &[u8], out: &mut Vec<u8>, limit: usize) -> u8 {
        crate::pool::run_task_item(&self.func, args, out, limit)
    }
}

/// The program's registry, as given to [`dispatch`].
pub type Registry = &'static [&'static dyn Registered];

static REGISTRY: OnceLock<Vec<Registry>> = OnceLock::new();
static PROCESS_NAME: Mutex<Option<String>> = Mutex::new(None);
static DAEMON: AtomicBool = AtomicBool::new(false);

/// Records the program's entry points and, if this process is a spawned child, runs the entry
/// it was started for and exits (it never returns then). Call it first thing in `main`.
pub fn dispatch(registry: Registry) {
    dispatch_all(&[registry]);
}

/// [`dispatch`] with entry points gathered from several registries (one per module of a
/// program, say); a name is looked up in them in order.
///
/// A command line with the child flag is not trusted: the child runs only what arrives
/// through the boot channel its parent made (see the crate's platform notes).
pub fn dispatch_all(registries: &[Registry]) {
    let _ = REGISTRY.set(registries.to_vec());
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == CHILD_FLAG) {
        let boot = args.next().and_then(|b| b.into_string().ok()).unwrap_or_default();
        run_spawned_child(&boot);
    }
}

pub(crate) fn lookup(name: &str) -> Option<&'static dyn Registered> {
    let user = REGISTRY.get().map(Vec::as_slice).unwrap_or_default();
    crate::pool::BUILTIN_ENTRIES.iter().chain(user.iter().flat_map(|r| r.iter())).copied().find(|e| e.name() == name)
}

/// The name of the current process: `MainProcess`, or the name a [`Process`](crate::Process) was given.
pub fn current_process_name() -> String {
    lock_name().clone().unwrap_or_else(|| "MainProcess".to_string())
}

/// Whether the current process was started as a daemon (the main process is not).
pub fn current_process_is_daemon() -> bool {
    DAEMON.load(Ordering::Relaxed)
}

pub(crate) fn set_current_process(name: &str, daemon: bool) {
    *lock_name() = Some(name.to_string());
    DAEMON.store(daemon, Ordering::Relaxed);
}

fn lock_name() -> std::sync::MutexGuard<'static, Option<String>> {
    PROCESS_NAME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pid of the process that started this one (on Windows, known only in a started child).
pub fn parent_pid() -> Option<u32> {
    os::parent_pid().or_else(|| crate::process::parent_process().map(|p| p.pid()))
}

/// What the parent tells a spawned child first on its boot channel; the arguments follow.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Boot {
    pub(crate) entry: String,
    pub(crate) name: String,
    pub(crate) daemon: bool,
    /// The status pipe's write end.
    pub(crate) status: u64,
    /// The handles inside the arguments.
    pub(crate) handles: Vec<u64>,
    pub(crate) ppid: u32,
    pub(crate) parent_name: String,
    /// The parent's liveness token (see `process::parent`).
    pub(crate) liveness: u64,
}

/// The largest boot record a child reads (it holds names and handle numbers only).
pub(crate) const BOOT_LIMIT: usize = 1 << 20;

/// What a child tells its parent at the end, on its status pipe.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) panic: Option<String>,
}

/// Exit code of a child whose entry panicked (CPython exits 1 on an uncaught exception).
pub(crate) const PANIC_EXIT: i32 = 1;
/// Exit code of a child that could not even start its entry (unknown name, bad arguments,
/// or a boot channel that did not come from its parent).
pub(crate) const BOOT_FAILURE_EXIT: i32 = 2;

fn boot_failure(msg: impl std::fmt::Display) -> ! {
    eprintln!("procthread: {msg}");
    std::process::exit(BOOT_FAILURE_EXIT);
}

/// Runs the entry a parent spawned this process for, then exits.
///
/// The command line only names the boot channel; nothing else on it is trusted. The channel
/// must be a socket made by our parent process (on Linux the kernel says who made it; a forged
/// command line cannot produce one), or on Windows an inherited pipe that is not a standard
/// handle. Every handle the boot record lists is checked before adoption: not stdio, a pipe or
/// socket, and listed once, so no descriptor ends up with two owners.
fn run_spawned_child(boot_number: &str) -> ! {
    let Ok(number) = boot_number.parse::<u64>() else {
        boot_failure("the child flag must be followed by the boot channel's handle number");
    };
    // SAFETY: this process was just started by exec and nothing in it has adopted any
    // inherited handle yet; this is the one adoption of `number`.
    let mut reader = match unsafe { os::adopt_boot_channel(number) } {
        Ok(r) => r,
        Err(e) => boot_failure(format!("refusing to run as a child: {e}")),
    };
    let boot: Boot = match framing::read_frame(&mut reader, BOOT_LIMIT).and_then(|b| framing::decode(&b)) {
        Ok(b) => b,
        Err(e) => boot_failure(format!("malformed boot record: {e}")),
    };
    if let Err(e) = check_boot_handles(&boot, number) {
        boot_failure(format!("refusing the boot record: {e}"));
    }
    let mut json = String::new();
    if let Err(e) = reader.read_to_string(&mut json) {
        boot_failure(format!("cannot read arguments: {e}"));
    }
    drop(reader);
    // SAFETY: checked above (an open pipe, listed once, not stdio); adopted once here.
    let status = match unsafe { os::adopt_inherited(boot.status) } {
        Ok(h) => std::io::PipeWriter::from(h),
        Err(e) => boot_failure(format!("the status pipe was not inherited: {e}")),
    };
    // SAFETY: listed once (checked above) and adopted once here; the call checks its kind.
    match unsafe { os::adopt_parent_watch(boot.liveness, boot.ppid) } {
        Ok(watch) => crate::process::set_parent(crate::process::ParentProcess::new(boot.ppid, boot.parent_name, watch)),
        Err(e) => boot_failure(format!("the parent's liveness handle was not inherited: {e}")),
    }
    set_current_process(&boot.name, boot.daemon);
    let Some(entry) = lookup(&boot.entry) else {
        finish(&status, Some(format!("entry {:?} is not registered in this program", boot.entry)), BOOT_FAILURE_EXIT);
    };
    let outcome = crate::handles::with_inherited(boot.handles, || run_caught(|| entry.call_json(&json)));
    match outcome {
        Ok(Ok(_)) => finish(&status, None, 0),
        Ok(Err(msg)) => finish(&status, Some(msg), BOOT_FAILURE_EXIT),
        Err(panic) => finish(&status, Some(panic), PANIC_EXIT),
    }
}

/// Every handle number in the boot record: distinct, not the boot channel, and of a kind the
/// parent passes (the liveness token is checked when adopted).
fn check_boot_handles(boot: &Boot, boot_channel: u64) -> Result<(), String> {
    let mut all: Vec<u64> = boot.handles.clone();
    all.extend([boot.status, boot.liveness, boot_channel]);
    let mut sorted = all.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("a handle is listed twice: {all:?}"));
    }
    for &h in boot.handles.iter().chain([&boot.status]) {
        os::check_inherited(h)?;
    }
    Ok(())
}

/// Runs `f`, turning a panic into its message.
pub(crate) fn run_caught<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_text(payload.as_ref()))
}

pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Sends the report, flushes stdio and exits with `code`.
pub(crate) fn finish(status: &std::io::PipeWriter, panic: Option<String>, code: i32) -> ! {
    send_report(status, panic);
    std::process::exit(code);
}

/// Only a panic is reported: an empty status pipe means the entry returned normally, which
/// keeps the common path to one `exit`.
pub(crate) fn send_report(status: &std::io::PipeWriter, panic: Option<String>) {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if panic.is_none() {
        return;
    }
    let panic = panic.map(|mut m| {
        let mut cut = m.len().min(4096);
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
        m
    });
    if let Ok(frame) = framing::encode(&Report { panic }, 1 << 16) {
        let _ = framing::write_frame(status, &frame);
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}
