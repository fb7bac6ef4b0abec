//! Templates and values inside steps, checked against what the actor can refer to.

use std::ops::Range;

use crate::diag::{Sink, one_of};
use crate::model::ValueExpr;
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
                Some(format!("unknown placeholder `{{{p}}}` in template \"{}\"; expected {}", s.v, one_of(&valid)))
            }
            Placeholder::PidOf(a) if !scope.known.is_instance(&a) => {
                let known: Vec<&str> = scope.known.instances.iter().map(String::as_str).collect();
                Some(format!("`{{pid:{a}}}` names no actor instance; known instances: {}", one_of(&known)))
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
