//! Diagnostics: every problem found in a scenario file, with its file, line and column, and
//! the line itself with a caret under the problem.
//!
//! Each problem's first line is plain `file:line:col: message`, so that editors and scripts can
//! still read it; the source line and its caret follow (drawn by `annotate-snippets`, what rustc
//! and cargo use), in [`Diagnostics`]' display.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column (in characters) where the problem starts.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The line the problem is on, without its line ending: the whole line, or about
    /// 160 bytes either side of the problem on a very long one (then with `...` where it
    /// is cut).
    pub source_line: String,
    /// The bytes of `source_line` the problem covers (to the end of the line for a problem that
    /// goes on past it; empty at the very end of a line).
    pub span: Range<usize>,
}

/// One problem as a single line: `file:line:col: message`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

impl Diagnostic {
    /// The source line with a caret under the problem, as lines under the first; `None` where
    /// the line is empty (nothing to point at). `styled` adds colours (ANSI escapes).
    pub fn snippet(&self, styled: bool) -> Option<String> {
        if self.source_line.trim().is_empty() {
            return None;
        }
        let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
        let snippet = Snippet::source(self.source_line.as_str())
            .line_start(self.line)
            .annotation(AnnotationKind::Primary.span(self.span.clone()));
        Some(renderer.render(&[Group::with_level(Level::ERROR).element(snippet)]))
    }

    /// The first line, then the source line with its caret.
    pub fn render(&self, styled: bool) -> String {
        match self.snippet(styled) {
            Some(snippet) => format!("{self}\n{snippet}"),
            None => self.to_string(),
        }
    }
}

/// Every problem found in one file (parsing goes on after the first where it can).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Every problem with its source line and caret; `styled` adds colours (ANSI escapes).
    pub fn render(&self, styled: bool) -> String {
        self.0.iter().map(|d| d.render(styled)).collect::<Vec<_>>().join("\n")
    }
}

/// Every problem, each as its `file:line:col: message` line followed by its source line and a
/// caret, without colours.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Errors of loading a scenario file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The cause is part of the message (and not a `source`, which would print it twice).
    #[error("{path}: cannot read: {error}", path = .path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
}

/// Collects diagnostics for one file as byte offsets; [`Sink::finish`] turns them all into
/// lines and columns in one pass over the file, so that the cost stays linear in the file's size
/// however many problems it has.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    file: &'a Path,
    source: &'a str,
    found: Vec<(Range<usize>, String)>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(file: &'a Path, source: &'a str) -> Self {
        Sink { file, source, found: Vec::new() }
    }

    /// A fresh sink for the same file, whose findings the caller may drop (a second reading
    /// of something already reported on).
    pub(crate) fn quiet(&self) -> Sink<'a> {
        Sink::new(self.file, self.source)
    }

    pub(crate) fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        // A place worked out inside a string with escapes may fall within a character: the
        // character's start, so that the line around it can be cut there.
        let mut start = span.start.min(self.source.len());
        while !self.source.is_char_boundary(start) {
            start -= 1;
        }
        self.found.push((start..span.end.clamp(start, self.source.len()), message.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The 1-based lines and columns (in characters) of byte offsets given in any order, in one
    /// pass over the file.
    pub(crate) fn locate(&self, offsets: &[usize]) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_by_key(|&i| offsets[i]);
        let bytes = self.source.as_bytes();
        let (mut at, mut line, mut column) = (0, 1, 1);
        let mut out = vec![(0, 0); offsets.len()];
        for i in order {
            let offset = offsets[i].min(bytes.len());
            for &b in &bytes[at..offset] {
                if b == b'\n' {
                    line += 1;
                    column = 1;
                } else if b & 0xC0 != 0x80 {
                    column += 1;
                }
            }
            at = offset;
            out[i] = (line, column);
        }
        out
    }

    /// Every problem in file order (problems at one place keep the order they were found in).
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|(span, _)| span.start);
        let bytes = self.source.as_bytes();
        let (mut at, mut line, mut column, mut line_start) = (0, 1, 1, 0);
        let mut out = Vec::with_capacity(self.found.len());
        for (span, message) in self.found {
            for (i, &b) in bytes[at..span.start].iter().enumerate() {
                if b == b'\n' {
                    line += 1;
                    column = 1;
                    line_start = at + i + 1;
                } else if b & 0xC0 != 0x80 {
                    // Columns count characters: continuation bytes of UTF-8 add none.
                    column += 1;
                }
            }
            at = span.start;
            let (source_line, span) = shown(self.source, line_start, span);
            out.push(Diagnostic { file: self.file.to_path_buf(), line, column, message, source_line, span });
        }
        out
    }
}

/// How many bytes of a line are shown either side of a problem, at most: a file may be one
/// line of megabytes, and a diagnostic stays short (and the cost of each stays bounded).
pub(crate) const SHOWN: usize = 160;

/// The line that starts at `line_start` and holds `span`, cut to about [`SHOWN`] bytes either
/// side of it, and where `span` falls in what is shown.
pub(crate) fn shown(source: &str, line_start: usize, span: Range<usize>) -> (String, Range<usize>) {
    let floor = |mut i: usize| {
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(line_start.max(span.start.saturating_sub(SHOWN)));
    let limit = floor((span.start + SHOWN).min(source.len()));
    let rest = &source[span.start..limit];
    let line_end = rest.find('\n').map_or(limit, |i| span.start + i);
    let to = line_end - usize::from(source[..line_end].ends_with('\r') && line_end > span.start);
    let cut_before = from > line_start;
    let cut_after = to == limit && limit < source.len() && !source[limit..].starts_with(['\n', '\r']);
    let mut text = String::new();
    if cut_before {
        text.push_str("...");
    }
    let shift = text.len() + span.start - from;
    text.push_str(&source[from..to]);
    // At least one character under the caret where there is one; never past the line.
    let mut end = span.end.min(to).max(span.start);
    while !source.is_char_boundary(end) {
        end += 1;
    }
    if end == span.start && end < to {
        end = char_end(source, end);
    }
    let span = shift..shift + (end - span.start);
    if cut_after {
        text.push_str("...");
    }
    (text, span)
}

/// The end of the character that starts at `i`.
fn char_end(source: &str, i: usize) -> usize {
    source[i..].chars().next().map_or(i, |c| i + c.len_utf8())
}

/// Where each line starts, computed once per file: a step's line is a binary search away.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(source: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
    (line, column)
}

/// Lists in messages name at most this many items (a file can define thousands of names; each
/// message stays short, and a file with many errors stays linear to report).
const LISTED: usize = 60;

/// `a`, `a or b`, `a, b or c`: for "expected one of" messages.
pub(crate) fn one_of(items: &[&str]) -> String {
    if items.len() > LISTED {
        let shown: Vec<String> = items[..LISTED].iter().map(|s| format!("`{s}`")).collect();
        return format!("{} or one of {} more", shown.join(", "), items.len() - LISTED);
    }
    match items {
        [] => "none".to_string(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|s| format!("`{s}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}

/// The word of `words` closest to `typed`, if it is a likely typo of it: at most one edit (a
/// letter added, dropped, changed, or two swapped) for short words, two for longer ones.
pub(crate) fn closest<'w>(typed: &str, words: &[&'w str]) -> Option<&'w str> {
    let limit = if typed.chars().count() <= 4 { 1 } else { 2 };
    words
        .iter()
        // A length that differs by more than the limit is never close (and a name of megabytes
        // costs nothing to turn down).
        .filter(|w| typed.len().abs_diff(w.len()) <= 2 * limit)
        .map(|w| (strsim::osa_distance(typed, w), *w))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, w)| w)
}

/// What to add after "unknown X `typed`; ": "did you mean `w`?" when `typed` is a likely typo
/// of one of `words`, else `intro` and the list of them ("defined actors: `a` or `b`").
pub(crate) fn did_you_mean(typed: &str, words: &[&str], intro: &str) -> String {
    match closest(typed, words) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("{intro} {}", one_of(words)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 3)); // after the two-byte é
        assert_eq!(line_col(src, 99), (3, 1), "past the end: the end");
    }

    #[test]
    fn the_line_index_agrees_with_a_scan() {
        let src = "a\n\nbé = 2\nlast";
        let index = LineIndex::new(src);
        for offset in 0..src.len() {
            assert_eq!(index.line(offset), line_col(src, offset).0, "offset {offset}");
        }
    }

    #[test]
    fn the_sink_locates_in_one_pass_and_keeps_ties_in_order() {
        let src = "x = 1\né = [\n  2 ]\n";
        let mut sink = Sink::new(Path::new("f"), src);
        sink.error(&(15..16), "third");
        sink.error(&(6..7), "first");
        sink.error(&(15..16), "fourth");
        sink.error(&(11..12), "second");
        let found: Vec<String> = sink.finish().iter().map(ToString::to_string).collect();
        assert_eq!(found, ["f:2:1: first", "f:2:5: second", "f:3:3: third", "f:3:3: fourth"]);
    }

    fn one(src: &str, span: Range<usize>) -> Diagnostic {
        let mut sink = Sink::new(Path::new("f.toml"), src);
        sink.error(&span, "wrong");
        sink.finish().remove(0)
    }

    #[test]
    fn the_source_line_is_shown_with_a_caret_under_the_problem() {
        let d = one("a = 1\nsteps = [ { start = \"wrtier\" } ]\nz = 2\n", 26..34);
        assert_eq!((d.line, d.column, d.source_line.as_str()), (2, 21, "steps = [ { start = \"wrtier\" } ]"));
        assert_eq!(
            Diagnostics(vec![d.clone(), d]).to_string(),
            "f.toml:2:21: wrong\n  |\n2 | steps = [ { start = \"wrtier\" } ]\n  |                     ^^^^^^^^\n\
             f.toml:2:21: wrong\n  |\n2 | steps = [ { start = \"wrtier\" } ]\n  |                     ^^^^^^^^",
            "each problem's first line stays `file:line:col: message`"
        );
    }

    #[test]
    fn what_the_caret_covers_stays_on_its_line() {
        // A CRLF file (a Windows checkout): no `\r` shown; a span over several lines stops at
        // the end of its first; an empty span still points at a character; the end of a line.
        let crlf = one("x = 1\r\ny = [\r\n  2 ]\r\n", 11..20);
        assert_eq!((crlf.source_line.as_str(), crlf.span.clone()), ("y = [", 4..5));
        let empty = one("abc = 1\n", 2..2);
        assert_eq!(empty.span, 2..3);
        let end = one("title = \"open\n", 13..13);
        assert_eq!((end.source_line.as_str(), end.span.clone()), ("title = \"open", 13..13));
        assert!(end.snippet(false).is_some_and(|s| s.ends_with("|              ^")), "{:?}", end.snippet(false));
        let blank = one("a = 1\n\n", 6..6);
        assert_eq!(blank.snippet(false), None, "nothing to point at on an empty line");
        assert_eq!(blank.render(false), "f.toml:2:1: wrong");
    }

    #[test]
    fn a_place_inside_a_character_is_its_start() {
        let d = one("x = \"\\té{nosuch}\"\n", 8..9);
        assert_eq!((d.line, d.column, &d.source_line[d.span.clone()]), (1, 8, "é"));
        // As a template with an escape before a placeholder places it.
        let src = "[actors.main]\nsteps = [ { print = \"\\té{nosuch}\" } ]\n";
        let e = crate::parse_str(Path::new("t.toml"), src).expect_err("unknown placeholder");
        assert!(e.to_string().starts_with("t.toml:2:24: unknown placeholder `{nosuch}`"), "{e}");
    }

    #[test]
    fn a_very_long_line_is_cut_around_the_problem() {
        let long = format!("{}é{}\n", "x".repeat(10_000), "y".repeat(10_000));
        let d = one(&long, 10_000..10_002);
        assert_eq!((d.line, d.column), (1, 10_001));
        assert!(d.source_line.starts_with("...x") && d.source_line.ends_with("y..."), "{}", d.source_line);
        assert!(d.source_line.len() <= 2 * SHOWN + 8, "{}", d.source_line.len());
        assert_eq!(&d.source_line[d.span.clone()], "é");
        let styled = d.snippet(true).expect("a snippet");
        assert!(styled.contains('\u{1b}'), "styled has colours: {styled:?}");
        assert!(!d.snippet(false).expect("a snippet").contains('\u{1b}'));
    }

    #[test]
    fn suggestions_only_for_likely_typos() {
        assert_eq!(did_you_mean("wrtier", &["writer", "reader"], "defined actors:"), "did you mean `writer`?");
        assert_eq!(
            did_you_mean("ghost", &["writer", "reader"], "defined actors:"),
            "defined actors: `writer` or `reader`"
        );
        assert_eq!(did_you_mean("x", &[], "defined:"), "defined: none");
        let huge = "w".repeat(1_000_000);
        assert_eq!(closest(&huge, &["writer"]), None, "a huge name is turned down at once");
    }

    #[test]
    fn typos_find_their_word() {
        let verbs = ["send", "recv", "acquire", "release", "notify_all", "put"];
        assert_eq!(closest("sned", &verbs), Some("send"));
        assert_eq!(closest("aquire", &verbs), Some("acquire"));
        assert_eq!(closest("notifyall", &verbs), Some("notify_all"));
        assert_eq!(closest("pt", &verbs), Some("put"));
        assert_eq!(closest("frobnicate", &verbs), None);
        assert_eq!(closest("xy", &verbs), None);
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
        let many: Vec<String> = (0..1000).map(|i| format!("n{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let listed = one_of(&many);
        assert!(listed.starts_with("`n0`, `n1`,") && listed.ends_with("`n59` or one of 940 more"), "{listed}");
    }
}
