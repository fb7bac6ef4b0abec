//! The verdict of a fault run.
//!
//! A run whose fault never fired (the plan's point was not reached) is judged as a normal run,
//! in full. Once it fired, what a normal run checks holds, except what a fault may break:
//! - `received`, `received_unordered` and `max_distinct_pids` are not judged (a killed worker is
//!   replaced by a new process); `[faults] survives` says what holds instead;
//! - the hit actor must end killed if it was killed (its code is the kill's);
//! - a step error of a kind `[faults] tolerate` lists, recorded after the fault, is not a failure.
//!
//! Everything else stands: the run ends in time, every other exit code is as `[expect]` says,
//! no other step fails, no process is left behind, the trace stays within its limit, variables
//! and `max_concurrent` hold. A fault run's trace is not compared with a snapshot (it varies
//! with the plan).

use std::collections::BTreeMap;

use procthread::faultpoint::Action;
use procthread_scenario::{Backend, ExitExpect, Invariant, NamePattern, Scenario};

use super::expand;
use super::plan::Plan;
use crate::events::{Event, EventKind};
use crate::outcome::{self, RunRecord, Verdict};

/// The fault as the run recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub actor: String,
    pub at: String,
    pub kill: bool,
    /// `put` and `send` steps the actor had entered when it was hit.
    pub sent: u64,
    pub t_us: u64,
}

/// The fault the run recorded, if it fired.
pub fn hit(record: &RunRecord) -> Option<Hit> {
    record.events.iter().find_map(|e| match &e.kind {
        EventKind::Fault { at, action, sent } => {
            Some(Hit { actor: e.actor.clone(), at: at.clone(), kill: action == "kill", sent: *sent, t_us: e.t_us })
        }
        _ => None,
    })
}

fn kill_code() -> i32 {
    if cfg!(windows) { -15 } else { -9 }
}

/// Judges a run made with `plan`.
pub fn judge(scenario: &Scenario, backend: Backend, record: &RunRecord, plan: &Plan) -> Verdict {
    let Some(spec) = &scenario.faults else { return outcome::judge(scenario, backend, record) };
    let Some(hit) = hit(record) else {
        let mut v = outcome::judge(scenario, backend, record);
        v.checks.push("the fault's point was not reached: judged as a normal run".into());
        return v;
    };
    let mut v = Verdict::default();
    if hit.actor != plan.target {
        v.failures.push(format!("the fault hit `{}`, but the plan names `{}`", hit.actor, plan.target));
    }
    if hit.kill != (plan.action == Action::Kill) {
        v.failures.push(format!("the fault recorded `{}`, but the plan says {}", hit.at, plan.action));
    }
    let mut relaxed = scenario.clone();
    relaxed.expect.received.clear();
    relaxed.expect.received_unordered.clear();
    relaxed.expect.max_distinct_pids.clear();
    if hit.kill {
        relaxed.expect.exit.insert(0, (NamePattern::literal(&hit.actor), ExitExpect::Killed));
    }
    let tolerated = |e: &Event| {
        e.t_us >= hit.t_us
            && matches!(&e.kind, EventKind::Error { kind: Some(k), .. }
                if spec.tolerate.iter().any(|t| t.as_str() == k))
    };
    let normal = outcome::judge_excusing(&relaxed, backend, record, &tolerated);
    v.failures.extend(normal.failures);
    v.checks.extend(normal.checks);
    v.checks.push(format!("fault: {} of `{}` at {}", if hit.kill { "kill" } else { "delay" }, hit.actor, hit.at));
    for inv in &spec.survives {
        match invariant(*inv, scenario, record, plan, &hit) {
            Ok(check) => v.checks.push(format!("survives {}: {check}", inv.as_str())),
            Err(why) => v.failures.push(format!("`{}` did not survive the fault: {why}", inv.as_str())),
        }
    }
    v
}

/// The listed values ([expect]'s `received` and `received_unordered` together) and the values
/// their instances received, as counts per value.
fn listed_and_received(scenario: &Scenario, events: &[Event]) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let e = &scenario.expect;
    let covered = |actor: &str| {
        e.received.iter().any(|(who, _)| who == actor) || e.received_unordered.iter().any(|(p, _)| p.matches(actor))
    };
    let mut listed = BTreeMap::new();
    let values = e.received.iter().map(|(_, v)| v).chain(e.received_unordered.iter().map(|(_, v)| v));
    for v in values.flatten() {
        *listed.entry(v.to_string()).or_default() += 1;
    }
    let mut got = BTreeMap::new();
    for ev in events.iter().filter(|ev| covered(&ev.actor)) {
        if let EventKind::Received { value, .. } = &ev.kind {
            *got.entry(value.to_string()).or_default() += 1;
        }
    }
    (listed, got)
}

fn invariant(
    inv: Invariant,
    scenario: &Scenario,
    record: &RunRecord,
    plan: &Plan,
    hit: &Hit,
) -> Result<String, String> {
    let events = &record.events;
    match inv {
        Invariant::NoDuplicates => {
            let (listed, got) = listed_and_received(scenario, events);
            let twice: Vec<String> = got
                .iter()
                .filter(|(v, n)| **n > listed.get(*v).copied().unwrap_or(0).max(1))
                .map(|(v, n)| format!("{v} {n} times (listed {})", listed.get(v).copied().unwrap_or(0)))
                .collect();
            if twice.is_empty() {
                Ok("no value received more often than listed".into())
            } else {
                Err(format!("received more often than listed: {}", twice.join(", ")))
            }
        }
        Invariant::NoTorn => {
            let (listed, got) = listed_and_received(scenario, events);
            let strange: Vec<&String> = got.keys().filter(|v| !listed.contains_key(*v)).collect();
            if !strange.is_empty() {
                let shown: Vec<&str> = strange.iter().map(|s| s.as_str()).collect();
                return Err(format!("received values no list holds: {}", shown.join(", ")));
            }
            let torn: Vec<String> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Error { line, verb, kind: None, message, .. } if verb == "get" || verb == "recv" => {
                        Some(format!("`{}` at line {line} ({verb}): {message}", e.actor))
                    }
                    _ => None,
                })
                .collect();
            if torn.is_empty() {
                Ok("every value received is a listed one; no get or recv read a broken message".into())
            } else {
                Err(format!("a get or recv failed on a broken message: {}", torn.join("; ")))
            }
        }
        Invariant::AtMostOneLost => {
            let (listed, got) = listed_and_received(scenario, events);
            let missing: u64 = listed.iter().map(|(v, n)| n.saturating_sub(got.get(v).copied().unwrap_or(0))).sum();
            let unsent = if hit.kill { plan.sends.saturating_sub(hit.sent) } else { 0 };
            let allowed = if hit.kill { unsent + 1 } else { 0 };
            if missing <= allowed {
                Ok(format!("{missing} listed value(s) missing, {unsent} never sent: at most the one in flight lost"))
            } else {
                Err(format!(
                    "{missing} listed value(s) missing; the hit actor never sent {unsent} of its {} (it had entered {} \
                     put or send steps), so at most {allowed} may be",
                    plan.sends, hit.sent
                ))
            }
        }
        Invariant::QueueUsable => {
            let queues = scenario.actor(&plan.def).map(expand::queues_used).unwrap_or_default();
            let mut idle = Vec::new();
            for q in &queues {
                let via = format!("get {q}");
                let after = events
                    .iter()
                    .any(|e| e.t_us > hit.t_us && matches!(&e.kind, EventKind::Received { via: v, .. } if *v == via));
                if !after {
                    idle.push(q.as_str());
                }
            }
            match (queues.is_empty(), idle.is_empty()) {
                (true, _) => Err(format!("`{}` uses no queue to check", plan.def)),
                (false, true) => Ok(format!("{} delivered a value after the fault", queues.join(", "))),
                (false, false) => Err(format!("no get of {} received a value after the fault", idle.join(", "))),
            }
        }
        Invariant::PoolGoesOn => pool_goes_on(scenario, events, plan, hit),
    }
}

fn pool_goes_on(scenario: &Scenario, events: &[Event], plan: &Plan, hit: &Hit) -> Result<String, String> {
    let pools: Vec<String> = match &plan.pool {
        Some(p) => vec![p.clone()],
        None => scenario
            .resources
            .iter()
            .filter(|r| matches!(r.kind, procthread_scenario::ResourceKind::Pool { .. }))
            .map(|r| r.name.clone())
            .collect(),
    };
    let mut problems = Vec::new();
    for pool in &pools {
        let of_pool = |e: &&Event| e.pool.as_deref() == Some(pool.as_str());
        let mut tasks: Vec<&str> = events.iter().filter(of_pool).map(|e| e.actor.as_str()).collect();
        tasks.sort();
        tasks.dedup();
        for task in tasks.iter().filter(|t| **t != hit.actor) {
            let ok =
                events.iter().filter(of_pool).any(|e| e.actor == *task && e.kind == EventKind::Finished { code: 0 });
            if !ok {
                problems.push(format!("task `{task}` of `{pool}` did not finish its steps"));
            }
        }
        if !events.iter().filter(of_pool).any(|e| e.kind == EventKind::Started && e.t_us > hit.t_us) {
            problems.push(format!("no task of `{pool}` started after the fault"));
        }
        if hit.kill && plan.pool.as_deref() == Some(pool.as_str()) {
            let code = events.iter().filter(of_pool).find_map(|e| match e.kind {
                EventKind::Exit { code } if e.actor == hit.actor => Some(code),
                _ => None,
            });
            if code != Some(kill_code()) {
                let got = code.map_or("no recorded end".to_string(), |c| format!("exit code {c}"));
                problems.push(format!("the killed task `{}` was reported with {got}, not as killed", hit.actor));
            }
        }
    }
    if problems.is_empty() {
        Ok(format!("{} ran on after the fault", pools.join(", ")))
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::plan::plan;

    const SRC: &str = r#"
[resources]
q = "queue"
[actors.main]
steps = [ { start = "p" }, { repeat = 3, do = [ { get = "q", timeout_ms = 100 } ] }, { join = "p" } ]
[actors.p]
steps = [ { repeat = 3, do = [ { put = "q", value = "{i}" } ] } ]
[expect]
received = { main = [1, 2, 3] }
[faults]
targets = ["p"]
actions = ["kill"]
points = ["step"]
survives = ["no_duplicates", "at_most_one_lost"]
tolerate = ["timeout"]
"#;

    fn ev(actor: &str, t_us: u64, kind: EventKind) -> Event {
        Event { actor: actor.into(), pid: 1, t_us, pool: None, kind }
    }

    fn got(t_us: u64, v: i64) -> Event {
        ev("main", t_us, EventKind::Received { via: "get q".into(), value: v.into(), nondeterministic: false })
    }

    fn timeout(t_us: u64) -> Event {
        let kind = EventKind::Error {
            line: 4,
            verb: "get".into(),
            kind: Some("timeout".into()),
            message: "empty".into(),
            expected: false,
        };
        ev("main", t_us, kind)
    }

    fn record(events: Vec<Event>) -> RunRecord {
        RunRecord::clean("t", Backend::Spawn, events)
    }

    /// p killed after its first put: 1 received, then main's gets time out.
    fn killed_after_one(extra: Vec<Event>) -> RunRecord {
        let mut events = vec![
            ev("main", 1, EventKind::Started),
            ev("p", 2, EventKind::Started),
            got(3, 1),
            ev("p", 4, EventKind::Fault { at: "step 3".into(), action: "kill".into(), sent: 1 }),
            timeout(5),
            timeout(6),
            ev("p", 7, EventKind::Exit { code: kill_code() }),
            ev("main", 8, EventKind::Finished { code: 0 }),
        ];
        events.extend(extra);
        record(events)
    }

    fn scenario_and_plan() -> (Scenario, Plan) {
        let s = procthread_scenario::parse_str(std::path::Path::new("t.toml"), SRC).expect("valid");
        let mut p = plan(&s, Backend::Spawn, 0).expect("a plan");
        p.at = super::super::At::Step { nth: 3 };
        (s, p)
    }

    #[test]
    fn a_kill_that_loses_only_what_was_never_sent_passes_with_its_errors_excused() {
        let (s, p) = scenario_and_plan();
        let v = judge(&s, Backend::Spawn, &killed_after_one(Vec::new()), &p);
        assert!(v.passed(), "{:?}", v.failures);
        assert!(v.checks.iter().any(|c| c.starts_with("survives at_most_one_lost: 2 listed")), "{:?}", v.checks);
    }

    #[test]
    fn a_value_received_twice_breaks_no_duplicates() {
        let (s, p) = scenario_and_plan();
        let v = judge(&s, Backend::Spawn, &killed_after_one(vec![got(9, 1)]), &p);
        assert!(
            v.failures.iter().any(|f| f.contains("`no_duplicates` did not survive") && f.contains("1 2 times")),
            "{:?}",
            v.failures
        );
    }

    #[test]
    fn a_tolerated_error_before_the_fault_still_fails() {
        let (s, p) = scenario_and_plan();
        let v = judge(&s, Backend::Spawn, &killed_after_one(vec![timeout(0)]), &p);
        assert!(v.failures.iter().any(|f| f.contains("actor `main` failed at line 4")), "{:?}", v.failures);
    }

    #[test]
    fn a_delay_may_lose_nothing_and_must_hit_the_planned_actor() {
        let (s, mut p) = scenario_and_plan();
        p.action = Action::Delay { ms: 5 };
        let mut r = killed_after_one(Vec::new());
        for e in &mut r.events {
            if let EventKind::Fault { action, .. } = &mut e.kind {
                *action = "delay 5 ms".into();
            }
        }
        let v = judge(&s, Backend::Spawn, &r, &p);
        assert!(
            v.failures.iter().any(|f| f.contains("`at_most_one_lost` did not survive") && f.contains("at most 0")),
            "{:?}",
            v.failures
        );
        p.target = "q".into();
        let v = judge(&s, Backend::Spawn, &r, &p);
        assert!(v.failures.iter().any(|f| f.contains("the fault hit `p`, but the plan names `q`")), "{:?}", v.failures);
    }

    #[test]
    fn a_fault_that_never_fired_is_judged_as_a_normal_run() {
        let (s, p) = scenario_and_plan();
        let events = vec![got(1, 1), got(2, 2), got(3, 3), ev("p", 4, EventKind::Exit { code: 0 })];
        let v = judge(&s, Backend::Spawn, &record(events), &p);
        assert!(v.passed(), "{:?}", v.failures);
        assert!(v.checks.iter().any(|c| c.contains("was not reached")), "{:?}", v.checks);
        let missing = vec![got(1, 1), got(2, 2), ev("p", 4, EventKind::Exit { code: 0 })];
        assert!(!judge(&s, Backend::Spawn, &record(missing), &p).passed(), "the received list is checked in full");
    }
}
