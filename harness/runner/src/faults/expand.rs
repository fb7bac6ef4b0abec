//! The instances a scenario file makes, read from the file alone: what a fault plan can hit.
//!
//! A `start` or `fork` step names its instance (`as`), and a pool task is named `ACTOR-N` or by
//! its `as`; names made inside `repeat` and `for_each` are expanded with their `{i}` and
//! `{item}` (a name that needs anything else, such as a parameter, is not expanded, and its
//! instances are not targets). Each instance comes with what its definition does when its loops
//! run as written (`repeat` its count, `for_each` and `imap` once per item, `loop` once): the
//! steps it reaches and its queue and pipe operations, which the plan draws a point from.

use std::collections::HashMap;

use procthread_scenario::{
    ActorDef, Backend, Int, MAIN, Placeholder, QueueRef, Scenario, Step, StepKind, Template, ValueExpr,
};
use serde::Serialize;

/// Most passes of one loop that names are expanded over, and most instances listed.
const MAX_PASSES: u64 = 1_000;
const MAX_INSTANCES: usize = 10_000;

/// An instance of the file, as a fault plan sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub name: String,
    /// Its actor definition.
    pub def: String,
    /// The pool it is a task of.
    pub pool: Option<String>,
    /// Whether it runs in a process of its own on this backend (only then can it be killed).
    pub own_process: bool,
    pub ops: Ops,
}

/// What a definition does, its loops run as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ops {
    /// Steps reached, nested ones included.
    pub steps: u64,
    /// `send` steps (pipes).
    pub sends: u64,
    /// `recv` steps (pipes).
    pub recvs: u64,
    /// `put` steps on a queue resource.
    pub puts: u64,
    /// `get` steps on a queue resource.
    pub gets: u64,
}

impl Ops {
    /// `put` and `send` steps: the values the definition hands on.
    pub fn sent(&self) -> u64 {
        self.puts.saturating_add(self.sends)
    }
}

/// Every instance the file makes (main aside), in the order the file makes them.
pub fn instances(scenario: &Scenario, backend: Backend) -> Vec<Instance> {
    let ops: HashMap<&str, Ops> = scenario.actors.iter().map(|a| (a.name.as_str(), count(&a.steps))).collect();
    let mut out = Vec::new();
    for def in &scenario.actors {
        let mut walk = Walk { backend, made: Vec::new(), task_counter: HashMap::new() };
        walk.steps(def, &def.steps, &mut Vec::new());
        for (name, of, pool, own_process) in walk.made {
            if name == MAIN || out.iter().any(|i: &Instance| i.name == name) || out.len() >= MAX_INSTANCES {
                continue;
            }
            let ops = ops.get(of.as_str()).copied().unwrap_or_default();
            out.push(Instance { name, def: of, pool, own_process, ops });
        }
    }
    out
}

/// What a definition's steps do, its loops run as written.
pub fn count(steps: &[Step]) -> Ops {
    let mut ops = Ops::default();
    add(steps, 1, &mut ops);
    ops
}

fn add(steps: &[Step], times: u64, ops: &mut Ops) {
    for s in steps {
        let bump = |n: &mut u64| *n = n.saturating_add(times);
        bump(&mut ops.steps);
        match &s.kind {
            StepKind::Send { .. } => bump(&mut ops.sends),
            StepKind::Recv { .. } => bump(&mut ops.recvs),
            StepKind::Put { queue: QueueRef::Local(_), .. } => bump(&mut ops.puts),
            StepKind::Get { queue: QueueRef::Local(_), .. } => bump(&mut ops.gets),
            _ => {}
        }
        if let Some(body) = s.kind.body() {
            add(body, times.saturating_mul(passes(&s.kind)), ops);
        }
    }
}

/// How often a loop's body runs as written (1 where the file does not say).
fn passes(kind: &StepKind) -> u64 {
    match kind {
        StepKind::Repeat { times: Int::Fixed(n), .. } => (*n).max(0) as u64,
        StepKind::ForEach { items, .. } => items.len() as u64,
        StepKind::Imap { tasks, .. } => tasks.items.len() as u64,
        _ => 1,
    }
}

/// The queues a definition's `put` and `get` steps use.
pub fn queues_used(def: &ActorDef) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in procthread_scenario::walk(&def.steps) {
        if let StepKind::Put { queue: QueueRef::Local(q), .. } | StepKind::Get { queue: QueueRef::Local(q), .. } =
            &s.kind
            && !out.contains(q)
        {
            out.push(q.clone());
        }
    }
    out
}

/// One pass's `{i}` and `{item}`.
#[derive(Clone)]
enum Frame {
    Index(u64),
    Item(String),
}

struct Walk {
    backend: Backend,
    /// (instance, definition, pool, own process)
    made: Vec<(String, String, Option<String>, bool)>,
    /// Tasks named so far per pool (of this definition: each actor has its own pools).
    task_counter: HashMap<String, usize>,
}

impl Walk {
    fn steps(&mut self, def: &ActorDef, steps: &[Step], frames: &mut Vec<Frame>) {
        for s in steps {
            if self.made.len() >= MAX_INSTANCES {
                return;
            }
            self.step(def, s, frames);
        }
    }

    fn step(&mut self, def: &ActorDef, s: &Step, frames: &mut Vec<Frame>) {
        let processes = self.backend.uses_processes();
        match &s.kind {
            StepKind::Start { actor, name, .. } => {
                if let Some(n) = render(name, frames) {
                    self.made.push((n, actor.clone(), None, processes));
                }
            }
            StepKind::Fork { actor, name } => {
                if let Some(n) = render(name, frames) {
                    self.made.push((n, actor.clone(), None, true));
                }
            }
            StepKind::Submit(tasks) | StepKind::Map { tasks, .. } | StepKind::Imap { tasks, .. } => {
                // Pools are process pools wherever actors are processes (`exec/pools.rs`).
                let own = processes;
                for item in &tasks.items {
                    let counter = self.task_counter.entry(tasks.pool.clone()).or_default();
                    let default = format!("{}-{counter}", tasks.actor);
                    *counter += 1;
                    let name = match (&tasks.name, literal(item)) {
                        (None, _) => Some(default),
                        (Some(t), Some(item)) => {
                            frames.push(Frame::Item(item));
                            let n = render(t, frames);
                            frames.pop();
                            n
                        }
                        (Some(_), None) => None,
                    };
                    if let Some(n) = name {
                        self.made.push((n, tasks.actor.clone(), Some(tasks.pool.clone()), own));
                    }
                }
            }
            _ => {}
        }
        match &s.kind {
            StepKind::Repeat { times, body } => {
                let n = match times {
                    Int::Fixed(n) => (*n).max(0) as u64,
                    Int::Template { .. } => 1,
                };
                for i in 1..=n.min(MAX_PASSES) {
                    frames.push(Frame::Index(i));
                    self.steps(def, body, frames);
                    frames.pop();
                }
            }
            StepKind::ForEach { items, body } => {
                for item in items.iter().take(MAX_PASSES as usize) {
                    let Some(item) = literal(item) else { continue };
                    frames.push(Frame::Item(item));
                    self.steps(def, body, frames);
                    frames.pop();
                }
            }
            other => {
                if let Some(body) = other.body() {
                    self.steps(def, body, frames);
                }
            }
        }
    }
}

/// A literal item as `{item}` renders it (strings bare, as the executor prints them).
fn literal(v: &ValueExpr) -> Option<String> {
    match v {
        ValueExpr::Int(n) => Some(n.to_string()),
        ValueExpr::Bool(b) => Some(if *b { "true" } else { "false" }.to_string()),
        ValueExpr::Text(t) => procthread_scenario::literal_text(t),
        _ => None,
    }
}

/// A name with `{i}` and `{item}` from the innermost passes, if that is all it needs.
fn render(t: &Template, frames: &[Frame]) -> Option<String> {
    let index = frames.iter().rev().find_map(|f| match f {
        Frame::Index(i) => Some(i.to_string()),
        Frame::Item(_) => None,
    });
    let item = frames.iter().rev().find_map(|f| match f {
        Frame::Item(s) => Some(s.clone()),
        Frame::Index(_) => None,
    });
    let mut ok = true;
    let out = t.render(|h| match h {
        Placeholder::Index => index.clone().unwrap_or_else(|| {
            ok = false;
            String::new()
        }),
        Placeholder::Item => item.clone().unwrap_or_else(|| {
            ok = false;
            String::new()
        }),
        Placeholder::Number(n) => n.to_string(),
        _ => {
            ok = false;
            String::new()
        }
    });
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Scenario {
        procthread_scenario::parse_str(std::path::Path::new("t.toml"), src).expect("a valid scenario")
    }

    #[test]
    fn names_from_loops_and_tasks_with_their_operations() {
        let s = parse(
            r#"
[resources]
q = "queue"
pool = { kind = "pool", size = 2 }
[actors.main]
steps = [
  { for_each = ["a", "b"], do = [ { start = "p", as = "p-{item}" } ] },
  { repeat = 2, do = [ { start = "c", as = "c{i}" } ] },
  { start = "c", as = "solo" },
  { submit = "pool", actor = "t", items = [1, 2] },
  { map = "pool", actor = "t", items = [3], as = "m{item}" },
]
[actors.p]
steps = [ { repeat = 3, do = [ { put = "q", value = "{i}" } ] }, { print = "done" } ]
[actors.c]
steps = [ { loop = [ { get = "q" } ], until_value = "{none}" } ]
[actors.t]
steps = [ { return = "{item}" } ]
"#,
        );
        let all = instances(&s, Backend::Spawn);
        let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["p-a", "p-b", "c1", "c2", "solo", "t-0", "t-1", "m3"]);
        assert_eq!(all[0].ops, Ops { steps: 5, sends: 0, recvs: 0, puts: 3, gets: 0 });
        assert_eq!(all[2].ops, Ops { steps: 2, gets: 1, ..Ops::default() });
        assert!(all.iter().all(|i| i.own_process), "spawn: actors are processes, and pools process pools");
        assert_eq!(all[5].pool.as_deref(), Some("pool"));
        let on_threads = instances(&s, Backend::ThreadPool);
        assert!(on_threads.iter().all(|i| !i.own_process));
        assert!(instances(&s, Backend::ProcessPool).iter().all(|i| i.own_process));
    }

    #[test]
    fn a_name_that_needs_a_parameter_is_not_expanded() {
        let s = parse(
            "[actors.main]\nsteps = [ { start = \"w\", args = { k = 1 } } ]\n[actors.w]\nparams = [\"k\"]\n\
             steps = [ { start = \"x\", as = \"x{k}\" } ]\n[actors.x]\nsteps = []\n",
        );
        let names: Vec<String> = instances(&s, Backend::Thread).into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["w"]);
    }
}
