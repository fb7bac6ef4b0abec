//! A fault plan: from a seed, one deterministic choice of the instance hit, the point where, and
//! what happens there.
//!
//! The draw depends on the seed and on nothing but what the plan is drawn from: the instances
//! the file makes that `[faults] targets` names (with what each does, read from the file: see
//! [`super::expand`]), the rest of `[faults]`, whether the backend runs each in a process of its
//! own, and [`PLAN_VERSION`]. Its [`Plan::fingerprint`] sums these up: the same seed gives the
//! same plan for as long as the fingerprint stays the same (editing a print or a comment does
//! not change it; adding a step to a target does).

use procthread::faultpoint::{Action, Point};
use procthread_scenario::{Backend, FaultAction, FaultSpec, PointFamily, Scenario};
use serde::{Deserialize, Serialize};

use super::expand::{self, Instance, Ops};

/// The version of the drawing below: part of every fingerprint (a new version may draw other
/// plans from the same seeds).
pub const PLAN_VERSION: u32 = 2;

/// One fault: what `harness run --faults SEED` injects, and what the verdict judges against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub seed: u64,
    pub scenario: String,
    pub backend: Backend,
    /// The instance hit.
    pub target: String,
    /// Its actor definition.
    pub def: String,
    /// The pool it is a task of.
    pub pool: Option<String>,
    /// Whether it runs in a process of its own (kill hits that process; otherwise only its
    /// thread is ever hit, by a delay).
    pub own_process: bool,
    pub at: At,
    pub action: Action,
    /// The `put` and `send` steps the target's definition reaches as written: with the count
    /// it had entered when it was hit, what it never sent.
    pub sends: u64,
    /// What the draw depended on (16 hex digits).
    pub fingerprint: String,
}

/// Where the fault happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum At {
    /// Before the target's `nth` step (from 1), counted in the order its steps are reached,
    /// nested ones included.
    Step { nth: u64 },
    /// At the `nth` hit (from 1) of a fault point inside the target's operations.
    Point { point: Point, nth: u64 },
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Step { nth } => write!(f, "step {nth}"),
            At::Point { point, nth } => write!(f, "{point}, hit {nth}"),
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = match self.at {
            At::Step { nth } => format!("before its step {nth}"),
            At::Point { point, nth } => format!("at {point} (its hit {nth})"),
        };
        write!(f, "{} `{}` {at}  [plan {}]", self.action, self.target, self.fingerprint)
    }
}

/// Why no plan could be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("scenario `{0}` has no [faults] table: it is not run with faults")]
    NoFaults(String),
    #[error(
        "scenario `{scenario}` on {backend}: no instance that `[faults] targets` names can be hit there \
         (targets: {targets}; instances the file makes: {instances}; a kill needs a process of its own, a point an operation that reaches it)"
    )]
    NoTarget { scenario: String, backend: Backend, targets: String, instances: String },
}

/// The fault points inside each operation, by family.
fn points(family: PointFamily, ops: &Ops) -> Vec<(Point, u64)> {
    match family {
        PointFamily::Step => Vec::new(),
        PointFamily::Pipe => {
            vec![(Point::PipeSendBegin, ops.sends), (Point::PipeSendHalf, ops.sends), (Point::PipeRecvHalf, ops.recvs)]
        }
        PointFamily::Queue => {
            vec![(Point::QueuePutBegin, ops.puts), (Point::QueuePutHalf, ops.puts), (Point::QueueGetHalf, ops.gets)]
        }
    }
}

/// Where a candidate can be hit: each entry a kind of point and how many hits it has.
fn places(spec: &FaultSpec, ops: &Ops) -> Vec<(Option<Point>, u64)> {
    let mut out = Vec::new();
    for family in &spec.points {
        if *family == PointFamily::Step && ops.steps > 0 {
            out.push((None, ops.steps));
        }
        out.extend(points(*family, ops).into_iter().filter(|(_, n)| *n > 0).map(|(p, n)| (Some(p), n)));
    }
    out
}

fn actions(spec: &FaultSpec, own_process: bool) -> Vec<FaultAction> {
    spec.actions.iter().copied().filter(|a| *a != FaultAction::Kill || own_process).collect()
}

/// The instances a plan may hit, each with where and how.
pub fn candidates(scenario: &Scenario, backend: Backend) -> Vec<Instance> {
    let Some(spec) = &scenario.faults else { return Vec::new() };
    expand::instances(scenario, backend)
        .into_iter()
        .filter(|i| spec.targets.iter().any(|t| t.matches(&i.name)))
        .filter(|i| !places(spec, &i.ops).is_empty() && !actions(spec, i.own_process).is_empty())
        .collect()
}

/// The plan seed `seed` draws for `scenario` on `backend`.
pub fn plan(scenario: &Scenario, backend: Backend, seed: u64) -> Result<Plan, PlanError> {
    let Some(spec) = &scenario.faults else { return Err(PlanError::NoFaults(scenario.name.clone())) };
    let all = candidates(scenario, backend);
    if all.is_empty() {
        let listed = |v: Vec<String>| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        return Err(PlanError::NoTarget {
            scenario: scenario.name.clone(),
            backend,
            targets: listed(spec.targets.iter().map(|t| t.source.clone()).collect()),
            instances: listed(expand::instances(scenario, backend).into_iter().map(|i| i.name).collect()),
        });
    }
    let mut draw = Draw::new(seed);
    let target = &all[draw.below(all.len() as u64) as usize];
    let places = places(spec, &target.ops);
    let (point, hits) = places[draw.below(places.len() as u64) as usize];
    let nth = 1 + draw.below(hits);
    let at = match point {
        None => At::Step { nth },
        Some(point) => At::Point { point, nth },
    };
    let acts = actions(spec, target.own_process);
    let action = match acts[draw.below(acts.len() as u64) as usize] {
        FaultAction::Kill => Action::Kill,
        FaultAction::Delay => {
            let (low, high) = spec.delay_ms;
            Action::Delay { ms: low + draw.below(high - low + 1) }
        }
    };
    Ok(Plan {
        seed,
        scenario: scenario.name.clone(),
        backend,
        target: target.name.clone(),
        def: target.def.clone(),
        pool: target.pool.clone(),
        own_process: target.own_process,
        at,
        action,
        sends: target.ops.sent(),
        fingerprint: fingerprint(spec, backend, &all),
    })
}

/// FNV-1a over everything the draw depends on: stable across builds and platforms.
fn fingerprint(spec: &FaultSpec, backend: Backend, all: &[Instance]) -> String {
    let text = serde_json::json!({
        "version": PLAN_VERSION,
        "backend": backend,
        "actions": spec.actions,
        "points": spec.points,
        "delay_ms": spec.delay_ms,
        "candidates": all,
    })
    .to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// SplitMix64: a small generator whose output for a seed is fixed by its definition (no
/// dependency whose next version could draw differently).
#[derive(Debug)]
struct Draw(u64);

impl Draw {
    fn new(seed: u64) -> Draw {
        Draw(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0), without the bias of a plain modulo.
    fn below(&mut self, n: u64) -> u64 {
        let n = n.max(1);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next();
            if v < zone {
                return v % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn parse(src: &str) -> Scenario {
        procthread_scenario::parse_str(std::path::Path::new("t.toml"), src).expect("a valid scenario")
    }

    const QUEUE: &str = r#"
[resources]
q = "queue"
p = { kind = "pipe", a = "main", b = "s" }
[actors.main]
steps = [
  { for_each = ["a", "b"], do = [ { start = "prod", as = "prod-{item}" } ] },
  { start = "s" },
  { repeat = 8, do = [ { get = "q" } ] },
  { loop = [ { recv = "p.a" } ], until = "eof" },
]
[actors.prod]
steps = [ { repeat = 4, do = [ { put = "q", value = "{i}" } ] } ]
[actors.s]
steps = [ { send = "p.b", value = 1 }, { send = "p.b", value = 2 } ]
[expect]
received = { main = [1, 1, 2, 2, 3, 3, 4, 4, 1, 2] }
[faults]
targets = ["prod-{x}", "s"]
survives = ["no_duplicates"]
"#;

    #[test]
    fn the_same_seed_draws_the_same_plan() {
        let s = parse(QUEUE);
        for seed in [0, 1, 42, u64::MAX] {
            let a = plan(&s, Backend::Spawn, seed).expect("plan");
            assert_eq!(a, plan(&s, Backend::Spawn, seed).expect("plan"), "seed {seed}");
            assert_eq!(a, plan(&parse(QUEUE), Backend::Spawn, seed).expect("plan"), "parsed again");
        }
    }

    /// The draw is pinned: a change to it changes every replayed seed, and must come with a new
    /// `PLAN_VERSION`.
    #[test]
    fn the_draw_is_pinned_to_its_version() {
        let mut d = Draw::new(0);
        assert_eq!([d.next(), d.next()], [0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4]);
        let p = plan(&parse(QUEUE), Backend::Spawn, 7).expect("plan");
        assert_eq!(PLAN_VERSION, 2);
        assert_eq!(p.to_string(), "delay 175 ms `prod-a` before its step 2  [plan d9a2d413e756a916]");
    }

    #[test]
    fn seeds_explore_every_target_point_and_action() {
        let s = parse(QUEUE);
        let plans: Vec<Plan> = (0..400).map(|seed| plan(&s, Backend::Spawn, seed).expect("plan")).collect();
        let targets: BTreeSet<&str> = plans.iter().map(|p| p.target.as_str()).collect();
        assert_eq!(targets, BTreeSet::from(["prod-a", "prod-b", "s"]));
        let points: BTreeSet<String> = plans
            .iter()
            .map(|p| match p.at {
                At::Step { .. } => "step".to_string(),
                At::Point { point, .. } => point.name().to_string(),
            })
            .collect();
        let expected = ["step", "pipe.send.begin", "pipe.send.half", "queue.put.begin", "queue.put.half"];
        assert_eq!(points, expected.into_iter().map(String::from).collect::<BTreeSet<String>>());
        assert!(plans.iter().any(|p| p.action == Action::Kill));
        for p in &plans {
            match (p.target.as_str(), p.at) {
                ("s", At::Step { nth }) => assert!((1..=2).contains(&nth)),
                ("s", At::Point { nth, .. }) => assert!((1..=2).contains(&nth)),
                (_, At::Step { nth }) => assert!((1..=5).contains(&nth), "repeat and its four puts"),
                (_, At::Point { point: Point::QueuePutBegin | Point::QueuePutHalf, nth }) => {
                    assert!((1..=4).contains(&nth), "its four puts")
                }
                (t, at) => panic!("{t} has no pipe operation and gets nothing, drawn at {at}"),
            }
            if let Action::Delay { ms } = p.action {
                assert!((1..=250).contains(&ms));
            }
            assert_eq!(p.sends, if p.target == "s" { 2 } else { 4 });
        }
    }

    #[test]
    fn threads_are_only_delayed_and_the_fingerprint_names_the_backend() {
        let s = parse(QUEUE);
        for seed in 0..100 {
            let p = plan(&s, Backend::Thread, seed).expect("plan");
            assert!(!p.own_process && matches!(p.action, Action::Delay { .. }), "{p}");
        }
        let (t, f) = (plan(&s, Backend::Thread, 1).expect("plan"), plan(&s, Backend::Fork, 1).expect("plan"));
        assert_ne!(t.fingerprint, f.fingerprint);
    }

    #[test]
    fn what_the_plan_depends_on_changes_the_fingerprint_and_nothing_else_does() {
        let base = plan(&parse(QUEUE), Backend::Spawn, 3).expect("plan");
        let reworded = QUEUE.replace("value = 2 }", "value = 20 }").replace("[actors.s]", "# the sender\n[actors.s]");
        assert_eq!(plan(&parse(&reworded), Backend::Spawn, 3).expect("plan"), base);
        let more = QUEUE.replace("repeat = 4", "repeat = 5");
        assert_ne!(plan(&parse(&more), Backend::Spawn, 3).expect("plan").fingerprint, base.fingerprint);
        let kill_only = QUEUE.replace("survives =", "actions = [\"kill\"]\nsurvives =");
        let err = plan(&parse(&kill_only), Backend::Thread, 3).expect_err("no process to kill");
        assert!(err.to_string().contains("a kill needs a process of its own"), "{err}");
    }
}
