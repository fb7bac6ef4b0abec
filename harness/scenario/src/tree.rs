//! Stage one: the TOML document as an owned tree in which every key and value keeps its span.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

#[derive(Debug, Clone)]
pub(crate) struct Sp<T> {
    pub(crate) v: T,
    pub(crate) span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Sp<Node>>),
    Table(Table),
    Datetime,
}

pub(crate) type Table = Vec<(Sp<String>, Sp<Node>)>;

impl Node {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
            Node::Datetime => "a date-time",
        }
    }
}

/// Parses the document; a syntax error comes back with its span and message.
pub(crate) fn parse(source: &str) -> Result<Sp<Node>, (Range<usize>, String)> {
    match DeTable::parse(source) {
        Ok(doc) => {
            let span = doc.span();
            Ok(Sp { v: Node::Table(table(doc.get_ref())), span })
        }
        Err(e) => Err((e.span().unwrap_or(0..0), e.message().trim().to_string())),
    }
}

fn table(t: &DeTable<'_>) -> Table {
    t.iter()
        .map(|(k, v)| (Sp { v: k.get_ref().to_string(), span: k.span() }, Sp { v: node(v.get_ref()), span: v.span() }))
        .collect()
}

fn node(v: &DeValue<'_>) -> Node {
    match v {
        DeValue::String(s) => Node::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, digits.trim_start_matches('+').to_string()),
            };
            let digits = digits.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b");
            match i64::from_str_radix(digits, i.radix()) {
                Ok(n) => Node::Int(if negative { -n } else { n }),
                Err(_) => Node::Float(f64::NAN),
            }
        }
        DeValue::Float(f) => Node::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Node::Bool(*b),
        DeValue::Datetime(_) => Node::Datetime,
        DeValue::Array(a) => Node::Array(a.iter().map(|e| Sp { v: node(e.get_ref()), span: e.span() }).collect()),
        DeValue::Table(t) => Node::Table(table(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_and_values() {
        let src = "a = 0x10\nb = [-3, \"x\"]\n";
        let Ok(Sp { v: Node::Table(t), .. }) = parse(src) else { panic!("table") };
        assert_eq!(t[0].0.v, "a");
        assert!(matches!(t[0].1.v, Node::Int(16)));
        assert_eq!(&src[t[1].1.span.clone()], "[-3, \"x\"]");
        let Node::Array(items) = &t[1].1.v else { panic!("array") };
        assert!(matches!(items[0].v, Node::Int(-3)));
    }

    #[test]
    fn syntax_error_has_a_span() {
        let (span, msg) = parse("a = = 1").expect_err("bad");
        assert_eq!(span.start, 4);
        assert!(!msg.is_empty());
    }
}
