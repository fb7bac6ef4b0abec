//! The executor's side of a fault run: the plan comes in the environment of every process of
//! the run ([`PLAN_ENV`], JSON); the actor instance it names arms its point when it starts
//! (a fault point inside its pipe or queue operations, in its own thread only) or counts its
//! steps to the one it is hit before. Just before the fault acts, the hit actor records a
//! [`EventKind::Fault`] event, which is what the verdict judges against.
//!
//! A fault fires once per run, whatever the processes: the first to fire claims a marker file in
//! the run's events directory (a pool could otherwise run a task named like the target again on
//! another worker, armed again).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use procthread::faultpoint::{self, Action, Arming, Fired};
use procthread_scenario::{ActorDef, ErrorKind, QueueRef, Scenario, StepKind};

use super::plan::{At, Plan};
use crate::events::{EventKind, EventLog};

/// The variable that carries a fault run's plan to the executor and to every process it starts.
pub const PLAN_ENV: &str = "PROCTHREAD_FAULT_PLAN";

/// Left in the run's events directory by the fault that fired.
const FIRED_MARK: &str = "fault-fired";

/// The plan of this run, read once (`None`: not a fault run).
static PLAN: OnceLock<Option<Plan>> = OnceLock::new();

/// `put` and `send` steps the hit actor has entered (for the notifier of a point's firing).
static SENT: AtomicU64 = AtomicU64::new(0);

/// Where the notifier of a point's firing records the event: the log, the instance, its pool.
type Recorder = (Arc<EventLog>, String, Option<String>);
static RECORDER: Mutex<Option<Recorder>> = Mutex::new(None);

/// Why the executor refuses the plan it was given.
#[derive(Debug, thiserror::Error)]
#[error("{PLAN_ENV} holds no fault plan the executor can read: {0}")]
pub struct BadPlan(serde_json::Error);

/// Reads the plan from the environment; call it first in every process of a run (an unreadable
/// plan must stop the run, not turn it into a normal one).
pub fn load() -> Result<Option<&'static Plan>, BadPlan> {
    let read = match std::env::var(PLAN_ENV) {
        Ok(text) => Some(serde_json::from_str::<Plan>(&text).map_err(BadPlan)?),
        Err(_) => None,
    };
    Ok(PLAN.get_or_init(|| read).as_ref())
}

/// The plan of this run, if it is a fault run.
pub(crate) fn plan() -> Option<&'static Plan> {
    PLAN.get_or_init(|| std::env::var(PLAN_ENV).ok().and_then(|t| serde_json::from_str(&t).ok())).as_ref()
}

/// Whether an actor of `def` goes on past a step that failed with `kind`: in a fault run, a kind
/// `[faults] tolerate` lists, unless a `loop` of the definition ends on that kind.
pub(crate) fn tolerates(scenario: &Scenario, def: &str, kind: Option<ErrorKind>) -> bool {
    let (Some(_), Some(spec), Some(kind)) = (plan(), &scenario.faults, kind) else { return false };
    let ends_a_loop = scenario.actor(def).is_some_and(|d: &ActorDef| {
        procthread_scenario::walk(&d.steps)
            .into_iter()
            .any(|s| matches!(s.kind, StepKind::Loop { until: Some(k), .. } if k == kind))
    });
    spec.tolerate.contains(&kind) && !ends_a_loop
}

/// The fault of one actor instance, while it runs.
#[derive(Debug)]
pub(crate) struct Hook {
    plan: &'static Plan,
    log: Arc<EventLog>,
    instance: String,
    pool: Option<String>,
    /// Steps entered so far.
    steps: u64,
    sent: u64,
}

impl Hook {
    /// The hook of `instance` if the run's plan hits it (and its fault has not fired already);
    /// arms its fault point in this thread if the plan names one.
    pub(crate) fn for_actor(instance: &str, pool: Option<&str>, log: &Arc<EventLog>) -> Option<Hook> {
        let plan = plan().filter(|p| p.target == instance)?;
        if fired_mark(log.path()).exists() {
            return None;
        }
        SENT.store(0, Ordering::SeqCst);
        if let At::Point { point, nth } = plan.at {
            *RECORDER.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((log.clone(), instance.to_string(), pool.map(str::to_string)));
            faultpoint::on_fire(notify);
            faultpoint::arm(Arming { point, nth, action: plan.action, this_thread_only: true });
        }
        Some(Hook {
            plan,
            log: log.clone(),
            instance: instance.to_string(),
            pool: pool.map(str::to_string),
            steps: 0,
            sent: 0,
        })
    }

    /// The actor is entering a step: counts it, and fires here if it is the planned one.
    pub(crate) fn before_step(&mut self, kind: &StepKind) {
        self.steps += 1;
        if matches!(kind, StepKind::Send { .. } | StepKind::Put { queue: QueueRef::Local(_), .. }) {
            self.sent += 1;
            SENT.store(self.sent, Ordering::SeqCst);
        }
        if self.plan.at == (At::Step { nth: self.steps }) && claim(self.log.path()) {
            record(
                &self.log,
                &self.instance,
                self.pool.as_deref(),
                &self.plan.at.to_string(),
                self.plan.action,
                self.sent,
            );
            faultpoint::perform(self.plan.action);
        }
    }
}

impl Drop for Hook {
    /// The actor ended without reaching its point: nothing of it stays armed (a pool worker
    /// runs other tasks next).
    fn drop(&mut self) {
        if matches!(self.plan.at, At::Point { .. }) {
            faultpoint::disarm();
        }
    }
}

/// Told by a fault point just before it acts: claims the run's fault and records it (a second
/// firing in the run, should there be one, still acts: the arming cannot be undone here, and
/// the verdict reads the first fault recorded).
fn notify(fired: &Fired) {
    let guard = RECORDER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((log, instance, pool)) = guard.as_ref() {
        let _ = claim(log.path());
        let at = At::Point { point: fired.point, nth: fired.nth }.to_string();
        record(log, instance, pool.as_deref(), &at, fired.action, SENT.load(Ordering::SeqCst));
    }
}

fn record(log: &EventLog, instance: &str, pool: Option<&str>, at: &str, action: Action, sent: u64) {
    let action = match action {
        Action::Kill => "kill".to_string(),
        Action::Delay { ms } => format!("delay {ms} ms"),
    };
    log.record(instance, pool, EventKind::Fault { at: at.to_string(), action, sent });
}

fn fired_mark(events: &Path) -> PathBuf {
    events.join(FIRED_MARK)
}

/// True for the first caller in the run (any process): its fault is the run's fault.
fn claim(events: &Path) -> bool {
    OpenOptions::new().write(true).create_new(true).open(fired_mark(events)).is_ok()
}
