//! Templates and values inside steps, checked against what the actor can refer to.

use std::ops::Range;

use crate::diag::{Sink, one_of};
use crate::model::ValueExpr;
use crate::template::{BUILTINS, Placeholder, Template};
use crate::tree::{Node, Sp};

/// What a template in one actor may refer to.
pub(crate) struct Scope<'a> {
    pub(crate) params: &'a [String],
    pub(crate) instances: &'a [String],
}

pub(crate) fn template(s: &Sp<String>, scope: &Scope<'_>, sink: &mut Sink<'_>) -> Option<Template> {
    // Offsets inside the string map to the file after the opening quote (exact for strings
    // without escapes, which is what templates are in practice).
    let at = |offset: usize| -> Range<usize> {
        let start = s.span.start + 1 + offset;
        start..start + 1
    };
    let t = match Template::parse(&s.v) {
        Ok(t) => t.with_params_shadowing(scope.params),
        Err(e) => {
            sink.error(&at(e.offset), format!("{} in template \"{}\"", e.message, s.v));
            return None;
        }
    };
    let mut ok = true;
    let mut holes: Vec<&Placeholder> = Vec::new();
    for hole in t.holes() {
        match hole {
            Placeholder::Product(a, b) => holes.extend([&**a, &**b]),
            other => holes.push(other),
        }
    }
    for hole in holes {
        let problem = match hole {
            Placeholder::Param(p) if !scope.params.contains(p) => {
                let mut valid: Vec<&str> = BUILTINS.to_vec();
                valid.extend(scope.params.iter().map(String::as_str));
                Some(format!("unknown placeholder `{{{p}}}` in template \"{}\"; expected {}", s.v, one_of(&valid)))
            }
            Placeholder::PidOf(a) if !scope.instances.contains(a) => {
                let known: Vec<&str> = scope.instances.iter().map(String::as_str).collect();
                Some(format!("`{{pid:{a}}}` names no actor instance; known instances: {}", one_of(&known)))
            }
            _ => None,
        };
        if let Some(msg) = problem {
            let offset = s.v.find(&format!("{{{}", hole_text(hole))).unwrap_or(0);
            sink.error(&at(offset), msg);
            ok = false;
        }
    }
    ok.then_some(t)
}

fn hole_text(h: &Placeholder) -> String {
    match h {
        Placeholder::Param(p) => p.clone(),
        Placeholder::PidOf(a) => format!("pid:{a}"),
        _ => String::new(),
    }
}

pub(crate) fn value(node: &Sp<Node>, scope: &Scope<'_>, sink: &mut Sink<'_>) -> Option<ValueExpr> {
    Some(match &node.v {
        Node::Str(s) => ValueExpr::Text(template(&Sp { v: s.clone(), span: node.span.clone() }, scope, sink)?),
        Node::Int(n) => ValueExpr::Int(*n),
        Node::Float(f) => ValueExpr::Float(*f),
        Node::Bool(b) => ValueExpr::Bool(*b),
        Node::Array(items) => {
            let all: Vec<_> = items.iter().filter_map(|i| value(i, scope, sink)).collect();
            if all.len() != items.len() {
                return None;
            }
            ValueExpr::List(all)
        }
        other => {
            sink.error(
                &node.span,
                format!("a value must be a string, number, boolean or array, found {}", other.kind()),
            );
            return None;
        }
    })
}
