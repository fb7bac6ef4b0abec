//! The harness: runs scenarios on every backend in isolated executor processes, judges them,
//! and normalizes their traces for snapshots. The `harness` binary is its command line.

pub mod bench;
pub mod events;
pub mod exec;
pub mod gate;
pub mod os;
pub mod outcome;
pub mod run;
pub mod snapshots;
pub mod tool;

/// Entry points this program's children may run: actors started as processes, pool tasks.
pub static REGISTRY: procthread::Registry = &[
    &exec::ACTOR_ENTRY,
    &exec::TASK,
    &exec::SERVE,
    &bench::workloads::NOOP,
    &bench::workloads::NOOP_TASK,
    &bench::workloads::BURN_TASK,
    &bench::workloads::QUEUE_ECHO,
    &bench::workloads::PIPE_ECHO,
    &bench::workloads::QUEUE_FLOOD,
    &bench::workloads::MANAGER_WORKER,
];

/// Ends this process now with `code`, after flushing stdout and stderr.
pub fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}
