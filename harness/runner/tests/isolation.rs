//! A run that hangs, crashes or leaves processes behind is reported as that run's failure, with
//! its cause and the step each actor was in, and leaves no process of it alive.

use std::path::Path;

use procthread_harness::outcome::{self, RunRecord, Verdict};
use procthread_harness::run;
use procthread_scenario::Backend;

fn run_src(src: &str, backend: Backend) -> (RunRecord, Verdict) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("case.toml");
    std::fs::write(&file, src).expect("write scenario");
    let scenario = procthread_scenario::load(&file).expect("valid scenario");
    let record = run::run_isolated(Path::new(env!("CARGO_BIN_EXE_harness")), &scenario, backend).expect("run");
    let verdict = outcome::judge(&scenario, backend, &record);
    assert_nothing_left(&record);
    (record, verdict)
}

/// Every pid the run recorded is gone, and so is the executor's whole process group.
#[cfg(unix)]
fn assert_nothing_left(record: &RunRecord) {
    use nix::errno::Errno;
    use nix::sys::signal::{kill, killpg};
    use nix::unistd::Pid;
    for e in &record.events {
        let alive = !matches!(kill(Pid::from_raw(e.pid as i32), None), Err(Errno::ESRCH));
        assert!(!alive, "pid {} of actor {} is still alive (or unreaped)", e.pid, e.actor);
    }
    if let Some(main) = record.events.iter().find(|e| e.actor == "main") {
        let group = Pid::from_raw(main.pid as i32);
        assert!(matches!(killpg(group, None), Err(Errno::ESRCH)), "the run's process group still has members");
    }
}

/// Every pid the run recorded has exited (a pid that cannot be opened is gone).
#[cfg(windows)]
fn assert_nothing_left(record: &RunRecord) {
    use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
    use windows_sys::Win32::System::Threading::{GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
    for e in &record.events {
        // SAFETY: plain Win32 calls on a handle we open and close here.
        let alive = unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, e.pid);
            if h.is_null() {
                false
            } else {
                let mut code = 0u32;
                let running = GetExitCodeProcess(h, &mut code) != 0 && code == STILL_ACTIVE as u32;
                CloseHandle(h);
                running
            }
        };
        assert!(!alive, "pid {} of actor {} is still running", e.pid, e.actor);
    }
}

const HANG: &str = r#"
timeout_ms = 1500
[actors.main]
steps = [
  { start = "sleeper" },
  { join = "sleeper" },
]
[actors.sleeper]
steps = [
  { start = "deeper" },
  { run = ["sleep", "60000"] },
]
[actors.deeper]
steps = [ { sleep_ms = 60000 } ]
"#;

#[test]
fn a_hanging_run_is_killed_whole_and_names_each_actors_step() {
    let (record, verdict) = run_src(HANG, Backend::Spawn);
    assert!(record.timed_out);
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    let msg = &verdict.failures[0];
    assert!(msg.starts_with("timed out after 1.5s; the whole process tree was killed;"), "{msg}");
    assert!(msg.contains("main was at line 6 (join)"), "{msg}");
    assert!(msg.contains("sleeper was at line 11 (run)"), "{msg}");
    assert!(msg.contains("deeper was at line 14 (sleep_ms)"), "{msg}");
}

#[cfg(unix)]
#[test]
fn a_hanging_forked_run_is_killed_whole_too() {
    let (record, verdict) = run_src(HANG, Backend::Fork);
    assert!(record.timed_out, "{:?}", verdict.failures);
}

const CRASHES: &str = r#"
[actors.main]
steps = [
  { start = "panics" },
  { start = "aborts" },
  { start = "exits" },
  { join = "panics" },
  { join = "aborts" },
  { join = "exits" },
]
[actors.panics]
steps = [ { crash = "panic" } ]
[actors.aborts]
steps = [ { crash = "abort" } ]
[actors.exits]
steps = [ { exit = 3 } ]
"#;

#[test]
fn crashing_children_are_failures_with_their_exit_codes() {
    let backends: Vec<Backend> =
        [Backend::Spawn, Backend::Fork].into_iter().filter(|b| cfg!(unix) || *b != Backend::Fork).collect();
    for backend in backends {
        let (record, verdict) = run_src(CRASHES, backend);
        assert_eq!(record.executor_code, Some(0), "the executor itself survives");
        let f = verdict.failures.join("\n");
        assert!(f.contains("actor `panics` ended with exit code 1, expected 0"), "{f}");
        assert!(f.contains("actor `exits` ended with exit code 3, expected 0"), "{f}");
        #[cfg(unix)]
        assert!(f.contains("actor `aborts` ended with killed by signal 6 (SIGABRT), expected 0"), "{f}");
        // Rust's abort is a fail-fast exception on Windows: STATUS_STACK_BUFFER_OVERRUN.
        #[cfg(windows)]
        assert!(f.contains("actor `aborts` ended with exit code -1073740791 (0xc0000409), expected 0"), "{f}");
        assert_eq!(verdict.failures.len(), 3, "{f}");
    }
}

#[test]
fn expected_crashes_pass() {
    let src = format!("{CRASHES}\n[expect]\nexit = {{ panics = \"crashed\", aborts = \"crashed\", exits = 3 }}\n");
    let (_, verdict) = run_src(&src, Backend::Spawn);
    assert!(verdict.passed(), "{:?}", verdict.failures);
}

#[cfg(unix)]
#[test]
fn a_segfault_is_reported_as_its_signal() {
    let src = "[actors.main]\nsteps = [ { start = \"bad\" }, { join = \"bad\" } ]\n[actors.bad]\nsteps = [ { crash = \"segfault\" } ]\n";
    let (_, verdict) = run_src(src, Backend::Spawn);
    assert_eq!(verdict.failures, ["actor `bad` ended with killed by signal 11 (SIGSEGV), expected 0"]);
}

#[test]
fn a_crashing_executor_is_the_runs_failure_not_the_runners() {
    let src = "[actors.main]\nsteps = [ { print = \"before\" }, { crash = \"abort\" } ]\n";
    let (record, verdict) = run_src(src, Backend::Spawn);
    assert_ne!(record.executor_code, Some(0));
    let f = verdict.failures.join("\n");
    assert!(f.starts_with("the executor ended with"), "{f}");
    assert!(f.contains("main was at line 2 (crash)"), "{f}");
}

#[test]
fn killed_and_terminated_children_read_as_expected() {
    let src = r#"
[actors.main]
steps = [
  { start = "a" }, { start = "b" },
  { sleep_ms = 100 },
  { terminate = "a" }, { kill = "b" },
  { join = "a" }, { join = "b" },
]
[actors.a]
steps = [ { sleep_ms = 60000 } ]
[actors.b]
steps = [ { sleep_ms = 60000 } ]
[expect]
exit = { a = "terminated", b = "killed" }
"#;
    let (_, verdict) = run_src(src, Backend::Spawn);
    assert!(verdict.passed(), "{:?}", verdict.failures);
}

#[test]
fn a_process_left_behind_is_a_failure_and_is_cleaned_up() {
    // `orphaner` exits at once, leaving the child it started running on its own.
    let src = r#"
[actors.main]
steps = [ { start = "orphaner" }, { join = "orphaner" } ]
[actors.orphaner]
steps = [ { start = "stray" }, { sleep_ms = 200 }, { exit = 0 } ]
[actors.stray]
steps = [ { sleep_ms = 60000 } ]
"#;
    let (record, verdict) = run_src(src, Backend::Spawn);
    assert!(record.leftovers);
    assert!(
        verdict.failures.iter().any(|f| f.starts_with("processes of the run were still alive")),
        "{:?}",
        verdict.failures
    );
}

#[test]
fn an_unexpected_step_error_names_the_actor_and_line() {
    let src = "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { get = \"q\", timeout_ms = 50 } ]\n";
    let (_, verdict) = run_src(src, Backend::Thread);
    assert_eq!(verdict.failures.len(), 2, "{:?}", verdict.failures);
    assert!(
        verdict.failures[0].starts_with("the executor ended with exit code 1, expected 0"),
        "{:?}",
        verdict.failures
    );
    assert!(
        verdict.failures[1].starts_with("actor `main` failed at line 4 (get): empty: nothing arrived within"),
        "{:?}",
        verdict.failures
    );
}
