//! The parser against mutated scenario files (issue 8, "Fuzzing and faults"): whatever the
//! bytes, parsing ends (no panic, no hang) and every problem has a file, a line and a column
//! that lie inside the file. A valid result survives the JSON trip that takes it to a child.
//!
//! The corpus is every file of `scenarios/` (subfolders included) and of `tests/bad/`. Two tests:
//! a deterministic sweep (each line of each file deleted, then duplicated) and a proptest of
//! random mutations (bytes flipped, tokens of the language inserted, strings replaced, lines
//! moved). Runs are bounded: `PROPTEST_CASES` (default 256) sets the number of mutated files;
//! see docs/reliability.md for longer runs. A hang shows as nextest's timeout.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;

/// Read once: every case picks from the same files.
static CORPUS: LazyLock<Vec<(PathBuf, Vec<u8>)>> = LazyLock::new(corpus);

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("../../scenarios"), root.join("tests/bad")] {
        files.extend(procthread_scenario::discover(&dir).expect("corpus directory"));
    }
    assert!(files.len() > 10, "a corpus of scenario files");
    files.into_iter().map(|f| (f.clone(), std::fs::read(&f).expect("readable"))).collect()
}

/// What must hold for any input: a model that round-trips, or located diagnostics.
fn check(name: &Path, bytes: &[u8]) -> Result<(), String> {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    match procthread_scenario::parse_bytes(name, bytes) {
        Ok(s) => {
            let json = serde_json::to_string(&s).map_err(|e| format!("does not serialize: {e}"))?;
            serde_json::from_str::<procthread_scenario::Scenario>(&json)
                .map_err(|e| format!("does not deserialize: {e}"))?;
            let _ = procthread_scenario::applicability(&s, true);
            Ok(())
        }
        Err(d) if d.0.is_empty() => Err("an error without a diagnostic".into()),
        Err(d) => {
            for diag in &d.0 {
                let located = diag.file == name && diag.line >= 1 && diag.line <= lines && diag.column >= 1;
                if !located || diag.message.is_empty() || !diag.to_string().starts_with(&format!("{}:", name.display()))
                {
                    return Err(format!("badly located: {diag:?} ({lines} lines)"));
                }
            }
            Ok(())
        }
    }
}

#[test]
fn every_line_deleted_or_duplicated_in_every_file() {
    let mut parsed = 0;
    for (path, bytes) in corpus() {
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for i in 0..lines.len() {
            for variant in [0, 1] {
                let mut out: Vec<&str> = lines.clone();
                if variant == 0 {
                    out.remove(i);
                } else {
                    out.insert(i, lines[i]);
                }
                let mutated = out.concat();
                if let Err(e) = check(Path::new("m.toml"), mutated.as_bytes()) {
                    panic!("{} with line {} {}: {e}", path.display(), i + 1, ["deleted", "duplicated"][variant]);
                }
                parsed += 1;
            }
        }
    }
    assert!(parsed > 500, "{parsed} variants");
}

/// Pieces of the language (and of TOML) that mutations insert: verbs, keys, placeholders,
/// numbers at the edges of their ranges, and the punctuation that breaks structure.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "=",
    ",",
    "\n",
    ".",
    "#",
    "\\",
    "{{",
    "}}",
    "{value*value*nosuch}",
    "{value",
    "{pid:nobody}",
    "{i}",
    "{item}",
    "{value}",
    "{pid}",
    "-1",
    "0",
    "9223372036854775807",
    "99999999999999999999",
    "1.5",
    "nan",
    "inf",
    "true",
    "1979-05-27",
    "\"\"",
    "[]",
    "{}",
    "{ print = \"x\" }",
    "timeout_ms = 5",
    "timeout_ms = -1",
    "expect = \"timeout\"",
    "expect = \"eof\"",
    "as = \"w{i}\"",
    "args = { n = 1 }",
    "[actors.main]",
    "[actors.x]",
    "steps = []",
    "[resources]",
    "[expect]",
    "kind = \"pipe\"",
    "do = []",
    "until",
    "start",
    "join",
    "put",
    "get",
    "acquire",
    "release",
    "loop",
    "repeat",
    "for_each",
    "submit",
    "serve",
    "fork",
    "exit",
    "crash",
    "main",
    "q",
    "p.a",
    "p.b",
    "m/task",
    "é",
    "\u{1}",
    "\u{feff}",
    "\r\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, Index),
    Delete(Index, usize),
    /// Replace the content of the n-th string literal with a token.
    String(Index, Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Splice a piece of another corpus file in.
    Splice(Index, Index, Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Mutation::String(i, t)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..200)
            .prop_map(|(f, a, b, n)| Mutation::Splice(f, a, b, n)),
    ]
}

fn line_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push((start, b.len()));
    }
    out
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, corpus: &[(PathBuf, Vec<u8>)]) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::Flip(i, b) if !bytes.is_empty() => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(i, t) => {
            let i = at(i, bytes.len());
            let token = TOKENS[t.index(TOKENS.len())].as_bytes();
            bytes.splice(i..i, token.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = at(i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::String(i, t) => {
            let quotes: Vec<usize> = bytes.iter().enumerate().filter(|(_, c)| **c == b'"').map(|(i, _)| i).collect();
            if quotes.len() >= 2 {
                let k = i.index(quotes.len() / 2) * 2;
                let (open, close) = (quotes[k], quotes[k + 1]);
                let token = TOKENS[t.index(TOKENS.len())].as_bytes();
                bytes.splice(open + 1..close, token.iter().copied());
            }
        }
        Mutation::DuplicateLine(i) => {
            let lines = line_ranges(bytes);
            if !lines.is_empty() {
                let (s, e) = lines[i.index(lines.len())];
                let copy = bytes[s..e].to_vec();
                bytes.splice(s..s, copy);
            }
        }
        Mutation::SwapLines(a, b) => {
            let lines = line_ranges(bytes);
            if lines.len() >= 2 {
                let (x, y) = (a.index(lines.len()), b.index(lines.len()));
                let (x, y) = (x.min(y), x.max(y));
                if x != y {
                    let (xs, xe) = lines[x];
                    let (ys, ye) = lines[y];
                    let mut out = bytes[..xs].to_vec();
                    out.extend_from_slice(&bytes[ys..ye]);
                    out.extend_from_slice(&bytes[xe..ys]);
                    out.extend_from_slice(&bytes[xs..xe]);
                    out.extend_from_slice(&bytes[ye..]);
                    *bytes = out;
                }
            }
        }
        Mutation::Splice(f, from, to, n) => {
            let other = &corpus[f.index(corpus.len())].1;
            if !other.is_empty() {
                let s = from.index(other.len());
                let piece = &other[s..(s + n).min(other.len())];
                let i = at(to, bytes.len());
                bytes.splice(i..i, piece.iter().copied());
            }
        }
    }
}

proptest! {
    // `ProptestConfig::default()` reads PROPTEST_CASES; no failure files are written into the
    // source tree (a failure prints its minimal input instead).
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_crash_and_errors_are_located(
        file in any::<Index>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let corpus = &*CORPUS;
        let (_, original) = &corpus[file.index(corpus.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m, corpus);
        }
        if let Err(e) = check(Path::new("fuzz.toml"), &bytes) {
            return Err(TestCaseError::fail(format!("{e}\n--- input ---\n{}", String::from_utf8_lossy(&bytes))));
        }
    }
}
