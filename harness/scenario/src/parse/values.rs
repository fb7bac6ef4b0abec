//! Templates and values inside steps, checked against what the actor can refer to.

use std::ops::Range;

use crate::diag::{Sink, did_you_mean};
use crate::model::{Int, ValueExpr, is_none, literal_text};
use crate::template::{BUILTINS, Placeholder, Template};
use crate::tree::{Node, Sp};

/// What a template in one actor may refer to.
pub(crate) struct Scope<'a> {
    pub(crate) params: &'a [String],
    pub(crate) known: &'a super::Known,
}

pub(crate) fn template(s: &Sp<String>, scope: &Scope<'_>, sink: &mut Sink<'_>) -> Option<Template> {
    // Offsets inside the string map to the file after the opening quote (exact for strings
    // without escapes, which is what templates are in practice).
    let at = |offset: usize| -> Range<usize> {
        let start = s.span.start + 1 + offset;
        start..start + 1
    };
    let (t, sites) = match Template::parse_sites(&s.v) {
        Ok((t, sites)) => (t.with_params_shadowing(scope.params), sites),
        Err(e) => {
            sink.error(&at(e.offset), format!("{} in template \"{}\"", e.message, s.v));
            return None;
        }
    };
    let mut ok = true;
    for (offset, hole) in sites {
        let problem = match hole {
            Placeholder::Param(p) if !scope.params.contains(&p) => {
                let mut valid: Vec<&str> = BUILTINS.to_vec();
                valid.extend(scope.params.iter().map(String::as_str));
                Some(format!(
                    "unknown placeholder `{{{p}}}` in template \"{}\"; {}",
                    s.v,
                    did_you_mean(&p, &valid, "expected")
                ))
            }
            Placeholder::PidOf(a) if !scope.known.is_instance(&a) => {
                let known: Vec<&str> = scope.known.instances.iter().map(String::as_str).collect();
                Some(format!("`{{pid:{a}}}` names no actor instance; {}", did_you_mean(&a, &known, "known instances:")))
            }
            _ => None,
        };
        if let Some(msg) = problem {
            // The opening brace of a lone placeholder, the factor itself inside a product.
            let brace = s.v[..offset].ends_with('{');
            sink.error(&at(if brace { offset - 1 } else { offset }), msg);
            ok = false;
        }
    }
    ok.then_some(t)
}

pub(crate) fn value(node: &Sp<Node>, scope: &Scope<'_>, sink: &mut Sink<'_>) -> Option<ValueExpr> {
    Some(match &node.v {
        Node::Str(s) => {
            let t = template(&Sp { v: s.clone(), span: node.span.clone() }, scope, sink)?;
            if is_none(&t) { ValueExpr::Null } else { ValueExpr::Text(t) }
        }
        Node::Int(n) => ValueExpr::Int(*n),
        Node::Float(f) => ValueExpr::Float(finite(*f, node, sink)?),
        Node::Bool(b) => ValueExpr::Bool(*b),
        Node::Array(items) => {
            let all: Vec<_> = items.iter().filter_map(|i| value(i, scope, sink)).collect();
            if all.len() != items.len() {
                return None;
            }
            ValueExpr::List(all)
        }
        Node::Table(entries) => {
            let all: Vec<_> = entries.iter().filter_map(|(k, v)| Some((k.v.clone(), value(v, scope, sink)?))).collect();
            if all.len() != entries.len() {
                return None;
            }
            ValueExpr::Map(all)
        }
        Node::Datetime => {
            sink.error(
                &node.span,
                "a value is a string, number, boolean, array or table (a dict), not a date-time; \
                 write `\"{none}\"` for None",
            );
            return None;
        }
    })
}

/// Values travel as JSON, which has no NaN or infinity (and integers fit in 64 bits).
fn finite(f: f64, node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<f64> {
    if f.is_finite() {
        return Some(f);
    }
    sink.error(
        &node.span,
        "this number has no JSON form: a value's integers fit in 64 bits and its floats are finite (no nan or inf)",
    );
    None
}

/// A value as written in `[expect]` or `equals` of a step in no actor's scope: literal, with
/// `"{none}"` for null and `{{`/`}}` for braces; no other placeholder.
pub(crate) fn literal_json(node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match &node.v {
        Node::Str(s) => match Template::parse(s) {
            Ok(t) if is_none(&t) => Value::Null,
            Ok(t) => match literal_text(&t) {
                Some(text) => Value::from(text),
                None => {
                    sink.error(
                        &node.span,
                        format!(
                            "an expected value is literal: \"{s}\" has a placeholder (only `{{none}}` alone, for \
                             None, is allowed; write `{{{{` and `}}}}` for braces)"
                        ),
                    );
                    return None;
                }
            },
            Err(e) => {
                sink.error(&node.span, format!("{} in \"{s}\"", e.message));
                return None;
            }
        },
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => Value::from(finite(*f, node, sink)?),
        Node::Bool(b) => Value::from(*b),
        Node::Array(items) => {
            let all: Vec<_> = items.iter().filter_map(|i| literal_json(i, sink)).collect();
            if all.len() != items.len() {
                return None;
            }
            Value::Array(all)
        }
        Node::Table(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                map.insert(k.v.clone(), literal_json(v, sink)?);
            }
            Value::Object(map)
        }
        Node::Datetime => {
            sink.error(&node.span, "an expected value is a string, number, boolean, array or table, not a date-time");
            return None;
        }
    })
}

/// An integer setting: a number in `min..=max`, or a template (`"{n}"`) checked when it runs.
pub(crate) fn int(
    node: &Sp<Node>,
    what: &str,
    min: i64,
    max: i64,
    scope: &Scope<'_>,
    sink: &mut Sink<'_>,
) -> Option<Int> {
    match &node.v {
        Node::Str(s) => {
            let t = template(&Sp { v: s.clone(), span: node.span.clone() }, scope, sink)?;
            match literal_text(&t).or_else(|| is_none(&t).then(|| s.clone())) {
                Some(text) => {
                    sink.error(
                        &node.span,
                        format!("{what} must be an integer or a template such as \"{{n}}\", found \"{text}\""),
                    );
                    None
                }
                None => Some(Int::Template { template: t, min, max }),
            }
        }
        _ => super::fields::int(node, what, min, max, sink).map(Int::Fixed),
    }
}
