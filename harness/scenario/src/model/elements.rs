//! The language elements a scenario uses, by name: for "what supports what" (an executor that
//! implements part of the language can say which scenarios it can run, and why not the others).

use std::collections::BTreeSet;

use super::{
    CloseTarget, Crash, JoinTarget, ResourceKind, Scenario, Scope, Step, StepKind, StopTarget, ValueExpr, walk,
};
use crate::template::{Part, Placeholder, Template};

/// Elements that language v2 (issue 11) added to the chapter's language: an executor written for
/// v1 runs every scenario that uses none of them.
pub const V2_ELEMENTS: &[&str] = &[
    "verb:is_alive",
    "verb:exitcode",
    "verb:qsize",
    "verb:empty",
    "verb:full",
    "verb:task_done",
    "verb:locked",
    "verb:set",
    "verb:clear",
    "verb:is_set",
    "verb:wait",
    "verb:notify",
    "verb:notify_all",
    "verb:n_waiting",
    "verb:broken",
    "verb:abort",
    "verb:reset",
    "verb:map",
    "verb:imap",
    "verb:result",
    "verb:return",
    "resource:joinable_queue",
    "resource:rlock",
    "resource:semaphore",
    "resource:bounded_semaphore",
    "resource:event",
    "resource:condition",
    "resource:barrier",
    "setting:maxsize",
    "scope:process-queue",
    "scope:shared-primitive",
    "key:timeout_ms-on-put",
    "key:timeout_ms-on-acquire",
    "key:equals",
    "key:nondeterministic",
    "key:until_value",
    "key:submit-as",
    "target:pool-terminate",
    "target:queue-close",
    "target:queue-join",
    "crash:kill",
    "name:template",
    "number:template",
    "value:none",
    "value:dict",
    "value:product",
    "expect:pattern",
    "expect:received_unordered",
    "expect:hang",
    "expect:error-kind-v2",
];

impl Scenario {
    /// Every language element this scenario uses: `verb:VERB`, `resource:KIND`, and the v2
    /// elements of [`V2_ELEMENTS`] (settings, keys, targets, templated names and numbers,
    /// values, expectations).
    pub fn elements(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |e: &str| {
            out.insert(e.to_string());
        };
        for r in &self.resources {
            add(&format!("resource:{}", r.kind.word()));
            match &r.kind {
                ResourceKind::Queue { maxsize, scope, .. } => {
                    if *maxsize > 0 {
                        add("setting:maxsize");
                    }
                    if *scope == Scope::Process {
                        add("scope:process-queue");
                    }
                }
                ResourceKind::Sync { scope: Scope::Shared, .. } => add("scope:shared-primitive"),
                _ => {}
            }
        }
        if !self.hosts.is_empty() {
            add("setting:hosts");
        }
        for (_, step) in self.all_steps() {
            step_elements(step, &mut add);
        }
        let e = &self.expect;
        if e.exit.iter().any(|(p, _)| p.as_literal().is_none()) {
            add("expect:pattern");
        }
        if !e.received_unordered.is_empty() {
            add("expect:received_unordered");
        }
        if !e.hang.is_empty() {
            add("expect:hang");
        }
        if e.received
            .iter()
            .flat_map(|(_, v)| v)
            .chain(e.received_unordered.iter().flat_map(|(_, v)| v))
            .any(|v| v.is_null() || v.is_object())
        {
            add("value:none");
        }
        out
    }
}

fn step_elements(step: &Step, add: &mut impl FnMut(&str)) {
    use crate::model::ErrorKind as K;
    let kind = &step.kind;
    add(&format!("verb:{}", kind.verb()));
    if step.equals.is_some() {
        add("key:equals");
    }
    if step.nondeterministic {
        add("key:nondeterministic");
    }
    if step.expect.is_some_and(|k| !matches!(k, K::Eof | K::Timeout | K::AuthRefused)) {
        add("expect:error-kind-v2");
    }
    if kind.timeout().is_some_and(|t| matches!(t, super::Int::Template { .. })) {
        add("number:template");
    }
    let mut values: Vec<&ValueExpr> = step.equals.iter().collect();
    let mut names: Vec<&Template> = Vec::new();
    match kind {
        StepKind::Put { timeout: Some(_), value, .. } => {
            add("key:timeout_ms-on-put");
            values.push(value);
        }
        StepKind::Put { value, .. } | StepKind::Send { value, .. } | StepKind::SetLocal { value, .. } => {
            values.push(value)
        }
        StepKind::Acquire { timeout: Some(_), .. } => add("key:timeout_ms-on-acquire"),
        StepKind::Loop { until_value: Some(v), .. } => {
            add("key:until_value");
            values.push(v);
        }
        StepKind::Submit(t) | StepKind::Map { tasks: t, .. } | StepKind::Imap { tasks: t, .. } => {
            if t.name.is_some() {
                add("key:submit-as");
            }
            values.extend(&t.items);
        }
        StepKind::Terminate(StopTarget::Pool(_)) => add("target:pool-terminate"),
        StepKind::Close(CloseTarget::Queue(_)) => add("target:queue-close"),
        StepKind::Join { target: JoinTarget::Queue(_), .. } => add("target:queue-join"),
        StepKind::Crash(Crash::Kill) => add("crash:kill"),
        StepKind::Repeat { times: super::Int::Template { .. }, .. }
        | StepKind::Sleep(super::Int::Template { .. })
        | StepKind::Exit(super::Int::Template { .. }) => add("number:template"),
        StepKind::Return(v) => values.push(v),
        StepKind::ForEach { items, .. } => values.extend(items),
        StepKind::Start { args, host, .. } => {
            if host.is_some() {
                add("key:host");
            }
            values.extend(args.iter().map(|(_, v)| v))
        }
        _ => {}
    }
    match kind {
        StepKind::Join { target: JoinTarget::Instance(n), .. }
        | StepKind::Terminate(StopTarget::Instance(n))
        | StepKind::Kill(StopTarget::Instance(n))
        | StepKind::Instance { target: n, .. }
        | StepKind::Result { task: n, .. } => names.push(n),
        _ => {}
    }
    if names.iter().any(|n| n.parts.iter().any(|p| matches!(p, Part::Hole(_)))) {
        add("name:template");
    }
    let mut todo = values;
    while let Some(v) = todo.pop() {
        match v {
            ValueExpr::Null => add("value:none"),
            ValueExpr::Map(entries) => {
                add("value:dict");
                todo.extend(entries.iter().map(|(_, v)| v));
            }
            ValueExpr::List(items) => todo.extend(items),
            ValueExpr::Text(t) if t.holes().any(|h| matches!(h, Placeholder::None)) => add("value:none"),
            // A product alone is a number (as `{value}` alone is the value), not text.
            ValueExpr::Text(t) if matches!(t.sole_hole(), Some(Placeholder::Product(_))) => add("value:product"),
            _ => {}
        }
    }
    // Nested steps are visited by `all_steps`.
    let _ = walk;
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::V2_ELEMENTS;

    #[test]
    fn v1_scenarios_use_no_v2_element_and_v2_ones_say_which() {
        let v1 = crate::parse_str(
            Path::new("t.toml"),
            "[resources]\nq = \"queue\"\n[actors.main]\nsteps = [ { put = \"q\", value = 1 }, { get = \"q\", timeout_ms = 5 } ]\n",
        )
        .expect("valid");
        assert!(v1.elements().iter().all(|e| !V2_ELEMENTS.contains(&e.as_str())), "{:?}", v1.elements());
        let v2 = crate::parse_str(
            Path::new("t.toml"),
            "[resources]\nq = { kind = \"queue\", maxsize = 1 }\nev = { kind = \"event\", scope = \"shared\" }\n[actors.main]\nsteps = [ { put = \"q\", value = \"{none}\", timeout_ms = 0, expect = \"full\" }, { wait = \"ev\", timeout_ms = \"{none}\" } ]\n",
        );
        // `"{none}"` is not a number: the file is refused, and a fixed one says what it uses.
        assert!(v2.is_err());
        let v2 = crate::parse_str(
            Path::new("t.toml"),
            "[resources]\nq = { kind = \"queue\", maxsize = 1 }\nev = { kind = \"event\", scope = \"shared\" }\n[actors.main]\nsteps = [ { put = \"q\", value = \"{none}\", timeout_ms = 0, expect = \"full\" }, { wait = \"ev\", timeout_ms = 5 } ]\n",
        )
        .expect("valid");
        let used: Vec<String> = v2.elements().into_iter().filter(|e| V2_ELEMENTS.contains(&e.as_str())).collect();
        assert_eq!(
            used,
            [
                "expect:error-kind-v2",
                "key:timeout_ms-on-put",
                "resource:event",
                "scope:shared-primitive",
                "setting:maxsize",
                "value:none",
                "verb:wait",
            ]
        );
    }
}
