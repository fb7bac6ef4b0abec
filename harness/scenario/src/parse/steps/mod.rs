//! Steps: one verb per table, its target checked against the scenario's actors and resources.
//! This module reads what every step shares (`expect`, `equals`, `nondeterministic`); each
//! verb's own keys are read in [`kinds`], and names are resolved in [`targets`].

mod kinds;
mod links;
mod targets;

use crate::diag::{Sink, did_you_mean, one_of};
use crate::model::{ErrorKind, Int, Step, StepKind};
use crate::template::Template;
use crate::tree::{Node, Sp};

use super::Known;
use super::fields::{self, Fields};
use super::values::{self, Scope};

/// Every verb with the keys it accepts besides itself, `expect`, `equals` and `nondeterministic`.
pub(crate) const VERBS: &[(&str, &[&str])] = &[
    ("print", &[]),
    ("start", &["as", "args", "host"]),
    ("fork", &["as"]),
    ("join", &["timeout_ms"]),
    ("terminate", &[]),
    ("kill", &[]),
    ("is_alive", &[]),
    ("exitcode", &[]),
    ("put", &["value", "timeout_ms"]),
    ("get", &["timeout_ms"]),
    ("qsize", &[]),
    ("empty", &[]),
    ("full", &[]),
    ("task_done", &[]),
    ("send", &["value"]),
    ("recv", &["timeout_ms"]),
    ("close", &[]),
    ("acquire", &["timeout_ms"]),
    ("release", &[]),
    ("locked", &[]),
    ("set", &[]),
    ("clear", &[]),
    ("is_set", &[]),
    ("wait", &["timeout_ms"]),
    ("notify", &["n"]),
    ("notify_all", &[]),
    ("n_waiting", &[]),
    ("broken", &[]),
    ("abort", &[]),
    ("reset", &[]),
    ("add", &["amount"]),
    ("read", &[]),
    ("set_local", &["value"]),
    ("get_local", &[]),
    ("run", &["stdin", "timeout_ms"]),
    ("repeat", &["do"]),
    ("for_each", &["do"]),
    ("loop", &["until", "until_value"]),
    ("sleep_ms", &[]),
    ("submit", &["actor", "items", "as"]),
    ("map", &["actor", "items", "as", "timeout_ms"]),
    ("imap", &["actor", "items", "as", "do"]),
    ("result", &["timeout_ms"]),
    ("return", &[]),
    ("serve", &[]),
    ("connect", &["authkey"]),
    ("shutdown", &[]),
    ("link", &["delay_ms", "loss_percent"]),
    ("cut", &[]),
    ("restore", &[]),
    ("exit", &[]),
    ("crash", &[]),
];

/// Keys every step may carry (the last two only on steps that set `{value}`).
const COMMON: [&str; 3] = ["expect", "equals", "nondeterministic"];

/// The longest `timeout_ms` or `sleep_ms`: a day.
pub(crate) const MAX_MS: i64 = 24 * 3600 * 1000;

fn verb_names() -> Vec<&'static str> {
    VERBS.iter().map(|(v, _)| *v).collect()
}

pub(crate) struct StepParser<'k, 's, 'src> {
    pub(crate) known: &'k Known,
    pub(crate) scope: Scope<'k>,
    pub(crate) sink: &'s mut Sink<'src>,
}

impl StepParser<'_, '_, '_> {
    pub(crate) fn steps(&mut self, node: &Sp<Node>, what: &str) -> Vec<Step> {
        let Some(items) = fields::array(node, what, self.sink) else { return Vec::new() };
        items.iter().filter_map(|i| self.step(i)).collect()
    }

    fn step(&mut self, node: &Sp<Node>) -> Option<Step> {
        let mut f = Fields::of(node, "a step", self.sink)?;
        let verbs: Vec<(&str, &[&str])> = VERBS.iter().copied().filter(|(v, _)| f.has(v)).collect();
        let (verb, extra) = match verbs.as_slice() {
            [one] => *one,
            [] => {
                let rest = f.rest();
                let keys: Vec<String> = rest.iter().map(|(k, _)| format!("`{}`", k.v)).collect();
                let found =
                    if keys.is_empty() { "an empty table".to_string() } else { format!("keys {}", keys.join(", ")) };
                let near = rest.iter().find_map(|(k, _)| crate::diag::closest(&k.v, &verb_names()));
                let message = match near {
                    Some(verb) => format!("unknown step: found {found}; did you mean `{verb}`?"),
                    None => format!("unknown step: found {found}; a step is one of {}", one_of(&verb_names())),
                };
                self.sink.error(&f.span, message);
                return None;
            }
            [a, b, ..] => {
                self.sink.error(&f.span, format!("a step has one verb, found both `{}` and `{}`", a.0, b.0));
                return None;
            }
        };
        let line = self.known.lines.line(node.span.start);
        let target = f.take(verb)?;
        let expect = f.take("expect").and_then(|e| self.error_kind(e));
        let equals = f.take("equals");
        let nondet = f.take("nondeterministic");
        let kind = self.kind(verb, target, &mut f);
        // `equals` and `nondeterministic` are named only where they apply (given elsewhere, they
        // get their own message below).
        let common = if kind.as_ref().is_none_or(StepKind::sets_value) { &COMMON[..] } else { &COMMON[..1] };
        let mut allowed = vec![verb];
        allowed.extend_from_slice(common);
        allowed.extend_from_slice(extra);
        f.finish(&allowed, self.sink);
        let kind = kind?;
        if let Some(e) = expect {
            self.check_expect(&kind, e, node);
        }
        let equals = match equals {
            Some(v) if kind.sets_value() => Some(values::value(v, &self.scope, self.sink)?),
            Some(v) => {
                self.sink.error(&v.span, format!("`equals` applies to a step that sets {{value}}; `{verb}` does not"));
                return None;
            }
            None => None,
        };
        let nondeterministic = match nondet {
            Some(n) if kind.sets_value() => fields::boolean(n, "`nondeterministic`", self.sink)?,
            Some(n) => {
                self.sink.error(
                    &n.span,
                    format!("`nondeterministic` applies to a step that sets {{value}}; `{verb}` does not"),
                );
                return None;
            }
            None => false,
        };
        if let StepKind::Loop { until: Some(until), body, .. } = &kind
            && !crate::model::walk(body).iter().any(|s| s.kind.possible_errors().contains(until))
        {
            self.sink.error(
                &node.span,
                format!("this loop can never end on `{}`: none of its steps can end with it", until.as_str()),
            );
        }
        if let StepKind::Loop { until_value: Some(_), body, .. } = &kind
            && !body.iter().any(|s| s.kind.sets_value())
        {
            self.sink.error(&node.span, "this loop can never see its `until_value`: none of its steps sets {value}");
        }
        Some(Step { line, kind, expect, equals, nondeterministic })
    }

    fn error_kind(&mut self, node: &Sp<Node>) -> Option<ErrorKind> {
        let s = fields::string(node, "`expect`", self.sink)?;
        let found = ErrorKind::parse(&s.v);
        if found.is_none() {
            let words: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
            self.sink
                .error(&s.span, format!("unknown error kind `{}`; {}", s.v, did_you_mean(&s.v, &words, "expected")));
        }
        found
    }

    /// An expected error must be one the step can end with: otherwise the step always fails.
    fn check_expect(&mut self, kind: &StepKind, e: ErrorKind, node: &Sp<Node>) {
        let verb = kind.verb();
        let possible = kind.possible_errors();
        if !possible.contains(&e) {
            let words: Vec<&str> = possible.iter().map(|k| k.as_str()).collect();
            let can = if words.is_empty() {
                "it cannot fail".to_string()
            } else {
                format!("it can end with {}", one_of(&words))
            };
            self.sink
                .error(&node.span, format!("`expect = \"{}\"`: this `{verb}` never ends with it; {can}", e.as_str()));
            return;
        }
        if matches!(e, ErrorKind::Timeout | ErrorKind::Full) && kind.timeout().is_none() {
            self.sink.error(
                &node.span,
                format!(
                    "`expect = \"{}\"` on this `{verb}` needs `timeout_ms`: without one it waits for ever",
                    e.as_str()
                ),
            );
        }
    }

    fn template(&mut self, node: &Sp<Node>, what: &str) -> Option<Template> {
        let s = fields::string(node, what, self.sink)?;
        values::template(&s, &self.scope, self.sink)
    }

    fn timeout(&mut self, f: &mut Fields<'_>) -> Option<Option<Int>> {
        match f.take("timeout_ms") {
            Some(t) => Some(Some(values::int(t, "`timeout_ms`", 0, MAX_MS, &self.scope, self.sink)?)),
            None => Some(None),
        }
    }

    fn required<'t>(&mut self, f: &mut Fields<'t>, key: &str, meaning: &str, at: &Sp<Node>) -> Option<&'t Sp<Node>> {
        let v = f.take(key);
        if v.is_none() {
            self.sink.error(&at.span, format!("this step needs `{key}`: {meaning}"));
        }
        v
    }

    fn required_value(&mut self, f: &mut Fields<'_>, key: &str, at: &Sp<Node>) -> Option<crate::model::ValueExpr> {
        match f.take(key) {
            Some(v) => values::value(v, &self.scope, self.sink),
            None => {
                self.sink.error(&at.span, format!("this step needs `{key}`"));
                None
            }
        }
    }

    fn body(&mut self, f: &mut Fields<'_>, at: &Sp<Node>) -> Option<Vec<crate::model::Step>> {
        match f.take("do") {
            Some(d) => Some(self.steps(d, "`do`")),
            None => {
                self.sink.error(&at.span, "this step needs `do`: the steps to repeat");
                None
            }
        }
    }
}
