//! The conformance runner: runs scenarios on every backend in isolated executor processes,
//! judges them, and normalizes their traces for snapshots. The `harness` binary is its command
//! line; performance (`harness report`, `harness gate`) lives in the `procthread-bench` crate.

pub mod conformance;
pub mod events;
pub mod exec;
pub mod faults;
pub mod hosts;
pub mod implementation;
pub mod matrix;
pub mod os;
pub mod outcome;
pub mod results;
pub mod run;
pub mod select;
pub mod session;
pub mod snapshots;
pub mod supervise;
pub mod timeline;
pub mod tool;
pub mod workspace;

/// Entry points this program's children may run: actors started as processes, pool tasks.
pub static REGISTRY: procthread::Registry = &[&exec::ACTOR_ENTRY, &exec::TASK, &exec::SERVE];

/// Ends this process now with `code`, after flushing stdout and stderr.
pub fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}
