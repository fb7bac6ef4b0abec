//! The resources an actor can reach in its process: shared with its threads, copied or passed to
//! its child processes as the chapter describes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use procthread::{Local, Lock, PipeEnd, Queue};
use procthread_scenario::{Backend, ResourceKind, Scenario};

use super::launch::Bundle;
use crate::events::EventLog;

/// One process's view of the scenario's resources. Cloning shares them (threads); a child
/// process gets a [`Bundle`] instead.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) scenario: Arc<Scenario>,
    pub(crate) backend: Backend,
    pub(crate) log: Arc<EventLog>,
    pub(crate) queues: HashMap<String, Queue>,
    pub(crate) locks: HashMap<String, Arc<Lock>>,
    pub(crate) variables: HashMap<String, Arc<AtomicI64>>,
    pub(crate) locals: HashMap<String, Arc<Local<serde_json::Value>>>,
    /// Per manager: a queue holding its address once it is served.
    pub(crate) rendezvous: HashMap<String, Queue>,
}

impl World {
    /// The executor's world: every resource fresh.
    pub(crate) fn new(scenario: Arc<Scenario>, backend: Backend, log: Arc<EventLog>) -> World {
        let mut world = World::empty(scenario.clone(), backend, log);
        for r in &scenario.resources {
            match &r.kind {
                ResourceKind::Queue => {
                    if let Ok(q) = Queue::new() {
                        world.queues.insert(r.name.clone(), q);
                    }
                }
                ResourceKind::Manager { .. } => {
                    if let Ok(q) = Queue::new() {
                        world.rendezvous.insert(r.name.clone(), q);
                    }
                }
                ResourceKind::Variable { initial } => {
                    world.variables.insert(r.name.clone(), Arc::new(AtomicI64::new(*initial)));
                }
                _ => {}
            }
        }
        world.fill_process_local();
        world
    }

    fn empty(scenario: Arc<Scenario>, backend: Backend, log: Arc<EventLog>) -> World {
        World {
            scenario,
            backend,
            log,
            queues: HashMap::new(),
            locks: HashMap::new(),
            variables: HashMap::new(),
            locals: HashMap::new(),
            rendezvous: HashMap::new(),
        }
    }

    /// Locks and thread-locals are per process: a child process starts with its own.
    fn fill_process_local(&mut self) {
        for r in &self.scenario.resources {
            match r.kind {
                ResourceKind::Lock => {
                    self.locks.insert(r.name.clone(), Arc::new(Lock::new()));
                }
                ResourceKind::Local => {
                    self.locals.insert(r.name.clone(), Arc::new(Local::new()));
                }
                _ => {}
            }
        }
    }

    /// A child process's world: shared queues, its own copies of the variables (as they are now).
    pub(crate) fn from_bundle(scenario: Arc<Scenario>, backend: Backend, log: Arc<EventLog>, bundle: Bundle) -> World {
        let mut world = World::empty(scenario, backend, log);
        world.queues = bundle.queues.into_iter().collect();
        world.rendezvous = bundle.rendezvous.into_iter().collect();
        world.variables = bundle.variables.into_iter().map(|(n, v)| (n, Arc::new(AtomicI64::new(v)))).collect();
        world.fill_process_local();
        world
    }
}

/// Both ends of every pipe, as the executor holds them before any actor starts.
pub(crate) fn all_pipe_ends(scenario: &Scenario) -> std::io::Result<HashMap<(String, char), PipeEnd>> {
    let mut ends = HashMap::new();
    for r in &scenario.resources {
        if let ResourceKind::Pipe { .. } = r.kind {
            let (a, b) = procthread::pipe()?;
            ends.insert((r.name.clone(), 'a'), a);
            ends.insert((r.name.clone(), 'b'), b);
        }
    }
    Ok(ends)
}
