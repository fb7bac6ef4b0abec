//! One test per scenario and backend, discovered from `scenarios/` (subfolders included) when
//! this binary starts: `scenario::queue-ipc::spawn`, `scenario::cpython/lock_tests/...::thread`.
//! Each runs in a fresh executor, must pass its scenario's checks, and must match its reviewed
//! snapshot in `snapshots/` (`NAME@threads` or `NAME@processes`, in the scenario's subfolder).
//! A backend this OS lacks shows as ignored (`harness list` gives the reason).
//!
//! Beside each, `scenario::queue-ipc::spawn::cpython` runs the same scenario on CPython (the
//! executor in `harness/cpython/`) and holds it to the same snapshot, or to the divergence the
//! scenario declares (`NAME@FAMILY.cpython.snap`). Without a Python 3.11 or later these are
//! ignored with the reason, except under CI (`CI=true`), where they fail.
//!
//! Also here: scenarios that declare nondeterminism give one trace over 20 runs
//! (`normalization::...`), and the command line's handling of scenario files (`cli::...`).

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use procthread_harness::conformance::{self, Status};
use procthread_harness::implementation::{self, Availability, Executor, Python};
use procthread_harness::{outcome, run, snapshots};
use procthread_scenario::{Applicability, Backend, Implementation, Scenario};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn harness() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_harness"))
}

/// Scenarios whose traces would vary from run to run without their declarations
/// (`nondeterministic`, `received_unordered`), and the backend each is run 20 times on.
const NONDETERMINISTIC: [(&str, Backend); 2] =
    [("nondeterminism", Backend::Thread), ("producers-consumers", Backend::Spawn)];

fn main() {
    let args = Arguments::from_args();
    let dir = workspace().join("scenarios");
    let mut trials = Vec::new();
    let mut loaded = Vec::new();
    for file in procthread_scenario::discover(&dir).expect("scenarios/ is readable") {
        let name = procthread_scenario::name_in(&dir, &file);
        let scenario = match procthread_scenario::load_in(&dir, &file) {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                trials.push(Trial::test(format!("scenario::{name}::parse"), move || Err(msg.into())));
                continue;
            }
        };
        for (backend, applies) in procthread_harness::hosts::applicable(&scenario) {
            let s = scenario.clone();
            let skipped = matches!(applies, Applicability::SkippedOnThisOs(_));
            let trial = Trial::test(format!("scenario::{}::{backend}", s.name), move || check(&s, backend));
            trials.push(trial.with_ignored_flag(skipped));
            trials.push(cpython_trial(&scenario, backend, skipped));
        }
        if let Some((_, backend)) = NONDETERMINISTIC.iter().find(|(n, _)| *n == name) {
            let (s, b) = (scenario.clone(), *backend);
            trials.push(Trial::test(format!("normalization::one_trace_in_20_runs::{name}::{b}"), move || {
                one_trace(&s, b, 20)
            }));
        }
        loaded.push(scenario);
    }
    trials.push(Trial::test("cli::run_one_scenario_beside_an_invalid_file", run_beside_invalid));
    trials.push(Trial::test("cli::show_takes_a_file_and_names_a_missing_one_once", show_by_file));
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
/// that a missing Python fails under CI), and where the scenario uses what CPython's executor
/// lacks.
fn cpython_trial(scenario: &Scenario, backend: Backend, os_lacks_backend: bool) -> Trial {
    let name = format!("scenario::{}::{backend}::cpython", scenario.name);
    // What the CPython executor lacks (`implementation::CPYTHON_LACKS`), as `harness run` says it.
    if let Some(why) = implementation::cpython_lacks(scenario) {
        return Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why))).with_ignored_flag(true);
    }
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
        assert_trace(scenario, &judged.file, &judged.trace);
    }
    match outcome.status {
        Status::Pass | Status::Held | Status::Skipped => Ok(()),
        Status::Fail | Status::Gone => Err(outcome.details.join("\n").into()),
    }
}

/// Compares `trace` with the snapshot file `file` (`DIR/NAME.snap`) through insta, which
/// proposes a `.snap.new` beside it.
fn assert_trace(scenario: &Scenario, file: &Path, trace: &str) {
    let folder = file.parent().map_or_else(|| workspace().join("snapshots"), Path::to_path_buf);
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // Settings are per thread: bind them where the assertion runs.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(folder);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&scenario.path);
    settings.bind(|| insta::assert_snapshot!(name, trace));
}

fn check(scenario: &Scenario, backend: Backend) -> Result<(), Failed> {
    let record = run::run_isolated(harness(), scenario, backend)?;
    let verdict = outcome::judge(scenario, backend, &record);
    if !verdict.passed() {
        return Err(verdict.failures.join("\n").into());
    }
    let trace = outcome::normalize(scenario, backend, &record, &verdict);
    assert_trace(scenario, &snapshots::path(&workspace().join("snapshots"), &scenario.name, backend), &trace);
    Ok(())
}

/// Runs `times` times: every run passes and every normalized trace is the same.
fn one_trace(scenario: &Scenario, backend: Backend, times: usize) -> Result<(), Failed> {
    let mut first: Option<String> = None;
    for i in 1..=times {
        let record = run::run_isolated(harness(), scenario, backend)?;
        let verdict = outcome::judge(scenario, backend, &record);
        if !verdict.passed() {
            return Err(format!("run {i}: {}", verdict.failures.join("\n")).into());
        }
        let trace = outcome::normalize(scenario, backend, &record, &verdict);
        match &first {
            None => first = Some(trace),
            Some(f) if *f != trace => {
                return Err(format!("run {i} gave another trace:\n--- run 1\n{f}\n--- run {i}\n{trace}").into());
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("procthread-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `harness run --scenario X` runs X even when another file of the directory is broken.
fn run_beside_invalid() -> Result<(), Failed> {
    let dir = temp_dir("run");
    std::fs::write(dir.join("good.toml"), "[actors.main]\nsteps = [ { print = \"hi\" } ]\n")?;
    std::fs::write(dir.join("broken.toml"), "[actors.main]\nsteps = [ { prnt = \"hi\" } ]\n")?;
    let out = Command::new(harness())
        .args(["run", "--dir"])
        .arg(&dir)
        .arg("--snapshots")
        .arg(dir.join("snapshots"))
        .args(["--scenario", "good", "--backend", "thread", "--accept-new"])
        .env_remove("CI")
        .output()?;
    let all = Command::new(harness()).args(["run", "--dir"]).arg(&dir).args(["--backend", "thread"]).output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() || !stdout.contains("good") || stderr.contains("broken") {
        return Err(format!("run --scenario good: {:?}\n{stdout}\n{stderr}", out.status).into());
    }
    // Without --scenario every file is read, and the broken one is reported.
    let all_err = String::from_utf8_lossy(&all.stderr);
    if all.status.success() || !all_err.contains("broken.toml:2:11: unknown step") {
        return Err(format!("run without --scenario: {:?}\n{all_err}", all.status).into());
    }
    Ok(())
}

/// `harness show FILE.toml` runs that file; a missing one is named once, with its cause once.
fn show_by_file() -> Result<(), Failed> {
    let root = workspace();
    let out = Command::new(harness())
        .current_dir(&root)
        .args(["show", "scenarios/process.toml", "--backend", "thread"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.starts_with("scenario: process (") {
        return Err(format!("show scenarios/process.toml: {:?}\n{stdout}", out.status).into());
    }
    let missing =
        Command::new(harness()).current_dir(&root).args(["show", "nosuch.toml", "--backend", "thread"]).output()?;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    let once = |needle: &str| stderr.matches(needle).count() == 1;
    if missing.status.success() || stderr.contains("nosuch.toml.toml") || !once("nosuch.toml: cannot read") {
        return Err(format!("show nosuch.toml: {:?}\n{stderr}", missing.status).into());
    }
    // The OS's wording differs (and Wine's differs from Windows'); its error code does not.
    if !once("(os error 2)") {
        return Err(format!("the cause is not given exactly once:\n{stderr}").into());
    }
    Ok(())
}
