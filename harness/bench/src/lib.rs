//! Performance of processes and threads, one job per module:
//!
//! - what is measured: `figures` (the catalogue), `measure` (the measurements, run by
//!   `harness measure ID` in a fresh process: `sampling`, `workloads`, `pin`), `run` (a whole
//!   report: every measurement and CPython's, side by side) and `machine`;
//! - what it says: `stats` (medians, bootstrap intervals, outliers), `analyse` (raw samples to a
//!   figure with ratios and targets), `summary` (processes versus threads);
//! - how it is shown: `format`, `markdown` (the report as a `document`), `charts` (SVG), `html`
//!   (pages), `conformance` (the page of the conformance matrix), `output` (the files);
//! - what it decides: `gate` (CI, against a committed baseline) and `compare` (two reports);
//! - `cli`: the `harness` subcommands; `synthetic`: a made-up report for tests.
//!
//! Imports go one way, down this list (the data model, `model`, is at the bottom of all).

pub mod analyse;
pub mod charts;
pub mod cli;
pub mod compare;
pub mod conformance;
pub mod document;
pub mod figures;
pub mod format;
pub mod gate;
pub mod html;
pub mod machine;
pub mod markdown;
pub mod measure;
pub mod model;
pub mod output;
pub mod run;
pub mod stats;
pub mod summary;
pub mod synthetic;

/// The workloads, where the `harness` binary and the criterion benches find them.
pub use measure::workloads;

/// Entry points the children of the benchmarks run; the `harness` binary dispatches to them.
pub static REGISTRY: procthread::Registry = &[
    &workloads::NOOP,
    &workloads::NOOP_TASK,
    &workloads::BURN_TASK,
    &workloads::QUEUE_ECHO,
    &workloads::PIPE_ECHO,
    &workloads::QUEUE_FLOOD,
    &workloads::MANAGER_WORKER,
    &workloads::LOCK_CONTENDER,
];
