//! `[faults]`: which actors a seeded fault may hit, how, and what must survive it
//! (`harness run --faults SEED`; `docs/reliability.md`, "Fault injection").

use serde::{Deserialize, Serialize};

use super::step::ErrorKind;
use super::value::NamePattern;

/// What a scenario says about fault runs. A scenario without it is never run with faults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// The instances (or patterns of them, as in `[expect]`) a fault may hit; never `main`.
    pub targets: Vec<NamePattern>,
    /// What a fault may do (default both; `kill` only where the target runs in a process of
    /// its own).
    pub actions: Vec<FaultAction>,
    /// Where a fault may happen (default every family the target's steps reach).
    pub points: Vec<PointFamily>,
    /// The range a delay is drawn from, in milliseconds, both ends included.
    pub delay_ms: (u64, u64),
    /// What must hold after the fault, beyond what a normal run checks and a fault does not break.
    pub survives: Vec<Invariant>,
    /// Step errors a fault may cause: in a fault run an actor goes on past a step that ends with
    /// one of these (unless a `loop` of its definition ends on that kind), and the verdict
    /// excuses it when it comes after the fault.
    pub tolerate: Vec<ErrorKind>,
}

/// The default range of delays.
pub const DEFAULT_DELAY_MS: (u64, u64) = (1, 250);

/// The longest delay a scenario may ask for.
pub const MAX_FAULT_DELAY_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// SIGKILL (`TerminateProcess` on Windows) of the target's process.
    Kill,
    /// The target's thread pauses (a step, or the operation, takes that much longer).
    Delay,
}

impl FaultAction {
    pub const ALL: [FaultAction; 2] = [FaultAction::Kill, FaultAction::Delay];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultAction::Kill => "kill",
            FaultAction::Delay => "delay",
        }
    }

    pub fn parse(word: &str) -> Option<FaultAction> {
        FaultAction::ALL.into_iter().find(|a| a.as_str() == word)
    }
}

/// Families of fault points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointFamily {
    /// Before a step of the target, counted in the order its steps are reached.
    Step,
    /// Inside the target's pipe operations (`send`, `recv`).
    Pipe,
    /// Inside the target's queue operations (`put`, `get` of a queue resource).
    Queue,
}

impl PointFamily {
    pub const ALL: [PointFamily; 3] = [PointFamily::Step, PointFamily::Pipe, PointFamily::Queue];

    pub fn as_str(self) -> &'static str {
        match self {
            PointFamily::Step => "step",
            PointFamily::Pipe => "pipe",
            PointFamily::Queue => "queue",
        }
    }

    pub fn parse(word: &str) -> Option<PointFamily> {
        PointFamily::ALL.into_iter().find(|p| p.as_str() == word)
    }
}

/// A property that must survive a fault. The values compared are those of the instances that
/// `[expect]`'s `received` and `received_unordered` name ("the listed values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// No value is received more often than the lists hold it: nothing delivered twice.
    NoDuplicates,
    /// Every value received is one the lists hold, and no `get` or `recv` failed with an error
    /// of no kind (a corrupt or undecodable message): a torn message never reads as a value.
    NoTorn,
    /// At most one listed value is missing, besides those the hit actor never put or sent
    /// because it was killed first; after a delay, none.
    AtMostOneLost,
    /// Each queue the hit actor's steps use delivered a value to a `get` after the fault.
    QueueUsable,
    /// On the hit task's pool (or every pool): no other task failed or died, a task started
    /// after the fault, and a killed task's end was recorded as killed.
    PoolGoesOn,
}

impl Invariant {
    pub const ALL: [Invariant; 5] = [
        Invariant::NoDuplicates,
        Invariant::NoTorn,
        Invariant::AtMostOneLost,
        Invariant::QueueUsable,
        Invariant::PoolGoesOn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::NoDuplicates => "no_duplicates",
            Invariant::NoTorn => "no_torn",
            Invariant::AtMostOneLost => "at_most_one_lost",
            Invariant::QueueUsable => "queue_usable",
            Invariant::PoolGoesOn => "pool_goes_on",
        }
    }

    pub fn parse(word: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.as_str() == word)
    }
}
