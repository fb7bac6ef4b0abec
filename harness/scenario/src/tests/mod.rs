//! Parser tests: small inline scenarios, one edge each, with the exact message expected.

use std::path::Path;

use super::*;

fn parse(src: &str) -> Result<Scenario, Diagnostics> {
    parse_str(Path::new("t.toml"), src)
}

fn errors(src: &str) -> Vec<String> {
    match parse(src) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
    }
}

const GOOD: &str = r#"
title = "queue"
chapter = 5
timeout_ms = 5000

[resources]
q = "queue"
p = { kind = "pipe", a = "main", b = "child" }

[actors.main]
steps = [
  { print = "Parent {pid}" },
  { start = "child", as = "kid", args = { n = 3 } },
  { put = "q", value = "{pid}" },
  { join = "kid", timeout_ms = 100, expect = "timeout" },
  { terminate = "kid" },
]

[actors.child]
params = ["n"]
steps = [
  { repeat = 2, do = [ { print = "{n} {i}" } ] },
  { loop = [ { recv = "p.b", timeout_ms = 10 } ], until = "timeout" },
]

[expect]
exit = { kid = "terminated" }
"#;

#[test]
fn a_good_scenario_parses_into_the_model() {
    let s = parse(GOOD).expect("valid");
    assert_eq!((s.name.as_str(), s.chapter, s.timeout.as_millis()), ("t", Some(5), 5000));
    assert_eq!(s.actors[0].name, "main");
    assert_eq!(s.actors[1].params, ["n"]);
    assert!(
        matches!(&s.actors[0].steps[1].kind, StepKind::Start { actor, name, args, .. } if actor == "child" && name.source == "kid" && args.len() == 1)
    );
    assert_eq!(s.actors[0].steps[1].line, 13);
    assert_eq!(s.actors[0].steps[3].expect, Some(ErrorKind::Timeout));
    assert_eq!(s.expect.exit, [(NamePattern::literal("kid"), ExitExpect::Terminated)]);
}

#[test]
fn backends_follow_from_the_steps() {
    let s = parse(GOOD).expect("valid");
    let runs: Vec<(Backend, Applicability)> = applicable(&s, true);
    assert_eq!(
        runs.iter().map(|(b, _)| *b).collect::<Vec<_>>(),
        [Backend::Fork, Backend::Spawn],
        "terminate rules threads out"
    );
    let windows = applicable(&s, false);
    assert_eq!(windows[0].1, Applicability::SkippedOnThisOs("fork does not exist on this OS".into()));
    let all = applicability(&s, true);
    assert!(
        matches!(&all[0], (Backend::Thread, Applicability::NotApplicable(why)) if why.contains("cannot be done to a thread"))
    );
}

#[test]
fn syntax_errors_have_line_and_column() {
    assert_eq!(errors("[actors.main]\nsteps = [\n  { print = }\n]\n")[0].split(": ").next(), Some("t.toml:3:13"));
}

#[test]
fn unknown_step_suggests_a_verb_or_lists_them_all() {
    let e = errors("[actors.main]\nsteps = [ { prnt = \"x\" } ]\n");
    assert_eq!(e, ["t.toml:2:11: unknown step: found keys `prnt`; did you mean `print`?"]);
    let e = errors("[actors.main]\nsteps = [ { frobnicate = \"x\" } ]\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("t.toml:2:11: unknown step: found keys `frobnicate`; a step is one of `print`, `start`,"),
        "{}",
        e[0]
    );
    assert!(e[0].ends_with("`exit` or `crash`"), "{}", e[0]);
}

#[test]
fn two_verbs_in_one_step() {
    let e = errors("[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { put = \"q\", get = \"q\", value = 1 } ]\n");
    assert_eq!(e, ["t.toml:4:11: a step has one verb, found both `put` and `get`"]);
}

#[test]
fn unknown_actor_and_resource_name_the_known_ones() {
    let e = errors(
        "[resources]\nq = \"queue\"\nlock = \"lock\"\n[actors.main]\nsteps = [ { start = \"wrtier\" }, { put = \"qq\", value = 1 }, { acquire = \"q\" } ]\n[actors.writer]\nsteps = []\n",
    );
    assert_eq!(
        e,
        [
            "t.toml:5:21: unknown actor `wrtier`; did you mean `writer`?",
            "t.toml:5:41: unknown queue `qq`; did you mean `q`?",
            "t.toml:5:72: `q` is a queue, but `acquire` needs a lock, rlock, semaphore, bounded_semaphore or condition",
        ]
    );
}

#[test]
fn unknown_keys_are_errors_not_ignored() {
    let e = errors("titel = \"x\"\n[actors.main]\nsteps = [ { print = \"x\", timeout_ms = 5 } ]\n");
    assert_eq!(
        e,
        [
            "t.toml:1:1: unknown key `titel` in the scenario; did you mean `title`?",
            "t.toml:3:26: unknown key `timeout_ms` in a step; expected `print` or `expect`",
        ]
    );
}

#[test]
fn templates_are_checked_against_parameters() {
    let e = errors("[actors.main]\nsteps = [ { print = \"Hello {student}\" } ]\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "t.toml:2:28: unknown placeholder `{student}` in template \"Hello {student}\"; expected `pid`"
        ),
        "{}",
        e[0]
    );
    let e = errors("[actors.main]\nsteps = [ { print = \"oops {pid\" } ]\n");
    assert_eq!(e, ["t.toml:2:27: unclosed `{` (write `{{` for a brace) in template \"oops {pid\""]);
}

#[test]
fn missing_main_and_missing_args() {
    let e = errors("[actors.worker]\nsteps = []\n");
    assert_eq!(e, ["t.toml:1:2: a scenario needs `[actors.main]`, the actor the run starts with"]);
    let e = errors("[actors.main]\nsteps = [ { start = \"w\" } ]\n[actors.w]\nparams = [\"n\"]\nsteps = []\n");
    assert_eq!(e, ["t.toml:2:21: starting `w` needs `args` for `n`"]);
}

#[test]
fn expect_kind_must_fit_the_step() {
    let e = errors("[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { get = \"q\", expect = \"timeout\" } ]\n");
    assert_eq!(
        e,
        ["t.toml:4:11: `expect = \"timeout\"` on this `get` needs `timeout_ms`: without one it waits for ever"]
    );
}

#[test]
fn remote_queues_and_resources_are_checked() {
    let e = errors(
        "[resources]\nm = { kind = \"manager\", queues = [\"task\"], authkey = \"k\" }\npool = { kind = \"pool\" }\n[actors.main]\nsteps = [ { put = \"m/result\", value = 1 } ]\n",
    );
    assert_eq!(
        e,
        [
            "t.toml:3:8: resource `pool` needs `size`: the number of workers",
            "t.toml:5:19: manager `m` serves no queue `result`; it serves `task`",
        ]
    );
}

#[test]
fn several_problems_are_all_reported() {
    let e = errors("[resources]\nx = \"socket\"\n[actors.main]\nsteps = [ { sleep_ms = -1 }, { exit = 300 } ]\n");
    assert_eq!(
        e,
        [
            "t.toml:2:5: unknown resource kind `socket`; expected `queue`, `joinable_queue`, `pipe`, `lock`, `rlock`, \
             `semaphore`, `bounded_semaphore`, `event`, `condition`, `barrier`, `variable`, `local`, `pool` or `manager`",
            "t.toml:4:24: `sleep_ms` must be between 0 and 86400000, found -1",
            "t.toml:4:39: `exit` must be between 0 and 255, found 300",
        ]
    );
}

#[test]
fn max_concurrent_bounds_pools_or_the_started_actors() {
    let s = parse("[resources]\npool = { kind = \"pool\", size = 2 }\n[actors.main]\nsteps = []\n[expect]\nmax_concurrent = { pool = 2, actors = 3 }\n")
        .expect("valid");
    assert_eq!(s.expect.max_concurrent, [("pool".to_string(), 2), ("actors".to_string(), 3)]);
    let e = errors("[actors.main]\nsteps = []\n[expect]\nmax_distinct_pids = { actors = 1 }\n");
    assert_eq!(e, ["t.toml:4:23: unknown pool `actors`; pools defined: none"]);
}

mod faults;
mod hosts;
mod v2_expect;
mod v2_resources;
mod v2_steps;
