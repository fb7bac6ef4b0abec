//! Stage two: the validated model of a scenario. Everything here has been checked: names refer
//! to defined actors and resources (or are templates resolved when the step runs), templates use
//! known placeholders, numbers are in range.

mod elements;
mod expect;
mod faults;
mod hosts;
mod resource;
mod step;
mod value;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use elements::V2_ELEMENTS;
pub use expect::*;
pub use faults::*;
pub use hosts::*;
pub use resource::*;
pub use step::*;
pub use value::*;

/// A program of actors (threads or processes) and shared resources, and what must hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// The file's path under the scenario directory, without `.toml`, with `/` between folders:
    /// `queue-ipc` for `scenarios/queue-ipc.toml`, `cpython/lock_tests/EventTests.test_timeout`
    /// for a file in a subfolder.
    pub name: String,
    pub path: PathBuf,
    pub title: String,
    /// The chapter example it reproduces (row of the seed table), if any.
    pub chapter: Option<u32>,
    /// How long one run may take before its whole process tree is killed.
    pub timeout: Duration,
    /// Backends the author restricted the scenario to (`None`: every one that applies).
    pub backends: Option<Vec<crate::Backend>>,
    pub resources: Vec<Resource>,
    /// Actor definitions; `main` is always first and is what the run starts with.
    pub actors: Vec<ActorDef>,
    pub expect: Expectations,
    /// Declared differences of other implementations (`[divergence.cpython]`).
    #[serde(default)]
    pub divergences: Vec<crate::divergence::Divergence>,
    /// What a fault run may do and what must survive it (`[faults]`); none: never run with faults.
    #[serde(default)]
    pub faults: Option<FaultSpec>,
    /// The hosts its actors run on (`[hosts]`), if it declares any.
    #[serde(default)]
    pub hosts: Hosts,
}

pub const MAIN: &str = "main";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Scenario {
    pub fn actor(&self, name: &str) -> Option<&ActorDef> {
        self.actors.iter().find(|a| a.name == name)
    }

    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// Every step of every actor, depth first, with the actor that owns it.
    pub fn all_steps(&self) -> impl Iterator<Item = (&ActorDef, &Step)> {
        self.actors.iter().flat_map(|a| walk(&a.steps).into_iter().map(move |s| (a, s)))
    }

    pub fn uses_pool(&self) -> bool {
        self.resources.iter().any(|r| matches!(r.kind, ResourceKind::Pool { .. }))
    }
}

/// Steps in order, including those nested in loops.
pub fn walk(steps: &[Step]) -> Vec<&Step> {
    let mut out = Vec::new();
    let mut todo: Vec<&Step> = steps.iter().rev().collect();
    while let Some(s) = todo.pop() {
        out.push(s);
        if let Some(inner) = s.kind.body() {
            todo.extend(inner.iter().rev());
        }
    }
    out
}

/// A named list of steps; started with arguments bound to its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActorDef {
    pub name: String,
    pub params: Vec<String>,
    pub steps: Vec<Step>,
}
