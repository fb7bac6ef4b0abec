//! Each verb's own keys, read into its [`StepKind`].

use crate::diag::did_you_mean;
use crate::model::{
    Crash, InstanceQuery, Int, JoinTarget, QueueQuery, StepKind, SyncKind, SyncQuery, Tasks, ValueExpr,
};
use crate::template::Template;
use crate::tree::{Node, Sp};

use super::super::fields::{self, Fields};
use super::super::values;
use super::{MAX_MS, StepParser};

const LOCKABLE: [SyncKind; 5] =
    [SyncKind::Lock, SyncKind::RLock, SyncKind::Semaphore, SyncKind::BoundedSemaphore, SyncKind::Condition];

impl StepParser<'_, '_, '_> {
    pub(super) fn kind(&mut self, verb: &str, target: &Sp<Node>, f: &mut Fields<'_>) -> Option<StepKind> {
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
                    let host = self.start_host(f)?;
                    StepKind::Start { actor, name, args, host }
                }
            }
            "join" => {
                let target_kind = self.join_target(target)?;
                let timeout = self.timeout(f)?;
                if timeout.is_some() && !matches!(target_kind, JoinTarget::Instance(_)) {
                    self.sink.error(
                        &target.span,
                        "`timeout_ms` applies to joining an actor instance; a pool or a joinable queue is joined \
                         until everything is done (as in CPython)",
                    );
                    return None;
                }
                StepKind::Join { target: target_kind, timeout }
            }
            "terminate" => StepKind::Terminate(self.stop_target(target, "terminate")?),
            "kill" => StepKind::Kill(self.stop_target(target, "kill")?),
            "is_alive" | "exitcode" => {
                let query = if verb == "is_alive" { InstanceQuery::IsAlive } else { InstanceQuery::Exitcode };
                StepKind::Instance { query, target: self.instance(target, "asked about")? }
            }
            "put" => {
                let queue = self.queue(target, verb)?;
                let value = self.required_value(f, "value", target)?;
                StepKind::Put { queue, value, timeout: self.timeout(f)? }
            }
            "get" => StepKind::Get { queue: self.queue(target, verb)?, timeout: self.timeout(f)? },
            "qsize" | "empty" | "full" => {
                let query = match verb {
                    "qsize" => QueueQuery::Qsize,
                    "empty" => QueueQuery::Empty,
                    _ => QueueQuery::Full,
                };
                StepKind::Queue { query, queue: self.local_queue(target, verb, false)? }
            }
            "task_done" => StepKind::TaskDone(self.local_queue(target, verb, true)?),
            "send" => StepKind::Send { end: self.pipe_end(target)?, value: self.required_value(f, "value", target)? },
            "recv" => StepKind::Recv { end: self.pipe_end(target)?, timeout: self.timeout(f)? },
            "close" => StepKind::Close(self.close_target(target)?),
            "acquire" => {
                let (name, _) = self.sync(target, &LOCKABLE, verb)?;
                StepKind::Acquire { target: name, timeout: self.timeout(f)? }
            }
            "release" => {
                let (name, on) = self.sync(target, &LOCKABLE, verb)?;
                StepKind::Release { target: name, on }
            }
            "locked" | "is_set" | "n_waiting" | "broken" => {
                let (query, kinds) = match verb {
                    "locked" => (SyncQuery::Locked, &[SyncKind::Lock][..]),
                    "is_set" => (SyncQuery::IsSet, &[SyncKind::Event][..]),
                    "n_waiting" => (SyncQuery::NWaiting, &[SyncKind::Barrier][..]),
                    _ => (SyncQuery::Broken, &[SyncKind::Barrier][..]),
                };
                StepKind::Sync { query, target: self.sync(target, kinds, verb)?.0 }
            }
            "set" => StepKind::Set(self.sync(target, &[SyncKind::Event], verb)?.0),
            "clear" => StepKind::Clear(self.sync(target, &[SyncKind::Event], verb)?.0),
            "wait" => {
                let kinds = [SyncKind::Event, SyncKind::Condition, SyncKind::Barrier];
                let (name, on) = self.sync(target, &kinds, verb)?;
                StepKind::Wait { target: name, on, timeout: self.timeout(f)? }
            }
            "notify" => {
                let (condition, _) = self.sync(target, &[SyncKind::Condition], verb)?;
                let n = match f.take("n") {
                    Some(n) => Some(values::int(n, "`n`", 0, 1_000_000, &self.scope, self.sink)?),
                    None => None,
                };
                StepKind::Notify { condition, n }
            }
            "notify_all" => StepKind::NotifyAll(self.sync(target, &[SyncKind::Condition], verb)?.0),
            "abort" => StepKind::Abort(self.sync(target, &[SyncKind::Barrier], verb)?.0),
            "reset" => StepKind::Reset(self.sync(target, &[SyncKind::Barrier], verb)?.0),
            "add" => StepKind::Add {
                variable: self.resource(target, &["variable"], verb)?.0,
                amount: self.required_value(f, "amount", target)?,
            },
            "read" => StepKind::Read(self.resource(target, &["variable"], verb)?.0),
            "set_local" => StepKind::SetLocal {
                local: self.resource(target, &["local"], verb)?.0,
                value: self.required_value(f, "value", target)?,
            },
            "get_local" => StepKind::GetLocal(self.resource(target, &["local"], verb)?.0),
            "run" => {
                let argv = fields::strings(target, "`run`", self.sink)?;
                if argv.is_empty() {
                    self.sink.error(
                        &target.span,
                        "`run` needs a tool name, e.g. [\"upper\"]; tools: upper, exit, sleep, echo, lookup",
                    );
                    return None;
                }
                let argv =
                    argv.iter().map(|a| values::template(a, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
                let stdin = match f.take("stdin") {
                    Some(s) => Some(self.template(s, "`stdin`")?),
                    None => None,
                };
                StepKind::Run { argv, stdin, timeout: self.timeout(f)? }
            }
            "repeat" => {
                let times = values::int(target, "`repeat`", 0, 100_000_000, &self.scope, self.sink)?;
                StepKind::Repeat { times, body: self.body(f, target)? }
            }
            "for_each" => {
                let items = fields::array(target, "`for_each`", self.sink)?;
                let items =
                    items.iter().map(|i| values::value(i, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
                StepKind::ForEach { items, body: self.body(f, target)? }
            }
            "loop" => {
                let until = match f.take("until") {
                    Some(u) => Some(self.error_kind(u)?),
                    None => None,
                };
                let until_value = match f.take("until_value") {
                    Some(v) => Some(values::value(v, &self.scope, self.sink)?),
                    None => None,
                };
                StepKind::Loop { until, until_value, body: self.steps(target, "`loop`") }
            }
            "sleep_ms" => StepKind::Sleep(self.millis(target, "`sleep_ms`")?),
            "submit" => StepKind::Submit(self.tasks(target, f)?),
            "map" => {
                let tasks = self.tasks(target, f)?;
                StepKind::Map { tasks, timeout: self.timeout(f)? }
            }
            "imap" => {
                let tasks = self.tasks(target, f)?;
                StepKind::Imap { tasks, body: self.body(f, target)? }
            }
            "result" => StepKind::Result { task: self.task(target)?, timeout: self.timeout(f)? },
            "return" => StepKind::Return(values::value(target, &self.scope, self.sink)?),
            "serve" => StepKind::Serve(self.resource(target, &["manager"], verb)?.0),
            "shutdown" => StepKind::Shutdown(self.resource(target, &["manager"], verb)?.0),
            "connect" => {
                let manager = self.resource(target, &["manager"], verb)?.0;
                let authkey = match f.take("authkey") {
                    Some(k) => Some(self.template(k, "`authkey`")?),
                    None => None,
                };
                StepKind::Connect { manager, authkey }
            }
            "exit" => StepKind::Exit(values::int(target, "`exit`", 0, 255, &self.scope, self.sink)?),
            "crash" => {
                let how = fields::string(target, "`crash`", self.sink)?;
                let all = ["panic", "abort", "segfault", "kill"];
                StepKind::Crash(match how.v.as_str() {
                    "panic" => Crash::Panic,
                    "abort" => Crash::Abort,
                    "segfault" => Crash::Segfault,
                    "kill" => Crash::Kill,
                    other => {
                        let hint = did_you_mean(other, &all, "expected");
                        self.sink.error(&how.span, format!("unknown crash `{other}`; {hint}"));
                        return None;
                    }
                })
            }
            "link" | "cut" | "restore" => self.link_step(verb, target, f)?,
            _ => unreachable!("verb {verb} is in VERBS"),
        })
    }

    fn millis(&mut self, node: &Sp<Node>, what: &str) -> Option<Int> {
        values::int(node, what, 0, MAX_MS, &self.scope, self.sink)
    }

    /// `pool`, `actor`, `items` and `as` of `submit`, `map` and `imap`.
    fn tasks(&mut self, target: &Sp<Node>, f: &mut Fields<'_>) -> Option<Tasks> {
        let pool = self.resource(target, &["pool"], "a task")?.0;
        let actor = self.required(f, "actor", "the actor definition each task runs", target)?;
        let actor = self.actor_def(actor)?;
        let items = self.required(f, "items", "one task per item", target)?;
        let items = fields::array(items, "`items`", self.sink)?;
        let items: Vec<ValueExpr> =
            items.iter().map(|i| values::value(i, &self.scope, self.sink)).collect::<Option<Vec<_>>>()?;
        let name = match f.take("as") {
            Some(n) => Some(self.template(n, "`as`")?),
            None => None,
        };
        Some(Tasks { pool, actor, items, name })
    }
}
