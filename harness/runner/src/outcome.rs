//! Judging a run: the verdict (what must hold) and the normalized trace (what the snapshot keeps).
//!
//! Normalization has one home, here: pids become names derived from actors (`<pid:main>`,
//! `<pid:writer>`, `<pid:pool>` for a pool's workers, whichever runs a task), timings become
//! `<elapsed>`, values the scenario declares nondeterministic become `<nondeterministic>`, each
//! actor's own order is kept, and actors are listed in a canonical order (main, then by name),
//! so that interleavings across actors do not show. Actors the scenario declares unordered
//! (`received_unordered`) share one section whose lines are sorted: which of them took which
//! value never shows.

use std::collections::{BTreeMap, HashMap, HashSet};

use procthread_scenario::{Backend, ExitExpect, MAIN, NamePattern, Scenario, VarExpect};
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

#[cfg(test)]
impl RunRecord {
    /// A run that ended normally with these events: what the judges' unit tests start from.
    pub(crate) fn clean(scenario: &str, backend: Backend, events: Vec<Event>) -> RunRecord {
        RunRecord {
            scenario: scenario.into(),
            backend,
            events,
            executor_code: Some(0),
            timed_out: false,
            leftovers: false,
            trace_over_limit: None,
            stderr_tail: String::new(),
            elapsed_ms: 1,
        }
    }
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

/// The unordered group (its pattern) an actor belongs to, if any.
fn group_of<'s>(scenario: &'s Scenario, actor: &str) -> Option<&'s NamePattern> {
    scenario.expect.received_unordered.iter().map(|(p, _)| p).find(|p| p.matches(actor))
}

fn pid_labels(scenario: &Scenario, events: &[Event], order: &[(String, Option<String>)]) -> HashMap<u32, String> {
    let mut labels = HashMap::new();
    for (actor, pool) in order {
        let label = match (pool, group_of(scenario, actor)) {
            (Some(pool), _) => pool.clone(),
            (None, Some(group)) => group.source.clone(),
            (None, None) => actor.clone(),
        };
        for e in events.iter().filter(|e| e.actor == *actor && !matches!(e.kind, EventKind::Exit { .. })) {
            labels.entry(e.pid).or_insert_with(|| label.clone());
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
            Some(("nondet", _)) => out.push_str("<nondeterministic>"),
            _ => out.push_str(part),
        }
    }
    out
}

/// One event as a line of the trace (`None` for events a trace does not show). An exit the
/// scenario expects as `killed` reads `killed`: its code is -9 on Unix and -15 on Windows.
fn line(scenario: &Scenario, e: &Event, labels: &HashMap<u32, String>) -> Option<String> {
    let value =
        |v: &serde_json::Value, nondet: bool| if nondet { "<nondeterministic>".to_string() } else { v.to_string() };
    let line = match &e.kind {
        EventKind::Print { text } => format!("print  {}", normalize_text(text, labels)),
        EventKind::Received { via, value: v, nondeterministic } => {
            format!("got    {via}: {}", value(v, *nondeterministic))
        }
        EventKind::Observed { via, value: v, nondeterministic } => {
            format!("saw    {via}: {}", value(v, *nondeterministic))
        }
        EventKind::Ran { argv, code } => format!("ran    {} -> exit {code}", argv.join(" ")),
        EventKind::Error { verb, kind, expected: true, .. } => {
            format!("error  {verb}: {} (expected)", kind.as_deref().unwrap_or("error"))
        }
        EventKind::Error { line, verb, message, .. } => format!("error  line {line} ({verb}): {message}"),
        EventKind::Exit { code } => {
            let killed = scenario.expect.exit.iter().find(|(p, _)| p.matches(&e.actor)).map(|(_, x)| *x)
                == Some(ExitExpect::Killed);
            if killed && *code == kill_code() { "exit   killed".to_string() } else { format!("exit   {code}") }
        }
        _ => return None,
    };
    // Continuation lines of multi-line output line up under the text.
    let indented = line.replace('\n', "\n       ");
    let lines: Vec<&str> = indented.lines().map(str::trim_end).collect();
    Some(lines.join("\n"))
}

/// The normalized trace of a run, with its verdict's checks: the text a snapshot holds.
pub fn normalize(scenario: &Scenario, backend: Backend, record: &RunRecord, verdict: &Verdict) -> String {
    let order = actors(&record.events);
    let labels = pid_labels(scenario, &record.events, &order);
    let mut out = format!("scenario: {} ({})\nfamily: {}\n", scenario.name, scenario.title, backend.family());
    let mut groups: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
    for (actor, pool) in &order {
        let lines: Vec<String> =
            record.events.iter().filter(|e| e.actor == *actor).filter_map(|e| line(scenario, e, &labels)).collect();
        if pool.is_none()
            && let Some(group) = group_of(scenario, actor)
        {
            let slot = groups.entry(group.source.as_str()).or_default();
            slot.0 += 1;
            slot.1.extend(lines);
            continue;
        }
        match pool {
            Some(p) => out.push_str(&format!("\n[{actor}] task on {p}\n")),
            None => out.push_str(&format!("\n[{actor}]\n")),
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        if actor == MAIN
            && let Some(code) = record.executor_code
        {
            out.push_str(&format!("exit   {code}\n"));
        }
    }
    for (pattern, (count, mut lines)) in groups {
        lines.sort();
        out.push_str(&format!("\n[{pattern}] {count} instance(s), unordered: their lines merged and sorted\n"));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
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
    last_steps(events)
        .into_iter()
        .map(|(a, at)| match at {
            Some((line, verb)) => format!("{a} was at line {line} ({verb})"),
            None => format!("{a} had started no step"),
        })
        .collect()
}

/// The actors that had not ended, each with the last step it entered (line, verb).
fn last_steps(events: &[Event]) -> Vec<(&str, Option<(usize, &str)>)> {
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
    last.into_iter().filter(|(a, _)| !ended.contains(a)).collect()
}

/// Checks a run against what its scenario says must hold.
pub fn judge(scenario: &Scenario, backend: Backend, record: &RunRecord) -> Verdict {
    judge_excusing(scenario, backend, record, &|_| false)
}

/// [`judge`], with the step errors `excused` accepts not counted as failures (the errors a
/// fault run's fault explains: `crate::faults::verdict`).
pub fn judge_excusing(
    scenario: &Scenario,
    backend: Backend,
    record: &RunRecord,
    excused: &dyn Fn(&Event) -> bool,
) -> Verdict {
    let mut v = Verdict::default();
    let events = &record.events;
    judge_end(scenario, record, &mut v);
    // An actor expected to end with a non-zero code (or `crashed`) fails a step by design.
    let fails_by_design = |actor: &str| {
        scenario
            .expect
            .exit
            .iter()
            .find(|(p, _)| p.matches(actor))
            .is_some_and(|(_, x)| matches!(x, ExitExpect::Crashed) || matches!(x, ExitExpect::Code(c) if *c != 0))
    };
    for e in events {
        if let EventKind::Error { line, verb, message, expected: false, .. } = &e.kind
            && !fails_by_design(&e.actor)
            && !excused(e)
        {
            v.failures.push(format!("actor `{}` failed at line {line} ({verb}): {message}", e.actor));
        }
    }
    judge_starts(events, &mut v);
    judge_exits(scenario, record, &mut v);
    judge_variables(scenario, backend, events, &mut v);
    judge_bounds(scenario, events, &mut v);
    judge_received(scenario, events, &mut v);
    v
}

/// How the run ended: in time with main's expected code, or hung as the scenario says it must.
fn judge_end(scenario: &Scenario, record: &RunRecord, v: &mut Verdict) {
    let events = &record.events;
    let main_expect =
        scenario.expect.exit.iter().find(|(p, _)| p.matches(MAIN)).map_or(ExitExpect::Code(0), |(_, e)| *e);
    if !scenario.expect.hang.is_empty() {
        judge_hang(scenario, record, v);
    } else if record.timed_out {
        let at = whereabouts(events);
        v.failures.push(format!(
            "timed out after {:?}; the whole process tree was killed; {}",
            scenario.timeout,
            at.join("; ")
        ));
    } else if let Some(code) = record.executor_code
        && !exit_matches(code, main_expect)
    {
        let entry = scenario.expect.exit.iter().find(|(p, _)| p.matches(MAIN)).map_or("", |(p, _)| p.source.as_str());
        let mut msg = format!(
            "{}the executor ended with {}, expected {main_expect}",
            at(scenario, "exit", entry),
            crate::os::describe_exit(code)
        );
        let at = whereabouts(events);
        if !at.is_empty() {
            msg.push_str(&format!("; {}", at.join("; ")));
        }
        if !record.stderr_tail.trim().is_empty() {
            msg.push_str(&format!("; stderr: {}", record.stderr_tail.trim()));
        }
        v.failures.push(msg);
    }
    if record.leftovers {
        v.failures.push("processes of the run were still alive after its executor ended (killed now)".into());
    }
    if let Some(why) = &record.trace_over_limit {
        v.failures.push(why.clone());
    }
}

/// A scenario that documents a hang: the run must time out, with every actor still running in
/// the step the scenario names for it.
fn judge_hang(scenario: &Scenario, record: &RunRecord, v: &mut Verdict) {
    if !record.timed_out {
        v.failures.push(format!("the run was expected to hang (time out after {:?}), but it ended", scenario.timeout));
        return;
    }
    let hung = last_steps(&record.events);
    let mut matched = vec![false; scenario.expect.hang.len()];
    for (actor, at_step) in &hung {
        let Some(i) = scenario.expect.hang.iter().position(|(p, _)| p.matches(actor)) else {
            let at = at_step.map_or("no step".to_string(), |(line, verb)| format!("line {line} ({verb})"));
            v.failures.push(format!("`{actor}` was still running at {at}, and `hang` does not name it"));
            continue;
        };
        matched[i] = true;
        let (pattern, want) = &scenario.expect.hang[i];
        let here = at(scenario, "hang", &pattern.source);
        match at_step {
            Some((_, verb)) if verb == want => {}
            Some((line, verb)) => {
                v.failures.push(format!("{here}`{actor}` hung at line {line} ({verb}), expected in `{want}`"))
            }
            None => v.failures.push(format!("{here}`{actor}` hung before its first step, expected in `{want}`")),
        }
    }
    for (i, (pattern, verb)) in scenario.expect.hang.iter().enumerate() {
        if matched[i] {
            v.checks.push(format!("hangs: {} in {verb}", pattern.source));
        } else {
            v.failures.push(format!(
                "{}`{}` was expected to hang in `{verb}`, but it was not running",
                at(scenario, "hang", &pattern.source),
                pattern.source
            ));
        }
    }
}

/// An instance name started twice merges two runs in one trace: a failure, whatever started it.
fn judge_starts(events: &[Event], v: &mut Verdict) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for e in events.iter().filter(|e| matches!(e.kind, EventKind::Started)) {
        *seen.entry(&e.actor).or_default() += 1;
    }
    let mut twice: Vec<&str> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(a, _)| a).collect();
    twice.sort();
    for a in twice {
        v.failures.push(format!("instance `{a}` was started more than once (an instance name is started once)"));
    }
}

fn judge_exits(scenario: &Scenario, record: &RunRecord, v: &mut Verdict) {
    let mut exits: HashMap<&str, i32> = HashMap::new();
    for e in &record.events {
        if let EventKind::Exit { code } = e.kind {
            exits.insert(&e.actor, code);
        }
    }
    if let Some(code) = record.executor_code {
        exits.insert(MAIN, code);
    }
    let want_for = |name: &str| scenario.expect.exit.iter().find(|(p, _)| p.matches(name));
    let mut names: Vec<&&str> = exits.keys().filter(|n| **n != MAIN).collect();
    names.sort();
    for name in names {
        let code = exits[*name];
        let want = want_for(name).map_or(ExitExpect::Code(0), |(_, e)| *e);
        if !exit_matches(code, want) && !record.timed_out {
            let here = want_for(name).map_or_else(String::new, |(p, _)| at(scenario, "exit", &p.source));
            v.failures
                .push(format!("{here}actor `{name}` ended with {}, expected {want}", crate::os::describe_exit(code)));
        }
    }
    for (pattern, want) in &scenario.expect.exit {
        let ended = exits.keys().filter(|n| pattern.matches(n)).count();
        match (pattern.as_literal(), ended) {
            (_, 0) => v.failures.push(format!(
                "{}actor `{}` was expected to end ({want}) but never did",
                at(scenario, "exit", &pattern.source),
                pattern.source
            )),
            (Some(_), _) => v.checks.push(format!("exit {}: {want}", pattern.source)),
            (None, n) => v.checks.push(format!("exit {}: {want} ({n} instances)", pattern.source)),
        }
    }
}

fn judge_variables(scenario: &Scenario, backend: Backend, events: &[Event], v: &mut Verdict) {
    for ve in &scenario.expect.variables {
        let want = ve.for_family(backend.uses_processes());
        let got = events.iter().rev().find_map(|e| match &e.kind {
            EventKind::Variable { name, value } if *name == ve.variable && e.actor == MAIN => Some(*value),
            _ => None,
        });
        let here = at(scenario, "variables", &ve.variable);
        match (want, got) {
            (_, None) => v.failures.push(format!("{here}variable `{}` was never reported by main", ve.variable)),
            (VarExpect::Exactly(n), Some(g)) if *n != g => {
                v.failures.push(format!("{here}variable `{}` is {g}, expected {n}", ve.variable))
            }
            (VarExpect::Exactly(n), Some(_)) => v.checks.push(format!("variable {} = {n}", ve.variable)),
            (VarExpect::Nondeterministic, Some(_)) => {
                v.checks.push(format!("variable {}: nondeterministic", ve.variable))
            }
        }
    }
}

fn judge_bounds(scenario: &Scenario, events: &[Event], v: &mut Verdict) {
    for (target, bound) in &scenario.expect.max_concurrent {
        let (spans, what) = if target == "actors" {
            (spans(events, |e| e.pool.is_none() && e.actor != MAIN), "started actors".to_string())
        } else {
            (spans(events, |e| e.pool.as_deref() == Some(target.as_str())), format!("tasks on pool `{target}`"))
        };
        let peak =
            spans.iter().map(|&(s, _)| spans.iter().filter(|&&(s2, e2)| s2 <= s && s < e2).count()).max().unwrap_or(0);
        let here = at(scenario, "max_concurrent", target);
        if spans.is_empty() {
            v.failures.push(format!("{here}none of the {what} ran"));
        } else if peak > *bound {
            v.failures.push(format!("{here}{peak} {what} ran at once, more than {bound}"));
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
            v.failures.push(format!(
                "{}tasks of pool `{pool}` ran in {} processes, more than {bound}",
                at(scenario, "max_distinct_pids", pool),
                pids.len()
            ));
        } else {
            v.checks.push(format!("at most {bound} distinct pids on {pool}: ok"));
        }
    }
}

fn received_by(events: &[Event], who: impl Fn(&str) -> bool) -> Vec<&serde_json::Value> {
    events
        .iter()
        .filter(|e| who(&e.actor))
        .filter_map(|e| match &e.kind {
            EventKind::Received { value, .. } => Some(value),
            _ => None,
        })
        .collect()
}

fn judge_received(scenario: &Scenario, events: &[Event], v: &mut Verdict) {
    let list = |values: &[&serde_json::Value]| values.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ");
    for (who, want) in &scenario.expect.received {
        let got = received_by(events, |a| a == who);
        if got.iter().copied().ne(want.iter()) {
            let want: Vec<&serde_json::Value> = want.iter().collect();
            let here = at(scenario, "received", who);
            v.failures.push(format!("{here}`{who}` received [{}], expected [{}]", list(&got), list(&want)));
        } else {
            v.checks.push(format!("{who} received the {} expected value(s) in order: ok", want.len()));
        }
    }
    for (pattern, want) in &scenario.expect.received_unordered {
        let got = received_by(events, |a| pattern.matches(a));
        // As multisets: each value as often as listed, whoever took it, in whatever order.
        let count = |values: &mut dyn Iterator<Item = &serde_json::Value>| {
            let mut c: BTreeMap<String, i64> = BTreeMap::new();
            values.for_each(|x| *c.entry(x.to_string()).or_default() += 1);
            c
        };
        let (got_c, want_c) = (count(&mut got.iter().copied()), count(&mut want.iter()));
        if got_c == want_c {
            v.checks.push(format!(
                "{} together received the {} expected value(s), each as often as listed, in any order: ok",
                pattern.source,
                want.len()
            ));
            continue;
        }
        let mut diff = Vec::new();
        for key in want_c.keys().chain(got_c.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (w, g) = (want_c.get(key).copied().unwrap_or(0), got_c.get(key).copied().unwrap_or(0));
            if w != g {
                diff.push(format!("{key}: {g} time(s), expected {w}"));
            }
        }
        let here = at(scenario, "received_unordered", &pattern.source);
        v.failures.push(format!("{here}`{}` together received {}", pattern.source, diff.join("; ")));
    }
}

/// `FILE:LINE:COL: ` of the `[expect]` entry a failure breaks, so that it points at its line;
/// nothing where the entry's place is not known.
fn at(scenario: &Scenario, key: &str, entry: &str) -> String {
    match scenario.expect.at(key, entry) {
        Some(a) => format!("{}:{}:{}: ", scenario.path.display(), a.line, a.column),
        None => String::new(),
    }
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

    fn parse(src: &str) -> Scenario {
        procthread_scenario::parse_str(std::path::Path::new("t.toml"), src).expect("a valid scenario")
    }

    fn scenario() -> Scenario {
        parse("[actors.main]\nsteps = []\n")
    }

    /// Consumers `c1`..`c3` declared unordered, as the scenarios of several consumers do.
    fn consumers() -> Scenario {
        parse(
            "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { repeat = 3, do = [ { start = \"c\", as = \"c{i}\" } ] } ]\n\
             [actors.c]\nsteps = [ { get = \"q\" } ]\n[expect]\nreceived_unordered = { \"c{i}\" = [1, 2, 2] }\n",
        )
    }

    fn record(events: Vec<Event>) -> RunRecord {
        RunRecord::clean("t", Backend::Thread, events)
    }

    fn got(actor: &str, value: i64) -> Event {
        ev(actor, 1, EventKind::Received { via: "get q".into(), value: value.into(), nondeterministic: false })
    }

    #[test]
    fn unordered_actors_share_one_sorted_section_whoever_took_what() {
        let s = consumers();
        let one = record(vec![got("c1", 2), got("c1", 1), got("c2", 2), ev("c3", 1, EventKind::Exit { code: 0 })]);
        let two = record(vec![got("c3", 1), got("c2", 2), got("c2", 2), ev("c1", 1, EventKind::Exit { code: 0 })]);
        let (v1, v2) = (judge(&s, Backend::Thread, &one), judge(&s, Backend::Thread, &two));
        assert!(v1.passed() && v2.passed(), "{:?} {:?}", v1.failures, v2.failures);
        let (t1, t2) = (normalize(&s, Backend::Thread, &one, &v1), normalize(&s, Backend::Thread, &two, &v2));
        assert_eq!(t1, t2);
        assert!(
            t1.ends_with(
                "[c{i}] 3 instance(s), unordered: their lines merged and sorted\nexit   0\ngot    get q: 1\n\
                 got    get q: 2\ngot    get q: 2\n\n[checks]\nc{i} together received the 3 expected value(s), each \
                 as often as listed, in any order: ok\n"
            ),
            "{t1}"
        );
        let short = record(vec![got("c1", 2), got("c2", 1), got("c3", 1)]);
        let v = judge(&s, Backend::Thread, &short);
        assert_eq!(
            v.failures,
            ["t.toml:8:24: `c{i}` together received 1: 2 time(s), expected 1; 2: 1 time(s), expected 2"]
        );
    }

    #[test]
    fn nondeterministic_values_never_reach_the_trace() {
        let s = scenario();
        let mark = crate::events::marked("nondet", "123");
        let events = vec![
            ev("main", 1, EventKind::Received { via: "read b".into(), value: 123.into(), nondeterministic: true }),
            ev("main", 1, EventKind::Observed { via: "qsize q".into(), value: 7.into(), nondeterministic: true }),
            ev(
                "main",
                1,
                EventKind::Observed { via: "is_alive w".into(), value: true.into(), nondeterministic: false },
            ),
            ev("main", 1, EventKind::Print { text: format!("balance = {mark}") }),
        ];
        let r = record(events);
        let t = normalize(&s, Backend::Thread, &r, &judge(&s, Backend::Thread, &r));
        assert!(t.contains("got    read b: <nondeterministic>\n"), "{t}");
        assert!(t.contains("saw    qsize q: <nondeterministic>\nsaw    is_alive w: true\n"), "{t}");
        assert!(t.contains("print  balance = <nondeterministic>\n"), "{t}");
        assert!(!t.contains("123"), "{t}");
    }

    #[test]
    fn a_documented_hang_must_hang_where_it_says() {
        let s = parse(
            "timeout_ms = 500\n[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { start = \"r\" }, { join = \"r\" } ]\n\
             [actors.r]\nsteps = [ { get = \"q\" } ]\n[expect]\nhang = { main = \"join\", r = \"get\" }\n",
        );
        let at = |a: &str, line, verb: &str| ev(a, 1, EventKind::At { line, verb: verb.into() });
        let mut hung = record(vec![at("main", 5, "join"), at("r", 7, "get")]);
        hung.timed_out = true;
        hung.executor_code = None;
        let v = judge(&s, Backend::Thread, &hung);
        assert!(v.passed(), "{:?}", v.failures);
        assert_eq!(v.checks, ["hangs: main in join", "hangs: r in get"]);
        let mut elsewhere = record(vec![at("main", 5, "join"), at("r", 7, "print")]);
        elsewhere.timed_out = true;
        let v = judge(&s, Backend::Thread, &elsewhere);
        assert_eq!(v.failures, ["t.toml:9:25: `r` hung at line 7 (print), expected in `get`"]);
        let v = judge(&s, Backend::Thread, &record(vec![]));
        assert_eq!(v.failures, ["the run was expected to hang (time out after 500ms), but it ended"]);
    }

    #[test]
    fn an_actor_expected_to_fail_may_fail_a_step() {
        let s = parse(
            "[actors.main]\nsteps = [ { start = \"w\" }, { start = \"x\" } ]\n[actors.w]\nsteps = []\n[actors.x]\nsteps = []\n\
             [expect]\nexit = { w = 1 }\n",
        );
        let error = |a: &str| {
            ev(
                a,
                1,
                EventKind::Error { line: 5, verb: "get".into(), kind: None, message: "boom".into(), expected: false },
            )
        };
        let r = record(vec![
            error("w"),
            ev("w", 1, EventKind::Exit { code: 1 }),
            error("x"),
            ev("x", 1, EventKind::Exit { code: 1 }),
        ]);
        let v = judge(&s, Backend::Thread, &r);
        assert_eq!(
            v.failures,
            ["actor `x` failed at line 5 (get): boom", "actor `x` ended with exit code 1, expected 0"]
        );
    }

    /// Each broken `[expect]` entry is named by FILE:LINE:COL of its key, written as a table or
    /// inline, so that a failure points at the line to read.
    #[test]
    fn a_failed_expectation_points_at_its_entry() {
        let s = parse(
            "[resources]\nbalance = \"variable\"\npool = { kind = \"pool\", size = 2 }\n\
             [actors.main]\nsteps = [ { start = \"w\" } ]\n[actors.w]\nsteps = []\n\
             [expect]\nexit = { main = 3 }\nreceived = { w = [1] }\n\
             [expect.variables]\n  balance = 0\n[expect.max_concurrent]\n  pool = 1\n",
        );
        let mut r = record(vec![ev("w", 1, EventKind::Exit { code: 0 })]);
        r.executor_code = Some(0);
        let v = judge(&s, Backend::Thread, &r);
        assert_eq!(
            v.failures,
            [
                "t.toml:9:10: the executor ended with exit code 0, expected 3",
                "t.toml:12:3: variable `balance` was never reported by main",
                "t.toml:14:3: none of the tasks on pool `pool` ran",
                "t.toml:10:14: `w` received [], expected [1]",
            ]
        );
        // Where the entry is not written (an actor expected to exit 0 by default), no place.
        let crashed = record(vec![ev("w", 1, EventKind::Exit { code: 4 })]);
        let v = judge(
            &parse("[actors.main]\nsteps = [ { start = \"w\" } ]\n[actors.w]\nsteps = []\n"),
            Backend::Thread,
            &crashed,
        );
        assert_eq!(v.failures, ["actor `w` ended with exit code 4, expected 0"]);
    }

    #[test]
    fn an_instance_started_twice_fails_the_run() {
        let s = scenario();
        let r = record(vec![ev("w", 1, EventKind::Started), ev("w", 2, EventKind::Started)]);
        let v = judge(&s, Backend::Thread, &r);
        assert_eq!(v.failures, ["instance `w` was started more than once (an instance name is started once)"]);
    }

    #[test]
    fn exit_patterns_cover_every_match_and_must_match_one() {
        let s = parse(
            "[actors.main]\nsteps = [ { repeat = 2, do = [ { start = \"c\", as = \"c{i}\" } ] } ]\n[actors.c]\nsteps = []\n\
             [expect]\nexit = { \"c{i}\" = \"killed\" }\n",
        );
        let kill = if cfg!(windows) { -15 } else { -9 };
        let r = record(vec![ev("c1", 1, EventKind::Exit { code: kill }), ev("c2", 1, EventKind::Exit { code: 0 })]);
        let v = judge(&s, Backend::Spawn, &r);
        assert_eq!(v.failures, ["t.toml:6:10: actor `c2` ended with exit code 0, expected killed"]);
        assert_eq!(v.checks, ["exit c{i}: killed (2 instances)"]);
        let v = judge(&s, Backend::Spawn, &record(vec![]));
        assert_eq!(v.failures, ["t.toml:6:10: actor `c{i}` was expected to end (killed) but never did"]);
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
        let labels = pid_labels(&scenario(), &events, &order);
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
        let labels = pid_labels(&scenario(), &events, &actors(&events));
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
