//! What a child process receives to run an actor or a pool task, and the entry points it runs.

use std::path::PathBuf;
use std::sync::Arc;

use procthread::{Entry, PipeEnd, Queue, Task};
use procthread_scenario::{Backend, Scenario};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::world::World;
use crate::events::{EventKind, EventLog};

/// Resources handed to a child process: queues are shared, pipe ends are moved, variables are
/// copied as they are at the start.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Bundle {
    pub(crate) queues: Vec<(String, Queue)>,
    pub(crate) rendezvous: Vec<(String, Queue)>,
    pub(crate) variables: Vec<(String, i64)>,
    pub(crate) ends: Vec<(String, char, PipeEnd)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Launch {
    pub(crate) scenario: Scenario,
    pub(crate) backend: Backend,
    pub(crate) events: PathBuf,
    pub(crate) def: String,
    pub(crate) instance: String,
    pub(crate) params: Vec<(String, serde_json::Value)>,
    pub(crate) bundle: Bundle,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TaskLaunch {
    pub(crate) scenario: Scenario,
    pub(crate) backend: Backend,
    pub(crate) events: PathBuf,
    pub(crate) def: String,
    pub(crate) instance: String,
    pub(crate) item: serde_json::Value,
    pub(crate) pool: String,
}

/// A process actor: runs its steps, waits for what it started, exits with its code.
pub static ACTOR_ENTRY: Entry<Launch> = Entry::new("harness::actor", run_actor_process);

/// A pool task in a worker process; returns the task's code (0, or 1 if a step failed).
pub static TASK: Task<TaskLaunch, i32> = Task::new("harness::task", run_task);

fn run_actor_process(mut l: Launch) {
    let ends = std::mem::take(&mut l.bundle.ends).into_iter().map(|(p, e, end)| ((p, e), end)).collect();
    let Ok(log) = EventLog::open(&l.events) else { std::process::exit(70) };
    let log = Arc::new(log);
    let world = World::from_bundle(Arc::new(l.scenario), l.backend, log.clone(), l.bundle);
    let mut actor = Actor::new(world, &l.instance, l.params.into_iter().collect(), None);
    actor.def_name = l.def;
    actor.ends = ends;
    let code = actor.run();
    log.record(&l.instance, None, EventKind::Finished { code });
    std::process::exit(code)
}

fn run_task(t: TaskLaunch) -> i32 {
    let Ok(log) = EventLog::open(&t.events) else { return 70 };
    let world = World::from_bundle(Arc::new(t.scenario), t.backend, Arc::new(log), Bundle::default());
    super::actor::run_task(world, &t.def, &t.instance, t.item, &t.pool)
}
