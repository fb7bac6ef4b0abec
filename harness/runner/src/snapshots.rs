//! Snapshot files (insta's `.snap` format): where a run's snapshot lives, reading one back with
//! insta's own reader (so that a file insta accepts reads the same here, whatever its line
//! endings), writing a new one (`harness run --accept-new`), and the diff of a snapshot against
//! a new trace, as insta shows it.

use std::path::{Path, PathBuf};

use procthread_scenario::Backend;
use similar::{ChangeTag, TextDiff};

/// Backends of one family share a snapshot: `queue-ipc@processes`. A scenario in a subfolder
/// keeps its folders: `cpython/lock_tests/EventTests.test_timeout@threads`, a file under
/// `snapshots/cpython/lock_tests/`.
pub fn name(scenario: &str, backend: Backend) -> String {
    format!("{scenario}@{}", backend.family())
}

/// The folder a snapshot (or scenario) name's file is in under `dir`: `dir` itself, or its
/// subfolders.
pub fn folder(dir: &Path, name: &str) -> PathBuf {
    match name.rsplit_once('/') {
        Some((folders, _)) => folders.split('/').fold(dir.to_path_buf(), |d, f| d.join(f)),
        None => dir.to_path_buf(),
    }
}

/// A snapshot name without its folders: the file's name without `.snap` (what insta is given,
/// with [`folder`] as its snapshot path).
pub fn file_stem(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub fn path(dir: &Path, scenario: &str, backend: Backend) -> PathBuf {
    let name = name(scenario, backend);
    folder(dir, &name).join(format!("{}.snap", file_stem(&name)))
}

/// The body of a snapshot file, `None` if there is no such file.
///
/// The file is read by insta itself, which takes CRLF line endings (a Windows checkout without
/// `.gitattributes`) as LF and trims the body as it does when it compares. A file that exists but
/// that insta cannot read is returned whole, so that it differs from every trace and fails with
/// its text in the diff rather than reading as "no snapshot yet".
pub fn read(file: &Path) -> Option<String> {
    match insta::Snapshot::from_file(file) {
        Ok(snapshot) => match snapshot.contents().as_text() {
            Some(text) => Some(text.to_string()),
            None => Some(String::from("(a binary snapshot: not a trace)")),
        },
        Err(_) if !file.exists() => None,
        Err(_) => Some(std::fs::read_to_string(file).unwrap_or_default().replace("\r\n", "\n")),
    }
}

/// Whether two snapshot bodies say the same, as insta compares them: surrounding blank lines
/// and line endings aside.
pub fn same(a: &str, b: &str) -> bool {
    normalized(a) == normalized(b)
}

fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n").trim_matches('\n').trim_end().to_string()
}

/// Writes `trace` as a new snapshot at `file`, in the form insta writes (so that the test of
/// the same run, `scenario::NAME::BACKEND`, compares with it as with one it wrote itself).
/// `input_file` is the scenario's path as the header names it (`scenarios/NAME.toml`).
pub fn write_new(file: &Path, trace: &str, input_file: &str) -> std::io::Result<()> {
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let body = normalized(trace);
    let text = format!("---\nsource: harness/runner/tests/scenarios.rs\ninput_file: {input_file}\n---\n{body}\n");
    std::fs::write(file, text)
}

/// The lines of a unified diff of a snapshot against a new trace, each with its kind (for
/// colours). Three lines of context around each change, as `diff -u` and insta show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub lines: Vec<(Line, String)>,
}

/// What a line of a [`Diff`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// `--- old` / `+++ new`.
    Header,
    /// `@@ -a,b +c,d @@`
    Hunk,
    Context,
    /// In the snapshot, not in the run.
    Removed,
    /// In the run, not in the snapshot.
    Added,
}

impl Diff {
    /// The diff of `expected` (the snapshot, named `old`) against `got` (the run's trace).
    pub fn new(old: &str, expected: &str, got: &str) -> Diff {
        let (expected, got) = (normalized(expected) + "\n", normalized(got) + "\n");
        let diff = TextDiff::from_lines(&expected, &got);
        let mut lines = vec![(Line::Header, format!("--- {old}")), (Line::Header, "+++ this run".to_string())];
        for group in diff.grouped_ops(3) {
            let (first, last) = (&group[0], &group[group.len() - 1]);
            let (old_start, old_end) = (first.old_range().start, last.old_range().end);
            let (new_start, new_end) = (first.new_range().start, last.new_range().end);
            lines.push((
                Line::Hunk,
                format!("@@ {} {} @@", range('-', old_start, old_end), range('+', new_start, new_end)),
            ));
            for op in &group {
                for change in diff.iter_changes(op) {
                    let text = change.value().trim_end_matches(['\n', '\r']);
                    let (kind, sign) = match change.tag() {
                        ChangeTag::Equal => (Line::Context, ' '),
                        ChangeTag::Delete => (Line::Removed, '-'),
                        ChangeTag::Insert => (Line::Added, '+'),
                    };
                    lines.push((kind, format!("{sign}{text}")));
                }
            }
        }
        Diff { lines }
    }

    /// Whether the two texts differ at all.
    pub fn is_empty(&self) -> bool {
        !self.lines.iter().any(|(k, _)| matches!(k, Line::Removed | Line::Added))
    }

    /// The diff as plain text, each line after `indent`.
    pub fn plain(&self, indent: &str) -> String {
        let lines: Vec<String> = self.lines.iter().map(|(_, l)| format!("{indent}{l}")).collect();
        lines.join("\n")
    }
}

/// A hunk's range as `diff -u` writes it: `-3,7` (1-based start, length), `-3` for one line,
/// `-2,0` for none (the line before).
fn range(sign: char, start: usize, end: usize) -> String {
    match end - start {
        0 => format!("{sign}{start},0"),
        1 => format!("{sign}{}", start + 1),
        n => format!("{sign}{},{n}", start + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_body_after_the_header() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("x.snap");
        std::fs::write(&f, "---\nsource: a\nexpression: b\n---\nline 1\nline 2\n").expect("write");
        assert_eq!(read(&f).as_deref(), Some("line 1\nline 2"));
        assert!(same("line 1\nline 2\n", "\nline 1\nline 2"));
        assert_eq!(name("pool", Backend::ThreadPool), "pool@threads");
        assert_eq!(read(&dir.path().join("none.snap")), None, "no file: no snapshot yet");
        let nested = path(Path::new("snaps"), "cpython/lock_tests/EventTests.test_timeout", Backend::Spawn);
        assert_eq!(
            nested,
            Path::new("snaps").join("cpython").join("lock_tests").join("EventTests.test_timeout@processes.snap")
        );
    }

    /// What a Windows checkout without `.gitattributes` gives: the same snapshot, in CRLF.
    #[test]
    fn a_crlf_snapshot_reads_as_its_lf_body() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("x.snap");
        std::fs::write(&f, "---\r\nsource: a\r\ninput_file: s.toml\r\n---\r\nline 1\r\nline 2\r\n").expect("write");
        assert_eq!(read(&f).as_deref(), Some("line 1\nline 2"));
        assert!(same(&read(&f).expect("read"), "line 1\nline 2\n"));
        assert!(!same(&read(&f).expect("read"), "line 1\nline 3\n"));
    }

    #[test]
    fn a_file_insta_cannot_read_is_no_match_rather_than_no_snapshot() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("x.snap");
        std::fs::write(&f, "---\nsource: [unclosed\n---\nline 1\n").expect("write");
        let got = read(&f).expect("a file that exists is never `no snapshot`");
        assert!(!same(&got, "line 1\n"), "{got:?}");
    }

    #[test]
    fn a_new_snapshot_reads_back_as_written() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("sub").join("x@threads.snap");
        write_new(&f, "\nscenario: x\n\n[main]\nprint  hi\n\n", "scenarios/x.toml").expect("write");
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(
            text.starts_with("---\nsource: harness/runner/tests/scenarios.rs\ninput_file: scenarios/x.toml\n---\n")
        );
        assert_eq!(read(&f).as_deref(), Some("scenario: x\n\n[main]\nprint  hi"));
    }

    #[test]
    fn the_diff_is_unified_with_context() {
        let old: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 5\n", "line five\n");
        let d = Diff::new("snapshots/x.snap", &old, &new);
        assert!(!d.is_empty());
        assert_eq!(
            d.plain(""),
            "--- snapshots/x.snap\n+++ this run\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8"
        );
        assert_eq!(d.lines.iter().filter(|(k, _)| *k == Line::Removed).count(), 1);
        assert!(Diff::new("s", "a\nb\n", "\na\nb").is_empty(), "blank lines around are no change");
        let appended = Diff::new("s", "a\n", "a\nb\n");
        assert_eq!(appended.plain(""), "--- s\n+++ this run\n@@ -1 +1,2 @@\n a\n+b");
    }
}
