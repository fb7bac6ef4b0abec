//! The first pass over every actor's steps: the instance names `start` and `fork` steps make
//! (literal, or patterns of templated ones), how pool tasks are named, and instances started
//! more than once where that can be seen from the file alone.

use std::collections::{HashMap, HashSet};

use crate::diag::{LineIndex, Sink};
use crate::model::{MAIN, NamePattern, literal_text};
use crate::template::Template;
use crate::tree::{Node, Sp};

#[derive(Debug, Default)]
pub(crate) struct Found {
    /// `main`, then every literal instance name in file order.
    pub(crate) instances: Vec<String>,
    pub(crate) templated: Vec<NamePattern>,
    pub(crate) tasks: Vec<NamePattern>,
}

struct Walk<'a, 's, 'src> {
    defined: &'a HashSet<&'a str>,
    lines: &'a LineIndex,
    sink: &'s mut Sink<'src>,
    found: Found,
    /// Per literal name: the line of its first start.
    first: HashMap<String, usize>,
}

pub(crate) fn find<'t>(
    actors: impl Iterator<Item = &'t Sp<Node>>,
    defined: &HashSet<&str>,
    lines: &LineIndex,
    sink: &mut Sink<'_>,
) -> Found {
    let mut w = Walk { defined, lines, sink, found: Found::default(), first: HashMap::new() };
    w.found.instances.push(MAIN.to_string());
    w.first.insert(MAIN.to_string(), 0);
    for steps in actors {
        w.steps(steps, 1);
    }
    w.found
}

fn get<'t>(t: &'t [(Sp<String>, Sp<Node>)], key: &str) -> Option<&'t Sp<Node>> {
    t.iter().find(|(k, _)| k.v == key).map(|(_, v)| v)
}

/// A template's text, or `None` if it does not parse (the step parser reports that).
fn template(node: &Sp<Node>) -> Option<Template> {
    match &node.v {
        Node::Str(s) => Template::parse(s).ok(),
        _ => None,
    }
}

impl Walk<'_, '_, '_> {
    /// `times`: how often the enclosing loops run these steps (1 when unknown).
    fn steps(&mut self, node: &Sp<Node>, times: u64) {
        let Node::Array(items) = &node.v else { return };
        for item in items {
            let Node::Table(t) = &item.v else { continue };
            self.step(item, t, times);
        }
    }

    fn step(&mut self, node: &Sp<Node>, t: &[(Sp<String>, Sp<Node>)], times: u64) {
        if let Some(Sp { v: Node::Str(def), .. }) = get(t, "start").or_else(|| get(t, "fork"))
            && self.defined.contains(def.as_str())
        {
            match get(t, "as") {
                Some(n) => {
                    if let Some(tpl) = template(n) {
                        match literal_text(&tpl) {
                            Some(name) => self.literal(name, n, times),
                            None => self.found.templated.push(NamePattern::new(&tpl)),
                        }
                    }
                }
                // `main` itself cannot be started: the step parser says so.
                None if def == MAIN => {}
                None => self.literal(def.clone(), node, times),
            }
        }
        for verb in ["submit", "map", "imap"] {
            if get(t, verb).is_some()
                && let Some(Sp { v: Node::Str(actor), .. }) = get(t, "actor")
            {
                let pattern = match get(t, "as").and_then(template) {
                    Some(tpl) => NamePattern::new(&tpl),
                    None => {
                        let escaped = actor.replace('{', "{{").replace('}', "}}");
                        Template::parse(&format!("{escaped}-{{n}}"))
                            .map(|t| NamePattern::new(&t))
                            .unwrap_or_else(|_| NamePattern::literal(actor))
                    }
                };
                self.found.tasks.push(pattern);
            }
        }
        let inner = match (get(t, "repeat"), get(t, "for_each"), get(t, "imap")) {
            (Some(Sp { v: Node::Int(n), .. }), _, _) => Some((*n).max(0) as u64),
            (Some(_), _, _) => Some(1),
            (_, Some(Sp { v: Node::Array(items), .. }), _) => Some(items.len() as u64),
            (_, _, Some(_)) => match get(t, "items") {
                Some(Sp { v: Node::Array(items), .. }) => Some(items.len() as u64),
                _ => Some(1),
            },
            _ => None,
        };
        if let Some(n) = inner
            && let Some(body) = get(t, "do")
        {
            self.steps(body, times.saturating_mul(n));
        }
        if let Some(body) = get(t, "loop") {
            // How often a loop runs is not known: what it starts is checked when it runs.
            self.steps(body, times.min(1));
        }
    }

    fn literal(&mut self, name: String, at: &Sp<Node>, times: u64) {
        if times == 0 {
            return;
        }
        let line = self.lines.line(at.span.start);
        if let Some(&first) = self.first.get(&name) {
            let message = if name == MAIN {
                "`main` is the run itself: no step can start an instance named `main`".to_string()
            } else {
                format!(
                    "instance `{name}` is already started at line {first}: an instance starts once (CPython: a \
                     process or thread can be started only once); give this one its own name with `as`"
                )
            };
            self.sink.error(&at.span, message);
            return;
        }
        self.first.insert(name.clone(), line);
        self.found.instances.push(name.clone());
        if times > 1 {
            self.sink.error(
                &at.span,
                format!(
                    "instance `{name}` would be started {times} times (this step is inside a `repeat`, `for_each` \
                     or `imap`): an instance starts once; name each with a template, e.g. `as = \"{name}{{i}}\"`"
                ),
            );
        }
    }
}
