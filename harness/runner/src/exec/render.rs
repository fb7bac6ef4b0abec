//! Rendering templates and values for one actor.

use procthread_scenario::{Placeholder, Template, ValueExpr};
use serde_json::Value;

use super::actor::Actor;
use crate::events::{marked, plain};

impl Actor {
    /// Renders `t`, wrapping pids and timings in marks for normalization.
    pub(crate) fn render(&self, t: &Template) -> String {
        t.render(|h| self.fill(h))
    }

    fn fill(&self, h: &Placeholder) -> String {
        match h {
            Placeholder::Pid => marked("pid", &std::process::id().to_string()),
            Placeholder::Ppid => marked("pid", &procthread::parent_pid().unwrap_or(0).to_string()),
            Placeholder::Name => self.instance.clone(),
            Placeholder::Thread => procthread::thread::current_name(),
            Placeholder::Process => procthread::current_process_name(),
            // A value declared nondeterministic is marked, so that normalization hides it.
            Placeholder::Value if self.last_nondet => marked("nondet", &display(&self.last)),
            Placeholder::Value => display(&self.last),
            Placeholder::Index => self.indices.last().map_or(String::new(), u64::to_string),
            Placeholder::Item => self.items.last().map_or(String::new(), display),
            Placeholder::Elapsed => marked("elapsed", &format!("{:.2}", self.started.elapsed().as_secs_f64())),
            Placeholder::PidOf(a) => marked("pid", &self.child_pids.get(a).copied().unwrap_or(0).to_string()),
            Placeholder::Param(p) => self.params.get(p).map_or(String::new(), display),
            Placeholder::Product(factors) => factors
                .iter()
                .try_fold(1i64, |acc, f| self.number(f).map(|n| acc.wrapping_mul(n)))
                .map_or_else(|| "NaN".to_string(), |p| p.to_string()),
            Placeholder::Number(n) => n.to_string(),
            Placeholder::None => "None".to_string(),
        }
    }

    fn number(&self, h: &Placeholder) -> Option<i64> {
        match self.raw(h) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => plain(&self.fill(h)).trim().parse().ok(),
        }
    }

    /// The typed value behind a placeholder that stands for data.
    fn raw(&self, h: &Placeholder) -> Option<Value> {
        match h {
            Placeholder::Value => Some(self.last.clone()),
            Placeholder::Item => self.items.last().cloned(),
            Placeholder::Param(p) => self.params.get(p).cloned(),
            Placeholder::Index => self.indices.last().map(|&i| Value::from(i)),
            Placeholder::Number(n) => Some(Value::from(*n)),
            Placeholder::None => Some(Value::Null),
            // A product alone is a number, as `{value}` alone is the value.
            Placeholder::Product(factors) => {
                factors.iter().try_fold(1i64, |acc, f| self.number(f).map(|n| acc.wrapping_mul(n))).map(Value::from)
            }
            _ => None,
        }
    }

    /// A value as data: `"{item}"` alone keeps the item's type; other text is rendered plain.
    pub(crate) fn value(&self, v: &ValueExpr) -> Value {
        match v {
            ValueExpr::Null => Value::Null,
            ValueExpr::Bool(b) => Value::from(*b),
            ValueExpr::Int(n) => Value::from(*n),
            ValueExpr::Float(f) => Value::from(*f),
            ValueExpr::Text(t) => match t.sole_hole().and_then(|h| self.raw(h)) {
                Some(v) => v,
                None => Value::from(plain(&self.render(t))),
            },
            ValueExpr::List(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            ValueExpr::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), self.value(v))).collect()),
        }
    }
}

/// How a value prints: strings bare, nothing as `None` (the chapter's Python), the rest as JSON.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_string(),
        other => other.to_string(),
    }
}
