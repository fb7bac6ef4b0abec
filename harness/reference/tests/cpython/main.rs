//! CPython's own test cases, ported: one Rust test per CPython test, named after it
//! (`cpython::test_multiprocessing_fork::TestPool::test_imap`), each keeping the assertions of
//! the original that have a counterpart here. Cases that start processes run once per start
//! method, as CPython runs `_test_multiprocessing.py` once per method.
//!
//! This binary has its own `main` (`harness = false`): a spawned child dispatches to its entry
//! first thing, and tests run on the main thread so that forking happens single-threaded
//! (nextest runs each test in a process of its own).
//!
//! Each area lives in its own module with its own registry of entry points and tasks; the table
//! in `docs/cpython-conformance.md` is generated from the cases' records.

mod case;
mod local;
mod pool;
mod process;
mod queue;
mod subprocess;
mod sync;

use libtest_mimic::{Arguments, Trial};

fn all_cases() -> Vec<case::Case> {
    [process::cases(), pool::cases(), sync::cases(), local::cases(), queue::cases(), subprocess::cases()].concat()
}

fn main() {
    procthread::dispatch_all(&[process::REGISTRY, pool::REGISTRY, sync::REGISTRY, queue::REGISTRY]);
    subprocess::run_tool_if_asked();
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let cases = all_cases();
    let mut trials: Vec<Trial> = cases.iter().flat_map(case::Case::trials).collect();
    trials.push(Trial::test("cpython::docs_table_is_current", move || case::doc_is_current(&cases)));
    libtest_mimic::run(&args, trials).exit();
}
