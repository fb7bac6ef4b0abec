//! One test per scenario and backend, discovered from `scenarios/` when this binary starts:
//! `scenario::queue-ipc::spawn`. Each runs in a fresh executor, must pass its scenario's checks,
//! and must match its reviewed snapshot in `snapshots/` (`NAME@threads` or `NAME@processes`).
//! A backend this OS lacks shows as ignored (`harness list` gives the reason).

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use procthread_harness::{outcome, run, snapshots};
use procthread_scenario::{Applicability, Backend, Scenario};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn main() {
    let args = Arguments::from_args();
    let dir = workspace().join("scenarios");
    let mut trials = Vec::new();
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
        }
    }
    libtest_mimic::run(&args, trials).exit();
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
