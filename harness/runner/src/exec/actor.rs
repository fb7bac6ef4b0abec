//! One actor instance interpreting its steps: the loop over steps, what each step's outcome
//! means (an expected error, a value that must equal something, a failure), and the end.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use procthread::PipeEnd;
use procthread::manager::Client;
use procthread_scenario::{ErrorKind, MAIN, Step};
use serde_json::Value;

use super::channels::Server;
use super::children::Child;
use super::pools::PoolState;
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
    /// `{value}` came from a step declared (or by nature) nondeterministic.
    pub(crate) last_nondet: bool,
    pub(crate) indices: Vec<u64>,
    pub(crate) items: Vec<Value>,
    pub(crate) started: Instant,
    pub(crate) child_pids: HashMap<String, u32>,
    /// What this actor started and has not joined yet.
    pub(crate) children: Vec<(String, Child)>,
    /// The children whose end this actor has recorded (an `Exit` event each, once).
    pub(crate) reported: HashSet<String>,
    pub(crate) pools: HashMap<String, PoolState>,
    pub(crate) servers: HashMap<String, Server>,
    pub(crate) clients: HashMap<String, Client>,
    /// What `return` gave: a pool task's result.
    pub(crate) returned: Option<Value>,
    /// The message of the step that failed the actor, if one did.
    pub(crate) failure: Option<String>,
    /// This instance's fault, in a fault run that hits it (`crate::faults`).
    fault: Option<crate::faults::inject::Hook>,
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
    pub(crate) fn kind(kind: ErrorKind, message: impl Into<String>) -> StepErr {
        StepErr { kind: Some(kind), message: message.into() }
    }
}

/// A failure that ends the actor, located at the step it happened in.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) line: usize,
    pub(crate) verb: &'static str,
    pub(crate) kind: Option<ErrorKind>,
    pub(crate) message: String,
}

/// Why a list of steps stopped before its end.
#[derive(Debug)]
pub(crate) enum Halt {
    Fail(Fail),
    /// A `return` step: the actor ends here, successfully.
    Return,
}

/// How one step ended, when not simply done.
pub(crate) enum Outcome {
    Own(StepErr),
    /// Its body stopped (a nested failure, or a `return`).
    Nested(Halt),
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
            last_nondet: false,
            indices: Vec::new(),
            items: Vec::new(),
            started: Instant::now(),
            child_pids: HashMap::new(),
            children: Vec::new(),
            reported: HashSet::new(),
            pools: HashMap::new(),
            servers: HashMap::new(),
            clients: HashMap::new(),
            returned: None,
            failure: None,
            fault: None,
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
        self.fault = crate::faults::inject::Hook::for_actor(&self.instance, self.pool.as_deref(), &self.world.log);
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
            Ok(()) | Err(Halt::Return) => 0,
            Err(Halt::Fail(f)) => {
                self.failure = Some(format!("line {} ({}): {}", f.line, f.verb, f.message));
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
        self.fault = None;
        self.finish_children();
        self.stop_servers();
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

    pub(crate) fn steps(&mut self, steps: &[Step]) -> Result<(), Halt> {
        self.steps_until(steps, None).map(|_| ())
    }

    /// Runs the steps; with a sentinel, stops (returning true) after a step that sets `{value}`
    /// to it.
    pub(crate) fn steps_until(&mut self, steps: &[Step], sentinel: Option<&Value>) -> Result<bool, Halt> {
        for step in steps {
            let verb = step.kind.verb();
            if self.quiet == 0 {
                self.record(EventKind::At { line: step.line, verb: verb.to_string() });
            }
            if let Some(hook) = &mut self.fault {
                hook.before_step(&step.kind);
            }
            let fail = |kind, message| Halt::Fail(Fail { line: step.line, verb, kind, message });
            match self.step(step) {
                Ok(()) => {
                    if let Some(k) = step.expect {
                        return Err(fail(None, format!("expected `{}`, but the step succeeded", k.as_str())));
                    }
                    if let Some(want) = &step.equals {
                        let want = self.value(want);
                        if self.last != want {
                            let got = if self.last_nondet {
                                "a nondeterministic value".into()
                            } else {
                                self.last.to_string()
                            };
                            return Err(fail(None, format!("`{verb}` gave {got}, expected {want}")));
                        }
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
                // A fault run goes on past what the fault may cause (the verdict excuses it).
                Err(Outcome::Own(e))
                    if crate::faults::inject::tolerates(&self.world.scenario, &self.def_name, e.kind) =>
                {
                    let kind = e.kind.map(|k| k.as_str().to_string());
                    self.record(EventKind::Error {
                        line: step.line,
                        verb: verb.to_string(),
                        kind,
                        message: e.message,
                        expected: false,
                    });
                }
                Err(Outcome::Own(e)) => return Err(fail(e.kind, e.message)),
                Err(Outcome::Nested(h)) => return Err(h),
            }
            if let Some(s) = sentinel
                && step.kind.sets_value()
                && self.last == *s
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs a loop's body `times` times (or per item), quietly when long.
    pub(crate) fn quietly<T>(&mut self, long: bool, f: impl FnOnce(&mut Self) -> T) -> T {
        self.quiet += u32::from(long);
        let out = f(self);
        self.quiet -= u32::from(long);
        out
    }

    pub(crate) fn is_long(times: u64) -> bool {
        times > QUIET_LOOP
    }

    /// A value received (what `received` counts); it becomes `{value}`.
    pub(crate) fn received(&mut self, via: String, value: Value, nondeterministic: bool) {
        self.record(EventKind::Received { via, value: value.clone(), nondeterministic });
        self.last = value;
        self.last_nondet = nondeterministic;
    }

    /// A state observed (not counted by `received`); it becomes `{value}`.
    pub(crate) fn observed(&mut self, via: String, value: Value, nondeterministic: bool) {
        self.record(EventKind::Observed { via, value: value.clone(), nondeterministic });
        self.last = value;
        self.last_nondet = nondeterministic;
    }
}
