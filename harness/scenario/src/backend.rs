//! Backends, and which of them a scenario runs on: decided from the scenario alone and from
//! whether the OS has `fork`, so that every OS reports the same reasons.

use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use crate::model::{JoinTarget, NamePattern, Scenario, StepKind, StopTarget, literal_text, walk};

/// How a scenario's actors (and pools) are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Actors are threads of the executor process.
    Thread,
    /// Actors are processes made by `fork` (Unix only).
    Fork,
    /// Actors are processes made by re-executing the harness.
    Spawn,
    /// Actors are threads; pools are thread pools.
    ThreadPool,
    /// Actors are spawned processes; pools are process pools.
    ProcessPool,
}

/// Whether a backend runs a scenario here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applicability {
    Runs,
    /// The scenario applies, but this OS lacks what the backend needs (reported as skipped).
    SkippedOnThisOs(String),
    /// The backend cannot express the scenario at all (listed with the reason, not run).
    NotApplicable(String),
}

impl Backend {
    pub const ALL: [Backend; 5] =
        [Backend::Thread, Backend::Fork, Backend::Spawn, Backend::ThreadPool, Backend::ProcessPool];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Thread => "thread",
            Backend::Fork => "fork",
            Backend::Spawn => "spawn",
            Backend::ThreadPool => "thread-pool",
            Backend::ProcessPool => "process-pool",
        }
    }

    pub fn parse(s: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// Whether actors are processes (each with its own copy of every variable).
    pub fn uses_processes(self) -> bool {
        !matches!(self, Backend::Thread | Backend::ThreadPool)
    }

    /// Traces of one family are expected to be identical, and share a snapshot.
    pub fn family(self) -> &'static str {
        if self.uses_processes() { "processes" } else { "threads" }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An actor that joins (or asks about, or stops) an instance it did not start itself, where the
/// names are literal: threads may do that, a process only to its own children (CPython: "can
/// only join a child process"). Templated names are checked when the step runs.
fn touches_a_sibling(scenario: &Scenario) -> Option<(String, String)> {
    for def in &scenario.actors {
        let steps = walk(&def.steps);
        let made: Vec<&crate::template::Template> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Start { name, .. } | StepKind::Fork { name, .. } => Some(name),
                _ => None,
            })
            .collect();
        let own: HashSet<String> = made.iter().filter_map(|n| literal_text(n)).collect();
        let patterns: Vec<NamePattern> = made.iter().map(|n| NamePattern::new(n)).collect();
        for s in steps {
            let target = match &s.kind {
                StepKind::Join { target: JoinTarget::Instance(t), .. }
                | StepKind::Terminate(StopTarget::Instance(t))
                | StepKind::Kill(StopTarget::Instance(t))
                | StepKind::Instance { target: t, .. } => t,
                _ => continue,
            };
            if let Some(name) = literal_text(target)
                && !own.contains(&name)
                && !patterns.iter().any(|p| p.matches(&name))
            {
                return Some((def.name.clone(), name));
            }
        }
    }
    None
}

/// Every backend with its applicability to `scenario`, on an OS that has fork or not.
pub fn applicability(scenario: &Scenario, os_has_fork: bool) -> Vec<(Backend, Applicability)> {
    let verbs: Vec<&str> = scenario.all_steps().map(|(_, s)| s.kind.verb()).collect();
    let uses = |v: &str| verbs.contains(&v);
    let stops_an_instance = scenario.all_steps().any(|(_, s)| {
        matches!(s.kind, StepKind::Terminate(StopTarget::Instance(_)) | StepKind::Kill(StopTarget::Instance(_)))
    });
    let sibling = touches_a_sibling(scenario);
    Backend::ALL
        .into_iter()
        .map(|b| {
            let not = |why: &str| Applicability::NotApplicable(why.to_string());
            let a = if let Some(listed) = &scenario.backends
                && !listed.contains(&b)
            {
                not("the scenario lists the backends it runs on, and not this one")
            } else if uses("fork") && b != Backend::Fork {
                not("it calls fork() itself, which only the fork backend does")
            } else if scenario.uses_pool() && !matches!(b, Backend::ThreadPool | Backend::ProcessPool) {
                not("it uses a pool: it runs on the pool backends")
            } else if !scenario.uses_pool() && matches!(b, Backend::ThreadPool | Backend::ProcessPool) {
                not("it uses no pool")
            } else if !b.uses_processes() && stops_an_instance {
                not("it terminates or kills an actor, which cannot be done to a thread")
            } else if let (true, Some((who, whom))) = (b.uses_processes(), &sibling) {
                not(&format!(
                    "`{who}` joins or asks about `{whom}`, which it did not start: a process can do that only to \
                     its own children (threads can)"
                ))
            } else if !b.uses_processes() && (uses("exit") || uses("crash")) {
                not("an actor exits or crashes, which would end the whole process with threads")
            } else if !b.uses_processes() && !scenario.hosts.is_empty() {
                not("its actors run on hosts, and a host is a machine of its own: its actors are processes")
            } else if b == Backend::Fork && !os_has_fork {
                Applicability::SkippedOnThisOs("fork does not exist on this OS".to_string())
            } else {
                Applicability::Runs
            };
            (b, a)
        })
        .collect()
}

/// Backends that apply to the scenario (running here or skipped on this OS).
pub fn applicable(scenario: &Scenario, os_has_fork: bool) -> Vec<(Backend, Applicability)> {
    applicability(scenario, os_has_fork)
        .into_iter()
        .filter(|(_, a)| !matches!(a, Applicability::NotApplicable(_)))
        .collect()
}
