//! One actor instance interpreting its steps.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use procthread::manager::{Client, Manager};
use procthread::{ChannelError, ManagerError, PipeEnd};
use procthread_scenario::{CloseTarget, Crash, ErrorKind, MAIN, QueueRef, ResourceKind, Step, StepKind};
use serde_json::Value;

use super::children::{Child, PoolState};
use super::world::World;
use crate::events::EventKind;

/// Loops longer than this record no per-step progress events (the loop step itself is recorded).
const QUIET_LOOP: u64 = 100;

pub(crate) struct Actor {
    pub(crate) world: World,
    pub(crate) instance: String,
    pub(crate) def_name: String,
    pub(crate) params: HashMap<String, Value>,
    /// The pool this actor runs on, if it is a pool task.
    pub(crate) pool: Option<String>,
    /// The pipe ends this actor holds.
    pub(crate) ends: HashMap<(String, char), PipeEnd>,
    pub(crate) last: Value,
    pub(crate) indices: Vec<u64>,
    pub(crate) items: Vec<Value>,
    pub(crate) started: Instant,
    pub(crate) child_pids: HashMap<String, u32>,
    pub(crate) children: Vec<(String, Child)>,
    pub(crate) pools: HashMap<String, PoolState>,
    servers: HashMap<String, Manager>,
    clients: HashMap<String, Client>,
    quiet: u32,
}

/// A step's own error.
#[derive(Debug)]
pub(crate) struct StepErr {
    pub(crate) kind: Option<ErrorKind>,
    pub(crate) message: String,
}

impl StepErr {
    pub(crate) fn other(message: impl Into<String>) -> StepErr {
        StepErr { kind: None, message: message.into() }
    }
    fn kind(kind: ErrorKind, message: impl Into<String>) -> StepErr {
        StepErr { kind: Some(kind), message: message.into() }
    }
}

/// A failure that ends the actor, located at the step it happened in.
#[derive(Debug)]
pub(crate) struct Fail {
    line: usize,
    verb: &'static str,
    kind: Option<ErrorKind>,
    message: String,
}

enum Outcome {
    Own(StepErr),
    Nested(Fail),
}

impl From<StepErr> for Outcome {
    fn from(e: StepErr) -> Self {
        Outcome::Own(e)
    }
}

impl Actor {
    pub(crate) fn new(world: World, instance: &str, params: HashMap<String, Value>, pool: Option<String>) -> Actor {
        Actor {
            world,
            instance: instance.to_string(),
            def_name: instance.to_string(),
            params,
            pool,
            ends: HashMap::new(),
            last: Value::Null,
            indices: Vec::new(),
            items: Vec::new(),
            started: Instant::now(),
            child_pids: HashMap::new(),
            children: Vec::new(),
            pools: HashMap::new(),
            servers: HashMap::new(),
            clients: HashMap::new(),
            quiet: 0,
        }
    }

    pub(crate) fn record(&self, kind: EventKind) {
        self.world.log.record(&self.instance, self.pool.as_deref(), kind);
    }

    /// Runs the actor's steps, then waits for whatever it started; returns its code.
    pub(crate) fn run(&mut self) -> i32 {
        self.started = Instant::now();
        self.record(EventKind::Started);
        let scenario = self.world.scenario.clone();
        let Some(def) = scenario.actor(&self.def_name) else {
            self.record(EventKind::Error {
                line: 0,
                verb: "start".into(),
                kind: None,
                message: format!("no actor `{}`", self.def_name),
                expected: false,
            });
            return 1;
        };
        let code = match self.steps(&def.steps) {
            Ok(()) => 0,
            Err(f) => {
                let kind = f.kind.map(|k| k.as_str().to_string());
                self.record(EventKind::Error {
                    line: f.line,
                    verb: f.verb.to_string(),
                    kind,
                    message: f.message,
                    expected: false,
                });
                1
            }
        };
        self.finish_children();
        self.servers.clear();
        if self.instance == MAIN {
            let mut vars: Vec<_> =
                self.world.variables.iter().map(|(n, v)| (n.clone(), v.load(Ordering::SeqCst))).collect();
            vars.sort();
            for (name, value) in vars {
                self.record(EventKind::Variable { name, value });
            }
        }
        code
    }

    fn steps(&mut self, steps: &[Step]) -> Result<(), Fail> {
        for step in steps {
            let verb = step.kind.verb();
            if self.quiet == 0 {
                self.record(EventKind::At { line: step.line, verb: verb.to_string() });
            }
            match self.step(step) {
                Ok(()) => {
                    if let Some(k) = step.expect {
                        return Err(Fail {
                            line: step.line,
                            verb,
                            kind: None,
                            message: format!("expected `{}`, but the step succeeded", k.as_str()),
                        });
                    }
                }
                Err(Outcome::Own(e)) if e.kind.is_some() && e.kind == step.expect => {
                    let kind = e.kind.map(|k| k.as_str().to_string());
                    self.record(EventKind::Error {
                        line: step.line,
                        verb: verb.to_string(),
                        kind,
                        message: e.message,
                        expected: true,
                    });
                }
                Err(Outcome::Own(e)) => return Err(Fail { line: step.line, verb, kind: e.kind, message: e.message }),
                Err(Outcome::Nested(f)) => return Err(f),
            }
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<(), Outcome> {
        match &step.kind {
            StepKind::Print(t) => {
                let text = self.render(t);
                self.record(EventKind::Print { text });
            }
            StepKind::Start { actor, name, args } => {
                let instance = crate::events::plain(&self.render(name));
                let params = args.iter().map(|(k, v)| (k.clone(), self.value(v))).collect();
                self.start_child(actor, instance, params)?;
            }
            StepKind::Fork { actor, name } => {
                let instance = crate::events::plain(&self.render(name));
                self.fork_child(actor, instance)?;
            }
            StepKind::Join { target, timeout } => self.join(target, *timeout)?,
            StepKind::Terminate(target) => self.signal_child(target, false)?,
            StepKind::Kill(target) => self.signal_child(target, true)?,
            StepKind::Put { queue, value } => {
                let v = self.value(value);
                self.put(queue, &v)?;
            }
            StepKind::Get { queue, timeout } => {
                let v = self.get(queue, *timeout)?;
                self.received(format!("get {}", queue_name(queue)), v);
            }
            StepKind::Send { end, value } => {
                let v = self.value(value);
                self.end(&end.pipe, end.end)?.send(&v).map_err(channel)?;
            }
            StepKind::Recv { end, timeout } => {
                let e = self.end(&end.pipe, end.end)?;
                let v: Value = match timeout {
                    Some(t) => e.recv_timeout(*t),
                    None => e.recv(),
                }
                .map_err(channel)?;
                self.received(format!("recv {}.{}", end.pipe, end.end), v);
            }
            StepKind::Close(CloseTarget::Pipe(end)) => {
                self.end(&end.pipe, end.end)?;
                self.ends.remove(&(end.pipe.clone(), end.end));
            }
            StepKind::Close(CloseTarget::Pool(pool)) => self.close_pool(pool)?,
            StepKind::Acquire(lock) => self.lock(lock)?.acquire(),
            StepKind::Release(lock) => self.lock(lock)?.release().map_err(|e| StepErr::other(e.to_string()))?,
            StepKind::Add { variable, amount } => {
                let amount = self.value(amount);
                let n = as_int(&amount)
                    .ok_or_else(|| StepErr::other(format!("`add` needs an integer amount, got {amount}")))?;
                let var = self.variable(variable)?;
                // A separate read and write, as `balance = balance + n` is: other actors' updates
                // between the two are lost, which is the chapter's race, and is defined behaviour.
                let current = var.load(Ordering::Relaxed);
                var.store(current.wrapping_add(n), Ordering::Relaxed);
            }
            StepKind::Read(variable) => {
                let v = self.variable(variable)?.load(Ordering::SeqCst);
                self.received(format!("read {variable}"), Value::from(v));
            }
            StepKind::SetLocal { local, value } => {
                let v = self.value(value);
                self.local(local)?.set(v);
            }
            StepKind::GetLocal(local) => {
                let v = self.local(local)?.get().unwrap_or(Value::Null);
                self.received(format!("get_local {local}"), v);
            }
            StepKind::Run { argv, stdin, timeout } => self.run_tool(argv, stdin.as_ref(), *timeout)?,
            StepKind::Repeat { times, body } => {
                let quiet = *times > QUIET_LOOP;
                self.quiet += u32::from(quiet);
                let mut result = Ok(());
                for i in 1..=*times {
                    self.indices.push(i);
                    result = self.steps(body);
                    self.indices.pop();
                    if result.is_err() {
                        break;
                    }
                }
                self.quiet -= u32::from(quiet);
                result.map_err(Outcome::Nested)?;
            }
            StepKind::ForEach { items, body } => {
                for item in items {
                    let v = self.value(item);
                    self.items.push(v);
                    let r = self.steps(body);
                    self.items.pop();
                    r.map_err(Outcome::Nested)?;
                }
            }
            StepKind::Loop { until, body } => loop {
                match self.steps(body) {
                    Ok(()) => {}
                    Err(f) if f.kind.is_some() && f.kind == *until => {
                        let kind = f.kind.map(|k| k.as_str().to_string());
                        let message = format!("{} (ends the loop)", f.message);
                        self.record(EventKind::Error {
                            line: f.line,
                            verb: f.verb.to_string(),
                            kind,
                            message,
                            expected: true,
                        });
                        break;
                    }
                    Err(f) => return Err(Outcome::Nested(f)),
                }
            },
            StepKind::Sleep(d) => std::thread::sleep(*d),
            StepKind::Submit { pool, actor, items } => {
                let items: Vec<Value> = items.iter().map(|i| self.value(i)).collect();
                self.submit(pool, actor, items)?;
            }
            StepKind::Serve(m) => self.serve(m)?,
            StepKind::Connect { manager, authkey } => {
                let key = authkey.as_ref().map(|k| crate::events::plain(&self.render(k)));
                self.connect(manager, key)?;
            }
            StepKind::Shutdown(m) => {
                if self.servers.remove(m).is_none() {
                    self.client(m)?.shutdown().map_err(manager_err)?;
                }
            }
            StepKind::Exit(code) => {
                self.record(EventKind::Finished { code: *code });
                crate::exit_now(*code);
            }
            StepKind::Crash(how) => crash(*how),
        }
        Ok(())
    }

    fn received(&mut self, via: String, value: Value) {
        self.record(EventKind::Received { via, value: value.clone() });
        self.last = value;
    }

    fn end(&self, pipe: &str, end: char) -> Result<&PipeEnd, StepErr> {
        self.ends.get(&(pipe.to_string(), end)).ok_or_else(|| {
            let owner = self.world.scenario.resource(pipe).and_then(|r| match &r.kind {
                ResourceKind::Pipe { a, b } => Some(if end == 'a' { a.clone() } else { b.clone() }),
                _ => None,
            });
            StepErr::other(format!(
                "`{}` does not hold pipe end `{pipe}.{end}` (it belongs to actor `{}`, or was closed)",
                self.instance,
                owner.unwrap_or_default()
            ))
        })
    }

    fn lock(&self, name: &str) -> Result<std::sync::Arc<procthread::Lock>, StepErr> {
        self.world.locks.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    fn variable(&self, name: &str) -> Result<std::sync::Arc<std::sync::atomic::AtomicI64>, StepErr> {
        self.world.variables.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    fn local(&self, name: &str) -> Result<std::sync::Arc<procthread::Local<Value>>, StepErr> {
        self.world.locals.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    fn unavailable(&self, name: &str) -> StepErr {
        let place = if self.pool.is_some() { "a pool task" } else { "this actor" };
        StepErr::other(format!("resource `{name}` is not available in {place}"))
    }

    fn put(&mut self, queue: &QueueRef, v: &Value) -> Result<(), StepErr> {
        match queue {
            QueueRef::Local(q) => self.world.queues.get(q).ok_or_else(|| self.unavailable(q))?.put(v).map_err(channel),
            QueueRef::Remote { manager, queue } => {
                self.client(manager)?.queue(queue.clone()).put(v).map_err(manager_err)
            }
        }
    }

    fn get(&mut self, queue: &QueueRef, timeout: Option<Duration>) -> Result<Value, StepErr> {
        match queue {
            QueueRef::Local(q) => {
                let q = self.world.queues.get(q).ok_or_else(|| self.unavailable(q))?;
                match timeout {
                    Some(t) => q.get_timeout(t),
                    None => q.get(),
                }
                .map_err(channel)
            }
            QueueRef::Remote { manager, queue } => {
                self.client(manager)?.queue(queue.clone()).get(timeout).map_err(manager_err)
            }
        }
    }

    fn manager_spec(&self, m: &str) -> Result<(Vec<String>, String), StepErr> {
        match self.world.scenario.resource(m).map(|r| &r.kind) {
            Some(ResourceKind::Manager { queues, authkey }) => Ok((queues.clone(), authkey.clone())),
            _ => Err(self.unavailable(m)),
        }
    }

    fn serve(&mut self, m: &str) -> Result<(), StepErr> {
        let (queues, key) = self.manager_spec(m)?;
        let builder = queues.into_iter().fold(Manager::builder(), |b, q| b.queue(q)).authkey(key.into_bytes());
        let server = builder.start().map_err(|e| StepErr::other(format!("cannot serve `{m}`: {e}")))?;
        let address = server.address().to_string();
        self.world.rendezvous.get(m).ok_or_else(|| self.unavailable(m))?.put(&address).map_err(channel)?;
        self.servers.insert(m.to_string(), server);
        Ok(())
    }

    fn connect(&mut self, m: &str, key: Option<String>) -> Result<(), StepErr> {
        let (_, default_key) = self.manager_spec(m)?;
        let rendezvous = self.world.rendezvous.get(m).ok_or_else(|| self.unavailable(m))?;
        // Wait until the manager is served; leave its address for the next client.
        let address: String = rendezvous.get().map_err(channel)?;
        rendezvous.put(&address).map_err(channel)?;
        let key = key.unwrap_or(default_key);
        let client = Client::connect(address.as_str(), key.as_bytes()).map_err(manager_err)?;
        self.clients.insert(m.to_string(), client);
        Ok(())
    }

    fn client(&mut self, m: &str) -> Result<&Client, StepErr> {
        if !self.clients.contains_key(m) {
            self.connect(m, None)?;
        }
        self.clients.get(m).ok_or_else(|| StepErr::other("not connected"))
    }

    fn run_tool(
        &mut self,
        argv: &[procthread_scenario::Template],
        stdin: Option<&procthread_scenario::Template>,
        timeout: Option<Duration>,
    ) -> Result<(), StepErr> {
        let args: Vec<String> = argv.iter().map(|a| crate::events::plain(&self.render(a))).collect();
        let exe = std::env::current_exe().map_err(|e| StepErr::other(e.to_string()))?;
        let mut full = vec![exe.to_string_lossy().into_owned(), "tool".to_string()];
        full.extend(args.iter().cloned());
        let input = stdin.map(|s| crate::events::plain(&self.render(s)));
        let done =
            procthread::subprocess::run(&full, input.as_deref().map(str::as_bytes), timeout).map_err(|e| match e {
                procthread::SubprocessError::Timeout { .. } => StepErr::kind(ErrorKind::Timeout, e.to_string()),
                other => StepErr::other(other.to_string()),
            })?;
        self.record(EventKind::Ran { argv: args, code: done.code });
        let out = String::from_utf8_lossy(&done.stdout).replace("\r\n", "\n");
        self.last = Value::from(out.trim_end_matches('\n'));
        Ok(())
    }
}

fn queue_name(q: &QueueRef) -> String {
    match q {
        QueueRef::Local(q) => q.clone(),
        QueueRef::Remote { manager, queue } => format!("{manager}/{queue}"),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn channel(e: ChannelError) -> StepErr {
    match e {
        ChannelError::Eof => StepErr::kind(ErrorKind::Eof, e.to_string()),
        ChannelError::Empty(_) => StepErr::kind(ErrorKind::Timeout, e.to_string()),
        other => StepErr::other(other.to_string()),
    }
}

fn manager_err(e: ManagerError) -> StepErr {
    match e {
        ManagerError::AuthRefused => StepErr::kind(ErrorKind::AuthRefused, e.to_string()),
        ManagerError::Empty(_) | ManagerError::NoReply { .. } => StepErr::kind(ErrorKind::Timeout, e.to_string()),
        other => StepErr::other(other.to_string()),
    }
}

fn crash(how: Crash) -> ! {
    match how {
        Crash::Panic => panic!("crash step: panic"),
        Crash::Abort => std::process::abort(),
        Crash::Segfault => crate::os::segfault(),
    }
}

/// A pool task: an actor run for one item on a pool's worker.
pub(crate) fn run_task(world: World, def: &str, instance: &str, item: Value, pool: &str) -> i32 {
    let mut actor = Actor::new(world, instance, HashMap::new(), Some(pool.to_string()));
    actor.def_name = def.to_string();
    actor.items.push(item);
    let code = actor.run();
    actor.record(EventKind::Finished { code });
    code
}
