//! Reading a spanned table key by key, reporting wrong types and unknown keys.

use std::ops::Range;

use crate::diag::{Sink, did_you_mean};
use crate::tree::{Node, Sp, Table};

/// The keys of one table, taken one at a time; whatever is left over is an unknown key.
pub(crate) struct Fields<'t> {
    table: &'t Table,
    pub(crate) span: Range<usize>,
    used: Vec<bool>,
    what: String,
}

impl<'t> Fields<'t> {
    /// `None` (with an error) if `node` is not a table.
    pub(crate) fn of(node: &'t Sp<Node>, what: impl Into<String>, sink: &mut Sink<'_>) -> Option<Fields<'t>> {
        let what = what.into();
        match &node.v {
            Node::Table(table) => Some(Fields { table, span: node.span.clone(), used: vec![false; table.len()], what }),
            other => {
                sink.error(&node.span, format!("{what} must be a table, found {}", other.kind()));
                None
            }
        }
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<&'t Sp<Node>> {
        let at = self.table.iter().position(|(k, _)| k.v == key)?;
        self.used[at] = true;
        Some(&self.table[at].1)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.iter().any(|(k, _)| k.v == key)
    }

    /// Entries not yet taken, in file order.
    pub(crate) fn rest(&mut self) -> Vec<(&'t Sp<String>, &'t Sp<Node>)> {
        let mut out = Vec::new();
        for (i, (k, v)) in self.table.iter().enumerate() {
            if !self.used[i] {
                self.used[i] = true;
                out.push((k, v));
            }
        }
        out
    }

    /// Reports every key that `what` does not accept, naming those it does. (An accepted key
    /// left untaken because of an earlier error in the same table is not reported twice.)
    pub(crate) fn finish(self, allowed: &[&str], sink: &mut Sink<'_>) {
        for (i, (k, _)) in self.table.iter().enumerate() {
            if !self.used[i] && !allowed.contains(&k.v.as_str()) {
                let hint = did_you_mean(&k.v, allowed, "expected");
                sink.error(&k.span, format!("unknown key `{}` in {}; {hint}", k.v, self.what));
            }
        }
    }

    pub(crate) fn what(&self) -> &str {
        &self.what
    }
}

pub(crate) fn string(node: &Sp<Node>, what: &str, sink: &mut Sink<'_>) -> Option<Sp<String>> {
    match &node.v {
        Node::Str(s) => Some(Sp { v: s.clone(), span: node.span.clone() }),
        other => {
            sink.error(&node.span, format!("{what} must be a string, found {}", other.kind()));
            None
        }
    }
}

pub(crate) fn int(node: &Sp<Node>, what: &str, min: i64, max: i64, sink: &mut Sink<'_>) -> Option<i64> {
    match node.v {
        Node::Int(n) if (min..=max).contains(&n) => Some(n),
        Node::Int(n) => {
            sink.error(&node.span, format!("{what} must be between {min} and {max}, found {n}"));
            None
        }
        ref other => {
            sink.error(&node.span, format!("{what} must be an integer, found {}", other.kind()));
            None
        }
    }
}

pub(crate) fn boolean(node: &Sp<Node>, what: &str, sink: &mut Sink<'_>) -> Option<bool> {
    match node.v {
        Node::Bool(b) => Some(b),
        ref other => {
            sink.error(&node.span, format!("{what} must be true or false, found {}", other.kind()));
            None
        }
    }
}

pub(crate) fn array<'t>(node: &'t Sp<Node>, what: &str, sink: &mut Sink<'_>) -> Option<&'t [Sp<Node>]> {
    match &node.v {
        Node::Array(items) => Some(items),
        other => {
            sink.error(&node.span, format!("{what} must be an array, found {}", other.kind()));
            None
        }
    }
}

pub(crate) fn strings(node: &Sp<Node>, what: &str, sink: &mut Sink<'_>) -> Option<Vec<Sp<String>>> {
    let items = array(node, what, sink)?;
    let all: Vec<_> = items.iter().filter_map(|i| string(i, &format!("each of {what}"), sink)).collect();
    (all.len() == items.len()).then_some(all)
}
