//! The CPython executor's own tests, and how the runner holds CPython to its declarations:
//!
//! - `cpython::unittest`: the executor's Python unit tests (`harness/cpython/tests/`);
//! - `cpython::step-lines::NAME`: for every scenario, the executor finds each step on the line the
//!   Rust parser reports (failures and hangs name steps by line);
//! - `cpython::divergence::*`: a declared divergence that does not happen is reported.
//!
//! Without a Python 3.11 or later they are ignored with the reason, except under CI (`CI=true`),
//! where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use procthread_harness::conformance::{self, Status};
use procthread_harness::implementation::{self, Availability, Executor, Python};
use procthread_harness::run;
use procthread_scenario::{Backend, Implementation, Scenario, walk};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

type Check = fn(&Python) -> Result<(), Failed>;
/// A check that needs a Python, by name.
type Named = (String, Box<dyn FnOnce(&Python) -> Result<(), Failed> + Send>);

fn main() {
    let args = Arguments::from_args();
    let mut checks: Vec<Named> = vec![
        ("cpython::unittest".into(), Box::new(unittest as Check)),
        ("cpython::divergence::one-that-stops-happening-is-reported".into(), Box::new(stale_expectation as Check)),
        ("cpython::divergence::a-declared-hang-that-ends-is-reported".into(), Box::new(stale_hang as Check)),
    ];
    for file in procthread_scenario::discover(&workspace().join("scenarios")).expect("scenarios/ is readable") {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        checks.push((format!("cpython::step-lines::{stem}"), Box::new(move |py: &Python| step_lines(py, &file))));
    }
    let trials = checks
        .into_iter()
        .map(|(name, check)| match implementation::cpython_availability() {
            Availability::Ready(py) => {
                let py = py.clone();
                Trial::test(name, move || check(&py))
            }
            Availability::Skip(why) => {
                let why = why.clone();
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why))).with_ignored_flag(true)
            }
            Availability::Fail(why) => {
                let why = why.clone();
                Trial::test(name, move || Err(why.into()))
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn unittest(py: &Python) -> Result<(), Failed> {
    let dir = implementation::cpython_dir();
    let mut cmd = Command::new(&py.path);
    cmd.args(["-m", "unittest", "discover", "-s", "tests", "-t", "."]).current_dir(&dir);
    implementation::python_env(&mut cmd, &dir);
    let out = cmd.output()?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).into())
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct StepLine {
    actor: String,
    line: usize,
    verb: String,
}

fn step_lines(py: &Python, file: &Path) -> Result<(), Failed> {
    let scenario = procthread_scenario::load(file)?;
    let want: Vec<StepLine> = scenario
        .actors
        .iter()
        .flat_map(|a| {
            walk(&a.steps).into_iter().map(|s| StepLine {
                actor: a.name.clone(),
                line: s.line,
                verb: s.kind.verb().into(),
            })
        })
        .collect();
    let dir = implementation::cpython_dir();
    let mut cmd = Command::new(&py.path);
    cmd.args(["-m", "procthread_cpython", "lines"]).arg(file);
    implementation::python_env(&mut cmd, &dir);
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let mut got: Vec<StepLine> = serde_json::from_slice(&out.stdout)?;
    // The Rust model lists `main` first; the executor lists actors in file order.
    got.sort_by_key(|s| s.actor != "main");
    if got == want {
        return Ok(());
    }
    Err(format!("lines differ:\nRust:   {want:?}\nPython: {got:?}").into())
}

/// Runs `src` on both implementations with snapshots from its reference run; returns the
/// CPython run's status and details.
fn conformance_of(py: &Python, src: &str, backend: Backend) -> Result<(Status, Vec<String>), Failed> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("stale.toml");
    std::fs::write(&file, src)?;
    let scenario = procthread_scenario::load(&file)?;
    let harness = Path::new(env!("CARGO_BIN_EXE_harness"));
    // The reference's reviewed snapshot, as `snapshots/` would hold it.
    let record = run::run_isolated(harness, &scenario, backend)?;
    let reference = conformance::as_reference(&scenario, backend, &record, dir.path());
    if !reference.verdict.passed() {
        return Err(format!("the reference run fails: {:?}", reference.verdict.failures).into());
    }
    std::fs::write(
        dir.path().join(format!("{}.snap", reference.snapshot)),
        format!("---\nsource: test\n---\n{}", reference.trace),
    )?;
    let to_run = scenario_for(&scenario, backend);
    let record = run::run_isolated_with(&Executor::cpython(py, harness), &to_run, backend)?;
    let out = conformance::evaluate(&scenario, backend, Implementation::Cpython, &record, dir.path());
    Ok((out.status, out.details))
}

fn scenario_for(s: &Scenario, backend: Backend) -> Scenario {
    s.divergence(Implementation::Cpython, backend).map_or_else(|| s.clone(), |d| s.diverged(d))
}

/// Declares that CPython ends with another balance than the reference; it does not.
fn stale_expectation(py: &Python) -> Result<(), Failed> {
    let src = r#"
[resources]
balance = "variable"
[actors.main]
steps = [ { add = "balance", amount = 2 }, { read = "balance" } ]
[expect]
variables = { balance = 2 }
[divergence.cpython]
reason = "declared once, when CPython added twice (it no longer does)"
source = "https://example.org/fixed-long-ago"
backends = ["thread"]
expect = { variables = { balance = 4 } }
"#;
    let (status, details) = conformance_of(py, src, Backend::Thread)?;
    if status != Status::Gone {
        return Err(format!("expected the stale divergence to be reported, got {status:?}: {details:?}").into());
    }
    let want = "the divergence declared for cpython did not happen: the run agrees with the reference (stale@threads)";
    if !details.iter().any(|d| d.starts_with(want)) {
        return Err(format!("unexpected details: {details:?}").into());
    }
    Ok(())
}

/// Declares that CPython hangs where it does not.
fn stale_hang(py: &Python) -> Result<(), Failed> {
    let src = r#"
[actors.main]
steps = [ { start = "child" }, { join = "child" } ]
[actors.child]
steps = [ { print = "done" } ]
[divergence.cpython]
reason = "declared when a join hung"
source = "https://example.org/hang"
hang = { main = "join" }
timeout_ms = 20000
"#;
    let (status, details) = conformance_of(py, src, Backend::Spawn)?;
    if status != Status::Gone || !details[0].contains("did not happen") {
        return Err(format!("expected the stale hang to be reported, got {status:?}: {details:?}").into());
    }
    Ok(())
}
