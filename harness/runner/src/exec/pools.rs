//! Pools: tasks submitted by an actor, their results and how each ended.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use procthread::{AsyncResult, Pool, PoolError, ThreadPool};
use procthread_scenario::{ErrorKind, ResourceKind, Step, Tasks};
use serde_json::Value;

use super::actor::{Actor, Outcome, StepErr};
use super::launch::{Bundle, TASK, TaskLaunch, TaskOut};
use super::world::World;
use crate::events::EventKind;

pub(crate) enum PoolRt {
    Threads(ThreadPool),
    Processes(Pool),
}

struct TaskRec {
    name: String,
    handle: AsyncResult<TaskOut>,
    /// How it ended, once known (a result can be taken from its handle once).
    outcome: Option<Result<TaskOut, PoolError>>,
    /// Its `Exit` event is written (a task whose worker died has no `Finished` of its own: its
    /// end is when the death is first seen, not when the pool is joined, or the bounds on the
    /// pool would count it as running alongside every later task).
    exit_recorded: bool,
}

pub(crate) struct PoolState {
    rt: PoolRt,
    tasks: Vec<TaskRec>,
    /// Tasks named so far (`ACTOR-N` counts every task of the pool, `imap`'s too).
    named: usize,
    closed: bool,
}

impl Actor {
    fn pool_state(&mut self, name: &str) -> Result<&mut PoolState, StepErr> {
        if !self.pools.contains_key(name) {
            let size = match self.world.scenario.resource(name).map(|r| &r.kind) {
                Some(ResourceKind::Pool { size }) => *size,
                _ => return Err(StepErr::other(format!("`{name}` is not a pool"))),
            };
            let cannot = |e: String| StepErr::other(format!("cannot create pool `{name}`: {e}"));
            let rt = if self.world.backend.uses_processes() {
                PoolRt::Processes(Pool::new(size).map_err(|e| cannot(e.to_string()))?)
            } else {
                PoolRt::Threads(ThreadPool::new(size).map_err(|e| cannot(e.to_string()))?)
            };
            self.pools.insert(name.to_string(), PoolState { rt, tasks: Vec::new(), named: 0, closed: false });
        }
        self.pools.get_mut(name).ok_or_else(|| StepErr::other("pool vanished"))
    }

    /// The items of `tasks` with their task names (`as` rendered per item, or `ACTOR-N`).
    fn named_items(&mut self, tasks: &Tasks) -> Result<Vec<(Value, String)>, StepErr> {
        let items: Vec<Value> = tasks.items.iter().map(|i| self.value(i)).collect();
        let given: Vec<Option<String>> = items
            .iter()
            .map(|item| {
                tasks.name.as_ref().map(|t| {
                    self.items.push(item.clone());
                    let n = self.name(t);
                    self.items.pop();
                    n
                })
            })
            .collect();
        let pool = tasks.pool.clone();
        let state = self.pool_state(&pool)?;
        if state.closed {
            return Err(StepErr::kind(ErrorKind::Closed, format!("pool `{pool}` is closed: no new tasks")));
        }
        let mut out: Vec<(Value, String)> = Vec::new();
        for (item, given) in items.into_iter().zip(given) {
            let name = given.unwrap_or_else(|| format!("{}-{}", tasks.actor, state.named));
            state.named += 1;
            if state.tasks.iter().any(|t| t.name == name) || out.iter().any(|(_, n)| *n == name) {
                return Err(StepErr::kind(ErrorKind::AlreadyStarted, format!("a task named `{name}` already exists")));
            }
            out.push((item, name));
        }
        Ok(out)
    }

    /// One task per item; returns their instance names.
    pub(crate) fn submit(&mut self, tasks: &Tasks) -> Result<Vec<String>, StepErr> {
        let named = self.named_items(tasks)?;
        let world = self.world.clone();
        let pool = tasks.pool.clone();
        let state = self.pool_state(&pool)?;
        let mut out = Vec::new();
        for (item, name) in named {
            let handle = match &state.rt {
                PoolRt::Threads(tp) => {
                    let (world, def, instance, pool) = (world.clone(), tasks.actor.clone(), name.clone(), pool.clone());
                    tp.apply_async(move || run_task(world, &def, &instance, item, &pool))
                }
                PoolRt::Processes(p) => p.apply_async(&TASK, task_launch(&world, &tasks.actor, &name, item, &pool)),
            }
            .map_err(|e| match e {
                PoolError::Closed => StepErr::kind(ErrorKind::Closed, e.to_string()),
                other => StepErr::other(format!("cannot submit to `{pool}`: {other}")),
            })?;
            state.tasks.push(TaskRec { name: name.clone(), handle, outcome: None, exit_recorded: false });
            out.push(name);
        }
        Ok(out)
    }

    /// The pool a task of this actor runs on.
    pub(crate) fn pool_of(&self, task: &str) -> Result<String, StepErr> {
        self.pools
            .iter()
            .find(|(_, s)| s.tasks.iter().any(|t| t.name == task))
            .map(|(p, _)| p.clone())
            .ok_or_else(|| StepErr::other(format!("no task `{task}` was submitted by `{}`", self.instance)))
    }

    /// The results of the named tasks, in order, all within `timeout`.
    pub(crate) fn results(
        &mut self,
        pool: &str,
        names: &[String],
        timeout: Option<Duration>,
    ) -> Result<Vec<Value>, StepErr> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let world = self.world.clone();
        let state = self.pool_state(pool)?;
        let mut values = Vec::new();
        for name in names {
            let Some(task) = state.tasks.iter_mut().find(|t| t.name == *name) else {
                return Err(StepErr::other(format!("no task `{name}` on pool `{pool}`")));
            };
            if task.outcome.is_none() {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                match task.handle.get(left) {
                    Err(PoolError::Timeout(_)) => {
                        let waited = timeout.unwrap_or_default().as_millis();
                        return Err(StepErr::kind(
                            ErrorKind::Timeout,
                            format!("`{name}` gave no result within {waited} ms"),
                        ));
                    }
                    other => task.outcome = Some(other.cloned()),
                }
                if let Some(outcome @ Err(PoolError::WorkerDied { .. })) = &task.outcome {
                    record_exit(&world, name, pool, outcome);
                    task.exit_recorded = true;
                }
            }
            values.push(task_value(name, task.outcome.as_ref())?);
        }
        Ok(values)
    }

    /// `imap`: the body once per result, in order, as each arrives (`{value}` the result). The
    /// pool is the iteration's while it lasts: its body cannot use the same pool.
    pub(crate) fn imap(&mut self, tasks: &Tasks, body: &[Step]) -> Result<(), Outcome> {
        let named = self.named_items(tasks)?;
        let pool = tasks.pool.clone();
        let mut state = self.pools.remove(&pool).ok_or_else(|| StepErr::other("pool vanished"))?;
        let names: Vec<String> = named.iter().map(|(_, n)| n.clone()).collect();
        let world = self.world.clone();
        let r = (|| -> Result<(), Outcome> {
            let mut results = match &state.rt {
                PoolRt::Threads(tp) => {
                    let (world, def, pool) = (world.clone(), tasks.actor.clone(), pool.clone());
                    tp.imap(
                        move |(item, name): (Value, String)| run_task(world.clone(), &def, &name, item, &pool),
                        named,
                    )
                }
                PoolRt::Processes(p) => {
                    let launches: Vec<TaskLaunch> = named
                        .into_iter()
                        .map(|(item, name)| task_launch(&world, &tasks.actor, &name, item, &pool))
                        .collect();
                    p.imap(&TASK, launches)
                }
            }
            .map_err(|e| StepErr::other(format!("cannot run imap on `{pool}`: {e}")))?;
            for name in &names {
                let outcome = results.next().unwrap_or(Err(PoolError::Terminated));
                record_exit(&self.world, name, &pool, &outcome);
                let value = task_value(name, Some(&outcome))?;
                self.received(format!("imap {pool}"), value, false);
                self.steps(body).map_err(Outcome::Nested)?;
            }
            Ok(())
        })();
        // Tasks already ended are recorded; the pool is back for `close` and `join`.
        state.tasks.retain(|t| !names.contains(&t.name));
        self.pools.insert(pool, state);
        r
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

    /// Stops the workers at once; tasks not finished never end (no `exit` for them).
    pub(crate) fn terminate_pool(&mut self, pool: &str) -> Result<(), StepErr> {
        let state = self.pool_state(pool)?;
        match &state.rt {
            PoolRt::Threads(tp) => tp.terminate(),
            PoolRt::Processes(p) => p.terminate(),
        }
        state.closed = true;
        Ok(())
    }

    pub(crate) fn join_pool(&mut self, pool: &str) -> Result<(), StepErr> {
        let Some(mut state) = self.pools.remove(pool) else {
            return Err(StepErr::other(format!("pool `{pool}` has no tasks to wait for")));
        };
        if !state.closed {
            self.pools.insert(pool.to_string(), state);
            return Err(StepErr::other(format!(
                "join of pool `{pool}` before close (close it first, as the chapter does)"
            )));
        }
        let joined = match &mut state.rt {
            PoolRt::Threads(tp) => tp.join(),
            PoolRt::Processes(p) => p.join(),
        };
        for mut task in state.tasks.into_iter().filter(|t| !t.exit_recorded) {
            let outcome = task.outcome.take().unwrap_or_else(|| task.handle.get(None).cloned());
            record_exit(&self.world, &task.name, pool, &outcome);
        }
        joined.map_err(|e| StepErr::other(e.to_string()))
    }
}

/// What a process pool's worker is given for one task: the variables, and no handles (queues
/// and primitives travel only to a process being started; CPython refuses them as a task's
/// arguments too).
fn task_launch(world: &World, def: &str, name: &str, item: Value, pool: &str) -> TaskLaunch {
    TaskLaunch {
        scenario: (*world.scenario).clone(),
        backend: world.backend,
        events: world.log.path().to_path_buf(),
        def: def.to_string(),
        instance: name.to_string(),
        item,
        pool: pool.to_string(),
        bundle: Bundle { variables: world.bundle(Vec::new()).variables, ..Bundle::default() },
    }
}

/// How a task ended, as its `Exit` event (none for a task a terminated pool dropped).
fn record_exit(world: &World, name: &str, pool: &str, outcome: &Result<TaskOut, PoolError>) {
    let code = match outcome {
        Ok(out) => out.code,
        Err(PoolError::WorkerDied { exitcode, .. }) => *exitcode,
        Err(PoolError::Terminated) => return,
        Err(_) => 1,
    };
    world.log.record(name, Some(pool), EventKind::Exit { code });
}

/// A task's result as `{value}`, or its failure as a step error of the language's kinds.
fn task_value(name: &str, outcome: Option<&Result<TaskOut, PoolError>>) -> Result<Value, StepErr> {
    match outcome {
        Some(Ok(TaskOut { error: None, value, .. })) => Ok(value.clone()),
        Some(Ok(TaskOut { error: Some(why), .. })) => {
            Err(StepErr::kind(ErrorKind::TaskFailed, format!("task `{name}` failed: {why}")))
        }
        Some(Err(e @ PoolError::WorkerDied { .. })) => {
            Err(StepErr::kind(ErrorKind::WorkerDied, format!("task `{name}`: {e}")))
        }
        Some(Err(e @ (PoolError::Panicked { .. } | PoolError::TaskFailed { .. }))) => {
            Err(StepErr::kind(ErrorKind::TaskFailed, format!("task `{name}`: {e}")))
        }
        Some(Err(e)) => Err(StepErr::other(format!("task `{name}`: {e}"))),
        None => Err(StepErr::other(format!("task `{name}` has no result"))),
    }
}

/// A pool task: an actor run for one item on a pool's worker.
pub(crate) fn run_task(world: World, def: &str, instance: &str, item: Value, pool: &str) -> TaskOut {
    let mut actor = Actor::new(world, instance, HashMap::new(), Some(pool.to_string()));
    actor.def_name = def.to_string();
    actor.items.push(item);
    let code = actor.run();
    actor.record(EventKind::Finished { code });
    TaskOut { code, value: actor.returned.take().unwrap_or(Value::Null), error: actor.failure.take() }
}
