//! The `[faults]` table: which actors a seeded fault may hit, how, and what must survive it.
//!
//! ```toml
//! [faults]
//! targets = ["producer-{tag}", "consumer-{i}"]   # required: instances or patterns, never main
//! actions = ["kill", "delay"]                   # optional: default both
//! points = ["step", "queue"]                    # optional: default step, pipe and queue
//! delay_ms = [1, 250]                           # optional: the range delays are drawn from
//! survives = ["no_duplicates", "queue_usable"]  # required: what must hold after the fault
//! tolerate = ["timeout"]                        # optional: step errors a fault may cause
//! ```

use crate::diag::{Sink, one_of};
use crate::model::{
    DEFAULT_DELAY_MS, ErrorKind, Expectations, FaultAction, FaultSpec, Invariant, MAIN, MAX_FAULT_DELAY_MS,
    PointFamily, ResourceKind,
};
use crate::tree::{Node, Sp};

use super::Known;
use super::fields::{self, Fields};

const KEYS: [&str; 6] = ["targets", "actions", "points", "delay_ms", "survives", "tolerate"];

pub(crate) fn parse(node: &Sp<Node>, expect: &Expectations, known: &Known, sink: &mut Sink<'_>) -> Option<FaultSpec> {
    let mut f = Fields::of(node, "`faults`", sink)?;
    let targets = match f.take("targets") {
        Some(t) => targets(t, known, sink),
        None => {
            sink.error(&node.span, "`[faults]` needs `targets`: the instances (or patterns) a fault may hit");
            None
        }
    };
    let actions = match f.take("actions") {
        Some(a) => words(a, "`actions`", FaultAction::parse, &FaultAction::ALL.map(FaultAction::as_str), sink),
        None => Some(FaultAction::ALL.to_vec()),
    };
    let points = match f.take("points") {
        Some(p) => words(p, "`points`", PointFamily::parse, &PointFamily::ALL.map(PointFamily::as_str), sink),
        None => Some(PointFamily::ALL.to_vec()),
    };
    let delay_ms = match f.take("delay_ms") {
        Some(d) => delay_range(d, sink),
        None => Some(DEFAULT_DELAY_MS),
    };
    let survives = match f.take("survives") {
        Some(s) => survives(s, expect, known, sink),
        None => {
            sink.error(&node.span, "`[faults]` needs `survives`: what must hold after a fault");
            None
        }
    };
    let tolerate = match f.take("tolerate") {
        Some(t) => words(t, "`tolerate`", ErrorKind::parse, &ErrorKind::ALL.map(ErrorKind::as_str), sink),
        None => Some(Vec::new()),
    };
    f.finish(&KEYS, sink);
    if !expect.hang.is_empty() {
        sink.error(&node.span, "a scenario whose run must hang (`[expect] hang`) cannot be judged after a fault");
    }
    Some(FaultSpec {
        targets: targets?,
        actions: actions?,
        points: points?,
        delay_ms: delay_ms?,
        survives: survives?,
        tolerate: tolerate?,
    })
}

fn targets(node: &Sp<Node>, known: &Known, sink: &mut Sink<'_>) -> Option<Vec<crate::model::NamePattern>> {
    let names = fields::strings(node, "`targets`", sink)?;
    if names.is_empty() {
        sink.error(&node.span, "`targets` must name at least one instance (or pattern) a fault may hit");
        return None;
    }
    let mut out = Vec::new();
    for n in &names {
        if n.v == MAIN {
            sink.error(
                &n.span,
                "`main` is the run itself: a fault there leaves nothing to judge; name the actors it starts",
            );
            continue;
        }
        out.push(super::expect::pattern(n, known, sink)?);
    }
    (out.len() == names.len()).then_some(out)
}

/// A non-empty list of distinct words of one vocabulary.
fn words<T: PartialEq>(
    node: &Sp<Node>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    all: &[&str],
    sink: &mut Sink<'_>,
) -> Option<Vec<T>> {
    let names = fields::strings(node, what, sink)?;
    let mut out = Vec::new();
    for n in &names {
        match parse(&n.v) {
            Some(w) if out.contains(&w) => sink.error(&n.span, format!("`{}` is listed twice in {what}", n.v)),
            Some(w) => out.push(w),
            None => sink.error(&n.span, format!("unknown `{}` in {what}; expected {}", n.v, one_of(all))),
        }
    }
    if names.is_empty() && matches!(what, "`actions`" | "`points`") {
        sink.error(&node.span, format!("{what} must not be empty"));
        return None;
    }
    (out.len() == names.len()).then_some(out)
}

fn delay_range(node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<(u64, u64)> {
    let max = MAX_FAULT_DELAY_MS as i64;
    let ends: Vec<i64> = match &node.v {
        Node::Int(_) => vec![fields::int(node, "`delay_ms`", 0, max, sink)?; 2],
        Node::Array(items) if items.len() == 2 => {
            let ends: Vec<i64> =
                items.iter().filter_map(|i| fields::int(i, "each end of `delay_ms`", 0, max, sink)).collect();
            (ends.len() == 2).then_some(ends)?
        }
        _ => {
            sink.error(&node.span, "`delay_ms` is a number of milliseconds or a range `[LOW, HIGH]`");
            return None;
        }
    };
    if ends[0] > ends[1] {
        sink.error(&node.span, format!("`delay_ms`: {} is more than {}; write `[LOW, HIGH]`", ends[0], ends[1]));
        return None;
    }
    Some((ends[0] as u64, ends[1] as u64))
}

fn survives(node: &Sp<Node>, expect: &Expectations, known: &Known, sink: &mut Sink<'_>) -> Option<Vec<Invariant>> {
    let all = Invariant::ALL.map(Invariant::as_str);
    let list = words(node, "`survives`", Invariant::parse, &all, sink)?;
    let listed = !expect.received.is_empty() || !expect.received_unordered.is_empty();
    let has = |word: &str| known.resources.iter().any(|(_, r)| r.word() == word);
    for inv in &list {
        let missing = match inv {
            Invariant::NoDuplicates | Invariant::NoTorn | Invariant::AtMostOneLost if !listed => {
                "the values it compares with: `[expect]` needs `received` or `received_unordered`"
            }
            Invariant::QueueUsable if !known.resources.iter().any(|(_, r)| matches!(r, ResourceKind::Queue { .. })) => {
                "a queue: this scenario defines none"
            }
            Invariant::PoolGoesOn if !has("pool") => "a pool: this scenario defines none",
            _ => continue,
        };
        sink.error(&node.span, format!("`{}` needs {missing}", inv.as_str()));
    }
    Some(list)
}
