//! Issue 8's findings on processes and pools, each with the test that failed before its fix:
//! a pool that hung on an undecodable result or an oversize argument, a too-large result read
//! as a dead worker, a worker killed while idle that failed the next task unrun (point 7);
//! `Duration::MAX` timeouts that panicked (point 9); a re-exec entry that trusted its command
//! line (point 11).

use std::io::Write;
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{Entry, Pool, PoolError, Process, StartMethod, Task, ThreadPool, active_children, wait};

use super::check;

/// The bound on any wait here: far beyond what a loaded machine needs, short of a hang.
const LONG: Duration = Duration::from_secs(60);

/// A JSON value nested `depth` arrays deep (the decoder stops at 128).
pub static NESTED: Task<usize, serde_json::Value> = Task::new("hardening::nested", |depth| {
    (0..depth).fold(serde_json::Value::Null, |inner, _| serde_json::Value::Array(vec![inner]))
});
pub static LEN: Task<String, usize> = Task::new("hardening::len", |s| s.len());
pub static BIG_RESULT: Task<usize, String> = Task::new("hardening::big_result", |n| "x".repeat(n));
pub static SQR: Task<i64, i64> = Task::new("hardening::sqr", |x| x * x);
pub static QUICK: Entry<()> = Entry::new("hardening::quick", |()| ());

pub static REGISTRY: procthread::Registry = &[&NESTED, &LEN, &BIG_RESULT, &SQR, &QUICK];

pub fn per_method() -> Vec<(&'static str, super::MethodTest)> {
    vec![
        ("pool_undecodable_result_fails_its_task", pool_undecodable_result_fails_its_task),
        ("pool_oversize_argument_fails_its_task", pool_oversize_argument_fails_its_task),
        ("pool_17mib_result_is_too_large_not_a_dead_worker", pool_17mib_result_is_too_large),
        ("pool_worker_killed_while_idle_does_not_fail_the_next_task", pool_worker_killed_while_idle),
        ("duration_max_timeouts_wait_for_ever", duration_max_timeouts),
        ("exitcode_polls_an_ended_child_without_join", exitcode_polls),
    ]
}

fn pool_undecodable_result_fails_its_task(method: StartMethod) -> Result<(), Failed> {
    let pool = Pool::with_method(1, method)?;
    let deep = pool.apply_async(&NESTED, 200)?;
    let got = deep.get(Some(LONG));
    check(matches!(&got, Err(PoolError::Decode { what: "result", .. })), format!("a decode failure, got {got:?}"))?;
    check(pool.apply(&SQR, 7)? == 49, "the pool goes on")?;
    check(pool.apply(&NESTED, 100)?.is_array(), "a result the decoder takes still comes back")
}

fn pool_oversize_argument_fails_its_task(method: StartMethod) -> Result<(), Failed> {
    let pool = Pool::with_method(1, method)?;
    let big = "x".repeat(procthread::DEFAULT_MAX_MESSAGE + 1);
    let got = pool.apply_async(&LEN, big)?.get(Some(LONG)).cloned();
    check(matches!(got, Err(PoolError::TooLarge { what: "arguments", .. })), format!("too large, got {got:?}"))?;
    check(pool.apply(&SQR, 7)? == 49, "the pool goes on")?;
    let items = vec!["a".to_string(), "x".repeat(procthread::DEFAULT_MAX_MESSAGE + 1), "abc".to_string()];
    let mut it = pool.imap(&LEN, items)?;
    check(it.next() == Some(Ok(1)), "the item before")?;
    check(matches!(it.next(), Some(Err(PoolError::TooLarge { .. }))), "only the oversize item fails")?;
    check(it.next() == Some(Ok(3)), "the item after")
}

fn pool_17mib_result_is_too_large(method: StartMethod) -> Result<(), Failed> {
    let pool = Pool::with_method(1, method)?;
    let before = pool.worker_pids();
    let got = pool.apply(&BIG_RESULT, 17 << 20);
    let ok = matches!(got, Err(PoolError::TooLarge { what: "result", size, limit }) if size > limit);
    check(ok, format!("the result is too large, got {:?}", got.map(|s| s.len())))?;
    check(pool.worker_pids() == before, "the worker did not die")?;
    check(pool.apply(&SQR, 7)? == 49, "the pool goes on")
}

fn pool_worker_killed_while_idle(method: StartMethod) -> Result<(), Failed> {
    let pool = Pool::with_method(1, method)?;
    check(pool.apply(&SQR, 2)? == 4, "warm")?;
    let pid = pool.worker_pids()[0];
    kill_and_wait_dead(pid)?;
    // The next task never started on the dead worker: it runs on its replacement.
    check(pool.apply(&SQR, 3)? == 9, "the next task runs")?;
    let after = pool.worker_pids();
    check(after.len() == 1 && after[0] != pid, format!("replaced: {pid} -> {after:?}"))
}

#[cfg(target_os = "linux")]
fn kill_and_wait_dead(pid: u32) -> Result<(), Failed> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL)?;
    let deadline = Instant::now() + LONG;
    // Dead once it is a zombie (a spawned worker: our child, not yet reaped) or gone (a
    // worker of the fork server, which reaps it).
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return Ok(()),
            Ok(stat) if stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')) => {
                return Ok(());
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    Err(format!("worker {pid} did not die").into())
}

#[cfg(all(unix, not(target_os = "linux")))]
fn kill_and_wait_dead(pid: u32) -> Result<(), Failed> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL)?;
    std::thread::sleep(Duration::from_secs(1));
    Ok(())
}

#[cfg(windows)]
fn kill_and_wait_dead(pid: u32) -> Result<(), Failed> {
    let _ = std::process::Command::new("taskkill").args(["/F", "/PID", &pid.to_string()]).status();
    std::thread::sleep(Duration::from_secs(1));
    Ok(())
}

fn duration_max_timeouts(method: StartMethod) -> Result<(), Failed> {
    let mut p = Process::new(&QUICK, ()).start_method(method);
    p.start()?;
    check(p.join_timeout(Duration::MAX)? == Some(0), "join_timeout(MAX)")?;
    let mut q = Process::new(&QUICK, ()).start_method(method);
    q.start()?;
    check(wait(&[&q], Some(Duration::MAX))?.len() == 1, "wait(MAX)")?;
    check(q.join()? == 0, "joined")?;
    let pool = Pool::with_method(1, method)?;
    let r = pool.apply_async(&SQR, 5)?;
    check(r.wait(Some(Duration::MAX)), "AsyncResult::wait(MAX)")?;
    check(r.get(Some(Duration::MAX)) == Ok(&25), "AsyncResult::get(MAX)")?;
    let mut it = pool.imap(&SQR, [1, 2])?;
    check(it.next_timeout(Some(Duration::MAX)) == Some(Ok(1)), "imap next_timeout(MAX)")?;
    let tp = ThreadPool::new(1)?;
    check(tp.apply_async(|| 3)?.get(Some(Duration::MAX)) == Ok(&3), "thread pool get(MAX)")
}

fn exitcode_polls(method: StartMethod) -> Result<(), Failed> {
    let mut p = Process::new(&QUICK, ()).start_method(method);
    p.start()?;
    let deadline = Instant::now() + LONG;
    while p.exitcode().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    check(p.exitcode() == Some(0), "the exit code shows without a join")?;
    check(!active_children().iter().any(|c| Some(c.pid()) == p.pid()), "and the child left active_children")
}

// ---- point 11: the re-exec entry ----

fn run_self(args: &[&str], stdin: &[u8]) -> Result<std::process::Output, Failed> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin);
    }
    Ok(child.wait_with_output()?)
}

/// A boot record as a parent would write it, framed.
fn frame(json: &str) -> Vec<u8> {
    let mut f = (json.len() as u32).to_le_bytes().to_vec();
    f.extend_from_slice(json.as_bytes());
    f
}

fn forged_boot(handles: &str) -> String {
    format!(
        r#"{{"entry":"exit_with","name":"forged","daemon":false,"status":1,"handles":{handles},"ppid":1,"parent_name":"x","liveness":99}}"#
    )
}

/// A command line with the child flag runs no entry: neither an old-style record on the
/// command line nor a boot channel that is stdio.
pub fn forged_child_flag_is_refused() -> Result<(), Failed> {
    let out = run_self(&["--procthread-child", &forged_boot("[]")], b"")?;
    let err = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(2), format!("exit 2, got {:?}: {err}", out.status))?;
    check(err.contains("boot channel's handle number"), err.to_string())?;
    let mut stdin = frame(&forged_boot("[0]"));
    stdin.extend_from_slice(b"0");
    let out = run_self(&["--procthread-child", "0"], &stdin)?;
    let err = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(2), format!("exit 2, got {:?}: {err}", out.status))?;
    check(err.contains("refusing to run as a child"), err.to_string())
}

/// A boot channel that is a pipe, or a socket made by anyone but our parent, is refused; a
/// real one listing a handle twice, or stdio, is refused too (no descriptor gets two owners).
#[cfg(target_os = "linux")]
pub fn forged_boot_channels_are_refused() -> Result<(), Failed> {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    // Runs `cmd` with `fd` as its descriptor 3 and `input` written to our end.
    fn run_with_fd3(
        mut cmd: Command,
        fd: OwnedFd,
        input: &[u8],
        mut ours: impl Write,
    ) -> Result<std::process::Output, Failed> {
        let raw = fd.as_raw_fd();
        // SAFETY: dup2 and fcntl are async-signal-safe and allocate nothing; `raw` stays open
        // in the forked child until exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto itself keeps close-on-exec: clear it instead.
                let r = if raw == 3 { libc::fcntl(3, libc::F_SETFD, 0) } else { libc::dup2(raw, 3) };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        drop(fd);
        let _ = ours.write_all(input);
        drop(ours);
        Ok(child.wait_with_output()?)
    }
    let exe = std::env::current_exe()?;
    let expect_refused = |out: std::process::Output, why: &str| -> Result<(), Failed> {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        check(out.status.code() == Some(2) && err.contains(why), format!("{:?}: {err} (wanted {why:?})", out.status))
    };

    // A pipe is not a boot channel.
    let (r, w) = std::io::pipe()?;
    let mut cmd = Command::new(&exe);
    cmd.args(["--procthread-child", "3"]);
    expect_refused(run_with_fd3(cmd, OwnedFd::from(r), &frame(&forged_boot("[]")), w)?, "not a socket")?;

    // A socket made by a process other than the child's parent (here `sh` is the parent).
    let (mine, theirs) = UnixStream::pair()?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("\"$0\" --procthread-child 3; exit $?").arg(&exe);
    expect_refused(run_with_fd3(cmd, OwnedFd::from(theirs), &frame(&forged_boot("[]")), mine)?, "not by our parent")?;

    // A real boot channel (we are the parent) whose record lists a handle twice, or stdio.
    for (handles, why) in [("[7,7]", "listed twice"), ("[0]", "standard I/O")] {
        let (mine, theirs) = UnixStream::pair()?;
        let mut cmd = Command::new(&exe);
        cmd.args(["--procthread-child", "3"]);
        expect_refused(run_with_fd3(cmd, OwnedFd::from(theirs), &frame(&forged_boot(handles)), mine)?, why)?;
    }
    Ok(())
}
