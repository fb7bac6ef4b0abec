//! Values, numbers and names that steps carry: literal, or templates rendered when the step runs.

use serde::{Deserialize, Serialize};

use crate::template::{Part, Placeholder, Template};

/// A JSON value whose strings are templates, rendered when the step runs. `"{none}"` alone is
/// the null value (TOML has none); a table is a dict (keys sorted, as JSON objects are here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueExpr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Template),
    List(Vec<ValueExpr>),
    Map(Vec<(String, ValueExpr)>),
}

/// An integer setting: written as a number, or as a template (`"{n}"`, `"{timeout}"`) rendered
/// when the step runs and then checked against the same range a number is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Int {
    Fixed(i64),
    Template { template: Template, min: i64, max: i64 },
}

impl Int {
    /// The value, rendering a template with `fill`; an error names what it rendered to.
    pub fn resolve(&self, render: impl FnOnce(&Template) -> String) -> Result<i64, String> {
        match self {
            Int::Fixed(n) => Ok(*n),
            Int::Template { template, min, max } => {
                let text = render(template);
                match text.trim().parse::<i64>() {
                    Ok(n) if (*min..=*max).contains(&n) => Ok(n),
                    Ok(n) => Err(format!("\"{}\" is {n}, outside {min}..={max}", template.source)),
                    Err(_) => Err(format!("\"{}\" is \"{text}\", not an integer", template.source)),
                }
            }
        }
    }
}

/// A name that may be a template (`"c{i}"`): literal names are checked when the file is read,
/// templates when the step runs.
pub type NameExpr = Template;

/// A name in `[expect]`: a literal instance name, or a pattern in which each placeholder stands
/// for any non-empty text (`"c{i}"` matches `c1`, `c2`... `c100`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamePattern {
    pub source: String,
    /// Literal pieces, with a wildcard between each two.
    pieces: Vec<String>,
}

impl NamePattern {
    pub fn new(template: &Template) -> NamePattern {
        let mut pieces = vec![String::new()];
        for part in &template.parts {
            match part {
                Part::Text(t) => pieces.last_mut().map(|p| p.push_str(t)).unwrap_or_default(),
                Part::Hole(_) => pieces.push(String::new()),
            }
        }
        NamePattern { source: template.source.clone(), pieces }
    }

    pub fn literal(name: &str) -> NamePattern {
        NamePattern { source: name.to_string(), pieces: vec![name.to_string()] }
    }

    /// The name itself, if the pattern has no wildcard.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether `name` matches: literal pieces in order, each wildcard taking one character or
    /// more. Greedy from both ends, linear in the name for the usual one-wildcard patterns.
    pub fn matches(&self, name: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            return self.pieces.first().is_some_and(|p| p == name);
        };
        let Some(rest) = name.strip_prefix(first.as_str()) else { return false };
        let Some(mut rest) = rest.strip_suffix(last.as_str()) else { return false };
        if name.len() < first.len() + last.len() {
            return false;
        }
        // Each wildcard takes at least one character; each middle piece is found leftmost.
        for piece in middle {
            let mut chars = rest.chars();
            if chars.next().is_none() {
                return false;
            }
            let after_one = chars.as_str();
            match after_one.find(piece.as_str()) {
                Some(at) => rest = &after_one[at + piece.len()..],
                None => return false,
            }
        }
        !rest.is_empty()
    }
}

/// The literal text of a template with no placeholder (escapes resolved), if it is one.
pub fn literal_text(t: &Template) -> Option<String> {
    t.parts.iter().try_fold(String::new(), |mut acc, p| match p {
        Part::Text(s) => {
            acc.push_str(s);
            Some(acc)
        }
        Part::Hole(_) => None,
    })
}

/// Whether a template is exactly `{none}`.
pub fn is_none(t: &Template) -> bool {
    matches!(t.sole_hole(), Some(Placeholder::None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(s: &str) -> NamePattern {
        NamePattern::new(&Template::parse(s).expect("template"))
    }

    #[test]
    fn patterns_match_any_non_empty_text_per_placeholder() {
        let p = pattern("c{i}");
        assert!(p.matches("c1") && p.matches("c100"));
        assert!(!p.matches("c") && !p.matches("d1"));
        let p = pattern("{n}-task-{i}");
        assert!(p.matches("a-task-1") && !p.matches("-task-1") && !p.matches("a-task-"));
        assert!(pattern("{a}{b}").matches("xy") && !pattern("{a}{b}").matches("x"));
        assert_eq!(pattern("w").as_literal(), Some("w"));
        assert!(pattern("w").matches("w") && !pattern("w").matches("w2"));
        assert!(pattern("a{x}b{y}c").matches("a1b2c") && pattern("a{x}b{y}c").matches("abbbc"));
    }

    #[test]
    fn ints_resolve_and_check_their_range() {
        let t = Template::parse("{n}").expect("template");
        let i = Int::Template { template: t, min: 0, max: 10 };
        assert_eq!(i.resolve(|_| "7".into()), Ok(7));
        assert_eq!(i.resolve(|_| "11".into()), Err("\"{n}\" is 11, outside 0..=10".into()));
        assert_eq!(i.resolve(|_| "x".into()), Err("\"{n}\" is \"x\", not an integer".into()));
    }
}
