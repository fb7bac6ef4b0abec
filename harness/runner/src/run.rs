//! Running one scenario on one backend in a fresh executor process, contained so that no process
//! of the run outlives it (see [`crate::supervise`]): killed whole at the timeout, checked for
//! processes left behind when the executor ends, its trace read within its limit.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use procthread_scenario::{Backend, Scenario};

use crate::events;
use crate::implementation::Executor;
use crate::outcome::RunRecord;
use crate::supervise::Live;

/// Runs `scenario` on `backend` with the executor binary `harness` (this program).
pub fn run_isolated(harness: &Path, scenario: &Scenario, backend: Backend) -> std::io::Result<RunRecord> {
    run_isolated_with(&Executor::reference(harness), scenario, backend)
}

/// Runs `scenario` on `backend` with the executor of one implementation.
pub fn run_isolated_with(executor: &Executor, scenario: &Scenario, backend: Backend) -> std::io::Result<RunRecord> {
    run_isolated_env(executor, scenario, backend, &[])
}

/// [`run_isolated_with`], with these variables in the executor's environment (and so in every
/// process of the run): a fault run's plan (`crate::faults`).
pub fn run_isolated_env(
    executor: &Executor,
    scenario: &Scenario,
    backend: Backend,
    env: &[(&str, &str)],
) -> std::io::Result<RunRecord> {
    let dir = tempfile::Builder::new().prefix(crate::supervise::RUN_DIR_PREFIX).tempdir()?;
    let live = Live::new(dir.path());
    let events_path = dir.path().join("events");
    let stderr_path = dir.path().join("stderr.txt");
    let mut cmd = executor.command(backend, &events_path, &scenario.path);
    cmd.envs(env.iter().copied());
    // Hosts of their own are made by the run's supervisor, which reads what to make here.
    cmd.env_remove(crate::hosts::LAB_ENV).env_remove(crate::hosts::SPEC_ENV);
    match crate::hosts::placement(scenario).map_err(std::io::Error::other)? {
        crate::hosts::Placement::Namespaces => {
            let spec = serde_json::to_string(&crate::hosts::Spec::of(scenario)).map_err(std::io::Error::other)?;
            cmd.env(crate::hosts::SPEC_ENV, spec);
        }
        crate::hosts::Placement::Loopback => {}
    }
    // The harness binary also contains the run (`harness supervise` on Unix).
    let harness = match executor {
        Executor::Reference { harness } | Executor::Cpython { harness, .. } => harness,
    };
    let stderr = std::fs::File::create(&stderr_path)?;
    let started = Instant::now();
    let run = crate::os::start(harness, cmd, stderr, scenario.timeout, dir.path())?;
    live.set_stopper(run.stopper());
    let ended = run.wait();
    live.done();
    // An interrupted runner reports nothing more; its handler ends the process.
    crate::supervise::park_if_interrupted();
    let ended = ended?;
    if ended.stopped {
        return Err(std::io::Error::other("the run was stopped from outside (its supervisor was signalled)"));
    }
    let elapsed_ms = started.elapsed().as_millis();
    let trace = events::read_limited(&events_path, events::TRACE_LIMIT)?;
    let mut stderr = String::new();
    let _ = std::fs::File::open(&stderr_path).and_then(|f| f.take(1 << 20).read_to_string(&mut stderr));
    let tail_from = stderr.len().saturating_sub(1500);
    let tail_from = (tail_from..stderr.len()).find(|&i| stderr.is_char_boundary(i)).unwrap_or(stderr.len());
    Ok(RunRecord {
        scenario: scenario.name.clone(),
        backend,
        events: trace.events,
        executor_code: ended.executor_code,
        timed_out: ended.timed_out,
        leftovers: !ended.leftovers.is_empty() || !ended.clean,
        trace_over_limit: trace.over_limit,
        stderr_tail: stderr[tail_from..].to_string(),
        elapsed_ms,
    })
}
