//! Starting, joining, asking about and stopping what an actor starts: threads, processes and
//! raw forks. An instance starts once; joining it again returns at once (as in CPython); on the
//! thread backend any thread may join any thread of its process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use procthread::{Process, StartMethod};
use procthread_scenario::{Backend, ErrorKind, JoinTarget, ResourceKind, StepKind, StopTarget, walk};
use serde_json::Value;

use super::actor::{Actor, StepErr};
use super::launch::{ACTOR_ENTRY, Launch};
use crate::events::EventKind;

pub(crate) enum Child {
    Thread {
        handle: Option<std::thread::JoinHandle<i32>>,
        done: Arc<Done>,
    },
    Process(Box<Process>),
    #[cfg(unix)]
    Forked(procthread::ForkedChild),
}

/// A thread actor's end, for whichever threads wait for it.
#[derive(Debug, Default)]
pub(crate) struct Done {
    code: Mutex<Option<i32>>,
    ended: Condvar,
    /// Its `Exit` event is recorded once, by the first joiner.
    reported: Mutex<bool>,
}

/// Finishes its [`Done`] when the thread ends, with 1 if the actor panicked before it could.
struct FinishOnDrop(Arc<Done>, Option<i32>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish(self.1.unwrap_or(1));
    }
}

impl Done {
    fn finish(&self, code: i32) {
        *self.code.lock().unwrap_or_else(|p| p.into_inner()) = Some(code);
        self.ended.notify_all();
    }

    fn code(&self) -> Option<i32> {
        *self.code.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The code once ended, waiting at most `timeout` (`None`: as long as it takes).
    fn wait(&self, timeout: Option<Duration>) -> Option<i32> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut code = self.code.lock().unwrap_or_else(|p| p.into_inner());
        while code.is_none() {
            code = match deadline {
                None => self.ended.wait(code).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.ended.wait_timeout(code, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
        *code
    }

    /// True the first time only: whoever gets it records the `Exit` event.
    fn report(&self) -> bool {
        let mut r = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        !std::mem::replace(&mut *r, true)
    }
}

/// The thread actors of one process, by instance name.
#[derive(Debug, Default)]
pub(crate) struct Threads {
    all: Mutex<HashMap<String, Arc<Done>>>,
}

impl Threads {
    fn add(&self, name: &str, done: Arc<Done>) {
        self.all.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), done);
    }

    fn get(&self, name: &str) -> Option<Arc<Done>> {
        self.all.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }
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

    fn check_new(&self, instance: &str) -> Result<(), StepErr> {
        if self.children.iter().any(|(n, _)| n == instance) || self.world.threads.get(instance).is_some() {
            return Err(StepErr::kind(
                ErrorKind::AlreadyStarted,
                format!("`{instance}` was already started: an instance starts once"),
            ));
        }
        Ok(())
    }

    pub(crate) fn start_child(
        &mut self,
        def: &str,
        instance: String,
        params: HashMap<String, Value>,
        host: Option<&str>,
    ) -> Result<(), StepErr> {
        self.check_new(&instance)?;
        let ends = self.ends_for(def);
        let backend = self.world.backend;
        if !backend.uses_processes() {
            let mut child = Actor::new(self.world.clone(), &instance, params, None);
            child.def_name = def.to_string();
            child.ends = ends.into_iter().map(|(p, e, end)| ((p, e), end)).collect();
            let done = Arc::new(Done::default());
            let mut finished = FinishOnDrop(done.clone(), None);
            self.world.threads.add(&instance, done.clone());
            let handle = procthread::thread::Builder::new()
                .name(instance.clone())
                .spawn(move || {
                    let code = child.run();
                    child.record(EventKind::Finished { code });
                    finished.1 = Some(code);
                    drop(finished);
                    code
                })
                .map_err(|e| StepErr::other(format!("cannot start thread `{instance}`: {e}")))?;
            self.child_pids.insert(instance.clone(), std::process::id());
            self.children.push((instance, Child::Thread { handle: Some(handle), done }));
            return Ok(());
        }
        let launch = Launch {
            scenario: (*self.world.scenario).clone(),
            backend,
            events: self.world.log.path().to_path_buf(),
            def: def.to_string(),
            instance: instance.clone(),
            params: params.into_iter().collect(),
            bundle: self.world.bundle(ends),
            host: super::hosts::of_child(&self.world.scenario, def, host),
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
        self.check_new(&instance)?;
        let ends = self.ends_for(def);
        match procthread::fork() {
            Ok(procthread::Fork::Child) => {
                if let Err(why) = super::hosts::enter(self.world.scenario.hosts.of_actor(def)) {
                    eprintln!("actor `{instance}`: {why}");
                    procthread::exit_child(74)
                }
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

    pub(crate) fn join(&mut self, target: &JoinTarget, timeout: Option<Duration>) -> Result<(), StepErr> {
        let name = match target {
            JoinTarget::Pool(pool) => return self.join_pool(pool),
            JoinTarget::Queue(queue) => return self.local_queue(queue)?.join(),
            JoinTarget::Instance(name) => self.name(name),
        };
        let code = match self.children.iter().position(|(n, _)| *n == name) {
            Some(at) => wait_child(&mut self.children[at].1, timeout)?,
            None => self.sibling(&name, "join")?.wait(timeout),
        };
        match code {
            Some(code) => {
                self.report_exit(&name, code);
                Ok(())
            }
            None => Err(StepErr::kind(ErrorKind::Timeout, format!("`{name}` still running"))),
        }
    }

    /// Records how `name` ended, once, by whoever learns it first.
    fn report_exit(&mut self, name: &str, code: i32) {
        let first = match self.children.iter().find(|(n, _)| n == name) {
            Some((_, Child::Thread { done, .. })) => done.report(),
            Some(_) => self.reported.insert(name.to_string()),
            None => self.world.threads.get(name).is_none_or(|d| d.report()),
        };
        if first {
            self.world.log.record(name, None, EventKind::Exit { code });
        }
    }

    /// A thread this actor did not start (threads may join any thread), or why not.
    fn sibling(&self, name: &str, verb: &str) -> Result<Arc<Done>, StepErr> {
        if name == self.instance {
            return Err(StepErr::kind(ErrorKind::SelfJoin, format!("`{name}` cannot {verb} itself")));
        }
        if !self.world.backend.uses_processes()
            && let Some(done) = self.world.threads.get(name)
        {
            return Ok(done);
        }
        if self.world.backend.uses_processes() && !self.may_start(name) {
            return Err(StepErr::kind(
                ErrorKind::NotChild,
                format!(
                    "`{name}` is not a child of `{}`: a process can {verb} only processes it started",
                    self.instance
                ),
            ));
        }
        Err(StepErr::kind(ErrorKind::NotStarted, format!("`{name}` was not started (yet)")))
    }

    /// Whether this actor's definition has a step that can start an instance named `name`.
    fn may_start(&self, name: &str) -> bool {
        let Some(def) = self.world.scenario.actor(&self.def_name) else { return false };
        walk(&def.steps).iter().any(|s| match &s.kind {
            StepKind::Start { name: n, .. } | StepKind::Fork { name: n, .. } => {
                procthread_scenario::literal_text(n).is_none_or(|n| n == name)
            }
            _ => false,
        })
    }

    pub(crate) fn is_alive(&mut self, name: &str) -> Result<Value, StepErr> {
        Ok(Value::from(self.poll(name)?.is_none() && self.started(name)))
    }

    pub(crate) fn exitcode(&mut self, name: &str) -> Result<Value, StepErr> {
        Ok(self.poll(name)?.map_or(Value::Null, Value::from))
    }

    fn started(&self, name: &str) -> bool {
        self.children.iter().any(|(n, _)| n == name) || self.world.threads.get(name).is_some()
    }

    /// The exit code if `name` has ended, `None` while it runs (or before it starts).
    fn poll(&mut self, name: &str) -> Result<Option<i32>, StepErr> {
        let Some(at) = self.children.iter().position(|(n, _)| n == name) else {
            return match self.sibling(name, "ask about") {
                Ok(done) => Ok(done.code()),
                Err(e) if e.kind == Some(ErrorKind::NotStarted) => Ok(None),
                Err(e) => Err(e),
            };
        };
        Ok(match &mut self.children[at].1 {
            Child::Thread { done, .. } => done.code(),
            Child::Process(p) => {
                let _ = p.is_alive();
                p.exitcode()
            }
            #[cfg(unix)]
            Child::Forked(c) => c.try_wait().map_err(|e| StepErr::other(e.to_string()))?,
        })
    }

    pub(crate) fn stop(&mut self, target: &StopTarget, kill: bool) -> Result<(), StepErr> {
        let name = match target {
            StopTarget::Pool(pool) => return self.terminate_pool(pool),
            StopTarget::Instance(name) => self.name(name),
        };
        let Some((_, child)) = self.children.iter().find(|(n, _)| *n == name) else {
            self.sibling(&name, if kill { "kill" } else { "terminate" })?;
            return Err(StepErr::other(format!("`{name}` is a thread: threads cannot be terminated")));
        };
        let r = match child {
            Child::Process(p) if kill => p.kill(),
            Child::Process(p) => p.terminate(),
            _ => return Err(StepErr::other(format!("`{name}` is a thread: threads cannot be terminated"))),
        };
        r.map_err(|e| StepErr::other(e.to_string()))
    }

    /// Waits for every child still running and every pool, recording how each ended.
    pub(crate) fn finish_children(&mut self) {
        let names: Vec<String> = self.children.iter().map(|(n, _)| n.clone()).collect();
        for name in names {
            if let Some(at) = self.children.iter().position(|(n, _)| *n == name)
                && let Ok(Some(code)) = wait_child(&mut self.children[at].1, None)
            {
                self.report_exit(&name, code);
            }
        }
        for (_, child) in &mut self.children {
            if let Child::Thread { handle, .. } = child
                && let Some(h) = handle.take()
            {
                let _ = h.join();
            }
        }
        let pools: Vec<String> = self.pools.keys().cloned().collect();
        for p in pools {
            let _ = self.join_pool(&p);
        }
    }
}

/// `Ok(None)` if still running at the timeout. A child already joined answers at once.
fn wait_child(child: &mut Child, timeout: Option<Duration>) -> Result<Option<i32>, StepErr> {
    let err = |e: String| StepErr::other(e);
    match child {
        // A thread actor's panic (never expected) counts as a failure, like an exception.
        Child::Thread { handle, done } => {
            let code = done.wait(timeout);
            if code.is_some()
                && let Some(h) = handle.take()
            {
                let _ = h.join();
            }
            Ok(code)
        }
        Child::Process(p) => match timeout {
            Some(t) => p.join_timeout(t),
            None => p.join().map(Some),
        }
        .map_err(|e| err(e.to_string())),
        #[cfg(unix)]
        Child::Forked(c) => match timeout {
            None => c.wait().map(Some).map_err(|e| err(e.to_string())),
            Some(t) => {
                let deadline = Instant::now() + t;
                loop {
                    if let Some(code) = c.try_wait().map_err(|e| err(e.to_string()))? {
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
