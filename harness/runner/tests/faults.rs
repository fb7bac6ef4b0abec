//! `harness run --faults SEEDS` from the command line, on small scenarios of its own in a temp
//! dir: a seed replays its schedule, a fault that breaks a declared invariant fails naming the
//! seed and the point (and how to replay it), a kill where the target has no process of its own
//! is skipped with the reason (each also in JUnit XML), JSON output, and what `--faults` refuses.

use std::path::Path;
use std::process::{Command, Output};

use procthread_harness::faults::{At, plan};
use procthread_scenario::Backend;

/// Producers on a queue; the consumer stops at main's sentinel after the joins.
const PRODUCERS: &str = r#"
[resources]
q = "queue"
[actors.main]
steps = [
  { for_each = ["a", "b"], do = [ { start = "producer", as = "producer-{item}", args = { tag = "{item}" } } ] },
  { start = "consumer" },
  { for_each = ["a", "b"], do = [ { join = "producer-{item}" } ] },
  { put = "q", value = "{none}" },
  { join = "consumer" },
]
[actors.producer]
params = ["tag"]
steps = [ { repeat = 3, do = [ { put = "q", value = "{tag}{i}" } ] } ]
[actors.consumer]
steps = [ { loop = [ { get = "q", timeout_ms = 30000 } ], until_value = "{none}" } ]
[expect]
received_unordered = { consumer = ["a1", "a2", "a3", "b1", "b2", "b3", "{none}"] }
[faults]
targets = ["producer-{tag}"]
survives = ["no_duplicates", "no_torn", "at_most_one_lost", "queue_usable"]
"#;

/// The consumer is killed: every value it had yet to get is lost, which `at_most_one_lost`
/// does not allow (unless the kill comes before its last get).
const CONSUMER_KILLED: &str = r#"
[resources]
q = "queue"
[actors.main]
steps = [
  { start = "consumer" },
  { repeat = 6, do = [ { put = "q", value = "{i}" } ] },
  { join = "consumer" },
]
[actors.consumer]
steps = [ { repeat = 6, do = [ { get = "q", timeout_ms = 30000 } ] } ]
[expect]
received = { consumer = [1, 2, 3, 4, 5, 6] }
[faults]
targets = ["consumer"]
actions = ["kill"]
points = ["step"]
survives = ["at_most_one_lost"]
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, src) in files {
        std::fs::write(tmp.path().join(format!("{name}.toml")), src).expect("write scenario");
    }
    tmp
}

/// `harness run --dir DIR --snapshots DIR/snap ARGS...`
fn harness(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.arg("run").arg("--dir").arg(dir).arg("--snapshots").arg(dir.join("snap")).args(args);
    cmd.env_remove("CI").env("NO_COLOR", "1").output().expect("harness runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The plan lines a run printed (the line under each run's status line).
fn plans(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("      ") && l.contains("[plan "))
        .map(|l| l.trim().to_string())
        .collect()
}

fn parsed(src: &str) -> procthread_scenario::Scenario {
    procthread_scenario::parse_str(Path::new("t.toml"), src).expect("a valid scenario")
}

#[test]
fn the_same_seed_replays_the_same_schedule() {
    let d = dir_with(&[("producers", PRODUCERS)]);
    let args = ["--faults", "0..4", "--backend", "spawn", "-j", "1"];
    let (one, two) = (harness(d.path(), &args), harness(d.path(), &args));
    assert!(one.status.success(), "{}", text(&one));
    assert!(two.status.success(), "{}", text(&two));
    let (p1, p2) = (plans(&one), plans(&two));
    assert_eq!(p1.len(), 4, "a plan printed per seed: {}", text(&one));
    assert_eq!(p1, p2, "the same seeds, the same schedules");
    let s = parsed(PRODUCERS);
    for seed in 0..4 {
        let expected = plan(&s, Backend::Spawn, seed).expect("a plan").to_string();
        assert!(p1.contains(&expected), "seed {seed}: {expected} not in {p1:?}");
    }
    assert!(text(&one).contains("4 fault runs: 4 passed"), "{}", text(&one));
}

#[test]
fn json_gives_each_fault_run_with_its_plan_and_replay() {
    let d = dir_with(&[("producers", PRODUCERS)]);
    let out = harness(d.path(), &["--faults", "0..2", "--backend", "spawn", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(
        (doc["schema"].as_u64(), doc["kind"].as_str(), doc["seeds"].as_str()),
        (Some(1), Some("faults"), Some("0..2"))
    );
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{doc}");
    let s = parsed(PRODUCERS);
    for (seed, run) in (0..2u64).zip(runs) {
        let expected = plan(&s, Backend::Spawn, seed).expect("a plan");
        assert_eq!(run["seed"].as_u64(), Some(seed), "{run}");
        assert_eq!(run["scenario"].as_str(), Some("producers"), "{run}");
        assert_eq!(run["backend"].as_str(), Some("spawn"), "{run}");
        assert_eq!(run["status"].as_str(), Some("pass"), "{run}");
        assert_eq!(run["plan"]["fingerprint"].as_str(), Some(expected.fingerprint.as_str()), "{run}");
        assert_eq!(run["plan"]["target"].as_str(), Some(expected.target.as_str()), "{run}");
        let replay = run["replay"].as_str().expect("replay");
        assert!(
            replay.starts_with(&format!("harness run --faults {seed} --scenario producers --backend spawn")),
            "{replay}"
        );
    }
    let summary = &doc["summary"];
    assert_eq!(
        (summary["runs"].as_u64(), summary["pass"].as_u64(), summary["passed"].as_bool()),
        (Some(2), Some(2), Some(true))
    );
    // The lines for people went to stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 fault runs: 2 passed"), "{}", text(&out));
}

#[test]
fn a_fault_that_breaks_an_invariant_fails_naming_its_seed_and_point() {
    let s = parsed(CONSUMER_KILLED);
    // A seed that kills the consumer before its fifth get at the latest: two values or more lost.
    let (seed, p) = (0..200u64)
        .map(|seed| (seed, plan(&s, Backend::Spawn, seed).expect("a plan")))
        .find(|(_, p)| matches!(p.at, At::Step { nth } if nth <= 5))
        .expect("such a seed");
    let d = dir_with(&[("consumer", CONSUMER_KILLED)]);
    let seed_text = seed.to_string();
    let junit = d.path().join("faults.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = harness(d.path(), &["--faults", &seed_text, "--backend", "spawn", "--junit", &junit_arg]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAIL [") && t.contains(&format!("fault::consumer::spawn::seed-{seed}")), "{t}");
    assert!(t.contains("`at_most_one_lost` did not survive the fault"), "{t}");
    assert!(t.contains(&p.to_string()), "the schedule is printed: {t}");
    let summary = format!("FAIL seed {seed} of consumer on spawn ({} `consumer` at {})", p.action, p.at);
    assert!(t.contains(&summary), "the summary names the seed and the point: {t}");
    let replay = format!("replay: harness run --faults {seed} --scenario consumer --backend spawn");
    assert!(t.contains(&replay), "{t}");
    // The same failure in JUnit XML: its test case, its reason, its schedule, its replay.
    let xml = std::fs::read_to_string(&junit).expect("JUnit XML written");
    assert!(
        xml.contains(r#"<testsuite name="fault::consumer" tests="1" skipped="0" errors="0" failures="1""#),
        "{xml}"
    );
    assert!(xml.contains(&format!(r#"<testcase name="spawn::seed-{seed}" classname="fault::consumer""#)), "{xml}");
    assert!(xml.contains(r#"<failure message="failed" type="FAIL">"#), "{xml}");
    assert!(xml.contains("`at_most_one_lost` did not survive the fault"), "{xml}");
    assert!(xml.contains(&replay), "{xml}");
    assert!(xml.contains(&format!("<system-out>{p}</system-out>")), "{xml}");
}

#[test]
fn a_kill_without_a_process_to_kill_is_skipped_with_the_reason() {
    let d = dir_with(&[("consumer", CONSUMER_KILLED)]);
    let junit = d.path().join("faults.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = harness(d.path(), &["--faults", "3", "--backend", "thread", "--junit", &junit_arg]);
    let t = text(&out);
    assert!(out.status.success(), "a skip is no failure: {t}");
    assert!(t.contains("SKIP") && t.contains("a kill needs a process of its own"), "{t}");
    assert!(t.contains("0 passed, 0 failed, 1 skipped"), "{t}");
    let xml = std::fs::read_to_string(&junit).expect("JUnit XML written");
    assert!(xml.contains(r#"<testcase name="thread::seed-3" classname="fault::consumer""#), "{xml}");
    assert!(xml.contains("<skipped message=") && xml.contains("a kill needs a process of its own"), "{xml}");
}

#[test]
fn what_faults_refuses() {
    let d = dir_with(&[("consumer", CONSUMER_KILLED), ("plain", "[actors.main]\nsteps = [ { print = \"hi\" } ]\n")]);
    let cpython = harness(d.path(), &["--faults", "1", "--impl", "cpython"]);
    assert_eq!(cpython.status.code(), Some(2));
    assert!(text(&cpython).contains("--faults runs the reference only"), "{}", text(&cpython));
    let plain = harness(d.path(), &["--faults", "1", "plain"]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(text(&plain).contains("no selected scenario has a [faults] table"), "{}", text(&plain));
    let bad = harness(d.path(), &["--faults", "3..3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("empty range of seeds"), "{}", text(&bad));
    let repeat = harness(d.path(), &["--faults", "1", "--repeat", "2"]);
    assert_eq!(repeat.status.code(), Some(2));
    assert!(text(&repeat).contains("cannot be used with"), "{}", text(&repeat));
}
