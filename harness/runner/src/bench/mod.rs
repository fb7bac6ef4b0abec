//! Performance: the figures (`figures`), measured by `harness measure` in fresh processes, and
//! the report (`report`) that puts them side by side with the OS floor and CPython.

pub mod charts;
pub mod figures;
pub mod pin;
pub mod report;
pub mod stats;
pub mod workloads;
