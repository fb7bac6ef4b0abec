//! The executor: runs one scenario on one backend inside this process (a fresh `harness exec`
//! process started by the runner), starting actors as threads or processes as the backend says.

mod actor;
mod channels;
mod children;
mod hosts;
mod launch;
mod pools;
mod prims;
mod render;
mod step;
mod world;

use std::path::Path;
use std::sync::Arc;

use procthread_scenario::{Backend, MAIN, Scenario};

use crate::events::{EventKind, EventLog};

pub use launch::{ACTOR_ENTRY, SERVE, TASK};

/// Runs the scenario's `main` actor to its end; returns the executor's exit code
/// (0 when main finished its steps, 1 when one failed).
pub fn execute(scenario: Scenario, backend: Backend, events: &Path) -> std::io::Result<i32> {
    crate::faults::inject::load().map_err(std::io::Error::other)?;
    // Main runs on its host before it makes anything (a host is a network namespace per thread).
    hosts::enter(scenario.hosts.of_actor(MAIN)).map_err(std::io::Error::other)?;
    let log = Arc::new(EventLog::open(events)?);
    let world = world::World::new(Arc::new(scenario), backend, log)?;
    let mut main = actor::Actor::new(world, MAIN, Default::default(), None);
    main.ends = world::all_pipe_ends(&main.world.scenario)?;
    let code = main.run();
    main.world.log.record(MAIN, None, EventKind::Finished { code });
    Ok(code)
}
