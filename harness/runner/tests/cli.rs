//! `harness run` and `harness show` from the command line, on small scenarios of their own in a
//! temp dir: the snapshot diff and how to see the run again, CRLF snapshots, missing snapshots
//! and `--accept-new`, filters, parallel and repeated runs, JUnit and JSON, what `show` refuses
//! and what it accepts, its raw events and timeline, paths found from the workspace root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Scenarios and snapshots of a test: `s/` and `snap/` under a temp dir.
struct Dirs {
    tmp: tempfile::TempDir,
}

const HELLO: &str = "title = \"hello\"\n[actors.main]\nsteps = [ { print = \"hello\" }, { print = \"bye\" } ]\n";

const SPAWN_ONLY: &str = "backends = [\"spawn\"]\n[actors.main]\nsteps = [ { print = \"spawned\" } ]\n";

impl Dirs {
    fn new(scenarios: &[(&str, &str)]) -> Dirs {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("s")).expect("mkdir");
        std::fs::create_dir(tmp.path().join("snap")).expect("mkdir");
        for (name, src) in scenarios {
            std::fs::write(tmp.path().join("s").join(format!("{name}.toml")), src).expect("write scenario");
        }
        Dirs { tmp }
    }

    fn scenarios(&self) -> PathBuf {
        self.tmp.path().join("s")
    }

    fn snapshots(&self) -> PathBuf {
        self.tmp.path().join("snap")
    }

    fn snapshot(&self, name: &str) -> PathBuf {
        self.snapshots().join(format!("{name}.snap"))
    }

    /// `harness SUBCOMMAND --dir s --snapshots snap ARGS...`
    fn harness(&self, subcommand: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
        cmd.arg(subcommand).arg("--dir").arg(self.scenarios()).arg("--snapshots").arg(self.snapshots());
        cmd.args(args).env_remove("CI").env("NO_COLOR", "1");
        cmd.output().expect("harness runs")
    }

    /// Accepts the snapshots of every run (and checks that they were written).
    fn accept(&self, args: &[&str]) {
        let out = self.harness("run", &[&["--accept-new"], args].concat());
        assert!(out.status.success(), "{}", text(&out));
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_missing_snapshot_fails_until_accepted_and_never_under_ci() {
    let d = Dirs::new(&[("hello", HELLO)]);
    let out = d.harness("run", &["--backend", "thread"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("FAIL [") && t.contains("scenario::hello::thread"), "{t}");
    assert!(t.contains("no snapshot at") && t.contains("`--accept-new` writes it"), "{t}");
    assert!(!d.snapshot("hello@threads").exists());

    let mut ci = Command::new(env!("CARGO_BIN_EXE_harness"));
    ci.args(["run", "--accept-new", "--dir"]).arg(d.scenarios()).arg("--snapshots").arg(d.snapshots());
    let refused = ci.env("CI", "true").output().expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).contains("--accept-new is refused under CI"), "{}", text(&refused));
    assert!(!d.snapshot("hello@threads").exists());

    d.accept(&["--backend", "thread"]);
    let written = std::fs::read_to_string(d.snapshot("hello@threads")).expect("written");
    assert!(
        written
            .ends_with("---\nscenario: hello (hello)\nfamily: threads\n\n[main]\nprint  hello\nprint  bye\nexit   0\n"),
        "{written}"
    );
    let again = d.harness("run", &["--backend", "thread"]);
    assert!(again.status.success(), "{}", text(&again));
}

#[test]
fn a_changed_trace_prints_its_diff_and_how_to_see_it_again() {
    let d = Dirs::new(&[("hello", HELLO)]);
    d.accept(&["--backend", "thread"]);
    let file = d.snapshot("hello@threads");
    let snap = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, snap.replace("print  bye", "print  goodbye")).expect("write");

    let out = d.harness("run", &["--backend", "thread"]);
    assert_eq!(out.status.code(), Some(1));
    let t = stdout(&out);
    let diff = "    @@ -3,5 +3,5 @@\n     \n     [main]\n     print  hello\n    -print  goodbye\n    +print  bye\n     exit   0\n";
    assert!(t.contains(diff), "{t}");
    assert!(t.contains("    +++ this run\n"), "{t}");
    assert!(!t.contains('\u{1b}'), "no colours with NO_COLOR: {t:?}");
    let see = t.lines().find(|l| l.trim_start().starts_with("see it:")).expect("a command to see the run again");
    assert!(see.contains("harness show hello --backend thread --dir ") && see.contains(" --snapshots "), "{see}");
    assert!(see.contains(&*d.snapshots().file_name().expect("name").to_string_lossy()), "{see}");

    let show = d.harness("show", &["hello", "--backend", "thread"]);
    assert_eq!(show.status.code(), Some(1), "show fails on a changed trace too");
    assert!(stdout(&show).starts_with("scenario: hello (hello)\n"), "the trace on stdout");
    let err = String::from_utf8_lossy(&show.stderr);
    assert!(err.contains("-print  goodbye\n+print  bye\n"), "{err}");

    let coloured = d.harness("run", &["--backend", "thread", "--color", "always"]);
    assert!(stdout(&coloured).contains("\u{1b}[31m-print  goodbye"), "{}", stdout(&coloured));
}

#[test]
fn a_failed_expectation_points_at_its_expect_line() {
    let wrong = "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { put = \"q\", value = 1 }, { get = \"q\" } ]\n\n\
                 [expect]\nreceived = { main = [2] }\n";
    let d = Dirs::new(&[("wrong", wrong)]);
    let at = format!("{}:7:14: `main` received [1], expected [2]", d.scenarios().join("wrong.toml").display());
    let run = d.harness("run", &["--backend", "thread"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(stdout(&run).contains(&format!("    {at}\n")), "{}", text(&run));
    let show = d.harness("show", &["wrong", "--backend", "thread"]);
    assert_eq!(show.status.code(), Some(1), "{}", text(&show));
    assert!(String::from_utf8_lossy(&show.stderr).contains(&format!("FAIL: {at}\n")), "{}", text(&show));
}

#[test]
fn a_malformed_scenario_shows_its_line_with_a_caret_and_a_suggestion() {
    let typo = "[resources]\njobs = \"queue\"\n[actors.main]\nsteps = [ { put = \"job\", value = 1 } ]\n";
    let d = Dirs::new(&[("typo", typo)]);
    let file = d.scenarios().join("typo.toml");
    let expected = format!(
        "{}:4:19: unknown queue `job`; did you mean `jobs`?\n  |\n4 | steps = [ {{ put = \"job\", value = 1 }} ]\n  |                   ^^^^^\n",
        file.display()
    );
    let check = Command::new(env!("CARGO_BIN_EXE_harness")).arg("check").arg(&file).output().expect("runs");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(String::from_utf8_lossy(&check.stderr).starts_with(&expected), "{}", text(&check));
    let run = d.harness("run", &["--backend", "thread"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(String::from_utf8_lossy(&run.stderr).starts_with(&expected), "{}", text(&run));
    assert!(!text(&run).contains('\u{1b}'), "no colours where stderr is not a terminal");
}

/// What a Windows checkout without `.gitattributes` makes of a snapshot: the same in CRLF. It
/// must still be read (a match passes), and a changed trace under it must still fail.
#[test]
fn crlf_snapshots_are_read_and_still_catch_a_change() {
    let d = Dirs::new(&[("hello", HELLO)]);
    d.accept(&["--backend", "thread"]);
    let file = d.snapshot("hello@threads");
    let lf = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, lf.replace('\n', "\r\n")).expect("write");
    let same = d.harness("run", &["--backend", "thread"]);
    assert!(same.status.success(), "a CRLF snapshot of the same trace passes: {}", text(&same));
    assert!(!text(&same).contains("no snapshot"), "{}", text(&same));

    std::fs::write(&file, lf.replace("print  bye", "print  other").replace('\n', "\r\n")).expect("write");
    let changed = d.harness("run", &["--backend", "thread"]);
    assert_eq!(changed.status.code(), Some(1), "a changed trace under a CRLF snapshot fails: {}", text(&changed));
    assert!(stdout(&changed).contains("    -print  other\n    +print  bye\n"), "{}", stdout(&changed));
}

#[test]
fn filters_select_runs_and_junit_and_json_report_them() {
    let d = Dirs::new(&[("hello", HELLO), ("spawned", SPAWN_ONLY)]);
    d.accept(&[]);
    let names = |out: &Output| -> Vec<String> {
        let mut n: Vec<String> = stdout(out)
            .lines()
            // The runs made (a run this OS cannot make, fork on Windows, is a SKIP line).
            .filter(|l| l.trim_start().starts_with("PASS [") && l.contains("] scenario::"))
            .filter_map(|l| l.split("] ").nth(1).map(str::to_string))
            .collect();
        n.sort();
        n
    };
    let all = d.harness("run", &["-j", "3"]);
    assert!(all.status.success(), "{}", text(&all));
    let mut expected = vec!["scenario::hello::spawn", "scenario::hello::thread", "scenario::spawned::spawn"];
    if cfg!(unix) {
        expected.push("scenario::hello::fork");
        expected.sort();
    }
    assert_eq!(names(&all), expected);
    assert_eq!(names(&d.harness("run", &["spaw"])), ["scenario::spawned::spawn"], "a name pattern");
    let by_expr = d.harness("run", &["-E", "scenario(=hello) & (backend(spawn) | backend(thread)) & impl(reference)"]);
    assert_eq!(names(&by_expr), ["scenario::hello::spawn", "scenario::hello::thread"]);
    assert_eq!(
        names(&d.harness("run", &["-E", "family(processes) - scenario(hello) - impl(cpython)"])),
        ["scenario::spawned::spawn"]
    );
    let bad = d.harness("run", &["-E", "backend(spwn)"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("`spwn` is none of"), "{}", text(&bad));
    let bad = d.harness("run", &["--backend", "spwn"]);
    assert_eq!(bad.status.code(), Some(2), "a value enum: {}", text(&bad));
    let none = d.harness("run", &["nothing-matches"]);
    assert_eq!(none.status.code(), Some(2));

    // Repeated, with JUnit and JSON.
    let junit = d.tmp.path().join("junit.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = d.harness(
        "run",
        &[
            "-E",
            "backend(thread) | backend(spawn)",
            "--impl",
            "reference",
            "--repeat",
            "2",
            "-j",
            "2",
            "--junit",
            &junit_arg,
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["schema"], 1);
    let s = &doc["summary"];
    assert_eq!(
        (s["runs"].as_u64(), s["pass"].as_u64(), s["fail"].as_u64(), s["rounds"].as_u64()),
        (Some(6), Some(6), Some(0), Some(2))
    );
    assert_eq!(s["passed"], true);
    assert!(s["elapsed_ms"].as_u64().is_some());
    assert_eq!(doc["cells"].as_array().map(Vec::len), Some(6));
    let tests = doc["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 3);
    assert!(tests.iter().all(|t| t["counts"]["pass"] == 2), "{tests:?}");
    let lines = String::from_utf8_lossy(&out.stderr);
    assert!(lines.contains("(2/2) scenario::hello::thread"), "lines go to stderr: {lines}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("<testsuite name=\"hello\" tests=\"2\""), "{xml}");
    assert!(xml.contains("<testcase name=\"thread\" classname=\"scenario::hello\" time="), "{xml}");
    assert!(xml.contains("<testsuite name=\"spawned\" tests=\"1\""), "{xml}");
}

#[test]
fn until_fail_stops_and_junit_reports_the_failure() {
    let d = Dirs::new(&[("hello", HELLO)]);
    d.accept(&["--backend", "thread"]);
    let file = d.snapshot("hello@threads");
    let snap = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, snap.replace("print  bye", "print  goodbye")).expect("write");
    let junit = d.tmp.path().join("junit.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = d.harness("run", &["--backend", "thread", "--until-fail", "-j", "1", "--junit", &junit_arg]);
    assert_eq!(out.status.code(), Some(1));
    let t = stdout(&out);
    assert_eq!(t.matches("] (").count(), 1, "one round, then no more: {t}");
    assert!(t.contains("(1/1000) scenario::hello::thread"), "{t}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("<failure message=\"failed\" type=\"FAIL\">trace differs from"), "{xml}");
    assert!(xml.contains("-print  goodbye"), "{xml}");
}

#[test]
fn show_refuses_a_backend_that_does_not_apply_and_picks_one_that_does() {
    let d = Dirs::new(&[("spawned", SPAWN_ONLY)]);
    let started = std::time::Instant::now();
    let out = d.harness("show", &["spawned", "--backend", "thread"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("spawned does not run on thread: the scenario lists the backends it runs on, and not this one (it runs on spawn)"), "{t}");
    // Refused before anything runs (it used to wait for the run's timeout).
    assert!(started.elapsed() < std::time::Duration::from_secs(50));

    // By path, on its only backend, by default; the raw events are JSON lines.
    let file = d.scenarios().join("spawned.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.arg("show").arg(&file).arg("--raw").arg("--snapshots").arg(d.snapshots());
    let raw = cmd.output().expect("runs");
    assert!(String::from_utf8_lossy(&raw.stderr).contains("no snapshot at"), "{}", text(&raw));
    let events: Vec<procthread_harness::events::Event> =
        stdout(&raw).lines().map(|l| serde_json::from_str(l).expect("each line is an event")).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, procthread_harness::events::EventKind::Print { text } if text == "spawned")),
        "{events:?}"
    );

    let missing = d.harness("show", &["nowhere"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("no scenario `nowhere`"), "{}", text(&missing));
}

/// A scenario of a subfolder given by its path, written any way (absolute, from another
/// folder, with `./`), is the same scenario: it finds its snapshot, in `show` and `run`.
#[test]
fn show_by_path_finds_the_snapshot_of_a_scenario_in_a_subfolder() {
    let d = Dirs::new(&[]);
    let sub = d.scenarios().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(sub.join("deep.toml"), HELLO).expect("write");
    d.accept(&["--backend", "thread"]);
    assert!(d.snapshots().join("sub").join("deep@threads.snap").is_file(), "kept beside its folder's others");
    let show = |cwd: &Path, file: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
        cmd.args(["show", file, "--backend", "thread", "--dir"]).arg(d.scenarios()).arg("--snapshots");
        let out = cmd.arg(d.snapshots()).current_dir(cwd).env("NO_COLOR", "1").output().expect("runs");
        assert!(out.status.success(), "{file} from {}: {}", cwd.display(), text(&out));
        assert!(stdout(&out).starts_with("scenario: sub/deep (hello)\n"), "{}", text(&out));
        assert!(!text(&out).contains("no snapshot"), "{file} from {}: {}", cwd.display(), text(&out));
    };
    show(d.tmp.path(), &sub.join("deep.toml").to_string_lossy());
    show(&sub, "deep.toml");
    show(d.tmp.path(), "./s/sub/deep.toml");
    show(d.tmp.path(), "sub/deep");

    // `run` takes a file too: its scenario, by exact name.
    let run = d.harness("run", &[&sub.join("deep.toml").to_string_lossy(), "--backend", "thread"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(stdout(&run).contains("] scenario::sub/deep::thread\n"), "{}", text(&run));
    let elsewhere = d.harness("run", &["nowhere/else.toml"]);
    assert_eq!(elsewhere.status.code(), Some(2), "{}", text(&elsewhere));
    assert!(text(&elsewhere).contains("no scenario `else`"), "{}", text(&elsewhere));
}

#[test]
fn list_shows_the_scenarios_whose_name_contains_a_pattern() {
    let d = Dirs::new(&[("hello", HELLO), ("spawn-only", SPAWN_ONLY)]);
    let list = |patterns: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
        cmd.arg("list").args(patterns).arg("--dir").arg(d.scenarios()).output().expect("runs")
    };
    let all = list(&[]);
    assert!(all.status.success(), "{}", text(&all));
    assert!(stdout(&all).contains("hello  (hello)") && stdout(&all).contains("spawn-only  ("), "{}", text(&all));
    let some = list(&["only"]);
    assert!(some.status.success(), "{}", text(&some));
    assert!(!stdout(&some).contains("hello") && stdout(&some).contains("spawn-only  ("), "{}", text(&some));
    assert!(stdout(&some).contains("  thread        n/a: "), "each backend with its reason: {}", text(&some));
    let none = list(&["nothing", "else"]);
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(text(&none).contains("has a name containing `nothing` or `else`"), "{}", text(&none));
}

/// `harness list | head -1`: a reader that goes away ends the output quietly, with no panic.
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let d = Dirs::new(&[("hello", HELLO)]);
    for args in [&["list"][..], &["check"], &["show", "hello", "--backend", "thread"]] {
        // The reading end is closed before the harness writes anything: every write fails.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
        cmd.args(args).arg("--dir").arg(d.scenarios());
        if args[0] == "show" {
            cmd.arg("--snapshots").arg(d.snapshots());
        }
        let out = cmd.stdout(writer).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn show_exports_a_timeline() {
    let two = "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { start = \"w\" }, { get = \"q\" }, { join = \"w\" } ]\n[actors.w]\nsteps = [ { put = \"q\", value = \"A\" } ]\n";
    let d = Dirs::new(&[("two", two)]);
    let trace = d.tmp.path().join("trace.json");
    let out = d.harness("show", &["two", "--backend", "spawn", "--trace", &trace.to_string_lossy()]);
    assert!(text(&out).contains("timeline written to"), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).expect("written")).expect("JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let rows: Vec<(u64, u64, &str)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (e["pid"].as_u64().unwrap_or(0), e["tid"].as_u64().unwrap_or(0), e["args"]["name"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].1, rows[0].2), (1, "main"));
    assert_eq!((rows[1].1, rows[1].2), (2, "w"));
    assert_ne!(rows[0].0, rows[1].0, "a spawned actor is a process of its own");
    let spans: Vec<&str> = events.iter().filter(|e| e["ph"] == "X").filter_map(|e| e["name"].as_str()).collect();
    for verb in ["start", "get", "join", "put"] {
        assert!(spans.contains(&verb), "a span for {verb}: {spans:?}");
    }
    assert!(events.iter().any(|e| e["ph"] == "i" && e["name"] == "received" && e["args"]["value"] == "A"));
}

#[test]
fn default_paths_are_the_workspace_s_from_any_folder_of_it() {
    let deep = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let out = Command::new(env!("CARGO_BIN_EXE_harness")).arg("list").current_dir(&deep).output().expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("queue-ipc  ("), "the workspace's scenarios: {}", stdout(&out));
    let check = Command::new(env!("CARGO_BIN_EXE_harness")).arg("check").current_dir(&deep).output().expect("runs");
    assert!(check.status.success(), "{}", text(&check));

    // The gate's default config is the workspace's `ci/gate.toml`, wherever it is started.
    let tmp = tempfile::tempdir().expect("dir");
    procthread_bench::output::write(&procthread_bench::synthetic::report(1), tmp.path()).expect("a report");
    let (report, baseline) = (tmp.path().join("report.json"), tmp.path().join("b.json"));
    let gate = |update: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
        cmd.args(["gate", "--report"]).arg(&report).arg("--baseline").arg(&baseline).current_dir(&deep);
        if update {
            cmd.arg("--update");
        }
        cmd.output().expect("runs")
    };
    assert!(gate(true).status.success());
    let judged = gate(false);
    assert!(judged.status.success(), "the config found from a subfolder: {}", text(&judged));
    // A named baseline saved from one folder is found from another: both are the workspace's
    // target/procthread-baselines/ (unless $CARGO_TARGET_DIR says otherwise).
    let name = format!("cli-test-{}", std::process::id());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let saved = root.join("target").join("procthread-baselines").join(format!("{name}.json"));
    let save = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["report", "--render-only", "--out"])
        .arg(tmp.path())
        .args(["--save-baseline", &name])
        .current_dir(&deep)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("runs");
    assert!(save.status.success(), "{}", text(&save));
    let found = saved.is_file();
    let compare = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["compare", &name])
        .arg(tmp.path())
        .current_dir(root.join("harness"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&saved);
    assert!(found, "saved in the workspace's target/: {}", text(&save));
    assert!(compare.status.success(), "found from another folder: {}", text(&compare));

    for sub in ["report", "compare", "gate", "show", "run"] {
        let help = Command::new(env!("CARGO_BIN_EXE_harness")).args([sub, "--help"]).output().expect("runs");
        assert!(stdout(&help).contains("\nExamples:\n  harness "), "{sub} --help: {}", stdout(&help));
    }

    // No global options: `--dir` before the subcommand is an error, not a directory for any of them.
    let global = Command::new(env!("CARGO_BIN_EXE_harness")).args(["--dir", "x", "list"]).output().expect("runs");
    assert_eq!(global.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_harness")).args(["run", "--help"]).output().expect("runs");
    let help = stdout(&help);
    assert!(help.contains("Examples:") && help.contains("-E, --filter-expr <EXPR>"), "{help}");
    assert!(
        help.contains("[possible values: thread, fork, spawn, thread-pool, process-pool]")
            || help.contains("thread-pool:"),
        "{help}"
    );
}
