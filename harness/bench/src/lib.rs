//! Performance of processes and threads: the figures (`figures`, on the workloads of
//! `workloads`), each measured by `harness measure` in a fresh process; the statistics
//! (`stats`); the report (`report`, `charts`) that puts them side by side with the OS floor and
//! CPython; and the CI gate (`gate`) that compares a report's ratios with a baseline.

pub mod charts;
pub mod figures;
pub mod gate;
pub mod pin;
pub mod report;
pub mod stats;
pub mod workloads;

/// Entry points the children of the benchmarks run; the `harness` binary dispatches to them.
pub static REGISTRY: procthread::Registry = &[
    &workloads::NOOP,
    &workloads::NOOP_TASK,
    &workloads::BURN_TASK,
    &workloads::QUEUE_ECHO,
    &workloads::PIPE_ECHO,
    &workloads::QUEUE_FLOOD,
    &workloads::MANAGER_WORKER,
];
