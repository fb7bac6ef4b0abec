//! Judging a run: the verdict (what must hold) and the normalized trace (what the snapshot keeps).
//!
//! Normalization has one home, here: pids become names derived from actors (`<pid:main>`,
//! `<pid:writer>`, `<pid:pool>` for a pool's workers, whichever runs a task), timings become
//! `<elapsed>`, each actor's own order is kept, and actors are listed in a canonical order
//! (main, then by name), so that interleavings across actors do not show.

use std::collections::{BTreeMap, HashMap, HashSet};

use procthread_scenario::{Backend, ExitExpect, MAIN, Scenario, VarExpect};
use serde::Serialize;

use crate::events::{Event, EventKind, MARK};

/// What the runner knows of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub scenario: String,
    pub backend: Backend,
    pub events: Vec<Event>,
    /// The executor's exit code (minus the signal), `None` if it had to be killed.
    pub executor_code: Option<i32>,
    pub timed_out: bool,
    /// Processes of the run were still alive after its executor ended.
    pub leftovers: bool,
    /// Set when the run's trace reached its limit (`events::TRACE_LIMIT`): the reason it fails.
    pub trace_over_limit: Option<String>,
    /// The end of the executor's stderr, for failure messages.
    pub stderr_tail: String,
    pub elapsed_ms: u128,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub failures: Vec<String>,
    /// Invariants that held, worded without anything that varies between runs.
    pub checks: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn kill_code() -> i32 {
    if cfg!(windows) { -15 } else { -9 }
}

/// Natural order: `task-2` before `task-10`.
fn natural(name: &str) -> (String, u64) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, num) = name.split_at(name.len() - digits);
    (stem.to_string(), num.parse().unwrap_or(0))
}

/// Actor instances in canonical order: main, other actors by name, then pool tasks by name.
fn actors(events: &[Event]) -> Vec<(String, Option<String>)> {
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    for e in events {
        if !seen.iter().any(|(a, _)| *a == e.actor) {
            seen.push((e.actor.clone(), e.pool.clone()));
        } else if e.pool.is_some()
            && let Some(slot) = seen.iter_mut().find(|(a, _)| *a == e.actor)
        {
            slot.1 = e.pool.clone();
        }
    }
    seen.sort_by_key(|(a, pool)| (a != MAIN, pool.is_some(), natural(a)));
    seen
}

fn pid_labels(events: &[Event], order: &[(String, Option<String>)]) -> HashMap<u32, String> {
    let mut labels = HashMap::new();
    for (actor, pool) in order {
        for e in events.iter().filter(|e| e.actor == *actor && !matches!(e.kind, EventKind::Exit { .. })) {
            labels.entry(e.pid).or_insert_with(|| pool.clone().unwrap_or_else(|| actor.clone()));
        }
    }
    labels
}

fn normalize_text(text: &str, labels: &HashMap<u32, String>) -> String {
    let mut out = String::new();
    for (i, part) in text.split(MARK).enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            continue;
        }
        match part.split_once(':') {
            Some(("pid", n)) => {
                let label =
                    n.parse().ok().and_then(|p: u32| labels.get(&p).cloned()).unwrap_or_else(|| "other".to_string());
                out.push_str(&format!("<pid:{label}>"));
            }
            Some(("elapsed", _)) => out.push_str("<elapsed>"),
            _ => out.push_str(part),
        }
    }
    out
}

/// The normalized trace of a run, with its verdict's checks: the text a snapshot holds.
pub fn normalize(scenario: &Scenario, backend: Backend, record: &RunRecord, verdict: &Verdict) -> String {
    let order = actors(&record.events);
    let labels = pid_labels(&record.events, &order);
    let mut out = format!("scenario: {} ({})\nfamily: {}\n", scenario.name, scenario.title, backend.family());
    for (actor, pool) in &order {
        match pool {
            Some(p) => out.push_str(&format!("\n[{actor}] task on {p}\n")),
            None => out.push_str(&format!("\n[{actor}]\n")),
        }
        for e in record.events.iter().filter(|e| e.actor == *actor) {
            let line = match &e.kind {
                EventKind::Print { text } => format!("print  {}", normalize_text(text, &labels)),
                EventKind::Received { via, value } => format!("got    {via}: {value}"),
                EventKind::Ran { argv, code } => format!("ran    {} -> exit {code}", argv.join(" ")),
                EventKind::Error { verb, kind, expected: true, .. } => {
                    format!("error  {verb}: {} (expected)", kind.as_deref().unwrap_or("error"))
                }
                EventKind::Error { line, verb, message, .. } => format!("error  line {line} ({verb}): {message}"),
                EventKind::Exit { code } => format!("exit   {code}"),
                _ => continue,
            };
            // Continuation lines of multi-line output line up under the text.
            let indented = line.replace('\n', "\n       ");
            let lines: Vec<&str> = indented.lines().map(str::trim_end).collect();
            out.push_str(&lines.join("\n"));
            out.push('\n');
        }
        if actor == MAIN
            && let Some(code) = record.executor_code
        {
            out.push_str(&format!("exit   {code}\n"));
        }
    }
    if !verdict.checks.is_empty() {
        out.push_str("\n[checks]\n");
        for c in &verdict.checks {
            out.push_str(c);
            out.push('\n');
        }
    }
    out
}

/// Where each actor that had not ended was: its last step.
pub fn whereabouts(events: &[Event]) -> Vec<String> {
    let mut last: BTreeMap<&str, Option<(usize, &str)>> = BTreeMap::new();
    let mut ended: HashSet<&str> = HashSet::new();
    for e in events {
        match &e.kind {
            EventKind::At { line, verb } => {
                last.insert(&e.actor, Some((*line, verb.as_str())));
            }
            EventKind::Started => {
                last.entry(&e.actor).or_insert(None);
            }
            EventKind::Finished { .. } | EventKind::Exit { .. } => {
                ended.insert(&e.actor);
            }
            _ => {}
        }
    }
    last.into_iter()
        .filter(|(a, _)| !ended.contains(a))
        .map(|(a, at)| match at {
            Some((line, verb)) => format!("{a} was at line {line} ({verb})"),
            None => format!("{a} had started no step"),
        })
        .collect()
}

/// Checks a run against what its scenario says must hold.
pub fn judge(scenario: &Scenario, backend: Backend, record: &RunRecord) -> Verdict {
    let mut v = Verdict::default();
    let fail = |v: &mut Verdict, msg: String| v.failures.push(msg);
    let events = &record.events;

    let expected: HashMap<&str, ExitExpect> = scenario.expect.exit.iter().map(|(a, e)| (a.as_str(), *e)).collect();
    let main_expect = expected.get(MAIN).copied().unwrap_or(ExitExpect::Code(0));
    if record.timed_out {
        let at = whereabouts(events);
        fail(
            &mut v,
            format!("timed out after {:?}; the whole process tree was killed; {}", scenario.timeout, at.join("; ")),
        );
    } else if let Some(code) = record.executor_code
        && !exit_matches(code, main_expect)
    {
        let at = whereabouts(events);
        let mut msg = format!("the executor ended with {}, expected {main_expect}", crate::os::describe_exit(code));
        if !at.is_empty() {
            msg.push_str(&format!("; {}", at.join("; ")));
        }
        if !record.stderr_tail.trim().is_empty() {
            msg.push_str(&format!("; stderr: {}", record.stderr_tail.trim()));
        }
        fail(&mut v, msg);
    }
    if record.leftovers {
        fail(&mut v, "processes of the run were still alive after its executor ended (killed now)".into());
    }
    if let Some(why) = &record.trace_over_limit {
        fail(&mut v, why.clone());
    }
    for e in events {
        if let EventKind::Error { line, verb, message, expected: false, .. } = &e.kind {
            fail(&mut v, format!("actor `{}` failed at line {line} ({verb}): {message}", e.actor));
        }
    }

    // How each actor ended.
    let mut exits: HashMap<&str, i32> = HashMap::new();
    for e in events {
        if let EventKind::Exit { code } = e.kind {
            exits.insert(&e.actor, code);
        }
    }
    if let Some(code) = record.executor_code {
        exits.insert(MAIN, code);
    }
    let mut names: Vec<&&str> = exits.keys().filter(|n| **n != MAIN).collect();
    names.sort();
    for name in names {
        let code = exits[*name];
        let want = expected.get(*name).copied().unwrap_or(ExitExpect::Code(0));
        if !exit_matches(code, want) && !record.timed_out {
            fail(&mut v, format!("actor `{name}` ended with {}, expected {want}", crate::os::describe_exit(code)));
        }
    }
    for (name, want) in &scenario.expect.exit {
        if !exits.contains_key(name.as_str()) {
            fail(&mut v, format!("actor `{name}` was expected to end ({want}) but never did"));
        } else {
            v.checks.push(format!("exit {name}: {want}"));
        }
    }

    for ve in &scenario.expect.variables {
        let want = if backend.uses_processes() { &ve.processes } else { &ve.threads };
        let got = events.iter().rev().find_map(|e| match &e.kind {
            EventKind::Variable { name, value } if *name == ve.variable && e.actor == MAIN => Some(*value),
            _ => None,
        });
        match (want, got) {
            (_, None) => fail(&mut v, format!("variable `{}` was never reported by main", ve.variable)),
            (VarExpect::Exactly(n), Some(g)) if *n != g => {
                fail(&mut v, format!("variable `{}` is {g}, expected {n}", ve.variable))
            }
            (VarExpect::Exactly(n), Some(_)) => v.checks.push(format!("variable {} = {n}", ve.variable)),
            (VarExpect::Nondeterministic, Some(_)) => {
                v.checks.push(format!("variable {}: nondeterministic", ve.variable))
            }
        }
    }

    for (target, bound) in &scenario.expect.max_concurrent {
        let (spans, what) = if target == "actors" {
            (spans(events, |e| e.pool.is_none() && e.actor != MAIN), "started actors".to_string())
        } else {
            (spans(events, |e| e.pool.as_deref() == Some(target.as_str())), format!("tasks on pool `{target}`"))
        };
        let peak =
            spans.iter().map(|&(s, _)| spans.iter().filter(|&&(s2, e2)| s2 <= s && s < e2).count()).max().unwrap_or(0);
        if spans.is_empty() {
            fail(&mut v, format!("none of the {what} ran"));
        } else if peak > *bound {
            fail(&mut v, format!("{peak} {what} ran at once, more than {bound}"));
        } else {
            v.checks.push(format!("at most {bound} {what} at once: ok"));
        }
    }
    for (pool, bound) in &scenario.expect.max_distinct_pids {
        // Exit events are written by whoever joined the pool, not by its workers.
        let pids: HashSet<u32> = events
            .iter()
            .filter(|e| e.pool.as_deref() == Some(pool.as_str()) && !matches!(e.kind, EventKind::Exit { .. }))
            .map(|e| e.pid)
            .collect();
        if pids.len() > *bound {
            fail(&mut v, format!("tasks of pool `{pool}` ran in {} processes, more than {bound}", pids.len()));
        } else {
            v.checks.push(format!("at most {bound} distinct pids on {pool}: ok"));
        }
    }
    for (who, want) in &scenario.expect.received {
        let got: Vec<&serde_json::Value> = events
            .iter()
            .filter(|e| e.actor == *who)
            .filter_map(|e| match &e.kind {
                EventKind::Received { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        if got.iter().copied().ne(want.iter()) {
            let got: Vec<String> = got.iter().map(|g| g.to_string()).collect();
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            fail(&mut v, format!("`{who}` received [{}], expected [{}]", got.join(", "), want.join(", ")));
        } else {
            v.checks.push(format!("{who} received the {} expected value(s) in order: ok", want.len()));
        }
    }
    v
}

fn exit_matches(code: i32, want: ExitExpect) -> bool {
    match want {
        ExitExpect::Code(c) => code == c,
        ExitExpect::Terminated => code == -15,
        ExitExpect::Killed => code == kill_code(),
        ExitExpect::Crashed => code != 0,
    }
}

/// (start, end) of every actor the filter selects, from its own `Started` to its `Finished`, or
/// to the `Exit` its joiner recorded when it could not finish (terminated, killed, crashed).
fn spans(events: &[Event], select: impl Fn(&Event) -> bool) -> Vec<(u64, u64)> {
    let mut spans: BTreeMap<&str, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for e in events.iter().filter(|e| select(e)) {
        let slot = spans.entry(&e.actor).or_default();
        match e.kind {
            EventKind::Started => slot.0 = Some(e.t_us),
            EventKind::Finished { .. } | EventKind::Exit { .. } if slot.1.is_none() => slot.1 = Some(e.t_us),
            _ => {}
        }
    }
    spans.values().filter_map(|&(s, e)| Some((s?, e?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(actor: &str, pid: u32, kind: EventKind) -> Event {
        Event { actor: actor.into(), pid, t_us: 0, pool: None, kind }
    }

    #[test]
    fn pids_become_actor_names_and_timings_vanish() {
        let events = vec![
            ev("writer", 20, EventKind::Print { text: format!("w {}", crate::events::marked("pid", "20")) }),
            ev(
                "main",
                10,
                EventKind::Print {
                    text: format!(
                        "m {} {}",
                        crate::events::marked("pid", "10"),
                        crate::events::marked("elapsed", "0.31")
                    ),
                },
            ),
            ev("main", 10, EventKind::Print { text: format!("child {}", crate::events::marked("pid", "20")) }),
            ev("main", 10, EventKind::Print { text: format!("?? {}", crate::events::marked("pid", "99")) }),
        ];
        let order = actors(&events);
        assert_eq!(order[0].0, "main", "main first whatever the file order");
        let labels = pid_labels(&events, &order);
        assert_eq!(normalize_text("x", &labels), "x");
        let texts: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Print { text } => Some(normalize_text(text, &labels)),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["w <pid:writer>", "m <pid:main> <elapsed>", "child <pid:writer>", "?? <pid:other>"]);
    }

    #[test]
    fn threads_sharing_a_pid_are_labelled_by_main() {
        let events = vec![ev("Thread-A", 5, EventKind::Started), ev("main", 5, EventKind::Started)];
        let labels = pid_labels(&events, &actors(&events));
        assert_eq!(labels[&5], "main");
    }

    #[test]
    fn natural_order_of_tasks() {
        let mut names = vec!["t-10", "t-2", "t-1"];
        names.sort_by_key(|n| natural(n));
        assert_eq!(names, ["t-1", "t-2", "t-10"]);
    }

    #[test]
    fn whereabouts_name_unfinished_actors_and_their_step() {
        let events = vec![
            ev("main", 1, EventKind::At { line: 3, verb: "join".into() }),
            ev("reader", 2, EventKind::At { line: 9, verb: "get".into() }),
            ev("writer", 3, EventKind::At { line: 5, verb: "put".into() }),
            ev("writer", 3, EventKind::Exit { code: 0 }),
        ];
        assert_eq!(whereabouts(&events), ["main was at line 3 (join)", "reader was at line 9 (get)"]);
    }
}
