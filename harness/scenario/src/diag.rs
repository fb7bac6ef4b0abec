//! Diagnostics: every problem found in a scenario file, with its file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column (in characters) where the problem starts.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

/// Every problem found in one file (parsing goes on after the first where it can).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
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
    found: Vec<(usize, String)>,
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
        self.found.push((span.start.min(self.source.len()), message.into()));
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
        self.found.sort_by_key(|(offset, _)| *offset);
        let bytes = self.source.as_bytes();
        let (mut at, mut line, mut column) = (0, 1, 1);
        let mut out = Vec::with_capacity(self.found.len());
        for (offset, message) in self.found {
            for &b in &bytes[at..offset] {
                if b == b'\n' {
                    line += 1;
                    column = 1;
                } else if b & 0xC0 != 0x80 {
                    // Columns count characters: continuation bytes of UTF-8 add none.
                    column += 1;
                }
            }
            at = offset;
            out.push(Diagnostic { file: self.file.to_path_buf(), line, column, message });
        }
        out
    }
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
    words.iter().map(|w| (edits(typed, w), *w)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, w)| w)
}

/// Optimal string alignment distance (Levenshtein with adjacent swaps), on characters.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 2 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
