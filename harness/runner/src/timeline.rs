//! A run as a timeline: its events in Chrome's Trace Event Format (`harness show --trace FILE`),
//! which chrome://tracing and Perfetto (ui.perfetto.dev) open.
//!
//! Each actor is a row (a thread `tid` of its own, under the process `pid` it ran in, so that
//! actors sharing a process are grouped); each step is a span from the event that entered it
//! (`at`) to the actor's next step or its end; prints, values received, subprocesses, errors and
//! exits are instant events on the row. Times are microseconds from the run's first event.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::events::{self, Event, EventKind};

/// What the timeline is of (its title).
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub scenario: &'a str,
    pub backend: &'a str,
    pub implementation: &'a str,
}

/// The Trace Event Format document (a JSON object with `traceEvents`).
pub fn chrome_trace(run: Run<'_>, events: &[Event]) -> Value {
    let origin = events.iter().map(|e| e.t_us).min().unwrap_or(0);
    let end = events.iter().map(|e| e.t_us).max().unwrap_or(0);
    let ts = |t: u64| t.saturating_sub(origin);

    // Rows: main first, then actors in the order they first appear.
    let mut actors: Vec<&str> = Vec::new();
    for e in events {
        if !actors.contains(&e.actor.as_str()) {
            actors.push(&e.actor);
        }
    }
    actors.sort_by_key(|a| *a != procthread_scenario::MAIN);
    let tid: HashMap<&str, usize> = actors.iter().enumerate().map(|(i, a)| (*a, i + 1)).collect();
    // An actor's own process: where its events (other than the exit its joiner records) came from.
    let pid_of = |actor: &str| {
        let mine = events.iter().filter(|e| e.actor == actor);
        mine.clone().find(|e| !matches!(e.kind, EventKind::Exit { .. })).or(mine.clone().next()).map_or(0, |e| e.pid)
    };
    let main_pid = pid_of(procthread_scenario::MAIN);

    let mut out = Vec::new();
    let mut pids_named = Vec::new();
    for actor in &actors {
        let pid = pid_of(actor);
        let row = tid[actor];
        if !pids_named.contains(&pid) {
            pids_named.push(pid);
            let name = if pid == main_pid { format!("executor (pid {pid})") } else { format!("pid {pid}") };
            out.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}));
        }
        let pool = events.iter().find(|e| e.actor == *actor).and_then(|e| e.pool.as_deref());
        let name = match pool {
            Some(p) => format!("{actor} (task on {p})"),
            None => actor.to_string(),
        };
        out.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": row, "args": {"name": name}}));
        out.push(json!({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": row, "args": {"sort_index": row}}));

        let mine: Vec<&Event> = events.iter().filter(|e| e.actor == *actor).collect();
        for (i, e) in mine.iter().enumerate() {
            let t = ts(e.t_us);
            let instant = |name: String, args: Value| json!({"ph": "i", "s": "t", "name": name, "cat": "event", "pid": pid, "tid": row, "ts": t, "args": args});
            let item = match &e.kind {
                EventKind::At { line, verb } => {
                    // Until the actor's next step or its end; else until the run's last event.
                    let until = mine[i + 1..]
                        .iter()
                        .find(|n| {
                            matches!(n.kind, EventKind::At { .. } | EventKind::Finished { .. } | EventKind::Exit { .. })
                        })
                        .map_or(end, |n| n.t_us);
                    json!({
                        "ph": "X", "name": verb, "cat": "step", "pid": pid, "tid": row, "ts": t,
                        "dur": until.saturating_sub(e.t_us), "args": {"line": line}
                    })
                }
                EventKind::Started => instant("started".into(), json!({})),
                EventKind::Finished { code } => instant("finished".into(), json!({"code": code})),
                EventKind::Exit { code } => instant(format!("exit {code}"), json!({"code": code})),
                EventKind::Print { text } => instant("print".into(), json!({"text": events::plain(text)})),
                EventKind::Received { via, value, .. } => {
                    instant("received".into(), json!({"via": via, "value": value}))
                }
                EventKind::Observed { via, value, .. } => {
                    instant("observed".into(), json!({"via": via, "value": value}))
                }
                EventKind::Ran { argv, code } => instant("ran".into(), json!({"argv": argv, "code": code})),
                EventKind::Error { line, verb, kind, message, expected } => instant(
                    format!("error in {verb}"),
                    json!({"line": line, "kind": kind, "message": message, "expected": expected}),
                ),
                EventKind::Variable { name, value } => instant(format!("variable {name}"), json!({"value": value})),
                EventKind::Fault { at, action, sent } => {
                    instant(format!("fault: {action}"), json!({"at": at, "sent": sent}))
                }
            };
            out.push(item);
        }
    }
    json!({
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": {
            "scenario": run.scenario,
            "backend": run.backend,
            "implementation": run.implementation,
            "origin_unix_us": origin,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(actor: &str, pid: u32, t_us: u64, kind: EventKind) -> Event {
        Event { actor: actor.into(), pid, t_us, pool: None, kind }
    }

    #[test]
    fn actors_are_rows_and_steps_are_spans() {
        let events = vec![
            ev("main", 10, 1000, EventKind::Started),
            ev("main", 10, 1001, EventKind::At { line: 3, verb: "start".into() }),
            ev("writer", 20, 1005, EventKind::Started),
            ev("main", 10, 1010, EventKind::At { line: 4, verb: "get".into() }),
            ev("writer", 20, 1011, EventKind::At { line: 9, verb: "put".into() }),
            ev("writer", 20, 1020, EventKind::Finished { code: 0 }),
            ev(
                "main",
                10,
                1030,
                EventKind::Received { via: "get q".into(), value: json!("A"), nondeterministic: false },
            ),
            ev("writer", 10, 1040, EventKind::Exit { code: 0 }),
            ev("main", 10, 1050, EventKind::Print { text: format!("pid {}", events::marked("pid", "20")) }),
        ];
        let doc = chrome_trace(Run { scenario: "q", backend: "spawn", implementation: "reference" }, &events);
        let all = doc["traceEvents"].as_array().expect("events");
        let find = |ph: &str, name: &str| {
            all.iter().filter(|e| e["ph"] == ph && e["name"] == name).cloned().collect::<Vec<Value>>()
        };
        // Rows: main is tid 1 in the executor's process; writer tid 2 in its own, even for the
        // exit that main recorded.
        let threads = find("M", "thread_name");
        assert_eq!(threads.len(), 2);
        assert_eq!((threads[0]["pid"].as_u64(), threads[0]["tid"].as_u64()), (Some(10), Some(1)));
        assert_eq!((threads[1]["pid"].as_u64(), threads[1]["tid"].as_u64()), (Some(20), Some(2)));
        assert_eq!(find("M", "process_name")[0]["args"]["name"], "executor (pid 10)");
        // Spans: main's `start` until its `get`, its `get` until the run's end; writer's `put`
        // until it finished.
        let start = &find("X", "start")[0];
        assert_eq!((start["ts"].as_u64(), start["dur"].as_u64()), (Some(1), Some(9)));
        let get = &find("X", "get")[0];
        assert_eq!((get["ts"].as_u64(), get["dur"].as_u64()), (Some(10), Some(40)));
        let put = &find("X", "put")[0];
        assert_eq!((put["pid"].as_u64(), put["dur"].as_u64()), (Some(20), Some(9)));
        let exit = &find("i", "exit 0")[0];
        assert_eq!((exit["pid"].as_u64(), exit["tid"].as_u64()), (Some(20), Some(2)));
        assert_eq!(find("i", "received")[0]["args"], json!({"via": "get q", "value": "A"}));
        assert_eq!(find("i", "print")[0]["args"]["text"], "pid 20");
        assert!(serde_json::to_string(&doc).is_ok());
    }
}
