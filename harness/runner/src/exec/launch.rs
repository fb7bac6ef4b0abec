//! What a child process receives to run an actor or a pool task, and the entry points it runs.

use std::path::PathBuf;
use std::sync::Arc;

use procthread::{Entry, PipeEnd, Queue, Task};
use procthread_scenario::{Backend, Scenario};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::prims::{QueueRt, SharedPrim};
use super::world::World;
use crate::events::{EventKind, EventLog};

/// Resources handed to a child process: shared queues and the manager rendezvous are shared,
/// pipe ends are moved, variables are copied as they are at the start.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Bundle {
    pub(crate) queues: Vec<(String, QueueRt)>,
    pub(crate) prims: Vec<(String, SharedPrim)>,
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
    /// The host it runs on, if the scenario has hosts.
    #[serde(default)]
    pub(crate) host: Option<String>,
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
    pub(crate) bundle: Bundle,
}

/// How a pool task ended, as its worker reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskOut {
    /// 0, or 1 if a step failed.
    pub(crate) code: i32,
    /// What `return` gave (None without one).
    pub(crate) value: serde_json::Value,
    /// The failed step's message.
    pub(crate) error: Option<String>,
}

/// What a manager's own process serves (the fork backend serves from one, so that the actor
/// that serves stays single-threaded and can still fork).
#[derive(Debug, Serialize, Deserialize)]
pub struct ServeLaunch {
    pub(crate) queues: Vec<String>,
    pub(crate) authkey: String,
    pub(crate) rendezvous: Queue,
    /// Where it listens: its host's address, or loopback.
    pub(crate) bind: std::net::IpAddr,
    /// The manager's `peer_timeout_ms`, if the scenario sets one.
    pub(crate) peer_timeout: Option<std::time::Duration>,
}

/// A process actor: runs its steps, waits for what it started, exits with its code.
pub static ACTOR_ENTRY: Entry<Launch> = Entry::new("harness::actor", run_actor_process);

/// A pool task in a worker process.
pub static TASK: Task<TaskLaunch, TaskOut> = Task::new("harness::task", run_task);

/// A manager served from a process of its own until a client asks it to shut down.
pub static SERVE: Entry<ServeLaunch> = Entry::new("harness::serve", run_server);

fn run_actor_process(mut l: Launch) {
    if let Err(why) = super::hosts::enter(l.host.as_deref()) {
        eprintln!("actor `{}`: {why}", l.instance);
        std::process::exit(74)
    }
    let ends = std::mem::take(&mut l.bundle.ends).into_iter().map(|(p, e, end)| ((p, e), end)).collect();
    let Ok(log) = EventLog::open(&l.events) else { std::process::exit(70) };
    let log = Arc::new(log);
    let Ok(world) = World::from_bundle(Arc::new(l.scenario), l.backend, log.clone(), l.bundle) else {
        std::process::exit(71)
    };
    let mut actor = Actor::new(world, &l.instance, l.params.into_iter().collect(), None);
    actor.def_name = l.def;
    actor.ends = ends;
    let code = actor.run();
    log.record(&l.instance, None, EventKind::Finished { code });
    std::process::exit(code)
}

fn run_task(t: TaskLaunch) -> TaskOut {
    let failed = |why: String| TaskOut { code: 70, value: serde_json::Value::Null, error: Some(why) };
    let Ok(log) = EventLog::open(&t.events) else { return failed("cannot open the event log".into()) };
    match World::from_bundle(Arc::new(t.scenario), t.backend, Arc::new(log), t.bundle) {
        Ok(world) => super::pools::run_task(world, &t.def, &t.instance, t.item, &t.pool),
        Err(e) => failed(format!("cannot set up the task's resources: {e}")),
    }
}

fn run_server(s: ServeLaunch) {
    let builder = s.queues.into_iter().fold(procthread::manager::Manager::builder(), |b, q| b.queue(q));
    let builder = builder.address(std::net::SocketAddr::new(s.bind, 0));
    let builder = match s.peer_timeout {
        Some(t) => builder.peer_timeout(t),
        None => builder,
    };
    let Ok(server) = builder.authkey(s.authkey.into_bytes()).start() else { std::process::exit(72) };
    if s.rendezvous.put(&server.address().to_string()).is_err() {
        std::process::exit(73);
    }
    server.wait();
}
