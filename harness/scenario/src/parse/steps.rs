//! Steps: one verb per table, its target checked against the scenario's actors and resources.

use crate::diag::{Sink, one_of};
use crate::model::{CloseTarget, Crash, ErrorKind, PipeRef, QueueRef, ResourceKind, Step, StepKind, ValueExpr};
use crate::template::Template;
use crate::tree::{Node, Sp};

use super::Known;
use super::fields::{self, Fields};
use super::values::{self, Scope};

/// Every verb with the keys it accepts besides itself and `expect`.
pub(crate) const VERBS: &[(&str, &[&str])] = &[
    ("print", &[]),
    ("start", &["as", "args"]),
    ("fork", &["as"]),
    ("join", &["timeout_ms"]),
    ("terminate", &[]),
    ("kill", &[]),
    ("put", &["value"]),
    ("get", &["timeout_ms"]),
    ("send", &["value"]),
    ("recv", &["timeout_ms"]),
    ("close", &[]),
    ("acquire", &[]),
    ("release", &[]),
    ("add", &["amount"]),
    ("read", &[]),
    ("set_local", &["value"]),
    ("get_local", &[]),
    ("run", &["stdin", "timeout_ms"]),
    ("repeat", &["do"]),
    ("for_each", &["do"]),
    ("loop", &["until"]),
    ("sleep_ms", &[]),
    ("submit", &["actor", "items"]),
    ("serve", &[]),
    ("connect", &["authkey"]),
    ("shutdown", &[]),
    ("exit", &[]),
    ("crash", &[]),
];

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
                let keys: Vec<String> = f.rest().iter().map(|(k, _)| format!("`{}`", k.v)).collect();
                let found =
                    if keys.is_empty() { "an empty table".to_string() } else { format!("keys {}", keys.join(", ")) };
                self.sink
                    .error(&f.span, format!("unknown step: found {found}; a step is one of {}", one_of(&verb_names())));
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
        let kind = self.kind(verb, target, &mut f);
        let mut allowed = vec![verb, "expect"];
        allowed.extend_from_slice(extra);
        f.finish(&allowed, self.sink);
        if let (Some(kind), Some(e)) = (&kind, expect) {
            self.check_expect(kind, e, node);
        }
        Some(Step { line, kind: kind?, expect })
    }

    fn error_kind(&mut self, node: &Sp<Node>) -> Option<ErrorKind> {
        let s = fields::string(node, "`expect`", self.sink)?;
        let found = ErrorKind::ALL.iter().find(|(w, _)| *w == s.v).map(|(_, k)| *k);
        if found.is_none() {
            let words: Vec<&str> = ErrorKind::ALL.iter().map(|(w, _)| *w).collect();
            self.sink.error(&s.span, format!("unknown error kind `{}`; expected {}", s.v, one_of(&words)));
        }
        found
    }

    fn check_expect(&mut self, kind: &StepKind, e: ErrorKind, node: &Sp<Node>) {
        let fits = match e {
            ErrorKind::Eof => matches!(kind, StepKind::Recv { .. }),
            ErrorKind::Timeout => match kind {
                StepKind::Get { timeout, .. } | StepKind::Recv { timeout, .. } | StepKind::Join { timeout, .. } => {
                    timeout.is_some()
                }
                StepKind::Run { timeout, .. } => timeout.is_some(),
                _ => false,
            },
            ErrorKind::AuthRefused => matches!(kind, StepKind::Connect { .. }),
        };
        if !fits {
            let needs = match e {
                ErrorKind::Eof => "a `recv`",
                ErrorKind::Timeout => "a `get`, `recv`, `join` or `run` with `timeout_ms`",
                ErrorKind::AuthRefused => "a `connect`",
            };
            self.sink.error(&node.span, format!("`expect = \"{}\"` needs {needs}, not `{}`", e.as_str(), kind.verb()));
        }
    }

    fn kind(&mut self, verb: &str, target: &Sp<Node>, f: &mut Fields<'_>) -> Option<StepKind> {
        let timeout = |me: &mut Self, f: &mut Fields<'_>| {
            f.take("timeout_ms").and_then(|t| fields::millis(t, "`timeout_ms`", me.sink))
        };
        Some(match verb {
            "print" => StepKind::Print(self.template(target, "`print`")?),
            "start" | "fork" => {
                let actor = self.actor_def(target)?;
                let name = match f.take("as") {
                    Some(n) => self.template(n, "`as`")?,
                    None => Template::literal(&actor),
                };
                if verb == "fork" {
                    StepKind::Fork { actor, name }
                } else {
                    let args = self.args(&actor, f.take("args"), target)?;
                    StepKind::Start { actor, name, args }
                }
            }
            "join" => {
                let target = self.join_target(target)?;
                StepKind::Join { target, timeout: timeout(self, f) }
            }
            "terminate" => StepKind::Terminate(self.instance(target)?),
            "kill" => StepKind::Kill(self.instance(target)?),
            "put" => StepKind::Put { queue: self.queue(target)?, value: self.required_value(f, "value", target)? },
            "get" => StepKind::Get { queue: self.queue(target)?, timeout: timeout(self, f) },
            "send" => StepKind::Send { end: self.pipe_end(target)?, value: self.required_value(f, "value", target)? },
            "recv" => StepKind::Recv { end: self.pipe_end(target)?, timeout: timeout(self, f) },
            "close" => StepKind::Close(self.close_target(target)?),
            "acquire" => StepKind::Acquire(self.resource(target, "lock")?),
            "release" => StepKind::Release(self.resource(target, "lock")?),
            "add" => StepKind::Add {
                variable: self.resource(target, "variable")?,
                amount: self.required_value(f, "amount", target)?,
            },
            "read" => StepKind::Read(self.resource(target, "variable")?),
            "set_local" => StepKind::SetLocal {
                local: self.resource(target, "local")?,
                value: self.required_value(f, "value", target)?,
            },
            "get_local" => StepKind::GetLocal(self.resource(target, "local")?),
            "run" => {
                let argv = fields::strings(target, "`run`", self.sink)?;
                if argv.is_empty() {
                    self.sink.error(
                        &target.span,
                        "`run` needs a tool name, e.g. [\"upper\"]; tools: upper, exit, sleep, echo",
                    );
                    return None;
                }
                let argv =
                    argv.iter().map(|a| values::template(a, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
                let stdin = match f.take("stdin") {
                    Some(s) => Some(self.template(s, "`stdin`")?),
                    None => None,
                };
                StepKind::Run { argv, stdin, timeout: timeout(self, f) }
            }
            "repeat" => {
                let times = fields::int(target, "`repeat`", 0, 100_000_000, self.sink)? as u64;
                StepKind::Repeat { times, body: self.body(f, target)? }
            }
            "for_each" => {
                let items = fields::array(target, "`for_each`", self.sink)?;
                let items =
                    items.iter().map(|i| values::value(i, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
                StepKind::ForEach { items, body: self.body(f, target)? }
            }
            "loop" => {
                let until = f.take("until").and_then(|u| self.error_kind(u));
                StepKind::Loop { until, body: self.steps(target, "`loop`") }
            }
            "sleep_ms" => StepKind::Sleep(fields::millis(target, "`sleep_ms`", self.sink)?),
            "submit" => {
                let pool = self.resource(target, "pool")?;
                let Some(actor) = f.take("actor") else {
                    self.sink.error(&target.span, "`submit` needs `actor`: the actor definition each task runs");
                    return None;
                };
                let actor = self.actor_def(actor)?;
                let Some(items) = f.take("items") else {
                    self.sink.error(&target.span, "`submit` needs `items`: one task per item");
                    return None;
                };
                let items = fields::array(items, "`items`", self.sink)?;
                let items =
                    items.iter().map(|i| values::value(i, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
                StepKind::Submit { pool, actor, items }
            }
            "serve" => StepKind::Serve(self.resource(target, "manager")?),
            "shutdown" => StepKind::Shutdown(self.resource(target, "manager")?),
            "connect" => {
                let manager = self.resource(target, "manager")?;
                let authkey = match f.take("authkey") {
                    Some(k) => Some(self.template(k, "`authkey`")?),
                    None => None,
                };
                StepKind::Connect { manager, authkey }
            }
            "exit" => StepKind::Exit(fields::int(target, "`exit`", 0, 255, self.sink)? as i32),
            "crash" => {
                let how = fields::string(target, "`crash`", self.sink)?;
                StepKind::Crash(match how.v.as_str() {
                    "panic" => Crash::Panic,
                    "abort" => Crash::Abort,
                    "segfault" => Crash::Segfault,
                    other => {
                        self.sink.error(
                            &how.span,
                            format!("unknown crash `{other}`; expected {}", one_of(&["panic", "abort", "segfault"])),
                        );
                        return None;
                    }
                })
            }
            _ => unreachable!("verb {verb} is in VERBS"),
        })
    }

    fn template(&mut self, node: &Sp<Node>, what: &str) -> Option<Template> {
        let s = fields::string(node, what, self.sink)?;
        values::template(&s, &self.scope, self.sink)
    }

    fn required_value(&mut self, f: &mut Fields<'_>, key: &str, at: &Sp<Node>) -> Option<ValueExpr> {
        match f.take(key) {
            Some(v) => values::value(v, &self.scope, self.sink),
            None => {
                self.sink.error(&at.span, format!("this step needs `{key}`"));
                None
            }
        }
    }

    fn body(&mut self, f: &mut Fields<'_>, at: &Sp<Node>) -> Option<Vec<Step>> {
        match f.take("do") {
            Some(d) => Some(self.steps(d, "`do`")),
            None => {
                self.sink.error(&at.span, "this step needs `do`: the steps to repeat");
                None
            }
        }
    }

    fn actor_def(&mut self, node: &Sp<Node>) -> Option<String> {
        let s = fields::string(node, "an actor name", self.sink)?;
        if s.v == crate::model::MAIN {
            self.sink.error(&s.span, "`main` is started by the run itself and cannot be started again");
            return None;
        }
        if self.known.params_of(&s.v).is_some() {
            return Some(s.v);
        }
        let names: Vec<&str> =
            self.known.actors.iter().map(|(a, _)| a.as_str()).filter(|a| *a != crate::model::MAIN).collect();
        self.sink.error(&s.span, format!("unknown actor `{}`; defined actors: {}", s.v, one_of(&names)));
        None
    }

    fn args(&mut self, actor: &str, node: Option<&Sp<Node>>, at: &Sp<Node>) -> Option<Vec<(String, ValueExpr)>> {
        let params = self.known.params_of(actor).map(<[String]>::to_vec).unwrap_or_default();
        let mut args = Vec::new();
        if let Some(node) = node {
            let mut f = Fields::of(node, "`args`", self.sink)?;
            for (k, v) in f.rest() {
                if !params.contains(&k.v) {
                    let p: Vec<&str> = params.iter().map(String::as_str).collect();
                    self.sink.error(
                        &k.span,
                        format!("actor `{actor}` has no parameter `{}`; its parameters: {}", k.v, one_of(&p)),
                    );
                    continue;
                }
                args.push((k.v.clone(), values::value(v, &self.scope, self.sink)?));
            }
        }
        let missing: Vec<&String> = params.iter().filter(|p| !args.iter().any(|(a, _)| a == *p)).collect();
        if !missing.is_empty() {
            let m: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            self.sink.error(&at.span, format!("starting `{actor}` needs `args` for {}", one_of(&m)));
            return None;
        }
        Some(args)
    }

    fn instance(&mut self, node: &Sp<Node>) -> Option<String> {
        let s = fields::string(node, "an actor instance", self.sink)?;
        if s.v == crate::model::MAIN {
            self.sink.error(&s.span, "`main` is the run itself: it cannot be joined, terminated or killed");
            return None;
        }
        if self.known.is_instance(&s.v) {
            return Some(s.v);
        }
        let known: Vec<&str> = self.known.instances.iter().map(String::as_str).collect();
        self.sink.error(
            &s.span,
            format!("unknown actor instance `{}`; instances started in this scenario: {}", s.v, one_of(&known)),
        );
        None
    }

    fn join_target(&mut self, node: &Sp<Node>) -> Option<String> {
        if let Node::Str(s) = &node.v
            && matches!(self.known.kind_of(s), Some(ResourceKind::Pool { .. }))
        {
            return Some(s.clone());
        }
        self.instance(node)
    }

    /// A resource of the given kind, or a clear error listing the ones of that kind.
    fn resource(&mut self, node: &Sp<Node>, kind: &str) -> Option<String> {
        let s = fields::string(node, &format!("a {kind} name"), self.sink)?;
        match self.known.kind_of(&s.v) {
            Some(k) if k.word() == kind => Some(s.v),
            Some(k) => {
                self.sink.error(&s.span, format!("`{}` is a {}, but this step needs a {kind}", s.v, k.word()));
                None
            }
            None => {
                let same: Vec<&str> =
                    self.known.resources.iter().filter(|(_, k)| k.word() == kind).map(|(n, _)| n.as_str()).collect();
                self.sink.error(&s.span, format!("unknown {kind} `{}`; {kind}s defined: {}", s.v, one_of(&same)));
                None
            }
        }
    }

    fn queue(&mut self, node: &Sp<Node>) -> Option<QueueRef> {
        let s = fields::string(node, "a queue", self.sink)?;
        if let Some((manager, queue)) = s.v.split_once('/') {
            match self.known.kind_of(manager) {
                Some(ResourceKind::Manager { queues, .. }) if queues.iter().any(|q| q == queue) => {
                    Some(QueueRef::Remote { manager: manager.to_string(), queue: queue.to_string() })
                }
                Some(ResourceKind::Manager { queues, .. }) => {
                    let q: Vec<&str> = queues.iter().map(String::as_str).collect();
                    self.sink.error(
                        &s.span,
                        format!("manager `{manager}` serves no queue `{queue}`; it serves {}", one_of(&q)),
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
            }
        } else {
            self.resource(node, "queue").map(QueueRef::Local)
        }
    }

    fn pipe_end(&mut self, node: &Sp<Node>) -> Option<PipeRef> {
        let s = fields::string(node, "a pipe end", self.sink)?;
        let parsed = s.v.rsplit_once('.').and_then(|(p, e)| match e {
            "a" => Some((p, 'a')),
            "b" => Some((p, 'b')),
            _ => None,
        });
        let Some((pipe, end)) = parsed else {
            self.sink.error(&s.span, format!("`{}` is not a pipe end; write `PIPE.a` or `PIPE.b`", s.v));
            return None;
        };
        match self.known.kind_of(pipe) {
            Some(ResourceKind::Pipe { .. }) => Some(PipeRef { pipe: pipe.to_string(), end }),
            _ => {
                let pipes: Vec<&str> =
                    self.known.resources.iter().filter(|(_, k)| k.word() == "pipe").map(|(n, _)| n.as_str()).collect();
                self.sink.error(&s.span, format!("unknown pipe `{pipe}`; pipes defined: {}", one_of(&pipes)));
                None
            }
        }
    }

    fn close_target(&mut self, node: &Sp<Node>) -> Option<CloseTarget> {
        if let Node::Str(s) = &node.v
            && matches!(self.known.kind_of(s), Some(ResourceKind::Pool { .. }))
        {
            return Some(CloseTarget::Pool(s.clone()));
        }
        self.pipe_end(node).map(CloseTarget::Pipe)
    }
}
