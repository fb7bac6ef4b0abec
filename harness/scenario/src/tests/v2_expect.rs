//! `[expect]` in language v2: patterns, tasks, unordered values, hangs, literal values.

use super::parse;
use crate::*;

const ACTORS: &str = r#"
[resources]
q = "queue"
pool = { kind = "pool", size = 2 }

[actors.main]
steps = [
  { repeat = 3, do = [ { start = "c", as = "c{i}" } ] },
  { start = "c", as = "solo" },
  { submit = "pool", actor = "t", items = [1, 2] },
]

[actors.c]
steps = [ { get = "q", timeout_ms = 10, expect = "timeout" } ]

[actors.t]
steps = []
"#;

fn expect(table: &str) -> Result<Expectations, Vec<String>> {
    match parse(&format!("{ACTORS}\n[expect]\n{table}\n")) {
        Ok(s) => Ok(s.expect),
        Err(d) => Err(d.0.iter().map(ToString::to_string).collect()),
    }
}

#[test]
fn exit_by_name_pattern_and_task() {
    let e = expect(r#"exit = { "c{i}" = "killed", solo = 0, "t-1" = "crashed", c2 = 3 }"#).expect("valid");
    let keys: Vec<&str> = e.exit.iter().map(|(p, _)| p.source.as_str()).collect();
    assert_eq!(keys, ["c{i}", "solo", "t-1", "c2"]);
    assert!(e.exit[0].0.matches("c10") && !e.exit[0].0.matches("solo"));
    let err = expect(r#"exit = { ghost = 0 }"#).expect_err("unknown");
    assert_eq!(
        err,
        ["t.toml:20:10: unknown actor instance `ghost`; instances started in this scenario: `main` or `solo`"]
    );
}

#[test]
fn received_is_per_instance_and_unordered_for_several() {
    let e = expect(r#"received_unordered = { "c{i}" = [1, 2, "{none}", { k = "v" }] }"#).expect("valid");
    assert_eq!(
        e.received_unordered[0].1,
        [serde_json::json!(1), serde_json::json!(2), serde_json::Value::Null, serde_json::json!({"k": "v"})]
    );
    let err = expect(r#"received = { "c{i}" = [1] }"#).expect_err("a pattern");
    assert_eq!(
        err,
        [
            "t.toml:20:14: `received` is one instance's values in order; for several instances taken together write `received_unordered = { \"c{i}\" = [...] }`"
        ]
    );
}

#[test]
fn expected_values_are_literal() {
    let err = expect(r#"received = { solo = ["{item}", "{{braces}}"] }"#).expect_err("a placeholder");
    assert_eq!(
        err,
        [
            "t.toml:20:22: an expected value is literal: \"{item}\" has a placeholder (only `{none}` alone, for None, is allowed; write `{{` and `}}` for braces)"
        ]
    );
    let e = expect(r#"received = { solo = ["{{braces}}"] }"#).expect("valid");
    assert_eq!(e.received[0].1, [serde_json::json!("{braces}")]);
}

#[test]
fn hang_names_the_step_of_each_actor() {
    let e = expect(r#"hang = { main = "join", "c{i}" = "get" }"#).expect("valid");
    assert_eq!(e.hang.len(), 2);
    assert_eq!(e.hang[1].1, "get");
    let err = expect(r#"hang = { main = "waiting", solo = "sleeping" }"#).expect_err("not verbs");
    assert_eq!(err[0], "t.toml:20:17: unknown step `waiting`; did you mean `n_waiting`?");
    assert!(err[1].starts_with("t.toml:20:35: unknown step `sleeping`; expected `print`,"), "{}", err[1]);
}

#[test]
fn a_sibling_join_keeps_a_scenario_to_threads() {
    let s = parse(
        "[actors.main]\nsteps = [ { start = \"a\" }, { start = \"b\" }, { join = \"b\" } ]\n[actors.a]\nsteps = [ { join = \"b\" } ]\n[actors.b]\nsteps = []\n",
    )
    .expect("valid");
    let runs: Vec<Backend> = applicable(&s, true).into_iter().map(|(b, _)| b).collect();
    assert_eq!(runs, [Backend::Thread]);
    let why = applicability(&s, true).into_iter().find(|(b, _)| *b == Backend::Spawn).map(|(_, a)| a);
    assert_eq!(
        why,
        Some(Applicability::NotApplicable(
            "`a` joins or asks about `b`, which it did not start: a process can do that only to its own children (threads can)".into()
        ))
    );
}

#[test]
fn each_entry_keeps_where_it_is_written() {
    let e = expect("received = { solo = [1] }\nexit.\"c{i}\" = 0\n[expect.max_concurrent]\n  pool = 1").expect("valid");
    // `[expect]` is line 19 (after ACTORS and a blank line).
    let at = |key: &str, entry: &str| e.at(key, entry).map(|a| (a.line, a.column));
    assert_eq!(at("received", "solo"), Some((20, 14)));
    assert_eq!(at("exit", "c{i}"), Some((21, 6)));
    assert_eq!(at("max_concurrent", "pool"), Some((23, 3)));
    assert_eq!(at("received", "c0"), None);
}
