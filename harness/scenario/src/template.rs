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
    /// The product of two placeholders or integers: `{value*value}`.
    Product(Box<Placeholder>, Box<Placeholder>),
    /// An integer literal (inside a product).
    Number(i64),
}

pub const BUILTINS: [&str; 9] = ["pid", "ppid", "name", "thread", "process", "value", "i", "item", "elapsed"];

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
                    let hole = placeholder(name).ok_or_else(|| TemplateError {
                        offset: at,
                        message: format!("`{{{name}}}` is not a placeholder name"),
                    })?;
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
        Ok(Template { source: source.to_string(), parts })
    }

    /// An actor parameter named like a built-in placeholder (the chapter's `run_proc(name)`)
    /// takes its place: what the author declared wins.
    pub fn with_params_shadowing(mut self, params: &[String]) -> Template {
        for part in &mut self.parts {
            if let Part::Hole(h) = part
                && let Some(word) = builtin_word(h)
                && params.iter().any(|p| p == word)
            {
                *h = Placeholder::Param(word.to_string());
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
        _ => return None,
    })
}

fn placeholder(name: &str) -> Option<Placeholder> {
    if let Some((a, b)) = name.split_once('*') {
        let factor = |f: &str| {
            let f = f.trim();
            f.parse::<i64>().ok().map(Placeholder::Number).or_else(|| placeholder(f))
        };
        return Some(Placeholder::Product(Box::new(factor(a)?), Box::new(factor(b)?)));
    }
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
    fn products_of_two_factors() {
        let t = Template::parse("{value*value} {n * 2}").expect("parses");
        let holes: Vec<_> = t.holes().cloned().collect();
        let value = || Box::new(Placeholder::Value);
        assert_eq!(holes[0], Placeholder::Product(value(), value()));
        assert_eq!(
            holes[1],
            Placeholder::Product(Box::new(Placeholder::Param("n".into())), Box::new(Placeholder::Number(2)))
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
