//! Text templates: `Run child process {name} ({pid})...`. `{{` and `}}` write braces.

use serde::{Deserialize, Serialize};

/// A placeholder inside a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Placeholder {
    /// This actor's process id.
    Pid,
    /// Its parent process id.
    Ppid,
    /// The actor instance's name.
    Name,
    /// The current thread's name (`MainThread` in a process's first thread).
    Thread,
    /// The current process's name (`MainProcess` in the executor).
    Process,
    /// The last value received (get, recv, read, get_local, run).
    Value,
    /// The innermost `repeat` index, from 1.
    Index,
    /// The current `for_each` item (or a pool task's item).
    Item,
    /// Seconds since the actor started: timing, normalized away in traces.
    Elapsed,
    /// The pid of an actor instance this actor started: `{pid:child}`.
    PidOf(String),
    /// One of the actor definition's parameters.
    Param(String),
    /// The product of placeholders or integers: `{value*value}`, `{n*2*i}`. The factors are
    /// never products themselves: a flat list, so that no length of product nests (or recurses).
    Product(Vec<Placeholder>),
    /// An integer literal (inside a product).
    Number(i64),
    /// The null value: `"{none}"` alone is null (TOML has no null); inside text it reads `None`.
    None,
}

pub const BUILTINS: [&str; 10] = ["pid", "ppid", "name", "thread", "process", "value", "i", "item", "elapsed", "none"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    Text(String),
    Hole(Placeholder),
}

/// A parsed template, with its source kept for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub source: String,
    pub parts: Vec<Part>,
}

/// A template syntax error at a byte offset within the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn literal(text: &str) -> Template {
        Template { source: text.to_string(), parts: vec![Part::Text(text.to_string())] }
    }

    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Template::parse_sites(source).map(|(t, _)| t)
    }

    /// Parses, and also returns every placeholder that is not a product (each factor of a
    /// product on its own) with the byte offset where its name starts: for diagnostics.
    pub fn parse_sites(source: &str) -> Result<(Template, Vec<(usize, Placeholder)>), TemplateError> {
        let mut sites = Vec::new();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => {
                    return Err(TemplateError { offset: at, message: "unmatched `}` (write `}}` for a brace)".into() });
                }
                '{' => {
                    let rest = &source[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(TemplateError {
                            offset: at,
                            message: "unclosed `{` (write `{{` for a brace)".into(),
                        });
                    };
                    let name = &rest[..end];
                    let bad =
                        || TemplateError { offset: at, message: format!("`{{{name}}}` is not a placeholder name") };
                    let hole = if name.contains('*') {
                        let mut factors = Vec::new();
                        let mut pos = at + 1;
                        for piece in name.split('*') {
                            let lead = piece.len() - piece.trim_start().len();
                            let f = piece.trim();
                            let factor = match f.parse::<i64>() {
                                Ok(n) => Placeholder::Number(n),
                                Err(_) => atom(f).ok_or_else(bad)?,
                            };
                            sites.push((pos + lead, factor.clone()));
                            factors.push(factor);
                            pos += piece.len() + 1;
                        }
                        Placeholder::Product(factors)
                    } else {
                        let hole = atom(name).ok_or_else(bad)?;
                        sites.push((at + 1, hole.clone()));
                        hole
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Hole(hole));
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok((Template { source: source.to_string(), parts }, sites))
    }

    /// An actor parameter named like a built-in placeholder (the chapter's `run_proc(name)`)
    /// takes its place: what the author declared wins.
    pub fn with_params_shadowing(mut self, params: &[String]) -> Template {
        let shadow = |h: &mut Placeholder| {
            if let Some(word) = builtin_word(h)
                && params.iter().any(|p| p == word)
            {
                *h = Placeholder::Param(word.to_string());
            }
        };
        for part in &mut self.parts {
            match part {
                Part::Hole(Placeholder::Product(factors)) => factors.iter_mut().for_each(shadow),
                Part::Hole(h) => shadow(h),
                Part::Text(_) => {}
            }
        }
        self
    }

    /// The placeholders used, in order.
    pub fn holes(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Hole(h) => Some(h),
            Part::Text(_) => None,
        })
    }

    /// The single placeholder this template consists of, if that is all it is
    /// (so `"{item}"` keeps the item's type when used as a value).
    pub fn sole_hole(&self) -> Option<&Placeholder> {
        match self.parts.as_slice() {
            [Part::Hole(h)] => Some(h),
            _ => None,
        }
    }

    pub fn render(&self, mut fill: impl FnMut(&Placeholder) -> String) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Hole(h) => out.push_str(&fill(h)),
            }
        }
        out
    }
}

fn builtin_word(h: &Placeholder) -> Option<&'static str> {
    Some(match h {
        Placeholder::Pid => "pid",
        Placeholder::Ppid => "ppid",
        Placeholder::Name => "name",
        Placeholder::Thread => "thread",
        Placeholder::Process => "process",
        Placeholder::Value => "value",
        Placeholder::Index => "i",
        Placeholder::Item => "item",
        Placeholder::Elapsed => "elapsed",
        Placeholder::None => "none",
        _ => return None,
    })
}

/// A placeholder that is not a product.
fn atom(name: &str) -> Option<Placeholder> {
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    Some(match name {
        "pid" => Placeholder::Pid,
        "ppid" => Placeholder::Ppid,
        "name" => Placeholder::Name,
        "thread" => Placeholder::Thread,
        "process" => Placeholder::Process,
        "value" => Placeholder::Value,
        "i" => Placeholder::Index,
        "item" => Placeholder::Item,
        "elapsed" => Placeholder::Elapsed,
        "none" => Placeholder::None,
        _ => match name.strip_prefix("pid:") {
            Some(actor) if ident(actor) => Placeholder::PidOf(actor.to_string()),
            Some(_) => return None,
            None if ident(name) => Placeholder::Param(name.to_string()),
            None => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holes_text_and_escapes() {
        let t = Template::parse("I ({pid}) created {pid:child} {{ok}} {n}").expect("parses");
        let holes: Vec<_> = t.holes().cloned().collect();
        assert_eq!(holes, [Placeholder::Pid, Placeholder::PidOf("child".into()), Placeholder::Param("n".into())]);
        assert_eq!(t.render(|_| "X".into()), "I (X) created X {ok} X");
    }

    #[test]
    fn errors_point_at_the_brace() {
        assert_eq!(Template::parse("ab {pid").expect_err("unclosed").offset, 3);
        assert_eq!(Template::parse("ab } c").expect_err("unmatched").offset, 3);
        let e = Template::parse("x {a b}").expect_err("bad name");
        assert_eq!((e.offset, e.message.as_str()), (2, "`{a b}` is not a placeholder name"));
    }

    #[test]
    fn products_are_flat_lists_of_factors() {
        let t = Template::parse("{value*value} {n * 2} {i*i*3}").expect("parses");
        let holes: Vec<_> = t.holes().cloned().collect();
        assert_eq!(holes[0], Placeholder::Product(vec![Placeholder::Value, Placeholder::Value]));
        assert_eq!(holes[1], Placeholder::Product(vec![Placeholder::Param("n".into()), Placeholder::Number(2)]));
        assert_eq!(
            holes[2],
            Placeholder::Product(vec![Placeholder::Index, Placeholder::Index, Placeholder::Number(3)])
        );
        let long = format!("{{{}}}", vec!["i"; 50_000].join("*"));
        let Some(Placeholder::Product(f)) = Template::parse(&long).expect("parses").sole_hole().cloned() else {
            panic!("a product")
        };
        assert_eq!(f.len(), 50_000);
        assert!(Template::parse("{value**2}").is_err(), "an empty factor");
    }

    #[test]
    fn sites_locate_every_factor() {
        let (_, sites) = Template::parse_sites("ab {pid} {x * 2*pid:c}").expect("parses");
        let at: Vec<(usize, Placeholder)> = sites;
        assert_eq!(
            at,
            [
                (4, Placeholder::Pid),
                (10, Placeholder::Param("x".into())),
                (14, Placeholder::Number(2)),
                (16, Placeholder::PidOf("c".into())),
            ]
        );
    }

    #[test]
    fn a_parameter_shadows_a_builtin_of_its_name() {
        let t = Template::parse("{name} {pid}").expect("parses").with_params_shadowing(&["name".to_string()]);
        let holes: Vec<_> = t.holes().cloned().collect();
        assert_eq!(holes, [Placeholder::Param("name".into()), Placeholder::Pid]);
    }

    #[test]
    fn sole_hole_keeps_types() {
        assert_eq!(Template::parse("{item}").expect("ok").sole_hole(), Some(&Placeholder::Item));
        assert_eq!(Template::parse("x{item}").expect("ok").sole_hole(), None);
    }
}
