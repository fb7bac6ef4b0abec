//! Ported from CPython's `test_subprocess.py`. The programs these cases run are this test
//! binary itself, started with a flag (no `sh`, `cat` or `python` needed, on any OS): where
//! CPython runs `python -c "..."`, a tool below does the same.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::SubprocessError;
use procthread::subprocess::{self, Command, Output, Popen, Redirect};

use crate::case::{Case, Run, check, check_eq};

const TOOL_FLAG: &str = "--cpython-test-tool";

/// If started as a tool (`TOOL_FLAG NAME ARGS...`), runs it and exits.
pub fn run_tool_if_asked() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) != Some(TOOL_FLAG) {
        return;
    }
    let code = tool(&argv[2..]);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

fn stdin_all() -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
    buf
}

fn out(bytes: &[u8]) {
    let mut o = std::io::stdout();
    let _ = o.write_all(bytes).and_then(|()| o.flush());
}

fn err(bytes: &[u8]) {
    let mut e = std::io::stderr();
    let _ = e.write_all(bytes).and_then(|()| e.flush());
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The tools, each standing for one of CPython's `python -c` programs.
fn tool(args: &[String]) -> i32 {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let num = |i: usize| arg(i).parse::<u64>().unwrap_or(0);
    match arg(0) {
        // sys.exit(N)
        "exit" => num(1) as i32,
        // time.sleep(MS / 1000)
        "sleep" => {
            sleep_ms(num(1));
            0
        }
        // sys.stdout.write(TEXT)
        "out" => {
            out(arg(1).as_bytes());
            0
        }
        // sys.stderr.write(TEXT)
        "err" => {
            err(arg(1).as_bytes());
            0
        }
        // sys.stdout.write(A); sys.stdout.flush(); sys.stderr.write(B)
        "out-err" => {
            out(arg(1).as_bytes());
            err(arg(2).as_bytes());
            0
        }
        // sys.exit(sys.stdin.read() == TEXT)
        "stdin-is" => i32::from(stdin_all() == arg(1).as_bytes()),
        // sys.stdout.write(sys.stdin.read().upper())
        "upper" => {
            out(&stdin_all().to_ascii_uppercase());
            0
        }
        // sys.stderr.write(TEXT); sys.stdout.write(sys.stdin.read())
        "err-echo" => {
            err(arg(1).as_bytes());
            out(&stdin_all());
            0
        }
        // sys.stdout.write(TEXT); sys.stdout.flush(); time.sleep(MS / 1000)
        "out-sleep" => {
            out(arg(1).as_bytes());
            sleep_ms(num(2));
            0
        }
        // test_communicate_timeout's program
        "pineapple-pear" => {
            err(b"pineapple\n");
            sleep_ms(1000);
            err(b"pear\n");
            out(&stdin_all());
            0
        }
        // test_communicate_timeout_large_output's program: 4 x 64 KiB, 200 ms apart
        "large-slow" => {
            for i in 0..4 {
                if i > 0 {
                    sleep_ms(200);
                }
                out(&[b'a'; 64 * 1024]);
            }
            0
        }
        // test_communicate_pipe_buf's program
        "pipe-buf" => {
            let mut first = [0u8; 47];
            let _ = std::io::stdin().read_exact(&mut first);
            out(&first);
            err(&vec![b'x'; num(1) as usize]);
            out(&stdin_all());
            0
        }
        // os.read(0, 1)
        "read1" => {
            let _ = std::io::stdin().read(&mut [0u8; 1]);
            0
        }
        // for i in range(N): print("x" * 1024), to stdout or stderr
        "bulk" => {
            let line = [b'x'; 1024];
            for _ in 0..num(2) {
                if arg(1) == "err" { err(&line) } else { out(&line) }
            }
            0
        }
        // os.abort()
        "abort" => std::process::abort(),
        // `sleep` in a shell: a grandchild that holds stdout (in a session of its own on Unix,
        // out of the child's process group) and sleeps; prints its pid first.
        "holder" => {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap_or_default());
            cmd.args([TOOL_FLAG, "sleep", arg(1)]);
            #[cfg(unix)]
            // SAFETY: runs in the forked child before exec and only calls setsid(2), which is
            // async-signal-safe and allocates nothing.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                    nix::unistd::setsid().map(drop).map_err(std::io::Error::from)
                });
            }
            match cmd.spawn() {
                Ok(child) => out(format!("{}\n", child.id()).as_bytes()),
                Err(e) => err(e.to_string().as_bytes()),
            }
            sleep_ms(num(1));
            0
        }
        _ => 99,
    }
}

/// The argv that runs tool `args[0]` with the rest as its arguments.
pub fn tool_argv(args: &[&str]) -> Vec<String> {
    let exe = std::env::current_exe().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    [exe, TOOL_FLAG.to_string()].into_iter().chain(args.iter().map(|s| s.to_string())).collect()
}

fn tool_cmd(args: &[&str]) -> Command {
    Command::new(&tool_argv(args))
}

/// A temporary file that removes itself (CPython's `tempfile.TemporaryFile`).
struct TempFile {
    path: PathBuf,
    file: File,
}

impl TempFile {
    fn new(content: &[u8]) -> Result<TempFile, Failed> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("procthread-subprocess-{}-{n}", std::process::id()));
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
        file.write_all(content)?;
        file.rewind()?;
        Ok(TempFile { path, file })
    }

    fn redirect(&self) -> Result<Redirect, Failed> {
        Ok(Redirect::File(self.file.try_clone()?))
    }

    fn content(&mut self) -> Result<Vec<u8>, Failed> {
        let mut buf = Vec::new();
        self.file.rewind()?;
        self.file.read_to_end(&mut buf)?;
        Ok(buf)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn case(class: &'static str, test: &'static str, checks: &'static str, f: fn() -> Result<(), Failed>) -> Case {
    Case { file: "test_subprocess.py", class, test, checks, difference: None, run: Run::Once(f) }
}

fn differs(mut c: Case, why: &'static str) -> Case {
    c.difference = Some(why);
    c
}

pub fn cases() -> Vec<Case> {
    const P: &str = "ProcessTestCase";
    const R: &str = "RunFuncTestCase";
    vec![
        case(P, "test_call_seq", "call returns the exit code", test_call_seq),
        case(
            P,
            "test_call_timeout",
            "call with a timeout kills the child and raises TimeoutExpired",
            test_call_timeout,
        ),
        case(P, "test_check_call_zero", "check_call of a zero exit code", test_check_call_zero),
        case(
            P,
            "test_check_call_nonzero",
            "check_call raises CalledProcessError with the code",
            test_check_call_nonzero,
        ),
        case(P, "test_check_output", "check_output returns stdout", test_check_output),
        case(
            P,
            "test_check_output_nonzero",
            "check_output raises CalledProcessError with the code",
            test_check_output_nonzero,
        ),
        case(P, "test_check_output_stderr", "stderr=STDOUT: stderr lands in the output", test_check_output_stderr),
        case(P, "test_check_output_input_arg", "input= reaches the child's stdin", test_check_output_input_arg),
        case(P, "test_check_output_timeout", "TimeoutExpired carries the output so far", test_check_output_timeout),
        case(P, "test_stdin_pipe", "stdin=PIPE written and closed by the caller", test_stdin_pipe),
        case(P, "test_stdin_filedes", "stdin from an open file", test_stdin_filedes),
        case(P, "test_stdout_pipe", "stdout=PIPE read by the caller", test_stdout_pipe),
        case(P, "test_stdout_filedes", "stdout to an open file", test_stdout_filedes),
        case(P, "test_stderr_pipe", "stderr=PIPE read by the caller", test_stderr_pipe),
        case(P, "test_stdout_stderr_pipe", "stdout and stderr into one pipe, in order", test_stdout_stderr_pipe),
        case(P, "test_stdout_stderr_file", "stdout and stderr into one file", test_stdout_stderr_file),
        case(P, "test_stdout_devnull", "stdout=DEVNULL: 10 MiB discarded, no pipe", test_stdout_devnull),
        case(P, "test_stderr_devnull", "stderr=DEVNULL: 10 MiB discarded, no pipe", test_stderr_devnull),
        case(P, "test_stdin_devnull", "stdin=DEVNULL reads end of file, no pipe", test_stdin_devnull),
        case(P, "test_communicate_stdin", "communicate feeds stdin", test_communicate_stdin),
        case(P, "test_communicate_stdout", "communicate: stdout collected, stderr None", test_communicate_stdout),
        case(P, "test_communicate_stderr", "communicate: stderr collected, stdout None", test_communicate_stderr),
        case(P, "test_communicate", "communicate with all three pipes", test_communicate),
        case(
            P,
            "test_communicate_timeout",
            "communicate times out, then a second call returns all the output",
            test_communicate_timeout,
        ),
        case(
            P,
            "test_communicate_timeout_large_output",
            "a timeout mid-output loses nothing: the retry returns all 256 KiB",
            test_communicate_timeout_large_output,
        ),
        case(P, "test_communicate_returns", "communicate without pipes returns (None, None)", test_communicate_returns),
        case(
            P,
            "test_communicate_pipe_buf",
            "writes and reads far past the pipe buffer, no deadlock",
            test_communicate_pipe_buf,
        ),
        case(P, "test_poll", "poll is None while running, the code after", test_poll),
        case(P, "test_wait", "wait returns the code, again on a second call", test_wait),
        case(
            P,
            "test_wait_timeout",
            "wait(timeout) raises TimeoutExpired and leaves the child running",
            test_wait_timeout,
        ),
        case(R, "test_returncode", "run returns the code; check_returncode raises", test_returncode),
        case(R, "test_check", "run(check=True) raises CalledProcessError", test_check),
        case(R, "test_check_zero", "run(check=True) of a zero exit code", test_check_zero),
        case(R, "test_timeout", "run with a timeout kills the child", test_timeout),
        case(R, "test_capture_stdout", "run captures stdout", test_capture_stdout),
        case(R, "test_capture_stderr", "run captures stderr", test_capture_stderr),
        case(R, "test_capture_output", "capture_output=True captures both", test_capture_output),
        case(
            R,
            "test_check_output_timeout",
            "run's TimeoutExpired carries the output so far",
            test_run_check_output_timeout,
        ),
        differs(
            case(
                R,
                "test_check_output_stdin_with_input_arg",
                "stdin= and input= together are refused",
                test_stdin_with_input,
            ),
            "the builder's `input` sets stdin to a pipe, so only a stdin given after it conflicts",
        ),
        differs(
            case(
                R,
                "test_run_with_shell_timeout_and_capture_output",
                "a timeout bounds the call although a grandchild keeps the pipes open",
                test_run_with_shell_timeout_and_capture_output,
            ),
            "CPython does not read after the kill (it returns what it had); the reference reads for 250 ms more, then closes its ends of the pipes",
        ),
        differs(
            Case {
                file: "test_subprocess.py",
                class: "POSIXProcessTestCase",
                test: "test_kill",
                checks: "kill ends the child; the code is -SIGKILL",
                difference: None,
                run: Run::Once(test_kill),
            },
            "on Windows (Win32ProcessTestCase) the code reads -15, the chapter's code for TerminateProcess",
        ),
        differs(
            Case {
                file: "test_subprocess.py",
                class: "POSIXProcessTestCase",
                test: "test_run_abort",
                checks: "a child that aborts: the code is -SIGABRT",
                difference: None,
                run: Run::Once(test_run_abort),
            },
            "on Windows an abort is the fail-fast exception 0xC0000409",
        ),
    ]
}

fn called_process(r: Result<impl std::fmt::Debug, SubprocessError>, want: i32) -> Result<(), Failed> {
    match r {
        Err(SubprocessError::CalledProcess { code, .. }) => check_eq(code, want, "CalledProcessError's code"),
        other => Err(format!("expected CalledProcessError, got {other:?}").into()),
    }
}

fn timed_out<T: std::fmt::Debug>(r: Result<T, SubprocessError>) -> Result<(Vec<u8>, Vec<u8>), Failed> {
    match r {
        Err(SubprocessError::Timeout { stdout, stderr, .. }) => Ok((stdout, stderr)),
        other => Err(format!("expected TimeoutExpired, got {other:?}").into()),
    }
}

fn test_call_seq() -> Result<(), Failed> {
    check_eq(subprocess::call(&tool_argv(&["exit", "47"]))?, 47, "call")
}

fn test_call_timeout() -> Result<(), Failed> {
    let t = Instant::now();
    timed_out(tool_cmd(&["sleep", "60000"]).timeout(Duration::from_millis(100)).call())?;
    check(t.elapsed() < Duration::from_secs(30), "the child was killed, not waited for")
}

fn test_check_call_zero() -> Result<(), Failed> {
    Ok(subprocess::check_call(&tool_argv(&["exit", "0"]))?)
}

fn test_check_call_nonzero() -> Result<(), Failed> {
    called_process(subprocess::check_call(&tool_argv(&["exit", "47"])), 47)
}

fn test_check_output() -> Result<(), Failed> {
    let output = subprocess::check_output(&tool_argv(&["out", "BDFL\n"]))?;
    check(output.windows(4).any(|w| w == b"BDFL"), format!("{output:?}"))
}

fn test_check_output_nonzero() -> Result<(), Failed> {
    called_process(subprocess::check_output(&tool_argv(&["exit", "5"])), 5)
}

fn test_check_output_stderr() -> Result<(), Failed> {
    let output = tool_cmd(&["err", "BDFL"]).stderr_to_stdout().check_output()?;
    check_eq(output.as_slice(), b"BDFL", "output")
}

fn test_check_output_input_arg() -> Result<(), Failed> {
    let output = tool_cmd(&["upper"]).input(*b"pear").check_output()?;
    check_eq(output.as_slice(), b"PEAR", "output")
}

fn test_check_output_timeout() -> Result<(), Failed> {
    let r = tool_cmd(&["out-sleep", "BDFL", "3600000"]).timeout(Duration::from_secs(3)).check_output();
    let (stdout, _) = timed_out(r)?;
    check_eq(stdout.as_slice(), b"BDFL", "the exception's output")
}

fn test_stdin_pipe() -> Result<(), Failed> {
    let mut p = tool_cmd(&["stdin-is", "pear"]).stdin(Redirect::Pipe).popen()?;
    let mut stdin = p.stdin.take().ok_or("no stdin pipe")?;
    stdin.write_all(b"pear")?;
    drop(stdin);
    check_eq(p.wait()?, 1, "returncode")
}

fn test_stdin_filedes() -> Result<(), Failed> {
    let tf = TempFile::new(b"pear")?;
    let mut p = tool_cmd(&["stdin-is", "pear"]).stdin(tf.redirect()?).popen()?;
    check_eq(p.wait()?, 1, "returncode")
}

fn read_all(r: Option<impl Read>) -> Result<Vec<u8>, Failed> {
    let mut buf = Vec::new();
    r.ok_or("no pipe")?.read_to_end(&mut buf)?;
    Ok(buf)
}

fn test_stdout_pipe() -> Result<(), Failed> {
    let mut p = tool_cmd(&["out", "orange"]).stdout(Redirect::Pipe).popen()?;
    check_eq(read_all(p.stdout.take())?.as_slice(), b"orange", "stdout")?;
    check_eq(p.wait()?, 0, "returncode")
}

fn test_stdout_filedes() -> Result<(), Failed> {
    let mut tf = TempFile::new(b"")?;
    let mut p = tool_cmd(&["out", "orange"]).stdout(tf.redirect()?).popen()?;
    p.wait()?;
    check_eq(tf.content()?.as_slice(), b"orange", "the file")
}

fn test_stderr_pipe() -> Result<(), Failed> {
    let mut p = tool_cmd(&["err", "strawberry"]).stderr(Redirect::Pipe).popen()?;
    check_eq(read_all(p.stderr.take())?.as_slice(), b"strawberry", "stderr")?;
    check_eq(p.wait()?, 0, "returncode")
}

fn test_stdout_stderr_pipe() -> Result<(), Failed> {
    let mut p = tool_cmd(&["out-err", "apple", "orange"]).stdout(Redirect::Pipe).stderr_to_stdout().popen()?;
    check(p.stderr.is_none(), "no stderr pipe of its own")?;
    check_eq(read_all(p.stdout.take())?.as_slice(), b"appleorange", "stdout")?;
    check_eq(p.wait()?, 0, "returncode")
}

fn test_stdout_stderr_file() -> Result<(), Failed> {
    let mut tf = TempFile::new(b"")?;
    let mut p = tool_cmd(&["out-err", "apple", "orange"]).stdout(tf.redirect()?).stderr(tf.redirect()?).popen()?;
    p.wait()?;
    check_eq(tf.content()?.as_slice(), b"appleorange", "the file")
}

fn test_stdout_devnull() -> Result<(), Failed> {
    let mut p = tool_cmd(&["bulk", "out", "10240"]).stdout(Redirect::Null).popen()?;
    check_eq(p.wait()?, 0, "returncode")?;
    check(p.stdout.is_none(), "no stdout pipe")
}

fn test_stderr_devnull() -> Result<(), Failed> {
    let mut p = tool_cmd(&["bulk", "err", "10240"]).stderr(Redirect::Null).popen()?;
    check_eq(p.wait()?, 0, "returncode")?;
    check(p.stderr.is_none(), "no stderr pipe")
}

fn test_stdin_devnull() -> Result<(), Failed> {
    let mut p = tool_cmd(&["read1"]).stdin(Redirect::Null).popen()?;
    check_eq(p.wait()?, 0, "returncode")?;
    check(p.stdin.is_none(), "no stdin pipe")
}

fn test_communicate_stdin() -> Result<(), Failed> {
    let mut p = tool_cmd(&["stdin-is", "pear"]).stdin(Redirect::Pipe).popen()?;
    p.communicate(Some(b"pear"), None)?;
    check_eq(p.returncode(), Some(1), "returncode")
}

fn test_communicate_stdout() -> Result<(), Failed> {
    let mut p = tool_cmd(&["out", "pineapple"]).stdout(Redirect::Pipe).popen()?;
    let got = p.communicate(None, None)?;
    check_eq(got, Output { stdout: Some(b"pineapple".to_vec()), stderr: None }, "communicate")
}

fn test_communicate_stderr() -> Result<(), Failed> {
    let mut p = tool_cmd(&["err", "pineapple"]).stderr(Redirect::Pipe).popen()?;
    let got = p.communicate(None, None)?;
    check_eq(got, Output { stdout: None, stderr: Some(b"pineapple".to_vec()) }, "communicate")
}

fn all_pipes(args: &[&str]) -> Result<Popen, Failed> {
    Ok(tool_cmd(args).stdin(Redirect::Pipe).stdout(Redirect::Pipe).stderr(Redirect::Pipe).popen()?)
}

fn test_communicate() -> Result<(), Failed> {
    let mut p = all_pipes(&["err-echo", "pineapple"])?;
    let got = p.communicate(Some(b"banana"), None)?;
    check_eq(got, Output { stdout: Some(b"banana".to_vec()), stderr: Some(b"pineapple".to_vec()) }, "communicate")
}

fn test_communicate_timeout() -> Result<(), Failed> {
    let mut p = all_pipes(&["pineapple-pear"])?;
    timed_out(p.communicate(Some(b"banana"), Some(Duration::from_millis(300))))?;
    // The program keeps running; the second call waits for it and returns everything.
    let got = p.communicate(None, None)?;
    check_eq(
        got,
        Output { stdout: Some(b"banana".to_vec()), stderr: Some(b"pineapple\npear\n".to_vec()) },
        "the whole output",
    )
}

fn test_communicate_timeout_large_output() -> Result<(), Failed> {
    let mut p = tool_cmd(&["large-slow"]).stdout(Redirect::Pipe).popen()?;
    timed_out(p.communicate(None, Some(Duration::from_millis(400))))?;
    let got = p.communicate(None, None)?;
    check_eq(got.stdout.map(|o| o.len()), Some(4 * 64 * 1024), "bytes read in all")
}

fn test_communicate_returns() -> Result<(), Failed> {
    let mut p = tool_cmd(&["exit", "47"]).popen()?;
    let got = p.communicate(None, None)?;
    check_eq(got, Output { stdout: None, stderr: None }, "communicate")?;
    check_eq(p.returncode(), Some(47), "returncode")
}

fn test_communicate_pipe_buf() -> Result<(), Failed> {
    // CPython's PIPE_MAX_SIZE: more than any pipe buffer (4 MiB + 1).
    let size = (4 << 20) + 1;
    let mut p = all_pipes(&["pipe-buf", &size.to_string()])?;
    let input = vec![b'a'; size];
    let got = p.communicate(Some(&input), None)?;
    check(got.stdout.as_deref() == Some(input.as_slice()), "stdout is the input")?;
    check_eq(got.stderr.map(|e| e.len()), Some(size), "stderr bytes")
}

fn test_poll() -> Result<(), Failed> {
    let mut p = tool_cmd(&["read1"]).stdin(Redirect::Pipe).popen()?;
    check_eq(p.poll()?, None, "poll while running")?;
    p.stdin.as_mut().ok_or("no stdin pipe")?.write_all(b"A")?;
    p.wait()?;
    check_eq(p.poll()?, Some(0), "poll once ended")
}

fn test_wait() -> Result<(), Failed> {
    let mut p = tool_cmd(&["exit", "0"]).popen()?;
    check_eq(p.wait()?, 0, "wait")?;
    check_eq(p.wait()?, 0, "wait again")
}

fn test_wait_timeout() -> Result<(), Failed> {
    let mut p = tool_cmd(&["sleep", "300"]).popen()?;
    let err = p.wait_timeout(Duration::from_micros(100)).expect_err("timeout");
    check(err.to_string().contains("100µs"), format!("the message names the timeout: {err}"))?;
    check(matches!(err, SubprocessError::Timeout { .. }), "TimeoutExpired")?;
    check_eq(p.wait_timeout(Duration::from_secs(60))?, 0, "wait once it ends")
}

fn test_returncode() -> Result<(), Failed> {
    let cp = tool_cmd(&["exit", "47"]).run()?;
    check_eq(cp.code, 47, "returncode")?;
    called_process(cp.check_returncode("tool"), 47)
}

fn test_check() -> Result<(), Failed> {
    called_process(tool_cmd(&["exit", "47"]).check().run(), 47)
}

fn test_check_zero() -> Result<(), Failed> {
    check_eq(tool_cmd(&["exit", "0"]).check().run()?.code, 0, "returncode")
}

fn test_timeout() -> Result<(), Failed> {
    timed_out(tool_cmd(&["sleep", "60000"]).timeout(Duration::from_micros(100)).run()).map(drop)
}

fn test_capture_stdout() -> Result<(), Failed> {
    let cp = tool_cmd(&["out", "BDFL"]).stdout(Redirect::Pipe).run()?;
    check_eq(cp.stdout.as_slice(), b"BDFL", "stdout")
}

fn test_capture_stderr() -> Result<(), Failed> {
    let cp = tool_cmd(&["err", "BDFL"]).stderr(Redirect::Pipe).run()?;
    check_eq(cp.stderr.as_slice(), b"BDFL", "stderr")
}

fn test_capture_output() -> Result<(), Failed> {
    let cp = tool_cmd(&["out-err", "BDFL", "FLUFL"]).capture_output().run()?;
    check_eq((cp.stdout.as_slice(), cp.stderr.as_slice()), (&b"BDFL"[..], &b"FLUFL"[..]), "output")
}

fn test_run_check_output_timeout() -> Result<(), Failed> {
    let r = tool_cmd(&["out-sleep", "BDFL", "3600000"]).timeout(Duration::from_secs(3)).stdout(Redirect::Pipe).run();
    let (stdout, _) = timed_out(r)?;
    check_eq(stdout.as_slice(), b"BDFL", "the exception's stdout")
}

fn test_stdin_with_input() -> Result<(), Failed> {
    let tf = TempFile::new(b"hare")?;
    let r = tool_cmd(&["upper"]).input(*b"hare").stdin(tf.redirect()?).run();
    match r {
        Err(SubprocessError::Invalid { reason, .. }) => {
            check(reason.contains("stdin") && reason.contains("input"), reason)
        }
        other => Err(format!("expected a refusal, got {other:?}").into()),
    }
}

/// The grandchild sleeps far longer than the call may take; it is killed at the end.
fn test_run_with_shell_timeout_and_capture_output() -> Result<(), Failed> {
    let before = Instant::now();
    let r = tool_cmd(&["holder", "30000"]).timeout(Duration::from_millis(300)).capture_output().run();
    let elapsed = before.elapsed();
    let (stdout, _) = timed_out(r)?;
    let grandchild: Option<u32> = String::from_utf8_lossy(&stdout).trim().parse().ok();
    if let Some(pid) = grandchild {
        kill_pid(pid);
    }
    check(grandchild.is_some(), format!("the grandchild's pid was read before the kill: {stdout:?}"))?;
    check(elapsed < Duration::from_secs(15), format!("the timeout was delayed to {elapsed:?}"))
}

#[cfg(unix)]
fn kill_pid(pid: u32) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
}

#[cfg(windows)]
fn kill_pid(pid: u32) {
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_TERMINATE, TerminateProcess};
    // SAFETY: plain calls on a handle opened and closed here.
    unsafe {
        let h = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if !h.is_null() {
            TerminateProcess(h, 1);
            CloseHandle(h);
        }
    }
}

fn test_kill() -> Result<(), Failed> {
    let mut p = tool_cmd(&["sleep", "60000"]).popen()?;
    check_eq(p.poll()?, None, "running")?;
    p.kill()?;
    let want = if cfg!(windows) { -15 } else { -9 };
    check_eq(p.wait()?, want, "returncode")
}

fn test_run_abort() -> Result<(), Failed> {
    let mut p = tool_cmd(&["abort"]).stderr(Redirect::Null).popen()?;
    let want = if cfg!(windows) { 0xC000_0409_u32 as i32 } else { -6 };
    check_eq(p.wait()?, want, "returncode")
}
