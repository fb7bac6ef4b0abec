//! Parsing in stages: TOML into a spanned tree ([`crate::tree`]), a first pass that learns the
//! names (resources, actor definitions and their parameters, actor instances), then the
//! validated model, each reference checked where it is written. Every problem is collected.

mod divergence;
mod expect;
mod faults;
mod fields;
mod hosts;
mod instances;
mod resources;
mod steps;
mod values;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::backend::Backend;
use crate::diag::{Diagnostic, Diagnostics, LineIndex, Sink, did_you_mean, line_col, shown};
use crate::model::{ActorDef, DEFAULT_TIMEOUT, MAIN, NamePattern, Resource, ResourceKind, Scenario};
use crate::tree::{self, Node, Sp};

use fields::Fields;

const TOP_KEYS: [&str; 10] =
    ["title", "chapter", "timeout_ms", "backends", "hosts", "resources", "actors", "expect", "divergence", "faults"];

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
    /// How pool tasks are named: `ACTOR-{n}`, or a submit's `as` template.
    pub(crate) tasks: Vec<NamePattern>,
    /// Instances some `start` or `fork` step names with a template: names made at run time.
    pub(crate) templated: Vec<NamePattern>,
    /// The declared hosts (`[hosts]`), in file order.
    pub(crate) hosts: Vec<String>,
}

impl Known {
    fn new(
        lines: LineIndex,
        resources: Vec<(String, ResourceKind)>,
        actors: Vec<(String, Vec<String>)>,
        found: instances::Found,
    ) -> Known {
        let instances = found.instances;
        let index = |names: Vec<&String>| -> HashMap<String, usize> {
            let mut map = HashMap::new();
            for (i, n) in names.into_iter().enumerate() {
                map.entry(n.clone()).or_insert(i);
            }
            map
        };
        Known {
            lines,
            resource_at: index(resources.iter().map(|(n, _)| n).collect()),
            actor_at: index(actors.iter().map(|(n, _)| n).collect()),
            instance_set: instances.iter().cloned().collect(),
            resources,
            actors,
            instances,
            tasks: found.tasks,
            templated: found.templated,
            hosts: Vec::new(),
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

    /// Whether a literal name can be a pool task's.
    pub(crate) fn is_task(&self, name: &str) -> bool {
        self.tasks.iter().any(|p| p.matches(name))
    }

    /// Whether a literal name can be an instance made by a templated `as`.
    pub(crate) fn may_be_templated(&self, name: &str) -> bool {
        self.templated.iter().any(|p| p.matches(name))
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
            // The line as far as it can be read, the byte that cannot shown as U+FFFD.
            let lossy = String::from_utf8_lossy(bytes);
            let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
            let (source_line, span) = shown(&lossy, line_start, valid.len()..valid.len() + 1);
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            let message = match e.error_len() {
                Some(_) => {
                    format!("the file is not valid UTF-8: byte {byte:#04x} cannot start or continue a character here")
                }
                None => "the file is not valid UTF-8: it ends in the middle of a character".to_string(),
            };
            Err(Diagnostics(vec![Diagnostic { file: path.to_path_buf(), line, column, message, source_line, span }]))
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
    let faults_node = top.take("faults");
    let hosts_node = top.take("hosts");
    top.finish(&TOP_KEYS, sink);

    let resources = resources_node.map(|r| resources::parse(r, sink)).unwrap_or_default();
    let declared = hosts_node.map(|h| hosts::parse(h, sink)).unwrap_or_default();
    let Some(actors_node) = actors_node else {
        sink.error(&(0..0), "a scenario needs `[actors.main]`, the actor the run starts with");
        return None;
    };
    let raw_actors = actor_tables(actors_node, sink);
    if !raw_actors.iter().any(|(n, _, _, _)| n.v == MAIN) {
        sink.error(&actors_node.span, "a scenario needs `[actors.main]`, the actor the run starts with");
    }
    let defined: HashSet<&str> = raw_actors.iter().map(|(n, _, _, _)| n.v.as_str()).collect();
    let placement = hosts::placement(declared, raw_actors.iter().map(|(n, _, _, h)| (n, *h)), &actors_node.span, sink);
    let lines = LineIndex::new(source);
    let found = instances::find(raw_actors.iter().filter_map(|(_, _, steps, _)| *steps), &defined, &lines, sink);
    let mut known = Known::new(
        lines,
        resources.iter().map(|r| (r.name.clone(), r.kind.clone())).collect(),
        raw_actors.iter().map(|(n, p, _, _)| (n.v.clone(), p.clone())).collect(),
        found,
    );
    known.hosts = placement.hosts.iter().map(|h| h.name.clone()).collect();
    check_pipe_owners(&resources, resources_node, &known, sink);

    let mut actors = Vec::new();
    for (name, params, steps, _) in &raw_actors {
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
    let faults = faults_node.and_then(|f| faults::parse(f, &expect, &known, sink));
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
        faults,
        hosts: placement,
    };
    divergence::check(&scenario, &divergences, sink);
    scenario.divergences = divergences.into_iter().map(|d| d.divergence).collect();
    Some(scenario)
}

/// An actor table: its name, parameters, steps and `host`.
type RawActor<'t> = (Sp<String>, Vec<String>, Option<&'t Sp<Node>>, Option<&'t Sp<Node>>);

fn actor_tables<'t>(node: &'t Sp<Node>, sink: &mut Sink<'_>) -> Vec<RawActor<'t>> {
    let Some(mut all) = Fields::of(node, "`actors`", sink) else { return Vec::new() };
    let mut out = Vec::new();
    for (name, body) in all.rest() {
        let Some(mut f) = Fields::of(body, format!("actor `{}`", name.v), sink) else { continue };
        let params = f.take("params").and_then(|p| fields::strings(p, "`params`", sink)).unwrap_or_default();
        let steps = f.take("steps");
        let host = f.take("host");
        if steps.is_none() {
            sink.error(&name.span, format!("actor `{}` needs `steps`", name.v));
        }
        f.finish(&["params", "steps", "host"], sink);
        out.push((name.clone(), params.into_iter().map(|p| p.v).collect(), steps, host));
    }
    out
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
                        format!(
                            "pipe `{}`: unknown actor `{owner}`; {}",
                            r.name,
                            did_you_mean(owner, &names, "defined actors:")
                        ),
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
                sink.error(&n.span, format!("unknown backend `{}`; {}", n.v, did_you_mean(&n.v, &all, "expected")));
            }
        }
    }
    Some(out)
}
