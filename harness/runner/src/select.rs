//! Which runs `harness run` makes: name patterns, `--scenario`, `--backend`, `--impl`, and a
//! small filter expression in the manner of nextest's (`-E 'scenario(queue) & backend(spawn)'`).
//!
//! ```text
//! expr    = term { ("|" | "or" | "+") term }
//! term    = factor { ("&" | "and") factor | "-" factor }      a - b: a and not b
//! factor  = ("!" | "not") factor | "(" expr ")" | "all()" | "none()" | SET "(" matcher ")"
//! SET     = scenario | backend | family | impl
//! matcher = "=" TEXT (exactly) | "~" TEXT (contains) | "/" REGEX "/" | TEXT
//! ```
//!
//! A bare TEXT means "contains" for `scenario` and "exactly" for the others
//! (`backend(spawn)`, `family(processes)`, `impl(cpython)`).

use procthread_scenario::{Backend, Implementation};
use regex::Regex;

/// One run's identity, as filters see it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub scenario: &'a str,
    pub backend: Backend,
    pub implementation: Implementation,
}

/// What the command line selected: every part must accept a run.
#[derive(Debug, Default)]
pub struct Filter {
    /// Positional patterns: a run is selected if its scenario's name contains any of them.
    pub patterns: Vec<String>,
    /// `--scenario NAME`: exact names (any of them).
    pub names: Vec<String>,
    /// `--backend` (any of them; none: every backend).
    pub backends: Vec<Backend>,
    /// `--impl` (any of them; none: every implementation).
    pub implementations: Vec<Implementation>,
    /// `-E EXPR`
    pub expr: Option<Expr>,
}

impl Filter {
    pub fn accepts(&self, c: Candidate<'_>) -> bool {
        (self.patterns.is_empty() || self.patterns.iter().any(|p| c.scenario.contains(p.as_str())))
            && (self.names.is_empty() || self.names.iter().any(|n| n == c.scenario))
            && (self.backends.is_empty() || self.backends.contains(&c.backend))
            && (self.implementations.is_empty() || self.implementations.contains(&c.implementation))
            && self.expr.as_ref().is_none_or(|e| e.matches(c))
    }

    /// Whether some run of this scenario may be selected (decided from its name alone, so that
    /// files no run needs are not read).
    pub fn may_accept(&self, scenario: &str) -> bool {
        Backend::ALL.iter().any(|&backend| {
            Implementation::ALL
                .iter()
                .any(|&implementation| self.accepts(Candidate { scenario, backend, implementation }))
        })
    }
}

/// A parsed `-E` expression.
#[derive(Debug, Clone)]
pub enum Expr {
    All,
    None,
    Set(Set, Matcher),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// What a predicate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Scenario,
    Backend,
    /// `threads` or `processes` (the snapshot a backend shares).
    Family,
    Impl,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Contains(String),
    Regex(Regex),
}

impl Matcher {
    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Exact(s) => text == s,
            Matcher::Contains(s) => text.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(text),
        }
    }
}

impl Expr {
    pub fn matches(&self, c: Candidate<'_>) -> bool {
        match self {
            Expr::All => true,
            Expr::None => false,
            Expr::Set(set, m) => m.matches(match set {
                Set::Scenario => c.scenario,
                Set::Backend => c.backend.as_str(),
                Set::Family => c.backend.family(),
                Set::Impl => c.implementation.as_str(),
            }),
            Expr::Not(e) => !e.matches(c),
            Expr::And(a, b) => a.matches(c) && b.matches(c),
            Expr::Or(a, b) => a.matches(c) || b.matches(c),
        }
    }

    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let mut p = Parser { text, at: 0 };
        let e = p.or()?;
        p.skip_space();
        if p.at < text.len() {
            return Err(p.error("expected `&`, `|`, `-` or the end"));
        }
        Ok(e)
    }
}

/// A filter expression that does not parse: where (a byte offset) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("in the filter expression at column {}: {message}\n    {text}\n    {caret:>width$}", at + 1, caret = "^", width = at + 1)]
pub struct ExprError {
    pub text: String,
    pub at: usize,
    pub message: String,
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError { text: self.text.to_string(), at: self.at, message: message.into() }
    }

    /// Takes `token` if it comes next; a word token only as a whole word.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        let word = token.chars().all(|c| c.is_ascii_alphabetic());
        let whole =
            !word || !rest[token.len().min(rest.len())..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if rest.starts_with(token) && whole {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.eat("|") || self.eat("or") || self.eat("+") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.factor()?;
        loop {
            if self.eat("&") || self.eat("and") {
                left = Expr::And(Box::new(left), Box::new(self.factor()?));
            } else if self.eat("-") {
                left = Expr::And(Box::new(left), Box::new(Expr::Not(Box::new(self.factor()?))));
            } else {
                return Ok(left);
            }
        }
    }

    fn factor(&mut self) -> Result<Expr, ExprError> {
        if self.eat("!") || self.eat("not") {
            return Ok(Expr::Not(Box::new(self.factor()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err(self.error("expected `)`"));
            }
            return Ok(e);
        }
        self.skip_space();
        let name_len = self.rest().find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(self.rest().len());
        let name = &self.rest()[..name_len];
        let set = match name {
            "all" | "none" => {
                let start = self.at;
                self.at += name_len;
                if !(self.eat("(") && self.eat(")")) {
                    self.at = start;
                    return Err(self.error(format!("expected `{name}()`")));
                }
                return Ok(if name == "all" { Expr::All } else { Expr::None });
            }
            "scenario" => Set::Scenario,
            "backend" => Set::Backend,
            "family" => Set::Family,
            "impl" => Set::Impl,
            _ => {
                return Err(self.error(
                    "expected `scenario(...)`, `backend(...)`, `family(...)`, `impl(...)`, `all()`, `none()`, `not`, `!` or `(`",
                ));
            }
        };
        self.at += name_len;
        if !self.eat("(") {
            return Err(self.error(format!("expected `(` after `{name}`")));
        }
        let matcher = self.matcher(set)?;
        if !self.eat(")") {
            return Err(self.error("expected `)`"));
        }
        Ok(Expr::Set(set, matcher))
    }

    fn matcher(&mut self, set: Set) -> Result<Matcher, ExprError> {
        self.skip_space();
        let start = self.at;
        if let Some(body) = self.rest().strip_prefix('/') {
            // A regex runs to the next unescaped `/`.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '/' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let Some(end) = end else { return Err(self.error("a regex that does not end with `/`")) };
            let source = body[..end].replace("\\/", "/");
            self.at += end + 2;
            return Regex::new(&source).map(Matcher::Regex).map_err(|e| ExprError {
                text: self.text.to_string(),
                at: start,
                message: format!("not a regex: {e}"),
            });
        }
        let end = self.rest().find(')').unwrap_or(self.rest().len());
        let raw = self.rest()[..end].trim();
        self.at += end;
        let value = |s: &str| s.trim().to_string();
        let m = if let Some(s) = raw.strip_prefix('=') {
            Matcher::Exact(value(s))
        } else if let Some(s) = raw.strip_prefix('~') {
            Matcher::Contains(value(s))
        } else if set == Set::Scenario {
            Matcher::Contains(value(raw))
        } else {
            Matcher::Exact(value(raw))
        };
        if let Matcher::Exact(s) = &m {
            let known: &[&str] = match set {
                Set::Backend => &["thread", "fork", "spawn", "thread-pool", "process-pool"],
                Set::Family => &["threads", "processes"],
                Set::Impl => &["reference", "cpython"],
                Set::Scenario => &[],
            };
            if !known.is_empty() && !known.contains(&s.as_str()) {
                return Err(ExprError {
                    text: self.text.to_string(),
                    at: start,
                    message: format!("`{s}` is none of {}", known.join(", ")),
                });
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(scenario: &str, backend: Backend, implementation: Implementation) -> Candidate<'_> {
        Candidate { scenario, backend, implementation }
    }

    #[test]
    fn expressions_combine_sets() {
        use Backend::*;
        use Implementation::*;
        let e = Expr::parse("scenario(/queue/) & backend(spawn) & impl(cpython)").expect("parses");
        assert!(e.matches(c("queue-ipc", Spawn, Cpython)));
        assert!(!e.matches(c("queue-ipc", Spawn, Reference)));
        assert!(!e.matches(c("pipe", Spawn, Cpython)));
        let e = Expr::parse("family(processes) - scenario(=pool) | not all() or none()").expect("parses");
        assert!(e.matches(c("queue", Fork, Reference)));
        assert!(!e.matches(c("pool", ProcessPool, Reference)));
        assert!(!e.matches(c("queue", Thread, Reference)));
        let e = Expr::parse("!(scenario(~lock) and backend(thread))").expect("parses");
        assert!(!e.matches(c("lock-balance", Thread, Reference)));
        assert!(e.matches(c("lock-balance", Spawn, Reference)));
        let e = Expr::parse(r"scenario(/^a\/b$/)").expect("escaped slash");
        assert!(e.matches(c("a/b", Thread, Reference)));
        // A word operator is a whole word: `order(...)` is not `or` + `der(...)`.
        assert!(Expr::parse("scenario(x) order(y)").is_err());
    }

    #[test]
    fn errors_point_at_their_column() {
        let err = Expr::parse("backend(spwn)").expect_err("unknown backend");
        assert_eq!(err.at, 8);
        assert!(err.to_string().contains("`spwn` is none of thread, fork"), "{err}");
        assert!(err.to_string().ends_with("    backend(spwn)\n            ^"), "{err}");
        assert_eq!(Expr::parse("scenario(x) &").expect_err("dangling").at, 13);
        assert!(Expr::parse("scenario(/(/)").expect_err("bad regex").message.starts_with("not a regex"));
        assert!(Expr::parse("test(x)").is_err());
        assert!(Expr::parse("(scenario(x)").is_err());
    }

    #[test]
    fn the_filter_needs_every_part() {
        let f = Filter {
            patterns: vec!["queue".into(), "pipe".into()],
            backends: vec![Backend::Spawn],
            expr: Some(Expr::parse("impl(reference)").expect("parses")),
            ..Filter::default()
        };
        assert!(f.accepts(c("pipe", Backend::Spawn, Implementation::Reference)));
        assert!(!f.accepts(c("pipe", Backend::Fork, Implementation::Reference)));
        assert!(!f.accepts(c("pipe", Backend::Spawn, Implementation::Cpython)));
        assert!(f.may_accept("queue-ipc") && !f.may_accept("lock"));
        assert!(Filter::default().may_accept("anything"));
        let exact = Filter { names: vec!["queue".into()], ..Filter::default() };
        assert!(exact.may_accept("queue") && !exact.may_accept("queue-ipc"));
    }
}
