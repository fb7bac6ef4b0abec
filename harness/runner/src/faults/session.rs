//! The fault runs of a `harness run --faults SEEDS`: per selected scenario that has a `[faults]`
//! table, per backend, per seed, one run of the reference with the seed's plan, judged by
//! [`super::verdict`]. A seed whose plan cannot be drawn on a backend (nothing the scenario
//! targets can be hit there, such as a kill where actors are threads) is skipped with the reason.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use procthread_scenario::{Applicability, Backend, Implementation, Scenario};

use super::inject::PLAN_ENV;
use super::plan::{self, Plan};
use super::verdict;
use crate::conformance::{Cell, Status};
use crate::implementation::Executor;

/// One fault run to make.
#[derive(Debug, Clone)]
pub struct FaultJob {
    /// Index in the scenarios given to [`run`].
    pub scenario: usize,
    pub backend: Backend,
    pub applies: Applicability,
    pub seed: u64,
}

/// One fault run made: its cell (status, time, details) and the plan it ran, if one was drawn.
#[derive(Debug, Clone)]
pub struct FaultRun {
    pub job: FaultJob,
    pub plan: Option<Plan>,
    /// Whether the fault fired (a run that never reached its point is judged as a normal run).
    pub fired: bool,
    pub cell: Cell,
}

/// The jobs: each scenario with `[faults]` on each backend that applies and `accepts` takes,
/// each seed.
pub fn jobs(
    scenarios: &[Scenario],
    accepts: impl Fn(&Scenario, Backend) -> bool,
    seeds: impl Iterator<Item = u64> + Clone,
) -> Vec<FaultJob> {
    let mut out = Vec::new();
    for (i, s) in scenarios.iter().enumerate().filter(|(_, s)| s.faults.is_some()) {
        for (backend, applies) in procthread_scenario::applicable(s, cfg!(unix)) {
            if !accepts(s, backend) {
                continue;
            }
            for seed in seeds.clone() {
                out.push(FaultJob { scenario: i, backend, applies: applies.clone(), seed });
            }
        }
    }
    out
}

/// Makes one fault run and judges it.
pub fn run_one(harness: &Path, scenario: &Scenario, job: &FaultJob) -> FaultRun {
    let mut cell = Cell {
        scenario: scenario.name.clone(),
        backend: job.backend,
        implementation: Implementation::Reference,
        status: Status::Skipped,
        elapsed_ms: None,
        details: Vec::new(),
        divergence: None,
    };
    let done = |cell, plan| FaultRun { job: job.clone(), plan, fired: false, cell };
    if let Applicability::SkippedOnThisOs(why) | Applicability::NotApplicable(why) = &job.applies {
        cell.details.push(why.clone());
        return done(cell, None);
    }
    let plan = match plan::plan(scenario, job.backend, job.seed) {
        Ok(p) => p,
        Err(e) => {
            cell.details.push(e.to_string());
            return done(cell, None);
        }
    };
    let started = Instant::now();
    let text = match serde_json::to_string(&plan) {
        Ok(t) => t,
        Err(e) => {
            (cell.status, cell.details) = (Status::Fail, vec![format!("cannot pass the plan on: {e}")]);
            return done(cell, Some(plan));
        }
    };
    let record =
        crate::run::run_isolated_env(&Executor::reference(harness), scenario, job.backend, &[(PLAN_ENV, &text)]);
    cell.elapsed_ms = Some(started.elapsed().as_millis());
    let record = match record {
        Ok(r) => r,
        Err(e) => {
            (cell.status, cell.details) = (Status::Fail, vec![format!("the run could not be made: {e}")]);
            return done(cell, Some(plan));
        }
    };
    let v = verdict::judge(scenario, job.backend, &record, &plan);
    let fired = verdict::hit(&record).is_some();
    if v.passed() {
        cell.status = Status::Pass;
        cell.details = v.checks;
    } else {
        cell.status = Status::Fail;
        cell.details = v.failures;
        if !record.stderr_tail.trim().is_empty() {
            cell.details.push(format!("executor stderr (end):\n{}", record.stderr_tail.trim_end()));
        }
    }
    FaultRun { fired, ..done(cell, Some(plan)) }
}

/// Makes the jobs `jobs_at_once` at a time, calling `report` on this thread as each ends;
/// returns them in the order they ended.
pub fn run(
    harness: &Path,
    scenarios: &[Scenario],
    jobs: &[FaultJob],
    jobs_at_once: usize,
    mut report: impl FnMut(&FaultRun),
) -> Vec<FaultRun> {
    let next = Mutex::new(0usize);
    let (tx, rx) = std::sync::mpsc::channel::<FaultRun>();
    let mut done = Vec::with_capacity(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs_at_once.clamp(1, jobs.len().max(1)) {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                loop {
                    let n = {
                        let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                        if *next >= jobs.len() {
                            return;
                        }
                        *next += 1;
                        *next - 1
                    };
                    let job = &jobs[n];
                    if tx.send(run_one(harness, &scenarios[job.scenario], job)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for r in rx {
            report(&r);
            done.push(r);
        }
    });
    done
}

/// The command that makes one fault run again: the same seed replays the same plan.
pub fn replay_command(scenario: &str, backend: Backend, seed: u64) -> String {
    format!("harness run --faults {seed} --scenario {scenario} --backend {backend}")
}
