//! `harness gate`, `compare` and `report --render-only --save-baseline` from the command line:
//! a malformed report or baseline is a clear error (exit 2), a passing comparison exits 0 and
//! writes its table, `--update` writes a baseline with intervals, a 20 % regression exits 1, a
//! named baseline is saved where `compare` finds it.

use std::path::Path;
use std::process::Command;

use procthread_bench::{output, synthetic};

fn harness() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

/// A synthetic report written into `dir` (report.json and the rest).
fn write_report(dir: &Path, reference_scale: f64) {
    let mut r = synthetic::report(1);
    if reference_scale != 1.0 {
        // A regression of the reference: every sample of its series in thread.start_join.
        let f = r.figures.iter_mut().find(|f| f.id == "thread.start_join").expect("figure");
        for s in f.series.iter_mut().filter(|s| s.label == "reference") {
            s.samples.iter_mut().for_each(|v| *v *= reference_scale);
        }
        r = procthread_bench::analyse::again(&r);
    }
    output::write(&r, dir).expect("writes");
}

#[test]
fn malformed_report_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let report = dir.path().join("report.json");
    std::fs::write(&report, "{ not json").expect("write");
    let out = harness()
        .args(["gate", "--report"])
        .arg(&report)
        .args(["--baseline", "ci/baselines/linux-x86_64.json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a harness report"), "{err}");
    std::fs::write(&report, r#"{"schema": 1, "figures": []}"#).expect("write");
    let out = harness().args(["compare"]).arg(&report).arg(&report).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report schema 1 but this harness reads 2"));
}

#[test]
fn update_then_compare_passes_and_a_20_percent_regression_fails() {
    let dir = tempfile::tempdir().expect("dir");
    let (base_dir, now_dir) = (dir.path().join("base"), dir.path().join("now"));
    write_report(&base_dir, 1.0);
    let (report, baseline, table) =
        (base_dir.join("report.json"), dir.path().join("b.json"), dir.path().join("gate.md"));
    let up = harness()
        .args(["gate", "--update", "--report"])
        .arg(&report)
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .expect("runs");
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let text = std::fs::read_to_string(&baseline).expect("baseline");
    assert!(text.contains("\"thread.start_join reference/floor\"") && text.contains("\"lo\""), "{text}");
    let cmp = harness()
        .args(["gate", "--report"])
        .arg(&report)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--summary")
        .arg(&table)
        .output()
        .expect("runs");
    assert!(cmp.status.success(), "{}", String::from_utf8_lossy(&cmp.stdout));
    let md = std::fs::read_to_string(&table).expect("table written");
    let row = md.lines().find(|l| l.starts_with("| thread.start_join | reference/floor |")).expect("row");
    assert!(row.ends_with("| 0.0% worse | 10% | ok; target ≤ 1.1 missed |"), "{row}");

    write_report(&now_dir, 1.2);
    let out = harness()
        .args(["gate", "--report"])
        .arg(now_dir.join("report.json"))
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("**REGRESSION**"), "{stdout}");

    std::fs::write(&baseline, "{}").expect("write");
    let bad =
        harness().args(["gate", "--report"]).arg(&report).arg("--baseline").arg(&baseline).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a gate baseline"));
}

#[test]
fn a_saved_baseline_is_compared_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    write_report(&before, 1.0);
    write_report(&after, 1.2);
    let target = dir.path().join("target");
    let save = harness()
        .env("CARGO_TARGET_DIR", &target)
        .args(["report", "--render-only", "--out"])
        .arg(&before)
        .args(["--save-baseline", "before"])
        .output()
        .expect("runs");
    assert!(save.status.success(), "{}", String::from_utf8_lossy(&save.stderr));
    assert!(target.join("procthread-baselines/before.json").exists());
    let cmp =
        harness().env("CARGO_TARGET_DIR", &target).args(["compare", "before"]).arg(&after).output().expect("runs");
    let stdout = String::from_utf8_lossy(&cmp.stdout);
    assert!(cmp.status.success(), "{}", String::from_utf8_lossy(&cmp.stderr));
    let row = stdout.lines().find(|l| l.starts_with("| thread.start_join | reference |")).expect("row");
    assert!(row.ends_with("| **regressed** |"), "{row}");
    assert!(stdout.contains("| thread.start_join | floor |"), "{stdout}");
    let bad = harness().env("CARGO_TARGET_DIR", &target).args(["compare", "nothing", "before"]).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a report"));
}
