//! Implementations, and the divergences a scenario declares for them.
//!
//! A scenario's `[expect]` and its snapshots describe the reference. Another implementation
//! (CPython) must agree with them, unless the scenario declares, in a `[divergence.IMPL]` table,
//! that it differs, why (`reason`), where that is documented (`source`), and how: other
//! expectations, or a run that must hang until its timeout. A declared divergence has its own
//! snapshot (`NAME@FAMILY.IMPL.snap`), and the runner holds it to its declaration: a divergence
//! that stops happening is reported, as an unexpected pass is in web-platform-tests.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::model::{Expectations, Scenario};

/// An implementation of the chapter's primitives that scenarios run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Implementation {
    /// The Rust reference (`harness exec`): what `[expect]` and the snapshots describe.
    Reference,
    /// CPython's own `multiprocessing`, `threading` and `subprocess` (`harness/cpython/`).
    Cpython,
}

impl Implementation {
    pub const ALL: [Implementation; 2] = [Implementation::Reference, Implementation::Cpython];

    pub fn as_str(self) -> &'static str {
        match self {
            Implementation::Reference => "reference",
            Implementation::Cpython => "cpython",
        }
    }

    pub fn parse(s: &str) -> Option<Implementation> {
        Implementation::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

impl std::fmt::Display for Implementation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A documented, expected difference of one implementation from the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Divergence {
    pub implementation: Implementation,
    /// Why the implementation differs, in a sentence.
    pub reason: String,
    /// A link to where the difference is documented (an issue, the docs).
    pub source: String,
    /// The backends it differs on (`None`: every backend the scenario runs on).
    pub backends: Option<Vec<Backend>>,
    /// The operating systems it differs on, as Rust names them (`linux`, `macos`, `windows`;
    /// `None`: every one).
    #[serde(default)]
    pub os: Option<Vec<String>>,
    /// The whole `[expect]` as it holds for this implementation: the scenario's, with each key
    /// the divergence's `expect` table gives replaced.
    pub expect: Option<Expectations>,
    /// The run must hang: it is killed at its timeout, with these actors in these steps.
    pub hang: Option<Hang>,
    /// This implementation's run timeout, when it differs (a declared hang need not wait long).
    pub timeout: Option<Duration>,
}

/// A run that never ends by itself, and where its actors are when it is killed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hang {
    /// (actor instance, verb of the step it must be in)
    pub at: Vec<(String, String)>,
    /// Where each entry of `at` is written, in the same order: the line and column (1-based) of
    /// its actor's key, so that a failure points at it.
    #[serde(default)]
    pub written: Vec<(usize, usize)>,
}

impl Hang {
    /// `FILE:LINE:COL: ` for the `i`th entry of `at`, when known (the prefix of a failure).
    pub fn location(&self, file: &std::path::Path, i: usize) -> String {
        self.written.get(i).map_or_else(String::new, |(line, column)| format!("{}:{line}:{column}: ", file.display()))
    }
}

/// The operating systems a divergence may name.
pub const OSES: [&str; 3] = ["linux", "macos", "windows"];

impl Divergence {
    /// Whether it is declared for `backend` (on some OS).
    pub fn applies_to(&self, backend: Backend) -> bool {
        self.backends.as_ref().is_none_or(|b| b.contains(&backend))
    }

    /// Whether it is declared for `backend` on the OS `os` (`std::env::consts::OS`).
    pub fn applies_on(&self, backend: Backend, os: &str) -> bool {
        self.applies_to(backend) && self.os.as_ref().is_none_or(|o| o.iter().any(|n| n == os))
    }
}

impl Scenario {
    /// The divergence declared for `implementation` on `backend`, on this OS, if any.
    pub fn divergence(&self, implementation: Implementation, backend: Backend) -> Option<&Divergence> {
        self.divergences
            .iter()
            .find(|d| d.implementation == implementation && d.applies_on(backend, std::env::consts::OS))
    }

    /// The scenario as `divergence` says it holds for its implementation: its expectations and
    /// timeout in place of the reference's.
    pub fn diverged(&self, divergence: &Divergence) -> Scenario {
        let mut s = self.clone();
        if let Some(e) = &divergence.expect {
            s.expect = e.clone();
        }
        if let Some(t) = divergence.timeout {
            s.timeout = t;
        }
        s
    }
}
