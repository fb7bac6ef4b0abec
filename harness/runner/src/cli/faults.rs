//! `harness run --faults SEEDS`: fault runs of the scenarios that declare `[faults]`, each seed's
//! plan printed on its run's line (so that any run can be replayed from it), each failure with
//! the command that replays it; in JUnit XML (`--junit FILE`) or JSON (`--format json`) too if
//! asked.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use procthread_harness::conformance::Status;
use procthread_harness::faults::{Seeds, session};
use procthread_harness::results::{human, json, junit};
use procthread_harness::select::{Candidate, Filter};
use procthread_harness::session::Counts;
use procthread_scenario::{Implementation, Scenario};

use super::args::{ImplArg, Paths};

/// The reports for programs asked for beside the lines for people.
pub struct Machine<'a> {
    /// JUnit XML, written to this file.
    pub junit: Option<&'a Path>,
    /// One JSON document on stdout; the lines for people then go to stderr.
    pub json: bool,
}

pub fn main(
    seeds: &Seeds,
    scenarios: Vec<Scenario>,
    filter: &Filter,
    implementations: &[ImplArg],
    jobs: Option<usize>,
    machine: Machine<'_>,
    paths: &Paths,
) -> Result<ExitCode> {
    if implementations.iter().any(|i| *i != ImplArg::Reference) {
        bail!("--faults runs the reference only: its fault points are in the Rust crate (CPython has none)");
    }
    let without = scenarios.iter().filter(|s| s.faults.is_none()).count();
    let scenarios: Vec<Scenario> = scenarios.into_iter().filter(|s| s.faults.is_some()).collect();
    if scenarios.is_empty() {
        bail!(
            "no selected scenario has a [faults] table (docs/reliability.md, \"Fault injection\"), so none runs with faults"
        );
    }
    let accepts = |s: &Scenario, backend| {
        filter.accepts(Candidate { scenario: &s.name, backend, implementation: Implementation::Reference })
    };
    let fault_jobs = session::jobs(&scenarios, accepts, seeds.iter());
    if fault_jobs.is_empty() {
        bail!("no fault run matches the filters given (`harness list` shows each scenario's backends)");
    }
    let harness = std::env::current_exe()?;
    procthread_harness::supervise::install_interrupt_handler()?;
    let at_once = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    // Lines for people go to stdout, or to stderr when stdout carries JSON.
    let lines =
        || -> Box<dyn Write> { if machine.json { Box::new(anstream::stderr()) } else { Box::new(anstream::stdout()) } };
    let mut out = lines();
    let plural = if matches!(seeds, Seeds::Range(_)) { "s" } else { "" };
    writeln!(
        out,
        "    Starting {} fault runs: seed{plural} {seeds} in {} scenario(s) with [faults] ({} at once); {} without are not run",
        fault_jobs.len(),
        scenarios.len(),
        at_once.min(fault_jobs.len()),
        without
    )?;
    let replay = |r: &session::FaultRun| {
        let command = session::replay_command(&r.cell.scenario, r.cell.backend, r.job.seed);
        format!("{command}{}", paths.as_options())
    };
    let started = Instant::now();
    let mut finished = session::run(&harness, &scenarios, &fault_jobs, at_once, |r| {
        let name = format!("fault::{}::{}::seed-{}", r.cell.scenario, r.cell.backend, r.job.seed);
        let mut text = human::line(&r.cell, &name, 1, 1);
        if let Some(plan) = &r.plan {
            text.push_str(&format!("\n      {plan}"));
            if !r.fired && r.cell.status != Status::Skipped {
                text.push_str("\n      (its point was not reached: judged as a normal run)");
            }
        }
        let replay = replay(r);
        // A pass's checks are many and the same every seed: its line and plan say enough.
        let mut details = if r.cell.status == Status::Pass { String::new() } else { human::details(&r.cell, None) };
        if r.cell.status.is_failure() {
            details.push_str(&format!("    replay: {replay}\n"));
        }
        let _ = write!(out, "{text}\n{details}");
        let _ = out.flush();
    });
    // From here on, in the order of scenario, backend and seed (they ended in any order).
    finished.sort_by_key(|r| (r.job.scenario, r.job.backend, r.job.seed));
    let mut totals = Counts::default();
    finished.iter().for_each(|r| totals.add(r.cell.status));
    let failed: Vec<String> = finished
        .iter()
        .filter(|r| r.cell.status.is_failure())
        .map(|r| {
            let at =
                r.plan.as_ref().map_or_else(String::new, |p| format!(" ({} `{}` at {})", p.action, p.target, p.at));
            format!("seed {} of {} on {}{at}", r.job.seed, r.cell.scenario, r.cell.backend)
        })
        .collect();
    let mut out = lines();
    writeln!(
        out,
        "------------\n     Summary [{:>8.3}s] {} fault runs: {} passed, {} failed, {} skipped",
        started.elapsed().as_secs_f64(),
        totals.total(),
        totals.pass,
        totals.failures(),
        totals.skipped
    )?;
    for f in &failed {
        writeln!(out, "        FAIL {f}")?;
    }
    let elapsed = started.elapsed();
    if let Some(file) = machine.junit {
        let xml = junit::fault_report(&finished, elapsed, replay).to_string().context("cannot write JUnit XML")?;
        std::fs::write(file, xml).with_context(|| format!("cannot write {}", file.display()))?;
    }
    if machine.json {
        let doc = json::fault_document(seeds.to_string(), &finished, elapsed, replay);
        writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
