//! The `[expect]` table: what must hold at the end of a run.

use crate::diag::{Sink, did_you_mean};
use crate::model::{ExitExpect, ExpectAt, Expectations, NamePattern, ResourceKind, VarExpect, VarExpectation};
use crate::template::Template;
use crate::tree::{Node, Sp};

use super::Known;
use super::fields::{self, Fields};
use super::steps::VERBS;
use super::values::literal_json;

/// The `max_concurrent` key that means "the actors started by the scenario" rather than a pool.
pub(crate) const ACTORS: &str = "actors";

const KEYS: [&str; 7] =
    ["exit", "variables", "max_concurrent", "max_distinct_pids", "received", "received_unordered", "hang"];

pub(crate) fn parse(node: &Sp<Node>, known: &Known, sink: &mut Sink<'_>) -> Expectations {
    let mut out = Expectations { at: positions(node, sink), ..Expectations::default() };
    let Some(mut f) = Fields::of(node, "`expect`", sink) else { return out };
    if let Some(t) = f.take("exit") {
        out.exit = entries(t, "`expect.exit`", sink)
            .into_iter()
            .filter_map(|(k, v)| Some((pattern(k, known, sink)?, exit(v, sink)?)))
            .collect();
    }
    if let Some(t) = f.take("variables") {
        out.variables = entries(t, "`expect.variables`", sink)
            .into_iter()
            .filter_map(|(k, v)| variable(k, v, known, sink))
            .collect();
    }
    for (key, slot) in [("max_concurrent", &mut out.max_concurrent), ("max_distinct_pids", &mut out.max_distinct_pids)]
    {
        if let Some(t) = f.take(key) {
            *slot = entries(t, &format!("`expect.{key}`"), sink)
                .into_iter()
                .filter_map(|(k, v)| {
                    // `max_concurrent` also bounds the started actors taken together.
                    let target =
                        if key == "max_concurrent" && k.v == ACTORS { k.v.clone() } else { pool(k, known, sink)? };
                    Some((target, fields::int(v, "a count", 1, 100_000, sink)? as usize))
                })
                .collect();
        }
    }
    if let Some(t) = f.take("received") {
        out.received = entries(t, "`expect.received`", sink)
            .into_iter()
            .filter_map(|(k, v)| {
                let who = pattern(k, known, sink)?;
                let Some(who) = who.as_literal().map(str::to_string) else {
                    sink.error(
                        &k.span,
                        format!(
                            "`received` is one instance's values in order; for several instances taken together \
                             write `received_unordered = {{ \"{}\" = [...] }}`",
                            k.v
                        ),
                    );
                    return None;
                };
                Some((who, values(v, sink)?))
            })
            .collect();
    }
    if let Some(t) = f.take("received_unordered") {
        out.received_unordered = entries(t, "`expect.received_unordered`", sink)
            .into_iter()
            .filter_map(|(k, v)| Some((pattern(k, known, sink)?, values(v, sink)?)))
            .collect();
    }
    if let Some(t) = f.take("hang") {
        out.hang = entries(t, "`expect.hang`", sink)
            .into_iter()
            .filter_map(|(k, v)| {
                let who = pattern(k, known, sink)?;
                let verb = fields::string(v, "the step an actor hangs in", sink)?;
                if !VERBS.iter().any(|(w, _)| *w == verb.v) {
                    let verbs: Vec<&str> = VERBS.iter().map(|(w, _)| *w).collect();
                    sink.error(
                        &verb.span,
                        format!("unknown step `{}`; {}", verb.v, did_you_mean(&verb.v, &verbs, "expected")),
                    );
                    return None;
                }
                Some((who, verb.v))
            })
            .collect();
    }
    f.finish(&KEYS, sink);
    out
}

/// Where each entry of each table of `[expect]` is written.
fn positions(node: &Sp<Node>, sink: &Sink<'_>) -> Vec<ExpectAt> {
    let Node::Table(tables) = &node.v else { return Vec::new() };
    let mut found = Vec::new();
    for (key, table) in tables.iter().filter(|(k, _)| KEYS.contains(&k.v.as_str())) {
        if let Node::Table(entries) = &table.v {
            found.extend(entries.iter().map(|(entry, _)| (key.v.clone(), entry.v.clone(), entry.span.start)));
        }
    }
    let offsets: Vec<usize> = found.iter().map(|(_, _, offset)| *offset).collect();
    found
        .into_iter()
        .zip(sink.locate(&offsets))
        .map(|((key, entry, _), (line, column))| ExpectAt { key, entry, line, column })
        .collect()
}

fn entries<'t>(node: &'t Sp<Node>, what: &str, sink: &mut Sink<'_>) -> Vec<(&'t Sp<String>, &'t Sp<Node>)> {
    match Fields::of(node, what, sink) {
        Some(mut f) => f.rest(),
        None => Vec::new(),
    }
}

/// An instance (or pool task) name, or a pattern whose placeholders match any text (`"c{i}"`):
/// a literal name must be one this scenario can make; a pattern must match one when judged.
pub(crate) fn pattern(k: &Sp<String>, known: &Known, sink: &mut Sink<'_>) -> Option<NamePattern> {
    let t = match Template::parse(&k.v) {
        Ok(t) => t,
        Err(e) => {
            sink.error(&k.span, format!("{} in the name pattern \"{}\"", e.message, k.v));
            return None;
        }
    };
    let p = NamePattern::new(&t);
    let Some(name) = p.as_literal() else { return Some(p) };
    if known.is_instance(name) || known.is_task(name) || known.may_be_templated(name) {
        return Some(p);
    }
    let names: Vec<&str> = known.instances.iter().map(String::as_str).collect();
    sink.error(
        &k.span,
        format!(
            "unknown actor instance `{}`; {}",
            k.v,
            did_you_mean(&k.v, &names, "instances started in this scenario:")
        ),
    );
    None
}

fn values(v: &Sp<Node>, sink: &mut Sink<'_>) -> Option<Vec<serde_json::Value>> {
    let items = fields::array(v, "the values received", sink)?;
    let all: Vec<serde_json::Value> = items.iter().filter_map(|i| literal_json(i, sink)).collect();
    (all.len() == items.len()).then_some(all)
}

fn pool(k: &Sp<String>, known: &Known, sink: &mut Sink<'_>) -> Option<String> {
    if matches!(known.kind_of(&k.v), Some(ResourceKind::Pool { .. })) {
        return Some(k.v.clone());
    }
    let pools: Vec<&str> =
        known.resources.iter().filter(|(_, r)| r.word() == "pool").map(|(n, _)| n.as_str()).collect();
    sink.error(&k.span, format!("unknown pool `{}`; {}", k.v, did_you_mean(&k.v, &pools, "pools defined:")));
    None
}

fn exit(v: &Sp<Node>, sink: &mut Sink<'_>) -> Option<ExitExpect> {
    match &v.v {
        Node::Int(n) if (-255..=255).contains(n) => Some(ExitExpect::Code(*n as i32)),
        Node::Str(s) if s == "terminated" => Some(ExitExpect::Terminated),
        Node::Str(s) if s == "killed" => Some(ExitExpect::Killed),
        Node::Str(s) if s == "crashed" => Some(ExitExpect::Crashed),
        _ => {
            sink.error(&v.span, "an exit expectation is a code (-255..255) or `terminated`, `killed` or `crashed`");
            None
        }
    }
}

fn var_expect(v: &Sp<Node>, sink: &mut Sink<'_>) -> Option<VarExpect> {
    match &v.v {
        Node::Int(n) => Some(VarExpect::Exactly(*n)),
        Node::Str(s) if s == "nondeterministic" => Some(VarExpect::Nondeterministic),
        _ => {
            sink.error(&v.span, "a variable expectation is an integer or `nondeterministic`");
            None
        }
    }
}

fn variable(k: &Sp<String>, v: &Sp<Node>, known: &Known, sink: &mut Sink<'_>) -> Option<VarExpectation> {
    if !matches!(known.kind_of(&k.v), Some(ResourceKind::Variable { .. })) {
        let vars: Vec<&str> =
            known.resources.iter().filter(|(_, r)| r.word() == "variable").map(|(n, _)| n.as_str()).collect();
        let hint = did_you_mean(&k.v, &vars, "variables defined:");
        sink.error(&k.span, format!("unknown variable `{}`; {hint}", k.v));
        return None;
    }
    let (threads, processes) = if let Node::Table(_) = v.v {
        let mut f = Fields::of(v, "a per-family variable expectation", sink)?;
        let t = f.take("threads").and_then(|n| var_expect(n, sink));
        let p = f.take("processes").and_then(|n| var_expect(n, sink));
        f.finish(&["threads", "processes"], sink);
        match (t, p) {
            (Some(t), Some(p)) => (t, p),
            _ => {
                sink.error(&v.span, "a per-family expectation needs both `threads` and `processes`");
                return None;
            }
        }
    } else {
        let e = var_expect(v, sink)?;
        (e.clone(), e)
    };
    Some(VarExpectation { variable: k.v.clone(), threads, processes })
}
