//! Running one scenario on one backend in a fresh executor process, isolated as a process tree
//! that is killed whole at the timeout and checked for leftovers afterwards.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use procthread_scenario::{Backend, Scenario};

use crate::events;
use crate::implementation::Executor;
use crate::outcome::RunRecord;

/// Runs `scenario` on `backend` with the executor binary `harness` (this program).
pub fn run_isolated(harness: &Path, scenario: &Scenario, backend: Backend) -> std::io::Result<RunRecord> {
    run_isolated_with(&Executor::reference(harness), scenario, backend)
}

/// Runs `scenario` on `backend` with the executor of one implementation.
pub fn run_isolated_with(executor: &Executor, scenario: &Scenario, backend: Backend) -> std::io::Result<RunRecord> {
    let dir = tempfile::Builder::new().prefix("procthread-run-").tempdir()?;
    let events_path = dir.path().join("events");
    let stderr_path = dir.path().join("stderr.txt");
    let mut cmd = executor.command(backend, &events_path, &scenario.path);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(&stderr_path)?);
    let started = Instant::now();
    let mut tree = crate::os::start(&mut cmd)?;
    let deadline = started + scenario.timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = tree.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let timed_out = status.is_none();
    let mut leftovers = false;
    let executor_code = match status {
        Some(status) => {
            leftovers = tree.anyone_left();
            if leftovers {
                tree.kill_all();
            }
            Some(crate::os::exitcode(status))
        }
        None => {
            tree.kill_all();
            let _ = tree.wait();
            None
        }
    };
    let elapsed_ms = started.elapsed().as_millis();
    let events = events::read(&events_path)?;
    let mut stderr = String::new();
    let _ = std::fs::File::open(&stderr_path).and_then(|mut f| f.read_to_string(&mut stderr));
    let tail_from = stderr.len().saturating_sub(1500);
    let tail_from = (tail_from..stderr.len()).find(|&i| stderr.is_char_boundary(i)).unwrap_or(stderr.len());
    Ok(RunRecord {
        scenario: scenario.name.clone(),
        backend,
        events,
        executor_code,
        timed_out,
        leftovers,
        stderr_tail: stderr[tail_from..].to_string(),
        elapsed_ms,
    })
}
