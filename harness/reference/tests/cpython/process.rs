//! Ported from CPython's `_test_multiprocessing.py` (processes).

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{Entry, Process, Registry, StartMethod};

use crate::case::{Case, Run, check, check_eq};

static SLEEP_SOME: Entry<()> =
    Entry::new("cpython::process::sleep_some", |()| std::thread::sleep(Duration::from_secs(100)));

/// Entry points and tasks the children of these cases run.
pub static REGISTRY: Registry = &[&SLEEP_SOME];

pub fn cases() -> Vec<Case> {
    vec![Case {
        file: "_test_multiprocessing.py",
        class: "_TestProcess",
        test: "test_terminate",
        checks: "a sleeping child: alive, no exit code, join(0) returns at once; terminate ends it with -SIGTERM",
        difference: None,
        run: Run::PerMethod(test_terminate),
    }]
}

/// CPython's `_kill_process` with `Process.terminate`.
fn test_terminate(method: StartMethod) -> Result<(), Failed> {
    let mut p = Process::new(&SLEEP_SOME, ()).start_method(method).daemon(true);
    p.start()?;
    check(p.is_alive()?, "alive after start")?;
    check_eq(p.exitcode(), None, "exit code while running")?;
    let t = Instant::now();
    check_eq(p.join_timeout(Duration::ZERO)?, None, "join(0) of a running child")?;
    check(t.elapsed() < Duration::from_millis(100), "join(0) returns at once")?;
    check(p.is_alive()?, "still alive after join(0)")?;
    p.terminate()?;
    check_eq(p.join()?, -15, "exit code after terminate")?;
    check(!p.is_alive()?, "not alive once joined")?;
    check_eq(p.exitcode(), Some(-15), "exitcode")?;
    Ok(())
}
