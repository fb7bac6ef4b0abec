//! `harness run --format json`: one JSON document, versioned by `schema`.
//!
//! ```text
//! {
//!   "schema": 1,                    bumped on any change a reader must know of
//!   "implementations": ["reference"],
//!   "cells": [ { "scenario", "backend", "implementation", "status", "elapsed_ms", "details",
//!                "divergence"?, "round" } ],   one per run made, in the order they ended
//!   "tests": [ { "name", "scenario", "backend", "implementation", "status", "counts" } ],
//!                                   one per run selected: its worst status over the rounds
//!   "orphans": ["snapshots/x@threads.cpython.snap"],
//!   "summary": { "runs", "pass", "held", "fail", "gone", "skipped", "flaky", "rounds", "jobs",
//!                "elapsed_ms", "passed" }
//! }
//! ```
//!
//! `status` is `pass`, `held`, `fail`, `gone` or `skipped`; `counts` has one number per status.
//! The document reads back as a [`crate::matrix::Matrix`] (its `implementations` and `cells`).
//!
//! `harness run --faults SEEDS --format json` writes a document of its own ([`FaultDocument`]):
//!
//! ```text
//! {
//!   "schema": 1, "kind": "faults", "seeds": "0..25",
//!   "runs": [ { "scenario", "backend", "implementation", "status", "elapsed_ms", "details",
//!               "seed", "plan" (null where none could be drawn), "fired", "replay" } ],
//!                                   one per fault run, by scenario, backend and seed
//!   "summary": { "runs", "pass", "fail", "skipped", "elapsed_ms", "passed" }
//! }
//! ```

use std::path::PathBuf;

use serde::Serialize;

use crate::conformance::{Cell, Status};
use crate::faults::Plan as FaultPlan;
use crate::faults::session::FaultRun;
use crate::session::{self, Counts, Finished, Plan};

/// The version of this document's shape.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Document {
    pub schema: u32,
    pub implementations: Vec<procthread_scenario::Implementation>,
    pub cells: Vec<Run>,
    pub tests: Vec<Test>,
    pub orphans: Vec<PathBuf>,
    pub summary: Summary,
}

/// One run made.
#[derive(Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub cell: Cell,
    pub round: u32,
}

/// One run selected, over its rounds.
#[derive(Debug, Serialize)]
pub struct Test {
    pub name: String,
    pub scenario: String,
    pub backend: procthread_scenario::Backend,
    pub implementation: procthread_scenario::Implementation,
    pub status: Status,
    pub counts: Counts,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// Runs made (selected runs times rounds, fewer if `--until-fail` stopped early).
    pub runs: u32,
    pub pass: u32,
    pub held: u32,
    pub fail: u32,
    pub gone: u32,
    pub skipped: u32,
    /// Selected runs that failed in some rounds and not in others.
    pub flaky: u32,
    pub rounds: u32,
    pub jobs: usize,
    /// Wall-clock time of the whole `harness run`.
    pub elapsed_ms: u128,
    /// No failure and no orphan snapshot: the exit code is 0.
    pub passed: bool,
}

/// The document for a finished session.
pub fn document(
    plan: &Plan,
    finished: &[Finished],
    orphans: &[PathBuf],
    rounds: u32,
    jobs: usize,
    elapsed: std::time::Duration,
) -> Document {
    let mut totals = Counts::default();
    for f in finished {
        totals.add(f.cell.status);
    }
    let per_job = session::per_job(plan, finished);
    let tests: Vec<Test> = plan
        .jobs
        .iter()
        .zip(&per_job)
        .filter(|(_, (c, _))| c.total() > 0)
        .map(|(j, (counts, _))| Test {
            name: plan.test_name(j),
            scenario: plan.scenarios[j.scenario].name.clone(),
            backend: j.backend,
            implementation: j.implementation,
            status: counts.worst(),
            counts: counts.clone(),
        })
        .collect();
    let flaky = tests.iter().filter(|t| t.counts.flaky()).count() as u32;
    Document {
        schema: SCHEMA,
        implementations: plan.implementations(),
        cells: finished.iter().map(|f| Run { cell: f.cell.clone(), round: f.round }).collect(),
        orphans: orphans.to_vec(),
        summary: Summary {
            runs: totals.total(),
            pass: totals.pass,
            held: totals.held,
            fail: totals.fail,
            gone: totals.gone,
            skipped: totals.skipped,
            flaky,
            rounds,
            jobs,
            elapsed_ms: elapsed.as_millis(),
            passed: totals.failures() == 0 && orphans.is_empty(),
        },
        tests,
    }
}

/// `harness run --faults SEEDS --format json`.
#[derive(Debug, Serialize)]
pub struct FaultDocument {
    pub schema: u32,
    /// Always `faults`: tells this document from a `harness run` one.
    pub kind: &'static str,
    /// The seeds asked for, as given (`7`, `0..25`).
    pub seeds: String,
    pub runs: Vec<FaultRunOut>,
    pub summary: FaultSummary,
}

/// One fault run.
#[derive(Debug, Serialize)]
pub struct FaultRunOut {
    #[serde(flatten)]
    pub cell: Cell,
    pub seed: u64,
    /// What was injected where (none when the scenario offered no point to draw).
    pub plan: Option<FaultPlan>,
    /// Whether the fault fired (a run that never reached its point is judged as a normal run).
    pub fired: bool,
    /// The command that makes this run again.
    pub replay: String,
}

#[derive(Debug, Serialize)]
pub struct FaultSummary {
    pub runs: u32,
    pub pass: u32,
    pub fail: u32,
    pub skipped: u32,
    /// Wall-clock time of the whole `harness run`.
    pub elapsed_ms: u128,
    /// No failure: the exit code is 0.
    pub passed: bool,
}

/// The document for finished fault runs, in the order given; `replay` makes each run's replay
/// command.
pub fn fault_document(
    seeds: String,
    runs: &[FaultRun],
    elapsed: std::time::Duration,
    replay: impl Fn(&FaultRun) -> String,
) -> FaultDocument {
    let mut totals = Counts::default();
    runs.iter().for_each(|r| totals.add(r.cell.status));
    FaultDocument {
        schema: SCHEMA,
        kind: "faults",
        seeds,
        runs: runs
            .iter()
            .map(|r| FaultRunOut {
                cell: r.cell.clone(),
                seed: r.job.seed,
                plan: r.plan.clone(),
                fired: r.fired,
                replay: replay(r),
            })
            .collect(),
        summary: FaultSummary {
            runs: totals.total(),
            pass: totals.pass,
            fail: totals.failures(),
            skipped: totals.skipped,
            elapsed_ms: elapsed.as_millis(),
            passed: totals.failures() == 0,
        },
    }
}
