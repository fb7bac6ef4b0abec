//! A `harness run`: the runs a filter selects (scenario x backend x implementation), made on
//! `jobs` threads at once, each in its own isolated executor (see [`crate::run`]), repeated
//! `repeat` times or until one fails, each judged as under nextest: a missing snapshot is a
//! failure unless new snapshots are accepted (never under CI).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use procthread_scenario::{Applicability, Backend, Implementation, Scenario};

use crate::conformance::{self, Cell, Status};
use crate::implementation::{self, Availability, Executor};
use crate::select::{Candidate, Filter};
use crate::snapshots;

/// One run to make (each round makes it once).
#[derive(Debug, Clone)]
pub struct Job {
    /// Index in [`Plan::scenarios`].
    pub scenario: usize,
    pub backend: Backend,
    pub applies: Applicability,
    pub implementation: Implementation,
}

/// The selected scenarios and the runs to make of them, in scenario, backend, implementation
/// order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub scenarios: Vec<Scenario>,
    pub jobs: Vec<Job>,
}

impl Plan {
    /// Every run of `scenarios` the filter accepts: on each backend that applies (running here
    /// or skipped on this OS), by each implementation.
    pub fn new(scenarios: Vec<Scenario>, filter: &Filter) -> Plan {
        let mut jobs = Vec::new();
        for (i, s) in scenarios.iter().enumerate() {
            for (backend, applies) in crate::hosts::applicable(s) {
                for implementation in Implementation::ALL {
                    if filter.accepts(Candidate { scenario: &s.name, backend, implementation }) {
                        jobs.push(Job { scenario: i, backend, applies: applies.clone(), implementation });
                    }
                }
            }
        }
        Plan { scenarios, jobs }
    }

    /// The implementations that have runs in this plan, in their usual order.
    pub fn implementations(&self) -> Vec<Implementation> {
        Implementation::ALL.into_iter().filter(|i| self.jobs.iter().any(|j| j.implementation == *i)).collect()
    }

    /// The nextest name of a job's test: `scenario::NAME::BACKEND`, `...::cpython`.
    pub fn test_name(&self, job: &Job) -> String {
        test_name(&self.scenarios[job.scenario].name, job.backend, job.implementation)
    }
}

/// `scenario::NAME::BACKEND` for the reference, `scenario::NAME::BACKEND::IMPL` otherwise: the
/// names of the same runs under `cargo nextest run`.
pub fn test_name(scenario: &str, backend: Backend, implementation: Implementation) -> String {
    match implementation {
        Implementation::Reference => format!("scenario::{scenario}::{backend}"),
        other => format!("scenario::{scenario}::{backend}::{other}"),
    }
}

/// An implementation's executor, or why its runs cannot happen here: skipped, or failed under CI
/// where Python must be present.
pub type Ready = Result<Executor, (Status, String)>;

/// Each implementation's executor; `python` is `--python` (which must exist if given).
pub fn executors(
    implementations: &[Implementation],
    python: Option<&Path>,
    harness: &Path,
) -> Result<Vec<(Implementation, Ready)>, implementation::PythonError> {
    let mut out = Vec::new();
    for &i in implementations {
        let executor = match i {
            Implementation::Reference => Ok(Executor::reference(harness)),
            Implementation::Cpython => {
                let found = match python {
                    Some(p) => Availability::Ready(implementation::find_python(Some(p))?),
                    None => implementation::cpython_availability().clone(),
                };
                match found {
                    Availability::Ready(p) => Ok(Executor::cpython(&p, harness)),
                    Availability::Skip(why) => Err((Status::Skipped, why)),
                    Availability::Fail(why) => Err((Status::Fail, why)),
                }
            }
        };
        out.push((i, executor));
    }
    Ok(out)
}

/// How to make the runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs at once (at least 1).
    pub jobs: usize,
    /// Rounds: each run is made this many times (at least 1).
    pub repeat: u32,
    /// Start no run once one has failed.
    pub until_fail: bool,
    /// Write the snapshot of a run that has none (instead of failing it).
    pub accept_new: bool,
    pub snapshots: PathBuf,
}

/// Whether new snapshots may be written here: never under CI, where a missing snapshot is a
/// mistake to fix in the repository, not on the CI machine.
pub fn may_accept_new() -> bool {
    !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Index in [`Plan::jobs`].
    pub job: usize,
    /// 1-based.
    pub round: u32,
    pub cell: Cell,
}

/// Makes the plan's runs, `options.jobs` at a time, calling `report` on this thread as each
/// ends (so output stays one line per finished run); returns them all in the order they ended.
pub fn run(
    plan: &Plan,
    executors: &[(Implementation, Ready)],
    options: &Options,
    mut report: impl FnMut(&Finished),
) -> Vec<Finished> {
    let total = plan.jobs.len() * options.repeat as usize;
    let next = Mutex::new(0usize);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<Finished>();
    let mut done = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, total.max(1)) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    let n = {
                        let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                        if *next >= total || stop.load(Ordering::SeqCst) {
                            return;
                        }
                        *next += 1;
                        *next - 1
                    };
                    // Round after round: every run once before any run twice.
                    let (round, job) = (n / plan.jobs.len(), n % plan.jobs.len());
                    let executor = executors.iter().find(|(i, _)| *i == plan.jobs[job].implementation).map(|(_, e)| e);
                    let cell = cell(plan, &plan.jobs[job], executor, options);
                    if options.until_fail && cell.status.is_failure() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send(Finished { job, round: round as u32 + 1, cell }).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for finished in rx {
            report(&finished);
            done.push(finished);
        }
    });
    done
}

/// Makes one run and judges it.
fn cell(plan: &Plan, job: &Job, executor: Option<&Ready>, options: &Options) -> Cell {
    let s = &plan.scenarios[job.scenario];
    let (b, implementation) = (job.backend, job.implementation);
    let divergence = s.divergence(implementation, b);
    let mut cell = Cell {
        scenario: s.name.clone(),
        backend: b,
        implementation,
        status: Status::Skipped,
        elapsed_ms: None,
        details: Vec::new(),
        divergence: divergence
            .map(|d| conformance::DeclaredDivergence { reason: d.reason.clone(), source: d.source.clone() }),
    };
    let executor = match (&job.applies, executor) {
        (Applicability::SkippedOnThisOs(why) | Applicability::NotApplicable(why), _) => {
            cell.details.push(why.clone());
            return cell;
        }
        (_, None) => {
            (cell.status, cell.details) = (Status::Fail, vec![format!("no executor for {implementation}")]);
            return cell;
        }
        (_, Some(Err((status, why)))) => {
            (cell.status, cell.details) = (*status, vec![why.clone()]);
            return cell;
        }
        (Applicability::Runs, Some(Ok(executor))) => executor,
    };
    // A divergence may give its implementation's run a timeout of its own.
    let to_run = divergence.map_or_else(|| s.clone(), |d| s.diverged(d));
    let started = Instant::now();
    let record = match crate::run::run_isolated_with(executor, &to_run, b) {
        Ok(r) => r,
        Err(e) => {
            cell.status = Status::Fail;
            cell.elapsed_ms = Some(started.elapsed().as_millis());
            cell.details.push(format!("the run could not be made: {e}"));
            return cell;
        }
    };
    let outcome = conformance::evaluate(s, b, implementation, &record, &options.snapshots);
    (cell.status, cell.details, cell.elapsed_ms) = (outcome.status, outcome.details, Some(record.elapsed_ms));
    let judged = &outcome.judgement;
    if judged.verdict.passed() && judged.expected.is_none() && !cell.status.is_failure() {
        let file = judged.file.clone();
        cell.details.retain(|d| !d.starts_with("no snapshot at "));
        if options.accept_new {
            let input = s.path.to_string_lossy().replace('\\', "/");
            match snapshots::write_new(&file, &judged.trace, &input) {
                Ok(()) => cell
                    .details
                    .push(format!("wrote the new snapshot {} (read it before you commit it)", file.display())),
                Err(e) => {
                    cell.status = Status::Fail;
                    cell.details.push(format!("cannot write the new snapshot {}: {e}", file.display()));
                }
            }
        } else {
            cell.status = Status::Fail;
            cell.details.push(format!(
                "no snapshot at {}: `--accept-new` writes it from this run (read it before you commit it)",
                file.display()
            ));
        }
    }
    cell
}

/// How often each run came out over the rounds: its counts by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub pass: u32,
    pub held: u32,
    pub fail: u32,
    pub gone: u32,
    pub skipped: u32,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        *match status {
            Status::Pass => &mut self.pass,
            Status::Held => &mut self.held,
            Status::Fail => &mut self.fail,
            Status::Gone => &mut self.gone,
            Status::Skipped => &mut self.skipped,
        } += 1;
    }

    pub fn total(&self) -> u32 {
        self.pass + self.held + self.fail + self.gone + self.skipped
    }

    pub fn failures(&self) -> u32 {
        self.fail + self.gone
    }

    /// Some rounds failed and some did not.
    pub fn flaky(&self) -> bool {
        self.failures() > 0 && self.failures() < self.total() - self.skipped
    }

    /// The status that stands for every round: the first failure's, else pass or held.
    pub fn worst(&self) -> Status {
        if self.fail > 0 {
            Status::Fail
        } else if self.gone > 0 {
            Status::Gone
        } else if self.held > 0 {
            Status::Held
        } else if self.pass > 0 {
            Status::Pass
        } else {
            Status::Skipped
        }
    }
}

/// Per job (index in [`Plan::jobs`]): the counts over the rounds, and the first failed run's
/// cell (else the last run's), for reports that show one line per run.
pub fn per_job(plan: &Plan, finished: &[Finished]) -> Vec<(Counts, Option<Cell>)> {
    let mut out = vec![(Counts::default(), None::<Cell>); plan.jobs.len()];
    for f in finished {
        let (counts, shown) = &mut out[f.job];
        counts.add(f.cell.status);
        let keep_shown = shown.as_ref().is_some_and(|c| c.status.is_failure());
        if !keep_shown {
            *shown = Some(f.cell.clone());
        }
    }
    out
}

/// The total time of a set of runs, as their cells record it.
pub fn busy(finished: &[Finished]) -> Duration {
    Duration::from_millis(finished.iter().filter_map(|f| f.cell.elapsed_ms).sum::<u128>() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tell_a_flake_from_a_failure() {
        let mut c = Counts::default();
        for s in [Status::Pass, Status::Fail, Status::Pass] {
            c.add(s);
        }
        assert!(c.flaky() && c.failures() == 1 && c.worst() == Status::Fail && c.total() == 3);
        let mut all_bad = Counts::default();
        all_bad.add(Status::Gone);
        assert!(!all_bad.flaky() && all_bad.worst() == Status::Gone);
        assert_eq!(test_name("q", Backend::Spawn, Implementation::Cpython), "scenario::q::spawn::cpython");
        assert_eq!(test_name("q", Backend::ThreadPool, Implementation::Reference), "scenario::q::thread-pool");
    }
}
