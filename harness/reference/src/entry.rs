//! Entry points a child process can run, found by name, and the dispatch that runs them.
//!
//! A spawned child is this same executable started again with a marker argument. Its `main`
//! must call [`dispatch`] first thing, before any other set-up, so that the child goes straight
//! to its entry point instead of running the parent's program a second time.

use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
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
#[derive(Debug)]
pub struct Task<A: 'static, R: 'static> {
    name: &'static str,
    pub(crate) func: fn(A) -> R,
}

impl<A, R> Task<A, R> {
    pub const fn new(name: &'static str, func: fn(A) -> R) -> Self {
        Task { name, func }
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

impl<A: DeserializeOwned, R: Serialize> Registered for Task<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn call_json(&self, args: &str) -> Result<serde_json::Value, String> {
        let args: A = serde_json::from_str(args).map_err(|e| format!("bad arguments for {}: {e}", self.name))?;
        serde_json::to_value((self.func)(args)).map_err(|e| format!("cannot encode the result of {}: {e}", self.name))
    }
}

/// The program's registry, as given to [`dispatch`].
pub type Registry = &'static [&'static dyn Registered];

static REGISTRY: OnceLock<Vec<Registry>> = OnceLock::new();
static PROCESS_NAME: Mutex<Option<String>> = Mutex::new(None);
static PARENT_PID: OnceLock<u32> = OnceLock::new();

/// Records the program's entry points and, if this process is a spawned child, runs the entry
/// it was started for and exits (it never returns then). Call it first thing in `main`.
pub fn dispatch(registry: Registry) {
    dispatch_all(&[registry]);
}

/// [`dispatch`] with entry points gathered from several registries (one per module of a
/// program, say); a name is looked up in them in order.
pub fn dispatch_all(registries: &[Registry]) {
    let _ = REGISTRY.set(registries.to_vec());
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == CHILD_FLAG) {
        let boot = args.next().and_then(|b| b.into_string().ok()).unwrap_or_default();
        run_spawned_child(&boot);
    }
}

pub(crate) fn lookup(name: &str) -> Option<&'static dyn Registered> {
    let builtin: &[&'static dyn Registered] = &[&crate::pool::WORKER_ENTRY];
    let user = REGISTRY.get().map(Vec::as_slice).unwrap_or_default();
    builtin.iter().chain(user.iter().flat_map(|r| r.iter())).copied().find(|e| e.name() == name)
}

/// The name of the current process: `MainProcess`, or the name a [`Process`](crate::Process) was given.
pub fn current_process_name() -> String {
    lock_name().clone().unwrap_or_else(|| "MainProcess".to_string())
}

pub(crate) fn set_current_process_name(name: &str) {
    *lock_name() = Some(name.to_string());
}

fn lock_name() -> std::sync::MutexGuard<'static, Option<String>> {
    PROCESS_NAME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pid of the process that started this one (on Windows, known only in a started child).
pub fn parent_pid() -> Option<u32> {
    os::parent_pid().or_else(|| PARENT_PID.get().copied())
}

/// What the parent tells a spawned child on its command line (no user data: that comes by pipe).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Boot {
    pub(crate) entry: String,
    pub(crate) name: String,
    pub(crate) args: u64,
    pub(crate) status: u64,
    pub(crate) handles: Vec<u64>,
    pub(crate) ppid: u32,
}

/// What a child tells its parent at the end, on its status pipe.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) panic: Option<String>,
}

/// Exit code of a child whose entry panicked (CPython exits 1 on an uncaught exception).
pub(crate) const PANIC_EXIT: i32 = 1;
/// Exit code of a child that could not even start its entry (unknown name, bad arguments).
pub(crate) const BOOT_FAILURE_EXIT: i32 = 2;

fn run_spawned_child(boot: &str) -> ! {
    let boot: Boot = match serde_json::from_str(boot) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("procthread: malformed child boot record: {e}");
            std::process::exit(BOOT_FAILURE_EXIT);
        }
    };
    set_current_process_name(&boot.name);
    let _ = PARENT_PID.set(boot.ppid);
    // SAFETY: the parent made these two handles inheritable for us and nothing else owns them.
    let status = unsafe { os::adopt_inherited(boot.status) }.map(std::io::PipeWriter::from);
    // SAFETY: as above.
    let args = unsafe { os::adopt_inherited(boot.args) }.map(std::io::PipeReader::from);
    let (Ok(status), Ok(mut args)) = (status, args) else {
        eprintln!("procthread: the parent's pipes were not inherited");
        std::process::exit(BOOT_FAILURE_EXIT);
    };
    let mut json = String::new();
    if let Err(e) = args.read_to_string(&mut json) {
        eprintln!("procthread: cannot read arguments: {e}");
        std::process::exit(BOOT_FAILURE_EXIT);
    }
    drop(args);
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
