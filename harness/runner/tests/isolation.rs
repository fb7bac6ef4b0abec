//! A run that hangs, crashes or leaves processes behind is reported as that run's failure, with
//! its cause and the step each actor was in, and leaves no process of it alive: whatever process
//! group or session a process of the run moved to, whether the run timed out, ended with
//! processes left behind, or its runner was interrupted or killed.
//!
//! "Nothing left" is checked three ways: every pid the run recorded (events, and the pid files
//! the escape tools write) is gone; on Linux no process descends from this test process; and for
//! runs of the real `harness` binary, no process anywhere carries the run's marker in its
//! environment.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use procthread_harness::outcome::{self, RunRecord, Verdict};
use procthread_harness::run;
use procthread_scenario::Backend;

fn harness() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_harness"))
}

fn run_src(src: &str, backend: Backend) -> (RunRecord, Verdict) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("case.toml");
    std::fs::write(&file, src).expect("write scenario");
    let scenario = procthread_scenario::load(&file).expect("valid scenario");
    let record = run::run_isolated(harness(), &scenario, backend).expect("run");
    let verdict = outcome::judge(&scenario, backend, &record);
    assert_nothing_left(&record);
    (record, verdict)
}

/// A directory where the escape tools (`harness tool sleep-pid` etc.) record their pids, and
/// the scenario text with `{DIR}` replaced by it.
struct Pids {
    dir: tempfile::TempDir,
}

impl Pids {
    fn new() -> Pids {
        Pids { dir: tempfile::tempdir().expect("tempdir") }
    }

    fn scenario(&self, src: &str) -> String {
        let dir = self.dir.path().to_string_lossy().replace('\\', "/");
        src.replace("{DIR}", &dir)
    }

    fn recorded(&self) -> Vec<u32> {
        let entries = std::fs::read_dir(self.dir.path()).expect("pid dir");
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
    }

    /// Waits (bounded) until `n` processes have recorded themselves.
    fn wait_for(&self, n: usize) -> Vec<u32> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let pids = self.recorded();
            if pids.len() >= n || Instant::now() >= until {
                return pids;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn assert_all_gone(&self, expected: usize) {
        let pids = self.recorded();
        assert_eq!(pids.len(), expected, "the tools that should have run: {pids:?}");
        for pid in pids {
            assert!(!alive(pid), "pid {pid} (an escape tool) is still alive");
        }
    }
}

/// Every pid the run recorded is gone, and (Linux) nothing descends from this test process.
fn assert_nothing_left(record: &RunRecord) {
    for e in &record.events {
        assert!(!alive(e.pid), "pid {} of actor {} is still alive (or unreaped)", e.pid, e.actor);
    }
    assert_no_descendants();
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    // A zombie has ended; only its parent (init, or a subreaper) has yet to reap it.
    !matches!(kill(Pid::from_raw(pid as i32), None), Err(Errno::ESRCH)) && !is_zombie(pid)
}

#[cfg(target_os = "linux")]
fn is_zombie(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state == "Z")
}

#[cfg(all(unix, not(target_os = "linux")))]
fn is_zombie(_pid: u32) -> bool {
    false
}

/// A pid that cannot be opened, or whose process has an exit code, is gone.
#[cfg(windows)]
fn alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
    use windows_sys::Win32::System::Threading::{GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
    // SAFETY: plain Win32 calls on a handle we open and close here.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            return false;
        }
        let mut code = 0u32;
        let running = GetExitCodeProcess(h, &mut code) != 0 && code == STILL_ACTIVE as u32;
        CloseHandle(h);
        running
    }
}

/// `(state, ppid)` from `/proc/PID/stat` (the command name may hold spaces: count from `)`).
#[cfg(target_os = "linux")]
fn stat(pid: u32) -> Option<(String, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    Some((rest.next()?.to_string(), rest.next()?.parse().ok()?))
}

#[cfg(target_os = "linux")]
fn all_pids() -> Vec<u32> {
    let dir = std::fs::read_dir("/proc").expect("/proc");
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

/// Live descendants of this test process, by a walk of the whole process table.
#[cfg(target_os = "linux")]
fn descendants() -> Vec<u32> {
    let table: Vec<(u32, String, u32)> =
        all_pids().into_iter().filter_map(|p| stat(p).map(|(s, pp)| (p, s, pp))).collect();
    let mut found = Vec::new();
    let mut next = vec![std::process::id()];
    while let Some(parent) = next.pop() {
        for (pid, state, _) in table.iter().filter(|(_, _, pp)| *pp == parent) {
            next.push(*pid);
            if state != "Z" {
                found.push(*pid);
            }
        }
    }
    found
}

#[cfg(target_os = "linux")]
fn assert_no_descendants() {
    let left = descendants();
    assert!(left.is_empty(), "processes still descend from the test: {left:?}");
}

#[cfg(not(target_os = "linux"))]
fn assert_no_descendants() {}

/// Processes whose environment holds `NAME=VALUE` (Linux; elsewhere none can be seen).
#[cfg(target_os = "linux")]
fn marked(name: &str, value: &str) -> Vec<u32> {
    let needle = format!("{name}={value}");
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&p| p != me)
        .filter(|&p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .filter(|&p| !is_zombie(p))
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn marked(_name: &str, _value: &str) -> Vec<u32> {
    Vec::new()
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
  { run = ["sleep-pid", "{DIR}", "60000"] },
]
[actors.deeper]
steps = [ { sleep_ms = 60000 } ]
"#;

/// The `run` step's subprocess sits in a process group of its own (the reference puts it there
/// to kill it at its own timeout): killing the executor's group alone missed it.
#[test]
fn a_hanging_run_is_killed_whole_and_names_each_actors_step() {
    let pids = Pids::new();
    let (record, verdict) = run_src(&pids.scenario(HANG), Backend::Spawn);
    assert!(record.timed_out);
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    let msg = &verdict.failures[0];
    assert!(msg.starts_with("timed out after 1.5s; the whole process tree was killed;"), "{msg}");
    assert!(msg.contains("main was at line 6 (join)"), "{msg}");
    assert!(msg.contains("sleeper was at line 11 (run)"), "{msg}");
    assert!(msg.contains("deeper was at line 14 (sleep_ms)"), "{msg}");
    pids.assert_all_gone(1);
}

#[cfg(unix)]
#[test]
fn a_hanging_forked_run_is_killed_whole_too() {
    let pids = Pids::new();
    let (record, verdict) = run_src(&pids.scenario(HANG), Backend::Fork);
    assert!(record.timed_out, "{:?}", verdict.failures);
    pids.assert_all_gone(1);
}

/// Backends whose actors are processes (a terminated actor needs one).
fn process_backends() -> Vec<Backend> {
    [Backend::Spawn, Backend::Fork].into_iter().filter(|b| cfg!(unix) || *b != Backend::Fork).collect()
}

/// An actor terminated (or killed) while in a `run` step leaves its subprocess running: that is
/// a process left behind (the run passed before, its group being empty), and it is killed.
#[test]
fn the_subprocess_of_a_terminated_or_killed_actor_is_a_leftover_and_dies() {
    for how in ["terminate", "kill"] {
        for backend in process_backends() {
            let pids = Pids::new();
            let src = format!(
                r#"
[actors.main]
steps = [ {{ start = "runner" }}, {{ sleep_ms = 2000 }}, {{ {how} = "runner" }}, {{ join = "runner" }} ]
[actors.runner]
steps = [ {{ run = ["sleep-pid", "{{DIR}}", "60000"] }} ]
[expect]
exit = {{ runner = "{}" }}
"#,
                if how == "kill" { "killed" } else { "terminated" }
            );
            let (record, verdict) = run_src(&pids.scenario(&src), backend);
            assert!(record.leftovers, "{how} on {backend:?}: {:?}", verdict.failures);
            assert_eq!(
                verdict.failures,
                ["processes of the run were still alive after its executor ended (killed now)"],
                "{how} on {backend:?}"
            );
            pids.assert_all_gone(1);
        }
    }
}

/// A subprocess whose child calls `setsid` (leaving its session and process group).
#[test]
fn a_grandchild_that_calls_setsid_dies_at_the_timeout() {
    let pids = Pids::new();
    let src = r#"
timeout_ms = 3000
[actors.main]
steps = [ { run = ["setsid-sleep", "{DIR}", "60000"] } ]
"#;
    let (record, _) = run_src(&pids.scenario(src), Backend::Thread);
    assert!(record.timed_out);
    pids.assert_all_gone(2);
}

/// A double fork: the subprocess starts a detached grandchild (a new session, no stdio) and
/// exits; the `run` step ends, and so does the run, with the daemon still there.
#[test]
fn a_double_forked_daemon_is_a_leftover_and_dies() {
    for backend in [Backend::Thread, Backend::Spawn] {
        let pids = Pids::new();
        let src = r#"
[actors.main]
steps = [ { run = ["double-fork", "{DIR}", "60000"] }, { sleep_ms = 300 } ]
"#;
        let (record, verdict) = run_src(&pids.scenario(src), backend);
        assert!(record.leftovers, "{backend:?}: {:?}", verdict.failures);
        assert!(!verdict.passed());
        pids.assert_all_gone(2);
    }
}

/// Three levels of processes, each in a session of its own, under an actor process.
#[test]
fn a_three_level_tree_of_sessions_dies_at_the_timeout() {
    for backend in process_backends() {
        let pids = Pids::new();
        let src = r#"
timeout_ms = 4000
[actors.main]
steps = [ { start = "a" }, { join = "a" } ]
[actors.a]
steps = [ { run = ["tree", "{DIR}", "3", "60000"] } ]
"#;
        let (record, _) = run_src(&pids.scenario(src), backend);
        assert!(record.timed_out);
        pids.assert_all_gone(3);
    }
}

/// A `print` loop: its trace stops at the limit instead of filling the disk and the runner's
/// memory, and the run fails with that reason.
#[test]
fn a_run_past_its_trace_limit_fails_with_that_reason() {
    let text = "x".repeat(400);
    let src = format!(
        "timeout_ms = 120000\n[actors.main]\nsteps = [ {{ repeat = 100000, do = [ {{ print = \"{text}\" }} ] }} ]\n"
    );
    let (record, verdict) = run_src(&src, Backend::Thread);
    let limit = procthread_harness::events::TRACE_LIMIT;
    assert!(record.events.len() < limit.events, "{}", record.events.len());
    let bytes: usize = record.events.iter().map(|e| serde_json::to_string(e).map_or(0, |l| l.len() + 1)).sum();
    assert!(bytes as u64 <= limit.bytes, "{bytes} bytes of events loaded");
    assert!(
        verdict
            .failures
            .iter()
            .any(|f| f.starts_with("the run's trace reached its limit (100000 events or 16 MiB per run)")),
        "{:?}",
        verdict.failures
    );
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

/// The real `harness run`, on a scenario that starts a 3-level tree of sessions from an actor
/// process and then waits: signalled once every level is up.
struct Cli {
    child: std::process::Child,
    pids: Pids,
    tmp: tempfile::TempDir,
    mark: String,
    _scenarios: tempfile::TempDir,
}

const MARK: &str = "PROCTHREAD_ISOLATION_TEST";

impl Cli {
    fn start() -> Cli {
        let scenarios = tempfile::tempdir().expect("tempdir");
        let pids = Pids::new();
        let src = r#"
timeout_ms = 120000
[actors.main]
steps = [ { start = "a" }, { join = "a" } ]
[actors.a]
steps = [ { start = "b" }, { run = ["tree", "{DIR}", "3", "120000"] } ]
[actors.b]
steps = [ { sleep_ms = 120000 } ]
"#;
        std::fs::write(scenarios.path().join("hang.toml"), pids.scenario(src)).expect("write scenario");
        let tmp = tempfile::tempdir().expect("tempdir");
        let mark = format!("{}-{:?}", std::process::id(), Instant::now());
        let mut cmd = std::process::Command::new(harness());
        cmd.arg("run").arg("--dir").arg(scenarios.path()).arg("--snapshots").arg(scenarios.path());
        cmd.args(["--backend", "spawn"]).env("TMPDIR", tmp.path()).env("TEMP", tmp.path()).env(MARK, &mark);
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("start harness run");
        let cli = Cli { child, pids, tmp, mark, _scenarios: scenarios };
        assert_eq!(cli.pids.wait_for(3).len(), 3, "the tree came up");
        cli
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < until, "harness run did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded: the cleanup may finish after the runner is gone) until nothing of the run
    /// is left: no recorded pid, no marked process, and (`dirs_too`) no temp dir.
    fn assert_nothing_left(&self, dirs_too: bool) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let pids: Vec<u32> = self.pids.recorded().into_iter().filter(|&p| alive(p)).collect();
            let marked = marked(MARK, &self.mark);
            let dirs: Vec<PathBuf> =
                std::fs::read_dir(self.tmp.path()).expect("tmp").filter_map(|e| e.ok().map(|e| e.path())).collect();
            if pids.is_empty() && marked.is_empty() && (dirs.is_empty() || !dirs_too) {
                break;
            }
            assert!(
                Instant::now() < until,
                "left behind: tools {pids:?}, marked processes {marked:?}, temp dirs {dirs:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.pids.assert_all_gone(3);
    }
}

#[cfg(unix)]
fn signal_runner(cli: &Cli, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(cli.child.id() as i32);
    nix::sys::signal::kill(pid, sig).expect("signal the runner");
}

/// Ctrl-C in a terminal: SIGINT to the runner's group (the runner alone: each run's supervisor
/// has a group of its own). The runner stops its run, removes its temp dir, and ends by SIGINT.
#[cfg(unix)]
#[test]
fn ctrl_c_to_the_runner_stops_its_runs_and_removes_their_temp_dirs() {
    use std::os::unix::process::ExitStatusExt;
    let mut cli = Cli::start();
    // The runner leads its own group here, as a shell's foreground job: signal the whole group.
    let group = nix::unistd::Pid::from_raw(cli.child.id() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).expect("signal the runner's group");
    let status = cli.wait();
    assert_eq!(status.signal(), Some(nix::sys::signal::Signal::SIGINT as i32), "{status:?}");
    cli.assert_nothing_left(true);
}

#[cfg(unix)]
#[test]
fn sigterm_to_the_runner_stops_its_runs_and_removes_their_temp_dirs() {
    use std::os::unix::process::ExitStatusExt;
    let mut cli = Cli::start();
    signal_runner(&cli, nix::sys::signal::Signal::SIGTERM);
    let status = cli.wait();
    assert_eq!(status.signal(), Some(nix::sys::signal::Signal::SIGTERM as i32), "{status:?}");
    cli.assert_nothing_left(true);
}

/// A runner killed outright cannot clean up: each supervisor notices and does it.
#[cfg(unix)]
#[test]
fn a_runner_killed_outright_leaves_nothing_behind() {
    use std::os::unix::process::ExitStatusExt;
    let mut cli = Cli::start();
    signal_runner(&cli, nix::sys::signal::Signal::SIGKILL);
    let status = cli.wait();
    assert_eq!(status.signal(), Some(nix::sys::signal::Signal::SIGKILL as i32), "{status:?}");
    cli.assert_nothing_left(true);
}

/// On Windows the run's job dies with its last handle, the runner's (its temp dir stays: there
/// is no supervisor left to remove it).
#[cfg(windows)]
#[test]
fn a_runner_killed_outright_leaves_no_process_behind() {
    let mut cli = Cli::start();
    cli.child.kill().expect("kill the runner");
    cli.wait();
    cli.assert_nothing_left(false);
}

/// A supervisor whose runner is gone removes the run's temp dir, and nothing else: not a
/// directory that is not a run's, and not the scenario directory (the global `--dir`, which once
/// leaked into the supervisor's own option).
#[cfg(unix)]
#[test]
fn a_supervisor_removes_only_a_runs_temp_dir() {
    let keep = tempfile::tempdir().expect("tempdir");
    std::fs::write(keep.path().join("precious"), "x").expect("write");
    let run_dir = tempfile::Builder::new().prefix("procthread-run-").tempdir().expect("tempdir");
    let supervise = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = std::process::Command::new(harness());
        cmd.args(extra).args(["supervise", "--timeout-ms", "60000", "--parent", "1"]);
        cmd.arg("--").arg(harness()).args(["tool", "exit", "0"]);
        // No runner: stdin at its end from the start.
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
        cmd.status().expect("supervise")
    };
    // `--dir` is no option of `supervise` (nor global any more): refused, nothing removed.
    assert_eq!(supervise(&["--dir".as_ref(), keep.path().as_os_str()]).code(), Some(2));
    let mut cmd = std::process::Command::new(harness());
    cmd.args(["supervise", "--timeout-ms", "60000", "--parent", "1", "--run-dir"]).arg(keep.path());
    cmd.arg("--").arg(harness()).args(["tool", "exit", "0"]).stdin(std::process::Stdio::null());
    assert!(cmd.status().expect("supervise").success());
    assert!(keep.path().join("precious").exists(), "a directory that is not a run's was removed");
    let mut cmd = std::process::Command::new(harness());
    cmd.args(["supervise", "--timeout-ms", "60000", "--parent", "1", "--run-dir"]).arg(run_dir.path());
    cmd.arg("--").arg(harness()).args(["tool", "exit", "0"]).stdin(std::process::Stdio::null());
    assert!(cmd.status().expect("supervise").success());
    assert!(!run_dir.path().exists(), "the run's temp dir stays after its runner went away");
}
