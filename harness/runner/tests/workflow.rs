//! The GitHub Actions workflow is valid YAML with the expected matrix, and its steps are the
//! same scripts `.ci/run` uses (no logic lives only in YAML).

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn workflow() -> Yaml {
    let text = std::fs::read_to_string(root().join(".github/workflows/ci.yml")).expect("workflow file");
    let mut docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

#[test]
fn matrix_covers_linux_macos_and_windows() {
    let wf = workflow();
    let job = &wf["jobs"]["test"];
    let oses: Vec<&str> =
        job["strategy"]["matrix"]["os"].as_vec().expect("matrix.os").iter().filter_map(Yaml::as_str).collect();
    assert_eq!(oses, ["ubuntu-latest", "macos-latest", "windows-latest"]);
    assert_eq!(job["runs-on"].as_str(), Some("${{ matrix.os }}"));
    assert_eq!(job["strategy"]["fail-fast"].as_bool(), Some(false));
    assert!(wf["on"]["push"].as_hash().is_some() && !wf["on"]["pull_request"].is_badvalue());
}

#[test]
fn steps_are_the_ci_scripts_and_ci_run_uses_them_too() {
    let wf = workflow();
    let steps = wf["jobs"]["test"]["steps"].as_vec().expect("steps");
    for step in steps {
        let has_uses = step["uses"].as_str().is_some();
        let has_run = step["run"].as_str().is_some();
        assert!(has_uses != has_run, "each step either uses an action or runs a command: {step:?}");
    }
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).map(str::trim).collect();
    assert_eq!(
        runs,
        [
            "bash ci/lint.sh",
            "bash ci/doc.sh",
            "bash ci/test.sh",
            "bash ci/faults.sh",
            "bash ci/conformance.sh",
            "bash ci/report-gate.sh"
        ]
    );
    let faults = steps.iter().find(|s| s["run"].as_str() == Some("bash ci/faults.sh")).expect("the fault runs");
    assert_eq!(
        faults["if"].as_str(),
        Some("runner.os == 'Linux'"),
        "fault runs on Linux, where the leftover check works"
    );
    let ci_run = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    for run in runs {
        let script = run.trim_start_matches("bash ");
        assert!(root().join(script).is_file(), "{script} exists");
        assert!(ci_run.contains(run), ".ci/run also runs `{run}`");
    }
    let uploads: Vec<&Yaml> =
        steps.iter().filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact"))).collect();
    assert_eq!(uploads.len(), 1, "the report and gate table are uploaded");
    let paths = uploads[0]["with"]["path"].as_str().unwrap_or_default();
    assert!(paths.contains("target/ci-report/") && paths.contains("junit.xml"), "{paths}");
    assert!(paths.contains("target/faults-junit.xml"), "the fault runs' JUnit: {paths}");
}

/// CPython's runs need Python 3.11 or later (`tomllib`), set up before the steps that run them
/// (the tests and the conformance matrix), on every OS of the matrix.
#[test]
fn python_3_11_or_later_is_set_up_before_the_cpython_runs() {
    let wf = workflow();
    let steps = wf["jobs"]["test"]["steps"].as_vec().expect("steps");
    let at = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred);
    let python =
        at(&|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/setup-python"))).expect("setup-python");
    let version = steps[python]["with"]["python-version"].as_str().expect("a python-version");
    let (major, minor) = version.split_once('.').expect("MAJOR.MINOR");
    let (major, minor): (u32, u32) = (major.parse().expect("major"), minor.parse().expect("minor"));
    assert!((major, minor) >= (3, 11), "Python {version} has no tomllib");
    for script in ["bash ci/test.sh", "bash ci/conformance.sh"] {
        let run = at(&|s| s["run"].as_str().map(str::trim) == Some(script)).expect(script);
        assert!(python < run, "Python is set up before `{script}`");
    }
}

#[test]
fn every_job_has_a_time_limit_and_runs_are_not_piled_up() {
    let wf = workflow();
    let jobs = wf["jobs"].as_hash().expect("jobs");
    for (name, job) in jobs {
        assert!(job["timeout-minutes"].as_i64().is_some(), "job {name:?} has timeout-minutes");
    }
    assert_eq!(wf["concurrency"]["cancel-in-progress"].as_bool(), Some(true));
    let msrv = &wf["jobs"]["msrv"]["steps"];
    let runs: Vec<&str> = msrv.as_vec().expect("msrv steps").iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.contains(&"bash ci/msrv.sh"), "{runs:?}");
}

#[test]
fn nextest_ci_profile_writes_junit() {
    let text = std::fs::read_to_string(root().join(".config/nextest.toml")).expect("nextest config");
    let cfg: toml::Table = toml::from_str(&text).expect("valid TOML");
    let junit = &cfg["profile"]["ci"]["junit"]["path"];
    assert_eq!(junit.as_str(), Some("junit.xml"));
}
