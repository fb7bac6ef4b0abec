//! Parsing in stages: TOML into a spanned tree ([`crate::tree`]), a first pass that learns the
//! names (resources, actor definitions and their parameters, actor instances), then the
//! validated model, each reference checked where it is written. Every problem is collected.

mod divergence;
mod expect;
mod fields;
mod steps;
mod values;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::backend::Backend;
use crate::diag::{Diagnostic, Diagnostics, LineIndex, Sink, line_col, one_of};
use crate::model::{ActorDef, DEFAULT_TIMEOUT, MAIN, Resource, ResourceKind, Scenario};
use crate::tree::{self, Node, Sp};

use fields::Fields;

const TOP_KEYS: [&str; 8] =
    ["title", "chapter", "timeout_ms", "backends", "resources", "actors", "expect", "divergence"];
const RESOURCE_KINDS: [&str; 7] = ["queue", "pipe", "lock", "variable", "local", "pool", "manager"];

/// The names a scenario defines, learnt before its steps are read. Lists keep file order (for
/// messages); lookups go through hash maps, so that a file with many names stays linear.
pub(crate) struct Known {
    pub(crate) lines: LineIndex,
    pub(crate) resources: Vec<(String, ResourceKind)>,
    resource_at: HashMap<String, usize>,
    /// Actor definitions with their parameters.
    pub(crate) actors: Vec<(String, Vec<String>)>,
    actor_at: HashMap<String, usize>,
    /// `main`, and every instance a `start` or `fork` step names literally.
    pub(crate) instances: Vec<String>,
    instance_set: HashSet<String>,
}

impl Known {
    fn new(
        source: &str,
        resources: Vec<(String, ResourceKind)>,
        actors: Vec<(String, Vec<String>)>,
        instances: Vec<String>,
    ) -> Known {
        let index = |names: Vec<&String>| -> HashMap<String, usize> {
            let mut map = HashMap::new();
            for (i, n) in names.into_iter().enumerate() {
                map.entry(n.clone()).or_insert(i);
            }
            map
        };
        Known {
            lines: LineIndex::new(source),
            resource_at: index(resources.iter().map(|(n, _)| n).collect()),
            actor_at: index(actors.iter().map(|(n, _)| n).collect()),
            instance_set: instances.iter().cloned().collect(),
            resources,
            actors,
            instances,
        }
    }

    pub(crate) fn kind_of(&self, name: &str) -> Option<&ResourceKind> {
        self.resource_at.get(name).map(|&i| &self.resources[i].1)
    }

    /// The parameters of an actor definition, if it is defined.
    pub(crate) fn params_of(&self, actor: &str) -> Option<&[String]> {
        self.actor_at.get(actor).map(|&i| self.actors[i].1.as_slice())
    }

    pub(crate) fn is_instance(&self, name: &str) -> bool {
        self.instance_set.contains(name)
    }
}

/// Parses and validates one scenario; `path` names it in diagnostics and gives its name.
pub fn parse_str(path: &Path, source: &str) -> Result<Scenario, Diagnostics> {
    let mut sink = Sink::new(path, source);
    let scenario = parse_into(path, source, &mut sink);
    match scenario {
        Some(s) if sink.is_empty() => Ok(s),
        _ => Err(Diagnostics(sink.finish())),
    }
}

/// Parses a file's bytes: text that is not UTF-8 is a diagnostic at the first byte that is not.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Scenario, Diagnostics> {
    match std::str::from_utf8(bytes) {
        Ok(source) => parse_str(path, source),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col(valid, valid.len());
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            let message = match e.error_len() {
                Some(_) => {
                    format!("the file is not valid UTF-8: byte {byte:#04x} cannot start or continue a character here")
                }
                None => "the file is not valid UTF-8: it ends in the middle of a character".to_string(),
            };
            Err(Diagnostics(vec![Diagnostic { file: path.to_path_buf(), line, column, message }]))
        }
    }
}

fn parse_into(path: &Path, source: &str, sink: &mut Sink<'_>) -> Option<Scenario> {
    let root = match tree::parse(source) {
        Ok(root) => root,
        Err((span, message)) => {
            sink.error(&span, format!("invalid TOML: {message}"));
            return None;
        }
    };
    let mut top = Fields::of(&root, "the scenario", sink)?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let title =
        top.take("title").and_then(|t| fields::string(t, "`title`", sink)).map(|s| s.v).unwrap_or_else(|| name.clone());
    let chapter = top.take("chapter").and_then(|c| fields::int(c, "`chapter`", 1, 99, sink)).map(|c| c as u32);
    let timeout = top
        .take("timeout_ms")
        .and_then(|t| fields::int(t, "`timeout_ms`", 1, 3_600_000, sink))
        .map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms as u64));
    let backends_node = top.take("backends");
    let resources_node = top.take("resources");
    let actors_node = top.take("actors");
    let expect_node = top.take("expect");
    let divergence_node = top.take("divergence");
    top.finish(&TOP_KEYS, sink);

    let resources = resources_node.map(|r| resources(r, sink)).unwrap_or_default();
    let Some(actors_node) = actors_node else {
        sink.error(&(0..0), "a scenario needs `[actors.main]`, the actor the run starts with");
        return None;
    };
    let raw_actors = actor_tables(actors_node, sink);
    if !raw_actors.iter().any(|(n, _, _)| n.v == MAIN) {
        sink.error(&actors_node.span, "a scenario needs `[actors.main]`, the actor the run starts with");
    }
    let mut instances = vec![MAIN.to_string()];
    let mut seen: HashSet<String> = instances.iter().cloned().collect();
    let defined: HashSet<&str> = raw_actors.iter().map(|(n, _, _)| n.v.as_str()).collect();
    for (_, _, steps) in &raw_actors {
        if let Some(steps) = steps {
            collect_instances(steps, &defined, &mut instances, &mut seen);
        }
    }
    let known = Known::new(
        source,
        resources.iter().map(|r| (r.name.clone(), r.kind.clone())).collect(),
        raw_actors.iter().map(|(n, p, _)| (n.v.clone(), p.clone())).collect(),
        instances,
    );
    check_pipe_owners(&resources, resources_node, &known, sink);

    let mut actors = Vec::new();
    for (name, params, steps) in &raw_actors {
        let mut parser =
            steps::StepParser { known: &known, scope: values::Scope { params, known: &known }, sink: &mut *sink };
        let steps = steps.map(|s| parser.steps(s, "`steps`")).unwrap_or_default();
        actors.push(ActorDef { name: name.v.clone(), params: params.clone(), steps });
    }
    // `main` first: it is what runs first, and the canonical first actor of every trace.
    actors.sort_by_key(|a| a.name != MAIN);
    let backends = backends_node.and_then(|b| backend_list(b, sink));
    let expect = expect_node.map(|e| expect::parse(e, &known, sink)).unwrap_or_default();
    let divergences = divergence_node.map(|d| divergence::parse(d, expect_node, &known, sink)).unwrap_or_default();
    let mut scenario = Scenario {
        name,
        path: path.to_path_buf(),
        title,
        chapter,
        timeout,
        backends,
        resources,
        actors,
        expect,
        divergences: Vec::new(),
    };
    divergence::check(&scenario, &divergences, sink);
    scenario.divergences = divergences.into_iter().map(|d| d.divergence).collect();
    Some(scenario)
}

fn resources(node: &Sp<Node>, sink: &mut Sink<'_>) -> Vec<Resource> {
    let Some(mut f) = Fields::of(node, "`resources`", sink) else { return Vec::new() };
    f.rest()
        .into_iter()
        .filter_map(|(name, spec)| Some(Resource { name: name.v.clone(), kind: resource_kind(&name.v, spec, sink)? }))
        .collect()
}

fn resource_kind(name: &str, spec: &Sp<Node>, sink: &mut Sink<'_>) -> Option<ResourceKind> {
    let unknown = |sink: &mut Sink<'_>, s: &Sp<String>| {
        sink.error(&s.span, format!("unknown resource kind `{}`; expected {}", s.v, one_of(&RESOURCE_KINDS)));
    };
    if let Node::Str(s) = &spec.v {
        let s = Sp { v: s.clone(), span: spec.span.clone() };
        return match s.v.as_str() {
            "queue" => Some(ResourceKind::Queue),
            "lock" => Some(ResourceKind::Lock),
            "local" => Some(ResourceKind::Local),
            "variable" => Some(ResourceKind::Variable { initial: 0 }),
            "pipe" | "pool" | "manager" => {
                sink.error(&s.span, format!("a {} needs settings: write it as a table, e.g. {}", s.v, example(&s.v)));
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
        sink.error(&spec.span, format!("a resource table needs `kind`: {}", one_of(&RESOURCE_KINDS)));
        return None;
    };
    let (kind, allowed): (Option<ResourceKind>, &[&str]) = match kind.v.as_str() {
        "queue" => (Some(ResourceKind::Queue), &["kind"]),
        "lock" => (Some(ResourceKind::Lock), &["kind"]),
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
            let kind = queues
                .zip(key)
                .map(|(q, k)| ResourceKind::Manager { queues: q.into_iter().map(|s| s.v).collect(), authkey: k.v });
            (kind, &["kind", "queues", "authkey"])
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

type RawActor<'t> = (Sp<String>, Vec<String>, Option<&'t Sp<Node>>);

fn actor_tables<'t>(node: &'t Sp<Node>, sink: &mut Sink<'_>) -> Vec<RawActor<'t>> {
    let Some(mut all) = Fields::of(node, "`actors`", sink) else { return Vec::new() };
    let mut out = Vec::new();
    for (name, body) in all.rest() {
        let Some(mut f) = Fields::of(body, format!("actor `{}`", name.v), sink) else { continue };
        let params = f.take("params").and_then(|p| fields::strings(p, "`params`", sink)).unwrap_or_default();
        let steps = f.take("steps");
        if steps.is_none() {
            sink.error(&name.span, format!("actor `{}` needs `steps`", name.v));
        }
        f.finish(&["params", "steps"], sink);
        out.push((name.clone(), params.into_iter().map(|p| p.v).collect(), steps));
    }
    out
}

/// Instance names written literally in `start`/`fork` steps (`as`, or the definition's name).
fn collect_instances(node: &Sp<Node>, defined: &HashSet<&str>, out: &mut Vec<String>, seen: &mut HashSet<String>) {
    match &node.v {
        Node::Array(items) => items.iter().for_each(|i| collect_instances(i, defined, out, seen)),
        Node::Table(t) => {
            let get = |k: &str| t.iter().find(|(key, _)| key.v == k).map(|(_, v)| &v.v);
            let started = get("start").or_else(|| get("fork"));
            if let Some(Node::Str(def)) = started
                && defined.contains(&def.as_str())
            {
                let name = match get("as") {
                    Some(Node::Str(n)) if !n.contains('{') => n.clone(),
                    Some(_) => String::new(),
                    None => def.clone(),
                };
                if !name.is_empty() && seen.insert(name.clone()) {
                    out.push(name);
                }
            }
            for key in ["do", "loop"] {
                if let Some((_, v)) = t.iter().find(|(k, _)| k.v == key) {
                    collect_instances(v, defined, out, seen);
                }
            }
        }
        _ => {}
    }
}

fn check_pipe_owners(resources: &[Resource], node: Option<&Sp<Node>>, known: &Known, sink: &mut Sink<'_>) {
    let span = node.map(|n| n.span.clone()).unwrap_or(0..0);
    for r in resources {
        if let ResourceKind::Pipe { a, b } = &r.kind {
            for owner in [a, b] {
                if known.params_of(owner).is_none() {
                    let names: Vec<&str> = known.actors.iter().map(|(n, _)| n.as_str()).collect();
                    sink.error(
                        &span,
                        format!("pipe `{}`: unknown actor `{owner}`; defined actors: {}", r.name, one_of(&names)),
                    );
                }
            }
        }
    }
}

fn backend_list(node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<Vec<Backend>> {
    let names = fields::strings(node, "`backends`", sink)?;
    let mut out = Vec::new();
    for n in names {
        match Backend::parse(&n.v) {
            Some(b) => out.push(b),
            None => {
                let all: Vec<&str> = Backend::ALL.iter().map(|b| b.as_str()).collect();
                sink.error(&n.span, format!("unknown backend `{}`; expected {}", n.v, one_of(&all)));
            }
        }
    }
    Some(out)
}
