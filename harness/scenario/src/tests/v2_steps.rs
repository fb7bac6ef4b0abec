//! Steps of language v2, one edge each.

use super::{errors, parse};
use crate::*;

/// A scenario with every kind of resource, and `main`'s steps as given.
fn with_main(steps: &str) -> String {
    format!(
        r#"
[resources]
q = {{ kind = "queue", maxsize = 2 }}
jq = "joinable_queue"
p = {{ kind = "pipe", a = "main", b = "w" }}
lock = "lock"
rl = "rlock"
sem = {{ kind = "bounded_semaphore", value = 2 }}
ev = "event"
cond = "condition"
bar = {{ kind = "barrier", parties = 2 }}
pool = {{ kind = "pool", size = 2 }}

[actors.main]
params = []
steps = [
{steps}
]

[actors.w]
params = ["ms"]
steps = [ {{ sleep_ms = "{{ms}}" }} ]

[actors.sq]
steps = [ {{ return = "{{item*item}}" }} ]
"#
    )
}

fn main_steps(steps: &str) -> Vec<Step> {
    match parse(&with_main(steps)) {
        Ok(s) => s.actors[0].steps.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn main_errors(steps: &str) -> Vec<String> {
    // Line 17 of `with_main` is the first step's: report lines relative to it, for readability.
    errors(&with_main(steps))
        .into_iter()
        .map(|e| {
            let mut parts = e.splitn(4, ':');
            let (_, line, col, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
            let line: usize = line.and_then(|l| l.parse().ok()).unwrap_or(0);
            format!("step{}:{}:{}", line.saturating_sub(16), col.unwrap_or(""), rest.unwrap_or(""))
        })
        .collect()
}

#[test]
fn acquire_with_a_timeout_and_its_expected_timeout() {
    let s = main_steps(
        r#"{ acquire = "lock", timeout_ms = 0, expect = "timeout" }, { acquire = "sem" }, { acquire = "cond", timeout_ms = 5 }"#,
    );
    assert!(matches!(&s[0].kind, StepKind::Acquire { target, timeout: Some(Int::Fixed(0)) } if target == "lock"));
    assert_eq!(s[0].expect, Some(ErrorKind::Timeout));
    assert!(matches!(&s[1].kind, StepKind::Acquire { timeout: None, .. }));
}

#[test]
fn acquire_needs_something_lockable() {
    assert_eq!(
        main_errors(r#"{ acquire = "ev" }"#),
        ["step1:13: `ev` is an event, but `acquire` needs a lock, rlock, semaphore, bounded_semaphore or condition"]
    );
}

#[test]
fn release_errors_follow_the_primitive() {
    let s = main_steps(
        r#"{ release = "lock", expect = "not_locked" }, { release = "rl", expect = "not_owner" }, { release = "sem", expect = "too_many" }"#,
    );
    assert!(matches!(&s[2].kind, StepKind::Release { on: SyncKind::BoundedSemaphore, .. }));
    assert_eq!(
        main_errors(r#"{ release = "lock", expect = "not_owner" }"#),
        ["step1:1: `expect = \"not_owner\"`: this `release` never ends with it; it can end with `not_locked`"]
    );
}

#[test]
fn events_conditions_and_barriers() {
    let s = main_steps(
        r#"{ set = "ev" }, { clear = "ev" }, { is_set = "ev", equals = false }, { wait = "ev", timeout_ms = 10, expect = "timeout" },
           { acquire = "cond" }, { notify = "cond", n = 2 }, { notify_all = "cond" }, { wait = "cond", timeout_ms = 10 }, { release = "cond" },
           { wait = "bar", expect = "broken" }, { n_waiting = "bar" }, { broken = "bar", equals = true }, { abort = "bar" }, { reset = "bar" },
           { locked = "lock", equals = false }"#,
    );
    assert_eq!(s.len(), 15);
    assert!(matches!(&s[2].kind, StepKind::Sync { query: SyncQuery::IsSet, .. }));
    assert_eq!(s[2].equals, Some(ValueExpr::Bool(false)));
    assert!(matches!(&s[5].kind, StepKind::Notify { n: Some(Int::Fixed(2)), .. }));
    assert!(matches!(&s[9].kind, StepKind::Wait { on: SyncKind::Barrier, timeout: None, .. }));
}

#[test]
fn a_barrier_wait_breaks_rather_than_times_out() {
    assert_eq!(
        main_errors(r#"{ wait = "bar", timeout_ms = 10, expect = "timeout" }"#),
        ["step1:1: `expect = \"timeout\"`: this `wait` never ends with it; it can end with `broken`"]
    );
}

#[test]
fn questions_go_to_the_right_primitive() {
    assert_eq!(
        main_errors(r#"{ is_set = "lock" }, { n_waiting = "ev" }, { locked = "rl" }"#),
        [
            "step1:12: `lock` is a lock, but `is_set` needs an event",
            "step1:36: `ev` is an event, but `n_waiting` needs a barrier",
            "step1:55: `rl` is an rlock, but `locked` needs a lock",
        ]
    );
}

#[test]
fn queue_put_full_sizes_and_task_done() {
    let s = main_steps(
        r#"{ put = "q", value = 1, timeout_ms = 0, expect = "full" }, { qsize = "q", equals = 1 }, { empty = "q" }, { full = "q" },
           { put = "jq", value = "{none}" }, { get = "jq" }, { task_done = "jq" }, { join = "jq" }, { close = "q" },
           { put = "q", value = 2, expect = "closed" }"#,
    );
    assert!(matches!(&s[0].kind, StepKind::Put { timeout: Some(Int::Fixed(0)), .. }));
    assert!(matches!(&s[1].kind, StepKind::Queue { query: QueueQuery::Qsize, .. }));
    assert!(matches!(&s[4].kind, StepKind::Put { value: ValueExpr::Null, .. }));
    assert!(matches!(&s[7].kind, StepKind::Join { target: JoinTarget::Queue(q), .. } if q == "jq"));
    assert!(matches!(&s[8].kind, StepKind::Close(CloseTarget::Queue(q)) if q == "q"));
}

#[test]
fn a_full_queue_needs_a_timeout_to_say_so() {
    assert_eq!(
        main_errors(r#"{ put = "q", value = 1, expect = "full" }"#),
        ["step1:1: `expect = \"full\"` on this `put` needs `timeout_ms`: without one it waits for ever"]
    );
}

#[test]
fn only_a_joinable_queue_counts_tasks() {
    assert_eq!(
        main_errors(r#"{ task_done = "q" }, { join = "q" }, { join = "pool", timeout_ms = 5 }"#),
        [
            "step1:15: `q` is a queue, but `task_done` needs a joinable_queue",
            "step1:31: `q` is a queue: only a joinable_queue can be joined (it counts `task_done`)",
            "step1:47: `timeout_ms` applies to joining an actor instance; a pool or a joinable queue is joined until everything is done (as in CPython)",
        ]
    );
}

#[test]
fn a_pipe_end_is_not_a_queue() {
    assert_eq!(
        main_errors(r#"{ put = "p.a", value = 1 }"#),
        [
            "step1:9: unknown queue `p.a`; queues defined: `q` or `jq` (`p.a` is an end of pipe `p`: pipes take `send`, `recv` and `close`)"
        ]
    );
}

#[test]
fn instances_by_template_and_their_questions() {
    let s = main_steps(
        r#"{ repeat = 3, do = [ { start = "w", as = "w{i}", args = { ms = "{i}" } } ] },
           { is_alive = "w1", equals = true }, { join = "w2", timeout_ms = 100 },
           { repeat = 3, do = [ { join = "w{i}" }, { exitcode = "w{i}", equals = 0 } ] }"#,
    );
    assert!(
        matches!(&s[1].kind, StepKind::Instance { query: InstanceQuery::IsAlive, target } if target.source == "w1")
    );
    let StepKind::Repeat { body, .. } = &s[3].kind else { panic!("repeat") };
    assert!(matches!(&body[0].kind, StepKind::Join { target: JoinTarget::Instance(t), .. } if t.source == "w{i}"));
}

#[test]
fn a_defined_but_never_started_instance_is_named_as_such() {
    assert_eq!(
        main_errors(r#"{ is_alive = "w" }"#),
        [
            "step1:14: `w` is an actor definition, but no step starts an instance named `w`: start one first (`{ start = \"w\" }`), or name the instance given by `as`"
        ]
    );
}

#[test]
fn an_instance_started_twice_is_refused_where_it_shows() {
    assert_eq!(
        main_errors(r#"{ start = "w", args = { ms = 1 } }, { start = "w", args = { ms = 2 } }"#),
        [
            "step1:37: instance `w` is already started at line 17: an instance starts once (CPython: a process or thread can be started only once); give this one its own name with `as`"
        ]
    );
    assert_eq!(
        main_errors(r#"{ repeat = 2, do = [ { start = "w", as = "x", args = { ms = 1 } } ] }"#),
        [
            "step1:42: instance `x` would be started 2 times (this step is inside a `repeat`, `for_each` or `imap`): an instance starts once; name each with a template, e.g. `as = \"x{i}\"`"
        ]
    );
    // Once is fine, and so is a templated name in a loop.
    main_steps(
        r#"{ repeat = 1, do = [ { start = "w", as = "x", args = { ms = 1 } } ] }, { for_each = [1, 2], do = [ { start = "w", as = "y{item}", args = { ms = 1 } } ] }"#,
    );
}

#[test]
fn numbers_from_parameters() {
    let src = "[actors.main]\nsteps = [ { start = \"w\", args = { ms = 5, code = 3, n = 2 } } ]\n[actors.w]\nparams = [\"ms\", \"code\", \"n\"]\nsteps = [ { repeat = \"{n}\", do = [ { sleep_ms = \"{ms}\" } ] }, { exit = \"{code}\" } ]\n";
    let s = parse(src).expect("valid");
    let StepKind::Repeat { times: Int::Template { template, max, .. }, .. } = &s.actors[1].steps[0].kind else {
        panic!("a templated repeat")
    };
    assert_eq!((template.source.as_str(), *max), ("{n}", 100_000_000));
    let e = errors("[actors.main]\nsteps = [ { sleep_ms = \"fast\" }, { exit = \"{code}\" } ]\n");
    assert_eq!(e.len(), 2);
    assert_eq!(e[0], "t.toml:2:24: `sleep_ms` must be an integer or a template such as \"{n}\", found \"fast\"");
    assert!(e[1].starts_with("t.toml:2:44: unknown placeholder `{code}`"), "{}", e[1]);
}

#[test]
fn pools_submit_map_imap_and_results() {
    let s = main_steps(
        r#"{ submit = "pool", actor = "sq", items = [1, 2], as = "sq{item}" }, { result = "sq2", timeout_ms = 100, equals = 4 },
           { map = "pool", actor = "sq", items = [3], equals = [9] }, { imap = "pool", actor = "sq", items = [4], do = [ { print = "{value}" } ] },
           { result = "sq-1", expect = "worker_died" }, { close = "pool" }, { join = "pool" }, { terminate = "pool" }"#,
    );
    assert!(matches!(&s[0].kind, StepKind::Submit(Tasks { name: Some(n), .. }) if n.source == "sq{item}"));
    assert!(matches!(&s[2].kind, StepKind::Map { .. }));
    assert!(matches!(&s[3].kind, StepKind::Imap { body, .. } if body.len() == 1));
    assert!(matches!(&s[7].kind, StepKind::Terminate(StopTarget::Pool(p)) if p == "pool"));
}

#[test]
fn a_result_names_a_task() {
    assert_eq!(
        main_errors(r#"{ submit = "pool", actor = "sq", items = [1] }, { result = "square-0" }"#),
        [
            "step1:60: no pool task is named `square-0`; tasks of this scenario are named `sq-{n}` (`{n}` counts from 0 per pool)"
        ]
    );
}

#[test]
fn return_and_crash_by_kill() {
    let s = parse("[actors.main]\nsteps = [ { return = { a = 1, b = [\"{none}\"] } }, { crash = \"kill\" } ]\n")
        .expect("valid");
    let StepKind::Return(ValueExpr::Map(entries)) = &s.actors[0].steps[0].kind else { panic!("a dict") };
    assert_eq!(entries[0], ("a".to_string(), ValueExpr::Int(1)));
    assert_eq!(entries[1], ("b".to_string(), ValueExpr::List(vec![ValueExpr::Null])));
    assert!(matches!(s.actors[0].steps[1].kind, StepKind::Crash(Crash::Kill)));
}

#[test]
fn equals_and_nondeterministic_only_where_a_value_is_set() {
    let s = main_steps(r#"{ get = "q", equals = "{none}", nondeterministic = true }"#);
    assert_eq!((s[0].equals.clone(), s[0].nondeterministic), (Some(ValueExpr::Null), true));
    assert_eq!(
        main_errors(
            r#"{ print = "x", equals = 1 }, { set = "ev", nondeterministic = true }, { get = "q", nondeterministic = "yes" }"#
        ),
        [
            "step1:25: `equals` applies to a step that sets {value}; `print` does not",
            "step1:63: `nondeterministic` applies to a step that sets {value}; `set` does not",
            "step1:103: `nondeterministic` must be true or false, found a string",
        ]
    );
}

#[test]
fn a_loop_must_be_able_to_end_the_way_it_says() {
    assert_eq!(
        main_errors(r#"{ loop = [ { get = "q", timeout_ms = 5 } ], until = "eof" }"#),
        ["step1:1: this loop can never end on `eof`: none of its steps can end with it"]
    );
}

#[test]
fn dates_are_not_values() {
    assert_eq!(
        main_errors(r#"{ put = "q", value = 1979-05-27 }"#),
        [
            "step1:22: a value is a string, number, boolean, array or table (a dict), not a date-time; write `\"{none}\"` for None"
        ]
    );
}

#[test]
fn a_loop_ends_on_a_sentinel_value() {
    let s = main_steps(r#"{ loop = [ { get = "q" }, { print = "{value}" } ], until_value = "{none}" }"#);
    assert!(
        matches!(&s[0].kind, StepKind::Loop { until: None, until_value: Some(ValueExpr::Null), body } if body.len() == 2)
    );
    assert_eq!(
        main_errors(r#"{ loop = [ { print = "x" } ], until_value = 0 }"#),
        ["step1:1: this loop can never see its `until_value`: none of its steps sets {value}"]
    );
}

#[test]
fn numbers_without_a_json_form_are_refused() {
    let e = main_errors(
        r#"{ put = "q", value = nan }, { put = "q", value = [-inf] }, { put = "q", value = 99999999999999999999 }"#,
    );
    let why =
        "this number has no JSON form: a value's integers fit in 64 bits and its floats are finite (no nan or inf)";
    assert_eq!(e, [format!("step1:22: {why}"), format!("step1:51: {why}"), format!("step1:81: {why}")]);
}
