//! Starting, joining and stopping what an actor starts: threads, processes, raw forks and pools.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use procthread::{AsyncResult, Pool, PoolError, Process, StartMethod, ThreadPool};
use procthread_scenario::{Backend, ResourceKind, StepKind, walk};
use serde_json::Value;

use super::actor::{Actor, StepErr, run_task};
use super::launch::{ACTOR_ENTRY, Bundle, Launch, TASK, TaskLaunch};
use crate::events::EventKind;

pub(crate) enum Child {
    /// `None` once joined.
    Thread(Option<std::thread::JoinHandle<i32>>),
    Process(Box<Process>),
    #[cfg(unix)]
    Forked(procthread::ForkedChild),
}

pub(crate) enum PoolRt {
    Threads(ThreadPool),
    Processes(Pool),
}

pub(crate) struct PoolState {
    rt: PoolRt,
    tasks: Vec<(String, AsyncResult<i32>)>,
    closed: bool,
}

impl Actor {
    /// Actor definitions `def` starts, directly or through what it starts, itself included.
    fn reachable(&self, def: &str) -> HashSet<String> {
        let mut seen = HashSet::from([def.to_string()]);
        let mut todo = vec![def.to_string()];
        while let Some(d) = todo.pop() {
            let Some(a) = self.world.scenario.actor(&d) else { continue };
            for s in walk(&a.steps) {
                if let StepKind::Start { actor, .. } | StepKind::Fork { actor, .. } = &s.kind
                    && seen.insert(actor.clone())
                {
                    todo.push(actor.clone());
                }
            }
        }
        seen
    }

    /// Takes the pipe ends owned by `def` (or by actors it starts) out of this actor's hands.
    fn ends_for(&mut self, def: &str) -> Vec<(String, char, procthread::PipeEnd)> {
        let reach = self.reachable(def);
        let mut moved = Vec::new();
        for r in &self.world.scenario.resources {
            if let ResourceKind::Pipe { a, b } = &r.kind {
                for (end, owner) in [('a', a), ('b', b)] {
                    if reach.contains(owner)
                        && let Some(e) = self.ends.remove(&(r.name.clone(), end))
                    {
                        moved.push((r.name.clone(), end, e));
                    }
                }
            }
        }
        moved
    }

    pub(crate) fn start_child(
        &mut self,
        def: &str,
        instance: String,
        params: HashMap<String, Value>,
    ) -> Result<(), StepErr> {
        let ends = self.ends_for(def);
        let backend = self.world.backend;
        if !backend.uses_processes() {
            let mut child = Actor::new(self.world.clone(), &instance, params, None);
            child.def_name = def.to_string();
            child.ends = ends.into_iter().map(|(p, e, end)| ((p, e), end)).collect();
            let handle = procthread::thread::Builder::new()
                .name(instance.clone())
                .spawn(move || {
                    let code = child.run();
                    child.record(EventKind::Finished { code });
                    code
                })
                .map_err(|e| StepErr::other(format!("cannot start thread `{instance}`: {e}")))?;
            self.child_pids.insert(instance.clone(), std::process::id());
            self.children.push((instance, Child::Thread(Some(handle))));
            return Ok(());
        }
        let bundle = Bundle {
            queues: self.world.queues.iter().map(|(n, q)| (n.clone(), q.clone())).collect(),
            rendezvous: self.world.rendezvous.iter().map(|(n, q)| (n.clone(), q.clone())).collect(),
            variables: self.world.variables.iter().map(|(n, v)| (n.clone(), v.load(Ordering::SeqCst))).collect(),
            ends,
        };
        let launch = Launch {
            scenario: (*self.world.scenario).clone(),
            backend,
            events: self.world.log.path().to_path_buf(),
            def: def.to_string(),
            instance: instance.clone(),
            params: params.into_iter().collect(),
            bundle,
        };
        let method = if backend == Backend::Fork { StartMethod::Fork } else { StartMethod::Spawn };
        let mut p = Process::new(&ACTOR_ENTRY, launch).name(instance.clone()).start_method(method);
        p.start().map_err(|e| StepErr::other(format!("cannot start process `{instance}`: {e}")))?;
        self.child_pids.insert(instance.clone(), p.pid().unwrap_or(0));
        self.children.push((instance, Child::Process(Box::new(p))));
        Ok(())
    }

    #[cfg(unix)]
    pub(crate) fn fork_child(&mut self, def: &str, instance: String) -> Result<(), StepErr> {
        let ends = self.ends_for(def);
        match procthread::fork() {
            Ok(procthread::Fork::Child) => {
                let mut child = Actor::new(self.world.clone(), &instance, HashMap::new(), None);
                child.def_name = def.to_string();
                child.ends = ends.into_iter().map(|(p, e, end)| ((p, e), end)).collect();
                let code = child.run();
                child.record(EventKind::Finished { code });
                procthread::exit_child(code)
            }
            Ok(procthread::Fork::Parent(c)) => {
                drop(ends);
                self.child_pids.insert(instance.clone(), c.pid());
                self.children.push((instance, Child::Forked(c)));
                Ok(())
            }
            Err(e) => Err(StepErr::other(format!("fork failed: {e}"))),
        }
    }

    #[cfg(not(unix))]
    pub(crate) fn fork_child(&mut self, _def: &str, _instance: String) -> Result<(), StepErr> {
        Err(StepErr::other("fork does not exist on this OS"))
    }

    pub(crate) fn join(&mut self, target: &str, timeout: Option<Duration>) -> Result<(), StepErr> {
        if self.pools.contains_key(target) || self.is_pool(target) {
            return self.join_pool(target);
        }
        let at =
            self.children.iter().position(|(n, _)| n == target).ok_or_else(|| not_started(&self.instance, target))?;
        let code = join_child(&mut self.children[at].1, timeout)?;
        match code {
            Some(code) => {
                self.children.remove(at);
                self.world.log.record(target, None, EventKind::Exit { code });
                Ok(())
            }
            None => Err(StepErr {
                kind: Some(procthread_scenario::ErrorKind::Timeout),
                message: format!("`{target}` still running"),
            }),
        }
    }

    fn is_pool(&self, name: &str) -> bool {
        matches!(self.world.scenario.resource(name).map(|r| &r.kind), Some(ResourceKind::Pool { .. }))
    }

    pub(crate) fn signal_child(&mut self, target: &str, kill: bool) -> Result<(), StepErr> {
        let (_, child) =
            self.children.iter().find(|(n, _)| n == target).ok_or_else(|| not_started(&self.instance, target))?;
        let r = match child {
            Child::Process(p) if kill => p.kill(),
            Child::Process(p) => p.terminate(),
            _ => return Err(StepErr::other(format!("`{target}` is a thread: threads cannot be terminated"))),
        };
        r.map_err(|e| StepErr::other(e.to_string()))
    }

    /// Waits for every child still running and every pool, recording how each ended.
    pub(crate) fn finish_children(&mut self) {
        for (name, mut child) in std::mem::take(&mut self.children) {
            if let Ok(Some(code)) = join_child(&mut child, None) {
                self.world.log.record(&name, None, EventKind::Exit { code });
            }
        }
        let pools: Vec<String> = self.pools.keys().cloned().collect();
        for p in pools {
            let _ = self.join_pool(&p);
        }
    }

    fn pool_state(&mut self, name: &str) -> Result<&mut PoolState, StepErr> {
        if !self.pools.contains_key(name) {
            let size = match self.world.scenario.resource(name).map(|r| &r.kind) {
                Some(ResourceKind::Pool { size }) => *size,
                _ => return Err(StepErr::other(format!("`{name}` is not a pool"))),
            };
            let rt = if self.world.backend.uses_processes() {
                PoolRt::Processes(
                    Pool::new(size).map_err(|e| StepErr::other(format!("cannot create pool `{name}`: {e}")))?,
                )
            } else {
                PoolRt::Threads(
                    ThreadPool::new(size).map_err(|e| StepErr::other(format!("cannot create pool `{name}`: {e}")))?,
                )
            };
            self.pools.insert(name.to_string(), PoolState { rt, tasks: Vec::new(), closed: false });
        }
        self.pools.get_mut(name).ok_or_else(|| StepErr::other("pool vanished"))
    }

    pub(crate) fn submit(&mut self, pool: &str, def: &str, items: Vec<Value>) -> Result<(), StepErr> {
        let world = self.world.clone();
        let state = self.pool_state(pool)?;
        for item in items {
            let instance = format!("{def}-{}", state.tasks.len());
            let handle = match &state.rt {
                PoolRt::Threads(tp) => {
                    let (world, def, instance, pool) =
                        (world.clone(), def.to_string(), instance.clone(), pool.to_string());
                    tp.apply_async(move || run_task(world, &def, &instance, item, &pool))
                }
                PoolRt::Processes(p) => {
                    let launch = TaskLaunch {
                        scenario: (*world.scenario).clone(),
                        backend: world.backend,
                        events: world.log.path().to_path_buf(),
                        def: def.to_string(),
                        instance: instance.clone(),
                        item,
                        pool: pool.to_string(),
                    };
                    p.apply_async(&TASK, launch)
                }
            }
            .map_err(|e| StepErr::other(format!("cannot submit to `{pool}`: {e}")))?;
            state.tasks.push((instance, handle));
        }
        Ok(())
    }

    pub(crate) fn close_pool(&mut self, pool: &str) -> Result<(), StepErr> {
        let state = self.pool_state(pool)?;
        match &state.rt {
            PoolRt::Threads(tp) => tp.close(),
            PoolRt::Processes(p) => p.close(),
        }
        state.closed = true;
        Ok(())
    }

    fn join_pool(&mut self, pool: &str) -> Result<(), StepErr> {
        let Some(mut state) = self.pools.remove(pool) else {
            return Err(StepErr::other(format!("pool `{pool}` has no tasks to wait for")));
        };
        if !state.closed {
            return Err(StepErr::other(format!(
                "join of pool `{pool}` before close (close it first, as the chapter does)"
            )));
        }
        let joined = match &mut state.rt {
            PoolRt::Threads(tp) => tp.join(),
            PoolRt::Processes(p) => p.join(),
        };
        for (instance, handle) in state.tasks {
            let code = match handle.get(None) {
                Ok(&code) => code,
                Err(PoolError::WorkerDied { exitcode, .. }) => exitcode,
                Err(_) => 1,
            };
            self.world.log.record(&instance, Some(pool), EventKind::Exit { code });
        }
        joined.map_err(|e| StepErr::other(e.to_string()))
    }
}

fn not_started(me: &str, target: &str) -> StepErr {
    StepErr::other(format!("`{target}` was not started by `{me}` (or was already joined)"))
}

/// `Ok(None)` if still running at the timeout.
fn join_child(child: &mut Child, timeout: Option<Duration>) -> Result<Option<i32>, StepErr> {
    match child {
        Child::Thread(slot) => {
            if let (Some(t), Some(h)) = (timeout, slot.as_ref()) {
                let deadline = Instant::now() + t;
                while !h.is_finished() {
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            // A thread actor's panic (never expected) counts as a failure, like an exception.
            Ok(slot.take().map(|h| h.join().unwrap_or(1)))
        }
        Child::Process(p) => match timeout {
            Some(t) => p.join_timeout(t),
            None => p.join().map(Some),
        }
        .map_err(|e| StepErr::other(e.to_string())),
        #[cfg(unix)]
        Child::Forked(c) => match timeout {
            None => c.wait().map(Some).map_err(|e| StepErr::other(e.to_string())),
            Some(t) => {
                let deadline = Instant::now() + t;
                loop {
                    if let Some(code) = c.try_wait().map_err(|e| StepErr::other(e.to_string()))? {
                        return Ok(Some(code));
                    }
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        },
    }
}
