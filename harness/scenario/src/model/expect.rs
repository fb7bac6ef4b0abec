//! What must hold at the end of a run.

use serde::{Deserialize, Serialize};

use super::value::NamePattern;

/// How an actor instance (or a pool task) must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitExpect {
    Code(i32),
    /// Ended by `terminate`: -15 (SIGTERM) on every OS.
    Terminated,
    /// Ended by `kill`: -9 on Unix, -15 on Windows (one `TerminateProcess` for both).
    Killed,
    /// Ended by a crash: any non-zero code or signal.
    Crashed,
}

impl std::fmt::Display for ExitExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitExpect::Code(c) => write!(f, "{c}"),
            ExitExpect::Terminated => f.write_str("terminated"),
            ExitExpect::Killed => f.write_str("killed"),
            ExitExpect::Crashed => f.write_str("crashed"),
        }
    }
}

/// What a variable must hold at the end, in the main actor's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VarExpect {
    Exactly(i64),
    /// Varies from run to run by nature (a race): only recorded as such.
    Nondeterministic,
}

/// A variable's expectation, possibly different for threads and for processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarExpectation {
    pub variable: String,
    pub threads: VarExpect,
    pub processes: VarExpect,
}

impl VarExpectation {
    pub fn for_family(&self, processes: bool) -> &VarExpect {
        if processes { &self.processes } else { &self.threads }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Expectations {
    /// Per actor instance or pool task (or pattern); instances not listed must exit 0.
    pub exit: Vec<(NamePattern, ExitExpect)>,
    pub variables: Vec<VarExpectation>,
    /// Per pool: the most tasks running at once must not exceed this; under the key `actors`,
    /// the most started actor instances (main and pool tasks aside) running at once.
    pub max_concurrent: Vec<(String, usize)>,
    /// Per pool: tasks must run in at most this many distinct processes (workers are reused).
    pub max_distinct_pids: Vec<(String, usize)>,
    /// Per actor instance: the values it received, in order.
    pub received: Vec<(String, Vec<serde_json::Value>)>,
    /// Per pattern (or instance): the values every matching instance received, taken together,
    /// in any order, each exactly as often as listed. Their traces merge in the snapshot.
    pub received_unordered: Vec<(NamePattern, Vec<serde_json::Value>)>,
    /// The run must time out, with each listed actor (or pattern) in a step of that verb; every
    /// actor still running then must be listed.
    pub hang: Vec<(NamePattern, String)>,
    /// Where each entry above is written, so that a failure points at its line.
    #[serde(default)]
    pub at: Vec<ExpectAt>,
}

/// Where an `[expect]` entry is written: the line and column (1-based) of its key, e.g. `reader`
/// in `received = { reader = [...] }` (`key` is `received`, `entry` is `reader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectAt {
    pub key: String,
    pub entry: String,
    pub line: usize,
    pub column: usize,
}

impl Expectations {
    /// Where the entry `entry` of `key` (`received`, `exit`, ...) is written, if known.
    pub fn at(&self, key: &str, entry: &str) -> Option<&ExpectAt> {
        self.at.iter().find(|a| a.key == key && a.entry == entry)
    }
}
