//! `harness gate` from the command line: a malformed report or baseline is a clear error (exit
//! 2), a passing comparison exits 0 and writes its table, `--update` writes a baseline.

use std::process::Command;

fn harness() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

const REPORT: &str = r#"{"schema":1,"quick":true,"machine":{"os":"linux","arch":"x86_64","kernel":"","cpu_model":"","cpus":2,"rustc":"","commit":"","cpython":null},
"figures":[{"id":"thread.start_join","group":"start","title":"t","unit":"Nanos","pinned":false,"gated":true,"note":"","series":[],
"ratios":[{"name":"reference/floor","value":1.05,"target":1.1,"at_least":false,"higher_is_better":false,"met":true}],"warnings":[]}]}"#;

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
}

#[test]
fn update_then_compare_passes_and_writes_the_table() {
    let dir = tempfile::tempdir().expect("dir");
    let (report, baseline, table) = (dir.path().join("r.json"), dir.path().join("b.json"), dir.path().join("gate.md"));
    std::fs::write(&report, REPORT).expect("write");
    let up = harness()
        .args(["gate", "--update", "--report"])
        .arg(&report)
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .expect("runs");
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let cmp = harness()
        .args(["gate", "--report"])
        .arg(&report)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--summary")
        .arg(&table)
        .output()
        .expect("runs");
    assert!(cmp.status.success(), "{}", String::from_utf8_lossy(&cmp.stderr));
    let md = std::fs::read_to_string(&table).expect("table written");
    assert!(md.contains("| thread.start_join | reference/floor | 1.050 | 1.050 | 0.0% worse | 50% | ok |"), "{md}");
    std::fs::write(&baseline, "{}").expect("write");
    let bad =
        harness().args(["gate", "--report"]).arg(&report).arg("--baseline").arg(&baseline).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a gate baseline"));
}
