//! `harness run --junit FILE`: JUnit XML as nextest writes it, for CI dashboards. One
//! `<testsuite>` per scenario, one `<testcase>` per backend and implementation (named as under
//! nextest: `spawn`, `spawn::cpython`, class `scenario::NAME`), with its time and, for a
//! failure, its reasons (the snapshot diff among them). A run repeated over rounds is one test
//! case: it fails if any round failed ("failed 2 of 10 runs"), each further failed round a
//! `<rerunFailure>` of it. Fault runs have a report of their own (`fault_report`).

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::conformance::{Cell, Status};
use crate::faults::session::FaultRun;
use crate::session::{Counts, Finished, Plan};

/// The report for a finished session.
pub fn report(plan: &Plan, finished: &[Finished], elapsed: Duration) -> Report {
    // Per job: its runs in round order.
    let mut runs: Vec<Vec<&Finished>> = vec![Vec::new(); plan.jobs.len()];
    for f in finished {
        runs[f.job].push(f);
    }
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for (job, mut made) in plan.jobs.iter().zip(runs) {
        if made.is_empty() {
            continue;
        }
        made.sort_by_key(|f| f.round);
        let scenario = plan.scenarios[job.scenario].name.as_str();
        let name = match job.implementation {
            procthread_scenario::Implementation::Reference => job.backend.to_string(),
            other => format!("{}::{other}", job.backend),
        };
        let mut counts = Counts::default();
        made.iter().for_each(|f| counts.add(f.cell.status));
        let failed: Vec<&Cell> = made.iter().map(|f| &f.cell).filter(|c| c.status.is_failure()).collect();
        let status = match failed.split_first() {
            Some((first, rest)) => {
                let ran = counts.total() - counts.skipped;
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let message = if ran > 1 {
                    format!("{}: failed {} of {ran} runs", word(first.status), failed.len())
                } else {
                    word(first.status).to_string()
                };
                s.set_message(message).set_type(first.status.label()).set_description(first.details.join("\n"));
                for c in rest {
                    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                    rerun.set_message(word(c.status)).set_description(c.details.join("\n"));
                    if let Some(ms) = c.elapsed_ms {
                        rerun.set_time(Duration::from_millis(ms as u64));
                    }
                    s.add_rerun(rerun);
                }
                s
            }
            None if counts.worst() == Status::Skipped => skipped(&made[0].cell),
            None => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("scenario::{scenario}"));
        let time: u128 = made.iter().filter_map(|f| f.cell.elapsed_ms).sum();
        case.set_time(Duration::from_millis(time as u64));
        if let Some(d) = made.iter().find_map(|f| f.cell.divergence.as_ref()) {
            case.set_system_out(format!("declared divergence: {} ({})", d.reason, d.source));
        }
        let suite = suites.entry(scenario).or_insert_with(|| TestSuite::new(scenario));
        suite.add_test_case(case);
    }
    assemble("harness-run", suites.into_values(), elapsed)
}

/// The report for finished fault runs (`harness run --faults SEEDS --junit FILE`): one
/// `<testsuite>` per scenario (`fault::NAME`), one `<testcase>` per backend and seed
/// (`spawn::seed-7`), its schedule as its output and, for a failure, its reasons and the command
/// that replays it (`replay` makes that command). Test cases keep the order of `runs`.
pub fn fault_report(runs: &[FaultRun], elapsed: Duration, replay: impl Fn(&FaultRun) -> String) -> Report {
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for r in runs {
        let cell = &r.cell;
        let status = if cell.status.is_failure() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let mut description = cell.details.clone();
            description.push(format!("replay: {}", replay(r)));
            s.set_message(word(cell.status)).set_type(cell.status.label()).set_description(description.join("\n"));
            s
        } else if cell.status == Status::Skipped {
            skipped(cell)
        } else {
            TestCaseStatus::success()
        };
        let suite_name = format!("fault::{}", cell.scenario);
        let mut case = TestCase::new(format!("{}::seed-{}", cell.backend, r.job.seed), status);
        case.set_classname(suite_name.clone());
        if let Some(ms) = cell.elapsed_ms {
            case.set_time(Duration::from_millis(ms as u64));
        }
        if let Some(plan) = &r.plan {
            let reached = if r.fired { "" } else { " (its point was not reached: judged as a normal run)" };
            case.set_system_out(format!("{plan}{reached}"));
        }
        suites.entry(suite_name.clone()).or_insert_with(|| TestSuite::new(suite_name)).add_test_case(case);
    }
    assemble("harness-run-faults", suites.into_values(), elapsed)
}

/// A skipped test case, with the reason its run gave first.
fn skipped(cell: &Cell) -> TestCaseStatus {
    let mut s = TestCaseStatus::skipped();
    if let Some(why) = cell.details.first() {
        s.set_message(why.as_str());
    }
    s
}

/// The report of `suites`, each timed as the sum of its test cases.
fn assemble(name: &str, suites: impl Iterator<Item = TestSuite>, elapsed: Duration) -> Report {
    let mut report = Report::new(name);
    report.set_time(elapsed);
    for mut suite in suites {
        let time: Duration = suite.test_cases.iter().filter_map(|c| c.time).sum();
        suite.set_time(time);
        report.add_test_suite(suite);
    }
    report
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Fail => "failed",
        Status::Gone => "declared divergence gone",
        Status::Pass => "passed",
        Status::Held => "held",
        Status::Skipped => "skipped",
    }
}
