//! Seeded fault injection (`harness run --faults SEED`; `docs/reliability.md`, "Fault
//! injection"): from a seed, a plan that kills or delays one actor instance a scenario's
//! `[faults]` table names, at a step boundary or at a fault point inside its pipe or queue
//! operations ([`plan`](mod@plan)); the executor's side that injects it ([`inject`]); the verdict that
//! checks what the scenario says must survive it ([`verdict`]); and the runs of a range of
//! seeds ([`session`]).

pub mod expand;
pub mod inject;
pub mod plan;
pub mod seeds;
pub mod session;
pub mod verdict;

pub use plan::{At, Plan, PlanError, plan};
pub use seeds::{Seeds, SeedsError};
