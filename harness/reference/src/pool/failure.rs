//! A task's failure as the worker saw it: panics are caught with their location (and the stack
//! when `RUST_BACKTRACE` asks for it), error values keep their type name, and all of it crosses
//! to the parent as text, as CPython sends the remote traceback with the exception.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use serde::{Deserialize, Serialize};

use crate::entry::{current_process_name, panic_text};
use crate::error::PoolError;

thread_local! {
    /// Set while this thread runs a pool task: its panics are recorded, not printed.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) a panic hook that records the panics of pool tasks instead of
/// printing them, and passes every other panic to the hook that was there before.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let text = describe(info);
                CAUGHT.with(|c| *c.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn describe(info: &panic::PanicHookInfo<'_>) -> String {
    let thread = std::thread::current();
    let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
    let mut text = format!(
        "process {} (pid {}), thread '{}' panicked{location}:\n{}\n",
        current_process_name(),
        std::process::id(),
        thread.name().unwrap_or("<unnamed>"),
        panic_text(info.payload())
    );
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        text.push_str(&format!("stack backtrace:\n{backtrace}"));
    }
    text
}

/// Runs `f`; a panic becomes `(message, remote text)`.
pub(crate) fn run_captured<R>(f: impl FnOnce() -> R) -> Result<R, (String, String)> {
    install_hook();
    CAUGHT.with(|c| c.borrow_mut().take());
    let was = CAPTURING.with(|c| c.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(was));
    outcome.map_err(|payload| {
        let message = cut(panic_text(payload.as_ref()));
        let remote = cut(CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| message.clone()));
        (message, remote)
    })
}

/// The longest text a failure carries across (a panic message can be anything).
const MAX_TEXT: usize = 64 << 10;

/// `s`, cut to at most [`MAX_TEXT`] bytes at a character boundary.
pub(crate) fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str("... (cut)");
    }
    s
}

/// The failure of a task whose function returned `Err(e)`.
pub(crate) fn error_value<E: std::fmt::Display + std::fmt::Debug>(e: &E) -> WireFailure {
    WireFailure::TaskFailed {
        type_name: std::any::type_name::<E>().to_string(),
        message: cut(e.to_string()),
        remote: cut(format!("process {} (pid {}) returned Err: {e:?}", current_process_name(), std::process::id())),
    }
}

/// A task's failure on its way from a worker process to the pool.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum WireFailure {
    Panicked { message: String, remote: String },
    TaskFailed { type_name: String, message: String, remote: String },
    UnknownTask(String),
    Encode { what: String, reason: String },
    Decode { what: String, reason: String },
    TooLarge { what: String, size: usize, limit: usize },
}

fn what(s: &str) -> &'static str {
    match s {
        "arguments" => "arguments",
        "result" => "result",
        _ => "message",
    }
}

impl From<WireFailure> for PoolError {
    fn from(f: WireFailure) -> PoolError {
        match f {
            WireFailure::Panicked { message, remote } => PoolError::Panicked { message, remote },
            WireFailure::TaskFailed { type_name, message, remote } => {
                PoolError::TaskFailed { type_name, message, remote }
            }
            WireFailure::UnknownTask(name) => PoolError::UnknownTask(name),
            WireFailure::Encode { what: w, reason } => PoolError::Encode { what: what(&w), reason },
            WireFailure::Decode { what: w, reason } => PoolError::Decode { what: what(&w), reason },
            WireFailure::TooLarge { what: w, size, limit } => PoolError::TooLarge { what: what(&w), size, limit },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_panic_keeps_its_message_and_location() {
        let err = run_captured(|| -> i32 { panic!("boom {}", 7) }).expect_err("panics");
        assert_eq!(err.0, "boom 7");
        assert!(err.1.contains("panicked at"), "{}", err.1);
        assert!(err.1.contains("failure.rs"), "{}", err.1);
        assert!(err.1.contains("boom 7"), "{}", err.1);
        assert_eq!(run_captured(|| 5), Ok(5));
    }

    #[test]
    fn an_error_value_keeps_its_type_name() {
        let e = std::io::Error::other("disk on fire");
        let PoolError::TaskFailed { type_name, message, remote } = PoolError::from(error_value(&e)) else {
            panic!("wrong kind");
        };
        assert_eq!(type_name, "std::io::error::Error");
        assert_eq!(message, "disk on fire");
        assert!(remote.contains("disk on fire"), "{remote}");
    }
}
