//! One test per scenario and backend, discovered from `scenarios/` when this binary starts:
//! `scenario::queue-ipc::spawn`. Each runs in a fresh executor, must pass its scenario's checks,
//! and must match its reviewed snapshot in `snapshots/` (`NAME@threads` or `NAME@processes`).
//! A backend this OS lacks shows as ignored (`harness list` gives the reason).
//!
//! Beside each, `scenario::queue-ipc::spawn::cpython` runs the same scenario on CPython (the
//! executor in `harness/cpython/`) and holds it to the same snapshot, or to the divergence the
//! scenario declares (`NAME@FAMILY.cpython.snap`). Without a Python 3.11 or later these are
//! ignored with the reason, except under CI (`CI=true`), where they fail.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use procthread_harness::conformance::{self, Status};
use procthread_harness::implementation::{self, Availability, Executor, Python};
use procthread_harness::{outcome, run, snapshots};
use procthread_scenario::{Applicability, Backend, Implementation, Scenario};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn main() {
    let args = Arguments::from_args();
    let dir = workspace().join("scenarios");
    let mut trials = Vec::new();
    let mut loaded = Vec::new();
    for file in procthread_scenario::discover(&dir).expect("scenarios/ is readable") {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let scenario = match procthread_scenario::load(&file) {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                trials.push(Trial::test(format!("scenario::{stem}::parse"), move || Err(msg.into())));
                continue;
            }
        };
        for (backend, applies) in procthread_scenario::applicable(&scenario, cfg!(unix)) {
            let s = scenario.clone();
            let skipped = matches!(applies, Applicability::SkippedOnThisOs(_));
            let trial = Trial::test(format!("scenario::{}::{backend}", s.name), move || check(&s, backend));
            trials.push(trial.with_ignored_flag(skipped));
            trials.push(cpython_trial(&scenario, backend, skipped));
        }
        loaded.push(scenario);
    }
    trials.push(Trial::test("snapshots::each-implementation-snapshot-has-a-divergence", move || {
        let orphans = conformance::orphan_snapshots(&workspace().join("snapshots"), &loaded)?;
        match orphans.as_slice() {
            [] => Ok(()),
            o => Err(format!(
                "per-implementation snapshots without a declared divergence (remove them, or declare one): {o:?}"
            )
            .into()),
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// `scenario::NAME::BACKEND::cpython`: ignored where the backend or Python is missing (except
/// that a missing Python fails under CI).
fn cpython_trial(scenario: &Scenario, backend: Backend, os_lacks_backend: bool) -> Trial {
    let name = format!("scenario::{}::{backend}::cpython", scenario.name);
    let s = scenario.clone();
    match implementation::cpython_availability() {
        Availability::Ready(python) => {
            let python = python.clone();
            Trial::test(name, move || check_cpython(&s, backend, &python)).with_ignored_flag(os_lacks_backend)
        }
        Availability::Skip(why) => {
            let why = why.clone();
            Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why))).with_ignored_flag(true)
        }
        Availability::Fail(why) => {
            let why = why.clone();
            Trial::test(name, move || Err(why.into())).with_ignored_flag(os_lacks_backend)
        }
    }
}

fn check_cpython(scenario: &Scenario, backend: Backend, python: &Python) -> Result<(), Failed> {
    let executor = Executor::cpython(python, Path::new(env!("CARGO_BIN_EXE_harness")));
    let divergence = scenario.divergence(Implementation::Cpython, backend);
    // A declared divergence may give CPython's run a timeout of its own (a declared hang).
    let to_run = divergence.map_or_else(|| scenario.clone(), |d| scenario.diverged(d));
    let record = run::run_isolated_with(&executor, &to_run, backend)?;
    let dir = workspace().join("snapshots");
    let outcome = conformance::evaluate(scenario, backend, Implementation::Cpython, &record, &dir);
    let judged = &outcome.judgement;
    if outcome.status == Status::Pass && judged.expected.is_none() {
        return Err(format!(
            "no reference snapshot {} to compare with: run the reference's test first",
            judged.snapshot
        )
        .into());
    }
    // A divergence's own snapshot is made and reviewed as the reference's are (INSTA_UPDATE=new).
    let own_snapshot_differs = judged.expected.as_deref().is_none_or(|e| !snapshots::same(e, &judged.trace));
    if divergence.is_some() && judged.verdict.passed() && own_snapshot_differs && outcome.status != Status::Gone {
        assert_trace(scenario, &judged.snapshot, &judged.trace);
    }
    match outcome.status {
        Status::Pass | Status::Held | Status::Skipped => Ok(()),
        Status::Fail | Status::Gone => Err(outcome.details.join("\n").into()),
    }
}

/// Compares `trace` with the snapshot `name` through insta, which proposes a `.snap.new`.
fn assert_trace(scenario: &Scenario, name: &str, trace: &str) {
    // Settings are per thread: bind them where the assertion runs.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&scenario.path);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), trace));
}

fn check(scenario: &Scenario, backend: Backend) -> Result<(), Failed> {
    let harness = Path::new(env!("CARGO_BIN_EXE_harness"));
    let record = run::run_isolated(harness, scenario, backend)?;
    let verdict = outcome::judge(scenario, backend, &record);
    if !verdict.passed() {
        return Err(verdict.failures.join("\n").into());
    }
    let trace = outcome::normalize(scenario, backend, &record, &verdict);
    // Settings are per thread: bind them where the assertion runs.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&scenario.path);
    settings.bind(|| insta::assert_snapshot!(snapshots::name(&scenario.name, backend), trace));
    Ok(())
}
