//! The resources an actor can reach in its process: shared with its threads, copied or passed to
//! its child processes as the chapter describes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use procthread::{Local, PipeEnd, Queue};
use procthread_scenario::{Backend, ResourceKind, Scenario, Scope};

use super::children::Threads;
use super::launch::Bundle;
use super::prims::{Prim, QueueRt, SharedPrim};
use crate::events::EventLog;

/// One process's view of the scenario's resources. Cloning shares them (threads); a child
/// process gets a [`Bundle`] instead.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) scenario: Arc<Scenario>,
    pub(crate) backend: Backend,
    pub(crate) log: Arc<EventLog>,
    pub(crate) queues: HashMap<String, QueueRt>,
    pub(crate) prims: HashMap<String, Prim>,
    /// The primitives of `shared` scope, as handed on to child processes.
    pub(crate) shared: HashMap<String, SharedPrim>,
    pub(crate) variables: HashMap<String, Arc<AtomicI64>>,
    pub(crate) locals: HashMap<String, Arc<Local<serde_json::Value>>>,
    /// Per manager: a queue holding its address once it is served.
    pub(crate) rendezvous: HashMap<String, Queue>,
    /// The thread actors of this process, for joins by any of its threads.
    pub(crate) threads: Arc<Threads>,
}

impl World {
    /// The executor's world: every resource fresh.
    pub(crate) fn new(scenario: Arc<Scenario>, backend: Backend, log: Arc<EventLog>) -> std::io::Result<World> {
        let mut world = World::empty(scenario.clone(), backend, log);
        for r in &scenario.resources {
            match &r.kind {
                kind @ ResourceKind::Queue { scope: Scope::Shared, .. } => {
                    if let Some(q) = QueueRt::new(kind)? {
                        world.queues.insert(r.name.clone(), q);
                    }
                }
                kind @ ResourceKind::Sync { scope: Scope::Shared, .. } => {
                    if let Some(p) = SharedPrim::new(kind)? {
                        world.prims.insert(r.name.clone(), p.prim());
                        world.shared.insert(r.name.clone(), p);
                    }
                }
                ResourceKind::Manager { .. } => {
                    world.rendezvous.insert(r.name.clone(), Queue::new()?);
                }
                ResourceKind::Variable { initial } => {
                    world.variables.insert(r.name.clone(), Arc::new(AtomicI64::new(*initial)));
                }
                _ => {}
            }
        }
        world.fill_process_local()?;
        Ok(world)
    }

    fn empty(scenario: Arc<Scenario>, backend: Backend, log: Arc<EventLog>) -> World {
        World {
            scenario,
            backend,
            log,
            queues: HashMap::new(),
            prims: HashMap::new(),
            shared: HashMap::new(),
            variables: HashMap::new(),
            locals: HashMap::new(),
            rendezvous: HashMap::new(),
            threads: Arc::new(Threads::default()),
        }
    }

    /// What each process has its own of: `threading`'s primitives and queues, thread-locals.
    fn fill_process_local(&mut self) -> std::io::Result<()> {
        for r in &self.scenario.resources {
            match &r.kind {
                kind @ ResourceKind::Queue { scope: Scope::Process, .. } => {
                    if let Some(q) = QueueRt::new(kind)? {
                        self.queues.insert(r.name.clone(), q);
                    }
                }
                kind @ ResourceKind::Sync { .. } => {
                    if let Some(p) = Prim::new(kind) {
                        self.prims.insert(r.name.clone(), p);
                    }
                }
                ResourceKind::Local => {
                    self.locals.insert(r.name.clone(), Arc::new(Local::new()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// What a child process is handed: shared queues and the manager rendezvous (shared), the
    /// variables as they are now (copied).
    pub(crate) fn bundle(&self, ends: Vec<(String, char, PipeEnd)>) -> Bundle {
        let shared =
            |name: &String| matches!(self.scenario.resource(name).and_then(|r| r.kind.scope()), Some(Scope::Shared));
        Bundle {
            queues: self.queues.iter().filter(|(n, _)| shared(n)).map(|(n, q)| (n.clone(), q.clone())).collect(),
            prims: self.shared.iter().map(|(n, p)| (n.clone(), p.clone())).collect(),
            rendezvous: self.rendezvous.iter().map(|(n, q)| (n.clone(), q.clone())).collect(),
            variables: self
                .variables
                .iter()
                .map(|(n, v)| (n.clone(), v.load(std::sync::atomic::Ordering::SeqCst)))
                .collect(),
            ends,
        }
    }

    /// A child process's world: shared resources from the bundle, its own copies of the
    /// variables, fresh process-local ones.
    pub(crate) fn from_bundle(
        scenario: Arc<Scenario>,
        backend: Backend,
        log: Arc<EventLog>,
        bundle: Bundle,
    ) -> std::io::Result<World> {
        let mut world = World::empty(scenario, backend, log);
        world.queues = bundle.queues.into_iter().collect();
        for (name, p) in bundle.prims {
            world.prims.insert(name.clone(), p.prim());
            world.shared.insert(name, p);
        }
        world.rendezvous = bundle.rendezvous.into_iter().collect();
        world.variables = bundle.variables.into_iter().map(|(n, v)| (n, Arc::new(AtomicI64::new(v)))).collect();
        world.fill_process_local()?;
        Ok(world)
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
