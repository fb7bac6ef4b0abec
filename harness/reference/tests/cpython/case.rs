//! One ported CPython test case: where it comes from, what it checks, how the reference differs
//! (if it does, on purpose), and the Rust test that checks it. The table in
//! `docs/cpython-conformance.md` is generated from these records (see `docs_table`).

use libtest_mimic::{Failed, Trial};
use procthread::StartMethod;

/// How a case runs: once, or once per start method (as CPython runs `_test_multiprocessing`
/// as `test_multiprocessing_fork` and `test_multiprocessing_spawn`).
#[derive(Clone, Copy)]
pub enum Run {
    Once(fn() -> Result<(), Failed>),
    PerMethod(fn(StartMethod) -> Result<(), Failed>),
}

#[derive(Clone, Copy)]
pub struct Case {
    /// CPython's test file, e.g. `_test_multiprocessing.py`, `lock_tests.py`.
    pub file: &'static str,
    /// CPython's class, as written there (`_TestPool`, `LockTests`).
    pub class: &'static str,
    /// CPython's method (`test_imap`).
    pub test: &'static str,
    /// What the case checks, in a few words.
    pub checks: &'static str,
    /// `None` where the reference behaves as CPython; otherwise what differs and why.
    pub difference: Option<&'static str>,
    pub run: Run,
}

impl Case {
    /// The test module CPython runs the case in: `test_multiprocessing_fork` for a per-method
    /// case of `_test_multiprocessing.py`, else the file's stem.
    fn module(&self, method: Option<StartMethod>) -> String {
        let stem = self.file.trim_end_matches(".py").trim_start_matches('_');
        match method {
            Some(m) => format!("{stem}_{}", m.as_str()),
            None => stem.to_string(),
        }
    }

    /// The class without CPython's leading underscore (`_TestPool` reads `TestPool`).
    fn class_name(&self) -> &'static str {
        self.class.trim_start_matches('_')
    }

    /// Test names: `cpython::test_multiprocessing_fork::TestPool::test_imap`.
    pub fn names(&self) -> Vec<String> {
        let methods: Vec<Option<StartMethod>> = match self.run {
            Run::Once(_) => vec![None],
            Run::PerMethod(_) => vec![Some(StartMethod::Fork), Some(StartMethod::Spawn)],
        };
        methods
            .into_iter()
            .map(|m| format!("cpython::{}::{}::{}", self.module(m), self.class_name(), self.test))
            .collect()
    }

    pub fn trials(&self) -> Vec<Trial> {
        match self.run {
            Run::Once(f) => vec![Trial::test(self.names().remove(0), f)],
            Run::PerMethod(f) => [StartMethod::Fork, StartMethod::Spawn]
                .into_iter()
                .map(|m| {
                    let name = format!("cpython::{}::{}::{}", self.module(Some(m)), self.class_name(), self.test);
                    Trial::test(name, move || f(m)).with_ignored_flag(!m.is_available())
                })
                .collect(),
        }
    }
}

/// `Err` with `msg` unless `cond` holds: the `assert*` of a ported case.
pub fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

/// `Err` unless `got == want`, showing both.
pub fn check_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> Result<(), Failed> {
    check(got == want, format!("{what}: got {got:?}, expected {want:?}"))
}

const BEGIN: &str =
    "<!-- BEGIN GENERATED TABLE: edit harness/reference/tests/cpython/*.rs, then run with PROCTHREAD_BLESS=1 -->";
const END: &str = "<!-- END GENERATED TABLE -->";

/// The conformance table for `docs/cpython-conformance.md`.
pub fn docs_table(cases: &[Case]) -> String {
    let mut sorted: Vec<&Case> = cases.iter().collect();
    sorted.sort_by_key(|c| (c.file, c.class, c.test));
    let mut out = format!("{BEGIN}\n\n{} ported cases.\n\n", cases.len());
    out.push_str("| CPython test | what it checks | Rust test | result |\n|---|---|---|---|\n");
    for c in sorted {
        let rust = match c.run {
            Run::Once(_) => c.names().remove(0),
            Run::PerMethod(_) => c.names().remove(0).replace("_fork::", "_{fork,spawn}::"),
        };
        let result = match c.difference {
            None => "pass".to_string(),
            Some(why) => format!("pass, reasoned difference: {why}"),
        };
        out.push_str(&format!("| `{}` {}.{} | {} | `{rust}` | {result} |\n", c.file, c.class, c.test, c.checks));
    }
    out.push('\n');
    out.push_str(END);
    out
}

/// Checks that the committed doc holds the current table; with `PROCTHREAD_BLESS=1` (never
/// under `CI=true`) rewrites it instead.
pub fn doc_is_current(cases: &[Case]) -> Result<(), Failed> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cpython-conformance.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("{}: the generated-table markers are missing", path.display()).into());
    };
    let table = docs_table(cases);
    if text[begin..end + END.len()] == table {
        return Ok(());
    }
    let bless = std::env::var_os("PROCTHREAD_BLESS").is_some() && std::env::var("CI").as_deref() != Ok("true");
    if bless {
        let updated = format!("{}{table}{}", &text[..begin], &text[end + END.len()..]);
        std::fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(());
    }
    Err(format!(
        "{} is out of date: run `PROCTHREAD_BLESS=1 cargo nextest run -p procthread --test cpython`",
        path.display()
    )
    .into())
}
