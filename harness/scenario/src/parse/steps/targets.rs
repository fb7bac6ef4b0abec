//! Resolving what a step names: actor definitions, instances (literal or templated), resources
//! of the right kind, queues, pipe ends, pools and tasks; each mistake with a message that says
//! what was meant.

use crate::diag::{did_you_mean, one_of};
use crate::model::{
    CloseTarget, JoinTarget, MAIN, NameExpr, PipeRef, QueueRef, ResourceKind, StopTarget, SyncKind, ValueExpr,
    literal_text,
};
use crate::tree::{Node, Sp};

use super::super::fields::{self, Fields};
use super::super::values;
use super::StepParser;

impl StepParser<'_, '_, '_> {
    pub(super) fn actor_def(&mut self, node: &Sp<Node>) -> Option<String> {
        let s = fields::string(node, "an actor name", self.sink)?;
        if s.v == MAIN {
            self.sink.error(&s.span, "`main` is started by the run itself and cannot be started again");
            return None;
        }
        if self.known.params_of(&s.v).is_some() {
            return Some(s.v);
        }
        let names: Vec<&str> = self.known.actors.iter().map(|(a, _)| a.as_str()).filter(|a| *a != MAIN).collect();
        self.sink.error(&s.span, format!("unknown actor `{}`; {}", s.v, did_you_mean(&s.v, &names, "defined actors:")));
        None
    }

    pub(super) fn args(
        &mut self,
        actor: &str,
        node: Option<&Sp<Node>>,
        at: &Sp<Node>,
    ) -> Option<Vec<(String, ValueExpr)>> {
        let params = self.known.params_of(actor).map(<[String]>::to_vec).unwrap_or_default();
        let mut args = Vec::new();
        if let Some(node) = node {
            let mut f = Fields::of(node, "`args`", self.sink)?;
            for (k, v) in f.rest() {
                if !params.contains(&k.v) {
                    let p: Vec<&str> = params.iter().map(String::as_str).collect();
                    self.sink.error(
                        &k.span,
                        format!(
                            "actor `{actor}` has no parameter `{}`; {}",
                            k.v,
                            did_you_mean(&k.v, &p, "its parameters:")
                        ),
                    );
                    continue;
                }
                args.push((k.v.clone(), values::value(v, &self.scope, self.sink)?));
            }
        }
        let missing: Vec<&str> =
            params.iter().filter(|p| !args.iter().any(|(a, _)| a == *p)).map(String::as_str).collect();
        if !missing.is_empty() {
            self.sink.error(&at.span, format!("starting `{actor}` needs `args` for {}", one_of(&missing)));
            return None;
        }
        Some(args)
    }

    /// An actor instance: a literal name is checked now; a template (`"c{i}"`) when it runs.
    pub(super) fn instance(&mut self, node: &Sp<Node>, what: &str) -> Option<NameExpr> {
        let t = self.template(node, "an actor instance")?;
        let Some(name) = literal_text(&t) else { return Some(t) };
        if name == MAIN {
            self.sink.error(&node.span, format!("`main` is the run itself: it cannot be {what}"));
            return None;
        }
        if self.known.is_instance(&name) || self.known.may_be_templated(&name) {
            return Some(t);
        }
        let message = if self.known.params_of(&name).is_some() {
            format!(
                "`{name}` is an actor definition, but no step starts an instance named `{name}`: start one first \
                 (`{{ start = \"{name}\" }}`), or name the instance given by `as`"
            )
        } else if let Some(kind) = self.known.kind_of(&name) {
            format!("`{name}` is {} {}, not an actor instance", a(kind.word()), kind.word())
        } else {
            let known: Vec<&str> = self.known.instances.iter().map(String::as_str).collect();
            let hint = did_you_mean(&name, &known, "instances started in this scenario:");
            format!("unknown actor instance `{name}`; {hint}")
        };
        self.sink.error(&node.span, message);
        None
    }

    /// A pool task: `ACTOR-N` (N counted per pool from 0), or a name made by `as`.
    pub(super) fn task(&mut self, node: &Sp<Node>) -> Option<NameExpr> {
        let t = self.template(node, "a pool task")?;
        let Some(name) = literal_text(&t) else { return Some(t) };
        if self.known.is_task(&name) {
            return Some(t);
        }
        let patterns: Vec<&str> = self.known.tasks.iter().map(|p| p.source.as_str()).collect();
        self.sink.error(
            &node.span,
            format!(
                "no pool task is named `{name}`; tasks of this scenario are named {} (`{{n}}` counts from 0 per pool)",
                one_of(&patterns)
            ),
        );
        None
    }

    pub(super) fn join_target(&mut self, node: &Sp<Node>) -> Option<JoinTarget> {
        if let Node::Str(s) = &node.v {
            match self.known.kind_of(s) {
                Some(ResourceKind::Pool { .. }) => return Some(JoinTarget::Pool(s.clone())),
                Some(ResourceKind::Queue { joinable: true, .. }) => return Some(JoinTarget::Queue(s.clone())),
                Some(ResourceKind::Queue { joinable: false, .. }) => {
                    self.sink.error(
                        &node.span,
                        format!("`{s}` is a queue: only a joinable_queue can be joined (it counts `task_done`)"),
                    );
                    return None;
                }
                _ => {}
            }
        }
        self.instance(node, "joined").map(JoinTarget::Instance)
    }

    pub(super) fn stop_target(&mut self, node: &Sp<Node>, verb: &str) -> Option<StopTarget> {
        if let Node::Str(s) = &node.v
            && matches!(self.known.kind_of(s), Some(ResourceKind::Pool { .. }))
        {
            if verb == "kill" {
                self.sink.error(&node.span, "a pool is stopped with `terminate` (CPython's Pool.terminate)");
                return None;
            }
            return Some(StopTarget::Pool(s.clone()));
        }
        self.instance(node, &format!("{verb}d")).map(StopTarget::Instance)
    }

    /// A resource of one of the given kinds (by their words), or a clear error.
    pub(super) fn resource(&mut self, node: &Sp<Node>, kinds: &[&str], verb: &str) -> Option<(String, ResourceKind)> {
        let s = fields::string(node, &format!("a {} name", kinds[0]), self.sink)?;
        match self.known.kind_of(&s.v) {
            Some(k) if kinds.contains(&k.word()) => Some((s.v, k.clone())),
            Some(k) => {
                let needs = one_of(kinds).replace('`', "");
                self.sink.error(
                    &s.span,
                    format!("`{}` is {} {}, but `{verb}` needs {} {needs}", s.v, a(k.word()), k.word(), a(kinds[0])),
                );
                None
            }
            None => {
                let same: Vec<&str> = self
                    .known
                    .resources
                    .iter()
                    .filter(|(_, k)| kinds.contains(&k.word()))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let what = kinds[0];
                let hint = self.pipe_end_hint(&s.v);
                let known = did_you_mean(&s.v, &same, &format!("{what}s defined:"));
                self.sink.error(&s.span, format!("unknown {what} `{}`; {known}{hint}", s.v));
                None
            }
        }
    }

    /// " (`p.a` is a pipe end: ...)" when a pipe end is used where it is not one.
    fn pipe_end_hint(&self, name: &str) -> String {
        match name.rsplit_once('.') {
            Some((pipe, "a" | "b")) if matches!(self.known.kind_of(pipe), Some(ResourceKind::Pipe { .. })) => {
                format!(" (`{name}` is an end of pipe `{pipe}`: pipes take `send`, `recv` and `close`)")
            }
            _ => String::new(),
        }
    }

    pub(super) fn sync(&mut self, node: &Sp<Node>, kinds: &[SyncKind], verb: &str) -> Option<(String, SyncKind)> {
        let words: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
        let (name, kind) = self.resource(node, &words, verb)?;
        kind.sync().map(|k| (name, k))
    }

    pub(super) fn local_queue(&mut self, node: &Sp<Node>, verb: &str, joinable: bool) -> Option<String> {
        let kinds: &[&str] = if joinable { &["joinable_queue"] } else { &["queue", "joinable_queue"] };
        self.resource(node, kinds, verb).map(|(n, _)| n)
    }

    pub(super) fn queue(&mut self, node: &Sp<Node>, verb: &str) -> Option<QueueRef> {
        let s = fields::string(node, "a queue", self.sink)?;
        if let Some((manager, queue)) = s.v.split_once('/') {
            return match self.known.kind_of(manager) {
                Some(ResourceKind::Manager { queues, .. }) if queues.iter().any(|q| q == queue) => {
                    Some(QueueRef::Remote { manager: manager.to_string(), queue: queue.to_string() })
                }
                Some(ResourceKind::Manager { queues, .. }) => {
                    let q: Vec<&str> = queues.iter().map(String::as_str).collect();
                    self.sink.error(
                        &s.span,
                        format!(
                            "manager `{manager}` serves no queue `{queue}`; {}",
                            did_you_mean(queue, &q, "it serves")
                        ),
                    );
                    None
                }
                _ => {
                    self.sink.error(
                        &s.span,
                        format!("`{manager}` is not a manager resource (write `manager/queue` for a remote queue)"),
                    );
                    None
                }
            };
        }
        self.local_queue(node, verb, false).map(QueueRef::Local)
    }

    pub(super) fn pipe_end(&mut self, node: &Sp<Node>) -> Option<PipeRef> {
        let s = fields::string(node, "a pipe end", self.sink)?;
        let parsed = s.v.rsplit_once('.').and_then(|(p, e)| match e {
            "a" => Some((p, 'a')),
            "b" => Some((p, 'b')),
            _ => None,
        });
        let Some((pipe, end)) = parsed else {
            let what =
                self.known.kind_of(&s.v).map(|k| format!(" (it is {} {})", a(k.word()), k.word())).unwrap_or_default();
            self.sink.error(&s.span, format!("`{}` is not a pipe end{what}; write `PIPE.a` or `PIPE.b`", s.v));
            return None;
        };
        match self.known.kind_of(pipe) {
            Some(ResourceKind::Pipe { .. }) => Some(PipeRef { pipe: pipe.to_string(), end }),
            _ => {
                let pipes: Vec<&str> =
                    self.known.resources.iter().filter(|(_, k)| k.word() == "pipe").map(|(n, _)| n.as_str()).collect();
                let hint = did_you_mean(pipe, &pipes, "pipes defined:");
                self.sink.error(&s.span, format!("unknown pipe `{pipe}`; {hint}"));
                None
            }
        }
    }

    pub(super) fn close_target(&mut self, node: &Sp<Node>) -> Option<CloseTarget> {
        if let Node::Str(s) = &node.v {
            match self.known.kind_of(s) {
                Some(ResourceKind::Pool { .. }) => return Some(CloseTarget::Pool(s.clone())),
                Some(ResourceKind::Queue { .. }) => return Some(CloseTarget::Queue(s.clone())),
                _ => {}
            }
        }
        self.pipe_end(node).map(CloseTarget::Pipe)
    }
}

/// The indefinite article for a kind's word.
fn a(word: &str) -> &'static str {
    // `rlock` reads "ar-lock".
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) || word == "rlock" { "an" } else { "a" }
}
