//! The `[resources]` table: one entry per resource, a kind word or a table with `kind`.

use crate::diag::{Sink, did_you_mean, one_of};
use crate::model::{Resource, ResourceKind, Scope, SyncKind};
use crate::tree::{Node, Sp};

use super::fields::{self, Fields};

pub(crate) const KINDS: [&str; 14] = [
    "queue",
    "joinable_queue",
    "pipe",
    "lock",
    "rlock",
    "semaphore",
    "bounded_semaphore",
    "event",
    "condition",
    "barrier",
    "variable",
    "local",
    "pool",
    "manager",
];

const SYNC: [(&str, SyncKind); 7] = [
    ("lock", SyncKind::Lock),
    ("rlock", SyncKind::RLock),
    ("semaphore", SyncKind::Semaphore),
    ("bounded_semaphore", SyncKind::BoundedSemaphore),
    ("event", SyncKind::Event),
    ("condition", SyncKind::Condition),
    ("barrier", SyncKind::Barrier),
];

pub(crate) fn parse(node: &Sp<Node>, sink: &mut Sink<'_>) -> Vec<Resource> {
    let Some(mut f) = Fields::of(node, "`resources`", sink) else { return Vec::new() };
    f.rest()
        .into_iter()
        .filter_map(|(name, spec)| Some(Resource { name: name.v.clone(), kind: kind(&name.v, spec, sink)? }))
        .collect()
}

fn unknown(sink: &mut Sink<'_>, s: &Sp<String>) {
    sink.error(&s.span, format!("unknown resource kind `{}`; {}", s.v, did_you_mean(&s.v, &KINDS, "expected")));
}

/// The default scope: queues are `multiprocessing`'s (shared by processes, as in the chapter),
/// the primitives that wait and count are `threading`'s (one per process).
fn default_scope(kind: &str) -> Scope {
    if kind.ends_with("queue") { Scope::Shared } else { Scope::Process }
}

fn kind(name: &str, spec: &Sp<Node>, sink: &mut Sink<'_>) -> Option<ResourceKind> {
    if let Node::Str(s) = &spec.v {
        let s = Sp { v: s.clone(), span: spec.span.clone() };
        let word = s.v.as_str();
        if let Some((_, k)) = SYNC.iter().find(|(w, _)| *w == word) {
            if *k == SyncKind::Barrier {
                sink.error(
                    &s.span,
                    "a barrier needs settings: write it as a table, e.g. { kind = \"barrier\", parties = 3 }",
                );
                return None;
            }
            return Some(ResourceKind::Sync { kind: *k, scope: default_scope(word), value: 1, parties: 0 });
        }
        return match word {
            "queue" | "joinable_queue" => {
                Some(ResourceKind::Queue { maxsize: 0, joinable: word == "joinable_queue", scope: Scope::Shared })
            }
            "local" => Some(ResourceKind::Local),
            "variable" => Some(ResourceKind::Variable { initial: 0 }),
            "pipe" | "pool" | "manager" => {
                sink.error(&s.span, format!("a {word} needs settings: write it as a table, e.g. {}", example(word)));
                None
            }
            _ => {
                unknown(sink, &s);
                None
            }
        };
    }
    let mut f = Fields::of(spec, format!("resource `{name}`"), sink)?;
    let Some(kind) = f.take("kind").and_then(|k| fields::string(k, "`kind`", sink)) else {
        sink.error(&spec.span, format!("a resource table needs `kind`: {}", one_of(&KINDS)));
        return None;
    };
    let word = kind.v.as_str();
    let scope = |f: &mut Fields<'_>, sink: &mut Sink<'_>| -> Option<Scope> {
        let Some(s) = f.take("scope") else { return Some(default_scope(word)) };
        let s = fields::string(s, "`scope`", sink)?;
        match s.v.as_str() {
            "process" => Some(Scope::Process),
            "shared" => Some(Scope::Shared),
            other => {
                sink.error(
                    &s.span,
                    format!(
                        "unknown scope `{other}`; expected `process` (threading's: one per process) or `shared` \
                         (multiprocessing's: one for every process)"
                    ),
                );
                None
            }
        }
    };
    let (kind, allowed): (Option<ResourceKind>, &[&str]) = match word {
        "queue" | "joinable_queue" => {
            let maxsize = f.take("maxsize").map_or(Some(0), |m| fields::int(m, "`maxsize`", 0, 1_000_000, sink));
            let scope = scope(&mut f, sink);
            let kind = maxsize.zip(scope).map(|(m, scope)| ResourceKind::Queue {
                maxsize: m as usize,
                joinable: word == "joinable_queue",
                scope,
            });
            (kind, &["kind", "maxsize", "scope"])
        }
        w if SYNC.iter().any(|(s, _)| *s == w) => {
            let sync = SYNC.iter().find(|(s, _)| *s == w).map(|(_, k)| *k).unwrap_or(SyncKind::Lock);
            let scope = scope(&mut f, sink);
            let (value, parties, allowed): (Option<i64>, Option<i64>, &[&str]) = match sync {
                SyncKind::Semaphore | SyncKind::BoundedSemaphore => {
                    let v = f.take("value").map_or(Some(1), |v| fields::int(v, "`value`", 0, 1_000_000, sink));
                    (v, Some(0), &["kind", "scope", "value"])
                }
                SyncKind::Barrier => {
                    let p = required(&mut f, "parties", "how many actors must wait before all go on", sink)
                        .and_then(|p| fields::int(p, "`parties`", 1, 10_000, sink));
                    (Some(1), p, &["kind", "scope", "parties"])
                }
                _ => (Some(1), Some(0), &["kind", "scope"]),
            };
            let kind = match (scope, value, parties) {
                (Some(scope), Some(value), Some(parties)) => {
                    Some(ResourceKind::Sync { kind: sync, scope, value: value as u32, parties: parties as u32 })
                }
                _ => None,
            };
            (kind, allowed)
        }
        "local" => (Some(ResourceKind::Local), &["kind"]),
        "variable" => {
            let initial = f.take("initial").map_or(Some(0), |i| fields::int(i, "`initial`", i64::MIN, i64::MAX, sink));
            (initial.map(|initial| ResourceKind::Variable { initial }), &["kind", "initial"])
        }
        "pipe" => {
            let a = required(&mut f, "a", "the actor owning end `a`", sink);
            let b = required(&mut f, "b", "the actor owning end `b`", sink);
            let kind = match (a, b) {
                (Some(a), Some(b)) => fields::string(a, "`a`", sink)
                    .zip(fields::string(b, "`b`", sink))
                    .map(|(a, b)| ResourceKind::Pipe { a: a.v, b: b.v }),
                _ => None,
            };
            (kind, &["kind", "a", "b"])
        }
        "pool" => {
            let size = required(&mut f, "size", "the number of workers", sink)
                .and_then(|s| fields::int(s, "`size`", 1, 256, sink));
            (size.map(|s| ResourceKind::Pool { size: s as usize }), &["kind", "size"])
        }
        "manager" => {
            let queues = required(&mut f, "queues", "the names of the queues it serves", sink)
                .and_then(|q| fields::strings(q, "`queues`", sink));
            let key = required(&mut f, "authkey", "the shared key clients must prove", sink)
                .and_then(|k| fields::string(k, "`authkey`", sink));
            let peer = match f.take("peer_timeout_ms") {
                Some(t) => fields::int(t, "`peer_timeout_ms`", 1, 600_000, sink).map(|t| Some(t as u32)),
                None => Some(None),
            };
            let kind = queues.zip(key).zip(peer).map(|((q, k), peer_timeout_ms)| ResourceKind::Manager {
                queues: q.into_iter().map(|s| s.v).collect(),
                authkey: k.v,
                peer_timeout_ms,
            });
            (kind, &["kind", "queues", "authkey", "peer_timeout_ms"])
        }
        _ => {
            unknown(sink, &kind);
            return None;
        }
    };
    f.finish(allowed, sink);
    kind
}

fn example(kind: &str) -> &'static str {
    match kind {
        "pipe" => "{ kind = \"pipe\", a = \"main\", b = \"child\" }",
        "pool" => "{ kind = \"pool\", size = 4 }",
        _ => "{ kind = \"manager\", queues = [\"task\", \"result\"], authkey = \"abc\" }",
    }
}

fn required<'t>(f: &mut Fields<'t>, key: &str, meaning: &str, sink: &mut Sink<'_>) -> Option<&'t Sp<Node>> {
    let v = f.take(key);
    if v.is_none() {
        sink.error(&f.span, format!("{} needs `{key}`: {meaning}", f.what()));
    }
    v
}
