//! One step: what each verb does, delegating to the modules of its area.

use std::sync::atomic::Ordering;
use std::time::Duration;

use procthread_scenario::{CloseTarget, Crash, InstanceQuery, Int, QueueQuery, Step, StepKind, SyncQuery, VarExpect};
use serde_json::Value;

use super::actor::{Actor, Halt, Outcome, StepErr};
use super::prims::{Prim, channel};
use crate::events::EventKind;

impl Actor {
    pub(crate) fn step(&mut self, step: &Step) -> Result<(), Outcome> {
        let nondet = step.nondeterministic;
        match &step.kind {
            StepKind::Print(t) => {
                let text = self.render(t);
                self.record(EventKind::Print { text });
            }
            StepKind::Start { actor, name, args, host } => {
                let instance = self.name(name);
                let params = args.iter().map(|(k, v)| (k.clone(), self.value(v))).collect();
                self.start_child(actor, instance, params, host.as_deref())?;
            }
            StepKind::Fork { actor, name } => {
                let instance = self.name(name);
                self.fork_child(actor, instance)?;
            }
            StepKind::Join { target, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                self.join(target, timeout)?;
            }
            StepKind::Terminate(target) => self.stop(target, false)?,
            StepKind::Kill(target) => self.stop(target, true)?,
            StepKind::Instance { query, target } => {
                let name = self.name(target);
                let value = match query {
                    InstanceQuery::IsAlive => self.is_alive(&name)?,
                    InstanceQuery::Exitcode => self.exitcode(&name)?,
                };
                self.observed(format!("{} {name}", step.kind.verb()), value, nondet);
            }
            StepKind::Put { queue, value, timeout } => {
                let v = self.value(value);
                let timeout = self.millis(timeout.as_ref())?;
                self.put(queue, &v, timeout)?;
            }
            StepKind::Get { queue, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                let v = self.get(queue, timeout)?;
                self.received(format!("get {}", super::channels::queue_name(queue)), v, nondet);
            }
            StepKind::Queue { query, queue } => {
                let q = self.local_queue(queue)?;
                let value = match query {
                    QueueQuery::Qsize => q.qsize()?,
                    QueueQuery::Empty => q.empty()?,
                    QueueQuery::Full => q.full()?,
                };
                self.observed(format!("{} {queue}", step.kind.verb()), value, nondet);
            }
            StepKind::TaskDone(queue) => self.local_queue(queue)?.task_done()?,
            StepKind::Send { end, value } => {
                let v = self.value(value);
                self.end(&end.pipe, end.end)?.send(&v).map_err(channel)?;
            }
            StepKind::Recv { end, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                let e = self.end(&end.pipe, end.end)?;
                let v: Value = match timeout {
                    Some(t) => e.recv_timeout(t),
                    None => e.recv(),
                }
                .map_err(channel)?;
                self.received(format!("recv {}.{}", end.pipe, end.end), v, nondet);
            }
            StepKind::Close(CloseTarget::Pipe(end)) => {
                self.end(&end.pipe, end.end)?;
                self.ends.remove(&(end.pipe.clone(), end.end));
            }
            StepKind::Close(CloseTarget::Pool(pool)) => self.close_pool(pool)?,
            StepKind::Close(CloseTarget::Queue(queue)) => self.local_queue(queue)?.close(),
            StepKind::Acquire { target, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                self.prim(target)?.acquire(timeout)?;
            }
            StepKind::Release { target, .. } => self.prim(target)?.release()?,
            StepKind::Sync { query, target } => {
                let p = self.prim(target)?;
                let value = match query {
                    SyncQuery::Locked => p.locked(),
                    SyncQuery::IsSet => p.is_set(),
                    SyncQuery::NWaiting => p.n_waiting(),
                    SyncQuery::Broken => p.broken(),
                };
                // How many wait at a barrier depends on timing unless the scenario orders it.
                self.observed(format!("{} {target}", step.kind.verb()), value, nondet);
            }
            StepKind::Set(target) => self.prim(target)?.set(),
            StepKind::Clear(target) => self.prim(target)?.clear(),
            StepKind::Wait { target, on, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                let value = self.prim(target)?.wait(timeout)?;
                self.last = value;
                // Which waiter of a barrier gets which index varies by nature.
                self.last_nondet = nondet || *on == procthread_scenario::SyncKind::Barrier;
            }
            StepKind::Notify { condition, n } => {
                let n = match n {
                    Some(n) => self.int(n)? as usize,
                    None => 1,
                };
                self.prim(condition)?.notify(n)?;
            }
            StepKind::NotifyAll(target) => self.prim(target)?.notify_all()?,
            StepKind::Abort(target) => self.prim(target)?.abort(),
            StepKind::Reset(target) => self.prim(target)?.reset(),
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
                let declared = self.world.scenario.expect.variables.iter().any(|ve| {
                    ve.variable == *variable
                        && *ve.for_family(self.world.backend.uses_processes()) == VarExpect::Nondeterministic
                });
                self.received(format!("read {variable}"), Value::from(v), nondet || declared);
            }
            StepKind::SetLocal { local, value } => {
                let v = self.value(value);
                self.local(local)?.set(v);
            }
            StepKind::GetLocal(local) => {
                let v = self.local(local)?.get().unwrap_or(Value::Null);
                self.received(format!("get_local {local}"), v, nondet);
            }
            StepKind::Run { argv, stdin, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                self.run_tool(argv, stdin.as_ref(), timeout)?;
                self.last_nondet = nondet;
            }
            StepKind::Repeat { times, body } => {
                let times = self.int(times)? as u64;
                self.quietly(Actor::is_long(times), |me| {
                    for i in 1..=times {
                        me.indices.push(i);
                        let r = me.steps(body);
                        me.indices.pop();
                        r?;
                    }
                    Ok(())
                })
                .map_err(Outcome::Nested)?;
            }
            StepKind::ForEach { items, body } => {
                let long = Actor::is_long(items.len() as u64);
                self.quietly(long, |me| {
                    for item in items {
                        let v = me.value(item);
                        me.items.push(v);
                        let r = me.steps(body);
                        me.items.pop();
                        r?;
                    }
                    Ok(())
                })
                .map_err(Outcome::Nested)?;
            }
            StepKind::Loop { until, until_value, body } => loop {
                let sentinel = until_value.as_ref().map(|v| self.value(v));
                match self.steps_until(body, sentinel.as_ref()) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(Halt::Fail(f)) if f.kind.is_some() && f.kind == *until => {
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
                    Err(h) => return Err(Outcome::Nested(h)),
                }
            },
            StepKind::Sleep(ms) => std::thread::sleep(Duration::from_millis(self.int(ms)? as u64)),
            StepKind::Submit(tasks) => {
                self.submit(tasks)?;
            }
            StepKind::Map { tasks, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                let names = self.submit(tasks)?;
                let values = self.results(&tasks.pool, &names, timeout)?;
                self.received(format!("map {}", tasks.pool), Value::Array(values), nondet);
            }
            StepKind::Imap { tasks, body } => self.imap(tasks, body)?,
            StepKind::Result { task, timeout } => {
                let timeout = self.millis(timeout.as_ref())?;
                let name = self.name(task);
                let pool = self.pool_of(&name)?;
                let mut values = self.results(&pool, std::slice::from_ref(&name), timeout)?;
                let v = values.pop().unwrap_or(Value::Null);
                self.received(format!("result {name}"), v, nondet);
            }
            StepKind::Return(v) => {
                self.returned = Some(self.value(v));
                return Err(Outcome::Nested(Halt::Return));
            }
            StepKind::Serve(m) => self.serve(m)?,
            StepKind::Connect { manager, authkey } => {
                let key = authkey.as_ref().map(|k| crate::events::plain(&self.render(k)));
                self.connect(manager, key)?;
            }
            StepKind::Shutdown(m) => self.shutdown(m)?,
            StepKind::Exit(code) => {
                let code = self.int(code)? as i32;
                self.record(EventKind::Finished { code });
                crate::exit_now(code);
            }
            StepKind::Crash(how) => crash(*how),
            StepKind::Link { host, change } => self.link(host, change)?,
        }
        Ok(())
    }

    /// An integer setting, rendered from its template if it is one.
    pub(crate) fn int(&self, i: &Int) -> Result<i64, StepErr> {
        i.resolve(|t| crate::events::plain(&self.render(t))).map_err(StepErr::other)
    }

    pub(crate) fn millis(&self, i: Option<&Int>) -> Result<Option<Duration>, StepErr> {
        i.map(|i| self.int(i).map(|ms| Duration::from_millis(ms as u64))).transpose()
    }

    /// A name (of an instance, a task) as the step renders it.
    pub(crate) fn name(&self, t: &procthread_scenario::Template) -> String {
        crate::events::plain(&self.render(t))
    }

    pub(crate) fn prim(&self, name: &str) -> Result<Prim, StepErr> {
        self.world.prims.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    pub(crate) fn variable(&self, name: &str) -> Result<std::sync::Arc<std::sync::atomic::AtomicI64>, StepErr> {
        self.world.variables.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    fn local(&self, name: &str) -> Result<std::sync::Arc<procthread::Local<Value>>, StepErr> {
        self.world.locals.get(name).cloned().ok_or_else(|| self.unavailable(name))
    }

    pub(crate) fn unavailable(&self, name: &str) -> StepErr {
        let place = if self.pool.is_some() { "a pool task" } else { "this actor" };
        StepErr::other(format!("resource `{name}` is not available in {place}"))
    }
}

pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn crash(how: Crash) -> ! {
    match how {
        Crash::Panic => panic!("crash step: panic"),
        Crash::Abort => std::process::abort(),
        Crash::Segfault => crate::os::segfault(),
        Crash::Kill => crate::os::kill_self(),
    }
}
