//! `[faults]`: what a fault run may do and what must survive it.

use super::parse;
use crate::*;

const BASE: &str = r#"
[resources]
q = "queue"
pool = { kind = "pool", size = 2 }

[actors.main]
steps = [
  { repeat = 2, do = [ { start = "p", as = "p{i}" } ] },
  { start = "c" },
  { submit = "pool", actor = "t", items = [1, 2] },
]

[actors.p]
steps = [ { put = "q", value = "{i}" } ]

[actors.c]
steps = [ { get = "q" } ]

[actors.t]
steps = []

[expect]
received = { c = [1] }
"#;

fn faults(table: &str) -> Result<Option<FaultSpec>, Vec<String>> {
    match parse(&format!("{BASE}\n[faults]\n{table}\n")) {
        Ok(s) => Ok(s.faults),
        Err(d) => Err(d.0.iter().map(ToString::to_string).collect()),
    }
}

#[test]
fn a_faults_table_with_defaults() {
    let f = faults(
        r#"targets = ["p{i}", "c", "t-0"]
survives = ["no_duplicates", "queue_usable", "pool_goes_on"]"#,
    )
    .expect("valid")
    .expect("present");
    let targets: Vec<&str> = f.targets.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(targets, ["p{i}", "c", "t-0"]);
    assert_eq!(f.actions, FaultAction::ALL);
    assert_eq!(f.points, PointFamily::ALL);
    assert_eq!(f.delay_ms, DEFAULT_DELAY_MS);
    assert_eq!(f.survives, [Invariant::NoDuplicates, Invariant::QueueUsable, Invariant::PoolGoesOn]);
    assert!(f.tolerate.is_empty());
    assert!(parse(BASE).expect("valid").faults.is_none(), "no table: never run with faults");
}

#[test]
fn every_setting_is_read() {
    let f = faults(
        r#"targets = ["c"]
actions = ["delay"]
points = ["queue", "step"]
delay_ms = [5, 10]
survives = ["no_torn", "at_most_one_lost"]
tolerate = ["timeout", "worker_died"]"#,
    )
    .expect("valid")
    .expect("present");
    assert_eq!(f.actions, [FaultAction::Delay]);
    assert_eq!(f.points, [PointFamily::Queue, PointFamily::Step]);
    assert_eq!(f.delay_ms, (5, 10));
    assert_eq!(f.tolerate, [ErrorKind::Timeout, ErrorKind::WorkerDied]);
    assert_eq!(
        faults("targets = [\"c\"]\ndelay_ms = 7\nsurvives = [\"no_torn\"]").expect("valid").map(|f| f.delay_ms),
        Some((7, 7))
    );
}

#[test]
fn mistakes_are_located_and_named() {
    let cases: [(&str, &str); 9] = [
        (
            "survives = [\"no_torn\"]",
            "t.toml:25:1: `[faults]` needs `targets`: the instances (or patterns) a fault may hit",
        ),
        (
            "targets = [\"main\"]\nsurvives = []",
            "t.toml:26:12: `main` is the run itself: a fault there leaves nothing to judge; name the actors it starts",
        ),
        (
            "targets = [\"ghost\"]\nsurvives = [\"no_torn\"]",
            "t.toml:26:12: unknown actor instance `ghost`; instances started in this scenario: `main` or `c`",
        ),
        ("targets = [\"c\"]", "t.toml:25:1: `[faults]` needs `survives`: what must hold after a fault"),
        (
            "targets = [\"c\"]\nsurvives = [\"no_dupes\"]",
            "t.toml:27:13: unknown `no_dupes` in `survives`; expected `no_duplicates`, `no_torn`, `at_most_one_lost`, \
             `queue_usable` or `pool_goes_on`",
        ),
        (
            "targets = [\"c\"]\nactions = [\"kill\", \"kill\"]\nsurvives = [\"no_torn\"]",
            "t.toml:27:20: `kill` is listed twice in `actions`",
        ),
        (
            "targets = [\"c\"]\ndelay_ms = [9, 3]\nsurvives = [\"no_torn\"]",
            "t.toml:27:12: `delay_ms`: 9 is more than 3; write `[LOW, HIGH]`",
        ),
        (
            "targets = [\"c\"]\nseeds = 3\nsurvives = [\"no_torn\"]",
            "t.toml:27:1: unknown key `seeds` in `faults`; expected `targets`, `actions`, `points`, `delay_ms`, \
             `survives` or `tolerate`",
        ),
        (
            "targets = [\"c\"]\ntolerate = [\"eof\", \"oops\"]\nsurvives = [\"no_torn\"]",
            "t.toml:27:20: unknown `oops` in `tolerate`; expected `eof`, `timeout`, `auth_refused`, `full`, `closed`, \
             `broken`, `not_locked`, `not_owner`, `too_many`, `already_started`, `not_started`, `self_join`, \
             `not_child`, `task_failed`, `worker_died` or `lost`",
        ),
    ];
    for (table, want) in cases {
        let got = faults(table).expect_err(table);
        assert!(got.iter().any(|g| g == want), "{table}:\n{got:#?}");
    }
}

#[test]
fn an_invariant_needs_what_it_compares_with() {
    let src = "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { start = \"c\" } ]\n[actors.c]\nsteps = []\n\
               [faults]\ntargets = [\"c\"]\nsurvives = [\"no_duplicates\", \"pool_goes_on\"]\n";
    let got: Vec<String> = parse(src).expect_err("invalid").0.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "t.toml:9:12: `no_duplicates` needs the values it compares with: `[expect]` needs `received` or `received_unordered`",
            "t.toml:9:12: `pool_goes_on` needs a pool: this scenario defines none",
        ]
    );
    let hang = "timeout_ms = 100\n[actors.main]\nsteps = [ { start = \"c\" }, { join = \"c\" } ]\n[actors.c]\nsteps = [ { sleep_ms = 1000 } ]\n\
                [expect]\nhang = { main = \"join\", c = \"sleep_ms\" }\n[faults]\ntargets = [\"c\"]\nsurvives = []\n";
    let got: Vec<String> = parse(hang).expect_err("invalid").0.iter().map(ToString::to_string).collect();
    assert!(
        got.iter()
            .any(|g| g.ends_with("a scenario whose run must hang (`[expect] hang`) cannot be judged after a fault")),
        "{got:?}"
    );
}

#[test]
fn the_table_travels_to_child_processes() {
    let s = parse(&format!("{BASE}\n[faults]\ntargets = [\"c\"]\nsurvives = [\"no_torn\"]\n")).expect("valid");
    let json = serde_json::to_string(&s).expect("json");
    let back: Scenario = serde_json::from_str(&json).expect("back");
    assert_eq!(back.faults, s.faults);
}
